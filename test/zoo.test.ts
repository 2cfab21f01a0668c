/**
 * The real commands on the real zoo (PyTorch-trained, torch.onnx.export-ed
 * digit classifiers), in-process with --json. The functional numbers are
 * checked against a float64 Jensen-Shannon reference computed here from the
 * models' logits (onnxruntime directly), the weight numbers against the
 * zoo's construction (the permuted copy is the same network).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import t from 'tap';
import * as ort from 'onnxruntime-node';

import { runCli } from '../lib/cli/main';
import { loadZoo } from '../lib/demo/zoo';
import { readNpy } from '../lib/io/npy';
import { captureIo } from './helpers/capture-io';

const zoo = loadZoo();
const Z = (f: string) => zoo.path(f);
const X = Z('probe_x.npy');
const Y = Z('probe_y.npy');
const accuracyOf = (file: string) => zoo.manifest.models.find((m) => m.file === file)!.test_accuracy;

async function cliJson(args: string[]): Promise<any> {
  const io = captureIo();
  const code = await runCli(args, io);
  if (code !== 0) throw new Error(`modeldiff ${args.join(' ')} exited ${code}: ${io.err}`);
  return JSON.parse(io.out);
}

/** Per-sample JS divergence (nats) of two logit matrices, float64, straight from the definition. */
function jsReference(a: Float32Array, b: Float32Array, k: number): number[] {
  const softmax = (row: Float32Array): number[] => {
    const m = Math.max(...row);
    const e = Array.from(row, (v) => Math.exp(v - m));
    const s = e.reduce((x, y) => x + y, 0);
    return e.map((v) => v / s);
  };
  const out: number[] = [];
  for (let i = 0; i < a.length / k; i++) {
    const p = softmax(a.subarray(i * k, (i + 1) * k));
    const q = softmax(b.subarray(i * k, (i + 1) * k));
    let js = 0;
    for (let c = 0; c < k; c++) {
      const m = (p[c] + q[c]) / 2;
      if (p[c] > 0) js += 0.5 * p[c] * Math.log(p[c] / m);
      if (q[c] > 0) js += 0.5 * q[c] * Math.log(q[c] / m);
    }
    out.push(js);
  }
  return out;
}

async function logits(file: string, probe = X): Promise<Float32Array> {
  const s = await ort.InferenceSession.create(path.isAbsolute(file) ? file : Z(file));
  const x = readNpy(probe);
  const r = await s.run({ x: new ort.Tensor('float32', x.data as Float32Array, x.shape) });
  return r.logits.data as Float32Array;
}

const close = (a: number, b: number, rel = 1e-6, abs = 1e-9) => Math.abs(a - b) <= Math.max(abs, rel * Math.abs(b));

t.test('compare two seeds: JS matches a float64 reference, CI is sane, accuracies match the manifest', async (t) => {
  const a = 'mlp_relu_seed0.onnx';
  const b = 'mlp_relu_seed1.onnx';
  const r = await cliJson(['compare', Z(a), Z(b), '--data', X, '--labels', Y, '--json', '--no-cache', '--metric', 'js,tv,disagreement']);
  t.equal(r.n, 450);
  t.equal(r.k, 10);
  t.equal(r.outputs, 'logits', 'auto reads the zoo outputs as logits');
  const ref = jsReference(await logits(a), await logits(b), 10);
  const mean = ref.reduce((s, v) => s + v, 0) / ref.length;
  const js = r.metrics.js;
  t.ok(close(js.mean, mean), `JS ${js.mean} vs reference ${mean}`);
  t.ok(close(js.max, Math.max(...ref)), 'max per-sample JS');
  t.ok(js.mean > 1e-4, 'two seeds are different functions');
  t.ok(js.ci95[0] > 0 && js.ci95[0] < js.mean && js.mean < js.ci95[1], `CI ${js.ci95} brackets the mean`);
  const sd = Math.sqrt(ref.reduce((s, v) => s + (v - mean) ** 2, 0) / (ref.length - 1));
  t.ok(close(js.stderr, sd / Math.sqrt(ref.length), 1e-6), 'stderr = sd/sqrt(n)');
  t.ok(js.ci95[1] - js.ci95[0] < 8 * js.stderr && js.ci95[1] - js.ci95[0] > 2 * js.stderr, 'CI width ≈ 4 stderr');
  t.ok(close(r.accuracy.a, accuracyOf(a), 0, 1e-5), `accuracy A ${r.accuracy.a}`);
  t.ok(close(r.accuracy.b, accuracyOf(b), 0, 1e-5), `accuracy B ${r.accuracy.b}`);
  t.ok(r.metrics.disagreement.mean > 0 && r.metrics.disagreement.mean < 0.1);
});

t.test('compare the permuted copy: the same function within float32 noise', async (t) => {
  const r = await cliJson(['compare', Z('mlp_relu_seed1.onnx'), Z('mlp_relu_seed1_permuted.onnx'), '--data', X, '--json', '--no-cache']);
  t.ok(r.metrics.js.mean < 1e-9, `JS ${r.metrics.js.mean}`);
  t.ok(r.metrics.tv.max < 1e-5, `max TV ${r.metrics.tv.max}`);
  t.equal(r.metrics.disagreement.mean, 0, 'no sample changes its predicted class');
});

t.test('weights on the permuted copy: canonical and aligned ≈ 0 while raw is large', async (t) => {
  const r = await cliJson(['weights', Z('mlp_relu_seed1.onnx'), Z('mlp_relu_seed1_permuted.onnx'), '--json']);
  t.ok(r.raw.relative > 0.5, `raw relative ${r.raw.relative}`);
  t.ok(r.canonical.relative < 1e-5, `canonical relative ${r.canonical.relative}`);
  t.ok(r.aligned.relative < 1e-5, `aligned relative ${r.aligned.relative}`);
  t.ok(r.aligned.cosine > 1 - 1e-9);
});

t.test('weights on the other symmetry groups and the perturbed run: alignment never makes it worse', async (t) => {
  for (const [a, b] of [
    ['mlp_tanh_seed0.onnx', 'mlp_tanh_seed1.onnx'],
    ['cnn_seed0.onnx', 'cnn_seed1.onnx'],
    ['mlp_relu_seed0.onnx', 'mlp_relu_seed0_perturbed.onnx'],
  ]) {
    const r = await cliJson(['weights', Z(a), Z(b), '--json']);
    // Aligned distances live in the scale-normalized frame; alignment never
    // makes them worse than not aligning in that frame, and in relative terms
    // they stay comparable with raw.
    t.ok(r.aligned.l2 <= r.alignment.unaligned.l2 * (1 + 1e-9), `${a} vs ${b}: aligned ${r.aligned.l2} <= unaligned ${r.alignment.unaligned.l2}`);
    t.ok(r.aligned.relative < 1.25 * r.raw.relative, `${a} vs ${b}: aligned relative ${r.aligned.relative} vs raw ${r.raw.relative}`);
    t.ok(r.aligned.relative > 0.05, `${a} vs ${b} are really different networks`);
  }
  // The sorting baseline's instability on real weights: a perturbed-and-retrained
  // copy canonicalizes *farther* from its parent than the raw weights are.
  const p = await cliJson(['weights', Z('mlp_relu_seed0.onnx'), Z('mlp_relu_seed0_perturbed.onnx'), '--json']);
  t.ok(p.canonical.l2 > p.raw.l2, `canonical ${p.canonical.l2} > raw ${p.raw.l2}`);
});

t.test('rewritten real models compute the same function: aligned CNN, canonical tanh MLP', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'modeldiff-zoo-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const cases: Array<[string, string, string, string]> = [
    ['cnn_seed0.onnx', 'cnn_seed1.onnx', '--write-aligned', Z('probe_x_img.npy')],
    ['mlp_tanh_seed0.onnx', 'mlp_tanh_seed1.onnx', '--write-canonical', X],
  ];
  for (const [a, b, flag, probe] of cases) {
    const out = path.join(dir, `${b}${flag}.onnx`);
    await cliJson(['weights', Z(a), Z(b), flag, out, '--json']);
    const before = await logits(b, probe);
    const after = await logits(out, probe);
    let worst = 0;
    for (let i = 0; i < before.length; i++) worst = Math.max(worst, Math.abs(after[i] - before[i]) / Math.max(1, Math.abs(before[i])));
    t.ok(worst < 1e-4, `${b} ${flag}: max output change ${worst}`);
    t.notOk(fs.readFileSync(out).equals(fs.readFileSync(Z(b))), 'the weights were rewritten');
  }
});

t.test('barrier: a network and its permuted copy are separated on the naive path, one point after alignment', async (t) => {
  const r = await cliJson([
    'barrier', Z('mlp_relu_seed1.onnx'), Z('mlp_relu_seed1_permuted.onnx'),
    '--data', X, '--labels', Y, '--align', 'weights', '--steps', '5', '--json',
  ]);
  // endpoint loss = mean cross-entropy of seed 1, computed here in float64 from its logits
  const l = await logits('mlp_relu_seed1.onnx');
  const y = readNpy(Y).data as BigInt64Array;
  let ce = 0;
  for (let i = 0; i < y.length; i++) {
    const row = Array.from(l.subarray(i * 10, i * 10 + 10));
    const m = Math.max(...row);
    ce += m + Math.log(row.reduce((s, v) => s + Math.exp(v - m), 0)) - row[Number(y[i])];
  }
  ce /= y.length;
  t.ok(close(r.naive.loss[0], ce, 1e-6), `loss at α = 0: ${r.naive.loss[0]} vs ${ce}`);
  t.ok(close(r.naive.loss[4], ce, 1e-5), 'the copy has the same loss');
  t.ok(r.naive.lossBarrier > 1 && r.naive.errorBarrier > 0.5, `naive barrier ${r.naive.lossBarrier} nats, error ${r.naive.errorBarrier}`);
  for (const v of r.aligned.loss) t.ok(close(v, ce, 1e-5), `aligned path stays at the endpoint loss (${v})`);
  t.equal(r.aligned.errorBarrier, 0);
});

t.test('matrix over the ReLU MLPs: symmetric JS, zero diagonal, the copy at ≈ 0 on every view but raw', async (t) => {
  const files = [0, 1, 2, 3].map((s) => `mlp_relu_seed${s}.onnx`).concat('mlp_relu_seed1_permuted.onnx');
  const r = await cliJson(['matrix', ...files.map(Z), '--data', X, '--json', '--no-cache', '-q']);
  t.same(r.models, files);
  const f: number[][] = r.functional;
  for (let i = 0; i < 5; i++) {
    t.equal(f[i][i], 0);
    for (let j = 0; j < 5; j++) t.ok(close(f[i][j], f[j][i], 1e-12, 1e-15), 'JS is symmetric');
  }
  t.ok(f[1][4] < 1e-9, 'seed1 vs its permuted copy');
  for (const j of [0, 2, 3]) t.ok(f[1][j] > 1e-4, `seed1 vs seed${j}`);
  // entry (0,1) equals the compare JS (same measure, same probe)
  const ref = jsReference(await logits(files[0]), await logits(files[1]), 10);
  t.ok(close(f[0][1], ref.reduce((s, v) => s + v, 0) / ref.length), 'matrix entry = reference JS');
  t.ok(r.weights.raw[1][4] > 10, 'raw L2 of the copy is large');
  t.ok(r.weights.canonical[1][4] < 1e-4 && r.weights.aligned[1][4] < 1e-4, 'canonical/aligned L2 of the copy ≈ 0');
});

t.test('study on the zoo: the copy is the same solution, accuracies and counts are consistent', async (t) => {
  const files = ['mlp_relu_seed0.onnx', 'mlp_relu_seed1.onnx', 'mlp_relu_seed1_permuted.onnx', 'mlp_relu_seed2.onnx', 'mlp_tanh_seed0.onnx'];
  const r = await cliJson(['study', ...files.map(Z), '--data', X, '--labels', Y, '--json', '--no-cache', '-q', '--permutations', '99']);
  t.same(r.models, files);
  files.forEach((f, i) => t.ok(close(r.accuracy[i], accuracyOf(f), 0, 1e-5), `accuracy of ${f}`));
  t.equal(r.clustering.labels[1], r.clustering.labels[2], 'seed1 and its permuted copy are one solution');
  t.equal(r.solutions.observed, r.clustering.clusters.length);
  t.ok(r.solutions.estimate >= r.solutions.observed);
  t.ok(r.threshold.value > 0 && r.threshold.value < r.functional[0][3], 'noise threshold is below a seed-to-seed distance');
  t.match(r.weights.skipped ?? '', /./, 'weights are skipped: the tanh MLP has another architecture');
});
