/**
 * Symmetry derivation for the activation and reshaping patterns exporters
 * produce, and UNSUPPORTED_GRAPH errors naming the blocking node. Where a
 * pattern is supported, the canonical rewrite must still compute the same
 * function under onnxruntime.
 */
import t from 'tap';

import { readOnnx } from '../lib/io/onnx';
import { canonicalize, weightDistance } from '../lib/weights';
import { buildNetwork } from '../lib/weights/graph';
import { type NodeSpec, type TensorInit, buildModel } from './helpers/onnx-builder';
import { createRng, maxAbs, maxAbsDiff, randomDense, randomInput, runModel } from './helpers/onnx-models';

const rng = createRng(31);
const [L0, L1] = randomDense(rng, [3, 5, 2]);
const base: TensorInit[] = [
  { name: 'W0', dims: [5, 3], data: L0.W },
  { name: 'b0', dims: [5], data: L0.b },
  { name: 'W1', dims: [2, 5], data: L1.W },
  { name: 'b1', dims: [2], data: L1.b },
];

/** x → Gemm → [activation nodes: 'z' → 'a'] → Gemm → y. */
function mlpWith(act: NodeSpec[], inits: TensorInit[] = [], tail: NodeSpec[] = []): Uint8Array {
  return buildModel({
    inputs: [{ name: 'x', shape: ['N', 3] }],
    outputs: [{ name: 'y', shape: ['N', 2] }],
    initializers: [...base, ...inits],
    nodes: [
      { op: 'Gemm', inputs: ['x', 'W0', 'b0'], outputs: ['z'], attrs: { transB: { i: 1 } } },
      ...act,
      { op: 'Gemm', inputs: ['a', 'W1', 'b1'], outputs: tail.length ? ['l'] : ['y'], attrs: { transB: { i: 1 } } },
      ...tail,
    ],
  });
}

const scalar = (name: string, v: number): TensorInit => ({ name, dims: [], data: [v] });

const supported: Array<[string, NodeSpec[], TensorInit[], { scale: boolean; sign: boolean }]> = [
  ['LeakyRelu', [{ op: 'LeakyRelu', inputs: ['z'], outputs: ['a'], attrs: { alpha: { f: 0.1 } } }], [], { scale: true, sign: false }],
  ['PRelu with one shared slope', [{ op: 'PRelu', inputs: ['z', 'slope'], outputs: ['a'] }], [{ name: 'slope', dims: [1], data: [0.2] }], { scale: true, sign: false }],
  ['Dropout + Identity + Relu', [{ op: 'Dropout', inputs: ['z'], outputs: ['d'] }, { op: 'Identity', inputs: ['d'], outputs: ['i'] }, { op: 'Relu', inputs: ['i'], outputs: ['a'] }], [], { scale: true, sign: false }],
  ['no activation (linear)', [{ op: 'Identity', inputs: ['z'], outputs: ['a'] }], [], { scale: true, sign: true }],
  ['Neg then Tanh', [{ op: 'Neg', inputs: ['z'], outputs: ['n'] }, { op: 'Tanh', inputs: ['n'], outputs: ['a'] }], [], { scale: false, sign: true }],
  ['Mul by a scalar, Div by a scalar, Add 0', [
    { op: 'Mul', inputs: ['z', 'two'], outputs: ['m'] },
    { op: 'Div', inputs: ['m', 'two'], outputs: ['d'] },
    { op: 'Add', inputs: ['d', 'zero'], outputs: ['a'] },
  ], [scalar('two', 2), scalar('zero', 0)], { scale: true, sign: true }],
  ['Gelu as exported (x·0.5·(1 + erf(x/√2)))', [
    { op: 'Div', inputs: ['z', 'sqrt2'], outputs: ['g1'] },
    { op: 'Erf', inputs: ['g1'], outputs: ['g2'] },
    { op: 'Add', inputs: ['g2', 'one'], outputs: ['g3'] },
    { op: 'Mul', inputs: ['z', 'g3'], outputs: ['g4'] },
    { op: 'Mul', inputs: ['g4', 'half'], outputs: ['a'] },
  ], [scalar('sqrt2', Math.SQRT2), scalar('one', 1), scalar('half', 0.5)], { scale: false, sign: false }],
  ['SiLU (x·sigmoid(x))', [{ op: 'Sigmoid', inputs: ['z'], outputs: ['s'] }, { op: 'Mul', inputs: ['z', 's'], outputs: ['a'] }], [], { scale: false, sign: false }],
  ['Softplus', [{ op: 'Softplus', inputs: ['z'], outputs: ['a'] }], [], { scale: false, sign: false }],
  ['Reshape to [-1, units] and [0, -1] (no-ops on 2-D)', [
    { op: 'Reshape', inputs: ['z', 'shapeA'], outputs: ['r1'] },
    { op: 'Reshape', inputs: ['r1', 'shapeB'], outputs: ['r2'] },
    { op: 'Relu', inputs: ['r2'], outputs: ['a'] },
  ], [{ name: 'shapeA', dims: [2], data: [-1, 5], dtype: 'int64' }, { name: 'shapeB', dims: [2], data: [0, -1], dtype: 'int64' }], { scale: true, sign: false }],
  ['BatchNorm after the activation (a per-unit affine, permuted with the units)', [
    { op: 'Relu', inputs: ['z'], outputs: ['r'] },
    { op: 'BatchNormalization', name: 'bn', inputs: ['r', 's', 'bb', 'm', 'v'], outputs: ['a'] },
  ], [
    { name: 's', dims: [5], data: [1.5, 0.5, -1, 2, 0.7] }, { name: 'bb', dims: [5], data: [0.1, -0.2, 0.3, 0, 0.5] },
    { name: 'm', dims: [5], data: [0.2, 0.1, 0, -0.3, 0.4] }, { name: 'v', dims: [5], data: [0.5, 1, 2, 0.8, 1.2] },
  ], { scale: false, sign: false }],
  ['Clip(0, ∞) is a ReLU', [{ op: 'Clip', inputs: ['z', 'zero'], outputs: ['a'] }], [scalar('zero', 0)], { scale: true, sign: false }],
  ['Clip(−1, 1) is odd', [{ op: 'Clip', inputs: ['z', 'm1', 'p1'], outputs: ['a'] }], [scalar('m1', -1), scalar('p1', 1)], { scale: false, sign: true }],
  ['ReLU6 (Clip(0, 6)) keeps only permutation', [{ op: 'Clip', inputs: ['z', 'zero', 'six'], outputs: ['a'] }], [scalar('zero', 0), scalar('six', 6)], { scale: false, sign: false }],
  ['a Constant node operand', [{ op: 'Constant', inputs: [], outputs: ['c3'], attrs: { value: { t: { name: 'c3', dims: [], data: [3] } } } }, { op: 'Mul', inputs: ['c3', 'z'], outputs: ['a'] }], [], { scale: true, sign: true }],
];

for (const [name, act, inits, caps] of supported) {
  t.test(`${name}: ${JSON.stringify(caps)}, canonical form computes the same function`, async (t) => {
    const bytes = mlpWith(act, inits);
    const net = buildNetwork(readOnnx(bytes));
    t.equal(net.hidden.length, 1);
    t.same(net.groups[net.hidden[0]].caps, caps);
    const x = randomInput(rng, 8 * 3);
    const y = await runModel(bytes, x, [8, 3]);
    const yc = await runModel(canonicalize(bytes), x, [8, 3]);
    t.ok(maxAbsDiff(y, yc) <= 1e-5 * Math.max(1, maxAbs(y)), `max diff ${maxAbsDiff(y, yc)}`);
  });
}

t.test('Softmax at the end keeps the output fixed; over the wrong axis it is refused', async (t) => {
  const ok = buildNetwork(readOnnx(mlpWith([{ op: 'Relu', inputs: ['z'], outputs: ['a'] }], [], [{ op: 'Softmax', inputs: ['l'], outputs: ['y'], attrs: { axis: { i: 1 } } }])));
  t.equal(ok.hidden.length, 1);
  t.throws(
    () => buildNetwork(readOnnx(mlpWith([{ op: 'Relu', inputs: ['z'], outputs: ['a'] }], [], [{ op: 'Softmax', name: 'sm', inputs: ['l'], outputs: ['y'], attrs: { axis: { i: 0 } } }]))),
    { code: 'UNSUPPORTED_GRAPH', message: /Softmax node "sm"/ },
  );
});

const unsupported: Array<[string, NodeSpec[], TensorInit[], RegExp]> = [
  ['PRelu with per-unit slopes', [{ op: 'PRelu', name: 'p', inputs: ['z', 'slope'], outputs: ['a'] }], [{ name: 'slope', dims: [5], data: [0.1, 0.2, 0.3, 0.4, 0.5] }], /PRelu node "p".*shared PRelu slope/],
  // (a per-unit Mul there is a channel-wise scale of the group, as a norm's; a per-unit Add with no scale before it is not)
  ['a per-unit Add after the activation', [{ op: 'Relu', inputs: ['z'], outputs: ['r'] }, { op: 'Add', name: 'shift', inputs: ['r', 'v'], outputs: ['a'] }], [{ name: 'v', dims: [5], data: [1, 2, 3, 4, 5] }], /Add node "shift".*per-element/],
  ['an unknown op', [{ op: 'TopK', name: 'tk', inputs: ['z', 'k'], outputs: ['a', 'idx'] }], [{ name: 'k', dims: [1], data: [5], dtype: 'int64' }], /TopK node "tk".*not supported/],
  ['a custom-domain op', [{ op: 'Fancy', name: 'f', domain: 'com.example', inputs: ['z'], outputs: ['a'] }], [], /custom-domain op com\.example\.Fancy/],
  ['a pooling op on a 2-D tensor', [{ op: 'MaxPool', name: 'mp', inputs: ['z'], outputs: ['a'], attrs: { kernel_shape: { ints: [1] } } }], [], /MaxPool node "mp".*spatial/],
  ['Flatten with axis 0', [{ op: 'Flatten', name: 'fl', inputs: ['z'], outputs: ['a'], attrs: { axis: { i: 0 } } }], [], /Flatten node "fl".*axis = 1/],
  ['a Reshape that moves features into the batch axis', [{ op: 'Reshape', name: 'rb', inputs: ['z', 'shape'], outputs: ['a'] }], [{ name: 'shape', dims: [2], data: [10, 1], dtype: 'int64' }], /Reshape node "rb"/],
  ['a Transpose of hidden units', [{ op: 'Transpose', name: 'tr', inputs: ['z'], outputs: ['a'], attrs: { perm: { ints: [1, 0] } } }], [], /Transpose node "tr".*perm \[1,0\]/],
  ['a Reshape to 3-D', [{ op: 'Reshape', name: 'rs', inputs: ['z', 'shape'], outputs: ['a'] }], [{ name: 'shape', dims: [3], data: [0, 5, 1], dtype: 'int64' }], /Reshape node "rs"/],
];

for (const [name, act, inits, message] of unsupported) {
  t.test(`${name} stops with UNSUPPORTED_GRAPH naming the node`, async (t) => {
    t.throws(() => buildNetwork(readOnnx(mlpWith(act, inits))), { code: 'UNSUPPORTED_GRAPH', message });
  });
}

t.test('a residual around a single linear layer and a weight shared by two layers are supported; a data weight is refused', async (t) => {
  const square = randomDense(rng, [5, 5])[0];
  const inits = [...base, { name: 'Ws', dims: [5, 5], data: square.W }];
  const residual = buildModel({
    inputs: [{ name: 'x', shape: ['N', 3] }],
    outputs: [{ name: 'y', shape: ['N', 2] }],
    initializers: inits,
    nodes: [
      { op: 'Gemm', inputs: ['x', 'W0', 'b0'], outputs: ['z'], attrs: { transB: { i: 1 } } },
      { op: 'Relu', inputs: ['z'], outputs: ['r'] },
      { op: 'Gemm', name: 'inner', inputs: ['r', 'Ws'], outputs: ['f'], attrs: { transB: { i: 1 } } },
      { op: 'Add', inputs: ['r', 'f'], outputs: ['a'] },
      { op: 'Gemm', inputs: ['a', 'W1', 'b1'], outputs: ['y'], attrs: { transB: { i: 1 } } },
    ],
  });
  // W_s reads and writes the same units: P·W_s·Pᵀ keeps the function, no per-unit scale does.
  const net = buildNetwork(readOnnx(residual));
  t.same(net.hidden.map((id) => net.groups[id].caps), [{ scale: false, sign: false }]);
  const x = randomInput(rng, 6 * 3);
  t.ok(maxAbsDiff(await runModel(residual, x, [6, 3]), await runModel(canonicalize(residual), x, [6, 3])) < 1e-5, 'canonical form computes the same function');
  const shared = buildModel({
    inputs: [{ name: 'x', shape: ['N', 5] }],
    outputs: [{ name: 'y', shape: ['N', 5] }],
    initializers: [{ name: 'Ws', dims: [5, 5], data: square.W }],
    nodes: [
      { op: 'Gemm', name: 'g1', inputs: ['x', 'Ws'], outputs: ['h'], attrs: { transB: { i: 1 } } },
      { op: 'Relu', inputs: ['h'], outputs: ['r'] },
      { op: 'Gemm', inputs: ['r', 'Ws'], outputs: ['y'], attrs: { transB: { i: 1 } } },
    ],
  });
  // Tied: each layer gets its own copy on writeback, so each can be permuted on its own.
  const sharedNet = buildNetwork(readOnnx(shared));
  t.equal(sharedNet.layers.length, 2);
  const xs = randomInput(rng, 6 * 5);
  t.ok(maxAbsDiff(await runModel(shared, xs, [6, 5]), await runModel(canonicalize(shared), xs, [6, 5])) < 1e-5, 'canonical form computes the same function');
  const dataWeight = buildModel({
    inputs: [{ name: 'x', shape: ['N', 3] }, { name: 'w', shape: [2, 3] }],
    outputs: [{ name: 'y', shape: ['N', 2] }],
    nodes: [{ op: 'Gemm', name: 'dyn', inputs: ['x', 'w'], outputs: ['y'], attrs: { transB: { i: 1 } } }],
  });
  t.throws(() => buildNetwork(readOnnx(dataWeight)), { code: 'UNSUPPORTED_GRAPH', message: /dyn.*not an initializer/ });
});

t.test('a PyTorch-style dynamic flatten (Shape → Gather → Concat → Reshape) and Squeeze feed a Gemm', async (t) => {
  const C = 2;
  const conv = randomDense(rng, [4, C])[0]; // 1×1 conv as [C, 4]
  const fc = randomDense(rng, [C * 4, 3])[0];
  const common = {
    inputs: [{ name: 'x', shape: ['N', 4, 2, 2] }],
    outputs: [{ name: 'y', shape: ['N', 3] }],
  };
  const inits: TensorInit[] = [
    { name: 'cw', dims: [C, 4, 1, 1], data: conv.W },
    { name: 'cb', dims: [C], data: conv.b },
    { name: 'fw', dims: [3, C * 4], data: fc.W },
    { name: 'fb', dims: [3], data: fc.b },
    { name: 'idx', dims: [], data: [0], dtype: 'int64' },
    { name: 'minus1', dims: [1], data: [-1], dtype: 'int64' },
    { name: 'axes0', dims: [1], data: [0], dtype: 'int64' },
  ];
  const dynamic = buildModel({
    ...common,
    initializers: inits,
    nodes: [
      { op: 'Conv', inputs: ['x', 'cw', 'cb'], outputs: ['c'] },
      { op: 'Relu', inputs: ['c'], outputs: ['r'] },
      { op: 'Shape', inputs: ['r'], outputs: ['sh'] },
      { op: 'Gather', inputs: ['sh', 'idx'], outputs: ['n'] },
      { op: 'Unsqueeze', inputs: ['n', 'axes0'], outputs: ['n1'] },
      { op: 'Concat', inputs: ['n1', 'minus1'], outputs: ['target'], attrs: { axis: { i: 0 } } },
      { op: 'Reshape', inputs: ['r', 'target'], outputs: ['f'] },
      { op: 'Gemm', inputs: ['f', 'fw', 'fb'], outputs: ['y'], attrs: { transB: { i: 1 } } },
    ],
  });
  const net = buildNetwork(readOnnx(dynamic));
  t.same(net.layers.map((l) => [l.op, l.inUnits, l.inBlock]), [['Conv', 4, 1], ['Gemm', C, 4]]);
  const x = randomInput(rng, 5 * 16);
  const y = await runModel(dynamic, x, [5, 4, 2, 2]);
  t.ok(maxAbsDiff(y, await runModel(canonicalize(dynamic), x, [5, 4, 2, 2])) < 1e-5 * Math.max(1, maxAbs(y)));

  const squeezed = buildModel({
    ...common,
    initializers: [...inits.slice(0, 2), { name: 'fw', dims: [3, C], data: fc.W.slice(0, 3 * C) }, inits[3]],
    nodes: [
      { op: 'Conv', inputs: ['x', 'cw', 'cb'], outputs: ['c'] },
      { op: 'Relu', inputs: ['c'], outputs: ['r'] },
      { op: 'GlobalAveragePool', inputs: ['r'], outputs: ['g'] },
      { op: 'Squeeze', inputs: ['g'], outputs: ['s'], attrs: { axes: { ints: [2, 3] } } },
      { op: 'Gemm', inputs: ['s', 'fw', 'fb'], outputs: ['y'], attrs: { transB: { i: 1 } } },
    ],
    opset: 11,
  });
  const sq = buildNetwork(readOnnx(squeezed));
  t.same(sq.layers[1].inBlock, 1);
  const ys = await runModel(squeezed, x, [5, 4, 2, 2]);
  t.ok(maxAbsDiff(ys, await runModel(canonicalize(squeezed), x, [5, 4, 2, 2])) < 1e-5 * Math.max(1, maxAbs(ys)));
});

t.test('an NHWC model input transposed to NCHW (tf2onnx) is fine: the input is fixed anyway', async (t) => {
  const w = randomDense(rng, [2 * 9, 3])[0];
  const bytes = buildModel({
    inputs: [{ name: 'x', shape: ['N', 4, 4, 2] }],
    outputs: [{ name: 'y', shape: ['N', 2] }],
    initializers: [
      { name: 'cw', dims: [3, 2, 3, 3], data: w.W }, { name: 'cb', dims: [3], data: w.b },
      { name: 'fw', dims: [2, 3], data: [1, -1, 0.5, 0.2, 0.3, -0.7] }, { name: 'fb', dims: [2], data: [0, 0.1] },
    ],
    nodes: [
      { op: 'Transpose', inputs: ['x'], outputs: ['xt'], attrs: { perm: { ints: [0, 3, 1, 2] } } },
      { op: 'Conv', inputs: ['xt', 'cw', 'cb'], outputs: ['c'], attrs: { pads: { ints: [1, 1, 1, 1] } } },
      { op: 'Relu', inputs: ['c'], outputs: ['r'] },
      { op: 'GlobalMaxPool', inputs: ['r'], outputs: ['g'] },
      { op: 'Flatten', inputs: ['g'], outputs: ['f'] },
      { op: 'Gemm', inputs: ['f', 'fw', 'fb'], outputs: ['y'], attrs: { transB: { i: 1 } } },
    ],
  });
  const net = buildNetwork(readOnnx(bytes));
  t.same(net.layers.map((l) => [l.inUnits, l.inBlock]), [[2, 9], [3, 1]]);
  t.same(net.groups[net.hidden[0]].caps, { scale: true, sign: false });
  const x = randomInput(rng, 3 * 32);
  const y = await runModel(bytes, x, [3, 4, 4, 2]);
  t.ok(maxAbsDiff(y, await runModel(canonicalize(bytes), x, [3, 4, 4, 2])) < 1e-5 * Math.max(1, maxAbs(y)));
});

t.test('tf2onnx-style NHWC flatten (Conv → Relu → Transpose → Reshape → MatMul + Add): columns regrouped per channel', async (t) => {
  const C = 3;
  const cw = randomDense(rng, [2 * 9, C])[0];
  const fw = randomDense(rng, [C * 4, 2])[0];
  const fwT = new Float64Array(C * 4 * 2); // MatMul stores [in, out]; in = (h, w, c) position-major
  for (let o = 0; o < 2; o++) for (let k = 0; k < C * 4; k++) fwT[k * 2 + o] = fw.W[o * C * 4 + k];
  const bytes = buildModel({
    inputs: [{ name: 'x', shape: ['N', 2, 2, 2] }],
    outputs: [{ name: 'y', shape: ['N', 2] }],
    initializers: [
      { name: 'cw', dims: [C, 2, 3, 3], data: cw.W }, { name: 'cb', dims: [C], data: cw.b },
      { name: 'fw', dims: [C * 4, 2], data: fwT }, { name: 'fb', dims: [2], data: fw.b },
      { name: 'shape', dims: [2], data: [0, -1], dtype: 'int64' },
    ],
    nodes: [
      { op: 'Conv', inputs: ['x', 'cw', 'cb'], outputs: ['c'], attrs: { pads: { ints: [1, 1, 1, 1] } } },
      { op: 'Transpose', inputs: ['c'], outputs: ['ct'], attrs: { perm: { ints: [0, 2, 3, 1] } } },
      { op: 'Relu', inputs: ['ct'], outputs: ['r'] },
      { op: 'Reshape', inputs: ['r', 'shape'], outputs: ['f'] },
      { op: 'MatMul', inputs: ['f', 'fw'], outputs: ['m'] },
      { op: 'Add', inputs: ['m', 'fb'], outputs: ['y'] },
    ],
  });
  const net = buildNetwork(readOnnx(bytes));
  const dense = net.layers[1];
  t.same([dense.inUnits, dense.inBlock, dense.inChannelLast], [C, 4, true]);
  // Canonical column c·4 + s holds stored feature s·C + c.
  for (let c = 0; c < C; c++) for (let s = 0; s < 4; s++) t.equal(dense.W[1 * C * 4 + c * 4 + s], Math.fround(fw.W[1 * C * 4 + s * C + c]));
  t.equal(net.groups[net.hidden[0]].tensorChannelLast, true);
  const x = randomInput(rng, 6 * 8);
  const y = await runModel(bytes, x, [6, 2, 2, 2]);
  const canon = canonicalize(bytes);
  t.ok(maxAbsDiff(y, await runModel(canon, x, [6, 2, 2, 2])) < 1e-5 * Math.max(1, maxAbs(y)), 'canonical NHWC model computes the same function');
  const r = await weightDistance(bytes, canon);
  t.ok(r.raw!.relative > 0.01 && r.aligned!.relative < 1e-6, `raw ${r.raw!.relative}, aligned ${r.aligned!.relative}`);
  const act = await weightDistance(bytes, canon, { methods: ['aligned'], align: 'activations', data: { dtype: 'float32', shape: [6, 2, 2, 2], data: x } });
  t.ok(act.aligned!.relative < 1e-6, `activation-aligned ${act.aligned!.relative}`);
  // Channel-last tensors cannot be pooled or convolved as if channels-first.
  const pooled = buildModel({
    inputs: [{ name: 'x', shape: ['N', 2, 2, 2] }],
    outputs: [{ name: 'y', shape: ['N', 2] }],
    initializers: [{ name: 'cw', dims: [C, 2, 3, 3], data: cw.W }, { name: 'fw', dims: [C, 2], data: fwT.slice(0, C * 2) }],
    nodes: [
      { op: 'Conv', inputs: ['x', 'cw'], outputs: ['c'], attrs: { pads: { ints: [1, 1, 1, 1] } } },
      { op: 'Transpose', inputs: ['c'], outputs: ['ct'], attrs: { perm: { ints: [0, 2, 3, 1] } } },
      { op: 'Transpose', inputs: ['ct'], outputs: ['cb'], attrs: { perm: { ints: [0, 3, 1, 2] } } },
      { op: 'Transpose', inputs: ['cb'], outputs: ['c2'], attrs: { perm: { ints: [0, 2, 3, 1] } } },
      { op: 'MaxPool', name: 'mp', inputs: ['c2'], outputs: ['p'], attrs: { kernel_shape: { ints: [2, 2] } } },
      { op: 'Flatten', inputs: ['p'], outputs: ['f'] },
      { op: 'MatMul', inputs: ['f', 'fw'], outputs: ['y'] },
    ],
  });
  t.throws(() => buildNetwork(readOnnx(pooled)), { code: 'UNSUPPORTED_GRAPH', message: /MaxPool node "mp".*channels-first/ });
});

t.test('per-channel Mul/Add/Sub/Div after a layer (tf2onnx-folded BatchNorm) fold into W and b exactly', async (t) => {
  const vec = (name: string, dims: number[], f: (i: number) => number): TensorInit => ({ name, dims, data: Array.from({ length: 5 }, (_, i) => f(i)) });
  const dense = mlpWith(
    [
      { op: 'Mul', inputs: ['z', 'g'], outputs: ['z1'] },
      { op: 'Add', inputs: ['bt', 'z1'], outputs: ['z2'] },
      { op: 'Sub', inputs: ['z2', 'mu'], outputs: ['z3'] },
      { op: 'Div', inputs: ['z3', 'sd'], outputs: ['z4'] },
      { op: 'Sub', inputs: ['k', 'z4'], outputs: ['z5'] },
      { op: 'Relu', inputs: ['z5'], outputs: ['a'] },
    ],
    [vec('g', [5], (i) => 0.5 + i / 10), vec('bt', [1, 5], (i) => i / 7 - 0.3), vec('mu', [5], (i) => 0.1 * i), vec('sd', [5], (i) => 1 + i / 3), vec('k', [5], (i) => 0.2 - i / 9)],
  );
  const net = buildNetwork(readOnnx(dense));
  t.same(net.layers[0].folded, [1, 2, 3, 4, 5]);
  const canon = canonicalize(dense);
  t.same(readOnnx(canon).proto.graph!.node!.map((n) => n.opType), ['Gemm', 'Relu', 'Gemm'], 'the affine nodes are gone');
  const x = randomInput(rng, 8 * 3);
  const y = await runModel(dense, x, [8, 3]);
  t.ok(maxAbsDiff(y, await runModel(canon, x, [8, 3])) <= 1e-5 * Math.max(1, maxAbs(y)));

  const cw = randomDense(rng, [2 * 9, 5])[0];
  const conv = buildModel({
    inputs: [{ name: 'x', shape: ['N', 2, 3, 3] }],
    outputs: [{ name: 'y', shape: ['N', 2] }],
    initializers: [
      { name: 'cw', dims: [5, 2, 3, 3], data: cw.W },
      vec('s4', [1, 5, 1, 1], (i) => 1.5 - i / 5),
      vec('t3', [5, 1, 1], (i) => i / 4 - 0.5),
      { name: 'fw', dims: [2, 5], data: L1.W }, { name: 'fb', dims: [2], data: L1.b },
    ],
    nodes: [
      { op: 'Conv', inputs: ['x', 'cw'], outputs: ['c'], attrs: { pads: { ints: [1, 1, 1, 1] } } },
      { op: 'Mul', inputs: ['c', 's4'], outputs: ['c1'] },
      { op: 'Add', inputs: ['c1', 't3'], outputs: ['c2'] },
      { op: 'Relu', inputs: ['c2'], outputs: ['r'] },
      { op: 'GlobalAveragePool', inputs: ['r'], outputs: ['g'] },
      { op: 'Flatten', inputs: ['g'], outputs: ['f'] },
      { op: 'Gemm', inputs: ['f', 'fw', 'fb'], outputs: ['y'], attrs: { transB: { i: 1 } } },
    ],
  });
  const cc = canonicalize(conv);
  t.same(readOnnx(cc).proto.graph!.node!.map((n) => n.opType), ['Conv', 'Relu', 'GlobalAveragePool', 'Flatten', 'Gemm']);
  t.equal(readOnnx(cc).proto.graph!.node![0].input!.length, 3, 'the conv gained a bias');
  const xc = randomInput(rng, 4 * 18);
  const yc = await runModel(conv, xc, [4, 2, 3, 3]);
  t.ok(maxAbsDiff(yc, await runModel(cc, xc, [4, 2, 3, 3])) <= 1e-5 * Math.max(1, maxAbs(yc)));

  // A [C] vector on an NCHW tensor broadcasts along the width, not the channels: not foldable.
  const wrongAxis = readOnnx(conv);
  wrongAxis.proto.graph!.initializer!.find((i) => i.name === 't3')!.dims = [5];
  wrongAxis.proto.graph!.node![2].name = 'add_w';
  t.throws(() => buildNetwork(wrongAxis), { code: 'UNSUPPORTED_GRAPH', message: /Add node "add_w".*per-element/ });
});

t.test('a grouped (not depthwise) Conv on the input: its output units permute within its groups (blocks that stay); raw distances work', async (t) => {
  const rng = createRng(31);
  const depthwise = (scale: number) =>
    buildModel({
      inputs: [{ name: 'x', shape: ['N', 4, 4, 4] }],
      outputs: [{ name: 'y', shape: ['N', 3] }],
      initializers: [
        { name: 'dw.w', dims: [2, 2, 3, 3], data: Float32Array.from({ length: 36 }, () => scale * rng.normal()) },
        { name: 'dw.b', dims: [2], data: Float32Array.from({ length: 2 }, () => rng.normal()) },
        { name: 'fc.w', dims: [3, 32], data: Float32Array.from({ length: 96 }, () => rng.normal()) },
        { name: 'fc.b', dims: [3], data: new Float32Array(3) },
      ],
      nodes: [
        { op: 'Conv', name: 'depthwise', inputs: ['x', 'dw.w', 'dw.b'], outputs: ['c'], attrs: { group: { i: 2 }, kernel_shape: { ints: [3, 3] }, pads: { ints: [1, 1, 1, 1] } } },
        { op: 'Relu', inputs: ['c'], outputs: ['r'] },
        { op: 'Flatten', inputs: ['r'], outputs: ['f'], attrs: { axis: { i: 1 } } },
        { op: 'Gemm', inputs: ['f', 'fc.w', 'fc.b'], outputs: ['y'], attrs: { transB: { i: 1 } } },
      ],
    });
  const a = depthwise(1);
  const net = buildNetwork(readOnnx(a));
  // Two output channels in two groups of one: each block is a single unit that cannot move.
  t.same(net.families, [{ groups: [net.hidden[0]], blocks: 2, swappable: false }]);
  const r = await weightDistance(a, depthwise(2), { methods: ['raw', 'canonical'] });
  t.ok(r.raw!.l2 > 0 && Number.isFinite(r.raw!.l2), `raw L2 ${r.raw!.l2}`);
  t.ok(r.canonical!.l2 > 0 && Number.isFinite(r.canonical!.l2), `canonical L2 ${r.canonical!.l2}`);
});
