/**
 * Token-level comparison of two models' sequence outputs, as llama.cpp's
 * `llama-perplexity --kl-divergence` reports it (A is the base, B the candidate; `kl` is
 * KL(A‖B)). Rows (tokens) arrive a batch of sequences at a time; masked rows are skipped (the
 * kernels are given the counted rows' indices and read only those), so they count nowhere.
 * Only per-token numbers are kept (a few float64 per token), never the rows themselves. At the end every measure is summarized by its
 * token-weighted mean, the per-sequence mean, percentiles and max, with a cluster-robust
 * standard error and a cluster (sequence) bootstrap interval (see cluster.ts); plus top-1
 * agreement, top-k overlap, next-token quality when targets are given, and the K tokens where
 * the models differ most.
 */
import { ModeldiffError } from '../errors';
import { withRowOffset } from '../native/call';
import { quantiles } from '../stats/describe';
import { samplesNeeded } from '../stats/sample-size';
import { clusterBootstrapCIs, clusterStderr, clusterSums } from './cluster';
import { type DivergenceOptions, type FunctionMeasureName, type RowsResult, divergenceRows, divergenceRowsSync } from './divergence';
import { type IntervalSummary, type MetricSummary, summarizeMeasures } from './summary';
import { type TokenGrid, gridWords } from './token-grid';
import type { Matrix } from '../matrix';

/** The percentiles reported for every token-level measure (as llama.cpp's KL report). */
export const TOKEN_PERCENTILES = ['50', '90', '95', '99', '99.9'] as const;
export type TokenPercentile = (typeof TOKEN_PERCENTILES)[number];
/** The percentiles of Δp between its min and max, as llama.cpp's "Token probability statistics". */
export const DELTA_P_PERCENTILES = ['0.1', '1', '5', '10', '25', '50', '75', '90', '95', '99', '99.9'] as const;
export type DeltaPPercentile = (typeof DELTA_P_PERCENTILES)[number];

/** Rows at most this many values run the kernels on the calling thread. */
const SYNC_ELEMENTS = 1 << 16;
/** Tokens listed per model in a top-list entry. */
const TOP_TOKENS_SHOWN = 3;

/** One measure over the counted tokens. */
export interface TokenMeasureSummary extends MetricSummary {
  /** Mean over sequences of each sequence's mean (every sequence weighs the same). */
  perSequenceMean: number;
  /** Token percentiles, numpy's linear interpolation. */
  percentiles: Record<TokenPercentile, number>;
}

/** A token-weighted rate with its cluster-robust standard error and cluster-bootstrap interval. */
export interface TokenRate {
  value: number;
  stderr: number;
  ci95: [number, number];
}

export interface NextTokenQuality {
  /** Where the targets came from: 'next' (the next input id) or the labels' source. */
  source: string;
  /** Tokens that have a target (and are unmasked). */
  targets: number;
  /** Mean negative log-likelihood of the target, [A, B], in the result's units (nats, or bits with `bits`). */
  crossEntropy: [number, number];
  /** exp(cross-entropy in nats): [A, B]. */
  perplexity: [number, number];
  /** perplexity B − perplexity A. */
  deltaPerplexity: TokenRate;
  /** ln(perplexity B / perplexity A) = crossEntropy B − crossEntropy A. */
  lnPerplexityRatio: TokenRate;
  /** √(mean over targets of (p_B(target) − p_A(target))²). */
  rmsDeltaP: TokenRate;
  /**
   * Δp = p_B(target) − p_A(target), the change in the target's probability: its mean over
   * targets (with the cluster-robust stderr and cluster-bootstrap interval), min, max and
   * percentiles (numpy's linear interpolation).
   */
  deltaP: TokenRate & { min: number; max: number; percentiles: Record<DeltaPPercentile, number> };
}

export interface TopTokenModel {
  /** The model's most likely tokens there (id and probability), best first. */
  tokens: Array<{ id: number; p: number }>;
}

export interface TopToken {
  sequence: number;
  position: number;
  value: number;
  /** The input token id at that position (when the probe has input ids). */
  tokenId?: number;
  /** The target there (when targets are given and the position has one). */
  target?: number;
  a: TopTokenModel;
  b: TopTokenModel;
}

export interface TokenSummary {
  /** Rows counted (unmasked tokens). */
  rows: number;
  /** Sequences with at least one counted row. */
  sequences: number;
  /** Sequences every row of which is masked: skipped. */
  skippedSequences: number;
  /** Rows excluded by the mask. */
  maskedRows: number;
  /** Rows per sequence (positions). */
  positions: number;
  /** The position axes of one sample: [sequence] for a language model, e.g. [H, W] for a segmentation map. */
  positionDims: number[];
  /** Classes per row (the vocabulary). */
  vocab: number;
  /** The class axis of the output (axis 0 = batch). */
  classAxis: number;
  /** Where the mask came from (an input name or a file), or null for none. */
  mask: string | null;
  /** How intervals treat correlated rows: whole sequences (or maps) are resampled. */
  uncertainty: 'cluster bootstrap over sequences' | 'cluster bootstrap over maps';
  metrics: Partial<Record<FunctionMeasureName, TokenMeasureSummary>>;
  /** Share of counted tokens where both models' most likely token is the same. */
  top1Agreement: TokenRate;
  /**
   * Mean |top-k of A ∩ top-k of B| / k over counted tokens. Absent when k is at least the
   * number of classes (a 5-class segmentation map at the default k = 5): every class is in both
   * top-k's and the overlap is 1 whatever the models do.
   */
  topkOverlap?: TokenRate & { k: number };
  next?: NextTokenQuality;
  /** The tokens with the largest value of the first measure. */
  top?: TopToken[];
}

export interface TokenAccumulatorOptions {
  /** Sequences (probe samples). */
  n: number;
  grid: TokenGrid;
  measures: FunctionMeasureName[];
  divergence: DivergenceOptions;
  /** 1 = counted, 0 = excluded, per row (n × positions); absent = every row counts. */
  mask?: Uint8Array;
  maskSource?: string;
  /** The option that chose the mask (named when every row is masked). Default 'mask'. */
  maskOption?: 'mask' | 'maskFile';
  /** Target class per row, -1 = none. */
  targets?: Int32Array;
  targetSource?: string;
  /** Input token id per row, for the top list. */
  tokenIds?: Int32Array;
  /** k of the top-k overlap (default 5). */
  topk?: number;
  /** List the K tokens where the first measure is largest. */
  top?: number;
}

/** The k best ids of a row, best first; ties keep the lower id first. */
function topIds(data: Float32Array | Float64Array, off: number, V: number, k: number, ids: Int32Array, vals: Float64Array): void {
  let filled = 0;
  // The k-th best so far: most values fail this one comparison (the hot path at V = 256k).
  let floor = -Infinity;
  for (let j = 0; j < V; j++) {
    const v = data[off + j];
    if (filled === k && !(v > floor)) continue;
    let i = filled < k ? filled++ : k - 1;
    while (i > 0 && v > vals[i - 1]) {
      vals[i] = vals[i - 1];
      ids[i] = ids[i - 1];
      i--;
    }
    vals[i] = v;
    ids[i] = j;
    if (filled === k) floor = vals[k - 1];
  }
}

function logSumExp(data: Float32Array | Float64Array, off: number, V: number, max: number): number {
  let s = 0;
  for (let j = 0; j < V; j++) s += Math.exp(data[off + j] - max);
  return max + Math.log(s);
}

export class TokenAccumulator {
  private readonly o: TokenAccumulatorOptions;
  private readonly k: number;
  private count = 0;
  private masked = 0;
  private readonly values: Float64Array[];
  private readonly seq: Int32Array;
  private readonly pos: Int32Array;
  private readonly agree: Float64Array;
  private readonly overlap: Float64Array;
  private readonly nllA?: Float64Array;
  private readonly nllB?: Float64Array;
  private readonly hasTarget?: Uint8Array;
  /** The counted rows of the batch being added (indices into it), reused across batches. */
  private kept?: Int32Array;
  private readonly top: TopToken[] = [];
  private readonly idsA: Int32Array;
  private readonly idsB: Int32Array;
  private readonly valsA: Float64Array;
  private readonly valsB: Float64Array;

  constructor(o: TokenAccumulatorOptions) {
    this.o = o;
    const cap = o.n * o.grid.positions;
    this.k = Math.min(o.topk ?? 5, o.grid.vocab);
    this.values = o.measures.map(() => new Float64Array(cap));
    this.seq = new Int32Array(cap);
    this.pos = new Int32Array(cap);
    this.agree = new Float64Array(cap);
    this.overlap = new Float64Array(cap);
    if (o.targets) {
      this.nllA = new Float64Array(cap);
      this.nllB = new Float64Array(cap);
      this.hasTarget = new Uint8Array(cap);
    }
    const kk = Math.max(this.k, TOP_TOKENS_SHOWN);
    this.idsA = new Int32Array(kk);
    this.idsB = new Int32Array(kk);
    this.valsA = new Float64Array(kk);
    this.valsB = new Float64Array(kk);
  }

  /** Rows of sequences [start, start + samples): a and b are [samples × positions, vocab]. */
  async add(start: number, samples: number, a: Float32Array | Float64Array, b: Float32Array | Float64Array): Promise<void> {
    const { grid, mask } = this.o;
    const V = grid.vocab;
    const P = grid.positions;
    const first = start * P;
    const rows = samples * P;
    // The counted rows' indices: the kernels read just those rows of a and b in place.
    if (!this.kept || this.kept.length < rows) this.kept = new Int32Array(rows);
    let kept = 0;
    for (let r = 0; r < rows; r++) if (!mask || mask[first + r]) this.kept[kept++] = r;
    this.masked += rows - kept;
    if (kept === 0) return;
    const keptRows = this.kept.subarray(0, kept);
    const oa: Matrix = { data: a, n: rows, k: V };
    const ob: Matrix = { data: b, n: rows, k: V };
    const measures = this.o.measures;
    const k = this.k;
    const { targets, tokenIds } = this.o;
    // The kernel's row pass also gives each model's top-k and the target's log-probability (one
    // softmax per row and model).
    let rowsOut: RowsResult<FunctionMeasureName>;
    try {
      const extras = { topk: k, targets: targets?.subarray(first, first + rows), rows: keptRows };
      rowsOut =
        kept * V <= SYNC_ELEMENTS && this.o.divergence.threads === undefined
          ? divergenceRowsSync(oa, ob, measures, extras, { ...this.o.divergence, threads: 1 })
          : await divergenceRows(oa, ob, measures, extras, this.o.divergence);
    } catch (e) {
      // Kernel errors name a row of the batch (its row field); name the sequence and position instead.
      const sample = gridWords(grid).sample;
      throw withRowOffset(e, first, (g) => `${sample} ${Math.floor(g / P)}, position ${g % P}`);
    }
    const values = rowsOut.values;
    const [topA, topB] = rowsOut.top!;
    const [logProbA, logProbB] = rowsOut.targetLogProb ?? [];
    const columns = measures.map((m) => values[m]);
    // Column by column, in tight loops (this bookkeeping runs on the calling thread after the
    // kernel's threads are done, so it is wall time of every batch).
    const t0 = this.count;
    this.count += kept;
    for (let m = 0; m < columns.length; m++) this.values[m].set(columns[m], t0);
    for (let i = 0; i < kept; i++) {
      const g = first + keptRows[i];
      const s = (g / P) | 0;
      this.seq[t0 + i] = s;
      this.pos[t0 + i] = g - s * P;
    }
    for (let i = 0; i < kept; i++) {
      const ka = i * k;
      this.agree[t0 + i] = topA[ka] === topB[ka] ? 1 : 0;
      // A row's top-k ids are distinct: each of A's matches at most one of B's.
      let common = 0;
      for (let x = 0; x < k; x++) {
        const id = topA[ka + x];
        for (let y = 0; y < k; y++) {
          if (topB[ka + y] === id) {
            common++;
            break;
          }
        }
      }
      this.overlap[t0 + i] = common / k;
    }
    if (targets) {
      for (let i = 0; i < kept; i++) {
        if (targets[first + keptRows[i]] < 0) continue;
        this.hasTarget![t0 + i] = 1;
        this.nllA![t0 + i] = -logProbA![i];
        this.nllB![t0 + i] = -logProbB![i];
      }
    }
    if (this.o.top !== undefined && measures.length > 0) {
      for (let i = 0; i < kept; i++) {
        const r = keptRows[i];
        const g = first + r;
        this.offerTop(t0 + i, g, a, b, r * V, targets ? targets[g] : -1, tokenIds);
      }
    }
  }

  /** Keep the K tokens with the largest first measure (ties: the earlier token). */
  private offerTop(t: number, g: number, ra: Float32Array | Float64Array, rb: Float32Array | Float64Array, off: number, target: number, tokenIds?: Int32Array): void {
    const K = this.o.top!;
    const v = this.values[0][t];
    if (this.top.length === K && !(v > this.top[K - 1].value)) return;
    const V = this.o.grid.vocab;
    const shown = Math.min(TOP_TOKENS_SHOWN, V);
    const model = (data: Float32Array | Float64Array, ids: Int32Array, vals: Float64Array): TopTokenModel => {
      topIds(data, off, V, shown, ids, vals);
      const lse = logSumExp(data, off, V, vals[0]);
      return { tokens: Array.from({ length: shown }, (_, j) => ({ id: ids[j], p: Math.exp(vals[j] - lse) })) };
    };
    const entry: TopToken = { sequence: this.seq[t], position: this.pos[t], value: v, a: model(ra, this.idsA, this.valsA), b: model(rb, this.idsB, this.valsB) };
    if (tokenIds) entry.tokenId = tokenIds[g];
    if (target >= 0) entry.target = target;
    let i = this.top.length;
    while (i > 0 && v > this.top[i - 1].value) i--;
    this.top.splice(i, 0, entry);
    if (this.top.length > K) this.top.pop();
  }

  /** Per-token values of each measure, in row order (counted rows only). */
  perToken(): Partial<Record<FunctionMeasureName, Float64Array>> {
    return Object.fromEntries(this.o.measures.map((m, i) => [m, this.values[i].subarray(0, this.count)]));
  }

  /** Each counted token's sequence and position (flat index over the position axes), in the order of {@link perToken}. */
  perTokenIndex(): { sequence: Int32Array; position: Int32Array } {
    return { sequence: this.seq.slice(0, this.count), position: this.pos.slice(0, this.count) };
  }

  /**
   * The summary of everything added. Means, intervals and samples-needed of the measures,
   * top-1 agreement and top-k overlap come from the shared summary (lib/function/summary.ts)
   * with each token's sequence as its cluster; the standard errors are cluster-robust.
   */
  async summarize(options: {
    replicates: number;
    seed: number;
    threads?: number;
    precision?: number;
    onProgress?: (done: number, total: number) => void;
  }): Promise<{ summary: TokenSummary; bootstrap: IntervalSummary; hints: string[] }> {
    const { n, grid, measures } = this.o;
    const N = this.count;
    if (N === 0) {
      throw new ModeldiffError('INVALID_ARGUMENT', `${this.o.maskSource ?? 'the mask'}: every position of every ${gridWords(grid).sample} is masked; nothing to compare`, {
        option: this.o.maskOption ?? 'mask',
        input: this.o.maskSource, // the mask's content is at fault, not the option's value
      });
    }
    const seq = this.seq.subarray(0, N);
    const series: Record<string, Float64Array> = {};
    measures.forEach((m, j) => (series[m] = this.values[j].subarray(0, N)));
    series['top-1 agreement'] = this.agree.subarray(0, N);
    if (this.k < grid.vocab) series['top-k overlap'] = this.overlap.subarray(0, N);
    const names = Object.keys(series);
    const shared = await summarizeMeasures(series, names, { ...options, clusters: seq });
    const c = clusterSums(names.map((m) => series[m]), this.seq, N, n);
    let sequences = 0;
    for (let s = 0; s < n; s++) if (c.counts[s] > 0) sequences++;
    const rate = (j: number): TokenRate => {
      const base = shared.metrics[names[j]]!;
      return { value: base.mean, stderr: clusterStderr(c, j), ci95: base.ci95 };
    };
    const metrics: Partial<Record<FunctionMeasureName, TokenMeasureSummary>> = {};
    measures.forEach((m, j) => {
      const base = shared.metrics[m]!;
      const stderr = clusterStderr(c, j);
      let perSeq = 0;
      for (let s = 0; s < n; s++) if (c.counts[s] > 0) perSeq += c.sums[j][s] / c.counts[s];
      // By selection, not a sort (lib/stats/describe.ts): the same order statistics.
      const percentiles = quantiles(series[m], TOKEN_PERCENTILES.map((p) => Number(p) / 100));
      // Sequences needed, not tokens: the cluster standard error scales as 1/√sequences.
      const need = samplesNeeded(stderr * Math.sqrt(sequences), base.mean, options.precision);
      metrics[m] = {
        ...base,
        stderr,
        samplesNeeded: Number.isNaN(stderr) ? { halfWidth: need.halfWidth, n: NaN } : need,
        perSequenceMean: perSeq / sequences,
        percentiles: Object.fromEntries(TOKEN_PERCENTILES.map((p, i) => [p, percentiles[i]])) as Record<TokenPercentile, number>,
      };
    });
    const nm = measures.length;
    const summary: TokenSummary = {
      rows: N,
      sequences,
      skippedSequences: n - sequences,
      maskedRows: this.masked,
      positions: grid.positions,
      positionDims: [...grid.positionDims],
      vocab: grid.vocab,
      classAxis: grid.classAxis,
      mask: this.o.maskSource ?? null,
      uncertainty: gridWords(grid).samples === 'maps' ? 'cluster bootstrap over maps' : 'cluster bootstrap over sequences',
      metrics,
      top1Agreement: rate(nm),
      ...(this.k < grid.vocab && { topkOverlap: { k: this.k, ...rate(nm + 1) } }),
    };
    if (this.o.targets) summary.next = this.nextTokenQuality(options);
    if (this.o.top !== undefined && measures.length > 0) summary.top = this.top;
    const hints = shared.hints.filter((h) => !/^top-/.test(h));
    return { summary, bootstrap: shared.bootstrap, hints };
  }

  private nextTokenQuality(options: { replicates: number; seed: number }): NextTokenQuality {
    const N = this.count;
    const nllA = this.nllA!;
    const nllB = this.nllB!;
    const dp = new Float64Array(N);
    const dp2 = new Float64Array(N);
    const diff = new Float64Array(N);
    let targets = 0;
    for (let t = 0; t < N; t++) {
      if (!this.hasTarget![t]) continue;
      targets++;
      const d = Math.exp(-nllB[t]) - Math.exp(-nllA[t]);
      dp[t] = d;
      dp2[t] = d * d;
      diff[t] = nllB[t] - nllA[t];
    }
    const source = this.o.targetSource ?? 'targets';
    if (targets === 0) {
      throw new ModeldiffError('INVALID_ARGUMENT', `${source}: no unmasked position has a target; nothing to score`, { option: this.o.targetSource === 'next' ? 'targets' : 'labels' });
    }
    const c = clusterSums([nllA, nllB, dp2, diff, dp], this.seq, N, this.o.n, this.hasTarget);
    const total = (j: number) => c.sums[j].reduce((x, y) => x + y, 0);
    const ceA = total(0) / targets;
    const ceB = total(1) / targets;
    const { replicates, seed } = options;
    // One cluster bootstrap for the four intervals (means: the resampled mean of each series above).
    const [ciDeltaPpl, ciLnRatio, ciRms, ciDeltaP] = clusterBootstrapCIs(
      c,
      [(m) => Math.exp(m[1]) - Math.exp(m[0]), (m) => m[3], (m) => Math.sqrt(m[2]), (m) => m[4]],
      replicates,
      seed,
    );
    const dPpl = Math.exp(ceB) - Math.exp(ceA);
    // Delta method for exp: se(e^B − e^A) from the cluster se of the per-sequence linearization.
    const linear = new Float64Array(N);
    const [pplA, pplB] = [Math.exp(ceA), Math.exp(ceB)];
    for (let t = 0; t < N; t++) if (this.hasTarget![t]) linear[t] = pplB * nllB[t] - pplA * nllA[t];
    const cl = clusterSums([linear], this.seq, N, this.o.n, this.hasTarget);
    const rms = Math.sqrt(total(2) / targets);
    const targetDp = new Float64Array(targets);
    for (let t = 0, j = 0; t < N; t++) if (this.hasTarget![t]) targetDp[j++] = dp[t];
    // Min, max and the percentiles from one selection: quantiles 0 and 1 are the extremes.
    const [minDp, maxDp, ...dpPercentiles] = quantiles(targetDp, [0, 1, ...DELTA_P_PERCENTILES.map((p) => Number(p) / 100)]);
    // Cross-entropy is an information measure: it follows the units of the divergences
    // (perplexity does not depend on them; the log ratio is ln by its name).
    const unit = this.o.divergence.bits ? Math.LN2 : 1;
    return {
      source,
      targets,
      crossEntropy: [ceA / unit, ceB / unit],
      perplexity: [Math.exp(ceA), Math.exp(ceB)],
      deltaPerplexity: { value: dPpl, stderr: clusterStderr(cl, 0), ci95: ciDeltaPpl },
      lnPerplexityRatio: { value: ceB - ceA, stderr: clusterStderr(c, 3), ci95: ciLnRatio },
      rmsDeltaP: { value: rms, stderr: rms > 0 ? clusterStderr(c, 2) / (2 * rms) : 0, ci95: ciRms },
      deltaP: {
        value: total(4) / targets,
        stderr: clusterStderr(c, 4),
        ci95: ciDeltaP,
        min: minDp,
        max: maxDp,
        percentiles: Object.fromEntries(DELTA_P_PERCENTILES.map((p, i) => [p, dpPercentiles[i]])) as Record<DeltaPPercentile, number>,
      },
    };
  }
}
