// Representation similarity between ONNX models: hidden activations through
// onnxruntime vs a float64 forward pass written here; a permuted-unit copy of
// an MLP has CKA 1 at every hidden layer; the `modeldiff cka` CLI.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import t from 'tap';

import { runCli } from '../lib/cli/main';
import { parseLayerPair } from '../lib/cli/commands/cka';
import { writeNpy } from '../lib/io/npy';
import { defaultLayers, findLayer, listLayers } from '../lib/represent/layers';
import { cka, flattenActivations } from '../lib/represent/model';
import { representationSimilarity } from '../lib/represent/similarity';
import { createRng } from '../lib/util/rng';
import { captureIo } from './helpers/capture-io';
import { type DenseLayer, buildModel, mlpModel } from './helpers/onnx-builder';

const rng = createRng(7);
const sizes = [5, 8, 6, 3];
const n = 64;

interface Net {
  W: number[][][]; // [layer][out][in]
  b: number[][];
}
function randomNet(): Net {
  const W: number[][][] = [];
  const b: number[][] = [];
  for (let l = 0; l + 1 < sizes.length; l++) {
    W.push(Array.from({ length: sizes[l + 1] }, () => Array.from({ length: sizes[l] }, () => rng.normal() / Math.sqrt(sizes[l]))));
    b.push(Array.from({ length: sizes[l + 1] }, () => 0.2 * rng.normal()));
  }
  return { W, b };
}
const acts = ['relu', 'tanh', 'none'] as const;
function bytes(net: Net): Uint8Array {
  const layers: DenseLayer[] = net.W.map((W, l) => ({ W: W.flat(), b: net.b[l], out: W.length, in: W[0].length, activation: acts[l] }));
  return mlpModel({ layers });
}
/** Hidden units of layers 0 and 1 reordered, with the next layer's columns to match: same function. */
function permuted(net: Net): Net {
  const W = net.W.map((m) => m.map((r) => r.slice()));
  const b = net.b.map((r) => r.slice());
  for (let l = 0; l < 2; l++) {
    const perm = rng.shuffle(Array.from({ length: sizes[l + 1] }, (_, i) => i));
    W[l] = perm.map((p) => W[l][p]);
    b[l] = perm.map((p) => b[l][p]);
    W[l + 1] = W[l + 1].map((row) => perm.map((p) => row[p]));
  }
  return { W, b };
}
/** Float64 forward pass: activations after each layer. */
function forward(net: Net, x: number[][]): number[][][] {
  const out: number[][][] = [];
  let h = x;
  net.W.forEach((W, l) => {
    h = h.map((row) => W.map((w, o) => {
      const z = w.reduce((s, v, k) => s + v * row[k], net.b[l][o]);
      return acts[l] === 'relu' ? Math.max(0, z) : acts[l] === 'tanh' ? Math.tanh(z) : z;
    }));
    out.push(h);
  });
  return out;
}
const matrix = (m: number[][]) => ({ data: Float64Array.from(m.flat()), n: m.length, k: m[0].length });

const netA = randomNet();
const netB = randomNet();
const netP = permuted(netA);
const x = Array.from({ length: n }, () => Array.from({ length: sizes[0] }, () => Math.fround(rng.normal())));
const probe = { data: Float32Array.from(x.flat()), shape: [n, sizes[0]] };

t.test('layers: listing, defaults and lookup', async (t) => {
  const layers = listLayers(bytes(netA));
  t.same(layers.map((l) => [l.tensor, l.op, l.kind]), [
    ['z0', 'Gemm', 'linear'], ['a0', 'Relu', 'activation'], ['z1', 'Gemm', 'linear'], ['a1', 'Tanh', 'activation'], ['z2', 'Gemm', 'linear'], ['y', 'Identity', 'output'],
  ]);
  t.same(defaultLayers(layers).map((l) => l.tensor), ['a0', 'a1', 'y']);
  t.equal(findLayer(layers, '#3', 'm').tensor, 'a1');
  t.equal(findLayer(layers, 2, 'm').tensor, 'z1');
  t.equal(findLayer(layers, 'a0', 'm').index, 1);
  t.throws(() => findLayer(layers, 'nope', 'm.onnx'), { code: 'INVALID_ARGUMENT', message: /m.onnx: no layer "nope" \(candidates: #0 z0 \[Gemm\]/ });
  t.throws(() => findLayer(layers, '#17', 'm.onnx'), { code: 'INVALID_ARGUMENT' });
  // A graph with only linear ops falls back to every candidate.
  const lin = listLayers(mlpModel({ layers: [{ W: [1, 2], b: [0], out: 1, in: 2 }] }));
  t.same(defaultLayers(lin).map((l) => l.tensor), ['z0', 'y']);
});

t.test('CKA per layer equals the float64 forward-pass reference', async (t) => {
  const measures = ['cka-linear', 'cka-linear-debiased', 'procrustes', 'cca-mean'] as const;
  const r = await cka(bytes(netA), bytes(netB), { data: probe, measures: [...measures] });
  t.equal(r.n, n);
  t.same(r.pairs.map((p) => [p.a.tensor, p.b.tensor, p.px, p.py]), [['a0', 'a0', 8, 8], ['a1', 'a1', 6, 6], ['y', 'y', 3, 3]]);
  const ha = forward(netA, x);
  const hb = forward(netB, x);
  for (let l = 0; l < 3; l++) {
    const ref = await representationSimilarity(matrix(ha[l]), matrix(hb[l]), [...measures]);
    for (const m of measures) {
      const got = r.pairs[l].values[m] as number;
      t.ok(Math.abs(got - (ref.values[m] as number)) < 1e-5, `layer ${l} ${m}: ${got} vs ${ref.values[m]}`);
    }
  }
  t.ok((r.pairs[0].values['cka-linear'] as number) < 0.99, 'different networks are not identical');
});

t.test('a permuted-unit copy has CKA 1 (and Procrustes 0) at every hidden layer', async (t) => {
  const r = await cka(bytes(netA), bytes(netP), { data: probe, measures: ['cka-linear', 'cka-rbf', 'procrustes', 'cca-mean', 'svcca'] });
  for (const p of r.pairs) {
    t.ok(Math.abs((p.values['cka-linear'] as number) - 1) < 1e-6, `${p.a.tensor} linear ${p.values['cka-linear']}`);
    t.ok(Math.abs((p.values['cka-rbf'] as number) - 1) < 1e-6, `${p.a.tensor} rbf ${p.values['cka-rbf']}`);
    t.ok((p.values.procrustes as number) < 1e-6, `${p.a.tensor} procrustes ${p.values.procrustes}`);
    t.ok(Math.abs((p.values['cca-mean'] as number) - 1) < 1e-5, `${p.a.tensor} cca ${p.values['cca-mean']}`);
  }
  // Picking pairs explicitly, across layers: a0 vs a1 is not 1.
  const cross = await cka(bytes(netA), bytes(netP), { data: probe, layers: [{ a: 'a0', b: '#3' }] });
  t.equal(cross.pairs.length, 1);
  t.equal(cross.pairs[0].b.tensor, 'a1');
  t.ok((cross.pairs[0].values['cka-linear'] as number) < 0.999);
});

t.test('allLayers gives the layer×layer matrix; its diagonal is 1 for a permuted copy', async (t) => {
  const r = await cka(bytes(netA), bytes(netP), { data: probe, allLayers: true, measures: ['cka-linear'] });
  const m = r.matrix!.values['cka-linear']!;
  t.equal(m.length, 3);
  t.equal(m[0].length, 3);
  for (let i = 0; i < 3; i++) t.ok(Math.abs((m[i][i] as number) - 1) < 1e-6);
  t.equal(r.pairs.length, 9);
  t.equal(m[0][1], r.pairs[1].values['cka-linear']);
  await t.rejects(cka(bytes(netA), bytes(netP), { data: probe, allLayers: true, layers: [{ a: 0, b: 0 }] }), { code: 'INVALID_ARGUMENT' });
  await t.rejects(cka(bytes(netA), bytes(netP), { data: probe, layers: [] }), { code: 'INVALID_ARGUMENT' });
});

t.test('conv maps: flattened or averaged over space', async (t) => {
  // n=2, C=2, H=1, W=3
  const data = Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
  const flat = flattenActivations(data, [2, 2, 1, 3], 'flatten', 'l');
  t.same([flat.n, flat.k], [2, 6]);
  const mean = flattenActivations(data, [2, 2, 1, 3], 'mean', 'l');
  t.same([mean.n, mean.k, ...mean.data], [2, 2, 2, 5, 8, 11]);
  t.throws(() => flattenActivations(data, [3, 2, 1, 3], 'flatten', 'layer c1'), { code: 'MODEL_OUTPUT', message: /layer c1/ });
  // A real Conv graph through onnxruntime: per-channel mean gives n×C.
  const conv = buildModel({
    inputs: [{ name: 'x', shape: ['N', 1, 3, 3] }],
    outputs: [{ name: 'r', shape: ['N', 2, 2, 2] }],
    initializers: [{ name: 'w', dims: [2, 1, 2, 2], data: Float32Array.from([1, 0, 0, 1, 0.5, -1, 2, 0]) }],
    nodes: [{ op: 'Conv', inputs: ['x', 'w'], outputs: ['c'] }, { op: 'Relu', inputs: ['c'], outputs: ['r'] }],
  });
  const imgs = { data: Float32Array.from({ length: 20 * 9 }, () => rng.normal()), shape: [20, 1, 3, 3] };
  const r = await cka(conv, conv, { data: imgs, spatial: 'mean', layers: [{ a: 'c', b: 'r' }] });
  t.same([r.pairs[0].px, r.pairs[0].py], [2, 2]);
  // Different input shapes for the two models: the same samples, reshaped for b.
  const rows = { data: imgs.data, shape: [20, 9] };
  const mlp9 = mlpModel({ layers: [{ W: Array.from({ length: 27 }, () => rng.normal()), b: [0, 0, 0], out: 3, in: 9, activation: 'relu' }] });
  const mixed = await cka(conv, mlp9, { data: imgs, dataB: rows, layers: [{ a: 'r', b: 'a0' }] });
  t.same([mixed.pairs[0].px, mixed.pairs[0].py], [8, 3]);
  await t.rejects(cka(conv, mlp9, { data: imgs, dataB: { data: rows.data.slice(0, 90), shape: [10, 9] }, layers: [{ a: 'r', b: 'a0' }] }), {
    code: 'SHAPE_MISMATCH',
    option: 'dataB',
    message: /^options\.data has 20 samples but options\.dataB has 10: both must hold the same samples/,
  });
  await t.rejects(cka(conv, conv, { data: imgs, spatial: 'x' as 'mean' }), { code: 'INVALID_ARGUMENT', option: 'spatial', message: /^spatial must be flatten or mean, got x$/ });
});

t.test('model errors name the model and layer', async (t) => {
  const small = mlpModel({ layers: [{ W: Array(5 * 4).fill(0.1), b: [0, 0, 0, 0], out: 4, in: 5, activation: 'relu' }, { W: Array(4).fill(1), b: [0], out: 1, in: 4 }] });
  await t.rejects(cka(bytes(netA), small, { data: probe }), { code: 'ARCHITECTURE_MISMATCH', option: 'layers', message: /3 default layers but .* has 2: name the layer pairs \(options\.layers\) or compare all of them \(options\.allLayers\)$/ });
  const two = buildModel({
    inputs: [{ name: 'p', shape: ['N', 5] }, { name: 'q', shape: ['N', 5] }],
    outputs: [{ name: 's', shape: ['N', 5] }],
    initializers: [],
    nodes: [{ op: 'Add', inputs: ['p', 'q'], outputs: ['s'] }],
  });
  // Several inputs are fed by name; unnamed data for a two-input model says so.
  await t.rejects(cka(two, two, { data: probe }), { code: 'MODEL_INPUT', message: /has 2 inputs \(p, q\); give each one by name/ });
  const both = await cka(two, two, { data: { p: probe, q: probe } });
  t.ok(Math.abs((both.pairs[0].values['cka-linear'] as number) - 1) < 1e-12);
  // Probe data of the wrong shape is refused before running, naming the input and the model.
  await t.rejects(cka(bytes(netA), bytes(netA), { data: { data: probe.data, shape: [n, 1, sizes[0]] } }), {
    code: 'MODEL_INPUT',
    message: /<bytes>: input "x" expects float32 \[N, 5\], got float32 \[64, 1, 5\]/,
  });
  await t.rejects(cka(bytes(netA), bytes(netA), { data: { q: probe, extra: probe } }), { code: 'MODEL_INPUT', message: /has no input named "q"/ });
});

t.test('CLI: modeldiff cka', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'modeldiff-cka-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.writeFileSync(path.join(dir, 'a.onnx'), bytes(netA));
  fs.writeFileSync(path.join(dir, 'p.onnx'), bytes(netP));
  writeNpy(path.join(dir, 'probe.npy'), { dtype: 'float32', shape: [n, sizes[0]], data: probe.data });
  const run = async (...args: string[]) => {
    const io = captureIo();
    io.cwd = dir;
    const code = await runCli(['cka', 'a.onnx', 'p.onnx', ...args], io);
    return { code, out: io.out, err: io.err };
  };
  writeNpy(path.join(dir, 'flat.npy'), { dtype: 'float32', shape: [n * sizes[0]], data: probe.data });
  const flat = await run('--data', 'flat.npy');
  t.equal(flat.code, 1);
  t.match(flat.err, /^modeldiff: \S*a\.onnx: input "x" expects float32 \[N, 5\], got float32 \[320\] from \S*flat\.npy\n$/);
  let r = await run('--data', 'probe.npy', '--json', '--metric', 'cka-linear,procrustes');
  t.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out);
  t.same(j.measures, ['cka-linear', 'procrustes']);
  t.equal(j.pairs.length, 3);
  t.ok(Math.abs(j.pairs[0].values['cka-linear'] - 1) < 1e-6);
  r = await run('--data', 'probe.npy');
  t.equal(r.code, 0);
  t.match(r.out, /layer A\s+layer B\s+cka-linear/);
  t.match(r.out, /a1\s+a1\s+1\.000000/);
  r = await run('--data', 'probe.npy', '--layers', 'a:a0,b:#3', '--layers', 'y');
  t.equal(r.code, 0, r.err);
  t.match(r.out, /a0\s+a1\s+0\.\d+/);
  r = await run('--data', 'probe.npy', '--all-layers', '--metric', 'cka-linear,cka-rbf');
  t.equal(r.code, 0, r.err);
  t.match(r.out, /cka-rbf \(rows: layers of A, columns: layers of B\)/);
  r = await run('--data', 'probe.npy', '--all-layers', '--json', '--spatial', 'mean', '--space', 'sample', '--sigma', '1', '--batch-size', '7');
  t.equal(r.code, 0, r.err);
  t.equal(JSON.parse(r.out).matrix.values['cka-linear'].length, 3);
  writeNpy(path.join(dir, 'few.npy'), { dtype: 'float32', shape: [6, sizes[0]], data: probe.data.slice(0, 6 * sizes[0]) });
  r = await run('--data', 'few.npy', '--metric', 'cca-mean', '--layers', 'a0');
  t.equal(r.code, 0, r.err);
  t.match(r.err, /^modeldiff: warning: a0 vs a0: cca-mean\/pwcca: .* directions for 6 samples/);
  r = await run('--data', 'probe.npy', '--data-b', 'probe.npy', '--layers', 'a1', '--json');
  t.equal(r.code, 0, r.err);
  t.equal(JSON.parse(r.out).pairs.length, 1);
  r = await run('--list-layers');
  t.equal(r.code, 0);
  t.match(r.out, /#1\s+a0\s+Relu\s+activation/);
  r = await run('--list-layers', '--json');
  t.equal(JSON.parse(r.out).b.length, 6);
  for (const [args, re] of [
    [[], /needs probe data: --data FILE/],
    [['--data', 'probe.npy', '--metric', 'cka'], /unknown measure "cka"/],
    [['--data', 'probe.npy', '--metric', ','], /--metric must be a comma-separated list naming at least one measure, got ","/],
    [['--data', 'probe.npy', '--sigma', '-1'], /--sigma/],
    [['--data', 'probe.npy', '--batch-size', '0'], /--batch-size/],
    [['--data', 'probe.npy', '--layers', 'a0', '--all-layers'], /either --layers or --all-layers/],
    [['--data', 'probe.npy', '--layers', 'a:a0,c:a1'], /expected a:LAYER,b:LAYER/],
  ] as Array<[string[], RegExp]>) {
    r = await run(...args);
    t.equal(r.code, 2, args.join(' '));
    t.match(r.err, re);
    t.equal(r.err.trim().split('\n').length, 1);
  }
  r = await run('--data', 'missing.npy');
  t.equal(r.code, 1);
  t.match(r.err, /missing\.npy/);
  r = await run('--data', 'probe.npy', '--layers', 'a:zz,b:a0');
  t.equal(r.code, 1);
  t.match(r.err, /no layer "zz"/);
  // --data and --data-b of different lengths: the message names both files.
  r = await run('--data', 'probe.npy', '--data-b', 'flat.npy');
  t.equal(r.code, 1);
  t.match(r.err, /--data has 64 samples but --data-b has 320: both must hold the same samples \(\S*probe\.npy, \S*flat\.npy\)\n$/);
});

t.test('parseLayerPair', async (t) => {
  t.same(parseLayerPair('b:x, a:y'), { a: 'y', b: 'x' });
  t.same(parseLayerPair('#2'), { a: '#2', b: '#2' });
  t.throws(() => parseLayerPair('a:x'), { code: 'USAGE' });
  t.throws(() => parseLayerPair('a:x,a:y'), { code: 'USAGE' });
});
