/**
 * A small strict reader and writer for numpy's .npy format (versions 1.0,
 * 2.0 and 3.0). Supported dtypes: float16/32/64, int8..64, uint8..64 and
 * bool, little- or big-endian, C or Fortran order, any rank. Object arrays
 * (pickles) and structured dtypes are refused; so is anything malformed:
 * wrong magic, an unparsable header, or a data section shorter or longer
 * than the header promises. Every error names the file.
 *
 * `data` is always returned in C (row-major) order; `fortranOrder` records
 * how the file stored it (Fortran-order files are transposed on read).
 */
import fs from 'node:fs';

import { ModeldiffError } from '../errors';
import { DTYPES, type DType, type Tensor, type TypedArray, elementCount, formatShape } from './tensor';
import { writeFileAtomic } from '../util/atomic-write';

export interface NpyArray extends Tensor {
  /** Whether the file stored the array in Fortran (column-major) order; `data` is C order regardless. */
  fortranOrder: boolean;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

const DESCR: Record<string, DType> = {
  f2: 'float16',
  f4: 'float32',
  f8: 'float64',
  i1: 'int8',
  i2: 'int16',
  i4: 'int32',
  i8: 'int64',
  u1: 'uint8',
  u2: 'uint16',
  u4: 'uint32',
  u8: 'uint64',
  b1: 'bool',
};

const DESCR_OF: Record<DType, string> = {
  float16: '<f2',
  float32: '<f4',
  float64: '<f8',
  int8: '|i1',
  int16: '<i2',
  int32: '<i4',
  int64: '<i8',
  uint8: '|u1',
  uint16: '<u2',
  uint32: '<u4',
  uint64: '<u8',
  bool: '|b1',
};

function bad(source: string, msg: string): ModeldiffError {
  return new ModeldiffError('BAD_NPY', `${source}: ${msg}`);
}

/** A data file's bytes; a missing file is FILE_NOT_FOUND, any other failure IO, both naming the path. */
export function readDataFile(path: string): Buffer {
  try {
    return fs.readFileSync(path);
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new ModeldiffError('FILE_NOT_FOUND', `${path}: no such file`, { cause });
    if (code === 'EISDIR') throw new ModeldiffError('IO', `${path}: is a folder, not a data file`, { cause });
    throw new ModeldiffError('IO', `${path}: ${(cause as Error).message}`, { cause });
  }
}

/** Read a .npy file. */
export function readNpy(path: string): NpyArray {
  return parseNpy(readDataFile(path), path);
}

/**
 * Parse .npy bytes; `source` names the file (or npz entry) in error messages.
 * Aligned little-endian C-order data is returned as a view sharing memory with `bytes`.
 */
export function parseNpy(bytes: Uint8Array, source: string): NpyArray {
  if (bytes.length < 10 || MAGIC.some((m, i) => bytes[i] !== m)) {
    throw bad(source, 'not a .npy file (missing the \\x93NUMPY magic string)');
  }
  const major = bytes[6];
  const minor = bytes[7];
  if (major < 1 || major > 3 || minor !== 0) throw bad(source, `unsupported .npy format version ${major}.${minor} (supported: 1.0, 2.0, 3.0)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lenBytes = major === 1 ? 2 : 4;
  if (bytes.length < 8 + lenBytes) throw bad(source, 'truncated header');
  const headerLen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const dataStart = 8 + lenBytes + headerLen;
  if (bytes.length < dataStart) throw bad(source, `truncated header (needs ${dataStart} bytes, file has ${bytes.length})`);
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(8 + lenBytes, dataStart));
  const { descr, fortranOrder, shape } = parseHeader(header, source);

  const m = /^([<>|=])([a-zA-Z])(\d+)$/.exec(descr);
  if (!m) {
    if (descr.includes('O')) throw bad(source, `object arrays are refused (dtype '${descr}' would need unpickling)`);
    throw bad(source, `unsupported dtype '${descr}'`);
  }
  const [, order, kind, size] = m;
  if (kind === 'O') throw bad(source, `object arrays are refused (dtype '${descr}' would need unpickling)`);
  const dtype = DESCR[`${kind}${size}`];
  if (!dtype) throw bad(source, `unsupported dtype '${descr}' (supported: float16/32/64, int8-64, uint8-64, bool)`);
  const itemBytes = DTYPES[dtype].bytes;
  const count = elementCount(shape);
  const need = count * itemBytes;
  const have = bytes.length - dataStart;
  if (have < need) throw bad(source, `truncated data: shape ${formatShape(shape)} ${dtype} needs ${need} bytes, file has ${have}`);
  if (have > need) throw bad(source, `${have - need} unexpected bytes after the data of shape ${formatShape(shape)} ${dtype}`);

  let data: TypedArray;
  const offset = bytes.byteOffset + dataStart;
  if ((order !== '>' || itemBytes === 1) && offset % itemBytes === 0) {
    // Little-endian and aligned (numpy pads headers to 64 bytes): a view, no copy.
    data = DTYPES[dtype].make(bytes.buffer as ArrayBuffer, offset, count);
  } else {
    // Copy into a fresh, aligned buffer, swapping bytes of big-endian data.
    const buf = new ArrayBuffer(need);
    const raw = new Uint8Array(buf);
    raw.set(bytes.subarray(dataStart, dataStart + need));
    if (order === '>') {
      for (let i = 0; i < need; i += itemBytes) raw.subarray(i, i + itemBytes).reverse();
    }
    data = DTYPES[dtype].make(buf, 0, count);
  }
  if (dtype === 'bool') {
    for (let i = 0; i < count; i++) if (data[i] > 1) throw bad(source, `bool value ${data[i]} at flat index ${i} is neither 0 nor 1`);
  }
  if (fortranOrder && shape.length > 1) data = fortranToC(data, shape);
  return { dtype, shape, data, fortranOrder };
}

/** Parse the Python-literal header dict, e.g. {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }. */
function parseHeader(header: string, source: string): { descr: string; fortranOrder: boolean; shape: number[] } {
  const h = header.trim();
  if (!h.startsWith('{') || !h.endsWith('}')) throw bad(source, `malformed header ${JSON.stringify(h.slice(0, 80))}`);
  const descrM = /['"]descr['"]\s*:\s*(['"])(.*?)\1/.exec(h);
  const fortM = /['"]fortran_order['"]\s*:\s*(True|False)/.exec(h);
  const shapeM = /['"]shape['"]\s*:\s*\(([^)]*)\)/.exec(h);
  if (!descrM) {
    if (/['"]descr['"]\s*:\s*\[/.test(h)) throw bad(source, 'structured (record) dtypes are not supported');
    throw bad(source, `header has no 'descr' string: ${JSON.stringify(h.slice(0, 80))}`);
  }
  if (!fortM) throw bad(source, "header has no 'fortran_order'");
  if (!shapeM) throw bad(source, "header has no 'shape' tuple");
  const parts = shapeM[1].split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  const shape = parts.map((p) => {
    const v = Number(p.replace(/L$/, ''));
    if (!Number.isSafeInteger(v) || v < 0) throw bad(source, `invalid shape (${shapeM[1]})`);
    return v;
  });
  return { descr: descrM[2], fortranOrder: fortM[1] === 'True', shape };
}

/** Reorder column-major data into row-major for the given shape. */
function fortranToC(src: TypedArray, shape: number[]): TypedArray {
  const n = src.length;
  const dst = new (src.constructor as new (n: number) => TypedArray)(n);
  const rank = shape.length;
  // Strides of the Fortran layout, indexed by C-order axis.
  const fstride = new Array<number>(rank);
  let s = 1;
  for (let a = 0; a < rank; a++) {
    fstride[a] = s;
    s *= shape[a];
  }
  const idx = new Array<number>(rank).fill(0);
  let f = 0;
  for (let c = 0; c < n; c++) {
    dst[c] = src[f];
    // Increment the C-order multi-index (last axis fastest), tracking the Fortran offset.
    for (let a = rank - 1; a >= 0; a--) {
      idx[a]++;
      f += fstride[a];
      if (idx[a] < shape[a]) break;
      f -= fstride[a] * shape[a];
      idx[a] = 0;
    }
  }
  return dst;
}

/** Encode a tensor (C order, little-endian) as .npy version 1.0 bytes. */
export function encodeNpy(t: Tensor): Uint8Array {
  const shapeStr = t.shape.length === 1 ? `(${t.shape[0]},)` : `(${t.shape.join(', ')})`;
  let header = `{'descr': '${DESCR_OF[t.dtype]}', 'fortran_order': False, 'shape': ${shapeStr}, }`;
  // Pad with spaces so the data starts on a 64-byte boundary, newline-terminated.
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const hb = new TextEncoder().encode(header);
  const data = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  const out = new Uint8Array(10 + hb.length + data.length);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, hb.length, true);
  out.set(hb, 10);
  out.set(data, 10 + hb.length);
  return out;
}

/** Write a tensor as a .npy file (atomically; refuses to overwrite without force). */
export function writeNpy(path: string, t: Tensor, options: { force?: boolean } = {}): void {
  writeFileAtomic(path, encodeNpy(t), options);
}
