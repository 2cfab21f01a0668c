/**
 * Probe data: the samples two models are compared on. One or more named
 * arrays (axis 0 = samples, all with the same n), from array files (.npy,
 * .npz, .safetensors, ONNX TensorProto .pb: see array-file.ts) or from typed
 * arrays with a shape, plus optional integer class labels.
 *
 * An input without a name (key "") means "the model's only input"; named
 * inputs map to model inputs by name (`{ x: 'images.npy', mask: 'm.npy' }`).
 */
import type { Hash } from 'node:crypto';
import path from 'node:path';

import { ModeldiffError } from '../errors';
import { arrayFileFormat, readArray, readArrays } from './array-file';
import { NpyRowReader, readNpy } from './npy';
import { type DType, type Tensor, type TypedArray, DTYPES, elementCount, formatShape, makeTensor, sliceRows } from './tensor';
import { arrayHasher, arraySha256, tensorSha256 } from './tensor-hash';

/** A probe array given in the library: a file path, or a typed array with its shape. */
export type ProbeArraySource = string | Tensor | { data: TypedArray; shape: number[]; dtype?: DType };

/** One unnamed source (single-input models), or sources by model input name. */
export type ProbeSource = ProbeArraySource | Record<string, ProbeArraySource> | ProbeData;

export interface ProbeData {
  /** Arrays by model input name; "" = the model's only input. */
  inputs: Record<string, Tensor>;
  /** Number of samples (axis 0 of every input). */
  n: number;
  /** Where each input came from, for messages (file path or "<array>"). */
  sources: Record<string, string>;
}

/** What sizing batches and matching model inputs needs: each input's dtype and shape. */
export interface ProbeLayout {
  inputs: Record<string, { dtype: DType; shape: number[] }>;
  n: number;
  sources: Record<string, string>;
}

/**
 * One probe array read a batch of rows at a time. A C-order .npy file is
 * read from disk by rows (memory bounded by the batch); Fortran-order .npy
 * files, .npz members and in-memory arrays are held whole (a Fortran-order
 * file stores each sample scattered across the file, and a zip member must
 * be inflated as a whole).
 */
export interface ProbeArray {
  dtype: DType;
  shape: number[];
  /** Whether rows come from the file on demand (true) or from an array in memory. */
  streamed: boolean;
  /**
   * Rows [start, end) as a C-order tensor of `dtype`. For streamed files,
   * `scratch` (if large enough) receives the rows instead of a new buffer.
   */
  rows(start: number, end: number, scratch?: ArrayBuffer): Tensor;
  /** SHA-256 of dtype, shape and bytes (streamed through the hash for files; memoized). */
  sha256(): string;
  /** The whole array in memory. */
  materialize(): Tensor;
}

/** Probe data opened for streaming (see `openProbe`). */
export interface ProbeStream extends ProbeLayout {
  inputs: Record<string, ProbeArray>;
  /** Load every input whole (for callers that need all the data at once). */
  materialize(): ProbeData;
}

export function isProbeStream(x: unknown): x is ProbeStream {
  return typeof x === 'object' && x !== null && 'inputs' in x && 'n' in x && 'sources' in x && typeof (x as { materialize?: unknown }).materialize === 'function';
}

export function isProbeData(x: unknown): x is ProbeData {
  return typeof x === 'object' && x !== null && 'inputs' in x && 'n' in x && 'sources' in x && !isProbeStream(x);
}

function isArraySource(x: unknown): x is ProbeArraySource {
  return typeof x === 'string' || (typeof x === 'object' && x !== null && ArrayBuffer.isView((x as { data?: unknown }).data));
}

/**
 * Load one array source: a file path (a multi-array .npz / .safetensors gives
 * every array, with its key) or an in-memory array. Returns [key or null,
 * tensor, label].
 */
function loadArray(src: ProbeArraySource, name: string, cwd: string): Array<[string | null, Tensor, string]> {
  if (typeof src === 'string') {
    return readArrays(path.resolve(cwd, src)).map(([k, t]) => [k, t, k === null ? src : `${src}:${k}`]);
  }
  return [[null, makeTensor(src.data, src.shape, src.dtype, name === '' ? 'probe data' : `probe input "${name}"`), '<array>']];
}

/** Collect the arrays of every source under their input names and check they agree in n. */
function assemble<T extends { shape: number[] }>(
  source: ProbeArraySource | Record<string, ProbeArraySource>,
  cwd: string,
  load: (src: ProbeArraySource, name: string, cwd: string) => Array<[string | null, T, string]>,
): { inputs: Record<string, T>; n: number; sources: Record<string, string> } {
  const entries: Array<[string, ProbeArraySource]> = isArraySource(source) ? [['', source]] : Object.entries(source);
  if (entries.length === 0) throw new ModeldiffError('INVALID_ARGUMENT', 'no probe data given');
  // No prototypes: an array may be called "constructor" or "__proto__".
  const inputs: Record<string, T> = Object.create(null);
  const sources: Record<string, string> = Object.create(null);
  for (const [name, src] of entries) {
    const arrays = load(src, name, cwd);
    const keepName = arrays.length === 1 && (name !== '' || entries.length === 1);
    for (const [key, tensor, from] of arrays) {
      const input = keepName || key === null ? name : key;
      if (input in inputs) throw new ModeldiffError('INVALID_ARGUMENT', `probe input "${input}" is given twice (${sources[input]} and ${from})`, { option: 'data' });
      inputs[input] = tensor;
      sources[input] = from;
    }
  }
  let n = -1;
  let first = '';
  for (const [name, t] of Object.entries(inputs)) {
    const label = sources[name];
    if (t.shape.length === 0) throw new ModeldiffError('MODEL_INPUT', `${label}: probe data must have a sample axis (got a scalar)`);
    if (n < 0) {
      n = t.shape[0];
      first = label;
    } else if (t.shape[0] !== n) {
      throw new ModeldiffError('SHAPE_MISMATCH', `probe inputs disagree in sample count: ${first} has ${n}, ${label} has ${t.shape[0]}`);
    }
  }
  if (n === 0) throw new ModeldiffError('INVALID_ARGUMENT', `${first}: probe data has zero samples`);
  return { inputs, n, sources };
}

/**
 * Assemble probe data, every array whole in memory. A .npz adds all its
 * arrays, named by their keys; a single-array .npz given with a name (or as
 * the only source) takes that name.
 */
export function loadProbe(source: ProbeSource | ProbeStream, options: { cwd?: string } = {}): ProbeData {
  if (isProbeStream(source)) return source.materialize();
  if (isProbeData(source)) return source;
  return assemble(source, options.cwd ?? process.cwd(), loadArray);
}

/** An in-memory tensor as a ProbeArray. */
function memoryArray(t: Tensor): ProbeArray {
  return { dtype: t.dtype, shape: t.shape, streamed: false, rows: (s, e) => sliceRows(t, s, e), sha256: () => tensorSha256(t), materialize: () => t };
}

/**
 * A C-order .npy file as a ProbeArray read by rows. Rows read in order from
 * the first feed a running hash, so a file read once for inference has its
 * SHA-256 without a second pass; `sha256()` streams the file only when no
 * such read has completed.
 */
function fileArray(reader: NpyRowReader): ProbeArray {
  const { dtype, shape } = reader.layout;
  let hash: string | undefined;
  let running: { hasher: Hash; next: number } | undefined;
  const rows = (start: number, end: number, scratch?: ArrayBuffer): Tensor => {
    const t = reader.rows(start, end, scratch);
    if (hash === undefined) {
      if (start === 0) running = { hasher: arrayHasher(dtype, shape), next: 0 };
      if (running?.next === start) {
        running.hasher.update(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
        running.next = end;
        if (end === shape[0]) hash = running.hasher.digest('hex');
      } else running = undefined;
    }
    return t;
  };
  return {
    dtype,
    shape,
    streamed: true,
    rows,
    sha256: () => (hash ??= arraySha256(dtype, shape, (update) => reader.streamData(update))),
    materialize: () => rows(0, shape[0]),
  };
}

function openArray(src: ProbeArraySource, name: string, cwd: string): Array<[string | null, ProbeArray, string]> {
  if (typeof src === 'string' && arrayFileFormat(path.resolve(cwd, src)) === 'npy') {
    const reader = new NpyRowReader(path.resolve(cwd, src));
    // Fortran order keeps each sample scattered through the file: load it whole.
    if (reader.layout.fortranOrder && reader.layout.shape.length > 1) return [[null, memoryArray(readNpy(reader.path)), src]];
    return [[null, fileArray(reader), src]];
  }
  return loadArray(src, name, cwd).map(([k, t, from]) => [k, memoryArray(t), from]);
}

/**
 * Open probe data for streaming: C-order .npy files are read a batch of rows
 * at a time (only their header is read here); the other file formats,
 * Fortran-order .npy files and in-memory arrays are held whole. Same naming and checks as
 * `loadProbe`.
 */
export function openProbe(source: ProbeSource | ProbeStream, options: { cwd?: string } = {}): ProbeStream {
  if (isProbeStream(source)) return source;
  const opened = isProbeData(source)
    ? { inputs: Object.fromEntries(Object.entries(source.inputs).map(([k, t]) => [k, memoryArray(t)])), n: source.n, sources: source.sources }
    : assemble(source, options.cwd ?? process.cwd(), openArray);
  return {
    ...opened,
    materialize: () => ({ inputs: Object.fromEntries(Object.entries(opened.inputs).map(([k, a]) => [k, a.materialize()])), n: opened.n, sources: opened.sources }),
  };
}

/** Integer class labels (one per sample) from a one-array file (any format `readArray` reads) or an array. */
export function loadLabels(source: string | ArrayLike<number> | Int32Array, n: number, options: { cwd?: string } = {}): Int32Array {
  let values: ArrayLike<number | bigint>;
  let label = '<labels>';
  if (typeof source === 'string') {
    label = source;
    const t = readArray(path.resolve(options.cwd ?? process.cwd(), source), source);
    const kind = DTYPES[t.dtype].kind;
    if (kind !== 'int' && kind !== 'uint') {
      throw new ModeldiffError('INVALID_ARGUMENT', `${source}: labels must be integer class ids, got dtype ${t.dtype}`);
    }
    const squeezed = t.shape.filter((d, i) => i === 0 || d !== 1);
    if (squeezed.length !== 1) throw new ModeldiffError('SHAPE_MISMATCH', `${source}: labels must be one-dimensional [n], got shape ${formatShape(t.shape)}`);
    values = t.data as ArrayLike<number | bigint>;
  } else {
    values = source;
  }
  if (values.length !== n) throw new ModeldiffError('SHAPE_MISMATCH', `${label}: ${values.length} labels for ${n} probe samples`);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const v = Number(values[i]);
    if (!Number.isInteger(v) || v < 0) throw new ModeldiffError('INVALID_ARGUMENT', `${label}: label ${String(values[i])} at sample ${i} is not a non-negative class id`);
    if (v > 2147483647) throw new ModeldiffError('INVALID_ARGUMENT', `${label}: label ${String(values[i])} at sample ${i} is out of range for a class id (at most 2147483647)`);
    out[i] = v;
  }
  return out;
}

/** Bytes of one sample across all inputs (sizes the automatic batch). */
export function bytesPerSample(probe: ProbeLayout): number {
  let b = 0;
  for (const t of Object.values(probe.inputs)) b += elementCount(t.shape.slice(1)) * DTYPES[t.dtype].bytes;
  return b;
}

/**
 * Automatic batch size: about 8 MiB of input per batch, between 16 and 1024
 * samples (large enough to amortize onnxruntime's per-run overhead, small
 * enough to keep memory bounded), never more than n.
 */
export function autoBatchSize(probe: ProbeLayout): number {
  const per = Math.max(1, bytesPerSample(probe));
  const b = Math.max(16, Math.min(1024, Math.floor((8 << 20) / per)));
  return Math.min(b, probe.n);
}

export interface ProbeBatch {
  start: number;
  end: number;
  inputs: Record<string, Tensor>;
}

/**
 * Consecutive batches of rows [start, end): views of in-memory arrays, or
 * just those rows read from the file for a streamed ProbeStream input. With
 * `reuse`, streamed rows go into one buffer per input that the next batch
 * overwrites: only for a consumer done with a batch before asking for the next.
 */
export function* probeBatches(probe: ProbeData | ProbeStream, batchSize: number, options: { reuse?: boolean } = {}): Generator<ProbeBatch> {
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new ModeldiffError('INVALID_ARGUMENT', `options.batchSize must be a positive integer, got ${batchSize}`, { option: 'batchSize' });
  const scratch: Record<string, ArrayBuffer> = {};
  for (let start = 0; start < probe.n; start += batchSize) {
    const end = Math.min(probe.n, start + batchSize);
    const inputs: Record<string, Tensor> = {};
    for (const [name, t] of Object.entries(probe.inputs)) {
      if (!('rows' in t)) inputs[name] = sliceRows(t, start, end);
      else if (!options.reuse || !t.streamed) inputs[name] = t.rows(start, end);
      else {
        inputs[name] = t.rows(start, end, scratch[name]);
        scratch[name] = inputs[name].data.buffer as ArrayBuffer;
      }
    }
    yield { start, end, inputs };
  }
}
