/**
 * Grouped convolutions (not depthwise): the channels into and out of a
 * grouped Conv permute within its groups, and the groups move as blocks, one
 * map for both sides. Depthwise convolutions: a per-channel scale passes
 * through them (their bias scales, their filters stay). Fixtures (scripts/fixtures/make-convrnn-fixtures.py):
 * three of torchvision's ResNeXt Bottleneck blocks, a plain CNN with a
 * grouped conv in the middle and a depthwise separable block with ReLU, each with a copy of seed 0 permuted (within
 * and across groups) and rescaled in PyTorch, both torch exporters; hand-built
 * graphs for the fixed-blocks case and the refusal.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import t from 'tap';

import { runCli } from '../lib/cli/main';
import { readArrays } from '../lib/io/array-file';
import { writeNpy } from '../lib/io/npy';
import { lossBarrier } from '../lib/path/barrier';
import { createRng } from '../lib/util/rng';
import { weightDistance } from '../lib/weights';
import { captureIo } from './helpers/capture-io';
import { type TensorInit, buildModel } from './helpers/onnx-builder';
import { maxAbs, maxAbsDiff, meanJs, randomInput, runModel } from './helpers/onnx-models';
import { argmaxLabels, checkPermutedCopy } from './helpers/permuted-copy';

const FIXTURES = path.join(__dirname, 'fixtures', 'convrnn');
const probeFile = path.join(FIXTURES, 'probe-image16.npz');
const probe = readArrays(probeFile)[0][1];
const probeX = probe.data as Float32Array;
const copyProbe = { data: probeX, shape: probe.shape, classes: 5 };
const file = (name: string) => path.join(FIXTURES, `${name}.onnx`);

const CASES: Array<[string, string[]]> = [
  // Stem, then per block: the grouped conv's input and output (8 = 4 groups of 2), the block's output stream.
  ['resnext', ['16', '8/4', '8/4', '64', '8/4', '8/4', '8/4', '8/4', '64']],
  ['gconv', ['8/4', '12/4', '6']],
  // A depthwise separable block with ReLU: one permutation and scale per channel through the depthwise conv.
  ['dwconv', ['8', '6']],
];

for (const [arch, hidden] of CASES) {
  for (const exporter of ['ts13', 'ts17', 'dyn18']) {
    t.test(`${arch} (${exporter}): permuted (within and across groups), rescaled copy ≈ 0; written back computes B`, async (t) => {
      const a = fs.readFileSync(file(`${arch}-${exporter}-s0`));
      const b = fs.readFileSync(file(`${arch}-${exporter}-s0-perm`));
      const r = await weightDistance(a, b);
      t.same(r.hidden!.map((h) => `${h.units}${h.blocks ? `/${h.blocks}` : ''}`), hidden);
      t.ok(r.hidden!.every((h) => h.symmetry === 'permutation+scale' && h.blocksMove !== false), 'ReLU everywhere: scale passes; blocks move');
      await checkPermutedCopy(t, r, b, copyProbe);
      if (exporter !== 'ts13') return;
      const seeds = await weightDistance(a, fs.readFileSync(file(`${arch}-ts13-s1`)), { methods: ['raw', 'aligned'] });
      t.ok(seeds.aligned!.relative < seeds.raw!.relative, `two seeds: aligned ${seeds.aligned!.relative} < raw ${seeds.raw!.relative}`);
      if (arch === 'gconv') {
        // Activation matching takes the same structured assignment (one family suffices: it runs the models).
        const byActivations = await weightDistance(a, b, { methods: ['aligned'], align: 'activations', data: probe });
        t.ok(byActivations.aligned!.relative <= 1e-6, `aligned by activations: ${byActivations.aligned!.relative}`);
      }
      const labels = await argmaxLabels(a, copyProbe);
      const flat = await lossBarrier(a, b, { data: probeFile, labels, steps: 3, align: 'weights' });
      t.ok(Math.abs(flat.aligned!.lossBarrier) <= 1e-5, `barrier to the copy aligned by weights: ${flat.aligned!.lossBarrier} (naive ${flat.naive.lossBarrier})`);
    });
  }
}

t.test('weights --write-aligned / --write-canonical on a grouped CNN: files compute B; the text names the blocks', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'modeldiff-grouped-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  writeNpy(path.join(dir, 'probe.npy'), { dtype: 'float32', shape: probe.shape, data: probeX });
  const io = captureIo();
  io.cwd = dir;
  const code = await runCli(['weights', file('gconv-ts13-s0'), file('gconv-ts13-s0-perm'), '--write-aligned', 'al.onnx', '--write-canonical', 'ca.onnx'], io);
  t.equal(code, 0, io.err);
  t.match(io.out, /12 units, permutation\+scale, written by .*, in 4 blocks \(grouped conv\)/);
  const yb = await runModel(fs.readFileSync(file('gconv-ts13-s0-perm')), probeX, probe.shape);
  for (const f of ['al.onnx', 'ca.onnx']) {
    const js = meanJs(yb, await runModel(fs.readFileSync(path.join(dir, f)), probeX, probe.shape), 5);
    t.ok(js <= 1e-9, `${f} computes B's function: JS ${js}`);
  }
});

/**
 * A grouped conv straight on the 4-channel input (2 groups): its input is fixed, so its
 * output blocks cannot move; within a block they permute. Then Relu → 1×1 conv → global pool.
 */
function fixedBlocks(w1: number[], b1: number[], w2: number[], groups2 = 0): Uint8Array {
  const init = (name: string, dims: number[], data: number[]): TensorInit => ({ name, dims, data });
  return buildModel({
    inputs: [{ name: 'x', shape: ['N', 4, 5, 5] }],
    outputs: [{ name: 'y', shape: ['N', 3, 1, 1] }],
    initializers: [init('w1', [6, 2, 3, 3], w1), init('b1', [6], b1), init('w2', [3, groups2 ? 6 / groups2 : 6, 1, 1], groups2 ? w2.slice(0, 3 * (6 / groups2)) : w2)],
    nodes: [
      { op: 'Conv', inputs: ['x', 'w1', 'b1'], outputs: ['c'], attrs: { kernel_shape: { ints: [3, 3] }, pads: { ints: [1, 1, 1, 1] }, group: { i: 2 } } },
      { op: 'Relu', inputs: ['c'], outputs: ['r'] },
      { op: 'Conv', inputs: ['r', 'w2'], outputs: ['d'], attrs: { kernel_shape: { ints: [1, 1] }, ...(groups2 ? { group: { i: groups2 } } : {}) } },
      { op: 'GlobalAveragePool', inputs: ['d'], outputs: ['y'] },
    ],
  });
}

t.test('a grouped conv on the model input: units permute within its groups only, by index arithmetic', async (t) => {
  const rng = createRng(70);
  const normal = (n: number) => Array.from({ length: n }, () => rng.normal());
  const [w1, b1, w2] = [normal(6 * 18), normal(6), normal(18)];
  // Output channels 0-2 read input channels 0-1, 3-5 read 2-3: permute within each half only.
  const p = [2, 0, 1, 4, 5, 3];
  const scale = [0.5, 2, 1.5, 3, 0.25, 1];
  const b = fixedBlocks(
    p.flatMap((j, u) => w1.slice(j * 18, j * 18 + 18).map((v) => v * scale[u])),
    p.map((j, u) => b1[j] * scale[u]),
    [0, 1, 2].flatMap((o) => p.map((j, u) => w2[o * 6 + j] / scale[u])),
  );
  const a = fixedBlocks(w1, b1, w2);
  const x = randomInput(rng, 3 * 4 * 25);
  const yb = await runModel(b, x, [3, 4, 5, 5]);
  t.ok(maxAbsDiff(await runModel(a, x, [3, 4, 5, 5]), yb) < 1e-5, 'the copy computes the same function');
  const r = await weightDistance(a, b);
  t.same(r.hidden!.map((h) => [h.units, h.blocks, h.blocksMove]), [[6, 2, false]]);
  t.ok(r.canonical!.relative <= 1e-6 && r.aligned!.relative <= 1e-6, `canonical ${r.canonical!.relative}, aligned ${r.aligned!.relative} (raw ${r.raw!.relative})`);
  for (const m of [r.models.canonical!, r.models.aligned!]) t.ok(maxAbsDiff(await runModel(m, x, [3, 4, 5, 5]), yb) <= 1e-5 * Math.max(1, maxAbs(yb)), 'written back computes B');
  // The same units split into 2 groups by one conv and 3 by the next: no block structure serves both.
  await t.rejects(weightDistance(fixedBlocks(w1, b1, w2, 3), fixedBlocks(w1, b1, w2, 3), { methods: ['canonical'] }), {
    code: 'UNSUPPORTED_GRAPH',
    message: /its channels are split into 3 groups where another grouped convolution splits them into 2/,
  });
});
