/**
 * The cache-blocked bootstrap kernel (src/bootstrap.cpp) where its blocks show: data that spans
 * several 4096-unit blocks and a partial last block. Each replicate must still be one
 * multinomial(G, 1/G) draw of the units:
 * - indicator columns turn a replicate into draw counts, checked against the closed forms (a
 *   set of k units is drawn Binomial(G, k/G) times; two disjoint sets have covariance
 *   −G·p₁·p₂) by moments, and by chi² against the binomial pmf for small sets (one unit, the
 *   3-unit last block, a set straddling a block boundary);
 * - skewed data against a plain O(B·n) JS resampler (its own RNG: compared by moments and
 *   quantiles);
 * - the same numbers whatever the thread count, the split of replicates into calls, the batch
 *   size (over 1024 replicates) and the other columns resampled alongside (more than 8 columns
 *   take another code path), with and without denominators.
 */
import t from 'tap';

import { native } from '../lib/native';
import { bootstrapRatioReplicatesSync, bootstrapReplicatesSync } from '../lib/stats/bootstrap';
import { createRng } from '../lib/util/rng';

/** src/bootstrap.cpp's kBlock: units per block. */
const BLOCK = 4096;

function moments(x: ArrayLike<number>): { mean: number; variance: number } {
  let m = 0;
  for (let i = 0; i < x.length; i++) m += x[i];
  m /= x.length;
  let ss = 0;
  for (let i = 0; i < x.length; i++) ss += (x[i] - m) ** 2;
  return { mean: m, variance: ss / (x.length - 1) };
}

function quantile(x: Float64Array, q: number): number {
  const s = Float64Array.from(x).sort();
  return s[Math.floor(q * (s.length - 1))];
}

/** Binomial(n, p) pmf for k = 0..kMax by the ratio recurrence from (1 − p)^n (small n·p). */
function binomialPmf(n: number, p: number, kMax: number): number[] {
  const pmf = [Math.exp(n * Math.log1p(-p))];
  for (let k = 0; k < kMax; k++) pmf.push((pmf[k] * (n - k) * p) / ((k + 1) * (1 - p)));
  return pmf;
}

/** Pearson's chi² of observed integer counts against Binomial(n, p), cells 0..kMax−1 and ≥ kMax. */
function chiSquare(counts: number[], n: number, p: number, kMax: number): number {
  const pmf = binomialPmf(n, p, kMax - 1);
  const expected = [...pmf, 1 - pmf.reduce((a, b) => a + b, 0)].map((q) => q * counts.length);
  const observed = new Array(kMax + 1).fill(0);
  for (const c of counts) observed[Math.min(c, kMax)]++;
  return observed.reduce((s, o, k) => s + (o - expected[k]) ** 2 / expected[k], 0);
}

t.test('across blocks, a replicate is one multinomial draw: counts by closed form', async (t) => {
  const G = 2 * BLOCK + 3; // two whole blocks and a 3-unit last block
  const sets: Array<[string, (u: number) => boolean]> = [
    ['block 0', (u) => u < BLOCK],
    ['block 1', (u) => u >= BLOCK && u < 2 * BLOCK],
    ['the last block (3 units)', (u) => u >= 2 * BLOCK],
    ['one unit', (u) => u === 5000],
    ['12 units across a block boundary', (u) => u >= BLOCK - 6 && u < BLOCK + 6],
  ];
  const indicators = sets.map(([, inSet]) => Float64Array.from({ length: G }, (_, u) => (inSet(u) ? 1 : 0)));
  const B = 10000;
  const reps = bootstrapReplicatesSync(indicators, { replicates: B, seed: 1 });
  const counts = reps.map((r) => Array.from(r, (v) => Math.round(v * G)));
  sets.forEach(([name], s) => {
    const k = indicators[s].reduce((a, b) => a + b, 0);
    const p = k / G;
    const { mean, variance } = moments(counts[s]);
    const sd = Math.sqrt(G * p * (1 - p));
    // E = G·p; the sample mean's Monte Carlo sd is sd/√B, the sample variance's ≈ var·√(2/B) (1.4%).
    t.ok(Math.abs(mean - G * p) < 4 * (sd / Math.sqrt(B)), `${name}: mean count ${mean} vs ${G * p}`);
    t.ok(Math.abs(variance / (sd * sd) - 1) < 0.05, `${name}: variance ${variance} vs ${sd * sd}`);
    t.ok(counts[s].every((c, b) => Math.abs(c - reps[s][b] * G) < 1e-6), `${name}: whole counts`);
  });
  // Disjoint sets: Cov = −G·p₀·p₁, i.e. correlation −√(p₀p₁/(q₀q₁)).
  const p0 = BLOCK / G;
  const c0 = moments(counts[0]);
  const c1 = moments(counts[1]);
  let cov = 0;
  for (let b = 0; b < B; b++) cov += (counts[0][b] - c0.mean) * (counts[1][b] - c1.mean);
  cov /= B - 1;
  const expected = -G * p0 * p0;
  t.ok(Math.abs(cov / expected - 1) < 0.05, `cov(block 0, block 1) ${cov} vs ${expected}`);
  // Small sets: the whole distribution. Cells 0..kMax−1 and ≥ kMax; P(chi² > x) = 0.001 at
  // x = 20.5 (5 df), 22.5 (6 df), 29.6 (10 df).
  for (const [s, k, kMax, limit] of [[2, 3, 6, 20.5], [3, 1, 5, 20.5], [4, 12, 10, 29.6]] as const) {
    const x2 = chiSquare(counts[s], G, k / G, kMax);
    t.ok(x2 < limit, `${sets[s][0]}: chi² ${x2.toFixed(2)} < ${limit}`);
  }
  // The draws always add up to G.
  t.ok(counts[0].every((c, b) => c + counts[1][b] + counts[2][b] === G), 'blocks 0, 1 and 2 hold all G draws');
});

/** The O(B·n) reference: B resamples of n indices, each replicate's mean. */
function referenceReplicates(x: Float64Array, B: number, seed: number): Float64Array {
  const rng = createRng(seed);
  const n = x.length;
  const out = new Float64Array(B);
  for (let b = 0; b < B; b++) {
    let sum = 0;
    for (let i = 0; i < n; i++) sum += x[rng.int(n)];
    out[b] = sum / n;
  }
  return out;
}

t.test('across blocks: the same distribution as a plain JS resampler and the closed-form moments', async (t) => {
  const rng = createRng(31);
  const n = 2 * BLOCK + 777;
  const x = Float64Array.from({ length: n }, () => rng.normal() ** 2 * (rng.float() < 0.01 ? 30 : 1)); // skewed, heavy-tailed
  const B = 2500;
  const [kernel] = bootstrapReplicatesSync([x], { replicates: B, seed: 2 });
  const reference = referenceReplicates(x, B, 3);
  const mean = x.reduce((p, v) => p + v, 0) / n;
  const plugInSd = Math.sqrt(x.reduce((p, v) => p + (v - mean) ** 2, 0) / n / n);
  const k = moments(kernel);
  const r = moments(reference);
  t.ok(Math.abs(k.mean - mean) < 4 * (plugInSd / Math.sqrt(B)), `mean ${k.mean} vs ${mean}`);
  // sd's Monte Carlo error ≈ 1/√(2B) ≈ 1.4% (a little more for skewed replicates).
  t.ok(Math.abs(Math.sqrt(k.variance) / plugInSd - 1) < 0.06, `sd ${Math.sqrt(k.variance)} vs ${plugInSd}`);
  t.ok(Math.abs(Math.sqrt(r.variance) / plugInSd - 1) < 0.06, `reference sd ${Math.sqrt(r.variance)} vs ${plugInSd}`);
  for (const q of [0.025, 0.5, 0.975]) {
    t.ok(Math.abs(quantile(kernel, q) - quantile(reference, q)) < 0.2 * plugInSd, `quantile ${q}: ${quantile(kernel, q)} vs ${quantile(reference, q)}`);
  }
});

t.test('the same bits for any thread count, call split, batch and companion columns', async (t) => {
  const rng = createRng(9);
  const G = BLOCK + 904; // a whole block and a partial one
  const columns = Array.from({ length: 10 }, (_, s) => Float64Array.from({ length: G }, () => rng.normal() + s));
  const sizes = Float64Array.from({ length: G }, () => 1 + rng.int(5));
  const count = 2100; // over two 1024-replicate batches
  const call = (numerators: Float64Array[], denominators: Float64Array | null, first: number, n: number, threads: number) =>
    native.bootstrapSync({ numerators, denominators, units: G, first, count: n, seed: 17, threads });
  for (const denominators of [null, sizes]) {
    const label = denominators ? 'ratio' : 'mean';
    const base = call(columns.slice(0, 5), denominators, 0, count, 1);
    t.same(call(columns.slice(0, 5), denominators, 0, count, 3), base, `${label}: 3 threads`);
    const parts = [call(columns.slice(0, 5), denominators, 0, 37, 2), call(columns.slice(0, 5), denominators, 37, count - 37, 2)];
    const joined = new Float64Array(5 * count);
    for (let s = 0; s < 5; s++) {
      joined.set(parts[0].subarray(s * 37, (s + 1) * 37), s * count);
      joined.set(parts[1].subarray(s * (count - 37), (s + 1) * (count - 37)), s * count + 37);
    }
    t.same(joined, base, `${label}: replicates split 37 + ${count - 37} across calls`);
    // Column 2 alone, among 5 (one group, drawn and added in one loop) and among 10 (two
    // groups through an index buffer): the same draws and the same order of additions.
    const alone = call([columns[2]], denominators, 0, 300, 1);
    t.same(base.subarray(2 * count, 2 * count + 300), alone, `${label}: column 2 among 5 = alone`);
    const ten = call(columns, denominators, 0, 300, 2);
    t.same(ten.subarray(2 * 300, 3 * 300), alone, `${label}: column 2 among 10 = alone`);
    t.same(ten.subarray(9 * 300, 10 * 300), call([columns[9]], denominators, 0, 300, 1), `${label}: column 9 (second group) among 10 = alone`);
  }
  // The ratio form is Σ c·y / Σ c·n: with y = 2·n it is exactly 2 in every replicate.
  const [ratio] = bootstrapRatioReplicatesSync([sizes.map((v) => 2 * v)], sizes, { replicates: 200, seed: 4 });
  t.ok(ratio.every((v) => v === 2), 'y = 2n gives 2');
});

t.test('an infinite value across blocks counts only where drawn', async (t) => {
  const G = 2 * BLOCK + 10;
  const x = new Float64Array(G).fill(1);
  x[BLOCK + 100] = Infinity;
  const B = 3000;
  const [reps] = bootstrapReplicatesSync([x], { replicates: B, seed: 5 });
  const finite = reps.filter((v) => v === 1).length;
  t.equal(finite + reps.filter((v) => v === Infinity).length, B, 'only 1 and Infinity');
  // P(the unit is not drawn) = (1 − 1/G)^G ≈ e^−1; binomial sd of the fraction ≈ 0.0088.
  const p = Math.exp(G * Math.log1p(-1 / G));
  t.ok(Math.abs(finite / B - p) < 0.035, `P(not drawn) ${finite / B} vs ${p}`);
});
