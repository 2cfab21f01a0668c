// Mode connectivity: the loss along the interpolation path against a float64
// forward pass of the interpolated weights written here; a model with itself
// has a flat path; a permuted copy has a naive barrier and none once aligned;
// the endpoints are the models' own losses; the `modeldiff barrier` CLI.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import t from 'tap';

import { runCli } from '../lib/cli/main';
import { inferOutputs } from '../lib/infer/infer';
import { writeNpy } from '../lib/io/npy';
import { alphaGrid, barrierOf, lossBarrier } from '../lib/path/barrier';
import { interpolatedModel, planInterpolation } from '../lib/path/interpolate';
import { classificationLoss } from '../lib/path/loss';
import { createRng } from '../lib/util/rng';
import { captureIo } from './helpers/capture-io';
import { buildModel, mlpModel } from './helpers/onnx-builder';

const rng = createRng(11);
const sizes = [4, 7, 3];
const n = 48;

interface Net {
  W: number[][][];
  b: number[][];
}
function randomNet(scale = 1.5): Net {
  const W: number[][][] = [];
  const b: number[][] = [];
  for (let l = 0; l + 1 < sizes.length; l++) {
    W.push(Array.from({ length: sizes[l + 1] }, () => Array.from({ length: sizes[l] }, () => Math.fround((scale * rng.normal()) / Math.sqrt(sizes[l])))));
    b.push(Array.from({ length: sizes[l + 1] }, () => Math.fround(0.3 * rng.normal())));
  }
  return { W, b };
}
function bytes(net: Net): Uint8Array {
  return mlpModel({
    layers: net.W.map((W, l) => ({ W: W.flat(), b: net.b[l], out: W.length, in: W[0].length, activation: l === 0 ? 'relu' : 'none' })),
  });
}
function permuted(net: Net): Net {
  const perm = rng.shuffle(Array.from({ length: sizes[1] }, (_, i) => i));
  return { W: [perm.map((p) => net.W[0][p]), net.W[1].map((row) => perm.map((p) => row[p]))], b: [perm.map((p) => net.b[0][p]), net.b[1]] };
}
/** Float64 reference: weights mixed in float64 and stored as float32 (as the ONNX file does), then a float64 forward pass and cross-entropy. */
function refLoss(a: Net, b: Net, alpha: number, x: number[][], y: number[]): { loss: number; error: number } {
  const mix = (u: number, v: number) => Math.fround((1 - alpha) * u + alpha * v);
  const W = a.W.map((m, l) => m.map((r, i) => r.map((v, j) => mix(v, b.W[l][i][j]))));
  const B = a.b.map((r, l) => r.map((v, i) => mix(v, b.b[l][i])));
  let loss = 0;
  let wrong = 0;
  x.forEach((row, s) => {
    const h = W[0].map((w, o) => Math.max(0, w.reduce((acc, v, k) => acc + v * row[k], B[0][o])));
    const z = W[1].map((w, o) => w.reduce((acc, v, k) => acc + v * h[k], B[1][o]));
    const m = Math.max(...z);
    loss += m + Math.log(z.reduce((acc, v) => acc + Math.exp(v - m), 0)) - z[y[s]];
    if (z.indexOf(m) !== y[s]) wrong++;
  });
  return { loss: loss / x.length, error: wrong / x.length };
}

const netA = randomNet();
const netB = randomNet();
const netP = permuted(netA);
const x = Array.from({ length: n }, () => Array.from({ length: sizes[0] }, () => Math.fround(rng.normal())));
const probe = { data: Float32Array.from(x.flat()), shape: [n, sizes[0]] };
// Labels: A's own predictions on most samples (A is "trained"), a few flipped.
const y = x.map((row, s) => {
  const h = netA.W[0].map((w, o) => Math.max(0, w.reduce((acc, v, k) => acc + v * row[k], netA.b[0][o])));
  const z = netA.W[1].map((w, o) => w.reduce((acc, v, k) => acc + v * h[k], netA.b[1][o]));
  return s % 8 === 0 ? (z.indexOf(Math.max(...z)) + 1) % 3 : z.indexOf(Math.max(...z));
});
const labels = Int32Array.from(y);

t.test('barrierOf and the α grid', async (t) => {
  t.same(alphaGrid(5), [0, 0.25, 0.5, 0.75, 1]);
  t.same(alphaGrid(2), [0, 1]);
  t.throws(() => alphaGrid(1), { code: 'INVALID_ARGUMENT', message: /steps/ });
  t.throws(() => alphaGrid(2.5), { code: 'INVALID_ARGUMENT' });
  // Endpoints 1 and 3: the line is 1 + 2α; the curve rises 1.5 above it at α = 0.5.
  t.same(barrierOf([0, 0.25, 0.5, 0.75, 1], [1, 2, 3.5, 3, 3]), { value: 1.5, alpha: 0.5 });
  // Below the line everywhere: the barrier is 0 (at an endpoint).
  t.same(barrierOf([0, 0.5, 1], [1, 0, 1]), { value: 0, alpha: 0 });
});

t.test('classificationLoss for every output kind, against hand values', async (t) => {
  const logits = { data: Float64Array.from([0, Math.log(3), 2, 2]), n: 2, k: 2 };
  const r = classificationLoss(logits, Int32Array.from([1, 1]), 'logits');
  t.ok(Math.abs(r.loss - (-Math.log(0.75) + Math.log(2)) / 2) < 1e-15);
  t.equal(r.error, 0.5, 'row 2 is a tie: the lowest index (0) is predicted, which is wrong');
  t.equal(classificationLoss(logits, Int32Array.from([1, 0]), 'logits').error, 0);
  const probs = { data: Float64Array.from([0.2, 0.8, 1, 0]), n: 2, k: 2 };
  t.ok(Math.abs(classificationLoss(probs, Int32Array.from([1, 0]), 'probs').loss + Math.log(0.8) / 2) < 1e-15);
  t.equal(classificationLoss(probs, Int32Array.from([1, 1]), 'probs').loss, Infinity, 'p(true) = 0 → +Infinity');
  const sig = { data: Float64Array.from([0.9, 0.2]), n: 2, k: 1 };
  const rs = classificationLoss(sig, Int32Array.from([1, 1]), 'sigmoid');
  t.ok(Math.abs(rs.loss - -(Math.log(0.9) + Math.log(0.2)) / 2) < 1e-15);
  t.equal(rs.error, 0.5);
  const lg = { data: Float64Array.from([2, -800]), n: 2, k: 1 };
  const rl = classificationLoss(lg, Int32Array.from([1, 0]), 'sigmoid-logit');
  t.ok(Math.abs(rl.loss - Math.log1p(Math.exp(-2)) / 2) < 1e-15, 'stable for large |z|');
  t.equal(rl.error, 0);
  t.throws(() => classificationLoss(logits, Int32Array.from([2, 0]), 'logits'), { code: 'INVALID_ARGUMENT', message: /label 2 at sample 0/ });
  t.throws(() => classificationLoss(logits, Int32Array.from([1]), 'logits'), { code: 'SHAPE_MISMATCH' });
  t.throws(() => classificationLoss(logits, Int32Array.from([1, 1]), 'sigmoid'), { code: 'INVALID_ARGUMENT', message: /one column/ });
  t.throws(() => classificationLoss({ data: Float64Array.from([NaN, 0]), n: 1, k: 2 }, Int32Array.from([0]), 'logits'), { code: 'NON_FINITE' });
  // Logits read as probabilities are an error naming the row, never a NaN loss.
  t.throws(() => classificationLoss(logits, Int32Array.from([1, 1]), 'probs', 'm.onnx'), { code: 'INVALID_PROBS', option: 'outputs', message: /^m\.onnx, row 0: probabilities sum to 1\.0986\d*, not 1 \(tolerance 1e-4\); logits\? try options\.outputs 'logits'$/ });
  t.throws(() => classificationLoss({ data: Float64Array.from([1.5, -0.5]), n: 1, k: 2 }, Int32Array.from([0]), 'probs'), { code: 'INVALID_PROBS', option: 'outputs', message: /row 0: has a negative probability \(-0\.5\); logits\? try options\.outputs 'logits'$/ });
  t.doesNotThrow(() => classificationLoss({ data: Float64Array.from([0.3, 0.70005]), n: 1, k: 2 }, Int32Array.from([0]), 'probs'), 'sum within 1e-4');
  t.throws(() => classificationLoss({ data: Float64Array.from([0.9, 1.2]), n: 2, k: 1 }, Int32Array.from([1, 1]), 'sigmoid'), { code: 'INVALID_PROBS', option: 'outputs', message: /row 1: sigmoid probability 1\.2 is outside \[0, 1\] \(logits\? try options\.outputs 'sigmoid-logit'\)$/ });
});

t.test('the path matches a float64 forward pass of the interpolated weights; endpoints are the models\' own losses', async (t) => {
  const r = await lossBarrier(bytes(netA), bytes(netB), { data: probe, labels, steps: 5 });
  t.equal(r.outputs, 'logits');
  t.equal(r.naive.matchedBy, 'name');
  r.naive.alphas.forEach((alpha, i) => {
    const ref = refLoss(netA, netB, alpha, x, y);
    t.ok(Math.abs(r.naive.loss[i] - ref.loss) < 1e-5 * Math.max(1, ref.loss), `α=${alpha}: ${r.naive.loss[i]} vs ${ref.loss}`);
    t.equal(r.naive.error[i], ref.error, `error at α=${alpha}`);
  });
  // The endpoints, from the original files through onnxruntime and this test's own cross-entropy.
  for (const [net, i] of [[netA, 0], [netB, 4]] as const) {
    const { outputs } = await inferOutputs(bytes(net), probe, { cache: false });
    let ce = 0;
    for (let s = 0; s < n; s++) {
      const z = Array.from(outputs.data.subarray(s * 3, s * 3 + 3));
      const m = Math.max(...z);
      ce += m + Math.log(z.reduce((a, v) => a + Math.exp(v - m), 0)) - z[y[s]];
    }
    t.ok(Math.abs(r.naive.loss[i] - ce / n) < 1e-12, `endpoint ${i}: ${r.naive.loss[i]} vs ${ce / n}`);
  }
  const b = barrierOf(r.naive.alphas, r.naive.loss);
  t.equal(r.naive.lossBarrier, b.value);
  t.ok(r.naive.lossBarrier >= 0);
});

t.test('a model with itself: flat path, zero barrier (naive and aligned)', async (t) => {
  const r = await lossBarrier(bytes(netA), bytes(netA), { data: probe, labels, steps: 4, align: 'weights' });
  t.equal(r.naive.lossBarrier, 0, 'naive: exactly 0');
  t.ok(r.naive.loss.every((v) => v === r.naive.loss[0]), 'naive: exactly flat');
  for (const curve of [r.naive, r.aligned!]) {
    for (const v of curve.loss) t.ok(Math.abs(v - curve.loss[0]) < 1e-6, `flat: ${v}`);
    t.ok(curve.lossBarrier < 1e-6);
    t.equal(curve.errorBarrier, 0);
  }
});

t.test('a permuted copy: a naive barrier, none after weight matching', async (t) => {
  let progress = 0;
  const r = await lossBarrier(bytes(netA), bytes(netP), { data: probe, labels, steps: 5, align: 'weights', onProgress: () => progress++ });
  t.equal(progress, 10);
  t.ok(Math.abs(r.naive.loss[0] - r.naive.loss[4]) < 1e-6, 'same function at both ends');
  t.ok(r.naive.lossBarrier > 0.05, `naive barrier ${r.naive.lossBarrier} at α=${r.naive.lossBarrierAlpha}`);
  t.ok(r.naive.lossBarrierAlpha > 0 && r.naive.lossBarrierAlpha < 1);
  t.ok(r.aligned!.lossBarrier < 1e-5, `aligned barrier ${r.aligned!.lossBarrier}`);
  t.equal(r.aligned!.alignment.kept, 'matched');
  for (const v of r.aligned!.loss) t.ok(Math.abs(v - r.naive.loss[0]) < 1e-5);
});

t.test('activation matching also removes the barrier; bits; probability outputs', async (t) => {
  const r = await lossBarrier(bytes(netA), bytes(netP), { data: probe, labels, steps: 3, align: 'activations', bits: true });
  t.equal(r.lossUnit, 'bits');
  t.equal(r.aligned!.alignment.method, 'activations');
  t.ok(r.aligned!.lossBarrier < 1e-5, `aligned barrier ${r.aligned!.lossBarrier}`);
  const nats = await lossBarrier(bytes(netA), bytes(netP), { data: probe, labels, steps: 3 });
  r.naive.loss.forEach((v, i) => t.ok(Math.abs(v - nats.naive.loss[i] / Math.LN2) < 1e-12, 'bits = nats / ln 2'));
  // The same network ending in Softmax: outputs are read as probabilities and give the same losses.
  const softmax = (net: Net) =>
    mlpModel({ layers: net.W.map((W, l) => ({ W: W.flat(), b: net.b[l], out: W.length, in: W[0].length, activation: l === 0 ? 'relu' : 'none' })), softmax: true });
  const p = await lossBarrier(softmax(netA), softmax(netB), { data: probe, labels, steps: 3 });
  t.equal(p.outputs, 'probs');
  const l = await lossBarrier(bytes(netA), bytes(netB), { data: probe, labels, steps: 3 });
  p.naive.loss.forEach((v, i) => t.ok(Math.abs(v - l.naive.loss[i]) < 1e-5, `probs vs logits at α=${p.naive.alphas[i]}: ${v} vs ${l.naive.loss[i]}`));
  // Probe arrays are fed by input name as compare feeds them: one the model lacks is refused by name.
  await t.rejects(lossBarrier(bytes(netA), bytes(netP), { data: { x: probe, z: probe }, labels, align: 'activations' }), { code: 'MODEL_INPUT', message: /"z"/ });
});

t.test('interpolation: pairing by position, integer tensors, architecture errors', async (t) => {
  const withShape = (name: string, shape: number[], w: number[]) =>
    buildModel({
      inputs: [{ name: 'x', shape: ['N', 2] }],
      outputs: [{ name: 'y', shape: ['N', 2] }],
      initializers: [
        { name, dims: [2, 2], data: Float32Array.from(w) },
        { name: 'shape', dims: [2], dtype: 'int64', data: BigInt64Array.from(shape.map(BigInt)) },
      ],
      nodes: [{ op: 'MatMul', inputs: ['x', name], outputs: ['m'] }, { op: 'Reshape', inputs: ['m', 'shape'], outputs: ['y'] }],
    });
  const a = withShape('wa', [-1, 2], [1, 2, 3, 4]);
  const b = withShape('wb', [-1, 2], [3, 2, 1, 0]);
  const plan = planInterpolation(a, b);
  t.equal(plan.matchedBy, 'position');
  t.equal(plan.parameters, 4);
  const mid = planInterpolation(interpolatedModel(plan, 0.5), a);
  t.same(Array.from(mid.tensors[0].a), [2, 2, 2, 2]);
  t.throws(() => interpolatedModel(plan, NaN), { code: 'INVALID_ARGUMENT' });
  t.throws(() => planInterpolation(a, withShape('wb', [2, -1], [3, 2, 1, 0])), { code: 'ARCHITECTURE_MISMATCH', message: /integer tensors differ/ });
  t.throws(() => planInterpolation(bytes(netA), mlpModel({ layers: [{ W: [1, 2, 3, 4], b: [0], out: 1, in: 4 }] })), { code: 'ARCHITECTURE_MISMATCH' });
  const wider = { W: [netA.W[0], netA.W[1]], b: netA.b };
  const other = mlpModel({ layers: [{ W: wider.W[0].flat(), b: wider.b[0], out: 7, in: 4, activation: 'tanh' }, { W: wider.W[1].flat(), b: wider.b[1], out: 3, in: 7 }] });
  t.throws(() => planInterpolation(bytes(netA), other), { code: 'ARCHITECTURE_MISMATCH', message: /node 1 differs: .*Relu.*Tanh/ });
  const bad = randomNet();
  bad.W[0][0][0] = NaN;
  t.throws(() => planInterpolation(bytes(netA), bytes(bad)), { code: 'NON_FINITE', message: /W0/ });
  await t.rejects(lossBarrier(bytes(netA), bytes(netB), { data: probe, labels: labels.subarray(1) }), { code: 'SHAPE_MISMATCH' });
  await t.rejects(lossBarrier(bytes(netA), bytes(netB), { data: probe, labels, align: 'x' as 'none' }), { code: 'INVALID_ARGUMENT' });
  let walked = 0;
  await t.rejects(lossBarrier(bytes(netA), bytes(netB), { data: probe, labels, align: 'weights', seed: 0.5, onProgress: () => walked++ }), {
    code: 'INVALID_ARGUMENT',
    message: /seed must be an integer, got 0\.5/,
  });
  t.equal(walked, 0, 'a bad seed is refused before the naive path is walked');
  await t.rejects(lossBarrier(bytes(netA), bytes(netB), { data: probe, labels, steps: 0 }), { code: 'INVALID_ARGUMENT' });
});

t.test('CLI: modeldiff barrier', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'modeldiff-barrier-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.writeFileSync(path.join(dir, 'a.onnx'), bytes(netA));
  fs.writeFileSync(path.join(dir, 'p.onnx'), bytes(netP));
  writeNpy(path.join(dir, 'x.npy'), { dtype: 'float32', shape: [n, sizes[0]], data: probe.data });
  writeNpy(path.join(dir, 'y.npy'), { dtype: 'int64', shape: [n], data: BigInt64Array.from(y.map(BigInt)) });
  const run = async (...args: string[]) => {
    const io = captureIo();
    io.cwd = dir;
    const code = await runCli(['barrier', 'a.onnx', 'p.onnx', ...args], io);
    return { code, out: io.out, err: io.err };
  };
  let r = await run('--data', 'x.npy', '--labels', 'y.npy', '--steps', '3', '--align', 'weights', '--json');
  t.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out);
  t.same(j.naive.alphas, [0, 0.5, 1]);
  t.ok(j.naive.lossBarrier > 0.05);
  t.ok(j.aligned.lossBarrier < 1e-5);
  r = await run('--data', 'x.npy', '--labels', 'y.npy', '--steps', '3', '--align', 'weights', '--outputs', 'logits', '--batch-size', '5', '--seed', '3');
  t.equal(r.code, 0, r.err);
  t.match(r.out, /naive barrier:\s+loss \d\.\d+ at α=0\.5000/);
  t.match(r.out, /aligned barrier: loss 0\.0000/);
  t.match(r.out, /weight matching: \d+ sweep/);
  r = await run('--data', 'x.npy', '--labels', 'y.npy', '--steps', '2');
  t.equal(r.code, 0, r.err);
  t.notMatch(r.out, /aligned/);
  t.match(r.out, /cross-entropy in nats/);
  r = await run('--data', 'x.npy', '--labels', 'y.npy', '--steps', '3', '--align', 'activations', '--bits');
  t.equal(r.code, 0, r.err);
  t.match(r.out, /cross-entropy in bits/);
  t.match(r.out, /\(activation matching\)/);
  for (const [args, re] of [
    [['--labels', 'y.npy'], /--data/],
    [['--data', 'x.npy'], /--labels/],
    [['--data', 'x.npy', '--labels', 'y.npy', '--steps', '1'], /--steps must be an integer from 2 to 1001, got "1"/],
    [['--data', 'x.npy', '--labels', 'y.npy', '--seed', 'x'], /--seed/],
    [['--data', 'x.npy', '--labels', 'y.npy', '--batch-size', '0'], /--batch-size/],
    [['--data', 'x.npy', '--labels', 'y.npy', '--align', 'sideways'], /align/],
  ] as Array<[string[], RegExp]>) {
    r = await run(...args);
    t.equal(r.code, 2, args.join(' '));
    t.match(r.err, re);
  }
  r = await run('--data', 'x.npy', '--labels', 'x.npy');
  t.equal(r.code, 1);
  t.match(r.err, /x\.npy: labels must be integer/);
});
