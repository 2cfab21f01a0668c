// `modeldiff divergence` run in-process on .npy files written to a temporary folder.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import t from 'tap';

import { runCli } from '../lib/cli/main';
import { divergencePerSampleSync } from '../lib/function/divergence';
import { divergence } from '../lib/function/divergence-summary';
import { writeNpy } from '../lib/io/npy';
import { createRng } from '../lib/util/rng';
import { captureIo } from './helpers/capture-io';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'modeldiff-divergence-'));
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));

const rng = createRng(21);
const n = 50;
const k = 4;
const a = Float32Array.from({ length: n * k }, () => 2 * rng.normal());
const b = Float32Array.from(a, (v) => v + 0.3 * rng.normal());
writeNpy(path.join(dir, 'a.npy'), { dtype: 'float32', shape: [n, k], data: a });
writeNpy(path.join(dir, 'b.npy'), { dtype: 'float32', shape: [n, k], data: b });
writeNpy(path.join(dir, 'short.npy'), { dtype: 'float32', shape: [n - 1, k], data: a.subarray(0, (n - 1) * k) });
writeNpy(path.join(dir, 'sig_a.npy'), { dtype: 'float64', shape: [n], data: Float64Array.from({ length: n }, () => rng.float()) });
writeNpy(path.join(dir, 'sig_b.npy'), { dtype: 'float64', shape: [n], data: Float64Array.from({ length: n }, () => rng.float()) });
writeNpy(path.join(dir, 'ints.npy'), { dtype: 'int32', shape: [n, k], data: new Int32Array(n * k) });
writeNpy(path.join(dir, 'cube.npy'), { dtype: 'float64', shape: [2, 2, 2], data: new Float64Array(8) });
writeNpy(path.join(dir, 'cost.npy'), {
  dtype: 'float64',
  shape: [k, k],
  data: Float64Array.from({ length: k * k }, (_, i) => Math.abs(Math.floor(i / k) - (i % k))),
});
writeNpy(path.join(dir, 'cost2.npy'), { dtype: 'float64', shape: [2, 2], data: new Float64Array([0, 1, 1, 0]) });
// B gives class 1 probability 0 where A does not (row 0): KL(A‖B) is infinite there, JS is ln 2 / 2.
writeNpy(path.join(dir, 'p.npy'), { dtype: 'float64', shape: [2, 3], data: new Float64Array([0.5, 0.5, 0, 0.2, 0.3, 0.5]) });
writeNpy(path.join(dir, 'q.npy'), { dtype: 'float64', shape: [2, 3], data: new Float64Array([0.5, 0, 0.5, 0.2, 0.3, 0.5]) });
writeNpy(path.join(dir, 'b23.npy'), { dtype: 'float64', shape: [2, 3], data: new Float64Array([0.5, 0.5, 0.1, 0.2, 0.3, 0.5]) });
writeNpy(path.join(dir, 'nan.npy'), { dtype: 'float32', shape: [n, k], data: Float32Array.from(a, (v, i) => (i === 3 * k + 1 ? NaN : v)) });

async function cli(...args: string[]) {
  const io = { ...captureIo(), cwd: dir };
  const wrapped = { ...io, stdout: (s: string) => void (io.out += s), stderr: (s: string) => void (io.err += s) };
  const code = await runCli(['divergence', ...args], wrapped);
  return { code, out: io.out, err: io.err };
}

const mean = (v: Float64Array) => v.reduce((s, x) => s + x, 0) / v.length;

t.test('--json reports the per-sample mean and max of each metric, and the kind it picked', async (t) => {
  const r = await cli('a.npy', 'b.npy', '--metric', 'js,kl,tv,disagreement,kappa', '--json');
  t.equal(r.code, 0, r.err);
  const doc = JSON.parse(r.out);
  const ref = divergencePerSampleSync({ data: a, n, k }, { data: b, n, k }, ['js', 'kl', 'tv', 'disagreement'], { outputs: 'logits' });
  t.match(doc, { a: 'a.npy', b: 'b.npy', n, k, outputs: 'logits', units: 'nats' });
  for (const m of ['js', 'kl', 'tv', 'disagreement'] as const) {
    t.ok(Math.abs(doc.metrics[m].mean - mean(ref[m])) < 1e-15, `${m} mean`);
    t.equal(doc.metrics[m].max, Math.max(...ref[m]), `${m} max`);
  }
  t.ok(doc.metrics.kappa.value > 0 && doc.metrics.kappa.value <= 1, 'kappa is a set-level value');
});

t.test('table output, --bits, --epsilon, --threads, --outputs', async (t) => {
  const r = await cli('a.npy', 'b.npy');
  t.equal(r.code, 0);
  t.match(r.out, /outputs = logits \(auto\), log units = nats/);
  t.match(r.out, /^js\s+\d/m, 'default metric is js');
  const bits = JSON.parse((await cli('a.npy', 'b.npy', '--bits', '--json', '--threads', '2')).out);
  const nats = JSON.parse((await cli('a.npy', 'b.npy', '--json')).out);
  t.ok(Math.abs(bits.metrics.js.mean - nats.metrics.js.mean / Math.LN2) < 1e-15, 'bits = nats / ln 2');
  t.equal(bits.units, 'bits');
  const sig = JSON.parse((await cli('sig_a.npy', 'sig_b.npy', '--json', '--metric', 'tv,kappa,emd-cost', '--cost', 'cost2.npy')).out);
  t.equal(sig.outputs, 'sigmoid', '1-D arrays in [0, 1] read as sigmoid probabilities');
  t.equal(sig.k, 1);
  t.ok(Math.abs(sig.metrics['emd-cost'].mean - sig.metrics.tv.mean) < 1e-12, '0/1 cost on [1 - s, s] = TV');
  const eps = JSON.parse((await cli('a.npy', 'b.npy', '--json', '--epsilon', '0.01', '--outputs', 'logits', '--metric', 'kl')).out);
  const plain = JSON.parse((await cli('a.npy', 'b.npy', '--json', '--outputs', 'logits', '--metric', 'kl')).out);
  t.ok(eps.metrics.kl.mean < plain.metrics.kl.mean, 'smoothing shrinks KL');
  t.equal(eps.epsilon, 0.01, 'the smoothing is reported');
  t.notOk('epsilon' in plain);
  t.match((await cli('a.npy', 'b.npy', '--epsilon', '0.01')).out, /outputs = logits \(auto\), smoothed by epsilon = 0\.01, log units/);
  const withCost = await cli('a.npy', 'b.npy', '--metric', 'emd,emd-cost', '--cost', 'cost.npy', '--json');
  const doc = JSON.parse(withCost.out);
  t.ok(Math.abs(doc.metrics['emd-cost'].mean - doc.metrics.emd.mean) < 1e-9, 'emd-cost with |i - j| = emd');
  const text = await cli('a.npy', 'b.npy', '--metric', 'kappa,kl-reverse');
  t.match(text.out, /kappa\s+\S+\s+-/);
});

t.test('usage errors exit 2, input errors exit 1, one line naming the culprit', async (t) => {
  const cases: Array<[string[], number, RegExp]> = [
    [['a.npy', 'b.npy', '--metric', 'nope'], 2, /--metric: unknown metric "nope"/],
    [['a.npy', 'b.npy', '--metric', ','], 2, /at least one metric/],
    [['a.npy', 'b.npy', '--outputs', 'softmax'], 2, /--outputs must be one of/],
    [['a.npy', 'b.npy', '--epsilon', '-1'], 2, /--epsilon/],
    [['a.npy', 'b.npy', '--epsilon', 'x'], 2, /--epsilon/],
    [['a.npy', 'b.npy', '--threads', '0'], 2, /--threads/],
    [['a.npy', 'b.npy', '--metric', 'emd-cost'], 2, /needs --cost/],
    [['a.npy', 'missing.npy'], 1, /missing\.npy/],
    [['a.npy', 'short.npy'], 1, /a\.npy has shape \[50, 4\] but short\.npy has shape \[49, 4\]/],
    [['a.npy', 'ints.npy'], 1, /ints\.npy: dtype int32/],
    [['cube.npy', 'a.npy'], 1, /cube\.npy is a sequence output \[2, 2, 2\] but a\.npy has one row per sample/],
    [['a.npy', 'nan.npy'], 1, /nan\.npy, row 3: contains NaN/],
    [['p.npy', 'b23.npy'], 1, /outputs 'auto' cannot read these arrays one way: p\.npy looks like probabilities .* but b23\.npy like logits/],
    [['a.npy', 'b.npy', '--metric', 'emd-cost', '--cost', 'cost2.npy'], 1, /cost2\.npy: the cost matrix must be 4 × 4/],
  ];
  for (const [args, code, msg] of cases) {
    const r = await cli(...args);
    t.equal(r.code, code, args.join(' '));
    t.match(r.err, msg);
    t.equal(r.err.trim().split('\n').length, 1, 'one line');
  }
});

t.test('infinite KL is reported as Infinity with a hint about --epsilon', async (t) => {
  const doc = JSON.parse((await cli('p.npy', 'q.npy', '--metric', 'kl,js', '--json')).out);
  t.equal(doc.metrics.kl.mean, 'Infinity');
  t.ok(Math.abs(doc.metrics.js.mean - Math.LN2 / 4) < 1e-12, 'js stays finite: (ln 2 / 2 + 0) / 2');
  t.equal(doc.hints.length, 1);
  t.match(doc.hints[0], /^kl is infinite on 1 of 2 samples: .*smooth with --epsilon 1e-9 \(or another small value\)/);
  const text = await cli('p.npy', 'q.npy', '--metric', 'kl');
  t.equal(text.code, 0);
  // Mean, 95% CI, max: resamples that miss row 0 have mean 0, the others Infinity.
  t.match(text.out, /^kl\s+Infinity\s+\[0, Infinity\]\s+Infinity$/m);
  t.match(text.out, /^hint: kl is infinite on 1 of 2 samples/m);
  const smoothed = JSON.parse((await cli('p.npy', 'q.npy', '--metric', 'kl', '--epsilon', '1e-9', '--json')).out);
  t.ok(Number.isFinite(smoothed.metrics.kl.mean));
  t.same(smoothed.hints, []);
});

t.test('--json: stderr, ci95, median, samplesNeeded and the bootstrap used; no perSampleMax alias', async (t) => {
  const r = await cli('a.npy', 'b.npy', '--metric', 'js,tv,kappa', '--json');
  t.equal(r.code, 0, r.err);
  const doc = JSON.parse(r.out);
  t.same(Object.keys(doc), ['a', 'b', 'n', 'k', 'outputs', 'units', 'metrics', 'bootstrap', 'hints']);
  t.match(doc.bootstrap, { replicates: 1000, seed: 0, method: 'percentile', rule: /^Cornish-Fisher closed form if >= 100000 units/ }, 'defaults: 1000 replicates, seed 0');
  const ref = divergencePerSampleSync({ data: a, n, k }, { data: b, n, k }, ['js', 'tv'], { outputs: 'logits' });
  for (const m of ['js', 'tv'] as const) {
    const v = doc.metrics[m];
    t.same(Object.keys(v), ['mean', 'stderr', 'ci95', 'median', 'max', 'samplesNeeded']);
    const mu = mean(ref[m]);
    const sd = Math.sqrt(ref[m].reduce((s, x) => s + (x - mu) ** 2, 0) / (n - 1));
    t.ok(Math.abs(v.stderr - sd / Math.sqrt(n)) < 1e-12 * v.stderr, `${m} stderr = sd / √n`);
    t.ok(v.ci95[0] < v.mean && v.mean < v.ci95[1], `${m} ci95 [${v.ci95}] brackets the mean`);
    t.equal(v.max, Math.max(...ref[m]), `${m} max`);
    const sorted = Float64Array.from(ref[m]).sort();
    t.equal(v.median, (sorted[n / 2 - 1]! + sorted[n / 2]!) / 2, `${m} median`);
    t.same(v.samplesNeeded, { halfWidth: 0.1 * v.mean, n: Math.ceil(((1.96 * sd) / (0.1 * v.mean)) ** 2) }, `${m} samplesNeeded`);
  }
  t.same(Object.keys(doc.metrics.kappa), ['value'], 'kappa keeps { value }');
  // The CLI prints what the library's divergence() returns for the same options.
  const lib = await divergence({ data: a, n, k }, { data: b, n, k }, ['js', 'tv', 'kappa'], { outputs: 'logits' });
  t.same(doc.metrics.js.ci95, lib.metrics.js!.ci95);
  t.equal(doc.metrics.kappa.value, lib.kappa);
});

t.test('--precision sets the samples-needed target half-width', async (t) => {
  const doc = JSON.parse((await cli('a.npy', 'b.npy', '--metric', 'js', '--precision', '0.001', '--json')).out);
  const ref = divergencePerSampleSync({ data: a, n, k }, { data: b, n, k }, ['js'], { outputs: 'logits' }).js;
  const mu = mean(ref);
  const sd = Math.sqrt(ref.reduce((s, x) => s + (x - mu) ** 2, 0) / (n - 1));
  t.same(doc.metrics.js.samplesNeeded, { halfWidth: 0.001, n: Math.ceil(((1.96 * sd) / 0.001) ** 2) });
  const bad = await cli('a.npy', 'b.npy', '--precision', '0');
  t.equal(bad.code, 2);
  t.match(bad.err, /--precision must be a positive number, got "0"/);
});

t.test('--bootstrap and --seed: reproducible, seed-dependent, 0 = no interval', async (t) => {
  const run = async (...args: string[]) => JSON.parse((await cli('a.npy', 'b.npy', '--metric', 'js', '--json', ...args)).out);
  const s5 = await run('--seed', '5', '--bootstrap', '300');
  t.match(s5.bootstrap, { replicates: 300, seed: 5, method: 'percentile' });
  t.same((await run('--bootstrap', '300', '--seed', '5', '--threads', '1')).metrics, s5.metrics, 'same seed, same interval');
  const s6 = await run('--seed', '6', '--bootstrap', '300');
  t.not(s6.metrics.js.ci95[0], s5.metrics.js.ci95[0], 'another seed, another interval');
  t.equal(s6.metrics.js.mean, s5.metrics.js.mean);
  const lib = await divergence({ data: a, n, k }, { data: b, n, k }, ['js'], { bootstrap: 300, seed: 5 });
  t.same(s5.metrics.js.ci95, lib.metrics.js!.ci95, 'the library gives the same interval for the same seed');
  const none = await run('--bootstrap', '0');
  t.same(none.metrics.js.ci95, ['NaN', 'NaN'], 'no interval with --bootstrap 0 (as compare)');
  t.same(none.bootstrap, { replicates: 0, seed: 0, method: 'none', rule: 'no interval: 0 replicates' });
  const text = await cli('a.npy', 'b.npy', '--metric', 'js,kappa', '--bootstrap', '0');
  t.match(text.out, /^metric\s+mean\s+95% CI\s+max per sample$/m);
  t.match(text.out, /^js\s+\S+\s+-\s+\S+$/m, 'no interval: -');
  t.match(text.out, /^\(no 95% CI: --bootstrap 0\)$/m);
  const table = await cli('a.npy', 'b.npy', '--seed', '5', '--bootstrap', '300');
  const [, lo, hi] = /^js\s+\S+\s+\[(\S+), (\S+)\]\s+\S+$/m.exec(table.out) ?? [];
  t.ok(Math.abs(Number(lo) - s5.metrics.js.ci95[0]) < 1e-5 * s5.metrics.js.ci95[0], 'table: CI lower end');
  t.ok(Math.abs(Number(hi) - s5.metrics.js.ci95[1]) < 1e-5 * s5.metrics.js.ci95[1], 'table: CI upper end');
  t.match(table.out, /^\(95% CI: percentile bootstrap, 300 replicates, seed 5; rule: Cornish-Fisher closed form if >= 100000 units, its next terms < 1% of each half-width and no few values dominate; else percentile bootstrap\)$/m);
  const usage: Array<[string[], RegExp]> = [
    [['--bootstrap', '-1'], /--bootstrap must be an integer from 0 to 100000000, got "-1"/],
    [['--bootstrap', '1.5'], /--bootstrap must be an integer from 0 to 100000000, got "1\.5"/],
    [['--bootstrap', '100000001'], /--bootstrap must be an integer from 0 to 100000000/],
    [['--seed', '-3'], /--seed must be a non-negative integer, got "-3"/],
    [['--seed', 'x'], /--seed must be a non-negative integer, got "x"/],
  ];
  for (const [args, msg] of usage) {
    const r = await cli('a.npy', 'b.npy', ...args);
    t.equal(r.code, 2, args.join(' '));
    t.match(r.err, msg);
  }
});

t.test('-q / --quiet: no progress on a terminal, the same result; the library reports progress', async (t) => {
  // Sequence outputs [sequences, positions, vocab]: progress counts sequences, then replicates.
  const seqA = Float32Array.from({ length: 3 * 4 * 5 }, () => rng.normal());
  const seqB = Float32Array.from(seqA, (v) => v + 0.2 * rng.normal());
  writeNpy(path.join(dir, 'seq_a.npy'), { dtype: 'float32', shape: [3, 4, 5], data: seqA });
  writeNpy(path.join(dir, 'seq_b.npy'), { dtype: 'float32', shape: [3, 4, 5], data: seqB });
  const tty = async (...args: string[]) => {
    let out = '';
    let err = '';
    const code = await runCli(['divergence', ...args], { cwd: dir, isTTY: true, stdout: (s: string) => void (out += s), stderr: (s: string) => void (err += s) });
    return { code, out, err };
  };
  for (const files of [['a.npy', 'b.npy'], ['seq_a.npy', 'seq_b.npy']]) {
    const loud = await tty(...files, '--metric', 'kl,tv');
    for (const flag of ['-q', '--quiet']) {
      const quiet = await tty(...files, '--metric', 'kl,tv', flag);
      t.equal(quiet.code, 0, quiet.err);
      t.equal(quiet.err, '', `${files[0]} ${flag}: nothing on stderr`);
      t.equal(quiet.out, loud.out, `${files[0]} ${flag}: the same report`);
    }
    const json = await tty(...files, '--json');
    t.equal(json.err, '', `${files[0]} --json: nothing on stderr`);
  }
  const seen: Record<string, Array<[number, number]>> = { seq: [], boot: [], rowsBoot: [] };
  await divergence({ data: seqA, shape: [3, 4, 5] }, { data: seqB, shape: [3, 4, 5] }, ['kl'], {
    bootstrap: 200,
    onProgress: (d, n) => void seen.seq.push([d, n]),
    onBootstrapProgress: (d, n) => void seen.boot.push([d, n]),
  });
  t.same(seen.seq.at(-1), [3, 3], 'sequence progress ends at every sequence');
  t.ok(seen.seq.every(([d, n], i) => n === 3 && d > (i > 0 ? seen.seq[i - 1][0] : 0)), 'and only grows');
  t.same(seen.boot.at(-1), [200, 200], 'bootstrap progress ends at every replicate');
  await divergence({ data: a, n, k }, { data: b, n, k }, ['kl'], { bootstrap: 300, onBootstrapProgress: (d, m) => void seen.rowsBoot.push([d, m]) });
  t.same(seen.rowsBoot.at(-1), [300, 300], 'n × k outputs: bootstrap progress too');
});
