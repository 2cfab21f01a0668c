/**
 * ONNX LSTM, GRU and RNN ops (one direction). Their hidden units form one
 * group: unit u owns row u of every gate block of W [1, G·H, I], R
 * [1, G·H, H], B [1, 2·G·H] (input and recurrent biases) and the LSTM's
 * peepholes P [1, 3·H], and column u of R (every gate reads the previous
 * state). The op becomes four layers in the canonical layout, column
 * i·G + g holding gate g's weight for input i:
 *   W: a producer of the group and a consumer of the input's units ([H, I·G]);
 *   R: a producer and consumer of the group itself ([H, H·G]), permuted as
 *      a loop (rows with the group, columns as its consumer);
 *   B, P: per-unit parameters of the group (channel-wise, [H, 2G] and [H, 3]).
 * Scale never survives the gates. Sign does with the default activations:
 * negating the candidate gate's rows (LSTM c, GRU h, the RNN's only gate;
 * tanh is odd) negates the unit's state, which every reader undoes by
 * negating its column; the sigmoid gates' rows stay (see recurrent-sign.ts).
 * Zero initial states only (a nonzero one would move with the units).
 */
import { attribute, attrInt, attrString, onnx, tensorDims } from '../../io/onnx';
import type { Layer } from '../network';
import type { OpRule } from './rule';
import { ALL, type TensorState } from './tensor-state';
import type { GraphWalker } from './walker';

/** Gates per op, the candidate gate's index in ONNX's order (LSTM i,o,f,c; GRU z,r,h), and the default activations. */
const KINDS: Record<string, { gates: number; candidate: number; activations: string[] }> = {
  LSTM: { gates: 4, candidate: 3, activations: ['Sigmoid', 'Tanh', 'Tanh'] },
  GRU: { gates: 3, candidate: 2, activations: ['Sigmoid', 'Tanh'] },
  RNN: { gates: 1, candidate: 0, activations: ['Tanh'] },
};

export const recurrent: OpRule = (c) => {
  const { walker: w, node, x } = c;
  const op = node.opType ?? '';
  const kind = KINDS[op];
  const inputs = node.input ?? [];
  if ((attrString(node, 'direction') ?? 'forward') === 'bidirectional') w.fail(node, 'a bidirectional recurrent layer is not supported yet');
  const xGroup = w.root(x.group);
  if (x.rank !== 3 || x.flat || (!xGroup.fixed && !x.channelLast)) w.fail(node, 'its input must be [steps, batch, features] with the features last');
  for (const slot of op === 'LSTM' ? [5, 6] : [5]) if (inputs[slot] && !zeroState(w, inputs[slot])) w.fail(node, `its initial state "${inputs[slot]}" is not zero`);
  const H = attrInt(node, 'hidden_size', 0);
  const G = kind.gates;
  const weight = (slot: number, what: string) => {
    const t = w.param(node, inputs[slot], what, 'none');
    return { t, v: w.finite(t), dims: tensorDims(t) };
  };
  const Wt = weight(1, 'input weight W');
  const Rt = weight(2, 'recurrent weight R');
  const I = Wt.dims[2];
  if (Wt.dims.join() !== [1, G * H, I].join() || Rt.dims.join() !== [1, G * H, H].join()) w.fail(node, `its W or R does not have ${G} gate blocks of ${H} units`);
  if (!xGroup.units) xGroup.units = I;
  if (xGroup.units !== I) w.fail(node, `its W expects ${I} input features, ${xGroup.units} arrive`);
  const activations = attribute(node, 'activations')?.strings?.map((s) => Buffer.from(s).toString('utf8'));
  const odd = !activations || activations.join() === kind.activations.join();
  const group = w.newGroup(H, false);
  w.groups[group].caps = { scale: false, sign: odd };
  const base = { node: c.index, outUnits: H, outGroup: group, weightDtype: Wt.t.dataType ?? onnx.TensorProto.DataType.FLOAT, b: new Float64Array(H) };
  const push = (l: Omit<Layer, 'op'>, role: 'producer' | 'loop' | 'channelwise') => {
    const index = w.layers.length;
    w.layers.push({ ...l, op: 'Recurrent' });
    const g = w.groups[group];
    if (role === 'channelwise') g.channelwise.push(index);
    else g.producers.push(index);
    if (role === 'loop') g.consumers.push(index);
    return index;
  };
  const blocks = (v: Float64Array, cols: number) => gateBlocks(v, G, H, cols);
  const W = push({ ...base, name: inputs[1], weightName: w.ownName(inputs[1]), weightDims: Wt.dims, inUnits: I, inBlock: G, inGroup: xGroup.id, W: blocks(Wt.v, I), recurrent: { slot: 1, gates: G } }, 'producer');
  xGroup.consumers.push(W);
  xGroup.caps = { scale: xGroup.caps.scale && x.caps.scale, sign: xGroup.caps.sign && x.caps.sign };
  const R = push({ ...base, name: inputs[2], weightName: w.ownName(inputs[2]), weightDims: Rt.dims, inUnits: H, inBlock: G, inGroup: group, W: blocks(Rt.v, H), recurrent: { slot: 2, gates: G } }, 'loop');
  const perUnit = (slot: number, what: string, per: number) => {
    if (!inputs[slot]) return undefined;
    const t = weight(slot, what);
    if (t.v.length !== per * H) w.fail(node, `its ${what} "${inputs[slot]}" has ${t.v.length} values for ${per} × ${H}`);
    // Stored [1, per·H] (block k, unit u at k·H + u) → canonical [H, per].
    const v = new Float64Array(per * H);
    for (let k = 0; k < per; k++) for (let u = 0; u < H; u++) v[u * per + k] = t.v[k * H + u];
    return push({ ...base, name: inputs[slot], weightName: w.ownName(inputs[slot]), weightDims: t.dims, inUnits: 1, inBlock: per, inGroup: group, channelwise: true, W: v, recurrent: { slot, gates: G } }, 'channelwise');
  };
  const B = perUnit(3, 'bias B', 2 * G);
  const P = op === 'LSTM' ? perUnit(7, 'peepholes P', 3) : undefined;
  w.groups[group].recurrent = { W, R, B, P, gates: G, candidate: kind.candidate };
  // Y [steps, 1, batch, H] (layout 0) or [batch, steps, 1, H]; Y_h and Y_c [1, batch, H] or [batch, 1, H]: units last.
  const outputs = node.output ?? [];
  const state = (rank: number): TensorState => ({ group, caps: ALL, rank, flat: false, channelLast: true });
  const batchFirst = attrInt(node, 'layout', 0) === 1;
  if (outputs[0]) w.set(outputs[0], { ...state(4), singleton: { axis: batchFirst ? 2 : 1, rank: 4 } });
  for (const o of outputs.slice(1)) if (o) w.set(o, state(3));
};

/** Stored [1, G·H, cols] (gate g, unit u at row g·H + u) → canonical [H, cols·G] (column i·G + g). */
export function gateBlocks(v: Float64Array, G: number, H: number, cols: number): Float64Array {
  const out = new Float64Array(v.length);
  for (let g = 0; g < G; g++) for (let u = 0; u < H; u++) for (let i = 0; i < cols; i++) out[u * cols * G + i * G + g] = v[(g * H + u) * cols + i];
  return out;
}

/** The inverse of gateBlocks (for per-unit parameters, `cols` = 1 and the block is the parameter index). */
export function storedGateBlocks(v: Float64Array, G: number, H: number, cols: number): Float64Array {
  const out = new Float64Array(v.length);
  for (let g = 0; g < G; g++) for (let u = 0; u < H; u++) for (let i = 0; i < cols; i++) out[(g * H + u) * cols + i] = v[u * cols * G + i * G + g];
  return out;
}

/** Whether a tensor is all zeros: a constant, or built from one by ConstantOfShape/Expand/Slice/... (PyTorch's zero initial state). */
function zeroState(w: GraphWalker, name: string, depth = 0): boolean {
  const c = w.constants.get(name);
  if (c) return w.values(c).every((v) => v === 0);
  const producer = w.graph.node.find((n) => (n.output ?? []).includes(name));
  if (!producer || depth > 16) return false;
  const op = producer.opType ?? '';
  if (op === 'ConstantOfShape') {
    const value = attribute(producer, 'value')?.t;
    return !value || w.values(value).every((v) => v === 0);
  }
  if (['Expand', 'Slice', 'Identity', 'Cast', 'Reshape', 'Unsqueeze', 'Squeeze', 'Tile'].includes(op)) return zeroState(w, (producer.input ?? [])[0], depth + 1);
  return false;
}

