/**
 * numpy .npz archives (np.savez / np.savez_compressed): a zip of .npy files,
 * stored or deflated, unpacked with fflate. Every entry must be a plain .npy
 * array; object arrays and pickled entries are refused (never unpickled).
 */
import { unzipSync, zipSync } from 'fflate';

import { ModeldiffError } from '../errors';
import { type NpyArray, encodeNpy, parseNpy, readDataFile } from './npy';
import type { Tensor } from './tensor';
import { writeFileAtomic } from '../util/atomic-write';

/** Read every array of a .npz file, keyed by name (the entry name without ".npy"). */
export function readNpz(path: string): Record<string, NpyArray> {
  return parseNpz(readDataFile(path), path);
}

export function parseNpz(bytes: Uint8Array, source: string): Record<string, NpyArray> {
  let entries: Record<string, Uint8Array>;
  try {
    entries = unzipSync(bytes);
  } catch (cause) {
    throw new ModeldiffError('BAD_NPY', `${source}: not a valid .npz (zip) archive: ${(cause as Error).message}`, { cause });
  }
  const out: Record<string, NpyArray> = Object.create(null); // an entry may be called __proto__
  const names = Object.keys(entries).filter((n) => !n.endsWith('/'));
  if (names.length === 0) throw new ModeldiffError('BAD_NPY', `${source}: the .npz archive holds no arrays`);
  for (const entry of names) {
    const name = entry.endsWith('.npy') ? entry.slice(0, -4) : entry;
    const data = entries[entry];
    if (data.length > 0 && data[0] === 0x80) {
      throw new ModeldiffError('BAD_NPY', `${source}: entry "${entry}" is a pickle; pickled data is refused`);
    }
    out[name] = parseNpy(data, `${source}:${entry}`);
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
