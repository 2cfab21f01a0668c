/**
 * Bidirectional LSTM/GRU ops (each direction's units permute and flip
 * independently; the Linear reads the [forward, backward] concatenation) and
 * nonzero initial states (learned ones permute and flip with the units; one
 * learned state broadcast to both directions makes them permute together; ones
 * fed as model inputs keep the units fixed). Fixtures:
 * scripts/fixtures/make-convrnn-fixtures.py (real nn.LSTM/nn.GRU modules, a
 * copy of seed 0 permuted and half sign-flipped in PyTorch, both torch
 * exporters); hand-built RNN ops for the refusals.
 */
import fs from 'node:fs';
import path from 'node:path';

import t from 'tap';

import { readArrays } from '../lib/io/array-file';
import { encodeOnnx, graphOf, onnx, readOnnx } from '../lib/io/onnx';
import { lossBarrier } from '../lib/path/barrier';
import { createRng } from '../lib/util/rng';
import { weightDistance } from '../lib/weights';
import { hiddenLayerLine } from '../lib/cli/commands/weights';
import { type NodeSpec, buildModel } from './helpers/onnx-builder';
import { maxAbsDiff, randomInput, runModel } from './helpers/onnx-models';
import { argmaxLabels, checkPermutedCopy } from './helpers/permuted-copy';

const FIXTURES = path.join(__dirname, 'fixtures', 'convrnn');
const probeFile = path.join(FIXTURES, 'probe-sequence.npz');
const probe = readArrays(probeFile)[0][1];
const probeX = probe.data as Float32Array;
const copyProbe = { data: probeX, shape: probe.shape, classes: 5 };
const file = (name: string) => path.join(FIXTURES, `${name}.onnx`);

const CASES: Array<[string, string[]]> = [
  // Two stacked bidirectional layers: the second reads [fwd, bwd] of the first in both directions.
  ['bilstm', ['6 permutation+sign', '6 permutation+sign', '6 permutation+sign', '6 permutation+sign']],
  ['bigru', ['6 permutation+sign', '6 permutation+sign']],
  ['lstm_h0', ['6 permutation+sign']],
  // One learned state starts both directions: their units permute and flip sign together.
  ['bilstm_h0', ['6 permutation+sign', '6 permutation+sign']],
];

for (const [arch, hidden] of CASES) {
  for (const exporter of ['ts13', 'ts17', 'dyn18']) {
    t.test(`${arch} (${exporter}): permuted, sign-flipped copy ≈ 0; written back computes B`, async (t) => {
      const a = fs.readFileSync(file(`${arch}-${exporter}-s0`));
      const b = fs.readFileSync(file(`${arch}-${exporter}-s0-perm`));
      const r = await weightDistance(a, b);
      t.same(r.hidden!.map((h) => `${h.units} ${h.symmetry}`), hidden);
      // Both directions read out of one Y tensor: each entry says which it is, in the graph's order.
      const rnnNodes = graphOf(readOnnx(a)).node.filter((n) => ['LSTM', 'GRU', 'RNN'].includes(n.opType ?? ''));
      const bidirectional = (n: onnx.INodeProto) => n.attribute?.some((x) => x.name === 'direction' && Buffer.from(x.s ?? []).toString() === 'bidirectional');
      t.same(r.hidden!.map((h) => h.direction), rnnNodes.flatMap((n) => (bidirectional(n) ? ['forward', 'backward'] : [undefined])), 'each direction named');
      for (const h of r.hidden!) t.notMatch(hiddenLayerLine(h), /grouped conv/, 'no RNN unit is called a grouped conv');
      await checkPermutedCopy(t, r, b, copyProbe);
      if (exporter !== 'ts13') return;
      const seeds = await weightDistance(a, fs.readFileSync(file(`${arch}-ts13-s1`)), { methods: ['raw', 'aligned'] });
      t.ok(seeds.aligned!.relative < seeds.raw!.relative, `two seeds: aligned ${seeds.aligned!.relative} < raw ${seeds.raw!.relative}`);
      if (arch === 'bilstm_h0') {
        t.same(r.hidden!.map((h) => [h.blocks, h.blocksMove, h.blocksTiedBy]), [[6, true, 'shared initial state'], [6, true, 'shared initial state']], 'the two directions are one family of one-unit blocks');
        t.match(hiddenLayerLine(r.hidden![1]), /^\S+ \(backward\): 6 units, permutation\+sign, written by .*, each unit tied to the other direction's \(one initial state starts both\)$/);
        const byActivations = await weightDistance(a, b, { methods: ['aligned'], align: 'activations', data: probe });
        t.ok(byActivations.aligned!.relative <= 1e-6, `aligned by activations: ${byActivations.aligned!.relative}`);
      }
      const labels = await argmaxLabels(a, copyProbe);
      const flat = await lossBarrier(a, b, { data: probeFile, labels, steps: 3, align: 'weights' });
      t.ok(Math.abs(flat.aligned!.lossBarrier) <= 1e-5, `barrier to the copy aligned by weights: ${flat.aligned!.lossBarrier} (naive ${flat.naive.lossBarrier})`);
    });
  }
}

t.test('a shared initial state: when one direction is fixed, the other does not flip either', async (t) => {
  // The backward direction's final state as a graph output fixes its units; flipping a forward unit
  // would flip the shared h0 the backward direction starts from, so the forward units only permute.
  const m = readOnnx(file('bilstm_h0-ts13-s0'));
  const g = graphOf(m);
  const lstm = g.node.find((n) => n.opType === 'LSTM')!;
  if (!lstm.output![1]) lstm.output![1] = 'h_n';
  g.initializer.push(onnx.TensorProto.create({ name: 'backward', dims: [], dataType: onnx.TensorProto.DataType.INT64, int64Data: [1] }));
  g.node.push(onnx.NodeProto.create({ opType: 'Gather', input: [lstm.output![1], 'backward'], output: ['h_backward'], name: 'gather_backward', attribute: [onnx.AttributeProto.create({ name: 'axis', i: 0, type: onnx.AttributeProto.AttributeType.INT })] }));
  g.output.push(onnx.ValueInfoProto.create({ name: 'h_backward' }));
  const r = await weightDistance(encodeOnnx(m), encodeOnnx(m), { methods: ['canonical'] });
  t.same(r.hidden!.map((h) => `${h.units} ${h.symmetry}`), ['6 permutation']);
});

t.test('initial states fed as model inputs: the LSTM units stay fixed, the rest still works', async (t) => {
  for (const exporter of ['ts13', 'ts17', 'dyn18']) {
    const a = fs.readFileSync(file(`lstm_h0in-${exporter}-s0`));
    const s1 = fs.readFileSync(file(`lstm_h0in-${exporter}-s1`));
    const r = await weightDistance(a, s1);
    // No hidden group is left to permute: canonical and aligned equal raw, and all three run.
    t.same(r.hidden, [], `${exporter}: no permutable group`);
    t.ok(r.raw!.relative > 0.5, `${exporter}: raw ${r.raw!.relative}`);
    t.equal(r.canonical!.relative, r.raw!.relative, `${exporter}: canonical = raw`);
    t.equal(r.aligned!.relative, r.raw!.relative, `${exporter}: aligned = raw`);
  }
});

/** A hand-built bidirectional RNN op (tanh) over [4, 6, 3] (a learned h0 per sample): Y → Transpose → Reshape [4, N, 10] → Gather last step → Gemm, or `tail` instead. */
function biRnn(W: number[], R: number[], B: number[], F: number[], tail?: 'flatten' | 'h_n' | 'step' | 'add', h0?: number[]): Uint8Array {
  const nodes: NodeSpec[] = tail === 'step'
    ? [
        // Y[-1] [2, N, 5] → [N, 2, 5] → [N, 10]: the last step's directions merged after the position is taken.
        { op: 'Gather', inputs: ['Y', 'last'], outputs: ['ys'], attrs: { axis: { i: 0 } } },
        { op: 'Transpose', inputs: ['ys'], outputs: ['yst'], attrs: { perm: { ints: [1, 0, 2] } } },
        { op: 'Reshape', inputs: ['yst', 'flat'], outputs: ['yl'] },
        { op: 'Gemm', inputs: ['yl', 'F'], outputs: ['y'], attrs: { transB: { i: 1 } } },
      ]
    : tail === 'add'
      ? [{ op: 'Add', inputs: ['yt', 'yt'], outputs: ['yy'] }, { op: 'Reshape', inputs: ['yy', 'shape'], outputs: ['ym'] }, { op: 'Gather', inputs: ['ym', 'last'], outputs: ['yl'], attrs: { axis: { i: 0 } } }, { op: 'Gemm', inputs: ['yl', 'F'], outputs: ['y'], attrs: { transB: { i: 1 } } }]
      : tail === 'flatten'
    ? [{ op: 'Reshape', inputs: ['yt', 'flat'], outputs: ['f'] }, { op: 'Gemm', inputs: ['f', 'F2'], outputs: ['y'], attrs: { transB: { i: 1 } } }]
    : tail === 'h_n'
      ? [{ op: 'Gather', inputs: ['h', 'one'], outputs: ['hb'], attrs: { axis: { i: 0 } } }, { op: 'Gemm', inputs: ['hb', 'F1'], outputs: ['y'], attrs: { transB: { i: 1 } } }]
      : [
          { op: 'Reshape', inputs: ['yt', 'shape'], outputs: ['ym'] },
          { op: 'Gather', inputs: ['ym', 'last'], outputs: ['yl'], attrs: { axis: { i: 0 } } },
          { op: 'Gemm', inputs: ['yl', 'F'], outputs: ['y'], attrs: { transB: { i: 1 } } },
        ];
  return buildModel({
    inputs: [{ name: 'x', shape: [4, 'N', 3] }],
    outputs: [{ name: 'y', shape: ['N', 2] }],
    initializers: [
      { name: 'W', dims: [2, 5, 3], data: W }, { name: 'R', dims: [2, 5, 5], data: R }, { name: 'B', dims: [2, 10], data: B },
      { name: 'F', dims: [2, 10], data: F }, { name: 'F1', dims: [2, 5], data: F.slice(0, 10) }, { name: 'F2', dims: [2, 80], data: Array.from({ length: 160 }, (_, i) => F[i % 20]) },
      { name: 'shape', dims: [3], data: [0, 0, -1], dtype: 'int64' }, { name: 'flat', dims: [2], data: [0, -1], dtype: 'int64' },
      { name: 'last', dims: [], data: [3], dtype: 'int64' }, { name: 'one', dims: [], data: [1], dtype: 'int64' },
      ...(h0 ? [{ name: 'h0', dims: [2, 6, 5], data: h0 }] : []),
    ],
    nodes: [
      { op: 'RNN', inputs: ['x', 'W', 'R', 'B', '', h0 ? 'h0' : ''], outputs: ['Y', 'h'], attrs: { hidden_size: { i: 5 }, direction: { s: 'bidirectional' } } },
      { op: 'Transpose', inputs: ['Y'], outputs: ['yt'], attrs: { perm: { ints: [0, 2, 1, 3] } } },
      ...nodes,
    ],
  });
}

t.test('a bidirectional RNN op with a learned initial state: each direction permuted and flipped by index arithmetic', async (t) => {
  const rng = createRng(90);
  const normal = (n: number) => Array.from({ length: n }, () => rng.normal());
  const [W, R, B, F, h0] = [normal(30), normal(50), normal(20), normal(20), normal(60)];
  // Direction d: unit u of the copy = unit p[d][u] of the original, times s[d][u].
  const p = [[3, 0, 4, 1, 2], [1, 2, 0, 4, 3]];
  const s = [[1, -1, -1, 1, -1], [-1, 1, 1, -1, 1]];
  const both = (f: (d: number) => number[]) => [...f(0), ...f(1)];
  const b = biRnn(
    both((d) => p[d].flatMap((j, u) => W.slice(d * 15 + j * 3, d * 15 + j * 3 + 3).map((v) => v * s[d][u]))),
    both((d) => p[d].flatMap((j, u) => p[d].map((k, v) => R[d * 25 + j * 5 + k] * s[d][u] * s[d][v]))),
    both((d) => [...p[d].map((j, u) => B[d * 10 + j] * s[d][u]), ...p[d].map((j, u) => B[d * 10 + 5 + j] * s[d][u])]),
    [0, 1].flatMap((o) => both((d) => p[d].map((j, u) => F[o * 10 + d * 5 + j] * s[d][u]))),
    undefined,
    both((d) => Array.from({ length: 6 }, (_, n) => p[d].map((j, u) => h0[d * 30 + n * 5 + j] * s[d][u])).flat()),
  );
  const a = biRnn(W, R, B, F, undefined, h0);
  const x = randomInput(rng, 4 * 6 * 3);
  t.ok(maxAbsDiff(await runModel(a, x, [4, 6, 3]), await runModel(b, x, [4, 6, 3])) < 1e-5, 'the copy computes the same function');
  const r = await weightDistance(a, b);
  t.same(r.hidden!.map((h) => `${h.units} ${h.symmetry}`), ['5 permutation+sign', '5 permutation+sign']);
  t.ok(r.canonical!.relative <= 1e-6 && r.aligned!.relative <= 1e-6, `canonical ${r.canonical!.relative}, aligned ${r.aligned!.relative} (raw ${r.raw!.relative})`);
  for (const m of [r.models.canonical!, r.models.aligned!]) t.ok(maxAbsDiff(await runModel(m, x, [4, 6, 3]), await runModel(b, x, [4, 6, 3])) < 1e-5, 'written back computes B');
  // Y_h's backward direction alone (h_n[1]) feeds the Gemm; the forward units still permute (only their own R reads them).
  const hn = await weightDistance(biRnn(W, R, B, F, 'h_n'), biRnn(W, R, B, F, 'h_n'), { methods: ['canonical'] });
  t.same(hn.hidden!.map((h) => h.units), [5, 5]);
  t.equal(hn.canonical!.relative, 0);
  // The same function read as Y[-1] before the directions merge: the same two groups, the copy found exactly.
  const step = await weightDistance(biRnn(W, R, B, F, 'step', h0), biRnn(W, R, B, F, 'step', h0), { methods: ['canonical'] });
  t.same(step.hidden!.map((h) => h.units), [5, 5]);
  t.ok(maxAbsDiff(await runModel(biRnn(W, R, B, F, 'step', h0), x, [4, 6, 3]), await runModel(a, x, [4, 6, 3])) < 1e-6, 'Y[-1] then merge computes the same as merge then [-1]');
  await t.rejects(weightDistance(biRnn(W, R, B, F, 'add'), a, { methods: ['canonical'] }), {
    code: 'UNSUPPORTED_GRAPH',
    message: /at Add node .*: it reads the directions axis of a bidirectional recurrent output as data/,
  });
  await t.rejects(weightDistance(biRnn(W, R, B, F, 'flatten'), a, { methods: ['canonical'] }), {
    code: 'UNSUPPORTED_GRAPH',
    message: /at Reshape node .*: only merging the directions axis of a bidirectional recurrent output/,
  });
});
