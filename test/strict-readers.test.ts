/**
 * Regression tests for issue 17: each malformed file a fuzz run found accepted
 * (or misread, or slow) is built here byte by byte and must be refused with a
 * coded ModeldiffError — or, for the valid-but-unusual encodings, read right.
 * Expected values are the ones the file's bytes spell out (and numpy's or
 * onnxruntime's verdicts, noted per case), never the reader's own output.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';

import t from 'tap';
import { zipSync } from 'fflate';
import { onnx } from 'onnx-proto';

import { ModeldiffError } from '../lib/errors';
import { inferOutputs } from '../lib/infer';
import { NpyRowReader, parseNpy, readNpy } from '../lib/io/npy';
import { parseNpz, readNpz } from '../lib/io/npz';
import { decodeOnnx } from '../lib/io/onnx';
import { MAX_DEPTH } from '../lib/io/onnx-wire';
import { parseTensorProto } from '../lib/io/tensor-proto';
import { crc32, tableCrc32 } from '../lib/io/zip';
import { buildModel, gemmSoftmaxModel } from './helpers/onnx-builder';
import { errorOf } from './helpers/errors';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'modeldiff-strict-'));
t.teardown(() => fs.rmSync(tmp, { recursive: true, force: true }));

function thrown(fn: () => unknown): ModeldiffError {
  try {
    fn();
  } catch (e) {
    if (e instanceof ModeldiffError) return e;
    throw e;
  }
  throw new Error('expected a ModeldiffError');
}

/** A .npy file with this header text (padded to 64 bytes, newline-terminated) and data. */
function npy(header: string, data: Uint8Array, major = 1): Uint8Array {
  const lenBytes = major === 1 ? 2 : 4;
  const pad = (64 - ((8 + lenBytes + header.length + 1) % 64)) % 64;
  const hb = Buffer.from(header + ' '.repeat(pad) + '\n', major === 3 ? 'utf8' : 'latin1');
  const pre = Buffer.alloc(8 + lenBytes);
  pre[0] = 0x93;
  pre.write('NUMPY', 1, 'latin1');
  pre[6] = major;
  if (major === 1) pre.writeUInt16LE(hb.length, 8);
  else pre.writeUInt32LE(hb.length, 8);
  return new Uint8Array(Buffer.concat([pre, hb, Buffer.from(data)]));
}

const f32 = (...v: number[]) => new Uint8Array(Float32Array.from(v).buffer);
const i32 = (...v: number[]) => new Uint8Array(Int32Array.from(v).buffer);

t.test('.npy headers: duplicate keys are refused, not resolved by the first match', async (t) => {
  // numpy: the last duplicate wins. The regex reader took the first: a transposed,
  // reshaped or retyped array. Refusing is the only answer that is never wrong.
  const cases = [
    `{'descr': '<f4', 'fortran_order': True, 'fortran_order': False, 'shape': (2, 3), }`,
    `{'descr': '<f4', 'fortran_order': False, 'shape': (3, 2), 'shape': (2, 3), }`,
    `{'descr': '<i4', 'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }`,
  ];
  for (const h of cases) {
    const e = thrown(() => parseNpy(npy(h, f32(1, 2, 3, 4, 5, 6)), 'dup.npy'));
    t.equal(e.code, 'BAD_NPY');
    t.match(e.message, /^dup\.npy: malformed header: key '(fortran_order|shape|descr)' appears twice/);
  }
});

t.test('.npy headers numpy refuses are refused', async (t) => {
  const d = f32(1, 2, 3, 4, 5, 6);
  const refuse: Array<[string, RegExp]> = [
    [`{'descr': '<f4', 'fortran_order': False, 'shape': (5.0, 7e0), }`, /shape entries must be integers, found "\." after 5/],
    [`{'descr': '<f4', 'fortran_order': False, 'shape': (011,), }`, /integer 011 has a leading zero/],
    [`{'descr': '<f4', 'fortran_order': False, 'shape': (,), }`, /expected an integer, found ","/],
    [`{'descr': '<f4', 'fortran_order': False, 'shape': (3,,3), }`, /expected an integer, found ","/],
    [`{'descr': '<f4', 'fortran_order': False, 'shape': (6), }`, /one-element shape needs a trailing comma/],
    [`{'descr': '<f4', 'fortran_order': False, 'shape': (6,), 'extra': 1, }`, /unexpected key "extra"/],
    [`{'descr': '<f4', 'fortran_order': False, 'shape': (6,), `, /expected a quoted key or '}', found the end/],
    [`{'descr': '<f4', 'fortran_order': False, 'shape': (6,), }}`, /unexpected "}" after the header dict/],
    [`{'descr': '<f4', 'fortran_order': False, 'shape': (6,, }`, /expected an integer, found ","/],
    // A 'shape' inside a string value was taken as the shape; numpy refuses the header.
    [`{'descr': "<f4', 'shape': (6,), '", 'fortran_order': False, }`, /header has no 'shape'/],
    [`{'descr': '<f4', 'fortran_order': 0, 'shape': (6,), }`, /expected a string, True, False or a tuple, found "0"/],
    [`{'descr': '<f4', 'fortran_order': Falsey, 'shape': (6,), }`, /expected a string, True, False or a tuple/],
    [`{'descr': (6,), 'fortran_order': False, 'shape': (6,), }`, /'descr' is not a string/],
    [`{'descr': '<f4', 'fortran_order': '', 'shape': (6,), }`, /'fortran_order' is not True or False/],
    [`{'descr': '<f4', 'fortran_order': False, 'shape': True, }`, /'shape' is not a tuple/],
    [`{'descr': '<\\x66\\x34', 'fortran_order': False, 'shape': (6,), }`, /escape sequences/],
    [`{'descr': '<f4, 'fortran_order': False, 'shape': (6,), }`, /expected ',' or '}'/],
    [`{'descr' '<f4', 'fortran_order': False, 'shape': (6,), }`, /expected ':'/],
    [`{'descr': '<f4', 'fortran_order': False, 'shape': (6 7,), }`, /expected ',' or '\)' in the shape/],
    [`{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }`, /too large/],
    [`{'descr': '<f4', 'fortran_order': False, 'shape': (6L,), }`, /found "L"/], // Python 2 suffix, version 3 file
  ];
  for (const [h, why] of refuse) {
    const e = thrown(() => parseNpy(npy(h, d, h.includes('6L') ? 3 : 1), 'bad.npy'));
    t.equal(e.code, 'BAD_NPY', h);
    t.match(e.message, why, h);
  }
  const unterminated = thrown(() => parseNpy(npy(`{'descr': '<f4`, d), 'u.npy'));
  t.match(unterminated.message, /unterminated string/);
});

t.test('.npy headers in every form numpy writes are read', async (t) => {
  const ok: Array<[string, number[], number]> = [
    [`{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }`, [2, 3], 1],
    [`{'descr': '<f4', 'fortran_order': False, 'shape': (6,), }`, [6], 1],
    [`{"descr": "<f4", "fortran_order": False, "shape": (2,3)}`, [2, 3], 1],
    [`{'shape': (3, 2,), 'descr': '<f4', 'fortran_order': False}`, [3, 2], 1],
    [`{'descr':'<f4','fortran_order':False,'shape':(1,\n6),}`, [1, 6], 1],
    [`{'descr': '<f4', 'fortran_order': False, 'shape': (2L, 3L), }`, [2, 3], 1], // Python 2, version 1.0
    [`{'descr': '<f4', 'fortran_order': False, 'shape': (6,), }`, [6], 3],
  ];
  for (const [h, shape, major] of ok) {
    const a = parseNpy(npy(h, f32(1, 2, 3, 4, 5, 6), major), 'ok.npy');
    t.same(a.shape, shape, h);
    t.same(Array.from(a.data as Float32Array), [1, 2, 3, 4, 5, 6], h);
  }
  const scalar = parseNpy(npy(`{'descr': '<i4', 'fortran_order': False, 'shape': (), }`, i32(-7)), 's.npy');
  t.same(scalar.shape, []);
  t.equal(scalar.data[0], -7);
  const fortran = parseNpy(npy(`{'descr': '<i4', 'fortran_order': True, 'shape': (2, 2), }`, i32(1, 3, 2, 4)), 'f.npy');
  t.same(Array.from(fortran.data as Int32Array), [1, 2, 3, 4]);
});

t.test('.npy header length: capped at 10000 characters unless maxHeaderSize raises it', async (t) => {
  const long = npy(`{'descr': '<f4', 'fortran_order': False, 'shape': (6,), }` + ' '.repeat(20000), f32(1, 2, 3, 4, 5, 6), 2);
  const e = thrown(() => parseNpy(long, 'long.npy'));
  t.equal(e.code, 'BAD_NPY');
  t.equal(e.option, 'maxHeaderSize');
  t.match(e.message, /^long\.npy: the \.npy header is 20\d\d\d characters, over the 10000-character limit \(maxHeaderSize\)/);
  t.same(Array.from(parseNpy(long, 'long.npy', { maxHeaderSize: 30000 }).data as Float32Array), [1, 2, 3, 4, 5, 6]);
  // Exactly at the limit is accepted (numpy refuses only len(header) > max_header_size).
  const at = npy(`{'descr': '<f4', 'fortran_order': False, 'shape': (6,), }`, f32(1, 2, 3, 4, 5, 6), 2);
  const headerChars = at.length - 12 - 24;
  t.same(parseNpy(at, 'at.npy', { maxHeaderSize: headerChars }).shape, [6]);
  t.equal(thrown(() => parseNpy(at, 'at.npy', { maxHeaderSize: headerChars - 1 })).option, 'maxHeaderSize');

  // The file readers take the option too; the row reader never reads past the cap.
  const file = path.join(tmp, 'long.npy');
  fs.writeFileSync(file, long);
  t.equal(thrown(() => readNpy(file)).option, 'maxHeaderSize');
  t.equal(thrown(() => new NpyRowReader(file)).option, 'maxHeaderSize');
  t.same(new NpyRowReader(file, { maxHeaderSize: 30000 }).layout.shape, [6]);
  t.same(readNpy(file, { maxHeaderSize: 30000 }).shape, [6]);
  // A v3 (UTF-8) header is capped in characters, as numpy counts it.
  const wide = npy(`{'descr': '<f4', 'fortran_order': False, 'shape': (6,), }` + ' '.repeat(9000) + '\n', f32(1, 2, 3, 4, 5, 6), 3);
  t.same(parseNpy(wide, 'wide.npy').shape, [6]);
});

t.test('.npy header parsing is linear: a 1 MB hostile header is refused in well under a second', async (t) => {
  // The regex reader took 37 s on this shape of header (many "'shape': (" with no ")").
  const hostile = npy(`{'descr': '<f4', 'fortran_order': False, ` + `'shape': (1, `.repeat(80000) + '}', new Uint8Array(0), 2);
  const start = performance.now();
  const e = thrown(() => parseNpy(hostile, 'h.npy', { maxHeaderSize: 2_000_000 }));
  t.equal(e.code, 'BAD_NPY');
  const long = npy(`{'descr': '<f4', 'fortran_order': False, 'shape': (` + '1, '.repeat(300000) + '6,), }', f32(1, 2, 3, 4, 5, 6), 2);
  t.same(parseNpy(long, 'l.npy', { maxHeaderSize: 2_000_000 }).shape.length, 300001);
  t.ok(performance.now() - start < 3000, `took ${(performance.now() - start).toFixed(0)} ms`);
});

/** A stored zip with one entry, local and central names given separately, CRC optionally forced. */
function handZip(localName: string, centralName: string, data: Uint8Array, crc = crc32(data)): Uint8Array {
  const ln = Buffer.from(localName);
  const cn = Buffer.from(centralName);
  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0);
  local.writeUInt16LE(20, 4);
  local.writeUInt32LE(crc, 14);
  local.writeUInt32LE(data.length, 18);
  local.writeUInt32LE(data.length, 22);
  local.writeUInt16LE(ln.length, 26);
  const central = Buffer.alloc(46);
  central.writeUInt32LE(0x02014b50, 0);
  central.writeUInt16LE(20, 4);
  central.writeUInt16LE(20, 6);
  central.writeUInt32LE(crc, 16);
  central.writeUInt32LE(data.length, 20);
  central.writeUInt32LE(data.length, 24);
  central.writeUInt16LE(cn.length, 28);
  const cdOffset = 30 + ln.length + data.length;
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(1, 8);
  end.writeUInt16LE(1, 10);
  end.writeUInt32LE(46 + cn.length, 12);
  end.writeUInt32LE(cdOffset, 16);
  return new Uint8Array(Buffer.concat([local, ln, Buffer.from(data), central, cn, end]));
}

t.test('.npz: every entry CRC-32 checked; local and central names must agree', async (t) => {
  const entry = npy(`{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }`, f32(1, 2, 3));
  const good = handZip('x.npy', 'x.npy', entry);
  t.same(Array.from(parseNpz(good, 'g.npz').x.data as Float32Array), [1, 2, 3]);

  // One data value changed after the CRC was computed: numpy raises BadZipFile; this was returned as data.
  const damaged = good.slice();
  damaged[30 + 5 + entry.length - 1] ^= 0x40;
  const e = thrown(() => parseNpz(damaged, 'd.npz'));
  t.equal(e.code, 'BAD_NPY');
  t.match(e.message, /^d\.npz: not a valid \.npz \(zip\) archive: entry "x\.npy": bad CRC-32 \(stored 0x[0-9a-f]{8}, data has 0x[0-9a-f]{8}\)/);

  const renamed = thrown(() => parseNpz(handZip('y.npy', 'x.npy', entry), 'n.npz'));
  t.match(renamed.message, /entry "x\.npy": its local header names it "y\.npy"/);

  // The same checks on a deflated entry, through the file reader.
  const deflated = zipSync({ 'w.npy': [entry, { level: 9 }] });
  const file = path.join(tmp, 'w.npz');
  fs.writeFileSync(file, deflated);
  t.same(Array.from(readNpz(file).w.data as Float32Array), [1, 2, 3]);
  const crcAt = deflated.length - 22 - 46 - 5 + 16; // central entry's CRC field
  const wrongCrc = deflated.slice();
  wrongCrc[crcAt] ^= 1;
  t.match(thrown(() => parseNpz(wrongCrc, 'c.npz')).message, /entry "w\.npy": bad CRC-32/);
});

t.test('.npz container damage is refused with a reason', async (t) => {
  const entry = npy(`{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }`, f32(1, 2, 3));
  const good = handZip('x.npy', 'x.npy', entry);
  const cd = 30 + 5 + entry.length;
  const edit = (at: number, value: number, bytes = 1) => {
    const b = Buffer.from(good);
    if (bytes === 1) b[at] = value;
    else if (bytes === 2) b.writeUInt16LE(value, at);
    else b.writeUInt32LE(value, at);
    return new Uint8Array(b);
  };
  const cases: Array<[Uint8Array, RegExp]> = [
    [good.subarray(0, good.length - 1), /no end-of-central-directory record/],
    [edit(good.length - 22 + 4, 1, 2), /multi-disk/],
    [edit(good.length - 22 + 8, 2, 2), /multi-disk/],
    [edit(good.length - 22 + 16, cd - 1, 4), /central directory .* does not end where the end record starts/],
    [edit(cd, 0x51), /bad signature of central-directory entry 0/],
    [edit(0, 0x51), /bad local header signature/],
    [edit(cd + 8, 1, 2), /encrypted entries are not supported/],
    [edit(cd + 8, 0x20, 2), /compressed patched data/],
    [edit(cd + 6, 255, 2), /needs zip version 25\.5 to extract/],
    [edit(cd + 10, 12, 2), /compression method 12 is not supported/],
    [edit(cd + 20, entry.length - 1, 4), /stored entry of \d+ bytes declares \d+/],
    [edit(cd + 20, 0xffffffff, 4), /no zip64 extra field/],
    [edit(cd + 42, 1000, 4), /local header of entry "x\.npy" runs past the end/],
    [edit(cd + 28, 200, 2), /central-directory entry 0 runs past the end/],
  ];
  for (const [bytes, why] of cases) {
    const e = thrown(() => parseNpz(bytes, 'z.npz'));
    t.equal(e.code, 'BAD_NPY', String(why));
    t.match(e.message, why);
  }
  t.match(thrown(() => parseNpz(handZip('x/', 'x/', new Uint8Array(0)), 'e.npz')).message, /holds no arrays/);
  const twice = zipSync({ 'a.npy': entry, 'a': entry });
  t.match(thrown(() => parseNpz(twice, 't.npz')).message, /two entries are both named "a"/);
  const bomb = zipSync({ 'b.npy': [new Uint8Array(4096), { level: 9 }] });
  const bombCd = bomb.length - 22 - 46 - 5;
  Buffer.from(bomb.buffer, bomb.byteOffset).writeUInt32LE(1 << 30, bombCd + 24);
  t.match(thrown(() => parseNpz(bomb, 'b.npz')).message, /more than deflate can produce/);
  const truncatedDeflate = zipSync({ 'c.npy': [entry, { level: 9 }] });
  Buffer.from(truncatedDeflate.buffer, truncatedDeflate.byteOffset).writeUInt32LE(entry.length + 7, truncatedDeflate.length - 22 - 46 - 5 + 24);
  t.match(thrown(() => parseNpz(truncatedDeflate, 'c.npz')).message, /inflates to \d+ bytes, not the declared \d+/);
});

t.test('.npz: zip64 central entries and end records (as written for > 4 GB archives) are read', async (t) => {
  const data = npy(`{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }`, f32(2.5, -1));
  const name = Buffer.from('z.npy');
  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0);
  local.writeUInt16LE(45, 4);
  local.writeUInt32LE(crc32(data), 14);
  local.writeUInt32LE(data.length, 18);
  local.writeUInt32LE(data.length, 22);
  local.writeUInt16LE(name.length, 26);
  // Central entry: sizes and offset all moved to the zip64 extra field (id 1: size, packed, offset).
  const extra = Buffer.alloc(4 + 24);
  extra.writeUInt16LE(1, 0);
  extra.writeUInt16LE(24, 2);
  extra.writeBigUInt64LE(BigInt(data.length), 4);
  extra.writeBigUInt64LE(BigInt(data.length), 12);
  extra.writeBigUInt64LE(0n, 20);
  const central = Buffer.alloc(46);
  central.writeUInt32LE(0x02014b50, 0);
  central.writeUInt16LE(45, 4);
  central.writeUInt16LE(45, 6);
  central.writeUInt32LE(crc32(data), 16);
  central.writeUInt32LE(0xffffffff, 20);
  central.writeUInt32LE(0xffffffff, 24);
  central.writeUInt16LE(name.length, 28);
  central.writeUInt16LE(extra.length, 30);
  central.writeUInt32LE(0xffffffff, 42);
  const cdOffset = 30 + name.length + data.length;
  const cdSize = 46 + name.length + extra.length;
  const record = Buffer.alloc(56);
  record.writeUInt32LE(0x06064b50, 0);
  record.writeBigUInt64LE(44n, 4);
  record.writeBigUInt64LE(1n, 24);
  record.writeBigUInt64LE(1n, 32);
  record.writeBigUInt64LE(BigInt(cdSize), 40);
  record.writeBigUInt64LE(BigInt(cdOffset), 48);
  const locator = Buffer.alloc(20);
  locator.writeUInt32LE(0x07064b50, 0);
  locator.writeBigUInt64LE(BigInt(cdOffset + cdSize), 8);
  locator.writeUInt32LE(1, 16);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(0xffff, 8);
  end.writeUInt16LE(0xffff, 10);
  end.writeUInt32LE(0xffffffff, 12);
  end.writeUInt32LE(0xffffffff, 16);
  const zip = Buffer.concat([local, name, Buffer.from(data), central, name, extra, record, locator, end]);
  t.same(Array.from(parseNpz(new Uint8Array(zip), 'z64.npz').z.data as Float32Array), [2.5, -1]);

  const broken = (at: number, value: bigint | number, bytes: 4 | 8) => {
    const b = Buffer.from(zip);
    if (bytes === 8) b.writeBigUInt64LE(BigInt(value), at);
    else b.writeUInt32LE(Number(value), at);
    return thrown(() => parseNpz(new Uint8Array(b), 'z64.npz')).message;
  };
  const recordAt = cdOffset + cdSize;
  t.match(broken(recordAt, 0x06064b51, 4), /bad zip64 end-of-central-directory signature/);
  t.match(broken(recordAt + 24, 2n, 8), /multi-disk/);
  t.match(broken(recordAt + 48, 2n ** 60n, 8), /64-bit size or offset \d+ is out of range/);
  t.match(broken(recordAt + 56 + 8, BigInt(zip.length), 8), /zip64 end-of-central-directory record runs past the end/);
  t.match(broken(cdOffset + 46 + name.length + 2, 40, 4), /corrupt extra field/);
  t.match(broken(cdOffset + 46 + name.length + 2, 8, 4), /corrupt zip64 extra field/);
});

t.test('the table CRC-32 agrees with zlib on the check value and random data', async (t) => {
  t.equal(tableCrc32(new TextEncoder().encode('123456789')), 0xcbf43926); // the CRC-32 check value
  const r = new Uint8Array(10007).map((_, i) => (i * 2654435761) >>> 24);
  const z = (zlib as unknown as { crc32?: (b: Uint8Array) => number }).crc32;
  t.equal(tableCrc32(r), z ? z(r) >>> 0 : crc32(r));
  t.equal(crc32(r), tableCrc32(r));
});

// ---------- protobuf ----------

/** A minimal protobuf varint of a non-negative value, or padded to `length` bytes (non-minimal, still valid). */
function varint(v: number, length = 0): number[] {
  const out: number[] = [];
  do {
    out.push((v % 128) | 0x80);
    v = Math.floor(v / 128);
  } while (v > 0);
  while (out.length < length) out.push(0x80);
  out[out.length - 1] &= 0x7f;
  return out;
}
const tag = (field: number, wire: number) => varint(field * 8 + wire);
const lenField = (field: number, body: number[], lengthBytes = 0) => [...tag(field, 2), ...varint(body.length, lengthBytes), ...body];

const tinyModel = () =>
  gemmSoftmaxModel({ W: [1, 0, 0, 1, 1, 1], b: [0, 0, 0], k: 3, d: 2 });

function onnxError(bytes: number[] | Uint8Array): ModeldiffError {
  return thrown(() => decodeOnnx(Uint8Array.from(bytes), 'm.onnx'));
}

t.test('ONNX: a known field with the wrong wire type is refused, naming the field', async (t) => {
  const base = Array.from(tinyModel());
  // ir_version (field 1, int64) sent as length-delimited: protobufjs read a garbage number.
  let e = onnxError([...lenField(1, [8]), ...base]);
  t.equal(e.code, 'BAD_ONNX');
  t.match(e.message, /^m\.onnx is not a valid ONNX model: malformed protobuf: field ir_version \(ModelProto\): has wire type length-delimited, but a int64 field needs varint$/);
  // graph (field 7, a message) sent as fixed32: onnxruntime skips it; protobufjs too; neither is right.
  e = onnxError([...base, ...tag(7, 5), 0, 0, 0, 0]);
  t.match(e.message, /field graph \(ModelProto\): has wire type fixed32, but a message field needs length-delimited/);
  // Deep inside: an initializer's data_type as fixed64.
  const graph = [...lenField(5, [...tag(2, 1), 1, 0, 0, 0, 0, 0, 0, 0])];
  e = onnxError([...base, ...lenField(7, graph)]);
  t.match(e.message, /field graph\.initializer\[0\]\.data_type \(TensorProto\): has wire type fixed64/);
  // Packed and unpacked repeated scalars are both valid: dims sent unpacked, floats packed.
  const w = { name: 'W', dims: [3, 2], dataType: 1, floatData: [1, 0, 0, 1, 1, 1] };
  const model = onnx.ModelProto.decode(tinyModel());
  model.graph!.initializer![0] = onnx.TensorProto.create(w);
  const unpackedDims = Array.from(onnx.ModelProto.encode(model).finish());
  const m = decodeOnnx(Uint8Array.from(unpackedDims), 'p.onnx');
  t.same(Array.from(m.proto.graph!.initializer![0].floatData!), [1, 0, 0, 1, 1, 1]);
});

t.test('ONNX: group wire types, deep nesting and bad wire types are refused without recursion blow-up', async (t) => {
  const base = Array.from(tinyModel());
  let e = onnxError([...tag(30, 3), ...tag(30, 4), ...base]);
  t.match(e.message, /field #30 \(ModelProto\): group wire types are not supported/);
  // 20,000 nested group tags: protobufjs skipped them recursively; onnxruntime says parsing failed.
  const groups = [...Array(20000).fill(tag(30, 3)).flat(), ...Array(20000).fill(tag(30, 4)).flat()];
  e = onnxError([...groups, ...base]);
  t.match(e.message, /group wire types are not supported/);
  e = onnxError([...base, ...tag(31, 7)]);
  t.match(e.message, /field #31 \(ModelProto\): invalid wire type 7/);
  e = onnxError([...base, 0]);
  t.match(e.message, /field number 0/);
  // TypeProto.sequence_type.elem_type nests TypeProto two levels down: past protobuf's limit of 100.
  let type: number[] = lenField(1, []);
  for (let i = 0; i < MAX_DEPTH / 2; i++) type = lenField(4, lenField(1, type));
  const input = lenField(11, [...lenField(1, [120]), ...lenField(2, type)]);
  e = onnxError([...base, ...lenField(7, input)]);
  t.match(e.message, /messages nested more than 100 deep/);
  t.match(e.message, /field graph\.input\[0\]\.type\.sequence_type\.elem_type/);
  e = onnxError([...base, ...tag(1, 0), ...Array(10).fill(0xff), 1]);
  t.match(e.message, /field ir_version \(ModelProto\): varint longer than 10 bytes/);
  e = onnxError([...base, ...tag(2, 2), 5, 65]);
  t.match(e.message, /field producer_name \(ModelProto\): length 5 runs past the end of its message/);
  e = onnxError([...base, ...tag(5, 0), 0x80]);
  t.match(e.message, /truncated varint/);
  e = onnxError([...base, ...tag(40, 1), 1, 2, 3]);
  t.match(e.message, /truncated fixed64 value/);
  e = onnxError([...base, ...lenField(7, lenField(5, lenField(4, [1, 2, 3])))]);
  t.match(e.message, /packed float data of 3 bytes is not a whole number of values/);
  e = onnxError([...base, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
  t.match(e.message, /tag \d+ is out of range/);
});

t.test('ONNX: negative enum values are refused where onnxruntime refuses them', async (t) => {
  const neg = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]; // -1 as an int32 varint
  const base = Array.from(tinyModel());
  const attr = lenField(5, [...lenField(1, [97]), ...tag(20, 0), ...neg]);
  let e = onnxError([...base, ...lenField(7, lenField(1, attr))]);
  t.match(e.message, /field graph\.node\[0\]\.attribute\[0\]\.type \(AttributeProto\): negative enum value -1/);
  e = onnxError([...base, ...lenField(7, lenField(5, [...tag(14, 0), ...neg]))]);
  t.match(e.message, /field graph\.initializer\[0\]\.data_location \(TensorProto\): negative enum value -1/);
});

t.test('TensorProto .pb: varints up to 10 bytes are valid and read right', async (t) => {
  const raw = Array.from(f32(1.5, -2, 8));
  const body = (lengthBytes: number, dimBytes = 0, typeBytes = 0) => [
    ...tag(1, 0), ...varint(3, dimBytes),
    ...tag(2, 0), ...varint(1, typeBytes),
    ...lenField(9, raw, lengthBytes),
  ];
  for (const n of [1, 5, 6, 7, 9, 10]) {
    // A 6-byte length was refused ("index out of range"): protobufjs assumes 10 bytes after 5.
    const x = parseTensorProto(Uint8Array.from(body(n, n, n)), `len${n}.pb`);
    t.same(x.shape, [3], `${n}-byte varints`);
    t.same(Array.from(x.data as Float32Array), [1.5, -2, 8], `${n}-byte varints`);
  }
  const e = thrown(() => parseTensorProto(Uint8Array.from([...tag(1, 0), ...varint(3), ...tag(2, 0), 1, ...tag(9, 2), 0x8c, ...Array(9).fill(0x80), 0, ...raw]), 'x.pb'));
  t.equal(e.code, 'BAD_DATA_FILE');
  t.match(e.message, /^x\.pb: not a serialized ONNX TensorProto: malformed protobuf: field raw_data \(TensorProto\): varint longer than 10 bytes$/);
  // int32_data packed with non-minimal and negative (10-byte) values, re-encoded right.
  const ints = [...varint(5, 7), 0xfd, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, ...varint(300)];
  const x = parseTensorProto(Uint8Array.from([...tag(1, 0), 3, ...tag(2, 0), 6, ...lenField(5, ints, 6), ...lenField(8, [65], 8)]), 'i.pb');
  t.same(Array.from(x.data as Int32Array), [5, -3, 300]);
  // A tag itself written non-minimally (6 bytes) is still field 2.
  const y = parseTensorProto(Uint8Array.from([...tag(1, 0), 1, ...varint(2 * 8, 6), 6, ...tag(5, 0), ...varint(7, 8)]), 'y.pb');
  t.same(Array.from(y.data as Int32Array), [7]);
});

t.test('a graph input dimension of 2^31 is a one-line MODEL_INPUT error naming input and axis', async (t) => {
  const probe = path.join(tmp, 'x.npy');
  fs.writeFileSync(probe, npy(`{'descr': '<f4', 'fortran_order': False, 'shape': (4, 2), }`, f32(1, 2, 3, 4, 5, 6, 7, 8)));
  const model = (batch: number, width: number | string = 2) =>
    buildModel({
      inputs: [{ name: 'x', shape: [batch, width] }],
      outputs: [{ name: 'y', shape: [batch, width] }],
      nodes: [{ op: 'Identity', inputs: ['x'], outputs: ['y'] }],
    });
  let e = await errorOf(inferOutputs(model(2 ** 31), probe, { cache: false, label: 'big.onnx' }));
  t.equal(e.code, 'MODEL_INPUT');
  t.equal(e.message, 'big.onnx: input "x" declares dimension 0 as 2147483648, more than modeldiff can feed (at most 2147483647)');
  e = await errorOf(inferOutputs(model(2 ** 30), probe, { cache: false, label: 'wide.onnx' }));
  t.equal(e.message, 'wide.onnx: input "x" fixes its batch (dimension 0) at 1073741824 rows of 2 values, more than one batch can hold (2147483647 values)');
  // A declared size that still fits is run (padded to the fixed batch), with values unchanged.
  const out = await inferOutputs(model(4), probe, { cache: false });
  t.same(Array.from(out.outputs.data), [1, 2, 3, 4, 5, 6, 7, 8]);
});
