/**
 * The statistics behind compare's summaries: descriptive statistics against
 * hand values and numpy's quantile definition, the native bootstrap
 * (reproducible, thread-count independent, exact resampling distribution on
 * tiny inputs) and the samples-needed formula.
 */
import t from 'tap';

import { native } from '../lib/native';
import { bootstrapMeanCI, bootstrapMeanCISync, describe, median, quantileSorted, samplesNeeded, standardDeviation } from '../lib/stats';
import { quantiles } from '../lib/stats/describe';
import { createRng } from '../lib/util/rng';
import { code } from './helpers/errors';

t.test('describe: mean, sample sd, stderr, median, max', async (t) => {
  const d = describe([2, 4, 4, 4, 5, 5, 7, 9]);
  t.equal(d.mean, 5);
  t.ok(Math.abs(d.sd - Math.sqrt(32 / 7)) < 1e-15);
  t.ok(Math.abs(d.stderr - Math.sqrt(32 / 7) / Math.sqrt(8)) < 1e-15);
  t.equal(d.median, 4.5);
  t.equal(d.max, 9);
  t.same(describe([3]), { mean: 3, sd: 0, stderr: 0, median: 3, max: 3 });
  const inf = describe([1, Infinity, 2]);
  t.same([inf.mean, inf.sd, inf.stderr, inf.median, inf.max], [Infinity, Infinity, Infinity, 2, Infinity]);
  t.equal(standardDeviation([1, 2, 3, 4], Infinity), Infinity);
  t.equal(code(() => describe([])), 'INVALID_ARGUMENT');
  t.equal(code(() => describe([1, NaN], 'js')), 'NON_FINITE');
  // The O(n) median equals the sorted middle value(s), with ties, sorted runs and Infinity.
  const rng = createRng(3);
  for (let trial = 0; trial < 500; trial++) {
    const n = 1 + rng.int(40);
    const x = Float64Array.from({ length: n }, () => (rng.float() < 0.3 ? rng.int(4) : rng.normal()));
    if (rng.float() < 0.1) x[rng.int(n)] = Infinity;
    if (rng.float() < 0.2) x.sort();
    if (rng.float() < 0.1) x.reverse();
    const s = Float64Array.from(x).sort();
    const ref = n % 2 ? s[(n - 1) / 2] : s[n / 2 - 1] === s[n / 2] ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
    if (!(Math.abs(median(x) - ref) <= 1e-12 || median(x) === ref)) t.fail(`median of ${Array.from(x)}: ${median(x)} vs ${ref}`);
  }
  // numpy.quantile(..., method='linear')
  t.equal(quantileSorted([1, 2, 3, 4], 0.25), 1.75);
  t.equal(quantileSorted([1, 2, 3, 4], 0.975), 3.925);
  t.equal(quantileSorted([1, Infinity, Infinity], 0.9), Infinity);
});

t.test('quantiles by selection: the bits of sorting, then quantileSorted', async (t) => {
  const rng = createRng(11);
  const qs = [0, 0.001, 0.25, 0.5, 0.5, 0.9, 0.99, 0.999, 1];
  const same = (a: number, b: number) => Object.is(a, b);
  let checked = 0;
  for (let trial = 0; trial < 400; trial++) {
    const n = 1 + rng.int(trial < 300 ? 60 : 3000);
    // Ties, infinities, sorted and reversed runs; −0 and NaN (which sorting orders, < does not) now and then.
    const x = Float64Array.from({ length: n }, () => (rng.float() < 0.3 ? rng.int(4) : rng.normal()));
    if (rng.float() < 0.2) x[rng.int(n)] = Infinity;
    if (rng.float() < 0.1) x[rng.int(n)] = -Infinity;
    if (rng.float() < 0.1) x[rng.int(n)] = -0;
    if (rng.float() < 0.05) x[rng.int(n)] = NaN;
    if (rng.float() < 0.2) x.sort();
    if (rng.float() < 0.1) x.reverse();
    const before = Float64Array.from(x);
    const sorted = Float64Array.from(x).sort();
    const got = quantiles(x, qs);
    qs.forEach((q, i) => {
      const ref = quantileSorted(sorted, q);
      if (!same(got[i], ref)) t.fail(`quantile ${q} of ${n} values: ${got[i]} vs ${ref} (sorted)`);
      checked++;
    });
    if (!x.every((v, i) => same(v, before[i]))) t.fail('quantiles reordered its input');
  }
  t.equal(checked, 400 * qs.length);
  // numpy.quantile(x, [0.5, 0.9], method='linear') of 5, 1, 4, 2, 3 → 3, 4.6
  t.same(quantiles([5, 1, 4, 2, 3], [0.5, 0.9]), [3, 4.6]);
});

t.test('bootstrap: seeded, thread-independent, sync = async', async (t) => {
  const rng = createRng(1);
  const a = Float64Array.from({ length: 2000 }, () => rng.normal());
  const b = Float64Array.from(a, (v) => v * v);
  const one = bootstrapMeanCISync([a, b], { seed: 9, threads: 1 });
  t.same(bootstrapMeanCISync([a, b], { seed: 9, threads: 2 }), one);
  t.same(await bootstrapMeanCI([a, b], { seed: 9 }), one);
  t.notSame(bootstrapMeanCISync([a, b], { seed: 10 }), one);
  // Percentile interval of a mean ≈ mean ± 1.96·sd/√n for normal data (n = 2000).
  const d = describe(a);
  const [lo, hi] = one[0];
  t.ok(lo < d.mean && d.mean < hi);
  t.ok(Math.abs((hi - lo) / (2 * 1.96 * d.stderr) - 1) < 0.1, `width ${(hi - lo) / (2 * 1.96 * d.stderr)}`);
  // A paired resample: the first series' interval does not depend on which other series come along.
  t.same(bootstrapMeanCISync([a], { seed: 9 })[0], one[0]);
  t.same(bootstrapMeanCISync([new Float64Array(50).fill(0.25)]), [[0.25, 0.25]]);
  t.same(bootstrapMeanCISync([a], { replicates: 0 }), [[NaN, NaN]]);
  t.same(bootstrapMeanCISync([]), []);
  t.same(bootstrapMeanCISync([[]]), [[NaN, NaN]]);
  t.same(await bootstrapMeanCI([a], { replicates: 0 }), [[NaN, NaN]]);
  t.equal(code(() => bootstrapMeanCISync([a, b.subarray(1)])), 'SHAPE_MISMATCH');
  t.equal(code(() => bootstrapMeanCISync([a], { replicates: 1.5 })), 'INVALID_ARGUMENT');
  // Past the kernel's limit: a typed error naming the option, not the binding's untyped one.
  t.throws(() => bootstrapMeanCISync([a], { replicates: 100_000_001 }), { code: 'INVALID_ARGUMENT', message: /bootstrap replicates must be an integer in \[0, 100000000\], got 100000001/ });
  t.equal(code(() => bootstrapMeanCISync([a], { seed: -1 })), 'INVALID_ARGUMENT');
  t.equal(code(() => bootstrapMeanCISync([a], { level: 1 })), 'INVALID_ARGUMENT');
  // A NaN is refused before the kernel (which assumes none) sees it.
  t.throws(() => bootstrapMeanCISync([a, Float64Array.of(1, NaN, ...a.subarray(2))]), { code: 'NON_FINITE', message: /^bootstrap series 1, value 1: NaN/ });
  // Nine statistics take the kernel's general (non-unrolled) path; each equals its own single-series run.
  const many = Array.from({ length: 9 }, (_, s) => Float64Array.from(a, (v) => v + s));
  const nine = bootstrapMeanCISync(many, { seed: 4, replicates: 200 });
  const single = bootstrapMeanCISync([many[8]], { seed: 4, replicates: 200 })[0];
  t.ok(Math.abs(nine[8][0] - single[0]) < 1e-12 && Math.abs(nine[8][1] - single[1]) < 1e-12);
});

t.test('bootstrap kernel: the exact resampling distribution on tiny inputs', async (t) => {
  // n = 2, values [0, 1]: resample means are 0, 0.5, 1 with probabilities 1/4, 1/2, 1/4.
  const B = 40000;
  const resample = (numerators: Float64Array[], count: number, seed: number, threads?: number) =>
    native.bootstrapSync({ numerators, units: numerators[0].length, first: 0, count, seed, threads });
  const means = resample([new Float64Array([0, 1])], B, 123);
  const freq = [0, 0.5, 1].map((v) => means.filter((x: number) => x === v).length / B);
  t.ok(Math.abs(freq[0] - 0.25) < 0.01 && Math.abs(freq[1] - 0.5) < 0.01 && Math.abs(freq[2] - 0.25) < 0.01, `frequencies ${freq}`);
  t.equal(freq[0] + freq[1] + freq[2], 1);
  // n = 7 one-hot statistics: every index is drawn with probability 1/7 (no modulo bias).
  const n = 7;
  const columns = Array.from({ length: n }, (_, s) => Float64Array.from({ length: n }, (_, j) => (j === s ? 1 : 0)));
  const m = resample(columns, 20000, 5, 2);
  for (let s = 0; s < n; s++) {
    let avg = 0;
    for (let b = 0; b < 20000; b++) avg += m[s * 20000 + b];
    avg /= 20000;
    t.ok(Math.abs(avg - 1 / n) < 0.005, `index ${s}: ${avg}`);
  }
  // The promise form returns the same replicates; a chunk from `first` on equals that slice.
  t.same(await native.bootstrap({ numerators: columns, units: n, first: 0, count: 20000, seed: 5 }), m);
  const chunk = native.bootstrapSync({ numerators: columns, units: n, first: 100, count: 50, seed: 5 });
  t.same(chunk.subarray(0, 50), m.subarray(100, 150), 'replicate r depends only on (seed, r)');
  // No units: the mean of nothing is NaN (not a crash).
  t.ok(native.bootstrapSync({ numerators: [new Float64Array(0)], units: 0, first: 0, count: 3, seed: 0 }).every(Number.isNaN));
  // The binding checks types and buffer sizes; values are checked in lib/stats (tested above).
  const call = (o: Record<string, unknown>) => native.bootstrapSync({ numerators: [new Float64Array(2)], units: 2, first: 0, count: 10, seed: 0, ...o } as never);
  t.throws(() => call({ numerators: [new Float64Array(2), new Float64Array(3)] }), { code: 'SHAPE_MISMATCH', message: /^bootstrap: numerators\[1\] has 3 elements, expected 2$/ });
  t.throws(() => call({ denominators: new Float64Array(3) }), { code: 'SHAPE_MISMATCH', message: /denominators has 3 elements, expected 2/ });
  t.throws(() => call({ denominators: new Float32Array(2) }), { code: 'INVALID_ARGUMENT', message: /denominators must be a Float64Array/ });
  t.throws(() => call({ numerators: [new Float32Array(2)] }), { code: 'INVALID_ARGUMENT', message: /numerators\[0\] must be a Float64Array/ });
  t.throws(() => call({ numerators: new Float64Array(2) }), { code: 'INVALID_ARGUMENT', message: /numerators must be an array/ });
  t.throws(() => call({ count: 1.5 }), { code: 'INVALID_ARGUMENT', message: /count must be a non-negative integer/ });
  t.throws(() => call({ seed: 0.5 }), { code: 'INVALID_ARGUMENT', message: /seed/ });
  t.throws(() => call({ threads: 'x' }), { code: 'INVALID_ARGUMENT', message: /threads must be a number/ });
  await t.rejects(native.bootstrap({ numerators: [], units: -1, first: 0, count: 1, seed: 0 }), { code: 'INVALID_ARGUMENT', message: /units must be a non-negative integer/ });
});

t.test('samples needed for a target ci95 half-width', async (t) => {
  t.same(samplesNeeded(0.5, 2, 0.01), { halfWidth: 0.01, n: Math.ceil(((1.96 * 0.5) / 0.01) ** 2) });
  t.same(samplesNeeded(0.5, 2), { halfWidth: 0.2, n: Math.ceil(((1.96 * 0.5) / 0.2) ** 2) }); // default: 10% of the mean
  t.same(samplesNeeded(0, 0), { halfWidth: 0, n: 1 });
  t.same(samplesNeeded(0.1, 0), { halfWidth: 0, n: Infinity });
  t.same(samplesNeeded(Infinity, Infinity), { halfWidth: Infinity, n: Infinity });
  t.same(samplesNeeded(1e-9, 1, 1), { halfWidth: 1, n: 1 });
  t.equal(code(() => samplesNeeded(1, 1, 0)), 'INVALID_ARGUMENT');
  t.equal(code(() => samplesNeeded(1, 1, -2)), 'INVALID_ARGUMENT');
});
