/**
 * Seeded percentile bootstrap of the mean. All statistics are resampled with
 * the same sample indices (a paired bootstrap): one draw of n indices per
 * replicate serves every metric, which is both consistent across metrics and
 * m times cheaper than drawing per metric. Same seed → same intervals.
 */
import { ModeldiffError } from '../errors';
import { createRng } from '../util/rng';
import { quantileSorted } from './describe';

export interface BootstrapOptions {
  /** Number of bootstrap replicates (default 1000). 0 disables: intervals are [NaN, NaN]. */
  replicates?: number;
  seed?: number; // default 0
  /** Confidence level (default 0.95). */
  level?: number;
}

/**
 * Percentile confidence intervals for the mean of each series (all of length n).
 * Returns one [lo, hi] per series, in input order.
 */
export function bootstrapMeanCI(series: ArrayLike<number>[], options: BootstrapOptions = {}): Array<[number, number]> {
  const B = options.replicates ?? 1000;
  const level = options.level ?? 0.95;
  if (!Number.isInteger(B) || B < 0) throw new ModeldiffError('INVALID_ARGUMENT', `bootstrap replicates must be a non-negative integer, got ${B}`);
  if (!(level > 0 && level < 1)) throw new ModeldiffError('INVALID_ARGUMENT', `confidence level must be in (0, 1), got ${level}`);
  const m = series.length;
  if (m === 0) return [];
  const n = series[0].length;
  for (const s of series) {
    if (s.length !== n) throw new ModeldiffError('SHAPE_MISMATCH', `bootstrap series lengths differ (${n} vs ${s.length})`);
  }
  if (B === 0 || n === 0) return series.map(() => [NaN, NaN]);
  const rng = createRng(options.seed ?? 0);
  const means = series.map(() => new Float64Array(B));
  const sums = new Float64Array(m);
  for (let b = 0; b < B; b++) {
    sums.fill(0);
    for (let i = 0; i < n; i++) {
      const j = rng.int(n);
      for (let s = 0; s < m; s++) sums[s] += series[s][j];
    }
    for (let s = 0; s < m; s++) means[s][b] = sums[s] / n;
  }
  const alpha = (1 - level) / 2;
  return means.map((mm) => {
    mm.sort();
    return [quantileSorted(mm, alpha), quantileSorted(mm, 1 - alpha)];
  });
}
