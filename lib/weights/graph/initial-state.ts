/**
 * An LSTM/GRU/RNN's initial state (initial_h, initial_c) [D, batch, H]:
 * - zero (a Constant, or PyTorch's ConstantOfShape/Expand of zeros): nothing to permute;
 * - learned (even where it holds zeros): an initializer [D, rows, H] (rows 1 or the batch), maybe
 *   broadcast to the batch by Expand and cut by a full Slice of the
 *   directions axis (the exporters' forms of an nn.Parameter passed as
 *   h0): it permutes and flips with the units; one [1, rows, H] state
 *   broadcast to both directions of a bidirectional op ties them (./recurrent.ts);
 * - fed by the caller (a model input, maybe sliced): the units are tied to
 *   data modeldiff cannot permute, so the caller keeps the group fixed.
 * Anything else (a state computed from hidden units, as a decoder's from
 * its encoder's) stops the walk naming the node.
 */
import { attribute, type onnx, tensorDims } from '../../io/onnx';
import type { GraphWalker } from './walker';

export type InitialState =
  | { kind: 'zero' }
  | { kind: 'input' }
  | { kind: 'learned'; name: string; values: Float64Array; dims: number[]; dtype: number; shared?: boolean };

const BROADCASTS = ['Expand', 'Identity', 'Cast', 'Slice'];

export function initialState(w: GraphWalker, node: onnx.INodeProto, name: string, D: number, H: number): InitialState {
  // An initializer is learned even where it holds zeros (another model's copy of it may not).
  const slices: onnx.INodeProto[] = [];
  let at = name;
  for (let hops = 0; hops < 8; hops++) {
    const s = w.state.get(at);
    if (s) {
      if (w.root(s.group).fixed && !s.opaque) return { kind: 'input' };
      return w.fail(node, `its initial state "${name}" is computed from hidden units`);
    }
    const real = w.castOf.get(at) ?? at;
    if (w.inits.has(real)) {
      const dims = tensorDims(w.inits.get(real)!);
      // The dynamo exporter's zeros: Expand of a zero scalar.
      if (dims.length !== 3 && zeroState(w, name)) return { kind: 'zero' };
      const t = w.param(node, at, 'initial state', 'none');
      const full = slices.every((p) => fullSlice(w, p, dims));
      // [1, rows, H] broadcast to both directions of a bidirectional op: one state for both.
      const shared = D === 2 && dims[0] === 1;
      if (dims.length !== 3 || (dims[0] !== D && !shared) || dims[2] !== H || !full) {
        w.fail(node, `its initial state "${name}" is not a [${D}, batch or 1, ${H}] initializer broadcast to the batch`);
      }
      return { kind: 'learned', name: at, values: w.finite(t), dims, dtype: w.dtypeSeen(at, t), ...(shared && { shared }) };
    }
    const p = w.producerOf(at);
    if (!p || !BROADCASTS.includes(p.opType ?? '')) break;
    if (p.opType === 'Slice') slices.push(p);
    at = (p.input ?? [])[0];
  }
  if (zeroState(w, name)) return { kind: 'zero' };
  return w.fail(node, `its initial state "${name}" is neither zero, a learned initializer nor a model input`);
}

/** A Slice that keeps the whole directions axis (axis 0) of the initializer behind it, and nothing else. */
function fullSlice(w: GraphWalker, p: onnx.INodeProto, dims: number[]): boolean {
  const [, starts, ends, axes, steps] = p.input ?? [];
  const [s, e] = [w.constValues(starts), w.constValues(ends)];
  const a = axes ? w.constValues(axes) : s?.map((_, i) => i);
  const st = steps ? w.constValues(steps) : undefined;
  if (!s || !e || !a || (st && st.some((v) => v !== 1))) return false;
  return a.every((axis, i) => (axis === 0 || axis === -3) && s[i] === 0 && e[i] >= dims[0]);
}

/** Whether a tensor is all zeros: a constant, or built from one by ConstantOfShape/Expand/Slice/... (PyTorch's zero initial state). */
export function zeroState(w: GraphWalker, name: string, depth = 0): boolean {
  const c = w.constants.get(name);
  if (c) return w.values(c).every((v) => v === 0);
  const producer = w.producerOf(name);
  if (!producer || depth > 16) return false;
  const op = producer.opType ?? '';
  if (op === 'ConstantOfShape') {
    const value = attribute(producer, 'value')?.t;
    return !value || w.values(value).every((v) => v === 0);
  }
  if (['Expand', 'Slice', 'Identity', 'Cast', 'Reshape', 'Unsqueeze', 'Squeeze', 'Tile'].includes(op)) return zeroState(w, (producer.input ?? [])[0], depth + 1);
  return false;
}
