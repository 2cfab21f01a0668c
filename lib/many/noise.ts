/**
 * The default "same solution" threshold, from the probe set's own noise.
 *
 * A functional distance is a mean over a finite probe set, so it is only
 * known to within its sampling error. We bootstrap that error (seeded
 * percentile bootstrap, the same resampled probe indices for every pair) and
 * define
 *
 *   threshold = max over pairs of the 95% bootstrap CI half-width
 *               of the pair's mean distance,
 *
 * i.e. the precision with which this probe set measures distances between
 * these models. Two models closer than that are within measurement error of
 * each other: this probe set cannot tell their distance apart from zero any
 * better than it can pin down the distances it does measure. A bigger probe
 * set shrinks every half-width (as 1/√n) and so separates finer solutions.
 * With many models, a seeded sample of pairs stands in for all of them.
 * The threshold never goes below FLOAT_FLOOR (1e-6 in the measure's units):
 * models computing the same function through different weights (permuted,
 * rescaled) differ by float32 rounding only, and that is not a different
 * solution even when the probe set's noise is smaller still.
 */
import { check } from '../errors';
import { clusterBootstrapCI, clusterSums } from '../function/cluster';
import { bootstrapMeanCISync } from '../stats';
import { createRng } from '../util/rng';

/** Distances below this are float32 rounding, not a different function. */
export const FLOAT_FLOOR = 1e-6;

export const THRESHOLD_DEFINITION =
  'Default threshold = the largest 95% bootstrap confidence-interval half-width of any pair\'s mean output distance (the precision with which this probe set measures distances between these models), and at least 1e-6 (float32 rounding); models closer than that are within the probe set\'s sampling noise of each other.';

export interface NoiseOptions {
  /** Bootstrap replicates (default 200). */
  replicates?: number;
  seed?: number;
}

export interface NoiseResult {
  threshold: number;
  /** 95% percentile interval of each series' mean, in input order. */
  intervals: Array<[number, number]>;
}

/**
 * Threshold from the per-sample distances of some pairs (one Float64Array of length n per pair).
 * With `clusters` (each row's sequence, for sequence outputs) whole sequences are resampled.
 */
export function noiseThreshold(perSample: ArrayLike<number>[], options: NoiseOptions & { clusters?: Int32Array; sequences?: number } = {}): NoiseResult {
  check(perSample.length > 0, 'INVALID_ARGUMENT', 'noise threshold needs the per-sample distances of at least one pair');
  const replicates = options.replicates ?? 200;
  const seed = options.seed ?? 0;
  const { clusters, sequences } = options;
  const intervals = clusters
    ? perSample.map((v) => clusterBootstrapCI(clusterSums([v], clusters, v.length, sequences!), (m) => m[0], replicates, seed))
    : bootstrapMeanCISync(perSample, { replicates, seed });
  let threshold = FLOAT_FLOOR;
  for (const [lo, hi] of intervals) {
    const half = (hi - lo) / 2;
    // An infinite mean (KL with a zero) has no usable half-width; skip it.
    if (Number.isFinite(half) && half > threshold) threshold = half;
  }
  return { threshold, intervals };
}

/**
 * Which pairs (i < j) to bootstrap: all when there are at most `maxPairs`,
 * else a seeded sample of `maxPairs` of them, returned in (i, j) order.
 */
export function samplePairs(n: number, maxPairs: number, seed: number): Array<[number, number]> {
  const all: Array<[number, number]> = [];
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) all.push([i, j]);
  if (all.length <= maxPairs) return all;
  const picked = createRng(seed).shuffle(all.map((_, k) => k)).slice(0, maxPairs).sort((a, b) => a - b);
  return picked.map((k) => all[k]);
}
