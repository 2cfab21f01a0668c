/**
 * Split, sliced and shuffled channels: a group whose units reach layers through
 * Split/Slice (ShuffleNetV2's channel split, a Conv feeding two branches) or a channel
 * shuffle is cut into cells, the units every such layer reads together; a grouped conv
 * over concatenated channels reads each block on its own and keeps its output blocks.
 * Fixtures (scripts/fixtures/make-convrnn-fixtures.py): torchvision's ShuffleNetV2 at reduced
 * widths and a CNN whose Conv is sliced 3 | 5 into two branches concatenated into a grouped
 * conv, each with a copy of seed 0 permuted within those cells (through the shuffles) and
 * rescaled in PyTorch, both torch exporters; a hand-built MLP for Split/Slice by index
 * arithmetic and the refusals.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import t from 'tap';

import { runCli } from '../lib/cli/main';
import { readArrays } from '../lib/io/array-file';
import { writeNpy } from '../lib/io/npy';
import { lossBarrier } from '../lib/path/barrier';
import { cka } from '../lib/represent/model';
import { createRng } from '../lib/util/rng';
import { weightDistance } from '../lib/weights';
import { captureIo } from './helpers/capture-io';
import { type NodeSpec, type TensorInit, buildModel } from './helpers/onnx-builder';
import { maxAbs, maxAbsDiff, meanJs, randomInput, runModel } from './helpers/onnx-models';
import { argmaxLabels, checkPermutedCopy } from './helpers/permuted-copy';

const FIXTURES = path.join(__dirname, 'fixtures', 'convrnn');
const file = (name: string) => path.join(FIXTURES, `${name}.onnx`);
const probeOf = (layout: string) => {
  const probeFile = path.join(FIXTURES, `probe-${layout}.npz`);
  const probe = readArrays(probeFile)[0][1];
  return { probeFile, probe, copy: { data: probe.data as Float32Array, shape: probe.shape, classes: 5 } };
};

// Per hidden group: units, and the cells it was cut into show as channel ranges of its tensor.
const CASES: Array<[string, string, string[]]> = [
  // a: sliced 3 | 5; b1, b2: the grouped conv's input blocks (halves); g: 4 blocks that stay.
  ['splitcat', 'image16', ['3[0:3]', '5[3:8]', '3[0:3]', '3[3:6]', '3[0:3]', '3[3:6]', '8/4 stay']],
  ['shufflenet', 'image32', []],
];

for (const [arch, layout, hidden] of CASES) {
  const { probeFile, probe, copy } = probeOf(layout);
  for (const exporter of ['ts13', 'ts17', 'dyn18']) {
    t.test(`${arch} (${exporter}): a copy permuted within the split cells and rescaled ≈ 0; written back computes B`, async (t) => {
      const a = fs.readFileSync(file(`${arch}-${exporter}-s0`));
      const b = fs.readFileSync(file(`${arch}-${exporter}-s0-perm`));
      const r = await weightDistance(a, b);
      const shown = r.hidden!.map((h) => `${h.units}${h.blocks ? `/${h.blocks}${h.blocksMove ? '' : ' stay'}` : (h.tensor.match(/\[[\d:,]+\]$/)?.[0] ?? '')}`);
      if (hidden.length) t.same(shown, hidden);
      else t.ok(shown.filter((s) => s.includes('[')).length >= 10, `ShuffleNet's split groups are cut into cells: ${shown.join(' ')}`);
      t.ok(r.hidden!.every((h) => h.symmetry === 'permutation+scale'), 'ReLU everywhere: scale passes, through the depthwise convs over shuffled channels too');
      await checkPermutedCopy(t, r, b, copy);
      if (exporter !== 'ts13') return;
      const seeds = await weightDistance(a, fs.readFileSync(file(`${arch}-ts13-s1`)), { methods: ['raw', 'aligned'] });
      t.ok(seeds.aligned!.relative < seeds.raw!.relative, `two seeds: aligned ${seeds.aligned!.relative} < raw ${seeds.raw!.relative}`);
      // Activation matching reads each cell's channels of its layer's output.
      const byActivations = await weightDistance(a, b, { methods: ['aligned'], align: 'activations', data: probe });
      t.ok(byActivations.aligned!.relative <= 1e-6, `aligned by activations: ${byActivations.aligned!.relative}`);
      const labels = await argmaxLabels(a, copy);
      for (const align of ['weights', 'activations'] as const) {
        const flat = await lossBarrier(a, b, { data: probeFile, labels, steps: 3, align });
        t.ok(Math.abs(flat.aligned!.lossBarrier) <= 1e-5, `barrier to the copy aligned by ${align}: ${flat.aligned!.lossBarrier} (naive ${flat.naive.lossBarrier})`);
      }
    });
  }
}

t.test('cka on ShuffleNetV2: default layers, values in [0, 1]', async (t) => {
  const { probeFile } = probeOf('image32');
  const seeds = await cka(file('shufflenet-ts13-s0'), file('shufflenet-ts13-s1'), { data: probeFile });
  t.ok(seeds.pairs.length >= 5, `${seeds.pairs.length} layer pairs`);
  for (const p of seeds.pairs) t.ok(p.values['cka-linear']! >= 0 && p.values['cka-linear']! <= 1 + 1e-9, `${p.a.tensor}: ${p.values['cka-linear']}`);
});

t.test('weights --write-aligned / --write-canonical on ShuffleNetV2: the files compute B', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'modeldiff-shuffle-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const { copy } = probeOf('image32');
  writeNpy(path.join(dir, 'probe.npy'), { dtype: 'float32', shape: copy.shape, data: copy.data });
  const io = captureIo();
  io.cwd = dir;
  const code = await runCli(['weights', file('shufflenet-dyn18-s0'), file('shufflenet-dyn18-s0-perm'), '--write-aligned', 'al.onnx', '--write-canonical', 'ca.onnx'], io);
  t.equal(code, 0, io.err);
  t.match(io.out, /getitem_6\[4:8\]: 4 units, permutation\+scale/);
  const yb = await runModel(fs.readFileSync(file('shufflenet-dyn18-s0-perm')), copy.data, copy.shape);
  for (const f of ['al.onnx', 'ca.onnx']) {
    const js = meanJs(yb, await runModel(fs.readFileSync(path.join(dir, f)), copy.data, copy.shape), 5);
    t.ok(js <= 1e-9, `${f} computes B's function: JS ${js}`);
  }
});

/**
 * x [N, 4] → Gemm (6 units) → Relu → Split [2, 4] → the first part to a Gemm (3 units), every
 * second channel of the other (units 2 and 4, by a Slice with step 2) to another (3 units) →
 * Relu each → Concat → Gemm → y [N, 3]. Units 3 and 5 reach nothing.
 */
interface Splitting {
  w1: number[]; b1: number[]; wa: number[]; wb: number[]; wo: number[];
}

function splitMlp(p: Splitting, opset = 13): Uint8Array {
  const init = (name: string, dims: number[], data: number[]): TensorInit => ({ name, dims, data });
  const ints = (name: string, data: number[]): TensorInit => ({ name, dims: [data.length], data, dtype: 'int64' });
  const gemm = (x: string, w: string, y: string): NodeSpec => ({ op: 'Gemm', inputs: [x, w], outputs: [y], attrs: { transB: { i: 1 } } });
  const split: NodeSpec = opset < 13
    ? { op: 'Split', inputs: ['h'], outputs: ['h1', 'h2'], attrs: { axis: { i: 1 }, split: { ints: [2, 4] } } }
    : { op: 'Split', inputs: ['h', 'sizes'], outputs: ['h1', 'h2'], attrs: { axis: { i: 1 } } };
  return buildModel({
    opset,
    inputs: [{ name: 'x', shape: ['N', 4] }],
    outputs: [{ name: 'y', shape: ['N', 3] }],
    initializers: [
      init('w1', [6, 4], p.w1), init('b1', [6], p.b1), init('wa', [3, 2], p.wa), init('wb', [3, 2], p.wb), init('wo', [3, 6], p.wo),
      ints('sizes', [2, 4]), ints('start', [0]), ints('end', [4]), ints('axis1', [1]), ints('step', [2]),
    ],
    nodes: [
      { op: 'Gemm', inputs: ['x', 'w1', 'b1'], outputs: ['z'], attrs: { transB: { i: 1 } } },
      { op: 'Relu', inputs: ['z'], outputs: ['h'] },
      split,
      { op: 'Slice', inputs: ['h2', 'start', 'end', 'axis1', 'step'], outputs: ['h24'] },
      gemm('h1', 'wa', 'ga'),
      gemm('h24', 'wb', 'gb'),
      { op: 'Relu', inputs: ['ga'], outputs: ['ra'] },
      { op: 'Relu', inputs: ['gb'], outputs: ['rb'] },
      { op: 'Concat', inputs: ['ra', 'rb'], outputs: ['c'], attrs: { axis: { i: 1 } } },
      gemm('c', 'wo', 'y'),
    ],
  });
}

t.test('Split and a strided Slice of a layer\'s units: cells by index arithmetic; a permuted copy ≈ 0', async (t) => {
  const rng = createRng(13);
  const normal = (n: number) => Array.from({ length: n }, () => rng.normal());
  const p: Splitting = { w1: normal(24), b1: normal(6), wa: normal(6), wb: normal(6), wo: normal(18) };
  // Units 0 and 1 swap (the Split's first part), 2 and 4 swap (the Slice's); 3 and 5 (read by nothing) stay.
  const perm = [1, 0, 4, 3, 2, 5];
  const scale = [2, 0.5, 3, 1, 0.25, 1];
  const rowsOf = (w: number[], cols: number, order: number[], f: number[] = order.map(() => 1)) => order.flatMap((j, u) => w.slice(j * cols, (j + 1) * cols).map((v) => v * f[u]));
  const copy: Splitting = {
    w1: rowsOf(p.w1, 4, perm, scale),
    b1: perm.map((j, u) => p.b1[j] * scale[u]),
    // wa reads units 0, 1; wb reads units 2, 4 (its columns 0, 1).
    wa: [0, 1, 2].flatMap((o) => [1, 0].map((j, u) => p.wa[o * 2 + j] / scale[u])),
    wb: [0, 1, 2].flatMap((o) => [1, 0].map((j, u) => p.wb[o * 2 + j] / scale[[2, 4][u]])),
    wo: p.wo,
  };
  const x = randomInput(rng, 5 * 4);
  for (const opset of [11, 13]) {
    const a = splitMlp(p, opset);
    const b = splitMlp(copy, opset);
    const yb = await runModel(b, x, [5, 4]);
    t.ok(maxAbsDiff(await runModel(a, x, [5, 4]), yb) < 1e-5, 'the copy computes the same function');
    const r = await weightDistance(a, b);
    t.same(r.hidden!.map((h) => [h.tensor, h.units]), [['z[0:2]', 2], ['z[2:3,4:5]', 2], ['ga', 3], ['gb', 3]], `opset ${opset}: units 3 and 5 are a dead cell, left fixed`);
    t.ok(r.raw!.relative > 0.1 && r.canonical!.relative <= 1e-6 && r.aligned!.relative <= 1e-6, `canonical ${r.canonical!.relative}, aligned ${r.aligned!.relative} (raw ${r.raw!.relative})`);
    for (const m of [r.models.canonical!, r.models.aligned!]) t.ok(maxAbsDiff(await runModel(m, x, [5, 4]), yb) <= 1e-5 * Math.max(1, maxAbs(yb)), 'written back computes B');
  }
});

t.test('what split channels cannot do yet stops naming the node', async (t) => {
  const init = (name: string, dims: number[]): TensorInit => ({ name, dims, data: Array.from({ length: dims.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(i + 1)) });
  const model = (nodes: NodeSpec[], extra: TensorInit[] = []) => buildModel({
    inputs: [{ name: 'x', shape: ['N', 2, 4, 4] }],
    outputs: [{ name: 'y', shape: ['N', 2, 4, 4] }],
    initializers: [init('w1', [4, 2, 1, 1]), init('w2', [2, 2, 1, 1]), ...extra],
    nodes: [{ op: 'Conv', inputs: ['x', 'w1'], outputs: ['h'], attrs: { kernel_shape: { ints: [1, 1] } } }, ...nodes],
  });
  const split: NodeSpec = { op: 'Split', inputs: ['h'], outputs: ['h1', 'h2'], attrs: { axis: { i: 1 } } };
  // Two halves added: a residual join of split channels.
  const added = model([split, { op: 'Add', inputs: ['h1', 'h2'], outputs: ['s'] }, { op: 'Conv', inputs: ['s', 'w2'], outputs: ['y'], attrs: { kernel_shape: { ints: [1, 1] } } }]);
  await t.rejects(weightDistance(added, added, { methods: ['canonical'] }), { code: 'UNSUPPORTED_GRAPH', message: /Add.*reads channels split or shuffled from several layers/ });
  // A grid of the channels transposed with a spatial axis: not a channel shuffle.
  const grid = model([
    { op: 'Reshape', inputs: ['h', 'shape5'], outputs: ['g'] },
    { op: 'Transpose', inputs: ['g'], outputs: ['gt'], attrs: { perm: { ints: [0, 1, 3, 2, 4] } } },
    { op: 'Reshape', inputs: ['gt', 'shape4'], outputs: ['s'] },
    { op: 'Conv', inputs: ['s', 'w2full'], outputs: ['y'], attrs: { kernel_shape: { ints: [1, 1] } } },
  ], [{ name: 'shape5', dims: [5], data: [0, 2, 2, 4, 4], dtype: 'int64' }, { name: 'shape4', dims: [4], data: [0, 4, 4, 4], dtype: 'int64' }, init('w2full', [2, 4, 1, 1])]);
  await t.rejects(weightDistance(grid, grid, { methods: ['canonical'] }), { code: 'UNSUPPORTED_GRAPH', message: /Transpose.*only exchanging the two channel axes of a channel shuffle/ });
  const conv = (x: string, w: string, y: string, group = 1): NodeSpec => ({ op: 'Conv', inputs: [x, w], outputs: [y], attrs: { kernel_shape: { ints: [1, 1] }, group: { i: group } } });
  const ints = (name: string, data: number[]): TensorInit => ({ name, dims: [data.length], data: data.map(BigInt), dtype: 'int64' });
  const cases: Array<[string, Uint8Array, RegExp]> = [
    ['one half read twice', model([split, { op: 'Concat', inputs: ['h1', 'h1'], outputs: ['c'], attrs: { axis: { i: 1 } } }, conv('c', 'w4', 'y')], [init('w4', [2, 4, 1, 1])]), /Conv.*reads the same unit in two channels/],
    ['a grouped conv\'s output split', model([conv('h', 'wg', 'gh', 2), { ...split, inputs: ['gh'] }, conv('h1', 'w2', 'y')], [init('wg', [4, 2, 1, 1])]), /Conv.*splits channels a grouped convolution ties in blocks/],
    ['a grid merged the wrong way', model([{ op: 'Reshape', inputs: ['h', 'g5'], outputs: ['g'] }, { op: 'Reshape', inputs: ['g', 'g4'], outputs: ['s'] }, conv('s', 'w2', 'y')], [ints('g5', [0, 2, 2, 4, 4]), ints('g4', [0, 2, 8, 4])]), /Reshape.*only merging the two channel axes/],
    ['split sizes that do not add up', model([{ ...split, inputs: ['h', 'bad'] }, conv('h1', 'w2', 'y')], [ints('bad', [1, 2])]), /Split.*split sizes \[1,2\] do not divide 4 channels into 2 outputs/],
  ];
  for (const [what, m, message] of cases) await t.rejects(weightDistance(m, m, { methods: ['canonical'] }), { code: 'UNSUPPORTED_GRAPH', message }, what);
});

/**
 * A conv net over the last 3 of 4 input channels (a Split of the model input): Conv (6) → Relu →
 * a channel grid and back without a Transpose (the order stays) → its channels 0-3 (a Slice on
 * axis -3) through a depthwise conv, a BatchNorm and a per-channel Mul (folded into the
 * depthwise conv), channels 4-5 (a Slice from -2 to the end) cropped spatially → each pooled,
 * concatenated with a 1x1 conv of the whole Relu output, pooled → flattened → Gemm.
 */
function slicedConvNet(rng: ReturnType<typeof createRng>): Uint8Array {
  const normal = (n: number, s = 1) => Array.from({ length: n }, () => s * rng.normal());
  const init = (name: string, dims: number[], data?: number[]): TensorInit => ({ name, dims, data: data ?? normal(dims.reduce((a, b) => a * b, 1), 0.5) });
  const ints = (name: string, data: number[]): TensorInit => ({ name, dims: [data.length], data: data.map(BigInt), dtype: 'int64' });
  const positive = (n: number) => Array.from({ length: n }, () => 0.5 + rng.float());
  return buildModel({
    inputs: [{ name: 'x', shape: ['N', 4, 6, 6] }],
    outputs: [{ name: 'y', shape: ['N', 3] }],
    initializers: [
      init('w1', [6, 3, 3, 3]), init('b1', [6]), init('wd', [4, 1, 3, 3]), init('bd', [4]),
      init('scale', [4], positive(4)), init('shift', [4]), init('mean', [4]), init('var', [4], positive(4)), init('k', [1, 4, 1, 1], positive(4)),
      init('wp', [2, 6, 1, 1]), init('wo', [3, 8]), init('bo', [3]),
      ints('sizes', [1, 3]), ints('grid', [0, 3, 2, 6, 6]), ints('back', [0, 6, 6, 6]),
      ints('from0', [0]), ints('to4', [4]), ints('axisC', [-3]), ints('fromEnd', [-2]), ints('toEnd', [2 ** 62]), ints('axis1', [1]),
      ints('crop0', [1, 1]), ints('crop1', [5, 5]), ints('spatial', [2, 3]),
    ],
    nodes: [
      { op: 'Split', inputs: ['x', 'sizes'], outputs: ['xa', 'xb'], attrs: { axis: { i: 1 } } },
      { op: 'Conv', inputs: ['xb', 'w1', 'b1'], outputs: ['c1'], attrs: { kernel_shape: { ints: [3, 3] }, pads: { ints: [1, 1, 1, 1] } } },
      { op: 'Relu', inputs: ['c1'], outputs: ['r1'] },
      { op: 'Conv', inputs: ['r1', 'wp'], outputs: ['pp'], attrs: { kernel_shape: { ints: [1, 1] } } },
      { op: 'GlobalAveragePool', inputs: ['pp'], outputs: ['p2'] },
      { op: 'Reshape', inputs: ['r1', 'grid'], outputs: ['g'] },
      { op: 'Reshape', inputs: ['g', 'back'], outputs: ['r1b'] },
      { op: 'Slice', inputs: ['r1b', 'from0', 'to4', 'axisC'], outputs: ['s0'] },
      { op: 'Slice', inputs: ['r1b', 'fromEnd', 'toEnd', 'axis1'], outputs: ['s1'] },
      { op: 'Conv', inputs: ['s0', 'wd', 'bd'], outputs: ['d0'], attrs: { kernel_shape: { ints: [3, 3] }, pads: { ints: [1, 1, 1, 1] }, group: { i: 4 } } },
      { op: 'BatchNormalization', inputs: ['d0', 'scale', 'shift', 'mean', 'var'], outputs: ['n0'] },
      { op: 'Mul', inputs: ['n0', 'k'], outputs: ['m0'] },
      { op: 'Slice', inputs: ['s1', 'crop0', 'crop1', 'spatial'], outputs: ['s1c'] },
      { op: 'GlobalAveragePool', inputs: ['m0'], outputs: ['p0'] },
      { op: 'GlobalAveragePool', inputs: ['s1c'], outputs: ['p1'] },
      { op: 'Concat', inputs: ['p0', 'p1', 'p2'], outputs: ['cp'], attrs: { axis: { i: 1 } } },
      { op: 'Flatten', inputs: ['cp'], outputs: ['fl'] },
      { op: 'Gemm', inputs: ['fl', 'wo', 'bo'], outputs: ['y'], attrs: { transB: { i: 1 } } },
    ],
  });
}

t.test('sliced channels through a depthwise conv, a folded BatchNorm and Mul, a crop and a grid: cells; written back computes B', async (t) => {
  const rng = createRng(31);
  const a = slicedConvNet(rng);
  const b = slicedConvNet(rng);
  const r = await weightDistance(a, b);
  // The 1x1 conv reading c1 whole reads both cells.
  t.same(r.hidden!.map((h) => [h.tensor, h.units, h.symmetry]), [['r1[0:4]', 4, 'permutation+scale'], ['r1[4:6]', 2, 'permutation+scale'], ['pp', 2, 'permutation+scale']]);
  const x = randomInput(rng, 2 * 4 * 36);
  const yb = await runModel(b, x, [2, 4, 6, 6]);
  for (const m of [r.models.canonical!, r.models.aligned!]) t.ok(maxAbsDiff(await runModel(m, x, [2, 4, 6, 6]), yb) <= 1e-5 * Math.max(1, maxAbs(yb)), 'written back computes B');
  t.ok(r.aligned!.relative <= r.raw!.relative, `aligned ${r.aligned!.relative} <= raw ${r.raw!.relative}`);
});

/**
 * x [N, 3, 4, 4] → Conv (C channels) → Relu → h, then two readers of parts of h whose outputs are
 * added (the output): opset 13, h reversed by a Slice with step −1 and h[0 : C − 2] with the end
 * computed from h's channel count (Cast(Sub(Gather(Shape(h), 1), 2))); opset 9, h[2:6] by Slice
 * attributes and h[0:2]; opset 18, a Split into num_outputs = 2 (3 | 2 of 5 channels).
 */
function partsNet(rng: ReturnType<typeof createRng>, opset: 9 | 13 | 18): Uint8Array {
  const C = opset === 18 ? 5 : 6;
  const init = (name: string, dims: number[]): TensorInit => ({ name, dims, data: Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => rng.normal()) });
  const ints = (name: string, data: number[]): TensorInit => ({ name, dims: [data.length], data: data.map(BigInt), dtype: 'int64' });
  const conv = (x: string, w: string, y: string): NodeSpec => ({ op: 'Conv', inputs: [x, w], outputs: [y], attrs: { kernel_shape: { ints: [1, 1] } } });
  const [n1, n2] = opset === 13 ? [C, C - 2] : opset === 9 ? [4, 2] : [3, 2];
  const parts: NodeSpec[] =
    opset === 13
      ? [
          { op: 'Slice', inputs: ['h', 'last', 'first', 'axis1', 'back'], outputs: ['p1'] },
          { op: 'Shape', inputs: ['h'], outputs: ['shape'] },
          { op: 'Gather', inputs: ['shape', 'axis1'], outputs: ['channels'] },
          { op: 'Sub', inputs: ['channels', 'two'], outputs: ['less'] },
          { op: 'Cast', inputs: ['less'], outputs: ['end'], attrs: { to: { i: 7 } } },
          { op: 'Slice', inputs: ['h', 'zero', 'end', 'axis1'], outputs: ['p2'] },
        ]
      : opset === 9
        ? [
            { op: 'Slice', inputs: ['h'], outputs: ['p1'], attrs: { starts: { ints: [2] }, ends: { ints: [6] }, axes: { ints: [1] } } },
            { op: 'Slice', inputs: ['h'], outputs: ['p2'], attrs: { starts: { ints: [0] }, ends: { ints: [2] }, axes: { ints: [1] } } },
          ]
        : [{ op: 'Split', inputs: ['h'], outputs: ['p1', 'p2'], attrs: { axis: { i: 1 }, num_outputs: { i: 2 } } }];
  return buildModel({
    opset,
    inputs: [{ name: 'x', shape: ['N', 3, 4, 4] }],
    outputs: [{ name: 'y', shape: ['N', 2, 4, 4] }],
    initializers: [init('w1', [C, 3, 1, 1]), init('b1', [C]), init('w2', [2, n1, 1, 1]), init('w3', [2, n2, 1, 1]), ints('last', [-1]), ints('first', [-(2 ** 62)]), ints('axis1', [1]), ints('back', [-1]), ints('zero', [0]), ints('two', [2])],
    nodes: [
      { op: 'Conv', inputs: ['x', 'w1', 'b1'], outputs: ['c'], attrs: { kernel_shape: { ints: [1, 1] } } },
      { op: 'Relu', inputs: ['c'], outputs: ['h'] },
      ...parts,
      conv('p1', 'w2', 'y1'),
      conv('p2', 'w3', 'y2'),
      { op: 'Add', inputs: ['y1', 'y2'], outputs: ['y'] },
    ],
  });
}

t.test('reversed, computed-end, attribute and num_outputs splits of a layer\'s channels: cells; written back computes B', async (t) => {
  const rng = createRng(57);
  const cells = { 13: ['c[0:4]', 'c[4:6]'], 9: ['c[0:2]', 'c[2:6]'], 18: ['c[0:3]', 'c[3:5]'] };
  for (const opset of [13, 9, 18] as const) {
    const a = partsNet(rng, opset);
    const b = partsNet(rng, opset);
    const r = await weightDistance(a, b);
    t.same(r.hidden!.map((h) => h.tensor), cells[opset], `opset ${opset}`);
    const x = randomInput(rng, 2 * 3 * 16);
    const yb = await runModel(b, x, [2, 3, 4, 4]);
    for (const m of [r.models.canonical!, r.models.aligned!]) t.ok(maxAbsDiff(await runModel(m, x, [2, 3, 4, 4]), yb) <= 1e-5 * Math.max(1, maxAbs(yb)), `opset ${opset}: written back computes B`);
  }
});
