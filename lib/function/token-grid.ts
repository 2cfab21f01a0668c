/**
 * Outputs of rank ≥ 3 (a language model's logits [batch, sequence, vocab], a segmentation map
 * [batch, classes, H, W]) read as rows of class scores: the class axis is the last one unless
 * told otherwise, and every other position of a sample is a row that remembers its sample
 * (its sequence). This module resolves the class axis, turns a batch into such rows, and reads
 * the per-position mask and targets that go with them, checking each against the grid.
 */
import { ModeldiffError } from '../errors';
import { DTYPES, type Tensor, formatShape, halfToFloat } from '../io/tensor';

/** How a sample's output of shape `dims` (batch axis excluded) is read as rows. */
export interface TokenGrid {
  /** The class axis in the full output shape (axis 0 = batch). */
  classAxis: number;
  /** Classes (vocabulary size). */
  vocab: number;
  /** The other (position) axes of one sample, in order. */
  positionDims: number[];
  /** Rows per sample: the product of positionDims. */
  positions: number;
  /** Elements of one sample's output before the class axis and after it. */
  before: number;
  after: number;
}

/** The position axes of a grid: all a per-position mask is checked against (`after` as in TokenGrid; absent = the class axis is last). */
export type PositionGrid = Pick<TokenGrid, 'positionDims' | 'positions'> & { after?: number };

/** The words reports and messages use for a grid's samples, rows and classes. */
export interface GridWords {
  sample: string;
  samples: string;
  row: string;
  rows: string;
  /** The class axis as a noun: 'vocabulary' or 'classes'. */
  classes: string;
}

const LM_WORDS: GridWords = { sample: 'sequence', samples: 'sequences', row: 'token', rows: 'tokens', classes: 'vocabulary' };
const MAP_WORDS: GridWords = { sample: 'map', samples: 'maps', row: 'position', rows: 'positions', classes: 'classes' };

/**
 * A language model's words (sequences of tokens over a vocabulary) for a token grid, one
 * position axis before a last class axis ([batch, sequence, vocab]); neutral ones (maps of
 * positions over classes) for any other grid, such as a segmentation map [batch, classes, H, W]
 * read with class axis 1, which has no tokens.
 */
export function gridWords(g: { positionDims: readonly number[]; after?: number; classAxis?: number }): GridWords {
  const classLast = (g.after ?? 1) === 1 && (g.classAxis === undefined || g.classAxis === g.positionDims.length + 1);
  return g.positionDims.length === 1 && classLast ? LM_WORDS : MAP_WORDS;
}

/**
 * The grid of one output: `dims` is its shape without the batch axis; `classAxis` counts in the
 * full shape (axis 0 = batch; negative counts from the end; default the last axis).
 */
export function tokenGrid(dims: readonly number[], classAxis: number | undefined, outputLabel: string): TokenGrid {
  const rank = dims.length + 1;
  let axis = classAxis ?? rank - 1;
  if (!Number.isInteger(axis) || axis < -rank || axis >= rank || axis === 0 || axis === -rank) {
    throw new ModeldiffError(
      'INVALID_ARGUMENT',
      `options.classAxis ${String(classAxis)} is out of range for ${outputLabel} of shape [N, ${dims.join(', ')}]: the class axis must be one of 1..${rank - 1} (or -1..-${rank - 1}; axis 0 is the batch)`,
      { option: 'classAxis' },
    );
  }
  if (axis < 0) axis += rank;
  const inner = axis - 1;
  const positionDims = dims.filter((_, i) => i !== inner);
  let before = 1;
  for (let i = 0; i < inner; i++) before *= dims[i];
  let after = 1;
  for (let i = inner + 1; i < dims.length; i++) after *= dims[i];
  return { classAxis: axis, vocab: dims[inner], positionDims, positions: before * after, before, after };
}

/**
 * Rows [samples × positions, vocab] of a batch of `samples` outputs: the data itself when the
 * class axis is last, else a transposed copy (into `scratch` when it is large enough).
 */
export function toRows<T extends Float32Array | Float64Array>(data: T, samples: number, g: TokenGrid, scratch?: T): T {
  if (g.after === 1) return data;
  const V = g.vocab;
  const size = samples * g.positions * V;
  const out = (scratch && scratch.length >= size ? scratch.subarray(0, size) : new (data.constructor as new (n: number) => T)(size)) as T;
  const per = g.positions * V;
  for (let s = 0; s < samples; s++) {
    const base = s * per;
    for (let b = 0; b < g.before; b++) {
      for (let c = 0; c < V; c++) {
        const src = base + (b * V + c) * g.after;
        const dst = base + b * g.after * V + c;
        for (let a = 0; a < g.after; a++) out[dst + a * V] = data[src + a];
      }
    }
  }
  return out;
}

function elementAt(t: Tensor, i: number): number {
  if (t.dtype === 'float16') return halfToFloat((t.data as Uint16Array)[i]);
  return Number((t.data as ArrayLike<number | bigint>)[i]);
}

function checkGridShape(t: Tensor, n: number, g: PositionGrid, what: string, source: string, gridName: string, option: string): void {
  const want = [n, ...g.positionDims];
  const same = t.shape.length === want.length && t.shape.every((d, i) => d === want[i]);
  if (!same) {
    const w = gridWords(g);
    throw new ModeldiffError(
      'SHAPE_MISMATCH',
      `${source}: ${what} has shape ${formatShape(t.shape)} but the ${w.row === 'token' ? 'token ' : ''}grid of ${gridName} is ${formatShape(want)} (one value per ${w.sample} and position)`,
      { option },
    );
  }
}

/**
 * The mask as 1 (counted) / 0 (excluded) per row, from an integer, bool or float array of
 * shape [n, ...positions] whose values are all 0 or 1.
 */
export function readMask(t: Tensor, n: number, g: PositionGrid, source: string, gridName: string, option: string): Uint8Array {
  checkGridShape(t, n, g, 'the mask', source, gridName, option);
  const kind = DTYPES[t.dtype].kind;
  const out = new Uint8Array(n * g.positions);
  for (let i = 0; i < out.length; i++) {
    const v = kind === 'bool' ? (t.data[i] ? 1 : 0) : elementAt(t, i);
    if (v !== 0 && v !== 1) {
      const s = Math.floor(i / g.positions);
      throw new ModeldiffError('INVALID_ARGUMENT', `${source}: mask values must be 0 or 1, found ${v} at ${gridWords(g).sample} ${s}, position ${i - s * g.positions}`, { option, input: source });
    }
    out[i] = v;
  }
  return out;
}

/**
 * Per-row targets (class ids; -1 = none) from labels of shape [n, ...positions]: integers in
 * [0, vocab), or negative for "no target" (e.g. Hugging Face's -100).
 */
export function readTargets(t: Tensor, n: number, g: TokenGrid, source: string, gridName: string): Int32Array {
  const kind = DTYPES[t.dtype].kind;
  const w = gridWords(g);
  if (kind !== 'int' && kind !== 'uint') throw new ModeldiffError('INVALID_ARGUMENT', `${source}: targets must be integer ${w.row === 'token' ? 'token' : 'class'} ids, got dtype ${t.dtype}`, { option: 'labels', input: source });
  checkGridShape(t, n, g, 'the label array', source, gridName, 'labels');
  const out = new Int32Array(n * g.positions);
  for (let i = 0; i < out.length; i++) {
    const v = elementAt(t, i);
    if (v >= g.vocab) {
      const s = Math.floor(i / g.positions);
      throw new ModeldiffError('INVALID_ARGUMENT', `${source}: target ${v} at ${w.sample} ${s}, position ${i - s * g.positions} is outside the ${w.classes} [0, ${g.vocab})`, { option: 'labels', input: source });
    }
    out[i] = v < 0 ? -1 : v;
  }
  return out;
}

/**
 * Next-token targets of a causal LM: the target at position t is the input id at t + 1, when
 * both positions are unmasked; the last position has none.
 */
export function nextTokenTargets(ids: Tensor, mask: Uint8Array | undefined, n: number, g: TokenGrid, source: string, gridName: string): Int32Array {
  if (g.positionDims.length !== 1) {
    throw new ModeldiffError('INVALID_ARGUMENT', `targets 'next' needs a one-dimensional sequence axis; ${gridName} has positions ${formatShape(g.positionDims)}`, { option: 'targets' });
  }
  const kind = DTYPES[ids.dtype].kind;
  if (kind !== 'int' && kind !== 'uint') throw new ModeldiffError('INVALID_ARGUMENT', `${source}: input ids must be integers, got dtype ${ids.dtype}`, { option: 'targets' });
  checkGridShape(ids, n, g, 'the input ids', source, gridName, 'targets');
  const T = g.positions;
  const out = new Int32Array(n * T).fill(-1);
  for (let s = 0; s < n; s++) {
    for (let t = 0; t + 1 < T; t++) {
      const i = s * T + t;
      if (mask && !(mask[i] && mask[i + 1])) continue;
      const v = elementAt(ids, i + 1);
      if (!(v >= 0 && v < g.vocab)) {
        throw new ModeldiffError('INVALID_ARGUMENT', `${source}: input id ${v} at sequence ${s}, position ${t + 1} is outside the vocabulary [0, ${g.vocab}) of ${gridName}`, {
          option: 'targets',
        });
      }
      out[i] = v;
    }
  }
  return out;
}
