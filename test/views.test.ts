// Views as prepare/pair modules: the generic N-model driver prepares each model once and pairs
// each pair once, and the representations view through it gives the numbers pairwise cka calls
// give (same layer, same measures).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import t from 'tap';

import { runCli } from '../lib/cli/main';
import { writeNpy } from '../lib/io/npy';
import { loadProbe } from '../lib/io/probe';
import { matrix } from '../lib/many/matrix';
import { listLayers } from '../lib/represent/layers';
import { cka } from '../lib/represent/model';
import { createRng } from '../lib/util/rng';
import { representationMatrices, representationsView } from '../lib/views/representations';
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

t.test('representations view: several layers per model, a probe of its own for b, the layer pairs asked', async (t) => {
  const rng = createRng(23);
  const n = 48;
  const [p, h, k] = [5, 8, 3];
  const W0 = Array.from({ length: h * p }, () => rng.normal() / 2);
  const b0 = Array.from({ length: h }, () => 0.2 * rng.normal());
  const W1 = Array.from({ length: k * h }, () => rng.normal() / 2);
  const b1 = Array.from({ length: k }, () => 0.2 * rng.normal());
  // b reads its input columns in another order (perm) and is given the probe in that order: its
  // hidden tensors are a's. A second probe is the only way b sees the same samples.
  const perm = [3, 0, 4, 1, 2];
  const W0b = Array.from({ length: h * p }, (_, i) => W0[Math.floor(i / p) * p + perm[i % p]]);
  const a = mlpModel({ layers: [{ W: W0, b: b0, out: h, in: p, activation: 'relu' }, { W: W1, b: b1, out: k, in: h }] });
  const b = mlpModel({ layers: [{ W: W0b, b: b0, out: h, in: p, activation: 'relu' }, { W: W1, b: b1, out: k, in: h }] });
  const x = Float32Array.from({ length: n * p }, () => rng.normal());
  const xb = Float32Array.from({ length: n * p }, (_, i) => x[Math.floor(i / p) * p + perm[i % p]]);
  const probe = loadProbe({ data: x, shape: [n, p] });
  const probeB = loadProbe({ data: xb, shape: [n, p] });
  const layer = (m: Uint8Array, tensor: string) => listLayers(m).find((l) => l.tensor === tensor)!;
  const context = { measures: ['cka-linear' as const], options: {} };
  const pa = await representationsView.prepare({ model: a, probe, layers: [layer(a, 'z0'), layer(a, 'a0'), layer(a, 'z1')] }, context);
  const pb = await representationsView.prepare({ model: b, probe: probeB, layers: [layer(b, 'a0'), layer(b, 'z1')] }, context);
  t.same([...pa.rows].map(([name, m]) => [name, m.n, m.k]), [['z0', n, h], ['a0', n, h], ['z1', n, k]], 'one pass, every layer asked');
  const pairs = [{ a: layer(a, 'a0'), b: layer(b, 'a0') }, { a: layer(a, 'z0'), b: layer(b, 'z1') }, { a: layer(a, 'z1'), b: layer(b, 'z1') }];
  const r = await representationsView.pair(pa, pb, { ...context, pairs });
  t.same(r.map((q) => [q.a.tensor, q.b.tensor, q.px, q.py, q.samples]), [['a0', 'a0', h, h, n], ['z0', 'z1', h, k, n], ['z1', 'z1', k, k, n]], 'the pairs asked, in order');
  // Float64 forward pass and linear CKA by its definition, ‖YcᵀXc‖²_F / (‖XcᵀXc‖_F ‖YcᵀYc‖_F).
  const z0 = Array.from({ length: n }, (_, s) => Array.from({ length: h }, (_, o) => b0[o] + W0.slice(o * p, (o + 1) * p).reduce((acc, w, j) => acc + w * x[s * p + j], 0)));
  const a0 = z0.map((row) => row.map((v) => Math.max(v, 0)));
  const z1 = a0.map((row) => Array.from({ length: k }, (_, o) => b1[o] + W1.slice(o * h, (o + 1) * h).reduce((acc, w, j) => acc + w * row[j], 0)));
  const center = (m: number[][]) => m.map((row) => row.map((v, j) => v - m.reduce((acc, q) => acc + q[j], 0) / m.length));
  const cross = (u: number[][], v: number[][]) => {
    let f = 0;
    for (let i = 0; i < u[0].length; i++) for (let j = 0; j < v[0].length; j++) f += u.reduce((acc, row, s) => acc + row[i] * v[s][j], 0) ** 2;
    return f;
  };
  const ckaRef = (u: number[][], v: number[][]) => {
    const [cu, cv] = [center(u), center(v)];
    return cross(cu, cv) / Math.sqrt(cross(cu, cu) * cross(cv, cv));
  };
  for (const [i, want] of [ckaRef(a0, a0), ckaRef(z0, z1), ckaRef(z1, z1)].entries()) {
    const got = r[i].values['cka-linear'] as number;
    t.ok(Math.abs(got - want) < 1e-5, `${r[i].a.tensor} vs ${r[i].b.tensor}: ${got} ≈ ${want}`);
  }
  t.ok((r[1].values['cka-linear'] as number) < 0.99, 'different layers are not identical');
  // cka on the two models is prepare, prepare, pair through the same view: the same numbers.
  const viaCka = await cka(a, b, { data: { data: x, shape: [n, p] }, dataB: { data: xb, shape: [n, p] }, layers: pairs.map((q) => ({ a: q.a.tensor, b: q.b.tensor })) });
  t.same(viaCka.pairs, r);
  await t.rejects(representationsView.pair(pa, pb, context), { code: 'INVALID_ARGUMENT', message: /prepared at 3 layers but .* at 2: give the layer pairs/ });
});
