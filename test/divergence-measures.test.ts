// The measure registry's declared properties, checked against the kernels on random inputs:
// identical inputs give 0, values stay in the declared range (and its bounds are reached
// where closed forms say so), symmetric measures are symmetric, metrics satisfy the triangle
// inequality, and the non-metric declarations are honest (a counterexample exists).
import t from 'tap';

import {
  cohenKappa,
  divergencePerSampleSync,
  FUNCTION_MEASURE_NAMES,
  type FunctionMeasureName,
  type OutputKind,
} from '../lib/function/divergence';
import type { Matrix } from '../lib/matrix';
import { measureInfo, measures, measuresOf } from '../lib/measures/registry';
import { createRng } from '../lib/util/rng';

const rng = createRng(11);
const K = 6;
const N = 400;
// emd-cost is declared neither symmetric nor a metric (it depends on the cost matrix); the
// property checks run it with the line metric |i - j|, where it must be both.
const cost = Float64Array.from({ length: K * K }, (_, i) => Math.abs(Math.floor(i / K) - (i % K)));

function logits(scale: number): Matrix {
  return { data: Float64Array.from({ length: N * K }, () => scale * rng.normal()), n: N, k: K };
}

function probs(): Matrix {
  const data = new Float64Array(N * K);
  for (let r = 0; r < N; r++) {
    let s = 0;
    for (let j = 0; j < K; j++) {
      const v = rng.float() < 0.25 ? 0 : rng.float();
      data[r * K + j] = v;
      s += v;
    }
    if (s === 0) data[r * K] = s = 1;
    for (let j = 0; j < K; j++) data[r * K + j]! /= s;
  }
  return { data, n: N, k: K };
}

const perSample = measuresOf('function').filter((m) => !m.setLevel);
const names = perSample.map((m) => m.name as FunctionMeasureName);

function run(a: Matrix, b: Matrix, kind: OutputKind) {
  return divergencePerSampleSync(a, b, names, { outputs: kind, cost });
}

t.test('the registry declares every kernel measure once, plus kappa', async (t) => {
  const all = measures.map((m) => m.name);
  t.equal(new Set(all).size, all.length, 'names are unique');
  t.same(names, [...FUNCTION_MEASURE_NAMES], 'per-sample function measures in kernel order');
  t.equal(measureInfo('kappa').setLevel, true);
  t.equal(measureInfo('js').range[1], Math.LN2);
  t.throws(() => measureInfo('nope'), { code: 'INVALID_ARGUMENT', message: /unknown measure 'nope'/ });
  for (const m of measures) t.ok(m.description.length > 10 && m.units.length > 0, `${m.name} documents itself`);
});

t.test('declared properties hold on random inputs', async (t) => {
  for (const kind of ['logits', 'probs'] as OutputKind[]) {
    const [a, b, c] = kind === 'logits' ? [logits(2), logits(3), logits(1)] : [probs(), probs(), probs()];
    const ab = run(a, b, kind);
    const ba = run(b, a, kind);
    const bc = run(b, c, kind);
    const ac = run(a, c, kind);
    const aa = run(a, { ...a, data: a.data.slice() }, kind);
    for (const info of perSample) {
      const m = info.name as FunctionMeasureName;
      const [lo, hi] = info.range;
      t.ok(aa[m].every((v) => v === 0), `${kind} ${m}: identical inputs give 0`);
      const out = [ab, bc, ac].flatMap((r) => Array.from(r[m])).filter((v) => !(v >= lo - 1e-12 && v <= hi + 1e-12));
      t.same(out, [], `${kind} ${m}: every value in [${lo}, ${hi}]`);
      if (info.symmetric || m === 'emd-cost') {
        const bad = Array.from(ab[m]).findIndex((v, i) => Math.abs(v - ba[m][i]!) > 1e-12 * Math.max(1, Math.abs(v)));
        t.equal(bad, -1, `${kind} ${m}: symmetric`);
      }
      if (info.metric || m === 'emd-cost') {
        const bad = Array.from(ac[m]).findIndex((v, i) => v > ab[m][i]! + bc[m][i]! + 1e-12);
        t.equal(bad, -1, `${kind} ${m}: triangle inequality on ${N} random triples`);
      }
    }
    t.ok(Array.from(ab.kl).some((v, i) => Math.abs(v - ba.kl[i]!) > 1e-6), `${kind}: kl is declared asymmetric and is`);
  }
});

t.test('non-metric declarations are honest: the triangle inequality fails somewhere', async (t) => {
  const row = (...v: number[]) => ({ data: Float64Array.from(v), n: 1, k: v.length });
  const [p, q, r] = [row(1, 0), row(0.5, 0.5), row(0, 1)];
  for (const m of ['js', 'kl-symmetric', 'cosine'] as FunctionMeasureName[]) {
    t.equal(measureInfo(m).metric, false);
    const d = (x: Matrix, y: Matrix) => divergencePerSampleSync(x, y, [m], { outputs: 'probs' })[m][0]!;
    if (m === 'kl-symmetric') {
      const [x, y, z] = [row(0.9, 0.1), row(0.5, 0.5), row(0.1, 0.9)];
      t.ok(d(x, z) > d(x, y) + d(y, z), `${m}: violates the triangle inequality`);
    } else {
      t.ok(d(p, r) > d(p, q) + d(q, r), `${m}: violates the triangle inequality`);
    }
  }
});

t.test('range bounds are attained where closed forms say so', async (t) => {
  const a = { data: new Float64Array([1, 0, 0]), n: 1, k: 3 };
  const b = { data: new Float64Array([0, 0, 1]), n: 1, k: 3 };
  const r = divergencePerSampleSync(a, b, ['js', 'js-distance', 'tv', 'hellinger', 'disagreement', 'emd'], { outputs: 'probs' });
  for (const m of ['js', 'js-distance', 'tv', 'hellinger', 'disagreement'] as const) {
    t.ok(Math.abs(r[m][0]! - measureInfo(m).range[1]) < 1e-15, `${m} reaches its upper bound ${measureInfo(m).range[1]}`);
  }
  t.equal(r.emd[0], 2, 'emd reaches k - 1');
  const x = { data: new Float64Array([1, 2]), n: 1, k: 2 };
  const y = { data: new Float64Array([-1, -2]), n: 1, k: 2 };
  const opposite = divergencePerSampleSync(x, y, ['cosine'], { outputs: 'logits' }).cosine[0]!;
  t.ok(Math.abs(opposite - 2) < 1e-15, `cosine reaches 2 for opposite rows (${opposite})`);
  const zero = { data: new Float64Array([0, 0]), n: 1, k: 2 };
  t.same(Array.from(divergencePerSampleSync(zero, zero, ['cosine'], { outputs: 'logits' }).cosine), [0], 'two zero rows: 0');
  t.same(Array.from(divergencePerSampleSync(zero, x, ['cosine'], { outputs: 'logits' }).cosine), [1], 'one zero row: 1');
});

t.test('kappa: symmetric, in [-1, 1], 1 for identical labelings', async (t) => {
  const info = measureInfo('kappa');
  t.ok(info.largerIsSimilar && info.symmetric);
  for (let trial = 0; trial < 50; trial++) {
    const n = 5 + rng.int(50);
    const a = Int32Array.from({ length: n }, () => rng.int(4));
    const b = Int32Array.from({ length: n }, () => rng.int(4));
    const k1 = cohenKappa(a, b, 4);
    const k2 = cohenKappa(b, a, 4);
    if (!(Math.abs(k1 - k2) < 1e-15 && k1 >= -1 && k1 <= 1 && cohenKappa(a, a, 4) === 1)) t.fail(`trial ${trial}: ${k1} ${k2}`);
  }
  t.pass('50 random labelings');
});
