/**
 * Split and Slice of the channel axis (ShuffleNetV2's channel split, a Conv whose output
 * feeds two branches): each output holds some of the input's channels, so its slots
 * (./channel-slots.ts) are the input's, picked. The units each branch reads become cells of
 * their groups at the end of the walk (./unit-cells.ts). A Slice of spatial axes keeps the
 * channels; anything else on other layouts goes to the sequence rules (./sequence.ts).
 */
import { attrInt, attrInts, type onnx } from '../../io/onnx';
import { channelInts } from './channel-bounds';
import { channelsFirst, slotsOf, withSlots } from './channel-slots';
import type { OpRule, RuleContext } from './rule';
import { selectPositions, splitUnits } from './sequence';
import { ALL, type TensorState } from './tensor-state';
import type { GraphWalker } from './walker';

const MAX_INT64 = 2 ** 62;

export const channelSplit: OpRule = (c) => {
  const { walker: w, node, x } = c;
  const op = node.opType ?? '';
  const norm = (a: number) => (a < 0 ? a + x.rank : a);
  const axes = op === 'Split' ? [norm(attrInt(node, 'axis', 0))] : sliceAxes(w, node, x.rank);
  const fixed = w.root(x.group).fixed && !x.parts && !x.slots;
  const crop = axes && !axes.includes(0) && !axes.includes(1) && !fixed;
  if (!channelsFirst(x) || !axes || !(axes.includes(1) || crop)) return op === 'Split' ? splitUnits(c) : selectPositions(c);
  // A crop of spatial axes: the channels stay.
  if (crop) return w.set(c.out, { ...x, layer: undefined });
  if (axes.length !== 1) w.fail(node, 'it slices the channel axis together with other axes');
  const outputs = (node.output ?? []).filter((o) => o);
  if (fixed) {
    // Channels of fixed data (a model input): each part is fixed data too.
    for (const o of outputs) w.set(o, { group: w.newGroup(0, true), caps: ALL, rank: x.rank, flat: false });
    return;
  }
  const slots = slotsOf(w, node, x);
  const picks = op === 'Split' ? splitParts(c, slots.length, outputs.length) : [sliceChannels(c, slots.length)];
  picks.forEach((channels, i) => {
    if (!channels.length) w.fail(node, `its output "${outputs[i]}" holds no channels`);
    w.set(outputs[i], withSlots(x, channels.map((k) => slots[k])));
  });
};

function sliceAxes(w: GraphWalker, node: onnx.INodeProto, rank: number): number[] | undefined {
  const inputs = node.input ?? [];
  const axes = inputs[3] ? w.constValues(inputs[3]) : (attrInts(node, 'axes') ?? undefined);
  const starts = inputs[1] ? undefined : attrInts(node, 'starts');
  const count = axes?.length ?? starts?.length ?? (inputs[1] ? w.lengthOf(inputs[1]) : undefined);
  if (count === undefined) return undefined;
  return (axes ?? Array.from({ length: count }, (_, i) => i)).map((a) => (a < 0 ? a + rank : a));
}

/** The channel count of a tensor the walk follows (for TorchScript's computed bounds). */
function channelCount(w: GraphWalker): (tensor: string) => number | undefined {
  return (tensor) => {
    const s: TensorState | undefined = w.state.get(tensor);
    if (!s || !channelsFirst(s)) return undefined;
    return s.slots?.length ?? s.parts?.reduce((n, p) => n + p.units, 0) ?? (w.root(s.group).units || undefined);
  };
}

/** Split: sizes from the `split` input (opset 13+) or attribute, else num_outputs equal parts (the last one smaller). */
function splitParts({ walker: w, node, inputs }: RuleContext, C: number, n: number): number[][] {
  let sizes = inputs[1] ? channelInts(w, inputs[1], channelCount(w)) : (attrInts(node, 'split') ?? undefined);
  if (inputs[1] && !sizes) w.fail(node, 'its split sizes are computed at run time from more than the channel count');
  if (!sizes) {
    const per = Math.ceil(C / n);
    sizes = Array.from({ length: n }, (_, i) => Math.max(0, Math.min(per, C - i * per)));
  }
  if (sizes.length !== n || sizes.reduce((a, b) => a + b, 0) !== C || sizes.some((s) => s < 0)) w.fail(node, `its split sizes [${sizes}] do not divide ${C} channels into ${n} outputs`);
  let from = 0;
  return sizes.map((s) => Array.from({ length: s }, () => from++));
}

/** Slice: the channels start, start + step, ... before end, clamped as ONNX clamps them. */
function sliceChannels({ walker: w, node, inputs, x }: RuleContext, C: number): number[] {
  const k = sliceAxes(w, node, x.rank)!.indexOf(1);
  const read = (i: number, attr: string) => (inputs[1] ? (inputs[i] ? channelInts(w, inputs[i], channelCount(w)) : undefined) : (attrInts(node, attr) ?? undefined));
  const [starts, ends] = [read(1, 'starts'), read(2, 'ends')];
  const steps = inputs[4] ? w.constValues(inputs[4]) : undefined;
  if (!starts || !ends || (inputs[4] && !steps)) return w.fail(node, 'its bounds are computed at run time from more than the channel count');
  const step = steps?.[k] ?? 1;
  if (step === 0) w.fail(node, 'its step is 0');
  const clamp = (v: number, lo: number, hi: number) => Math.min(Math.max(v, lo), hi);
  const bound = (v: number) => (v >= MAX_INT64 ? C : v <= -MAX_INT64 ? -C - 1 : v < 0 ? v + C : v);
  const [start, end] = step > 0 ? [clamp(bound(starts[k]), 0, C), clamp(bound(ends[k]), 0, C)] : [clamp(bound(starts[k]), -1, C - 1), clamp(bound(ends[k]), -1, C - 1)];
  const picked: number[] = [];
  for (let i = start; step > 0 ? i < end : i > end; i += step) picked.push(i);
  return picked;
}
