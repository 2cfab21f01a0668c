/**
 * Layers reading split, shuffled or (for grouped and depthwise convs) concatenated channels.
 * The walk only records which unit each input channel holds (GraphWalker.slotReads);
 * ./unit-cells.ts gives such a layer its input parts once every group's cells are known.
 * - A Conv/Gemm/MatMul opens a new group as ./linear.ts does; its W keeps the stored column order.
 * - A grouped conv reads each input block on its own: the blocks are read sets (the units of one
 *   block never move to another), and its output blocks stay in place (they read different groups).
 * - A depthwise conv filters each channel alone: channel-wise parameters of every group it
 *   holds, split by rows at the end; its output keeps the input's channels.
 */
import type { Layer } from '../network';
import { slotsOf, withSlots } from './channel-slots';
import type { LayerRead } from './linear';
import { storedFields } from './stored-fields';
import { ALL, type TensorState, and } from './tensor-state';
import type { GraphWalker } from './walker';
import type { onnx } from '../../io/onnx';

export function slotReader(w: GraphWalker, node: onnx.INodeProto, index: number, x: TensorState, p: LayerRead, kind: { depthwise: boolean; grouped: number }): void {
  const slots = slotsOf(w, node, x);
  const C = slots.length;
  // The path's symmetries bound every group the layer reads.
  for (const g of new Set(slots.map((s) => w.find(s.group)))) w.groups[g].caps = and(w.groups[g].caps, x.caps);
  const common = {
    ...storedFields(w, index, (node.input ?? [])[1], p),
    inGroup: slots[0].group,
    W: p.W,
    b: p.b,
  } satisfies Partial<Layer>;
  const layerIndex = w.layers.length;
  if (kind.depthwise) {
    w.layers.push({ ...common, outUnits: C, inUnits: 1, inBlock: p.W.length / C, outGroup: slots[0].group, channelwise: true });
    w.slotReads.push({ layer: layerIndex, slots, sets: [[0, C]], node });
    return w.set(p.out, withSlots(x, slots, { caps: ALL, layer: layerIndex }));
  }
  if (p.cols % C !== 0 || (p.op === 'Conv' && p.dims[1] * kind.grouped !== C)) w.fail(node, `its ${p.cols} input features do not divide into the ${C} channels feeding it`);
  const inBlock = p.cols / C;
  if (!x.flat && p.op !== 'Conv' && inBlock !== 1) w.fail(node, `its ${p.cols} input features do not match the ${C} channels feeding it`);
  const outGroup = w.newGroup(p.outUnits, false);
  const g = kind.grouped;
  w.layers.push({ ...common, outUnits: p.outUnits, inUnits: C, inBlock, outGroup, grouped: g > 1 ? g : undefined });
  w.groups[outGroup].producers.push(layerIndex);
  const sets = Array.from({ length: g }, (_, k): [number, number] => [(k * C) / g, ((k + 1) * C) / g]);
  w.slotReads.push({ layer: layerIndex, slots, sets, node });
  // Output block k reads input block k, whose units belong to other groups than block j's: blocks stay (a fixed partner pins them).
  if (g > 1) w.blockTies.push({ a: w.newGroup(0, true), b: outGroup, blocks: g, node });
  const rank = p.spatialOut ? x.rank : 2;
  w.set(p.out, { group: outGroup, caps: ALL, rank, flat: false, pooled: p.spatialOut && x.pooled, layer: layerIndex });
}
