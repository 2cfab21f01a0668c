/**
 * The function view: prepare = one model's outputs on the probe set (its output stream, here
 * read whole from the N-model output store: kept in memory, or re-read from the inference
 * cache); pair = the two models' per-sample divergences and their summary (mean and standard
 * error, cluster-robust over sequences for token rows). `functionMatrices` drives it over N
 * models for `matrix` and `study`. The two-model workflow `compare` is the same view on
 * streams (`compareView` in lib/views/compare.ts): prepare opens a model's output stream,
 * pair consumes both into per-sample divergences and the full summary (intervals, top
 * samples, per-class, token-level).
 */
import { check } from '../errors';
import { clusterStderr, clusterSums } from '../function/cluster';
import { type FunctionMeasureName, type OutputKind, divergencePerSample, pairwiseDivergence, resolveOutputKind } from '../function/divergence';
import { measureInfo } from '../measures/registry';
import type { Matrix } from '../matrix';
import { l2, toProbabilities } from '../many/predictions';
import { type OutputStore, blocks } from '../many/store';
import { standardDeviation } from '../stats';
import type { View } from './view';

export interface FunctionContext {
  store: OutputStore;
  metric: FunctionMeasureName;
  /** Resolved output kind, passed to the divergence kernels. */
  outputKind: OutputKind;
  epsilon?: number;
  /** Cost matrix for 'emd-cost', passed to the divergence kernels. */
  cost?: Float64Array;
  threads?: number;
}

export interface PreparedOutputs {
  /** The model's index in the store. */
  index: number;
  outputs: Matrix;
}

export interface PairSummary {
  /** Mean per-sample divergence of A from B over the probe set. */
  mean: number;
  /** Its standard error (cluster-robust over sequences for sequence outputs). */
  se: number;
  /** The per-sample values. */
  values: Float64Array;
}

export const functionView: View<number, FunctionContext, PreparedOutputs, PairSummary> = {
  async prepare(index, context) {
    return { index, outputs: (await context.store.load([index]))[0] };
  },
  async pair(a, b, context) {
    const { store, metric } = context;
    const n = store.samples;
    const values = (await divergencePerSample(a.outputs, b.outputs, [metric], { ...kernelOptions(context), names: [store.names[a.index], store.names[b.index]] }))[metric];
    check(values && values.length === n, 'INTERNAL', `per-sample kernel returned no ${metric} values`);
    let sum = 0;
    for (let q = 0; q < n; q++) sum += values[q];
    const mean = sum / n;
    // Token rows of one sequence are not independent: the cluster-robust standard error.
    const se = store.clusters ? clusterStderr(clusterSums([values], store.clusters, n, store.sequences!)) : standardDeviation(values, mean) / Math.sqrt(n);
    return { mean, se, values };
  },
};

const kernelOptions = (c: FunctionContext) => ({ outputs: c.outputKind, epsilon: c.epsilon, cost: c.cost, threads: c.threads, names: c.store.names });

export interface FunctionMatrixOptions extends Omit<FunctionContext, 'store'> {
  /** Whether outputKind was detected from the first model ('auto'): every model must then read the same way. */
  detected?: boolean;
  /** Per pair (i < j): the view's pair summary, giving the standard errors. */
  perPair?: boolean;
  /** Pairs (i < j) whose per-sample values to keep, as i·N + j. */
  keepSeries?: Set<number>;
  /** The L2 distance between the models' concatenated probability vectors (the t-SNE input). */
  predictions?: boolean;
  onProgress?: (done: number, total: number) => void;
}

export interface FunctionMatrices {
  /** N×N row-major means. */
  matrix: Float64Array;
  /** N×N row-major standard errors (upper triangle filled, mirrored), with perPair. */
  se: Float64Array | null;
  /** Kept per-sample series, keyed by i·N + j. */
  series: Map<number, Float64Array>;
  /** N×N L2 distances between concatenated predictions, with predictions. */
  predictionDistance: Float64Array | null;
}

/**
 * The function view over N models, block pair by block pair (the store's blocks bound the
 * outputs held at once; each block's models are prepared together):
 * - the N×N mean matrix through the native pairwise kernel, one call per block pair (for a
 *   symmetric measure with `perPair` the pair summaries already hold every mean);
 * - with `perPair`, each pair (i < j) through the view's pair: its mean's standard error,
 *   and its per-sample values kept for the pairs chosen for the noise bootstrap;
 * - with `predictions`, the L2 distance between concatenated probability vectors.
 */
export async function functionMatrices(store: OutputStore, options: FunctionMatrixOptions): Promise<FunctionMatrices> {
  const N = store.names.length;
  const context: FunctionContext = { store, metric: options.metric, outputKind: options.outputKind, epsilon: options.epsilon, cost: options.cost, threads: options.threads };
  const matrix = new Float64Array(N * N);
  const se = options.perPair ? new Float64Array(N * N) : null;
  const predictionDistance = options.predictions ? new Float64Array(N * N) : null;
  const series = new Map<number, Float64Array>();
  const symmetric = measureInfo(options.metric).symmetric;
  const parts = blocks(N, store.blockSize);
  const totalPairs = (N * (N - 1)) / 2;
  let donePairs = 0;
  let firstOutputs: Matrix | undefined;
  options.onProgress?.(0, totalPairs);
  for (let bi = 0; bi < parts.length; bi++) {
    for (let bj = bi; bj < parts.length; bj++) {
      const ids = bi === bj ? parts[bi] : [...parts[bi], ...parts[bj]];
      const outs = await store.load(ids);
      const prepared = outs.map((outputs, x): PreparedOutputs => ({ index: ids[x], outputs }));
      const L = ids.length;
      // 'auto' looked at the first model only; a model whose outputs read differently (say,
      // probabilities among logits) would otherwise be compared as the wrong kind.
      if (options.detected) resolveOutputKind([firstOutputs ??= (await store.load([0]))[0], ...outs], 'auto', [store.names[0], ...ids.map((i) => store.names[i])]);
      const m = se && symmetric ? null : await pairwiseDivergence(outs, options.metric, { ...kernelOptions(context), names: ids.map((i) => store.names[i]) });
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
          if (se) {
            const s = await functionView.pair(prepared[x], prepared[y], context);
            if (symmetric) {
              matrix[i * N + j] = s.mean;
              matrix[j * N + i] = s.mean;
            }
            se[i * N + j] = s.se;
            se[j * N + i] = s.se;
            if (options.keepSeries?.has(i * N + j)) series.set(i * N + j, Float64Array.from(s.values));
          }
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
}
