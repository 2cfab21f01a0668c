/**
 * Concat on the channel axis (DenseNet's dense blocks): the result's
 * channels are its inputs' units in order, each input keeping its own group
 * (and permutation); a layer reading it reads each part at its offset.
 */
import { attrInt } from '../../io/onnx';
import type { OpRule } from './rule';
import { slotsOf } from './channel-slots';
import { positionsConcat } from './sequence';
import { ALL, and, unitsLast } from './tensor-state';

export const concat: OpRule = (c) => {
  const { walker, node, inputs, out } = c;
  if (unitsLast(c.x) && c.x.rank > 2) return positionsConcat(c);
  const states = inputs.map((i) => (walker.isConst(i) ? walker.fail(node, 'it concatenates a constant with data') : walker.data(node, i)));
  const first = states[0];
  const axis = attrInt(node, 'axis', 0);
  if ((axis !== 1 && axis !== 1 - first.rank) || first.flat || first.channelLast) walker.fail(node, 'only a concatenation of channels-first tensors on the channel axis is supported');
  if (states.some((s) => s.rank !== first.rank || s.flat || s.channelLast)) walker.fail(node, 'it joins tensors of different layouts');
  if (states.length === 1) return walker.set(out, { ...first, layer: undefined });
  const caps = states.reduce((c, s) => and(c, s.caps), ALL);
  const pooled = states.every((s) => s.pooled) || undefined;
  if (states.some((s) => s.slots)) {
    // Split or shuffled channels among them: the result lists every channel's unit (./channel-slots.ts).
    const slots = states.flatMap((s) => slotsOf(walker, node, s));
    return walker.set(out, { group: slots[0].group, slots, caps, rank: first.rank, flat: false, pooled });
  }
  const parts = states.flatMap((s) => s.parts ?? [{ group: s.group, units: walker.root(s.group).units }]);
  if (parts.some((p) => !p.units)) walker.fail(node, 'the channel count of an input is unknown');
  const roots = parts.map((p) => walker.find(p.group));
  if (new Set(roots).size !== roots.length) walker.fail(node, 'it concatenates the same units more than once');
  walker.set(out, { group: parts[0].group, parts, caps, rank: first.rank, flat: false, pooled });
};
