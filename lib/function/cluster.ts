/**
 * Uncertainty for token-level numbers: tokens of one sequence are not independent, so the
 * standard error and the bootstrap interval treat each sequence as one draw (a cluster), not
 * each token. A token-weighted mean is a ratio estimator over sequences, ΣS_s / ΣN_s (S_s the
 * sum of a sequence's token values, N_s its token count):
 *
 * - cluster-robust standard error (the linearized ratio estimator):
 *     se² = G/(G−1) · Σ_s (S_s − m·N_s)² / (Σ_s N_s)²     over the G sequences;
 * - cluster bootstrap: resample G sequences with replacement, recompute the statistic from
 *   the resampled per-sequence sums (a multinomial weight per sequence and replicate, applied
 *   to every series at once in C++); the interval is the 2.5th and 97.5th percentiles.
 *
 * With one token per sequence both reduce to the usual i.i.d. formulas.
 */
import { bootstrapRatioReplicatesSync } from '../stats/bootstrap';
import { quantileSorted } from '../stats/describe';

/** Per-sequence sums of some per-token series, and the tokens each sum covers. */
export interface ClusterSums {
  /** One Float64Array of length G (sequences) per series. */
  sums: Float64Array[];
  /** Tokens per sequence (length G). */
  counts: Float64Array;
}

/** Sums of each series' token values per sequence; `seq` gives each token's sequence in [0, G). */
export function clusterSums(series: ArrayLike<number>[], seq: Int32Array, tokens: number, groups: number, keep?: Uint8Array): ClusterSums {
  const sums = series.map(() => new Float64Array(groups));
  const counts = new Float64Array(groups);
  for (let i = 0; i < tokens; i++) {
    if (keep && !keep[i]) continue;
    const g = seq[i];
    counts[g] += 1;
    for (let j = 0; j < series.length; j++) sums[j][g] += series[j][i];
  }
  return { sums, counts };
}

/** Cluster-robust standard error of the token-weighted mean of series `j` (NaN with fewer than 2 non-empty sequences). */
export function clusterStderr(c: ClusterSums, j = 0): number {
  let total = 0;
  let count = 0;
  let groups = 0;
  for (let g = 0; g < c.counts.length; g++) {
    if (c.counts[g] === 0) continue;
    total += c.sums[j][g];
    count += c.counts[g];
    groups++;
  }
  if (groups < 2) return NaN;
  const m = total / count;
  if (!Number.isFinite(m)) return m;
  let ss = 0;
  for (let g = 0; g < c.counts.length; g++) {
    if (c.counts[g] === 0) continue;
    const d = c.sums[j][g] - m * c.counts[g];
    ss += d * d;
  }
  return Math.sqrt((groups / (groups - 1)) * ss) / count;
}

/**
 * The cluster bootstrap's replicates: resample the G non-empty sequences with replacement
 * (seeded: same seed, same replicates) and take each series' token-weighted mean, Σ resampled
 * sums / Σ resampled token counts. One Float64Array of `replicates` values per series; empty
 * arrays with 0 replicates or fewer than 2 non-empty sequences. The resampling works on the G
 * per-sequence sums, never on tokens: one multinomial count vector per replicate weighs every
 * series at once, in the C++ bootstrap kernel (src/bootstrap.cpp).
 */
export function clusterBootstrapReplicates(c: ClusterSums, replicates: number, seed: number): Float64Array[] {
  const used: number[] = [];
  for (let g = 0; g < c.counts.length; g++) if (c.counts[g] > 0) used.push(g);
  if (replicates === 0 || used.length < 2) return c.sums.map(() => new Float64Array(0));
  const pick = (x: Float64Array) => (used.length === x.length ? x : Float64Array.from(used, (g) => x[g]));
  return bootstrapRatioReplicatesSync(c.sums.map(pick), pick(c.counts), { replicates, seed });
}

/**
 * Percentile 95% intervals of statistics of the series' token-weighted means, all from the same
 * cluster-bootstrap replicates ({@link clusterBootstrapReplicates}): `stat` gets one replicate's
 * mean of every series. Replicates where a statistic is NaN are left out of its interval;
 * [NaN, NaN] with 0 replicates, fewer than 2 non-empty sequences or no value.
 */
export function clusterBootstrapCIs(
  c: ClusterSums,
  stats: Array<(means: Float64Array) => number>,
  replicates: number,
  seed: number,
): Array<[number, number]> {
  const reps = clusterBootstrapReplicates(c, replicates, seed);
  const B = reps.length > 0 ? reps[0].length : 0;
  const means = new Float64Array(reps.length);
  const values = new Float64Array(B);
  return stats.map((stat): [number, number] => {
    let m = 0;
    for (let r = 0; r < B; r++) {
      for (let j = 0; j < reps.length; j++) means[j] = reps[j][r];
      const v = stat(means);
      if (!Number.isNaN(v)) values[m++] = v;
    }
    if (m === 0) return [NaN, NaN];
    const sorted = values.slice(0, m).sort();
    return [quantileSorted(sorted, 0.025), quantileSorted(sorted, 0.975)];
  });
}

/** {@link clusterBootstrapCIs} for one statistic. */
export function clusterBootstrapCI(c: ClusterSums, stat: (means: Float64Array) => number, replicates: number, seed: number): [number, number] {
  return clusterBootstrapCIs(c, [stat], replicates, seed)[0];
}
