/**
 * ONNX reading/writing: dtypes and storage fields, external data (and the
 * refusal of paths leaving the model's folder), and hidden activations.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import t from 'tap';

import { hiddenActivations } from '../lib/infer/hidden';
import {
  DataType,
  attrFloat,
  attrInts,
  attrString,
  bfloatToFloat,
  dataInputs,
  decodeOnnx,
  encodeOnnx,
  float64ToTensor,
  floatToBfloat,
  floatToHalf,
  graphOf,
  halfToFloat,
  nodeLabel,
  onlyDataInput,
  onnx,
  readOnnx,
  tensorToFloat64,
} from '../lib/io/onnx';
import { buildNetwork } from '../lib/weights/graph';
import { buildModel, mlpModel } from './helpers/onnx-builder';

t.test('float16 / bfloat16 conversions match hand-encoded bit patterns', async (t) => {
  const cases: Array<[number, number]> = [[1, 0x3c00], [-2, 0xc000], [65504, 0x7bff], [2 ** -24, 0x0001], [0.5, 0x3800], [Infinity, 0x7c00], [0, 0]];
  for (const [v, h] of cases) {
    t.equal(floatToHalf(v), h, `half(${v})`);
    t.equal(halfToFloat(h), v, `float(0x${h.toString(16)})`);
  }
  t.ok(Number.isNaN(halfToFloat(floatToHalf(NaN))));
  t.equal(floatToHalf(1e6), 0x7c00, 'overflow → inf');
  t.equal(floatToHalf(1e-9), 0, 'underflow → 0');
  t.equal(halfToFloat(floatToHalf(1 + 2 ** -11)), 1, 'ties round to even');
  t.equal(floatToBfloat(1), 0x3f80);
  t.equal(bfloatToFloat(0xc000), -2);
  t.ok(Number.isNaN(bfloatToFloat(floatToBfloat(NaN))));
});

t.test('tensors decode from raw_data and typed fields in every float dtype, and round-trip', async (t) => {
  const v = [1.5, -2, 0.25, 3];
  for (const dt of [DataType.FLOAT, DataType.DOUBLE, DataType.FLOAT16, DataType.BFLOAT16]) {
    const enc = float64ToTensor('w', [2, 2], Float64Array.from(v), dt);
    t.same(Array.from(tensorToFloat64(onnx.TensorProto.decode(onnx.TensorProto.encode(enc).finish()))), v, DataType[dt]);
  }
  t.same(Array.from(tensorToFloat64({ name: 'f', dims: [4], dataType: DataType.FLOAT, floatData: v })), v);
  t.same(Array.from(tensorToFloat64({ name: 'd', dims: [4], dataType: DataType.DOUBLE, doubleData: v })), v);
  t.same(Array.from(tensorToFloat64({ name: 'h', dims: [4], dataType: DataType.FLOAT16, int32Data: v.map(floatToHalf) })), v);
  t.same(Array.from(tensorToFloat64({ name: 'i', dims: [2], dataType: DataType.INT64, int64Data: [3, -4] })), [3, -4]);
  t.same(Array.from(tensorToFloat64({ name: 'i8', dims: [2], dataType: DataType.INT8, rawData: new Uint8Array([255, 1]) })), [-1, 1]);
  t.same(Array.from(tensorToFloat64({ name: 'i64', dims: [1], dataType: DataType.INT64, rawData: new Uint8Array(new BigInt64Array([-7n]).buffer) })), [-7]);
  t.throws(() => tensorToFloat64({ name: 'short', dims: [3], dataType: DataType.FLOAT, rawData: new Uint8Array(8) }), { code: 'BAD_ONNX', message: /short/ });
  t.throws(() => tensorToFloat64({ name: 'few', dims: [3], dataType: DataType.FLOAT, floatData: [1] }), { code: 'BAD_ONNX', message: /few/ });
  t.throws(() => tensorToFloat64({ name: 's', dims: [1], dataType: DataType.STRING }), { code: 'BAD_ONNX' });
  t.throws(() => float64ToTensor('x', [1], new Float64Array(1), DataType.INT32), { code: 'INTERNAL' });
});

t.test('bad or missing model files give typed errors', async (t) => {
  t.throws(() => decodeOnnx(new Uint8Array([0xff, 0xff, 0xff]), 'junk.onnx'), { code: 'BAD_ONNX', message: /junk\.onnx/ });
  t.throws(() => decodeOnnx(new Uint8Array(0), 'empty.onnx'), { code: 'BAD_ONNX', message: /no graph/ });
  t.throws(() => readOnnx('/nonexistent/model.onnx'), { code: 'FILE_NOT_FOUND' });
});

function externalModel(dir: string, location: string, values: Float32Array, extra: Record<string, string> = {}): string {
  const bytes = mlpModel({ layers: [{ W: [1, 2, 3, 4, 5, 6], b: [0, 0, 0], out: 3, in: 2, activation: 'relu' }, { W: [1, 1, 1], b: [0], out: 1, in: 3 }] });
  const model = decodeOnnx(bytes, 'm');
  const w = graphOf(model).initializer.find((i) => i.name === 'W0')!;
  w.rawData = new Uint8Array(0);
  w.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
  w.externalData = Object.entries({ location, offset: '8', length: String(values.byteLength), ...extra }).map(([key, value]) => ({ key, value }));
  const file = path.join(dir, 'model.onnx');
  fs.writeFileSync(file, encodeOnnx(model));
  return file;
}

t.test('external data loads from next to the model; paths leaving the folder are refused', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'modeldiff-onnx-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const values = new Float32Array([6, 5, 4, 3, 2, 1]);
  const blob = new Uint8Array(8 + values.byteLength);
  blob.set(new Uint8Array(values.buffer), 8);
  fs.mkdirSync(path.join(dir, 'data'));
  fs.writeFileSync(path.join(dir, 'data', 'weights.bin'), blob);
  const file = externalModel(dir, 'data/weights.bin', values);
  const model = readOnnx(file);
  t.same(Array.from(tensorToFloat64(graphOf(model).initializer[0])), Array.from(values));
  t.equal(buildNetwork(model).layers[0].W[0], 6, 'the weight-space view sees the external values');

  fs.writeFileSync(path.join(os.tmpdir(), 'modeldiff-outside.bin'), blob);
  t.throws(() => readOnnx(externalModel(dir, '../modeldiff-outside.bin', values)), { code: 'UNSAFE_PATH', message: /leaves the model's folder/ });
  t.throws(() => readOnnx(externalModel(dir, '/etc/passwd', values)), { code: 'UNSAFE_PATH' });
  fs.symlinkSync(path.join(os.tmpdir(), 'modeldiff-outside.bin'), path.join(dir, 'link.bin'));
  t.throws(() => readOnnx(externalModel(dir, 'link.bin', values)), { code: 'UNSAFE_PATH' }, 'a symlink out of the folder is refused');
  t.throws(() => readOnnx(externalModel(dir, 'missing.bin', values)), { code: 'FILE_NOT_FOUND' });
  t.throws(() => readOnnx(externalModel(dir, 'data/weights.bin', values, { length: '400' })), { code: 'BAD_ONNX', message: /too short/ });
  t.throws(() => readOnnx(externalModel(dir, 'data/weights.bin', values, { offset: '-1' })), { code: 'BAD_ONNX' });
  const bytes = fs.readFileSync(externalModel(dir, 'data/weights.bin', values));
  t.throws(() => readOnnx(bytes), { code: 'BAD_ONNX', message: /load the model from its path/ });
});

t.test('external data is read per tensor, lazily, and equals the eager (inline) reading', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'modeldiff-lazy-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const values = new Float32Array([6, 5, 4, 3, 2, 1]);
  const blob = new Uint8Array(8 + values.byteLength);
  blob.set(new Uint8Array(values.buffer), 8);
  fs.writeFileSync(path.join(dir, 'w.bin'), blob);
  const lazy = readOnnx(externalModel(dir, 'w.bin', values));
  // The eager reference: the same model with W0 inline in the protobuf.
  const inline = onnx.ModelProto.decode(encodeOnnx(lazy));
  const eager = decodeOnnx(onnx.ModelProto.encode(inline).finish(), 'inline');
  const names = graphOf(eager).initializer.map((x) => x.name);
  t.same(graphOf(lazy).initializer.map((x) => x.name), names);
  for (const [i, x] of graphOf(lazy).initializer.entries()) {
    t.same(Array.from(tensorToFloat64(x)), Array.from(tensorToFloat64(graphOf(eager).initializer[i])), `${x.name}: lazy equals eager`);
  }
  t.same(Array.from(new Float32Array(new Uint8Array(graphOf(eager).initializer[0].rawData!).buffer)), [6, 5, 4, 3, 2, 1]);
  // Each use reads the file again: a change on disk shows (nothing is cached in memory).
  const w = graphOf(lazy).initializer[0];
  fs.writeFileSync(path.join(dir, 'w.bin'), Uint8Array.from([...blob.subarray(0, 8), ...new Uint8Array(Float32Array.from([9, 9, 9, 9, 9, 9]).buffer)]));
  t.same(Array.from(tensorToFloat64(w)), [9, 9, 9, 9, 9, 9]);
  fs.writeFileSync(path.join(dir, 'w.bin'), blob.subarray(0, 10));
  t.throws(() => tensorToFloat64(w), { code: 'IO', message: /external data w\.bin of tensor W0: the file shrank/ });
  fs.rmSync(path.join(dir, 'w.bin'));
  t.throws(() => tensorToFloat64(w), { code: 'FILE_NOT_FOUND', message: /external data w\.bin of tensor W0: ENOENT/ }, 'a file gone since: not found, as when it was never there');
  // Assigning rawData (weight write-back) replaces the file reader with the value.
  w.rawData = new Uint8Array(Float32Array.from([1, 2, 3, 4, 5, 6]).buffer);
  t.same(Array.from(tensorToFloat64(w)), [1, 2, 3, 4, 5, 6]);
});

t.test('from a path, initializer weights are read from the file per tensor and equal the eager reading', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'modeldiff-lazyfile-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const bytes = mlpModel({
    layers: [
      { W: [1, 2, 3, 4, 5, 6], b: [0.5, -0.5, 0.25], out: 3, in: 2, activation: 'relu' },
      { W: [1, -1, 2], b: [7], out: 1, in: 3 },
    ],
  });
  const withTyped = onnx.ModelProto.decode(bytes);
  // A typed-field tensor and an int64 one, which have no raw_data to detach.
  withTyped.graph!.initializer!.push(onnx.TensorProto.create({ name: 'typed', dims: [2], dataType: DataType.FLOAT, floatData: [3.5, -2] }));
  withTyped.graph!.initializer!.push(onnx.TensorProto.create({ name: 'i64', dims: [2], dataType: DataType.INT64, rawData: new Uint8Array(BigInt64Array.from([5n, -9n]).buffer) }));
  const file = path.join(dir, 'm.onnx');
  const full = onnx.ModelProto.encode(withTyped).finish();
  fs.writeFileSync(file, full);
  const lazy = readOnnx(file);
  const eager = readOnnx(new Uint8Array(full));
  const lazyInits = graphOf(lazy).initializer;
  t.same(lazyInits.map((x) => x.name), graphOf(eager).initializer.map((x) => x.name));
  for (const [i, x] of lazyInits.entries()) {
    t.same(Array.from(tensorToFloat64(x)), Array.from(tensorToFloat64(graphOf(eager).initializer[i])), `${x.name}: lazy equals eager`);
  }
  t.ok(Object.getOwnPropertyDescriptor(lazyInits[0], 'rawData')?.get, 'a raw_data tensor reads from the file');
  t.same(encodeOnnx(lazy), full, 're-encoding the lazy model gives the file back byte for byte');
  // Nothing is cached: overwriting the file changes what the next use reads.
  const damaged = Buffer.from(full);
  const at = damaged.indexOf(Buffer.from(new Float32Array([1, 2, 3, 4, 5, 6]).buffer));
  damaged.writeFloatLE(42, at);
  fs.writeFileSync(file, damaged);
  t.equal(tensorToFloat64(lazyInits[0])[0], 42);
});

t.test('external data at offsets past 2 GB (a sparse 3 GB file) is read', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'modeldiff-sparse-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const values = new Float32Array([0.5, -1.5, 2.25, 3, -4, 5.5]);
  const offset = 2 ** 31 + 2 ** 30 + 12345; // past int32 and past Buffer-sized whole-file reads
  const fd = fs.openSync(path.join(dir, 'big.bin'), 'w');
  try {
    fs.ftruncateSync(fd, offset + values.byteLength + 100); // a hole: no disk blocks for the zeros
    fs.writeSync(fd, new Uint8Array(values.buffer), 0, values.byteLength, offset);
  } finally {
    fs.closeSync(fd);
  }
  const file = externalModel(dir, 'big.bin', values, { offset: String(offset) });
  const model = readOnnx(file);
  t.same(Array.from(tensorToFloat64(graphOf(model).initializer[0])), Array.from(values));
  t.throws(() => readOnnx(externalModel(dir, 'big.bin', values, { offset: String(offset + 101) })), { code: 'BAD_ONNX', message: /too short/ });
});

t.test('attributes and node labels', async (t) => {
  const node: onnx.INodeProto = {
    opType: 'Conv',
    output: ['y'],
    attribute: [
      { name: 'pads', type: onnx.AttributeProto.AttributeType.INTS, ints: [1, 1] },
      { name: 'mode', type: onnx.AttributeProto.AttributeType.STRING, s: new TextEncoder().encode('same') },
      { name: 'alpha', type: onnx.AttributeProto.AttributeType.FLOAT, f: 0.5 },
    ],
  };
  t.same(attrInts(node, 'pads'), [1, 1]);
  t.equal(attrInts(node, 'strides'), undefined);
  t.equal(attrString(node, 'mode'), 'same');
  t.equal(attrString(node, 'nope'), undefined);
  t.equal(attrFloat(node, 'alpha', 1), 0.5);
  t.equal(nodeLabel(node), 'Conv node producing "y"');
  t.equal(nodeLabel({ ...node, name: 'c1' }), 'Conv node "c1"');
});

t.test('hiddenActivations exposes internal tensors (values checked by hand), in batches', async (t) => {
  const bytes = mlpModel({ layers: [{ W: [1, 2, 3, 4, 5, 6], b: [0, 1, -100], out: 3, in: 2, activation: 'relu' }, { W: [1, 1, 1], b: [0], out: 1, in: 3 }] });
  const input = { name: 'x', data: new Float32Array([1, 1, 2, 0, 0, 0]), dims: [3, 2] };
  const r = await hiddenActivations(bytes, ['a0', 'z0'], input, { batchSize: 2 });
  t.same(r.a0.dims, [3, 3]);
  t.same(Array.from(r.a0.data), [3, 8, 0, 2, 7, 0, 0, 1, 0]);
  t.same(Array.from(r.z0.data), [3, 8, -89, 2, 7, -90, 0, 1, -100]);
  const viaProto = await hiddenActivations(readOnnx(bytes).proto, ['y'], input);
  t.same(Array.from(viaProto.y.data), [11, 9, 1]);
  await t.rejects(hiddenActivations(bytes, ['nope'], input), { code: 'MODEL_OUTPUT', message: /nope/ });
  await t.rejects(hiddenActivations(bytes, ['a0'], { ...input, name: 'q' }), { code: 'MODEL_INPUT', message: /"q"/ });
  await t.rejects(hiddenActivations(bytes, ['a0'], { ...input, dims: [4, 2] }), { code: 'MODEL_INPUT' });
  await t.rejects(hiddenActivations(bytes, ['a0'], { ...input, data: new Float32Array(9), dims: [3, 3] }), { code: 'MODEL_INPUT' });
});

t.test('dataInputs: graph inputs minus initializers (old exporters list weights as inputs too)', async (t) => {
  const bytes = buildModel({
    inputs: [
      { name: 'x', shape: ['N', 2] },
      { name: 'W', shape: [2, 2] },
    ],
    outputs: [{ name: 'y', shape: ['N', 2] }],
    initializers: [{ name: 'W', dims: [2, 2], data: [1, 2, 3, 4] }],
    nodes: [{ op: 'MatMul', inputs: ['x', 'W'], outputs: ['y'] }],
  });
  const model = readOnnx(bytes);
  t.same(graphOf(model).input.map((i) => i.name), ['x', 'W'], 'W is listed as an input');
  t.same(dataInputs(model).map((i) => i.name), ['x']);
  t.same(dataInputs(graphOf(model)).map((i) => i.name), ['x'], 'a graph works as well as a model');
  // So a model that lists its weights as inputs is still a single-input model: x W = [1·1 + 1·3, 1·2 + 1·4].
  const r = await hiddenActivations(bytes, ['y'], { name: 'x', data: Float32Array.from([1, 1]), dims: [1, 2] });
  t.same(Array.from(r.y.data), [4, 6]);
});

t.test('onlyDataInput: one owner of the single-input check (activation matching, hidden activations from one array)', async (t) => {
  const twoInputs = buildModel({
    inputs: [
      { name: 'x', shape: ['N', 2] },
      { name: 'z', shape: ['N', 2] },
    ],
    outputs: [{ name: 'y', shape: ['N', 2] }],
    nodes: [{ op: 'Add', inputs: ['x', 'z'], outputs: ['y'] }],
  });
  const model = readOnnx(twoInputs);
  model.label = 'two.onnx';
  t.throws(() => onlyDataInput(model, 'activation matching'), { code: 'MODEL_INPUT', message: 'two.onnx: activation matching needs a single-input model, it has 2' });
  const one = readOnnx(mlpModel({ layers: [{ W: [1, 2], b: [0], out: 1, in: 2 }] }));
  t.equal(onlyDataInput(one, 'activation matching'), graphOf(one).input[0].name);
  const input = { name: 'x', data: Float32Array.from([1, 2]), dims: [1, 2] };
  await t.rejects(hiddenActivations(twoInputs, ['y'], input), { code: 'MODEL_INPUT', message: /reading hidden activations from one array needs a single-input model, it has 2$/ });
  await t.rejects(hiddenActivations(mlpModel({ layers: [{ W: [1, 2], b: [0], out: 1, in: 2 }] }), ['y'], { ...input, name: 'q' }), {
    code: 'MODEL_INPUT',
    message: new RegExp(`has no input "q" \\(its input is "${graphOf(one).input[0].name}"\\)$`),
  });
});
