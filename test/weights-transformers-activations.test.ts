/**
 * Activation matching on transformer exports with several int64 inputs
 * (input_ids and attention_mask): the probe is fed as `cka` feeds it and the
 * [n, s, d] hidden tensors are read token-level (unmasked positions as rows).
 * A copy permuted in PyTorch (residual stream, MLP units, whole heads and the
 * dims within them) aligns back onto the seed exactly; two seeds align closer
 * than raw; `barrier --align activations` runs on them.
 */
import fs, { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import t from 'tap';
import * as ort from 'onnxruntime-node';

import { runCli } from '../lib/cli/main';
import { readArrays } from '../lib/io/array-file';
import { writeNpy } from '../lib/io/npy';
import { lossBarrier } from '../lib/path/barrier';
import { weightDistance } from '../lib/weights';
import { captureIo } from './helpers/capture-io';

const FIXTURES = path.join(__dirname, 'fixtures', 'arch');
const PROBE = path.join(FIXTURES, 'probe-tokens.npz');
const file = (name: string) => path.join(FIXTURES, `${name}.onnx`);

for (const name of ['bert-ts13', 'llama-dyn18']) {
  t.test(`${name}: the stream- and head-permuted copy aligns by activations to ≤ 1e-6`, async (t) => {
    const r = await weightDistance(readFileSync(file(`${name}-s0`)), readFileSync(file(`${name}-s0-perm`)), { methods: ['raw', 'aligned'], align: 'activations', data: PROBE });
    t.equal(r.alignment!.method, 'activations');
    t.ok(r.raw!.relative > 0.5, `raw relative ${r.raw!.relative}`);
    t.ok(r.aligned!.relative <= 1e-6, `aligned relative ${r.aligned!.relative}`);
  });
}

t.test('gpt2 (TorchScript, opset 13): two seeds align closer than raw; the probe given by input name', async (t) => {
  const arrays = Object.fromEntries(readArrays(PROBE).map(([k, x]) => [k!, x]));
  t.ok(Array.from(arrays.attention_mask.data as BigInt64Array).some((v) => v === 0n), 'the probe has padded positions');
  const r = await weightDistance(readFileSync(file('gpt2-ts13-s0')), readFileSync(file('gpt2-ts13-s1')), {
    methods: ['raw', 'aligned'],
    align: 'activations',
    data: { input_ids: arrays.input_ids, attention_mask: arrays.attention_mask },
  });
  t.ok(r.aligned!.relative < r.raw!.relative, `aligned ${r.aligned!.relative} < raw ${r.raw!.relative}`);
  // Weight matching warm-started from activation matching reads the same probe.
  const warm = await weightDistance(readFileSync(file('gpt2-ts13-s0')), readFileSync(file('gpt2-ts13-s1')), { methods: ['aligned'], data: PROBE, start: 'activations' });
  t.equal(warm.alignment!.start, 'activations');
  t.ok(warm.aligned!.relative <= r.aligned!.relative, `warm-started weight matching ${warm.aligned!.relative} ≤ activation matching ${r.aligned!.relative}`);
});

t.test('bert: barrier --align activations runs on a two-input token model', async (t) => {
  const a = file('bert-ts13-s0');
  const s = await ort.InferenceSession.create(a);
  const arrays = Object.fromEntries(readArrays(PROBE).map(([k, x]) => [k!, x]));
  const feeds = Object.fromEntries(s.inputNames.map((n) => [n, new ort.Tensor('int64', arrays[n].data as BigInt64Array, arrays[n].shape)]));
  const y = (await s.run(feeds))[s.outputNames[0]].data as Float32Array;
  await s.release();
  const k = y.length / arrays.input_ids.shape[0];
  const labels = Int32Array.from({ length: y.length / k }, (_, i) => {
    const row = Array.from(y.subarray(i * k, (i + 1) * k));
    return row.indexOf(Math.max(...row));
  });
  const r = await lossBarrier(a, file('bert-ts13-s1'), { data: PROBE, labels, steps: 3, align: 'activations' });
  t.equal(r.aligned!.alignment.method, 'activations');
  t.ok(Number.isFinite(r.aligned!.lossBarrier), `aligned barrier ${r.aligned!.lossBarrier} (naive ${r.naive.lossBarrier})`);
  // At α = 0 the aligned walk is A itself: the same loss as the naive walk's.
  t.ok(Math.abs(r.aligned!.loss[0] - r.naive.loss[0]) < 1e-5, `α=0: ${r.aligned!.loss[0]} vs ${r.naive.loss[0]}`);
});

t.test('CLI: weights --align activations --data NAME=FILE per model input', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'modeldiff-heads-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  for (const [name, x] of readArrays(PROBE)) writeNpy(path.join(dir, `${name}.npy`), x);
  const io = captureIo();
  io.cwd = dir;
  const args = ['weights', file('bert-ts13-s0'), file('bert-ts13-s0-perm'), '--align', 'activations', '--method', 'aligned', '--json'];
  const code = await runCli([...args, '--data', 'input_ids=input_ids.npy', '--data', 'attention_mask=attention_mask.npy'], io);
  t.equal(code, 0, io.err);
  const r = JSON.parse(io.out);
  t.equal(r.alignment.method, 'activations');
  t.ok(r.aligned.relative <= 1e-6, `aligned relative ${r.aligned.relative}`);
});
