/**
 * The statistics of the many-model layer against independent references:
 * scipy's documented examples and O(n²) definitions for Pearson/Spearman,
 * Mantel on correlated vs independent matrices, Chao1's closed form on hand
 * counts, clustering on a hand-made matrix with known groups, and the
 * bootstrap noise threshold against the normal-theory half-width.
 */
import t from 'tap';

import { clusterModels } from '../lib/many/clustering';
import { mantel, pearson, rank, spearman, upperTriangle } from '../lib/many/correlation';
import { FLOAT_FLOOR, THRESHOLD_DEFINITION, noiseThreshold, samplePairs } from '../lib/many/noise';
import { chao1, expectedAfter } from '../lib/many/richness';
import { ModeldiffError } from '../lib/errors';
import { createRng } from '../lib/util/rng';

const euclid = (pts: number[][]): number[] => {
  const d: number[] = [];
  for (const a of pts) for (const b of pts) d.push(Math.hypot(...a.map((v, i) => v - b[i])));
  return d;
};

t.test('Pearson and Spearman match scipy and an O(n²) definition', async (t) => {
  // scipy.stats.pearsonr / spearmanr documentation examples.
  t.ok(Math.abs(pearson([1, 2, 3, 4, 5], [5, 6, 7, 8, 7]) - 0.8320502943378437) < 1e-12);
  t.ok(Math.abs(spearman([1, 2, 3, 4, 5], [5, 6, 7, 8, 7]) - 0.8207826816681233) < 1e-12);
  const rng = createRng(3);
  const x = Array.from({ length: 60 }, () => Math.round(rng.normal() * 3)); // many ties
  const y = x.map((v) => v + rng.normal());
  // Reference rank: 1 + #smaller + (#equal − 1)/2; reference Pearson by raw sums.
  const refRank = (v: number[]) => v.map((a) => 1 + v.filter((b) => b < a).length + (v.filter((b) => b === a).length - 1) / 2);
  const refPearson = (a: number[], b: number[]) => {
    const n = a.length;
    const sa = a.reduce((s, v) => s + v, 0);
    const sb = b.reduce((s, v) => s + v, 0);
    const sab = a.reduce((s, v, i) => s + v * b[i], 0);
    const saa = a.reduce((s, v) => s + v * v, 0);
    const sbb = b.reduce((s, v) => s + v * v, 0);
    return (n * sab - sa * sb) / Math.sqrt((n * saa - sa * sa) * (n * sbb - sb * sb));
  };
  t.same(Array.from(rank(x)), refRank(x));
  t.ok(Math.abs(pearson(x, y) - refPearson(x, y)) < 1e-12);
  t.ok(Math.abs(spearman(x, y) - refPearson(refRank(x), refRank(y))) < 1e-12);
  t.ok(Number.isNaN(pearson([1, 1, 1], [1, 2, 3])), 'zero variance → NaN (undefined)');
  t.equal(spearman([1, 2, Infinity], [1, 2, 3]), 1, 'Infinity ranks last');
  t.throws(() => pearson([1, Infinity], [1, 2]), { code: 'NON_FINITE' });
  t.throws(() => pearson([1, 2], [1, 2, 3]), { code: 'SHAPE_MISMATCH' });
  t.throws(() => pearson([1], [1]), { code: 'INVALID_ARGUMENT' });
  t.throws(() => rank([1, NaN]), { code: 'NON_FINITE' });
});

t.test('Mantel: small p for related matrices, not small for independent ones, reproducible', async (t) => {
  const rng = createRng(11);
  const pts = Array.from({ length: 12 }, () => [rng.normal(), rng.normal()]);
  const other = Array.from({ length: 12 }, () => [rng.normal(), rng.normal()]);
  const a = euclid(pts);
  const noisy = euclid(pts.map(([x, y]) => [x + 0.05 * rng.normal(), y + 0.05 * rng.normal()]));
  const b = euclid(other);
  const related = mantel(a, noisy, 12, { seed: 1 });
  t.ok(related.r > 0.9, `r = ${related.r}`);
  t.equal(related.p, 1 / 1000, 'no permutation beats the observed r');
  t.equal(related.pairs, 66);
  t.equal(related.method, 'spearman');
  const unrelated = mantel(a, b, 12, { seed: 1, method: 'pearson', permutations: 499 });
  t.ok(unrelated.p > 0.05, `p = ${unrelated.p}`);
  t.ok(Math.abs(unrelated.r - pearson(upperTriangle(a, 12), upperTriangle(b, 12))) < 1e-15);
  t.same(mantel(a, b, 12, { seed: 1, method: 'pearson', permutations: 499 }), unrelated, 'same seed, same p');
  t.throws(() => mantel(a, b, 12, { permutations: 0 }), { code: 'INVALID_ARGUMENT' });
  t.throws(() => mantel([0, 1, 1, 0], [0, 1, 1, 0], 2), { code: 'INVALID_ARGUMENT' });
  t.throws(() => mantel(a, b.slice(1), 12), { code: 'SHAPE_MISMATCH' });
  t.throws(() => mantel(a.slice(1), b, 12), { code: 'SHAPE_MISMATCH' });
  t.throws(() => upperTriangle([1, 2, 3], 2), { code: 'SHAPE_MISMATCH' });
  const flat = mantel(a, new Array(144).fill(1).map((v, k) => (k % 13 === 0 ? 0 : v)), 12, { permutations: 9 });
  t.ok(Number.isNaN(flat.r) && Number.isNaN(flat.p), 'constant distances: undefined, not a number');
});

t.test('Mantel with model names: the p-value does not depend on the order the models are given in', async (t) => {
  const rng = createRng(5);
  const n = 9;
  const pts = Array.from({ length: n }, () => [rng.normal(), rng.normal()]);
  const a = euclid(pts);
  const b = euclid(pts.map(([x, y]) => [x + 0.8 * rng.normal(), y + 0.8 * rng.normal()]));
  const names = pts.map((_, i) => `m${i}`);
  const reorder = (m: number[], order: number[]) => order.flatMap((i) => order.map((j) => m[i * n + j]));
  const base = { spearman: mantel(a, b, n, { seed: 3, keys: names }), pearson: mantel(a, b, n, { seed: 3, method: 'pearson', keys: names }) };
  t.ok(base.spearman.p > 0.001 && base.spearman.p < 1, `an informative p (${base.spearman.p}), not the floor`);
  const unkeyed = new Set<number>();
  for (let trial = 0; trial < 5; trial++) {
    const order = createRng(100 + trial).shuffle(names.map((_, i) => i));
    const [pa, pb, keys] = [reorder(a, order), reorder(b, order), order.map((i) => names[i])];
    for (const method of ['spearman', 'pearson'] as const) {
      const r = mantel(pa, pb, n, { seed: 3, method, keys });
      t.equal(r.p, base[method].p, `${method}: same p for order ${order.join(',')}`);
      t.ok(Math.abs(r.r - base[method].r) < 1e-12, `${method}: same r`);
    }
    unkeyed.add(mantel(pa, pb, n, { seed: 3 }).p);
  }
  t.ok(unkeyed.size > 1, 'without names the permutations follow the given order (the reason for keys)');
  t.throws(() => mantel(a, b, n, { keys: names.slice(1) }), { code: 'SHAPE_MISMATCH' });
});

t.test('Chao1 equals the closed form on hand counts', async (t) => {
  // 7 solutions from 15 models: f1 = 3, f2 = 2.
  const r = chao1([1, 1, 1, 2, 2, 3, 5, 0]);
  const A = 14 / 15;
  const S = 7 + (A * 9) / 4;
  const v = 2 * ((A / 2) * 1.5 ** 2 + A * A * 1.5 ** 3 + ((A * A) / 4) * 1.5 ** 4);
  const K = Math.exp(1.96 * Math.sqrt(Math.log(1 + v / (S - 7) ** 2)));
  t.match(r, { models: 15, observed: 7, singletons: 3, doubletons: 2, formula: 'classic' });
  t.ok(Math.abs(r.estimate - 9.1) < 1e-12 && Math.abs(r.estimate - S) < 1e-12);
  t.ok(Math.abs(r.variance - v) < 1e-12);
  t.ok(Math.abs(r.lower - (7 + (S - 7) / K)) < 1e-12 && Math.abs(r.upper - (7 + (S - 7) * K)) < 1e-12);
  t.ok(r.lower >= 7 && r.upper > r.estimate);
  // No doubletons: bias-corrected form S_obs + A·f1(f1−1)/2.
  const b = chao1([1, 1, 1, 5]);
  const B = 7 / 8;
  t.equal(b.formula, 'bias-corrected');
  t.ok(Math.abs(b.estimate - (4 + (B * 3 * 2) / 2)) < 1e-12);
  const bv = (B * 3 * 2) / 2 + (B * B * 3 * 25) / 4 - (B * B * 81) / (4 * b.estimate);
  t.ok(Math.abs(b.variance - bv) < 1e-12);
  // Every solution seen at least twice: nothing unseen, degenerate interval.
  const c = chao1([2, 3, 4]);
  t.match(c, { estimate: 3, unseen: 0, lower: 3, upper: 3 });
  t.equal(expectedAfter(c, 10), 3);
  // Extrapolation (Shen, Chao & Lin 2003) grows towards Chao1.
  const e0 = expectedAfter(r, 0);
  const e15 = expectedAfter(r, 15);
  const f0 = S - 7;
  t.equal(e0, 7);
  t.ok(Math.abs(e15 - (7 + f0 * (1 - (1 - 3 / (15 * f0 + 3)) ** 15))) < 1e-12);
  t.ok(e15 > 7 && e15 < S && expectedAfter(r, 100000) > S - 1e-6);
  t.throws(() => chao1([1, 1.5]), { code: 'INVALID_ARGUMENT' });
  t.throws(() => chao1([0, 0]), { code: 'INVALID_ARGUMENT' });
  t.throws(() => expectedAfter(r, -1), { code: 'INVALID_ARGUMENT' });
});

t.test('average-linkage clustering recovers hand-made groups at a threshold', async (t) => {
  // Groups {0,3,5}, {1,4}, {2}: within 0.1–0.3, across ≥ 2.
  const groups = [0, 1, 2, 0, 1, 0];
  const n = 6;
  const d: number[] = [];
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) d.push(i === j ? 0 : groups[i] === groups[j] ? 0.1 + 0.1 * ((i + j) % 3) : 2 + ((i * j) % 4));
  }
  const c = clusterModels(d, n, 0.5);
  t.same(c.clusters, [[0, 3, 5], [1, 4], [2]]);
  t.same(c.labels, [0, 1, 2, 0, 1, 0]);
  t.equal(c.merges.length, n - 1);
  t.same([...c.order].sort(), [0, 1, 2, 3, 4, 5]);
  // Average linkage: the last merge height is the mean of the cross distances.
  t.ok(c.merges.every((m, k) => k === 0 || m.height >= c.merges[k - 1].height), 'merges ascend');
  t.same(clusterModels(d, n, 0).clusters.length, 6, 'threshold 0: every model its own solution');
  t.same(clusterModels(d, n, 100).clusters, [[0, 1, 2, 3, 4, 5]]);
  // Distance exactly at the threshold joins (≤).
  t.same(clusterModels([0, 1, 1, 0], 2, 1).clusters, [[0, 1]]);
  t.same(clusterModels([0], 1, 1).clusters, [[0]]);
  // Asymmetric input is averaged with its transpose.
  t.same(clusterModels([0, 0.2, 0.6, 0], 2, 0.45).clusters, [[0, 1]]);
  t.throws(() => clusterModels([0, Infinity, 1, 0], 2, 1), { code: 'NON_FINITE', message: /distance matrix\[0\]\[1\]/ });
  t.throws(() => clusterModels([0, 1, 1, 0], 2, -1), { code: 'INVALID_ARGUMENT' });
  t.throws(() => clusterModels([0, 1, 1], 2, 1), { code: 'SHAPE_MISMATCH' });
});

t.test('noise threshold: bootstrap half-width ≈ 1.96·sd/√n, max over pairs, seeded', async (t) => {
  const rng = createRng(5);
  const n = 4000;
  const narrow = Float64Array.from({ length: n }, () => 0.1 + 0.01 * rng.normal());
  const wide = Float64Array.from({ length: n }, () => 0.5 + 0.2 * rng.normal());
  const r = noiseThreshold([narrow, wide], { seed: 9, replicates: 400 });
  const expected = (1.96 * 0.2) / Math.sqrt(n);
  t.ok(Math.abs(r.threshold - expected) / expected < 0.15, `threshold ${r.threshold} vs ${expected}`);
  t.ok(r.intervals[0][1] - r.intervals[0][0] < r.intervals[1][1] - r.intervals[1][0]);
  t.ok(r.intervals[1][0] < 0.5 + 3 * expected && r.intervals[1][1] > 0.5 - 3 * expected);
  t.same(noiseThreshold([narrow, wide], { seed: 9, replicates: 400 }), r, 'reproducible');
  t.equal(noiseThreshold([new Float64Array(10)]).threshold, FLOAT_FLOOR, 'identical models: only the float32 floor');
  t.equal(noiseThreshold([Float64Array.from([Infinity, 1, 2])]).threshold, FLOAT_FLOOR, 'infinite means are skipped');
  t.throws(() => noiseThreshold([]), ModeldiffError);
  t.match(THRESHOLD_DEFINITION, /bootstrap/);
  t.equal(samplePairs(5, 100, 0).length, 10);
  const s = samplePairs(30, 50, 2);
  t.equal(s.length, 50);
  t.ok(s.every(([i, j]) => i < j && j < 30));
  t.same(samplePairs(30, 50, 2), s);
  t.notSame(samplePairs(30, 50, 3), s);
});
