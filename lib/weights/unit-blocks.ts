/**
 * Structured permutations: grouped convolutions. A Conv with g groups reads
 * its input channels in g contiguous blocks and writes its outputs in g
 * blocks, output block k from input block k only. A permutation keeps the
 * function only if it keeps every block together (any order inside it) and
 * moves the input's and the output's blocks alike. The groups a chain of
 * grouped convs ties form a family (graph/finish.ts): its members' units are
 * `blocks` equal contiguous blocks, permuted freely within a block, and as
 * blocks by one map shared by all members (the identity when a member is
 * fixed: a model input or output).
 * - Canonical form: each member sorted within its blocks (canonicalOrder
 *   with blocks), then the blocks sorted by a key summed over the members
 *   (their units' primary sort keys), ties broken by those keys in order.
 * - Matching: for each member, A's block i against B's block j scores the
 *   best within-block assignment's value; the block map maximizes the sum of
 *   the scores over the members, and each member takes the within-block
 *   assignments of the pairs it chose.
 * The grouped conv itself is held dense and block-diagonal (zeros outside its
 * blocks), so every kernel reads it as a plain Conv; structured permutations
 * keep the zeros where they are.
 */
import { TIE_TOLERANCE, canonicalOrder } from './canonical-order';
import { canonicalPermutations } from './heads';
import { type SortKey, applyPermutationSync, linearSumAssignmentSync, sortKeysSync } from './kernels';
import type { Network } from './network';
import { groupView } from './views';

export interface BlockFamily {
  /** The hidden groups of the family, in forward order. */
  groups: number[];
  blocks: number;
  /** Whether blocks may move (false when a fixed group belongs to the family). */
  swappable: boolean;
}

export function familyOf(net: Network, id: number): BlockFamily | undefined {
  const f = net.groups[id].family;
  return f === undefined ? undefined : net.families?.[f];
}

/** New unit i of group `id` = old unit perm[i], in place. */
export function permuteGroup(net: Network, id: number, perm: Int32Array): void {
  const { view, commit } = groupView(net, id);
  applyPermutationSync(view, perm);
  commit(perm);
}

/**
 * Sorts every hidden group of `net` into its canonical order, in place, in
 * forward order (a family, or an attention head site, as one when its first member comes). Returns the
 * permutations applied, in order: undone in reverse, they put it back.
 */
export function sortHiddenGroups(net: Network, key: SortKey = 'out-norm', report?: (step: number, steps: number) => void): Array<[number, Int32Array]> {
  const steps: Array<[number, Int32Array]> = [];
  report?.(0, net.hidden.length);
  const apply = (id: number, perm: Int32Array) => {
    permuteGroup(net, id, perm);
    steps.push([id, perm]);
  };
  const sorted = new Set<number>();
  for (const [i, id] of net.hidden.entries()) {
    if (i > 0) report?.(i, net.hidden.length); // the groups before this one sorted
    if (sorted.has(id)) continue;
    const family = familyOf(net, id);
    if (!family) {
      // One group, or both groups of an attention head site (none for its second: heads.ts).
      for (const [group, perm] of canonicalPermutations(net, id, key)) apply(group, perm);
      continue;
    }
    for (const m of family.groups) {
      apply(m, canonicalOrder(groupView(net, m).view, key, family.blocks));
      sorted.add(m);
    }
    if (!family.swappable) continue;
    const keys = family.groups.map((m) => sortKeysSync(groupView(net, m).view, key));
    const order = blockOrder(keys, family.blocks);
    for (const m of family.groups) apply(m, expandBlocks(order, net.groups[m].units / family.blocks));
  }
  report?.(net.hidden.length, net.hidden.length);
  return steps;
}

/** The total permutation per group of a list of steps (new i = original total[i]). */
export function composeSteps(steps: Array<[number, Int32Array]>): Map<number, Int32Array> {
  const total = new Map<number, Int32Array>();
  for (const [id, p] of steps) {
    const before = total.get(id);
    total.set(id, before ? Int32Array.from(p, (j) => before[j]) : p.slice());
  }
  return total;
}

/** Undo `steps` (from sortHiddenGroups) in place. */
export function undoSteps(net: Network, steps: Array<[number, Int32Array]>): void {
  for (const [id, perm] of steps.slice().reverse()) permuteGroup(net, id, inverse(perm));
}

export function inverse(perm: Int32Array): Int32Array {
  const inv = new Int32Array(perm.length);
  perm.forEach((old, i) => (inv[old] = i));
  return inv;
}

/**
 * The canonical order of the blocks: by the sum of their units' keys over all members
 * (descending), ties (within float32 rounding) by the keys one by one, then by position.
 */
function blockOrder(keys: Float64Array[], blocks: number): number[] {
  const vector = (b: number) => keys.flatMap((k) => Array.from(k.subarray((b * k.length) / blocks, ((b + 1) * k.length) / blocks)));
  const vectors = Array.from({ length: blocks }, (_, b) => vector(b));
  const sums = vectors.map((v) => v.reduce((s, x) => s + x, 0));
  const sumTol = TIE_TOLERANCE * Math.max(0, ...sums.map(Math.abs));
  const keyTol = TIE_TOLERANCE * Math.max(0, ...vectors.flat().map(Math.abs));
  return Array.from({ length: blocks }, (_, b) => b).sort((p, q) => {
    if (Math.abs(sums[p] - sums[q]) > sumTol) return sums[q] - sums[p];
    for (let i = 0; i < vectors[p].length; i++) if (Math.abs(vectors[p][i] - vectors[q][i]) > keyTol) return vectors[q][i] - vectors[p][i];
    return p - q;
  });
}

/** A block map (new block i = old block order[i]) as a unit permutation. */
function expandBlocks(order: number[], size: number): Int32Array {
  return Int32Array.from({ length: order.length * size }, (_, i) => order[Math.floor(i / size)] * size + (i % size));
}

/**
 * The best structured assignment of B's units to A's over a family's members: `similarity[m]`
 * is member m's units × units matrix (A rows, B columns). Returns each member's rowToCol
 * (new unit i of B = old unit rowToCol[i]) and the summed similarity it reaches.
 */
export function structuredAssignment(similarity: Float64Array[], family: BlockFamily): { perms: Int32Array[]; total: number } {
  const g = family.blocks;
  const sizes = similarity.map((C) => Math.round(Math.sqrt(C.length)) / g);
  // Best within-block assignment of A's block i to B's block j, per member.
  const within = (m: number, i: number, j: number) => {
    const C = similarity[m];
    const s = sizes[m];
    const n = s * g;
    const sub = new Float64Array(s * s);
    for (let r = 0; r < s; r++) for (let c = 0; c < s; c++) sub[r * s + c] = C[(i * s + r) * n + j * s + c];
    return linearSumAssignmentSync(sub, s, s, { maximize: true });
  };
  const pairs = new Map<number, Array<ReturnType<typeof within>>>();
  const pair = (i: number, j: number) => {
    if (!pairs.has(i * g + j)) pairs.set(i * g + j, similarity.map((_, m) => within(m, i, j)));
    return pairs.get(i * g + j)!;
  };
  let map = Array.from({ length: g }, (_, i) => i);
  if (family.swappable && g > 1) {
    const S = new Float64Array(g * g);
    for (let i = 0; i < g; i++) for (let j = 0; j < g; j++) S[i * g + j] = pair(i, j).reduce((t, r) => t + r.total, 0);
    map = Array.from(linearSumAssignmentSync(S, g, g, { maximize: true }).rowToCol);
  }
  let total = 0;
  const perms = similarity.map((_, m) => {
    const s = sizes[m];
    const perm = new Int32Array(s * g);
    for (let i = 0; i < g; i++) {
      const r = pair(i, map[i])[m];
      total += r.total;
      for (let k = 0; k < s; k++) perm[i * s + k] = map[i] * s + r.rowToCol[k];
    }
    return perm;
  });
  return { perms, total };
}
