/**
 * Confidence intervals for the mean of per-sample values: a seeded percentile bootstrap, or
 * above a sample size where the two agree, the normal-theory interval (mean ± z·se).
 *
 * Percentile: all statistics are resampled with the same draws (a paired bootstrap), so
 * intervals are consistent across measures. The resampling runs in the C++ addon
 * (src/bootstrap.cpp), cache-blocked: each replicate is an exact multinomial draw of the G units,
 * split over blocks of 4096 units by binomial counts and drawn inside each block, so every
 * block of the columns is read once for a whole batch of replicates (not once per replicate);
 * the columns are read in place. Replicate r has its own stream seeded from (seed, r), so the
 * numbers depend neither on the thread count nor on the chunks the progress callback is
 * reported between.
 *
 * Clusters (e.g. the tokens of one sequence): with a per-row cluster id, a replicate draws
 * whole clusters and its statistic is the token-weighted mean Σ values / Σ tokens over the
 * drawn clusters (a ratio of sums); the normal-theory interval then uses the cluster-robust
 * standard error of that ratio (its linearization: se² = G/(G−1) · Σ_c (Y_c − R·N_c)² / N²,
 * Y_c and N_c the cluster's sum and size, R = Σ Y / N). Without clusters each row is its own
 * cluster and se is the usual sd/√n.
 *
 * The switch ('auto'): above a sample size the percentile bootstrap's endpoints are known in
 * closed form, and 'auto' computes them instead of drawing replicates. For the mean of G units
 * the resampled mean's quantiles follow the Cornish–Fisher expansion of its (Edgeworth)
 * distribution, q_α = x̄ + σ̂/√G·(z + γ(z² − 1)/(6√G) + [κ(z³ − 3z)/24 − γ²(2z³ − 5z)/36]/G + …)
 * (σ̂² the plug-in variance the bootstrap resamples, γ its skewness, κ its excess kurtosis;
 * Hall, The Bootstrap and Edgeworth Expansion, 1992). The closed form keeps the
 * first two terms; for the ratio of clusters the values are linearized (d = (Y − R·N)/N̄,
 * e = N/N̄ − 1) and the ratio's curvature adds −ρz² to the G^(−1/2) term (ρ = E[d·e]/sd(d);
 * the bias and skewness of Σd*·(1 − Σe*)). 'auto' uses it when there are at least
 * {@link CLOSED_FORM_MIN_UNITS} units and, for every statistic, the next (G^(−1)) terms, estimated
 * from the sample's moments, are below {@link CLOSED_FORM_MAX_ERROR} of the half-width: then the
 * closed form is nearer the exact (infinite-B) percentile interval than 1000 Monte Carlo
 * replicates are (their endpoints' own error is about 4% of the half-width), and when the units
 * of at most a quarter of the largest |d| spread the resampled sum by at least that largest
 * step ({@link UnitMoments.smoothing} ≥ 1: a few equal outliers would make the resampled
 * distribution a lattice of bumps, which no expansion follows). Otherwise (a few extreme values
 * carry the tail) it runs the percentile bootstrap. An expansion's remainder is estimated by its next terms, not bounded by them;
 * test/bootstrap-closed-form.test.ts checks the endpoints against the exact bootstrap on
 * heavy-tailed data.
 */
import { ModeldiffError } from '../errors';
import { callNative, callNativeSync, checkKernelOptions } from '../native/call';
import { quantileSorted } from './describe';

/** The most replicates the kernel takes (binding/bootstrap.cpp); far beyond any useful interval. */
export const MAX_REPLICATES = 100_000_000;
/** 'auto' considers the closed-form percentile interval from this many resampled units (rows or clusters) up. */
export const CLOSED_FORM_MIN_UNITS = 100_000;
/** ... when the expansion's next terms are below this fraction of the half-width for every statistic. */
export const CLOSED_FORM_MAX_ERROR = 0.01;

/**
 * How an interval was computed: the Monte Carlo 'percentile' bootstrap, its endpoints in closed
 * form ('cornish-fisher'), 'normal'-theory (mean ± z·se), or 'none' when no interval was asked
 * for (0 replicates) or possible (no samples).
 */
export type IntervalMethod = 'percentile' | 'cornish-fisher' | 'normal' | 'none';

export interface BootstrapOptions {
  /** Number of bootstrap replicates (default 1000). 0 disables: intervals are [NaN, NaN]. */
  replicates?: number;
  /** Non-negative integer seed (default 0). */
  seed?: number;
  /** Confidence level (default 0.95). */
  level?: number;
  /** Threads for the resampling (default: all cores); results do not depend on it. */
  threads?: number;
  /**
   * Per-row cluster id (non-negative integers, e.g. the sequence each token belongs to): whole
   * clusters are resampled and the statistic is the token-weighted mean. Default: each row is
   * its own cluster.
   */
  clusters?: ArrayLike<number>;
  /** 'auto' (default): the closed-form percentile interval where the rule allows, else the percentile bootstrap; or force one. */
  method?: 'auto' | 'percentile' | 'cornish-fisher' | 'normal';
  /** Called with (replicates done, replicates) while the percentile bootstrap runs. */
  onProgress?: (done: number, total: number) => void;
}

/** Intervals with how they were made. */
export interface BootstrapResult {
  /** One [lo, hi] per series, in input order. */
  intervals: Array<[number, number]>;
  method: IntervalMethod;
  /** The rule that chose the method, in words (for a report). */
  rule: string;
  /** Units resampled: rows, or clusters when clusters were given. */
  units: number;
}

/**
 * Below this many draws (replicates × units; ~5 ms of kernel time) the bootstrap runs in one call
 * on one thread: each async chunk is a worker hop and each thread a start and a join, and 20
 * chunks on two threads cost more than the resampling itself.
 */
const CHUNKED_DRAWS = 1 << 21;

const METHODS = ['auto', 'percentile', 'cornish-fisher', 'normal'];

/** The rule 'auto' applies, as reports state it. */
export const AUTO_RULE =
  `Cornish-Fisher closed form if >= ${CLOSED_FORM_MIN_UNITS} units, its next terms < ${CLOSED_FORM_MAX_ERROR * 100}% of each half-width ` +
  `and no few values dominate; else percentile bootstrap`;

interface Prepared {
  numerators: Float64Array[];
  denominators: Float64Array | null;
  units: number;
  B: number;
  seed: number;
  threads: number;
  alpha: number;
  method: NonNullable<BootstrapOptions['method']>;
}

function checkOptions(options: BootstrapOptions) {
  const B = options.replicates ?? 1000;
  const level = options.level ?? 0.95;
  const seed = options.seed ?? 0;
  if (!Number.isInteger(B) || B < 0 || B > MAX_REPLICATES) {
    throw new ModeldiffError('INVALID_ARGUMENT', `bootstrap replicates must be an integer in [0, ${MAX_REPLICATES}], got ${B}`, { option: 'replicates' });
  }
  if (!Number.isSafeInteger(seed) || seed < 0) throw new ModeldiffError('INVALID_ARGUMENT', `bootstrap seed must be a non-negative integer, got ${seed}`, { option: 'seed' });
  if (!(level > 0 && level < 1)) throw new ModeldiffError('INVALID_ARGUMENT', `confidence level must be in (0, 1), got ${level}`, { option: 'level' });
  // The kernels' one threads rule (an integer >= 1; omitted = all cores); 0 is the binding's
  // "all cores", never a user's value.
  checkKernelOptions({ threads: options.threads });
  const threads = options.threads ?? 0;
  const method = options.method ?? 'auto';
  if (!METHODS.includes(method)) throw new ModeldiffError('INVALID_ARGUMENT', `bootstrap method must be one of ${METHODS.join(', ')}, got ${String(method)}`, { option: 'method' });
  // More threads than the binding takes are capped, as the divergence kernels cap theirs at the hardware's.
  return { B, seed, alpha: (1 - level) / 2, threads: Math.min(threads, 4096), method };
}

/**
 * Each row's dense unit index (distinct cluster ids numbered in order of first appearance),
 * through an array when the ids are compact (the usual 0..G−1) and a Map otherwise.
 */
function clusterUnits(ids: ArrayLike<number>, n: number): { unitOf: Int32Array; units: number } {
  if (ids.length !== n) throw new ModeldiffError('SHAPE_MISMATCH', `bootstrap clusters has ${ids.length} ids for ${n} samples (one id per sample)`, { option: 'clusters' });
  let max = -1;
  for (let j = 0; j < n; j++) {
    const id = ids[j];
    if (!(Number.isSafeInteger(id) && id >= 0)) {
      throw new ModeldiffError('INVALID_ARGUMENT', `bootstrap clusters, sample ${j}: cluster ids must be non-negative integers, got ${String(id)}`, { option: 'clusters' });
    }
    if (id > max) max = id;
  }
  let units = 0;
  const unitOf = new Int32Array(n);
  if (max < 4 * n + 1024) {
    const dense = new Int32Array(max + 1).fill(-1);
    for (let j = 0; j < n; j++) {
      if (dense[ids[j]] < 0) dense[ids[j]] = units++;
      unitOf[j] = dense[ids[j]];
    }
    return { unitOf, units };
  }
  const map = new Map<number, number>();
  for (let j = 0; j < n; j++) {
    let u = map.get(ids[j]);
    if (u === undefined) map.set(ids[j], (u = units++));
    unitOf[j] = u;
  }
  return { unitOf, units };
}

function prepare(series: ArrayLike<number>[], options: BootstrapOptions): Prepared | BootstrapResult {
  const { B, seed, alpha, threads, method } = checkOptions(options);
  const m = series.length;
  const n = m === 0 ? 0 : series[0].length;
  series.forEach((s, i) => {
    if (s.length !== n) throw new ModeldiffError('SHAPE_MISMATCH', `bootstrap series lengths differ (${n} vs ${s.length})`);
    for (let j = 0; j < n; j++) {
      if (Number.isNaN(s[j])) throw new ModeldiffError('NON_FINITE', `bootstrap series ${i}, value ${j}: NaN (an interval from it would be meaningless)`);
    }
  });
  const clusters = options.clusters !== undefined ? clusterUnits(options.clusters, n) : undefined;
  const units = clusters ? clusters.units : n;
  if (m === 0 || B === 0 || n === 0) {
    const rule = m === 0 ? 'no interval: no series' : B === 0 ? 'no interval: 0 replicates' : 'no interval: no samples';
    return { intervals: series.map(() => [NaN, NaN]), method: 'none', rule, units };
  }
  if (!clusters) {
    // The series are read in place by the kernel: only non-Float64Array input is copied.
    const numerators = series.map((s) => (s instanceof Float64Array ? s : Float64Array.from(s)));
    return { numerators, denominators: null, units, B, seed, threads, alpha, method };
  }
  // Per-cluster sums and sizes: the kernel resamples these G units (the rows are not copied).
  const { unitOf } = clusters;
  const denominators = new Float64Array(units);
  for (let j = 0; j < n; j++) denominators[unitOf[j]] += 1;
  const numerators = series.map((s) => {
    const sums = new Float64Array(units);
    for (let j = 0; j < n; j++) sums[unitOf[j]] += s[j];
    return sums;
  });
  return { numerators, denominators, units, B, seed, threads, alpha, method };
}

/**
 * Moments of one statistic's linearized unit values d = (Y − R·N)/N̄ (N̄ the mean unit size; Y
 * the unit's sum, N its size, R = ΣY/ΣN; without clusters N = 1 and d = x − x̄), and of the
 * relative sizes e = N/N̄ − 1 (0 without clusters).
 */
export interface UnitMoments {
  /** The statistic, R. */
  mean: number;
  /** Cluster-robust standard error, √(Σd²/(G(G − 1))) (sd/√n without clusters). */
  se: number;
  /** The resampled statistic's standard deviation to first order, √(Σd²)/G (plug-in: what the bootstrap resamples). */
  sd: number;
  /** Skewness of d. */
  skew: number;
  /** Excess kurtosis of d. */
  kurtosis: number;
  /** E[d·e]/sd(d): the ratio's bias and skewness from the random denominator. */
  rho: number;
  /** E[e²]: the relative variance of the unit sizes. */
  sizeVariance: number;
  /** E[d²·e]/E[d²]. */
  crossSkew: number;
  /**
   * √(Σ d² over the units with |d| ≤ max|d|/4) / max|d|: how far the many small units spread the
   * resampled sum, in steps of the largest unit. Below 1 a few large values make the resampled
   * distribution lumpy (near a lattice), where Edgeworth expansions do not hold.
   */
  smoothing: number;
}

/** {@link UnitMoments} of the units numerator / denominator (null: every unit weighs 1). */
export function ratioMoments(numerator: Float64Array, denominator: Float64Array | null): UnitMoments {
  const G = numerator.length;
  let sumY = 0;
  let sumN = G;
  for (let u = 0; u < G; u++) sumY += numerator[u];
  if (denominator) {
    sumN = 0;
    for (let u = 0; u < G; u++) sumN += denominator[u];
  }
  const R = sumY / sumN;
  const meanN = sumN / G;
  // Sums over units of powers of the unscaled values y − R·n and n − N̄ (scaled by N̄ at the end);
  // one tight loop per case, as compare runs this on millions of rows per measure.
  let m2 = 0;
  let m3 = 0;
  let m4 = 0;
  let de = 0;
  let ee = 0;
  let dde = 0;
  let largest = 0;
  if (denominator) {
    for (let u = 0; u < G; u++) {
      const d = numerator[u] - R * denominator[u];
      const e = denominator[u] - meanN;
      const d2 = d * d;
      m2 += d2;
      m3 += d2 * d;
      m4 += d2 * d2;
      de += d * e;
      ee += e * e;
      dde += d2 * e;
      if (d2 > largest) largest = d2;
    }
  } else {
    for (let u = 0; u < G; u++) {
      const d = numerator[u] - R;
      const d2 = d * d;
      m2 += d2;
      m3 += d2 * d;
      m4 += d2 * d2;
      if (d2 > largest) largest = d2;
    }
  }
  // Units with |d| at most a quarter of the largest: d² ≤ largest²/16.
  const smallBound = largest / 16;
  let small = 0;
  for (let u = 0; u < G; u++) {
    const d = numerator[u] - R * (denominator ? denominator[u] : 1);
    const d2 = d * d;
    if (d2 <= smallBound) small += d2;
  }
  const se = G > 1 ? Math.sqrt(m2 / (G * (G - 1))) / meanN : NaN;
  const sd = Math.sqrt(m2) / (G * meanN);
  [m2, m3, m4, de, ee, dde] = [m2 / G, m3 / G, m4 / G, de / G, ee / G, dde / G];
  // A constant statistic (m2 = 0) has no shape: its interval is the point itself.
  const spread = m2 > 0;
  return {
    mean: R,
    se,
    sd,
    skew: spread ? m3 / (m2 * Math.sqrt(m2)) : 0,
    kurtosis: spread ? m4 / (m2 * m2) - 3 : 0,
    rho: spread ? de / (meanN * Math.sqrt(m2)) : 0,
    sizeVariance: ee / (meanN * meanN),
    crossSkew: spread ? dde / (meanN * m2) : 0,
    smoothing: spread ? Math.sqrt(small / largest) : Infinity,
  };
}

/**
 * The percentile bootstrap's endpoint at normal quantile zq in closed form: the statistic plus
 * sd·(zq + (γ(zq² − 1)/6 − ρ·zq²)/√G), the Cornish–Fisher expansion to G^(−1/2).
 */
export function closedFormEndpoint(mo: UnitMoments, G: number, zq: number): number {
  return mo.mean + mo.sd * (zq + ((mo.skew * (zq * zq - 1)) / 6 - mo.rho * zq * zq) / Math.sqrt(G));
}

/**
 * The size of the expansion's next (G^(−1)) terms at z, as a fraction of the half-width z·sd:
 * the mean's kurtosis and squared-skewness terms, |κ(z³ − 3z)/24| + γ²|2z³ − 5z|/36, and for a
 * ratio its variance correction (1 + v/G with |v| ≤ 2|E[d²e]|/E[d²] + 3E[e²] + 6ρ²), all over G.
 */
export function closedFormError(mo: UnitMoments, G: number, z: number): number {
  const meanTerms = (Math.abs(mo.kurtosis * (z ** 3 - 3 * z)) / 24 + (mo.skew ** 2 * Math.abs(2 * z ** 3 - 5 * z)) / 36) / z;
  const ratioTerms = (2 * Math.abs(mo.crossSkew) + 3 * mo.sizeVariance + 6 * mo.rho ** 2) / 2;
  return (meanTerms + ratioTerms) / G;
}

/**
 * The standard normal quantile (Acklam's rational approximation, relative error < 1.2e-9:
 * far below any interval's precision).
 */
export function normalQuantile(p: number): number {
  const a = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239];
  const b = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
  const c = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
  const tail = (q: number) => (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  if (p < 0.02425) return tail(Math.sqrt(-2 * Math.log(p)));
  if (p > 1 - 0.02425) return -tail(Math.sqrt(-2 * Math.log(1 - p)));
  const q = p - 0.5;
  const r = q * q;
  return ((((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q) / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
}

/** The closed-form or normal intervals when the method (forced or by the rule) is one of them, else undefined. */
function closedFormIntervals(p: Prepared): BootstrapResult | undefined {
  if (p.method === 'percentile') return undefined;
  const z = normalQuantile(1 - p.alpha);
  const moments = p.numerators.map((x) => ratioMoments(x, p.denominators));
  // A non-finite mean (an infinite per-sample value) has no closed-form interval.
  const finite = (mo: UnitMoments) => Number.isFinite(mo.mean) && Number.isFinite(mo.se);
  if (p.method === 'normal') {
    const intervals = moments.map((mo): [number, number] => (finite(mo) ? [mo.mean - z * mo.se, mo.mean + z * mo.se] : [NaN, NaN]));
    return { intervals, method: 'normal', rule: 'normal-theory, as requested', units: p.units };
  }
  if (p.method === 'auto') {
    if (p.units < CLOSED_FORM_MIN_UNITS) return undefined;
    const agrees = (mo: UnitMoments) => finite(mo) && mo.smoothing >= 1 && closedFormError(mo, p.units, z) < CLOSED_FORM_MAX_ERROR;
    if (!moments.every(agrees)) return undefined;
  }
  const intervals = moments.map((mo): [number, number] =>
    finite(mo) ? [closedFormEndpoint(mo, p.units, -z), closedFormEndpoint(mo, p.units, z)] : [NaN, NaN],
  );
  return { intervals, method: 'cornish-fisher', rule: p.method === 'auto' ? AUTO_RULE : 'Cornish-Fisher closed form, as requested', units: p.units };
}

function percentileIntervals(replicateMeans: Float64Array[], p: Prepared): BootstrapResult {
  const intervals = replicateMeans.map((mm): [number, number] => {
    mm.sort();
    return [quantileSorted(mm, p.alpha), quantileSorted(mm, 1 - p.alpha)];
  });
  return { intervals, method: 'percentile', rule: p.method === 'auto' ? AUTO_RULE : 'percentile bootstrap, as requested', units: p.units };
}

/** The kernel call for replicates first .. first + count − 1 (threads 0 = all cores). */
function call(p: Prepared, first: number, count: number) {
  const { numerators, denominators, units, seed } = p;
  // A small job runs on one thread: starting and joining threads costs more than it saves
  // (and on a busy machine each join can wait a whole time slice). Results do not depend on it.
  const threads = p.B * units < CHUNKED_DRAWS ? 1 : p.threads;
  return { numerators, denominators, units, first, count, seed, threads };
}

function resampleSync(p: Prepared, first: number, count: number): Float64Array {
  return callNativeSync('bootstrap', call(p, first, count), { what: 'bootstrap' });
}

/** Splits the m×B kernel output into one array of B replicate statistics per series. */
function bySeries(out: Float64Array, m: number, B: number): Float64Array[] {
  return Array.from({ length: m }, (_, s) => out.slice(s * B, (s + 1) * B));
}

/** Replicate statistics of each series (m arrays of B), computed on the calling thread. */
export function bootstrapReplicatesSync(series: ArrayLike<number>[], options: BootstrapOptions = {}): Float64Array[] {
  const p = prepare(series, { ...options, method: 'percentile' });
  if ('intervals' in p) return series.map(() => new Float64Array(0));
  return bySeries(resampleSync(p, 0, p.B), p.numerators.length, p.B);
}

/**
 * Replicate ratio means of units summed beforehand (e.g. per-sequence sums and token counts):
 * per replicate, Σ c_u·numerators[s][u] / Σ c_u·denominators[u] with c the draw counts of the
 * units (shared by every series), or / G without denominators. One array of B per series, on
 * the calling thread. The same kernel and streams as {@link bootstrapMean}'s percentile path.
 */
export function bootstrapRatioReplicatesSync(
  numerators: Float64Array[],
  denominators: Float64Array | null,
  options: Pick<BootstrapOptions, 'replicates' | 'seed' | 'threads'> = {},
): Float64Array[] {
  const { B, seed, threads, alpha } = checkOptions(options);
  const units = numerators.length === 0 ? 0 : numerators[0].length;
  for (const x of [...numerators, ...(denominators ? [denominators] : [])]) {
    if (x.length !== units) throw new ModeldiffError('SHAPE_MISMATCH', `bootstrap unit arrays differ in length (${units} vs ${x.length})`);
  }
  if (numerators.length === 0 || B === 0 || units === 0) return numerators.map(() => new Float64Array(0));
  const p: Prepared = { numerators, denominators, units, B, seed, threads, alpha, method: 'percentile' };
  return bySeries(resampleSync(p, 0, B), numerators.length, B);
}

/** {@link bootstrapMean} on the calling thread (same numbers). */
export function bootstrapMeanSync(series: ArrayLike<number>[], options: BootstrapOptions = {}): BootstrapResult {
  const p = prepare(series, options);
  if ('intervals' in p) return p;
  const closedForm = closedFormIntervals(p);
  if (closedForm) return closedForm;
  const out = resampleSync(p, 0, p.B);
  options.onProgress?.(p.B, p.B);
  return percentileIntervals(bySeries(out, p.numerators.length, p.B), p);
}

/** Progress steps of the async bootstrap: replicates run in up to this many chunks. */
const PROGRESS_STEPS = 20;
/**
 * ... of at least this many replicates: each call copies every column once per thread into the
 * kernel's blocks, which costs as much as drawing ~10 replicates; at 200 a chunk's copy stays
 * near 5% of its work on two threads (and 1000 replicates report 5 steps).
 */
const MIN_CHUNK_REPLICATES = 200;

/**
 * Intervals for the mean of each series (all of length n), with the method and rule. The
 * resampling runs on worker threads, reporting progress between chunks of replicates.
 */
export async function bootstrapMean(series: ArrayLike<number>[], options: BootstrapOptions = {}): Promise<BootstrapResult> {
  const p = prepare(series, options);
  if ('intervals' in p) return p;
  const closedForm = closedFormIntervals(p);
  if (closedForm) return closedForm;
  const m = p.numerators.length;
  const replicateMeans = Array.from({ length: m }, () => new Float64Array(p.B));
  const step = p.B * p.units < CHUNKED_DRAWS ? p.B : Math.max(MIN_CHUNK_REPLICATES, Math.ceil(p.B / PROGRESS_STEPS));
  options.onProgress?.(0, p.B);
  for (let first = 0; first < p.B; first += step) {
    const count = Math.min(step, p.B - first);
    const out = await callNative('bootstrap', call(p, first, count), { what: 'bootstrap' });
    for (let s = 0; s < m; s++) replicateMeans[s].set(out.subarray(s * count, (s + 1) * count), first);
    options.onProgress?.(first + count, p.B);
  }
  return percentileIntervals(replicateMeans, p);
}

/** Intervals only: {@link bootstrapMean}'s, one [lo, hi] per series. */
export async function bootstrapMeanCI(series: ArrayLike<number>[], options: BootstrapOptions = {}): Promise<Array<[number, number]>> {
  return (await bootstrapMean(series, options)).intervals;
}

/** {@link bootstrapMeanCI} on the calling thread (same numbers). */
export function bootstrapMeanCISync(series: ArrayLike<number>[], options: BootstrapOptions = {}): Array<[number, number]> {
  return bootstrapMeanSync(series, options).intervals;
}
