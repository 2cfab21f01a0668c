/**
 * The canonical form held as stored weights + unit factors + orders (lib/weights/canonical-stream.ts)
 * must give the canonical distance the in-place code gives (canonicalizeNetwork on both
 * networks, then every tensor pair), bit for bit: the replayed layers are the same float64
 * operations in the same order. That in-place path is itself checked against numpy
 * references in weights-numbers and weights tests.
 */
import path from 'node:path';
import t, { type Test } from 'tap';

import { type OnnxModel, readOnnx } from '../lib/io/onnx';
import { checkSameArchitecture, networkPairs } from '../lib/weights/architecture';
import { canonicalForm, canonicalFormDistance, isPlainChain } from '../lib/weights/canonical-stream';
import { weightDistances } from '../lib/weights/distance';
import { buildNetwork } from '../lib/weights/graph';
import { weightDistance } from '../lib/weights';
import type { SortKey } from '../lib/weights/kernels';
import { canonicalizeNetwork } from '../lib/weights/symmetry';
import { convBytes, createRng, mlpBytes, randomConvNet, randomDense, randomPerm, randomResMlp, resMlpBytes, transformHidden } from './helpers/onnx-models';

const digits = (f: string) => path.join(__dirname, '..', 'examples', 'digits', f);

function inPlace(a: OnnxModel, b: OnnxModel, key?: SortKey) {
  const [na, nb] = [buildNetwork(a), buildNetwork(b)];
  checkSameArchitecture(na, nb);
  canonicalizeNetwork(na, key);
  canonicalizeNetwork(nb, key);
  return weightDistances(networkPairs(na, nb));
}

function streamed(t: Test, a: OnnxModel, b: OnnxModel, key?: SortKey) {
  const [na, nb] = [buildNetwork(a), buildNetwork(b)];
  t.ok(isPlainChain(na) && isPlainChain(nb), 'a plain chain');
  const [fa, fb] = [canonicalForm(na, a, key), canonicalForm(nb, b, key)];
  t.ok(na.layers.every((l) => l.W.length === 0), "the network's float64 weights are stripped");
  return { distance: canonicalFormDistance(fa, fb), held: fa.weights.map((w) => w.held) };
}

t.test('MLPs read from files: equal to the in-place canonical distance, weights re-read from the file', async (t) => {
  for (const [a, b] of [['mlp_relu_seed0.onnx', 'mlp_relu_seed1.onnx'], ['mlp_relu_seed1.onnx', 'mlp_relu_seed1_permuted.onnx'], ['mlp_tanh_seed0.onnx', 'mlp_tanh_seed1.onnx']]) {
    const [ma, mb] = [readOnnx(digits(a)), readOnnx(digits(b))];
    const { distance, held } = streamed(t, ma, mb);
    t.same(distance, inPlace(ma, mb), `${a} vs ${b}`);
    t.ok(held.every((h) => h === 'file'), `${a}: every layer re-read from the file (${held})`);
  }
});

t.test('every sort key, and exactly tied keys broken by the upstream order', async (t) => {
  const rng = createRng(41);
  const A = randomDense(rng, [5, 8, 6, 3]);
  // Rows of the first layer equal up to order: their out-norm keys tie exactly.
  A[0].W.set(A[0].W.subarray(0, 5), 5);
  A[0].b[1] = A[0].b[0];
  const B = transformHidden(transformHidden(A, 0, randomPerm(rng, 8), Array.from({ length: 8 }, () => 0.5 + rng.float())), 1, randomPerm(rng, 6), Array.from({ length: 6 }, () => 0.5 + rng.float()));
  const [ma, mb] = [readOnnx(mlpBytes(A, 'relu')), readOnnx(mlpBytes(B, 'relu'))];
  for (const key of ['out-norm', 'bias', 'in-l1', 'first-weight'] as const) t.same(streamed(t, ma, mb, key).distance, inPlace(ma, mb, key), key);
  const C = randomDense(rng, [5, 8, 6, 3]);
  const mc = readOnnx(mlpBytes(C, 'tanh', true));
  const md = readOnnx(mlpBytes(randomDense(rng, [5, 8, 6, 3]), 'tanh', true));
  const { distance, held } = streamed(t, mc, md);
  t.same(distance, inPlace(mc, md), 'MatMul layers (stored transposed), sign symmetry');
  t.same(held, ['float32', 'float32', 'float32'], 'a transposed float32 layer is held as float32');
});

t.test('conv nets: BatchNorm folded (held in float64), pools and Flatten blocks', async (t) => {
  const rng = createRng(42);
  const [a, b] = [readOnnx(convBytes(randomConvNet(rng))), readOnnx(convBytes(randomConvNet(rng)))];
  const { distance, held } = streamed(t, a, b);
  t.same(distance, inPlace(a, b));
  t.same(held, ['float64', 'file', 'file'], 'the folded conv is float64, the others are read again');
  const [c, d] = [readOnnx(digits('cnn_seed0.onnx')), readOnnx(digits('cnn_seed1.onnx'))];
  if (isPlainChain(buildNetwork(c))) t.same(streamed(t, c, d).distance, inPlace(c, d), 'the example CNN');
});

t.test('residual networks and grouped convs are not plain chains', async (t) => {
  const net = buildNetwork(readOnnx(resMlpBytes(randomResMlp(createRng(43)))));
  t.equal(isPlainChain(net), false);
  t.equal(isPlainChain(buildNetwork(readOnnx(digits('mlp_relu_seed0.onnx')))), true);
  // A chain of grouped convs sorts its units as blocks (unit-blocks.ts), not one group at a time.
  const gconv = buildNetwork(readOnnx(path.join(__dirname, 'fixtures', 'convrnn', 'gconv-ts13-s0.onnx')));
  t.ok(gconv.hidden.some((id) => gconv.groups[id].family !== undefined), 'the fixture has a grouped-conv family');
  t.equal(isPlainChain(gconv), false, 'grouped convs');
});

t.test('forms of different architectures are refused', async (t) => {
  const rng = createRng(44);
  const a = readOnnx(mlpBytes(randomDense(rng, [5, 8, 3]), 'relu'));
  const b = readOnnx(mlpBytes(randomDense(rng, [5, 7, 3]), 'relu'));
  const [na, nb] = [buildNetwork(a), buildNetwork(b)];
  t.throws(() => canonicalFormDistance(canonicalForm(na, a), canonicalForm(nb, b)), { code: 'ARCHITECTURE_MISMATCH' });
});

t.test('weightDistance: a plain chain against a residual network of the same layers is an architecture mismatch', async (t) => {
  const rng = createRng(45);
  const res = randomResMlp(rng);
  // The same four layer shapes, wired as a chain (no residual Add).
  const chain = randomDense(rng, [res.d, res.h, res.k, res.h, res.o]);
  const err = await weightDistance(mlpBytes(chain, 'relu'), resMlpBytes(res), { methods: ['canonical'] }).catch((e: unknown) => e);
  t.match(err, { code: 'ARCHITECTURE_MISMATCH', message: /wired differently|hidden layers differ/ });
  const errBack = await weightDistance(resMlpBytes(res), mlpBytes(chain, 'relu'), { methods: ['canonical'] }).catch((e: unknown) => e);
  t.match(errBack, { code: 'ARCHITECTURE_MISMATCH', message: /wired differently|hidden layers differ/ });
});
