/**
 * Weight space: symmetry derivation, canonical baseline, weight matching and
 * writeback, checked against transforms written independently in
 * test/helpers/onnx-models.ts and against onnxruntime (same function).
 */
import fs from 'node:fs';
import path from 'node:path';

import t, { type Test } from 'tap';

import { readOnnx } from '../lib/io/onnx';
import { buildNetwork } from '../lib/weights/graph';
import { align, canonicalize, weightDistance } from '../lib/weights';
import { networkPairs } from '../lib/weights/architecture';
import { weightDistances } from '../lib/weights/distance';
import { weightMatching } from '../lib/weights/matching';
import { cloneNetwork } from '../lib/weights/network';
import { canonicalizeNetwork, normalizeNetwork } from '../lib/weights/symmetry';
import { writeNetwork } from '../lib/weights/writeback';
import { DataType, encodeOnnx, float64ToTensor, tensorDims, tensorToFloat64 } from '../lib/io/onnx';
import { buildModel } from './helpers/onnx-builder';
import {
  convBytes,
  createRng,
  maxAbs,
  maxAbsDiff,
  mlpBytes,
  randomConvNet,
  randomDense,
  randomInput,
  randomPerm,
  randomResMlp,
  resMlpBytes,
  runModel,
  transformConvNet,
  transformHidden,
  transformResMlp,
} from './helpers/onnx-models';

const N = 16;

/** B and its rewritten models compute the same function (float32 tolerance). */
async function sameFunction(t: Test, b: Uint8Array, rewritten: Uint8Array[], x: Float32Array, dims: number[]) {
  const yb = await runModel(b, x, dims);
  for (const m of rewritten) {
    const y = await runModel(m, x, dims);
    t.ok(maxAbsDiff(y, yb) <= 1e-5 * Math.max(1, maxAbs(yb)), `rewritten model matches B (max diff ${maxAbsDiff(y, yb)})`);
  }
}


t.test('ReLU MLP, hidden units permuted and positively rescaled: raw large, canonical and aligned ≈ 0, same function', async (t) => {
  const rng = createRng(1);
  const A = randomDense(rng, [6, 8, 7, 3]);
  let B = transformHidden(A, 0, randomPerm(rng, 8), Array.from({ length: 8 }, () => Math.exp(3 * rng.float() - 1.5)));
  B = transformHidden(B, 1, randomPerm(rng, 7), Array.from({ length: 7 }, () => Math.exp(3 * rng.float() - 1.5)));
  const a = mlpBytes(A, 'relu');
  const b = mlpBytes(B, 'relu');
  const r = await weightDistance(a, b);
  t.ok(r.raw!.relative > 0.5, `raw relative ${r.raw!.relative}`);
  t.ok(r.canonical!.relative <= 1e-5, `canonical relative ${r.canonical!.relative}`);
  t.ok(r.aligned!.relative <= 1e-5, `aligned relative ${r.aligned!.relative}`);
  t.ok(r.aligned!.cosine > 1 - 1e-9);
  t.same(Object.keys(r.aligned!), ['l2', 'relative', 'cosine', 'layers']);
  t.same(r.raw!.layers.map((l) => l.name), ['W0', 'b0', 'W1', 'b1', 'W2', 'b2']);
  t.equal(r.alignment!.method, 'weights');
  t.ok(r.alignment!.converged);
  await sameFunction(t, b, [r.models.canonical!, r.models.aligned!], randomInput(rng, N * 6), [N, 6]);
  // Oracle (docs/design.md, "Weight-space symmetries"): with normalization off, only permutations are searched and the rescaled copy stays far.
  const off = await align(a, b, { normalize: false });
  t.equal(off.alignment.normalized, false);
  t.ok(off.distance.relative > 0.1, `permutation-only ${off.distance.relative}`);
  await sameFunction(t, b, [off.model], randomInput(rng, N * 6), [N, 6]);
  const permOnly = transformHidden(A, 0, randomPerm(rng, 8), Array(8).fill(1));
  t.ok((await align(a, mlpBytes(permOnly, 'relu'), { normalize: false })).distance.relative < 1e-6, 'a pure permutation is found without normalization');
});

t.test('tanh MLP, permuted with sign flips: sign groups, canonical and aligned ≈ 0, same function', async (t) => {
  const rng = createRng(2);
  const A = randomDense(rng, [5, 6, 6, 2]);
  const sign = () => Array.from({ length: 6 }, () => (rng.float() < 0.5 ? -1 : 1));
  let B = transformHidden(A, 0, randomPerm(rng, 6), sign());
  B = transformHidden(B, 1, randomPerm(rng, 6), sign());
  const net = buildNetwork(readOnnx(mlpBytes(A, 'tanh')));
  t.same(net.hidden.map((id) => net.groups[id].caps), [{ scale: false, sign: true }, { scale: false, sign: true }]);
  const r = await weightDistance(mlpBytes(A, 'tanh'), mlpBytes(B, 'tanh'));
  t.ok(r.raw!.relative > 0.5);
  t.ok(r.canonical!.relative <= 1e-5, `canonical ${r.canonical!.relative}`);
  t.ok(r.aligned!.relative <= 1e-5, `aligned ${r.aligned!.relative}`);
  await sameFunction(t, mlpBytes(B, 'tanh'), [r.models.canonical!, r.models.aligned!], randomInput(rng, N * 5), [N, 5]);
});

t.test('CNN with BatchNorm, channels permuted and rescaled before MaxPool, Conv and Flatten + Gemm', async (t) => {
  const rng = createRng(3);
  const A = randomConvNet(rng);
  const B = transformConvNet(A, rng);
  const net = buildNetwork(readOnnx(convBytes(A)));
  t.same(net.layers.map((l) => [l.op, l.outUnits, l.inUnits, l.inBlock]), [['Conv', 4, 1, 9], ['Conv', 5, 4, 9], ['Gemm', 3, 5, 4]]);
  t.equal(net.layers[0].bnNode, 1, 'BatchNorm folded into the first conv');
  t.same(net.hidden.map((id) => net.groups[id].caps), [{ scale: true, sign: false }, { scale: true, sign: false }]);
  const r = await weightDistance(convBytes(A), convBytes(B));
  t.ok(r.raw!.relative > 0.3, `raw ${r.raw!.relative}`);
  t.ok(r.canonical!.relative <= 1e-5, `canonical ${r.canonical!.relative}`);
  t.ok(r.aligned!.relative <= 1e-5, `aligned ${r.aligned!.relative}`);
  const x = randomInput(rng, N * 16);
  await sameFunction(t, convBytes(B), [r.models.canonical!, r.models.aligned!], x, [N, 1, 4, 4]);
  // The written models have no BatchNorm left.
  const ops = readOnnx(r.models.aligned!).proto.graph!.node!.map((n) => n.opType);
  t.notOk(ops.includes('BatchNormalization'));
});

t.test('BatchNorm folding is exact (float64 reference) and preserves the function', async (t) => {
  const rng = createRng(4);
  const A = randomConvNet(rng, 3, 2, 2);
  const net = buildNetwork(readOnnx(convBytes(A)));
  const L = net.layers[0];
  const f32 = (v: number) => Math.fround(v);
  for (let o = 0; o < 3; o++) {
    const bn = A.bn!;
    const f = f32(bn.scale[o]) / Math.sqrt(f32(bn.variance[o]) + f32(1e-3));
    for (let k = 0; k < 9; k++) t.ok(Math.abs(L.W[o * 9 + k] - f32(A.w1[o * 9 + k]) * f) < 1e-12);
    const want = (f32(A.b1[o]) - f32(bn.mean[o])) * f + f32(bn.bias[o]);
    t.ok(Math.abs(L.b[o] - want) < 1e-12, `folded bias ${L.b[o]} vs ${want}`);
  }
  // Without a conv bias the fold adds one.
  const bytes = convBytes(A);
  const model = readOnnx(bytes);
  const g = model.proto.graph!;
  g.node![0].input = ['x', 'conv1.w'];
  g.initializer = g.initializer!.filter((i) => i.name !== 'conv1.b');
  const noBias = encodeOnnx(model);
  const written = encodeOnnx(writeNetwork(buildNetwork(readOnnx(noBias))));
  t.equal(readOnnx(written).proto.graph!.node![0].input!.length, 3);
  await sameFunction(t, noBias, [written], randomInput(rng, 8 * 16), [8, 1, 4, 4]);
});

t.test('Gemm transB 0/1, alpha/beta ≠ 1 and MatMul + Add load to the same W and b, and write back exactly', async (t) => {
  const rng = createRng(5);
  const [L0, L1] = randomDense(rng, [3, 4, 2]);
  const Wt = new Float32Array(12); // [in, out]
  for (let o = 0; o < 4; o++) for (let k = 0; k < 3; k++) Wt[k * 4 + o] = L0.W[o * 3 + k];
  const tail = [
    { op: 'Relu', inputs: ['z'], outputs: ['r'] },
    { op: 'Gemm', inputs: ['r', 'W1', 'b1'], outputs: ['y'], attrs: { transB: { i: 1 } } },
  ];
  const common = {
    inputs: [{ name: 'x', shape: ['N', 3] }],
    outputs: [{ name: 'y', shape: ['N', 2] }],
  };
  const tailInits = [{ name: 'W1', dims: [2, 4], data: L1.W }, { name: 'b1', dims: [2], data: L1.b }];
  const variants = {
    transB1: buildModel({ ...common, initializers: [{ name: 'W0', dims: [4, 3], data: L0.W }, { name: 'b0', dims: [4], data: L0.b }, ...tailInits], nodes: [{ op: 'Gemm', inputs: ['x', 'W0', 'b0'], outputs: ['z'], attrs: { transB: { i: 1 } } }, ...tail] }),
    transB0: buildModel({ ...common, initializers: [{ name: 'W0', dims: [3, 4], data: Wt }, { name: 'b0', dims: [4], data: L0.b }, ...tailInits], nodes: [{ op: 'Gemm', inputs: ['x', 'W0', 'b0'], outputs: ['z'] }, ...tail] }),
    alpha: buildModel({ ...common, initializers: [{ name: 'W0', dims: [4, 3], data: Array.from(L0.W, (v) => v / 2) }, { name: 'b0', dims: [1, 4], data: Array.from(L0.b, (v) => v * 4) }, ...tailInits], nodes: [{ op: 'Gemm', inputs: ['x', 'W0', 'b0'], outputs: ['z'], attrs: { transB: { i: 1 }, alpha: { f: 2 }, beta: { f: 0.25 } } }, ...tail] }),
    matmul: buildModel({ ...common, initializers: [{ name: 'W0', dims: [3, 4], data: Wt }, { name: 'b0', dims: [4], data: L0.b }, ...tailInits], nodes: [{ op: 'MatMul', inputs: ['x', 'W0'], outputs: ['m'] }, { op: 'Add', inputs: ['m', 'b0'], outputs: ['z'] }, ...tail] }),
  };
  const ref = buildNetwork(readOnnx(variants.transB1)).layers[0];
  const x = randomInput(rng, 8 * 3);
  for (const [name, bytes] of Object.entries(variants)) {
    const l = buildNetwork(readOnnx(bytes)).layers[0];
    t.ok(maxAbsDiff(l.W, ref.W) < 1e-6 && maxAbsDiff(l.b, ref.b) < 1e-6, `${name}: same W and b`);
    t.equal(l.op, name === 'matmul' ? 'MatMul' : 'Gemm');
    const canon = canonicalize(bytes);
    await sameFunction(t, bytes, [canon], x, [8, 3]);
  }
  const d = await weightDistance(variants.transB1, variants.matmul, { methods: ['canonical', 'aligned'] });
  t.ok(d.canonical!.l2 < 1e-6 && d.aligned!.l2 < 1e-6, 'Gemm and MatMul+Add versions are the same network');
});

t.test('canonicalization is idempotent; aligning a network to itself gives the identity', async (t) => {
  const rng = createRng(6);
  const bytes = mlpBytes(randomDense(rng, [4, 6, 5, 2]), 'relu');
  const once = canonicalize(bytes, { sortKey: 'bias' });
  const twice = canonicalize(once, { sortKey: 'bias' });
  const d = await weightDistance(once, twice, { methods: ['raw'] });
  t.ok(d.raw!.relative < 1e-6, `second canonicalization changes nothing (${d.raw!.relative})`);
  const self = await align(bytes, bytes, { seed: 3 });
  for (const p of Object.values(self.alignment.permutations)) t.same(p, p.map((_, i) => i));
  t.ok(self.distance.relative < 1e-12, `self distance ${self.distance.relative}`);
});

t.test('weight matching: objective never decreases from the identity; one hidden layer converges in one sweep', async (t) => {
  const rng = createRng(7);
  for (const sizes of [[5, 7, 6, 5, 3], [4, 9, 2]]) {
    const a = buildNetwork(readOnnx(mlpBytes(randomDense(rng, sizes), 'relu')));
    const b = buildNetwork(readOnnx(mlpBytes(randomDense(rng, sizes), 'relu')));
    normalizeNetwork(a);
    normalizeNetwork(b);
    const r = await weightMatching(a, b, { seed: 1 });
    for (let i = 1; i < r.objective.length; i++) t.ok(r.objective[i] >= r.objective[i - 1] - 1e-12, `sweep ${i} objective ${r.objective[i]}`);
    t.ok(r.converged);
    if (sizes.length === 3) t.equal(r.sweeps, 1, 'single hidden layer: one sweep');
  }
});

t.test('perturbed copy: aligned ≤ unaligned; canonical sorting flips near-tied units while alignment stays small', async (t) => {
  const rng = createRng(8);
  // Perturbation: alignment never makes the distance worse than not aligning
  // (both in the scale-normalized frame the aligned distance is measured in),
  // and stays close to the raw distance.
  const A = randomDense(rng, [6, 10, 8, 3]);
  const P = A.map((l) => ({ ...l, W: l.W.map((v) => v + 0.01 * rng.normal()), b: l.b.map((v) => v + 0.01 * rng.normal()) }));
  const r = await weightDistance(mlpBytes(A, 'relu'), mlpBytes(P, 'relu'));
  const [na, np] = [A, P].map((x) => {
    const net = buildNetwork(readOnnx(mlpBytes(x, 'relu')));
    normalizeNetwork(net);
    return net;
  });
  const unaligned = weightDistances(networkPairs(na, np));
  t.ok(r.aligned!.l2 <= unaligned.l2 + 1e-12, `aligned ${r.aligned!.l2} ≤ unaligned ${unaligned.l2}`);
  t.ok(r.aligned!.relative < 1.5 * r.raw!.relative && r.aligned!.relative > 0.5 * r.raw!.relative, `aligned ${r.aligned!.relative} close to raw ${r.raw!.relative}`);
  // The same perturbed copy, permuted and rescaled: raw explodes, alignment recovers the perturbation level.
  let Q = transformHidden(P, 0, randomPerm(rng, 10), Array.from({ length: 10 }, () => Math.exp(rng.float() - 0.5)));
  Q = transformHidden(Q, 1, randomPerm(rng, 8), Array.from({ length: 8 }, () => Math.exp(rng.float() - 0.5)));
  const q = await weightDistance(mlpBytes(A, 'relu'), mlpBytes(Q, 'relu'));
  t.ok(q.raw!.relative > 5 * r.raw!.relative, `raw of the permuted perturbed copy ${q.raw!.relative}`);
  t.equal(q.alignment!.kept, 'matched');
  t.ok(q.aligned!.relative < 1.5 * r.raw!.relative, `aligned ${q.aligned!.relative} vs perturbation ${r.raw!.relative}`);

  // Instability of the sorting baseline: two units whose out-norm keys differ by 1e-4.
  const u0 = [1, 0, 0];
  const u1 = [0, 0.6, 0.8];
  const L0 = { W: Float64Array.from([...u0, ...u1]), b: new Float64Array(2), out: 2, in: 3 };
  const L1 = { W: Float64Array.from([1, 1.0001, 0, 0]), b: new Float64Array(2), out: 2, in: 2 };
  const L1b = { ...L1, W: Float64Array.from([1.0002, 1.0001, 0, 0]) }; // unit 0's key now slightly larger
  const ra = await weightDistance(mlpBytes([L0, L1], 'relu'), mlpBytes([L0, L1b], 'relu'));
  t.ok(ra.raw!.relative < 1e-3, `raw ${ra.raw!.relative}`);
  t.ok(ra.canonical!.relative > 0.5, `canonical jumps to ${ra.canonical!.relative}: the two units swapped order`);
  t.ok(ra.aligned!.relative < 1e-3, `aligned stays ${ra.aligned!.relative}`);
});

t.test('Sigmoid layers get the permutation symmetry only; permuted copy aligns to 0', async (t) => {
  const rng = createRng(9);
  const A = randomDense(rng, [4, 6, 2]);
  const B = transformHidden(A, 0, randomPerm(rng, 6), Array(6).fill(1));
  const net = buildNetwork(readOnnx(mlpBytes(A, 'sigmoid')));
  t.same(net.groups[net.hidden[0]].caps, { scale: false, sign: false });
  const r = await weightDistance(mlpBytes(A, 'sigmoid'), mlpBytes(B, 'sigmoid'));
  t.ok(r.aligned!.relative < 1e-6);
  await sameFunction(t, mlpBytes(B, 'sigmoid'), [r.models.aligned!, r.models.canonical!], randomInput(rng, N * 4), [N, 4]);
});

t.test('residual MLP: the Add ties the stream into one group; a permuted, rescaled copy aligns to ≈ 0', async (t) => {
  const rng = createRng(10);
  const A = randomResMlp(rng);
  const B = transformResMlp(A, rng);
  const net = buildNetwork(readOnnx(resMlpBytes(A)));
  t.equal(net.hidden.length, 2);
  const stream = net.groups[net.hidden[0]];
  t.same(stream.producers, [0, 2]);
  t.same(stream.consumers, [1, 3]);
  const r = await weightDistance(resMlpBytes(A), resMlpBytes(B));
  t.ok(r.raw!.relative > 0.3);
  t.ok(r.aligned!.relative < 1e-5, `aligned ${r.aligned!.relative}`);
  t.ok(r.canonical!.relative < 1e-5, `canonical ${r.canonical!.relative}`);
  await sameFunction(t, resMlpBytes(B), [r.models.aligned!, r.models.canonical!], randomInput(rng, N * 5), [N, 5]);
});

t.test('activation matching recovers a permutation from the probe set', async (t) => {
  const rng = createRng(11);
  const A = randomDense(rng, [4, 6, 5, 2]);
  let B = transformHidden(A, 0, randomPerm(rng, 6), Array.from({ length: 6 }, () => (rng.float() < 0.5 ? -1 : 1)));
  B = transformHidden(B, 1, randomPerm(rng, 5), Array(5).fill(1));
  const probe = { dtype: 'float32' as const, shape: [64, 4], data: randomInput(rng, 64 * 4) };
  const r = await align(mlpBytes(A, 'tanh'), mlpBytes(B, 'tanh'), { align: 'activations', data: probe });
  t.ok(r.distance.relative < 1e-5, `activation-aligned ${r.distance.relative}`);
  t.equal(r.alignment.method, 'activations');
  await sameFunction(t, mlpBytes(B, 'tanh'), [r.model], randomInput(rng, N * 4), [N, 4]);
  await t.rejects(align(mlpBytes(A, 'tanh'), mlpBytes(B, 'tanh'), { align: 'activations' }), {
    code: 'INVALID_ARGUMENT',
    option: 'data',
    message: 'activation matching needs probe data',
  });
});

t.test('unsupported graphs name the node; raw still works; architectures must match', async (t) => {
  const rng = createRng(12);
  const A = randomDense(rng, [3, 4, 2]);
  const concat = buildModel({
    inputs: [{ name: 'x', shape: ['N', 3] }],
    outputs: [{ name: 'y', shape: ['N', 2] }],
    initializers: [{ name: 'W0', dims: [4, 3], data: A[0].W }, { name: 'b0', dims: [4], data: A[0].b }, { name: 'W1', dims: [2, 8], data: new Float64Array(16).fill(0.1) }],
    nodes: [
      { op: 'Gemm', inputs: ['x', 'W0', 'b0'], outputs: ['z'], attrs: { transB: { i: 1 } } },
      { op: 'Concat', name: 'the_concat', inputs: ['z', 'z'], outputs: ['c'], attrs: { axis: { i: 1 } } },
      { op: 'Gemm', inputs: ['c', 'W1'], outputs: ['y'], attrs: { transB: { i: 1 } } },
    ],
  });
  await t.rejects(weightDistance(concat, concat), { code: 'UNSUPPORTED_GRAPH', message: /Concat node "the_concat"/ });
  const raw = await weightDistance(concat, concat, { methods: ['raw'] });
  t.equal(raw.raw!.l2, 0);
  t.equal(raw.raw!.cosine, 1);
  const wider = mlpBytes(randomDense(rng, [3, 5, 2]), 'relu');
  await t.rejects(weightDistance(mlpBytes(A, 'relu'), wider, { methods: ['canonical'] }), { code: 'ARCHITECTURE_MISMATCH', message: /layer 1 \(W0 vs W0\) has 4 units × 3 inputs vs 5 units × 3 inputs$/ });
  await t.rejects(weightDistance(mlpBytes(A, 'relu'), wider, { methods: ['raw'] }), { code: 'ARCHITECTURE_MISMATCH', message: /W0/ });
  await t.rejects(weightDistance(mlpBytes(A, 'relu'), mlpBytes(A, 'tanh'), { methods: ['aligned'] }), { code: 'ARCHITECTURE_MISMATCH' });
  await t.rejects(weightDistance(wider, wider, { methods: ['nope' as 'raw'] }), { code: 'INVALID_ARGUMENT' });
  const nan = A.map((l) => ({ ...l, W: l.W.slice() }));
  nan[1].W[3] = NaN;
  // Raw distance (the stored values) and the network walk (float64) refuse it in one wording.
  await t.rejects(weightDistance(mlpBytes(A, 'relu'), mlpBytes(nan, 'relu'), { methods: ['raw'] }), { code: 'NON_FINITE', message: /: tensor W1 has a non-finite value \(NaN\) at index 3$/ });
  await t.rejects(weightDistance(mlpBytes(A, 'relu'), mlpBytes(nan, 'relu'), { methods: ['aligned'] }), { code: 'NON_FINITE', message: /: tensor W1 has a non-finite value \(NaN\) at index 3$/ });
  await t.rejects(weightDistance(wider, wider, { sortKey: 'nope' as 'bias' }), { code: 'INVALID_ARGUMENT' });
  // Alignment settings are checked before any model is compared: the bad setting is reported, not the architecture mismatch.
  await t.rejects(weightDistance(mlpBytes(A, 'relu'), wider, { align: 'bogus' as 'weights' }), { code: 'INVALID_ARGUMENT', message: /unknown alignment "bogus"/ });
  await t.rejects(weightDistance(mlpBytes(A, 'relu'), wider, { seed: 1.5 }), { code: 'INVALID_ARGUMENT', message: /seed must be an integer, got 1\.5/ });
  await t.rejects(align(mlpBytes(A, 'relu'), wider, { maxSweeps: 0 }), { code: 'INVALID_ARGUMENT', message: /maxSweeps must be a positive integer, got 0/ });
  // Settings only alignment uses are not checked when it is not asked for.
  t.equal((await weightDistance(wider, wider, { methods: ['raw'], seed: 1.5 })).raw!.l2, 0);
});

t.test('canonical network keeps the function when cloned and canonicalized in memory', async (t) => {
  const rng = createRng(13);
  const bytes = convBytes(randomConvNet(rng, 3, 3, 2, false));
  const net = buildNetwork(readOnnx(bytes));
  const c = cloneNetwork(net);
  canonicalizeNetwork(c, 'in-l1');
  t.not(c.layers[0].W, net.layers[0].W);
  await sameFunction(t, bytes, [encodeOnnx(writeNetwork(c))], randomInput(rng, 4 * 16), [4, 1, 4, 4]);
});

t.test('real PyTorch exports (example zoo): the permuted + rescaled seed-1 MLP aligns to ≈ 0', async (t) => {
  const zoo = path.join(__dirname, '..', 'examples', 'digits');
  const r = await weightDistance(path.join(zoo, 'mlp_relu_seed1.onnx'), path.join(zoo, 'mlp_relu_seed1_permuted.onnx'));
  t.ok(r.raw!.relative > 1, `raw ${r.raw!.relative}`);
  t.ok(r.canonical!.relative < 1e-5 && r.aligned!.relative < 1e-5, `canonical ${r.canonical!.relative}, aligned ${r.aligned!.relative}`);
  // Seed 1 has dead ReLUs on the probe set (7 and 5 units): activation matching breaks their ties by weights.
  const act = await align(path.join(zoo, 'mlp_relu_seed1.onnx'), path.join(zoo, 'mlp_relu_seed1_permuted.onnx'), {
    align: 'activations',
    data: path.join(zoo, 'probe_x.npy'),
  });
  t.ok(act.distance.relative < 1e-5, `activation-aligned ${act.distance.relative}`);
  const cnn = buildNetwork(readOnnx(path.join(zoo, 'cnn_seed0.onnx')));
  t.same(cnn.layers.map((l) => l.inBlock), [9, 9, 64], 'Flatten → Gemm: 8 channel blocks of 8×8 positions');
});

t.test('ResNet-style CNN: the skip Add ties the convs of a block; GlobalAveragePool → Flatten → Gemm', async (t) => {
  const rng = createRng(14);
  const r = (n: number) => Array.from({ length: n }, () => 0.4 * rng.normal());
  const conv = { kernel_shape: { ints: [3, 3] }, pads: { ints: [1, 1, 1, 1] } };
  const bytes = buildModel({
    inputs: [{ name: 'x', shape: ['N', 2, 4, 4] }],
    outputs: [{ name: 'y', shape: ['N', 3] }],
    initializers: [
      { name: 'c0.w', dims: [4, 2, 3, 3], data: r(72) }, { name: 'c0.b', dims: [4], data: r(4) },
      { name: 'c1.w', dims: [4, 4, 3, 3], data: r(144) }, { name: 'c1.b', dims: [4], data: r(4) },
      { name: 'c2.w', dims: [4, 4, 3, 3], data: r(144) }, { name: 'c2.b', dims: [4], data: r(4) },
      { name: 'fc.w', dims: [3, 4], data: r(12) }, { name: 'fc.b', dims: [3], data: r(3) },
    ],
    nodes: [
      { op: 'Conv', inputs: ['x', 'c0.w', 'c0.b'], outputs: ['h0'], attrs: conv },
      { op: 'Relu', inputs: ['h0'], outputs: ['s'] },
      { op: 'Conv', inputs: ['s', 'c1.w', 'c1.b'], outputs: ['h1'], attrs: conv },
      { op: 'Relu', inputs: ['h1'], outputs: ['a1'] },
      { op: 'Conv', inputs: ['a1', 'c2.w', 'c2.b'], outputs: ['h2'], attrs: conv },
      { op: 'Add', inputs: ['s', 'h2'], outputs: ['t'] },
      { op: 'Relu', inputs: ['t'], outputs: ['rt'] },
      { op: 'GlobalAveragePool', inputs: ['rt'], outputs: ['g'] },
      { op: 'Flatten', inputs: ['g'], outputs: ['f'] },
      { op: 'Gemm', inputs: ['f', 'fc.w', 'fc.b'], outputs: ['y'], attrs: { transB: { i: 1 } } },
    ],
  });
  const net = buildNetwork(readOnnx(bytes));
  t.equal(net.hidden.length, 2);
  t.same(net.groups[net.hidden[0]].producers, [0, 2], 'c0 and c2 write the same stream');
  t.same(net.layers[3].inBlock, 1);
  const canon = canonicalize(bytes);
  await sameFunction(t, bytes, [canon], randomInput(rng, 4 * 32), [4, 2, 4, 4]);
  const r2 = await weightDistance(bytes, canon);
  t.ok(r2.canonical!.relative < 1e-5 && r2.aligned!.relative < 1e-5, `canonical ${r2.canonical!.relative}, aligned ${r2.aligned!.relative}`);
  t.ok(r2.raw!.relative > 0.05);
});

t.test('residual tanh MLP: sign flips of the stream and the block are removed', async (t) => {
  const rng = createRng(15);
  const A = randomResMlp(rng);
  const B = transformResMlp(A, rng, true);
  const tanh = (m: typeof A) => {
    const model = readOnnx(resMlpBytes(m));
    for (const n of model.proto.graph!.node!) if (n.opType === 'Relu') n.opType = 'Tanh';
    return encodeOnnx(model);
  };
  const net = buildNetwork(readOnnx(tanh(A)));
  t.same(net.hidden.map((id) => net.groups[id].caps), [{ scale: false, sign: true }, { scale: false, sign: true }]);
  const r = await weightDistance(tanh(A), tanh(B));
  t.ok(r.raw!.relative > 0.3);
  t.ok(r.canonical!.relative < 1e-6 && r.aligned!.relative < 1e-6, `canonical ${r.canonical!.relative}, aligned ${r.aligned!.relative}`);
  await sameFunction(t, tanh(B), [r.models.aligned!, r.models.canonical!], randomInput(rng, N * 5), [N, 5]);
});

t.test('BatchNorm after a MatMul without bias: writeback inserts the bias Add', async (t) => {
  const rng = createRng(16);
  const [L0, L1] = randomDense(rng, [3, 4, 2]);
  const Wt = new Float64Array(12);
  for (let o = 0; o < 4; o++) for (let k = 0; k < 3; k++) Wt[k * 4 + o] = L0.W[o * 3 + k];
  const v = (s: number) => Array.from({ length: 4 }, () => s + 0.3 * rng.float());
  const bytes = buildModel({
    inputs: [{ name: 'x', shape: ['N', 3] }],
    outputs: [{ name: 'y', shape: ['N', 2] }],
    initializers: [
      { name: 'W0', dims: [3, 4], data: Wt },
      { name: 's', dims: [4], data: v(1) }, { name: 'bb', dims: [4], data: v(0) }, { name: 'm', dims: [4], data: v(-0.1) }, { name: 'var', dims: [4], data: v(0.5) },
      { name: 'W1', dims: [2, 4], data: L1.W }, { name: 'b1', dims: [2], data: L1.b },
    ],
    nodes: [
      { op: 'MatMul', inputs: ['x', 'W0'], outputs: ['m0'] },
      { op: 'BatchNormalization', inputs: ['m0', 's', 'bb', 'm', 'var'], outputs: ['z'] },
      { op: 'Relu', inputs: ['z'], outputs: ['r'] },
      { op: 'Gemm', inputs: ['r', 'W1', 'b1'], outputs: ['y'], attrs: { transB: { i: 1 } } },
    ],
  });
  const canon = canonicalize(bytes);
  t.same(readOnnx(canon).proto.graph!.node!.map((n) => n.opType), ['MatMul', 'Add', 'Relu', 'Gemm']);
  await sameFunction(t, bytes, [canon], randomInput(rng, N * 3), [N, 3]);
});

t.test('real PyTorch exports with BatchNorm: folding matches PyTorch’s own folding; residual block and Gelu derived', async (t) => {
  const fx = (f: string) => path.join(__dirname, 'fixtures', 'weights', f);
  const bn = buildNetwork(readOnnx(fx('torch_resnet_bn.onnx')));
  t.same(bn.layers.map((l) => [l.op, l.bnNode !== undefined]), [['Conv', true], ['Conv', true], ['Conv', true], ['Gemm', false]]);
  t.same(bn.groups[bn.hidden[0]].producers, [0, 2], 'stem and block output share the residual stream');
  // Default methods: raw is skipped with a note (PyTorch renamed the folded initializers).
  const r = await weightDistance(fx('torch_resnet_bn.onnx'), fx('torch_resnet_folded.onnx'));
  t.equal(r.raw, undefined);
  t.match(r.notes![0], /^raw: skipped/);
  t.ok(r.canonical!.relative < 1e-6 && r.aligned!.relative < 1e-6, `canonical ${r.canonical!.relative}, aligned ${r.aligned!.relative}`);
  await t.rejects(weightDistance(fx('torch_resnet_bn.onnx'), fx('torch_resnet_folded.onnx'), { methods: ['raw'] }), { code: 'ARCHITECTURE_MISMATCH' });
  const rng = createRng(17);
  const x = randomInput(rng, N * 64);
  const bytes = (f: string) => new Uint8Array(fs.readFileSync(fx(f)));
  await sameFunction(t, bytes('torch_resnet_bn.onnx'), [r.models.canonical!, r.models.aligned!], x, [N, 1, 8, 8]);

  const mlp = buildNetwork(readOnnx(fx('torch_mlp_bn_gelu.onnx')));
  t.same(mlp.hidden.map((id) => mlp.groups[id].caps), [{ scale: true, sign: false }, { scale: false, sign: false }], 'ReLU then Gelu (Erf pattern)');
  await sameFunction(t, bytes('torch_mlp_bn_gelu.onnx'), [canonicalize(fx('torch_mlp_bn_gelu.onnx'))], randomInput(rng, N * 8), [N, 8]);
});

t.test('float16 weights: read, canonicalized in float64, written back as float16', async (t) => {
  const rng = createRng(18);
  const bytes = mlpBytes(randomDense(rng, [4, 5, 2]), 'relu');
  const model = readOnnx(bytes);
  const g = model.proto.graph!;
  g.initializer = g.initializer!.map((init) => float64ToTensor(init.name!, tensorDims(init), tensorToFloat64(init), DataType.FLOAT16));
  const half = encodeOnnx(model);
  const canon = readOnnx(canonicalize(half));
  t.same(canon.proto.graph!.initializer!.map((i) => i.dataType), [DataType.FLOAT16, DataType.FLOAT16, DataType.FLOAT16, DataType.FLOAT16]);
  const d = await weightDistance(canonicalize(bytes), canonicalize(half), { methods: ['raw'] });
  t.ok(d.raw!.relative < 2e-3, `float16 rounding only (${d.raw!.relative})`);
  t.ok(d.raw!.relative > 0);
});

t.test('distance definitions: closed forms and the conventions at zero', async (t) => {
  const r = weightDistances([
    { name: 'u', a: [3, 0], b: [0, 4] },
    { name: 'zeros', a: [0, 0], b: [0, 0] },
    { name: 'one-zero', a: [0, 0], b: [1, 0] },
  ]);
  t.same(r.layers[0], { name: 'u', l2: 5, relative: 5 / Math.sqrt(12), cosine: 0, size: 2 });
  t.same(r.layers[1], { name: 'zeros', l2: 0, relative: 0, cosine: 1, size: 2 });
  t.same(r.layers[2], { name: 'one-zero', l2: 1, relative: Infinity, cosine: 0, size: 2 });
  // Totals over all tensors: ‖a−b‖² = 25 + 0 + 1, ‖a‖ = 3, ‖b‖ = √17, a·b = 0.
  t.equal(r.l2, Math.sqrt(26));
  t.equal(r.relative, Math.sqrt(26) / Math.sqrt(3 * Math.sqrt(17)));
  t.equal(r.cosine, 0);
  const same = weightDistances([{ name: 'x', a: [1, -2], b: [2, -4] }]);
  t.ok(Math.abs(same.cosine - 1) < 1e-15);
  t.ok(Math.abs(same.relative - Math.sqrt(5) / Math.sqrt(Math.sqrt(5) * Math.sqrt(20))) < 1e-15);
});
