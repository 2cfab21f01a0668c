/**
 * `study(models, options)`: "I trained N networks — how many really different
 * solutions did I find, and does weight distance track output distance?"
 * Builds on `matrix`, then adds per-pair noise, the same-solution clustering
 * with its noise-derived threshold, Chao1 richness, weight-vs-output
 * correlations with Mantel tests, and 2-D maps. Everything random is seeded:
 * the same inputs and seed give byte-identical JSON.
 */
import { ModeldiffError, check } from '../errors';
import { loadLabels } from '../io/probe';
import { optionsObject } from '../util/options';
import { canonicalOrder } from './canonical-order';
import { clusterModels, symmetricDistances } from './clustering';
import { mantel, upperTriangle } from './correlation';
import { type Point2, classicalMds, tsne, umap } from './embedding';
import { functionMatrices } from '../views/function';
import { type MatrixOptions, type ModelInput, matrixResult, passOptions, prepare, representationsFor, weightsFor } from './matrix';
import { THRESHOLD_DEFINITION, noiseThreshold, samplePairs } from './noise';
import { accuracy as accuracyOf } from './predictions';
import { chao1, expectedAfter } from './richness';
import { blocks } from './store';
import { symmetricWeights } from './symmetric';
import type { PairRecord, StudyResult, ThresholdInfo, WeightCorrelation, WeightMethod } from './types';

export interface StudyOptions extends MatrixOptions {
  /** Class labels of the probe samples (.npy path or integers): accuracy per model sizes the map's points. */
  labels?: string | ArrayLike<number>;
  /** Same-solution threshold in the metric's units; default from the probe set's bootstrap noise (see noise.ts). */
  threshold?: number;
  /** Mantel permutations (default 999). */
  permutations?: number;
  /** Bootstrap replicates for the noise threshold and pair intervals (default 200). */
  bootstrap?: number;
  /** At most this many pairs are bootstrapped (a seeded sample; default 200). */
  maxBootstrapPairs?: number;
  /**
   * Indices (into `models`) of the independent runs: the solution count and
   * Chao1 are over these only (default: every model). Models derived from
   * others (copies, fine-tunes) are not independent draws of the recipe.
   */
  independentRuns?: number[];
}

export async function study(models: ModelInput[], options: StudyOptions = {}): Promise<StudyResult> {
  options = optionsObject(options, 'study');
  const seed = options.seed ?? 0;
  check(Number.isInteger(seed), 'INVALID_ARGUMENT', `options.seed must be an integer, got ${seed}`, 'seed');
  if (options.threshold !== undefined) {
    check(Number.isFinite(options.threshold) && options.threshold >= 0, 'INVALID_ARGUMENT', `options.threshold must be a number >= 0, got ${options.threshold}`, 'threshold');
  }
  const permutations = options.permutations ?? 999;
  check(Number.isInteger(permutations) && permutations >= 1, 'INVALID_ARGUMENT', `options.permutations must be a positive integer, got ${permutations}`, 'permutations');
  const replicates = options.bootstrap ?? 200;
  check(Number.isInteger(replicates) && replicates >= 1, 'INVALID_ARGUMENT', `options.bootstrap (replicates) must be a positive integer, got ${replicates}`, 'bootstrap');
  const prep = await prepare(models, options);
  const N = prep.names.length;
  const independent = options.independentRuns ?? prep.names.map((_, i) => i);
  const validRuns = Array.isArray(independent) && independent.length > 0 && new Set(independent).size === independent.length;
  if (!validRuns || !independent.every((i) => Number.isInteger(i) && i >= 0 && i < N)) {
    throw new ModeldiffError('INVALID_ARGUMENT', `options.independentRuns must list distinct model indices 0..${N - 1}, got ${JSON.stringify(options.independentRuns)}`, { option: 'independentRuns' });
  }
  // Bad labels fail before the expensive part, not after.
  if (prep.store.clusters && options.labels !== undefined) {
    throw new ModeldiffError('INVALID_ARGUMENT', 'labels: sequence outputs are compared token by token, and class labels give one label per sequence; score next-token targets pair by pair with compare', {
      option: 'labels',
    });
  }
  const labels = options.labels === undefined ? null : loadLabels(options.labels, prep.store.samples, { cwd: options.cwd });
  const maxPairs = options.maxBootstrapPairs ?? 200;
  check(Number.isInteger(maxPairs) && maxPairs >= 1, 'INVALID_ARGUMENT', `options.maxBootstrapPairs must be a positive integer, got ${maxPairs}`, 'maxBootstrapPairs');
  // Sampled in name order, so the same pairs are bootstrapped whatever order the models came in.
  const canon = canonicalOrder(prep.names);
  const sampled = samplePairs(N, maxPairs, seed)
    .map(([i, j]): [number, number] => [Math.min(canon[i], canon[j]), Math.max(canon[i], canon[j])])
    .sort((p, q) => p[0] - q[0] || p[1] - q[1]);
  const pass = await functionMatrices(prep.store, {
    ...passOptions(prep, options),
    perPair: true,
    keepSeries: new Set(sampled.map(([i, j]) => i * N + j)),
    predictions: N >= 4,
  });
  const base = matrixResult(prep, pass, await weightsFor(prep, options));
  if (options.layers !== undefined) base.representations = await representationsFor(prep, options, options.layers);
  const STEPS = 5;
  const step = (k: number) => options.onProgress?.('analysis', k, STEPS);
  step(0);

  // Same-solution threshold and the bootstrap intervals of the sampled pairs.
  const noise = noiseThreshold(
    sampled.map(([i, j]) => pass.series.get(i * N + j) as Float64Array),
    { replicates, seed, clusters: prep.store.clusters, sequences: prep.store.sequences },
  );
  const ci = new Map<number, [number, number]>();
  sampled.forEach(([i, j], k) => ci.set(i * N + j, noise.intervals[k]));
  step(1);
  let threshold: ThresholdInfo;
  if (options.threshold !== undefined) {
    threshold = { value: options.threshold, source: 'user', definition: 'Threshold given by the user.', pairsUsed: sampled.length, resamples: replicates };
  } else {
    threshold = { value: noise.threshold, source: 'bootstrap', definition: THRESHOLD_DEFINITION, pairsUsed: sampled.length, resamples: replicates };
  }

  const clustering = clusterModels(pass.matrix, N, threshold.value, prep.names);
  const solutions = countSolutions(clustering.labels, independent, prep.names);
  step(2);
  const accuracy = labels === null ? null : await accuracies(prep, labels);
  step(3);
  const correlations = correlate(base.functional, base.weights, prep.names, permutations, seed);
  step(4);

  const symmetric = symmetricDistances(pass.matrix, N).flat();
  const maps = {
    mds: classicalMds(symmetric, N),
    tsne: pass.predictionDistance ? tsne(pass.predictionDistance, N, { seed }) : null,
    umap: N >= 4 ? umap(symmetric, N, { seed }) : null,
  };
  step(5);

  const pairs: PairRecord[] = [];
  const se = pass.se as Float64Array;
  // One number per pair: aligned is averaged over its two directions (see weights.ts).
  const perPair = base.weights.methods.filter((m) => base.weights[m]).map((m) => [m, symmetricWeights(base.weights[m] as number[][])] as const);
  for (let i = 0; i < N; i++) {
    for (let j = i + 1; j < N; j++) {
      const weights: Partial<Record<WeightMethod, number>> = {};
      for (const [m, w] of perPair) weights[m] = w[i][j];
      pairs.push({
        i,
        j,
        a: prep.names[i],
        b: prep.names[j],
        functional: { mean: pass.matrix[i * N + j], reverse: pass.matrix[j * N + i], se: se[i * N + j], ci95: ci.get(i * N + j) ?? null },
        weights,
        sameSolution: clustering.labels[i] === clustering.labels[j],
      });
    }
  }
  return {
    ...base,
    seed,
    accuracy,
    threshold,
    clustering,
    solutions,
    correlations,
    maps: { mds: round(maps.mds), tsne: maps.tsne && round(maps.tsne), umap: maps.umap && round(maps.umap) },
    pairs,
  };
}

/** Distinct solutions among the counted models and Chao1 over their clusters' sizes. */
function countSolutions(labels: number[], counted: number[], names: string[]): StudyResult['solutions'] {
  const abundance = new Map<number, number>();
  for (const i of counted) abundance.set(labels[i], (abundance.get(labels[i]) ?? 0) + 1);
  const richness = chao1([...abundance.values()]);
  const sorted = [...counted].sort((a, b) => a - b);
  return { ...richness, expectedAfterDoubling: expectedAfter(richness, counted.length), counted: sorted.map((i) => names[i]) };
}

/** Map coordinates carry no meaning past 1e-9; rounding keeps the JSON short. */
const round = (pts: Point2[]): Point2[] => pts.map(([x, y]) => [Math.round(x * 1e9) / 1e9, Math.round(y * 1e9) / 1e9]);

async function accuracies(prep: Awaited<ReturnType<typeof prepare>>, labels: ArrayLike<number>): Promise<number[]> {
  const out: number[] = [];
  for (const block of blocks(prep.names.length, prep.store.blockSize)) {
    const outs = await prep.store.load(block);
    outs.forEach((o, k) => out.push(accuracyOf(o, prep.outputKind, labels, prep.names[block[k]])));
  }
  return out;
}

function correlate(
  functional: number[][],
  weights: StudyResult['weights'],
  names: readonly string[],
  permutations: number,
  seed: number,
): WeightCorrelation[] {
  const N = names.length;
  if (N < 3) return [];
  // The functional side is symmetrized: asymmetric measures (KL) are averaged over both directions.
  const f = new Float64Array(N * N);
  for (let i = 0; i < N; i++) for (let j = 0; j < N; j++) f[i * N + j] = (functional[i][j] + functional[j][i]) / 2;
  const out: WeightCorrelation[] = [];
  for (const method of weights.methods) {
    const w = weights[method];
    if (!w) continue;
    // Aligned is measured in the first model's frame: both directions averaged.
    const wf = Float64Array.from(symmetricWeights(w).flat());
    const finite = f.every(Number.isFinite) && wf.every(Number.isFinite);
    const spearman = mantel(wf, f, N, { method: 'spearman', permutations, seed, keys: names });
    const pearson = finite ? mantel(wf, f, N, { method: 'pearson', permutations, seed, keys: names }) : null;
    out.push({ method, spearman, pearson, fit: finite ? leastSquares(upperTriangle(wf, N), upperTriangle(f, N)) : null });
  }
  return out;
}

/** y ≈ slope·x + intercept; slope = r·sy/sx. Null when x is constant. */
function leastSquares(x: Float64Array, y: Float64Array): { slope: number; intercept: number } | null {
  const n = x.length;
  const mx = x.reduce((s, v) => s + v, 0) / n;
  const my = y.reduce((s, v) => s + v, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < n; i++) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) ** 2;
  }
  if (sxx === 0) return null;
  const slope = sxy / sxx;
  return { slope, intercept: my - slope * mx };
}
