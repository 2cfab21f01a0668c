/**
 * Array files in every format modeldiff reads, behind one entry point:
 *
 *   .npy           one array (numpy)
 *   .npz           named arrays (numpy; pickles refused)
 *   .safetensors   named arrays (Hugging Face)
 *   .pb            one serialized ONNX TensorProto (the ONNX test-data format)
 *
 * The extension picks the reader; a file with any other extension is
 * recognized by its first bytes (npy magic, zip signature, safetensors
 * header), so `probe.bin` saved by np.save still works. A serialized
 * TensorProto has no signature, so it is only read from a `.pb` file.
 */
import fs from 'node:fs';
import path from 'node:path';

import { ModeldiffError } from '../errors';
import { readDataFile, readNpy } from './npy';
import { readNpz } from './npz';
import { readSafetensors } from './safetensors';
import type { Tensor } from './tensor';
import { readTensorProto } from './tensor-proto';

export type ArrayFileFormat = 'npy' | 'npz' | 'safetensors' | 'tensorproto';

export const ARRAY_FILE_FORMATS = '.npy, .npz, .safetensors or .pb (ONNX TensorProto)';

const BY_EXTENSION: Record<string, ArrayFileFormat> = {
  '.npy': 'npy',
  '.npz': 'npz',
  '.safetensors': 'safetensors',
  '.pb': 'tensorproto',
};

/** The first bytes of a file (fewer if it is shorter). */
function head(file: string, bytes: number): Uint8Array {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    readDataFile(file); // throws the shared FILE_NOT_FOUND / IO error naming the path
    throw new ModeldiffError('IO', `${file}: cannot be opened`);
  }
  try {
    const buf = new Uint8Array(bytes);
    let got = 0;
    try {
      got = fs.readSync(fd, buf, 0, bytes, 0);
    } catch (cause) {
      if ((cause as NodeJS.ErrnoException).code === 'EISDIR') throw new ModeldiffError('IO', `${file}: is a folder, not a data file`, { cause });
      throw new ModeldiffError('IO', `${file}: ${(cause as Error).message}`, { cause });
    }
    return buf.subarray(0, got);
  } finally {
    fs.closeSync(fd);
  }
}

/** Which reader a file needs: by extension, else by its first bytes. */
export function arrayFileFormat(file: string): ArrayFileFormat {
  const byExt = BY_EXTENSION[path.extname(file).toLowerCase()];
  if (byExt) return byExt;
  const b = head(file, 9);
  if (b.length >= 6 && b[0] === 0x93 && String.fromCharCode(...b.subarray(1, 6)) === 'NUMPY') return 'npy';
  if (b.length >= 4 && b[0] === 0x50 && b[1] === 0x4b && (b[2] === 3 || b[2] === 5) && (b[3] === 4 || b[3] === 6)) return 'npz';
  if (b.length === 9 && b[8] === 0x7b && b[6] === 0 && b[7] === 0) return 'safetensors'; // header length < 2^48, then '{'
  throw new ModeldiffError('BAD_DATA_FILE', `${file}: not a data file modeldiff reads (expected ${ARRAY_FILE_FORMATS})`);
}

/**
 * Every array in a file: [name, tensor] pairs, where the name is null for the
 * single-array formats (.npy, .pb) and the array's key for .npz / .safetensors.
 */
export function readArrays(file: string): Array<[string | null, Tensor]> {
  switch (arrayFileFormat(file)) {
    case 'npy':
      return [[null, readNpy(file)]];
    case 'tensorproto':
      return [[null, readTensorProto(file)]];
    case 'npz':
      return Object.entries(readNpz(file));
    case 'safetensors':
      return Object.entries(readSafetensors(file));
  }
}

/**
 * The one array a file holds (an .npz or .safetensors file must hold exactly
 * one). `label` is the file as the user typed it, for messages.
 */
export function readArray(file: string, label = file): Tensor {
  const arrays = readArrays(file);
  if (arrays.length !== 1) {
    const names = arrays.map(([k]) => JSON.stringify(k)).join(', ');
    throw new ModeldiffError('INVALID_ARGUMENT', `${label}: holds ${arrays.length} arrays (${names}); give a file with just one`);
  }
  return arrays[0][1];
}
