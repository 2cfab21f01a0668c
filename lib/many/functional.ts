/**
 * One pass over all model pairs, block pair by block pair (see store.ts):
 * - the N×N functional distance matrix, through the native pairwise kernel;
 * - per pair (i < j), with `perPair`: the per-sample divergences, giving the
 *   mean (for a symmetric measure the pairwise kernel is then skipped: the
 *   per-sample pass already has everything) and its standard error, and kept
 *   for the pairs chosen for the noise bootstrap;
 * - with `predictions`: the L2 distance between the models' concatenated
 *   probability vectors (the t-SNE input).
 */
import { check } from '../errors';
import { measureInfo } from '../measures/registry';
import { clusterStderr, clusterSums } from '../function/cluster';
import { standardDeviation } from '../stats';
import { type FunctionMeasureName, type OutputKind, divergencePerSample, pairwiseDivergence, resolveOutputKind } from './deps';
import { l2, toProbabilities } from './predictions';
import { type OutputStore, blocks } from './store';
import type { Matrix } from '../matrix';

export interface FunctionalOptions {
  metric: FunctionMeasureName;
  /** Resolved output kind, passed to the divergence kernels. */
  outputKind: OutputKind;
  /** Whether outputKind was detected from the first model ('auto'): every model must then read the same way. */
  detected?: boolean;
  epsilon?: number;
  /** Cost matrix for 'emd-cost', passed to the divergence kernels. */
  cost?: Float64Array;
  threads?: number;
  perPair?: boolean;
  /** Pairs (i < j) whose per-sample values to keep, as i·N + j. */
  keepSeries?: Set<number>;
  predictions?: boolean;
  onProgress?: (done: number, total: number) => void;
}

export interface FunctionalPass {
  /** N×N row-major means. */
  matrix: Float64Array;
  /** N×N row-major standard errors (upper triangle filled, mirrored), with perPair. */
  se: Float64Array | null;
  /** Kept per-sample series, keyed by i·N + j. */
  series: Map<number, Float64Array>;
  /** N×N L2 distances between concatenated predictions, with predictions. */
  predictionDistance: Float64Array | null;
}

export async function functionalPass(store: OutputStore, options: FunctionalOptions): Promise<FunctionalPass> {
  const N = store.names.length;
  const n = store.samples;
  const matrix = new Float64Array(N * N);
  const se = options.perPair ? new Float64Array(N * N) : null;
  const predictionDistance = options.predictions ? new Float64Array(N * N) : null;
  const series = new Map<number, Float64Array>();
  const symmetric = measureInfo(options.metric).symmetric;
  const kernelOptions = { outputs: options.outputKind, epsilon: options.epsilon, cost: options.cost, threads: options.threads, names: store.names };
  const parts = blocks(N, store.blockSize);
  const totalPairs = (N * (N - 1)) / 2;
  let donePairs = 0;
  let firstOutputs: Matrix | undefined;
  options.onProgress?.(0, totalPairs);
  for (let bi = 0; bi < parts.length; bi++) {
    for (let bj = bi; bj < parts.length; bj++) {
      const ids = bi === bj ? parts[bi] : [...parts[bi], ...parts[bj]];
      const outs = await store.load(ids);
      const L = ids.length;
      // 'auto' looked at the first model only; a model whose outputs read differently (say,
      // probabilities among logits) would otherwise be compared as the wrong kind.
      if (options.detected) resolveOutputKind([firstOutputs ??= (await store.load([0]))[0], ...outs], 'auto', [store.names[0], ...ids.map((i) => store.names[i])]);
      const m = se && symmetric ? null : await pairwiseDivergence(outs, options.metric, { ...kernelOptions, names: ids.map((i) => store.names[i]) });
      const probs = predictionDistance ? outs.map((o) => Float32Array.from(toProbabilities(o, options.outputKind))) : null;
      // Pairs this block pair owns: within the block when bi === bj, else across.
      for (let x = 0; x < L; x++) {
        for (let y = x + 1; y < L; y++) {
          const i = ids[x];
          const j = ids[y];
          if (bi !== bj && !(x < parts[bi].length && y >= parts[bi].length)) continue;
          if (m) {
            matrix[i * N + j] = m[x * L + y];
            matrix[j * N + i] = m[y * L + x];
          }
          if (se) await pairStatistics(outs[x], outs[y], i, j);
          if (probs && predictionDistance) {
            const d = l2(probs[x], probs[y]);
            predictionDistance[i * N + j] = d;
            predictionDistance[j * N + i] = d;
          }
          donePairs++;
        }
        options.onProgress?.(donePairs, totalPairs);
      }
    }
  }
  return { matrix, se, series, predictionDistance };

  async function pairStatistics(a: Matrix, b: Matrix, i: number, j: number): Promise<void> {
    const values = (await divergencePerSample(a, b, [options.metric], { ...kernelOptions, names: [store.names[i], store.names[j]] }))[options.metric];
    check(values && values.length === n, 'INTERNAL', `per-sample kernel returned no ${options.metric} values`);
    let sum = 0;
    for (let q = 0; q < n; q++) sum += values[q];
    const mean = sum / n;
    if (symmetric) {
      matrix[i * N + j] = mean;
      matrix[j * N + i] = mean;
    }
    // Token rows of one sequence are not independent: the cluster-robust standard error.
    const s = store.clusters ? clusterStderr(clusterSums([values], store.clusters, n, store.sequences!)) : standardDeviation(values, mean) / Math.sqrt(n);
    (se as Float64Array)[i * N + j] = s;
    (se as Float64Array)[j * N + i] = s;
    if (options.keepSeries?.has(i * N + j)) series.set(i * N + j, Float64Array.from(values));
  }
}
