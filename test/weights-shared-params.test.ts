/**
 * One initializer read by several nodes, as exporters write freshly initialised models (every
 * LayerNorm's all-ones scale and all-zeros shift merged into one constant; the dynamo exporter's
 * embedding table read by the Gather and the tied head): treated as tied. Each reading node gets
 * its own logical copy, permuted by its own node's units, counted once per use, and written back
 * as its own initializer when copies come out different.
 */
import path from 'node:path';
import { readFileSync } from 'node:fs';

import t from 'tap';
import * as ort from 'onnxruntime-node';

import { readArrays } from '../lib/io/array-file';
import { graphOf, readOnnx } from '../lib/io/onnx';
import { weightDistance } from '../lib/weights';
import { buildModel } from './helpers/onnx-builder';
import { createRng, meanJs } from './helpers/onnx-models';

const FRESH = path.join(__dirname, 'fixtures', 'fresh');
const probe = Object.fromEntries(readArrays(path.join(__dirname, 'fixtures', 'arch', 'probe-tokens.npz')).map(([name, x]) => [name!, x]));

async function run(bytes: Uint8Array, feeds: Record<string, ort.Tensor>): Promise<Float32Array> {
  const s = await ort.InferenceSession.create(bytes);
  const y = (await s.run(feeds))[s.outputNames[0]];
  await s.release();
  return y.data as Float32Array;
}

const tokens = () => Object.fromEntries(Object.entries(probe).map(([n, x]) => [n, new ort.Tensor('int64', x.data as BigInt64Array, x.shape)]));

for (const exporter of ['ts17', 'dyn18']) {
  t.test(`fresh GPT-2 (${exporter}): norms sharing one ones/zeros initializer, sdpa attention, permuted copy`, async (t) => {
    const a = readFileSync(path.join(FRESH, `gpt2-${exporter}-s0.onnx`));
    const b = readFileSync(path.join(FRESH, `gpt2-${exporter}-s0-perm.onnx`));
    const reads = graphOf(readOnnx(a)).node.flatMap((n) => n.input ?? []);
    t.ok(reads.filter((x) => x === 'model.transformer.h.0.ln_1.weight').length >= 5, 'the exporter merged the norms\' scales into one initializer');
    const r = await weightDistance(a, b);
    t.ok(r.raw!.relative > 0.3, `raw relative ${r.raw!.relative}`);
    t.ok(r.canonical!.relative <= 1e-6, `canonical relative ${r.canonical!.relative}`);
    t.ok(r.aligned!.relative <= 1e-6, `aligned relative ${r.aligned!.relative}`);
    t.notOk(r.notes?.some((n) => n.includes('attention')), `every attention was followed (through Where(IsNaN(p), 0, p)): ${r.notes}`);
    t.equal(r.hidden!.filter((h) => h.heads).length, 4, 'heads found in both blocks (Q/K and V/O)');
    const yb = await run(b, tokens());
    for (const [name, m] of [['canonical', r.models.canonical!], ['aligned', r.models.aligned!]] as const) {
      const js = meanJs(yb, await run(m, tokens()), 50);
      t.ok(js <= 1e-9, `${name} written back computes B's function: JS ${js}`);
    }
  });
}

/**
 * x → W1 → LayerNorm(g, c) → Relu → W2 → LayerNorm(g, c) → W3: one scale and shift read by two
 * norms over two different hidden layers. B stores them separately, each permuted with its own
 * layer, so aligning B onto A, or A onto B, gives the two norms different copies.
 */
t.test('a scale and shift shared by norms over two hidden layers: each a copy of its own', async (t) => {
  const rng = createRng(13);
  const [d, h, k] = [3, 4, 5];
  const rand = (n: number, shift = 0) => Array.from({ length: n }, () => shift + rng.normal());
  const [W1, W2, W3, g, c] = [rand(d * h), rand(h * h), rand(h * k), rand(h, 1), rand(h)];
  const p = [2, 0, 3, 1];
  const q = [1, 3, 0, 2];
  const nodes = (g1: string, c1: string, g2: string, c2: string) => [
    { op: 'MatMul', inputs: ['x', 'W1'], outputs: ['z1'] },
    { op: 'LayerNormalization', inputs: ['z1', g1, c1], outputs: ['n1'], attrs: { axis: { i: -1 } } },
    { op: 'Relu', inputs: ['n1'], outputs: ['a1'] },
    { op: 'MatMul', inputs: ['a1', 'W2'], outputs: ['z2'] },
    { op: 'LayerNormalization', inputs: ['z2', g2, c2], outputs: ['n2'], attrs: { axis: { i: -1 } } },
    { op: 'MatMul', inputs: ['n2', 'W3'], outputs: ['y'] },
  ];
  const io = { opset: 17, inputs: [{ name: 'x', shape: ['N', d] }], outputs: [{ name: 'y', shape: ['N', k] }] };
  const a = buildModel({
    ...io,
    initializers: [{ name: 'W1', dims: [d, h], data: W1 }, { name: 'g', dims: [h], data: g }, { name: 'c', dims: [h], data: c }, { name: 'W2', dims: [h, h], data: W2 }, { name: 'W3', dims: [h, k], data: W3 }],
    nodes: nodes('g', 'c', 'g', 'c'),
  });
  // B: hidden layer 1's unit i is A's p[i], layer 2's unit j is A's q[j].
  const b = buildModel({
    ...io,
    initializers: [
      { name: 'W1', dims: [d, h], data: Array.from({ length: d * h }, (_, i) => W1[Math.floor(i / h) * h + p[i % h]]) },
      { name: 'g1', dims: [h], data: p.map((i) => g[i]) }, { name: 'c1', dims: [h], data: p.map((i) => c[i]) },
      { name: 'W2', dims: [h, h], data: Array.from({ length: h * h }, (_, i) => W2[p[Math.floor(i / h)] * h + q[i % h]]) },
      { name: 'g2', dims: [h], data: q.map((i) => g[i]) }, { name: 'c2', dims: [h], data: q.map((i) => c[i]) },
      { name: 'W3', dims: [h, k], data: Array.from({ length: h * k }, (_, i) => W3[q[Math.floor(i / k)] * k + (i % k)]) },
    ],
    nodes: nodes('g1', 'c1', 'g2', 'c2'),
  });
  const x = new ort.Tensor('float32', Float32Array.from(rand(6 * d)), [6, d]);
  for (const [from, onto, label] of [[b, a, 'B (separate) onto A (shared)'], [a, b, 'A (shared) onto B (separate)']] as const) {
    const r = await weightDistance(onto, from, { methods: ['canonical', 'aligned'] });
    t.ok(r.aligned!.relative <= 1e-6, `${label}: aligned relative ${r.aligned!.relative}`);
    t.ok(r.canonical!.relative <= 1e-6, `${label}: canonical relative ${r.canonical!.relative}`);
    const y = await run(from, { x });
    for (const m of [r.models.aligned!, r.models.canonical!]) {
      t.ok(meanJs(y, await run(m, { x }), k) <= 1e-9, `${label}: the written model computes the same function`);
      const norms = graphOf(readOnnx(m)).node.filter((n) => n.opType === 'LayerNormalization');
      t.not(norms[0].input![1], norms[1].input![1], `${label}: each norm reads its own scale`);
    }
  }
});
