/**
 * SHA-256 of a probe array: its dtype, shape and C-order little-endian bytes.
 * The output cache keys on it. An in-memory tensor and the same array
 * streamed from a .npy file hash alike, so both find the same cache entry.
 */
import crypto from 'node:crypto';

import type { DType, Tensor } from './tensor';

// Keyed by the typed array, remembering the dtype and shape it was hashed as: the same buffer
// viewed with another shape or dtype is a different probe array and must hash differently.
const tensorHashes = new WeakMap<object, { layout: string; hex: string }>();

/** A running array hash: `dtype|shape|`, then the data bytes in order as they are `update`d. */
export function arrayHasher(dtype: DType, shape: readonly number[]): crypto.Hash {
  return crypto.createHash('sha256').update(`${dtype}|${shape.join(',')}|`);
}

/** Hash `dtype|shape|` followed by the data bytes that `feed` passes to `update`. */
export function arraySha256(dtype: DType, shape: readonly number[], feed: (update: (bytes: Uint8Array) => void) => void): string {
  const h = arrayHasher(dtype, shape);
  feed((bytes) => h.update(bytes));
  return h.digest('hex');
}

/** SHA-256 of an in-memory tensor (memoized per typed array, dtype and shape). */
export function tensorSha256(t: Tensor): string {
  const layout = `${t.dtype}|${t.shape.join(',')}`;
  const hit = tensorHashes.get(t.data);
  if (hit?.layout === layout) return hit.hex;
  const hex = arraySha256(t.dtype, t.shape, (update) => update(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength)));
  tensorHashes.set(t.data, { layout, hex });
  return hex;
}
