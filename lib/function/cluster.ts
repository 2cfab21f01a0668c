/**
 * Uncertainty for token-level numbers: tokens of one sequence are not independent, so the
 * standard error and the bootstrap interval treat each sequence as one draw (a cluster), not
 * each token. A token-weighted mean is a ratio estimator over sequences, ΣS_s / ΣN_s (S_s the
 * sum of a sequence's token values, N_s its token count):
 *
 * - cluster-robust standard error (the linearized ratio estimator):
 *     se² = G/(G−1) · Σ_s (S_s − m·N_s)² / (Σ_s N_s)²     over the G sequences;
 * - cluster bootstrap: resample G sequences with replacement, recompute the statistic from
 *   the resampled per-sequence sums; the interval is the 2.5th and 97.5th percentiles.
 *
 * With one token per sequence both reduce to the usual i.i.d. formulas.
 */
import { quantileSorted } from '../stats/describe';
import { createRng } from '../util/rng';

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
 * Percentile 95% interval of `stat(sums, count)` over `replicates` cluster-bootstrap
 * resamples of the sequences (seeded: same seed, same interval). `stat` gets the resampled
 * sums of every series and the resampled token count; replicates where it is NaN (e.g. no
 * token drawn) are left out. [NaN, NaN] with 0 replicates or fewer than 2 non-empty sequences.
 */
export function clusterBootstrapCI(
  c: ClusterSums,
  stat: (sums: Float64Array, count: number) => number,
  replicates: number,
  seed: number,
): [number, number] {
  const used: number[] = [];
  for (let g = 0; g < c.counts.length; g++) if (c.counts[g] > 0) used.push(g);
  const G = used.length;
  if (replicates === 0 || G < 2) return [NaN, NaN];
  const rng = createRng(seed);
  const k = c.sums.length;
  const acc = new Float64Array(k);
  const values = new Float64Array(replicates);
  let m = 0;
  for (let r = 0; r < replicates; r++) {
    acc.fill(0);
    let count = 0;
    for (let i = 0; i < G; i++) {
      const g = used[rng.int(G)];
      count += c.counts[g];
      for (let j = 0; j < k; j++) acc[j] += c.sums[j][g];
    }
    const v = stat(acc, count);
    if (!Number.isNaN(v)) values[m++] = v;
  }
  if (m === 0) return [NaN, NaN];
  const sorted = values.subarray(0, m).sort();
  return [quantileSorted(sorted, 0.025), quantileSorted(sorted, 0.975)];
}
