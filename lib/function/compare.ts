/**
 * compare(a, b, options): how differently two models behave on a probe set. A driver over the
 * function view (lib/views/function.ts): check the options (compareContext, before any model
 * runs), prepare a's output stream, prepare b's, pair them into per-sample divergences, then
 * summarize the pair. Each measure is summarized as mean, standard error, a seeded
 * percentile-bootstrap 95% interval, median and max, with the number of samples a chosen
 * precision would need; with labels, top samples or kappa, the predictions add accuracy, the
 * top samples, the per-class table and kappa; sequence outputs get the token-level summary.
 */
import path from 'node:path';

import { ModeldiffError } from '../errors';
import type { InferOptions } from '../infer/infer';
import type { ModelSource } from '../infer/session';
import { readArray } from '../io/array-file';
import { type ProbeSource, type ProbeStream, loadLabels, openProbe } from '../io/probe';
import { DTYPES } from '../io/tensor';
import { checkArrayOption, checkBooleanOption, optionsObject, requireOption } from '../util/options';
import { plural } from '../util/plural';
import { type FunctionContext, type FunctionPair, type OutputSource, functionView } from '../views/function';
import { type Accuracy, accuracyStats } from './accuracy';
import { type DivergenceOptions, type FunctionMeasureName, type OutputKind, cohenKappa } from './divergence';
import { type PerClass, perClassBreakdown } from './per-class';
import { checkSummaryOptions, type IntervalSummary, type MetricSummary, summarizeMeasures } from './summary';
import { type TopSample, topSamples } from './top';
import { type TokenMaskOptions, openTokenMask } from './token-mask';
import type { TokenSummary } from './token-summary';

export type CompareMetric = FunctionMeasureName | 'kappa';

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

export type { MetricSummary } from './summary';
export type { TokenSummary } from './token-summary';

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

function modelLabel(m: ModelSource): string {
  return typeof m === 'string' ? m : m instanceof Uint8Array ? '<bytes>' : '<session>';
}

/** What compare decided from its options before any model runs: the function view's context, and the summary's settings. */
export interface CompareContext extends FunctionContext {
  options: CompareOptions;
  replicates: number;
  seed: number;
  /** Every warning so far, each once. */
  warnings: string[];
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
  return {
    options,
    replicates,
    seed,
    warnings,
    n,
    measures,
    tokenMeasures: options.metrics && options.metrics.length > 0 ? measures : DEFAULT_TOKEN_METRICS,
    outputs: options.outputs ?? 'auto',
    kernel: { epsilon: options.epsilon, bits: options.bits, cost: options.cost, isa: options.isa, threads: options.threads },
    costName: options.costName,
    // Predicted classes are only needed for kappa, accuracy, top-K and the per-class table.
    keepPredictions: wantKappa || truth !== undefined || options.top !== undefined || wantPerClass(options),
    rowWord: 'sample',
    warn,
    inference: { probe, probeB, options: inferOpts },
    sequence: { options, probe, maskOptions, idsInput, labelsName, labelsTensor, perPositionLabels, truth, kappa: wantKappa },
  };
}

const wantPerClass = (options: CompareOptions): boolean => options.perClass ?? options.top !== undefined;

export async function compare(a: ModelSource, b: ModelSource, options: CompareOptions): Promise<Comparison> {
  const context = compareContext(options);
  const sa = await functionView.prepare({ source: a, side: 0 }, context);
  let sb: OutputSource;
  try {
    sb = await functionView.prepare({ source: b, side: 1 }, context);
  } catch (e) {
    await sa.close();
    throw e;
  }
  return comparison(await functionView.pair(sa, sb, context), context);
}

/** The pair's full summary: every measure's interval, and accuracy, kappa, top samples, per-class or the token-level summary as asked. */
async function comparison(pair: FunctionPair, context: CompareContext): Promise<Comparison> {
  const { options, n, replicates, seed, warnings } = context;
  const { a: sa, b: sb, k, kind, measures, perSample, tokens } = pair;
  const { truth, labelsName, kappa: wantKappa } = context.sequence!;
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
    outputs: kind,
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
  const [predA, predB] = pair.predictions;
  if (wantKappa) result.kappa = cohenKappa(predA.label, predB.label, Math.max(k, 2));
  if (truth) result.accuracy = accuracyStats(predA.label, predB.label, truth, Math.max(k, 2), labelsName);
  if (options.top !== undefined) result.top = topSamples(perSample[measures[0]], options.top, predA, predB, truth);
  if (wantPerClass(options)) result.perClass = perClassBreakdown(predA.label, predB.label, Math.max(k, 2));
  if (options.perSample) result.perSample = perSample;
  return result;
}
