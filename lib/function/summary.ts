/**
 * A functional distance over a probe set is the mean of its per-sample values, reported with
 * its standard error, a seeded percentile-bootstrap 95% interval, the median, the max and the
 * number of samples a chosen precision would need. This module turns per-sample values (one
 * Float64Array of length n per measure) into those summaries, for `compare` and `divergence`.
 */
import { check } from '../errors';
import { checkPrecision, describe, samplesNeeded, type SamplesNeeded } from '../stats';
import { type BootstrapOptions, bootstrapMean, type IntervalMethod, MAX_REPLICATES } from '../stats/bootstrap';
import { infiniteMeasureHint } from './divergence';

/** How a measure's per-sample values are summarized over the probe set. */
export interface MetricSummary {
  /** Mean of the per-sample values (float64); +Infinity if any value is. */
  mean: number;
  /** Standard error of the mean: sample sd (n − 1) / √n. */
  stderr: number;
  /** 95% interval of the mean (seeded percentile bootstrap, or normal-theory: see {@link IntervalSummary}); [NaN, NaN] with 0 replicates. */
  ci95: [number, number];
  median: number;
  /** Largest per-sample value. */
  max: number;
  /** Samples needed for a 95% interval of the given half-width (normal approximation). */
  samplesNeeded: SamplesNeeded;
}

/**
 * Checks the summary options `compare` and `divergence` share (INVALID_ARGUMENT naming the
 * option) and fills in their defaults: 1000 bootstrap replicates, seed 0.
 */
export function checkSummaryOptions(o: { bootstrap?: number; seed?: number; precision?: number }): { replicates: number; seed: number } {
  const replicates = o.bootstrap ?? 1000;
  const seed = o.seed ?? 0;
  check(Number.isSafeInteger(seed) && seed >= 0, 'INVALID_ARGUMENT', `seed must be a non-negative integer, got ${String(seed)}`);
  check(
    Number.isInteger(replicates) && replicates >= 0 && replicates <= MAX_REPLICATES,
    'INVALID_ARGUMENT',
    `bootstrap must be an integer in [0, ${MAX_REPLICATES}], got ${String(replicates)}`,
  );
  checkPrecision(o.precision);
  return { replicates, seed };
}

/** How every ci95 of a summary was computed (lib/stats/bootstrap.ts). */
export interface IntervalSummary {
  replicates: number;
  seed: number;
  /** 'percentile' bootstrap, its endpoints in closed form ('cornish-fisher'), 'normal'-theory interval, or 'none' (0 replicates, or fewer than 2 samples). */
  method: IntervalMethod;
  /** The rule that chose the method, in words. */
  rule: string;
  /** Clusters resampled, when the samples were grouped into clusters (e.g. sequences). */
  clusters?: number;
}

/** Options of {@link summarizeMeasures}. */
export interface SummaryOptions {
  /** Bootstrap replicates for the 95% interval (default 1000; 0 = none: ci95 is [NaN, NaN]). */
  replicates?: number;
  /** Bootstrap seed (default 0). */
  seed?: number;
  /** Threads for the bootstrap resampling (default: all cores); results do not depend on it. */
  threads?: number;
  /** Target ci95 half-width for the samples-needed estimate (default: 10% of each mean). */
  precision?: number;
  /** Per-sample cluster id (e.g. the sequence of each token): the bootstrap resamples whole clusters. */
  clusters?: ArrayLike<number>;
  /** 'auto' (default), or force 'percentile', 'cornish-fisher' or 'normal' (lib/stats/bootstrap.ts). */
  method?: BootstrapOptions['method'];
  /** Bootstrap progress: replicates done of the total. */
  onProgress?: (done: number, total: number) => void;
}

/**
 * Summarize each measure's per-sample values, in the order given. All measures share one
 * paired bootstrap (the same resampled indices for every measure), or the normal-theory
 * interval where lib/stats/bootstrap.ts's rule says the two agree; `bootstrap` says which. `hints` has one line per
 * measure whose mean is infinite (e.g. KL with a zero probability), saying how to get a
 * finite number.
 */
export async function summarizeMeasures<M extends string>(
  perSample: Readonly<Record<M, Float64Array>>,
  measures: readonly M[],
  options: SummaryOptions = {},
): Promise<{ metrics: Partial<Record<M, MetricSummary>>; hints: string[]; bootstrap: IntervalSummary }> {
  const replicates = options.replicates ?? 1000;
  const seed = options.seed ?? 0;
  const boot = await bootstrapMean(
    measures.map((m) => perSample[m]),
    { replicates, seed, threads: options.threads, clusters: options.clusters, method: options.method, onProgress: options.onProgress },
  );
  const cis = boot.intervals;
  const metrics: Partial<Record<M, MetricSummary>> = {};
  const hints: string[] = [];
  for (let i = 0; i < measures.length; i++) {
    const m = measures[i];
    const values = perSample[m];
    // describe() runs on the calling thread (~80 ms per measure at 10^6 samples): yield to the
    // event loop between measures so a service is not blocked for all of them at once.
    if (i > 0 && values.length >= 1 << 16) await new Promise<void>((resolve) => setImmediate(resolve));
    const d = describe(values, m);
    // One sample has no spread to estimate: its sd of 0 would claim an exact mean (a zero-width
    // interval, "1 sample needed"). Not available instead, with a hint saying why.
    const single = values.length < 2;
    const need = samplesNeeded(d.sd, d.mean, options.precision);
    metrics[m] = {
      mean: d.mean,
      stderr: single ? NaN : d.stderr,
      ci95: single ? [NaN, NaN] : cis[i]!,
      median: d.median,
      max: d.max,
      samplesNeeded: single ? { halfWidth: need.halfWidth, n: NaN } : need,
    };
    if (single && i === 0) hints.push('one sample: no standard error, interval or samples-needed estimate (they need at least 2 samples)');
    if (d.mean === Infinity) {
      let inf = 0;
      for (const v of values) if (v === Infinity) inf++;
      hints.push(infiniteMeasureHint(m, inf, values.length));
    }
  }
  const bootstrap: IntervalSummary = { replicates, seed, method: boot.method, rule: boot.rule };
  if (options.clusters !== undefined) bootstrap.clusters = boot.units;
  return { metrics, hints, bootstrap };
}
