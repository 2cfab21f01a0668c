/**
 * compare() end to end on tiny Gemm models, checked against a float64
 * reference computed here from the models' own outputs: per-sample JS, TV,
 * KL, Hellinger and disagreement, their means / stderr / median / max, the
 * top-K ranking, the per-class table, accuracy, kappa, and the samples-needed
 * formula. Plus streaming (batch size does not change anything), the cache,
 * the CLI and every bad-input path.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import t from 'tap';

import { runCli } from '../lib/cli/main';
import { parseDataSpecs } from '../lib/cli/commands/compare';
import { compare } from '../lib/function/compare';
import { inferOutputs, inferenceCounters } from '../lib/infer';
import { createProgress } from '../lib/infer/progress';
import { stageProgress } from '../lib/many/progress';
import { HASH_CHUNK_BYTES, npyReadCounters, writeNpy } from '../lib/io/npy';
import { VERIFY_CHUNK_BYTES, cacheReadCounters } from '../lib/infer/cache';
import { readNpz } from '../lib/io/npz';
import { makeTensor } from '../lib/io/tensor';
import { createRng } from '../lib/util/rng';
import { captureIo } from './helpers/capture-io';
import { buildModel, gemmSoftmaxModel } from './helpers/onnx-builder';
import { errorOf } from './helpers/errors';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'modeldiff-compare-'));
t.teardown(() => fs.rmSync(tmp, { recursive: true, force: true }));
const noCache = { cache: false };

const rng = createRng(11);
const K = 4;
const D = 5;
const N = 157; // prime: no batch size divides it
const rand = (len: number, s = 1) => Array.from({ length: len }, () => rng.normal() * s);
const WA = rand(K * D);
const WB = WA.map((w) => w + rng.normal() * 0.6);
const bA = rand(K, 0.2);
const bB = rand(K, 0.2);
const aPath = path.join(tmp, 'a.onnx');
const bPath = path.join(tmp, 'b.onnx');
fs.writeFileSync(aPath, gemmSoftmaxModel({ W: WA, b: bA, k: K, d: D, softmax: false }));
fs.writeFileSync(bPath, gemmSoftmaxModel({ W: WB, b: bB, k: K, d: D, softmax: false }));
const X = new Float32Array(N * D).map(() => rng.normal());
const xPath = path.join(tmp, 'x.npy');
writeNpy(xPath, makeTensor(X, [N, D]));
const labels = Int32Array.from({ length: N }, () => rng.int(K));
const yPath = path.join(tmp, 'y.npy');
writeNpy(yPath, makeTensor(labels, [N]));

// ---- float64 reference, from the models' logits ----
function softmaxRows(z: ArrayLike<number>): number[][] {
  const rows: number[][] = [];
  for (let i = 0; i < N; i++) {
    const r = Array.from({ length: K }, (_, j) => z[i * K + j]);
    const m = Math.max(...r);
    const e = r.map((v) => Math.exp(v - m));
    const s = e.reduce((a, c) => a + c, 0);
    rows.push(e.map((v) => v / s));
  }
  return rows;
}
const kl = (p: number[], q: number[]) => p.reduce((s, pi, j) => s + (pi > 0 ? pi * Math.log(pi / q[j]) : 0), 0);
const refMeasures = {
  js: (p: number[], q: number[]) => {
    const m = p.map((v, j) => (v + q[j]) / 2);
    return (kl(p, m) + kl(q, m)) / 2;
  },
  tv: (p: number[], q: number[]) => p.reduce((s, v, j) => s + Math.abs(v - q[j]), 0) / 2,
  hellinger: (p: number[], q: number[]) => Math.sqrt(Math.max(0, 1 - p.reduce((s, v, j) => s + Math.sqrt(v * q[j]), 0))),
  kl,
  disagreement: (p: number[], q: number[]) => (argmax(p) === argmax(q) ? 0 : 1),
};
function argmax(r: number[]): number {
  let b = 0;
  for (let j = 1; j < r.length; j++) if (r[j] > r[b]) b = j;
  return b;
}
const close = (a: number, b: number, rel = 1e-6, abs = 1e-9) => Math.abs(a - b) <= Math.max(abs, rel * Math.abs(b));

t.test('compare matches a float64 reference end to end', async (t) => {
  const la = (await inferOutputs(aPath, xPath, noCache)).outputs.data;
  const lb = (await inferOutputs(bPath, xPath, noCache)).outputs.data;
  const P = softmaxRows(la);
  const Q = softmaxRows(lb);
  const r = await compare(aPath, bPath, { data: xPath, labels: yPath, top: 7, metrics: ['js', 'tv', 'hellinger', 'disagreement', 'kl', 'kappa'], seed: 3, ...noCache });
  t.equal(r.n, N);
  t.equal(r.k, K);
  t.equal(r.outputs, 'logits');
  t.equal(r.units, 'nats');
  t.same(r.models, [
    { path: aPath, outputName: 'y', cached: false },
    { path: bPath, outputName: 'y', cached: false },
  ]);
  t.same(r.inputConversions, []);
  const ref: Record<string, number[]> = {};
  for (const [name, f] of Object.entries(refMeasures)) {
    const v = P.map((p, i) => f(p, Q[i]));
    ref[name] = v;
    const m = r.metrics[name as 'js']!;
    const mean = v.reduce((a, c) => a + c, 0) / N;
    const sd = Math.sqrt(v.reduce((a, c) => a + (c - mean) ** 2, 0) / (N - 1));
    t.ok(close(m.mean, mean), `${name} mean ${m.mean} vs ${mean}`);
    t.ok(close(m.stderr, sd / Math.sqrt(N)), `${name} stderr = sd/sqrt(n)`);
    const sorted = [...v].sort((a, b) => a - b);
    t.ok(close(m.median, sorted[(N - 1) / 2]), `${name} median`);
    t.ok(close(m.max, sorted[N - 1]), `${name} max`);
    t.ok(m.ci95[0] <= m.mean && m.mean <= m.ci95[1], `${name} ci95 ${m.ci95} contains the mean`);
    // A percentile bootstrap interval of a mean is close to mean ± 1.96·stderr.
    if (name !== 'disagreement') t.ok(Math.abs(m.ci95[1] - m.ci95[0] - 2 * 1.96 * m.stderr) < 0.35 * 2 * 1.96 * m.stderr, `${name} ci width`);
    t.equal(m.samplesNeeded.halfWidth, 0.1 * m.mean);
    t.equal(m.samplesNeeded.n, Math.ceil(((1.96 * m.stderr * Math.sqrt(N)) / (0.1 * m.mean)) ** 2));
  }
  t.same(Object.keys(r.metrics), ['js', 'tv', 'hellinger', 'disagreement', 'kl']);

  // Top 7 by JS: indices of the 7 largest reference values.
  const order = ref.js.map((v, i) => [v, i]).sort((x, y) => y[0] - x[0]).slice(0, 7).map((x) => x[1]);
  t.same(r.top!.map((s) => s.index), order);
  for (const s of r.top!) {
    t.equal(s.labelA, argmax(P[s.index]));
    t.equal(s.labelB, argmax(Q[s.index]));
    t.ok(close(s.confidenceA, Math.max(...P[s.index]), 1e-6));
    t.ok(close(s.confidenceB, Math.max(...Q[s.index]), 1e-6));
    t.ok(close(s.value, ref.js[s.index]));
    t.equal(s.trueLabel, labels[s.index]);
  }

  // Per-class table: sums to n and counts (A's argmax, B's argmax) pairs.
  const conf = Array.from({ length: K }, () => new Array<number>(K).fill(0));
  P.forEach((p, i) => conf[argmax(p)][argmax(Q[i])]++);
  t.same(r.perClass!.confusion, conf);
  t.equal(r.perClass!.confusion.flat().reduce((a, c) => a + c, 0), N);
  r.perClass!.classes.forEach((c, i) => {
    const count = conf[i].reduce((a, v) => a + v, 0);
    t.same(c, { class: i, count, changed: count - conf[i][i], rate: count ? (count - conf[i][i]) / count : 0 });
  });

  // Accuracy and the error-aware measures.
  const okA = P.map((p, i) => argmax(p) === labels[i]);
  const okB = Q.map((q, i) => argmax(q) === labels[i]);
  const frac = (f: (i: number) => boolean) => Array.from({ length: N }, (_, i) => i).filter(f).length / N;
  const acc = r.accuracy!;
  t.equal(acc.a, frac((i) => okA[i]));
  t.equal(acc.b, frac((i) => okB[i]));
  t.equal(acc.bothWrong, frac((i) => !okA[i] && !okB[i]));
  t.equal(acc.exactlyOneWrong, frac((i) => okA[i] !== okB[i]));
  t.equal(acc.onlyAWrong, frac((i) => !okA[i] && okB[i]));
  const bw = Array.from({ length: N }, (_, i) => i).filter((i) => !okA[i] && !okB[i]);
  t.equal(acc.disagreementWhenBothWrong, bw.filter((i) => argmax(P[i]) !== argmax(Q[i])).length / bw.length);

  // Cohen's kappa from its definition.
  const la2 = P.map(argmax);
  const lb2 = Q.map(argmax);
  const po = la2.filter((v, i) => v === lb2[i]).length / N;
  let pe = 0;
  for (let c = 0; c < K; c++) pe += (la2.filter((v) => v === c).length / N) * (lb2.filter((v) => v === c).length / N);
  t.ok(close(r.kappa!, (po - pe) / (1 - pe)));
});

t.test('reproducible bootstrap; batch size changes nothing; precision; bits; no bootstrap', async (t) => {
  const base = { data: xPath, seed: 5, ...noCache };
  const one = await compare(aPath, bPath, { ...base, batchSize: N });
  const again = await compare(aPath, bPath, { ...base, batchSize: 10 });
  t.same(again.metrics, one.metrics, 'batches of 10 (157 = 15·10 + 7) give identical results to one batch');
  const other = await compare(aPath, bPath, { ...base, seed: 6 });
  t.notSame(other.metrics.js!.ci95, one.metrics.js!.ci95, 'another seed, another resample');
  t.equal(other.metrics.js!.mean, one.metrics.js!.mean);
  const prec = await compare(aPath, bPath, { ...base, precision: 0.001, metrics: ['js'] });
  const sd = prec.metrics.js!.stderr * Math.sqrt(N);
  t.same(prec.metrics.js!.samplesNeeded, { halfWidth: 0.001, n: Math.ceil(((1.96 * sd) / 0.001) ** 2) });
  const bits = await compare(aPath, bPath, { ...base, bits: true, metrics: ['js'] });
  t.equal(bits.units, 'bits');
  t.ok(close(bits.metrics.js!.mean, one.metrics.js!.mean / Math.LN2));
  const noBoot = await compare(aPath, bPath, { ...base, bootstrap: 0, metrics: ['tv'], perSample: true });
  t.ok(noBoot.metrics.tv!.ci95.every(Number.isNaN));
  t.equal(noBoot.perSample!.tv!.length, N);
  t.equal(noBoot.perClass, undefined);
  const same = await compare(aPath, aPath, { ...base, metrics: ['js', 'kl'], perClass: true });
  t.equal(same.metrics.js!.mean, 0, 'a model against itself: exactly 0');
  t.same(same.metrics.kl!.samplesNeeded, { halfWidth: 0, n: 1 });
  t.equal(same.perClass!.classes.reduce((s, c) => s + c.changed, 0), 0);
});

t.test('a float32 model against its float64 twin: tiny honest numbers, conversions reported', async (t) => {
  const b64 = gemmSoftmaxModel({ W: WA.map(Math.fround), b: bA.map(Math.fround), k: K, d: D, softmax: false, inputDtype: 'float64' });
  const r = await compare(aPath, b64, { data: xPath, batchSize: 9, metrics: ['js', 'disagreement'], ...noCache });
  t.equal(r.inputConversions.length, 1);
  t.match(r.inputConversions[0], /^<bytes>: x: float32 probe data converted to the model's float64 input$/);
  t.ok(r.metrics.js!.mean < 1e-10, `js ${r.metrics.js!.mean}`);
  t.equal(r.metrics.disagreement!.mean, 0);
});

t.test('the output cache: the second compare runs no model', async (t) => {
  const dir = path.join(tmp, 'cache');
  const first = await compare(aPath, bPath, { data: xPath, cacheDir: dir });
  t.same(first.models.map((m) => m.cached), [false, false]);
  const runs = inferenceCounters.runs;
  const second = await compare(aPath, bPath, { data: xPath, cacheDir: dir, batchSize: 13 });
  t.same(second.models.map((m) => m.cached), [true, true]);
  t.equal(inferenceCounters.runs, runs);
  t.same(second.metrics, first.metrics);
  // A third model against the same reference runs only the new model.
  const cPath = path.join(tmp, 'c.onnx');
  fs.writeFileSync(cPath, gemmSoftmaxModel({ W: WB.map((w) => -w), b: bB, k: K, d: D, softmax: false }));
  const third = await compare(aPath, cPath, { data: xPath, cacheDir: dir });
  t.same(third.models.map((m) => m.cached), [true, false]);
});

t.test('infinite KL is reported as Infinity with a hint about --epsilon', async (t) => {
  // A passes probability rows through; B shifts them one class over, so B has zeros where A does not.
  const ident = buildModel({ inputs: [{ name: 'x', shape: ['N', 3] }], outputs: [{ name: 'y', shape: ['N', 3] }], nodes: [{ op: 'Identity', inputs: ['x'], outputs: ['y'] }] });
  const shift = buildModel({
    inputs: [{ name: 'x', shape: ['N', 3] }],
    outputs: [{ name: 'y', shape: ['N', 3] }],
    initializers: [{ name: 'P', dims: [3, 3], data: [0, 1, 0, 0, 0, 1, 1, 0, 0] }],
    nodes: [{ op: 'MatMul', inputs: ['x', 'P'], outputs: ['y'] }],
  });
  const pa = path.join(tmp, 'ident.onnx');
  const pb = path.join(tmp, 'shift.onnx');
  fs.writeFileSync(pa, ident);
  fs.writeFileSync(pb, shift);
  const probs = { data: new Float32Array([0.5, 0.5, 0, 0.25, 0.25, 0.5, 1 / 3, 1 / 3, 1 / 3]), shape: [3, 3] };
  const r = await compare(pa, pb, { data: probs, metrics: ['kl', 'js'], ...noCache });
  t.equal(r.outputs, 'probs');
  t.equal(r.metrics.kl!.mean, Infinity);
  t.equal(r.metrics.kl!.max, Infinity);
  t.equal(r.metrics.kl!.stderr, Infinity);
  t.equal(r.metrics.kl!.samplesNeeded.n, Infinity);
  t.ok(Number.isFinite(r.metrics.js!.mean));
  t.equal(r.hints.length, 1);
  t.match(r.hints[0], /kl is infinite on 1 of 3 samples.*smooth with options\.epsilon 1e-9/);
  const smoothed = await compare(pa, pb, { data: probs, metrics: ['kl'], epsilon: 1e-6, ...noCache });
  t.ok(Number.isFinite(smoothed.metrics.kl!.mean));
  t.same(smoothed.hints, []);
  t.equal(smoothed.epsilon, 1e-6, 'the smoothing is reported');
  t.notOk('epsilon' in r, 'and absent when none was applied');

  // Rows that stop being probabilities after the first batch: the error names the probe-set sample.
  // (Small batches are merged into chunks of 2^15 values before the kernels, so use big ones here.)
  const rowsOk = 12000;
  const late = new Float32Array((rowsOk + 2) * 3).fill(1 / 4);
  for (let i = 0; i < rowsOk + 2; i++) late[i * 3] = 0.5;
  late[(rowsOk + 1) * 3] = 0.9; // row 12001 sums to 1.4
  const e = await errorOf(compare(pa, pb, { data: { data: late, shape: [rowsOk + 2, 3] }, outputs: 'probs', batchSize: rowsOk, ...noCache }));
  t.equal(e.code, 'INVALID_PROBS');
  t.match(e.message, /ident\.onnx, sample 12001: probabilities sum to 1\.39/);
  // Small batches are merged into chunks: the same sample is named.
  const e2 = await errorOf(compare(pa, pb, { data: { data: late, shape: [rowsOk + 2, 3] }, outputs: 'probs', batchSize: 7, ...noCache }));
  t.match(e2.message, /ident\.onnx, sample 12001: /);
  // Explicit threads take the threaded (async) kernel path, with the same numbers.
  const threaded = await compare(pa, pb, { data: probs, metrics: ['js'], threads: 2, ...noCache });
  t.equal(threaded.metrics.js!.mean, r.metrics.js!.mean);

  const npy = path.join(tmp, 'probs.npy');
  writeNpy(npy, makeTensor(probs.data, probs.shape));
  const io = captureIo();
  t.equal(await runCli(['compare', pa, pb, '--data', npy, '--metric', 'kl', '--json', '--no-cache'], io), 0);
  const doc = JSON.parse(io.out);
  t.equal(doc.metrics.kl.mean, 'Infinity');
  t.match(doc.hints[0], /--epsilon/);
  const io2 = captureIo();
  t.equal(await runCli(['compare', pa, pb, '--data', npy, '-m', 'kl,l2', '--no-cache', '--bootstrap', '0'], io2), 0);
  t.match(io2.out, /l2 +[\d.]+ /);
  t.match(io2.out, /kl +Infinity +Infinity +- /);
  t.match(io2.out, /kl +Infinity/);
  t.match(io2.out, /hint: kl is infinite/);
  t.match(io2.out, /\(no 95% CI: --bootstrap 0\)/, 'no claim of a bootstrap that did not run');
  t.notMatch(io2.out, /percentile bootstrap/);
  const io3 = captureIo();
  t.equal(await runCli(['compare', pa, pb, '--data', npy, '-m', 'kl', '--no-cache', '--epsilon', '0.001', '--json'], io3), 0);
  t.equal(JSON.parse(io3.out).epsilon, 0.001);
  const io4 = captureIo();
  t.equal(await runCli(['compare', pa, pb, '--data', npy, '-m', 'kl', '--no-cache', '--epsilon', '0.001'], io4), 0);
  t.match(io4.out, /outputs read as probs, smoothed by epsilon = 0\.001, units nats/);
});

t.test('a single probe sample: no spread, so no stderr, interval or samples-needed', async (t) => {
  const one = { data: Float32Array.from({ length: D }, (_, i) => i / D - 0.5), shape: [1, D] };
  const r = await compare(aPath, bPath, { data: one, metrics: ['js', 'tv'], ...noCache });
  t.equal(r.n, 1);
  t.ok(r.metrics.js!.mean > 0);
  for (const m of ['js', 'tv'] as const) {
    t.ok(Number.isNaN(r.metrics[m]!.stderr), `${m} stderr`);
    t.ok(r.metrics[m]!.ci95.every(Number.isNaN), `${m} ci95`);
    t.ok(Number.isNaN(r.metrics[m]!.samplesNeeded.n), `${m} samples needed`);
  }
  t.match(r.hints, [/one sample: no standard error, interval or samples-needed estimate/]);
  const two = await compare(aPath, bPath, { data: { data: new Float32Array(2 * D).fill(0.25), shape: [2, D] }, metrics: ['js'], ...noCache });
  t.ok(Number.isFinite(two.metrics.js!.stderr), 'two samples do have a spread');
});

t.test('sigmoid models (one output column)', async (t) => {
  const mk = (w: number) =>
    buildModel({
      inputs: [{ name: 'x', shape: ['N', 1] }],
      outputs: [{ name: 'y', shape: ['N', 1] }],
      initializers: [{ name: 'w', dims: [1], data: [w] }],
      nodes: [
        { op: 'Mul', inputs: ['x', 'w'], outputs: ['z'] },
        { op: 'Sigmoid', inputs: ['z'], outputs: ['y'] },
      ],
    });
  const x = { data: new Float32Array([-2, -0.1, 0.3, 3]), shape: [4, 1] };
  const r = await compare(mk(1), mk(-1), { data: x, metrics: ['disagreement', 'tv'], perClass: true, ...noCache });
  t.equal(r.outputs, 'sigmoid');
  t.equal(r.k, 1);
  t.equal(r.metrics.disagreement!.mean, 1);
  t.same(r.perClass!.confusion, [[0, 2], [2, 0]]);
  t.same(r.models.map((m) => m.path), ['<bytes>', '<bytes>']);
  const tv = [-2, -0.1, 0.3, 3].map((v) => Math.abs(1 / (1 + Math.exp(-v)) - 1 / (1 + Math.exp(v))));
  t.ok(close(r.metrics.tv!.mean, tv.reduce((a, c) => a + c, 0) / 4, 1e-6));
});

t.test('bad input: typed errors naming the file, tensor or both shapes', async (t) => {
  const three = path.join(tmp, 'three.onnx');
  fs.writeFileSync(three, gemmSoftmaxModel({ W: rand(3 * D), b: rand(3), k: 3, d: D, softmax: false }));
  const e1 = await errorOf(compare(aPath, three, { data: xPath, ...noCache }));
  t.equal(e1.code, 'SHAPE_MISMATCH');
  t.match(e1.message, /outputs disagree in shape: .*a\.onnx output "y" is \[157, 4\], .*three\.onnx output "y" is \[157, 3\]/);
  t.equal((await errorOf(compare(aPath, path.join(tmp, 'missing.onnx'), { data: xPath }))).code, 'FILE_NOT_FOUND');
  t.equal((await errorOf(compare(aPath, bPath, { data: path.join(tmp, 'missing.npy') }))).code, 'FILE_NOT_FOUND');
  const wrong = await errorOf(compare(aPath, bPath, { data: { data: new Float32Array(N * 3), shape: [N, 3] }, ...noCache }));
  t.equal(wrong.code, 'MODEL_INPUT');
  t.match(wrong.message, /expects float32 \[N, 5\], got float32 \[157, 3\]/);
  const badLabels = await errorOf(compare(aPath, bPath, { data: xPath, labels: new Array(N).fill(9), ...noCache }));
  t.match(badLabels.message, /label 9 at sample 0 is not a class of these 4-class models/);
  const top0 = await errorOf(compare(aPath, bPath, { data: xPath, top: 0 }));
  t.same([top0.code, top0.message], ['INVALID_ARGUMENT', 'options.top must be a positive integer, got 0'], 'library errors name the option, not a CLI flag');
  const seedBad = await errorOf(compare(aPath, bPath, { data: xPath, seed: -1 }));
  t.same([seedBad.code, seedBad.message], ['INVALID_ARGUMENT', 'seed must be a non-negative integer, got -1']);
  const precBad = await errorOf(compare(aPath, bPath, { data: xPath, precision: Infinity }));
  t.same([precBad.code, precBad.message], ['INVALID_ARGUMENT', 'precision (target ci95 half-width) must be a finite number > 0, got Infinity']);
  const bootBad = await errorOf(compare(aPath, bPath, { data: xPath, bootstrap: 0.5 }));
  t.same([bootBad.code, bootBad.message], ['INVALID_ARGUMENT', 'bootstrap must be an integer in [0, 100000000], got 0.5']);
  const topBad = await errorOf(compare(aPath, bPath, { data: xPath, top: 2, metrics: ['kappa'], ...noCache }));
  t.same([topBad.code, topBad.option], ['INVALID_ARGUMENT', 'top']);
  t.match(topBad.message, /^options\.top ranks samples by the first of options\.metrics; give at least one per-sample metric$/);
  // ... found before any model is opened or run (the first model here does not exist).
  t.match((await errorOf(compare(path.join(tmp, 'missing.onnx'), bPath, { data: xPath, top: 2, metrics: ['kappa'], ...noCache }))).message, /^options\.top ranks samples by the first of options\.metrics; give at least one per-sample metric$/);
  const kOnly = await compare(aPath, bPath, { data: xPath, metrics: ['kappa'], ...noCache });
  t.same(kOnly.metrics, {});
  t.type(kOnly.kappa, 'number');
  // Probabilities that are not on the simplex, declared as probs: the kernels' error, with the sample offset.
  const e2 = await errorOf(compare(aPath, bPath, { data: xPath, outputs: 'probs', batchSize: 50, ...noCache }));
  t.equal(e2.code, 'INVALID_PROBS');
});

t.test('CLI: JSON equals the library result; table; flags; one-line errors', async (t) => {
  const dir = path.join(tmp, 'cli-cache');
  const io = captureIo();
  const code = await runCli(['compare', aPath, bPath, '--data', xPath, '--labels', yPath, '--top', '3', '--metric', 'js,tv', '-m', 'kappa', '--seed', '2', '--bootstrap', '200', '--cache-dir', dir, '--json'], io);
  t.equal(code, 0, io.err);
  const doc = JSON.parse(io.out);
  const lib = await compare(aPath, bPath, { data: xPath, labels: yPath, top: 3, metrics: ['js', 'tv', 'kappa'], seed: 2, bootstrap: 200, cacheDir: dir });
  t.same(doc.metrics, JSON.parse(JSON.stringify(lib.metrics)));
  t.same(Object.keys(doc), ['models', 'n', 'k', 'outputs', 'units', 'metrics', 'inputConversions', 'bootstrap', 'hints', 'warnings', 'kappa', 'accuracy', 'top', 'perClass']);
  t.equal(doc.top.length, 3);
  t.equal(doc.n, N);

  const table = captureIo();
  t.equal(await runCli(['compare', aPath, bPath, '-d', xPath, '--labels', yPath, '--top', '2', '-m', 'js,kappa', '--cache-dir', dir], table), 0);
  t.match(table.out, /modeldiff compare: .*a\.onnx vs .*b\.onnx/);
  t.match(table.out, /157 samples, 4 classes, outputs read as logits, units nats \(cached outputs: /);
  t.match(table.out, /js +[\d.e-]+ +[\d.e-]+ +\[[\d.e-]+, [\d.e-]+\]/);
  t.match(table.out, /Cohen's kappa/);
  t.match(table.out, /accuracy: A [\d.]+%, B [\d.]+%/);
  t.match(table.out, /top 2 samples by js/);
  t.match(table.out, /A's label \(rows\) vs B's label \(columns\)/);

  // Two-input model, inputs named on the command line; float64 data is converted and reported.
  const two = buildModel({
    inputs: [
      { name: 'u', shape: ['N', 2] },
      { name: 'v', shape: ['N', 2] },
    ],
    outputs: [{ name: 'y', shape: ['N', 2] }],
    nodes: [{ op: 'Mul', inputs: ['u', 'v'], outputs: ['y'] }],
  });
  const twoPath = path.join(tmp, 'two.onnx');
  fs.writeFileSync(twoPath, two);
  const uPath = path.join(tmp, 'u.npy');
  writeNpy(uPath, makeTensor(new Float64Array([1, 2, 3, 4]), [2, 2]));
  const multi = captureIo();
  t.equal(await runCli(['compare', twoPath, twoPath, '--data', `u=${uPath}`, '--data', `v=${uPath}`, '--no-cache', '--json', '-q'], multi), 0, multi.err);
  const md = JSON.parse(multi.out);
  t.equal(md.metrics.js.mean, 0);
  t.equal(md.inputConversions.length, 4);
  t.match(md.inputConversions[0], /u: float64 probe data converted to the model's float32 input/);

  // --cost: with a 0/1 cost matrix the exact EMD equals total variation.
  const costPath = path.join(tmp, 'cost.npy');
  writeNpy(costPath, makeTensor(Float64Array.from({ length: K * K }, (_, i) => (Math.floor(i / K) === i % K ? 0 : 1)), [K, K]));
  const ce = captureIo();
  t.equal(await runCli(['compare', aPath, bPath, '--data', xPath, '-m', 'emd-cost,tv', '--cost', costPath, '--json', '--cache-dir', dir], ce), 0, ce.err);
  const cd = JSON.parse(ce.out);
  t.ok(close(cd.metrics['emd-cost'].mean, cd.metrics.tv.mean, 1e-6), 'emd with 0/1 costs = tv');
  // A cost matrix of the wrong size is refused in one line naming its file.
  const badCost = path.join(tmp, 'cost-small.npy');
  writeNpy(badCost, makeTensor(new Float64Array((K - 1) * (K - 1)), [K - 1, K - 1]));
  const be = captureIo();
  t.equal(await runCli(['compare', aPath, bPath, '--data', xPath, '-m', 'emd-cost', '--cost', badCost, '--cache-dir', dir], be), 1);
  t.match(be.err, new RegExp(`cost-small\\.npy: the cost matrix must be ${K} × ${K}`));
  t.equal(be.err.trim().split('\n').length, 1);

  // --save-per-sample writes one float64 array per metric; refuses to overwrite without --force.
  const psPath = path.join(tmp, 'per-sample.npz');
  const ps = captureIo();
  t.equal(await runCli(['compare', aPath, bPath, '--data', xPath, '-m', 'js,tv', '--save-per-sample', psPath, '--json', '--cache-dir', dir], ps), 0, ps.err);
  const saved = readNpz(psPath);
  t.same(Object.keys(saved), ['js', 'tv']);
  t.same(saved.js.shape, [N]);
  t.equal(saved.js.dtype, 'float64');
  const psDoc = JSON.parse(ps.out);
  t.equal(psDoc.perSample, undefined);
  const jsMean = Array.from(saved.js.data as Float64Array).reduce((a, c) => a + c, 0) / N;
  t.ok(close(jsMean, psDoc.metrics.js.mean, 1e-12));
  const again = captureIo();
  t.equal(await runCli(['compare', aPath, bPath, '--data', xPath, '--save-per-sample', psPath, '--cache-dir', dir], again), 1);
  t.match(again.err, /already exists; --force overwrites it$/m);
  // ... refused before any model is run (this first model does not exist).
  const early = captureIo();
  t.equal(await runCli(['compare', path.join(tmp, 'missing.onnx'), bPath, '--data', xPath, '--save-per-sample', psPath, '--cache-dir', dir], early), 1);
  t.match(early.err, /already exists; --force overwrites it$/m);
  t.equal(await runCli(['compare', aPath, bPath, '--data', xPath, '-m', 'kl', '--save-per-sample', psPath, '--force', '--cache-dir', dir], captureIo()), 0);
  t.same(Object.keys(readNpz(psPath)), ['kl']);

  // --no-cache writes nothing; an unwritable cache folder warns and carries on.
  const none = path.join(tmp, 'no-cache-dir');
  t.equal(await runCli(['compare', aPath, bPath, '--data', xPath, '--no-cache', '--cache-dir', none], captureIo()), 0);
  t.notOk(fs.existsSync(none));
  const blocker = path.join(tmp, 'blocker');
  fs.writeFileSync(blocker, '');
  const ro = captureIo();
  t.equal(await runCli(['compare', aPath, bPath, '--data', xPath, '--cache-dir', path.join(blocker, 'c'), '--json'], ro), 0);
  t.match(ro.err, /^modeldiff: warning: output cache disabled for this run: cannot write to /);
  t.equal(ro.err.trim().split('\n').length, 1, 'one warning even though both models fail to cache');
  t.equal(JSON.parse(ro.out).warnings.length, 1);

  // Errors: one line on stderr, exit 1 (input) or 2 (usage).
  const junk = path.join(tmp, 'junk.onnx');
  fs.writeFileSync(junk, 'not onnx');
  const notNpy = path.join(tmp, 'not.npy');
  fs.writeFileSync(notNpy, 'hello');
  const trunc = path.join(tmp, 'trunc.npy');
  fs.writeFileSync(trunc, fs.readFileSync(xPath).subarray(0, 300));
  const nanModel = path.join(tmp, 'nan.onnx');
  fs.writeFileSync(nanModel, buildModel({ inputs: [{ name: 'x', shape: ['N', D] }], outputs: [{ name: 'y', shape: ['N', D] }], nodes: [{ op: 'Log', inputs: ['x'], outputs: ['y'] }] }));
  const cases: Array<[string[], number, RegExp]> = [
    [['compare', aPath, path.join(tmp, 'nope.onnx'), '--data', xPath], 1, /nope\.onnx: no such ONNX model file/],
    [['compare', aPath, junk, '--data', xPath, '--no-cache'], 1, /junk\.onnx: not a valid ONNX model/],
    [['compare', aPath, bPath, '--data', notNpy], 1, /not\.npy: not a \.npy file/],
    [['compare', aPath, bPath, '--data', trunc], 1, /trunc\.npy: truncated data/],
    [['compare', aPath, bPath, '--data', uPath, '--no-cache'], 1, /expects float32 \[N, 5\], got float64 \[2, 2\]/],
    [['compare', aPath, nanModel, '--data', xPath, '--no-cache'], 1, /nan\.onnx: output "y" is NaN at sample \d+/],
    [['compare', aPath, bPath], 2, /needs probe data/],
    [['compare', aPath, bPath, '--data', xPath, '--top', 'x'], 2, /--top must be a positive integer, got "x"/],
    [['compare', aPath, bPath, '--data', xPath, '--metric', 'bogus'], 2, /unknown metric "bogus"/],
    [['compare', aPath, bPath, '--data', xPath, '--outputs', 'bogus'], 2, /invalid/],
    [['compare', aPath, bPath, '--data', xPath, '--bootstrap', '-1'], 2, /--bootstrap must be an integer from 0 to 100000000, got "-1"/],
    [['compare', aPath, bPath, '--data', xPath, '--bootstrap', '1000000000', '--no-cache'], 2, /--bootstrap must be an integer from 0 to 100000000, got "1000000000"/],
    [['compare', aPath, bPath, '--data', xPath, '--epsilon', '-0.5'], 2, /--epsilon must be a non-negative number, got "-0.5"/],
    [['compare', aPath, bPath, '--data', xPath, '--metric', 'js,emd-cost'], 2, /--metric emd-cost needs --cost/],
    [['compare', aPath, bPath, '--data', xPath, '--data', uPath], 2, /several unnamed --data/],
  ];
  for (const [argv, exit, re] of cases) {
    const e = captureIo();
    t.equal(await runCli(argv, e), exit, argv.slice(3).join(' '));
    t.match(e.err, re);
    t.equal(e.err.trim().split('\n').length, 1, 'one line');
  }
});

t.test('--data parsing and the progress bar', async (t) => {
  t.equal(parseDataSpecs(['probe.npy']), 'probe.npy');
  t.same(parseDataSpecs(['x=a.npy', 'mask=b.npy']), { x: 'a.npy', mask: 'b.npy' });
  t.equal(parseDataSpecs(['dir/with=sign.npy']), 'dir/with=sign.npy');
  t.throws(() => parseDataSpecs(['x=a.npy', 'x=b.npy']), /given twice/);
  t.throws(() => parseDataSpecs(['x=a.npy', 'b.npy']), /mix of named and unnamed/);

  let clock = 0;
  let out = '';
  const bar = createProgress({ write: (s) => (out += s), isTTY: true }, 'inference', { now: () => clock });
  bar.update(10, 100);
  t.equal(out, '', 'nothing in the first second');
  clock = 1500;
  bar.update(20, 100);
  t.match(out, /inference \[.*\] 20% \| 20\/100 samples/);
  bar.update(60, 100);
  bar.stop();
  let quiet = '';
  const q = createProgress({ write: (s) => (quiet += s), isTTY: true, quiet: true }, 'x', { now: () => 5000 });
  q.update(1, 2);
  q.stop();
  const notTty = createProgress({ write: (s) => (quiet += s), isTTY: false }, 'x');
  notTty.update(1, 2);
  notTty.stop();
  t.equal(quiet, '');
  const fast = createProgress({ write: (s) => (quiet += s), isTTY: true }, 'x', { now: () => (clock += 5000) });
  fast.update(2, 2); // already finished: no bar
  t.equal(quiet, '');
  // lib/many's per-stage bars draw through the same bar helper.
  let staged = '';
  const stages = stageProgress({ write: (s) => (staged += s), isTTY: true });
  stages.update('inference', 1, 4);
  t.match(staged, /inference  \[.*\] 25% \| 1\/4 models/);
  stages.update('distances', 2, 6);
  t.match(staged, /distances  \[.*\] 33% \| 2\/6 pairs/);
  stages.stop();
});

t.test('compare on 5,000 samples streams from the file and the cache: bounded reads, bit-identical per-sample values', async (t) => {
  const n = 5000;
  const batch = 64;
  const Xb = new Float32Array(n * D).map(() => rng.normal());
  const big = path.join(tmp, 'big.npy');
  writeNpy(big, makeTensor(Xb, [n, D]));
  const yb = Int32Array.from({ length: n }, () => rng.int(K));
  const metrics: Array<'js' | 'tv' | 'kl'> = ['js', 'tv', 'kl'];
  const base = { batchSize: batch, metrics, labels: yb, top: 5, bootstrap: 50, seed: 2, perSample: true };
  // The whole-array path: the probe in memory, no cache.
  const ref = await compare(aPath, bPath, { ...base, data: { data: Xb, shape: [n, D] }, cache: false });
  const cacheDir = path.join(tmp, 'big-cache');
  const rowBytes = D * 4;
  const reset = () => {
    Object.assign(npyReadCounters, { rowReads: 0, maxRowReadBytes: 0, hashReads: 0, maxHashReadBytes: 0 });
    Object.assign(cacheReadCounters, { batchReads: 0, maxBatchReadBytes: 0, verifyReads: 0, maxVerifyReadBytes: 0 });
  };
  const same = (r: Awaited<ReturnType<typeof compare>>, what: string) => {
    for (const m of metrics) {
      t.same(Buffer.from(r.perSample![m]!.buffer), Buffer.from(ref.perSample![m]!.buffer), `${what}: ${m} per sample, bit for bit`);
      t.same(r.metrics[m], ref.metrics[m], `${what}: ${m} summary`);
    }
    t.same(r.top, ref.top, `${what}: top`);
    t.same(r.accuracy, ref.accuracy, `${what}: accuracy`);
  };

  reset();
  const miss = await compare(aPath, bPath, { ...base, data: big, cacheDir });
  t.same(miss.models.map((m) => m.cached), [false, false]);
  same(miss, 'streamed from the file');
  // Each model reads every batch of rows once; no read is larger than one batch.
  t.equal(npyReadCounters.rowReads, 2 * Math.ceil(n / batch));
  t.equal(npyReadCounters.maxRowReadBytes, batch * rowBytes, `largest probe read ${npyReadCounters.maxRowReadBytes} B = ${batch} rows × ${rowBytes} B`);
  t.ok(npyReadCounters.maxHashReadBytes <= HASH_CHUNK_BYTES && npyReadCounters.hashReads === Math.ceil((n * rowBytes) / HASH_CHUNK_BYTES), 'file hashed once, in chunks');

  reset();
  const runs = inferenceCounters.runs;
  const hit = await compare(aPath, bPath, { ...base, data: big, cacheDir });
  t.same(hit.models.map((m) => m.cached), [true, true]);
  t.equal(inferenceCounters.runs, runs);
  same(hit, 'streamed from the cache');
  t.equal(npyReadCounters.rowReads, 0);
  t.equal(cacheReadCounters.batchReads, 2 * Math.ceil(n / batch));
  t.equal(cacheReadCounters.maxBatchReadBytes, batch * K * 4, 'largest cache read = one batch of outputs');
  t.ok(cacheReadCounters.maxVerifyReadBytes <= VERIFY_CHUNK_BYTES);
});
