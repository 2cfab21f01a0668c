/**
 * 2-D maps of the models. Classical (Torgerson) MDS embeds the distance
 * matrix itself, exactly when it is Euclidean; t-SNE (@keckelt/tsne, the
 * maintained TypeScript port of Karpathy's tsnejs) embeds the models'
 * concatenated predictions, as Erhan et al. (2009) mapped training
 * trajectories; UMAP (umap-js) embeds the distance matrix through its
 * k-nearest-neighbour graph. Both stochastic methods draw every random number
 * from our seeded RNG, so a seed reproduces the map bit for bit.
 */
import { TSNE } from '@keckelt/tsne';
import { EigenvalueDecomposition, Matrix } from 'ml-matrix';
import { UMAP } from 'umap-js';

import { check } from '../errors';
import { createRng } from '../util/rng';
import { symmetricDistances } from './clustering';

export type Point2 = [number, number];

/**
 * Classical MDS: B = −½·J·D²·J, coordinates = top-2 eigenvectors scaled by
 * sqrt(eigenvalue). Negative eigenvalues (a non-Euclidean D) are clipped to 0.
 * Each axis' sign is fixed so its largest |coordinate| is positive, for
 * reproducible pictures.
 */
export function classicalMds(d: ArrayLike<number>, n: number): Point2[] {
  const rows = symmetricDistances(d, n);
  if (n === 1) return [[0, 0]];
  const sq = rows.map((r) => r.map((v) => v * v));
  const rowMean = sq.map((r) => r.reduce((s, v) => s + v, 0) / n);
  const all = rowMean.reduce((s, v) => s + v, 0) / n;
  const b = new Matrix(n, n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) b.set(i, j, -0.5 * (sq[i][j] - rowMean[i] - rowMean[j] + all));
  }
  const evd = new EigenvalueDecomposition(b, { assumeSymmetric: true });
  const values = evd.realEigenvalues;
  const vectors = evd.eigenvectorMatrix;
  const byValue = values.map((v, i) => [v, i]).sort((x, y) => y[0] - x[0] || x[1] - y[1]);
  const out: Point2[] = Array.from({ length: n }, () => [0, 0] as Point2);
  for (let axis = 0; axis < 2 && axis < n; axis++) {
    const [value, col] = byValue[axis];
    const scale = Math.sqrt(Math.max(0, value));
    let big = 0;
    for (let i = 0; i < n; i++) if (Math.abs(vectors.get(i, col)) > Math.abs(big)) big = vectors.get(i, col);
    const sign = big < 0 ? -1 : 1;
    for (let i = 0; i < n; i++) out[i][axis] = sign * scale * vectors.get(i, col);
  }
  return out;
}

export interface TsneOptions {
  seed?: number;
  /** Default min(30, (N−1)/3): perplexity must stay well below N. */
  perplexity?: number;
  iterations?: number;
}

/**
 * t-SNE from a precomputed (Euclidean) distance matrix between models, e.g.
 * the L2 distance between their concatenated prediction vectors
 * (`predictionDistances`). Needs N >= 4.
 */
export function tsne(d: ArrayLike<number>, n: number, options: TsneOptions = {}): Point2[] {
  check(n >= 4, 'INVALID_ARGUMENT', `t-SNE needs at least 4 models, got ${n}`);
  const rows = symmetricDistances(d, n, 'prediction distance matrix');
  const perplexity = options.perplexity ?? Math.min(30, Math.max(1, (n - 1) / 3));
  const model = new TSNE({ dim: 2, perplexity, epsilon: 10 });
  const rng = createRng(options.seed ?? 0);
  // Replace the library's Math.random-based Gaussian with our seeded one.
  model.gaussRandom = () => rng.normal();
  // tsnejs expects squared distances from initDataDist's caller (as its
  // initDataRaw computes them); scale to a unit median so the perplexity
  // search starts well conditioned whatever the measure's units.
  const flat = rows.flat().filter((v) => v > 0).sort((a, b) => a - b);
  const median = flat.length ? flat[Math.floor(flat.length / 2)] : 1;
  model.initDataDist(rows.map((r) => r.map((v) => (v / median) ** 2)));
  const iterations = options.iterations ?? 500;
  for (let k = 0; k < iterations; k++) model.step();
  return (model.getSolution() as number[][]).map((p) => [p[0], p[1]] as Point2);
}

export interface UmapOptions {
  seed?: number;
  /** Default min(15, N−1). */
  neighbors?: number;
  minDist?: number;
}

/** UMAP on the distance matrix (a distance function over model indices). Needs N >= 4. */
export function umap(d: ArrayLike<number>, n: number, options: UmapOptions = {}): Point2[] {
  check(n >= 4, 'INVALID_ARGUMENT', `UMAP needs at least 4 models, got ${n}`);
  const rows = symmetricDistances(d, n);
  const rng = createRng(options.seed ?? 0);
  const nNeighbors = options.neighbors ?? Math.min(15, n - 1);
  const model = new UMAP({
    nComponents: 2,
    nNeighbors,
    minDist: options.minDist ?? 0.1,
    random: () => rng.float(),
    distanceFn: (a, b) => rows[a[0]][b[0]],
  });
  const points = model.fit(Array.from({ length: n }, (_, i) => [i]));
  return points.map((p) => [p[0], p[1]] as Point2);
}
