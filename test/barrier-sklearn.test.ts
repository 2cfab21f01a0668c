// barrier on scikit-learn LogisticRegression exports in skl2onnx's layout (test/fixtures/arch:
// weights in LinearClassifier attributes, integer labels first, ZipMap on and off): the path
// interpolates the coefficients and intercepts, reads the probabilities, and its loss equals
// the softmax of the interpolated coefficients computed here.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import t from 'tap';

import { runCli } from '../lib/cli/main';
import { writeNpy } from '../lib/io/npy';
import { graphOf, readOnnx } from '../lib/io/onnx';
import { loadProbe } from '../lib/io/probe';
import { lossBarrier } from '../lib/path/barrier';
import { interpolatedModel, planInterpolation } from '../lib/path/interpolate';
import { captureIo } from './helpers/capture-io';

const arch = path.join(__dirname, 'fixtures', 'arch');
const f = (name: string) => path.join(arch, name);
const probePath = f('probe-tabular.npz');
const probe = loadProbe(probePath);
const X = Array.from(probe.inputs[Object.keys(probe.inputs)[0]].data as Float32Array);
const [n, d] = probe.inputs[Object.keys(probe.inputs)[0]].shape;
const labels = Int32Array.from({ length: n }, (_, i) => (i * 2) % 3);

/** The LinearClassifier's coefficients [classes × features] and intercepts, read here. */
function linear(file: string): { W: number[]; b: number[] } {
  const node = graphOf(readOnnx(file)).node.find((x) => x.opType === 'LinearClassifier')!;
  const at = (name: string) => (node.attribute ?? []).find((a) => a.name === name)!.floats!.map(Number);
  const post = Buffer.from((node.attribute ?? []).find((a) => a.name === 'post_transform')!.s!).toString();
  if (post !== 'SOFTMAX') throw new Error(`fixture changed: post_transform ${post}`);
  return { W: at('coefficients'), b: at('intercepts') };
}

/** Mean cross-entropy of softmax(x·Wᵀ + b) at θ(α), in float64, weights rounded to float32 as stored. */
function referenceLoss(a: { W: number[]; b: number[] }, b: { W: number[]; b: number[] }, alpha: number): number {
  const mix = (x: number[], y: number[]) => x.map((v, i) => Math.fround(alpha === 0 ? v : alpha === 1 ? y[i] : (1 - alpha) * v + alpha * y[i]));
  const W = mix(a.W, b.W);
  const bias = mix(a.b, b.b);
  const k = bias.length;
  let total = 0;
  for (let s = 0; s < n; s++) {
    const z = bias.map((c, j) => c + X.slice(s * d, (s + 1) * d).reduce((acc, x, i) => acc + x * W[j * d + i], 0));
    const max = Math.max(...z);
    total += max + Math.log(z.reduce((acc, v) => acc + Math.exp(v - max), 0)) - z[labels[s]];
  }
  return total / n;
}

t.test('LogisticRegression: coefficients and intercepts are interpolated; loss = the softmax reference', async (t) => {
  const a = linear(f('sklearn_logreg-nozipmap-s0.onnx'));
  const b = linear(f('sklearn_logreg-nozipmap-s1.onnx'));
  t.ok(a.W.some((v, i) => v !== b.W[i]), 'two different fits');
  const curves: number[][] = [];
  for (const zip of ['nozipmap', 'zipmap']) {
    const r = await lossBarrier(f(`sklearn_logreg-${zip}-s0.onnx`), f(`sklearn_logreg-${zip}-s1.onnx`), { data: probePath, labels, steps: 5 });
    t.equal(r.outputs, 'probs', zip);
    t.equal(r.output, zip === 'zipmap' ? 'output_probability' : 'probabilities', `${zip}: the probabilities, not the integer labels`);
    r.naive.alphas.forEach((alpha, i) => {
      const want = referenceLoss(a, b, alpha);
      t.ok(Math.abs(r.naive.loss[i] - want) < 1e-5 * want, `${zip} α=${alpha}: ${r.naive.loss[i]} vs ${want}`);
    });
    curves.push(r.naive.loss);
  }
  t.same(curves[0], curves[1], 'ZipMap or not, the same curve');
  // The plan counts attribute weights; α = 0 and 1 store each endpoint's exact values.
  const plan = planInterpolation(f('sklearn_logreg-nozipmap-s0.onnx'), f('sklearn_logreg-nozipmap-s1.onnx'));
  t.equal(plan.parameters, a.W.length + a.b.length);
  const atOne = graphOf(readOnnx(interpolatedModel(plan, 1))).node[0].attribute!.find((x) => x.name === 'coefficients')!.floats;
  t.same(atOne, linear(f('sklearn_logreg-nozipmap-s1.onnx')).W);
  t.same(linear(f('sklearn_logreg-nozipmap-s0.onnx')).W, a.W, 'the plan leaves model A as it was');
});

t.test('LogisticRegression: --align weights runs (no hidden units: B kept as is); a model with itself is flat', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'barrier-sklearn-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const y = path.join(dir, 'y.npy');
  writeNpy(y, { dtype: 'int32', shape: [n], data: labels });
  const io = captureIo();
  const a = f('sklearn_logreg-zipmap-s0.onnx');
  t.equal(await runCli(['barrier', a, f('sklearn_logreg-zipmap-s1.onnx'), '--data', probePath, '--labels', y, '--steps', '3', '--align', 'weights', '--json'], io), 0, io.err);
  const r = JSON.parse(io.out) as { naive: { loss: number[] }; aligned: { loss: number[]; alignment: { kept: string } } };
  t.same(r.aligned.loss, r.naive.loss);
  t.equal(r.aligned.alignment.kept, 'identity');
  // Per-token targets are for sequence outputs; this model has one row per sample.
  const perToken = path.join(dir, 'tokens.npy');
  writeNpy(perToken, { dtype: 'int32', shape: [n, 2], data: new Int32Array(2 * n) });
  await t.rejects(lossBarrier(a, a, { data: probePath, labels: perToken, steps: 2 }), {
    code: 'INVALID_ARGUMENT',
    option: 'labels',
    message: /^options\.labels: per-token targets apply to sequence outputs .* has one row per sample, \[8, 3\]$/,
  });
  const self = await lossBarrier(a, a, { data: probePath, labels, steps: 3 });
  t.equal(self.naive.lossBarrier, 0);
  t.ok(self.naive.loss.every((v) => v === self.naive.loss[0]));
});

t.test('a LinearClassifier with a different number of coefficients is a different architecture', async (t) => {
  const other = readOnnx(f('sklearn_logreg-nozipmap-s1.onnx'));
  const attr = graphOf(other).node[0].attribute!.find((x) => x.name === 'coefficients')!;
  attr.floats = attr.floats!.slice(0, 12);
  t.throws(() => planInterpolation(f('sklearn_logreg-nozipmap-s0.onnx'), other), { code: 'ARCHITECTURE_MISMATCH', message: /node 0 differs/ });
  const inf = readOnnx(f('sklearn_logreg-nozipmap-s1.onnx'));
  graphOf(inf).node[0].attribute!.find((x) => x.name === 'intercepts')!.floats![1] = Infinity;
  t.throws(() => planInterpolation(f('sklearn_logreg-nozipmap-s0.onnx'), inf), { code: 'NON_FINITE', message: /attribute intercepts of .*: non-finite weight at flat index 1$/ });
});
