/**
 * Running a model over a probe set, batch by batch, with the output cache.
 *
 * `streamOutputs` opens the model, checks the probe data against its inputs,
 * and returns the output metadata plus an async iterator of per-batch output
 * matrices. Memory stays bounded by the batch: C-order .npy probe files are
 * read a batch of rows at a time (see openProbe), outputs are appended to the
 * cache entry as each batch arrives, and a cache hit is read back by batch.
 * `inferOutputs` collects the full n×k matrix for callers that need it all
 * (the many-model matrix, barriers). Other commands build on these.
 */
import path from 'node:path';

import * as ort from 'onnxruntime-node';

import { ModeldiffError } from '../errors';
import { type ProbeSource, type ProbeStream, autoBatchSize, openProbe, probeBatches } from '../io/probe';
import { formatBytes } from '../util/size';
import { type CacheEntry, CacheWriter, cacheKey, cachePath, defaultCacheDir, openCacheEntry } from './cache';
import { checkProbeFinite, checkTokenInputs } from './probe-check';
import { cacheEntryMaxBytes, cacheMaxBytes, pruneCache, touchCacheEntry } from './cache-budget';
import { type FeedPlan, makeFeeds, planFeeds } from './feeds';
import { outputMatrix } from './outputs';
import { type ModelHandle, type ModelSource, closeModel, openModel } from './session';
import { unzipMapOutput } from './zipmap';
import type { Matrix } from '../matrix';

export interface InferOptions {
  /** Output to read (default: the model's first output). */
  output?: string;
  /** Samples per onnxruntime run (default: automatic, see autoBatchSize). */
  batchSize?: number;
  /** Use the output cache (default true; sessions passed in are never cached). */
  cache?: boolean;
  /** Cache folder (default ~/.cache/modeldiff, or $MODELDIFF_CACHE_DIR). */
  cacheDir?: string;
  /** Cap on the cache folder in bytes (default $MODELDIFF_CACHE_SIZE, else 10 GiB); least recently used entries go first. */
  cacheMaxBytes?: number;
  /** Outputs bigger than this many bytes are not cached (default 2 GiB). */
  cacheEntryMaxBytes?: number;
  /** Called after each batch with samples done and the total. */
  onProgress?: (done: number, total: number) => void;
  /** Called with non-fatal problems (e.g. an unwritable cache folder); default: ignored (they are also returned). */
  onWarning?: (message: string) => void;
  /** Resolves relative model and probe paths (default process.cwd()). */
  cwd?: string;
  /** Name used for the model in messages (default: its path). */
  label?: string;
  /** onnxruntime execution providers in order of preference (default ['cpu']). */
  executionProviders?: readonly string[];
}

/**
 * Automatic batches hold at most about this many bytes of one model's output: a language
 * model's logits are sequence × vocabulary floats per sample (16 × 256k × 4 bytes = 16 MiB).
 */
export const OUTPUT_BATCH_BYTES = 64 << 20;

/**
 * Bytes of one sample's output, from the model's declared output shape with symbolic axes
 * resolved through the inputs that share their names (e.g. "sequence" of input_ids);
 * undefined when an axis cannot be resolved.
 */
function outputBytesPerSample(handle: ModelHandle, outputName: string, probe: ProbeStream, plan: FeedPlan): number | undefined {
  const out = (handle.session.outputMetadata ?? []).find((m) => m.name === outputName);
  if (!out || !out.isTensor || out.shape.length < 2) return undefined;
  const symbols = new Map<string, number>();
  for (const m of handle.session.inputMetadata ?? []) {
    const p = plan.inputs.find((x) => x.input === m.name);
    if (!p || !m.isTensor) continue;
    const shape = probe.inputs[p.probeKey].shape;
    m.shape.forEach((d, i) => {
      if (typeof d === 'string' && i < shape.length) symbols.set(d, shape[i]);
    });
  }
  let elements = 1;
  for (const d of out.shape.slice(1)) {
    const size = typeof d === 'number' && d >= 0 ? d : typeof d === 'string' ? symbols.get(d) : undefined;
    if (size === undefined) return undefined;
    elements *= size;
  }
  return elements * 4;
}

export interface OutputBatch {
  start: number;
  end: number;
  output: Matrix;
}

export interface InferenceStream {
  label: string;
  outputName: string;
  /** Every output the model has, in its order (outputName is one of them). */
  outputNames: readonly string[];
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
  outputs: Matrix;
  outputName: string;
  inputConversions: string[];
  cached: boolean;
  warnings: string[];
}

interface CacheLimits {
  maxBytes: number;
  entryMaxBytes: number;
}

/** How many onnxruntime runs this process made (tests assert cache hits with it). */
export const inferenceCounters = { runs: 0 };

const INTEGER_TYPES = new Set(['int8', 'int16', 'int32', 'int64', 'uint8', 'uint16', 'uint32', 'uint64', 'bool']);

/**
 * The output to read: the one requested, else the first — except that scikit-learn exports
 * (skl2onnx) put integer class labels first and the probabilities after them, so a first
 * output of integers is passed over for the first floating-point one (and the note says so).
 */
function pickOutput(handle: ModelHandle, requested: string | undefined): { name: string; note?: string; tensor: boolean } {
  const names = handle.session.outputNames;
  const meta = new Map((handle.session.outputMetadata ?? []).map((m) => [m.name, m]));
  let name: string;
  let note: string | undefined;
  if (requested === undefined) {
    if (names.length === 0) throw new ModeldiffError('MODEL_OUTPUT', `${handle.label}: the model has no outputs`);
    name = names[0];
    const first = meta.get(name);
    const scores = names.find((o) => !INTEGER_TYPES.has((meta.get(o) as { type?: string } | undefined)?.type ?? ''));
    if (first?.isTensor && INTEGER_TYPES.has(first.type) && scores !== undefined) {
      name = scores;
      note = `${handle.label}: reading output "${name}" (the first output, "${names[0]}", holds integer class labels)`;
    }
  } else {
    if (!names.includes(requested)) {
      throw new ModeldiffError('MODEL_OUTPUT', `${handle.label}: no output named "${requested}" (its outputs: ${names.join(', ')})`);
    }
    name = requested;
  }
  return { name, note, tensor: meta.get(name)?.isTensor !== false };
}

/**
 * A non-tensor output: ZipMap's maps are read as probability rows (the model
 * is reopened rewritten, see zipmap.ts); anything else onnxruntime-node cannot
 * return is an error.
 */
async function openUnzipped(model: ModelSource, handle: ModelHandle, name: string, options: InferOptions): Promise<{ handle: ModelHandle; note: string }> {
  const source = typeof model === 'string' ? path.resolve(options.cwd ?? process.cwd(), model) : model instanceof Uint8Array ? model : undefined;
  const unzipped = source === undefined ? undefined : unzipMapOutput(source, name, handle.label);
  if (!unzipped) {
    const why = source === undefined ? "; pass the model's file or bytes instead of a session, or export it with zipmap=False (skl2onnx: options={'zipmap': False})" : '';
    throw new ModeldiffError('MODEL_OUTPUT', `${handle.label}: output "${name}" is not a tensor (a sequence or a map), which onnxruntime-node cannot return${why}`, { option: 'output' });
  }
  const opened = await openModel(unzipped.bytes, { label: handle.label, executionProviders: options.executionProviders });
  const note = `${handle.label}: reading output "${name}" (ZipMap's maps) as probability rows in class order: ${unzipped.labels.join(', ')}`;
  return { handle: opened, note };
}

export async function streamOutputs(model: ModelSource, probeSource: ProbeSource | ProbeStream, options: InferOptions = {}): Promise<InferenceStream> {
  const probe = openProbe(probeSource, { cwd: options.cwd });
  checkTokenInputs(probe);
  let opened = await openModel(model, { cwd: options.cwd, label: options.label, executionProviders: options.executionProviders });
  let closing: Promise<void> | undefined;
  const close = () => (closing ??= closeModel(opened));
  let plan: FeedPlan;
  let outputName: string;
  const outputNotes: string[] = [];
  try {
    const picked = pickOutput(opened, options.output);
    outputName = picked.name;
    if (picked.note) outputNotes.push(picked.note);
    if (!picked.tensor) {
      const unzipped = await openUnzipped(model, opened, outputName, options);
      await closeModel(opened);
      opened = unzipped.handle;
      outputNotes.push(unzipped.note);
    }
    plan = planFeeds(opened, probe);
  } catch (e) {
    await close();
    throw e;
  }
  const handle = opened;
  let batchSize = options.batchSize ?? autoBatchSize(probe);
  if (options.batchSize === undefined) {
    // Sized by bytes too: outputs, not inputs, dominate for language models.
    const perSample = outputBytesPerSample(handle, outputName, probe, plan);
    if (perSample !== undefined) batchSize = Math.max(1, Math.min(batchSize, Math.floor(OUTPUT_BATCH_BYTES / perSample)));
  }
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    await close();
    throw new ModeldiffError('INVALID_ARGUMENT', `options.batchSize must be a positive integer, got ${batchSize}`, { option: 'batchSize' });
  }
  const fixed = plan.inputs.map((p) => p.fixedBatch).filter((b): b is number => b !== undefined);
  if (fixed.length > 0) batchSize = Math.min(...fixed);

  const warnings: string[] = [];
  const warn = (m: string) => {
    warnings.push(m);
    options.onWarning?.(m);
  };
  outputNotes.forEach(warn);
  const useCache = (options.cache ?? true) && handle.sha256 !== undefined;
  const dir = options.cacheDir ?? defaultCacheDir();
  let limits: CacheLimits | undefined;
  try {
    limits = useCache ? { maxBytes: cacheMaxBytes(options.cacheMaxBytes), entryMaxBytes: cacheEntryMaxBytes(options.cacheEntryMaxBytes) } : undefined;
  } catch (e) {
    await close();
    throw e;
  }
  const key = useCache
    ? cacheKey({
        modelSha256: handle.sha256!(),
        outputName,
        inputs: plan.inputs.map((p) => [p.input, p.dtype, probe.inputs[p.probeKey]]),
      })
    : '';
  if (useCache) {
    const read = openCacheEntry(dir, key);
    if (read.status === 'hit' && read.entry.n !== probe.n) read.entry.close();
    else if (read.status === 'hit') {
      await close();
      touchCacheEntry(cachePath(dir, key));
      const entry = read.entry;
      return {
        label: handle.label,
        outputName,
        outputNames: handle.session.outputNames,
        inputConversions: plan.conversions,
        cached: true,
        warnings,
        n: probe.n,
        batchSize,
        batches: entryBatches(entry, batchSize, options.onProgress),
        close: async () => entry.close(),
      };
    }
    // A corrupt entry is simply recomputed and overwritten below.
  }
  return {
    label: handle.label,
    outputName,
    outputNames: handle.session.outputNames,
    inputConversions: plan.conversions,
    cached: false,
    warnings,
    n: probe.n,
    batchSize,
    batches: runBatches(handle, close, probe, plan, outputName, batchSize, options.onProgress, limits ? { dir, key, warn, ...limits } : undefined),
    close,
  };
}

/** A verified cache entry read back one batch at a time (closed when done or abandoned). */
async function* entryBatches(entry: CacheEntry, batchSize: number, onProgress?: (d: number, t: number) => void): AsyncGenerator<OutputBatch> {
  try {
    for (let start = 0; start < entry.n; start += batchSize) {
      const end = Math.min(entry.n, start + batchSize);
      let output: Matrix;
      try {
        output = entry.read(start, end);
      } catch (cause) {
        throw new ModeldiffError('IO', `output cache entry became unreadable: ${(cause as Error).message}`, { cause });
      }
      yield { start, end, output };
      onProgress?.(end, entry.n);
    }
  } finally {
    entry.close();
  }
}

async function* runBatches(
  handle: ModelHandle,
  close: () => Promise<void>,
  probe: ProbeStream,
  plan: FeedPlan,
  outputName: string,
  batchSize: number,
  onProgress: ((d: number, t: number) => void) | undefined,
  cache: ({ dir: string; key: string; warn: (m: string) => void } & CacheLimits) | undefined,
): AsyncGenerator<OutputBatch> {
  // Each batch is appended to the entry as it arrives; nothing n×k is kept.
  let writer: CacheWriter | undefined;
  const dropCache = (e: unknown) => {
    writer?.abort();
    writer = undefined;
    cache!.warn(`output cache disabled for this run: cannot write to ${cache!.dir} (${(e as Error).message})`);
    cache = undefined;
  };
  try {
    // Each batch's input rows are dead once its run returns: one read buffer serves every batch.
    for (const batch of probeBatches(probe, batchSize, { reuse: true })) {
      const rows = batch.end - batch.start;
      for (const [key, t] of Object.entries(batch.inputs)) checkProbeFinite(t, probe.sources[key] ?? key, batch.start);
      let result: ort.InferenceSession.ReturnType;
      try {
        result = await handle.session.run(makeFeeds(plan, batch.inputs), [outputName]);
      } catch (cause) {
        const why = ((cause as Error).message ?? String(cause)).split('\n')[0];
        throw new ModeldiffError('MODEL_INPUT', `${handle.label}: onnxruntime failed on samples ${batch.start}..${batch.end - 1}: ${why}`, { cause });
      }
      inferenceCounters.runs++;
      const output = outputMatrix(result[outputName] as ort.Tensor, rows, handle.label, outputName, batch.start);
      if (cache && !writer) {
        const entryBytes = probe.n * output.k * output.data.BYTES_PER_ELEMENT;
        if (entryBytes > cache.entryMaxBytes) {
          cache.warn(`${handle.label}: outputs not cached: ${formatBytes(entryBytes)} is above the cache's one-entry budget of ${formatBytes(cache.entryMaxBytes)}`);
          cache = undefined;
        }
      }
      if (cache) {
        try {
          writer ??= CacheWriter.create(cache.dir, cache.key, probe.n, output.k, output.data instanceof Float64Array ? 'float64' : 'float32', output.dims);
          writer.append(output);
        } catch (e) {
          dropCache(e);
        }
      }
      yield { start: batch.start, end: batch.end, output };
      onProgress?.(batch.end, probe.n);
    }
    if (writer) {
      try {
        writer.commit();
        // Within the folder's cap: least recently used entries go, never the one just written.
        pruneCache(cache!.dir, cache!.maxBytes, `${cache!.key}.bin`);
      } catch (e) {
        dropCache(e);
      }
    }
  } finally {
    // Stopped early or failed: the partial entry is removed, never renamed into place.
    writer?.abort();
    await close();
  }
}

/** Run a model on the whole probe set and return its n×k outputs (from the cache when possible). */
export async function inferOutputs(model: ModelSource, probe: ProbeSource | ProbeStream, options: InferOptions = {}): Promise<InferResult> {
  const stream = await streamOutputs(model, probe, options);
  let outputs: Matrix | undefined;
  try {
    for await (const b of stream.batches) {
      if (!outputs) {
        const Ctor = b.output.data instanceof Float64Array ? Float64Array : Float32Array;
        outputs = { data: new Ctor(stream.n * b.output.k), n: stream.n, k: b.output.k };
        if (b.output.dims) outputs.dims = b.output.dims;
      }
      outputs.data.set(b.output.data, b.start * outputs.k);
    }
  } finally {
    await stream.close();
  }
  return { outputs: outputs!, outputName: stream.outputName, inputConversions: stream.inputConversions, cached: stream.cached, warnings: stream.warnings };
}
