/**
 * RBF (Gaussian) kernel Gram for CKA, with the bandwidth rule of Kornblith
 * et al. 2019: h = σ · median pairwise distance, σ = 0.8 by default.
 *
 * Precisely: h² = σ² · median_{i<j} ‖xᵢ − xⱼ‖² (the median over distinct pairs;
 * Kornblith et al.'s reference code takes the median over the full n×n matrix
 * including its n zero diagonal entries, which differs only for small n), and
 * K_ij = exp(−‖xᵢ − xⱼ‖² / (2h²)), kept as K_ij − 1 (see rbfGramInPlace).
 */
import { quickselect } from '../stats/describe';

export { quickselect };

/** Median of the strictly-upper-triangle entries of an n×n matrix (mean of the two middle values if even). */
export function medianOffDiagonal(D: Float64Array, n: number): number {
  const m = (n * (n - 1)) / 2;
  const vals = new Float64Array(m);
  let t = 0;
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) vals[t++] = D[i * n + j];
  if (m % 2 === 1) return quickselect(vals, (m - 1) / 2);
  const upper = quickselect(vals, m / 2);
  // After selecting m/2, everything left of it is ≤ it: the lower middle is their max.
  let lower = -Infinity;
  for (let i = 0; i < m / 2; i++) if (vals[i] > lower) lower = vals[i];
  return (lower + upper) / 2;
}

/**
 * Turns squared distances (in place) into the RBF Gram *minus one*, K − 11ᵀ = expm1(−d/2h²);
 * returns the bandwidth h, or null (Gram untouched) when the median distance is 0. HSIC centres its Grams, so the constant changes nothing, but at a
 * wide bandwidth every K_ij is 1 − O(1/σ²): stored as is, the centring inside HSIC cancelled
 * those leading ones and left rounding noise (CKA came out above 1 at σ = 1000). The shifted
 * entries keep full relative precision.
 */
export function rbfGramInPlace(sqdist: Float64Array, n: number, sigma: number): number | null {
  const med = medianOffDiagonal(sqdist, n);
  // Most samples share one representation: the bandwidth (and so RBF CKA) is undefined.
  if (!(med > 0)) return null;
  const h2 = sigma * sigma * med;
  const scale = -1 / (2 * h2);
  for (let i = 0; i < sqdist.length; i++) sqdist[i] = Math.expm1(sqdist[i] * scale);
  return Math.sqrt(h2);
}
