/**
 * Which output is compared, and what the error says when two models' first outputs are read
 * differently. The case that once gave a silent wrong number: model a's outputs are
 * (probs, logits), model b's only logits; the old hint said to force one reading on both
 * ('--outputs logits'), which read a's probabilities as logits (JS 0.386 for one function).
 * The hint now points at picking the same output by name, and the true value (0) is reached.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import t from 'tap';

import { runCli } from '../lib/cli/main';
import { ModeldiffError } from '../lib/errors';
import { compare } from '../lib/function/compare';
import { writeNpy } from '../lib/io/npy';
import { makeTensor } from '../lib/io/tensor';
import { createRng } from '../lib/util/rng';
import { captureIo } from './helpers/capture-io';
import { buildModel, gemmSoftmaxModel } from './helpers/onnx-builder';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'modeldiff-output-choice-'));
t.teardown(() => fs.rmSync(tmp, { recursive: true, force: true }));

const rng = createRng(5);
const K = 4;
const D = 3;
const N = 40;
const W = Array.from({ length: K * D }, () => rng.normal());
const b = Array.from({ length: K }, () => rng.normal() * 0.3);

/** probs first, logits second: one Gemm, its logits and their softmax. */
const twoOutputs = buildModel({
  inputs: [{ name: 'x', dtype: 'float32', shape: ['N', D] }],
  outputs: [
    { name: 'probs', dtype: 'float32', shape: ['N', K] },
    { name: 'logits', dtype: 'float32', shape: ['N', K] },
  ],
  initializers: [
    { name: 'W', dims: [K, D], data: W, dtype: 'float32' },
    { name: 'b', dims: [K], data: b, dtype: 'float32' },
  ],
  nodes: [
    { op: 'Gemm', inputs: ['x', 'W', 'b'], outputs: ['logits'], attrs: { transB: { i: 1 } } },
    { op: 'Softmax', inputs: ['logits'], outputs: ['probs'], attrs: { axis: { i: -1 } } },
  ],
});
const aPath = path.join(tmp, 'two-outputs.onnx');
const bPath = path.join(tmp, 'logits-only.onnx');
fs.writeFileSync(aPath, twoOutputs);
fs.writeFileSync(bPath, gemmSoftmaxModel({ W, b, k: K, d: D, softmax: false, outputName: 'logits' }));
const xPath = path.join(tmp, 'x.npy');
writeNpy(xPath, makeTensor(new Float32Array(N * D).map(() => rng.normal()), [N, D]));
const opts = { data: xPath, cache: false, bootstrap: 0 };

t.test('first outputs read differently: the error names the outputs and the output option', async (t) => {
  const err = await compare(aPath, bPath, opts).then(
    () => undefined,
    (e: unknown) => e,
  );
  t.ok(err instanceof ModeldiffError);
  const e = err as ModeldiffError;
  t.equal(e.code, 'INVALID_ARGUMENT');
  t.equal(e.option, 'output');
  t.match(e.message, /output "probs" looks like probabilities/);
  t.match(e.message, /two-outputs\.onnx: probs, logits/);
  t.match(e.message, /logits-only\.onnx: logits/);
  t.notMatch(e.message, /--/, 'the library names no command-line flag');

  const io = captureIo();
  t.equal(await runCli(['compare', aPath, bPath, '--data', xPath, '--no-cache'], io), 1);
  t.match(io.err, /\(flag --output\)\n$/);
  t.notMatch(io.err, /--outputs/);
});

t.test('following the hint gives the true value, and says which output was compared', async (t) => {
  const r = await compare(aPath, bPath, { ...opts, output: 'logits' });
  t.equal(r.metrics.js!.mean, 0);
  t.equal(r.metrics.tv!.mean, 0);
  t.same(r.models.map((m) => m.outputName), ['logits', 'logits']);

  const io = captureIo();
  t.equal(await runCli(['compare', aPath, bPath, '--data', xPath, '--no-cache', '--output', 'logits', '--bootstrap', '0'], io), 0);
  t.match(io.out, /output "logits" of both models/);
  const json = captureIo();
  t.equal(await runCli(['compare', aPath, bPath, '--data', xPath, '--no-cache', '--output', 'logits', '--json'], json), 0);
  t.same(JSON.parse(json.out).models.map((m: { outputName: string }) => m.outputName), ['logits', 'logits']);
});

t.test('forcing a logits reading onto probabilities is a warning, not silent', async (t) => {
  const r = await compare(aPath, aPath, { ...opts, outputs: 'logits' });
  t.ok(r.warnings.some((w) => /output "probs" looks like probabilities .* but is read as logits/.test(w)));
  const fine = await compare(aPath, aPath, { ...opts, output: 'logits', outputs: 'logits' });
  t.same(fine.warnings, []);
});

t.test('one output each, of different kinds: the error says why forcing one reading is wrong', async (t) => {
  const probsOnly = path.join(tmp, 'probs-only.onnx');
  fs.writeFileSync(probsOnly, gemmSoftmaxModel({ W, b, k: K, d: D, softmax: true }));
  const e = (await compare(probsOnly, bPath, opts).catch((x: unknown) => x)) as ModeldiffError;
  t.equal(e.option, 'outputs');
  t.match(e.message, /reading probabilities as logits gives wrong numbers/);
});
