/**
 * The function view of two models on compare's probe set (`compare` in lib/function/compare.ts
 * drives it): compareContext checks compare's options before any model runs; prepare opens a
 * model's output stream (run batch by batch, from the output cache when possible); pair
 * consumes both streams together. Each batch goes straight to the divergence kernels, so only
 * the per-sample values (n float64 per measure) and each model's predicted class and
 * confidence are kept, never the n×k outputs. Each measure is summarized as mean, standard
 * error, a seeded percentile-bootstrap 95% interval, median and max, with the number of samples
 * a chosen precision would need. The N-model side is lib/views/function.ts.
 */
import { ModeldiffError, check } from '../errors';
import { coalesce, pairBatches } from '../infer/align';
import { type InferenceStream, type InferOptions, streamOutputs } from '../infer/infer';
import type { ModelSource } from '../infer/session';
import path from 'node:path';

import { readArray } from '../io/array-file';
import { type ProbeSource, type ProbeStream, loadLabels, openProbe } from '../io/probe';
import { DTYPES, type Tensor } from '../io/tensor';
import { withRowOffset } from '../native/call';
import { checkArrayOption, checkBooleanOption, optionsObject, requireOption } from '../util/options';
import { type Accuracy, accuracyStats } from '../function/accuracy';
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
} from '../function/divergence';
import { type PerClass, perClassBreakdown } from '../function/per-class';
import { checkSummaryOptions, type IntervalSummary, type MetricSummary, summarizeMeasures } from '../function/summary';
import { type TopSample, topSamples } from '../function/top';
import { type TokenGrid, nextTokenTargets, readTargets, toRows, tokenGrid } from '../function/token-grid';
import { type TokenMaskOptions, openTokenMask, refuseSequenceOptions, tokenMask } from '../function/token-mask';
import { TokenAccumulator, type TokenSummary } from '../function/token-summary';
import { plural } from '../util/plural';
import type { View } from './view';

export type CompareMetric = FunctionMeasureName | 'kappa';

/** Batches up to this many output values (n·k) run the divergence kernels on the calling thread. */
const SYNC_BATCH_ELEMENTS = 1 << 16;
/** Small inference batches are merged into chunks of at least this many output values per model. */
const CHUNK_VALUES = 1 << 15;

export const DEFAULT_METRICS: FunctionMeasureName[] = ['js', 'tv', 'hellinger', 'disagreement', 'kl'];
/** Sequence outputs: KL(A‖B) first, as llama.cpp reports it; top-1 agreement replaces disagreement. */
export const DEFAULT_TOKEN_METRICS: FunctionMeasureName[] = ['kl', 'js', 'tv', 'hellinger'];

export interface CompareOptions extends TokenMaskOptions {
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
  /** Cap on the cache folder in bytes (see InferOptions). */
  cacheMaxBytes?: number;
  /** Outputs bigger than this are not cached (see InferOptions). */
  cacheEntryMaxBytes?: number;
  cwd?: string;
  /** Inference progress: samples with both models' outputs done, of n. */
  onProgress?: (done: number, total: number) => void;
  /** Bootstrap progress: replicates done, of the total (not called for a closed-form or normal-theory interval). */
  onBootstrapProgress?: (done: number, total: number) => void;
  onWarning?: (message: string) => void;
  isa?: DivergenceOptions['isa'];
  threads?: number;
  /**
   * Outputs of rank ≥ 3 (e.g. an LM's [batch, sequence, vocab] logits): the class axis, counted
   * in the full output shape (default the last; negative counts from the end). Every other
   * position is a row that remembers its sequence.
   */
  classAxis?: number;
  /** Sequence outputs: 'next' scores each model's next-token prediction (the target at t is input_ids at t + 1). Per-token targets come from `labels`. */
  targets?: 'next';
  /** k of the top-k overlap of sequence outputs (default 5). */
  topk?: number;
  /** onnxruntime execution providers in order of preference (default ['cpu']). */
  executionProviders?: string[];
}

export type { MetricSummary } from '../function/summary';
export type { TokenSummary } from '../function/token-summary';

export interface ComparedModel {
  /** The model as given: its path, or "<bytes>" / "<session>". */
  path: string;
  outputName: string;
  /** Outputs came from the cache. */
  cached: boolean;
}

export interface Comparison {
  models: [ComparedModel, ComparedModel];
  /** Probe samples (sequences, for sequence outputs). */
  n: number;
  /** Sequence outputs: rows counted (unmasked positions); metrics summarize these. */
  rows?: number;
  /** Sequence outputs: sequences with at least one counted row. */
  sequences?: number;
  /** Sequence outputs: the class axis of the output (axis 0 = batch). */
  classAxis?: number;
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
  /** How every ci95 was computed: replicates, seed, method ('percentile' | 'cornish-fisher' | 'normal' | 'none') and the rule that chose it. */
  bootstrap: IntervalSummary;
  /** Advice, e.g. how to get a finite KL. */
  hints: string[];
  /** Non-fatal problems (e.g. an unwritable cache folder). */
  warnings: string[];
  /** Per-sample values (per counted token, for sequence outputs). */
  perSample?: Partial<Record<FunctionMeasureName, Float64Array>>;
  /** Sequence outputs: each per-token value's sequence and position (flat over the position axes). */
  perSampleIndex?: { sequence: Int32Array; position: Int32Array };
  /** Sequence outputs: the token-level summary (llama.cpp's KL-divergence report and more); its measures are `metrics`. */
  tokens?: Omit<TokenSummary, 'metrics'>;
}

/** The probe input that holds token ids: input_ids, else the only integer input. */
function tokenIdInput(probe: ProbeStream): string | undefined {
  if ('input_ids' in probe.inputs) return 'input_ids';
  const ints = Object.keys(probe.inputs).filter((k) => DTYPES[probe.inputs[k].dtype].kind === 'int' || DTYPES[probe.inputs[k].dtype].kind === 'uint');
  return ints.length === 1 ? ints[0] : undefined;
}

function asInt32(t: Tensor): Int32Array {
  const out = new Int32Array(t.data.length);
  for (let i = 0; i < out.length; i++) out[i] = Number(t.data[i]);
  return out;
}

function modelLabel(m: ModelSource): string {
  return typeof m === 'string' ? m : m instanceof Uint8Array ? '<bytes>' : '<session>';
}

/** compare's options checked, and everything decided from them before any model runs. */
export function compareContext(options: CompareOptions): CompareContext {
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
    throw new ModeldiffError('INVALID_ARGUMENT', `options.top must be a positive integer, got ${String(options.top)}`, { option: 'top' });
  }
  // Checked before inference, not after: top ranks by a per-sample measure.
  if (options.top !== undefined && measures.length === 0) {
    throw new ModeldiffError('INVALID_ARGUMENT', 'options.top ranks samples by the first of options.metrics; give at least one per-sample metric', { option: 'top' });
  }
  // Opened for streaming: a C-order .npy is read a batch of rows at a time by each model.
  const probe = openProbe(options.data, { cwd: options.cwd });
  const n = probe.n;
  // null reads as absent, as undefined does.
  const probeB = options.dataB !== undefined && options.dataB !== null ? openProbe(options.dataB, { cwd: options.cwd }) : probe;
  if (probeB.n !== n) {
    throw new ModeldiffError('SHAPE_MISMATCH', `options.data has ${plural(n, 'sample')} but options.dataB has ${probeB.n}; options.dataB must hold the same samples as options.data, shaped for model b`, { option: 'dataB' });
  }
  const labelsName = typeof options.labels === 'string' ? options.labels : 'labels';
  // Labels of more than one axis are per-position targets of a sequence output, checked
  // against its token grid once the output shape is known; one axis: class labels, as before.
  const labelsTensor = typeof options.labels === 'string' ? readArray(path.resolve(options.cwd ?? process.cwd(), options.labels), options.labels) : undefined;
  const perPositionLabels = labelsTensor !== undefined && labelsTensor.shape.filter((d, i) => i === 0 || d !== 1).length > 1;
  const truth = options.labels !== undefined && !perPositionLabels ? loadLabels(options.labels, n, { cwd: options.cwd }) : undefined;
  if (options.targets !== undefined && options.targets !== 'next') {
    throw new ModeldiffError('INVALID_ARGUMENT', `options.targets must be 'next', got ${JSON.stringify(options.targets)} (per-token targets come from options.labels)`, { option: 'targets' });
  }
  if (options.targets === 'next' && options.labels !== undefined) {
    throw new ModeldiffError('INVALID_ARGUMENT', "give options.targets 'next' or per-token options.labels, not both", { option: 'targets' });
  }
  if (options.topk !== undefined && !(Number.isInteger(options.topk) && options.topk >= 1)) {
    throw new ModeldiffError('INVALID_ARGUMENT', `options.topk must be a positive integer, got ${String(options.topk)}`, { option: 'topk' });
  }
  const maskOptions = openTokenMask(options, probe, options.cwd);
  const idsInput = tokenIdInput(probe);
  if (options.targets === 'next' && idsInput === undefined) {
    throw new ModeldiffError('INVALID_ARGUMENT', `targets 'next' needs the token ids: a probe input named input_ids (inputs given: ${Object.keys(probe.inputs).join(', ')})`, { option: 'targets' });
  }

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
    cacheMaxBytes: options.cacheMaxBytes,
    cacheEntryMaxBytes: options.cacheEntryMaxBytes,
    cwd: options.cwd,
    label: modelLabel(m),
    onProgress: progress(i),
    onWarning: warn,
    executionProviders: options.executionProviders,
  });
  return { options, probe, probeB, n, measures, wantKappa, replicates, seed, labelsName, labelsTensor, perPositionLabels, truth, maskOptions, idsInput, warnings, warn, inferOpts };
}

/** What compare decided from its options before any model runs: the function view's context. */
export interface CompareContext {
  options: CompareOptions;
  probe: ProbeStream;
  probeB: ProbeStream;
  n: number;
  measures: FunctionMeasureName[];
  wantKappa: boolean;
  replicates: number;
  seed: number;
  labelsName: string;
  labelsTensor: Tensor | undefined;
  perPositionLabels: boolean;
  truth: ReturnType<typeof loadLabels> | undefined;
  maskOptions: ReturnType<typeof openTokenMask>;
  idsInput: string | undefined;
  warnings: string[];
  warn: (w: string) => void;
  inferOpts: (side: number, m: ModelSource) => InferOptions;
}

/** prepare = a model's output stream; pair = both streams into per-sample divergences and their summary. */
export const compareView: View<{ source: ModelSource; side: 0 | 1 }, CompareContext, InferenceStream, Comparison> = {
  prepare: ({ source, side }, c) => streamOutputs(source, side === 0 ? c.probe : c.probeB, c.inferOpts(side, source)),
  pair: comparePair,
};

async function comparePair(sa: InferenceStream, sb: InferenceStream, context: CompareContext): Promise<Comparison> {
  const { options, probe, n, wantKappa, replicates, seed, labelsName, labelsTensor, perPositionLabels, truth, maskOptions, idsInput, warnings, warn } = context;
  let measures = context.measures;
  const perSample = Object.fromEntries(measures.map((m) => [m, new Float64Array(n)])) as Record<FunctionMeasureName, Float64Array>;
  // Predicted classes are only needed for kappa, accuracy, top-K and the per-class table.
  const wantPerClass = options.perClass ?? options.top !== undefined;
  const needPredictions = wantKappa || truth !== undefined || options.top !== undefined || wantPerClass;
  const predA = { label: new Int32Array(needPredictions ? n : 0), confidence: new Float64Array(needPredictions ? n : 0) };
  const predB = { label: new Int32Array(needPredictions ? n : 0), confidence: new Float64Array(needPredictions ? n : 0) };
  let kind: OutputKind | undefined;
  let k = 0;
  // Sequence outputs (rank ≥ 3): the token grid and the accumulator of per-token numbers.
  let grid: TokenGrid | undefined;
  let tokens: TokenAccumulator | undefined;
  const divOptions: DivergenceOptions = {
    epsilon: options.epsilon,
    bits: options.bits,
    cost: options.cost,
    isa: options.isa,
    threads: options.threads,
    names: [sa.label, sb.label],
  };
  const outputLabel = (i: number) => (i === 0 ? `${sa.label} output "${sa.outputName}"` : `${sb.label} output "${sb.outputName}"`);
  /** The token grid of both models' sequence outputs, which must agree. */
  const startTokens = (da: number[] | undefined, db: number[] | undefined): TokenGrid => {
    if (!da || !db) {
      const [seqModel, other] = da ? [0, 1] : [1, 0];
      throw new ModeldiffError('SHAPE_MISMATCH', `${outputLabel(seqModel)} is a sequence output [N, ${(da ?? db)!.join(', ')}] but ${outputLabel(other)} has one row per sample`);
    }
    if (wantKappa) throw new ModeldiffError('INVALID_ARGUMENT', "metric 'kappa' is for one row per sample; sequence outputs report top-1 agreement instead", { option: 'metrics' });
    const ga = tokenGrid(da, options.classAxis, outputLabel(0));
    const gb = tokenGrid(db, options.classAxis, outputLabel(1));
    if (truth !== undefined) {
      throw new ModeldiffError('SHAPE_MISMATCH', `${labelsName}: one label per sequence, but sequence outputs need per-position targets of shape [${n}, ${ga.positionDims.join(', ')}] (negative = no target)`, { option: 'labels' });
    }
    if (ga.vocab !== gb.vocab) {
      throw new ModeldiffError(
        'SHAPE_MISMATCH',
        `the models' vocabularies differ: ${outputLabel(0)} has ${ga.vocab} classes on axis ${ga.classAxis}, ${outputLabel(1)} has ${gb.vocab}; token-level measures need the same vocabulary`,
      );
    }
    if (ga.positionDims.join() !== gb.positionDims.join()) {
      throw new ModeldiffError('SHAPE_MISMATCH', `the models' outputs disagree in positions: ${outputLabel(0)} is [N, ${da.join(', ')}], ${outputLabel(1)} is [N, ${db.join(', ')}]`);
    }
    return ga;
  };
  /** The mask, targets and token ids that go with the grid, read from the probe and files. */
  const tokenInputs = (g: TokenGrid) => {
    const gridName = outputLabel(0);
    const { mask, source: maskSource, option: maskOption } = tokenMask(maskOptions, probe, n, g, gridName);
    const idsTensor = idsInput !== undefined ? probe.inputs[idsInput].materialize() : undefined;
    const idsSource = idsInput !== undefined ? (probe.sources[idsInput] === '<array>' ? `probe input "${idsInput}"` : probe.sources[idsInput]) : '';
    let targets: Int32Array | undefined;
    let targetSource: string | undefined;
    if (options.targets === 'next') {
      targets = nextTokenTargets(idsTensor!, mask, n, g, idsSource, gridName);
      targetSource = 'next';
    } else if (perPositionLabels) {
      targets = readTargets(labelsTensor!, n, g, labelsName, gridName);
      targetSource = labelsName;
    }
    const sameGrid = idsTensor !== undefined && idsTensor.shape.length === g.positionDims.length + 1 && idsTensor.data.length === n * g.positions;
    return { mask, maskSource, maskOption, targets, targetSource, tokenIds: sameGrid ? asInt32(idsTensor) : undefined };
  };
  try {
    for await (const batch of coalesce(pairBatches(sa.batches, sb.batches), CHUNK_VALUES)) {
      if (kind === undefined && (batch.a.dims || batch.b.dims)) {
        grid = startTokens(batch.a.dims, batch.b.dims);
        kind = resolveOutputKind([], options.outputs === 'auto' || options.outputs === undefined ? 'logits' : options.outputs);
        divOptions.outputs = kind;
        k = grid.vocab;
        if (!options.metrics || options.metrics.length === 0) measures = DEFAULT_TOKEN_METRICS;
        tokens = new TokenAccumulator({
          n,
          grid,
          measures,
          divergence: divOptions,
          topk: options.topk,
          top: options.top,
          ...tokenInputs(grid),
        });
      }
      if (grid && tokens) {
        await tokens.add(batch.start, batch.a.n, toRows(batch.a.data, batch.a.n, grid), toRows(batch.b.data, batch.b.n, grid));
        continue;
      }
      if (kind === undefined) {
        if (perPositionLabels && options.targets === undefined) loadLabels(options.labels!, n, { cwd: options.cwd }); // its one-line error for labels that are not [n]
        refuseSequenceOptions(options, n, batch.a.k, `${sa.label} output "${sa.outputName}"`, options.targets !== undefined ? ['targets'] : perPositionLabels ? ['labels'] : []);
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
        throw withRowOffset(e, batch.start, 'sample');
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

  let tokenSummary: TokenSummary | undefined;
  const summaryOptions = { replicates, seed, threads: options.threads, precision: options.precision, onProgress: options.onBootstrapProgress };
  let summarized: Awaited<ReturnType<typeof summarizeMeasures<FunctionMeasureName>>>;
  if (tokens) {
    const t = await tokens.summarize(summaryOptions);
    tokenSummary = t.summary;
    summarized = { metrics: t.summary.metrics, hints: t.hints, bootstrap: t.bootstrap };
  } else {
    summarized = await summarizeMeasures(perSample, measures, summaryOptions);
  }
  const { metrics, hints, bootstrap } = summarized;

  const result: Comparison = {
    models: [
      { path: sa.label, outputName: sa.outputName, cached: sa.cached },
      { path: sb.label, outputName: sb.outputName, cached: sb.cached },
    ],
    n,
    ...(tokenSummary ? { rows: tokenSummary.rows, sequences: tokenSummary.sequences, classAxis: tokenSummary.classAxis } : {}),
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
  if (tokenSummary && tokens) {
    const { top, metrics: _measures, ...rest } = tokenSummary;
    result.tokens = rest;
    if (top) result.tokens.top = top;
    if (options.perSample) {
      result.perSample = tokens.perToken();
      result.perSampleIndex = tokens.perTokenIndex();
    }
    return result;
  }
  if (wantKappa) result.kappa = cohenKappa(predA.label, predB.label, Math.max(k, 2));
  if (truth) result.accuracy = accuracyStats(predA.label, predB.label, truth, Math.max(k, 2), labelsName);
  if (options.top !== undefined) result.top = topSamples(perSample[measures[0]], options.top, predA, predB, truth);
  if (wantPerClass) result.perClass = perClassBreakdown(predA.label, predB.label, Math.max(k, 2));
  if (options.perSample) result.perSample = perSample;
  return result;
}
