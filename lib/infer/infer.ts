/**
 * Running a model over a probe set, batch by batch, with the output cache.
 *
 * `streamOutputs` opens the model, checks the probe data against its inputs,
 * and returns the output metadata plus an async iterator of per-batch output
 * matrices; memory stays bounded by the batch (unless the cache is on, which
 * keeps the n×k outputs to store them). `inferOutputs` collects the full n×k
 * matrix. Other commands (many models, the demo) build on these.
 */
import * as ort from 'onnxruntime-node';

import { ModeldiffError } from '../errors';
import { type ProbeData, type ProbeSource, autoBatchSize, loadProbe, probeBatches } from '../io/probe';
import { cacheKey, defaultCacheDir, readCacheEntry, writeCacheEntry } from './cache';
import { type FeedPlan, makeFeeds, planFeeds } from './feeds';
import { type OutputArray, outputMatrix } from './outputs';
import { type ModelHandle, type ModelSource, closeModel, openModel } from './session';

export interface InferOptions {
  /** Output to read (default: the model's first output). */
  output?: string;
  /** Samples per onnxruntime run (default: automatic, see autoBatchSize). */
  batchSize?: number;
  /** Use the output cache (default true; sessions passed in are never cached). */
  cache?: boolean;
  /** Cache folder (default ~/.cache/modeldiff, or $MODELDIFF_CACHE_DIR). */
  cacheDir?: string;
  /** Called after each batch with samples done and the total. */
  onProgress?: (done: number, total: number) => void;
  /** Called with non-fatal problems (e.g. an unwritable cache folder); default: ignored (they are also returned). */
  onWarning?: (message: string) => void;
  /** Resolves relative model and probe paths (default process.cwd()). */
  cwd?: string;
  /** Name used for the model in messages (default: its path). */
  label?: string;
}

export interface OutputBatch {
  start: number;
  end: number;
  output: OutputArray;
}

export interface InferenceStream {
  label: string;
  outputName: string;
  /** Notes for each dtype conversion of probe data to the model's inputs. */
  inputConversions: string[];
  /** Whether the outputs come from the cache (no inference runs). */
  cached: boolean;
  /** Cache problems met so far (also passed to onWarning). */
  warnings: string[];
  n: number;
  batchSize: number;
  batches: AsyncIterable<OutputBatch>;
  /** Release the model's session (idempotent; also done when the batches are exhausted or abandoned). */
  close(): Promise<void>;
}

export interface InferResult {
  outputs: OutputArray;
  outputName: string;
  inputConversions: string[];
  cached: boolean;
  warnings: string[];
}

/** How many onnxruntime runs this process made (tests assert cache hits with it). */
export const inferenceCounters = { runs: 0 };

function pickOutput(handle: ModelHandle, requested: string | undefined): string {
  const names = handle.session.outputNames;
  if (requested === undefined) {
    if (names.length === 0) throw new ModeldiffError('MODEL_OUTPUT', `${handle.label}: the model has no outputs`);
    return names[0];
  }
  if (!names.includes(requested)) {
    throw new ModeldiffError('MODEL_OUTPUT', `${handle.label}: no output named "${requested}" (its outputs: ${names.join(', ')})`);
  }
  return requested;
}

export async function streamOutputs(model: ModelSource, probeSource: ProbeSource, options: InferOptions = {}): Promise<InferenceStream> {
  const probe = loadProbe(probeSource, { cwd: options.cwd });
  const opened = await openModel(model, { cwd: options.cwd, label: options.label });
  let closing: Promise<void> | undefined;
  const close = () => (closing ??= closeModel(opened));
  const handle = opened;
  let plan: FeedPlan;
  let outputName: string;
  try {
    outputName = pickOutput(handle, options.output);
    plan = planFeeds(handle, probe);
  } catch (e) {
    await close();
    throw e;
  }
  let batchSize = options.batchSize ?? autoBatchSize(probe);
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    await close();
    throw new ModeldiffError('USAGE', `--batch-size must be a positive integer, got ${batchSize}`);
  }
  const fixed = plan.inputs.map((p) => p.fixedBatch).filter((b): b is number => b !== undefined);
  if (fixed.length > 0) batchSize = Math.min(...fixed);

  const warnings: string[] = [];
  const warn = (m: string) => {
    warnings.push(m);
    options.onWarning?.(m);
  };
  const useCache = (options.cache ?? true) && handle.sha256 !== undefined;
  const dir = options.cacheDir ?? defaultCacheDir();
  const key = useCache
    ? cacheKey({
        modelSha256: handle.sha256!(),
        outputName,
        inputs: plan.inputs.map((p) => [p.input, p.dtype, probe.inputs[p.probeKey]]),
      })
    : '';
  if (useCache) {
    const read = readCacheEntry(dir, key);
    if (read.status === 'hit' && read.output.n === probe.n) {
      await close();
      const out = read.output;
      return {
        label: handle.label,
        outputName,
        inputConversions: plan.conversions,
        cached: true,
        warnings,
        n: probe.n,
        batchSize,
        batches: sliceBatches(out, batchSize, options.onProgress),
        close,
      };
    }
    // A corrupt entry is simply recomputed and overwritten below.
  }
  return {
    label: handle.label,
    outputName,
    inputConversions: plan.conversions,
    cached: false,
    warnings,
    n: probe.n,
    batchSize,
    batches: runBatches(handle, close, probe, plan, outputName, batchSize, options.onProgress, useCache ? { dir, key, warn } : undefined),
    close,
  };
}

async function* sliceBatches(out: OutputArray, batchSize: number, onProgress?: (d: number, t: number) => void): AsyncGenerator<OutputBatch> {
  for (let start = 0; start < out.n; start += batchSize) {
    const end = Math.min(out.n, start + batchSize);
    yield { start, end, output: { data: out.data.subarray(start * out.k, end * out.k), n: end - start, k: out.k } };
    onProgress?.(end, out.n);
  }
}

async function* runBatches(
  handle: ModelHandle,
  close: () => Promise<void>,
  probe: ProbeData,
  plan: FeedPlan,
  outputName: string,
  batchSize: number,
  onProgress: ((d: number, t: number) => void) | undefined,
  cache: { dir: string; key: string; warn: (m: string) => void } | undefined,
): AsyncGenerator<OutputBatch> {
  let all: Float32Array | Float64Array | undefined;
  let k = -1;
  try {
    for (const batch of probeBatches(probe, batchSize)) {
      const rows = batch.end - batch.start;
      let result: ort.InferenceSession.ReturnType;
      try {
        result = await handle.session.run(makeFeeds(plan, batch.inputs), [outputName]);
      } catch (cause) {
        const why = ((cause as Error).message ?? String(cause)).split('\n')[0];
        throw new ModeldiffError('MODEL_INPUT', `${handle.label}: onnxruntime failed on samples ${batch.start}..${batch.end - 1}: ${why}`, { cause });
      }
      inferenceCounters.runs++;
      const output = outputMatrix(result[outputName] as ort.Tensor, rows, handle.label, outputName, batch.start);
      if (k < 0) k = output.k;
      if (cache) {
        all ??= output.data instanceof Float64Array ? new Float64Array(probe.n * k) : new Float32Array(probe.n * k);
        all.set(output.data, batch.start * k);
      }
      yield { start: batch.start, end: batch.end, output };
      onProgress?.(batch.end, probe.n);
    }
    if (cache && all) {
      const err = writeCacheEntry(cache.dir, cache.key, { data: all, n: probe.n, k });
      if (err) cache.warn(`output cache disabled for this run: cannot write to ${cache.dir} (${err})`);
    }
  } finally {
    await close();
  }
}

/** Run a model on the whole probe set and return its n×k outputs (from the cache when possible). */
export async function inferOutputs(model: ModelSource, probe: ProbeSource, options: InferOptions = {}): Promise<InferResult> {
  const stream = await streamOutputs(model, probe, options);
  let outputs: OutputArray | undefined;
  try {
    for await (const b of stream.batches) {
      if (!outputs) {
        const Ctor = b.output.data instanceof Float64Array ? Float64Array : Float32Array;
        outputs = { data: new Ctor(stream.n * b.output.k), n: stream.n, k: b.output.k };
      }
      outputs.data.set(b.output.data, b.start * outputs.k);
    }
  } finally {
    await stream.close();
  }
  return { outputs: outputs!, outputName: stream.outputName, inputConversions: stream.inputConversions, cached: stream.cached, warnings: stream.warnings };
}
