/**
 * ONNX LSTM, GRU and RNN ops. Each direction's hidden units form one group
 * (a bidirectional op has two, permuted independently): unit u owns row u
 * of every gate block of its direction's slice of W [D, G·H, I], R
 * [D, G·H, H], B [D, 2·G·H] (input and recurrent biases) and the LSTM's
 * peepholes P [D, 3·H], and column u of R (every gate reads the previous
 * state). A direction becomes four layers in the canonical layout, column
 * i·G + g holding gate g's weight for input i:
 *   W: a producer of the group and a consumer of the input's units ([H, I·G]);
 *   R: a producer and consumer of the group itself ([H, H·G]), permuted as
 *      a loop (rows with the group, columns as its consumer);
 *   B, P: per-unit parameters of the group (channel-wise, [H, 2G] and [H, 3]).
 * Scale never survives the gates. Sign does with the default activations:
 * negating the candidate gate's rows (LSTM c, GRU h, the RNN's only gate;
 * tanh is odd) negates the unit's state, which every reader undoes by
 * negating its column; the sigmoid gates' rows stay (see recurrent-sign.ts).
 * Initial states: zero ones are nothing; learned ones (initializers, maybe
 * broadcast to the batch) are per-unit parameters of the group (they move
 * and flip with the units, see ./initial-state.ts); ones fed as model
 * inputs tie the units to the caller's data, so the group stays fixed.
 * A bidirectional op's Y [steps, 2, batch, H] carries both groups on a
 * directions axis (./bidirectional.ts follows it to the [fwd, bwd] concatenation).
 */
import { attribute, attrInt, attrString, onnx, tensorDims } from '../../io/onnx';
import type { Layer } from '../network';
import { initialState } from './initial-state';
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
  const direction = attrString(node, 'direction') ?? 'forward';
  const D = direction === 'bidirectional' ? 2 : 1;
  if (x.rank !== 3 || x.flat || x.directions || (!w.root(x.group).fixed && !x.channelLast)) w.fail(node, 'its input must be [steps, batch, features] with the features last');
  const H = attrInt(node, 'hidden_size', 0);
  const G = kind.gates;
  const weight = (slot: number, what: string) => {
    const t = w.param(node, inputs[slot], what, 'none');
    return { t, v: w.finite(t), dims: tensorDims(t) };
  };
  const Wt = weight(1, 'input weight W');
  const Rt = weight(2, 'recurrent weight R');
  const I = Wt.dims[2];
  if (Wt.dims.join() !== [D, G * H, I].join() || Rt.dims.join() !== [D, G * H, H].join()) w.fail(node, `its W or R does not have ${D} × ${G} gate blocks of ${H} units`);
  // The input's units: one group, or the [fwd, bwd] parts of a bidirectional layer below.
  const parts = x.parts ?? [{ group: x.group, units: w.root(x.group).units || I }];
  if (parts.length === 1 && !w.root(x.group).units) w.root(x.group).units = I;
  const inUnits = parts.reduce((n, p) => n + p.units, 0);
  if (inUnits !== I) w.fail(node, `its W expects ${I} input features, ${inUnits} arrive`);
  const activations = attribute(node, 'activations')?.strings?.map((s) => Buffer.from(s).toString('utf8'));
  const odd = !activations || activations.join() === [...kind.activations, ...(D === 2 ? kind.activations : [])].join();
  const B = inputs[3] ? weight(3, 'bias B') : undefined;
  const P = op === 'LSTM' && inputs[7] ? weight(7, 'peepholes P') : undefined;
  if (B && B.v.length !== D * 2 * G * H) w.fail(node, `its bias B "${inputs[3]}" has ${B.v.length} values for ${D} × ${2 * G} × ${H}`);
  if (P && P.v.length !== D * 3 * H) w.fail(node, `its peepholes P "${inputs[7]}" has ${P.v.length} values for ${D} × 3 × ${H}`);
  const states = (op === 'LSTM' ? [5, 6] : [5]).map((slot) => (inputs[slot] ? initialState(w, node, inputs[slot], D, H) : undefined));
  const groups: number[] = [];
  for (let d = 0; d < D; d++) {
    const group = w.newGroup(H, false);
    groups.push(group);
    w.groups[group].caps = { scale: false, sign: odd };
    const base = { node: c.index, outUnits: H, outGroup: group, weightDtype: Wt.t.dataType ?? onnx.TensorProto.DataType.FLOAT, b: new Float64Array(H) };
    const role = (slot: number) => ({ slot, gates: G, ...(D > 1 ? { direction: d, directions: D } : {}) });
    const push = (l: Omit<Layer, 'op'>, kindOf: 'producer' | 'loop' | 'channelwise') => {
      const index = w.layers.length;
      w.layers.push({ ...l, op: 'Recurrent' });
      const g = w.groups[group];
      if (kindOf === 'channelwise') g.channelwise.push(index);
      else g.producers.push(index);
      if (kindOf === 'loop') g.consumers.push(index);
      return index;
    };
    const slice = (v: Float64Array) => v.subarray((d * v.length) / D, ((d + 1) * v.length) / D);
    const blocks = (v: Float64Array, cols: number) => gateBlocks(slice(v), G, H, cols);
    let offset = 0;
    const inParts = parts.length > 1 ? parts.map((p) => ({ group: p.group, offset: (offset += p.units) - p.units, units: p.units })) : undefined;
    const Wl = push({ ...base, name: inputs[1], weightName: w.ownName(inputs[1]), weightDims: Wt.dims, inUnits: I, inBlock: G, inGroup: parts[0].group, inParts, W: blocks(Wt.v, I), recurrent: role(1) }, 'producer');
    for (const p of parts) {
      const g = w.root(p.group);
      g.consumers.push(Wl);
      g.caps = { scale: g.caps.scale && x.caps.scale, sign: g.caps.sign && x.caps.sign };
    }
    const Rl = push({ ...base, name: inputs[2], weightName: w.ownName(inputs[2]), weightDims: Rt.dims, inUnits: H, inBlock: G, inGroup: group, W: blocks(Rt.v, H), recurrent: role(2) }, 'loop');
    const perUnit = (slot: number, t: { t: onnx.ITensorProto; v: Float64Array; dims: number[] } | undefined, per: number) => {
      if (!t) return undefined;
      // Stored [D, per·H] (block k, unit u at k·H + u) → canonical [H, per].
      const stored = slice(t.v);
      const v = new Float64Array(per * H);
      for (let k = 0; k < per; k++) for (let u = 0; u < H; u++) v[u * per + k] = stored[k * H + u];
      return push({ ...base, name: inputs[slot], weightName: w.ownName(inputs[slot]), weightDims: t.dims, inUnits: 1, inBlock: per, inGroup: group, channelwise: true, W: v, recurrent: role(slot) }, 'channelwise');
    };
    const Bl = perUnit(3, B, 2 * G);
    const Pl = perUnit(7, P, 3);
    const initial: number[] = [];
    states.forEach((s, i) => {
      if (s?.kind === 'input') w.groups[group].fixed = true;
      if (s?.kind !== 'learned' || (s.shared && d > 0)) return;
      // Stored [D, rows, H] with the units last → canonical [H, rows]. A shared state is the forward direction's.
      const rows = s.values.length / ((s.shared ? 1 : D) * H);
      const stored = s.shared ? s.values : slice(s.values);
      const v = new Float64Array(rows * H);
      for (let r = 0; r < rows; r++) for (let u = 0; u < H; u++) v[u * rows + r] = stored[r * H + u];
      const slot = i === 0 ? 5 : 6;
      const name = s.name;
      const stateRole = s.shared ? { slot, gates: G } : role(slot);
      initial.push(push({ ...base, name, weightName: w.ownName(name), weightDims: s.dims, weightDtype: s.dtype, inUnits: 1, inBlock: rows, inGroup: group, channelwise: true, W: v, recurrent: { ...stateRole, unitsLast: true } }, 'channelwise'));
    });
    w.groups[group].recurrent = { W: Wl, R: Rl, B: Bl, P: Pl, initial, gates: G, candidate: kind.candidate };
  }
  if (states.some((s) => s?.kind === 'learned' && s.shared)) {
    // One initial state starts both directions: their units permute together (a family of blocks
    // of one unit, ../unit-blocks.ts) and flip sign together (../recurrent-sign.ts).
    w.blockTies.push({ a: groups[0], b: groups[1], blocks: H, node });
    w.groups[groups[0]].recurrent!.signWith = groups[1];
    w.groups[groups[1]].recurrent!.signWith = groups[0];
  }
  // Y [steps, D, batch, H] (layout 0) or [batch, steps, D, H]; Y_h and Y_c [D, batch, H] or [batch, D, H]: units last.
  const outputs = node.output ?? [];
  const batchFirst = attrInt(node, 'layout', 0) === 1;
  const state = (rank: number, axis: number): TensorState =>
    D === 1
      ? { group: groups[0], caps: ALL, rank, flat: false, channelLast: true, singleton: { axis, rank } }
      : { group: groups[0], caps: ALL, rank, flat: false, channelLast: true, directions: { axis, rank, groups } };
  if (outputs[0]) w.set(outputs[0], state(4, batchFirst ? 2 : 1));
  for (const o of outputs.slice(1)) if (o) w.set(o, D === 1 ? { group: groups[0], caps: ALL, rank: 3, flat: false, channelLast: true } : state(3, batchFirst ? 1 : 0));
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
