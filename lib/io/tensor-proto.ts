/**
 * Single tensors saved as serialized ONNX TensorProto messages (`.pb`): the
 * format of the ONNX test data sets (`test_data_set_0/input_0.pb`) and of
 * `onnx.numpy_helper.from_array(x).SerializeToString()`.
 *
 * Values come from raw_data (little-endian) or from the typed field the ONNX
 * spec assigns to each data type; the dtype is kept (int64 stays exact as
 * BigInt64Array). bfloat16 widens to float32, which is lossless. Strings,
 * complex numbers, 8-bit floats and external data are refused, as is any
 * message whose data does not match its dims: protobuf decodes most byte
 * strings into *some* message, so the sizes are what tell a tensor from junk.
 */
import { ModeldiffError } from '../errors';
import { readDataFile } from './npy';
import { DataType, onnx } from './onnx';
import { DTYPES, type DType, type Tensor, type TypedArray, elementCount, formatShape, makeTensor } from './tensor';

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

type Long = number | { low: number; high: number; unsigned?: boolean };

/** An int64 / uint64 field value exactly (protobufjs gives Long objects when `long` is installed). */
function toBigInt(x: Long, unsigned: boolean): bigint {
  if (typeof x === 'number') return BigInt(x);
  const v = (BigInt(x.high >>> 0) << 32n) | BigInt(x.low >>> 0);
  return unsigned ? v : BigInt.asIntN(64, v);
}

function bfloat16ToFloat32(bits: Uint16Array): Float32Array {
  const words = new Uint32Array(bits.length);
  for (let i = 0; i < bits.length; i++) words[i] = bits[i] << 16;
  return new Float32Array(words.buffer);
}

/** Decode one serialized TensorProto; `source` names the file in errors. */
export function parseTensorProto(bytes: Uint8Array, source: string): Tensor {
  const bad = (why: string) => new ModeldiffError('BAD_ONNX', `${source}: ${why}`);
  let t: onnx.TensorProto;
  try {
    t = onnx.TensorProto.decode(bytes);
  } catch (cause) {
    throw new ModeldiffError('BAD_ONNX', `${source}: not a serialized ONNX TensorProto: ${(cause as Error).message}`, { cause });
  }
  const type = t.dataType ?? 0;
  const name = DataType[type] ?? String(type);
  if (type === DataType.UNDEFINED) throw bad('not a serialized ONNX TensorProto (no data type)');
  const dtype = DTYPE_OF[type];
  if (dtype === undefined) throw bad(`tensor data type ${name} is not supported as probe data`);
  if (t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) throw bad('the tensor keeps its data in an external file, which is not supported here');
  if (t.segment) throw bad('segmented tensors are not supported');
  const shape = (t.dims ?? []).map((d) => Number(toBigInt(d as Long, false)));
  if (shape.some((d) => !Number.isSafeInteger(d) || d < 0)) throw bad(`invalid dims ${formatShape(shape)}`);
  const n = elementCount(shape);
  const raw = t.rawData && t.rawData.length > 0 ? t.rawData : null;
  const mismatch = (got: number, unit: string) => bad(`tensor ${JSON.stringify(t.name ?? '')} has ${got} ${unit}, but dims ${formatShape(shape)} need ${n}`);
  const isBf16 = type === DataType.BFLOAT16;
  let data: TypedArray;
  if (raw) {
    const width = isBf16 ? 2 : DTYPES[dtype].bytes;
    if (raw.length !== n * width) throw mismatch(raw.length / width, `${name} values in raw_data`);
    const copy = new Uint8Array(raw.length); // aligned, and detached from the message buffer
    copy.set(raw);
    data = isBf16 ? bfloat16ToFloat32(new Uint16Array(copy.buffer)) : DTYPES[dtype].make(copy.buffer, 0, n);
  } else {
    const field: ArrayLike<unknown> =
      type === DataType.FLOAT ? t.floatData : type === DataType.DOUBLE ? t.doubleData
        : type === DataType.INT64 ? t.int64Data
          : type === DataType.UINT32 || type === DataType.UINT64 ? t.uint64Data
            : t.int32Data; // int8/16/32, uint8/16, bool, and the bit patterns of float16/bfloat16
    const values = field ?? [];
    if (values.length !== n) throw mismatch(values.length, `${name} values`);
    if (type === DataType.INT64 || type === DataType.UINT64) {
      const out = type === DataType.INT64 ? new BigInt64Array(n) : new BigUint64Array(n);
      for (let i = 0; i < n; i++) out[i] = toBigInt(values[i] as Long, type === DataType.UINT64);
      data = out;
    } else if (type === DataType.UINT32) {
      data = Uint32Array.from(values as ArrayLike<Long>, (v) => Number(toBigInt(v, true)));
    } else if (isBf16) {
      data = bfloat16ToFloat32(Uint16Array.from(values as ArrayLike<number>));
    } else {
      data = DTYPES[dtype].alloc(n);
      (data as Float64Array).set(values as ArrayLike<number>);
    }
  }
  return { dtype, shape, data };
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
