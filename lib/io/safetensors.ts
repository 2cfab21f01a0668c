/**
 * safetensors files (Hugging Face's `safetensors.torch.save_file`,
 * `safetensors.numpy.save_file`): an 8-byte little-endian header length, a
 * JSON header mapping each tensor name to {dtype, shape, data_offsets}, then
 * the tensors' little-endian bytes. Read strictly, as the format's own
 * validation does: offsets must lie inside the data section, match each
 * tensor's size and cover the section without overlaps or holes. bfloat16
 * widens to float32 (lossless); 8-bit floats are refused.
 */
import { ModeldiffError } from '../errors';
import { readDataFile } from './npy';
import { scanHeader } from './safetensors-header';
import { DTYPES, type DType, type Tensor, bfloat16ToFloat32, elementCount, firstNonBool, formatShape, makeTensor } from './tensor';
import { writeFileAtomic } from '../util/atomic-write';

/** safetensors dtype -> dtype; BF16 is read as float32. */
const DTYPE_OF: Record<string, DType> = {
  F64: 'float64',
  F32: 'float32',
  F16: 'float16',
  BF16: 'float32',
  I64: 'int64',
  I32: 'int32',
  I16: 'int16',
  I8: 'int8',
  U64: 'uint64',
  U32: 'uint32',
  U16: 'uint16',
  U8: 'uint8',
  BOOL: 'bool',
};

const CODE_OF: Record<DType, string> = {
  float64: 'F64',
  float32: 'F32',
  float16: 'F16',
  int64: 'I64',
  int32: 'I32',
  int16: 'I16',
  int8: 'I8',
  uint64: 'U64',
  uint32: 'U32',
  uint16: 'U16',
  uint8: 'U8',
  bool: 'BOOL',
};

/** The reference implementation's limit; a larger header is a corrupt length, not a header. */
const MAX_HEADER_BYTES = 100_000_000;

interface Entry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

function isCount(x: unknown): x is number {
  return typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
}

/** Every tensor of a safetensors file, by name (the `__metadata__` entry is skipped). */
export function parseSafetensors(bytes: Uint8Array, source: string): Record<string, Tensor> {
  const bad = (why: string) => new ModeldiffError('BAD_DATA_FILE', `${source}: ${why}`);
  if (bytes.length < 8) throw bad(`not a safetensors file (${bytes.length} bytes; the header length alone takes 8)`);
  const headerBytes = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  if (headerBytes > MAX_HEADER_BYTES || 8 + headerBytes > bytes.length) {
    throw bad(`not a safetensors file, or truncated: its header length (${headerBytes} bytes) does not fit in the file (${bytes.length} bytes)`);
  }
  let header: unknown;
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerBytes));
    header = JSON.parse(text);
  } catch (cause) {
    throw new ModeldiffError('BAD_DATA_FILE', `${source}: not a safetensors file: the header is not JSON (${(cause as Error).message})`, { cause });
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) throw bad('not a safetensors file: the header is not a JSON object');
  // JSON.parse keeps the last of two equal keys and reads 2.0 as 2: both would pass unseen.
  const scan = scanHeader(text);
  if (scan.duplicate?.tensor === undefined && scan.duplicate) throw bad(`tensor "${scan.duplicate.key}" appears twice in the header`);
  if (scan.duplicate) throw bad(`tensor "${scan.duplicate.tensor}": its header entry gives "${scan.duplicate.key}" twice`);
  const dataStart = 8 + headerBytes;
  const dataLength = bytes.length - dataStart;
  const entries = Object.entries(header as Record<string, unknown>).filter(([name]) => name !== '__metadata__');
  if (entries.length === 0) throw bad('the file holds no tensors');
  const spans: Array<[number, number, string]> = [];
  // No prototype: a tensor may be called "__proto__" or "constructor".
  const out: Record<string, Tensor> = Object.create(null);
  for (const [name, value] of entries) {
    const e = value as Partial<Entry> | null;
    const where = `tensor "${name}"`;
    if (typeof e !== 'object' || e === null || typeof e.dtype !== 'string' || !Array.isArray(e.shape) || !Array.isArray(e.data_offsets)) {
      throw bad(`${where}: its header entry needs dtype, shape and data_offsets`);
    }
    const dtype = Object.hasOwn(DTYPE_OF, e.dtype) ? DTYPE_OF[e.dtype] : undefined;
    if (dtype === undefined) throw bad(`${where}: dtype ${e.dtype} is not supported (one of ${Object.keys(DTYPE_OF).join(', ')})`);
    const written = scan.shapeTokens.get(name) ?? [];
    if (!e.shape.every(isCount) || written.some((d) => !/^(0|[1-9][0-9]*)$/.test(d))) {
      throw bad(`${where}: shape [${written.join(', ')}] is not a list of non-negative integers`);
    }
    const [begin, end] = e.data_offsets;
    if (e.data_offsets.length !== 2 || !isCount(begin) || !isCount(end) || begin > end || end > dataLength) {
      throw bad(`${where}: data_offsets ${JSON.stringify(e.data_offsets)} are not a range inside the ${dataLength}-byte data section (truncated file?)`);
    }
    const shape = e.shape;
    const n = elementCount(shape);
    const width = e.dtype === 'BF16' ? 2 : DTYPES[dtype].bytes;
    if (end - begin !== n * width) throw bad(`${where}: ${end - begin} bytes of data, but ${e.dtype} ${formatShape(shape)} needs ${n * width}`);
    const copy = new Uint8Array(end - begin); // aligned for the typed array
    copy.set(bytes.subarray(dataStart + begin, dataStart + end));
    const data = e.dtype === 'BF16' ? bfloat16ToFloat32(new Uint16Array(copy.buffer)) : DTYPES[dtype].make(copy.buffer, 0, n);
    const badBool = dtype === 'bool' ? firstNonBool(data as Uint8Array) : -1;
    if (badBool >= 0) throw bad(`${where}: bool value ${data[badBool]} at flat index ${badBool} is neither 0 nor 1`);
    out[name] = { dtype, shape, data };
    spans.push([begin, end, name]);
  }
  // The data section must be exactly the tensors, back to back (no overlaps, no holes).
  spans.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let at = 0;
  for (const [begin, end, name] of spans) {
    if (begin !== at) throw bad(`tensor "${name}": its data starts at byte ${begin} of the data section, expected ${at} (overlapping or missing data)`);
    at = end;
  }
  if (at !== dataLength) throw bad(`the data section has ${dataLength - at} bytes after the last tensor`);
  return out;
}

export function readSafetensors(path: string): Record<string, Tensor> {
  return parseSafetensors(readDataFile(path), path);
}

/** Encode tensors as a safetensors file (names sorted, as the reference writer does). */
export function encodeSafetensors(arrays: Record<string, Tensor>): Uint8Array {
  const names = Object.keys(arrays).sort();
  const header: Record<string, Entry> = Object.create(null);
  let offset = 0;
  for (const name of names) {
    const t = makeTensor(arrays[name].data, arrays[name].shape, arrays[name].dtype, `tensor "${name}"`);
    header[name] = { dtype: CODE_OF[t.dtype], shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8); // the data section starts 8-byte aligned
  const head = Buffer.from(json, 'utf8');
  const out = new Uint8Array(8 + head.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(head.length), true);
  out.set(head, 8);
  let at = 8 + head.length;
  for (const name of names) {
    const d = arrays[name].data;
    out.set(new Uint8Array(d.buffer, d.byteOffset, d.byteLength), at);
    at += d.byteLength;
  }
  return out;
}

export function writeSafetensors(path: string, arrays: Record<string, Tensor>, options: { force?: boolean } = {}): void {
  writeFileAtomic(path, encodeSafetensors(arrays), { force: options.force });
}
