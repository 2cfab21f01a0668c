/**
 * What a shape tensor holds, element by element, without shape inference:
 * a number, or "axis k of tensor T" (PyTorch's TorchScript exporter builds
 * Reshape targets as Concat(Unsqueeze(Gather(Shape(T), k)), ...)).
 *
 * The exporters compute some elements with integer arithmetic on other sizes
 * (nn.MultiheadAttention's head_dim = E // num_heads, its unflatten's
 * shape[:Mod(-1, rank)]): Mod, Div, Mul, Add and Sub of one-element pieces are
 * evaluated where every operand is a size known from the graph (`staticSize`:
 * a constant, a declared input dim, a unit count the walk knows), and give one
 * element computed at run time (null) where not.
 *
 * A caller may read sizes its own way (`ShapeReading`): Split/Slice bounds of channels read
 * "axis 1 of T" as T's channel count and divide as TorchScript's integer `chunk` sizes do
 * (./channel-bounds.ts).
 */
import { attrInt, type onnx } from '../../io/onnx';
import type { AttentionTag } from './attention';
import { unitsLast } from './tensor-state';
import type { GraphWalker } from './walker';

/** null: one element computed at run time from something else (a product of sizes). */
export type ShapeElement = number | { of: string; axis: number } | null;

/** Slice ends at or past this mean "to the end" (PyTorch writes INT64_MAX). */
const MAX_INT64 = 2 ** 62;
/** How sizes are read: the size an element stands for, and whether Div truncates. */
export interface ShapeReading {
  size(w: GraphWalker, e: ShapeElement): number | undefined;
  /** Div of sizes known to be integers (ONNX truncates toward zero); otherwise exact divisions only. */
  integerDiv: boolean;
}

/** Sizes as the graph tells them (staticSize), exact divisions only. */
export const STATIC_SIZES: ShapeReading = { size: (w, e) => staticSize(w, e), integerDiv: false };

/** Integer arithmetic on one-element size pieces, evaluated when both sizes are known. */
const ARITHMETIC: Record<string, (a: number, b: number, node: { fmod: boolean; integerDiv: boolean }) => number | undefined> = {
  Add: (a, b) => a + b,
  Sub: (a, b) => a - b,
  Mul: (a, b) => a * b,
  // Exact divisions unless the sizes are integers: an integer and a float Div agree there.
  Div: (a, b, { integerDiv }) => (b === 0 ? undefined : integerDiv ? Math.trunc(a / b) : a % b === 0 ? a / b : undefined),
  // ONNX Mod: the sign of the divisor (Python's %) unless fmod = 1 (C's).
  Mod: (a, b, { fmod }) => (b === 0 ? undefined : fmod ? a % b : ((a % b) + b) % b),
};

export function shapeElements(w: GraphWalker, name: string, how: ShapeReading = STATIC_SIZES, depth = 0): ShapeElement[] | undefined {
  if (depth > 32) return undefined;
  const c = w.constValues(name);
  if (c) return c;
  const p = w.producerOf(name);
  if (!p) return undefined;
  const inputs = p.input ?? [];
  const op = p.opType ?? '';
  const elements = (i: number) => (inputs[i] ? shapeElements(w, inputs[i], how, depth + 1) : undefined);
  switch (op) {
    case 'Concat': {
      const parts = inputs.map((_, i) => elements(i));
      return parts.every((q) => q) ? parts.flatMap((q) => q!) : undefined;
    }
    case 'Unsqueeze':
      // Unsqueeze of a scalar size: one element, known or not.
      return elements(0) ?? [null];
    case 'Squeeze':
    case 'Cast':
    case 'Identity':
    case 'Floor':
    case 'Ceil':
    case 'Reshape':
      // (Reshape: a one-element piece reshaped to [1], the dynamo exporter's products. Floor,
      // Ceil: sizes are integers already, and Div is only evaluated when exact.)
      return elements(0);
    case 'Shape':
      return shapeOf(w, p);
    case 'Gather': {
      const k = w.constValues(inputs[1]);
      if (!k || k.length !== 1) return undefined;
      const src = w.producerOf(inputs[0]);
      // Gather(Shape(T), k): T's axis k, whether or not T's rank is known.
      if (src?.opType === 'Shape' && attrInt(src, 'start', 0) === 0) return [{ of: (src.input ?? [])[0], axis: k[0] }];
      const list = elements(0);
      const at = list && (k[0] < 0 ? k[0] + list.length : k[0]);
      return list && at! >= 0 && at! < list.length ? [list[at!]] : undefined;
    }
    case 'Slice':
      return slice(w, p, how, depth);
    case 'Mul': {
      const known = arithmetic(w, p, how, depth);
      if (known) return known;
      // Axis a times axis b of T where one of them is known to be 1: the other.
      const [a, b] = [elements(0), elements(1)];
      if (a?.length !== 1 || b?.length !== 1 || typeof a[0] !== 'object' || typeof b[0] !== 'object' || !a[0] || !b[0] || a[0].of !== b[0].of) return a?.length === 1 && b?.length === 1 ? [null] : undefined;
      const s = w.state.get(a[0].of);
      // A bidirectional output's [..., 2, H] merged: 2·H, told by ./bidirectional.ts.
      const d = s?.directions?.rank === s?.rank ? s?.directions : undefined;
      if (d && s && [a[0].axis, b[0].axis].sort().join() === [d.axis, s.rank - 1].join()) return [null];
      const one = s?.singleton?.rank === s?.rank ? s?.singleton?.axis : undefined;
      if (one === undefined) return [null];
      return a[0].axis === one ? b : b[0].axis === one ? a : [null];
    }
    case 'Add':
    case 'Sub':
    case 'Div':
    case 'Mod':
      return arithmetic(w, p, how, depth);
    case 'Where':
      return expandSizes(w, p, how, depth);
    default:
      return undefined;
  }
}

/**
 * The size an element stands for, where the graph tells it: a number, or an axis of a tensor
 * whose size there is known (a declared input dim, the unit axis of data the walk follows, an
 * axis of attention data: its heads or dims within a head).
 */
export function staticSize(w: GraphWalker, e: ShapeElement): number | undefined {
  if (typeof e === 'number') return e;
  if (e === null) return undefined;
  const declared = declaredDims(w, e.of);
  if (declared) {
    const k = e.axis < 0 ? e.axis + declared.length : e.axis;
    if (declared[k] > 0) return declared[k];
  }
  const s = w.state.get(e.of);
  if (!s) return undefined;
  if (s.attention) return axisSize(s.attention, e.axis);
  const last = e.axis === -1 || e.axis === s.rank - 1;
  if (s.singleton?.rank === s.rank && (e.axis < 0 ? e.axis + s.rank : e.axis) === s.singleton.axis) return 1;
  if (!unitsLast(s) || !last) return undefined;
  const units = s.parts ? s.parts.reduce((n, q) => n + q.units, 0) : w.root(s.group).units;
  return units > 0 ? units : undefined;
}

/** The size of an axis of attention data: heads, dims within a head, or the units they make. */
function axisSize(t: AttentionTag, axis: number): number | undefined {
  const label = t.axes[axis < 0 ? axis + t.axes.length : axis];
  if (label === 'h') return t.kind === 'proj' && t.repeat && !t.axes.includes('r') ? t.heads * t.repeat : t.heads;
  if (label === 'r') return t.repeat;
  if (label === 'd') return t.dim;
  if (label === 'u') return t.heads > 0 ? t.heads * t.dim : t.dim;
  return label === '1' ? 1 : undefined;
}

/**
 * torch's expand(-1) as TorchScript exports it: Where(Equal(s, c), v, s) with c < 0 at every
 * element: s with its literal c elements (-1: keep this axis) read as v (1). Sizes are never
 * negative, so references and run-time elements stay.
 */
function expandSizes(w: GraphWalker, p: onnx.INodeProto, how: ShapeReading, depth: number): ShapeElement[] | undefined {
  const [cond, value, s] = p.input ?? [];
  const equal = w.producerOf(cond);
  if (equal?.opType !== 'Equal' || !(equal.input ?? []).includes(s)) return undefined;
  const c = uniformValue(w, (equal.input ?? []).find((x) => x !== s) ?? '', depth + 1);
  const v = uniformValue(w, value, depth + 1);
  const sizes = shapeElements(w, s, how, depth + 1);
  if (c === undefined || v === undefined || c >= 0 || !sizes) return undefined;
  return sizes.map((e) => (e === c ? v : e));
}

/** The one value every element of a constant-filled tensor holds: ConstantOfShape, times a scalar. */
function uniformValue(w: GraphWalker, name: string, depth: number): number | undefined {
  if (depth > 32) return undefined;
  const c = w.constValues(name);
  if (c) return c.length > 0 && c.every((x) => x === c[0]) ? c[0] : undefined;
  const p = w.producerOf(name);
  if (p?.opType === 'ConstantOfShape') {
    const t = (p.attribute ?? []).find((a) => a.name === 'value')?.t;
    return t ? w.values(t)[0] : 0;
  }
  if (p?.opType !== 'Mul') return undefined;
  const [a, b] = (p.input ?? []).map((i) => uniformValue(w, i, depth + 1));
  return a !== undefined && b !== undefined ? a * b : undefined;
}

/** Binary integer arithmetic on one-element pieces: evaluated when both sizes are known, else one unknown element. */
function arithmetic(w: GraphWalker, p: onnx.INodeProto, how: ShapeReading, depth: number): ShapeElement[] | undefined {
  const inputs = p.input ?? [];
  const [a, b] = [shapeElements(w, inputs[0], how, depth + 1), shapeElements(w, inputs[1], how, depth + 1)];
  if (!a || !b) return undefined;
  const n = Math.max(a.length, b.length);
  if ((a.length !== 1 && a.length !== n) || (b.length !== 1 && b.length !== n)) return undefined;
  const f = ARITHMETIC[p.opType ?? ''];
  const fmod = attrInt(p, 'fmod', 0) === 1;
  const out = Array.from({ length: n }, (_, i): ShapeElement => {
    const [x, y] = [how.size(w, a[a.length === 1 ? 0 : i]), how.size(w, b[b.length === 1 ? 0 : i])];
    return x === undefined || y === undefined ? null : (f(x, y, { fmod, integerDiv: how.integerDiv }) ?? null);
  });
  // A longer piece that is not known element by element is not a size this module can place.
  return n === 1 || out.every((e) => e !== null) ? out : undefined;
}

/** Shape(T) (with its start/end attributes): T's axes as references, when T's rank is known. */
function shapeOf(w: GraphWalker, p: onnx.INodeProto): ShapeElement[] | undefined {
  const of = (p.input ?? [])[0];
  const rank = rankOf(w, of);
  if (rank === undefined) return undefined;
  const clamp = (a: number) => Math.max(0, Math.min(rank, a < 0 ? a + rank : a));
  const start = clamp(attrInt(p, 'start', 0));
  const end = clamp(attrInt(p, 'end', rank));
  return Array.from({ length: Math.max(0, end - start) }, (_, i) => ({ of, axis: start + i }));
}

/**
 * Slice of a 1-D shape tensor with constant or computed (Mod, Add...) starts and ends. Of
 * Shape(T) whose rank is not known: T's last axis ([-1:]) or one axis ([k:k+1]).
 */
function slice(w: GraphWalker, p: onnx.INodeProto, how: ShapeReading, depth: number): ShapeElement[] | undefined {
  const inputs = p.input ?? [];
  const number = (i: number) => {
    const e = inputs[i] ? shapeElements(w, inputs[i], how, depth + 1) : undefined;
    return e?.length === 1 ? how.size(w, e[0]) : undefined;
  };
  const [start, end] = [number(1), number(2)];
  const axes = inputs[3] ? w.constValues(inputs[3]) : [0];
  const step = inputs[4] ? number(4) : 1;
  if (start === undefined || end === undefined || axes?.length !== 1 || (axes[0] !== 0 && axes[0] !== -1) || step !== 1) return undefined;
  const list = shapeElements(w, inputs[0], how, depth + 1);
  if (list) {
    const n = list.length;
    const clamp = (a: number) => Math.max(0, Math.min(n, a < 0 ? a + n : a));
    return list.slice(clamp(start), clamp(end));
  }
  const src = w.producerOf(inputs[0]);
  if (src?.opType !== 'Shape' || attrInt(src, 'start', 0) !== 0) return undefined;
  const of = (src.input ?? [])[0];
  if (start === -1 && end >= MAX_INT64) return [{ of, axis: -1 }];
  if (start >= 0 && end >= start && end < MAX_INT64) return Array.from({ length: end - start }, (_, i) => ({ of, axis: start + i }));
  return undefined;
}

/** A tensor's rank where the graph or the walk tells it. */
function rankOf(w: GraphWalker, name: string): number | undefined {
  const declared = declaredDims(w, name);
  if (declared) return declared.length;
  const s = w.state.get(name);
  if (s?.attention) return s.attention.axes.length;
  if (s && !s.opaque) return s.rank;
  const c = w.constants.get(name);
  return c ? (c.dims ?? []).length : undefined;
}

/** A tensor's declared dims (value_info or a graph input/output), 0 for a symbolic one. */
export function declaredDims(w: GraphWalker, name: string): number[] | undefined {
  const v = [...w.graph.valueInfo, ...w.graph.input, ...w.graph.output].find((i) => i.name === name);
  const dims = v?.type?.tensorType?.shape?.dim;
  return dims ? dims.map((d) => Number(d.dimValue ?? 0)) : undefined;
}
