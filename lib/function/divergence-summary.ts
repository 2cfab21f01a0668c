/**
 * divergence(a, b, measures): the divergences between two models' saved outputs as set-level
 * numbers, in one call. The per-sample values come from the divergence kernels
 * ({@link divergencePerSample}); each measure is then summarized as `compare` summarizes it
 * (mean, standard error, seeded percentile-bootstrap 95% interval, median, max, samples
 * needed), so results from saved outputs and from models run by `compare` agree.
 */
import { check, ModeldiffError } from '../errors';
import { formatShape } from '../io/tensor';
import { tokenGrid } from './token-grid';
import { optionsObject } from '../util/options';
import {
  checkOutputPair,
  cohenKappa,
  type DivergenceOptions,
  divergencePerSample,
  FUNCTION_MEASURE_NAMES,
  type FunctionMeasureName,
  type OutputKind,
  resolveOutputKind,
} from './divergence';
import { checkSummaryOptions, type IntervalSummary, type MetricSummary, summarizeMeasures } from './summary';
import { type SequenceOutputArray, type SequenceOutputOptions, isSequenceOutput, sequenceDivergence } from './token-divergence';
import type { TokenSummary } from './token-summary';
import type { Matrix } from '../matrix';

export type { SequenceOutputArray, SequenceOutputOptions, TokenGridArray } from './token-divergence';

/** A measure {@link divergence} can report: a per-sample measure, or 'kappa' (Cohen's kappa of the argmax labels). */
export type DivergenceMetric = FunctionMeasureName | 'kappa';

/** Options of {@link divergence}: those of {@link divergencePerSample} plus the summary's. */
export interface DivergenceSummaryOptions extends DivergenceOptions, SequenceOutputOptions {
  /** Bootstrap replicates for the 95% interval (default 1000; 0 = none: every ci95 is [NaN, NaN]). */
  bootstrap?: number;
  /** Bootstrap seed, a non-negative safe integer (default 0). Same seed, same intervals. */
  seed?: number;
  /** Target ci95 half-width for the samples-needed estimate (default: 10% of each mean). */
  precision?: number;
  /** Keep the per-sample values in the result. */
  perSample?: boolean;
  /** Sequence outputs: progress of the token-by-token pass, sequences done of the total. */
  onProgress?: (done: number, total: number) => void;
  /** Bootstrap progress: replicates done of the total. */
  onBootstrapProgress?: (done: number, total: number) => void;
}

/** What {@link divergence} returns. */
export interface DivergenceSummary {
  /** Samples (rows). */
  n: number;
  /** Output columns (classes; 1 for the sigmoid kinds). */
  k: number;
  /** How the rows were read (the kind 'auto' picked, or the one requested). */
  outputs: OutputKind;
  /** Units of the log measures (kl*, js, js-distance). */
  units: 'nats' | 'bits';
  /** The smoothing applied to both distributions before every distribution measure (absent = none). */
  epsilon?: number;
  /** One summary per requested per-sample measure, in the order requested. */
  metrics: Partial<Record<FunctionMeasureName, MetricSummary>>;
  /** How every ci95 was computed: replicates, seed, method and the rule that chose it. */
  bootstrap: IntervalSummary;
  /** Advice, e.g. how to get a finite KL. */
  hints: string[];
  /** Cohen's kappa between the two argmax labelings (when 'kappa' is requested). */
  kappa?: number;
  /** The per-sample values (with the perSample option; per counted token for sequence outputs). */
  perSample?: Partial<Record<FunctionMeasureName, Float64Array>>;
  /** Sequence outputs with perSample: each value's sequence and position (flat over the position axes). */
  perSampleIndex?: { sequence: Int32Array; position: Int32Array };
  /** Sequence outputs: rows counted (unmasked positions); metrics summarize these. */
  rows?: number;
  /** Sequence outputs: sequences with at least one counted row. */
  sequences?: number;
  /** Sequence outputs: the class axis (axis 0 = batch). */
  classAxis?: number;
  /** Sequence outputs: the token-level summary, as compare reports it; its measures are `metrics`. */
  tokens?: Omit<TokenSummary, 'metrics'>;
}

const KNOWN: readonly string[] = [...FUNCTION_MEASURE_NAMES, 'kappa'];

/**
 * Divergences between two models' outputs on the same probe set, each as the mean over the
 * samples with its standard error and a seeded bootstrap 95% interval (the numbers `compare`
 * reports, from outputs you already have). `a` and `b` are n × k row-major outputs, read as
 * `options.outputs` says ('auto' by default: the result says what was picked).
 *
 * Errors (ModeldiffError): `INVALID_ARGUMENT` for an unknown or missing measure, no samples
 * (n = 0), or a bad option (bootstrap, seed, precision, epsilon, threads, isa);
 * `SHAPE_MISMATCH` when the shapes differ or the data does not fill a shape (naming both
 * inputs, by `options.names` when given); the kernels' errors (e.g. `NON_FINITE`,
 * probabilities that do not sum to 1) name the input and the row.
 *
 * The inputs are read on worker threads: do not mutate them until the promise settles.
 *
 * @example
 * const r = await divergence(a, b, ['js', 'tv', 'kappa'], { outputs: 'logits', seed: 1 });
 * r.metrics.js; // { mean, stderr, ci95: [lo, hi], median, max, samplesNeeded }
 */
export async function divergence(
  a: Matrix | SequenceOutputArray,
  b: Matrix | SequenceOutputArray,
  measures: DivergenceMetric[],
  options: DivergenceSummaryOptions = {},
): Promise<DivergenceSummary> {
  check(Array.isArray(measures) && measures.length > 0, 'INVALID_ARGUMENT', 'measures: name at least one measure');
  options = optionsObject(options, 'divergence');
  for (const m of measures) {
    check(KNOWN.includes(m), 'INVALID_ARGUMENT', `measures: unknown measure '${String(m)}' (known: ${KNOWN.join(', ')})`);
  }
  const { replicates, seed } = checkSummaryOptions(options);
  if (isSequenceOutput(a) || isSequenceOutput(b)) return sequenceSummary(a, b, measures, options, replicates, seed);
  const sequenceOnly = (['maskFile', 'labels', 'topk', 'top'] as const).find((o) => options[o] !== undefined);
  if (sequenceOnly !== undefined) {
    throw new ModeldiffError('INVALID_ARGUMENT', `${sequenceOnly} applies to sequence outputs (rank ≥ 3, e.g. [n, sequence, vocab]); these are n × k rows`, { option: sequenceOnly });
  }
  if (options.classAxis !== undefined) tokenGrid([(a as Matrix).k], options.classAxis, options.names?.[0] ?? 'a');
  const names = checkOutputPair(a, b, options);

  const perSampleMeasures = [...new Set(measures.filter((m): m is FunctionMeasureName => m !== 'kappa'))];
  const kind = resolveOutputKind([a, b], options.outputs ?? 'auto', names);
  const { bootstrap: _b, seed: _s, precision: _p, perSample: _ps, onProgress: _op, onBootstrapProgress, ...kernelOptions } = options;
  const divOptions: DivergenceOptions = { ...kernelOptions, outputs: kind, names };
  // With kappa alone no requested measure runs the kernel, which is what validates the rows
  // (probabilities on the simplex, no NaN): run it for disagreement, off the main thread, and
  // keep only its verdict.
  if (perSampleMeasures.length === 0) await divergencePerSample(a, b, ['disagreement'], divOptions);
  const values =
    perSampleMeasures.length > 0
      ? await divergencePerSample(a, b, perSampleMeasures, divOptions)
      : ({} as Record<FunctionMeasureName, Float64Array>);
  const { metrics, hints, bootstrap } = await summarizeMeasures(values, perSampleMeasures, {
    replicates,
    seed,
    threads: options.threads,
    precision: options.precision,
    onProgress: onBootstrapProgress,
  });

  const result: DivergenceSummary = {
    n: a.n,
    k: a.k,
    outputs: kind,
    units: options.bits ? 'bits' : 'nats',
    ...(options.epsilon ? { epsilon: options.epsilon } : {}),
    metrics,
    bootstrap,
    hints,
  };
  if (measures.includes('kappa')) {
    const labelsA = await argmaxLabels(a, kind);
    const labelsB = await argmaxLabels(b, kind);
    result.kappa = cohenKappa(labelsA, labelsB, Math.max(a.k, 2));
  }
  if (options.perSample) result.perSample = values;
  return result;
}

/** divergence() on two sequence outputs: the token-level comparison compare makes. */
async function sequenceSummary(
  a: Matrix | SequenceOutputArray,
  b: Matrix | SequenceOutputArray,
  measures: DivergenceMetric[],
  options: DivergenceSummaryOptions,
  replicates: number,
  seed: number,
): Promise<DivergenceSummary> {
  const names: [string, string] = [options.names?.[0] ?? 'a', options.names?.[1] ?? 'b'];
  if (!isSequenceOutput(a) || !isSequenceOutput(b)) {
    const [seq, other] = isSequenceOutput(a) ? [0, 1] : [1, 0];
    const shape = (isSequenceOutput(a) ? a : (b as SequenceOutputArray)).shape;
    throw new ModeldiffError('SHAPE_MISMATCH', `${names[seq]} is a sequence output ${formatShape(shape)} but ${names[other]} has one row per sample`);
  }
  if (measures.includes('kappa')) throw new ModeldiffError('INVALID_ARGUMENT', "metric 'kappa' is for one row per sample; sequence outputs report top-1 agreement instead", { option: 'metrics' });
  const { bootstrap: _b, seed: _s, ...rest } = options;
  const r = await sequenceDivergence(a, b, names, measures as FunctionMeasureName[], { ...rest, replicates, seed });
  const result: DivergenceSummary = {
    n: r.n,
    rows: r.tokens.rows,
    sequences: r.tokens.sequences,
    classAxis: r.tokens.classAxis,
    k: r.k,
    outputs: r.outputs,
    units: options.bits ? 'bits' : 'nats',
    ...(options.epsilon ? { epsilon: options.epsilon } : {}),
    metrics: r.metrics,
    bootstrap: r.bootstrap,
    hints: r.hints,
    tokens: r.tokens,
  };
  if (r.perSample) {
    result.perSample = r.perSample;
    result.perSampleIndex = r.perSampleIndex;
  }
  return result;
}

/**
 * Predicted classes (rows already validated by the kernel): the first maximum of each row, or
 * the sigmoid threshold for one-column outputs. In slices that yield to the event loop, since a
 * million rows take a noticeable fraction of a second.
 */
async function argmaxLabels(x: Matrix, kind: OutputKind): Promise<Int32Array> {
  const { data, n, k } = x;
  const label = new Int32Array(n);
  const threshold = kind === 'sigmoid' ? 0.5 : 0; // sigmoid-logit: p > 0.5 <=> logit > 0
  for (let start = 0; start < n; start += LABEL_SLICE_ROWS) {
    if (start > 0) await new Promise<void>((resolve) => setImmediate(resolve));
    const end = Math.min(n, start + LABEL_SLICE_ROWS);
    for (let r = start; r < end; r++) {
      const off = r * k;
      if (kind === 'sigmoid' || kind === 'sigmoid-logit') {
        label[r] = data[off]! > threshold ? 1 : 0;
        continue;
      }
      let best = 0;
      for (let j = 1; j < k; j++) if (data[off + j]! > data[off + best]!) best = j;
      label[r] = best;
    }
  }
  return label;
}

const LABEL_SLICE_ROWS = 1 << 16;
