/**
 * Dense n-dimensional arrays as modeldiff passes them around: a dtype name
 * (numpy's / onnxruntime's spelling), a shape, and a row-major (C-order)
 * typed array. float16 values are kept as their raw IEEE bits in a
 * Uint16Array (what onnxruntime-node expects for 'float16' tensors) and bool
 * as a Uint8Array of 0/1.
 *
 * Conversions between dtypes are explicit: `convertTensor` returns a
 * human-readable note whenever it changes the type, so results can report
 * e.g. "x: float64 probe data converted to the model's float32 input".
 */
import { ModeldiffError } from '../errors';

export type DType =
  | 'float32'
  | 'float64'
  | 'float16'
  | 'int8'
  | 'int16'
  | 'int32'
  | 'int64'
  | 'uint8'
  | 'uint16'
  | 'uint32'
  | 'uint64'
  | 'bool';

export type TypedArray =
  | Float32Array
  | Float64Array
  | Uint16Array
  | Int8Array
  | Int16Array
  | Int32Array
  | BigInt64Array
  | Uint8Array
  | Uint32Array
  | BigUint64Array;

export interface Tensor {
  dtype: DType;
  shape: number[];
  data: TypedArray;
}

interface DTypeInfo {
  bytes: number;
  kind: 'float' | 'int' | 'uint' | 'bool';
  make: (buffer: ArrayBuffer, byteOffset: number, length: number) => TypedArray;
  alloc: (length: number) => TypedArray;
}

export const DTYPES: Record<DType, DTypeInfo> = {
  float32: { bytes: 4, kind: 'float', make: (b, o, n) => new Float32Array(b, o, n), alloc: (n) => new Float32Array(n) },
  float64: { bytes: 8, kind: 'float', make: (b, o, n) => new Float64Array(b, o, n), alloc: (n) => new Float64Array(n) },
  float16: { bytes: 2, kind: 'float', make: (b, o, n) => new Uint16Array(b, o, n), alloc: (n) => new Uint16Array(n) },
  int8: { bytes: 1, kind: 'int', make: (b, o, n) => new Int8Array(b, o, n), alloc: (n) => new Int8Array(n) },
  int16: { bytes: 2, kind: 'int', make: (b, o, n) => new Int16Array(b, o, n), alloc: (n) => new Int16Array(n) },
  int32: { bytes: 4, kind: 'int', make: (b, o, n) => new Int32Array(b, o, n), alloc: (n) => new Int32Array(n) },
  int64: { bytes: 8, kind: 'int', make: (b, o, n) => new BigInt64Array(b, o, n), alloc: (n) => new BigInt64Array(n) },
  uint8: { bytes: 1, kind: 'uint', make: (b, o, n) => new Uint8Array(b, o, n), alloc: (n) => new Uint8Array(n) },
  uint16: { bytes: 2, kind: 'uint', make: (b, o, n) => new Uint16Array(b, o, n), alloc: (n) => new Uint16Array(n) },
  uint32: { bytes: 4, kind: 'uint', make: (b, o, n) => new Uint32Array(b, o, n), alloc: (n) => new Uint32Array(n) },
  uint64: { bytes: 8, kind: 'uint', make: (b, o, n) => new BigUint64Array(b, o, n), alloc: (n) => new BigUint64Array(n) },
  bool: { bytes: 1, kind: 'bool', make: (b, o, n) => new Uint8Array(b, o, n), alloc: (n) => new Uint8Array(n) },
};

export function isDType(s: string): s is DType {
  return Object.prototype.hasOwnProperty.call(DTYPES, s);
}

export function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function formatShape(shape: ReadonlyArray<number | string>): string {
  return `[${shape.join(', ')}]`;
}

/** Which typed-array class a dtype uses; the default for a typed array without an explicit dtype. */
export function dtypeOfArray(data: ArrayBufferView): DType {
  if (data instanceof Float32Array) return 'float32';
  if (data instanceof Float64Array) return 'float64';
  if (data instanceof Int8Array) return 'int8';
  if (data instanceof Int16Array) return 'int16';
  if (data instanceof Int32Array) return 'int32';
  if (data instanceof BigInt64Array) return 'int64';
  if (data instanceof Uint8Array) return 'uint8';
  if (data instanceof Uint16Array) return 'uint16';
  if (data instanceof Uint32Array) return 'uint32';
  if (data instanceof BigUint64Array) return 'uint64';
  throw new ModeldiffError('INVALID_ARGUMENT', `unsupported typed array ${data.constructor.name}`);
}

function describeValue(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (v === null || v === undefined) return String(v);
  if (typeof v === 'object') return (v as object).constructor?.name ?? 'an object';
  return `${typeof v} ${String(v)}`;
}

/** bfloat16 bit patterns widened to float32 (exact: bfloat16 is float32's upper half). */
export function bfloat16ToFloat32(bits: Uint16Array): Float32Array {
  const words = new Uint32Array(bits.length);
  for (let i = 0; i < bits.length; i++) words[i] = bits[i] << 16;
  return new Float32Array(words.buffer);
}

/** Index of the first bool value that is neither 0 nor 1, or -1. */
export function firstNonBool(data: ArrayLike<number>): number {
  for (let i = 0; i < data.length; i++) if (data[i] > 1) return i;
  return -1;
}

/**
 * `a`, or a copy of it in an ordinary ArrayBuffer if it lives in a SharedArrayBuffer:
 * onnxruntime-node fails on shared memory with a bare "Invalid argument".
 */
export function unshared<T extends TypedArray>(a: T): T {
  return typeof SharedArrayBuffer !== 'undefined' && a.buffer instanceof SharedArrayBuffer ? (a.slice() as T) : a;
}

/** Build a tensor, checking that the typed array matches the dtype and the shape. */
export function makeTensor(data: TypedArray, shape: readonly number[], dtype?: DType, name = 'tensor'): Tensor {
  // Checked here, not left to the types: JavaScript callers get a message, not a TypeError.
  if (!ArrayBuffer.isView(data) || data instanceof DataView) {
    throw new ModeldiffError('INVALID_ARGUMENT', `${name}: data must be a typed array, got ${describeValue(data)}`);
  }
  const shapeIsList = Array.isArray(shape) || (ArrayBuffer.isView(shape) && !(shape instanceof DataView));
  if (!shapeIsList) throw new ModeldiffError('INVALID_ARGUMENT', `${name}: shape must be an array of sizes, got ${describeValue(shape)}`);
  if (dtype === undefined) {
    try {
      dtype = dtypeOfArray(data);
    } catch (e) {
      throw new ModeldiffError('INVALID_ARGUMENT', `${name}: ${(e as Error).message}`, { cause: e });
    }
  }
  if (!Object.prototype.hasOwnProperty.call(DTYPES, dtype)) {
    throw new ModeldiffError('INVALID_ARGUMENT', `${name}: unknown dtype ${describeValue(dtype)} (one of ${Object.keys(DTYPES).join(', ')})`);
  }
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new ModeldiffError('INVALID_ARGUMENT', `${name}: invalid shape ${formatShape(shape)}`);
  }
  const expectedClass = DTYPES[dtype].alloc(0).constructor as new (n: number) => TypedArray;
  // instanceof, so subclasses (Node's Buffer is a Uint8Array) are accepted.
  if (!(data instanceof expectedClass)) {
    throw new ModeldiffError('INVALID_ARGUMENT', `${name}: dtype ${dtype} needs a ${expectedClass.name}, got a ${data.constructor.name}`);
  }
  if (data.length !== elementCount(shape)) {
    throw new ModeldiffError('SHAPE_MISMATCH', `${name}: shape ${formatShape(shape)} needs ${elementCount(shape)} values, got ${data.length}`);
  }
  const badBool = dtype === 'bool' ? firstNonBool(data as Uint8Array) : -1;
  if (badBool >= 0) throw new ModeldiffError('INVALID_ARGUMENT', `${name}: bool value ${data[badBool]} at flat index ${badBool} is neither 0 nor 1`);
  return { dtype, shape: [...shape], data };
}

// ---- float16 <-> float64 (IEEE 754 binary16, round to nearest even) ----

export function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** A half's magnitude for rounding decisions: the infinity code counts as 2^16, where IEEE overflow rounds to it. */
function halfMagnitude(h: number): number {
  return h === 0x7c00 ? 65536 : halfToFloat(h);
}

/**
 * float64 → float16 bits, rounding to nearest (ties to even) from the float64 value itself.
 * Going through float32 alone rounds twice and can land on a float16 midpoint that the
 * float64 value was not on (1 + 2⁻¹¹ + 2⁻⁴⁰ would become 1, 65519.999999 infinity), so the
 * float32 result is checked against the exact midpoint to its neighbour, in float64
 * (halves and their midpoints are exact there).
 */
export function floatToHalf(v: number): number {
  const h = floatToHalf32(v);
  if (Number.isNaN(v)) return h;
  const a = Math.abs(v);
  const sign = h & 0x8000;
  const m = h & 0x7fff;
  const vm = halfMagnitude(m);
  if (a === vm) return h;
  const other = a > vm ? m + 1 : m - 1;
  if (other < 0 || other > 0x7c00) return h;
  const mid = (vm + halfMagnitude(other)) / 2;
  const beyond = a > vm ? a > mid : a < mid;
  if (beyond) return sign | other;
  if (a === mid) return sign | (m & 1 ? other : m);
  return h;
}

/** float32 → float16 bits (round to nearest even), on the float32 rounding of `v`. */
function floatToHalf32(v: number): number {
  f32[0] = v;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && half & 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && half & 1)) half++;
  e = half >>> 10;
  return sign | (e >= 31 ? 0x7c00 : half);
}

/** Element i as a JS number (int64/uint64 beyond 2^53 lose precision, as in numpy's float conversion). */
function getter(t: Tensor): (i: number) => number {
  const d = t.data;
  if (t.dtype === 'float16') return (i) => halfToFloat((d as Uint16Array)[i]);
  if (t.dtype === 'int64' || t.dtype === 'uint64') return (i) => Number((d as BigInt64Array)[i]);
  return (i) => (d as Float64Array)[i];
}

/** The tensor's values as float64 (any dtype). */
export function toFloat64(t: Tensor): Float64Array {
  if (t.dtype === 'float64') return t.data as Float64Array;
  // float32 and the 8/16/32-bit integers (bool too) widen exactly in the typed-array copy, which
  // converts natively: ~10× a per-element getter on a model's tens of millions of weights.
  if (t.dtype !== 'float16' && t.dtype !== 'int64' && t.dtype !== 'uint64') return new Float64Array(t.data as Float32Array);
  const get = getter(t);
  const out = new Float64Array(t.data.length);
  for (let i = 0; i < out.length; i++) out[i] = get(i);
  return out;
}

const INT_RANGE: Partial<Record<DType, [number, number]>> = {
  int8: [-128, 127],
  int16: [-32768, 32767],
  int32: [-2147483648, 2147483647],
  int64: [-(2 ** 63), 2 ** 63 - 1],
  uint8: [0, 255],
  uint16: [0, 65535],
  uint32: [0, 4294967295],
  uint64: [0, 2 ** 64 - 1],
};

/**
 * Convert to `target`, or explain why not. Allowed: any numeric or bool →
 * float (float64 → float32/float16 rounds, reported); integer/bool → integer
 * when every value fits. Refused (MODEL_INPUT): float → integer or bool, and
 * anything → bool other than bool itself — those would silently change the data.
 * Returns the tensor unchanged (and no note) when the dtype already matches.
 */
export function convertTensor(t: Tensor, target: DType, name: string): { tensor: Tensor; note?: string } {
  if (t.dtype === target) return { tensor: t };
  const from = DTYPES[t.dtype];
  const to = DTYPES[target];
  const refuse = (why: string): never => {
    throw new ModeldiffError('MODEL_INPUT', `input "${name}": the model expects ${target} but the probe data is ${t.dtype} (${why})`);
  };
  if (to.kind === 'bool') refuse('only bool data can feed a bool input');
  if (to.kind !== 'float' && from.kind === 'float') refuse('refusing to truncate floating-point values to integers');
  const n = t.data.length;
  const out = to.alloc(n);
  const get = getter(t);
  if (target === 'float16') {
    const o = out as Uint16Array;
    for (let i = 0; i < n; i++) o[i] = floatToHalf(get(i));
  } else if (to.kind === 'float') {
    const o = out as Float64Array;
    for (let i = 0; i < n; i++) o[i] = get(i);
  } else {
    const [lo, hi] = INT_RANGE[target]!;
    const big = target === 'int64' || target === 'uint64';
    const bigSrc = t.dtype === 'int64' || t.dtype === 'uint64';
    for (let i = 0; i < n; i++) {
      const v = get(i);
      if (v < lo || v > hi) refuse(`value ${bigSrc ? String(t.data[i]) : v} at flat index ${i} does not fit in ${target}`);
      if (big) (out as BigInt64Array)[i] = bigSrc ? BigInt.asIntN(64, t.data[i] as bigint) : BigInt(v);
      else (out as Int32Array)[i] = v;
    }
  }
  const lossy = from.kind === 'float' && to.bytes < from.bytes ? ', rounding to the nearer value' : '';
  return {
    tensor: { dtype: target, shape: t.shape, data: out },
    note: `${name}: ${t.dtype} probe data converted to the model's ${target} input${lossy}`,
  };
}

/** Rows [start, end) along axis 0, as a view (no copy). */
export function sliceRows(t: Tensor, start: number, end: number): Tensor {
  const row = t.shape.length > 0 ? elementCount(t.shape.slice(1)) : 1;
  const data = t.data.subarray(start * row, end * row) as TypedArray;
  return { dtype: t.dtype, shape: [end - start, ...t.shape.slice(1)], data };
}
