/**
 * The function view: how differently two models behave on one probe set.
 * - prepare(model, context) → an OutputSource: the model's outputs on the probe, read as a
 *   stream of row blocks. For `compare` it is a live inference stream (batch by batch, from the
 *   output cache when possible); for `matrix` and `study` it is one model's outputs kept or
 *   cached by the N-model output store, as one block.
 * - pair(a, b, context) → a FunctionPair: both streams consumed together into per-sample
 *   divergences (per counted token, through the token accumulator, for sequence outputs), plus
 *   each model's predicted class and confidence when the context asks. Each block goes straight
 *   to the divergence kernels, so a pair keeps n float64 per measure, never the n×k outputs.
 * Summaries belong to the drivers: `compare` (lib/function/compare.ts) summarizes one pair in
 * full (intervals, top samples, per-class, token-level); `functionMatrices` below drives the
 * view over N models for `matrix` and `study`, which take each pair's mean and standard error
 * (`meanAndStderr`) and the native pairwise kernel's means.
 */
import { ModeldiffError, check } from '../errors';
import { clusterStderr, clusterSums } from '../function/cluster';
import {
  type DivergenceOptions,
  type FunctionMeasureName,
  type OutputKind,
  divergencePerSample,
  divergencePerSampleSync,
  outputKindWarning,
  pairwiseDivergence,
  predict,
  resolveOutputKind,
} from '../function/divergence';
import type { Predictions } from '../function/top';
import { type TokenGrid, nextTokenTargets, readTargets, toRows, tokenGrid } from '../function/token-grid';
import { type OpenTokenMask, type TokenMaskOptions, refuseSequenceOptions, tokenMask } from '../function/token-mask';
import { TokenAccumulator } from '../function/token-summary';
import { coalesce, pairBatches } from '../infer/align';
import { type InferenceStream, type InferOptions, type OutputBatch, streamOutputs } from '../infer/infer';
import type { ModelSource } from '../infer/session';
import { type ProbeStream, loadLabels } from '../io/probe';
import type { Tensor } from '../io/tensor';
import type { Matrix } from '../matrix';
import { measureInfo } from '../measures/registry';
import { l2, toProbabilities } from '../many/predictions';
import { type OutputStore, blocks } from '../many/store';
import { withRowOffset } from '../native/call';
import { standardDeviation } from '../stats';
import type { View } from './view';

/** Blocks up to this many output values (n·k) run the divergence kernels on the calling thread. */
const SYNC_BATCH_ELEMENTS = 1 << 16;
/** Small blocks are merged into chunks of at least this many output values per model. */
const CHUNK_VALUES = 1 << 15;

/** A model as the view reads it: a model run on the probe (compare's side 0 = a, 1 = b), or a model of the N-model store by index. */
export type FunctionModel = { source: ModelSource; side: 0 | 1 } | { index: number };

/** A model's outputs on the probe set as a stream of row blocks (what prepare returns). */
export type OutputSource = Pick<InferenceStream, 'label' | 'outputName' | 'outputNames' | 'inputConversions' | 'cached' | 'batches' | 'close'>;

/** Compare's inputs for sequence outputs: masks, targets and token ids, read from its probe and options. */
export interface SequenceInputs {
  options: TokenMaskOptions & { classAxis?: number; targets?: 'next'; topk?: number; top?: number; labels?: string | ArrayLike<number>; cwd?: string };
  probe: ProbeStream;
  maskOptions: OpenTokenMask;
  /** The probe input holding token ids, if any. */
  idsInput: string | undefined;
  /** How the labels name themselves in errors ("labels" or their file). */
  labelsName: string;
  /** The labels file, read whole (per-position targets have more than one axis). */
  labelsTensor: Tensor | undefined;
  perPositionLabels: boolean;
  /** One class label per sample, when given. */
  truth: Int32Array | undefined;
  /** Cohen's kappa was asked for (it is for one row per sample). */
  kappa: boolean;
}

export interface FunctionContext {
  /** Rows each model's outputs cover: probe samples (sequences, for sequence outputs). */
  n: number;
  /** Per-sample measures. */
  measures: FunctionMeasureName[];
  /** The measures of sequence outputs (default `measures`). */
  tokenMeasures?: FunctionMeasureName[];
  /** How outputs are read: a kind, or 'auto' (decided on the first block of both models). */
  outputs: OutputKind | 'auto';
  /** Options passed to the divergence kernels. */
  kernel: Pick<DivergenceOptions, 'epsilon' | 'bits' | 'cost' | 'isa' | 'threads'>;
  /** Names the emd-cost matrix in errors (default "cost matrix"). */
  costName?: string;
  /** Keep each model's predicted class and confidence per sample (for kappa, accuracy, top samples, per-class). */
  keepPredictions?: boolean;
  /** How a kernel error names its row: compare's probe 'sample', or the store's 'row' (default). */
  rowWord?: 'sample' | 'row';
  /** Where a warning goes (an explicit output reading that 'auto' would not choose); none when absent. */
  warn?: (message: string) => void;
  /** Models run on the probe (compare): a's probe, b's, and the inference options of each side. */
  inference?: { probe: ProbeStream; probeB: ProbeStream; options: (side: 0 | 1, model: ModelSource) => InferOptions };
  /** The N-model output store (matrix, study). */
  store?: OutputStore;
  /** Sequence outputs: compare's masks, targets and token ids. Without them, a sequence output is refused. */
  sequence?: SequenceInputs;
}

export interface FunctionPair {
  /** The two sources as prepared (labels, output names, cache flags, input conversions). */
  a: OutputSource;
  b: OutputSource;
  /** Classes: the output columns (the vocabulary, for sequence outputs). */
  k: number;
  /** How the outputs were read. */
  kind: OutputKind;
  /** The measures computed (the context's tokenMeasures for sequence outputs). */
  measures: FunctionMeasureName[];
  /** Each measure's value per sample (length n); for sequence outputs the token accumulator holds the values. */
  perSample: Record<FunctionMeasureName, Float64Array>;
  /** Each model's predicted class and confidence per sample (empty unless keepPredictions). */
  predictions: [Predictions, Predictions];
  /** Sequence outputs: the per-token values, targets and top-k overlaps, to summarize. */
  tokens?: TokenAccumulator;
}

/** One model's outputs, already in memory, as a source of one block (re-readable: a prepared model may be paired many times). */
export function storedSource(label: string, outputs: Matrix): OutputSource {
  const block: OutputBatch = { start: 0, end: outputs.n, output: outputs };
  return {
    label,
    outputName: 'outputs',
    outputNames: ['outputs'],
    inputConversions: [],
    cached: false,
    batches: {
      async *[Symbol.asyncIterator]() {
        yield block;
      },
    },
    close: async () => {},
  };
}

export const functionView: View<FunctionModel, FunctionContext, OutputSource, FunctionPair> = {
  async prepare(model, context) {
    if ('index' in model) {
      check(context.store !== undefined, 'INTERNAL', 'the function view reads a model by index from an output store');
      return storedSource(context.store.names[model.index], (await context.store.load([model.index]))[0]);
    }
    check(context.inference !== undefined, 'INTERNAL', 'the function view runs a model only on a probe set');
    const { probe, probeB, options } = context.inference;
    return streamOutputs(model.source, model.side === 0 ? probe : probeB, options(model.side, model.source));
  },
  pair: pairSources,
};

async function pairSources(sa: OutputSource, sb: OutputSource, context: FunctionContext): Promise<FunctionPair> {
  const { n, sequence } = context;
  let measures = context.measures;
  const perSample = Object.fromEntries(measures.map((m) => [m, new Float64Array(n)])) as Record<FunctionMeasureName, Float64Array>;
  const size = context.keepPredictions ? n : 0;
  const predA = { label: new Int32Array(size), confidence: new Float64Array(size) };
  const predB = { label: new Int32Array(size), confidence: new Float64Array(size) };
  let kind: OutputKind | undefined;
  let k = 0;
  // Sequence outputs (rank ≥ 3): the token grid and the accumulator of per-token numbers.
  let grid: TokenGrid | undefined;
  let tokens: TokenAccumulator | undefined;
  const divOptions: DivergenceOptions = { ...context.kernel, names: [sa.label, sb.label] };
  const outputLabel = (i: number) => (i === 0 ? `${sa.label} output "${sa.outputName}"` : `${sb.label} output "${sb.outputName}"`);
  /** The token grid of both models' sequence outputs, which must agree. */
  const startTokens = (da: number[] | undefined, db: number[] | undefined, seq: SequenceInputs): TokenGrid => {
    if (!da || !db) {
      const [seqModel, other] = da ? [0, 1] : [1, 0];
      throw new ModeldiffError('SHAPE_MISMATCH', `${outputLabel(seqModel)} is a sequence output [N, ${(da ?? db)!.join(', ')}] but ${outputLabel(other)} has one row per sample`);
    }
    if (seq.kappa) throw new ModeldiffError('INVALID_ARGUMENT', "metric 'kappa' is for one row per sample; sequence outputs report top-1 agreement instead", { option: 'metrics' });
    const ga = tokenGrid(da, seq.options.classAxis, outputLabel(0));
    const gb = tokenGrid(db, seq.options.classAxis, outputLabel(1));
    if (seq.truth !== undefined) {
      throw new ModeldiffError('SHAPE_MISMATCH', `${seq.labelsName}: one label per sequence, but sequence outputs need per-position targets of shape [${n}, ${ga.positionDims.join(', ')}] (negative = no target)`, {
        option: 'labels',
      });
    }
    if (ga.vocab !== gb.vocab) {
      throw new ModeldiffError(
        'SHAPE_MISMATCH',
        `the models' vocabularies differ: ${outputLabel(0)} has ${ga.vocab} classes on axis ${ga.classAxis}, ${outputLabel(1)} has ${gb.vocab}; token-level measures need the same vocabulary`,
      );
    }
    if (ga.positionDims.join() !== gb.positionDims.join()) {
      throw new ModeldiffError('SHAPE_MISMATCH', `the models' outputs disagree in positions: ${outputLabel(0)} is [N, ${da.join(', ')}], ${outputLabel(1)} is [N, ${db.join(', ')}]`);
    }
    return ga;
  };
  /** The mask, targets and token ids that go with the grid, read from the probe and files. */
  const tokenInputs = (g: TokenGrid, seq: SequenceInputs) => {
    const { probe, idsInput } = seq;
    const gridName = outputLabel(0);
    const { mask, source: maskSource, option: maskOption } = tokenMask(seq.maskOptions, probe, n, g, gridName);
    const idsTensor = idsInput !== undefined ? probe.inputs[idsInput].materialize() : undefined;
    const idsSource = idsInput !== undefined ? (probe.sources[idsInput] === '<array>' ? `probe input "${idsInput}"` : probe.sources[idsInput]) : '';
    let targets: Int32Array | undefined;
    let targetSource: string | undefined;
    if (seq.options.targets === 'next') {
      targets = nextTokenTargets(idsTensor!, mask, n, g, idsSource, gridName);
      targetSource = 'next';
    } else if (seq.perPositionLabels) {
      targets = readTargets(seq.labelsTensor!, n, g, seq.labelsName, gridName);
      targetSource = seq.labelsName;
    }
    const sameGrid = idsTensor !== undefined && idsTensor.shape.length === g.positionDims.length + 1 && idsTensor.data.length === n * g.positions;
    return { mask, maskSource, maskOption, targets, targetSource, tokenIds: sameGrid ? asInt32(idsTensor) : undefined };
  };
  try {
    for await (const batch of coalesce(pairBatches(sa.batches, sb.batches), CHUNK_VALUES)) {
      // Without sequence inputs (the store's outputs are token rows already), rows are read as they come.
      if (kind === undefined && sequence && (batch.a.dims || batch.b.dims)) {
        grid = startTokens(batch.a.dims, batch.b.dims, sequence);
        kind = resolveOutputKind([], context.outputs === 'auto' ? 'logits' : context.outputs);
        divOptions.outputs = kind;
        k = grid.vocab;
        measures = context.tokenMeasures ?? measures;
        tokens = new TokenAccumulator({
          n,
          grid,
          measures,
          divergence: divOptions,
          topk: sequence.options.topk,
          top: sequence.options.top,
          ...tokenInputs(grid, sequence),
        });
      }
      if (grid && tokens) {
        await tokens.add(batch.start, batch.a.n, toRows(batch.a.data, batch.a.n, grid), toRows(batch.b.data, batch.b.n, grid));
        continue;
      }
      if (kind === undefined) {
        if (sequence) {
          const { options, perPositionLabels } = sequence;
          if (perPositionLabels && options.targets === undefined) loadLabels(options.labels!, n, { cwd: options.cwd }); // its one-line error for labels that are not [n]
          refuseSequenceOptions(options, n, batch.a.k, outputLabel(0), options.targets !== undefined ? ['targets'] : perPositionLabels ? ['labels'] : []);
        }
        if (batch.a.k !== batch.b.k) {
          throw new ModeldiffError('SHAPE_MISMATCH', `the models' outputs disagree in shape: ${outputLabel(0)} is [${n}, ${batch.a.k}], ${outputLabel(1)} is [${n}, ${batch.b.k}]`);
        }
        k = batch.a.k;
        // 'auto' is decided on the first block; the kernels still validate every later block.
        const outputLabels = [outputLabel(0), outputLabel(1)];
        kind = resolveOutputKind([batch.a, batch.b], context.outputs, outputLabels, [
          { model: sa.label, outputs: sa.outputNames },
          { model: sb.label, outputs: sb.outputNames },
        ]);
        if (context.warn) {
          const misread = outputKindWarning([batch.a, batch.b], kind, outputLabels);
          if (misread !== undefined) context.warn(misread);
        }
        divOptions.outputs = kind;
        const cost = context.kernel.cost;
        if (measures.includes('emd-cost') && cost !== undefined) {
          const ke = kind === 'sigmoid' || kind === 'sigmoid-logit' ? 2 : k;
          check(
            cost.length === ke * ke,
            'SHAPE_MISMATCH',
            `${context.costName ?? 'cost matrix'}: the cost matrix must be ${ke} × ${ke} (one row and column per class of the models' outputs), got ${cost.length} values`,
          );
        }
      }
      let values = {} as Record<FunctionMeasureName, Float64Array>;
      try {
        if (measures.length > 0) {
          // A typical chunk (e.g. 3300×10) takes well under a millisecond: computing it on this
          // thread avoids a worker hop and a thread spawn per chunk, which cost more than the
          // work (and much more on a loaded machine). Big chunks go to the threaded kernels.
          values =
            batch.a.n * batch.a.k <= SYNC_BATCH_ELEMENTS && context.kernel.threads === undefined
              ? divergencePerSampleSync(batch.a, batch.b, measures, { ...divOptions, threads: 1 })
              : await divergencePerSample(batch.a, batch.b, measures, divOptions);
        }
      } catch (e) {
        // Kernel errors name a row of the chunk; name the row of the whole probe set instead.
        throw withRowOffset(e, batch.start, context.rowWord ?? 'row');
      }
      for (const m of measures) perSample[m].set(values[m], batch.start);
      if (context.keepPredictions) {
        const pa = predict(batch.a, kind);
        const pb = predict(batch.b, kind);
        predA.label.set(pa.label, batch.start);
        predA.confidence.set(pa.confidence, batch.start);
        predB.label.set(pb.label, batch.start);
        predB.confidence.set(pb.confidence, batch.start);
      }
    }
  } finally {
    await Promise.all([sa.close(), sb.close()]);
  }
  return { a: sa, b: sb, k, kind: kind!, measures, perSample, predictions: [predA, predB], ...(tokens ? { tokens } : {}) };
}

function asInt32(t: Tensor): Int32Array {
  const out = new Int32Array(t.data.length);
  for (let i = 0; i < out.length; i++) out[i] = Number(t.data[i]);
  return out;
}

/**
 * A pair's mean per-sample value of `measure` and its standard error: cluster-robust over
 * sequences when the rows are tokens (rows of one sequence are not independent).
 */
export function meanAndStderr(pair: FunctionPair, measure: FunctionMeasureName, clusters?: { clusters: Int32Array; sequences: number }): { mean: number; se: number; values: Float64Array } {
  const values = pair.perSample[measure];
  const n = values.length;
  let sum = 0;
  for (let q = 0; q < n; q++) sum += values[q];
  const mean = sum / n;
  const se = clusters ? clusterStderr(clusterSums([values], clusters.clusters, n, clusters.sequences)) : standardDeviation(values, mean) / Math.sqrt(n);
  return { mean, se, values };
}

/** The function view's context over the N-model store: one measure, outputs read as `outputKind`. */
export function storeContext(store: OutputStore, o: { metric: FunctionMeasureName; outputKind: OutputKind; epsilon?: number; cost?: Float64Array; threads?: number }): FunctionContext {
  return { n: store.samples, measures: [o.metric], outputs: o.outputKind, kernel: { epsilon: o.epsilon, cost: o.cost, threads: o.threads }, store };
}

/** The store's sequence clusters, for cluster-robust standard errors (none for one row per sample). */
export const storeClusters = (store: OutputStore) => (store.clusters ? { clusters: store.clusters, sequences: store.sequences! } : undefined);

export interface FunctionMatrixOptions {
  metric: FunctionMeasureName;
  /** Resolved output kind, passed to the divergence kernels. */
  outputKind: OutputKind;
  epsilon?: number;
  /** Cost matrix for 'emd-cost', passed to the divergence kernels. */
  cost?: Float64Array;
  threads?: number;
  /** Whether outputKind was detected from the first model ('auto'): every model must then read the same way. */
  detected?: boolean;
  /** Per pair (i < j): the view's pair and its mean's standard error. */
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
 * outputs held at once; each block's models are prepared together, from one load):
 * - the N×N mean matrix through the native pairwise kernel, one call per block pair (for a
 *   symmetric measure with `perPair` the pairs' means already hold every entry);
 * - with `perPair`, each pair (i < j) through the view's pair: its mean's standard error,
 *   and its per-sample values kept for the pairs chosen for the noise bootstrap;
 * - with `predictions`, the L2 distance between concatenated probability vectors.
 */
export async function functionMatrices(store: OutputStore, options: FunctionMatrixOptions): Promise<FunctionMatrices> {
  const N = store.names.length;
  const context = storeContext(store, options);
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
      const prepared = outs.map((outputs, x) => storedSource(store.names[ids[x]], outputs));
      const L = ids.length;
      // 'auto' looked at the first model only; a model whose outputs read differently (say,
      // probabilities among logits) would otherwise be compared as the wrong kind.
      if (options.detected) resolveOutputKind([firstOutputs ??= (await store.load([0]))[0], ...outs], 'auto', [store.names[0], ...ids.map((i) => store.names[i])]);
      const m = se && symmetric ? null : await pairwiseDivergence(outs, options.metric, { ...context.kernel, outputs: options.outputKind, names: ids.map((i) => store.names[i]) });
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
            const s = meanAndStderr(await functionView.pair(prepared[x], prepared[y], context), options.metric, storeClusters(store));
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
