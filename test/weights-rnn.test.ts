/**
 * LSTM, GRU and RNN ops: hidden units permute jointly across the gate blocks
 * of W, R and B and the consumer, and flip sign through the candidate gate.
 * Fixtures (scripts/fixtures/make-arch-fixtures.py): nn.LSTM/nn.GRU
 * classifiers and a copy of seed 0 permuted and half sign-flipped in PyTorch,
 * exported by both torch exporters; a hand-built RNN op.
 */
import fs from 'node:fs';
import path from 'node:path';

import t from 'tap';
import { onnx } from 'onnx-proto';

import { readArrays } from '../lib/io/array-file';
import { lossBarrier } from '../lib/path/barrier';
import { createRng } from '../lib/util/rng';
import { weightDistance } from '../lib/weights';
import { buildModel } from './helpers/onnx-builder';
import { maxAbsDiff, randomInput, runModel } from './helpers/onnx-models';
import { argmaxLabels, checkPermutedCopy } from './helpers/permuted-copy';

const FIXTURES = path.join(__dirname, 'fixtures', 'arch');
const probeFile = path.join(FIXTURES, 'probe-sequence.npz');
const probe = readArrays(probeFile)[0][1];
const probeX = probe.data as Float32Array;
const copyProbe = { data: probeX, shape: probe.shape, classes: 5 };

for (const arch of ['lstm', 'gru']) {
  for (const exporter of ['ts13', 'ts17', 'dyn18']) {
    t.test(`${arch} (${exporter}): permuted, sign-flipped copy ≈ 0; written back computes B`, async (t) => {
      const file = (s: string) => path.join(FIXTURES, `${arch}-${exporter}-${s}.onnx`);
      const a = fs.readFileSync(file('s0'));
      const b = fs.readFileSync(file('s0-perm'));
      const r = await weightDistance(a, b);
      t.same(r.hidden!.map((h) => [h.units, h.symmetry]), [[8, 'permutation+sign']]);
      await checkPermutedCopy(t, r, b, copyProbe);
      const byActivations = await weightDistance(a, b, { methods: ['aligned'], align: 'activations', data: probe });
      t.ok(byActivations.aligned!.relative <= 1e-6, `aligned by activations: ${byActivations.aligned!.relative}`);
      if (exporter !== 'ts13') return;
      const seeds = await weightDistance(a, fs.readFileSync(file('s1')), { methods: ['raw', 'aligned'] });
      t.ok(seeds.aligned!.relative < seeds.raw!.relative, `two seeds: aligned ${seeds.aligned!.relative} < raw ${seeds.raw!.relative}`);
      const labels = await argmaxLabels(a, copyProbe);
      for (const align of ['weights', 'activations'] as const) {
        const flat = await lossBarrier(a, b, { data: probeFile, labels, steps: 3, align });
        t.ok(Math.abs(flat.aligned!.lossBarrier) <= 1e-5, `barrier to the copy aligned by ${align}: ${flat.aligned!.lossBarrier} (naive ${flat.naive.lossBarrier})`);
      }
    });
  }
}

/** A hand-built RNN op (tanh, one gate) over [steps, batch, 3] → Y_h → Squeeze → Gemm. */
function rnnModel(W: number[], R: number[], B: number[], F: number[], extra: Partial<{ direction: string; initial: number[]; relu: boolean }> = {}): Uint8Array {
  const bytes = buildModel({
    inputs: [{ name: 'x', shape: [4, 'N', 3] }],
    outputs: [{ name: 'y', shape: ['N', 2] }],
    initializers: [
      { name: 'W', dims: [1, 5, 3], data: W }, { name: 'R', dims: [1, 5, 5], data: R }, { name: 'B', dims: [1, 10], data: B },
      { name: 'F', dims: [2, 5], data: F }, { name: 'axes', dims: [1], data: [0], dtype: 'int64' },
      ...(extra.initial ? [{ name: 'h0', dims: [1, 1, 5], data: extra.initial }] : []),
    ],
    nodes: [
      { op: 'RNN', inputs: ['x', 'W', 'R', 'B', '', extra.initial ? 'h0' : ''], outputs: ['', 'h'], attrs: { hidden_size: { i: 5 }, ...(extra.direction ? { direction: { s: extra.direction } } : {}) } },
      { op: 'Squeeze', inputs: ['h', 'axes'], outputs: ['hs'] },
      { op: 'Gemm', inputs: ['hs', 'F'], outputs: ['y'], attrs: { transB: { i: 1 } } },
    ],
  });
  if (!extra.relu) return bytes;
  const m = onnx.ModelProto.decode(bytes);
  m.graph!.node![0].attribute!.push(onnx.AttributeProto.create({ name: 'activations', type: onnx.AttributeProto.AttributeType.STRINGS, strings: [Buffer.from('Relu')] }));
  return onnx.ModelProto.encode(m).finish();
}

t.test('an RNN op: permuted and sign-flipped units by index arithmetic; refusals name the node', async (t) => {
  const rng = createRng(80);
  const normal = (n: number) => Array.from({ length: n }, () => rng.normal());
  const [W, R, B, F] = [normal(15), normal(25), normal(10), normal(10)];
  const p = [3, 0, 4, 1, 2];
  const s = [1, -1, -1, 1, -1];
  const b = rnnModel(
    p.flatMap((j, u) => W.slice(j * 3, j * 3 + 3).map((v) => v * s[u])),
    p.flatMap((j, u) => p.map((k, v) => R[j * 5 + k] * s[u] * s[v])),
    [...p.map((j, u) => B[j] * s[u]), ...p.map((j, u) => B[5 + j] * s[u])],
    [0, 1].flatMap((o) => p.map((j, u) => F[o * 5 + j] * s[u])),
  );
  const a = rnnModel(W, R, B, F);
  const x = randomInput(rng, 4 * 6 * 3);
  t.ok(maxAbsDiff(await runModel(a, x, [4, 6, 3]), await runModel(b, x, [4, 6, 3])) < 1e-5, 'the copy computes the same function');
  const r = await weightDistance(a, b);
  t.ok(r.canonical!.relative <= 1e-6 && r.aligned!.relative <= 1e-6, `canonical ${r.canonical!.relative}, aligned ${r.aligned!.relative} (raw ${r.raw!.relative})`);
  t.ok(maxAbsDiff(await runModel(r.models.aligned!, x, [4, 6, 3]), await runModel(b, x, [4, 6, 3])) < 1e-5, 'aligned B computes B');
  // A bidirectional op's W must hold two directions; its Y_h [2, N, 5] cannot be squeezed as one.
  await t.rejects(weightDistance(rnnModel(W, R, B, F, { direction: 'bidirectional' }), a, { methods: ['canonical'] }), { code: 'UNSUPPORTED_GRAPH', message: /at RNN node .*: its W or R does not have 2 × 1 gate blocks of 5 units/ });
  // A learned initial state permutes and flips with the units.
  const h0 = normal(5);
  const copyWith = (h: number[]) => rnnModel(
    p.flatMap((j, u) => W.slice(j * 3, j * 3 + 3).map((v) => v * s[u])),
    p.flatMap((j, u) => p.map((k, v) => R[j * 5 + k] * s[u] * s[v])),
    [...p.map((j, u) => B[j] * s[u]), ...p.map((j, u) => B[5 + j] * s[u])],
    [0, 1].flatMap((o) => p.map((j, u) => F[o * 5 + j] * s[u])),
    { initial: p.map((j, u) => h[j] * s[u]) },
  );
  const learned = await weightDistance(rnnModel(W, R, B, F, { initial: h0 }), copyWith(h0));
  t.ok(learned.raw!.relative > 0.5 && learned.canonical!.relative <= 1e-6 && learned.aligned!.relative <= 1e-6, `learned h0: canonical ${learned.canonical!.relative}, aligned ${learned.aligned!.relative}`);
  // A learned initial state that happens to be zero is still a parameter (another model's may not be).
  const zero = [0, 0, 0, 0, 0];
  const zeroInit = await weightDistance(rnnModel(W, R, B, F, { initial: zero }), copyWith(zero), { methods: ['canonical'] });
  t.ok(zeroInit.canonical!.relative <= 1e-6, 'a zero initial state is fine');
  // Another activation than tanh: no sign symmetry (ReLU's scale does not pass the recurrence either).
  const relu = await weightDistance(rnnModel(W, R, B, F, { relu: true }), rnnModel(W, R, B, F, { relu: true }), { methods: ['canonical'] });
  t.same(relu.hidden!.map((h) => h.symmetry), ['permutation']);
});

t.test('an LSTM op with peepholes: gate blocks i, o, f, c permuted together, signs through c and the peepholes', async (t) => {
  const rng = createRng(81);
  const normal = (n: number) => Array.from({ length: n }, () => 0.7 * rng.normal());
  const H = 4;
  const I = 3;
  const p = [2, 0, 3, 1];
  const s = [-1, 1, -1, 1];
  const model = (W: number[], R: number[], B: number[], P: number[], F: number[]) =>
    buildModel({
      inputs: [{ name: 'x', shape: [5, 'N', I] }],
      outputs: [{ name: 'y', shape: ['N', 2] }],
      initializers: [
        { name: 'W', dims: [1, 4 * H, I], data: W }, { name: 'R', dims: [1, 4 * H, H], data: R }, { name: 'B', dims: [1, 8 * H], data: B },
        { name: 'P', dims: [1, 3 * H], data: P }, { name: 'F', dims: [2, H], data: F }, { name: 'axes', dims: [1], data: [0], dtype: 'int64' },
      ],
      nodes: [
        { op: 'LSTM', inputs: ['x', 'W', 'R', 'B', '', '', '', 'P'], outputs: ['', 'h'], attrs: { hidden_size: { i: H } } },
        { op: 'Squeeze', inputs: ['h', 'axes'], outputs: ['hs'] },
        { op: 'Gemm', inputs: ['hs', 'F'], outputs: ['y'], attrs: { transB: { i: 1 } } },
      ],
    });
  const [W, R, B, P, F] = [normal(4 * H * I), normal(4 * H * H), normal(8 * H), normal(3 * H), normal(2 * H)];
  // Gate block g (ONNX order i, o, f, c), unit u: row g·H + p[u]; only the candidate c (g = 3) flips with the unit.
  const rowSign = (g: number, u: number) => (g === 3 ? s[u] : 1);
  const rowsOf = (M: number[], cols: number, col: (u: number, v: number) => number) =>
    [0, 1, 2, 3].flatMap((g) => p.flatMap((j, u) => Array.from({ length: cols }, (_, v) => M[(g * H + j) * cols + col(u, v)] * rowSign(g, u) * (cols === H ? s[v] : 1))));
  const b = model(
    rowsOf(W, I, (_u, v) => v),
    rowsOf(R, H, (_u, v) => p[v]),
    [0, 1].flatMap((half) => [0, 1, 2, 3].flatMap((g) => p.map((j, u) => B[half * 4 * H + g * H + j] * rowSign(g, u)))),
    [0, 1, 2].flatMap((k) => p.map((j, u) => P[k * H + j] * s[u])),
    [0, 1].flatMap((o) => p.map((j, u) => F[o * H + j] * s[u])),
  );
  const a = model(W, R, B, P, F);
  const x = randomInput(rng, 5 * 4 * I);
  t.ok(maxAbsDiff(await runModel(a, x, [5, 4, I]), await runModel(b, x, [5, 4, I])) < 1e-5, 'the copy computes the same function');
  const r = await weightDistance(a, b);
  t.ok(r.raw!.relative > 0.5, `raw ${r.raw!.relative}`);
  t.ok(r.canonical!.relative <= 1e-6 && r.aligned!.relative <= 1e-6, `canonical ${r.canonical!.relative}, aligned ${r.aligned!.relative}`);
  for (const m of [r.models.canonical!, r.models.aligned!]) t.ok(maxAbsDiff(await runModel(m, x, [5, 4, I]), await runModel(b, x, [5, 4, I])) < 1e-5, 'written back computes B');
});
