/**
 * The bootstrap of lib/stats/bootstrap.ts against independent references:
 * - the percentile kernel's replicate distribution against a plain O(B·n) resampler written
 *   here (its own RNG: the comparison is by moments and quantiles) and against the closed-form
 *   bootstrap moments (E* = x̄, Var* = Σ(x − x̄)²/n²), and exactly on tiny inputs whose
 *   resampling distribution is enumerated here;
 * - cluster resampling against a hand-written cluster resampler and an enumerated tiny case
 *   (a replicate is Σ values / Σ tokens over whole drawn clusters), and the cluster-robust
 *   normal-theory interval against the ratio-estimator formula written out here;
 * - the 'auto' switch: where it takes the closed-form interval that interval agrees with the
 *   percentile one; skewed data, few units and forced methods take the documented branch;
 * - progress: chunked async replicates equal the one-call sync ones, and compare's inference
 *   bar counts samples (not samples × models) and its bootstrap reports its own progress.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import t from 'tap';

import { compare } from '../lib/function/compare';
import { writeNpy } from '../lib/io/npy';
import { makeTensor } from '../lib/io/tensor';
import { describe } from '../lib/stats';
import { AUTO_RULE, CLOSED_FORM_MIN_UNITS, bootstrapMean, bootstrapMeanSync, bootstrapRatioReplicatesSync, bootstrapReplicatesSync, normalQuantile } from '../lib/stats/bootstrap';
import { createRng } from '../lib/util/rng';
import { gemmSoftmaxModel } from './helpers/onnx-builder';

const Z975 = 1.959963984540054; // the standard normal's 97.5% quantile

/** The O(B·n) reference: B resamples of n indices, each replicate's mean of every series. */
function referenceReplicates(series: Float64Array[], B: number, seed: number): Float64Array[] {
  const rng = createRng(seed);
  const n = series[0].length;
  const out = series.map(() => new Float64Array(B));
  for (let b = 0; b < B; b++) {
    const sums = series.map(() => 0);
    for (let i = 0; i < n; i++) {
      const j = rng.int(n);
      for (let s = 0; s < series.length; s++) sums[s] += series[s][j];
    }
    for (let s = 0; s < series.length; s++) out[s][b] = sums[s] / n;
  }
  return out;
}

function moments(x: Float64Array): { mean: number; sd: number } {
  let m = 0;
  for (const v of x) m += v;
  m /= x.length;
  let ss = 0;
  for (const v of x) ss += (v - m) ** 2;
  return { mean: m, sd: Math.sqrt(ss / (x.length - 1)) };
}

function quantile(x: Float64Array, q: number): number {
  const s = Float64Array.from(x).sort();
  return s[Math.floor(q * (s.length - 1))];
}

t.test('percentile kernel: the same distribution as the O(B·n) reference and the closed-form moments', async (t) => {
  const rng = createRng(3);
  const n = 40;
  const a = Float64Array.from({ length: n }, () => rng.normal() ** 2); // skewed
  const b = Float64Array.from(a, (v, i) => v * 0.5 + i / n);
  const B = 20000;
  const kernel = bootstrapReplicatesSync([a, b], { replicates: B, seed: 1 });
  const reference = referenceReplicates([a, b], B, 2);
  for (const [s, x] of [a, b].entries()) {
    const mean = x.reduce((p, v) => p + v, 0) / n;
    const plugInSd = Math.sqrt(x.reduce((p, v) => p + (v - mean) ** 2, 0) / n / n);
    const k = moments(kernel[s]);
    const r = moments(reference[s]);
    // Closed form: E* = x̄ exactly; Var* = plug-in variance / n. Monte Carlo error of the mean ≈ sd/√B.
    t.ok(Math.abs(k.mean - mean) < 4 * plugInSd / Math.sqrt(B), `series ${s}: mean ${k.mean} vs ${mean}`);
    t.ok(Math.abs(k.sd / plugInSd - 1) < 0.03, `series ${s}: sd ${k.sd} vs ${plugInSd}`);
    t.ok(Math.abs(r.sd / plugInSd - 1) < 0.03, `reference ${s}: sd ${r.sd} vs ${plugInSd}`);
    for (const q of [0.025, 0.5, 0.975]) {
      const dk = quantile(kernel[s], q);
      const dr = quantile(reference[s], q);
      t.ok(Math.abs(dk - dr) < 0.12 * plugInSd, `series ${s}, quantile ${q}: kernel ${dk} vs reference ${dr}`);
    }
  }
  // Paired: the two series' replicates share the draws, so they are correlated as the data are.
  const paired = kernel[0].map((v, i) => v * 0.5 - kernel[1][i]);
  const shift = -(n - 1) / (2 * n); // 0.5·a − b = −i/n for every row, so every replicate's is −mean(i)/n up to the draws
  t.ok(moments(paired).sd < moments(kernel[1]).sd, 'replicates are paired across series');
  t.ok(Math.abs(moments(paired).mean - shift) < 0.01);
});

t.test('percentile kernel: the exact resampling distribution of n = 3', async (t) => {
  // Values [0, 1, 5]: the 27 equally likely index triples give the distribution of the mean.
  const values = [0, 1, 5];
  const exact = new Map<number, number>();
  for (const i of values) for (const j of values) for (const k of values) exact.set(i + j + k, (exact.get(i + j + k) ?? 0) + 1 / 27);
  const B = 27000;
  const [reps] = bootstrapReplicatesSync([Float64Array.from(values)], { replicates: B, seed: 11 });
  const observed = new Map<number, number>();
  for (const v of reps) observed.set(Math.round(v * 3), (observed.get(Math.round(v * 3)) ?? 0) + 1);
  t.same([...observed.keys()].sort((x, y) => x - y), [...exact.keys()].sort((x, y) => x - y), 'the support is the enumerated one');
  let chi2 = 0;
  for (const [sum, p] of exact) chi2 += ((observed.get(sum)! - B * p) ** 2) / (B * p);
  // 9 cells, 8 degrees of freedom: P(chi² > 26.1) = 0.001.
  t.ok(chi2 < 26.1, `chi² = ${chi2}`);
  // An infinite value counts only when drawn: a resample without it has a finite mean (not 0·∞ = NaN).
  const [inf] = bootstrapReplicatesSync([[0, Infinity]], { replicates: 4000, seed: 1 });
  const zeros = inf.filter((v) => v === 0).length;
  t.equal(zeros + inf.filter((v) => v === Infinity).length, 4000, 'only 0 and Infinity');
  t.ok(Math.abs(zeros / 4000 - 0.25) < 0.03, `P(no Infinity drawn) = ${zeros / 4000}`);
});

/** Hand-written cluster bootstrap: draw G clusters, statistic = Σ drawn values / Σ drawn tokens. */
function referenceClusterReplicates(values: number[], ids: number[], B: number, seed: number): Float64Array {
  const clusters = [...new Set(ids)].map((c) => values.filter((_, j) => ids[j] === c));
  const rng = createRng(seed);
  const out = new Float64Array(B);
  for (let b = 0; b < B; b++) {
    let sum = 0;
    let tokens = 0;
    for (let i = 0; i < clusters.length; i++) {
      const c = clusters[rng.int(clusters.length)];
      for (const v of c) sum += v;
      tokens += c.length;
    }
    out[b] = sum / tokens;
  }
  return out;
}

t.test('cluster bootstrap: whole clusters, token-weighted; against a hand-written reference', async (t) => {
  // Two clusters: one token valued 1, three tokens valued 0. Drawing whole clusters gives
  // 1/1 (p 1/4), 1/4 (p 1/2) or 0/3 (p 1/4); a row bootstrap could not give 1/4 at these odds.
  const B = 20000;
  const [reps] = bootstrapReplicatesSync([[1, 0, 0, 0]], { replicates: B, seed: 4, clusters: [7, 2, 2, 2] });
  const freq = [1, 0.25, 0].map((v) => reps.filter((x) => x === v).length / B);
  t.equal(freq[0] + freq[1] + freq[2], 1, 'only the three cluster-level values occur');
  t.ok(Math.abs(freq[0] - 0.25) < 0.015 && Math.abs(freq[1] - 0.5) < 0.015 && Math.abs(freq[2] - 0.25) < 0.015, `frequencies ${freq}`);

  // Uneven clusters against the reference resampler, by moments and quantiles.
  const rng = createRng(8);
  const values: number[] = [];
  const ids: number[] = [];
  for (let c = 0; c < 60; c++) {
    const len = 1 + rng.int(12);
    const level = rng.normal();
    for (let i = 0; i < len; i++) {
      values.push(level + 0.3 * rng.normal());
      ids.push(c * 3 + 5); // sparse ids
    }
  }
  const [kernel] = bootstrapReplicatesSync([values], { replicates: B, seed: 5, clusters: ids });
  const reference = referenceClusterReplicates(values, ids, B, 6);
  const k = moments(kernel);
  const r = moments(reference);
  t.ok(Math.abs(k.sd / r.sd - 1) < 0.04, `sd ${k.sd} vs ${r.sd}`);
  t.ok(Math.abs(k.mean - r.mean) < 0.05 * r.sd, `mean ${k.mean} vs ${r.mean}`);
  for (const q of [0.025, 0.975]) t.ok(Math.abs(quantile(kernel, q) - quantile(reference, q)) < 0.12 * r.sd, `quantile ${q}`);
  // A row-level bootstrap would be much narrower here (rows within a cluster are alike).
  const [rows] = bootstrapReplicatesSync([values], { replicates: 2000, seed: 5 });
  t.ok(moments(rows).sd < 0.6 * k.sd, `row sd ${moments(rows).sd} vs cluster sd ${k.sd}`);

  // Cluster ids are labels: relabeled, or huge (the Map path), the same numbers.
  const relabeled = ids.map((c) => (c - 5) / 3);
  const huge = ids.map((c) => c * 1e9);
  const base = bootstrapMeanSync([values], { replicates: 500, seed: 9, clusters: ids, method: 'percentile' });
  t.same(bootstrapMeanSync([values], { replicates: 500, seed: 9, clusters: relabeled, method: 'percentile' }), base);
  t.same(bootstrapMeanSync([values], { replicates: 500, seed: 9, clusters: huge, method: 'percentile' }), base);
  t.equal(base.units, 60);

  // Pre-summed units (per-cluster sums and sizes, summed here by hand) give the same replicates.
  const sums = new Float64Array(60);
  const sizes = new Float64Array(60);
  ids.forEach((c, j) => ((sums[(c - 5) / 3] += values[j]), (sizes[(c - 5) / 3] += 1)));
  t.same(bootstrapRatioReplicatesSync([sums], sizes, { replicates: 300, seed: 5 }), bootstrapReplicatesSync([values], { replicates: 300, seed: 5, clusters: ids }), 'pre-summed units');
  t.same(bootstrapRatioReplicatesSync([sums], sizes, { replicates: 0 }), [new Float64Array(0)], '0 replicates');
  t.throws(() => bootstrapRatioReplicatesSync([sums], sizes.subarray(1)), { code: 'SHAPE_MISMATCH' });
  t.throws(() => bootstrapRatioReplicatesSync([sums], null, { seed: -1 }), { code: 'INVALID_ARGUMENT', message: /seed/ });
});

t.test('normal-theory intervals: sd/√n without clusters, the ratio estimator with them', async (t) => {
  t.ok(Math.abs(normalQuantile(0.975) - Z975) < 1e-8);
  t.ok(Math.abs(normalQuantile(0.005) + 2.5758293035489) < 1e-8);
  t.ok(Math.abs(normalQuantile(0.5)) < 1e-12);
  const rng = createRng(12);
  const x = Float64Array.from({ length: 500 }, () => rng.normal() + 2);
  const d = describe(x);
  const plain = bootstrapMeanSync([x], { method: 'normal' });
  t.equal(plain.method, 'normal');
  t.equal(plain.rule, 'normal-theory, as requested');
  t.ok(Math.abs(plain.intervals[0][0] - (d.mean - Z975 * d.stderr)) < 1e-9 && Math.abs(plain.intervals[0][1] - (d.mean + Z975 * d.stderr)) < 1e-9);

  // Cluster-robust: R = ΣY/ΣN, se² = G/(G−1)·Σ(Y_c − R·N_c)²/(ΣN)², written out per cluster.
  const values: number[] = [];
  const ids: number[] = [];
  for (let c = 0; c < 30; c++) {
    const len = 1 + rng.int(8);
    for (let i = 0; i < len; i++) {
      values.push(c % 3 + rng.normal());
      ids.push(c);
    }
  }
  let total = 0;
  for (const v of values) total += v;
  const R = total / values.length;
  let ss = 0;
  for (let c = 0; c < 30; c++) {
    const members = values.filter((_, j) => ids[j] === c);
    const Y = members.reduce((p, v) => p + v, 0);
    ss += (Y - R * members.length) ** 2;
  }
  const se = Math.sqrt((30 / 29) * ss) / values.length;
  const clustered = bootstrapMeanSync([values], { method: 'normal', clusters: ids, level: 0.99 });
  const z99 = 2.5758293035489;
  t.ok(Math.abs(clustered.intervals[0][0] - (R - z99 * se)) < 1e-9 && Math.abs(clustered.intervals[0][1] - (R + z99 * se)) < 1e-9, `${clustered.intervals[0]} vs ${R} ± ${z99 * se}`);
  t.equal(clustered.units, 30);
  // An infinite value has no normal-theory interval.
  t.same(bootstrapMeanSync([[1, Infinity, 2]], { method: 'normal' }).intervals, [[NaN, NaN]]);
});

t.test("the 'auto' switch: the closed form only where it agrees with the percentile interval", async (t) => {
  const rng = createRng(21);
  const n = CLOSED_FORM_MIN_UNITS;
  // Exponential values (skewness 2, excess kurtosis 6): the expansion's next terms are ~1e-5 of the half-width.
  const x = Float64Array.from({ length: n }, () => -Math.log(1 - rng.float()));
  const auto = bootstrapMeanSync([x], { seed: 3 });
  t.equal(auto.method, 'cornish-fisher');
  t.equal(auto.rule, AUTO_RULE);
  const percentile = bootstrapMeanSync([x], { seed: 3, replicates: 1000, method: 'percentile' });
  t.equal(percentile.method, 'percentile');
  const [lo, hi] = auto.intervals[0];
  const half = (hi - lo) / 2;
  // The percentile endpoints' own Monte Carlo error at 1000 replicates is about 4% of the half-width.
  t.ok(Math.abs(percentile.intervals[0][0] - lo) < 0.15 * half, `lower: ${percentile.intervals[0][0]} vs ${lo}`);
  t.ok(Math.abs(percentile.intervals[0][1] - hi) < 0.15 * half, `upper: ${percentile.intervals[0][1]} vs ${hi}`);

  // One unit fewer: percentile.
  t.equal(bootstrapMeanSync([x.subarray(1)], { seed: 3, replicates: 10 }).method, 'percentile');
  // Twenty equal huge values at the same n: the resampled mean is a lattice of bumps; percentile.
  const rare = Float64Array.from({ length: n }, (_, i) => (i % 5000 === 0 ? 1000 : rng.float()));
  const rareAuto = bootstrapMeanSync([x, rare], { seed: 3, replicates: 10 });
  t.equal(rareAuto.method, 'percentile', 'one skewed measure keeps the percentile bootstrap for all');
  // Grouped into 1000 sequences, the units are the sequences: too few for the switch.
  const ids = Int32Array.from({ length: n }, (_, i) => Math.floor(i / 100));
  t.equal(bootstrapMeanSync([x], { seed: 3, replicates: 10, clusters: ids }).method, 'percentile');
  // An infinite value: percentile (the normal interval has nothing to say).
  const inf = Float64Array.from(x);
  inf[7] = Infinity;
  t.equal(bootstrapMeanSync([inf], { seed: 3, replicates: 10 }).method, 'percentile');
  // No interval asked for, or none possible.
  t.match(bootstrapMeanSync([x], { replicates: 0 }), { method: 'none', rule: 'no interval: 0 replicates' });
  t.match(bootstrapMeanSync([], {}), { method: 'none', rule: 'no interval: no series' });
  t.match(bootstrapMeanSync([[]], {}), { method: 'none', rule: 'no interval: no samples' });
});

t.test('progress: chunked async replicates equal the sync ones; bad options', async (t) => {
  const rng = createRng(5);
  // 3000 rows x 800 replicates: enough draws to run in chunks (small jobs run in one call).
  const big = Float64Array.from({ length: 3000 }, () => rng.normal());
  const big2 = Array.from(big, (v) => v * v);
  const calls: Array<[number, number]> = [];
  const async = await bootstrapMean([big, big2], { replicates: 800, seed: 2, method: 'percentile', onProgress: (d, total) => calls.push([d, total]) });
  t.same(async, bootstrapMeanSync([big, big2], { replicates: 800, seed: 2, method: 'percentile' }));
  t.same(calls[0], [0, 800]);
  t.same(calls[calls.length - 1], [800, 800]);
  t.ok(calls.length >= 4 && calls.every(([d], i) => i === 0 || d > calls[i - 1][0]), 'monotone, in chunks');
  const x = big.slice(0, 300);
  const y = Array.from(x, (v) => v * v);
  const small: Array<[number, number]> = [];
  t.same(await bootstrapMean([x, y], { replicates: 45, seed: 2, onProgress: (d, total) => small.push([d, total]) }), bootstrapMeanSync([x, y], { replicates: 45, seed: 2 }));
  t.same(small, [[0, 45], [45, 45]], 'a small job: one call');
  const syncCalls: number[] = [];
  bootstrapMeanSync([x], { replicates: 5, onProgress: (d) => syncCalls.push(d) });
  t.same(syncCalls, [5]);

  t.throws(() => bootstrapMeanSync([x], { clusters: [1, 2] }), { code: 'SHAPE_MISMATCH', option: 'clusters', message: /2 ids for 300 samples/ });
  t.throws(() => bootstrapMeanSync([[1, 2]], { clusters: [0, -1] }), { code: 'INVALID_ARGUMENT', option: 'clusters', message: /sample 1: cluster ids must be non-negative integers, got -1/ });
  t.throws(() => bootstrapMeanSync([[1, 2]], { clusters: [0, 0.5] }), { code: 'INVALID_ARGUMENT', option: 'clusters' });
  t.throws(() => bootstrapMeanSync([[1, 2]], { method: 'bca' as 'normal' }), { code: 'INVALID_ARGUMENT', option: 'method', message: /one of auto, percentile, cornish-fisher, normal, got bca/ });
  t.throws(() => bootstrapMeanSync([[1, 2]], { threads: -1 }), { code: 'INVALID_ARGUMENT', option: 'threads' });
  t.throws(() => bootstrapMeanSync([[1, 2]], { threads: 0 }), { code: 'INVALID_ARGUMENT', option: 'threads', message: /^threads must be an integer >= 1, got 0$/ });
});

t.test('compare: the inference bar counts samples; the bootstrap reports its own progress', async (t) => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'modeldiff-bootstrap-'));
  t.teardown(() => fs.rmSync(tmp, { recursive: true, force: true }));
  const rng = createRng(2);
  const [K, D, N] = [3, 4, 50];
  const W = () => Array.from({ length: K * D }, () => rng.normal());
  const a = path.join(tmp, 'a.onnx');
  const b = path.join(tmp, 'b.onnx');
  fs.writeFileSync(a, gemmSoftmaxModel({ W: W(), b: [0, 0, 0], k: K, d: D, softmax: false }));
  fs.writeFileSync(b, gemmSoftmaxModel({ W: W(), b: [0, 0, 0], k: K, d: D, softmax: false }));
  const x = path.join(tmp, 'x.npy');
  writeNpy(x, makeTensor(Float32Array.from({ length: N * D }, () => rng.normal()), [N, D]));
  const inference: Array<[number, number]> = [];
  const boot: Array<[number, number]> = [];
  const r = await compare(a, b, {
    data: x,
    cache: false,
    batchSize: 16,
    bootstrap: 40,
    metrics: ['tv'],
    onProgress: (d, total) => inference.push([d, total]),
    onBootstrapProgress: (d, total) => boot.push([d, total]),
  });
  t.ok(inference.length > 0 && inference.every(([d, total]) => total === N && d <= N), `inference ${JSON.stringify(inference)}`);
  t.same(inference[inference.length - 1], [N, N]);
  t.same(boot[boot.length - 1], [40, 40]);
  t.match(r.bootstrap, { replicates: 40, seed: 0, method: 'percentile', rule: AUTO_RULE });
});
