/**
 * A permuted copy of an ONNX model, written independently of lib/weights:
 * the caller says which axes of which initializers carry each hidden group's
 * units, and every such axis is reordered by the group's random permutation
 * (new index i = old perm[i]). Float32 initializers only.
 */
import { onnx } from 'onnx-proto';

import type { Rng } from '../../lib/util/rng';

/** [initializer, axis, first index (default 0)]: a concatenation holds a group's units at an offset. */
export type UnitAxes = Array<[initializer: string, axis: number, offset?: number]>;

export function permuteModel(bytes: Uint8Array, groups: UnitAxes[], rng: Rng): Uint8Array {
  const model = onnx.ModelProto.decode(bytes);
  const inits = new Map((model.graph!.initializer ?? []).map((t) => [t.name!, t]));
  for (const group of groups) {
    const [first, firstAxis] = group[0];
    const n = Number(inits.get(first)!.dims![firstAxis]);
    const perm = rng.shuffle(Array.from({ length: n }, (_, i) => i));
    for (const [name, axis, offset = 0] of group) {
      const t = inits.get(name)!;
      const dims = (t.dims ?? []).map(Number);
      const len = dims[axis];
      if (offset + n > len) throw new Error(`${name} axis ${axis} has ${len} entries, the group needs ${offset + n}`);
      const src = new Float32Array(new Uint8Array(t.rawData!).slice().buffer);
      const out = src.slice();
      const inner = dims.slice(axis + 1).reduce((a, b) => a * b, 1);
      const outer = dims.slice(0, axis).reduce((a, b) => a * b, 1);
      for (let o = 0; o < outer; o++) {
        for (let i = 0; i < n; i++) {
          const from = (o * len + offset + perm[i]) * inner;
          out.set(src.subarray(from, from + inner), (o * len + offset + i) * inner);
        }
      }
      t.rawData = new Uint8Array(out.buffer);
    }
  }
  return onnx.ModelProto.encode(model).finish();
}
