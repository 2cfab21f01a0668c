/**
 * .npy / .npz I/O against files whose bytes are written by hand here
 * (magic, version, header dict, raw little/big-endian data), so the parser
 * is checked against the format, not against our own writer.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import t from 'tap';
import { zipSync } from 'fflate';

import { NpyRowReader, encodeNpy, parseNpy, readNpy, writeNpy } from '../lib/io/npy';
import { encodeNpz, parseNpz, readNpz, writeNpz } from '../lib/io/npz';
import { convertTensor, floatToHalf, halfToFloat, makeTensor, sliceRows, toFloat64, dtypeOfArray } from '../lib/io/tensor';
import { ModeldiffError } from '../lib/errors';
import { createRng } from '../lib/util/rng';
import { code } from './helpers/errors';

/** Hand-assemble a .npy file: magic, version, little-endian header length, padded header, data. */
function handNpy(header: string, data: Uint8Array, major = 1): Uint8Array {
  const lenBytes = major === 1 ? 2 : 4;
  let h = header;
  const pad = (64 - ((6 + 2 + lenBytes + h.length + 1) % 64)) % 64;
  h += ' '.repeat(pad) + '\n';
  const hb = Buffer.from(h, 'latin1');
  const pre = Buffer.alloc(8 + lenBytes);
  Buffer.from([0x93]).copy(pre, 0);
  pre.write('NUMPY', 1, 'latin1');
  pre[6] = major;
  pre[7] = 0;
  if (major === 1) pre.writeUInt16LE(hb.length, 8);
  else pre.writeUInt32LE(hb.length, 8);
  return new Uint8Array(Buffer.concat([pre, hb, Buffer.from(data)]));
}

function le(bytesPer: number, values: number[], write: (b: Buffer, v: number, o: number) => void): Uint8Array {
  const b = Buffer.alloc(bytesPer * values.length);
  values.forEach((v, i) => write(b, v, i * bytesPer));
  return new Uint8Array(b);
}

const vals = (a: ArrayBufferView): Array<number | bigint> => Array.from(a as unknown as ArrayLike<number | bigint>);

function caught(fn: () => unknown): Error | undefined {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  return undefined;
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'modeldiff-npy-'));
t.teardown(() => fs.rmSync(tmp, { recursive: true, force: true }));

t.test('every dtype reads from hand-written little-endian files', async (t) => {
  const vals = [0, 1, 2, 3, 4, 5];
  const cases: Array<[string, string, Uint8Array, number[]]> = [
    ['<f4', 'float32', le(4, [0.5, -1.25, 3, 4, 5, 6], (b, v, o) => b.writeFloatLE(v, o)), [0.5, -1.25, 3, 4, 5, 6]],
    ['<f8', 'float64', le(8, [0.1, -2, 3, 4, 5, 1e300], (b, v, o) => b.writeDoubleLE(v, o)), [0.1, -2, 3, 4, 5, 1e300]],
    ['|i1', 'int8', le(1, [-128, 127, 0, 1, 2, 3], (b, v, o) => b.writeInt8(v, o)), [-128, 127, 0, 1, 2, 3]],
    ['<i2', 'int16', le(2, [-32768, 32767, 0, 1, 2, 3], (b, v, o) => b.writeInt16LE(v, o)), [-32768, 32767, 0, 1, 2, 3]],
    ['<i4', 'int32', le(4, [-5, 7, 0, 1, 2, 2147483647], (b, v, o) => b.writeInt32LE(v, o)), [-5, 7, 0, 1, 2, 2147483647]],
    ['<i8', 'int64', le(8, [-5, 7, 0, 1, 2, 3], (b, v, o) => b.writeBigInt64LE(BigInt(v), o)), [-5, 7, 0, 1, 2, 3]],
    ['|u1', 'uint8', le(1, [0, 255, 7, 1, 2, 3], (b, v, o) => b.writeUInt8(v, o)), [0, 255, 7, 1, 2, 3]],
    ['<u2', 'uint16', le(2, [0, 65535, 7, 1, 2, 3], (b, v, o) => b.writeUInt16LE(v, o)), [0, 65535, 7, 1, 2, 3]],
    ['<u4', 'uint32', le(4, [0, 4294967295, 7, 1, 2, 3], (b, v, o) => b.writeUInt32LE(v, o)), [0, 4294967295, 7, 1, 2, 3]],
    ['<u8', 'uint64', le(8, vals, (b, v, o) => b.writeBigUInt64LE(BigInt(v), o)), vals],
    ['|b1', 'bool', le(1, [1, 0, 0, 1, 1, 0], (b, v, o) => b.writeUInt8(v, o)), [1, 0, 0, 1, 1, 0]],
    // float16 bit patterns written by hand: 1.0 = 0x3c00, -2.0 = 0xc000, 0.5 = 0x3800, 65504 = 0x7bff, 2^-24 = 0x0001, 0.
    ['<f2', 'float16', le(2, [0x3c00, 0xc000, 0x3800, 0x7bff, 0x0001, 0], (b, v, o) => b.writeUInt16LE(v, o)), [1, -2, 0.5, 65504, 2 ** -24, 0]],
  ];
  for (const [descr, dtype, data, expected] of cases) {
    const bytes = handNpy(`{'descr': '${descr}', 'fortran_order': False, 'shape': (2, 3), }`, data);
    const a = parseNpy(bytes, `${dtype}.npy`);
    t.equal(a.dtype, dtype, descr);
    t.same(a.shape, [2, 3]);
    t.equal(a.fortranOrder, false);
    t.same(Array.from(toFloat64(a)), expected, `${dtype} values`);
    // Our writer round-trips it byte-for-byte through the parser.
    const again = parseNpy(encodeNpy(a), 'round-trip');
    t.same(Array.from(toFloat64(again)), expected, `${dtype} round trip`);
    t.equal(again.dtype, dtype);
  }
});

t.test('Fortran order is transposed to C order (rank 2 and 3)', async (t) => {
  // Logical 2x3 matrix [[1,2,3],[4,5,6]] stored column-major: 1,4,2,5,3,6.
  const f = handNpy(`{'descr': '<f8', 'fortran_order': True, 'shape': (2, 3), }`, le(8, [1, 4, 2, 5, 3, 6], (b, v, o) => b.writeDoubleLE(v, o)));
  const a = parseNpy(f, 'f.npy');
  t.equal(a.fortranOrder, true);
  t.same(Array.from(a.data as Float64Array), [1, 2, 3, 4, 5, 6]);
  // Rank 3, shape (2,3,4): element [i,j,k] = 100i + 10j + k; Fortran offset = i + 2j + 6k.
  const vals = new Array<number>(24);
  for (let i = 0; i < 2; i++) for (let j = 0; j < 3; j++) for (let k = 0; k < 4; k++) vals[i + 2 * j + 6 * k] = 100 * i + 10 * j + k;
  const g = parseNpy(handNpy(`{'descr': '<i4', 'fortran_order': True, 'shape': (2, 3, 4), }`, le(4, vals, (b, v, o) => b.writeInt32LE(v, o))), 'g.npy');
  const expected: number[] = [];
  for (let i = 0; i < 2; i++) for (let j = 0; j < 3; j++) for (let k = 0; k < 4; k++) expected.push(100 * i + 10 * j + k);
  t.same(Array.from(g.data as Int32Array), expected);
});

t.test('big-endian, version 2/3 headers, 1-D and scalar shapes', async (t) => {
  const be = parseNpy(handNpy(`{'descr': '>f4', 'fortran_order': False, 'shape': (3,), }`, le(4, [1.5, -2, 8], (b, v, o) => b.writeFloatBE(v, o))), 'be.npy');
  t.same(Array.from(be.data as Float32Array), [1.5, -2, 8]);
  t.same(be.shape, [3]);
  const v2 = parseNpy(handNpy(`{'descr': '<i2', 'fortran_order': False, 'shape': (2,), }`, le(2, [3, -4], (b, v, o) => b.writeInt16LE(v, o)), 2), 'v2.npy');
  t.same(Array.from(v2.data as Int16Array), [3, -4]);
  const v3 = parseNpy(handNpy(`{'descr': '<u1', 'fortran_order': False, 'shape': (1,), }`, new Uint8Array([9]), 3), 'v3.npy');
  t.same(vals(v3.data), [9]);
  const scalar = parseNpy(handNpy(`{'descr': '<f8', 'fortran_order': False, 'shape': (), }`, le(8, [42], (b, v, o) => b.writeDoubleLE(v, o))), 's.npy');
  t.same(scalar.shape, []);
  t.same(Array.from(scalar.data as Float64Array), [42]);
  // Data at an unaligned offset is copied into an aligned buffer; aligned data is a view.
  const aligned = handNpy(`{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }`, le(8, [1.5, -3], (b, v, o) => b.writeDoubleLE(v, o)));
  const shifted = new Uint8Array(aligned.length + 1);
  shifted.set(aligned, 1);
  const copy = parseNpy(shifted.subarray(1), 'shifted.npy');
  t.same(Array.from(copy.data as Float64Array), [1.5, -3]);
  t.not(copy.data.buffer, shifted.buffer);
  t.equal(parseNpy(aligned, 'aligned.npy').data.buffer, aligned.buffer);
  const empty = parseNpy(handNpy(`{'descr': '<f4', 'fortran_order': False, 'shape': (0, 5), }`, new Uint8Array(0)), 'e.npy');
  t.same(empty.shape, [0, 5]);
});

t.test('malformed files are refused with BAD_NPY naming the file', async (t) => {
  const good = `{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }`;
  const data = le(4, [1, 2, 3, 4], (b, v, o) => b.writeFloatLE(v, o));
  const err = (bytes: Uint8Array, re: RegExp, name = 'x.npy') => {
    const e = caught(() => parseNpy(bytes, name));
    t.ok(e instanceof ModeldiffError && e.code === 'BAD_NPY' && re.test(e.message) && e.message.includes(name), `${re}: ${e?.message}`);
  };
  err(new TextEncoder().encode('just some text, not numpy at all'), /not a \.npy file/);
  err(handNpy(good, data).subarray(0, 136), /truncated data: shape \[2, 2\] float32 needs 16 bytes, file has 8/); // header complete, data cut
  err(handNpy(good, data).subarray(0, 30), /truncated header/);
  err(handNpy(good, data).subarray(0, 9), /not a \.npy/);
  err(new Uint8Array([...handNpy(good, data), 0, 0]), /2 unexpected bytes/);
  err(handNpy(`{'descr': '|O', 'fortran_order': False, 'shape': (2,), }`, new Uint8Array(16)), /object arrays are refused/);
  err(handNpy(`{'descr': '<c8', 'fortran_order': False, 'shape': (2,), }`, new Uint8Array(16)), /unsupported dtype '<c8'/);
  err(handNpy(`{'descr': '<U3', 'fortran_order': False, 'shape': (2,), }`, new Uint8Array(24)), /unsupported dtype/);
  err(handNpy(`{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }`, new Uint8Array(8)), /structured/);
  err(handNpy(`{'fortran_order': False, 'shape': (2,), }`, new Uint8Array(8)), /no 'descr'/);
  err(handNpy(`{'descr': '<f4', 'shape': (2,), }`, new Uint8Array(8)), /fortran_order/);
  err(handNpy(`{'descr': '<f4', 'fortran_order': False, }`, new Uint8Array(8)), /shape/);
  err(handNpy(`{'descr': '<f4', 'fortran_order': False, 'shape': (-2,), }`, new Uint8Array(8)), /expected an integer, found "-"/);
  err(handNpy(`['descr']`, new Uint8Array(8)), /malformed header/);
  err(handNpy(`{'descr': '|b1', 'fortran_order': False, 'shape': (2,), }`, new Uint8Array([1, 7])), /bool value 7/);
  const v9 = handNpy(good, data);
  v9[6] = 9;
  err(v9, /unsupported \.npy format version 9\.0/);
});

t.test('readNpy / writeNpy on disk: missing file, atomic write, no overwrite without force', async (t) => {
  const p = path.join(tmp, 'a.npy');
  const tensor = makeTensor(new Float32Array([1, 2, 3, 4, 5, 6]), [3, 2]);
  writeNpy(p, tensor);
  const back = readNpy(p);
  t.same(back.shape, [3, 2]);
  t.same(Array.from(back.data as Float32Array), [1, 2, 3, 4, 5, 6]);
  t.equal(code(() => writeNpy(p, tensor)), 'FILE_EXISTS');
  writeNpy(p, makeTensor(new Float32Array([7]), [1]), { force: true });
  t.same(vals(readNpy(p).data), [7]);
  t.equal(code(() => readNpy(path.join(tmp, 'missing.npy'))), 'FILE_NOT_FOUND');
  t.equal(code(() => readNpy(tmp)), 'IO'); // a directory
  t.throws(() => readNpy(tmp), { message: `${tmp}: is a folder, not a data file` });
  t.throws(() => readNpz(tmp), { message: `${tmp}: is a folder, not a data file` });
});

t.test('npz: stored and deflated archives, pickled and object entries refused', async (t) => {
  const x = makeTensor(new Float32Array([1, 2, 3, 4]), [2, 2]);
  const y = makeTensor(new Int32Array([0, 1]), [2]);
  for (const compress of [false, true]) {
    const z = parseNpz(encodeNpz({ x, y }, { compress }), 'p.npz');
    t.same(Object.keys(z).sort(), ['x', 'y']);
    t.same(Array.from(z.x.data as Float32Array), [1, 2, 3, 4]);
    t.same(Array.from(z.y.data as Int32Array), [0, 1]);
  }
  // A hand-made zip, one entry deflated and one stored, entry bytes written by hand.
  const xBytes = handNpy(`{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }`, le(8, [0.25, 4], (b, v, o) => b.writeDoubleLE(v, o)));
  const mixed = zipSync({ 'a.npy': [xBytes, { level: 9 }], 'b.npy': [handNpy(`{'descr': '|u1', 'fortran_order': False, 'shape': (1,), }`, new Uint8Array([5])), { level: 0 }] });
  const m = parseNpz(mixed, 'mixed.npz');
  t.same(Array.from(m.a.data as Float64Array), [0.25, 4]);
  t.same(vals(m.b.data), [5]);

  const pickled = zipSync({ 'obj.npy': new Uint8Array([0x80, 0x04, 0x95, 0, 0]) });
  const pe = caught(() => parseNpz(pickled, 'pk.npz'));
  t.ok(pe instanceof ModeldiffError && pe.code === 'BAD_NPY' && /pk\.npz: entry "obj\.npy" is a pickle/.test(pe.message), String(pe?.message));
  const objectArr = zipSync({ 'o.npy': handNpy(`{'descr': '|O', 'fortran_order': False, 'shape': (1,), }`, new Uint8Array(8)) });
  t.throws(() => parseNpz(objectArr, 'o.npz'), /object arrays are refused/);
  t.throws(() => parseNpz(new Uint8Array([1, 2, 3]), 'junk.npz'), /not a valid \.npz/);
  t.throws(() => parseNpz(zipSync({}), 'empty.npz'), /holds no arrays/);

  const p = path.join(tmp, 'a.npz');
  writeNpz(p, { x }, { compress: true });
  t.same(Array.from(readNpz(p).x.data as Float32Array), [1, 2, 3, 4]);
  t.equal(code(() => readNpz(path.join(tmp, 'nope.npz'))), 'FILE_NOT_FOUND');
  t.equal(code(() => readNpz(tmp)), 'IO');
});

t.test('float16 conversion matches IEEE binary16', async (t) => {
  const cases: Array<[number, number]> = [
    [1, 0x3c00],
    [-2, 0xc000],
    [65504, 0x7bff],
    [1e6, 0x7c00], // overflow → +inf
    [2 ** -24, 0x0001], // smallest subnormal
    [2 ** -26, 0], // underflow to zero
    [1 + 2 ** -11, 0x3c00], // tie → even
    [1 + 3 * 2 ** -11, 0x3c02], // tie → even (up)
    [-0, 0x8000],
    [Infinity, 0x7c00],
  ];
  for (const [v, h] of cases) t.equal(floatToHalf(v), h, `floatToHalf(${v})`);
  t.ok(Number.isNaN(halfToFloat(floatToHalf(NaN))));
  t.equal(halfToFloat(0xfc00), -Infinity);
  for (let h = 0; h < 0x7c00; h += 37) t.equal(floatToHalf(halfToFloat(h)), h, `round trip ${h}`);
});

t.test('float64 → float16 rounds once, from the float64 value (no double rounding through float32)', async (t) => {
  // Reference: the nearest of all finite halves by binary search (infinity stands at 2^16, where
  // IEEE overflow rounds to it), ties to the even code; the sign is copied.
  const mags = Float64Array.from({ length: 0x7c01 }, (_, h) => (h === 0x7c00 ? 65536 : halfToFloat(h)));
  const reference = (x: number): number => {
    const a = Math.abs(x);
    const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
    if (a >= 65536) return sign | 0x7c00;
    let lo = 0;
    let hi = 0x7c00;
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (mags[mid]! <= a) lo = mid;
      else hi = mid;
    }
    const dLo = a - mags[lo]!;
    const dHi = mags[hi]! - a;
    return sign | (dLo < dHi ? lo : dHi < dLo ? hi : lo % 2 === 0 ? lo : hi);
  };
  // Values just past a float16 midpoint by less than float32 can see: float32 rounds them onto the midpoint.
  const cases: Array<[number, number]> = [
    [1 + 2 ** -11 + 2 ** -40, 0x3c01],
    [-(1 + 2 ** -11 + 2 ** -40), 0xbc01],
    [1 + 3 * 2 ** -11 - 2 ** -40, 0x3c01],
    [65520 - 2 ** -20, 0x7bff], // below the overflow threshold: the largest half, not infinity
    [65520, 0x7c00],
    [2 ** -25 + 2 ** -60, 0x0001], // past half the smallest subnormal
    [2 ** -25, 0],
  ];
  for (const [v, h] of cases) t.equal(floatToHalf(v), h, `floatToHalf(${v})`);
  for (const [v, h] of cases) t.equal(reference(v), h, `reference(${v})`);
  const rng = createRng(5);
  let bad = 0;
  for (let i = 0; i < 20000; i++) {
    // Random magnitudes from subnormal to overflow, half of them nudged next to a midpoint.
    const h = rng.int(0x7c00);
    const base = i % 2 === 0 ? (halfToFloat(h) + halfToFloat(h + 1)) / 2 : halfToFloat(h) * (1 + rng.float());
    const x = (i % 4 < 2 ? 1 : -1) * base * (1 + (rng.float() - 0.5) * 2 ** -30);
    if (floatToHalf(x) !== reference(x)) bad++;
  }
  t.equal(bad, 0, 'random values match the reference');
});

t.test('convertTensor: explicit, reported conversions; lossy ones refused', async (t) => {
  const f64 = makeTensor(new Float64Array([0.1, 2]), [2]);
  const r = convertTensor(f64, 'float32', 'x');
  t.equal(r.tensor.dtype, 'float32');
  t.match(r.note, /x: float64 probe data converted to the model's float32 input, rounding/);
  t.equal((r.tensor.data as Float32Array)[0], Math.fround(0.1));
  t.equal(convertTensor(f64, 'float64', 'x').note, undefined);
  t.same(vals(convertTensor(makeTensor(new Float32Array([1, -2]), [2]), 'float16', 'x').tensor.data), [0x3c00, 0xc000]);
  const ints = makeTensor(new Int32Array([3, -1]), [2]);
  t.same(Array.from(convertTensor(ints, 'int64', 'ids').tensor.data as BigInt64Array), [3n, -1n]);
  t.same(vals(convertTensor(ints, 'float32', 'ids').tensor.data), [3, -1]);
  t.same(vals(convertTensor(makeTensor(new BigInt64Array([5n]), [1]), 'int32', 'ids').tensor.data), [5]);
  t.same(vals(convertTensor(makeTensor(new BigInt64Array([-5n]), [1]), 'int64', 'ids').tensor.data), [-5n]);
  t.same(vals(convertTensor(makeTensor(new BigUint64Array([5n]), [1]), 'int64', 'ids').tensor.data), [5n]);
  t.same(vals(convertTensor(makeTensor(new Int8Array([5]), [1]), 'uint64', 'ids').tensor.data), [5n]);
  t.equal(code(() => convertTensor(ints, 'uint8', 'ids')), 'MODEL_INPUT'); // -1 does not fit
  t.equal(code(() => convertTensor(f64, 'int64', 'x')), 'MODEL_INPUT');
  t.equal(code(() => convertTensor(ints, 'bool', 'm')), 'MODEL_INPUT');
  t.throws(() => convertTensor(f64, 'int32', 'x'), /input "x": the model expects int32 but the probe data is float64/);
});

t.test('makeTensor / sliceRows / dtypeOfArray', async (t) => {
  t.equal(code(() => makeTensor(new Float32Array(5), [2, 3])), 'SHAPE_MISMATCH');
  t.equal(code(() => makeTensor(new Float32Array(6), [2, -3])), 'INVALID_ARGUMENT');
  t.equal(code(() => makeTensor(new Float32Array(6), [2, 3], 'float64')), 'INVALID_ARGUMENT');
  t.equal(code(() => dtypeOfArray(new DataView(new ArrayBuffer(4)))), 'INVALID_ARGUMENT');
  // JavaScript callers get messages naming what is wrong, not TypeErrors.
  const bad = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      return e instanceof ModeldiffError ? `${e.code}: ${e.message}` : `not a ModeldiffError: ${String(e)}`;
    }
    return 'no error';
  };
  const js = makeTensor as unknown as (...args: unknown[]) => unknown;
  t.equal(bad(() => js('float32', [2], new Float32Array(2))), 'INVALID_ARGUMENT: tensor: data must be a typed array, got "float32"');
  t.equal(bad(() => js([1, 2], [2])), 'INVALID_ARGUMENT: tensor: data must be a typed array, got Array');
  t.equal(bad(() => js(new DataView(new ArrayBuffer(8)), [2])), 'INVALID_ARGUMENT: tensor: data must be a typed array, got DataView');
  t.equal(bad(() => js(new Float32Array(2), 2)), 'INVALID_ARGUMENT: tensor: shape must be an array of sizes, got number 2');
  t.match(bad(() => js(new Float32Array(2), [2], 'float8', 'x')), /^INVALID_ARGUMENT: x: unknown dtype "float8" \(one of float32, float64, .*\)$/);
  t.match(bad(() => js(new Float32Array(2), [2], 'constructor')), /^INVALID_ARGUMENT: tensor: unknown dtype "constructor"/);
  t.equal(bad(() => js(new Uint8ClampedArray(2), [2], undefined, 'x')), 'INVALID_ARGUMENT: x: unsupported typed array Uint8ClampedArray');
  t.same(makeTensor(new Float32Array(6), Int32Array.from([2, 3]) as unknown as number[]).shape, [2, 3], 'a typed-array shape is accepted');
  const types: Array<[ArrayBufferView, string]> = [
    [new Float32Array(1), 'float32'], [new Float64Array(1), 'float64'], [new Int8Array(1), 'int8'], [new Int16Array(1), 'int16'],
    [new Int32Array(1), 'int32'], [new BigInt64Array(1), 'int64'], [new Uint8Array(1), 'uint8'], [new Uint16Array(1), 'uint16'],
    [new Uint32Array(1), 'uint32'], [new BigUint64Array(1), 'uint64'],
  ];
  for (const [a, d] of types) t.equal(dtypeOfArray(a), d);
  const m = makeTensor(new Float32Array([0, 1, 2, 3, 4, 5]), [3, 2]);
  const s = sliceRows(m, 1, 3);
  t.same(s.shape, [2, 2]);
  t.same(vals(s.data), [2, 3, 4, 5]);
});

t.test('NpyRowReader: rows by offset equal the whole-file parse; same errors as parseNpy', async (t) => {
  const rng = createRng(5);
  const cases: Array<[string, Uint8Array, number]> = [];
  const f32 = Array.from({ length: 7 * 6 }, () => rng.normal());
  cases.push(['le-f4', handNpy(`{'descr': '<f4', 'fortran_order': False, 'shape': (7, 2, 3), }`, le(4, f32, (b, v, o) => b.writeFloatLE(v, o))), 7]);
  cases.push(['be-f8', handNpy(`{'descr': '>f8', 'fortran_order': False, 'shape': (7, 6), }`, le(8, f32, (b, v, o) => b.writeDoubleBE(v, o)), 2), 7]);
  cases.push(['be-i2', handNpy(`{'descr': '>i2', 'fortran_order': False, 'shape': (5, 3), }`, le(2, Array.from({ length: 15 }, (_, i) => i * 37 - 200), (b, v, o) => b.writeInt16BE(v, o)), 3), 5]);
  cases.push(['bool', handNpy(`{'descr': '|b1', 'fortran_order': False, 'shape': (4,), }`, new Uint8Array([1, 0, 0, 1])), 4]);
  cases.push(['i8', handNpy(`{'descr': '<i8', 'fortran_order': False, 'shape': (3, 1), }`, le(8, [5, -6, 7], (b, v, o) => b.writeBigInt64LE(BigInt(v), o))), 3]);
  for (const [name, bytes, n] of cases) {
    const file = path.join(tmp, `rows-${name}.npy`);
    fs.writeFileSync(file, bytes);
    const whole = parseNpy(bytes, file);
    const r = new NpyRowReader(file);
    t.same(r.layout.shape, whole.shape, name);
    t.equal(r.layout.dtype, whole.dtype, name);
    const row = whole.data.length / n;
    t.equal(r.rowBytes, row * r.layout.itemBytes);
    for (const [s, e] of [[0, n], [1, 3], [n - 1, n], [2, 2]]) {
      const got = r.rows(s, e);
      t.same(got.shape, [e - s, ...whole.shape.slice(1)], `${name} rows ${s}..${e} shape`);
      t.same(vals(got.data), vals(whole.data.subarray(s * row, e * row)), `${name} rows ${s}..${e}`);
    }
    // streamData gives the little-endian item bytes, i.e. the bytes of the parsed array.
    const parts: Buffer[] = [];
    r.streamData((c) => parts.push(Buffer.from(c)));
    t.same(Buffer.concat(parts), Buffer.from(whole.data.buffer, whole.data.byteOffset, whole.data.byteLength), `${name} streamed bytes`);
  }

  // Every malformed file is refused by the reader with parseNpy's message.
  const good = `{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }`;
  const data = le(4, [1, 2, 3, 4], (b, v, o) => b.writeFloatLE(v, o));
  const v9 = handNpy(good, data);
  v9[6] = 9;
  const bads: Uint8Array[] = [
    new TextEncoder().encode('just some text, not numpy at all'),
    handNpy(good, data).subarray(0, 136),
    handNpy(good, data).subarray(0, 30),
    handNpy(good, data).subarray(0, 11),
    handNpy(good, data).subarray(0, 9),
    new Uint8Array(0),
    new Uint8Array([...handNpy(good, data), 0, 0]),
    handNpy(`{'descr': '|O', 'fortran_order': False, 'shape': (2,), }`, new Uint8Array(16)),
    handNpy(`['descr']`, new Uint8Array(8)),
    v9,
  ];
  bads.forEach((bytes, i) => {
    const file = path.join(tmp, `rows-bad-${i}.npy`);
    fs.writeFileSync(file, bytes);
    const want = caught(() => parseNpy(bytes, file));
    const got = caught(() => new NpyRowReader(file));
    t.ok(got instanceof ModeldiffError && got.code === 'BAD_NPY', `bad ${i}: ${got?.message}`);
    t.equal(got?.message, want?.message, `bad ${i}: same message`);
  });
  // A bad bool is found when its rows are read, at its flat index in the file.
  const boolFile = path.join(tmp, 'rows-badbool.npy');
  fs.writeFileSync(boolFile, handNpy(`{'descr': '|b1', 'fortran_order': False, 'shape': (3, 2), }`, new Uint8Array([1, 0, 0, 1, 1, 9])));
  const br = new NpyRowReader(boolFile);
  t.same(vals(br.rows(0, 2).data), [1, 0, 0, 1]);
  t.throws(() => br.rows(1, 3), /rows-badbool\.npy: bool value 9 at flat index 5 is neither 0 nor 1/);
  // Fortran order cannot be read by rows (callers load it whole).
  const fFile = path.join(tmp, 'rows-f.npy');
  fs.writeFileSync(fFile, handNpy(`{'descr': '<f8', 'fortran_order': True, 'shape': (2, 3), }`, le(8, [1, 4, 2, 5, 3, 6], (b, v, o) => b.writeDoubleLE(v, o))));
  t.equal(code(() => new NpyRowReader(fFile).rows(0, 1)), 'INTERNAL');
  // Missing file, a folder, a file that shrinks after its header was read.
  t.equal(code(() => new NpyRowReader(path.join(tmp, 'nope.npy'))), 'FILE_NOT_FOUND');
  t.throws(() => new NpyRowReader(tmp), /is a folder, not a data file/);
  const shrink = path.join(tmp, 'rows-shrink.npy');
  fs.writeFileSync(shrink, handNpy(good, data));
  const sr = new NpyRowReader(shrink);
  fs.truncateSync(shrink, 130);
  t.throws(() => sr.rows(0, 2), { code: 'IO', message: /rows-shrink\.npy: the file shrank while it was being read$/ });
  fs.rmSync(shrink);
  t.equal(code(() => sr.rows(0, 1)), 'FILE_NOT_FOUND');
});
