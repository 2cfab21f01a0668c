/**
 * What a shape tensor holds, element by element, without shape inference:
 * a number, or "axis k of tensor T" (PyTorch's TorchScript exporter builds
 * Reshape targets as Concat(Unsqueeze(Gather(Shape(T), k)), ...)).
 */
import type { GraphWalker } from './walker';

/** null: one element computed at run time from something else (a product of sizes). */
export type ShapeElement = number | { of: string; axis: number } | null;

const MAX_INT64 = 2 ** 62;

export function shapeElements(w: GraphWalker, name: string): ShapeElement[] | undefined {
  const c = w.constValues(name);
  if (c) return c;
  const p = w.producerOf(name);
  if (!p) return undefined;
  const inputs = p.input ?? [];
  switch (p.opType) {
    case 'Concat': {
      const parts = inputs.map((i) => shapeElements(w, i));
      return parts.every((q) => q) ? parts.flatMap((q) => q!) : undefined;
    }
    case 'Unsqueeze':
      // Unsqueeze of a scalar size: one element, known or not.
      return shapeElements(w, inputs[0]) ?? [null];
    case 'Squeeze':
    case 'Cast':
    case 'Identity':
      return shapeElements(w, inputs[0]);
    case 'Gather': {
      const src = w.producerOf(inputs[0]);
      const k = w.constValues(inputs[1]);
      if (src?.opType !== 'Shape' || !k || k.length !== 1) return undefined;
      return [{ of: (src.input ?? [])[0], axis: k[0] }];
    }
    case 'Slice': {
      // Slice(Shape(T), [-1], [max]): T's last axis; Slice(Shape(T), [k], [k + 1]): its axis k.
      const src = w.producerOf(inputs[0]);
      const [start, end] = [w.constValues(inputs[1]), w.constValues(inputs[2])];
      if (src?.opType !== 'Shape' || !start || !end) return undefined;
      if (start[0] === -1 && end[0] >= MAX_INT64) return [{ of: (src.input ?? [])[0], axis: -1 }];
      if (start[0] >= 0 && end[0] === start[0] + 1) return [{ of: (src.input ?? [])[0], axis: start[0] }];
      return undefined;
    }
    case 'Reshape':
      // A one-element piece reshaped to [1] (the dynamo exporter's products).
      return shapeElements(w, inputs[0]);
    case 'Mul': {
      // Axis a times axis b of T where one of them is known to be 1: the other.
      const [a, b] = [shapeElements(w, inputs[0]), shapeElements(w, inputs[1])];
      if (a?.length !== 1 || b?.length !== 1 || typeof a[0] !== 'object' || typeof b[0] !== 'object' || !a[0] || !b[0] || a[0].of !== b[0].of) return undefined;
      const s = w.state.get(a[0].of);
      // A bidirectional output's [..., 2, H] merged: 2·H, told by ./bidirectional.ts.
      const d = s?.directions?.rank === s?.rank ? s?.directions : undefined;
      if (d && s && [a[0].axis, b[0].axis].sort().join() === [d.axis, s.rank - 1].join()) return [null];
      const one = s?.singleton?.rank === s?.rank ? s?.singleton?.axis : undefined;
      if (one === undefined) return undefined;
      return a[0].axis === one ? b : b[0].axis === one ? a : undefined;
    }
    default:
      return undefined;
  }
}
