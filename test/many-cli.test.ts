/**
 * End to end: `modeldiff matrix` and `modeldiff study` on tiny ONNX MLPs
 * written with the test ONNX builder — a model and its permuted + rescaled
 * twin (same function, different weights), a near-copy, and distinct models.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import t from 'tap';

import { matrixTable, parseSize } from '../lib/cli/commands/matrix';
import { runCli } from '../lib/cli/main';
import { displayNames } from '../lib/many/matrix';
import { writeNpy } from '../lib/io/npy';
import { createRng } from '../lib/util/rng';
import { weightDistance } from '../lib/weights';
import { type DenseLayer, mlpModel } from './helpers/onnx-builder';

const D = 4;
const H = 6;
const K = 3;
const N_SAMPLES = 200;

interface Mlp {
  W1: number[];
  b1: number[];
  W2: number[];
  b2: number[];
}

function randomMlp(seed: number): Mlp {
  const rng = createRng(seed);
  const r = (len: number) => Array.from({ length: len }, () => rng.normal());
  return { W1: r(H * D), b1: r(H), W2: r(K * H), b2: r(K) };
}

/** Same function: hidden units reversed and unit h scaled by (1 + h) in, 1/(1 + h) out (ReLU is positively homogeneous). */
function twin(m: Mlp): Mlp {
  const perm = Array.from({ length: H }, (_, i) => H - 1 - i);
  const W1: number[] = [];
  const b1: number[] = [];
  perm.forEach((src, h) => {
    const c = 1 + h;
    for (let d = 0; d < D; d++) W1.push(m.W1[src * D + d] * c);
    b1.push(m.b1[src] * c);
  });
  const W2: number[] = [];
  for (let k = 0; k < K; k++) perm.forEach((src, h) => W2.push(m.W2[k * H + src] / (1 + h)));
  return { W1, b1, W2, b2: m.b2.slice() };
}

const nudge = (m: Mlp, seed: number): Mlp => {
  const rng = createRng(seed);
  const f = (a: number[]) => a.map((v) => v + 1e-4 * rng.normal());
  return { W1: f(m.W1), b1: f(m.b1), W2: f(m.W2), b2: f(m.b2) };
};

const onnx = (m: Mlp): Uint8Array => {
  const layers: DenseLayer[] = [
    { W: m.W1, b: m.b1, out: H, in: D, activation: 'relu' },
    { W: m.W2, b: m.b2, out: K, in: H },
  ];
  return mlpModel({ layers });
};

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'modeldiff-many-cli-'));
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
const base = randomMlp(1);
const other = randomMlp(2);
const zoo = [base, twin(base), other, nudge(other, 5), randomMlp(3)];
const models = zoo.map((m, i) => {
  const file = path.join(dir, `m${i}.onnx`);
  fs.writeFileSync(file, onnx(m));
  return file;
});
const rng = createRng(9);
writeNpy(path.join(dir, 'x.npy'), { dtype: 'float32', shape: [N_SAMPLES, D], data: Float32Array.from({ length: N_SAMPLES * D }, () => rng.normal()) });
writeNpy(path.join(dir, 'y.npy'), { dtype: 'int32', shape: [N_SAMPLES], data: Int32Array.from({ length: N_SAMPLES }, (_, i) => i % K) });
const cache = ['--cache-dir', path.join(dir, 'cache')];

async function run(args: string[], tty = false) {
  let out = '';
  let err = '';
  const io = { cwd: dir, isTTY: tty, stdout: (s: string) => void (out += s), stderr: (s: string) => void (err += s) };
  const code = await runCli(args, io);
  return { code, out, err };
}

t.test('matrix --json: functional and weight matrices', async (t) => {
  const r = await run(['matrix', ...models, '--data', 'x.npy', '--json', ...cache]);
  t.equal(r.code, 0, r.err);
  const m = JSON.parse(r.out);
  t.same(m.models, ['m0.onnx', 'm1.onnx', 'm2.onnx', 'm3.onnx', 'm4.onnx']);
  t.equal(m.metric, 'js');
  t.match(m.probe, { samples: N_SAMPLES, classes: K, outputKind: 'logits' });
  t.ok(m.functional[0][1] < 1e-10, `twin has the same function (${m.functional[0][1]})`);
  t.ok(m.functional[0][2] > 1e-3);
  t.same(m.weights.methods, ['raw', 'canonical', 'aligned']);
  t.ok(m.weights.raw[0][1] > 1, 'raw weights differ');
  t.ok(m.weights.aligned[0][1] < 1e-4, `aligned: the twin is the same network (${m.weights.aligned[0][1]})`);
  t.ok(m.weights.canonical[0][1] < 1e-4, 'canonical: the twin is the same network');
  t.equal(m.weights.raw[1][0], m.weights.raw[0][1], 'symmetric');

  // Streaming: outputs of two models at a time, re-read from the cache.
  const s = await run(['matrix', ...models, '--data', 'x.npy', '--json', '--weights', 'none', '--max-memory', String(4 * N_SAMPLES * K * 4), ...cache]);
  t.equal(s.code, 0, s.err);
  const blocked: number[][] = JSON.parse(s.out).functional;
  // Same numbers up to float summation order inside the kernel.
  t.ok(blocked.every((row, i) => row.every((v, j) => Math.abs(v - m.functional[i][j]) <= 1e-12 * Math.max(1, m.functional[i][j]))), 'blocked computation gives the same matrix');
});

t.test('matrix weight entries are what `modeldiff weights` reports for the pair (aligned: row = A, column = B)', async (t) => {
  const seed = 3;
  const r = await run(['matrix', ...models, '--data', 'x.npy', '--json', '--seed', String(seed), ...cache]);
  t.equal(r.code, 0, r.err);
  const w = JSON.parse(r.out).weights;
  t.match(w.definitions.aligned, /not symmetric/);
  let asymmetric = 0;
  for (let i = 0; i < models.length; i++) {
    for (let j = 0; j < models.length; j++) {
      if (i === j) continue;
      const ref = await weightDistance(models[i], models[j], { methods: ['raw', 'canonical', 'aligned'], seed });
      t.equal(w.raw[i][j], ref.raw!.l2, `raw [${i}][${j}]`);
      t.equal(w.canonical[i][j], ref.canonical!.l2, `canonical [${i}][${j}]`);
      t.equal(w.aligned[i][j], ref.aligned!.l2, `aligned [${i}][${j}]: model ${j} aligned to model ${i}`);
      if (w.aligned[i][j] !== w.aligned[j][i]) asymmetric++;
    }
  }
  t.ok(asymmetric > 0, 'aligned depends on which model is the frame (both orders computed)');
  // study: pair records and correlations use the mean of the two directions.
  const s = JSON.parse((await run(['study', ...models, '--data', 'x.npy', '--json', '--seed', String(seed), '--permutations', '9', ...cache])).out);
  t.same(s.weights.aligned, w.aligned);
  for (const p of s.pairs) {
    t.equal(p.weights.aligned, (w.aligned[p.i][p.j] + w.aligned[p.j][p.i]) / 2);
    t.equal(p.weights.raw, w.raw[p.i][p.j]);
  }
});

t.test('matrix/study --metric emd-cost --cost FILE: 0/1 cost = tv, |i − j| cost = ordered emd', async (t) => {
  const cost = (f: (i: number, j: number) => number, k = K) => Float64Array.from({ length: k * k }, (_, q) => f(Math.floor(q / k), q % k));
  writeNpy(path.join(dir, 'c01.npy'), { dtype: 'float64', shape: [K, K], data: cost((i, j) => (i === j ? 0 : 1)) });
  writeNpy(path.join(dir, 'cabs.npy'), { dtype: 'float32', shape: [K, K], data: Float32Array.from(cost((i, j) => Math.abs(i - j))) });
  const json = async (args: string[]) => {
    const r = await run(['matrix', ...models, '--data', 'x.npy', '--json', '--weights', 'none', ...args, ...cache]);
    t.equal(r.code, 0, r.err);
    return JSON.parse(r.out).functional as number[][];
  };
  const close = (x: number[][], y: number[][], what: string) => {
    let worst = 0;
    x.forEach((row, i) => row.forEach((v, j) => (worst = Math.max(worst, Math.abs(v - y[i][j])))));
    t.ok(worst < 1e-9, `${what}: max difference ${worst}`);
    t.ok(y[0][2] > 1e-3, `${what}: the distinct models are apart`);
  };
  close(await json(['--metric', 'emd-cost', '--cost', 'c01.npy']), await json(['--metric', 'tv']), 'emd-cost with 0/1 cost = tv');
  close(await json(['--metric', 'emd-cost', '--cost', 'cabs.npy']), await json(['--metric', 'emd']), 'emd-cost with |i − j| cost = emd');
  // study: same matrix, and the pairs' means come from the per-sample pass (both directions for a non-symmetric measure).
  const s = await run(['study', ...models, '--data', 'x.npy', '--json', '--weights', 'none', '--permutations', '9', '--metric', 'emd-cost', '--cost', 'c01.npy', ...cache]);
  t.equal(s.code, 0, s.err);
  const st = JSON.parse(s.out);
  close(st.functional, await json(['--metric', 'tv']), 'study emd-cost with 0/1 cost = tv');
  t.ok(Math.abs(st.pairs[1].functional.mean - st.functional[0][2]) < 1e-12);
  // Bad cost files: one line naming the file.
  writeNpy(path.join(dir, 'c4.npy'), { dtype: 'float64', shape: [4, 4], data: cost(() => 1, 4) });
  writeNpy(path.join(dir, 'crect.npy'), { dtype: 'float64', shape: [K, 2], data: new Float64Array(2 * K) });
  writeNpy(path.join(dir, 'cneg.npy'), { dtype: 'float64', shape: [K, K], data: cost((i, j) => (i === 1 && j === 2 ? -1 : 0)) });
  writeNpy(path.join(dir, 'cnan.npy'), { dtype: 'float64', shape: [K, K], data: cost((i, j) => (i === 2 && j === 0 ? NaN : 0)) });
  writeNpy(path.join(dir, 'cbool.npy'), { dtype: 'bool', shape: [K, K], data: new Uint8Array(K * K) });
  for (const [args, code, re] of [
    [[], 2, /--metric emd-cost needs a k×k cost matrix in --cost\n$/],
    [['--cost', 'c4.npy'], 1, /c4\.npy: the cost matrix must be 3 × 3 .*got 4 × 4/],
    [['--cost', 'crect.npy'], 1, /crect\.npy: the cost matrix must be square .*\[3, 2\]/],
    [['--cost', 'cneg.npy'], 1, /cneg\.npy: cost\[1\]\[2\] = -1; cost entries must be >= 0/],
    [['--cost', 'cnan.npy'], 1, /cnan\.npy: cost\[2\]\[0\] = NaN; cost entries must be finite/],
    [['--cost', 'cbool.npy'], 1, /cbool\.npy: a cost matrix must be numeric/],
    [['--cost', 'nope.npy'], 1, /nope\.npy: no such file/],
  ] as Array<[string[], number, RegExp]>) {
    for (const cmd of ['matrix', 'study']) {
      const r = await run([cmd, ...models.slice(0, 2), '--data', 'x.npy', '--metric', 'emd-cost', ...args, ...cache]);
      t.equal(r.code, code, `${cmd} ${args.join(' ')}`);
      t.match(r.err, re);
      t.equal(r.err.trim().split('\n').length, 1, 'one line');
    }
  }
  t.match((await run(['study', '--help'])).out, /--cost <file>/);
});

t.test('matrix text and CSV', async (t) => {
  // Columns line up under their numbers, and a full-width value never touches the model name.
  const table = matrixTable('t', ['longest-name.onnx', 'b.onnx'], [[0, 0.0042], [0.0042, 0]]).split('\n');
  t.same(table.slice(1, 4), [
    '                            0      1',
    '  0  longest-name.onnx      0 0.0042',
    '  1  b.onnx            0.0042      0',
  ]);
  const txt = await run(['matrix', ...models.slice(0, 3), '--data', 'x.npy', '--weights', 'raw', '--metric', 'tv', ...cache]);
  t.equal(txt.code, 0, txt.err);
  t.match(txt.out, /tv between 3 models on 200 probe samples/);
  t.match(txt.out, /raw weight distance \(L2\)/);
  t.match(txt.out, /m2\.onnx/);
  const csv = await run(['matrix', ...models.slice(0, 3), '--data', 'x.npy', '--csv', '--weights', 'none', ...cache]);
  t.equal(csv.code, 0, csv.err);
  const lines = csv.out.trim().split('\n');
  t.equal(lines[0], 'model,m0.onnx,m1.onnx,m2.onnx');
  t.equal(lines.length, 4);
  t.equal(lines[1].split(',')[1], '0');
  // --csv-weights <method>: a weight matrix instead, equal to the JSON's; one that was not computed says why.
  const json = JSON.parse((await run(['matrix', ...models.slice(0, 3), '--data', 'x.npy', '--json', '--weights', 'raw,aligned', ...cache])).out);
  for (const which of ['raw', 'aligned'] as const) {
    const w = await run(['matrix', ...models.slice(0, 3), '--data', 'x.npy', '--csv-weights', which, '--weights', 'raw,aligned', ...cache]);
    t.equal(w.code, 0, w.err);
    const out = w.out.trim().split('\n');
    t.equal(out[0], 'model,m0.onnx,m1.onnx,m2.onnx');
    t.same(out.slice(1).map((l) => l.split(',').slice(1).map(Number)), json.weights[which], `--csv-weights ${which} prints the ${which} weight matrix`);
  }
  // Not requested: refused before anything runs (the data file here does not exist).
  const missing = await run(['matrix', ...models.slice(0, 3), '--data', 'nope.npy', '--csv-weights', 'canonical', '--weights', 'raw', ...cache]);
  t.equal(missing.code, 2);
  t.match(missing.err, /--csv-weights canonical: no canonical weight distance matrix: it was not requested \(--weights raw\)/);
  const unknown = await run(['matrix', ...models.slice(0, 3), '--data', 'x.npy', '--csv-weights', 'weights', ...cache]);
  t.equal(unknown.code, 2);
  t.match(unknown.err, /--csv-weights/);
  const both = await run(['matrix', ...models.slice(0, 3), '--data', 'x.npy', '--csv', '--csv-weights', 'raw', ...cache]);
  t.equal(both.code, 2);
  t.match(both.err, /exclusive/);
});

t.test('study: report, SVGs, JSON, reproducibility, no overwrite', async (t) => {
  const args = ['study', ...models, '--data', 'x.npy', '--labels', 'y.npy', '--seed', '3', '--permutations', '99', ...cache];
  const r = await run([...args, '--report', 'report.html', '--svg', 'plots', '--json']);
  t.equal(r.code, 0, r.err);
  const s = JSON.parse(r.out);
  t.equal(s.seed, 3);
  t.equal(s.clustering.labels[0], s.clustering.labels[1], 'twins: same solution');
  t.equal(s.clustering.labels[2], s.clustering.labels[3], 'near-copies: same solution');
  t.not(s.clustering.labels[0], s.clustering.labels[2]);
  t.equal(s.solutions.observed, 3);
  t.equal(s.correlations.length, 3);
  t.ok(s.accuracy.every((a: number) => a >= 0 && a <= 1));
  const html = fs.readFileSync(path.join(dir, 'report.html'), 'utf8');
  t.match(html, /modeldiff study .*m0\.onnx.*--report report\.html/);
  t.match(html, /onnxruntime \d/);
  t.ok(fs.readdirSync(path.join(dir, 'plots')).includes('scatter-aligned.svg'));
  // Refuses to overwrite; --force replaces; same seed → identical JSON.
  const again = await run([...args, '--report', 'report.html', '--json']);
  t.equal(again.code, 1);
  t.match(again.err, /report\.html already exists/);
  const forced = await run([...args, '--report', 'report.html', '--json', '--force']);
  t.equal(forced.code, 0, forced.err);
  t.equal(forced.out, r.out, 'byte-identical JSON');
  t.notMatch(again.err, /internal/);
  // Existing SVGs are refused before the run, and the new report is not written either.
  const svgAgain = await run([...args, '--report', 'fresh.html', '--svg', 'plots']);
  t.equal(svgAgain.code, 1);
  t.match(svgAgain.err, /plots\/heatmap-functional\.svg already exists; --force overwrites it$/m);
  t.notOk(fs.existsSync(path.join(dir, 'fresh.html')));
  const folder = await run([...args, '--report', '.']);
  t.equal(folder.code, 2, 'a folder typed as --report is a usage error');
  t.match(folder.err, /^modeldiff: --report .* is a folder/);
  const text = await run([...args, '--weights', 'none', '--threshold', '0']);
  t.equal(text.code, 0, text.err);
  t.match(text.out, /distinct solutions: 5/);
  t.match(text.out, /Chao1 estimate/);
  t.match(text.out, /weights: not requested/);
  const corr = await run([...args.slice(0, 4), '--data', 'x.npy', '--weights', 'raw', '--permutations', '9', ...cache]);
  t.match(corr.out, /raw weight vs output distance: Spearman/);
  const pair = await run(['study', models[0], models[1], '--data', 'x.npy', ...cache]);
  t.match(pair.out, /distinct solutions: 1/, 'two models, same function: one solution (float32 floor)');
  t.match(pair.out, /^Correlating weight and output distance needs at least 3 models \(3 pairs\); this study has 2\.$/m, 'says why there is no correlation');
});

t.test('study: p-values and clusters do not depend on the order the models are given in', async (t) => {
  const common = ['--data', 'x.npy', '--seed', '3', '--permutations', '99', '--json', ...cache];
  const given = JSON.parse((await run(['study', ...models, ...common])).out);
  const partition = (s: any) => s.clustering.clusters.map((c: number[]) => c.map((i) => s.models[i]).sort().join('+')).sort();
  for (const order of [[4, 3, 2, 1, 0], [2, 0, 4, 1, 3]]) {
    const r = await run(['study', ...order.map((i) => models[i]), ...common]);
    t.equal(r.code, 0, r.err);
    const s = JSON.parse(r.out);
    t.same(partition(s), partition(given), `order ${order}: the same clusters (as sets of models)`);
    t.equal(s.threshold.value, given.threshold.value, 'the same threshold');
    for (const c of given.correlations) {
      const d = s.correlations.find((x: any) => x.method === c.method);
      t.equal(d.spearman.p, c.spearman.p, `order ${order}: ${c.method} Spearman p ${c.spearman.p}`);
      t.equal(d.pearson.p, c.pearson.p, `order ${order}: ${c.method} Pearson p ${c.pearson.p}`);
      t.ok(Math.abs(d.spearman.r - c.spearman.r) < 1e-12);
    }
  }
});

t.test('progress bars draw on a terminal only', async (t) => {
  const tty = await run(['matrix', ...models.slice(0, 3), '--data', 'x.npy', '--weights', 'raw', '--json', ...cache], true);
  t.equal(tty.code, 0, 'exit 0');
  t.match(tty.err, /inference/);
  t.match(tty.err, /distances/);
  const quiet = await run(['matrix', ...models.slice(0, 3), '--data', 'x.npy', '--json', '-q', ...cache], true);
  t.equal(quiet.err, '');
});

t.test('usage and input errors', async (t) => {
  const bad = async (args: string[], code: number, re: RegExp) => {
    const r = await run(args);
    t.equal(r.code, code, args.join(' '));
    t.match(r.err, re);
    t.equal(r.err.trim().split('\n').length, 1, 'one line');
  };
  const base = ['matrix', ...models.slice(0, 2), '--data', 'x.npy', ...cache];
  await bad([...base, '--weights', 'bogus'], 2, /unknown method "bogus"/);
  await bad([...base, '--max-memory', 'lots'], 2, /--max-memory/);
  await bad([...base, '--max-memory', '0'], 2, /--max-memory/);
  await bad([...base, '--json', '--csv'], 2, /exclusive/);
  await bad([...base, '--no-cache', '--max-memory', '6000'], 2, /needs the inference cache/);
  await bad([...base, '--seed', 'x'], 2, /--seed/);
  await bad([...base, '--epsilon', '-1'], 2, /--epsilon/);
  await bad([...base, '--seed', '-1'], 2, /--seed must be a non-negative integer, got "-1"/);
  await bad(['study', ...models.slice(0, 2), '--data', 'x.npy', '--permutations', '1000000000', ...cache], 2, /--permutations must be an integer from 1 to 1000000, got "1000000000"/);
  await bad([...base, '--threads', '0'], 2, /--threads/);
  await bad([...base, '--metric', 'kappa'], 2, /not an output distance/);
  await bad(['matrix', models[0], '--data', 'x.npy'], 2, /at least 2 models/);
  await bad(['matrix', ...models.slice(0, 2)], 2, /--data/);
  await bad(['matrix', models[0], 'missing.onnx', '--data', 'x.npy', ...cache], 1, /missing\.onnx/);
  await bad(['study', ...models.slice(0, 2), '--data', 'x.npy', '--threshold', 'abc'], 2, /--threshold/);
  await bad(['study', ...models.slice(0, 2), '--data', 'x.npy', '--permutations', '0'], 2, /--permutations/);
  // A different architecture: weight matrices are skipped with the reason, outputs still compared.
  const wide = path.join(dir, 'wide.onnx');
  const rng2 = createRng(4);
  const r = (len: number) => Array.from({ length: len }, () => rng2.normal());
  fs.writeFileSync(wide, mlpModel({ layers: [{ W: r(8 * D), b: r(8), out: 8, in: D, activation: 'relu' }, { W: r(K * 8), b: r(K), out: K, in: 8 }] }));
  const mixed = await run(['matrix', models[0], wide, '--data', 'x.npy', '--json', ...cache]);
  t.equal(mixed.code, 0, mixed.err);
  t.match(JSON.parse(mixed.out).weights, { skipped: /raw skipped.*canonical and aligned skipped|canonical and aligned skipped.*raw skipped/ });
  // Same shapes, different activation: raw distances exist, canonical/aligned do not (different symmetries).
  const tanh = path.join(dir, 'tanh.onnx');
  const t0 = zoo[0];
  fs.writeFileSync(tanh, mlpModel({ layers: [{ W: t0.W1, b: t0.b1, out: H, in: D, activation: 'tanh' }, { W: t0.W2, b: t0.b2, out: K, in: H }] }));
  const sym = await run(['matrix', models[0], tanh, '--data', 'x.npy', '--json', ...cache]);
  const w = JSON.parse(sym.out).weights;
  // Same weights but different functions: no weight matrix shows them at distance 0.
  t.equal(w.raw, undefined, 'same weights, different activation: no raw matrix of zeros');
  t.equal(w.canonical, undefined);
  t.match(w.skipped, /^canonical and aligned skipped: .*symmetries/);
  t.match(w.skipped, /raw skipped: .*have the same weights but differ in .*Tanh/);
  const symCsv = await run(['matrix', models[0], tanh, '--data', 'x.npy', '--csv-weights', 'aligned', ...cache]);
  t.equal(symCsv.code, 2);
  t.match(symCsv.err, /--csv-weights aligned: no aligned weight distance matrix: canonical and aligned skipped: .*symmetries/);
  const rawCsv = await run(['matrix', models[0], tanh, '--data', 'x.npy', '--csv-weights', 'raw', ...cache]);
  t.equal(rawCsv.code, 2);
  t.match(rawCsv.err, /--csv-weights raw: no raw weight distance matrix: .*raw skipped: .*same weights/);
  t.match(await run(['matrix', '--help']).then((h) => h.out), /--max-memory/);
});

t.test('sizes and display names', async (t) => {
  t.equal(parseSize('512M'), 512 * 2 ** 20);
  t.equal(parseSize('1.5g'), 1.5 * 2 ** 30);
  t.equal(parseSize('2KiB'), 2048);
  t.equal(parseSize('1000'), 1000);
  t.throws(() => parseSize('-1M'), { code: 'USAGE' });
  t.same(displayNames(['a/m.onnx', 'b/m.onnx', 'c/x.onnx']), ['a/m.onnx#0', 'b/m.onnx#1', 'x.onnx']);
  const o = { data: new Float32Array(2), n: 1, k: 2 };
  t.same(displayNames([{ name: 'p', outputs: o }, { name: 'p', outputs: o }]), ['p#0', 'p#1']);
  const big = await run(['matrix', ...models.slice(0, 2), '--data', 'x.npy', '--max-memory', '1G', '--weights', 'none', '--csv', ...cache]);
  t.equal(big.code, 0, big.err);
});
