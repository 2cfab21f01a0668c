/**
 * ONNX TensorProto messages as tensors: the one decoder behind both the
 * model reader (initializers, lib/io/onnx.ts) and `.pb` data files, the
 * format of the ONNX test data sets (`test_data_set_0/input_0.pb`) and of
 * `onnx.numpy_helper.from_array(x).SerializeToString()`.
 *
 * Values come from raw_data (little-endian) or from the typed field the ONNX
 * spec assigns to each data type; the dtype is kept (int64 stays exact as
 * BigInt64Array). bfloat16 widens to float32, which is lossless. A typed-field
 * value outside its type's range (an int8 of 300, a bool of 2) is an error,
 * not wrapped. Strings, complex numbers, 8-bit floats and external data are
 * refused, as is any message whose data does not match its dims: protobuf
 * decodes most byte strings into *some* message, so the sizes are what tell a
 * tensor from junk.
 */
import { onnx } from 'onnx-proto';

import { ModeldiffError } from '../errors';
import { writeFileAtomic } from '../util/atomic-write';
import { readDataFile } from './npy';
import { ONNX_TENSOR, checkProtobuf } from './onnx-wire';
import { DTYPES, type DType, type Tensor, type TypedArray, bfloat16ToFloat32, elementCount, firstNonBool, formatShape, makeTensor } from './tensor';

const DataType = onnx.TensorProto.DataType;

/** ONNX data type -> dtype; bfloat16 is read as float32. */
const DTYPE_OF: Partial<Record<number, DType>> = {
  [DataType.FLOAT]: 'float32',
  [DataType.DOUBLE]: 'float64',
  [DataType.FLOAT16]: 'float16',
  [DataType.BFLOAT16]: 'float32',
  [DataType.INT8]: 'int8',
  [DataType.INT16]: 'int16',
  [DataType.INT32]: 'int32',
  [DataType.INT64]: 'int64',
  [DataType.UINT8]: 'uint8',
  [DataType.UINT16]: 'uint16',
  [DataType.UINT32]: 'uint32',
  [DataType.UINT64]: 'uint64',
  [DataType.BOOL]: 'bool',
};

const DATA_TYPE_OF: Record<DType, number> = {
  float32: DataType.FLOAT,
  float64: DataType.DOUBLE,
  float16: DataType.FLOAT16,
  int8: DataType.INT8,
  int16: DataType.INT16,
  int32: DataType.INT32,
  int64: DataType.INT64,
  uint8: DataType.UINT8,
  uint16: DataType.UINT16,
  uint32: DataType.UINT32,
  uint64: DataType.UINT64,
  bool: DataType.BOOL,
};

/** The range of each type stored widened in int32_data (float16 / bfloat16 as their bits). */
const INT32_FIELD_RANGE: Partial<Record<number, [number, number]>> = {
  [DataType.INT8]: [-128, 127],
  [DataType.INT16]: [-32768, 32767],
  [DataType.UINT8]: [0, 255],
  [DataType.UINT16]: [0, 65535],
  [DataType.BOOL]: [0, 1],
  [DataType.FLOAT16]: [0, 65535],
  [DataType.BFLOAT16]: [0, 65535],
};

type Long = number | { low: number; high: number; unsigned?: boolean };

/** An int64 / uint64 field value exactly (protobufjs gives Long objects when `long` is installed). */
function toBigInt(x: Long, unsigned: boolean): bigint {
  if (typeof x === 'number') return BigInt(x);
  const v = (BigInt(x.high >>> 0) << 32n) | BigInt(x.low >>> 0);
  return unsigned ? v : BigInt.asIntN(64, v);
}

/** The tensor's dims as numbers; `bad` makes the error for invalid ones. */
export function tensorProtoShape(t: onnx.ITensorProto, bad: (why: string) => ModeldiffError): number[] {
  const shape = (t.dims ?? []).map((d) => Number(toBigInt(d as Long, false)));
  if (shape.some((d) => !Number.isSafeInteger(d) || d < 0)) throw bad(`invalid dims ${formatShape(shape)}`);
  return shape;
}

/**
 * The values of a decoded TensorProto, dtype kept (bfloat16 widened to float32). `bad(why)`
 * makes the error, so each caller names the file or model and uses its own code.
 */
export function decodeTensorProto(t: onnx.ITensorProto, bad: (why: string) => ModeldiffError): Tensor {
  const type = t.dataType ?? 0;
  const name = DataType[type] ?? String(type);
  const dtype = DTYPE_OF[type];
  if (dtype === undefined) throw bad(`data type ${name} is not supported`);
  if (t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) throw bad('its data is in an external file that was not loaded');
  if (t.segment) throw bad('segmented tensors are not supported');
  const shape = tensorProtoShape(t, bad);
  const n = elementCount(shape);
  // Read once: a lazily read tensor (lib/io/onnx.ts) goes to the file at each read, and
  // returns a fresh buffer nobody else holds, which can then be used in place.
  const fresh = Object.getOwnPropertyDescriptor(t, 'rawData')?.get !== undefined;
  const rawData = t.rawData;
  const raw = rawData && rawData.length > 0 ? rawData : null;
  const mismatch = (got: number, where: string) => bad(`${got} ${name} values in ${where}, but dims ${formatShape(shape)} need ${n}`);
  const isBf16 = type === DataType.BFLOAT16;
  let data: TypedArray;
  if (raw) {
    const width = isBf16 ? 2 : DTYPES[dtype].bytes;
    if (raw.length !== n * width) throw mismatch(raw.length / width, 'raw_data');
    // Otherwise a copy: aligned, and detached from the message buffer the bytes are a view of.
    const copy = fresh && raw.byteOffset % width === 0 ? raw : new Uint8Array(raw.length);
    if (copy !== raw) copy.set(raw);
    data = isBf16 ? bfloat16ToFloat32(new Uint16Array(copy.buffer, copy.byteOffset, n)) : DTYPES[dtype].make(copy.buffer as ArrayBuffer, copy.byteOffset, n);
  } else if (type === DataType.INT64 || type === DataType.UINT64 || type === DataType.UINT32) {
    const values = (type === DataType.INT64 ? t.int64Data : t.uint64Data) ?? [];
    if (values.length !== n) throw mismatch(values.length, type === DataType.INT64 ? 'int64_data' : 'uint64_data');
    const big = Array.from(values as ArrayLike<Long>, (v) => toBigInt(v, type !== DataType.INT64));
    if (type === DataType.UINT32) {
      const i = big.findIndex((v) => v > 0xffffffffn);
      if (i >= 0) throw bad(`UINT32 value ${big[i]} at flat index ${i} is out of range`);
      data = Uint32Array.from(big, Number);
    } else {
      data = type === DataType.INT64 ? BigInt64Array.from(big) : BigUint64Array.from(big);
    }
  } else {
    const field = type === DataType.FLOAT ? 'float_data' : type === DataType.DOUBLE ? 'double_data' : 'int32_data';
    const values = (type === DataType.FLOAT ? t.floatData : type === DataType.DOUBLE ? t.doubleData : t.int32Data) ?? [];
    if (values.length !== n) throw mismatch(values.length, field);
    const range = INT32_FIELD_RANGE[type];
    if (range) {
      for (let i = 0; i < n; i++) {
        if (values[i] < range[0] || values[i] > range[1]) throw bad(`${name} value ${values[i]} at flat index ${i} of int32_data is out of range`);
      }
    }
    if (isBf16) data = bfloat16ToFloat32(Uint16Array.from(values));
    else {
      data = DTYPES[dtype].alloc(n);
      (data as Float64Array).set(values);
    }
  }
  const badBool = dtype === 'bool' ? firstNonBool(data as Uint8Array) : -1;
  if (badBool >= 0) throw bad(`bool value ${data[badBool]} at flat index ${badBool} is neither 0 nor 1`);
  return { dtype, shape, data };
}

/** Decode one serialized TensorProto (a `.pb` data file); `source` names the file in errors. */
export function parseTensorProto(bytes: Uint8Array, source: string): Tensor {
  const bad = (why: string) => new ModeldiffError('BAD_DATA_FILE', `${source}: ${why}`);
  let t: onnx.TensorProto;
  const checked = checkProtobuf(bytes, ONNX_TENSOR, (why) => new ModeldiffError('BAD_DATA_FILE', `${source}: not a serialized ONNX TensorProto: ${why}`));
  try {
    t = onnx.TensorProto.decode(checked);
  } catch (cause) {
    throw new ModeldiffError('BAD_DATA_FILE', `${source}: not a serialized ONNX TensorProto: ${(cause as Error).message}`, { cause });
  }
  if ((t.dataType ?? 0) === DataType.UNDEFINED) throw bad('not a serialized ONNX TensorProto (no data type)');
  const named = t.name ? `tensor ${JSON.stringify(t.name)}: ` : '';
  return decodeTensorProto(t, (why) => bad(named + why));
}

/** Read a `.pb` file holding one serialized TensorProto. */
export function readTensorProto(path: string): Tensor {
  return parseTensorProto(readDataFile(path), path);
}

/** Serialize a tensor as an ONNX TensorProto (raw_data, little-endian). */
export function encodeTensorProto(t: Tensor, name = ''): Uint8Array {
  t = makeTensor(t.data, t.shape, t.dtype, name === '' ? 'tensor' : `tensor "${name}"`);
  const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  return onnx.TensorProto.encode({ name, dims: t.shape, dataType: DATA_TYPE_OF[t.dtype], rawData: bytes }).finish();
}

/** Write a tensor as a `.pb` file (atomically; refuses to overwrite without force). */
export function writeTensorProto(path: string, t: Tensor, options: { name?: string; force?: boolean } = {}): void {
  writeFileAtomic(path, encodeTensorProto(t, options.name), { force: options.force });
}
