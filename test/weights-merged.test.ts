/**
 * An exporter that merges identical constants (TorchScript dedups the zero
 * biases of a fresh network) gives one model a single initializer read by two
 * layers where another export of the architecture has one per layer. The
 * merged tensor is tied: raw pairs it with each layer's own tensor (by where
 * the graph reads it) and counts it once per layer, instead of stopping with
 * "no counterpart"; canonical and aligned give each layer its own copy.
 */
import t from 'tap';
import { onnx } from 'onnx-proto';

import { createRng } from '../lib/util/rng';
import { weightDistance } from '../lib/weights';
import { buildModel } from './helpers/onnx-builder';
import { maxAbsDiff, randomInput, runModel } from './helpers/onnx-models';

const rng = createRng(90);
const normal = (n: number) => Array.from({ length: n }, () => rng.normal());
const W1 = normal(12);
const W2 = normal(16);
const W3 = normal(8);
const b3 = normal(2);

/** 3 → 4 → 4 → 2 ReLU MLP; `merged`: both hidden layers read one bias initializer. */
function mlp(merged: boolean, b1: number[], b2: number[], extraNode = false): Uint8Array {
  return buildModel({
    inputs: [{ name: 'x', shape: ['N', 3] }],
    outputs: [{ name: 'y', shape: ['N', 2] }],
    initializers: [
      { name: 'W1', dims: [4, 3], data: W1 }, { name: 'W2', dims: [4, 4], data: W2 }, { name: 'W3', dims: [2, 4], data: W3 }, { name: 'b3', dims: [2], data: b3 },
      ...(merged ? [{ name: 'zeros', dims: [4], data: b1 }] : [{ name: 'b1', dims: [4], data: b1 }, { name: 'b2', dims: [4], data: b2 }]),
    ],
    nodes: [
      ...(extraNode ? [{ op: 'Identity', inputs: ['x'], outputs: ['x0'] }] : []),
      { op: 'Gemm', inputs: [extraNode ? 'x0' : 'x', 'W1', merged ? 'zeros' : 'b1'], outputs: ['h1'], attrs: { transB: { i: 1 } } },
      { op: 'Relu', inputs: ['h1'], outputs: ['a1'] },
      { op: 'Gemm', inputs: ['a1', 'W2', merged ? 'zeros' : 'b2'], outputs: ['h2'], attrs: { transB: { i: 1 } } },
      { op: 'Relu', inputs: ['h2'], outputs: ['a2'] },
      { op: 'Gemm', inputs: ['a2', 'W3', 'b3'], outputs: ['y'], attrs: { transB: { i: 1 } } },
    ],
  });
}

t.test('a merged initializer is tied: raw pairs it once per layer reading it', async (t) => {
  const [b1, b2] = [normal(4), normal(4)];
  const fresh = mlp(true, [0, 0, 0, 0], []);
  const trained = mlp(false, b1, b2);
  // Reference: the weights are equal except the biases; the zeros are counted for each layer.
  const l2 = Math.sqrt([...b1, ...b2].reduce((s, v) => s + v * v, 0));
  const normFresh = Math.sqrt([...W1, ...W2, ...W3, ...b3].reduce((s, v) => s + v * v, 0));
  const normTrained = Math.sqrt([...W1, ...W2, ...W3, ...b3, ...b1, ...b2].reduce((s, v) => s + v * v, 0));
  for (const [a, b, names] of [[fresh, trained, ['zeros / b1', 'zeros / b2']], [trained, fresh, ['b1 / zeros', 'b2 / zeros']]] as const) {
    const r = await weightDistance(a, b);
    t.equal(r.notes, undefined, 'raw is not skipped');
    t.ok(Math.abs(r.raw!.l2 - l2) <= 1e-6 * l2, `raw L2 ${r.raw!.l2} = ${l2}`);
    t.ok(Math.abs(r.raw!.relative - l2 / Math.sqrt(normFresh * normTrained)) <= 1e-6, `relative ${r.raw!.relative}`);
    t.same(r.raw!.layers.map((l) => l.name).filter((n) => n.includes('/')), names);
    t.ok(r.aligned!.relative <= r.raw!.relative + 1e-12, `aligned ${r.aligned!.relative} <= raw ${r.raw!.relative}`);
    const x = randomInput(rng, 5 * 3);
    const yb = await runModel(b, x, [5, 3]);
    for (const m of [r.models.canonical!, r.models.aligned!]) t.ok(maxAbsDiff(await runModel(m, x, [5, 3]), yb) <= 1e-5, 'written back computes B');
  }
});

t.test('graphs that read their weights at different places still need matching names', async (t) => {
  await t.rejects(weightDistance(mlp(true, [0, 0, 0, 0], []), mlp(false, normal(4), normal(4), true), { methods: ['raw'] }), {
    code: 'ARCHITECTURE_MISMATCH',
    message: /initializer b1 of <bytes> has no counterpart in <bytes>/,
  });
  // Paired by place, the shapes must still agree.
  const wide = onnx.ModelProto.decode(mlp(false, normal(4), normal(4)));
  wide.graph!.initializer!.find((i) => i.name === 'b1')!.dims = [1, 4];
  await t.rejects(weightDistance(mlp(true, [0, 0, 0, 0], []), onnx.ModelProto.encode(wide).finish(), { methods: ['raw'] }), {
    code: 'ARCHITECTURE_MISMATCH',
    message: /^initializers zeros and b1 have shape \[4\] in <bytes> but \[1,4\] in <bytes>$/,
  });
});
