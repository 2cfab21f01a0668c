/**
 * Correlation between two sets of pairwise distances: Pearson, Spearman
 * (Pearson on average ranks, so ties are handled as scipy.stats.spearmanr
 * does), and the Mantel permutation test, which is the right null for
 * distance matrices because the N(N-1)/2 entries are not independent: it
 * permutes the models (rows and columns together), not the entries.
 */
import { ModeldiffError, check } from '../errors';
import { createRng } from '../util/rng';
import { canonicalOrder, reorderMatrix } from './canonical-order';

export type CorrelationMethod = 'pearson' | 'spearman';

function checkFinite(x: ArrayLike<number>, name: string): void {
  for (let i = 0; i < x.length; i++) {
    if (!Number.isFinite(x[i])) {
      throw new ModeldiffError('NON_FINITE', `${name}[${i}] is ${x[i]}; correlation needs finite values`);
    }
  }
}

/** Pearson's r. NaN when either side has zero variance (r is undefined there). */
export function pearson(x: ArrayLike<number>, y: ArrayLike<number>): number {
  check(x.length === y.length, 'SHAPE_MISMATCH', `x has ${x.length} values but y has ${y.length}`);
  check(x.length >= 2, 'INVALID_ARGUMENT', `correlation needs at least 2 values, got ${x.length}`);
  checkFinite(x, 'x');
  checkFinite(y, 'y');
  const n = x.length;
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += x[i];
    my += y[i];
  }
  mx /= n;
  my /= n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = x[i] - mx;
    const dy = y[i] - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  if (sxx === 0 || syy === 0) return NaN;
  const r = sxy / Math.sqrt(sxx * syy);
  return Math.max(-1, Math.min(1, r));
}

/** Ranks 1..n, ties get the average of the ranks they span. Infinity ranks last. */
export function rank(x: ArrayLike<number>): Float64Array {
  const n = x.length;
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = 0; i < n; i++) {
    if (Number.isNaN(x[i])) throw new ModeldiffError('NON_FINITE', `x[${i}] is NaN; cannot rank it`);
  }
  order.sort((a, b) => x[a] - x[b] || a - b);
  const ranks = new Float64Array(n);
  let i = 0;
  while (i < n) {
    let j = i;
    while (j + 1 < n && x[order[j + 1]] === x[order[i]]) j++;
    const r = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) ranks[order[k]] = r;
    i = j + 1;
  }
  return ranks;
}

/** Spearman's rho (Pearson on average ranks); accepts +Infinity (ranked last). */
export function spearman(x: ArrayLike<number>, y: ArrayLike<number>): number {
  check(x.length === y.length, 'SHAPE_MISMATCH', `x has ${x.length} values but y has ${y.length}`);
  return pearson(rank(x), rank(y));
}

/** The strict upper triangle of an N×N row-major matrix, row by row. */
export function upperTriangle(m: ArrayLike<number>, n: number): Float64Array {
  check(m.length === n * n, 'SHAPE_MISMATCH', `matrix has ${m.length} entries, expected ${n}×${n}`);
  const out = new Float64Array((n * (n - 1)) / 2);
  let p = 0;
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) out[p++] = m[i * n + j];
  return out;
}

export interface MantelOptions {
  method?: CorrelationMethod;
  /** Number of permutations (default 999, so the smallest p is 0.001). */
  permutations?: number;
  seed?: number;
  /**
   * Model names. The permutations are drawn over the models sorted by name,
   * so the p-value does not depend on the order the models are given in
   * (without names, it is drawn over the given order).
   */
  keys?: readonly string[];
}

export interface MantelResult {
  method: CorrelationMethod;
  /** The correlation of the upper triangles. */
  r: number;
  /** One-sided p-value for r > 0: (1 + #{r_perm >= r}) / (1 + permutations), as vegan::mantel. */
  p: number;
  permutations: number;
  /** Number of model pairs (upper-triangle entries). */
  pairs: number;
}

/**
 * Mantel test between two N×N (symmetric, row-major) distance matrices.
 * For Spearman the upper triangles are ranked once; permuting the models
 * only reorders those ranks, so each permutation is a Pearson on ranks.
 */
export function mantel(a: ArrayLike<number>, b: ArrayLike<number>, n: number, options: MantelOptions = {}): MantelResult {
  const method = options.method ?? 'spearman';
  const permutations = options.permutations ?? 999;
  check(
    Number.isInteger(permutations) && permutations >= 1,
    'INVALID_ARGUMENT',
    `permutations must be a positive integer, got ${permutations}`,
  );
  check(n >= 3, 'INVALID_ARGUMENT', `a Mantel test needs at least 3 models, got ${n}`);
  check(a.length === n * n, 'SHAPE_MISMATCH', `first matrix has ${a.length} entries, expected ${n}×${n}`);
  check(b.length === n * n, 'SHAPE_MISMATCH', `second matrix has ${b.length} entries, expected ${n}×${n}`);
  if (options.keys) {
    check(options.keys.length === n, 'SHAPE_MISMATCH', `${options.keys.length} model names for ${n} models`);
    const order = canonicalOrder(options.keys);
    a = reorderMatrix(a, n, order);
    b = reorderMatrix(b, n, order);
  }
  let ua = upperTriangle(a, n);
  let ub = upperTriangle(b, n);
  if (method === 'spearman') {
    ua = rank(ua);
    ub = rank(ub);
  }
  const r = pearson(ua, ub);
  // Ranks (or values) of b laid back out as a full symmetric matrix to permute.
  const full = new Float64Array(n * n);
  let p = 0;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      full[i * n + j] = ub[p];
      full[j * n + i] = ub[p];
      p++;
    }
  }
  const rng = createRng(options.seed ?? 0);
  const perm = Int32Array.from({ length: n }, (_, i) => i);
  const permuted = new Float64Array(ua.length);
  let atLeast = 0;
  for (let t = 0; t < permutations; t++) {
    rng.shuffle(perm);
    let q = 0;
    for (let i = 0; i < n; i++) {
      const row = perm[i] * n;
      for (let j = i + 1; j < n; j++) permuted[q++] = full[row + perm[j]];
    }
    // NaN (zero variance) never counts as "at least as large".
    if (pearson(ua, permuted) >= r - 1e-12) atLeast++;
  }
  return { method, r, p: Number.isNaN(r) ? NaN : (1 + atLeast) / (1 + permutations), permutations, pairs: ua.length };
}
