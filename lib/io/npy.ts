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
import { type FileErrorWords, fileError, readExactly } from './file-read';
import { DTYPES, type DType, type Tensor, type TypedArray, elementCount, firstNonBool, formatShape, makeTensor } from './tensor';
import { parseNpyHeader } from './npy-header';
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

/** numpy's default `max_header_size`: longer headers are refused unless the caller raises the cap. */
export const MAX_NPY_HEADER_SIZE = 10000;

export interface NpyReadOptions {
  /**
   * Longest .npy header accepted, in characters (default 10000, numpy's `max_header_size`).
   * numpy itself never writes headers that long; a larger one is usually a hostile or
   * broken file, so raise this only for files you trust.
   */
  maxHeaderSize?: number;
}

function bad(source: string, msg: string): ModeldiffError {
  return new ModeldiffError('BAD_NPY', `${source}: ${msg}`);
}

/** How a data file's missing-file and folder errors read. */
const DATA_FILE: FileErrorWords = { missing: 'no such file', folder: 'is a folder, not a data file' };

/** A data file's bytes; a missing file is FILE_NOT_FOUND, any other failure IO, both naming the path. */
export function readDataFile(path: string): Buffer {
  try {
    return fs.readFileSync(path);
  } catch (cause) {
    throw fileError(cause, path, DATA_FILE);
  }
}

/** Read a .npy file. */
export function readNpy(path: string, options: NpyReadOptions = {}): NpyArray {
  return parseNpy(readDataFile(path), path, options);
}

/** Where and how a .npy file stores its array (everything but the data itself). */
export interface NpyLayout {
  dtype: DType;
  shape: number[];
  fortranOrder: boolean;
  bigEndian: boolean;
  itemBytes: number;
  /** Byte offset of the data section. */
  dataStart: number;
  /** Bytes of the data section (elements × itemBytes). */
  dataBytes: number;
}

/**
 * Validate a .npy preamble and header. `bytes` holds at least the preamble
 * and header (or the whole file); `fileLength` is the file's full length,
 * checked against what the header promises.
 */
function npyLayout(bytes: Uint8Array, fileLength: number, source: string, options: NpyReadOptions): NpyLayout {
  if (fileLength < 10 || bytes.length < 10 || MAGIC.some((m, i) => bytes[i] !== m)) {
    throw bad(source, 'not a .npy file (missing the \\x93NUMPY magic string)');
  }
  const major = bytes[6];
  const minor = bytes[7];
  if (major < 1 || major > 3 || minor !== 0) throw bad(source, `unsupported .npy format version ${major}.${minor} (supported: 1.0, 2.0, 3.0)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lenBytes = major === 1 ? 2 : 4;
  if (fileLength < 8 + lenBytes || bytes.length < 8 + lenBytes) throw bad(source, 'truncated header');
  const headerLen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const dataStart = 8 + lenBytes + headerLen;
  const maxHeader = options.maxHeaderSize ?? MAX_NPY_HEADER_SIZE;
  // A UTF-8 character is at most 4 bytes: refuse a huge header before reading or decoding it.
  if (headerLen > maxHeaderBytes(major, maxHeader)) throw headerTooLong(source, headerLen, maxHeader);
  if (fileLength < dataStart || bytes.length < dataStart) throw bad(source, `truncated header (needs ${dataStart} bytes, file has ${fileLength})`);
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(8 + lenBytes, dataStart));
  if (header.length > maxHeader) throw headerTooLong(source, header.length, maxHeader);
  const { descr, fortranOrder, shape } = parseNpyHeader(header, source, major < 3);

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
  const need = elementCount(shape) * itemBytes;
  const have = fileLength - dataStart;
  if (have < need) throw bad(source, `truncated data: shape ${formatShape(shape)} ${dtype} needs ${need} bytes, file has ${have}`);
  if (have > need) throw bad(source, `${have - need} unexpected bytes after the data of shape ${formatShape(shape)} ${dtype}`);
  return { dtype, shape, fortranOrder, bigEndian: order === '>' && itemBytes > 1, itemBytes, dataStart, dataBytes: need };
}

function maxHeaderBytes(major: number, maxHeader: number): number {
  return major === 3 ? 4 * maxHeader : maxHeader;
}

function headerTooLong(source: string, length: number, max: number): ModeldiffError {
  return new ModeldiffError(
    'BAD_NPY',
    `${source}: the .npy header is ${length} characters, over the ${max}-character limit (maxHeaderSize); numpy refuses it too — raise the limit only for a file you trust`,
    { option: 'maxHeaderSize' },
  );
}

/** Reject bool values other than 0 and 1 (`first` = flat index of data[0], for the message). */
function checkBool(data: TypedArray, source: string, first = 0): void {
  const i = firstNonBool(data as Uint8Array);
  if (i >= 0) throw bad(source, `bool value ${data[i]} at flat index ${first + i} is neither 0 nor 1`);
}

/** Swap the bytes of each big-endian item in place. */
function swapItems(raw: Uint8Array, itemBytes: number): void {
  for (let i = 0; i < raw.length; i += itemBytes) raw.subarray(i, i + itemBytes).reverse();
}

/**
 * Parse .npy bytes; `source` names the file (or npz entry) in error messages.
 * Aligned little-endian C-order data is returned as a view sharing memory with `bytes`.
 */
export function parseNpy(bytes: Uint8Array, source: string, options: NpyReadOptions = {}): NpyArray {
  const { dtype, shape, fortranOrder, bigEndian, itemBytes, dataStart, dataBytes: need } = npyLayout(bytes, bytes.length, source, options);
  const count = need / itemBytes;
  let data: TypedArray;
  const offset = bytes.byteOffset + dataStart;
  if (!bigEndian && offset % itemBytes === 0) {
    // Little-endian and aligned (numpy pads headers to 64 bytes): a view, no copy.
    data = DTYPES[dtype].make(bytes.buffer as ArrayBuffer, offset, count);
  } else {
    // Copy into a fresh, aligned buffer, swapping bytes of big-endian data.
    const buf = new ArrayBuffer(need);
    const raw = new Uint8Array(buf);
    raw.set(bytes.subarray(dataStart, dataStart + need));
    if (bigEndian) swapItems(raw, itemBytes);
    data = DTYPES[dtype].make(buf, 0, count);
  }
  if (dtype === 'bool') checkBool(data, source);
  if (fortranOrder && shape.length > 1) data = fortranToC(data, shape);
  return { dtype, shape, data, fortranOrder };
}

/**
 * How many reads the row reader made and the largest single read, in bytes:
 * tests use these to check that streaming a probe file stays bounded by the
 * batch (row reads) and by HASH_CHUNK_BYTES (hashing), never by the file.
 */
export const npyReadCounters = { rowReads: 0, maxRowReadBytes: 0, hashReads: 0, maxHashReadBytes: 0 };

/** Bytes per read while hashing a data section. */
export const HASH_CHUNK_BYTES = 64 * 1024;

function openData(path: string): number {
  try {
    return fs.openSync(path, 'r');
  } catch (cause) {
    throw fileError(cause, path, DATA_FILE);
  }
}

/**
 * A C-order .npy file read a block of rows at a time (positioned reads, no
 * whole-file buffer): the header is parsed once, then `rows(start, end)`
 * reads just those rows and converts them (byte swap, bool check). Fortran-
 * order files cannot be read by rows; callers load them whole (`readNpy`).
 */
export class NpyRowReader {
  readonly layout: NpyLayout;
  /** Bytes of one row (one sample: all axes after the first). */
  readonly rowBytes: number;

  constructor(
    readonly path: string,
    options: NpyReadOptions = {},
  ) {
    const fd = openData(path);
    try {
      const st = fs.fstatSync(fd);
      if (st.isDirectory()) throw new ModeldiffError('IO', `${path}: is a folder, not a data file`);
      const size = st.size;
      const pre = new Uint8Array(Math.min(size, 12));
      readExactly(fd, pre, 0, path, DATA_FILE);
      let head = pre;
      if (size >= 12 && pre[0] === MAGIC[0]) {
        // Header length sits at bytes 8-9 (v1) or 8-11 (v2/3); read the preamble plus header only.
        const dv = new DataView(pre.buffer);
        const want = pre[6] === 1 ? 10 + dv.getUint16(8, true) : 12 + dv.getUint32(8, true);
        // Never more than the cap allows: npyLayout refuses a longer header without it.
        head = new Uint8Array(Math.min(size, want, 12 + maxHeaderBytes(pre[6], options.maxHeaderSize ?? MAX_NPY_HEADER_SIZE)));
        readExactly(fd, head, 0, path, DATA_FILE);
      }
      this.layout = npyLayout(head, size, path, options);
    } finally {
      fs.closeSync(fd);
    }
    this.rowBytes = elementCount(this.layout.shape.slice(1)) * this.layout.itemBytes;
  }

  /**
   * Rows [start, end) as a C-order tensor of the file's dtype: in a fresh
   * buffer, or in `scratch` when it is large enough (the caller reuses it for
   * the next batch, saving an allocation per batch).
   */
  rows(start: number, end: number, scratch?: ArrayBuffer): Tensor {
    const { dtype, shape, bigEndian, itemBytes, dataStart, fortranOrder } = this.layout;
    if (fortranOrder && shape.length > 1) throw new ModeldiffError('INTERNAL', `${this.path}: a Fortran-order file cannot be read by rows`);
    const bytes = (end - start) * this.rowBytes;
    const buf = scratch && scratch.byteLength >= bytes ? scratch : new ArrayBuffer(bytes);
    const raw = new Uint8Array(buf, 0, bytes);
    const fd = openData(this.path);
    try {
      readExactly(fd, raw, dataStart + start * this.rowBytes, this.path, DATA_FILE);
    } finally {
      fs.closeSync(fd);
    }
    npyReadCounters.rowReads++;
    npyReadCounters.maxRowReadBytes = Math.max(npyReadCounters.maxRowReadBytes, bytes);
    if (bigEndian) swapItems(raw, itemBytes);
    const data = DTYPES[dtype].make(buf, 0, bytes / itemBytes);
    if (dtype === 'bool') checkBool(data, this.path, (start * this.rowBytes) / itemBytes);
    return { dtype, shape: [end - start, ...shape.slice(1)], data };
  }

  /**
   * Feed the data section (as little-endian items, i.e. the bytes `rows` would
   * return) through `update`, HASH_CHUNK_BYTES at a time.
   */
  streamData(update: (chunk: Uint8Array) => void): void {
    const { dataStart, dataBytes, bigEndian, itemBytes } = this.layout;
    const chunk = new Uint8Array(Math.min(HASH_CHUNK_BYTES, dataBytes));
    const fd = openData(this.path);
    try {
      for (let off = 0; off < dataBytes; off += chunk.length) {
        const part = chunk.subarray(0, Math.min(chunk.length, dataBytes - off));
        readExactly(fd, part, dataStart + off, this.path, DATA_FILE);
        npyReadCounters.hashReads++;
        npyReadCounters.maxHashReadBytes = Math.max(npyReadCounters.maxHashReadBytes, part.length);
        if (bigEndian) swapItems(part, itemBytes);
        update(part);
      }
    } finally {
      fs.closeSync(fd);
    }
  }
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
export function encodeNpy(t: Tensor, name = 'array'): Uint8Array {
  // A file must never promise a shape or dtype its data does not have.
  t = makeTensor(t.data, t.shape, t.dtype, name);
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
