/**
 * The array-file readers beyond .npy: ONNX TensorProto (.pb) files written by
 * the onnx package (raw_data and typed fields) and .safetensors files written
 * from the format's specification, both by scripts/make-array-fixtures.py,
 * checked value for value against an .npz numpy wrote of the same arrays.
 * Then every way such a file can be malformed, and probe data in the new
 * formats giving the same comparison as the .npy it was converted from.
 */
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { zipSync } from 'fflate';
import t, { type Test as Tap } from 'tap';

import { type CompareMetric, compare } from '../lib/function/compare';
import { arrayFileFormat, readArray, readArrays, writeArray } from '../lib/io/array-file';
import { encodeNpy, parseNpy, readNpy } from '../lib/io/npy';
import { parseNpz, readNpz } from '../lib/io/npz';
import { onnx } from '../lib/io/onnx';
import { loadLabels, loadProbe } from '../lib/io/probe';
import { encodeSafetensors, parseSafetensors, readSafetensors, writeSafetensors } from '../lib/io/safetensors';
import type { Tensor } from '../lib/io/tensor';
import { encodeTensorProto, parseTensorProto, readTensorProto } from '../lib/io/tensor-proto';
import { code } from './helpers/errors';

const FIX = path.join(__dirname, 'fixtures', 'arrays');
const ZOO = path.join(__dirname, '..', 'examples', 'digits');
const reference = readNpz(path.join(FIX, 'reference.npz'));
const KEYS = ['f32', 'f64', 'f16', 'i8', 'i16', 'i32', 'i64', 'u8', 'u16', 'u32', 'u64', 'bool'];

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'modeldiff-arrays-'));
t.teardown(() => fs.rmSync(tmp, { recursive: true, force: true }));

const values = (x: Tensor): Array<number | bigint> => Array.from(x.data as unknown as ArrayLike<number | bigint>);

/** Same dtype, shape and values (bit for bit: -0 and subnormals included). */
function same(t: Tap, got: Tensor, want: Tensor, what: string): void {
  t.equal(got.dtype, want.dtype, `${what}: dtype`);
  t.same(got.shape, want.shape, `${what}: shape`);
  t.same(Buffer.from(got.data.buffer, got.data.byteOffset, got.data.byteLength), Buffer.from(want.data.buffer, want.data.byteOffset, want.data.byteLength), `${what}: bytes`);
}

function messageOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    return (e as Error).message;
  }
  return '';
}

t.test('TensorProto files from onnx: raw_data and typed fields, every dtype', async (t) => {
  for (const key of KEYS) {
    for (const form of ['raw', 'typed']) {
      const file = path.join(FIX, `${form}_${key}.pb`);
      same(t, readTensorProto(file), reference[key], `${form}_${key}.pb`);
      same(t, readArray(file), reference[key], `${form}_${key}.pb via readArray`);
    }
  }
  // int64 beyond 2^53 must not go through a double.
  t.same(values(readTensorProto(path.join(FIX, 'typed_i64.pb'))), [-(2n ** 63n), 2n ** 63n - 1n, 2n ** 53n + 1n, -(2n ** 53n) - 1n]);
  t.same(values(readTensorProto(path.join(FIX, 'typed_u64.pb'))), [0n, 2n ** 64n - 1n, 2n ** 53n + 1n]);
});

t.test('bfloat16 widens to float32 exactly', async (t) => {
  for (const form of ['raw', 'typed']) {
    const x = readTensorProto(path.join(FIX, `${form}_bf16.pb`));
    t.equal(x.dtype, 'float32');
    t.same(values(x), values(reference.bf16), form);
  }
  const st = readSafetensors(path.join(FIX, 'all.safetensors'));
  t.equal(st.bf16.dtype, 'float32');
  t.same(values(st.bf16), values(reference.bf16));
});

t.test('safetensors written from the specification: every dtype, metadata skipped', async (t) => {
  const st = readSafetensors(path.join(FIX, 'all.safetensors'));
  t.same(Object.keys(st).sort(), [...KEYS, 'bf16'].sort(), 'every tensor, no __metadata__');
  for (const key of KEYS) same(t, st[key], reference[key], `all.safetensors:${key}`);
  same(t, readArray(path.join(FIX, 'single.safetensors')), reference.f32, 'a one-tensor file as a single array');
  t.match(messageOf(() => readArray(path.join(FIX, 'all.safetensors'), 'all.safetensors')), /all\.safetensors: holds 13 arrays \(.*"f32".*\); give a file with just one/);
});

t.test('round trips through our own writers', async (t) => {
  const arrays = Object.fromEntries(KEYS.map((k) => [k, reference[k]]));
  const back = parseSafetensors(encodeSafetensors(arrays), '<bytes>');
  for (const k of KEYS) same(t, back[k], reference[k], `safetensors ${k}`);
  for (const k of KEYS) same(t, parseTensorProto(encodeTensorProto(reference[k], k), '<bytes>'), reference[k], `TensorProto ${k}`);
  const file = path.join(tmp, 'w.safetensors');
  writeSafetensors(file, { x: reference.f32 });
  t.equal(code(() => writeSafetensors(file, { x: reference.f64 })), 'FILE_EXISTS', 'never overwrites without force');
  same(t, readArray(file), reference.f32, 'the first write is intact');
  // The data section starts 8-byte aligned, as the reference writer pads it.
  const n = Number(Buffer.from(fs.readFileSync(file)).readBigUInt64LE(0));
  t.equal((8 + n) % 8, 0);
});

t.test('format detection: extension first, else the first bytes', async (t) => {
  const x = reference.f32;
  const cases: Array<[string, Uint8Array, string]> = [
    ['probe.bin', fs.readFileSync(path.join(ZOO, 'probe_y.npy')), 'npy'],
    ['probe.data', fs.readFileSync(path.join(FIX, 'reference.npz')), 'npz'],
    ['probe.st', encodeSafetensors({ x }), 'safetensors'],
  ];
  for (const [name, bytes, format] of cases) {
    const file = path.join(tmp, name);
    fs.writeFileSync(file, bytes);
    t.equal(arrayFileFormat(file), format, name);
    t.ok(readArrays(file).length >= 1);
  }
  same(t, readArray(path.join(tmp, 'probe.st')), x, 'detected safetensors reads');
  t.equal(arrayFileFormat(path.join(tmp, 'whatever.PB')), 'tensorproto', 'extensions are case-insensitive');
  const txt = path.join(tmp, 'notes.txt');
  fs.writeFileSync(txt, 'hello, world');
  t.equal(code(() => readArrays(txt)), 'BAD_DATA_FILE');
  t.match(messageOf(() => readArrays(txt)), /notes\.txt: not a data file modeldiff reads \(expected \.npy, \.npz, \.safetensors or \.pb/);
  t.equal(code(() => readArrays(path.join(tmp, 'missing.bin'))), 'FILE_NOT_FOUND');
  t.equal(code(() => readArrays(tmp + '/')), 'IO', 'a folder');
  const empty = path.join(tmp, 'empty.dat');
  fs.writeFileSync(empty, '');
  t.equal(code(() => readArrays(empty)), 'BAD_DATA_FILE');
});

t.test('malformed TensorProto files: errors name the file and what is wrong', async (t) => {
  const bad = (bytes: Uint8Array) => {
    const e = messageOf(() => parseTensorProto(bytes, 'x.pb'));
    return { code: code(() => parseTensorProto(bytes, 'x.pb')), message: e };
  };
  const enc = (m: onnx.ITensorProto) => onnx.TensorProto.encode(m).finish();
  t.match(bad(new Uint8Array(0)), { code: 'BAD_DATA_FILE', message: /^x\.pb: not a serialized ONNX TensorProto \(no data type\)/ });
  t.match(bad(fs.readFileSync(path.join(ZOO, 'probe_y.npy'))), { code: 'BAD_DATA_FILE', message: /^x\.pb: / }, 'a .npy renamed .pb');
  t.match(bad(enc({ name: 'w', dims: [2, 3], dataType: onnx.TensorProto.DataType.FLOAT, floatData: [1, 2, 3] })), {
    code: 'BAD_DATA_FILE',
    message: /^x\.pb: tensor "w": 3 FLOAT values in float_data, but dims \[2, 3\] need 6/,
  });
  t.match(bad(enc({ name: 'w', dims: [2], dataType: onnx.TensorProto.DataType.DOUBLE, rawData: new Uint8Array(12) })), { message: /1\.5 DOUBLE values in raw_data, but dims \[2\] need 2/ });
  // Typed-field values outside their type are errors, not wrapped; bools are 0 or 1.
  const typed = (dataType: number, field: onnx.ITensorProto) => bad(enc({ dims: [2], dataType, ...field }));
  const T = onnx.TensorProto.DataType;
  t.match(typed(T.INT8, { int32Data: [300, -200] }), { message: /INT8 value 300 at flat index 0 of int32_data is out of range/ });
  t.match(typed(T.UINT8, { int32Data: [1, -1] }), { message: /UINT8 value -1 at flat index 1/ });
  t.match(typed(T.INT16, { int32Data: [0, 40000] }), { message: /INT16 value 40000/ });
  t.match(typed(T.UINT16, { int32Data: [70000, 0] }), { message: /UINT16 value 70000/ });
  t.match(typed(T.FLOAT16, { int32Data: [70000, 0] }), { message: /FLOAT16 value 70000/ });
  t.match(typed(T.BOOL, { int32Data: [1, 2] }), { message: /BOOL value 2 at flat index 1/ });
  t.match(typed(T.UINT32, { uint64Data: [5, 2 ** 40 + 5] }), { message: /UINT32 value 1099511627781 at flat index 1 is out of range/ });
  t.match(bad(enc({ dims: [2], dataType: T.BOOL, rawData: new Uint8Array([1, 7]) })), { message: /bool value 7 at flat index 1 is neither 0 nor 1/ });
  t.match(bad(enc({ dims: [1], dataType: onnx.TensorProto.DataType.STRING, stringData: [Buffer.from('a')] })), { message: /data type STRING is not supported/ });
  t.match(bad(enc({ dims: [1], dataType: onnx.TensorProto.DataType.COMPLEX64, floatData: [1, 2] })), { message: /COMPLEX64 is not supported/ });
  t.match(
    bad(enc({ dims: [1], dataType: onnx.TensorProto.DataType.FLOAT, dataLocation: onnx.TensorProto.DataLocation.EXTERNAL, externalData: [{ key: 'location', value: '/etc/passwd' }] })),
    { message: /its data is in an external file that was not loaded/ },
  );
  t.match(bad(enc({ dims: [-1], dataType: onnx.TensorProto.DataType.FLOAT })), { message: /invalid dims \[-1\]/ });
  t.match(bad(enc({ dims: [1], dataType: onnx.TensorProto.DataType.FLOAT, floatData: [1], segment: { begin: 0, end: 1 } })), { message: /segmented/ });
  // A truncated file: protobuf cannot finish the message.
  const whole = fs.readFileSync(path.join(FIX, 'raw_f64.pb'));
  t.equal(bad(whole.subarray(0, whole.length - 5)).code, 'BAD_DATA_FILE');
});

t.test('malformed safetensors files: errors name the file and what is wrong', async (t) => {
  const good = encodeSafetensors({ a: reference.f32, b: reference.i8 });
  const headerLength = Number(Buffer.from(good).readBigUInt64LE(0));
  const header = JSON.parse(Buffer.from(good.subarray(8, 8 + headerLength)).toString());
  const withHeader = (h: unknown, data = good.subarray(8 + headerLength)) => {
    const json = Buffer.from(JSON.stringify(h));
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(json.length));
    return new Uint8Array(Buffer.concat([len, json, Buffer.from(data)]));
  };
  const bad = (bytes: Uint8Array) => ({ code: code(() => parseSafetensors(bytes, 'm.safetensors')), message: messageOf(() => parseSafetensors(bytes, 'm.safetensors')) });
  t.match(bad(good.subarray(0, 5)), { code: 'BAD_DATA_FILE', message: /^m\.safetensors: not a safetensors file \(5 bytes/ });
  t.match(bad(good.subarray(0, 20)), { message: /header length \(\d+ bytes\) does not fit in the file \(20 bytes\)/ });
  t.match(bad(good.subarray(0, good.length - 3)), { message: /truncated file|bytes of data/ }, 'truncated data section');
  const junkLength = new Uint8Array(good);
  new DataView(junkLength.buffer).setBigUint64(0, 2n ** 62n, true);
  t.match(bad(junkLength), { message: /does not fit in the file/ });
  const notJson = new Uint8Array(good);
  notJson[8] = 0x21;
  t.match(bad(notJson), { message: /the header is not JSON/ });
  t.match(bad(withHeader([1, 2])), { message: /the header is not a JSON object/ });
  t.match(bad(withHeader({ __metadata__: {} }, new Uint8Array(0))), { message: /holds no tensors/ });
  t.match(bad(withHeader({ ...header, a: { ...header.a, dtype: 'F8_E4M3' } })), { message: /tensor "a": dtype F8_E4M3 is not supported/ });
  t.match(bad(withHeader({ ...header, a: { dtype: 'F32' } })), { message: /tensor "a": its header entry needs dtype, shape and data_offsets/ });
  t.match(bad(withHeader({ ...header, a: { ...header.a, shape: [4, -3] } })), { message: /tensor "a": shape \[4, -3\] is not a list of non-negative integers/ });
  t.match(bad(withHeader({ ...header, a: { ...header.a, shape: [3, 3] } })), { message: /tensor "a": 48 bytes of data, but F32 \[3, 3\] needs 36/ });
  t.match(bad(withHeader({ ...header, a: { ...header.a, data_offsets: [0, 1e9] } })), { message: /data_offsets \[0,1000000000\] are not a range inside/ });
  t.match(bad(withHeader({ ...header, b: { ...header.b, data_offsets: [0, 4] } })), { message: /overlapping or missing data/ });
  const extra = new Uint8Array([...good, 0, 0, 0, 0]);
  t.match(bad(extra), { message: /4 bytes after the last tensor/ });
});

t.test('probe data, labels and outputs in the new formats', async (t) => {
  const x = readNpy(path.join(ZOO, 'probe_x.npy'));
  const y = readNpy(path.join(ZOO, 'probe_y.npy'));
  const pb = path.join(tmp, 'input_0.pb');
  fs.writeFileSync(pb, encodeTensorProto(x, 'input'));
  const st = path.join(tmp, 'probe.safetensors');
  writeSafetensors(st, { x, y });
  const yPb = path.join(tmp, 'labels.pb');
  fs.writeFileSync(yPb, encodeTensorProto(y));

  // Named arrays from a safetensors file map by key, like an .npz.
  const probe = loadProbe(st);
  t.same(Object.keys(probe.inputs).sort(), ['x', 'y']);
  t.same(probe.sources.x, `${st}:x`);
  t.same(Array.from(loadLabels(yPb, y.shape[0])), Array.from(y.data as Int32Array, Number));

  const a = path.join(ZOO, 'mlp_relu_seed0.onnx');
  const b = path.join(ZOO, 'mlp_relu_seed1.onnx');
  const opts = { metrics: ['js', 'tv'] as CompareMetric[], bootstrap: 0, cache: false };
  const viaNpy = await compare(a, b, { ...opts, data: path.join(ZOO, 'probe_x.npy'), labels: path.join(ZOO, 'probe_y.npy') });
  const viaPb = await compare(a, b, { ...opts, data: pb, labels: yPb });
  const st1 = path.join(tmp, 'probe_x.safetensors');
  writeSafetensors(st1, { images: x });
  const viaSt = await compare(a, b, { ...opts, data: st1, labels: yPb });
  for (const r of [viaPb, viaSt]) {
    t.equal(r.n, 450);
    t.equal(r.n, viaNpy.n);
    t.equal(r.metrics.js?.mean, viaNpy.metrics.js?.mean, 'same JS, bit for bit');
    t.equal(r.metrics.tv?.mean, viaNpy.metrics.tv?.mean);
    t.same(r.accuracy, viaNpy.accuracy);
  }
});

t.test('names and dtypes that are also object properties', async (t) => {
  const x = reference.f32;
  for (const name of ['__proto__', 'constructor', 'toString']) {
    const back = parseSafetensors(encodeSafetensors({ [name]: x }), '<bytes>');
    t.same(Object.keys(back), [name], `a tensor called ${name} round-trips`);
    same(t, back[name], x, name);
  }
  const two = path.join(tmp, 'two.safetensors');
  writeSafetensors(two, { ['__proto__']: x, x: reference.f64 });
  t.match(messageOf(() => readArray(two, 'two.safetensors')), /two\.safetensors: holds 2 arrays \("__proto__", "x"\)/, 'not silently one array');
  const npz = parseNpz(zipSync({ ['__proto__.npy']: encodeNpy(x) }), '<npz>');
  t.same(Object.keys(npz), ['__proto__']);
  // Probe inputs named like Object's own properties are just names.
  const probeFile = path.join(tmp, 'ctor.safetensors');
  writeSafetensors(probeFile, { constructor: x, valueOf: x });
  t.same(Object.keys(loadProbe(probeFile).inputs).sort(), ['constructor', 'valueOf']);
  // A dtype string naming an Object property is an unsupported dtype, not a crash.
  const header = (dtype: string) => {
    const json = Buffer.from(JSON.stringify({ x: { dtype, shape: [2, 2], data_offsets: [0, 16] } }));
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(json.length));
    return new Uint8Array(Buffer.concat([len, json, Buffer.alloc(16)]));
  };
  for (const dtype of ['toString', 'constructor', '__proto__', 'valueOf']) {
    t.equal(code(() => parseSafetensors(header(dtype), 'm.safetensors')), 'BAD_DATA_FILE', dtype);
    t.match(messageOf(() => parseSafetensors(header(dtype), 'm.safetensors')), new RegExp(`dtype ${dtype} is not supported`));
  }
});

t.test('bool data must be 0 or 1, in files and in what we write', async (t) => {
  const json = Buffer.from(JSON.stringify({ b: { dtype: 'BOOL', shape: [2], data_offsets: [0, 2] } }));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  const file = new Uint8Array(Buffer.concat([len, json, Buffer.from([1, 2])]));
  t.match(messageOf(() => parseSafetensors(file, 'b.safetensors')), /tensor "b": bool value 2 at flat index 1 is neither 0 nor 1/);
  t.equal(code(() => encodeNpy({ dtype: 'bool', shape: [2], data: new Uint8Array([2, 1]) })), 'INVALID_ARGUMENT', 'a bool 2 is not written');
});

t.test("Node's Buffer is a Uint8Array to the writers", async (t) => {
  const b = Buffer.from([1, 2, 3]);
  const back = parseNpy(encodeNpy({ dtype: 'uint8', shape: [3], data: b }), '<npy>');
  t.same(Array.from(back.data as Uint8Array), [1, 2, 3]);
});

t.test('writeArray writes the format the extension names; readArray reads it back', async (t) => {
  const x = reference.i64;
  for (const ext of ['.npy', '.npz', '.safetensors', '.pb']) {
    const file = path.join(tmp, `wa${ext}`);
    writeArray(file, x, { name: 'logits' });
    same(t, readArray(file), x, ext);
    t.equal(code(() => writeArray(file, x)), 'FILE_EXISTS', `${ext}: no overwrite without force`);
    writeArray(file, reference.f64, { force: true });
    same(t, readArray(file), reference.f64, `${ext} with force`);
  }
  t.same(Object.keys(readSafetensors(path.join(tmp, 'wa.safetensors'))), ['array'], 'the default key');
  t.equal(code(() => writeArray(path.join(tmp, 'w.bin'), x)), 'INVALID_ARGUMENT');
  t.match(messageOf(() => writeArray(path.join(tmp, 'w.bin'), x, { label: 'w.bin' })), /^w\.bin: give the file one of the extensions \.npy, \.npz, \.safetensors or \.pb/);
  t.notOk(fs.existsSync(path.join(tmp, 'w.bin')));
});

t.test('pipes and FIFOs: read once and recognized in memory', async (t) => {
  const fifo = path.join(tmp, 'stream');
  execFileSync('mkfifo', [fifo]);
  for (const [file, want] of [[path.join(ZOO, 'probe_y.npy'), readNpy(path.join(ZOO, 'probe_y.npy'))], [path.join(FIX, 'single.safetensors'), reference.f32]] as const) {
    const writer = spawn('sh', ['-c', 'cat "$0" > "$1"', file, fifo]);
    same(t, readArray(fifo), want, path.basename(file));
    await once(writer, 'exit');
  }
  t.equal(arrayFileFormat(fifo), undefined, 'a FIFO without an extension is not peeked at');
});
