/**
 * The pieces under token-level compare, against hand-written references: the class axis and
 * the rows it gives (a transposed [batch, classes, H, W] map equals its [batch, H, W, classes]
 * form), masks and targets checked against the grid, and the cluster (sequence) standard error
 * and bootstrap, which reduce to the i.i.d. formulas with one token per sequence.
 */
import t from 'tap';

import { clusterBootstrapCI, clusterBootstrapCIs, clusterBootstrapReplicates, clusterStderr, clusterSums, type ClusterSums } from '../lib/function/cluster';
import { nextTokenTargets, readMask, readTargets, toRows, tokenGrid } from '../lib/function/token-grid';
import { makeTensor } from '../lib/io/tensor';
import { createRng } from '../lib/util/rng';

t.test('tokenGrid: the class axis in the full shape, last by default, negative from the end', async (t) => {
  t.match(tokenGrid([16, 256], undefined, 'x'), { classAxis: 2, vocab: 256, positionDims: [16], positions: 16, before: 16, after: 1 });
  t.match(tokenGrid([5, 3, 4], 1, 'x'), { classAxis: 1, vocab: 5, positionDims: [3, 4], positions: 12, before: 1, after: 12 });
  t.match(tokenGrid([3, 5, 4], -2, 'x'), { classAxis: 2, vocab: 5, positionDims: [3, 4], positions: 12, before: 3, after: 4 });
  for (const bad of [0, 4, -4, 1.5]) t.throws(() => tokenGrid([5, 3, 4], bad, 'output "y"'), { option: 'classAxis', message: /out of range for output "y" of shape \[N, 5, 3, 4\]/ });
});

t.test('toRows: a classes-first map gives the rows of its classes-last transpose', async (t) => {
  // Two samples of [C=3, H=2, W=2]: value = 100·sample + 10·class + position.
  const C = 3;
  const P = 4;
  const first = new Float32Array(2 * C * P);
  const last = new Float32Array(2 * P * C);
  for (let s = 0; s < 2; s++) {
    for (let c = 0; c < C; c++) {
      for (let p = 0; p < P; p++) {
        first[s * C * P + c * P + p] = 100 * s + 10 * c + p;
        last[s * P * C + p * C + c] = 100 * s + 10 * c + p;
      }
    }
  }
  const g = tokenGrid([C, 2, 2], 1, 'x');
  t.same(Array.from(toRows(first, 2, g)), Array.from(last));
  const mid = tokenGrid([2, C, 2], 2, 'x'); // [H, C, W]
  const hcw = new Float64Array(2 * C * P);
  for (let s = 0; s < 2; s++) for (let h = 0; h < 2; h++) for (let c = 0; c < C; c++) for (let w = 0; w < 2; w++) hcw[s * 12 + h * 6 + c * 2 + w] = 100 * s + 10 * c + h * 2 + w;
  t.same(Array.from(toRows(hcw, 2, mid, new Float64Array(100))), Array.from(last));
  const lastGrid = tokenGrid([2, 2, C], undefined, 'x');
  t.equal(toRows(last, 2, lastGrid), last, 'classes last: the data itself, no copy');
});

t.test('masks and targets are checked against the grid', async (t) => {
  const g = tokenGrid([4, 10], undefined, 'output "logits"');
  t.same(Array.from(readMask(makeTensor(new Uint8Array([1, 1, 0, 0, 1, 0, 0, 0]), [2, 4], 'bool'), 2, g, 'm', 'grid', 'mask')), [1, 1, 0, 0, 1, 0, 0, 0]);
  t.same(Array.from(readMask(makeTensor(new Float32Array([1, 0, 1, 0, 1, 1, 1, 1]), [2, 4]), 2, g, 'm', 'grid', 'mask')), [1, 0, 1, 0, 1, 1, 1, 1]);
  t.throws(() => readMask(makeTensor(new Float32Array([1, 0.5, 1, 0, 1, 1, 1, 1]), [2, 4]), 2, g, 'm.npy', 'grid', 'maskFile'), { message: /m\.npy: mask values must be 0 or 1, found 0\.5 at sequence 0, position 1/ });
  t.throws(() => readMask(makeTensor(new Int32Array(8), [8]), 2, g, 'm.npy', 'grid', 'mask'), { code: 'SHAPE_MISMATCH', message: /shape \[8\] but the token grid of grid is \[2, 4\]/ });
  t.same(Array.from(readTargets(makeTensor(new Int32Array([1, -100, 9, 0, 2, 3, 4, 5]), [2, 4]), 2, g, 'l', 'grid')), [1, -1, 9, 0, 2, 3, 4, 5]);
  t.throws(() => readTargets(makeTensor(new Int32Array([10, 0, 0, 0, 0, 0, 0, 0]), [2, 4]), 2, g, 'l.npy', 'grid'), { message: /target 10 at sequence 0, position 0 is outside the vocabulary \[0, 10\)/ });
  t.throws(() => readTargets(makeTensor(new Float32Array(8), [2, 4]), 2, g, 'l.npy', 'grid'), { message: /targets must be integer token ids/ });
  const ids = makeTensor(new BigInt64Array([5n, 6n, 7n, 0n, 1n, 2n, 3n, 4n]), [2, 4]);
  const mask = new Uint8Array([1, 1, 1, 0, 1, 1, 1, 1]);
  t.same(Array.from(nextTokenTargets(ids, mask, 2, g, 'ids', 'grid')), [6, 7, -1, -1, 2, 3, 4, -1], 'target at t is the id at t+1, both unmasked');
  t.same(Array.from(nextTokenTargets(ids, undefined, 2, g, 'ids', 'grid')), [6, 7, 0, -1, 2, 3, 4, -1]);
  t.throws(() => nextTokenTargets(makeTensor(new BigInt64Array([0n, 11n, 0n, 0n, 0n, 0n, 0n, 0n]), [2, 4]), undefined, 2, g, 'ids.npy', 'grid'), { message: /ids\.npy: input id 11 at sequence 0, position 1 is outside the vocabulary/ });
  t.throws(() => nextTokenTargets(ids, undefined, 2, tokenGrid([2, 2, 10], undefined, 'x'), 'ids', 'map'), { option: 'targets', message: /one-dimensional sequence axis/ });
  t.throws(() => nextTokenTargets(makeTensor(new Float32Array(8), [2, 4]), undefined, 2, g, 'ids', 'grid'), { message: /input ids must be integers/ });
});

t.test('cluster standard error and bootstrap: sequences are the draws', async (t) => {
  // One token per sequence: the cluster-robust se is the i.i.d. sd/√n.
  const x = [0.5, 1.5, 2, 4, 7];
  const seq = Int32Array.from([0, 1, 2, 3, 4]);
  const c1 = clusterSums([x], seq, 5, 5);
  const m = x.reduce((a, b) => a + b) / 5;
  const sd = Math.sqrt(x.reduce((a, v) => a + (v - m) ** 2, 0) / 4);
  t.ok(Math.abs(clusterStderr(c1) - sd / Math.sqrt(5)) < 1e-15);
  // Two sequences of [1, 1, 1] and [3]: se² = 2/1 · ((3 − 1.5·3)² + (3 − 1.5)²) / 4² by hand.
  const c2 = clusterSums([[1, 1, 1, 3]], Int32Array.from([0, 0, 0, 1]), 4, 3);
  t.same(Array.from(c2.counts), [3, 1, 0], 'the empty third sequence has no tokens');
  t.ok(Math.abs(clusterStderr(c2) - Math.sqrt((2 * (1.5 ** 2 + 1.5 ** 2)) / 16)) < 1e-15);
  t.ok(Number.isNaN(clusterStderr(clusterSums([[1, 2]], Int32Array.from([0, 0]), 2, 1))), 'one sequence: no se');
  // The bootstrap draws sequences: a resample is some mix of the two sequences' sums.
  const ci = clusterBootstrapCI(c2, (m) => m[0], 500, 3);
  t.ok(ci[0] >= 1 && ci[1] <= 3 && ci[0] < ci[1], `interval ${ci} within the sequence means`);
  t.same(clusterBootstrapCI(c2, (m) => m[0], 500, 3), ci, 'seeded');
  t.same(clusterBootstrapCI(c2, (m) => m[0], 0, 3), [NaN, NaN]);
  t.same(clusterBootstrapCI(c2, () => NaN, 10, 3), [NaN, NaN], 'replicates with no value are left out');
  // One resample serves several statistics: the same replicates as separate calls.
  const [lo2, sq] = clusterBootstrapCIs(c2, [(m) => m[0], (m) => Math.sqrt(m[0])], 500, 3);
  t.same(lo2, ci);
  t.same(sq, clusterBootstrapCI(c2, (m) => Math.sqrt(m[0]), 500, 3));
  const keep = new Uint8Array([1, 0, 1, 1]);
  t.same(Array.from(clusterSums([[1, 5, 1, 3]], Int32Array.from([0, 0, 0, 1]), 4, 2, keep).sums[0]), [2, 3], 'keep drops tokens');
});

/** The cluster bootstrap as it was first written (TypeScript, lib/util/rng draws): the reference the C++ resampling is checked against. */
function referenceReplicates(c: ClusterSums, replicates: number, seed: number): Float64Array[] {
  const used: number[] = [];
  for (let g = 0; g < c.counts.length; g++) if (c.counts[g] > 0) used.push(g);
  const rng = createRng(seed);
  const out = c.sums.map(() => new Float64Array(replicates));
  for (let r = 0; r < replicates; r++) {
    let count = 0;
    const acc = new Float64Array(c.sums.length);
    for (let i = 0; i < used.length; i++) {
      const g = used[rng.int(used.length)];
      count += c.counts[g];
      for (let j = 0; j < acc.length; j++) acc[j] += c.sums[j][g];
    }
    for (let j = 0; j < acc.length; j++) out[j][r] = acc[j] / count;
  }
  return out;
}

t.test('cluster bootstrap in C++: the same distribution as the first TypeScript resampling', async (t) => {
  // 40 sequences of 1..30 tokens with skewed values (and one empty sequence, which is not drawn).
  // The draws differ (another generator), so the two are compared by the moments of their
  // replicate means over many replicates, within a few Monte Carlo standard errors, and both
  // against the closed form: the bootstrap variance of a ratio mean is about (G−1)/G times the
  // squared cluster-robust standard error.
  const rng = createRng(11);
  const seqOf: number[] = [];
  const x: number[] = [];
  const y: number[] = [];
  for (let s = 0; s < 41; s++) {
    if (s === 7) continue;
    const len = 1 + rng.int(30);
    const shift = rng.normal();
    for (let i = 0; i < len; i++) {
      seqOf.push(s);
      x.push(Math.exp(shift + rng.normal()));
      y.push(rng.float() < 0.3 ? 1 : 0);
    }
  }
  const c = clusterSums([x, y], Int32Array.from(seqOf), x.length, 41);
  const B = 20000;
  const fresh = clusterBootstrapReplicates(c, B, 5);
  const reference = referenceReplicates(c, B, 5);
  t.equal(fresh.length, 2);
  t.equal(fresh[0].length, B);
  const moments = (v: Float64Array) => {
    const m = v.reduce((a, b) => a + b, 0) / v.length;
    const sd = Math.sqrt(v.reduce((a, b) => a + (b - m) ** 2, 0) / (v.length - 1));
    return { m, sd };
  };
  const G = 40;
  for (let j = 0; j < 2; j++) {
    const a = moments(fresh[j]);
    const b = moments(reference[j]);
    // Monte Carlo se of a mean of B replicates: sd/√B (the difference of two: ×√2); of an sd: ~sd/√(2B).
    t.ok(Math.abs(a.m - b.m) < (4 * Math.SQRT2 * b.sd) / Math.sqrt(B), `series ${j}: mean ${a.m} vs reference ${b.m}`);
    t.ok(Math.abs(a.sd / b.sd - 1) < 4 / Math.sqrt(B), `series ${j}: sd ${a.sd} vs reference ${b.sd}`);
    const se = clusterStderr(c, j) * Math.sqrt((G - 1) / G);
    t.ok(Math.abs(a.sd / se - 1) < 0.08, `series ${j}: bootstrap sd ${a.sd} vs linearized cluster se ${se}`);
    let total = 0;
    let count = 0;
    for (let g = 0; g < 41; g++) (total += c.sums[j][g]), (count += c.counts[g]);
    t.ok(Math.abs(a.m - total / count) < (4 * a.sd) / Math.sqrt(B) + 0.02 * a.sd, `series ${j}: centred on the ratio mean`);
  }
  t.same(clusterBootstrapReplicates(c, 0, 5).map((r) => r.length), [0, 0], '0 replicates: none');
});
