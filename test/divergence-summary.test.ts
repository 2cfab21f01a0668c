// divergence(a, b, measures): set-level summaries of per-sample divergences, checked against a
// float64 reference written here (softmax, JS, TV), statistics computed here, Cohen's kappa by
// hand, and errors with their codes.
import t from 'tap';

import { divergence } from '../lib/function/divergence-summary';
import { divergencePerSampleSync } from '../lib/function/divergence';
import type { Matrix } from '../lib/matrix';
import { createRng } from '../lib/util/rng';
import { errorOf } from './helpers/errors';

const rng = createRng(17);
const n = 300;
const k = 6;
const a: Matrix = { data: Float64Array.from({ length: n * k }, () => 2 * rng.normal()), n, k };
const b: Matrix = { data: Float64Array.from(a.data, (v) => v + 0.8 * rng.normal()), n, k };

// ---------- the float64 reference, one row at a time ----------

function softmax(x: ArrayLike<number>): number[] {
  let max = -Infinity;
  for (let i = 0; i < x.length; i++) max = Math.max(max, x[i]!);
  const e = Array.from(x, (v) => Math.exp(v - max));
  const s = e.reduce((u, v) => u + v, 0);
  return e.map((v) => v / s);
}

function refRow(x: ArrayLike<number>, y: ArrayLike<number>): { js: number; tv: number } {
  const p = softmax(x);
  const q = softmax(y);
  let js = 0;
  let tv = 0;
  for (let i = 0; i < p.length; i++) {
    const m = (p[i]! + q[i]!) / 2;
    if (p[i]! > 0) js += 0.5 * p[i]! * Math.log(p[i]! / m);
    if (q[i]! > 0) js += 0.5 * q[i]! * Math.log(q[i]! / m);
    tv += 0.5 * Math.abs(p[i]! - q[i]!);
  }
  return { js, tv };
}

function reference(x: Matrix, y: Matrix): { js: Float64Array; tv: Float64Array } {
  const js = new Float64Array(x.n);
  const tv = new Float64Array(x.n);
  for (let r = 0; r < x.n; r++) {
    const v = refRow(x.data.subarray(r * x.k, (r + 1) * x.k), y.data.subarray(r * y.k, (r + 1) * y.k));
    js[r] = v.js;
    tv[r] = v.tv;
  }
  return { js, tv };
}

function meanOf(v: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i]!;
  return s / v.length;
}

/** Sample standard deviation (n − 1), two-pass. */
function sdOf(v: ArrayLike<number>): number {
  const m = meanOf(v);
  let ss = 0;
  for (let i = 0; i < v.length; i++) ss += (v[i]! - m) ** 2;
  return Math.sqrt(ss / (v.length - 1));
}

const relClose = (got: number, want: number, tol: number) => Math.abs(got - want) <= tol * Math.abs(want);

// ---------- tests ----------

t.test('mean and stderr of JS and TV equal the reference mean and sd / √n', async (t) => {
  const ref = reference(a, b);
  const r = await divergence(a, b, ['js', 'tv'], { outputs: 'logits', perSample: true });
  t.match(r, { n, k, outputs: 'logits', units: 'nats', bootstrap: { replicates: 1000, seed: 0, method: 'percentile' }, hints: [] });
  t.same(Object.keys(r.metrics), ['js', 'tv'], 'one summary per measure, in the order asked');
  for (const m of ['js', 'tv'] as const) {
    const s = r.metrics[m]!;
    const want = meanOf(ref[m]);
    t.ok(want > 0.01, `${m}: the models differ (mean ${want})`);
    t.ok(relClose(s.mean, want, 1e-12), `${m} mean ${s.mean} vs reference ${want}`);
    const se = sdOf(ref[m]) / Math.sqrt(n);
    t.ok(relClose(s.stderr, se, 1e-12), `${m} stderr ${s.stderr} vs reference sd/√n ${se}`);
    t.ok(relClose(s.max, Math.max(...ref[m]), 1e-12), `${m} max`);
    const sorted = Float64Array.from(ref[m]).sort();
    t.ok(relClose(s.median, (sorted[n / 2 - 1]! + sorted[n / 2]!) / 2, 1e-12), `${m} median (n even: mean of the middle two)`);
    // samplesNeeded: n = ceil((1.96·sd / H)²) with H = 10% of the mean by default.
    t.equal(s.samplesNeeded.halfWidth, 0.1 * s.mean);
    t.equal(s.samplesNeeded.n, Math.ceil(((1.96 * sdOf(r.perSample![m]!)) / (0.1 * s.mean)) ** 2));
  }
  const direct = divergencePerSampleSync(a, b, ['js', 'tv'], { outputs: 'logits' });
  t.same(r.perSample, direct, 'perSample: the kernels’ per-sample values');
  t.notOk('perSample' in (await divergence(a, b, ['js'], { bootstrap: 0 })), 'no perSample unless asked');
});

t.test('ci95: brackets the mean, about mean ± 1.96 stderr, reproducible per seed, none with bootstrap 0', async (t) => {
  const r = await divergence(a, b, ['js', 'tv'], { seed: 3 });
  t.equal(r.outputs, 'logits', "'auto' reads unnormalized rows as logits");
  for (const m of ['js', 'tv'] as const) {
    const s = r.metrics[m]!;
    t.ok(s.ci95[0] < s.mean && s.mean < s.ci95[1], `${m} ci95 [${s.ci95}] brackets the mean ${s.mean}`);
    const width = s.ci95[1] - s.ci95[0];
    t.ok(Math.abs(width - 2 * 1.96 * s.stderr) < 0.2 * 2 * 1.96 * s.stderr, `${m} ci95 width ${width} ≈ 2·1.96·stderr`);
  }
  const again = await divergence(a, b, ['js', 'tv'], { seed: 3, threads: 1 });
  t.same(again.metrics, r.metrics, 'same seed, same intervals (on any number of threads)');
  const other = await divergence(a, b, ['js', 'tv'], { seed: 4 });
  t.not(other.metrics.js!.ci95[0], r.metrics.js!.ci95[0], 'another seed, another resample');
  t.equal(other.metrics.js!.mean, r.metrics.js!.mean, 'the mean does not depend on the seed');
  t.match(other.bootstrap, { replicates: 1000, seed: 4, method: 'percentile' });

  const none = await divergence(a, b, ['js'], { bootstrap: 0 });
  t.ok(none.metrics.js!.ci95.every(Number.isNaN), 'bootstrap 0: ci95 is [NaN, NaN], as in compare');
  t.same(none.bootstrap, { replicates: 0, seed: 0, method: 'none', rule: 'no interval: 0 replicates' });
  t.equal(none.metrics.js!.mean, r.metrics.js!.mean);
  t.equal(none.metrics.js!.stderr, r.metrics.js!.stderr, 'stderr needs no bootstrap');
});

t.test("kappa: a hand-computed Cohen's kappa, reported like compare's", async (t) => {
  // Argmax labels A = [0, 0, 1, 1, 2, 2], B = [0, 1, 1, 1, 2, 0]: p_o = 4/6, A's class
  // frequencies 2/6 each, B's 2/6, 3/6, 1/6, so p_e = (2·2 + 2·3 + 2·1) / 36 = 1/3 and
  // kappa = (2/3 − 1/3) / (1 − 1/3) = 1/2.
  const oneHot = (labels: number[]) => ({ data: Float64Array.from(labels.flatMap((l) => [0, 1, 2].map((c) => (c === l ? 3 : 0)))), n: labels.length, k: 3 });
  const x = oneHot([0, 0, 1, 1, 2, 2]);
  const y = oneHot([0, 1, 1, 1, 2, 0]);
  const r = await divergence(x, y, ['disagreement', 'kappa'], { outputs: 'logits' });
  t.ok(Math.abs(r.kappa! - 0.5) < 1e-15, `kappa ${r.kappa} = 1/2`);
  t.ok(Math.abs(r.metrics.disagreement!.mean - 2 / 6) < 1e-15, 'disagreement = 2 of 6');
  t.notOk('kappa' in r.metrics, 'kappa is set-level: not in metrics');
  const only = await divergence(x, y, ['kappa']);
  t.same(only.metrics, {}, 'kappa alone: no per-sample measures');
  t.ok(Math.abs(only.kappa! - 0.5) < 1e-15);
  t.notOk('kappa' in (await divergence(x, y, ['tv'])), 'no kappa unless asked');
  // Options are checked even when no per-sample kernel runs.
  for (const bad of [{ threads: -1 }, { threads: 0 }, { isa: 'bogus' as never }, { epsilon: -1 }]) {
    await t.rejects(divergence(x, y, ['kappa'], bad), { code: 'INVALID_ARGUMENT' }, `kappa alone, ${JSON.stringify(bad)}`);
  }
});

t.test('bits, infinite KL with a hint, options reach the kernels', async (t) => {
  const nats = await divergence(a, b, ['js'], { bootstrap: 0 });
  const bits = await divergence(a, b, ['js'], { bootstrap: 0, bits: true });
  t.equal(bits.units, 'bits');
  t.ok(relClose(bits.metrics.js!.mean, nats.metrics.js!.mean / Math.LN2, 1e-14), 'bits = nats / ln 2');
  // Row 0: q gives class 1 probability 0 where p does not: KL(p‖q) = +Infinity there.
  const p: Matrix = { data: new Float64Array([0.5, 0.5, 0, 0.2, 0.3, 0.5]), n: 2, k: 3 };
  const q: Matrix = { data: new Float64Array([0.5, 0, 0.5, 0.2, 0.3, 0.5]), n: 2, k: 3 };
  const r = await divergence(p, q, ['kl', 'js']);
  t.equal(r.outputs, 'probs');
  t.equal(r.metrics.kl!.mean, Infinity);
  t.equal(r.metrics.kl!.max, Infinity);
  t.ok(Math.abs(r.metrics.js!.mean - Math.LN2 / 4) < 1e-12, 'js stays finite: (ln 2 / 2 + 0) / 2');
  t.equal(r.hints.length, 1);
  t.match(r.hints[0], /^kl is infinite on 1 of 2 samples: .*smooth with options\.epsilon 1e-9/);
  const smoothed = await divergence(p, q, ['kl'], { epsilon: 1e-9 });
  t.ok(Number.isFinite(smoothed.metrics.kl!.mean), 'epsilon reaches the kernels');
  t.same(smoothed.hints, []);
  const precise = await divergence(a, b, ['tv'], { precision: 0.001, bootstrap: 0 });
  t.equal(precise.metrics.tv!.samplesNeeded.halfWidth, 0.001);
  t.equal(precise.metrics.tv!.samplesNeeded.n, Math.ceil(((1.96 * precise.metrics.tv!.stderr * Math.sqrt(n)) / 0.001) ** 2));
});

t.test('bad inputs throw ModeldiffErrors with their codes, naming the input', async (t) => {
  const short: Matrix = { data: a.data.subarray(0, (n - 1) * k), n: n - 1, k };
  const empty: Matrix = { data: new Float64Array(0), n: 0, k };
  const nan: Matrix = { data: Float64Array.from(a.data, (v, i) => (i === 5 * k + 2 ? NaN : v)), n, k };
  const names = { names: ['first.npy', 'second.npy'] };
  // Thunks: each call starts only when its case is checked (no rejection is left unhandled meanwhile).
  const cases: Array<[string, () => Promise<unknown>, string, RegExp]> = [
    ['shape mismatch', () => divergence(a, short, ['js'], names), 'SHAPE_MISMATCH', /first\.npy has shape \[300, 6\] but second\.npy has shape \[299, 6\]/],
    ['shape mismatch, kappa only', () => divergence(a, short, ['kappa']), 'SHAPE_MISMATCH', /a has shape \[300, 6\] but b has shape \[299, 6\]/],
    ['data does not fill the shape', () => divergence({ data: a.data, n, k: 5 }, b, ['js']), 'SHAPE_MISMATCH', /^a: 1800 values do not fill shape \[300, 5\]/],
    ['n = 0', () => divergence(empty, empty, ['js']), 'INVALID_ARGUMENT', /^a: no samples \(n = 0\)/],
    ['unknown measure', () => divergence(a, b, ['js', 'bogus' as 'js']), 'INVALID_ARGUMENT', /measures: unknown measure 'bogus' \(known: .*kappa\)/],
    ['no measure', () => divergence(a, b, []), 'INVALID_ARGUMENT', /measures: name at least one measure/],
    ['negative bootstrap', () => divergence(a, b, ['js'], { bootstrap: -1 }), 'INVALID_ARGUMENT', /bootstrap must be an integer in \[0, 100000000\], got -1/],
    ['fractional bootstrap', () => divergence(a, b, ['js'], { bootstrap: 2.5 }), 'INVALID_ARGUMENT', /bootstrap must be an integer/],
    ['negative seed', () => divergence(a, b, ['js'], { seed: -1 }), 'INVALID_ARGUMENT', /seed must be a non-negative integer, got -1/],
    ['precision 0', () => divergence(a, b, ['js'], { precision: 0 }), 'INVALID_ARGUMENT', /precision .* must be a finite number > 0, got 0/],
    ['precision Infinity', () => divergence(a, b, ['js'], { precision: Infinity }), 'INVALID_ARGUMENT', /precision .* must be a finite number > 0, got Infinity/],
    ['bad epsilon', () => divergence(a, b, ['js'], { epsilon: -1 }), 'INVALID_ARGUMENT', /epsilon must be a finite number >= 0/],
    ['NaN in a row', () => divergence(a, nan, ['js'], names), 'NON_FINITE', /^second\.npy, row 5: /],
    ['NaN in a row, kappa only', () => divergence(a, nan, ['kappa'], names), 'NON_FINITE', /^second\.npy, row 5: contains NaN/],
    ['probs that do not sum to 1', () => divergence(a, b, ['tv'], { outputs: 'probs' }), 'INVALID_PROBS', /^a, row 0: /],
  ];
  for (const [label, p, code, message] of cases) {
    const e = await errorOf(p());
    t.equal(e.code, code, `${label}: ${e.message}`);
    t.match(e.message, message, label);
  }
});
