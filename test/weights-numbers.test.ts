/**
 * Weight distances that were silently wrong:
 * - what is counted: float initializers feeding weighted ops and weights
 *   held in ai.onnx.ml attributes; never scalars, mask fills or masks (a
 *   -3.4e38 fill counted as a weight made two different transformers look
 *   identical). References are computed by hand from the tensors counted;
 * - canonical form at ties: units whose sort keys agree within float32
 *   rounding are ordered by secondary keys, so an exact permuted and
 *   rescaled copy (stored in float32) canonicalizes onto the original.
 *   Before, float32 noise decided the order of tied units (VGG11 vs its
 *   permuted copy: canonical relative distance 0.049).
 */
import path from 'node:path';

import t from 'tap';

import { readOnnx } from '../lib/io/onnx';
import { weightDistance } from '../lib/weights';
import { countedWeights } from '../lib/weights/counted';
import { type TensorInit, buildModel } from './helpers/onnx-builder';
import { errorOf } from './helpers/errors';
import { createRng, mlpBytes, randomDense, transformHidden } from './helpers/onnx-models';

const FILL = -3.4028234663852886e38;

/** Relative distance ‖a−b‖/sqrt(‖a‖‖b‖) over the concatenated tensors, the reference for the library's number. */
function relative(a: number[][], b: number[][]): number {
  let dd = 0;
  let aa = 0;
  let bb = 0;
  a.forEach((ta, i) => ta.forEach((x, k) => {
    const y = b[i][k];
    dd += (x - y) ** 2;
    aa += x * x;
    bb += y * y;
  }));
  return Math.sqrt(dd) / Math.sqrt(Math.sqrt(aa) * Math.sqrt(bb));
}

/**
 * A tiny attention-like model as the dynamo exporter writes it: token and
 * positional embeddings (the positions built from a constant), an fp64
 * weight behind a Cast, a MatMul + bias, a LayerNorm-like scale, a scalar
 * scale, a causal mask [2, 2] of 0 / -3.4e38 added to scores, and a
 * Where with a scalar fill.
 */
function transformerish(w: number[], emb: number[], pos: number[], gamma: number[]): Uint8Array {
  const inits: TensorInit[] = [
    { name: 'emb', dims: [3, 2], data: emb },
    { name: 'pos', dims: [2, 2], data: pos },
    { name: 'positions', dims: [2], data: [0, 1], dtype: 'int64' },
    { name: 'w64', dims: [2, 2], data: w, dtype: 'float64' },
    { name: 'bias', dims: [2], data: [0.5, -0.25] },
    { name: 'gamma', dims: [2], data: gamma },
    { name: 'scale', dims: [], data: [0.7071] },
    { name: 'mask', dims: [2, 2], data: [0, FILL, 0, 0] },
    { name: 'fill', dims: [], data: [FILL] },
    { name: 'keep', dims: [2, 2], data: [1, 0, 1, 1], dtype: 'int64' },
  ];
  return buildModel({
    inputs: [{ name: 'ids', dtype: 'int64', shape: [2] }],
    outputs: [{ name: 'y', shape: [2, 2] }],
    initializers: inits,
    nodes: [
      { op: 'Gather', inputs: ['emb', 'ids'], outputs: ['tok'] },
      { op: 'Gather', inputs: ['pos', 'positions'], outputs: ['p'] },
      { op: 'Add', inputs: ['tok', 'p'], outputs: ['h'] },
      { op: 'Cast', inputs: ['w64'], outputs: ['w'], attrs: { to: { i: 1 } } },
      { op: 'MatMul', inputs: ['h', 'w'], outputs: ['m'] },
      { op: 'Add', inputs: ['m', 'bias'], outputs: ['mb'] },
      { op: 'Mul', inputs: ['mb', 'gamma'], outputs: ['g'] },
      { op: 'Mul', inputs: ['g', 'scale'], outputs: ['s'] },
      { op: 'Add', inputs: ['s', 'mask'], outputs: ['masked'] },
      { op: 'Cast', inputs: ['keep'], outputs: ['cond'], attrs: { to: { i: 9 } } },
      { op: 'Where', inputs: ['cond', 'masked', 'fill'], outputs: ['y'] },
    ],
  });
}

t.test('a transformer-like graph: embeddings, Cast weight, bias and norm scale counted; scalars, the mask and the fill are not', async (t) => {
  const wA = [0.3, -1.2, 0.8, 0.1];
  const wB = [0.31, -1.1, 0.7, 0.2];
  const emb = [0.1, 0.2, 0.3, -0.4, 0.5, 0.6];
  const embB = [0.1, 0.25, 0.3, -0.4, 0.5, 0.6];
  const pos = [1, 2, 3, 4];
  const gamma = [1, 1];
  const a = transformerish(wA, emb, pos, gamma);
  const b = transformerish(wB, embB, pos, gamma);
  t.same(countedWeights(readOnnx(a)).initializers, ['emb', 'pos', 'w64', 'bias', 'gamma']);
  const r = await weightDistance(a, b, { methods: ['raw'] });
  t.same(r.raw!.layers.map((l) => l.name), ['emb', 'pos', 'w64', 'bias', 'gamma'], 'the per-tensor list is what was counted');
  const bias = [0.5, -0.25];
  const expected = relative([emb, pos, wA, bias, gamma], [embB, pos, wB, bias, gamma]);
  t.ok(Math.abs(r.raw!.relative - expected) <= 1e-6 * expected, `relative ${r.raw!.relative} vs reference ${expected}`);
  t.ok(r.raw!.relative > 0.01, 'far from the 2.8e-38 a counted fill value gave');
});

/** A LogisticRegression in skl2onnx's layout: weights in LinearClassifier's attributes. */
function logistic(coefficients: number[], intercepts: number[], op = 'LinearClassifier', extra: Record<string, { floats: number[] }> = {}): Uint8Array {
  const bytes = buildModel({
    inputs: [{ name: 'x', shape: ['N', 2] }],
    outputs: [{ name: 'label', dtype: 'int64', shape: ['N'] }, { name: 'probabilities', shape: ['N', 2] }],
    nodes: [
      {
        op,
        domain: 'ai.onnx.ml',
        name: 'LinearClassifier',
        inputs: ['x'],
        outputs: ['label', 'probabilities'],
        attrs: { coefficients: { floats: coefficients }, intercepts: { floats: intercepts }, classlabels_ints: { ints: [0, 1] }, ...extra },
      },
    ],
  });
  return bytes;
}

t.test('LinearClassifier: coefficients and intercepts read from attributes, never a silent 0', async (t) => {
  const ca = [0.5, -1, -0.5, 1];
  const cb = [0.6, -1.1, -0.6, 1.1];
  const ia = [0.1, -0.1];
  const ib = [0.2, -0.2];
  const r = await weightDistance(logistic(ca, ia), logistic(cb, ib), { methods: ['raw'] });
  t.same(r.raw!.layers.map((l) => l.name), ['LinearClassifier.coefficients', 'LinearClassifier.intercepts']);
  const l2 = Math.sqrt([...ca.map((x, i) => x - cb[i]), ...ia.map((x, i) => x - ib[i])].reduce((s, d) => s + d * d, 0));
  t.ok(Math.abs(r.raw!.l2 - l2) <= 1e-6 * l2, `L2 ${r.raw!.l2} vs ${l2}`);
  const same = await weightDistance(logistic(ca, ia), logistic(ca, ia), { methods: ['raw'] });
  t.equal(same.raw!.l2, 0, 'identical weights: exactly 0');
});

t.test('a tree ensemble or a model without weights stops with an error naming it', async (t) => {
  const tree = logistic([1], [0], 'TreeEnsembleClassifier', { nodes_values: { floats: [0.5] } });
  const e = await errorOf(weightDistance(tree, tree, { methods: ['raw'] }));
  t.equal(e.code, 'UNSUPPORTED_GRAPH');
  t.match(e.message, /TreeEnsembleClassifier node "LinearClassifier" holds fitted parameters \(coefficients, intercepts, nodes_values\)/);
  const scalarOnly = buildModel({
    inputs: [{ name: 'x', shape: ['N', 2] }],
    outputs: [{ name: 'y', shape: ['N', 2] }],
    initializers: [{ name: 'two', dims: [], data: [2] }],
    nodes: [{ op: 'Mul', inputs: ['x', 'two'], outputs: ['y'] }],
  });
  const e2 = await errorOf(weightDistance(scalarOnly, scalarOnly, { methods: ['raw'] }));
  t.equal(e2.code, 'UNSUPPORTED_GRAPH');
  t.match(e2.message, /found no weights/);
});

t.test('units with exactly tied out-norm keys: a reversed, rescaled float32 copy is canonically ≤ 1e-6 away', async (t) => {
  const rng = createRng(5);
  const [L0, L1] = randomDense(rng, [4, 6, 3]);
  // Unit 1 is unit 0 with two incoming weights swapped and two outgoing rows swapped: same norms, same bias.
  L0.b[1] = L0.b[0];
  for (let k = 0; k < 4; k++) L0.W[4 + k] = L0.W[k];
  [L0.W[4], L0.W[5]] = [L0.W[1], L0.W[0]];
  for (let o = 0; o < 3; o++) L1.W[o * 6 + 1] = L1.W[((o + 1) % 3) * 6];
  const reversed = [5, 4, 3, 2, 1, 0];
  const factors = Array.from({ length: 6 }, () => Math.exp(2 * rng.float() - 1));
  const A = [L0, L1];
  const B = transformHidden(A, 0, reversed, factors);
  const r = await weightDistance(mlpBytes(A, 'relu'), mlpBytes(B, 'relu'), { methods: ['raw', 'canonical'] });
  t.ok(r.raw!.relative > 0.3, `raw relative ${r.raw!.relative}: the copy is far as stored`);
  t.ok(r.canonical!.relative <= 1e-6, `canonical relative ${r.canonical!.relative}`);
});

t.test('every sort key gives ≤ 1e-6 on permuted, rescaled copies of a wider net with many near-ties', async (t) => {
  const rng = createRng(9);
  // Weights on a coarse grid make many units share each key exactly (bias, first weight, in-l1, out-norm).
  const grid = (v: number) => Math.round(v * 2) / 2;
  const A = randomDense(rng, [5, 24, 16, 3]).map((l) => ({ ...l, W: l.W.map(grid), b: l.b.map(() => 0.25) }));
  let B = transformHidden(A, 0, rng.shuffle(Array.from({ length: 24 }, (_, i) => i)), Array.from({ length: 24 }, () => Math.exp(rng.float())));
  B = transformHidden(B, 1, rng.shuffle(Array.from({ length: 16 }, (_, i) => i)), Array.from({ length: 16 }, () => Math.exp(rng.float())));
  for (const sortKey of ['out-norm', 'bias', 'in-l1', 'first-weight'] as const) {
    const r = await weightDistance(mlpBytes(A, 'relu'), mlpBytes(B, 'relu'), { methods: ['canonical'], sortKey });
    t.ok(r.canonical!.relative <= 1e-6, `${sortKey}: canonical relative ${r.canonical!.relative}`);
  }
});

t.test('a Scaler → SVMRegressor pipeline: fitted attributes of both read as weights', async (t) => {
  const svm = (sv: number[], coef: number[], rho: number, offset: number[]) =>
    buildModel({
      inputs: [{ name: 'x', shape: ['N', 2] }],
      outputs: [{ name: 'y', shape: ['N', 1] }],
      nodes: [
        { op: 'Scaler', domain: 'ai.onnx.ml', name: 'scaler', inputs: ['x'], outputs: ['s'], attrs: { offset: { floats: offset }, scale: { floats: [1, 2] } } },
        { op: 'SVMRegressor', domain: 'ai.onnx.ml', name: 'svr', inputs: ['s'], outputs: ['y'], attrs: { support_vectors: { floats: sv }, coefficients: { floats: coef }, rho: { floats: [rho] }, n_supports: { i: 2 } } },
      ],
    });
  const r = await weightDistance(svm([1, 2, 3, 4], [0.5, -0.5], 0.1, [0, 0]), svm([1, 2, 3, 5], [0.5, -0.5], 0.3, [0, 1]), { methods: ['raw'] });
  t.same(r.raw!.layers.map((l) => l.name), ['scaler.offset', 'scaler.scale', 'svr.coefficients', 'svr.support_vectors', 'svr.rho']);
  t.ok(Math.abs(r.raw!.l2 - Math.sqrt(1 + 1 + 0.04)) < 1e-6, `L2 ${r.raw!.l2}`);
});

t.test('BERT and GPT-2 dynamo exports: the -3.4e38 mask fill is not a weight, so a permuted copy is far in raw distance', async (t) => {
  for (const arch of ['bert', 'gpt2']) {
    const file = (s: string) => path.join(__dirname, 'fixtures', 'arch', `${arch}-dyn18-${s}.onnx`);
    const r = await weightDistance(file('s0'), file('s0-perm'), { methods: ['raw'] });
    t.ok(r.raw!.relative > 0.5, `${arch}: raw relative ${r.raw!.relative} (2.8e-38 while the fill was counted)`);
    t.notOk(r.raw!.layers.some((l) => l.size === 1), `${arch}: no scalar among the ${r.raw!.layers.length} tensors counted`);
  }
});
