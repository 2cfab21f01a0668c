/**
 * The CCA family and orthogonal Procrustes, computed from the centered
 * feature-space Grams (lib/represent/gram.ts), so their cost is O(p³) in the
 * number of units, independent of n once the Grams exist.
 *
 * Eigen/singular value decompositions use ml-matrix (pure JS, float64):
 * dependable for the p ≤ ~1000 unit layers these measures are meant for.
 *
 * Canonical correlations ρ_1 ≥ … ≥ ρ_r between Xc and Yc are the singular
 * values of  Λx^{-1/2}·Vxᵀ·(XcᵀYc)·Vy·Λy^{-1/2},  where Vx, Λx are eigenpairs of
 * XcᵀXc (directions with eigenvalue ≤ rankTolerance·λmax are dropped: they are
 * numerically zero variance), likewise for Y; r = min(rank X, rank Y).
 *   cca-mean  mean ρ (Raghu et al. 2017's mean CCA similarity)
 *   svcca     the same after keeping only each side's top SVD directions that
 *             explain `svccaVariance` (default 0.99) of its variance (Raghu et al. 2017)
 *   pwcca     Σ αᵢρᵢ / Σ αᵢ with αᵢ = Σⱼ |⟨hᵢ, xⱼ⟩|, hᵢ the unit-norm canonical
 *             variates of the side with fewer directions, xⱼ its centered units
 *             (Morcos et al. 2018)
 * Procrustes (orthogonal, on centered, Frobenius-normalized X and Y):
 *   ‖X‖² + ‖Y‖² − 2‖XᵀY‖_* = 2 − 2‖XcᵀYc‖_* / (‖Xc‖_F‖Yc‖_F)   (Ding et al. 2021; Williams et al. 2021
 *   use its square root / arccos variants), in [0, 2]; 0 iff Y = X·Q up to scale.
 */
import { EigenvalueDecomposition, Matrix, SingularValueDecomposition } from 'ml-matrix';

import { check } from '../errors';
import type { FeatureGrams } from './gram';

/** Eigen-directions of one side kept for CCA: p×r vectors, r eigenvalues (descending). */
interface Basis {
  vectors: Matrix;
  values: number[];
}

function asMatrix(a: Float64Array, rows: number, cols: number): Matrix {
  const m = new Matrix(rows, cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) m.set(i, j, a[i * cols + j]);
  return m;
}

/** Eigen-decomposition of one side's Gram, computed once and shared by CCA variants. */
export interface Eigen {
  evd: EigenvalueDecomposition;
  /** Indices of the eigenvalues, largest first. */
  order: number[];
}

const eigenCache = new WeakMap<Float64Array, Eigen>();

/** Eigenpairs of a symmetric PSD Gram (cached per Gram array, so cca-mean and svcca share them). */
function eigen(gram: Float64Array, p: number): Eigen {
  let e = eigenCache.get(gram);
  if (!e) {
    const evd = new EigenvalueDecomposition(asMatrix(gram, p, p), { assumeSymmetric: true });
    const values = evd.realEigenvalues;
    e = { evd, order: values.map((_, i) => i).sort((a, b) => values[b] - values[a]) };
    eigenCache.set(gram, e);
  }
  return e;
}

/**
 * Eigenpairs of a symmetric PSD Gram, descending, keeping those above the
 * rank tolerance and (if `variance` < 1) only the leading ones that explain
 * that fraction of the total.
 */
function basis(gram: Float64Array, p: number, rankTolerance: number, variance: number, side: string): Basis {
  const { evd, order } = eigen(gram, p);
  const values = evd.realEigenvalues;
  const max = values[order[0]];
  check(max > 0, 'INVALID_ARGUMENT', `${side} has no variance across samples: CCA and Procrustes are undefined`);
  const kept = order.filter((i) => values[i] > rankTolerance * max);
  let k = kept.length;
  if (variance < 1) {
    const total = kept.reduce((s, i) => s + values[i], 0);
    let acc = 0;
    for (k = 0; k < kept.length; ) {
      acc += values[kept[k++]];
      if (acc >= variance * total) break;
    }
  }
  const idx = kept.slice(0, k);
  const vectors = new Matrix(p, idx.length);
  const ev = evd.eigenvectorMatrix;
  for (let c = 0; c < idx.length; c++) for (let r = 0; r < p; r++) vectors.set(r, c, ev.get(r, idx[c]));
  return { vectors, values: idx.map((i) => values[i]) };
}

export interface CcaOptions {
  /** Relative eigenvalue threshold below which a direction counts as zero variance. Default 1e-10. */
  rankTolerance?: number;
  /** Fraction of variance the kept directions must explain (1 = all: plain CCA; SVCCA uses 0.99). */
  variance?: number;
}

export interface CcaResult {
  /** Canonical correlations, descending, clamped to [0, 1]. */
  correlations: number[];
  /** Directions kept on each side (rank, or the SVCCA truncation). */
  keptX: number;
  keptY: number;
  /** PWCCA weights αᵢ (normalized to sum 1), aligned with `correlations`. */
  weights: number[];
}

/** Canonical correlation analysis between Xc and Yc from their Grams. */
export function canonicalCorrelations(g: FeatureGrams, options: CcaOptions = {}): CcaResult {
  const tol = options.rankTolerance ?? 1e-10;
  const variance = options.variance ?? 1;
  const bx = basis(g.xx, g.px, tol, variance, 'X');
  const by = basis(g.yy, g.py, tol, variance, 'Y');
  // Whitened cross-covariance, oriented so the side with fewer directions (s)
  // is the columns: the SVD then needs rows ≥ cols and its right vectors
  // live on side s, where PWCCA takes its weights.
  const xSmall = bx.values.length <= by.values.length;
  const cxy = asMatrix(g.xy, g.px, g.py);
  const wx = bx.vectors.mmul(Matrix.diag(bx.values.map((v) => 1 / Math.sqrt(v))));
  const wy = by.vectors.mmul(Matrix.diag(by.values.map((v) => 1 / Math.sqrt(v))));
  const m = wx.transpose().mmul(cxy).mmul(wy); // rx × ry
  const oriented = xSmall ? m.transpose() : m; // r_other × r_small
  const svd = new SingularValueDecomposition(oriented, { computeLeftSingularVectors: false });
  const r = oriented.columns;
  const correlations = svd.diagonal.slice(0, r).map((s) => Math.min(1, Math.max(0, s)));
  // αᵢ = ‖Cs·aᵢ‖₁ with aᵢ = Vs Λs^{-1/2} wᵢ  ⇒  Cs·aᵢ = Vs Λs^{1/2} wᵢ.
  const small = xSmall ? bx : by;
  const root = small.vectors.mmul(Matrix.diag(small.values.map(Math.sqrt))).mmul(svd.rightSingularVectors);
  const alpha = new Array<number>(r).fill(0);
  for (let i = 0; i < r; i++) for (let j = 0; j < root.rows; j++) alpha[i] += Math.abs(root.get(j, i));
  const total = alpha.reduce((a, b) => a + b, 0);
  return { correlations, keptX: bx.values.length, keptY: by.values.length, weights: alpha.map((a) => a / total) };
}



function trace(m: Float64Array, p: number): number {
  let t = 0;
  for (let i = 0; i < p; i++) t += m[i * p + i];
  return t;
}

/** Orthogonal Procrustes distance 2 − 2·nuclear(XcᵀYc) / (‖Xc‖_F·‖Yc‖_F), clamped to [0, 2]. */
export function procrustesDistance(g: FeatureGrams): number {
  const nx = trace(g.xx, g.px);
  const ny = trace(g.yy, g.py);
  check(nx > 0 && ny > 0, 'INVALID_ARGUMENT', `${nx > 0 ? 'Y' : 'X'} has no variance across samples: Procrustes distance is undefined`);
  const svd = new SingularValueDecomposition(asMatrix(g.xy, g.px, g.py), {
    autoTranspose: true,
    computeLeftSingularVectors: false,
    computeRightSingularVectors: false,
  });
  const nuclear = svd.diagonal.reduce((a, b) => a + b, 0);
  return Math.min(2, Math.max(0, 2 - (2 * nuclear) / Math.sqrt(nx * ny)));
}
