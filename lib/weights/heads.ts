/**
 * Attention heads (graph/attention.ts) as structured permutations: a head site is two groups,
 * Q/K units ('qk': Q's and K's rows) and V/O units ('vo': V's rows, O's columns), each
 * `count` heads of `dim` units, head-major. Its symmetries are one permutation of whole heads,
 * shared by both groups, and within every head one permutation of the Q/K dims and an
 * independent one of the V/O dims (none of the Q/K dims under rotary embeddings).
 *
 * - Canonical order: within each head, its dims by the group's own canonical keys
 *   (canonical-order.ts on the head's units); then whole heads by the same keys on a view
 *   whose "units" are heads (a head's incoming weights: its Q, K and V rows in the order just
 *   found; its outgoing weights: its O columns). Deterministic, and rescaling-safe as the unit
 *   keys are (the stream and the V/O units are normalized before).
 * - Matching: for every pair of heads (A's i, B's j), the best within-head assignment of the
 *   Q/K dims and of the V/O dims on their blocks of the similarity matrices; its objective is
 *   the head-pair score, and an assignment of heads on those scores gives the permutation.
 * Grouped-query attention (K/V heads shared by several query heads) is a site of four groups:
 * grouped-query.ts.
 */
import { canonicalOrder } from './canonical-order';
import { type GroupedSite, groupedQueryPermutations, matchGroupedQuery } from './grouped-query';
import { type LayerWeights, type SortKey, linearSumAssignment, matchingSimilaritySync } from './kernels';
import type { Network } from './network';
import { groupView } from './views';

export interface HeadSite {
  qk: number;
  vo: number;
  count: number;
  qkDim: number;
  voDim: number;
  /** Rotary embeddings: the Q/K dims within a head stay in place. */
  pairsFixed: boolean;
  /** Grouped-query attention (grouped-query.ts): K's and V's groups, of `count` heads; qk is then Q's rows only, vo O's columns only. */
  kv?: { k: number; v: number; count: number };
}

/** The head site a group belongs to, if any. */
export function headSite(net: Network, id: number): HeadSite | undefined {
  const h = net.groups[id].heads;
  if (!h) return undefined;
  // A grouped-query site's K or V rows: the site of its Q rows or O columns.
  if (h.role === 'k' || h.role === 'v') return headSite(net, h.partner);
  const [qk, vo] = h.role === 'qk' ? [id, h.partner] : [h.partner, id];
  const q = net.groups[qk].heads!;
  const o = net.groups[vo].heads!;
  const kv = q.kv && o.kv && { k: q.kv.group, v: o.kv.group, count: q.kv.count };
  return { qk, vo, count: h.count, qkDim: q.dim, voDim: o.dim, pairsFixed: Boolean(q.pairsFixed), ...(kv && { kv }) };
}

/**
 * The hidden groups to visit one by one: a head site is visited once, at its first group in
 * forward order (its partner is skipped). Without heads, exactly `net.hidden`.
 */
export function unitsOfWork(net: Network): number[] {
  const position = new Map(net.hidden.map((id, i) => [id, i]));
  return net.hidden.filter((id) => {
    const h = net.groups[id].heads;
    // (A grouped-query site's K and V rows move with it.)
    return !h || ((h.role === 'qk' || h.role === 'vo') && position.get(id)! < position.get(h.partner)!);
  });
}

/**
 * The canonical order of the group at `id` (net normalized, upstream groups sorted): one
 * entry, or both groups of a head site when `id` is its first; none for the site's second.
 */
export function canonicalPermutations(net: Network, id: number, key: SortKey = 'out-norm'): Array<[number, Int32Array]> {
  const site = headSite(net, id);
  if (!site) return [[id, canonicalOrder(groupView(net, id).view, key)]];
  if (!unitsOfWork(net).includes(id)) return [];
  if (site.kv) return groupedQueryPermutations(net, site as GroupedSite, key);
  const qk = groupView(net, site.qk).view;
  const vo = groupView(net, site.vo).view;
  const identity = (n: number) => Int32Array.from({ length: n }, (_, i) => i);
  const within = (view: LayerWeights, dim: number, fixed: boolean) =>
    Array.from({ length: site.count }, (_, h) => (fixed ? identity(dim) : canonicalOrder(headView(view, h * dim, dim), key)));
  const inQk = within(qk, site.qkDim, site.pairsFixed);
  const inVo = within(vo, site.voDim, false);
  const heads = canonicalOrder(headsView(site, qk, vo, inQk, inVo), key);
  return [
    [site.qk, compose(heads, inQk, site.qkDim)],
    [site.vo, compose(heads, inVo, site.voDim)],
  ];
}

/** Units [start, start + n) of a view, as a view of their own (copies). */
function headView(v: LayerWeights, start: number, n: number): LayerWeights {
  const wout = new Float64Array(v.outRows * n * v.block);
  for (let o = 0; o < v.outRows; o++) wout.set(v.wout.subarray((o * v.units + start) * v.block, (o * v.units + start + n) * v.block), o * n * v.block);
  return {
    win: v.win.slice(start * v.fanIn, (start + n) * v.fanIn),
    bin: v.bin.slice(start, start + n),
    wout,
    units: n,
    fanIn: v.fanIn,
    outRows: v.outRows,
    block: v.block,
  };
}

/**
 * Heads as units: each head's incoming weights are its Q/K rows and biases then its V rows and
 * biases (dims in their canonical order), its outgoing weights O's columns of the head.
 */
function headsView(site: HeadSite, qk: LayerWeights, vo: LayerWeights, inQk: Int32Array[], inVo: Int32Array[]): LayerWeights {
  const { count, qkDim, voDim } = site;
  const fanIn = qkDim * (qk.fanIn + 1) + voDim * (vo.fanIn + 1);
  const win = new Float64Array(count * fanIn);
  const block = voDim * vo.block;
  const wout = new Float64Array(vo.outRows * count * block);
  for (let h = 0; h < count; h++) {
    let off = h * fanIn;
    for (const [v, dim, order] of [[qk, qkDim, inQk[h]], [vo, voDim, inVo[h]]] as const) {
      for (let j = 0; j < dim; j++) {
        const u = h * dim + order[j];
        win.set(v.win.subarray(u * v.fanIn, (u + 1) * v.fanIn), off);
        off += v.fanIn;
        win[off++] = v.bin[u];
      }
    }
    for (let o = 0; o < vo.outRows; o++) {
      for (let j = 0; j < voDim; j++) {
        const u = h * voDim + inVo[h][j];
        wout.set(vo.wout.subarray((o * vo.units + u) * vo.block, (o * vo.units + u + 1) * vo.block), ((o * count + h) * voDim + j) * vo.block);
      }
    }
  }
  return { win, bin: new Float64Array(count), wout, units: count, fanIn, outRows: vo.outRows, block };
}

/** New unit (h, j) = old unit (heads[h], within[heads[h]][j]). */
function compose(heads: Int32Array, within: Int32Array[], dim: number): Int32Array {
  const perm = new Int32Array(heads.length * dim);
  heads.forEach((old, h) => {
    for (let j = 0; j < dim; j++) perm[h * dim + j] = old * dim + within[old][j];
  });
  return perm;
}

/**
 * One coordinate-descent step of weight matching for a head site: the best structured
 * permutation of B's site given everything else. `perms` are in B's current order (apply
 * them to accept); `current` is the objective of leaving B as it is, `total` the best one.
 */
export async function matchHeads(a: Network, b: Network, site: HeadSite): Promise<{ perms: Array<[number, Int32Array]>; current: number; total: number }> {
  if (site.kv) return matchGroupedQuery(a, b, site as GroupedSite);
  const similarity = (id: number) => matchingSimilaritySync(groupView(a, id).view, groupView(b, id).view);
  return assignHeads(site, similarity(site.qk), similarity(site.vo));
}

/**
 * The structured permutation of a (not grouped-query) site maximizing the summed similarity of
 * A's units with B's: `qk` and `vo` are units × units matrices (weight similarities, or
 * activation correlations: activation-matching.ts).
 */
export async function assignHeads(site: HeadSite, qk: Float64Array, vo: Float64Array): Promise<{ perms: Array<[number, Int32Array]>; current: number; total: number }> {
  const { count } = site;
  const blocks = [
    { id: site.qk, dim: site.qkDim, fixed: site.pairsFixed, C: qk },
    { id: site.vo, dim: site.voDim, fixed: false, C: vo },
  ];
  let current = 0;
  for (const { C, dim } of blocks) for (let i = 0; i < count * dim; i++) current += C[i * count * dim + i];
  // Head pair (i, j): the best within-head assignments, summed over the site's groups.
  const score = new Float64Array(count * count);
  const within = blocks.map(() => new Array<Int32Array>(count * count));
  for (let i = 0; i < count; i++) {
    for (let j = 0; j < count; j++) {
      for (const [g, { C, dim, fixed }] of blocks.entries()) {
        const n = count * dim;
        const sub = new Float64Array(dim * dim);
        for (let r = 0; r < dim; r++) for (let c = 0; c < dim; c++) sub[r * dim + c] = C[(i * dim + r) * n + j * dim + c];
        if (fixed) {
          within[g][i * count + j] = Int32Array.from({ length: dim }, (_, r) => r);
          for (let r = 0; r < dim; r++) score[i * count + j] += sub[r * dim + r];
        } else {
          const { rowToCol, total } = await linearSumAssignment(sub, dim, dim, { maximize: true });
          within[g][i * count + j] = rowToCol;
          score[i * count + j] += total;
        }
      }
    }
  }
  const { rowToCol: heads, total } = await linearSumAssignment(score, count, count, { maximize: true });
  const perms = blocks.map(({ id, dim }, g): [number, Int32Array] => {
    const perm = new Int32Array(count * dim);
    heads.forEach((j, i) => {
      const inner = within[g][i * count + j];
      for (let r = 0; r < dim; r++) perm[i * dim + r] = j * dim + inner[r];
    });
    return [id, perm];
  });
  return { perms, current, total };
}
