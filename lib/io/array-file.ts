/**
 * Array files in every format modeldiff reads and writes, behind one entry
 * point:
 *
 *   .npy           one array (numpy)
 *   .npz           named arrays (numpy; pickles refused)
 *   .safetensors   named arrays (Hugging Face)
 *   .pb            one serialized ONNX TensorProto (the ONNX test-data format)
 *
 * The extension picks the reader; a file with any other extension is
 * recognized by its first bytes (npy magic, zip signature, safetensors
 * header), so `probe.bin` saved by np.save still works, and so does a pipe
 * (`<(cat x.npy)`, /dev/stdin), which is read once and recognized in memory.
 * A serialized TensorProto has no signature, so it is only read from a `.pb`
 * file.
 */
import fs from 'node:fs';
import path from 'node:path';

import { ModeldiffError } from '../errors';
import { parseNpy, readDataFile, writeNpy } from './npy';
import { parseNpz, writeNpz } from './npz';
import { parseSafetensors, writeSafetensors } from './safetensors';
import type { Tensor } from './tensor';
import { parseTensorProto, writeTensorProto } from './tensor-proto';

export type ArrayFileFormat = 'npy' | 'npz' | 'safetensors' | 'tensorproto';

export const ARRAY_FILE_FORMATS = '.npy, .npz, .safetensors or .pb (ONNX TensorProto)';

const BY_EXTENSION: Readonly<Record<string, ArrayFileFormat>> = Object.assign(Object.create(null), {
  '.npy': 'npy',
  '.npz': 'npz',
  '.safetensors': 'safetensors',
  '.pb': 'tensorproto',
});

function byExtension(file: string): ArrayFileFormat | undefined {
  return BY_EXTENSION[path.extname(file).toLowerCase()];
}

/** The format the first bytes of a file announce, if any (a TensorProto announces none). */
function bySignature(b: Uint8Array): ArrayFileFormat | undefined {
  if (b.length >= 6 && b[0] === 0x93 && String.fromCharCode(...b.subarray(1, 6)) === 'NUMPY') return 'npy';
  if (b.length >= 4 && b[0] === 0x50 && b[1] === 0x4b && (b[2] === 3 || b[2] === 5) && (b[3] === 4 || b[3] === 6)) return 'npz';
  if (b.length >= 9 && b[8] === 0x7b && b[6] === 0 && b[7] === 0) return 'safetensors'; // header length < 2^48, then '{'
  return undefined;
}

const unknown = (file: string) => new ModeldiffError('BAD_DATA_FILE', `${file}: not a data file modeldiff reads (expected ${ARRAY_FILE_FORMATS})`);

/** The first bytes of a regular file (positioned read: the file is not consumed). */
function head(file: string, bytes: number): Uint8Array {
  const fd = fs.openSync(file, 'r');
  try {
    const buf = new Uint8Array(bytes);
    return buf.subarray(0, fs.readSync(fd, buf, 0, bytes, 0));
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Which reader a file needs, without reading it whole (for streaming): by extension, else by
 * its first bytes; undefined for a pipe or other non-regular file without a known extension (it
 * cannot be peeked at without consuming it: read it whole, see readArrays).
 */
export function arrayFileFormat(file: string): ArrayFileFormat | undefined {
  const ext = byExtension(file);
  if (ext) return ext;
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch {
    readDataFile(file); // throws the shared FILE_NOT_FOUND / IO error naming the path
    throw unknown(file);
  }
  if (st.isDirectory()) throw new ModeldiffError('IO', `${file}: is a folder, not a data file`);
  if (!st.isFile()) return undefined;
  const format = bySignature(head(file, 9));
  if (!format) throw unknown(file);
  return format;
}

function parse(format: ArrayFileFormat, bytes: Uint8Array, file: string): Array<[string | null, Tensor]> {
  switch (format) {
    case 'npy':
      return [[null, parseNpy(bytes, file)]];
    case 'tensorproto':
      return [[null, parseTensorProto(bytes, file)]];
    case 'npz':
      return Object.entries(parseNpz(bytes, file));
    case 'safetensors':
      return Object.entries(parseSafetensors(bytes, file));
  }
}

/**
 * Every array in a file: [name, tensor] pairs, where the name is null for the
 * single-array formats (.npy, .pb) and the array's key for .npz / .safetensors.
 */
export function readArrays(file: string): Array<[string | null, Tensor]> {
  // The whole file is read anyway: recognize it from those bytes, not from a second, peeking read.
  const bytes = readDataFile(file);
  const format = byExtension(file) ?? bySignature(bytes);
  if (!format) throw unknown(file);
  return parse(format, bytes, file);
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

/**
 * Write one array in the format `file`'s extension names (`name` keys it in .npz and
 * .safetensors files); atomically, and never over an existing file without `force`.
 */
export function writeArray(file: string, t: Tensor, options: { name?: string; force?: boolean; label?: string } = {}): void {
  const name = options.name ?? 'array';
  const force = options.force;
  switch (formatForWriting(file, options.label)) {
    case 'npy':
      return writeNpy(file, t, { force });
    case 'npz':
      return writeNpz(file, { [name]: t }, { force });
    case 'safetensors':
      return writeSafetensors(file, { [name]: t }, { force });
    case 'tensorproto':
      return writeTensorProto(file, t, { name, force });
  }
}

/**
 * The format `file`'s extension asks for; an INVALID_ARGUMENT error for any other extension
 * (`label`: the file as typed; `option`: the option field that named it, if one did).
 */
export function formatForWriting(file: string, label = file, option?: string): ArrayFileFormat {
  const format = byExtension(file);
  if (!format) throw new ModeldiffError('INVALID_ARGUMENT', `${label}: give the file one of the extensions ${ARRAY_FILE_FORMATS}, which says how to write it`, option === undefined ? undefined : { option });
  return format;
}
