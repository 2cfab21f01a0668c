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
import { type LayerWeights, type SortKey, sortKeys } from './kernels';

/** Relative tolerance of a tie: a few float32 roundings accumulated through normalization. */
export const TIE_TOLERANCE = 1e-6;

/**
 * `blocks` > 1: the units are that many equal contiguous blocks (a grouped convolution's
 * groups, see unit-blocks.ts) and each is ordered within itself, the blocks staying in place.
 */
export function canonicalOrder(view: LayerWeights, key: SortKey = 'out-norm', blocks = 1): Int32Array {
  const { win, bin, wout, units, fanIn, outRows, block } = view;
  const primary = sortKeys(view, key);
  const outgoing = (u: number, f: (acc: number, v: number) => number) => {
    let acc = 0;
    for (let o = 0; o < outRows; o++) for (let k = 0; k < block; k++) acc = f(acc, Math.abs(wout[(o * units + u) * block + k]));
    return acc;
  };
  const inL1 = Float64Array.from({ length: units }, (_, u) => win.subarray(u * fanIn, (u + 1) * fanIn).reduce((s, v) => s + Math.abs(v), 0));
  const outL1 = Float64Array.from({ length: units }, (_, u) => outgoing(u, (s, v) => s + v));
  const outMax = Float64Array.from({ length: units }, (_, u) => outgoing(u, Math.max));
  const summaries = [primary, bin, inL1, outL1, outMax];
  const levels = summaries.length + fanIn;
  const value = (level: number, u: number) => (level < summaries.length ? summaries[level][u] : win[u * fanIn + level - summaries.length]);
  let winScale = 0;
  for (const v of win) winScale = Math.max(winScale, Math.abs(v));
  const scales = summaries.map((s) => s.reduce((m, v) => Math.max(m, Math.abs(v)), 0));
  const tolerance = (level: number) => TIE_TOLERANCE * (level < summaries.length ? scales[level] : winScale);

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
