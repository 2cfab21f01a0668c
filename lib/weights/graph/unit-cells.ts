/**
 * Cells of units cut by channel splits (ShuffleNet), once the walk is done.
 *
 * A group whose units reach layers through Split/Slice/shuffle may only permute units that
 * every such layer reads together: swapping two units swaps the channels holding them in
 * every tensor downstream, so each reader must hold both or neither. The units of a group
 * with the same readers form a cell; a group with several cells becomes one group per cell
 * (the first keeps the group's id). Then:
 * - each producer (and depthwise layer) of such a group is split by rows into one layer per
 *   cell (Layer.rows.index; writeback joins them);
 * - every layer reading split channels gets its input parts: one per cell group it reads,
 *   its units at the channels listed (InputPart.columns);
 * - a depthwise conv over split channels becomes one channel-wise layer per cell group.
 * A cell group's activations are its channels of the layer's output (Group.tensorChannels).
 */
import type { onnx } from '../../io/onnx';
import type { Group, InputPart, Layer } from '../network';
import type { GraphWalker } from './walker';

type Where = { group: number; index: number };

/** Cuts the groups; returns the new groups by the group they were cut from. */
export function splitUnitCells(w: GraphWalker): Map<number, number[]> {
  const added = new Map<number, number[]>();
  if (!w.slotReads.length) return added;
  const where = cellsOfGroups(w, added);
  const unitAt = (group: number, unit: number): Where => where.get(group)?.[unit] ?? { group, index: unit };
  const readers = new Set<number>();
  for (const r of w.slotReads) if (!w.layers[r.layer].channelwise) readers.add(r.layer);
  for (const root of where.keys()) {
    // Re-registered below, with the cell groups each one reads.
    for (const c of w.groups[root].consumers) readers.add(c);
    w.groups[root].consumers = [];
  }
  const slotsOfLayer = new Map(w.slotReads.map((r) => [r.layer, r]));
  // Input parts first: the row parts made below copy them.
  for (const li of readers) {
    const l = w.layers[li];
    const read = slotsOfLayer.get(li);
    const channels = read ? read.slots.map((s) => unitAt(w.find(s.group), s.unit)) : plainChannels(w, l, unitAt);
    l.inParts = inputParts(w, read?.node, channels);
    l.inGroup = l.inParts[0].group;
    if (l.inParts.length === 1 && !l.inParts[0].columns && l.inParts[0].units === l.inUnits) l.inParts = undefined;
    for (const g of new Set(channels.map((c) => c.group))) if (!w.groups[g].consumers.includes(li)) w.groups[g].consumers.push(li);
  }
  for (const [root, units] of where) {
    const cells = cellGroups(units);
    if (cells.length < 2) continue;
    for (const li of w.groups[root].producers.slice()) splitRows(w, li, cells, 'producers');
    for (const li of w.groups[root].channelwise.slice()) splitRows(w, li, cells, 'channelwise');
  }
  for (const r of w.slotReads) {
    if (!w.layers[r.layer].channelwise) continue;
    // A depthwise conv over split channels: one channel-wise part per group it holds.
    const channels = r.slots.map((s) => unitAt(w.find(s.group), s.unit));
    const byGroup = new Map<number, number[]>();
    channels.forEach((c, k) => {
      const rows = byGroup.get(c.group) ?? [];
      rows[c.index] = k;
      byGroup.set(c.group, rows);
    });
    const cells = [...byGroup].map(([group, rows]) => ({ group, rows: Int32Array.from(rows) }));
    if (cells.some((c) => c.rows.length !== w.groups[c.group].units && !w.groups[c.group].fixed)) w.fail(r.node, 'a depthwise convolution reads part of a group');
    splitRows(w, r.layer, cells, 'channelwise');
  }
  return added;
}

/** Each split root's units → (cell group, index in it); new groups for every cell but the first. */
function cellsOfGroups(w: GraphWalker, added: Map<number, number[]>): Map<number, Where[]> {
  const reads = new Map<number, Array<Set<number>>>();
  for (const r of w.slotReads) {
    for (const [from, to] of r.sets) {
      const byRoot = new Map<number, Set<number>>();
      for (let k = from; k < to; k++) {
        const root = w.find(r.slots[k].group);
        const set = byRoot.get(root) ?? new Set<number>();
        if (set.has(r.slots[k].unit)) w.fail(r.node, 'it reads the same unit in two channels');
        set.add(r.slots[k].unit);
        byRoot.set(root, set);
      }
      for (const [root, set] of byRoot) reads.set(root, [...(reads.get(root) ?? []), set]);
    }
  }
  const where = new Map<number, Where[]>();
  for (const [root, sets] of reads) {
    const g = w.groups[root];
    if (g.fixed) continue;
    const cells = new Map<string, number[]>();
    for (let u = 0; u < g.units; u++) {
      const key = sets.map((s, i) => (s.has(u) ? i : '')).join(',');
      cells.set(key, [...(cells.get(key) ?? []), u]);
    }
    if (cells.size < 2) continue;
    refusable(w, g);
    g.tensor ??= producerOutput(w, w.layers[g.producers[0]]);
    const units: Where[] = [];
    [...cells.values()].forEach((members, k) => {
      const id = k === 0 ? root : w.newGroup(members.length, false);
      if (k > 0) added.set(root, [...(added.get(root) ?? []), id]);
      const cell = w.groups[id];
      cell.units = members.length;
      cell.caps = { ...g.caps };
      cell.tensor = g.tensor;
      cell.tensorChannels = Int32Array.from(members);
      members.forEach((u, index) => (units[u] = { group: id, index }));
    });
    where.set(root, units);
  }
  return where;
}

/** What cutting a group into cells cannot follow (yet): stop, naming a node reading it. */
function refusable(w: GraphWalker, g: Group): void {
  const at = w.slotReads.find((r) => r.slots.some((s) => w.find(s.group) === g.id))!.node;
  const layers = [...g.producers, ...g.channelwise].map((i) => w.layers[i]);
  if (g.recurrent || g.heads) w.fail(at, 'it splits the units of a recurrent or attention layer');
  if (w.blockTies.some((t) => w.find(t.a) === g.id || w.find(t.b) === g.id)) w.fail(at, 'it splits channels a grouped convolution ties in blocks');
  if (layers.some((l) => l.rows || l.op === 'BatchNormalization' || (l.inGroup === l.outGroup && !l.channelwise))) w.fail(at, 'it splits channels whose layers are already split or normalized apart');
}

/** The tensor a layer writes (after its folded BatchNorm or affine nodes). */
export function producerOutput(w: GraphWalker, l: Layer): string {
  const last = l.folded?.length ? l.folded[l.folded.length - 1] : (l.addNode ?? l.node);
  return (w.graph.node[last].output ?? [])[0];
}

/** A plain consumer's input channels: its parts (or its one group) in order. */
function plainChannels(w: GraphWalker, l: Layer, unitAt: (g: number, u: number) => Where): Where[] {
  const parts = l.inParts ?? [{ group: l.inGroup, offset: 0, units: l.inUnits }];
  const out: Where[] = [];
  for (const p of parts) for (let u = 0; u < p.units; u++) out[p.columns ? p.columns[u] : p.offset + u] = unitAt(w.find(p.group), u);
  return out;
}

/** Input channels grouped by the group their units belong to: one part per group, in first-channel order. */
function inputParts(w: GraphWalker, node: onnx.INodeProto | undefined, channels: Where[]): InputPart[] {
  const parts = new Map<number, number[]>();
  channels.forEach((c, k) => {
    const columns = parts.get(c.group) ?? [];
    columns[c.index] = k;
    parts.set(c.group, columns);
  });
  return [...parts].map(([group, sparse]) => {
    // A fixed group may be read in part (it never moves); a hidden one only whole.
    const columns = w.groups[group].fixed ? sparse.filter((c) => c !== undefined) : Array.from(sparse);
    const units = columns.length;
    if (columns.includes(undefined as unknown as number) || units !== (w.groups[group].fixed ? units : w.groups[group].units)) w.fail(node ?? w.graph.node[0], 'it reads part of a group');
    const contiguous = columns.every((c, u) => c === columns[0] + u);
    return { group, offset: columns[0], units, ...(contiguous ? {} : { columns: Int32Array.from(columns) }) };
  });
}

/** The cells of one split root: each cell group and its rows (the root's units, in order). */
function cellGroups(units: Where[]): Array<{ group: number; rows: Int32Array }> {
  const cells = new Map<number, number[]>();
  units.forEach((c, u) => {
    const rows = cells.get(c.group) ?? [];
    rows[c.index] = u;
    cells.set(c.group, rows);
  });
  return [...cells].map(([group, rows]) => ({ group, rows: Int32Array.from(rows) }));
}

/**
 * Layer li as one layer per cell: its rows (units) of each cell; the first part takes its
 * place, the others are appended and read what it reads.
 */
function splitRows(w: GraphWalker, li: number, cells: Array<{ group: number; rows: Int32Array }>, role: 'producers' | 'channelwise'): void {
  const l = w.layers[li];
  const cols = l.W.length / l.outUnits;
  cells.forEach((cell, k) => {
    const W = new Float64Array(cell.rows.length * cols);
    cell.rows.forEach((r, i) => W.set(l.W.subarray(r * cols, (r + 1) * cols), i * cols));
    const part: Layer = {
      ...l,
      outUnits: cell.rows.length,
      outGroup: cell.group,
      ...(l.channelwise && { inGroup: cell.group }),
      rows: { offset: cell.rows[0], total: l.outUnits, index: cell.rows },
      W,
      b: Float64Array.from(cell.rows, (r) => l.b[r]),
    };
    const index = k === 0 ? li : w.layers.length;
    if (k === 0) w.layers[li] = part;
    else w.layers.push(part);
    const group = w.groups[cell.group];
    if (k > 0 || !group[role].includes(index)) group[role].push(index);
    if (k > 0 && !l.channelwise) for (const g of new Set((l.inParts ?? [{ group: l.inGroup }]).map((p) => w.find(p.group)))) w.groups[g].consumers.push(index);
  });
}
