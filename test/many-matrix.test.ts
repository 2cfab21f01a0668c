/**
 * matrix() and study() on synthetic outputs: the matrix equals a float64
 * reference of the per-pair mean divergence, blocked computation under a
 * memory budget gives the same numbers, near-copies of one model cluster
 * together while distinct models do not, and the same seed gives
 * byte-identical JSON.
 */
import { blockSizeFor, modelBytes } from '../lib/many/store';
import t from 'tap';

import { matrix } from '../lib/many/matrix';
import { study } from '../lib/many/study';
import { toJson } from '../lib/util/json';
import { createRng } from '../lib/util/rng';
import { meanJs } from './helpers/onnx-models';

const n = 400;
const k = 5;

function logits(seed: number): Float32Array {
  const rng = createRng(seed);
  return Float32Array.from({ length: n * k }, () => 2 * rng.normal());
}

function jitter(x: Float32Array, seed: number, scale: number): Float32Array {
  const rng = createRng(seed);
  return Float32Array.from(x, (v) => v + scale * rng.normal());
}

// Three distinct solutions; the first two come with near-copies (tiny noise).
const bases = [logits(1), logits(2), logits(3)];
const zoo = [
  { name: 'a0', outputs: { data: bases[0], n, k } },
  { name: 'a1', outputs: { data: jitter(bases[0], 11, 1e-3), n, k } },
  { name: 'a2', outputs: { data: jitter(bases[0], 12, 1e-3), n, k } },
  { name: 'b0', outputs: { data: bases[1], n, k } },
  { name: 'b1', outputs: { data: jitter(bases[1], 13, 1e-3), n, k } },
  { name: 'c0', outputs: { data: bases[2], n, k } },
];

t.test('matrix of synthetic outputs equals the per-pair float64 reference', async (t) => {
  const r = await matrix(zoo.slice(0, 4), { metric: 'js' });
  t.same(r.models, ['a0', 'a1', 'a2', 'b0']);
  t.match(r.probe, { samples: n, classes: k, outputKind: 'logits' });
  t.same(r.weights, { methods: [], skipped: 'models were given as outputs, not ONNX files' });
  for (let i = 0; i < 4; i++) {
    t.equal(r.functional[i][i], 0, 'zero diagonal');
    for (let j = 0; j < 4; j++) {
      if (i === j) continue;
      const ref = meanJs(zoo[i].outputs.data, zoo[j].outputs.data, k);
      t.ok(Math.abs(r.functional[i][j] - ref) <= Math.max(1e-9, 1e-6 * ref), `[${i}][${j}] ${r.functional[i][j]} vs ${ref}`);
    }
  }
  // Blocks of one model at a time (budget for two models' outputs) give the same matrix.
  const progress: string[] = [];
  const blocked = await matrix(zoo.slice(0, 4), { maxMemory: 2 * 2 * n * k * 4, onProgress: (s, d, tot) => progress.push(`${s}:${d}/${tot}`) });
  t.ok(
    blocked.functional.every((row, i) => row.every((v, j) => Math.abs(v - r.functional[i][j]) <= 1e-12 * Math.max(1, r.functional[i][j]))),
    'blocked = unblocked (up to summation order)',
  );
  t.equal(progress.at(-1), 'distances:6/6');
  // Asymmetric measure: row = first argument.
  const kl = await matrix(zoo.slice(3, 5), { metric: 'kl' });
  t.notOk('epsilon' in kl.probe);
  t.equal((await matrix(zoo.slice(3, 5), { metric: 'kl', epsilon: 0.01 })).probe.epsilon, 0.01, 'the smoothing is reported');
  t.not(kl.functional[0][1], kl.functional[1][0]);
});

t.test('matrix rejects bad input with a clear error', async (t) => {
  await t.rejects(matrix([zoo[0]]), { code: 'INVALID_ARGUMENT', message: /at least 2 models/ });
  // A model whose outputs are probabilities among logits models: 'auto' must not read it as
  // logits; found whichever block it lands in (here the second of two, by the memory limit).
  const softmaxed = Float64Array.from(zoo[1].outputs.data);
  for (let i = 0; i < n; i++) {
    const row = softmaxed.subarray(i * k, (i + 1) * k);
    const m = Math.max(...row);
    let s = 0;
    for (let j = 0; j < k; j++) s += row[j] = Math.exp(row[j] - m);
    for (let j = 0; j < k; j++) row[j] /= s;
  }
  const mixed = [zoo[0], zoo[2], zoo[3], { name: 'soft', outputs: { data: softmaxed, n, k } }];
  const budget = 2 * 2 * modelBytes(mixed[3].outputs);
  t.equal(blockSizeFor(4, modelBytes(mixed[3].outputs), budget), 2, 'the budget makes blocks of 2: "soft" is in the second');
  for (const maxMemory of [undefined, budget]) {
    await t.rejects(matrix(mixed, { maxMemory }), { code: 'INVALID_ARGUMENT', message: /a0 looks like logits .* but soft like probabilities/ });
  }
  t.ok((await matrix(mixed, { outputs: 'logits' })).functional, 'an explicit kind is not second-guessed');
  await t.rejects(matrix(zoo.slice(0, 2), { metric: 'kappa' }), { code: 'INVALID_ARGUMENT', option: 'metric', message: /^options\.metric "kappa" is not an output distance/ });
  await t.rejects(matrix(zoo.slice(0, 2), { metric: 'nope' }), { code: 'INVALID_ARGUMENT', option: 'metric' });
  await t.rejects(matrix([zoo[0], { name: 'short', outputs: { data: new Float32Array(10), n: 2, k } }]), {
    code: 'SHAPE_MISMATCH',
    message: /short/,
  });
  await t.rejects(matrix(zoo.slice(0, 2), { weights: ['raw'] }), { code: 'INVALID_ARGUMENT', option: 'weights', message: /ONNX file/ });
  await t.rejects(matrix(zoo.slice(0, 2), { weights: ['bogus' as 'raw'] }), { code: 'INVALID_ARGUMENT', option: 'weights', message: /bogus/ });
  await t.rejects(matrix(zoo.slice(0, 2), { weights: 'raw' as 'none' }), { code: 'INVALID_ARGUMENT', option: 'weights', message: /list/ });
  await t.rejects(matrix(['x.onnx', 'y.onnx']), { code: 'INVALID_ARGUMENT', option: 'data', message: 'model files need a probe set in options.data' });
  await t.rejects(matrix(zoo.slice(0, 2), { maxMemory: 10 }), { code: 'INVALID_ARGUMENT', option: 'maxMemory', message: /^options\.maxMemory 10 bytes cannot hold/ });
  const none = await matrix(zoo.slice(0, 2), { weights: 'none' });
  t.match(none.weights.skipped, /not requested/);
});

t.test('emd-cost through the library: the cost reaches the kernels, its size is checked', async (t) => {
  const models = [zoo[0], zoo[3], zoo[5]];
  const zeroOne = Float64Array.from({ length: k * k }, (_, q) => (Math.floor(q / k) === q % k ? 0 : 1));
  const emd = await matrix(models, { metric: 'emd-cost', cost: zeroOne });
  const tv = await matrix(models, { metric: 'tv' });
  t.ok(emd.functional.every((row, i) => row.every((v, j) => Math.abs(v - tv.functional[i][j]) < 1e-9)), '0/1 cost: emd-cost = tv');
  t.ok(tv.functional[0][2] > 0.1);
  await t.rejects(matrix(models, { metric: 'emd-cost' }), { code: 'INVALID_ARGUMENT', option: 'metric', message: "options.metric 'emd-cost' needs a k×k cost matrix in options.cost" });
  await t.rejects(matrix(models, { metric: 'emd-cost', cost: new Float64Array(7) }), { code: 'SHAPE_MISMATCH', message: /^cost matrix: .* 5 × 5 .*got 7 entries/ });
  await t.rejects(matrix(models, { metric: 'emd-cost', cost: new Float64Array(16), costName: 'c.npy' }), { code: 'SHAPE_MISMATCH', message: /^c\.npy: .*got 4 × 4/ });
  await t.rejects(matrix(models, { metric: 'emd-cost', cost: [0, 1] as unknown as Float64Array }), { code: 'INVALID_ARGUMENT', message: /Float64Array/ });
});

t.test('study: near-copies are one solution, distinct models are not; seeded JSON is byte-identical', async (t) => {
  const labels = Array.from({ length: n }, (_, i) => i % k);
  const stages = new Set<string>();
  const s = await study(zoo, { seed: 7, labels, permutations: 99, onProgress: (stage, d, tot) => stages.add(`${stage}:${d}/${tot}`) });
  t.ok(stages.has('distances:15/15') && stages.has('analysis:5/5'), 'progress through distances and the analysis steps');
  t.equal(s.threshold.source, 'bootstrap');
  t.ok(s.threshold.value > 0, `threshold ${s.threshold.value}`);
  t.equal(s.threshold.pairsUsed, 15);
  t.same(s.clustering.clusters, [[0, 1, 2], [3, 4], [5]]);
  // The copies' distances sit below the threshold, the distinct ones far above it.
  const d = s.functional;
  t.ok(d[0][1] < s.threshold.value && d[3][4] < s.threshold.value);
  t.ok(d[0][3] > 10 * s.threshold.value);
  t.match(s.solutions, { observed: 3, singletons: 1, doubletons: 1, models: 6 });
  t.equal(s.pairs.length, 15);
  const p01 = s.pairs[0];
  t.match(p01, { i: 0, j: 1, a: 'a0', b: 'a1', sameSolution: true });
  t.ok(p01.functional.ci95 && p01.functional.ci95[0] <= p01.functional.mean && p01.functional.mean <= p01.functional.ci95[1]);
  t.ok(p01.functional.se > 0);
  t.equal(s.accuracy?.length, 6);
  t.ok(s.accuracy!.every((a) => a >= 0 && a <= 1));
  t.equal(s.maps.mds.length, 6);
  t.equal(s.maps.tsne?.length, 6);
  t.equal(s.maps.umap?.length, 6);
  t.same(s.correlations, [], 'no weights, nothing to correlate');
  const again = await study(zoo, { seed: 7, labels, permutations: 99 });
  t.equal(toJson(again), toJson(s), 'byte-identical JSON for the same seed');
  // A user threshold of 0 makes every model its own solution.
  const strict = await study(zoo.slice(0, 3), { threshold: 0, maxBootstrapPairs: 1 });
  t.equal(strict.threshold.source, 'user');
  t.equal(strict.solutions.observed, 3);
  t.equal(strict.maps.tsne, null, 'fewer than 4 models: no t-SNE');
  t.equal(strict.pairs.filter((p) => p.functional.ci95).length, 1, 'only sampled pairs are bootstrapped');
  const seedsOnly = await study(zoo, { seed: 7, permutations: 9, independentRuns: [4, 0, 1] });
  t.same(seedsOnly.solutions.counted, ['a0', 'a1', 'b1'], 'counted: the named runs, in model order');
  t.match(seedsOnly.solutions, { models: 3, observed: 2, singletons: 1, doubletons: 1 }, 'a0 and a1 are one solution, b1 another');
  t.same(seedsOnly.clustering.clusters, s.clustering.clusters, 'the clusters themselves are over every model');
  for (const bad of [[], [0, 0], [6], [1.5]]) {
    await t.rejects(study(zoo, { independentRuns: bad }), { code: 'INVALID_ARGUMENT', option: 'independentRuns', message: /^options\.independentRuns must list distinct model indices 0\.\.5/ });
  }
  await t.rejects(study(zoo, { threshold: -1 }), { code: 'INVALID_ARGUMENT', option: 'threshold', message: 'options.threshold must be a number >= 0, got -1' });
  await t.rejects(study(zoo, { seed: 1.5 }), { code: 'INVALID_ARGUMENT', option: 'seed', message: 'options.seed must be an integer, got 1.5' });
  await t.rejects(study(zoo, { maxBootstrapPairs: 0 }), { code: 'INVALID_ARGUMENT', option: 'maxBootstrapPairs', message: 'options.maxBootstrapPairs must be a positive integer, got 0' });
  await t.rejects(study(zoo, { permutations: 0 }), { code: 'INVALID_ARGUMENT', option: 'permutations', message: 'options.permutations must be a positive integer, got 0' });
  await t.rejects(study(zoo, { bootstrap: 1.5 }), { code: 'INVALID_ARGUMENT', option: 'bootstrap', message: 'options.bootstrap (replicates) must be a positive integer, got 1.5' });
  await t.rejects(study(zoo, { labels: [1, 2] }), { code: 'SHAPE_MISMATCH' });
  // Labels given as an array are checked like a labels file: a class id that is negative or fractional is an error, not a silent miss.
  await t.rejects(study(zoo, { labels: labels.map((v, i) => (i === 3 ? -1 : v)) }), { code: 'INVALID_ARGUMENT', message: /label -1 at sample 3 is not a non-negative class id/ });
  await t.rejects(study(zoo, { labels: labels.map((v, i) => (i === 2 ? 0.5 : v)) }), { code: 'INVALID_ARGUMENT', message: /label 0\.5 at sample 2/ });
});

t.test('probabilities with zeros: KL matrix has Infinity, study refuses it clearly', async (t) => {
  const p = (rows: number[][]) => ({ data: Float64Array.from(rows.flat()), n: rows.length, k: rows[0].length });
  const m = [
    { name: 'p', outputs: p([[1, 0], [0.5, 0.5]]) },
    { name: 'q', outputs: p([[0.5, 0.5], [0.5, 0.5]]) },
    { name: 'r', outputs: p([[0.25, 0.75], [0.5, 0.5]]) },
  ];
  const r = await matrix(m, { metric: 'kl' });
  t.equal(r.probe.outputKind, 'probs');
  t.equal(r.functional[1][0], Infinity, 'KL(q‖p) with p = 0 < q');
  t.ok(Math.abs(r.functional[0][1] - Math.log(2) / 2) < 1e-12, 'KL(p‖q) = ½·ln 2');
  t.match(toJson(r), /"Infinity"/);
  await t.rejects(study(m, { metric: 'kl' }), { code: 'NON_FINITE', message: /distance matrix\[0\]\[1\].*js/ });
  const smoothed = await study(m, { metric: 'kl', epsilon: 1e-3, permutations: 9 });
  t.ok(smoothed.functional.flat().every(Number.isFinite), 'epsilon smoothing makes it finite');
});
