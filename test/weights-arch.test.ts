/**
 * Symmetries derived from the graph patterns real architectures export:
 * for each, a permuted (and, where allowed, rescaled) copy built by index
 * arithmetic in the test canonicalizes and aligns onto the original, and the
 * rewritten models compute the same function under onnxruntime.
 */
import fs from 'node:fs';
import path from 'node:path';

import t, { type Test } from 'tap';
import { onnx } from 'onnx-proto';

import { readArrays } from '../lib/io/array-file';
import { lossBarrier } from '../lib/path/barrier';
import { align, canonicalize, weightDistance } from '../lib/weights';
import { type NodeSpec, type TensorInit, buildModel, tensorProto } from './helpers/onnx-builder';
import { type UnitAxes, permuteModel } from './helpers/permute-model';
import { convBytes, createRng, meanJs, randomDense, maxAbs, maxAbsDiff, randomConvNet, randomInput, runModel, transformConvNet } from './helpers/onnx-models';

/** B, its canonical form and B aligned to A compute B's function; canonical and aligned distances ≤ 1e-6. */
async function checkCopy(t: Test, a: Uint8Array, b: Uint8Array, x: Float32Array, dims: number[]) {
  const r = await weightDistance(a, b);
  t.ok(r.raw!.relative > 0.05, `raw relative ${r.raw!.relative}`);
  t.ok(r.canonical!.relative <= 1e-6, `canonical relative ${r.canonical!.relative}`);
  t.ok(r.aligned!.relative <= 1e-6, `aligned relative ${r.aligned!.relative}`);
  const yb = await runModel(b, x, dims);
  for (const [name, m] of [['canonical', canonicalize(b)], ['aligned', (await align(a, b)).model]] as const) {
    const y = await runModel(m, x, dims);
    t.ok(maxAbsDiff(y, yb) <= 1e-5 * Math.max(1, maxAbs(yb)), `${name} computes B's function (max diff ${maxAbsDiff(y, yb)})`);
  }
  return r;
}

/** The conv net of onnx-models, fed through a Reshape of a flat [N, 16] input (nn.Unflatten), static or dynamic. */
function unflattened(bytes: Uint8Array, dynamic: boolean): Uint8Array {
  const m = onnx.ModelProto.decode(bytes);
  const g = m.graph!;
  g.input = [onnx.ValueInfoProto.create({ name: 'flat', type: { tensorType: { elemType: 1, shape: { dim: [{ dimParam: 'N' }, { dimValue: 16 }] } } } })];
  const shapeNodes: NodeSpec[] = dynamic
    ? [
        { op: 'Shape', inputs: ['flat'], outputs: ['s'] },
        { op: 'Gather', inputs: ['s', 'zero'], outputs: ['n'], attrs: { axis: { i: 0 } } },
        { op: 'Unsqueeze', inputs: ['n', 'axes0'], outputs: ['n1'] },
        { op: 'Concat', inputs: ['n1', 'rest'], outputs: ['shape'], attrs: { axis: { i: 0 } } },
      ]
    : [];
  const inits: TensorInit[] = dynamic
    ? [{ name: 'zero', dims: [], data: [0], dtype: 'int64' }, { name: 'axes0', dims: [1], data: [0], dtype: 'int64' }, { name: 'rest', dims: [3], data: [1, 4, 4], dtype: 'int64' }]
    : [{ name: 'shape', dims: [4], data: [-1, 1, 4, 4], dtype: 'int64' }];
  const spec = [...shapeNodes, { op: 'Reshape', inputs: ['flat', 'shape'], outputs: ['x'] }];
  const nodes = buildModel({ inputs: [], outputs: [], nodes: spec }).slice();
  const extra = onnx.ModelProto.decode(nodes).graph!.node;
  g.node = [...(extra ?? []), ...(g.node ?? [])];
  (g.initializer ??= []).push(...inits.map((i) => onnx.TensorProto.create(tensorProto(i))));
  return onnx.ModelProto.encode(m).finish();
}

for (const dynamic of [false, true]) {
  t.test(`a CNN behind a ${dynamic ? 'dynamic' : 'static'} Reshape of its flat input (nn.Unflatten): permuted copy ≈ 0, same function`, async (t) => {
    const rng = createRng(dynamic ? 41 : 40);
    const A = randomConvNet(rng, 4, 5, 3, false);
    const B = transformConvNet(A, rng);
    await checkCopy(t, unflattened(convBytes(A), dynamic), unflattened(convBytes(B), dynamic), randomInput(rng, 6 * 16), [6, 16]);
  });
}

/**
 * A MobileNet/EfficientNet-like net: stem → ReLU6 (Clip) → depthwise → ReLU6
 * → 1×1 projection added back to the stem (the t = 1 inverted residual) →
 * expand → HardSwish → depthwise → SiLU → Squeeze-and-Excitation (global
 * pool → 1×1 → Relu → 1×1 → HardSigmoid → Mul) → projection → ReduceMean
 * (keepdims, as the dynamo exporter writes the pool) → Reshape → Gemm.
 */
function mobileLike(rng: ReturnType<typeof createRng>): Uint8Array {
  const r = (dims: number[], s = 0.5): TensorInit => ({ name: '', dims, data: Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => s * rng.normal()) });
  const w = (name: string, dims: number[], s?: number): TensorInit => ({ ...r(dims, s), name });
  const conv = (x: string, wt: string, b: string, y: string, k: number, group = 1): NodeSpec => ({
    op: 'Conv', inputs: [x, wt, b], outputs: [y], attrs: { kernel_shape: { ints: [k, k] }, pads: { ints: k === 3 ? [1, 1, 1, 1] : [0, 0, 0, 0] }, group: { i: group } },
  });
  return buildModel({
    opset: 14,
    inputs: [{ name: 'x', shape: ['N', 3, 6, 6] }],
    outputs: [{ name: 'y', shape: ['N', 3] }],
    initializers: [
      w('s.w', [4, 3, 3, 3]), w('s.b', [4], 0.1), w('dw1.w', [4, 1, 3, 3]), w('dw1.b', [4], 0.1), w('pj1.w', [4, 4, 1, 1]), w('pj1.b', [4], 0.1),
      w('ex.w', [6, 4, 1, 1]), w('ex.b', [6], 0.1), w('dw2.w', [6, 1, 3, 3]), w('dw2.b', [6], 0.1),
      w('se1.w', [2, 6, 1, 1]), w('se1.b', [2], 0.1), w('se2.w', [6, 2, 1, 1]), w('se2.b', [6], 0.1),
      w('pj2.w', [5, 6, 1, 1]), w('pj2.b', [5], 0.1), w('fc.w', [3, 5]), w('fc.b', [3], 0.1),
      { name: 'zero', dims: [], data: [0] }, { name: 'six', dims: [], data: [6] }, { name: 'flat', dims: [2], data: [-1, 5], dtype: 'int64' },
    ],
    nodes: [
      conv('x', 's.w', 's.b', 'c0', 3), { op: 'Clip', inputs: ['c0', 'zero', 'six'], outputs: ['a0'] },
      conv('a0', 'dw1.w', 'dw1.b', 'c1', 3, 4), { op: 'Clip', inputs: ['c1', 'zero', 'six'], outputs: ['a1'] },
      conv('a1', 'pj1.w', 'pj1.b', 'p1', 1), { op: 'Add', inputs: ['a0', 'p1'], outputs: ['r1'] },
      conv('r1', 'ex.w', 'ex.b', 'e', 1), { op: 'HardSwish', inputs: ['e'], outputs: ['h'] },
      conv('h', 'dw2.w', 'dw2.b', 'c2', 3, 6), { op: 'Sigmoid', inputs: ['c2'], outputs: ['sg'] }, { op: 'Mul', inputs: ['c2', 'sg'], outputs: ['d2'] },
      { op: 'GlobalAveragePool', inputs: ['d2'], outputs: ['q'] }, conv('q', 'se1.w', 'se1.b', 'f1', 1), { op: 'Relu', inputs: ['f1'], outputs: ['f1r'] },
      conv('f1r', 'se2.w', 'se2.b', 'f2', 1), { op: 'HardSigmoid', inputs: ['f2'], outputs: ['gate'], attrs: { alpha: { f: 1 / 6 } } },
      { op: 'Mul', inputs: ['d2', 'gate'], outputs: ['m'] },
      conv('m', 'pj2.w', 'pj2.b', 'p2', 1),
      { op: 'ReduceMean', inputs: ['p2'], outputs: ['pool'], attrs: { axes: { ints: [2, 3] }, keepdims: { i: 1 } } },
      { op: 'Reshape', inputs: ['pool', 'flat'], outputs: ['v'] },
      { op: 'Gemm', inputs: ['v', 'fc.w', 'fc.b'], outputs: ['y'], attrs: { transB: { i: 1 } } },
    ],
  });
}

/** Where each hidden group's units sit in mobileLike's initializers. */
const MOBILE_GROUPS: UnitAxes[] = [
  [['s.w', 0], ['s.b', 0], ['dw1.w', 0], ['dw1.b', 0], ['pj1.w', 0], ['pj1.w', 1], ['pj1.b', 0], ['ex.w', 1]],
  [['ex.w', 0], ['ex.b', 0], ['dw2.w', 0], ['dw2.b', 0], ['se1.w', 1], ['se2.w', 0], ['se2.b', 0], ['pj2.w', 1]],
  [['se1.w', 0], ['se1.b', 0], ['se2.w', 1]],
  [['pj2.w', 0], ['pj2.b', 0], ['fc.w', 1]],
];

t.test('MobileNet/EfficientNet patterns (ReLU6, depthwise, residual around one layer, HardSwish, SiLU, SE, ReduceMean pool)', async (t) => {
  const rng = createRng(50);
  const a = mobileLike(rng);
  const x = randomInput(rng, 5 * 3 * 36);
  const r = await checkCopy(t, a, permuteModel(a, MOBILE_GROUPS, rng), x, [5, 3, 6, 6]);
  t.same(r.hidden!.map((h) => `${h.units} ${h.symmetry}`), ['4 permutation', '6 permutation', '2 permutation+scale', '5 permutation+scale+sign']);
  const other = await weightDistance(a, mobileLike(rng));
  t.ok(other.aligned!.relative < other.raw!.relative, `two seeds: aligned ${other.aligned!.relative} < raw ${other.raw!.relative}`);
});

const FIXTURES = path.join(__dirname, 'fixtures', 'arch');
const probe = readArrays(path.join(FIXTURES, 'probe-image32.npz'))[0][1];
const probeX = probe.data as Float32Array;

for (const arch of ['mobilenet_v2', 'mobilenet_v3_small', 'efficientnet_b0', 'densenet']) {
  for (const exporter of ['ts13', 'dyn18']) {
    t.test(`${arch} (${exporter === 'ts13' ? 'TorchScript exporter, opset 13' : 'dynamo exporter, opset 18'}): permuted copy, write-back, two seeds`, async (t) => {
      const file = (s: string) => path.join(FIXTURES, `${arch}-${exporter}-${s}.onnx`);
      const a = fs.readFileSync(file('s0'));
      const b = fs.readFileSync(file('s0-perm'));
      const r = await weightDistance(a, b);
      t.ok(r.raw!.relative > 0.5, `raw relative ${r.raw!.relative}`);
      t.ok(r.canonical!.relative <= 1e-6, `canonical relative ${r.canonical!.relative}`);
      t.ok(r.aligned!.relative <= 1e-6, `aligned relative ${r.aligned!.relative}`);
      const yb = await runModel(b, probeX, probe.shape);
      const k = yb.length / probe.shape[0];
      for (const [name, m] of [['canonical', r.models.canonical!], ['aligned', r.models.aligned!]] as const) {
        const js = meanJs(yb, await runModel(m, probeX, probe.shape), k);
        t.ok(js <= 1e-9, `${name} written back computes B's function: JS ${js}`);
      }
      if (exporter !== 'ts13') return;
      const other = await weightDistance(a, fs.readFileSync(file('s1')), { methods: ['raw', 'aligned'] });
      t.ok(other.aligned!.relative < other.raw!.relative, `two seeds: aligned ${other.aligned!.relative} < raw ${other.raw!.relative}`);
      const ya = await runModel(a, probeX, probe.shape);
      const labels = Int32Array.from({ length: probe.shape[0] }, (_, i) => {
        const row = Array.from(ya.subarray(i * k, (i + 1) * k));
        return row.indexOf(Math.max(...row));
      });
      const barrier = await lossBarrier(a, file('s1'), { data: path.join(FIXTURES, 'probe-image32.npz'), labels, steps: 3, align: 'weights' });
      t.ok(Number.isFinite(barrier.aligned!.lossBarrier), `barrier with weight alignment runs: ${barrier.aligned!.lossBarrier} (naive ${barrier.naive.lossBarrier})`);
    });
  }
}

/**
 * A DenseNet-like block: stem → Relu gives A; BN(A) → Relu → conv gives B;
 * Concat(A, B) → BatchNormalization (unfolded: it follows a Concat) → Relu
 * → 1×1 conv → Relu → GlobalAveragePool → Flatten → Gemm.
 */
function denseLike(rng: ReturnType<typeof createRng>): Uint8Array {
  const w = (name: string, dims: number[], s = 0.5, shift = 0): TensorInit => ({ name, dims, data: Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => shift + s * rng.normal()) });
  const conv = (x: string, wt: string, b: string, y: string, k: number): NodeSpec => ({
    op: 'Conv', inputs: [x, wt, b], outputs: [y], attrs: { kernel_shape: { ints: [k, k] }, pads: { ints: k === 3 ? [1, 1, 1, 1] : [0, 0, 0, 0] } },
  });
  const bn = (p: string, c: number) => [w(`${p}.g`, [c], 0.2, 1), w(`${p}.b`, [c], 0.1), w(`${p}.m`, [c], 0.1), { name: `${p}.v`, dims: [c], data: Array.from({ length: c }, () => 0.5 + rng.float()) }];
  return buildModel({
    inputs: [{ name: 'x', shape: ['N', 3, 5, 5] }],
    outputs: [{ name: 'y', shape: ['N', 2] }],
    initializers: [
      w('s.w', [4, 3, 3, 3]), w('s.b', [4], 0.1), ...bn('n1', 4), w('c1.w', [3, 4, 3, 3]), w('c1.b', [3], 0.1),
      ...bn('n2', 7), w('t.w', [5, 7, 1, 1]), w('t.b', [5], 0.1), w('fc.w', [2, 5]), w('fc.b', [2], 0.1),
    ],
    nodes: [
      conv('x', 's.w', 's.b', 'c0', 3), { op: 'Relu', inputs: ['c0'], outputs: ['A'] },
      { op: 'BatchNormalization', inputs: ['A', 'n1.g', 'n1.b', 'n1.m', 'n1.v'], outputs: ['nA'] }, { op: 'Relu', inputs: ['nA'], outputs: ['rA'] },
      conv('rA', 'c1.w', 'c1.b', 'B', 3),
      { op: 'Concat', inputs: ['A', 'B'], outputs: ['cat'], attrs: { axis: { i: 1 } } },
      { op: 'BatchNormalization', inputs: ['cat', 'n2.g', 'n2.b', 'n2.m', 'n2.v'], outputs: ['ncat'] }, { op: 'Relu', inputs: ['ncat'], outputs: ['rcat'] },
      conv('rcat', 't.w', 't.b', 'T', 1), { op: 'Relu', inputs: ['T'], outputs: ['rT'] },
      { op: 'GlobalAveragePool', inputs: ['rT'], outputs: ['g'] }, { op: 'Flatten', inputs: ['g'], outputs: ['f'] },
      { op: 'Gemm', inputs: ['f', 'fc.w', 'fc.b'], outputs: ['y'], attrs: { transB: { i: 1 } } },
    ],
  });
}

t.test('DenseNet patterns (Concat on the channel axis, BatchNorm of a concatenation): permuted copy ≈ 0, same function', async (t) => {
  const rng = createRng(60);
  const a = denseLike(rng);
  // A's units are the first 4 channels of the concatenation (its norm n2 and t.w's inputs), B's the last 3.
  const n2 = (offset: number): UnitAxes => ['n2.g', 'n2.b', 'n2.m', 'n2.v'].map((name) => [name, 0, offset]);
  const b = permuteModel(a, [
    [['s.w', 0], ['s.b', 0], ['n1.g', 0], ['n1.b', 0], ['n1.m', 0], ['n1.v', 0], ['c1.w', 1], ...n2(0), ['t.w', 1, 0]],
    [['c1.w', 0], ['c1.b', 0], ...n2(4), ['t.w', 1, 4]],
    [['t.w', 0], ['t.b', 0], ['fc.w', 1]],
  ], rng);
  const x = randomInput(rng, 4 * 75);
  const r = await checkCopy(t, a, b, x, [4, 3, 5, 5]);
  t.same(r.hidden!.map((h) => h.units), [4, 3, 5]);
  // A part read only through the concatenation is correlated on its producer's output.
  const byActivations = await weightDistance(a, b, { methods: ['aligned'], align: 'activations', data: { dtype: 'float32', shape: [4, 3, 5, 5], data: x } });
  t.ok(byActivations.aligned!.relative <= 1e-6, `activation-aligned relative ${byActivations.aligned!.relative}`);
});

t.test('weights stored in float64 behind a Cast: read, permuted, and written back in their stored type', async (t) => {
  const rng = createRng(70);
  const [L0, L1] = randomDense(rng, [3, 6, 2]);
  const model = (W0: ArrayLike<number>, b0: ArrayLike<number>, W1: ArrayLike<number>) =>
    buildModel({
      inputs: [{ name: 'x', shape: ['N', 3] }],
      outputs: [{ name: 'y', shape: ['N', 2] }],
      initializers: [
        { name: 'W0', dims: [6, 3], data: W0, dtype: 'float64' }, { name: 'b0', dims: [6], data: b0 },
        { name: 'W1', dims: [2, 6], data: W1 }, { name: 'b1', dims: [2], data: L1.b },
      ],
      nodes: [
        { op: 'Cast', inputs: ['W0'], outputs: ['W0f'], attrs: { to: { i: 1 } } },
        { op: 'Gemm', inputs: ['x', 'W0f', 'b0'], outputs: ['z'], attrs: { transB: { i: 1 } } },
        { op: 'Relu', inputs: ['z'], outputs: ['r'] },
        { op: 'Gemm', inputs: ['r', 'W1', 'b1'], outputs: ['y'], attrs: { transB: { i: 1 } } },
      ],
    });
  const perm = [4, 2, 0, 5, 1, 3];
  const a = model(L0.W, L0.b, L1.W);
  const b = model(
    perm.flatMap((j) => Array.from(L0.W.subarray(j * 3, j * 3 + 3))),
    perm.map((j) => L0.b[j]),
    Array.from({ length: 12 }, (_, i) => L1.W[Math.floor(i / 6) * 6 + perm[i % 6]]),
  );
  await checkCopy(t, a, b, randomInput(rng, 5 * 3), [5, 3]);
  const w0 = onnx.ModelProto.decode(canonicalize(b)).graph!.initializer!.find((i) => i.name === 'W0')!;
  t.equal(w0.dataType, onnx.TensorProto.DataType.DOUBLE, 'the weight stays float64 behind its Cast');
});
