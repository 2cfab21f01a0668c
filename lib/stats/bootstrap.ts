/**
 * Seeded percentile bootstrap of the mean. All statistics are resampled with
 * the same sample indices (a paired bootstrap): one draw of n indices per
 * replicate serves every metric, which is both consistent across metrics and
 * m times cheaper than drawing per metric. Same seed → same intervals, on any
 * number of threads.
 *
 * The resampling (B·n random draws, B = 1000 by default) is the hot loop of
 * `compare` after inference, so it runs in the C++ addon (src/bootstrap.cpp:
 * xoshiro256** per replicate, unbiased Lemire index mapping, all cores); the
 * percentiles are taken here.
 */
import { ModeldiffError } from '../errors';
import { native } from '../native';
import { quantileSorted } from './describe';

/** The most replicates the kernel takes (binding/bootstrap.cpp); far beyond any useful interval. */
export const MAX_REPLICATES = 100_000_000;

export interface BootstrapOptions {
  /** Number of bootstrap replicates (default 1000). 0 disables: intervals are [NaN, NaN]. */
  replicates?: number;
  /** Non-negative integer seed (default 0). */
  seed?: number;
  /** Confidence level (default 0.95). */
  level?: number;
  /** Threads for the resampling (default: all cores); results do not depend on it. */
  threads?: number;
}

interface Prepared {
  rows: Float64Array;
  n: number;
  m: number;
  B: number;
  seed: number;
  threads: number;
  alpha: number;
}

function prepare(series: ArrayLike<number>[], options: BootstrapOptions): Prepared | Array<[number, number]> {
  const B = options.replicates ?? 1000;
  const level = options.level ?? 0.95;
  const seed = options.seed ?? 0;
  if (!Number.isInteger(B) || B < 0 || B > MAX_REPLICATES) {
    throw new ModeldiffError('INVALID_ARGUMENT', `bootstrap replicates must be an integer in [0, ${MAX_REPLICATES}], got ${B}`);
  }
  if (!Number.isSafeInteger(seed) || seed < 0) throw new ModeldiffError('INVALID_ARGUMENT', `bootstrap seed must be a non-negative integer, got ${seed}`);
  if (!(level > 0 && level < 1)) throw new ModeldiffError('INVALID_ARGUMENT', `confidence level must be in (0, 1), got ${level}`);
  const threads = options.threads ?? 0;
  if (!Number.isInteger(threads) || threads < 0) throw new ModeldiffError('INVALID_ARGUMENT', `threads must be an integer >= 1 (or 0 = all cores), got ${String(threads)}`);
  const m = series.length;
  if (m === 0) return [];
  const n = series[0].length;
  series.forEach((s, i) => {
    if (s.length !== n) throw new ModeldiffError('SHAPE_MISMATCH', `bootstrap series lengths differ (${n} vs ${s.length})`);
    for (let j = 0; j < n; j++) {
      if (Number.isNaN(s[j])) throw new ModeldiffError('NON_FINITE', `bootstrap series ${i}, value ${j}: NaN (an interval from it would be meaningless)`);
    }
  });
  if (B === 0 || n === 0) return series.map(() => [NaN, NaN]);
  // Interleave: rows[j·m + s] = series[s][j], so each draw reads one contiguous row.
  const rows = new Float64Array(n * m);
  for (let s = 0; s < m; s++) {
    const x = series[s];
    for (let j = 0; j < n; j++) rows[j * m + s] = x[j];
  }
  // More threads than the binding takes are capped, as the divergence kernels cap theirs at the hardware's.
  return { rows, n, m, B, seed, threads: Math.min(threads, 4096), alpha: (1 - level) / 2 };
}

function intervals(means: Float64Array, p: Prepared): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let s = 0; s < p.m; s++) {
    const mm = means.subarray(s * p.B, (s + 1) * p.B).sort();
    out.push([quantileSorted(mm, p.alpha), quantileSorted(mm, 1 - p.alpha)]);
  }
  return out;
}

/**
 * Percentile confidence intervals for the mean of each series (all of length n),
 * one [lo, hi] per series, in input order. Runs on the calling thread.
 */
export function bootstrapMeanCI(series: ArrayLike<number>[], options: BootstrapOptions = {}): Array<[number, number]> {
  const p = prepare(series, options);
  if (Array.isArray(p)) return p;
  return intervals(native.bootstrapResampleMeans(p.rows, p.n, p.m, p.B, p.seed, p.threads, false), p);
}

/** {@link bootstrapMeanCI} with the resampling on a worker thread (same numbers). */
export async function bootstrapMeanCIAsync(series: ArrayLike<number>[], options: BootstrapOptions = {}): Promise<Array<[number, number]>> {
  const p = prepare(series, options);
  if (Array.isArray(p)) return p;
  return intervals(await native.bootstrapResampleMeans(p.rows, p.n, p.m, p.B, p.seed, p.threads, true), p);
}
