/**
 * divergence() on saved sequence outputs: two arrays of rank ≥ 3 (an LM's logits [n, sequence,
 * vocab], as `modeldiff outputs` writes them) compared token by token, with the mask and the
 * token summary `compare` reports (lib/function/token-summary.ts). The arrays are already in
 * memory; they are fed to the accumulator a few sequences at a time, so a transposed copy (class
 * axis not last) never holds more than one chunk.
 */
import { ModeldiffError } from '../errors';
import { type Tensor, type TypedArray, elementCount, formatShape, makeTensor } from '../io/tensor';
import { type DivergenceOptions, type FunctionMeasureName, type OutputKind, resolveOutputKind } from './divergence';
import type { IntervalSummary, MetricSummary } from './summary';
import { type TokenGrid, readMask, readTargets, toRows, tokenGrid } from './token-grid';
import { TokenAccumulator, type TokenSummary } from './token-summary';

/** One model's saved outputs of rank ≥ 3, row-major: shape [n, ...]. */
export interface SequenceOutputArray {
  data: Float32Array | Float64Array;
  shape: number[];
}

/** A 0/1 mask or per-token targets, [n, ...positions]. */
export interface TokenGridArray {
  data: TypedArray;
  shape: number[];
}

/** The options only sequence outputs (rank ≥ 3) read: shared by divergence() and its sequence path. */
export interface SequenceOutputOptions {
  /** Sequence outputs (rank ≥ 3): the class axis, counted in the full shape (default the last; negative counts from the end). */
  classAxis?: number;
  /** Sequence outputs: 1 = counted, 0 = excluded, per position, shape [n, ...positions] (e.g. the probe's attention_mask, as compare's maskFile). */
  maskFile?: TokenGridArray;
  /** Where the mask came from (e.g. its file), for messages and the result. */
  maskName?: string;
  /** Sequence outputs: per-token target ids [n, ...positions] (negative = none), for next-token quality. */
  labels?: TokenGridArray;
  /** Where the labels came from, for messages and the result. */
  labelsName?: string;
  /** Sequence outputs: k of the top-k overlap (default 5). */
  topk?: number;
  /** Sequence outputs: list the K tokens where the first measure is largest. */
  top?: number;
}

export interface SequenceDivergenceOptions extends DivergenceOptions, SequenceOutputOptions {
  replicates: number;
  seed: number;
  precision?: number;
  perSample?: boolean;
  /** Sequences done of the total, after each chunk of sequences. */
  onProgress?: (done: number, total: number) => void;
  /** Bootstrap progress: replicates done of the total. */
  onBootstrapProgress?: (done: number, total: number) => void;
}

export interface SequenceDivergence {
  n: number;
  k: number;
  outputs: OutputKind;
  grid: TokenGrid;
  metrics: Partial<Record<FunctionMeasureName, MetricSummary>>;
  tokens: Omit<TokenSummary, 'metrics'>;
  bootstrap: IntervalSummary;
  hints: string[];
  perSample?: Partial<Record<FunctionMeasureName, Float64Array>>;
  perSampleIndex?: { sequence: Int32Array; position: Int32Array };
}

/** Output values fed to the accumulator per chunk of whole sequences. */
const CHUNK_VALUES = 1 << 20;

/** Whether an output array is a sequence output (rank ≥ 3) rather than n × k rows. */
export function isSequenceOutput(x: unknown): x is SequenceOutputArray {
  return typeof x === 'object' && x !== null && Array.isArray((x as SequenceOutputArray).shape) && (x as SequenceOutputArray).shape.length >= 3;
}

function asTensor(x: TokenGridArray, name: string): Tensor {
  return makeTensor(x.data, x.shape, undefined, name);
}

/** The per-token comparison of two saved sequence outputs of the same shape. */
export async function sequenceDivergence(
  a: SequenceOutputArray,
  b: SequenceOutputArray,
  names: [string, string],
  measures: FunctionMeasureName[],
  options: SequenceDivergenceOptions,
): Promise<SequenceDivergence> {
  for (const [x, name] of [
    [a, names[0]],
    [b, names[1]],
  ] as const) {
    if (!(x.data instanceof Float32Array || x.data instanceof Float64Array)) throw new ModeldiffError('INVALID_ARGUMENT', `${name}: outputs must be a Float32Array or Float64Array`);
    const size = elementCount(x.shape);
    if (x.data.length !== size) throw new ModeldiffError('SHAPE_MISMATCH', `${name}: ${x.data.length} values do not fill shape ${formatShape(x.shape)}`);
    if (x.shape[0] === 0) {
      const axis = options.classAxis ?? -1;
      const lm = x.shape.length === 3 && (axis === -1 || axis === 2);
      throw new ModeldiffError('INVALID_ARGUMENT', `${name}: no ${lm ? 'sequences' : 'maps'} (n = 0)`);
    }
  }
  if (a.shape.join() !== b.shape.join()) {
    throw new ModeldiffError('SHAPE_MISMATCH', `${names[0]} has shape ${formatShape(a.shape)} but ${names[1]} has shape ${formatShape(b.shape)}; outputs compared on the same probe set must have the same shape`);
  }
  const n = a.shape[0];
  const grid = tokenGrid(a.shape.slice(1), options.classAxis, names[0]);
  const gridName = names[0];
  const mask = options.maskFile ? readMask(asTensor(options.maskFile, options.maskName ?? 'maskFile'), n, grid, options.maskName ?? 'maskFile', gridName, 'maskFile') : undefined;
  const targets = options.labels ? readTargets(asTensor(options.labels, options.labelsName ?? 'labels'), n, grid, options.labelsName ?? 'labels', gridName) : undefined;
  const per = grid.positions * grid.vocab;
  const chunk = Math.max(1, Math.floor(CHUNK_VALUES / per));
  const { replicates, seed, precision, classAxis: _c, maskFile: _m, maskName, labels: _l, labelsName, topk, top, perSample, onProgress, onBootstrapProgress, ...kernel } = options;
  const divOptions: DivergenceOptions = { ...kernel, names };
  let tokens: TokenAccumulator | undefined;
  let kind: OutputKind | undefined;
  for (let start = 0; start < n; start += chunk) {
    const samples = Math.min(chunk, n - start);
    const ra = toRows(a.data.subarray(start * per, (start + samples) * per), samples, grid);
    const rb = toRows(b.data.subarray(start * per, (start + samples) * per), samples, grid);
    if (kind === undefined) {
      // 'auto' decides on the first chunk's rows, as it does on a classifier's first batch.
      const rows = samples * grid.positions;
      kind = resolveOutputKind([{ data: ra, n: rows, k: grid.vocab }, { data: rb, n: rows, k: grid.vocab }], options.outputs ?? 'auto', names);
      divOptions.outputs = kind;
      tokens = new TokenAccumulator({ n, grid, measures, divergence: divOptions, mask, maskSource: mask ? (maskName ?? 'maskFile') : undefined, maskOption: 'maskFile', targets, targetSource: labelsName ?? 'labels', topk, top });
    }
    await tokens!.add(start, samples, ra, rb);
    onProgress?.(start + samples, n);
  }
  const t = await tokens!.summarize({ replicates, seed, threads: options.threads, precision, onProgress: onBootstrapProgress });
  const { metrics, top: topList, ...rest } = t.summary;
  const result: SequenceDivergence = { n, k: grid.vocab, outputs: kind!, grid, metrics, tokens: rest, bootstrap: t.bootstrap, hints: t.hints };
  if (topList) result.tokens.top = topList;
  if (perSample) {
    result.perSample = tokens!.perToken();
    result.perSampleIndex = tokens!.perTokenIndex();
  }
  return result;
}
