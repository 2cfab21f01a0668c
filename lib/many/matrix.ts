/**
 * `matrix(models, options)`: the N×N functional distance matrix of N models on
 * one probe set (each model inferred once, through the inference cache), plus
 * weight distance matrices when the models are ONNX files sharing an
 * architecture. `study` builds on the same preparation.
 */
import path from 'node:path';

import { ModeldiffError, check } from '../errors';
import { type ProbeData, type ProbeSource, loadProbe, openProbe } from '../io/probe';
import { measureInfo } from '../measures/registry';
import { optionsObject } from '../util/options';
import { type SavedOutputs, checkSameProbe, isOutputsFile, probeSha256, readSavedOutputs } from './saved-outputs';
import { FUNCTION_MEASURE_NAMES, type FunctionMeasureName, type OutputKind, inferOutputs, resolveOutputKind } from './deps';
import { type TokenLayout, layoutFields, tokenLayout, tokenRowsOf } from './token-rows';
import { type OpenTokenMask, type TokenMaskOptions, openTokenMask, refuseSequenceOptions } from '../function/token-mask';
import { type OutputStore, blockSizeFor, checkSameShape, memoryStore, modelBytes } from './store';
import { type MatrixResult, WEIGHT_METHODS, type WeightMatrices, type WeightMethod } from './types';
import type { Matrix } from '../matrix';
import type { RepresentationMeasureName } from '../represent/similarity';
import { type RepresentationMatrices, representationMatrices } from '../views/representations';
import { type FunctionMatrices, type FunctionMatrixOptions, functionMatrices } from '../views/function';
import { weightMatrices } from '../views/weights';

/**
 * A model: an ONNX file, saved outputs (an array file from `modeldiff outputs`, with its .json
 * beside it), or outputs already computed (with a display name).
 */
export type ModelInput = string | { name: string; outputs: Matrix; path?: string };

/** Stages reported through onProgress; 'analysis' (study only) counts its steps: bootstrap, clusters, accuracy, correlations, maps. */
export type ProgressStage = 'inference' | 'distances' | 'weights' | 'analysis';

export interface MatrixOptions extends TokenMaskOptions {
  /** Probe set, as compare takes it (an array file path, a typed array with a shape, arrays by model input name, or loaded probe data); required when any model is a file. */
  data?: ProbeSource;
  /** Functional measure from the registry (default "js"). */
  metric?: string;
  /** How to read model outputs: "auto" (default), "logits", "probs", "sigmoid", "sigmoid-logit". */
  outputs?: string;
  /** Model output to use, when a model has several. */
  output?: string;
  /**
   * Outputs of rank ≥ 3 (e.g. an LM's [batch, sequence, vocab] logits): the class axis, counted
   * in the full output shape (default the last; negative counts from the end). Every other
   * position is a row that remembers its sequence; `mask` and `maskFile` choose which count.
   */
  classAxis?: number;
  /** Smoothing of both distributions before the measure, p ← (p + ε) / (1 + kε); passed to the divergence kernels. */
  epsilon?: number;
  /** k × k row-major cost matrix for metric 'emd-cost' (2 × 2 for sigmoid outputs). */
  cost?: Float64Array;
  /** Names the cost matrix in errors (e.g. its file). Default "cost matrix". */
  costName?: string;
  /** Weight distance methods, or "none". Default: all three when every model is a file. */
  weights?: 'none' | WeightMethod[];
  seed?: number;
  threads?: number;
  batchSize?: number;
  /** Use the inference cache (default true). Streaming under maxMemory needs it. */
  cache?: boolean;
  cacheDir?: string;
  /** Cap on the cache folder in bytes (see InferOptions). */
  cacheMaxBytes?: number;
  /** Outputs bigger than this are not cached (see InferOptions). */
  cacheEntryMaxBytes?: number;
  /** onnxruntime execution providers in order of preference (default ['cpu']). */
  executionProviders?: string[];
  /** Non-fatal problems, each once (e.g. outputs above cacheEntryMaxBytes are not cached). */
  onWarning?: (message: string) => void;
  /** Memory budget in bytes for model outputs; above it, outputs are processed in blocks re-read from the cache. */
  maxMemory?: number;
  /** Relative file names resolve against this folder (default process.cwd()). */
  cwd?: string;
  /**
   * A layer (tensor name, node name or `#k`) every model is read at: adds CKA-family matrices
   * there (`representations`), through the representations view. Needs every model as a file.
   */
  layers?: string;
  /** Representation measures at `layers` (default ['cka-linear']). */
  representations?: RepresentationMeasureName[];
  onProgress?: (stage: ProgressStage, done: number, total: number) => void;
}

export interface Prepared {
  store: OutputStore;
  names: string[];
  paths: Array<string | null>;
  outputKind: OutputKind;
  metric: FunctionMeasureName;
  /** Smoothing applied before the measure (absent = none). */
  epsilon?: number;
}

/** A per-sample function-view measure where larger means more different (a distance or divergence). */
export function checkMetric(name: string): FunctionMeasureName {
  const ok = (FUNCTION_MEASURE_NAMES as readonly string[]).includes(name) && !measureInfo(name).largerIsSimilar;
  if (!ok) {
    const choices = FUNCTION_MEASURE_NAMES.filter((m) => !measureInfo(m).largerIsSimilar);
    throw new ModeldiffError('INVALID_ARGUMENT', `options.metric "${name}" is not an output distance measure (choose from ${choices.join(', ')})`, { option: 'metric' });
  }
  return name as FunctionMeasureName;
}

/** Unique display names: file base names, with the parent folder added where two collide. */
export function displayNames(models: ModelInput[]): string[] {
  const names = models.map((m) => (typeof m === 'string' ? path.basename(m) : m.name));
  const seen = new Map<string, number>();
  for (const n of names) seen.set(n, (seen.get(n) ?? 0) + 1);
  return names.map((n, i) => {
    const m = models[i];
    if ((seen.get(n) ?? 0) < 2) return n;
    return typeof m === 'string' ? path.join(path.basename(path.dirname(m)), n) + `#${i}` : `${n}#${i}`;
  });
}

export async function prepare(models: ModelInput[], options: MatrixOptions): Promise<Prepared> {
  check(Array.isArray(models) && models.length >= 2, 'INVALID_ARGUMENT', `need at least 2 models, got ${Array.isArray(models) ? models.length : 0}`);
  const metric = checkMetric(options.metric ?? 'js');
  // Before inference, not after: the cost matrix's size is checked once the classes are known.
  check(metric !== 'emd-cost' || options.cost !== undefined, 'INVALID_ARGUMENT', "options.metric 'emd-cost' needs a k×k cost matrix in options.cost", 'metric');
  checkWeightMethods(options.weights);
  const cwd = options.cwd ?? process.cwd();
  const saved = withSavedOutputs(models, cwd);
  models = saved.models;
  const names = displayNames(models);
  const paths = models.map((m) => (typeof m === 'string' ? path.resolve(cwd, m) : (m.path ?? null)));
  const files = models.some((m) => typeof m === 'string');
  check(!files || options.data !== undefined, 'INVALID_ARGUMENT', 'model files need a probe set in options.data', 'data');
  // The probe file is read once, whole (inference, token masks); the saved outputs are checked
  // against the hash taken during that read (lib/io/probe.ts), not a second pass over the file.
  const probeStream = options.data !== undefined ? openProbe(options.data, { cwd }) : undefined;
  const probe = probeStream && loadProbe(probeStream);
  if (saved.files.length > 0) {
    checkSameProbe(saved.files, saved.labels, probeStream && { sha256: probeSha256(probeStream), label: typeof options.data === 'string' ? options.data : 'the probe set' });
  }
  // The token mask (from the probe set when given, or a mask file), checked before any model runs.
  const mask = openTokenMask(options, probe, cwd);
  let store: OutputStore;
  if (!files) {
    const outputs = models.map((m) => (m as { outputs: Matrix }).outputs);
    const first = outputs[0];
    if (first.dims) {
      const layout = tokenLayout(first.dims, first.n, probe, names[0], { classAxis: options.classAxis, mask });
      const rows = outputs.map((o, i) => tokenRowsOf(o, layout, names[i]));
      store = { ...memoryStore(names, rows, options.maxMemory), ...layoutFields(layout) };
    } else {
      refuseSequenceOptions(options, first.n, first.k, names[0]);
      store = memoryStore(names, outputs, options.maxMemory);
    }
  } else {
    store = await inferenceStore(models, names, paths, probe as ProbeData, mask, options);
  }
  const first = await store.load([0]);
  const outputKind = resolveOutputKind(first, (options.outputs ?? 'auto') as OutputKind | 'auto', [names[0]]);
  if (metric === 'emd-cost') checkCost(options, outputKind === 'sigmoid' || outputKind === 'sigmoid-logit' ? 2 : store.classes);
  return { store, names, paths, outputKind, metric, ...(options.epsilon ? { epsilon: options.epsilon } : {}) };
}

/**
 * Model arguments that name saved outputs (an array file written by `modeldiff outputs`, see
 * saved-outputs.ts) become outputs named after their model; `files` and `labels` are for
 * `checkSameProbe` (they must all come from one probe set, the one in `options.data` when given).
 */
function withSavedOutputs(models: ModelInput[], cwd: string): { models: ModelInput[]; files: SavedOutputs[]; labels: string[] } {
  const saved: SavedOutputs[] = [];
  const labels: string[] = [];
  const out = models.map((m): ModelInput => {
    if (typeof m !== 'string' || !isOutputsFile(path.resolve(cwd, m))) return m;
    const s = readSavedOutputs(path.resolve(cwd, m), m);
    saved.push(s);
    labels.push(m);
    return { name: s.name, outputs: s.outputs };
  });
  return { models: out, files: saved, labels };
}

/** The emd-cost matrix must cover the models' classes; checked here so the error names it before any pair is computed. */
function checkCost(options: MatrixOptions, k: number): void {
  const name = options.costName ?? 'cost matrix';
  check(options.cost instanceof Float64Array, 'INVALID_ARGUMENT', `${name}: the cost matrix must be a Float64Array`);
  check(
    options.cost.length === k * k,
    'SHAPE_MISMATCH',
    `${name}: the cost matrix must be ${k} × ${k} (one row and column per class of the models' outputs), got ${sizeOf(options.cost.length)}`,
  );
}

const sizeOf = (len: number): string => (Number.isInteger(Math.sqrt(len)) ? `${Math.sqrt(len)} × ${Math.sqrt(len)}` : `${len} entries`);

async function inferenceStore(
  models: ModelInput[],
  names: string[],
  paths: Array<string | null>,
  probe: ProbeData,
  mask: OpenTokenMask,
  options: MatrixOptions,
): Promise<OutputStore> {
  const N = models.length;
  const inferOne = async (i: number): Promise<Matrix> => {
    const m = models[i];
    const r = typeof m !== 'string' ? { outputs: m.outputs, outputName: 'outputs' } : await inferOutputs(paths[i] as string, probe, {
      output: options.output,
      batchSize: options.batchSize,
      cache: options.cache ?? true,
      cacheDir: options.cacheDir,
      cacheMaxBytes: options.cacheMaxBytes,
      cacheEntryMaxBytes: options.cacheEntryMaxBytes,
      executionProviders: options.executionProviders,
      onWarning: warn,
      label: names[i],
    });
    // Sequence outputs ([batch, sequence, vocab] logits) become one row per counted token (the
    // first model's shape, options.classAxis and the mask decide which), never sequence × vocab
    // read as classes.
    if (i === 0 && r.outputs.dims) tokens = tokenLayout(r.outputs.dims, r.outputs.n, probe, `${names[0]} output "${r.outputName}"`, { classAxis: options.classAxis, mask });
    else if (i === 0) refuseSequenceOptions(options, r.outputs.n, r.outputs.k, `${names[0]} output "${r.outputName}"`);
    if (tokens) return tokenRowsOf(r.outputs, tokens, `${names[i]} output "${r.outputName}"`);
    return r.outputs;
  };
  let tokens: TokenLayout | undefined;
  // Streaming re-infers a model whose outputs are not cached: say so once, not per block.
  const warned = new Set<string>();
  const warn = (w: string) => {
    if (!warned.has(w)) {
      warned.add(w);
      options.onWarning?.(w);
    }
  };
  // First pass: infer every model once (this fills the cache) and keep the
  // outputs while they fit the budget.
  const kept: Array<Matrix | null> = new Array(N).fill(null);
  let bytes = 0;
  let perModel = 0;
  let shape: [number, number] = [0, 0];
  options.onProgress?.('inference', 0, N);
  for (let i = 0; i < N; i++) {
    const o = await inferOne(i);
    if (i === 0) {
      perModel = modelBytes(o);
      shape = [o.n, o.k];
    }
    checkSameShape(names, i, o, shape[0], shape[1]);
    bytes += modelBytes(o);
    if (options.maxMemory === undefined || bytes <= options.maxMemory) kept[i] = o;
    else check(options.cache ?? true, 'INVALID_ARGUMENT', 'options.maxMemory below the size of all outputs needs the inference cache, which options.cache turns off', 'cache');
    options.onProgress?.('inference', i + 1, N);
  }
  const streaming = kept.some((o) => o === null);
  if (streaming) {
    for (let i = 0; i < N; i++) kept[i] = null; // hold no more than a block pair at a time
  }
  return {
    names,
    samples: shape[0],
    classes: shape[1],
    ...(tokens ? layoutFields(tokens) : {}),
    blockSize: streaming ? blockSizeFor(N, perModel, options.maxMemory) : N,
    load: async (ids) => {
      const out: Matrix[] = [];
      for (const i of ids) out.push(kept[i] ?? (await inferOne(i)));
      return out;
    },
  };
}

function checkWeightMethods(requested: MatrixOptions['weights']): void {
  if (requested === undefined || requested === 'none') return;
  check(Array.isArray(requested), 'INVALID_ARGUMENT', `options.weights must be "none" or a list of ${WEIGHT_METHODS.join(', ')}`, 'weights');
  for (const m of requested) {
    check((WEIGHT_METHODS as readonly string[]).includes(m), 'INVALID_ARGUMENT', `options.weights: unknown weight method "${m}" (choose from ${WEIGHT_METHODS.join(', ')}, or none)`, 'weights');
  }
}

/** The weight matrices options ask for, or why there are none. */
export async function weightsFor(prep: Prepared, options: MatrixOptions): Promise<WeightMatrices> {
  const requested = options.weights ?? [...WEIGHT_METHODS];
  if (requested === 'none' || requested.length === 0) return { methods: [], skipped: 'not requested' };
  if (prep.paths.some((p) => p === null)) {
    if (options.weights === undefined) return { methods: [], skipped: 'models were given as outputs, not ONNX files' };
    throw new ModeldiffError('INVALID_ARGUMENT', 'options.weights: weight distances need every model as an ONNX file', { option: 'weights' });
  }
  return weightMatrices(prep.paths as string[], requested, {
    seed: options.seed ?? 0,
    onProgress: (d, t) => options.onProgress?.('weights', d, t),
  });
}

export const toRows = (m: Float64Array, n: number): number[][] =>
  Array.from({ length: n }, (_, i) => Array.from(m.subarray(i * n, (i + 1) * n)));

export function matrixResult(prep: Prepared, pass: FunctionMatrices, weights: WeightMatrices): MatrixResult {
  const N = prep.names.length;
  return {
    models: prep.names,
    metric: prep.metric,
    probe: {
      samples: prep.store.samples,
      classes: prep.store.classes,
      outputKind: prep.outputKind,
      ...(prep.epsilon ? { epsilon: prep.epsilon } : {}),
      ...(prep.store.sequences !== undefined
        ? {
            sequences: prep.store.sequences,
            classAxis: prep.store.classAxis,
            mask: prep.store.mask ?? null,
            skippedSequences: prep.store.skippedSequences ?? 0,
            uncertainty: 'cluster bootstrap over sequences' as const,
          }
        : {}),
    },
    functional: toRows(pass.matrix, N),
    weights,
  };
}

/** The functional-pass options `matrix` and `study` share (study adds its bootstrap extras). */
export function passOptions(prep: Prepared, options: MatrixOptions): FunctionMatrixOptions {
  return {
    metric: prep.metric,
    outputKind: prep.outputKind,
    detected: (options.outputs ?? 'auto') === 'auto',
    epsilon: options.epsilon,
    cost: options.cost,
    threads: options.threads,
    onProgress: (d, t) => options.onProgress?.('distances', d, t),
  };
}

export async function matrix(models: ModelInput[], options: MatrixOptions = {}): Promise<MatrixResult> {
  options = optionsObject(options, 'matrix');
  const prep = await prepare(models, options);
  const pass = await functionMatrices(prep.store, passOptions(prep, options));
  const result = matrixResult(prep, pass, await weightsFor(prep, options));
  if (options.layers !== undefined) result.representations = await representationsFor(prep, options, options.layers);
  return result;
}

/** CKA-family matrices at options.layers: one prepare per model and one pair per pair (lib/views). */
export async function representationsFor(prep: Prepared, options: MatrixOptions, layer: string): Promise<RepresentationMatrices> {
  check(prep.paths.every((p) => p !== null) && options.data !== undefined, 'INVALID_ARGUMENT', 'options.layers: representations need every model as an ONNX file and options.data', 'layers');
  return representationMatrices(prep.paths as string[], options.data, layer, {
    data: options.data,
    cwd: options.cwd,
    measures: options.representations,
    batchSize: options.batchSize,
    threads: options.threads,
  });
}
