/**
 * HSIC (Hilbert-Schmidt independence criterion) estimators on n×n Gram
 * matrices, and the same quantities for linear kernels from feature-space
 * Grams (p×p), which is how linear CKA avoids n×n matrices when p ≪ n.
 *
 * Biased:   HSIC_b(K, L) = tr(K H L H) / (n−1)²,   H = I − 11ᵀ/n   (Gretton et al. 2005)
 * Unbiased: HSIC_u(K, L) = [tr(K̃L̃) + (1ᵀK̃1)(1ᵀL̃1)/((n−1)(n−2)) − 2/(n−2)·1ᵀK̃L̃1] / (n(n−3)),
 *           K̃ = K with its diagonal set to 0 (Song et al. 2012; used for debiased
 *           CKA by Nguyen et al. 2021 and Kornblith et al.'s reference code).
 */
import { check } from '../errors';

/** Row sums of a symmetric n×n matrix (row-major). */
function rowSums(K: Float64Array, n: number): Float64Array {
  const r = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    const off = i * n;
    for (let j = 0; j < n; j++) s += K[off + j];
    r[i] = s;
  }
  return r;
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

function sum(a: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i];
  return s;
}

/** Summaries of one symmetric Gram matrix that every HSIC formula needs. */
export interface GramSummary {
  K: Float64Array;
  n: number;
  rows: Float64Array;
  total: number;
  diag: Float64Array;
}

export function summarize(K: Float64Array, n: number): GramSummary {
  const rows = rowSums(K, n);
  const diag = new Float64Array(n);
  for (let i = 0; i < n; i++) diag[i] = K[i * n + i];
  return { K, n, rows, total: sum(rows), diag };
}

/** HSIC_b from two symmetric Grams (not necessarily centered), without forming HKH. */
export function hsicBiased(a: GramSummary, b: GramSummary): number {
  const n = a.n;
  // tr(KHLH) = Σ K∘L − (2/n)·Σ_i rK_i·rL_i + (1ᵀK1)(1ᵀL1)/n²
  const t = dot(a.K, b.K) - (2 / n) * dot(a.rows, b.rows) + (a.total * b.total) / (n * n);
  return t / ((n - 1) * (n - 1));
}

/** HSIC_u from two symmetric Grams; needs n ≥ 4. */
export function hsicUnbiased(a: GramSummary, b: GramSummary): number {
  const n = a.n;
  check(n >= 4, 'INVALID_ARGUMENT', `unbiased HSIC needs at least 4 samples, got ${n}`);
  // With K̃ = K − diag(K): tr(K̃L̃) = Σ K∘L − Σ K_ii L_ii; K̃ row sums r̃ = r − diag.
  const trKL = dot(a.K, b.K) - dot(a.diag, b.diag);
  const sa = a.total - sum(a.diag);
  const sb = b.total - sum(b.diag);
  let cross = 0;
  for (let i = 0; i < n; i++) cross += (a.rows[i] - a.diag[i]) * (b.rows[i] - b.diag[i]);
  return (trKL + (sa * sb) / ((n - 1) * (n - 2)) - (2 / (n - 2)) * cross) / (n * (n - 3));
}

/** Σ m², the squared Frobenius norm. */
export function frobenius2(m: Float64Array): number {
  return dot(m, m);
}

/**
 * Linear-kernel HSIC from feature-space Grams of centered X, Y:
 * biased: ‖XcᵀYc‖²_F / (n−1)² (since tr(KHLH) = ‖XcᵀYc‖²_F for K = XXᵀ);
 * unbiased: the HSIC_u formula above with K = XcXcᵀ, whose row sums vanish and
 * whose diagonal is the centered row norms, so it needs only
 * ‖XcᵀYc‖², Σ_i ‖xc_i‖²‖yc_i‖², tr(XcᵀXc) and tr(YcᵀYc).
 */
export function linearHsicFromFeatures(
  crossFrob2: number,
  rowSqX: Float64Array,
  rowSqY: Float64Array,
  n: number,
  debiased: boolean,
): number {
  if (!debiased) return crossFrob2 / ((n - 1) * (n - 1));
  check(n >= 4, 'INVALID_ARGUMENT', `debiased CKA needs at least 4 samples, got ${n}`);
  const t = crossFrob2 - (n / (n - 2)) * dot(rowSqX, rowSqY) + (sum(rowSqX) * sum(rowSqY)) / ((n - 1) * (n - 2));
  return t / (n * (n - 3));
}

/**
 * The largest excess beyond a measure's range that float64 rounding explains: the sums behind
 * an HSIC have at most n² (sample space) or (px+py)² (feature space) terms, each rounding adds
 * at most ε relative, and CKA is a ratio of such sums. Floor 1e-12.
 */
export function roundingTolerance(n: number, px: number, py: number): number {
  return Math.max(1e-12, Number.EPSILON * (n * n + (px + py) * (px + py)));
}

/**
 * `value` clamped into [lo, hi] when it is outside by at most `tolerance` (rounding: e.g. CKA of
 * a permuted copy at 1 + 4e-15); further outside is a bug in the estimator, never hidden.
 */
export function clampToRange(value: number, lo: number, hi: number, tolerance: number, what: string): number {
  check(
    value >= lo - tolerance && value <= hi + tolerance,
    'INTERNAL',
    `${what}: ${value} is outside its range [${lo}, ${hi}] by more than rounding explains (${tolerance.toExponential(1)})`,
  );
  return Math.min(hi, Math.max(lo, value));
}

/**
 * CKA = HSIC(K,L) / sqrt(HSIC(K,K)·HSIC(L,L)), or `null` when a self-term is at most its floor:
 * 0/0, CKA is undefined there. Callers rule out constant layers first; the floors catch the
 * debiased estimator's self-terms that are 0 up to rounding (too few distinct samples).
 * `what` names the inputs in messages.
 */
export function ckaFromHsic(kl: number, kk: number, ll: number, what: string, floors: [number, number] = [0, 0]): number | null {
  check(
    Number.isFinite(kl) && Number.isFinite(kk) && Number.isFinite(ll),
    'NON_FINITE',
    `${what}: HSIC overflowed float64 (activations of magnitude ~1e70 or more); rescale the inputs (CKA is scale invariant)`,
  );
  if (!(kk > floors[0] && ll > floors[1])) return null;
  return kl / Math.sqrt(kk * ll);
}
