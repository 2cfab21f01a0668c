// barrier on language models (test/fixtures/arch: Hugging Face GPT-2 and a Llama-style model,
// two seeds each, and the token probe with padded rows): the next-token loss along the path,
// its endpoints equal to compare's next-token cross-entropies, its midpoint equal to a float64
// next-token cross-entropy computed here from onnxruntime's logits of the weight average built
// here; per-token labels with the attention mask; weight and activation alignment run.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import * as ort from 'onnxruntime-node';
import t from 'tap';

import { runCli } from '../lib/cli/main';
import { compare } from '../lib/function/compare';
import { writeNpy } from '../lib/io/npy';
import { encodeOnnx, float64ToTensor, graphOf, readOnnx, tensorDims, tensorToFloat64 } from '../lib/io/onnx';
import { loadProbe } from '../lib/io/probe';
import { lossBarrier } from '../lib/path/barrier';
import { captureIo } from './helpers/capture-io';

const arch = path.join(__dirname, 'fixtures', 'arch');
const probePath = path.join(arch, 'probe-tokens.npz');
const probe = loadProbe(probePath);
const ids = Array.from(probe.inputs.input_ids.data as BigInt64Array, Number);
const mask = Array.from(probe.inputs.attention_mask.data as BigInt64Array, Number);
const [n, T] = probe.inputs.input_ids.shape;

/** (A + B) / 2 for every float initializer, paired by position, written here. */
function midpoint(a: string, b: string): Uint8Array {
  const ma = readOnnx(a);
  const ib = graphOf(readOnnx(b)).initializer;
  const inits = graphOf(ma).initializer;
  inits.forEach((ta, i) => {
    if (ta.dataType !== 1) return;
    const va = tensorToFloat64(ta, a);
    const vb = tensorToFloat64(ib[i], b);
    inits[i] = float64ToTensor(ta.name ?? '', tensorDims(ta), va.map((x, j) => (x + vb[j]) / 2), 1);
  });
  return encodeOnnx(ma);
}

/** Mean next-token cross-entropy (nats) in float64 from onnxruntime's logits: target at t = id at t+1, both unmasked. */
async function nextTokenLoss(model: Uint8Array): Promise<{ loss: number; tokens: number }> {
  const session = await ort.InferenceSession.create(model);
  const feeds = {
    input_ids: new ort.Tensor('int64', probe.inputs.input_ids.data as BigInt64Array, [n, T]),
    attention_mask: new ort.Tensor('int64', probe.inputs.attention_mask.data as BigInt64Array, [n, T]),
  };
  const out = (await session.run(feeds))[session.outputNames[0]];
  await session.release();
  const logits = out.data as Float32Array;
  const V = out.dims[2];
  let total = 0;
  let tokens = 0;
  for (let s = 0; s < n; s++) {
    for (let p = 0; p + 1 < T; p++) {
      if (!mask[s * T + p] || !mask[s * T + p + 1]) continue;
      const row = logits.subarray((s * T + p) * V, (s * T + p + 1) * V);
      const max = row.reduce((m, v) => Math.max(m, v), -Infinity);
      const lse = max + Math.log(row.reduce((acc, v) => acc + Math.exp(v - max), 0));
      total += lse - row[ids[s * T + p + 1]];
      tokens++;
    }
  }
  return { loss: total / tokens, tokens };
}

for (const arch0 of ['gpt2', 'llama']) {
  t.test(`${arch0}: next-token loss along the path, endpoints = compare's, midpoint = reference`, async (t) => {
    const a = path.join(arch, `${arch0}-ts13-s0.onnx`);
    const b = path.join(arch, `${arch0}-ts13-s1.onnx`);
    const r = await lossBarrier(a, b, { data: probePath, targets: 'next', steps: 3 });
    const ref = await nextTokenLoss(midpoint(a, b));
    t.equal(r.targets, 'next');
    t.equal(r.tokens, ref.tokens);
    t.equal(r.tokens, 44, 'the probe pads 4 of its 8 rows: (7 + 6 + 5 + 4)·2 next-token pairs');
    t.ok(Math.abs(r.naive.loss[1] - ref.loss) < 1e-6 * ref.loss, `midpoint ${r.naive.loss[1]} vs ${ref.loss}`);
    const c = await compare(a, b, { data: probePath, targets: 'next', cache: false });
    const [ceA, ceB] = c.tokens!.next!.crossEntropy;
    t.ok(Math.abs(r.naive.loss[0] - ceA) < 1e-9 * ceA, `A: ${r.naive.loss[0]} vs ${ceA}`);
    t.ok(Math.abs(r.naive.loss[2] - ceB) < 1e-9 * ceB, `B: ${r.naive.loss[2]} vs ${ceB}`);
    // Per-token labels equal to the next ids, plus a target at every padded position: the
    // attention mask drops those, so the loss is the next-token loss (on GPT-2 only, for time).
    if (arch0 !== 'gpt2') return;
    const labels = new BigInt64Array(n * T).fill(-1n);
    for (let i = 0; i < n * T; i++) {
      if (i % T + 1 < T && mask[i + 1]) labels[i] = BigInt(ids[i + 1]);
      if (!mask[i]) labels[i] = 3n;
    }
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'barrier-lm-'));
    t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
    const file = path.join(dir, 'targets.npy');
    writeNpy(file, { dtype: 'int64', shape: [n, T], data: labels });
    const perToken = await lossBarrier(a, b, { data: probePath, labels: file, steps: 2 });
    t.equal(perToken.tokens, 44);
    t.equal(perToken.targets, file);
    t.ok(Math.abs(perToken.naive.loss[0] - r.naive.loss[0]) < 1e-12 && Math.abs(perToken.naive.loss[1] - r.naive.loss[2]) < 1e-12, 'the same tokens, the same loss');
  });
}

// (Both alignments on both models ran by hand; each test run checks one on each, for time.)
t.test('GPT-2 --align weights and Llama --align activations run on the next-token loss', async (t) => {
  for (const [m, align] of [['gpt2', 'weights'], ['llama', 'activations']] as const) {
    const r = await lossBarrier(path.join(arch, `${m}-ts13-s0.onnx`), path.join(arch, `${m}-ts13-s1.onnx`), { data: probePath, targets: 'next', steps: 2, align });
    const al = r.aligned!;
    t.equal(al.alignment.method, align);
    // The path still starts at A and ends at (a permutation of) B: the same losses.
    t.ok(Math.abs(al.loss[0] - r.naive.loss[0]) < 1e-5 && Math.abs(al.loss[1] - r.naive.loss[1]) < 1e-5, `${m} ${align}: ${al.loss} vs ${r.naive.loss}`);
  }
});

t.test('targets that do not fit the outputs are one-line errors', async (t) => {
  const gpt2 = path.join(arch, 'gpt2-ts13-s0.onnx');
  const base = { data: probePath, steps: 2 };
  await t.rejects(lossBarrier(gpt2, gpt2, { ...base, labels: Array(n).fill(1) }), { code: 'SHAPE_MISMATCH', option: 'labels', message: /one label per sequence, but .* is a sequence output \[N, 8, \d+\]: give per-token targets/ });
  await t.rejects(lossBarrier(gpt2, gpt2, base), { code: 'INVALID_ARGUMENT', option: 'labels', message: /^lossBarrier: options\.labels is required \(.*\), unless options\.targets is 'next'$/ });
  await t.rejects(lossBarrier(gpt2, gpt2, { ...base, targets: 'next', labels: [1] }), { code: 'INVALID_ARGUMENT', option: 'targets' });
  await t.rejects(lossBarrier(gpt2, gpt2, { ...base, targets: 'prev' as 'next' }), { code: 'INVALID_ARGUMENT', option: 'targets' });
  const image = path.join(arch, 'probe-image32.npz');
  const cnn = path.join(arch, 'mobilenet_v2-ts13-s0.onnx');
  await t.rejects(lossBarrier(cnn, cnn, { data: image, steps: 2, targets: 'next' }), { code: 'INVALID_ARGUMENT', option: 'targets', message: /needs the token ids: a probe input named input_ids \(inputs given: one unnamed array, .*probe-image32\.npz:x\)$/ });
});

t.test('CLI: barrier --targets next', async (t) => {
  const io = captureIo();
  const a = path.join(arch, 'gpt2-ts13-s0.onnx');
  t.equal(await runCli(['barrier', a, path.join(arch, 'gpt2-ts13-s1.onnx'), '--data', probePath, '--targets', 'next', '--steps', '2'], io), 0, io.err);
  t.match(io.out, /^n = 8 sequences, 44 next-token targets, outputs read as logits \(output "y"\), loss = mean per-token cross-entropy in nats$/m);
  const none = captureIo();
  t.equal(await runCli(['barrier', a, a, '--data', probePath], none), 2);
  t.match(none.err, /^modeldiff: give --labels \(true class ids, or per-token targets for a language model\) or --targets next\n$/);
});
