/**
 * After the walk: resolve merged groups to their roots, gather each root's
 * producers, consumers and channel-wise layers, fix the groups nothing
 * reads, and collect the weights no layer holds (extras).
 */
import { check } from '../../errors';
import { countedWeights } from '../counted';
import type { Network } from '../network';
import type { BlockFamily } from '../unit-blocks';
import { PERMUTATION_ONLY } from './tensor-state';
import { producerOutput, splitUnitCells } from './unit-cells';
import type { GraphWalker } from './walker';

/**
 * The groups grouped convolutions tie block by block, joined into families
 * (../unit-blocks.ts). A group split into two different block counts stops the walk.
 */
function blockFamilies(w: GraphWalker): BlockFamily[] | undefined {
  if (!w.blockTies.length) return undefined;
  const parent = new Map<number, number>();
  const find = (id: number): number => {
    while (parent.has(id) && parent.get(id) !== id) id = parent.get(id)!;
    return id;
  };
  const blocks = new Map<number, number>();
  for (const tie of w.blockTies) {
    const [a, b] = [find(w.find(tie.a)), find(w.find(tie.b))];
    for (const id of [w.find(tie.a), w.find(tie.b)]) {
      const seen = blocks.get(id);
      if (seen !== undefined && seen !== tie.blocks) w.fail(tie.node, `its channels are split into ${tie.blocks} groups where another grouped convolution splits them into ${seen}`);
      blocks.set(id, tie.blocks);
    }
    parent.set(a, a);
    if (a !== b) parent.set(b, a);
  }
  const members = new Map<number, number[]>();
  for (const id of blocks.keys()) members.set(find(id), [...(members.get(find(id)) ?? []), id]);
  const families: BlockFamily[] = [];
  for (const ids of members.values()) {
    const hidden = ids.filter((id) => !w.groups[id].fixed).sort((p, q) => p - q);
    if (!hidden.length) continue;
    for (const id of hidden) w.groups[id].family = families.length;
    families.push({ groups: hidden, blocks: blocks.get(ids[0])!, swappable: hidden.length === ids.length });
  }
  return families;
}

export function finishNetwork(w: GraphWalker): Network {
  // Flatten the union-find: every layer points at its root group.
  for (const l of w.layers) {
    l.outGroup = w.find(l.outGroup);
    l.inGroup = w.find(l.inGroup);
    for (const p of l.inParts ?? []) p.group = w.find(p.group);
  }
  // A residual around one linear layer after a depthwise conv (MobileNetV2's t = 1 block) reads and
  // writes the same units: W becomes P·W·Pᵀ. Only the permutation survives such a loop.
  // (An LSTM/GRU/RNN's R is such a loop; its sign symmetry is handled apart, see recurrent-sign.ts.)
  for (const l of w.layers) if (l.inGroup === l.outGroup && !l.channelwise && !l.inParts && !l.recurrent) w.groups[l.inGroup].caps = PERMUTATION_ONLY;
  let roots = w.groups.filter((g) => w.find(g.id) === g.id);
  for (const g of w.groups) {
    if (w.find(g.id) !== g.id) {
      const r = w.root(g.id);
      r.producers.push(...g.producers);
      r.consumers.push(...g.consumers);
      r.channelwise.push(...g.channelwise);
    }
  }
  // Groups whose units reach layers through channel splits: one group per cell (./unit-cells.ts).
  // Each cell right after the group it was cut from: normalization runs in forward order.
  const cells = splitUnitCells(w);
  roots = roots.flatMap((r) => [r, ...(cells.get(r.id) ?? []).map((id) => w.groups[id])]);
  for (const r of roots) {
    // Read only through concatenations (DenseNet): its units are its first producer's output.
    if (r.tensor === undefined && r.producers.length) r.tensor = producerOutput(w, w.layers[r.producers[0]]);
    r.producers.sort((a, b) => a - b);
    r.consumers.sort((a, b) => a - b);
    r.channelwise.sort((a, b) => a - b);
    // A group nothing reads is dead code: leave it alone.
    // (Q/K units are read by QKᵀ, not by a layer, and so are grouped-query attention's V rows.)
    if (r.consumers.length === 0 && !['qk', 'k', 'v'].includes(r.heads?.role ?? '')) r.fixed = true;
  }
  // One learned initial state shared by both directions of an RNN: a unit flips sign in both or in neither.
  for (const r of roots) {
    const other = r.recurrent?.signWith === undefined ? undefined : w.root(r.recurrent.signWith);
    if (other && (other.fixed || !other.caps.sign)) r.caps = { ...r.caps, sign: false };
  }
  const hidden = roots.filter((g) => !g.fixed).map((g) => g.id);
  for (const id of hidden) {
    const g = w.groups[id];
    // (Grouped-query attention's O columns are written by attention, not by a layer: heads.ts.)
    check(g.producers.length > 0 || g.heads?.kv !== undefined, 'INTERNAL', `group ${id} has no producing layer`);
  }
  // Extras are the other weights (a shared PRelu slope, ...), never a mask fill or a scalar constant.
  const weights = new Set(countedWeights(w.model).initializers);
  // A projection whose weight is not counted is an exporter's copy of a tied embedding table (see
  // exporter-artefacts.ts): it permutes with the table, and distances count the table once.
  for (const l of w.layers) if ((l.op === 'MatMul' || l.op === 'Gemm') && !weights.has(w.castOf.get(l.name) ?? l.name)) l.tiedCopy = true;
  const extras = w.graph.initializer
    .filter((t) => weights.has(t.name ?? '') && !w.paramNames.has(t.name ?? ''))
    .map((t) => ({ name: t.name ?? '', data: w.values(t) }));
  return { label: w.model.label, layers: w.layers, groups: w.groups, hidden, families: blockFamilies(w), extras, model: w.model };
}
