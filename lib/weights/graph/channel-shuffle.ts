/**
 * ShuffleNet's channel shuffle: Reshape [N, C, H, W] → [N, g, C/g, H, W], Transpose of the
 * two channel axes, Reshape back to [N, C, H, W]. Channel i·g + j of the result is channel
 * j·(C/g) + i of the input: the slots (./channel-slots.ts) follow that permutation, so the
 * units stay what they were and every layer after reads them where they went.
 * Without the Transpose the two Reshapes give the channels back in order.
 */
import { attrInts } from '../../io/onnx';
import { channelsFirst, slotsOf, withSlots } from './channel-slots';
import type { RuleContext } from './rule';
import { type ShapeElement, shapeElements } from './shape-elements';

/** A Reshape that splits the channel axis in two, or merges such a pair back. True when it was one. */
export function channelGridReshape(c: RuleContext): boolean {
  const { walker: w, node, x, inputs, out } = c;
  if (node.opType !== 'Reshape') return false;
  if (x.grid) return mergeGrid(c);
  if (!channelsFirst(x) || x.rank < 3 || (w.root(x.group).fixed && !x.parts && !x.slots)) return false;
  const target = shapeElements(w, inputs[1]);
  if (!target || target.length !== x.rank + 1 || target.slice(3).some((e) => e === null)) return false;
  const slots = slotsOf(w, node, x);
  const C = slots.length;
  const [a, b] = [target[1], target[2]];
  let outer: number;
  if (typeof a === 'number' && a > 0) outer = a;
  else if (a === -1 && typeof b === 'number' && b > 0) outer = C / b;
  else return false;
  if (!Number.isInteger(outer) || C % outer !== 0 || (typeof b === 'number' && b !== -1 && b * outer !== C)) return false;
  w.set(out, withSlots(x, slots, { rank: x.rank + 1, grid: { outer, inner: C / outer, swapped: false } }));
  return true;
}

/** A Transpose exchanging the two channel axes of a grid (and nothing else). True when it was one. */
export function channelGridTranspose({ walker: w, node, x, out }: RuleContext): boolean {
  if (!x.grid) return false;
  const perm = attrInts(node, 'perm') ?? [];
  const swap = [0, 2, 1, ...Array.from({ length: x.rank - 3 }, (_, i) => i + 3)];
  if (perm.length !== x.rank || perm.some((p, i) => p !== swap[i])) w.fail(node, `only exchanging the two channel axes of a channel shuffle is supported, not perm [${perm}]`);
  w.set(out, { ...x, grid: { ...x.grid, swapped: !x.grid.swapped }, layer: undefined });
  return true;
}

function mergeGrid({ walker: w, node, x, inputs, out }: RuleContext): boolean {
  const grid = x.grid!;
  const slots = x.slots!;
  const C = slots.length;
  const target = shapeElements(w, inputs[1]);
  const channels = (e: ShapeElement) => {
    if (typeof e === 'number') return e;
    const s = e && e.axis === 1 ? w.state.get(e.of) : undefined;
    return s && channelsFirst(s) ? (s.slots?.length ?? s.parts?.reduce((n, p) => n + p.units, 0) ?? w.root(s.group).units) : undefined;
  };
  const merged = target && target.length === x.rank - 1 && (channels(target[1]) === C || (target[1] === -1 && target.slice(2).every((e) => typeof e === 'number' && e > 0)));
  if (!merged) w.fail(node, 'only merging the two channel axes of a channel shuffle back into one is supported');
  // Swapped: the grid is [inner, outer]; merged channel i·outer + o is channel o·inner + i before the split.
  const order = grid.swapped ? Array.from({ length: C }, (_, k) => slots[(k % grid.outer) * grid.inner + Math.floor(k / grid.outer)]) : slots;
  w.set(out, withSlots(x, order, { rank: x.rank - 1, grid: undefined }));
  return true;
}
