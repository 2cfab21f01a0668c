/**
 * compare(a, b, options): how differently two models behave on a probe set.
 *
 * Both models run batch by batch (from the output cache when possible); each
 * batch goes straight to the divergence kernels, so only the per-sample
 * values (n float64 per measure) and each model's predicted class and
 * confidence are kept, never the n×k outputs. Each measure is summarized as
 * mean, standard error, a seeded percentile-bootstrap 95% interval, median
 * and max, with the number of samples a chosen precision would need.
 */
import { ModeldiffError, check } from '../errors';
import { coalesce, pairBatches } from '../infer/align';
import { type InferenceStream, type InferOptions, streamOutputs } from '../infer/infer';
import type { ModelSource } from '../infer/session';
import { type ProbeSource, loadLabels, openProbe } from '../io/probe';
import { checkArrayOption, checkBooleanOption, optionsObject, requireOption } from '../util/options';
import { type Accuracy, accuracyStats } from './accuracy';
import {
  type DivergenceOptions,
  type FunctionMeasureName,
  type OutputKind,
  cohenKappa,
  divergencePerSample,
  outputKindWarning,
  divergencePerSampleSync,
  predict,
  resolveOutputKind,
} from './divergence';
import { type PerClass, perClassBreakdown } from './per-class';
import { checkSummaryOptions, type IntervalSummary, type MetricSummary, summarizeMeasures } from './summary';
import { type TopSample, topSamples } from './top';

export type CompareMetric = FunctionMeasureName | 'kappa';

/** Batches up to this many output values (n·k) run the divergence kernels on the calling thread. */
const SYNC_BATCH_ELEMENTS = 1 << 16;
/** Small inference batches are merged into chunks of at least this many output values per model. */
const CHUNK_VALUES = 1 << 15;

export const DEFAULT_METRICS: FunctionMeasureName[] = ['js', 'tv', 'hellinger', 'disagreement', 'kl'];

export interface CompareOptions {
  /** Probe data: an array file path (.npy, .npz, .safetensors, ONNX TensorProto .pb), a typed array with a shape, or arrays by model input name. */
  data: ProbeSource;
  /**
   * The same samples, in the same order, shaped for model b when its inputs differ from a's
   * (an MLP on flat 64-vectors against a CNN on 1×8×8 images). Default: `data` for both.
   */
  dataB?: ProbeSource;
  /** Integer class labels (a one-array file path, e.g. .npy, or an array), adding accuracy and error-aware measures. */
  labels?: string | ArrayLike<number>;
  /** Model output to compare (default: each model's first output). */
  output?: string;
  /** Measures (default js, tv, hellinger, disagreement, kl); 'kappa' adds Cohen's kappa of the argmax labels. */
  metrics?: CompareMetric[];
  /** How to read outputs (default 'auto'; the result says what was used). */
  outputs?: OutputKind | 'auto';
  /** Smoothing for KL-type measures (default none: KL may be +Infinity). */
  epsilon?: number;
  /** Report information measures in bits instead of nats. */
  bits?: boolean;
  /** k×k cost matrix for 'emd-cost'. */
  cost?: Float64Array;
  /** Where the cost matrix came from (e.g. its file), for error messages. */
  costName?: string;
  /** Bootstrap replicates for the 95% interval (default 1000; 0 = none). */
  bootstrap?: number;
  /** Bootstrap seed (default 0). */
  seed?: number;
  /** Target ci95 half-width for the samples-needed estimate (default: 10% of each mean). */
  precision?: number;
  /** Report the K samples with the largest value of the first measure. */
  top?: number;
  /** Include the per-class breakdown (default: when top is set). */
  perClass?: boolean;
  /** Keep the per-sample values in the result. */
  perSample?: boolean;
  batchSize?: number;
  cache?: boolean;
  cacheDir?: string;
  cwd?: string;
  /** Inference progress: samples with both models' outputs done, of n. */
  onProgress?: (done: number, total: number) => void;
  /** Bootstrap progress: replicates done, of the total (not called for a normal-theory interval). */
  onBootstrapProgress?: (done: number, total: number) => void;
  onWarning?: (message: string) => void;
  isa?: DivergenceOptions['isa'];
  threads?: number;
}

export type { MetricSummary } from './summary';

export interface ComparedModel {
  /** The model as given: its path, or "<bytes>" / "<session>". */
  path: string;
  outputName: string;
  /** Outputs came from the cache. */
  cached: boolean;
}

export interface Comparison {
  models: [ComparedModel, ComparedModel];
  n: number;
  /** Classes (output columns). */
  k: number;
  /** How outputs were interpreted. */
  outputs: OutputKind;
  units: 'nats' | 'bits';
  /** The smoothing applied to both distributions before every distribution measure (absent = none). */
  epsilon?: number;
  metrics: Partial<Record<FunctionMeasureName, MetricSummary>>;
  /** Cohen's kappa between the two argmax labelings (when 'kappa' is requested). */
  kappa?: number;
  accuracy?: Accuracy;
  top?: TopSample[];
  perClass?: PerClass;
  /** Every dtype conversion applied to the probe data. */
  inputConversions: string[];
  /** How every ci95 was computed: replicates, seed, method ('percentile' | 'normal' | 'none') and the rule that chose it. */
  bootstrap: IntervalSummary;
  /** Advice, e.g. how to get a finite KL. */
  hints: string[];
  /** Non-fatal problems (e.g. an unwritable cache folder). */
  warnings: string[];
  perSample?: Partial<Record<FunctionMeasureName, Float64Array>>;
}

function modelLabel(m: ModelSource): string {
  return typeof m === 'string' ? m : m instanceof Uint8Array ? '<bytes>' : '<session>';
}

export async function compare(a: ModelSource, b: ModelSource, options: CompareOptions): Promise<Comparison> {
  options = optionsObject(options, 'compare');
  requireOption(options.data, 'compare', 'data', 'the probe set: an array file path, a typed array with a shape, or arrays by model input name');
  checkArrayOption(options.metrics, 'compare', 'metrics');
  checkBooleanOption(options.bits, 'compare', 'bits');
  const requested = options.metrics && options.metrics.length > 0 ? options.metrics : DEFAULT_METRICS;
  const measures = [...new Set(requested.filter((m): m is FunctionMeasureName => m !== 'kappa'))];
  const wantKappa = requested.includes('kappa');
  // The CLI's option parsers refuse these first; here they guard library callers, before inference.
  const { replicates, seed } = checkSummaryOptions(options);
  if (options.top !== undefined && !(Number.isInteger(options.top) && options.top >= 1)) {
    throw new ModeldiffError('INVALID_ARGUMENT', `top must be a positive integer, got ${String(options.top)}`);
  }
  // Checked before inference, not after: --top ranks by a per-sample measure.
  if (options.top !== undefined && measures.length === 0) {
    throw new ModeldiffError('USAGE', '--top ranks samples by the first --metric; give at least one per-sample metric');
  }
  // Opened for streaming: a C-order .npy is read a batch of rows at a time by each model.
  const probe = openProbe(options.data, { cwd: options.cwd });
  const n = probe.n;
  // null reads as absent, as undefined does.
  const probeB = options.dataB !== undefined && options.dataB !== null ? openProbe(options.dataB, { cwd: options.cwd }) : probe;
  if (probeB.n !== n) {
    throw new ModeldiffError('SHAPE_MISMATCH', `data has ${n} samples but dataB has ${probeB.n}; dataB must hold the same samples as data, shaped for model b`);
  }
  const truth = options.labels !== undefined ? loadLabels(options.labels, n, { cwd: options.cwd }) : undefined;
  const labelsName = typeof options.labels === 'string' ? options.labels : 'labels';

  const done = [0, 0];
  const progress = (i: number) => (d: number) => {
    done[i] = d;
    options.onProgress?.(Math.min(done[0], done[1]), n);
  };
  const warnings: string[] = [];
  const warn = (w: string) => {
    if (!warnings.includes(w)) {
      warnings.push(w);
      options.onWarning?.(w);
    }
  };
  const inferOpts = (i: number, m: ModelSource): InferOptions => ({
    output: options.output,
    batchSize: options.batchSize,
    cache: options.cache,
    cacheDir: options.cacheDir,
    cwd: options.cwd,
    label: modelLabel(m),
    onProgress: progress(i),
    onWarning: warn,
  });
  const sa: InferenceStream = await streamOutputs(a, probe, inferOpts(0, a));
  let sb: InferenceStream;
  try {
    sb = await streamOutputs(b, probeB, inferOpts(1, b));
  } catch (e) {
    await sa.close();
    throw e;
  }

  const perSample = Object.fromEntries(measures.map((m) => [m, new Float64Array(n)])) as Record<FunctionMeasureName, Float64Array>;
  // Predicted classes are only needed for kappa, accuracy, top-K and the per-class table.
  const wantPerClass = options.perClass ?? options.top !== undefined;
  const needPredictions = wantKappa || truth !== undefined || options.top !== undefined || wantPerClass;
  const predA = { label: new Int32Array(needPredictions ? n : 0), confidence: new Float64Array(needPredictions ? n : 0) };
  const predB = { label: new Int32Array(needPredictions ? n : 0), confidence: new Float64Array(needPredictions ? n : 0) };
  let kind: OutputKind | undefined;
  let k = 0;
  const divOptions: DivergenceOptions = {
    epsilon: options.epsilon,
    bits: options.bits,
    cost: options.cost,
    isa: options.isa,
    threads: options.threads,
    names: [sa.label, sb.label],
  };
  try {
    for await (const batch of coalesce(pairBatches(sa.batches, sb.batches), CHUNK_VALUES)) {
      if (kind === undefined) {
        if (batch.a.k !== batch.b.k) {
          throw new ModeldiffError(
            'SHAPE_MISMATCH',
            `the models' outputs disagree in shape: ${sa.label} output "${sa.outputName}" is [${n}, ${batch.a.k}], ` +
              `${sb.label} output "${sb.outputName}" is [${n}, ${batch.b.k}]`,
          );
        }
        k = batch.a.k;
        // 'auto' is decided on the first batch; the kernels still validate every later batch.
        const outputLabels = [`${sa.label} output "${sa.outputName}"`, `${sb.label} output "${sb.outputName}"`];
        kind = resolveOutputKind([batch.a, batch.b], options.outputs ?? 'auto', outputLabels, [
          { model: sa.label, outputs: sa.outputNames },
          { model: sb.label, outputs: sb.outputNames },
        ]);
        const misread = outputKindWarning([batch.a, batch.b], kind, outputLabels);
        if (misread !== undefined) warn(misread);
        divOptions.outputs = kind;
        if (measures.includes('emd-cost') && options.cost !== undefined) {
          const ke = kind === 'sigmoid' || kind === 'sigmoid-logit' ? 2 : k;
          check(
            options.cost.length === ke * ke,
            'SHAPE_MISMATCH',
            `${options.costName ?? 'cost matrix'}: the cost matrix must be ${ke} × ${ke} (one row and column per class of the models' outputs), got ${options.cost.length} values`,
          );
        }
      }
      let values = {} as Record<FunctionMeasureName, Float64Array>;
      try {
        if (measures.length > 0) {
          // A typical chunk (e.g. 3300×10) takes well under a millisecond: computing it on this
          // thread avoids a worker hop and a thread spawn per chunk, which cost more than the
          // work (and much more on a loaded machine). Big chunks go to the threaded kernels.
          values =
            batch.a.n * batch.a.k <= SYNC_BATCH_ELEMENTS && options.threads === undefined
              ? divergencePerSampleSync(batch.a, batch.b, measures, { ...divOptions, threads: 1 })
              : await divergencePerSample(batch.a, batch.b, measures, divOptions);
        }
      } catch (e) {
        // Kernel errors name a row of the chunk; name the probe-set sample instead.
        if (e instanceof ModeldiffError && /\brow \d+\b/.test(e.message)) {
          const message = e.message.replace(/\brow (\d+)\b/, (_, r: string) => `sample ${batch.start + Number(r)}`);
          throw new ModeldiffError(e.code, message, { cause: e });
        }
        throw e;
      }
      for (const m of measures) perSample[m].set(values[m], batch.start);
      if (needPredictions) {
        const pa = predict(batch.a, kind);
        const pb = predict(batch.b, kind);
        predA.label.set(pa.label, batch.start);
        predA.confidence.set(pa.confidence, batch.start);
        predB.label.set(pb.label, batch.start);
        predB.confidence.set(pb.confidence, batch.start);
      }
    }
  } finally {
    await Promise.all([sa.close(), sb.close()]);
  }

  const { metrics, hints, bootstrap } = await summarizeMeasures(perSample, measures, {
    replicates,
    seed,
    threads: options.threads,
    precision: options.precision,
    onProgress: options.onBootstrapProgress,
  });

  const result: Comparison = {
    models: [
      { path: sa.label, outputName: sa.outputName, cached: sa.cached },
      { path: sb.label, outputName: sb.outputName, cached: sb.cached },
    ],
    n,
    k,
    outputs: kind!,
    units: options.bits ? 'bits' : 'nats',
    ...(options.epsilon ? { epsilon: options.epsilon } : {}),
    metrics,
    inputConversions: [...sa.inputConversions, ...sb.inputConversions],
    bootstrap,
    hints,
    warnings,
  };
  if (wantKappa) result.kappa = cohenKappa(predA.label, predB.label, Math.max(k, 2));
  if (truth) result.accuracy = accuracyStats(predA.label, predB.label, truth, Math.max(k, 2), labelsName);
  if (options.top !== undefined) result.top = topSamples(perSample[measures[0]], options.top, predA, predB, truth);
  if (wantPerClass) result.perClass = perClassBreakdown(predA.label, predB.label, Math.max(k, 2));
  if (options.perSample) result.perSample = perSample;
  return result;
}
