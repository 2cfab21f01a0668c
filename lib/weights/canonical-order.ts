/**
 * The canonical order of a hidden group's units, robust to ties.
 *
 * Units are sorted by the primary key (descending). Keys that agree within
 * float32 rounding (1e-6 of the group's largest key, chained) are a tie:
 * sorting them by the key alone let float32 noise decide, so a permuted and
 * rescaled copy of VGG11 canonicalized 0.049 away from the original. Tied
 * units are ordered by secondary keys, each with the same tolerance and
 * each invariant to permutations of the group and to the (already
 * normalized) unit scales: bias, incoming L1 norm, outgoing L1 norm and
 * largest outgoing magnitude, then the incoming weights one by one (their
 * columns are in the canonical order of the upstream group, sorted
 * before). Units equal in all of these keep their relative order.
 */
import { type LayerWeights, type SortKey, sortKeysSync } from './kernels';

/** Relative tolerance of a tie: a few float32 roundings accumulated through normalization. */
export const TIE_TOLERANCE = 1e-6;

/**
 * `blocks` > 1: the units are that many equal contiguous blocks (a grouped convolution's
 * groups, see unit-blocks.ts) and each is ordered within itself, the blocks staying in place.
 */
export function canonicalOrder(view: LayerWeights, key: SortKey = 'out-norm', blocks = 1): Int32Array {
  const { win, bin, units, fanIn } = view;
  const primary = sortKeysSync(view, key);
  // The secondary keys are only read for ties (rare in trained weights): each is computed the
  // first time a tie reaches it. On a 4096-unit group they cost more than the sort itself.
  const inL1 = () => Float64Array.from({ length: units }, (_, u) => win.subarray(u * fanIn, (u + 1) * fanIn).reduce((s, v) => s + Math.abs(v), 0));
  const outgoing = lazy(() => outgoingSums(view));
  const summaries = [() => primary, () => bin, lazy(inL1), () => outgoing()[0], () => outgoing()[1]];
  const levels = summaries.length + fanIn;
  const value = (level: number, u: number) => (level < summaries.length ? summaries[level]()[u] : win[u * fanIn + level - summaries.length]);
  const winScale = lazy(() => {
    let m = 0;
    for (const v of win) m = Math.max(m, Math.abs(v));
    return m;
  });
  const scales = summaries.map((s) => lazy(() => s().reduce((m, v) => Math.max(m, Math.abs(v)), 0)));
  const tolerance = (level: number) => TIE_TOLERANCE * (level < summaries.length ? scales[level]() : winScale());

  const order = (members: number[], level: number): number[] => {
    if (members.length < 2 || level >= levels) return members;
    const sorted = members.slice().sort((p, q) => value(level, q) - value(level, p) || p - q);
    const tol = tolerance(level);
    const out: number[] = [];
    let start = 0;
    for (let i = 1; i <= sorted.length; i++) {
      if (i === sorted.length || value(level, sorted[i - 1]) - value(level, sorted[i]) > tol) {
        out.push(...order(sorted.slice(start, i), level + 1));
        start = i;
      }
    }
    return out;
  };
  const size = units / blocks;
  return Int32Array.from(Array.from({ length: blocks }, (_, k) => order(Array.from({ length: size }, (_, u) => k * size + u), 0)).flat());
}

/** `make()` on the first call, then its value. */
function lazy<T>(make: () => T): () => T {
  let value: { v: T } | undefined;
  return () => (value ??= { v: make() }).v;
}

/**
 * Each unit's outgoing L1 norm and largest outgoing magnitude, in one pass over `wout` in
 * memory order (a unit's entries are strided by the unit count: read per unit, each pass
 * missed the cache on every entry). Each unit's sum runs over the same entries in the same
 * order as a per-unit loop, so the values are the same bits.
 */
function outgoingSums(view: LayerWeights): [Float64Array, Float64Array] {
  const { wout, units, outRows, block } = view;
  const l1 = new Float64Array(units);
  const max = new Float64Array(units);
  for (let o = 0; o < outRows; o++) {
    for (let u = 0; u < units; u++) {
      const at = (o * units + u) * block;
      for (let k = 0; k < block; k++) {
        const v = Math.abs(wout[at + k]);
        l1[u] += v;
        max[u] = Math.max(max[u], v);
      }
    }
  }
  return [l1, max];
}
