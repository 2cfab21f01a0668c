/**
 * numpy .npz archives (np.savez / np.savez_compressed): a zip of .npy files,
 * stored or deflated, read by the strict zip reader (./zip: CRC-32 and names
 * checked) and written with fflate. Every entry must be a plain .npy array;
 * object arrays and pickled entries are refused (never unpickled).
 */
import { zipSync } from 'fflate';

import { ModeldiffError } from '../errors';
import { type NpyArray, type NpyReadOptions, encodeNpy, parseNpy, readDataFile } from './npy';
import { unzipStrict } from './zip';
import type { Tensor } from './tensor';
import { writeFileAtomic } from '../util/atomic-write';

/** Read every array of a .npz file, keyed by name (the entry name without ".npy"). */
export function readNpz(path: string, options: NpyReadOptions = {}): Record<string, NpyArray> {
  return parseNpz(readDataFile(path), path, options);
}

export function parseNpz(bytes: Uint8Array, source: string, options: NpyReadOptions = {}): Record<string, NpyArray> {
  const entries = unzipStrict(bytes, source);
  const out: Record<string, NpyArray> = Object.create(null); // an entry may be called __proto__
  if (entries.size === 0) throw new ModeldiffError('BAD_NPY', `${source}: the .npz archive holds no arrays`);
  for (const [entry, data] of entries) {
    const name = entry.endsWith('.npy') ? entry.slice(0, -4) : entry;
    if (data.length > 0 && data[0] === 0x80) {
      throw new ModeldiffError('BAD_NPY', `${source}: entry "${entry}" is a pickle; pickled data is refused`);
    }
    if (name in out) throw new ModeldiffError('BAD_NPY', `${source}: two entries are both named "${name}"`);
    out[name] = parseNpy(data, `${source}:${entry}`, options);
  }
  return out;
}

/** Encode tensors as .npz bytes (stored, or deflated with `compress`). */
export function encodeNpz(arrays: Record<string, Tensor>, options: { compress?: boolean } = {}): Uint8Array {
  const files: Record<string, Uint8Array> = {};
  for (const [name, t] of Object.entries(arrays)) files[`${name}.npy`] = encodeNpy(t, `array "${name}"`);
  return zipSync(files, { level: options.compress ? 6 : 0 });
}

export function writeNpz(path: string, arrays: Record<string, Tensor>, options: { compress?: boolean; force?: boolean } = {}): void {
  writeFileAtomic(path, encodeNpz(arrays, options), { force: options.force });
}
