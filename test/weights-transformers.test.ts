/**
 * Transformer symmetries derived from BERT, GPT-2 and Llama exports (both
 * torch exporters): a copy made in PyTorch with the residual stream (token,
 * position and tied embeddings, every block's projections, LayerNorm or
 * RMSNorm, the final norm and the head) and the MLP hidden units permuted
 * (SwiGLU's gate and up together; BERT's pooler also sign-flipped through
 * its Tanh) canonicalizes and aligns onto the original, and the rewritten
 * models compute B's function under onnxruntime. The ViT (torchvision):
 * patch Conv → [N, d, P] → Transpose, the class token concatenated as a
 * table, the positional table added, nn.MultiheadAttention's [S, N, d]
 * layout. Every copy also moves whole attention heads and permutes the dims
 * within them (weights-heads.test.ts has the rest). Also: what raw distance
 * counts in these exports (each parameter once).
 */
import path from 'node:path';
import { readFileSync } from 'node:fs';

import t from 'tap';
import * as ort from 'onnxruntime-node';

import { readArrays } from '../lib/io/array-file';
import { graphOf, readOnnx, tensorDims, tensorToFloat64 } from '../lib/io/onnx';
import { lossBarrier } from '../lib/path/barrier';
import { weightDistance } from '../lib/weights';
import { buildModel } from './helpers/onnx-builder';
import { createRng, maxAbs, maxAbsDiff, meanJs } from './helpers/onnx-models';

const FIXTURES = path.join(__dirname, 'fixtures', 'arch');
const probe = Object.fromEntries(readArrays(path.join(FIXTURES, 'probe-tokens.npz')).map(([name, x]) => [name!, x]));
const images = readArrays(path.join(FIXTURES, 'probe-image16.npz'))[0][1];

async function run(bytes: Uint8Array): Promise<Float32Array> {
  const s = await ort.InferenceSession.create(bytes);
  const feeds = Object.fromEntries(
    s.inputNames.map((n) => [n, n === 'x' ? new ort.Tensor('float32', images.data as Float32Array, images.shape) : new ort.Tensor('int64', probe[n].data as BigInt64Array, probe[n].shape)]),
  );
  const y = (await s.run(feeds))[s.outputNames[0]];
  await s.release();
  return y.data as Float32Array;
}

const EXPORTERS: Record<string, string> = { ts13: 'TorchScript exporter, opset 13', ts17: 'TorchScript exporter, opset 17', dyn18: 'dynamo exporter, opset 18' };

for (const arch of ['bert', 'gpt2', 'llama', 'vit']) {
  for (const exporter of [arch === 'vit' ? 'ts17' : 'ts13', 'dyn18']) {
    t.test(`${arch} (${EXPORTERS[exporter]}): stream- and head-permuted copy, write-back`, async (t) => {
      const file = (s: string) => path.join(FIXTURES, `${arch}-${exporter}-${s}.onnx`);
      const a = readFileSync(file('s0'));
      const b = readFileSync(file('s0-perm'));
      const r = await weightDistance(a, b);
      t.ok(r.raw!.relative > 0.5, `raw relative ${r.raw!.relative}`);
      t.ok(r.canonical!.relative <= 1e-6, `canonical relative ${r.canonical!.relative}`);
      t.ok(r.aligned!.relative <= 1e-6, `aligned relative ${r.aligned!.relative}`);
      const stream = r.hidden!.find((h) => h.units === 16 && h.symmetry === 'permutation');
      t.ok(stream && stream.producers.length >= 5, `one residual-stream group with every writer (${stream?.producers.length})`);
      // Two blocks, each a Q/K and a V/O group of 2 heads × 8 dims (Llama's Q/K dims stay: rotary).
      t.same(
        r.hidden!.filter((h) => h.heads).map((h) => h.heads),
        [0, 1].flatMap(() => [{ count: 2, dim: 8, role: 'qk', ...(arch === 'llama' && { pairsFixed: true, rotaryPairs: true }) }, { count: 2, dim: 8, role: 'vo' }]),
        'attention heads found in both blocks',
      );
      t.notOk(r.notes?.some((n) => n.includes('attention')), 'every attention was followed');
      const yb = await run(b);
      const k = arch === 'bert' || arch === 'vit' ? 5 : 50;
      for (const [name, m] of [['canonical', r.models.canonical!], ['aligned', r.models.aligned!]] as const) {
        const js = meanJs(yb, await run(m), k);
        t.ok(js <= 1e-9, `${name} written back computes B's function: JS ${js}`);
      }
      if (exporter === 'dyn18') return;
      const other = await weightDistance(a, readFileSync(file('s1')), { methods: ['raw', 'aligned'] });
      t.ok(other.aligned!.relative < other.raw!.relative, `two seeds: aligned ${other.aligned!.relative} < raw ${other.raw!.relative}`);
      if (arch !== 'bert') return;
      const ya = await run(a);
      const labels = Int32Array.from({ length: ya.length / k }, (_, i) => {
        const row = Array.from(ya.subarray(i * k, (i + 1) * k));
        return row.indexOf(Math.max(...row));
      });
      const barrier = await lossBarrier(a, file('s1'), { data: probe, labels, steps: 3, align: 'weights' });
      t.ok(Number.isFinite(barrier.aligned!.lossBarrier), `barrier with weight alignment runs: ${barrier.aligned!.lossBarrier} (naive ${barrier.naive.lossBarrier})`);
    });
  }
}

/**
 * A hand-built block: Gather embedding → SimplifiedLayerNormalization →
 * MatMul → Relu → MatMul → residual Add → LayerNormalization → head, on
 * [N, S, d]. Its copy permutes the stream and the hidden units (rescaled too:
 * Relu is positively homogeneous) by index arithmetic.
 */
t.test('fused norms (SimplifiedLayerNormalization, LayerNormalization) around a Relu MLP: permuted, rescaled copy ≈ 0, same function', async (t) => {
  const rng = createRng(77);
  const [V, d, h, S] = [6, 4, 5, 3];
  const rand = (n: number, shift = 0) => Array.from({ length: n }, () => shift + rng.normal());
  const E = rand(V * d);
  const g1 = rand(d, 1);
  const W1 = rand(d * h);
  const W2 = rand(h * d);
  const g2 = rand(d, 1);
  const b2 = rand(d);
  const H = rand(d * V);
  const p = [2, 0, 3, 1];
  const q = [4, 2, 0, 1, 3];
  const s = [0.5, 2, 1.5, 0.25, 3];
  const model = (e: number[], n1: number[], w1: number[], w2: number[], n2: number[], c2: number[], head: number[]) =>
    buildModel({
      opset: 17,
      inputs: [{ name: 'ids', dtype: 'int64', shape: ['N', S] }],
      outputs: [{ name: 'y', shape: ['N', S, V] }],
      initializers: [
        { name: 'E', dims: [V, d], data: e }, { name: 'g1', dims: [d], data: n1 }, { name: 'W1', dims: [d, h], data: w1 },
        { name: 'W2', dims: [h, d], data: w2 }, { name: 'g2', dims: [d], data: n2 }, { name: 'b2', dims: [d], data: c2 }, { name: 'H', dims: [d, V], data: head },
      ],
      nodes: [
        { op: 'Gather', inputs: ['E', 'ids'], outputs: ['e'] },
        { op: 'SimplifiedLayerNormalization', inputs: ['e', 'g1'], outputs: ['n1'], attrs: { axis: { i: -1 }, epsilon: { f: 1e-5 } } },
        { op: 'MatMul', inputs: ['n1', 'W1'], outputs: ['z'] },
        { op: 'Relu', inputs: ['z'], outputs: ['a'] },
        { op: 'MatMul', inputs: ['a', 'W2'], outputs: ['m'] },
        { op: 'Add', inputs: ['e', 'm'], outputs: ['r'] },
        { op: 'LayerNormalization', inputs: ['r', 'g2', 'b2'], outputs: ['n2'], attrs: { axis: { i: -1 } } },
        { op: 'MatMul', inputs: ['n2', 'H'], outputs: ['y'] },
      ],
    });
  const a = model(E, g1, W1, W2, g2, b2, H);
  // New stream unit i = old p[i]; new hidden unit j = old q[j], scaled by s[j] (in) and 1/s[j] (out).
  const b = model(
    Array.from({ length: V * d }, (_, k) => E[Math.floor(k / d) * d + p[k % d]]),
    p.map((i) => g1[i]),
    Array.from({ length: d * h }, (_, k) => W1[p[Math.floor(k / h)] * h + q[k % h]] * s[k % h]),
    Array.from({ length: h * d }, (_, k) => W2[q[Math.floor(k / d)] * d + p[k % d]] / s[Math.floor(k / d)]),
    p.map((i) => g2[i]),
    p.map((i) => b2[i]),
    Array.from({ length: d * V }, (_, k) => H[p[Math.floor(k / V)] * V + (k % V)]),
  );
  const r = await weightDistance(a, b);
  t.same(r.hidden!.map((x) => [x.units, x.symmetry]), [[d, 'permutation'], [h, 'permutation+scale']], 'the stream (permutation) and the Relu units (permutation + scale)');
  t.ok(r.raw!.relative > 0.3, `raw relative ${r.raw!.relative}`);
  t.ok(r.canonical!.relative <= 1e-6, `canonical relative ${r.canonical!.relative}`);
  t.ok(r.aligned!.relative <= 1e-6, `aligned relative ${r.aligned!.relative}`);
  const ids = BigInt64Array.from([0, 5, 2, 3, 1, 4, 4, 4, 0], (v) => BigInt(v));
  const runIds = async (bytes: Uint8Array) => {
    const session = await ort.InferenceSession.create(bytes);
    const y = (await session.run({ ids: new ort.Tensor('int64', ids, [3, S]) })).y.data as Float32Array;
    await session.release();
    return y;
  };
  const yb = await runIds(b);
  for (const [name, m] of [['canonical', r.models.canonical!], ['aligned', r.models.aligned!]] as const) {
    t.ok(maxAbsDiff(await runIds(m), yb) <= 1e-5 * Math.max(1, maxAbs(yb)), `${name} computes B's function`);
  }
  const badAxis = buildModel({
    opset: 17,
    inputs: [{ name: 'ids', dtype: 'int64', shape: ['N', S] }],
    outputs: [{ name: 'y', shape: ['N', S, V] }],
    initializers: [{ name: 'E', dims: [V, d], data: E }, { name: 'g', dims: [S], data: rand(S, 1) }, { name: 'H', dims: [d, V], data: H }],
    nodes: [
      { op: 'Gather', inputs: ['E', 'ids'], outputs: ['e'] },
      { op: 'LayerNormalization', inputs: ['e', 'g'], outputs: ['n'], attrs: { axis: { i: 1 } } },
      { op: 'MatMul', inputs: ['n', 'H'], outputs: ['y'] },
    ],
  });
  await t.rejects(weightDistance(badAxis, badAxis, { methods: ['canonical'] }), {
    code: 'UNSUPPORTED_GRAPH',
    message: /at LayerNormalization .*only LayerNormalization over the last \(unit\) axis .* still work/,
  });
});

t.test('transformer patterns that cannot be followed stop with UNSUPPORTED_GRAPH naming the node', async (t) => {
  const rng = createRng(78);
  const [V, d, S] = [6, 4, 3];
  const rand = (n: number) => Array.from({ length: n }, () => rng.normal());
  /** ids → Gather(E) → e [N, S, d] → nodes → 'y'. */
  const withTail = (nodes: Parameters<typeof buildModel>[0]['nodes'], inits: Parameters<typeof buildModel>[0]['initializers'] = []) =>
    buildModel({
      opset: 17,
      inputs: [{ name: 'ids', dtype: 'int64', shape: ['N', S] }],
      outputs: [{ name: 'y', shape: ['N', S, d] }],
      initializers: [{ name: 'E', dims: [V, d], data: rand(V * d) }, { name: 'W', dims: [d, d], data: rand(d * d) }, ...(inits ?? [])],
      nodes: [{ op: 'Gather', inputs: ['E', 'ids'], outputs: ['e'] }, { op: 'MatMul', inputs: ['e', 'W'], outputs: ['h'] }, ...nodes],
    });
  const cases: Array<[string, Uint8Array, RegExp]> = [
    ['a Split along positions', withTail([{ op: 'Split', name: 'sp', inputs: ['h'], outputs: ['y', 'z'], attrs: { axis: { i: 1 } } }]), /Split node "sp".*only a Split of the unit axis/],
    [
      'a Gather of hidden units',
      withTail([{ op: 'Gather', name: 'pick', inputs: ['h', 'i0'], outputs: ['y'], attrs: { axis: { i: 2 } } }], [{ name: 'i0', dims: [], data: [0n], dtype: 'int64' }]),
      /Gather node "pick".*gathers hidden units/,
    ],
    [
      'an embedding looked up by indices computed from hidden units',
      withTail([
        { op: 'Cast', inputs: ['h'], outputs: ['hi'], attrs: { to: { i: 7 } } },
        { op: 'Gather', name: 'lookup', inputs: ['E2', 'hi'], outputs: ['y'] },
      ], [{ name: 'E2', dims: [V, d], data: rand(V * d) }]),
      /Gather node "lookup".*indices computed from hidden units/,
    ],
  ];
  for (const [name, model, message] of cases) {
    await t.rejects(weightDistance(model, model, { methods: ['canonical'] }), { code: 'UNSUPPORTED_GRAPH', message }, name);
  }
});

// Raw distances count each learned parameter once: not the rotary cos/sin tables the dynamo
// exporter folds into initializers (recomputed here from RoPE's closed form), and not the
// transposed copy of GPT-2's tied token table both exporters store for the LM head (found here
// by comparing values).

const file = (name: string) => path.join(FIXTURES, `${name}.onnx`);

/** The names raw distance counted, and the number of values behind them. */
async function counted(a: string, b: string) {
  const r = await weightDistance(file(a), file(b), { methods: ['raw'] });
  const names = r.raw!.layers.map((l) => l.name);
  const inits = new Map(graphOf(readOnnx(file(a))).initializer.map((x) => [x.name ?? '', x]));
  const values = names.reduce((n, name) => n + tensorToFloat64(inits.get(name)!).length, 0);
  return { names, values, inits, relative: r.raw!.relative };
}

t.test('Llama (dynamo): the folded rotary cos/sin tables are not counted; both exporters count the same parameters', async (t) => {
  // RoPE with head_dim 8, base 10000, 8 positions: angle(p, i) = p · 10000^(−2(i mod 4)/8), on [1, 1, 8, 8].
  const angle = (p: number, i: number) => p * 10000 ** (-(2 * (i % 4)) / 8);
  const table = (f: (a: number) => number) => Float64Array.from({ length: 64 }, (_, k) => f(angle(Math.floor(k / 8), k % 8)));
  const cos = table(Math.cos);
  const sin = table(Math.sin);
  const dyn = await counted('llama-dyn18-s0', 'llama-dyn18-s0-perm');
  const rotary = [...dyn.inits.values()].filter((x) => {
    const v = tensorToFloat64(x);
    return v.length === 64 && [cos, sin].some((ref) => v.every((y, k) => Math.abs(y - ref[k]) < 1e-6));
  });
  t.equal(rotary.length, 2, `the export holds the cos and sin tables (${rotary.map((x) => x.name)})`);
  for (const x of rotary) t.notOk(dyn.names.includes(x.name ?? ''), `${x.name} is not counted`);
  // LlamaForCausalLM(vocab 50, hidden 16, intermediate 32, 2 layers, untied head): 50·16 + 2·(4·16² + 3·16·32 + 2·16) + 16 + 16·50.
  const params = 50 * 16 + 2 * (4 * 16 * 16 + 3 * 16 * 32 + 2 * 16) + 16 + 16 * 50;
  t.equal(dyn.values, params, 'dynamo export: the model parameters, each once');
  const ts = await counted('llama-ts13-s0', 'llama-ts13-s0-perm');
  t.equal(ts.values, params, 'TorchScript export: the same count');
});

for (const exporter of ['ts13', 'dyn18']) {
  t.test(`GPT-2 (${exporter}): the LM head's copy of the tied token table is counted once`, async (t) => {
    const c = await counted(`gpt2-${exporter}-s0`, `gpt2-${exporter}-s0-perm`);
    const inits = [...c.inits.values()];
    const table = inits.find((x) => tensorDims(x).join() === '50,16')!;
    const tv = tensorToFloat64(table);
    const copy = inits.find((x) => {
      if (tensorDims(x).join() !== '16,50') return false;
      const v = tensorToFloat64(x);
      return v.every((y, k) => y === tv[(k % 50) * 16 + Math.floor(k / 50)]);
    });
    t.ok(copy, `the export stores the table [50, 16] (${table.name}) again transposed for the head (${copy?.name})`);
    t.ok(c.names.includes(table.name ?? ''), 'the table is counted');
    t.notOk(c.names.includes(copy?.name ?? ''), 'its transposed copy is not');
    t.ok(c.relative > 0.5, `a permuted copy is still far apart raw (${c.relative})`);
  });
}
