/**
 * Reading and writing ONNX models with onnx-proto (protobufjs).
 *
 * On read, every tensor stored as external data gets a `rawData` that reads
 * its bytes from the side file when used (a positioned read per tensor, never
 * the whole file), so the in-memory model is self-contained: it can be handed
 * to onnxruntime as bytes and re-encoded without the side files. External paths must stay
 * inside the model's folder (UNSAFE_PATH otherwise) — a model file must not be
 * able to make us read arbitrary files.
 *
 * Floating tensors convert to float64 for the weight-space code and back to
 * their original dtype (float32, float64, float16, bfloat16) on write.
 */
import fs from 'node:fs';
import path from 'node:path';

import { onnx } from 'onnx-proto';

import { ModeldiffError, check } from '../errors';
import { firstNonFinite } from '../util/finite';
import { fileError, readExactly } from './file-read';
import { floatToHalf, halfToFloat, toFloat64 } from './tensor';
import { ONNX_MODEL, checkProtobuf, detachInitializerData } from './onnx-wire';
import { decodeTensorProto } from './tensor-proto';

export { onnx };
export const DataType = onnx.TensorProto.DataType;

/** A decoded model plus where it came from (for messages and external data). */
export interface OnnxModel {
  proto: onnx.ModelProto;
  /** File name for messages ("<bytes>" when loaded from memory). */
  label: string;
}

export type OnnxSource = string | Uint8Array | OnnxModel;

type Int64 = number | { toNumber(): number };

/** protobufjs gives int64 fields as Long objects when `long` is installed. */
export function toNumber(x: Int64 | null | undefined): number {
  if (x === null || x === undefined) return 0;
  return typeof x === 'number' ? x : x.toNumber();
}

/**
 * Load a model from a path, bytes, or pass an already loaded one through. From a path, the
 * initializers' weights are not kept in memory: each one's rawData reads its byte range from
 * the model file when used (see lazyRawData), so a loaded model costs its graph, not its
 * weights.
 */
export function readOnnx(source: OnnxSource): OnnxModel {
  if (typeof source === 'string') {
    const cannot = (cause: unknown) => fileError(cause, `cannot read ONNX model ${source}`);
    let fd: number;
    try {
      fd = fs.openSync(source, 'r');
    } catch (cause) {
      throw cannot(cause);
    }
    let detached: ReturnType<typeof detachInitializerData>;
    try {
      // The model's structure is read through a small window; the weights' bytes are skipped
      // (located, not read): a model file is never read whole.
      const reader = { length: fs.fstatSync(fd).size, read: (offset: number, length: number) => readBytes(fd, offset, length, `cannot read ONNX model ${source}`) };
      detached = detachInitializerData(reader, (why) => new ModeldiffError('BAD_ONNX', `${source} is not a valid ONNX model: ${why}`));
    } catch (cause) {
      throw cannot(cause);
    } finally {
      fs.closeSync(fd);
    }
    const decoded = decodeOnnx(detached.model, source, path.dirname(path.resolve(source)));
    const initializers = graphOf(decoded).initializer;
    for (const r of detached.ranges) {
      const t = initializers[r.initializer];
      // External data (set up by decodeOnnx) wins over raw_data, as before.
      if (Object.getOwnPropertyDescriptor(t, 'rawData')?.get) continue;
      lazyRawData(t, source, r.offset, r.length, `${source}: tensor ${t.name}`);
    }
    return decoded;
  }
  if (source instanceof Uint8Array) return decodeOnnx(source, '<bytes>');
  return source;
}

/** Decode model bytes; `dir` is the folder external data is resolved against. */
export function decodeOnnx(bytes: Uint8Array, label: string, dir?: string): OnnxModel {
  let proto: onnx.ModelProto;
  const checked = checkProtobuf(bytes, ONNX_MODEL, (why) => new ModeldiffError('BAD_ONNX', `${label} is not a valid ONNX model: ${why}`));
  try {
    proto = onnx.ModelProto.decode(checked);
  } catch (cause) {
    throw new ModeldiffError('BAD_ONNX', `${label} is not a valid ONNX model: ${(cause as Error).message}`, { cause });
  }
  check(proto.graph, 'BAD_ONNX', `${label} is not a valid ONNX model: it has no graph`);
  const model = { proto, label };
  for (const t of graphOf(model).initializer) inlineExternalData(t, model, dir);
  return model;
}

/** The decoded graph (decoding fills every repeated field, so they are non-null). */
export function graphOf(model: OnnxModel): onnx.GraphProto {
  return model.proto.graph as onnx.GraphProto;
}

/**
 * The inputs a caller feeds: the graph's inputs that are not initializers (exporters before
 * IR version 4 list every initializer as an input too).
 */
export function dataInputs(model: OnnxModel | onnx.IGraphProto): onnx.IValueInfoProto[] {
  const graph = 'proto' in model ? graphOf(model) : model;
  const inits = new Set((graph.initializer ?? []).map((t) => t.name));
  return (graph.input ?? []).filter((i) => !inits.has(i.name));
}

/** The name of a model's only data input; a model with more (or none) is refused, naming what needed one. */
export function onlyDataInput(model: OnnxModel, needs: string): string {
  const inputs = dataInputs(model);
  check(inputs.length === 1, 'MODEL_INPUT', `${model.label}: ${needs} needs a single-input model, it has ${inputs.length}`);
  return inputs[0].name ?? '';
}

export function encodeOnnx(model: OnnxModel | onnx.IModelProto): Uint8Array {
  const proto = 'proto' in model ? model.proto : model;
  return onnx.ModelProto.encode(proto).finish();
}

/** A deep copy (via the wire format), so rewrites never touch the caller's model. */
export function cloneModel(model: OnnxModel): OnnxModel {
  return { proto: onnx.ModelProto.decode(encodeOnnx(model)), label: model.label };
}

function inlineExternalData(t: onnx.ITensorProto, model: OnnxModel, dir: string | undefined): void {
  if (t.dataLocation !== onnx.TensorProto.DataLocation.EXTERNAL) return;
  const entries = new Map((t.externalData ?? []).map((e) => [e.key ?? '', e.value ?? '']));
  const location = entries.get('location');
  check(location, 'BAD_ONNX', `${model.label}: tensor ${t.name} is stored externally but names no location`);
  check(
    dir !== undefined,
    'BAD_ONNX',
    `${model.label}: tensor ${t.name} is stored in external file ${location}; load the model from its path, not from bytes`,
  );
  const file = safeExternalPath(dir, location, t.name ?? '', model.label);
  const offset = Number(entries.get('offset') ?? 0);
  const expected = tensorByteLength(t);
  const length = entries.has('length') ? Number(entries.get('length')) : expected;
  check(
    Number.isInteger(offset) && offset >= 0 && Number.isInteger(length) && length >= 0,
    'BAD_ONNX',
    `${model.label}: tensor ${t.name} has a bad external offset/length`,
  );
  let size: number;
  try {
    size = fs.statSync(file).size;
  } catch (cause) {
    throw fileError(cause, `${model.label}: cannot read external data ${location} of tensor ${t.name}`);
  }
  check(
    offset + length <= size,
    'BAD_ONNX',
    `${model.label}: external data ${location} is too short for tensor ${t.name} (needs ${offset + length} bytes, has ${size})`,
  );
  if (expected >= 0) {
    check(length === expected, 'BAD_ONNX', `${model.label}: tensor ${t.name} needs ${expected} bytes but its external length is ${length}`);
  }
  // Read lazily, per tensor and per use, with a positioned read: the external file is never
  // loaded whole (it may be far larger than memory, with offsets past 2 GB), and a tensor's
  // bytes live only while its user holds them. Assigning rawData replaces the reader.
  lazyRawData(t, file, offset, length, `${model.label}: external data ${location} of tensor ${t.name}`);
  t.externalData = [];
  t.dataLocation = onnx.TensorProto.DataLocation.DEFAULT;
}

/**
 * Make `t.rawData` read bytes [offset, offset + length) of `file` at each use (nothing is
 * cached: the bytes live only while their user holds them). Assigning rawData replaces the
 * reader with the value (weight write-back).
 */
function lazyRawData(t: onnx.ITensorProto, file: string, offset: number, length: number, label: string): void {
  Object.defineProperty(t, 'rawData', {
    configurable: true,
    enumerable: true,
    get: () => readRange(file, offset, length, label),
    set(value: Uint8Array) {
      Object.defineProperty(t, 'rawData', { value, writable: true, enumerable: true, configurable: true });
    },
  });
}

/** Bytes [offset, offset + length) of a file, by positioned reads (offsets past 2 GB work). */
function readRange(file: string, offset: number, length: number, label: string): Uint8Array {
  let fd: number | undefined;
  try {
    fd = fs.openSync(file, 'r');
    return readBytes(fd, offset, length, label);
  } catch (cause) {
    throw fileError(cause, label);
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** Bytes [offset, offset + length) of an open file; a file that ends early is an IO error. */
function readBytes(fd: number, offset: number, length: number, label: string): Uint8Array {
  const out = Buffer.allocUnsafe(length);
  readExactly(fd, out, offset, label);
  return out;
}

/** Resolve `location` inside `dir`, refusing anything that leaves it (also via symlinks). */
function safeExternalPath(dir: string, location: string, tensor: string, label: string): string {
  const unsafe = () =>
    new ModeldiffError('UNSAFE_PATH', `${label}: external data path "${location}" of tensor ${tensor} leaves the model's folder; refusing to read it`);
  if (path.isAbsolute(location) || location.includes('\0')) throw unsafe();
  const inside = (root: string, p: string) => {
    const rel = path.relative(root, p);
    return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
  };
  const file = path.resolve(dir, location);
  if (!inside(dir, file)) throw unsafe();
  if (fs.existsSync(file) && !inside(fs.realpathSync(dir), fs.realpathSync(file))) throw unsafe();
  return file;
}

const BYTES: Partial<Record<number, number>> = {
  [DataType.FLOAT]: 4,
  [DataType.DOUBLE]: 8,
  [DataType.FLOAT16]: 2,
  [DataType.BFLOAT16]: 2,
  [DataType.INT8]: 1,
  [DataType.UINT8]: 1,
  [DataType.BOOL]: 1,
  [DataType.INT16]: 2,
  [DataType.UINT16]: 2,
  [DataType.INT32]: 4,
  [DataType.UINT32]: 4,
  [DataType.INT64]: 8,
  [DataType.UINT64]: 8,
};

export function tensorDims(t: onnx.ITensorProto): number[] {
  return (t.dims ?? []).map(toNumber);
}

export function tensorSize(t: onnx.ITensorProto): number {
  return tensorDims(t).reduce((a, b) => a * b, 1);
}

/** Byte length of the tensor's data, or -1 for variable-size types (strings). */
function tensorByteLength(t: onnx.ITensorProto): number {
  const b = BYTES[t.dataType ?? 0];
  return b === undefined ? -1 : b * tensorSize(t);
}

export function isFloatTensor(t: onnx.ITensorProto): boolean {
  const d = t.dataType ?? 0;
  return d === DataType.FLOAT || d === DataType.DOUBLE || d === DataType.FLOAT16 || d === DataType.BFLOAT16;
}

/**
 * Any numeric tensor as float64 values, from raw_data or the typed fields (decoded by the one
 * TensorProto decoder, lib/io/tensor-proto.ts, that also reads .pb data files).
 */
export function tensorToFloat64(t: onnx.ITensorProto, label = '<model>'): Float64Array {
  return toFloat64(decodeTensorProto(t, (why) => new ModeldiffError('BAD_ONNX', `${label}: tensor ${t.name}: ${why}`)));
}

/**
 * A floating tensor's values without widening float32 (the raw distance reads them in
 * float64 accumulators, so a float32 model costs 4 bytes a value, not 8); float64 stays
 * float64, float16 and bfloat16 widen to float32 (lossless).
 */
export function tensorValues(t: onnx.ITensorProto, label = '<model>'): Float32Array | Float64Array {
  const decoded = decodeTensorProto(t, (why) => new ModeldiffError('BAD_ONNX', `${label}: tensor ${t.name}: ${why}`));
  if (decoded.dtype === 'float32' || decoded.dtype === 'float64') return decoded.data as Float32Array | Float64Array;
  return Float32Array.from(toFloat64(decoded));
}

/**
 * Weight values as decoded (`tensorValues` or `tensorToFloat64`), refusing NaN and ±Infinity:
 * an error naming the tensor and the first such index, not a NaN distance later.
 */
export function finiteValues<T extends Float32Array | Float64Array>(t: onnx.ITensorProto, values: T, label: string): T {
  const i = firstNonFinite(values);
  if (i >= 0) throw new ModeldiffError('NON_FINITE', `${label}: tensor ${t.name} has a non-finite value (${values[i]}) at index ${i}`);
  return values;
}

/** Encode float64 values as a tensor of the given floating dtype (raw_data). */
export function float64ToTensor(name: string, dims: number[], data: Float64Array, dataType: number = DataType.FLOAT): onnx.TensorProto {
  let bytes: Uint8Array;
  switch (dataType) {
    case DataType.FLOAT: bytes = new Uint8Array(Float32Array.from(data).buffer); break;
    case DataType.DOUBLE: bytes = new Uint8Array(Float64Array.from(data).buffer); break;
    case DataType.FLOAT16: bytes = new Uint8Array(Uint16Array.from(data, floatToHalf).buffer); break;
    case DataType.BFLOAT16: bytes = new Uint8Array(Uint16Array.from(data, floatToBfloat).buffer); break;
    default:
      throw new ModeldiffError('INTERNAL', `cannot write tensor ${name} as data type ${DataType[dataType] ?? dataType}`);
  }
  return onnx.TensorProto.create({ name, dims, dataType, rawData: bytes });
}

// float16 conversion lives in io/tensor (shared with the .npy reader and inference outputs).
export { floatToHalf, halfToFloat };

// bfloat16 <-> float, via float32 bits.
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

export function bfloatToFloat(h: number): number {
  u32[0] = (h & 0xffff) << 16;
  return f32[0];
}

export function floatToBfloat(x: number): number {
  f32[0] = x;
  const bits = u32[0];
  if ((bits & 0x7f800000) === 0x7f800000 && bits & 0x7fffff) return (bits >>> 16) | 0x40;
  return ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16) & 0xffff;
}

// ---------- nodes and attributes ----------

export function attribute(node: onnx.INodeProto, name: string): onnx.IAttributeProto | undefined {
  return (node.attribute ?? []).find((a) => a.name === name);
}

export function attrInt(node: onnx.INodeProto, name: string, fallback: number): number {
  const a = attribute(node, name);
  return a ? toNumber(a.i) : fallback;
}

export function attrFloat(node: onnx.INodeProto, name: string, fallback: number): number {
  const a = attribute(node, name);
  return a ? (a.f ?? 0) : fallback;
}

export function attrInts(node: onnx.INodeProto, name: string): number[] | undefined {
  const a = attribute(node, name);
  return a ? (a.ints ?? []).map(toNumber) : undefined;
}

export function attrString(node: onnx.INodeProto, name: string): string | undefined {
  const a = attribute(node, name);
  return a?.s ? Buffer.from(a.s).toString('utf8') : undefined;
}

/** Set (or add) a scalar attribute. */
export function setAttr(node: onnx.INodeProto, name: string, value: { f: number } | { i: number }): void {
  node.attribute = (node.attribute ?? []).filter((a) => a.name !== name);
  node.attribute.push(
    'f' in value
      ? onnx.AttributeProto.create({ name, type: onnx.AttributeProto.AttributeType.FLOAT, f: value.f })
      : onnx.AttributeProto.create({ name, type: onnx.AttributeProto.AttributeType.INT, i: value.i }),
  );
}

/** How to name a node in messages: its name, else op type and first output. */
export function nodeLabel(node: onnx.INodeProto): string {
  return node.name ? `${node.opType} node "${node.name}"` : `${node.opType} node producing "${(node.output ?? [])[0] ?? '?'}"`;
}

/**
 * Probe data must fit a model input's declared shape (rank and fixed
 * dimensions; the batch axis is free). Checked against the user's file before
 * running, because the model then run is often rewritten in memory (hidden
 * tensors exposed, weights aligned) and onnxruntime's own error could name
 * neither the data file nor the model. No declared shape: nothing to check.
 */
export function checkProbeFitsInput(model: OnnxModel, inputName: string, shape: readonly number[], dataLabel: string): void {
  const input = graphOf(model).input.find((i) => i.name === inputName);
  const dims = input?.type?.tensorType?.shape?.dim;
  if (!dims) return;
  const fixed = dims.map((d) => (d.dimValue !== undefined && d.dimValue !== null && Number(d.dimValue) > 0 ? Number(d.dimValue) : null));
  const fits = fixed.length === shape.length && fixed.every((d, i) => i === 0 || d === null || d === shape[i]);
  const declared = fixed.map((d, i) => (d === null ? dims[i].dimParam || '?' : String(d))).join(', ');
  if (!fits) {
    throw new ModeldiffError('MODEL_INPUT', `${dataLabel}: probe data [${shape.join(', ')}] does not fit input "${inputName}" [${declared}] of ${model.label}`);
  }
}
