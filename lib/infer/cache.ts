/**
 * The output cache: model outputs on a probe set, stored under
 * ~/.cache/modeldiff (or --cache-dir) and keyed by SHA-256 of everything that
 * determines them: the model bytes, the probe bytes (with dtype and shape),
 * the output name and input dtypes, the onnxruntime version and the cache
 * format version. The batch size is deliberately not in the key.
 *
 * Entry layout: "MDOUTC03" | uint32 LE header length | JSON header
 * {format, n, k, dtype, dims?} | payload (row-major floats) | "MDOUTSUM" | 32-byte
 * SHA-256 of everything before the footer. Entries are written batch by batch
 * to a temporary file in the cache folder, flushed and renamed into place,
 * so nothing half-written is ever visible under an entry's name. On read the
 * checksum is verified by streaming the file once, then batches are read by
 * offset: memory stays bounded by the batch either way. Anything that does
 * not verify is treated as a miss (recomputed and rewritten), never trusted.
 *
 * Sequence outputs (an LM's [n, sequence, vocab] logits) are stored as n rows of k =
 * sequence·vocab values with `dims`, a sample's shape, in the header, so a hit gives back the
 * shape the token-level reading needs. Format 3 added `dims`: a format-2 reader would have read
 * such an entry as plain rows, so the version (and with it every key) changed.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import * as ort from 'onnxruntime-node';

import { readAt } from '../io/file-read';
import type { Tensor } from '../io/tensor';
import { tensorSha256 } from '../io/tensor-hash';
import { AtomicFile, checkWritableTarget } from '../util/atomic-write';
import { makeDirs } from '../util/make-dirs';
import type { Matrix } from '../matrix';

export { tensorSha256 };

export const CACHE_FORMAT_VERSION = 3;
const MAGIC = 'MDOUTC03';
const FOOTER_MAGIC = 'MDOUTSUM';
const FOOTER_BYTES = 8 + 32;
/** Bytes per read while verifying an entry's checksum. */
export const VERIFY_CHUNK_BYTES = 64 * 1024;

/**
 * Reads made from cache entries and the largest single read, in bytes: tests
 * check that a hit streams (batch reads ≤ batch rows × k × item bytes,
 * verification reads ≤ VERIFY_CHUNK_BYTES), never reading an entry whole.
 */
export const cacheReadCounters = { batchReads: 0, maxBatchReadBytes: 0, verifyReads: 0, maxVerifyReadBytes: 0 };

export function defaultCacheDir(): string {
  return process.env.MODELDIFF_CACHE_DIR ?? path.join(os.homedir(), '.cache', 'modeldiff');
}

export interface CacheKeyParts {
  modelSha256: string;
  outputName: string;
  /** [model input name, model dtype, probe tensor or streamed probe array] for every input. */
  inputs: Array<[string, string, Tensor | { sha256(): string }]>;
}

export function cacheKey(parts: CacheKeyParts): string {
  const h = crypto.createHash('sha256');
  h.update(`modeldiff-output-cache|v${CACHE_FORMAT_VERSION}|ort ${ort.env.versions.node ?? ort.env.versions.common}\n`);
  h.update(`model ${parts.modelSha256}\noutput ${parts.outputName}\n`);
  for (const [name, dtype, t] of parts.inputs) h.update(`input ${name} ${dtype} ${'sha256' in t ? t.sha256() : tensorSha256(t)}\n`);
  return h.digest('hex');
}

export function cachePath(dir: string, key: string): string {
  return path.join(dir, `${key}.bin`);
}

export type CacheRead = { status: 'hit'; output: Matrix } | { status: 'miss' } | { status: 'corrupt'; reason: string };
export type CacheOpen = { status: 'hit'; entry: CacheEntry } | { status: 'miss' } | { status: 'corrupt'; reason: string };

type OutputDType = 'float32' | 'float64';

/** A verified cache entry, open for reading batches by offset. */
export class CacheEntry {
  private closed = false;
  constructor(
    private readonly fd: number,
    readonly n: number,
    readonly k: number,
    readonly dtype: OutputDType,
    private readonly payloadStart: number,
    /** A sample's output shape when it has more than one axis (k is its product). */
    readonly dims?: number[],
  ) {}

  private get itemBytes(): number {
    return this.dtype === 'float64' ? 8 : 4;
  }

  /** Rows [start, end) of the outputs (a fresh buffer). */
  read(start: number, end: number): Matrix {
    const bytes = (end - start) * this.k * this.itemBytes;
    const buf = new ArrayBuffer(bytes);
    if (readAt(this.fd, new Uint8Array(buf), this.payloadStart + start * this.k * this.itemBytes) !== bytes) {
      throw new Error('cache entry shrank while it was being read');
    }
    cacheReadCounters.batchReads++;
    cacheReadCounters.maxBatchReadBytes = Math.max(cacheReadCounters.maxBatchReadBytes, bytes);
    const data = this.dtype === 'float64' ? new Float64Array(buf) : new Float32Array(buf);
    return this.dims ? { data, n: end - start, k: this.k, dims: this.dims.slice() } : { data, n: end - start, k: this.k };
  }

  /** Release the file (idempotent). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    fs.closeSync(this.fd);
  }
}

/**
 * Open and verify an entry: header checks, then one streaming pass of the
 * checksum. The file stays open (a concurrent rewrite renames a new file over
 * the name and cannot change what this descriptor reads); close the entry when done.
 */
export function openCacheEntry(dir: string, key: string): CacheOpen {
  let fd: number;
  try {
    fd = fs.openSync(cachePath(dir, key), 'r');
  } catch {
    return { status: 'miss' };
  }
  let keep = false;
  try {
    const result = verifyEntry(fd);
    if (result.status === 'hit') keep = true;
    return result;
  } catch (e) {
    return { status: 'corrupt', reason: (e as Error).message };
  } finally {
    if (!keep) fs.closeSync(fd);
  }
}

function verifyEntry(fd: number): CacheOpen {
  const corrupt = (reason: string): CacheOpen => ({ status: 'corrupt', reason });
  const size = fs.fstatSync(fd).size;
  const pre = Buffer.alloc(12);
  if (size < 12 || readAt(fd, pre, 0) < 12 || pre.toString('latin1', 0, 8) !== MAGIC) return corrupt('bad magic');
  const hlen = pre.readUInt32LE(8);
  if (12 + hlen + FOOTER_BYTES > size) return corrupt('truncated header');
  const headerBytes = Buffer.alloc(hlen);
  readAt(fd, headerBytes, 12);
  let header: { format: number; n: number; k: number; dtype: string; dims?: unknown };
  try {
    header = JSON.parse(headerBytes.toString('utf8'));
  } catch {
    return corrupt('unreadable header');
  }
  if (header.format !== CACHE_FORMAT_VERSION) return corrupt(`format ${header.format}`);
  const itemBytes = header.dtype === 'float64' ? 8 : header.dtype === 'float32' ? 4 : 0;
  if (!itemBytes || !Number.isSafeInteger(header.n) || !(header.n > 0) || !Number.isSafeInteger(header.k) || !(header.k > 0)) return corrupt('bad header');
  const dims = header.dims;
  if (dims !== undefined && !(Array.isArray(dims) && dims.length > 1 && dims.every((d) => Number.isSafeInteger(d) && d > 0) && dims.reduce((a, d) => a * d, 1) === header.k)) {
    return corrupt('bad dims');
  }
  const payloadStart = 12 + hlen;
  const body = payloadStart + header.n * header.k * itemBytes;
  if (body + FOOTER_BYTES !== size) return corrupt('payload length');
  // One streaming pass over everything before the footer.
  const h = crypto.createHash('sha256');
  const chunk = Buffer.alloc(Math.min(VERIFY_CHUNK_BYTES, body));
  for (let off = 0; off < body; off += chunk.length) {
    const part = chunk.subarray(0, Math.min(chunk.length, body - off));
    if (readAt(fd, part, off) !== part.length) return corrupt('payload length');
    cacheReadCounters.verifyReads++;
    cacheReadCounters.maxVerifyReadBytes = Math.max(cacheReadCounters.maxVerifyReadBytes, part.length);
    h.update(part);
  }
  const footer = Buffer.alloc(FOOTER_BYTES);
  readAt(fd, footer, body);
  if (footer.toString('latin1', 0, 8) !== FOOTER_MAGIC) return corrupt('bad footer');
  if (!h.digest().equals(footer.subarray(8))) return corrupt('checksum');
  return { status: 'hit', entry: new CacheEntry(fd, header.n, header.k, header.dtype as OutputDType, payloadStart, dims as number[] | undefined) };
}

/** Read a whole entry into memory (verified); for tests and small tools. */
export function readCacheEntry(dir: string, key: string): CacheRead {
  const opened = openCacheEntry(dir, key);
  if (opened.status !== 'hit') return opened;
  try {
    return { status: 'hit', output: { ...opened.entry.read(0, opened.entry.n), n: opened.entry.n } };
  } finally {
    opened.entry.close();
  }
}

/**
 * Writes one entry batch by batch: a temporary file in the cache folder
 * (created exclusively), appended to with a running SHA-256, then footer,
 * fsync and rename over the entry's name. Until `commit` nothing is visible
 * under that name; `abort` removes the temporary file.
 */
export class CacheWriter {
  private readonly hash = crypto.createHash('sha256');
  private rows = 0;

  private constructor(
    private readonly file: AtomicFile,
    readonly n: number,
    readonly k: number,
    readonly dtype: OutputDType,
    readonly dims?: number[],
  ) {}

  /**
   * Start an entry for n×k outputs of `dtype` (`dims`: a sample's shape, for sequence outputs);
   * throws (with the reason) when the folder is not writable.
   */
  static create(dir: string, key: string, n: number, k: number, dtype: OutputDType, dims?: number[]): CacheWriter {
    makeDirs(dir);
    const target = cachePath(dir, key);
    checkWritableTarget(target, { force: true });
    const w = new CacheWriter(AtomicFile.open(target), n, k, dtype, dims);
    try {
      const header = Buffer.from(JSON.stringify({ format: CACHE_FORMAT_VERSION, n, k, dtype, ...(dims ? { dims } : {}) }));
      const pre = Buffer.alloc(12);
      pre.write(MAGIC, 0, 'latin1');
      pre.writeUInt32LE(header.length, 8);
      w.write(pre);
      w.write(header);
    } catch (e) {
      w.abort();
      throw e;
    }
    return w;
  }

  private write(bytes: Uint8Array): void {
    this.file.write(bytes);
    this.hash.update(bytes);
  }

  /** Append the next rows (in order); throws if they do not fit the entry. */
  append(out: Matrix): void {
    const dtype = out.data instanceof Float64Array ? 'float64' : 'float32';
    if (out.k !== this.k || dtype !== this.dtype || this.rows + out.n > this.n || String(out.dims) !== String(this.dims)) {
      const shape = (x: { k: number; dims?: number[] }) => (x.dims ?? [x.k]).join(', ');
      throw new Error(`outputs changed shape or type mid-run (${dtype} [${out.n}, ${shape(out)}] after ${this.dtype} [*, ${shape(this)}])`);
    }
    this.write(new Uint8Array(out.data.buffer, out.data.byteOffset, out.n * out.k * out.data.BYTES_PER_ELEMENT));
    this.rows += out.n;
  }

  /** Footer, flush and rename into place; throws if the entry is incomplete or cannot be written. */
  commit(): void {
    try {
      if (this.rows !== this.n) throw new Error(`only ${this.rows} of ${this.n} rows were written`);
      const footer = Buffer.alloc(FOOTER_BYTES);
      footer.write(FOOTER_MAGIC, 0, 'latin1');
      this.hash.digest().copy(footer, 8);
      this.file.write(footer);
    } catch (e) {
      this.abort();
      throw e;
    }
    this.file.commit();
  }

  /** Drop the temporary file (idempotent; nothing appears under the entry's name). */
  abort(): void {
    this.file.abort();
  }
}

/** Write a whole entry; returns an error message instead of throwing when the directory is not writable. */
export function writeCacheEntry(dir: string, key: string, out: Matrix): string | undefined {
  try {
    const w = CacheWriter.create(dir, key, out.n, out.k, out.data instanceof Float64Array ? 'float64' : 'float32', out.dims);
    try {
      w.append(out);
    } catch (e) {
      w.abort();
      throw e;
    }
    w.commit();
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}
