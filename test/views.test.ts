// Views as prepare/pair modules: the generic N-model driver prepares each model once and pairs
// each pair once, and the representations view through it gives the numbers pairwise cka calls
// give (same layer, same measures).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import t from 'tap';

import { runCli } from '../lib/cli/main';
import { writeNpy } from '../lib/io/npy';
import { matrix } from '../lib/many/matrix';
import { cka } from '../lib/represent/model';
import { createRng } from '../lib/util/rng';
import { representationMatrices } from '../lib/views/representations';
import { type View, pairMatrix } from '../lib/views/view';
import { captureIo } from './helpers/capture-io';
import { type DenseLayer, mlpModel } from './helpers/onnx-builder';

t.test('pairMatrix: N prepares, one pair per pair (mirrored when symmetric), ordered pairs otherwise', async (t) => {
  const prepared: number[] = [];
  const view: View<number, { scale: number }, number, number> = {
    prepare: async (m, c) => {
      prepared.push(m);
      return m * c.scale;
    },
    pair: async (a, b) => a - b,
  };
  const ordered = await pairMatrix(view, [1, 2, 4], { scale: 10 }, { symmetric: false });
  t.same(prepared, [1, 2, 4], 'each model prepared once, in order');
  t.same(ordered, [
    [null, -10, -30],
    [10, null, -20],
    [30, 20, null],
  ]);
  const progress: string[] = [];
  const mirrored = await pairMatrix(view, [1, 2, 4], { scale: 1 }, { symmetric: true, onProgress: (d, n) => progress.push(`${d}/${n}`) });
  t.same(mirrored, [
    [null, -1, -3],
    [-1, null, -2],
    [-3, -2, null],
  ], 'symmetric: (i, j) for i < j, copied to (j, i)');
  t.same(progress, ['0/3', '1/3', '2/3', '3/3']);
});

t.test('representation matrices through the view equal pairwise cka calls at the same layer', async (t) => {
  const rng = createRng(11);
  const sizes = [5, 8, 3];
  const model = (): Uint8Array => {
    const layers: DenseLayer[] = [];
    for (let l = 0; l + 1 < sizes.length; l++) {
      const W = Array.from({ length: sizes[l + 1] * sizes[l] }, () => rng.normal() / Math.sqrt(sizes[l]));
      layers.push({ W, b: Array.from({ length: sizes[l + 1] }, () => 0.2 * rng.normal()), out: sizes[l + 1], in: sizes[l], activation: l === 0 ? 'relu' : 'none' });
    }
    return mlpModel({ layers });
  };
  const models = [model(), model(), model(), model()];
  const probe = { data: Float32Array.from({ length: 48 * sizes[0] }, () => rng.normal()), shape: [48, sizes[0]] };
  const measures = ['cka-linear', 'procrustes'] as const;
  const r = await representationMatrices(models, probe, 'a0', { data: probe, measures: [...measures] });
  t.same(r.tensors, ['a0', 'a0', 'a0', 'a0']);
  for (let i = 0; i < models.length; i++) {
    t.equal(r.values['cka-linear']![i][i], 1, 'a model is identical to itself');
    t.equal(r.values.procrustes![i][i], 0);
    for (let j = i + 1; j < models.length; j++) {
      const pair = await cka(models[i], models[j], { data: probe, layers: [{ a: 'a0', b: 'a0' }], measures: [...measures] });
      for (const m of measures) {
        const want = pair.pairs[0].values[m] as number;
        t.ok(Math.abs(r.values[m]![i][j] - want) <= 1e-12, `${m} (${i}, ${j}): ${r.values[m]![i][j]} = cka's ${want}`);
        t.equal(r.values[m]![j][i], r.values[m]![i][j], `${m} is symmetric`);
      }
      t.ok((r.values['cka-linear']![i][j] as number) < 1, 'independent random models are not identical');
    }
  }
  await t.rejects(representationMatrices(models.slice(0, 1), probe, 'a0'), { code: 'INVALID_ARGUMENT', message: /at least 2 models/ });
  await t.rejects(representationMatrices(models.slice(0, 2), probe, 'nope'), { message: /nope/ });
});

t.test('matrix --layers: CKA matrices at one layer, through the view, equal pairwise cka', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'modeldiff-views-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const rng = createRng(5);
  const files = [0, 1, 2].map((i) => {
    const file = path.join(dir, `m${i}.onnx`);
    const W0 = Array.from({ length: 6 * 4 }, () => rng.normal() / 2);
    const W1 = Array.from({ length: 3 * 6 }, () => rng.normal() / 2);
    fs.writeFileSync(file, mlpModel({ layers: [{ W: W0, b: new Array(6).fill(0.1), out: 6, in: 4, activation: 'relu' }, { W: W1, b: [0, 0, 0], out: 3, in: 6 }] }));
    return file;
  });
  const x = { dtype: 'float32' as const, shape: [40, 4], data: Float32Array.from({ length: 160 }, () => rng.normal()) };
  writeNpy(path.join(dir, 'x.npy'), x);
  const io = Object.assign(captureIo(), { cwd: dir });
  t.equal(await runCli(['matrix', ...files, '--data', 'x.npy', '--layers', 'a0', '--weights', 'none', '--no-cache', '--json'], io), 0, io.err);
  const r = JSON.parse(io.out) as { representations: { layer: string; tensors: string[]; values: { 'cka-linear': number[][] } } };
  t.equal(r.representations.layer, 'a0');
  for (let i = 0; i < 3; i++) {
    for (let j = 0; j < 3; j++) {
      if (i === j) continue;
      const want = (await cka(files[i], files[j], { data: x, layers: [{ a: 'a0', b: 'a0' }] })).pairs[0].values['cka-linear'] as number;
      t.ok(Math.abs(r.representations.values['cka-linear'][i][j] - want) <= 1e-12, `(${i}, ${j}) = cka's ${want}`);
    }
  }
  const text = Object.assign(captureIo(), { cwd: dir });
  t.equal(await runCli(['matrix', ...files, '--data', 'x.npy', '--layers', 'a0', '--weights', 'none', '--no-cache'], text), 0, text.err);
  t.match(text.out, /\ncka-linear at layer a0 \(a0\)\n/);
  // study: the same matrices, through the same driver; the text ends with their tables.
  const st = Object.assign(captureIo(), { cwd: dir });
  t.equal(await runCli(['study', ...files, '--data', 'x.npy', '--layers', 'a0', '--weights', 'none', '--no-cache', '--permutations', '9', '--json'], st), 0, st.err);
  t.same((JSON.parse(st.out) as typeof r).representations, r.representations, 'study --layers = matrix --layers');
  const stText = Object.assign(captureIo(), { cwd: dir });
  t.equal(await runCli(['study', ...files, '--data', 'x.npy', '--layers', 'a0', '--weights', 'none', '--no-cache', '--permutations', '9'], stText), 0, stText.err);
  t.match(stText.out, /\ncka-linear at layer a0 \(a0\)\n/);
  const outputs = [0, 1].map((i) => ({ name: `o${i}`, outputs: { data: Float32Array.from({ length: 12 }, () => rng.normal()), n: 4, k: 3 } }));
  await t.rejects(matrix(outputs, { layers: 'a0', weights: 'none' }), { code: 'INVALID_ARGUMENT', option: 'layers', message: /^options\.layers: representations need every model as an ONNX file/ });
});
