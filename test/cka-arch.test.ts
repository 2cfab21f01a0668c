// Representations on real architectures (test/fixtures/arch, made by
// scripts/fixtures/make-arch-fixtures.py): decomposed activations are one layer,
// attention maps are not layers, several int64 inputs, token-level CKA with padded
// positions left out (against a float64 reference the script wrote), permuted copies
// give CKA 1, fixed-batch and float16 models, and scikit-learn output choice.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import t from 'tap';

import { runCli } from '../lib/cli/main';
import { compare } from '../lib/function/compare';
import { hiddenActivations } from '../lib/infer/hidden';
import { inferOutputs } from '../lib/infer/infer';
import { writeNpy } from '../lib/io/npy';
import { loadProbe } from '../lib/io/probe';
import { halfToFloat, floatToHalf, type Tensor } from '../lib/io/tensor';
import { defaultLayers, listLayers } from '../lib/represent/layers';
import { cka } from '../lib/represent/model';
import { createRng } from '../lib/util/rng';
import { captureIo } from './helpers/capture-io';
import { buildModel, gemmSoftmaxModel } from './helpers/onnx-builder';

const dir = path.join(__dirname, 'fixtures', 'arch');
interface Entry { file: string; architecture: string; exporter: string; opset: number; seed: number; permuted_of: string | null; symmetries: string[]; probe: string }
const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as {
  files: Entry[];
  probes: Record<string, { file: string }>;
  cka_reference: { a: string; b: string; probe: string; tokens: number; cka_linear: Record<string, number> };
};
const f = (name: string) => path.join(dir, name);
const probeOf = (e: Entry) => f(manifest.probes[e.probe].file);
const entry = (file: string) => manifest.files.find((e) => e.file === file)!;

t.test('elementwise activation clusters are one layer; the pieces inside are not', async (t) => {
  const gemm = (x: string, y: string) => ({ op: 'MatMul', inputs: [x, 'W'], outputs: [y] });
  const c = (name: string, v: number) => ({ name, dims: [], data: [v] });
  const model = buildModel({
    inputs: [{ name: 'x', shape: ['N', 2] }],
    outputs: [{ name: 'y', shape: ['N', 2] }],
    initializers: [{ name: 'W', dims: [2, 2], data: [1, 0.5, -0.5, 1] }, c('half', 0.5), c('one', 1), c('three', 3), c('k', 0.0447), c('r2', 1.4142)],
    nodes: [
      gemm('x', 'z1'), // SiLU: z·Sigmoid(z)
      { op: 'Sigmoid', inputs: ['z1'], outputs: ['s1'] },
      { op: 'Mul', inputs: ['z1', 's1'], outputs: ['silu'] },
      gemm('silu', 'z2'), // GELU, tanh form: 0.5·z·(1 + Tanh(c·(z + k·z³)))
      { op: 'Pow', inputs: ['z2', 'three'], outputs: ['p3'] },
      { op: 'Mul', inputs: ['p3', 'k'], outputs: ['kp3'] },
      { op: 'Add', inputs: ['z2', 'kp3'], outputs: ['inner'] },
      { op: 'Mul', inputs: ['inner', 'half'], outputs: ['scaled'] },
      { op: 'Tanh', inputs: ['scaled'], outputs: ['th'] },
      { op: 'Add', inputs: ['th', 'one'], outputs: ['th1'] },
      { op: 'Mul', inputs: ['z2', 'th1'], outputs: ['g0'] },
      { op: 'Mul', inputs: ['g0', 'half'], outputs: ['gelu'] },
      gemm('gelu', 'z3'), // GELU, erf form
      { op: 'Div', inputs: ['z3', 'r2'], outputs: ['d'] },
      { op: 'Erf', inputs: ['d'], outputs: ['e'] },
      { op: 'Add', inputs: ['e', 'one'], outputs: ['e1'] },
      { op: 'Mul', inputs: ['z3', 'e1'], outputs: ['gelu_erf'] },
      gemm('gelu_erf', 'z4'), // Mish: z·Tanh(Softplus(z))
      { op: 'Softplus', inputs: ['z4'], outputs: ['sp'] },
      { op: 'Tanh', inputs: ['sp'], outputs: ['tsp'] },
      { op: 'Mul', inputs: ['z4', 'tsp'], outputs: ['mish'] },
      gemm('mish', 'z5'), // HardSwish at opset < 14: z·HardSigmoid(z); then a plain Tanh
      { op: 'HardSigmoid', inputs: ['z5'], outputs: ['hs'] },
      { op: 'Mul', inputs: ['z5', 'hs'], outputs: ['hswish'] },
      gemm('hswish', 'z6'),
      { op: 'Tanh', inputs: ['z6'], outputs: ['t6'] },
      { op: 'Add', inputs: ['t6', 'silu'], outputs: ['y'] }, // two different roots: not part of a cluster
    ],
  });
  const layers = defaultLayers(listLayers(model));
  t.same(layers.map((l) => [l.tensor, l.op]), [['silu', 'SiLU'], ['gelu', 'GELU(tanh)'], ['gelu_erf', 'GELU(erf)'], ['mish', 'Mish'], ['hswish', 'HardSwish'], ['t6', 'Tanh'], ['y', 'Add']]);
});

t.test('fixtures: activation layers as each exporter writes them, no attention maps', async (t) => {
  const ops = (file: string) => new Set(defaultLayers(listLayers(f(file))).filter((l) => l.kind === 'activation').map((l) => l.op));
  t.same([...ops('mobilenet_v2-ts13-s0.onnx')].sort(), ['Clip', 'GlobalAveragePool']);
  t.same([...ops('mobilenet_v3_small-ts13-s0.onnx')].sort(), ['GlobalAveragePool', 'HardSigmoid', 'HardSwish', 'Relu']);
  t.same([...ops('efficientnet_b0-ts13-s0.onnx')].sort(), ['GlobalAveragePool', 'SiLU', 'Sigmoid']);
  t.same([...ops('bert-ts13-s0.onnx')].sort(), ['GELU(erf)', 'Tanh']);
  t.same([...ops('gpt2-ts13-s0.onnx')], ['GELU(tanh)']);
  t.same([...ops('llama-ts13-s0.onnx')], ['SiLU']);
  t.same([...ops('lstm-ts13-s0.onnx')], ['LSTM(Y_h)']);
  t.same([...ops('gru-dyn18-s0.onnx')], ['GRU(Y)']); // the dynamo export drops Y_h: every step's state
  for (const file of ['vit-ts17-s0.onnx', 'vit-dyn18-s0.onnx', 'bert-dyn18-s0.onnx', 'gpt2-ts17-s0.onnx']) {
    const layers = listLayers(f(file));
    t.notOk(layers.some((l) => l.op === 'Softmax'), `${file}: no attention softmax among the candidates`);
    t.ok(layers.some((l) => l.op.startsWith('GELU')), `${file}: GELU layers found`);
  }
});

// One export per architecture with its permuted copy (opset 17: every architecture has one).
const torchArchs = ['mobilenet_v2', 'mobilenet_v3_small', 'efficientnet_b0', 'densenet', 'vit', 'bert', 'gpt2', 'llama', 'lstm', 'gru'];

t.test('dynamo exports: the permuted copy of an RNN (all steps) and a transformer has CKA 1', async (t) => {
  for (const file of ['gru-dyn18-s0-perm.onnx', 'llama-dyn18-s0-perm.onnx']) {
    const perm = entry(file);
    const r = await cka(f(perm.permuted_of!), f(file), { data: probeOf(perm) });
    t.ok(r.pairs.length >= 2, `${file}: ${r.pairs.map((p) => p.a.op)}`);
    for (const p of r.pairs) t.ok(Math.abs((p.values['cka-linear'] as number) - 1) < 1e-6, `${file} ${p.a.op}: ${p.values['cka-linear']}`);
  }
});

t.test('a permuted copy has linear CKA 1 at every default layer; a second seed lies in [0, 1]', async (t) => {
  for (const arch of torchArchs) {
    const perm = entry(`${arch}-ts17-s0-perm.onnx`);
    const r = await cka(f(perm.permuted_of!), f(perm.file), { data: probeOf(perm) });
    t.ok(r.pairs.length >= 1, `${arch}: ${r.pairs.length} layers`);
    for (const p of r.pairs) {
      const v = p.values['cka-linear'] as number;
      // DenseNet's copy rescales each bottleneck unit (BN -> ReLU): linear CKA is invariant to
      // rotations and one common scale, not to a scale per unit, so those layers move.
      if (arch === 'densenet' && p.a.tensor.includes('relu2')) t.ok(v < 0.9999, `${arch} ${p.a.tensor} (rescaled units): ${v}`);
      else t.ok(Math.abs(v - 1) < 1e-6, `${arch} ${p.a.tensor}: ${v}`);
    }
    const s1 = manifest.files.find((e) => e.architecture === arch && e.seed === 1)!;
    const s0 = s1.file.replace('-s1', '-s0');
    const other = await cka(f(s0), f(s1.file), { data: probeOf(s1) });
    for (const p of other.pairs) {
      const v = p.values['cka-linear'] as number;
      t.ok(v >= 0 && v <= 1 + 1e-12, `${arch} seeds 0/1 ${p.a.tensor}: ${v}`);
    }
    t.ok(other.pairs.some((p) => (p.values['cka-linear'] as number) < 0.999), `${arch}: two seeds differ somewhere`);
  }
});

t.test('token-level CKA: positions as samples, padding left out, equal to the float64 reference', async (t) => {
  const ref = manifest.cka_reference;
  const r = await cka(f(ref.a), f(ref.b), { data: f(ref.probe), layers: Object.keys(ref.cka_linear).map((k) => ({ a: k, b: k })) });
  for (const p of r.pairs) {
    const want = ref.cka_linear[p.a.tensor];
    t.ok(Math.abs((p.values['cka-linear'] as number) - want) < 1e-6, `${p.a.tensor}: ${p.values['cka-linear']} vs ${want}`);
    t.equal(p.samples, p.px === 16 && p.a.op === 'Tanh' ? r.n : ref.tokens);
  }
  t.ok(ref.tokens < r.n * 8, 'the probe has padded positions');
});

t.test('fixed-batch and float16 models', async (t) => {
  const rng = createRng(3);
  const d = 3;
  const k = 2;
  const W = Array.from({ length: k * d }, () => rng.normal());
  const b = [0.1, -0.2];
  const n = 10;
  const x = Float32Array.from({ length: n * d }, () => rng.normal());
  // A model that fixes its batch at 4: 10 samples run as 4 + 4 + 2 (padded), padding dropped.
  const fixed = gemmSoftmaxModel({ W, b, k, d, batch: 4, softmax: false });
  const h = await hiddenActivations(fixed, ['y'], { inputs: { x: { dtype: 'float32', shape: [n, d], data: x } }, n, sources: { x: '<array>' } });
  t.same(h.y.dims, [n, k]);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < k; j++) {
      let z = b[j];
      for (let c = 0; c < d; c++) z += x[i * d + c] * W[j * d + c];
      t.ok(Math.abs(h.y.data[i * k + j] - z) < 1e-5, `row ${i} col ${j}`);
    }
  // float16 weights behind Casts, as a half-precision export with a float32 input has them.
  const half = buildModel({
    inputs: [{ name: 'x', shape: ['N', d] }],
    outputs: [{ name: 'y', shape: ['N', k] }],
    initializers: [{ name: 'W', dims: [d, k], data: Array.from({ length: d * k }, (_, i) => W[(i % k) * d + Math.floor(i / k)]) }],
    nodes: [
      { op: 'Cast', inputs: ['x'], outputs: ['xh'], attrs: { to: { i: 10 } } },
      { op: 'Cast', inputs: ['W'], outputs: ['Wh'], attrs: { to: { i: 10 } } },
      { op: 'MatMul', inputs: ['xh', 'Wh'], outputs: ['zh'] },
      { op: 'Relu', inputs: ['zh'], outputs: ['rh'] },
      { op: 'Cast', inputs: ['rh'], outputs: ['y'], attrs: { to: { i: 1 } } },
    ],
  });
  const hh = await hiddenActivations(half, ['rh'], { name: 'x', data: x, dims: [n, d] });
  const r16 = (v: number) => halfToFloat(floatToHalf(v));
  for (let i = 0; i < n; i++)
    for (let j = 0; j < k; j++) {
      let z = 0;
      for (let c = 0; c < d; c++) z += r16(x[i * d + c]) * r16(W[j * d + c]);
      t.ok(Math.abs(hh.rh.data[i * k + j] - Math.max(0, z)) < 4e-3 * (1 + Math.abs(z)), `fp16 row ${i} col ${j}`);
    }
  // A tensor whose samples are on axis 1 (as an RNN's Y_h [directions, n, hidden]) comes back sample-first.
  const transposed = buildModel({
    inputs: [{ name: 'x', shape: ['N', d] }],
    outputs: [{ name: 'y', shape: ['N', d] }],
    nodes: [
      { op: 'Transpose', inputs: ['x'], outputs: ['xt'], attrs: { perm: { ints: [1, 0] } } },
      { op: 'Transpose', inputs: ['xt'], outputs: ['y'], attrs: { perm: { ints: [1, 0] } } },
    ],
  });
  const back = await hiddenActivations(transposed, ['xt'], { name: 'x', data: x, dims: [n, d] }, { batchSize: 4, sampleAxes: { xt: 1 } });
  t.same(back.xt.dims, [n, d]);
  t.same(Array.from(back.xt.data), Array.from(x));
  const r = await cka(half, half, { data: { data: x, shape: [n, d] } });
  t.same(r.pairs.map((p) => p.a.tensor), ['rh', 'y']);
  t.ok(Math.abs((r.pairs[0].values['cka-linear'] as number) - 1) < 1e-12);
});

t.test('scikit-learn exports: the probability output (ZipMap outputs: test/sklearn.test.ts)', async (t) => {
  const probe = f(manifest.probes.tabular.file);
  const a = f('sklearn_mlp-nozipmap-s0.onnx');
  const labelFirst = await inferOutputs(a, probe, { cache: false });
  t.equal(labelFirst.outputName, 'probabilities');
  t.match(labelFirst.warnings.join('\n'), /reading output "probabilities" \(the first output, "label", holds integer class labels\)/);
  const rows = labelFirst.outputs.data;
  for (let i = 0; i < labelFirst.outputs.n; i++) {
    const sum = rows[i * 3] + rows[i * 3 + 1] + rows[i * 3 + 2];
    t.ok(Math.abs(sum - 1) < 1e-6, `row ${i} is a probability vector`);
  }
  const c = await compare(a, f('sklearn_logreg-nozipmap-s0.onnx'), { data: probe, cache: false, bootstrap: 0 });
  t.same(c.models.map((m) => m.outputName), ['probabilities', 'probabilities']);
  await t.rejects(inferOutputs(a, probe, { cache: false, output: 'nope' }), { code: 'MODEL_OUTPUT', message: /no output named "nope"/ });
  // cka reads the tensor the ZipMap relabels; the permuted and rescaled copy: the softmax layer
  // is identical (CKA 1), the rescaled ReLU units are not (CKA < 1).
  const r = await cka(f('sklearn_mlp-zipmap-s0.onnx'), f('sklearn_mlp-zipmap-s0-perm.onnx'), { data: probe });
  t.same(r.pairs.map((p) => p.a.tensor), ['next_activations0', 'probabilities']);
  t.ok(Math.abs((r.pairs[1].values['cka-linear'] as number) - 1) < 1e-6);
  t.ok((r.pairs[0].values['cka-linear'] as number) < 0.9999);
  const lr = await cka(f('sklearn_logreg-zipmap-s0.onnx'), f('sklearn_logreg-zipmap-s1.onnx'), { data: probe });
  t.same(lr.pairs.map((p) => p.a.tensor), ['probabilities']);
});

t.test('tensors that are not one row per sample; pooled tokens; other dtypes', async (t) => {
  const rng = createRng(11);
  const n = 10;
  const d = 3;
  const x = Float32Array.from({ length: n * d }, () => rng.normal());
  // r is [d, n]: its first axis is not the samples (like an attention map [batch·heads, s, s]).
  const sideways = buildModel({
    inputs: [{ name: 'x', shape: ['N', d] }],
    outputs: [{ name: 'y', shape: ['N', d] }],
    nodes: [
      { op: 'Transpose', inputs: ['x'], outputs: ['xt'], attrs: { perm: { ints: [1, 0] } } },
      { op: 'Relu', inputs: ['xt'], outputs: ['r'] },
      { op: 'Transpose', inputs: ['r'], outputs: ['y'], attrs: { perm: { ints: [1, 0] } } },
    ],
  });
  const probe = { data: x, shape: [n, d] };
  const r = await cka(sideways, sideways, { data: probe, batchSize: 4 });
  t.same(r.pairs.map((p) => p.a.tensor), ['y']);
  t.match(r.warnings[0], /layer r \[3, 4\] does not have one row per sample .*: skipped/);
  await t.rejects(cka(sideways, sideways, { data: probe, layers: [{ a: 'r', b: 'y' }] }), { code: 'MODEL_OUTPUT', message: /layer r \[3, \d+\] does not have one row per sample.*pick another layer/ });
  // float64 and integer hidden tensors
  const typed = buildModel({
    inputs: [{ name: 'x', shape: ['N', d] }],
    outputs: [{ name: 'y', shape: ['N', d] }],
    nodes: [
      { op: 'Cast', inputs: ['x'], outputs: ['x64'], attrs: { to: { i: 11 } } },
      { op: 'Relu', inputs: ['x64'], outputs: ['r64'] },
      { op: 'Cast', inputs: ['r64'], outputs: ['y'], attrs: { to: { i: 1 } } },
      { op: 'Cast', inputs: ['x'], outputs: ['xi'], attrs: { to: { i: 7 } } },
    ],
  });
  const h = await hiddenActivations(typed, ['r64'], { name: 'x', data: x, dims: [n, d] });
  t.same(Array.from(h.r64.data), Array.from(x, (v) => Math.max(0, v)));
  await t.rejects(hiddenActivations(typed, ['xi'], { name: 'x', data: x, dims: [n, d] }), { code: 'MODEL_OUTPUT', message: /tensor "xi" is int64, not a floating-point representation/ });
  // Sequence models: spatial 'mean' pools each sequence's unmasked tokens (one row per sequence).
  const ref = manifest.cka_reference;
  const gelu = Object.keys(ref.cka_linear)[0];
  const pooled = await cka(f(ref.a), f(ref.b), { data: f(ref.probe), spatial: 'mean', layers: [{ a: gelu, b: gelu }] });
  t.equal(pooled.pairs[0].samples, pooled.n);
  t.equal(pooled.pairs[0].px, 32);
  const v = pooled.pairs[0].values['cka-linear'] as number;
  t.ok(v >= 0 && v <= 1 && Math.abs(v - ref.cka_linear[gelu]) > 1e-3, `sequence-level ${v} differs from token-level ${ref.cka_linear[gelu]}`);
  // A sequence with every position masked is left out of the pooled rows, exactly as if the
  // probe did not hold it (it was once a row of zeros that moved CKA).
  const full = loadProbe(f(ref.probe));
  const [ns, sl] = full.inputs.input_ids.shape;
  const maskedFirst: Tensor = { ...full.inputs.attention_mask, data: full.inputs.attention_mask.data.slice() };
  maskedFirst.data.fill((maskedFirst.data instanceof BigInt64Array ? 0n : 0) as never, 0, sl);
  const dropFirst = (x: Tensor): Tensor => ({ ...x, shape: [ns - 1, sl], data: x.data.slice(sl) });
  const withEmpty = await cka(f(ref.a), f(ref.b), { data: { input_ids: full.inputs.input_ids, attention_mask: maskedFirst }, spatial: 'mean', layers: [{ a: gelu, b: gelu }] });
  const without = await cka(f(ref.a), f(ref.b), {
    data: { input_ids: dropFirst(full.inputs.input_ids), attention_mask: dropFirst(full.inputs.attention_mask) },
    spatial: 'mean',
    layers: [{ a: gelu, b: gelu }],
  });
  t.equal(withEmpty.pairs[0].samples, ns - 1, 'the empty sequence is not a row');
  t.ok(Math.abs((withEmpty.pairs[0].values['cka-linear'] as number) - (without.pairs[0].values['cka-linear'] as number)) < 1e-12);
  // A mask that does not match the token ids is refused.
  const ids = { dtype: 'int64' as const, shape: [2, 8], data: BigInt64Array.from({ length: 16 }, (_, i) => BigInt(1 + (i % 7))) };
  const mask = { dtype: 'int64' as const, shape: [2, 7], data: new BigInt64Array(14).fill(1n) };
  await t.rejects(cka(f(ref.a), f(ref.b), { data: { input_ids: ids, attention_mask: mask } }), {
    code: 'SHAPE_MISMATCH',
    message: /attention_mask has shape \[2, 7\] but input_ids .* has \[2, 8\]; per-token inputs need one value per token/,
  });
  // An all-ones mask: every position is a sample.
  const all = await cka(f(ref.a), f(ref.b), { data: { input_ids: ids, attention_mask: { ...mask, shape: [2, 8], data: new BigInt64Array(16).fill(1n) } }, layers: [{ a: gelu, b: gelu }] });
  t.equal(all.pairs[0].samples, 16);
  // A mask value other than 0 or 1 is refused, naming the input, the value and where it is.
  const two = BigInt64Array.from({ length: 16 }, (_, i) => (i === 11 ? 2n : 1n));
  await t.rejects(cka(f(ref.a), f(ref.b), { data: { input_ids: ids, attention_mask: { ...mask, shape: [2, 8], data: two } }, layers: [{ a: gelu, b: gelu }] }), {
    code: 'INVALID_ARGUMENT',
    option: 'data',
    message: /^probe input "attention_mask": mask values must be 0 or 1, found 2 at sequence 1, position 3$/,
  });
});

t.test('CLI: cka takes several inputs as --data NAME=FILE', async (t) => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'modeldiff-cka-arch-'));
  t.teardown(() => fs.rmSync(tmp, { recursive: true, force: true }));
  const ref = manifest.cka_reference;
  const probe = loadProbe(f(ref.probe));
  for (const name of ['input_ids', 'attention_mask']) writeNpy(path.join(tmp, `${name}.npy`), probe.inputs[name]);
  const io = captureIo();
  io.cwd = tmp;
  const args = ['cka', f(ref.a), f(ref.b), '--data', 'input_ids=input_ids.npy', '--data', 'attention_mask=attention_mask.npy', '--json'];
  t.equal(await runCli(args, io), 0, io.err);
  // A mask file with a 2 in it: one line naming the file and where the 2 is.
  const bad = probe.inputs.attention_mask;
  writeNpy(path.join(tmp, 'bad_mask.npy'), { ...bad, data: bad.data.map((v, i) => (i === 1 ? 2n : v) as never) as typeof bad.data });
  const badIo = captureIo();
  badIo.cwd = tmp;
  t.equal(await runCli(['cka', f(ref.a), f(ref.b), '--data', 'input_ids=input_ids.npy', '--data', 'attention_mask=bad_mask.npy'], badIo), 1, "a file's content is input, not usage");
  t.match(badIo.err, /^modeldiff: bad_mask\.npy: mask values must be 0 or 1, found 2 at sequence 0, position 1 \(flag --data\)\n$/);
  const out = JSON.parse(io.out) as { pairs: Array<{ a: { tensor: string }; samples: number; values: { 'cka-linear': number } }> };
  const gelu = out.pairs.filter((p) => p.a.tensor in ref.cka_linear && p.samples === ref.tokens);
  t.equal(gelu.length, 2);
  for (const p of gelu) t.ok(Math.abs(p.values['cka-linear'] - ref.cka_linear[p.a.tensor]) < 1e-6);
  // The text says how many rows (unmasked tokens) the n probe samples gave; -q is accepted.
  const text = captureIo();
  text.cwd = tmp;
  const gelu0 = Object.keys(ref.cka_linear)[0];
  t.equal(await runCli(['cka', f(ref.a), f(ref.b), '--data', 'input_ids=input_ids.npy', '--data', 'attention_mask=attention_mask.npy', '--layers', gelu0, '-q'], text), 0, text.err);
  t.match(text.out, `n = ${probe.n} probe samples, compared on ${ref.tokens} rows (unmasked tokens)\n`);
  // Library progress: both models' samples, ending at 2·n.
  const seen: Array<[number, number]> = [];
  await cka(f(ref.a), f(ref.b), { data: f(ref.probe), layers: [{ a: gelu0, b: gelu0 }], batchSize: 2, onProgress: (d, total) => seen.push([d, total]) });
  t.same(seen.at(-1), [2 * probe.n, 2 * probe.n]);
  t.ok(seen.length >= 2 && seen.every(([d], i) => i === 0 || d >= seen[i - 1][0]), 'progress never goes back');
  const none = captureIo();
  t.equal(await runCli(['cka', f(ref.a), f(ref.b)], none), 2);
  t.match(none.err, /cka needs probe data: --data FILE \(or --data NAME=FILE per model input\)/);
});
