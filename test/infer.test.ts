/**
 * Batched onnxruntime inference, input matching, output checks and the
 * output cache, on tiny models built in the test and checked against a
 * float64 computation written here.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import t from 'tap';
import * as ort from 'onnxruntime-node';

import { inferOutputs, inferenceCounters, streamOutputs } from '../lib/infer';
import { CACHE_FORMAT_VERSION, CacheWriter, VERIFY_CHUNK_BYTES, cacheKey, cachePath, cacheReadCounters, readCacheEntry, writeCacheEntry } from '../lib/infer/cache';
import { sessionOptions } from '../lib/infer/session';
import { HASH_CHUNK_BYTES, npyReadCounters, writeNpy } from '../lib/io/npy';
import { writeNpz } from '../lib/io/npz';
import { autoBatchSize, loadLabels, loadProbe, openProbe, probeBatches } from '../lib/io/probe';
import { makeTensor } from '../lib/io/tensor';
import { arraySha256, tensorSha256 } from '../lib/io/tensor-hash';
import { buildModel, gemmSoftmaxModel, mlpModel } from './helpers/onnx-builder';
import { errorOf } from './helpers/errors';
import { createRng } from '../lib/util/rng';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'modeldiff-infer-'));
t.teardown(() => fs.rmSync(tmp, { recursive: true, force: true }));

const rng = createRng(7);
const K = 4;
const D = 3;
const W = Array.from({ length: K * D }, () => rng.normal());
const B = Array.from({ length: K }, () => rng.normal() * 0.1);
const modelPath = path.join(tmp, 'gs.onnx');
fs.writeFileSync(modelPath, gemmSoftmaxModel({ W, b: B, k: K, d: D }));

/** float64 reference softmax(x·Wᵀ + b) for one row. */
function reference(x: ArrayLike<number>, row: number): number[] {
  const z = Array.from({ length: K }, (_, k) => B[k] + Array.from({ length: D }, (_, j) => W[k * D + j] * x[row * D + j]).reduce((a, c) => a + c, 0));
  const m = Math.max(...z);
  const e = z.map((v) => Math.exp(v - m));
  const s = e.reduce((a, c) => a + c, 0);
  return e.map((v) => v / s);
}

/** A hand-assembled .npy v1.0 file (header padded to 64 bytes). */
function npyBytes(header: string, data: Buffer): Buffer {
  const pad = (64 - ((10 + header.length + 1) % 64)) % 64;
  const h = Buffer.from(header + ' '.repeat(pad) + '\n', 'latin1');
  const pre = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, 0, 0]);
  pre.writeUInt16LE(h.length, 8);
  return Buffer.concat([pre, h, data]);
}

const vals = (a: ArrayLike<number | bigint>): number[] => Array.from(a as ArrayLike<number>, Number);

const N = 23;
const X = new Float32Array(N * D).map(() => rng.normal());
const probe = { data: X, shape: [N, D] };

t.test('outputs match a float64 reference; any batch size gives the same numbers', async (t) => {
  const one = await inferOutputs(modelPath, probe, { cache: false, batchSize: N });
  t.equal(one.outputName, 'y');
  t.equal(one.cached, false);
  t.same([one.outputs.n, one.outputs.k], [N, K]);
  t.ok(one.outputs.data instanceof Float32Array);
  for (let i = 0; i < N; i++) {
    const r = reference(X, i);
    for (let k = 0; k < K; k++) t.ok(Math.abs(one.outputs.data[i * K + k] - r[k]) < 1e-6);
  }
  const progress: number[] = [];
  const five = await inferOutputs(modelPath, probe, { cache: false, batchSize: 5, onProgress: (d, total) => progress.push(d, total) });
  t.same(Array.from(five.outputs.data), Array.from(one.outputs.data));
  t.same(progress, [5, N, 10, N, 15, N, 20, N, 23, N]);
  const auto = await inferOutputs(modelPath, probe, { cache: false });
  t.same(Array.from(auto.outputs.data), Array.from(one.outputs.data));
});

t.test('probe data from .npy / .npz paths, float64 converted and reported', async (t) => {
  const npy = path.join(tmp, 'x64.npy');
  writeNpy(npy, makeTensor(Float64Array.from(X), [N, D]));
  const r = await inferOutputs(modelPath, npy, { cache: false });
  t.same(r.inputConversions, [`${modelPath}: x: float64 probe data converted to the model's float32 input, rounding to the nearer value`]);
  const base = await inferOutputs(modelPath, probe, { cache: false });
  t.same(r.inputConversions.length, 1);
  t.same(Array.from(r.outputs.data), Array.from(base.outputs.data)); // X was float32 to begin with
  const npz = path.join(tmp, 'p.npz');
  writeNpz(npz, { x: makeTensor(X, [N, D]) });
  const z = await inferOutputs('gs.onnx', 'p.npz', { cache: false, cwd: tmp });
  t.same(Array.from(z.outputs.data), Array.from(base.outputs.data));
  t.same(z.inputConversions, []);
});

t.test('wrong dtype or shape for the model input: MODEL_INPUT with expected vs got', async (t) => {
  const e1 = await errorOf(inferOutputs(modelPath, { data: new Float32Array(N * 4), shape: [N, 4] }, { cache: false }));
  t.equal(e1.code, 'MODEL_INPUT');
  t.match(e1.message, /input "x" expects float32 \[N, 3\], got float32 \[23, 4\] from <array>/);
  const e2 = await errorOf(inferOutputs(modelPath, { data: new Float32Array(N * 3), shape: [N, 3, 1] }, { cache: false }));
  t.match(e2.message, /expects float32 \[N, 3\], got float32 \[23, 3, 1\]/);
  // An int64-input model refuses float data rather than truncating it.
  const intModel = buildModel({
    inputs: [{ name: 'ids', dtype: 'int64', shape: ['N', 2] }],
    outputs: [{ name: 'y', shape: ['N', 2] }],
    nodes: [{ op: 'Cast', inputs: ['ids'], outputs: ['y'], attrs: { to: { i: 1 } } }],
  });
  const e3 = await errorOf(inferOutputs(intModel, { data: new Float32Array([1.5, 2, 3, 4]), shape: [2, 2] }, { cache: false }));
  t.equal(e3.code, 'MODEL_INPUT');
  t.match(e3.message, /<bytes>: input "ids" expects int64, got float32 \[2, 2\] from <array>: .*truncate/);
  const ok = await inferOutputs(intModel, { data: new Int32Array([1, 2, 3, 4]), shape: [2, 2] }, { cache: false });
  t.same(Array.from(ok.outputs.data), [1, 2, 3, 4]);
  t.match(ok.inputConversions[0], /ids: int32 probe data converted to the model's int64 input$/);
});

t.test('several inputs map by name; mistakes name the inputs', async (t) => {
  const two = buildModel({
    inputs: [
      { name: 'a', shape: ['N', 2] },
      { name: 'm', shape: ['N', 2] },
    ],
    outputs: [{ name: 'y', shape: ['N', 2] }],
    nodes: [{ op: 'Mul', inputs: ['a', 'm'], outputs: ['y'] }],
  });
  const a = { data: new Float32Array([1, 2, 3, 4]), shape: [2, 2] };
  const m = { data: new Float32Array([0, 1, 1, 0]), shape: [2, 2] };
  const r = await inferOutputs(two, { a, m }, { cache: false });
  t.same(Array.from(r.outputs.data), [0, 2, 3, 0]);
  t.match((await errorOf(inferOutputs(two, a, { cache: false }))).message, /has 2 inputs \(a, m\); give each one by name in options\.data$/);
  t.match((await errorOf(inferOutputs(two, { a }, { cache: false }))).message, /no probe data for input "m" \(given: a\)/);
  t.match((await errorOf(inferOutputs(two, { a, m, z: a }, { cache: false }))).message, /has no input named "z" \(its inputs: a, m\)/);
  const e = await errorOf(inferOutputs(two, { a, m: { data: new Float32Array(6), shape: [3, 2] } }, { cache: false }));
  t.equal(e.code, 'SHAPE_MISMATCH');
  t.match(e.message, /disagree in sample count/);
});

t.test('outputs: first by default, by name, unknown names, non-finite values, bad shapes, float16', async (t) => {
  const twoOut = buildModel({
    inputs: [{ name: 'x', shape: ['N', 2] }],
    outputs: [
      { name: 'first', shape: ['N', 2] },
      { name: 'second', shape: ['N', 2] },
    ],
    nodes: [
      { op: 'Relu', inputs: ['x'], outputs: ['first'] },
      { op: 'Neg', inputs: ['x'], outputs: ['second'] },
    ],
  });
  const x = { data: new Float32Array([-1, 2, 3, -4]), shape: [2, 2] };
  t.same(Array.from((await inferOutputs(twoOut, x, { cache: false })).outputs.data), [0, 2, 3, 0]);
  const second = await inferOutputs(twoOut, x, { cache: false, output: 'second' });
  t.equal(second.outputName, 'second');
  t.same(Array.from(second.outputs.data), [1, -2, -3, 4]);
  const e = await errorOf(inferOutputs(twoOut, x, { cache: false, output: 'third' }));
  t.equal(e.code, 'MODEL_OUTPUT');
  t.match(e.message, /no output named "third" \(its outputs: first, second\)/);

  const sqrt = buildModel({ inputs: [{ name: 'x', shape: ['N', 2] }], outputs: [{ name: 'y', shape: ['N', 2] }], nodes: [{ op: 'Sqrt', inputs: ['x'], outputs: ['y'] }] });
  const nan = await errorOf(inferOutputs(sqrt, x, { cache: false, batchSize: 1, label: 'sqrt.onnx' }));
  t.equal(nan.code, 'MODEL_OUTPUT');
  t.match(nan.message, /sqrt\.onnx: output "y" is NaN at sample 0, class 0; model outputs must be finite/);
  const nan2 = await errorOf(inferOutputs(sqrt, { data: new Float32Array([1, 4, 9, -1]), shape: [2, 2] }, { cache: false, batchSize: 1 }));
  t.match(nan2.message, /NaN at sample 1, class 1/);

  const rank3 = buildModel({
    inputs: [{ name: 'x', shape: ['N', 'a', 'b'] }],
    outputs: [{ name: 'y', shape: ['N', 'a', 'b'] }],
    nodes: [{ op: 'Identity', inputs: ['x'], outputs: ['y'] }],
  });
  // Rank 3 (e.g. an LM's [batch, sequence, vocab]): one row per sample, its shape kept in dims.
  const r3 = await inferOutputs(rank3, { data: Float32Array.from({ length: 12 }, (_, i) => i), shape: [2, 2, 3] }, { cache: false, batchSize: 1 });
  t.same([r3.outputs.n, r3.outputs.k, r3.outputs.dims], [2, 6, [2, 3]]);
  t.same(Array.from(r3.outputs.data), Array.from({ length: 12 }, (_, i) => i));
  // Size-1 axes squeeze: [N, 1, 3] is read as [N, 3]; a 1-D output is k = 1.
  const sq = await inferOutputs(rank3, { data: new Float32Array([1, 2, 3, 4, 5, 6]), shape: [2, 1, 3] }, { cache: false });
  t.same([sq.outputs.n, sq.outputs.k], [2, 3]);
  const oneD = buildModel({ inputs: [{ name: 'x', shape: ['N'] }], outputs: [{ name: 'y', shape: ['N'] }], nodes: [{ op: 'Sigmoid', inputs: ['x'], outputs: ['y'] }] });
  const od = await inferOutputs(oneD, { data: new Float32Array([0, 100]), shape: [2] }, { cache: false });
  t.same([od.outputs.n, od.outputs.k], [2, 1]);
  t.equal(od.outputs.data[0], 0.5);

  const intOut = buildModel({
    inputs: [{ name: 'x', shape: ['N', 2] }],
    outputs: [{ name: 'y', dtype: 'int64', shape: ['N'] }],
    nodes: [{ op: 'ArgMax', inputs: ['x'], outputs: ['y'], attrs: { axis: { i: 1 }, keepdims: { i: 0 } } }],
  });
  t.match((await errorOf(inferOutputs(intOut, x, { cache: false }))).message, /output "y" is int64; expected floating-point scores/);

  // float16 in and out: float32 probe data is converted (and reported), float16 outputs widen to float32.
  const half = buildModel({
    inputs: [{ name: 'x', dtype: 'float16', shape: ['N', 2] }],
    outputs: [{ name: 'y', dtype: 'float16', shape: ['N', 2] }],
    nodes: [{ op: 'Neg', inputs: ['x'], outputs: ['y'] }],
  });
  const h = await inferOutputs(half, { data: new Float32Array([0.5, -2, 3, 1024]), shape: [2, 2] }, { cache: false });
  t.same(Array.from(h.outputs.data), [-0.5, 2, -3, -1024]);
  t.ok(h.outputs.data instanceof Float32Array);
  t.match(h.inputConversions[0], /float32 probe data converted to the model's float16 input, rounding/);

  const f64 = gemmSoftmaxModel({ W, b: B, k: K, d: D, inputDtype: 'float64' });
  const r64 = await inferOutputs(f64, { data: Float64Array.from(X), shape: [N, D] }, { cache: false });
  t.ok(r64.outputs.data instanceof Float64Array);
  t.ok(Math.abs(r64.outputs.data[0] - reference(X, 0)[0]) < 1e-12);
});

t.test('missing file, not an ONNX model, a session passed in, fixed batch sizes', async (t) => {
  const missing = await errorOf(inferOutputs(path.join(tmp, 'nope.onnx'), probe));
  t.equal(missing.code, 'FILE_NOT_FOUND');
  t.match(missing.message, /nope\.onnx: no such ONNX model file/);
  const junk = path.join(tmp, 'junk.onnx');
  fs.writeFileSync(junk, 'this is not a protobuf');
  const bad = await errorOf(inferOutputs(junk, probe));
  t.equal(bad.code, 'BAD_ONNX');
  t.match(bad.message, /junk\.onnx: not a valid ONNX model/);
  t.equal((await errorOf(inferOutputs(tmp, probe))).code, 'IO');
  t.equal((await errorOf(inferOutputs(42 as unknown as string, probe))).code, 'INVALID_ARGUMENT');

  const session = await ort.InferenceSession.create(modelPath);
  const runs = inferenceCounters.runs;
  const s = await inferOutputs(session, probe, { cacheDir: path.join(tmp, 'never') });
  t.equal(s.cached, false);
  t.notOk(fs.existsSync(path.join(tmp, 'never')), 'a caller session is never cached');
  t.ok(inferenceCounters.runs > runs);
  t.ok(Math.abs(s.outputs.data[5] - reference(X, 1)[1]) < 1e-6);
  // The caller keeps ownership: the session still works afterwards.
  await session.run({ x: new ort.Tensor('float32', new Float32Array(3), [1, 3]) });
  await session.release();

  const fixed = gemmSoftmaxModel({ W, b: B, k: K, d: D, batch: 4 });
  const f = await inferOutputs(fixed, probe, { cache: false, batchSize: 100 });
  t.same([f.outputs.n, f.outputs.k], [N, K]);
  t.ok(Math.abs(f.outputs.data[(N - 1) * K + 2] - reference(X, N - 1)[2]) < 1e-6, 'the padded last batch is trimmed');
  const badBatch = await errorOf(inferOutputs(modelPath, probe, { cache: false, batchSize: 0 }));
  t.same([badBatch.code, badBatch.option, badBatch.message], ['INVALID_ARGUMENT', 'batchSize', 'options.batchSize must be a positive integer, got 0']);
  t.equal((await errorOf(inferOutputs(modelPath, probe, { cache: false, output: 'zz' }))).code, 'MODEL_OUTPUT');
});

t.test('sessions: CPU provider, one intra-op thread per core, all graph optimizations', async (t) => {
  t.same(sessionOptions(), { executionProviders: ['cpu'], intraOpNumThreads: os.availableParallelism(), graphOptimizationLevel: 'all', extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } }, logSeverityLevel: 4 });
});

t.test('output cache: hit, corrupt entries recomputed, --no-cache writes nothing, unwritable dir warns', async (t) => {
  const dir = path.join(tmp, 'cache');
  const first = await inferOutputs(modelPath, probe, { cacheDir: dir, batchSize: 7 });
  t.equal(first.cached, false);
  const files = fs.readdirSync(dir);
  t.equal(files.length, 1);
  t.match(files[0], /^[0-9a-f]{64}\.bin$/);
  const runs = inferenceCounters.runs;
  const second = await inferOutputs(modelPath, probe, { cacheDir: dir, batchSize: 5 });
  t.equal(second.cached, true);
  t.equal(inferenceCounters.runs, runs, 'no onnxruntime run on a hit');
  t.same(Array.from(second.outputs.data), Array.from(first.outputs.data));

  // Different probe bytes → a different key.
  const other = { data: X.map((v) => v + 1), shape: [N, D] };
  t.equal((await inferOutputs(modelPath, other, { cacheDir: dir })).cached, false);
  t.equal(fs.readdirSync(dir).length, 2);

  const entry = path.join(dir, files[0]);
  const good = fs.readFileSync(entry);
  const corruptions: Array<[string, Buffer]> = [
    ['payload bit flip', Buffer.concat([good.subarray(0, good.length - 1), Buffer.from([good[good.length - 1] ^ 1])])],
    ['truncated', good.subarray(0, good.length - 8)],
    ['bad magic', Buffer.concat([Buffer.from('XXXXXXXX'), good.subarray(8)])],
    ['tiny', Buffer.from('MD')],
    ['header length past end', Buffer.concat([good.subarray(0, 8), Buffer.from([255, 255, 0, 0]), good.subarray(12)])],
    ['unparsable header', Buffer.concat([good.subarray(0, 12), Buffer.from('{{{'), good.subarray(15)])],
  ];
  for (const [what, bytes] of corruptions) {
    fs.writeFileSync(entry, bytes);
    const before = inferenceCounters.runs;
    const r = await inferOutputs(modelPath, probe, { cacheDir: dir });
    t.equal(r.cached, false, `${what}: recomputed`);
    t.ok(inferenceCounters.runs > before, `${what}: ran the model`);
    t.same(Array.from(r.outputs.data), Array.from(first.outputs.data), `${what}: right numbers`);
    t.same(fs.readFileSync(entry), good, `${what}: entry rewritten`);
  }
  // Header fields that do not verify.
  const hlen = good.readUInt32LE(8);
  const header = JSON.parse(good.toString('utf8', 12, 12 + hlen));
  for (const change of [{ format: 99 }, { dtype: 'int8' }, { n: 0 }]) {
    const h = Buffer.from(JSON.stringify({ ...header, ...change }));
    const len = Buffer.alloc(4);
    len.writeUInt32LE(h.length);
    fs.writeFileSync(entry, Buffer.concat([good.subarray(0, 8), len, h, good.subarray(12 + hlen)]));
    t.equal(readCacheEntry(dir, files[0].slice(0, -4)).status, 'corrupt', JSON.stringify(change));
  }
  fs.writeFileSync(entry, good);

  const fresh = path.join(tmp, 'fresh-cache');
  t.equal((await inferOutputs(modelPath, probe, { cache: false, cacheDir: fresh })).cached, false);
  t.notOk(fs.existsSync(fresh), '--no-cache writes nothing');

  // A cache folder that cannot be created (its parent is a file): warning, correct results.
  const blocker = path.join(tmp, 'a-file');
  fs.writeFileSync(blocker, '');
  const warnings: string[] = [];
  const ro = await inferOutputs(modelPath, probe, { cacheDir: path.join(blocker, 'cache'), onWarning: (m) => warnings.push(m) });
  t.equal(ro.cached, false);
  t.equal(warnings.length, 1);
  t.match(warnings[0], /output cache disabled for this run: cannot write to .*a-file\/cache/);
  t.same(ro.warnings, warnings);
  t.same(Array.from(ro.outputs.data), Array.from(first.outputs.data));
  // Nested missing folders are created.
  const nested = path.join(tmp, 'n1', 'n2', 'n3');
  t.equal((await inferOutputs(modelPath, probe, { cacheDir: nested })).warnings.length, 0);
  t.equal(fs.readdirSync(nested).length, 1);
  // Where mkdir fails with ENOENT under an existing parent (/proc), Node's recursive mkdir
  // loops forever: the cache must give up with a warning instead.
  if (process.platform === 'linux' && fs.existsSync('/proc/self')) {
    const procWarnings: string[] = [];
    const p = await inferOutputs(modelPath, probe, { cacheDir: '/proc/modeldiff-cache/x', onWarning: (m) => procWarnings.push(m) });
    t.equal(p.cached, false);
    t.match(procWarnings, [/output cache disabled for this run: cannot write to \/proc\/modeldiff-cache\/x/]);
  }
  if (process.getuid?.() !== 0) {
    const roDir = path.join(tmp, 'ro');
    fs.mkdirSync(roDir, { mode: 0o555 });
    const r = await inferOutputs(modelPath, probe, { cacheDir: roDir });
    t.equal(r.warnings.length, 1);
  }

  // MODELDIFF_CACHE_DIR sets the default folder.
  const envDir = path.join(tmp, 'env-cache');
  process.env.MODELDIFF_CACHE_DIR = envDir;
  try {
    await inferOutputs(modelPath, probe);
    t.equal(fs.readdirSync(envDir).length, 1);
  } finally {
    delete process.env.MODELDIFF_CACHE_DIR;
  }
  t.equal(cachePath(dir, 'k'), path.join(dir, 'k.bin'));
  t.equal(typeof cacheKey({ modelSha256: 'm', outputName: 'y', inputs: [] }), 'string');
});

t.test('streaming: batches arrive in order; stopping early releases the model', async (t) => {
  const s = await streamOutputs(modelPath, probe, { cache: false, batchSize: 10 });
  t.equal(s.n, N);
  t.equal(s.batchSize, 10);
  const seen: Array<[number, number]> = [];
  for await (const b of s.batches) {
    seen.push([b.start, b.end]);
    t.equal(b.output.n, b.end - b.start);
    break;
  }
  t.same(seen, [[0, 10]]);
  const mlp = mlpModel({
    layers: [
      { W: [1, 0, 0, 1, 1, 1], b: [0, 0, -1], in: 2, out: 3, activation: 'relu' },
      { W: [1, -1, 0, 0, 1, 1], b: [0, 0], in: 3, out: 2, matmul: true },
    ],
    softmax: true,
  });
  const r = await inferOutputs(mlp, { data: new Float32Array([1, 2]), shape: [1, 2] }, { cache: false });
  // h = relu([1, 2, 2]) = [1, 2, 2]; z = [1 - 2, 2 + 2] = [-1, 4]; softmax.
  t.ok(Math.abs(r.outputs.data[1] - 1 / (1 + Math.exp(-5))) < 1e-6);
});

t.test('probe helpers: labels, auto batch size, batches, errors', async (t) => {
  const p = loadProbe(probe);
  t.equal(p.n, N);
  t.equal(loadProbe(p), p);
  t.equal(autoBatchSize(p), N);
  t.equal(autoBatchSize(loadProbe({ data: new Float32Array(5000 * 4096), shape: [5000, 4096] })), 512);
  t.same(Array.from(probeBatches(p, 10), (b) => [b.start, b.end, b.inputs[''].shape[0]]), [[0, 10, 10], [10, 20, 10], [20, 23, 3]]);
  t.throws(() => Array.from(probeBatches(p, 0)), { code: 'INVALID_ARGUMENT', option: 'batchSize', message: 'options.batchSize must be a positive integer, got 0' });
  t.throws(() => loadProbe({}), /no probe data/);
  t.throws(() => loadProbe({ data: new Float32Array(0), shape: [0, 3] }), /zero samples/);
  t.throws(() => loadProbe({ data: new Float32Array(1), shape: [] }), /sample axis/);
  const lp = path.join(tmp, 'y.npy');
  writeNpy(lp, makeTensor(new BigInt64Array([0n, 2n, 1n]), [3]));
  t.same(Array.from(loadLabels(lp, 3)), [0, 2, 1]);
  t.same(Array.from(loadLabels('y.npy', 3, { cwd: tmp })), [0, 2, 1]);
  t.same(Array.from(loadLabels([1, 0], 2)), [1, 0]);
  t.throws(() => loadLabels(lp, 4), /3 labels for 4 probe samples/);
  t.throws(() => loadLabels([0.5], 1), /label 0\.5 at sample 0 is not a non-negative class id/);
  t.throws(() => loadLabels([-1], 1), /not a non-negative class id/);
  t.throws(() => loadLabels([2 ** 40], 1), /label 1099511627776 at sample 0 is out of range for a class id \(at most 2147483647\)/);
  const fl = path.join(tmp, 'yf.npy');
  writeNpy(fl, makeTensor(new Float32Array([0, 1]), [2]));
  t.throws(() => loadLabels(fl, 2), /labels must be integer class ids, got dtype float32/);
  const l2 = path.join(tmp, 'y2.npy');
  writeNpy(l2, makeTensor(new Int32Array(4), [2, 2]));
  t.throws(() => loadLabels(l2, 2), /one-dimensional/);
  const col = path.join(tmp, 'ycol.npy');
  writeNpy(col, makeTensor(new Int32Array([1, 0]), [2, 1]));
  t.same(Array.from(loadLabels(col, 2)), [1, 0]);
  // A multi-array .npz names inputs by key; giving the same input twice is refused.
  const npz = path.join(tmp, 'two.npz');
  writeNpz(npz, { a: makeTensor(new Float32Array(2), [2, 1]), m: makeTensor(new Float32Array(2), [2, 1]) });
  t.same(Object.keys(loadProbe(npz).inputs).sort(), ['a', 'm']);
  t.throws(() => loadProbe({ a: npz, b: npz }), { code: 'INVALID_ARGUMENT', option: 'data', message: /given twice/ });
});

t.test('streaming is bounded by the batch: probe rows and cache entries are read by offset', async (t) => {
  // 5,000 samples × 8 float32 features (160 KB) and 4 outputs (80 KB per entry): both larger
  // than one hashing/verification chunk, so a whole-file read would show in the counters.
  const D2 = 8;
  const n = 5000;
  const batch = 64;
  const W2 = Array.from({ length: K * D2 }, () => rng.normal());
  const model2 = path.join(tmp, 'gs8.onnx');
  fs.writeFileSync(model2, gemmSoftmaxModel({ W: W2, b: B, k: K, d: D2 }));
  const Xb = new Float32Array(n * D2).map(() => rng.normal());
  const big = path.join(tmp, 'big.npy');
  writeNpy(big, makeTensor(Xb, [n, D2]));
  const rowBytes = D2 * 4;
  const outRowBytes = K * 4;
  t.ok(fs.statSync(big).size > HASH_CHUNK_BYTES && n * outRowBytes > VERIFY_CHUNK_BYTES, 'file and entry span several chunks');

  // Reference: the whole array in memory, no cache.
  const whole = await inferOutputs(model2, { data: Xb, shape: [n, D2] }, { cache: false, batchSize: batch });

  const dir = path.join(tmp, 'bounded-cache');
  const reset = () => {
    Object.assign(npyReadCounters, { rowReads: 0, maxRowReadBytes: 0, hashReads: 0, maxHashReadBytes: 0 });
    Object.assign(cacheReadCounters, { batchReads: 0, maxBatchReadBytes: 0, verifyReads: 0, maxVerifyReadBytes: 0 });
  };
  const collect = async (s: Awaited<ReturnType<typeof streamOutputs>>) => {
    const out = new Float32Array(n * K);
    let largest = 0;
    for await (const b of s.batches) {
      largest = Math.max(largest, b.output.data.byteLength);
      out.set(b.output.data, b.start * K);
    }
    return { out, largest };
  };

  reset();
  const miss = await streamOutputs(model2, big, { cacheDir: dir, batchSize: batch });
  t.equal(miss.cached, false);
  const first = await collect(miss);
  t.equal(npyReadCounters.rowReads, Math.ceil(n / batch), 'one positioned read per batch');
  t.equal(npyReadCounters.maxRowReadBytes, batch * rowBytes, 'largest probe read = one batch of rows');
  t.ok(npyReadCounters.hashReads >= 3 && npyReadCounters.maxHashReadBytes <= HASH_CHUNK_BYTES, 'the cache key hashes the file in chunks');
  t.ok(first.largest <= batch * outRowBytes);
  t.same(Buffer.from(first.out.buffer), Buffer.from(whole.outputs.data.buffer), 'streamed probe = whole array, bit for bit');
  const entries = fs.readdirSync(dir);
  t.equal(entries.length, 1, 'one entry, no temporary file left');

  reset();
  const runs = inferenceCounters.runs;
  const hit = await streamOutputs(model2, big, { cacheDir: dir, batchSize: batch });
  t.equal(hit.cached, true);
  const second = await collect(hit);
  t.equal(inferenceCounters.runs, runs, 'no onnxruntime run on a hit');
  t.equal(npyReadCounters.rowReads, 0, 'a hit reads no probe rows');
  t.ok(cacheReadCounters.verifyReads >= 2 && cacheReadCounters.maxVerifyReadBytes <= VERIFY_CHUNK_BYTES, 'verified in chunks');
  t.equal(cacheReadCounters.batchReads, Math.ceil(n / batch));
  t.equal(cacheReadCounters.maxBatchReadBytes, batch * outRowBytes, 'largest entry read = one batch of outputs');
  t.same(Buffer.from(second.out.buffer), Buffer.from(first.out.buffer), 'cache hit = recompute, bit for bit');

  // The same array in memory keys the same entry as the file streamed through the hash.
  t.equal((await inferOutputs(model2, { data: Xb, shape: [n, D2] }, { cacheDir: dir })).cached, true);

  // A bit flipped in the middle of the payload: detected, recomputed, rewritten.
  const entry = path.join(dir, entries[0]);
  const good = fs.readFileSync(entry);
  const bad = Buffer.from(good);
  bad[Math.floor(bad.length / 2)] ^= 0x10;
  fs.writeFileSync(entry, bad);
  const redo = await streamOutputs(model2, big, { cacheDir: dir, batchSize: 100 });
  t.equal(redo.cached, false, 'corrupt entry not trusted');
  t.same(Buffer.from((await collect(redo)).out.buffer), Buffer.from(whole.outputs.data.buffer));
  t.same(fs.readFileSync(entry), good, 'entry rewritten');

  // Stopping early leaves neither an entry nor a temporary file behind.
  const dir2 = path.join(tmp, 'abandoned-cache');
  const s = await streamOutputs(model2, big, { cacheDir: dir2, batchSize: batch });
  for await (const b of s.batches) if (b.end >= 3 * batch) break;
  t.same(fs.readdirSync(dir2), [], 'partial entry removed');
  // A hit abandoned early closes its entry too (close() is idempotent).
  const h2 = await streamOutputs(model2, big, { cacheDir: dir, batchSize: batch });
  for await (const b of h2.batches) if (b.end > 0) break;
  await h2.close();
  await h2.close();

  // Fortran-order and big-endian files: the same numbers (Fortran loads whole, big-endian streams swapped).
  const fortran = path.join(tmp, 'big-f.npy');
  const F = new Float32Array(n * D2);
  for (let i = 0; i < n; i++) for (let j = 0; j < D2; j++) F[j * n + i] = Xb[i * D2 + j];
  fs.writeFileSync(fortran, npyBytes(`{'descr': '<f4', 'fortran_order': True, 'shape': (${n}, ${D2}), }`, Buffer.from(F.buffer)));
  const be = path.join(tmp, 'big-be.npy');
  const swapped = Buffer.from(Xb.buffer.slice(0));
  swapped.swap32();
  fs.writeFileSync(be, npyBytes(`{'descr': '>f4', 'fortran_order': False, 'shape': (${n}, ${D2}), }`, swapped));
  for (const f of [fortran, be]) {
    const r = await inferOutputs(model2, f, { cacheDir: dir, batchSize: batch });
    t.equal(r.cached, true, `${path.basename(f)}: same bytes, same cache key`);
    t.same(Buffer.from(r.outputs.data.buffer), Buffer.from(whole.outputs.data.buffer));
    const nc = await inferOutputs(model2, f, { cache: false, batchSize: batch });
    t.same(Buffer.from(nc.outputs.data.buffer), Buffer.from(whole.outputs.data.buffer), `${path.basename(f)}: recomputed`);
  }
});

t.test('cache writer: complete entries only; whole-entry helpers', async (t) => {
  const dir = path.join(tmp, 'writer-cache');
  const w = CacheWriter.create(dir, 'k1', 3, 2, 'float32');
  w.append({ data: new Float32Array([1, 2, 3, 4]), n: 2, k: 2 });
  t.throws(() => w.append({ data: new Float64Array(2), n: 1, k: 2 }), /changed shape or type/);
  t.throws(() => w.append({ data: new Float32Array(6), n: 2, k: 2 }), /changed shape or type/);
  t.throws(() => w.commit(), /only 2 of 3 rows were written/);
  t.same(fs.readdirSync(dir), [], 'an incomplete entry never appears');
  t.equal(writeCacheEntry(dir, 'k2', { data: new Float64Array([0.25, 0.75]), n: 1, k: 2 }), undefined);
  const r = readCacheEntry(dir, 'k2');
  t.equal(r.status, 'hit');
  if (r.status === 'hit') t.same(Array.from(r.output.data), [0.25, 0.75]);
  t.equal(readCacheEntry(dir, 'nope').status, 'miss');
  // A folder where the entry should be: an error message, nothing written.
  fs.mkdirSync(cachePath(dir, 'k3'));
  t.match(writeCacheEntry(dir, 'k3', { data: new Float32Array(1), n: 1, k: 1 }), /is a folder/);
  t.equal(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp')).length, 0);
  // A footer that is not ours.
  const good = fs.readFileSync(cachePath(dir, 'k2'));
  const noFooter = Buffer.from(good);
  noFooter.write('XXXXXXXX', good.length - 40, 'latin1');
  fs.writeFileSync(cachePath(dir, 'k2'), noFooter);
  t.match(readCacheEntry(dir, 'k2'), { status: 'corrupt', reason: 'bad footer' });
  t.equal(CACHE_FORMAT_VERSION, 3);
  // An entry name that is a folder cannot be read: corrupt, not a crash.
  t.match(readCacheEntry(dir, 'k3'), { status: 'corrupt' });
  // An entry truncated after it was verified: a typed IO error, not short data.
  const dir3 = path.join(tmp, 'shrink-cache');
  await inferOutputs(modelPath, probe, { cacheDir: dir3 });
  const s = await streamOutputs(modelPath, probe, { cacheDir: dir3, batchSize: 5 });
  t.equal(s.cached, true);
  fs.truncateSync(path.join(dir3, fs.readdirSync(dir3)[0]), 100);
  const e = await errorOf((async () => {
    for await (const b of s.batches) void b;
  })());
  t.equal(e.code, 'IO');
  t.match(e.message, /output cache entry became unreadable: cache entry shrank/);
});

t.test('a streamed .npy file is hashed from rows read in order from the first, else by its own pass', async (t) => {
  const file = path.join(tmp, 'hash-order.npy');
  writeNpy(file, makeTensor(X, [N, D]));
  const reference = arraySha256('float32', [N, D], (update) => update(new Uint8Array(X.buffer, X.byteOffset, X.byteLength)));
  Object.assign(npyReadCounters, { rowReads: 0, maxRowReadBytes: 0, hashReads: 0, maxHashReadBytes: 0 });
  const inOrder = openProbe(file).inputs[''];
  inOrder.rows(0, 10);
  inOrder.rows(10, N);
  t.equal(inOrder.sha256(), reference);
  t.equal(npyReadCounters.hashReads, 0, 'rows 0..n in order: no hashing pass');
  const restarted = openProbe(file).inputs[''];
  restarted.rows(0, 10);
  restarted.materialize();
  t.equal(restarted.sha256(), reference, 'a read from row 0 starts the hash again');
  t.equal(npyReadCounters.hashReads, 0);
  const outOfOrder = openProbe(file).inputs[''];
  outOfOrder.rows(0, 10);
  outOfOrder.rows(20, N);
  outOfOrder.rows(10, 20);
  t.equal(outOfOrder.sha256(), reference);
  t.equal(npyReadCounters.hashReads, 1, 'a gap: the hash streams the file itself');
});

t.test('openProbe: C-order .npy files stream, other sources are held whole; loadProbe materializes', async (t) => {
  const file = path.join(tmp, 'open.npy');
  writeNpy(file, makeTensor(X, [N, D]));
  const s = openProbe(file);
  t.equal(s.n, N);
  t.equal(s.inputs[''].streamed, true);
  t.equal(openProbe(s), s, 'an open stream is passed through');
  t.same(vals(s.inputs[''].rows(2, 4).data), vals(X.subarray(2 * D, 4 * D)));
  const whole = loadProbe(s);
  t.same(vals(whole.inputs[''].data), vals(X));
  t.same(whole.sources, { '': file });
  t.equal(s.inputs[''].sha256(), openProbe(probe).inputs[''].sha256(), 'file and array hash alike');
  // The memoized hash belongs to the array as hashed: the same buffer with another shape or dtype hashes anew.
  const asFlat = tensorSha256(makeTensor(X, [N * D]));
  t.not(asFlat, s.inputs[''].sha256(), 'same bytes, other shape: other hash');
  t.equal(asFlat, arraySha256('float32', [N * D], (update) => update(new Uint8Array(X.buffer, X.byteOffset, X.byteLength))));
  t.equal(tensorSha256(makeTensor(X, [N, D])), s.inputs[''].sha256(), 'back to the first shape');
  t.not(tensorSha256({ data: new Uint32Array(X.buffer, X.byteOffset, X.length), shape: [N, D], dtype: 'uint32' }), s.inputs[''].sha256(), 'other dtype: other hash');
  const mem = openProbe(loadProbe(probe));
  t.equal(mem.inputs[''].streamed, false);
  t.equal(mem.materialize().inputs[''].data, X, 'in-memory arrays are not copied');
  const npz = path.join(tmp, 'open.npz');
  writeNpz(npz, { a: makeTensor(X, [N, D]) });
  t.equal(openProbe(npz).inputs[''].streamed, false, '.npz members are held whole');
  t.same(Array.from(probeBatches(s, 10), (b) => vals(b.inputs[''].data).length), [10 * D, 10 * D, 3 * D]);
  // reuse: one buffer serves every batch of a streamed input; each batch is right when it is read.
  const buffers = new Set<ArrayBufferLike>();
  for (const b of probeBatches(s, 10, { reuse: true })) {
    buffers.add(b.inputs[''].data.buffer);
    t.same(vals(b.inputs[''].data), vals(X.subarray(b.start * D, b.end * D)), `reused rows ${b.start}..${b.end}`);
  }
  t.equal(buffers.size, 1);
  t.equal(new Set(Array.from(probeBatches(s, 10), (b) => b.inputs[''].data.buffer)).size, 3, 'without reuse, fresh buffers');
  t.equal(new Set(Array.from(probeBatches(mem, 10, { reuse: true }), (b) => b.inputs[''].data.buffer)).size, 1, 'in-memory batches are views');
  t.throws(() => openProbe({ a: file, b: path.join(tmp, 'y.npy') }), /probe inputs disagree in sample count: .*open\.npy has 23, .*y\.npy has 3/);
  t.equal((await errorOf(inferOutputs(modelPath, path.join(tmp, 'missing.npy'), { cache: false }))).code, 'FILE_NOT_FOUND');
});
