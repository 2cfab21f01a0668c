/**
 * Descriptive statistics of per-sample values, in float64: mean, sample
 * standard deviation (n − 1), standard error sd/√n, median and max.
 * Infinite values (e.g. KL where one model gives a class zero probability)
 * propagate honestly: the mean is +Infinity and so are sd and stderr.
 */
import { ModeldiffError } from '../errors';

export function mean(x: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i];
  return s / x.length;
}

/** Sample standard deviation (Bessel-corrected); 0 for n = 1; Infinity if any value is infinite. */
export function standardDeviation(x: ArrayLike<number>, m = mean(x)): number {
  const n = x.length;
  if (n < 2) return 0;
  if (!Number.isFinite(m)) return Infinity;
  let ss = 0;
  for (let i = 0; i < n; i++) {
    const d = x[i] - m;
    ss += d * d;
  }
  return Math.sqrt(ss / (n - 1));
}

/**
 * The q-quantile (0 ≤ q ≤ 1) of already sorted values, interpolating linearly
 * between order statistics (numpy's default "linear" method, Hyndman-Fan type 7).
 */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  const h = (n - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, n - 1);
  const a = sorted[lo];
  const b = sorted[hi];
  // Exact order statistics and equal neighbours need no interpolation (and avoid 0·Infinity, Infinity − Infinity).
  if (h === lo || a === b) return a;
  return a + (h - lo) * (b - a);
}

/** The k-th smallest value (0-based) of `a`, reordering `a` in place (Hoare's quickselect, median-of-three pivot). */
export function quickselect(a: Float64Array, k: number): number {
  return quickselectFrom(a, k, 0);
}

/** {@link quickselect} of a[from..]: the k-th smallest of `a` when a[from..] holds the values above a[from − 1]'s rank. */
function quickselectFrom(a: Float64Array, k: number, from: number): number {
  let lo = from;
  let hi = a.length - 1;
  while (hi > lo) {
    const mid = (lo + hi) >>> 1;
    // Median of three as the pivot keeps sorted and reversed inputs linear.
    const x = a[lo];
    const y = a[mid];
    const z = a[hi];
    const pivot = x < y ? (y < z ? y : x < z ? z : x) : x < z ? x : y < z ? z : y;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i] < pivot) i++;
      while (a[j] > pivot) j--;
      if (i <= j) {
        const t = a[i];
        a[i] = a[j];
        a[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return a[k];
  }
  return a[k];
}

/**
 * {@link quantileSorted} of `x` at each q of `qs`, without sorting it: the order statistics the
 * quantiles read (two per q) are selected in ascending rank, each in the part above the last, on
 * a copy. Same values as sorting (numbers equal under < are the same number), except for
 * NaN or −0, which sorting orders and < does not: then the copy is sorted.
 */
export function quantiles(x: ArrayLike<number>, qs: readonly number[]): number[] {
  const a = Float64Array.from(x);
  const n = a.length;
  let exotic = false;
  for (let i = 0; i < n; i++) {
    const v = a[i];
    if (v !== v || (v === 0 && 1 / v < 0)) {
      exotic = true;
      break;
    }
  }
  if (exotic) a.sort();
  else {
    const ranks = new Set<number>();
    for (const q of qs) {
      const lo = Math.floor((n - 1) * q);
      ranks.add(lo);
      ranks.add(Math.min(lo + 1, n - 1));
    }
    let from = 0;
    for (const r of [...ranks].sort((p, q) => p - q)) {
      quickselectFrom(a, r, from);
      from = r + 1;
    }
  }
  return qs.map((q) => quantileSorted(a, q));
}

/** Median (the mean of the two middle values for even n), in O(n) without sorting. */
export function median(x: ArrayLike<number>): number {
  const n = x.length;
  const a = Float64Array.from(x);
  const upper = quickselect(a, n >> 1);
  if (n % 2 === 1) return upper;
  // The lower middle value is the largest of the left part after selecting the upper one.
  let lower = -Infinity;
  for (let i = 0; i < n >> 1; i++) if (a[i] > lower) lower = a[i];
  return lower === upper ? upper : lower + 0.5 * (upper - lower);
}

export function max(x: ArrayLike<number>): number {
  let m = -Infinity;
  for (let i = 0; i < x.length; i++) if (x[i] > m) m = x[i];
  return m;
}

export interface Description {
  mean: number;
  sd: number;
  stderr: number;
  median: number;
  max: number;
}

export function describe(x: ArrayLike<number>, name = 'values'): Description {
  if (x.length === 0) throw new ModeldiffError('INVALID_ARGUMENT', `${name}: cannot summarize zero samples`);
  for (let i = 0; i < x.length; i++) {
    if (Number.isNaN(x[i])) throw new ModeldiffError('NON_FINITE', `${name}: NaN at sample ${i}`);
  }
  const m = mean(x);
  const sd = standardDeviation(x, m);
  return { mean: m, sd, stderr: sd / Math.sqrt(x.length), median: median(x), max: max(x) };
}
