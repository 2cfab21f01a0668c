/**
 * The output cache: model outputs on a probe set, stored under
 * ~/.cache/modeldiff (or --cache-dir) and keyed by SHA-256 of everything that
 * determines them: the model bytes, the probe bytes (with dtype and shape),
 * the output name and input dtypes, the onnxruntime version and the cache
 * format version. The batch size is deliberately not in the key.
 *
 * Entry layout: "MDOUTC01" | uint32 LE header length | JSON header
 * {format, n, k, dtype, sha256 of the payload} | payload (row-major floats).
 * Entries are written atomically and verified on read; anything that does
 * not verify is treated as a miss (recomputed and rewritten), never trusted.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import * as ort from 'onnxruntime-node';

import type { Tensor } from '../io/tensor';
import { writeFileAtomic } from '../util/atomic-write';
import type { OutputArray } from './outputs';

export const CACHE_FORMAT_VERSION = 1;
const MAGIC = 'MDOUTC01';

export function defaultCacheDir(): string {
  return process.env.MODELDIFF_CACHE_DIR ?? path.join(os.homedir(), '.cache', 'modeldiff');
}

const tensorHashes = new WeakMap<object, string>();

/** SHA-256 of a tensor's dtype, shape and bytes (memoized per typed array). */
export function tensorSha256(t: Tensor): string {
  const hit = tensorHashes.get(t.data);
  if (hit) return hit;
  const h = crypto.createHash('sha256');
  h.update(`${t.dtype}|${t.shape.join(',')}|`);
  h.update(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  const hex = h.digest('hex');
  tensorHashes.set(t.data, hex);
  return hex;
}

export interface CacheKeyParts {
  modelSha256: string;
  outputName: string;
  /** [model input name, model dtype, probe tensor] for every input. */
  inputs: Array<[string, string, Tensor]>;
}

export function cacheKey(parts: CacheKeyParts): string {
  const h = crypto.createHash('sha256');
  h.update(`modeldiff-output-cache|v${CACHE_FORMAT_VERSION}|ort ${ort.env.versions.node ?? ort.env.versions.common}\n`);
  h.update(`model ${parts.modelSha256}\noutput ${parts.outputName}\n`);
  for (const [name, dtype, t] of parts.inputs) h.update(`input ${name} ${dtype} ${tensorSha256(t)}\n`);
  return h.digest('hex');
}

export function cachePath(dir: string, key: string): string {
  return path.join(dir, `${key}.bin`);
}

export type CacheRead = { status: 'hit'; output: OutputArray } | { status: 'miss' } | { status: 'corrupt'; reason: string };

export function readCacheEntry(dir: string, key: string): CacheRead {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(cachePath(dir, key));
  } catch {
    return { status: 'miss' };
  }
  const corrupt = (reason: string): CacheRead => ({ status: 'corrupt', reason });
  if (bytes.length < 12 || bytes.toString('latin1', 0, 8) !== MAGIC) return corrupt('bad magic');
  const hlen = bytes.readUInt32LE(8);
  if (12 + hlen > bytes.length) return corrupt('truncated header');
  let header: { format: number; n: number; k: number; dtype: string; sha256: string };
  try {
    header = JSON.parse(bytes.toString('utf8', 12, 12 + hlen));
  } catch {
    return corrupt('unreadable header');
  }
  if (header.format !== CACHE_FORMAT_VERSION) return corrupt(`format ${header.format}`);
  const itemBytes = header.dtype === 'float64' ? 8 : header.dtype === 'float32' ? 4 : 0;
  if (!itemBytes || !(header.n > 0) || !(header.k > 0)) return corrupt('bad header');
  const payload = bytes.subarray(12 + hlen);
  if (payload.length !== header.n * header.k * itemBytes) return corrupt('payload length');
  if (crypto.createHash('sha256').update(payload).digest('hex') !== header.sha256) return corrupt('checksum');
  const buf = new ArrayBuffer(payload.length);
  new Uint8Array(buf).set(payload);
  const data = itemBytes === 8 ? new Float64Array(buf) : new Float32Array(buf);
  return { status: 'hit', output: { data, n: header.n, k: header.k } };
}

/**
 * mkdir -p, one level at a time. Node 20's `mkdirSync(dir, { recursive: true })` loops forever
 * where mkdir fails with ENOENT although the parent exists (e.g. a folder under /proc); here
 * that is an error like any other.
 */
function makeDirs(dir: string): void {
  const missing: string[] = [];
  let d = path.resolve(dir);
  while (!fs.existsSync(d)) {
    missing.push(d);
    const parent = path.dirname(d);
    if (parent === d) break;
    d = parent;
  }
  for (const m of missing.reverse()) {
    try {
      fs.mkdirSync(m);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
}

/** Write an entry; returns an error message instead of throwing when the directory is not writable. */
export function writeCacheEntry(dir: string, key: string, out: OutputArray): string | undefined {
  const payload = new Uint8Array(out.data.buffer, out.data.byteOffset, out.data.byteLength);
  const header = Buffer.from(
    JSON.stringify({
      format: CACHE_FORMAT_VERSION,
      n: out.n,
      k: out.k,
      dtype: out.data instanceof Float64Array ? 'float64' : 'float32',
      sha256: crypto.createHash('sha256').update(payload).digest('hex'),
    }),
  );
  const pre = Buffer.alloc(12);
  pre.write(MAGIC, 0, 'latin1');
  pre.writeUInt32LE(header.length, 8);
  try {
    makeDirs(dir);
    writeFileAtomic(cachePath(dir, key), Buffer.concat([pre, header, payload]), { force: true });
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}
