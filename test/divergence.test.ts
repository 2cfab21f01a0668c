// Divergence kernels against an independent float64 reference written here, closed forms,
// every SIMD path against scalar, errors that name the input and row.
import t, { type Test } from 'tap';

import {
  cohenKappa,
  divergencePerSample,
  divergencePerSampleSync,
  FUNCTION_MEASURE_NAMES,
  type FunctionMeasureName,
  type OutputKind,
  pairwiseDivergence,
  predict,
  resolveOutputKind,
} from '../lib/function/divergence';
import type { Matrix } from '../lib/matrix';
import { capabilities, native } from '../lib/native';
import type { DivergenceBenchAddon } from '../lib/native/divergence';
import { createRng } from '../lib/util/rng';

const ISAS = capabilities().supported;
const ALL: FunctionMeasureName[] = FUNCTION_MEASURE_NAMES.filter((m) => m !== 'emd-cost');

// ---------- the float64 reference: textbook formulas, one row at a time ----------

function softmax(x: ArrayLike<number>): number[] {
  let max = -Infinity;
  for (let i = 0; i < x.length; i++) max = Math.max(max, x[i]!);
  const e = Array.from(x, (v) => Math.exp(v - max));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

function dist(x: number[], kind: OutputKind): number[] {
  if (kind === 'logits') return softmax(x);
  if (kind === 'probs') return x;
  if (kind === 'sigmoid') return [1 - x[0]!, x[0]!];
  const s = 1 / (1 + Math.exp(-x[0]!));
  return [1 - s, s];
}

function argmax(x: number[]): number {
  let b = 0;
  for (let i = 1; i < x.length; i++) if (x[i]! > x[b]!) b = i;
  return b;
}

function klRef(p: number[], q: number[]): number {
  let s = 0;
  for (let i = 0; i < p.length; i++) {
    if (p[i]! === 0) continue;
    if (q[i]! === 0) return Infinity;
    s += p[i]! * Math.log(p[i]! / q[i]!);
  }
  return s;
}

function refRow(x: number[], y: number[], kind: OutputKind): Record<string, number> {
  const p = dist(x, kind);
  const q = dist(y, kind);
  const m = p.map((v, i) => (v + q[i]!) / 2);
  const js = 0.5 * klRef(p, m) + 0.5 * klRef(q, m);
  let tv = 0;
  let bc = 0;
  let mass = 0;
  let emd = 0;
  let cdf = 0;
  for (let i = 0; i < p.length; i++) {
    tv += 0.5 * Math.abs(p[i]! - q[i]!);
    bc += Math.sqrt(p[i]! * q[i]!);
    mass += (p[i]! + q[i]!) / 2;
    if (i < p.length - 1) {
      cdf += p[i]! - q[i]!;
      emd += Math.abs(cdf);
    }
  }
  let l2 = 0;
  let xy = 0;
  let xx = 0;
  let yy = 0;
  for (let i = 0; i < x.length; i++) {
    l2 += (x[i]! - y[i]!) ** 2;
    xy += x[i]! * y[i]!;
    xx += x[i]! ** 2;
    yy += y[i]! ** 2;
  }
  const kl = klRef(p, q);
  const klr = klRef(q, p);
  const label = (v: number[]) => (kind === 'sigmoid' ? (v[0]! > 0.5 ? 1 : 0) : kind === 'sigmoid-logit' ? (v[0]! > 0 ? 1 : 0) : argmax(v));
  return {
    kl,
    'kl-reverse': klr,
    'kl-symmetric': kl + klr,
    js,
    'js-distance': Math.sqrt(js),
    tv,
    // sqrt(1 - BC) for rows summing to 1; (mass - BC) keeps it a distance between the given
    // vectors when float32 probability rows sum to 1 only within rounding.
    hellinger: Math.sqrt(Math.max(0, mass - bc)),
    emd,
    disagreement: label(x) === label(y) ? 0 : 1,
    l2: Math.sqrt(l2),
    cosine: xx === 0 || yy === 0 ? (xx === yy ? 0 : 1) : 1 - xy / Math.sqrt(xx * yy),
  };
}

function row(a: Matrix, r: number): number[] {
  return Array.from(a.data.subarray(r * a.k, (r + 1) * a.k));
}

function close(got: number, ref: number, relTol = 1e-6, absTol = 1e-9): boolean {
  if (!Number.isFinite(ref)) return got === ref;
  return Math.abs(got - ref) <= Math.max(relTol * Math.abs(ref), absTol);
}

function checkAgainstRef(
  t: Test,
  a: Matrix,
  b: Matrix,
  kind: OutputKind,
  got: Record<string, Float64Array>,
  label: string,
): void {
  let bad = 0;
  for (let r = 0; r < a.n; r++) {
    const ref = refRow(row(a, r), row(b, r), kind);
    for (const m of Object.keys(got)) {
      if (!close(got[m]![r]!, ref[m]!) && bad++ < 5) {
        t.fail(`${label} ${m} row ${r}: got ${got[m]![r]}, reference ${ref[m]}`);
      }
    }
  }
  if (bad === 0) t.pass(`${label}: every measure within max(1e-6 rel, 1e-9 abs) of the reference`);
}

// ---------- generators ----------

function randomLogits(rng: ReturnType<typeof createRng>, n: number, k: number, f32 = false, scale = 3): Matrix {
  const data = f32 ? new Float32Array(n * k) : new Float64Array(n * k);
  for (let i = 0; i < n * k; i++) data[i] = scale * rng.normal();
  return { data, n, k };
}

/** Probability rows; zeroProb of the entries are set to 0 (independently in each call). */
function randomProbs(rng: ReturnType<typeof createRng>, n: number, k: number, zeroProb = 0.2, f32 = false): Matrix {
  const data = f32 ? new Float32Array(n * k) : new Float64Array(n * k);
  for (let r = 0; r < n; r++) {
    let s = 0;
    const v = new Float64Array(k);
    for (let j = 0; j < k; j++) {
      v[j] = rng.float() < zeroProb && j !== r % k ? 0 : rng.float() ** 3;
      s += v[j]!;
    }
    for (let j = 0; j < k; j++) data[r * k + j] = v[j]! / s;
  }
  return { data, n, k };
}

function copyOf(a: Matrix): Matrix {
  return { data: a.data.slice(), n: a.n, k: a.k };
}

// ---------- tests ----------

t.test('identical inputs give exactly 0 for every measure, every ISA and kind', async (t) => {
  const rng = createRng(1);
  const cases: Array<[OutputKind, Matrix]> = [
    ['logits', randomLogits(rng, 40, 10)],
    ['logits', randomLogits(rng, 5, 1003, true)],
    ['probs', randomProbs(rng, 40, 7, 0.4)],
    ['sigmoid', { data: Float64Array.from({ length: 30 }, (_, i) => i / 29), n: 30, k: 1 }],
    ['sigmoid-logit', randomLogits(rng, 30, 1)],
  ];
  for (const isa of ISAS) {
    for (const [kind, a] of cases) {
      const k = kind.startsWith('sigmoid') ? 2 : a.k;
      const measures = k <= 128 ? [...FUNCTION_MEASURE_NAMES] : ALL;
      const cost = Float64Array.from({ length: k * k }, (_, i) => (Math.floor(i / k) === i % k ? 0 : 1 + (i % 3)));
      const got = divergencePerSampleSync(a, copyOf(a), measures, { outputs: kind, isa, cost });
      const nonzero = Object.entries(got).filter(([, v]) => v.some((x) => x !== 0));
      t.same(nonzero.map(([m]) => m), [], `${isa} ${kind} k=${a.k}`);
    }
  }
});

t.test('closed forms: disjoint one-hots and the SimSIMD zero case, every ISA', async (t) => {
  const a = { data: new Float64Array([1, 0, 0, 0, 1, 0]), n: 2, k: 3 };
  const b = { data: new Float64Array([0, 1, 0, 0, 0, 1]), n: 2, k: 3 };
  const p = { data: new Float64Array([0.5, 0.5, 0, 0]), n: 1, k: 4 };
  const q = { data: new Float64Array([0.25, 0.25, 0.25, 0.25]), n: 1, k: 4 };
  for (const isa of ISAS) {
    const r = divergencePerSampleSync(a, b, ['js', 'js-distance', 'tv', 'hellinger', 'kl', 'disagreement', 'emd'], {
      outputs: 'probs',
      isa,
    });
    t.same(Array.from(r.js), [Math.LN2, Math.LN2], `${isa}: JS of disjoint one-hots = ln 2`);
    t.ok(close(r['js-distance'][0]!, Math.sqrt(Math.LN2), 1e-15, 0), `${isa}: JS distance = sqrt(ln 2)`);
    t.same(Array.from(r.tv), [1, 1], `${isa}: TV = 1`);
    t.same(Array.from(r.hellinger), [1, 1], `${isa}: Hellinger = 1`);
    t.same(Array.from(r.kl), [Infinity, Infinity], `${isa}: KL = +Infinity where q = 0 < p`);
    t.same(Array.from(r.disagreement), [1, 1]);
    t.same(Array.from(r.emd), [1, 1], `${isa}: EMD moves one unit one step`);
    const bits = divergencePerSampleSync(a, b, ['js', 'js-distance'], { outputs: 'probs', isa, bits: true });
    t.ok(close(bits.js[0]!, 1, 1e-15, 0) && close(bits['js-distance'][0]!, 1, 1e-15, 0), `${isa}: 1 bit`);

    const z = divergencePerSampleSync(p, q, ['js-distance', 'js', 'kl', 'kl-reverse'], { outputs: 'probs', isa });
    // m = [3/8, 3/8, 1/8, 1/8]: KL(p||m) = ln(4/3), KL(q||m) = ½ln(2/3) + ½ln 2, so JS = ¾ ln(4/3).
    const js = 0.75 * Math.log(4 / 3);
    t.ok(close(z.js[0]!, js, 1e-14, 0), `${isa}: JS([.5,.5,0,0], uniform) = ${js}, got ${z.js[0]}`);
    t.ok(close(z['js-distance'][0]!, 0.46450140402245893, 1e-14, 0), `${isa}: JS distance 0.4645 (SimSIMD returns 0.206)`);
    t.ok(close(z.kl[0]!, Math.LN2, 1e-15, 0), `${isa}: KL(p||uniform) = ln 2`);
    t.equal(z['kl-reverse'][0], Infinity, `${isa}: KL(uniform||p) = +Infinity`);
  }
});

t.test('random rows match the float64 reference at every k, kind and ISA', async (t) => {
  const rng = createRng(2);
  for (const k of [1, 2, 3, 10, 65, 1000, 1001, 100000]) {
    const n = k >= 100000 ? 2 : k >= 1000 ? 12 : 60;
    const logits: Array<[OutputKind, Matrix, Matrix]> = [
      ['logits', randomLogits(rng, n, k), randomLogits(rng, n, k)],
      ['logits', randomLogits(rng, n, k, true), randomLogits(rng, n, k, true)],
    ];
    if (k > 1) logits.push(['probs', randomProbs(rng, n, k), randomProbs(rng, n, k)]);
    if (k > 1) logits.push(['probs', randomProbs(rng, n, k, 0.3, true), randomProbs(rng, n, k, 0.3, true)]);
    for (const isa of ISAS) {
      for (const [kind, a, b] of logits) {
        const got = divergencePerSampleSync(a, b, ALL, { outputs: kind, isa });
        checkAgainstRef(t, a, b, kind, got, `${isa} ${kind} ${a.data.constructor.name} k=${k}`);
      }
    }
  }
});

t.test('small-k tiles: every column remainder, partial tiles and both dtypes load exactly', async (t) => {
  // The batch path transposes W rows at a time in blocks of up to 8 columns (16 for float32 on
  // AVX-512); k = 1..20 covers every remainder of an 8-column block, and n = 21 leaves a
  // partial last tile (spare lanes) at any W. The one-pass probability path has its own test.
  // TV and the raw-logit L2 read the loaded values directly, so a misplaced element shows.
  const rng = createRng(31);
  for (let k = 1; k <= 20; k++) {
    for (const f32 of [true, false]) {
      const dtype = f32 ? 'float32' : 'float64';
      const cases: Array<[OutputKind, Matrix, Matrix]> = [['logits', randomLogits(rng, 21, k, f32), randomLogits(rng, 21, k, f32)]];
      if (k > 1) cases.push(['probs', randomProbs(rng, 21, k, 0.3, f32), randomProbs(rng, 21, k, 0.3, f32)]);
      for (const [kind, a, b] of cases) {
        const ref = divergencePerSampleSync(a, b, ALL, { outputs: kind, isa: 'scalar' });
        checkAgainstRef(t, a, b, kind, ref, `scalar ${kind} ${dtype} k=${k}`);
        for (const isa of ISAS.filter((i) => i !== 'scalar')) {
          const got = divergencePerSampleSync(a, b, ALL, { outputs: kind, isa });
          const off = ALL.filter((m) => Array.from(got[m]).some((v, r) => !close(v, ref[m][r]!, 1e-12, 1e-15)));
          t.same(off, [], `${isa} ${kind} ${dtype} k=${k}: every measure equals scalar`);
        }
      }
    }
  }
});

t.test('one-pass tiles (no logs, no softmax) equal the two-pass path and the reference', async (t) => {
  // Unsmoothed probabilities asked only for TV, Hellinger, EMD, L2 or disagreement, and logits
  // asked only for disagreement or L2, are loaded, validated and summed in one pass over the
  // inputs; adding 'js' to the request sends the same rows through the two-pass tile path. Both
  // must give identical values (same operations in the same order), equal scalar and the
  // reference. k up to 64 (the batch path's limit) covers four 16-column blocks and every
  // remainder below 20; n = 21 leaves a partial last tile.
  const rng = createRng(35);
  const light: Array<[OutputKind, FunctionMeasureName[]]> = [
    ['probs', ['tv']],
    ['probs', ['disagreement']],
    ['probs', ['hellinger', 'emd', 'l2', 'tv', 'disagreement']],
    ['logits', ['disagreement']],
    ['logits', ['disagreement', 'l2']],
  ];
  for (let k = 1; k <= 64; k += k < 20 ? 1 : k < 60 ? 4 : 2) {
    for (const f32 of [true, false]) {
      const inputs = {
        probs: [randomProbs(rng, 21, k, 0.3, f32), randomProbs(rng, 21, k, 0.3, f32)],
        logits: [randomLogits(rng, 21, k, f32), randomLogits(rng, 21, k, f32)],
      };
      const label = `${f32 ? 'float32' : 'float64'} k=${k}`;
      for (const [kind, measures] of light) {
        const [a, b] = inputs[kind as 'probs' | 'logits'] as [Matrix, Matrix];
        const scalar = divergencePerSampleSync(a, b, measures, { outputs: kind, isa: 'scalar' });
        checkAgainstRef(t, a, b, kind, scalar, `scalar ${kind} ${measures.join('+')} ${label}`);
        for (const isa of ISAS) {
          const got = divergencePerSampleSync(a, b, measures, { outputs: kind, isa });
          const twoPass = divergencePerSampleSync(a, b, [...measures, 'js'], { outputs: kind, isa });
          const differ = measures.filter((m) => Array.from(got[m]).some((v, r) => !Object.is(v, twoPass[m][r])));
          t.same(differ, [], `${isa} ${kind} ${measures.join('+')} ${label}: one pass equals two passes bit for bit`);
          const off = measures.filter((m) => Array.from(got[m]).some((v, r) => !close(v, scalar[m][r]!, 1e-12, 1e-15)));
          t.same(off, [], `${isa} ${kind} ${measures.join('+')} ${label}: equals scalar`);
        }
      }
    }
  }
  // A bad row in the middle of a tile, in either input: the tile is redone row by row and the
  // error names that row, on every ISA.
  for (const isa of ISAS) {
    for (const [which, name] of [[0, 'a'], [1, 'b']] as const) {
      for (const [value, code, message] of [
        [-0.25, 'INVALID_PROBS', /has a negative probability/],
        [NaN, 'NON_FINITE', /contains NaN or Infinity/],
        [0.9, 'INVALID_PROBS', /probabilities sum to/],
      ] as const) {
        for (const f32 of [true, false]) {
          // First, middle and last row (the last tile is partial), first and last column, k of
          // one 16-column block and of two.
          for (const [row, col, k] of [[0, 0, 10], [11, 3, 10], [20, 9, 10], [8, 20, 21], [13, 0, 21]] as const) {
            const inputs = [randomProbs(rng, 21, k, 0.3, f32), randomProbs(rng, 21, k, 0.3, f32)];
            inputs[which]!.data[row * k + col] = value;
            t.throws(() => divergencePerSampleSync(inputs[0]!, inputs[1]!, ['tv'], { outputs: 'probs', isa }), {
              code,
              message: new RegExp(`^${name}, row ${row}: ${message.source}`),
            });
          }
        }
      }
      for (const value of [NaN, -Infinity]) {
        const inputs = [randomLogits(rng, 21, 10, true), randomLogits(rng, 21, 10, true)];
        inputs[which]!.data[11 * 10 + 9] = value;
        t.throws(() => divergencePerSampleSync(inputs[0]!, inputs[1]!, ['disagreement'], { outputs: 'logits', isa }), {
          code: 'NON_FINITE',
          message: new RegExp(`^${name}, row 11: contains NaN or Infinity`),
        });
      }
    }
  }
  // Mixed dtypes take the two-pass path: same values as both float64.
  const a = randomProbs(rng, 21, 10, 0.3, true);
  const b = randomProbs(rng, 21, 10, 0.3, false);
  const a64 = { data: Float64Array.from(a.data), n: a.n, k: a.k };
  for (const isa of ISAS) {
    const mixed = divergencePerSampleSync(a, b, ['tv', 'emd'], { outputs: 'probs', isa });
    const same = divergencePerSampleSync(a64, b, ['tv', 'emd'], { outputs: 'probs', isa });
    t.same(Array.from(mixed.tv), Array.from(same.tv), `${isa} mixed dtypes tv`);
    t.same(Array.from(mixed.emd), Array.from(same.emd), `${isa} mixed dtypes emd`);
  }
});

t.test('zeros in one distribution only: every SIMD path equals scalar', async (t) => {
  const rng = createRng(3);
  for (const k of [3, 4, 5, 8, 9, 17, 64, 257]) {
    const a = randomProbs(rng, 50, k, 0.5);
    const b = randomProbs(rng, 50, k, 0.5);
    const ref = divergencePerSampleSync(a, b, ALL, { outputs: 'probs', isa: 'scalar' });
    checkAgainstRef(t, a, b, 'probs', ref, `scalar probs with zeros k=${k}`);
    for (const isa of ISAS.filter((i) => i !== 'scalar')) {
      const got = divergencePerSampleSync(a, b, ALL, { outputs: 'probs', isa });
      for (const m of ALL) {
        const bad = Array.from(got[m]).findIndex((v, r) => !close(v, ref[m][r]!, 1e-12, 1e-15));
        t.equal(bad, -1, `${isa} ${m} k=${k} equals scalar`);
      }
    }
  }
});

t.test('sigmoid and sigmoid-logit (k = 1) against the Bernoulli reference', async (t) => {
  const rng = createRng(4);
  const s1 = { data: Float64Array.from({ length: 200 }, (_, i) => (i % 10 === 0 ? 0 : i % 10 === 1 ? 1 : rng.float())), n: 200, k: 1 };
  const s2 = { data: Float64Array.from({ length: 200 }, (_, i) => (i % 7 === 0 ? 0.5 : rng.float())), n: 200, k: 1 };
  const z1 = randomLogits(rng, 200, 1, false, 8);
  const z2 = randomLogits(rng, 200, 1, true, 8);
  for (const isa of ISAS) {
    checkAgainstRef(t, s1, s2, 'sigmoid', divergencePerSampleSync(s1, s2, ALL, { outputs: 'sigmoid', isa }), `${isa} sigmoid`);
    checkAgainstRef(t, z1, z2, 'sigmoid-logit', divergencePerSampleSync(z1, z2, ALL, { outputs: 'sigmoid-logit', isa }), `${isa} sigmoid-logit`);
  }
  // A saturated logit keeps its log-probability exact (softplus), so KL stays honest far out.
  const far = divergencePerSampleSync({ data: new Float64Array([40]), n: 1, k: 1 }, { data: new Float64Array([30]), n: 1, k: 1 }, ['kl'], {
    outputs: 'sigmoid-logit',
  });
  const ref = Math.exp(-40) * (-40 + 30) + (Math.exp(-30) - Math.exp(-40)); // Σ p log(p/q) to first order
  t.ok(close(far.kl[0]!, ref, 1e-6, 0), `KL between sigmoid(40) and sigmoid(30) = ${ref}, got ${far.kl[0]}`);
});

t.test('nearly identical logits (1e-7 perturbation) give a tiny honest value', async (t) => {
  const rng = createRng(5);
  const n = 20;
  for (const k of [10, 1000]) {
    const a = randomLogits(rng, n, k);
    const b = { data: a.data.map((v) => v + 1e-7 * rng.normal()), n, k };
    for (const isa of ISAS) {
      const got = divergencePerSampleSync(a, b, ['kl', 'kl-reverse', 'js', 'tv', 'hellinger', 'cosine'], { outputs: 'logits', isa });
      for (let r = 0; r < n; r++) {
        const p = softmax(row(a, r));
        const q = softmax(row(b, r));
        // Second-order references, exact to O(d): for d ~ 1e-7 far inside the 1e-6 tolerance.
        let js = 0;
        let kl = 0;
        let klr = 0;
        let tv = 0;
        let hel = 0;
        for (let j = 0; j < k; j++) {
          const d = (p[j]! - q[j]!) / (p[j]! + q[j]!);
          js += 0.25 * (p[j]! + q[j]!) * d * d;
          const delta = Math.log(p[j]! / q[j]!);
          kl += q[j]! * (delta * delta / 2 + (delta * delta * delta) / 3);
          klr += p[j]! * (delta * delta / 2 - (delta * delta * delta) / 3);
          tv += 0.5 * Math.abs(p[j]! - q[j]!);
          hel += 0.5 * (Math.sqrt(p[j]!) - Math.sqrt(q[j]!)) ** 2;
        }
        const x = row(a, r);
        const y = row(b, r);
        const nx = Math.hypot(...x);
        const ny = Math.hypot(...y);
        const cos = 0.5 * x.reduce((s, v, j) => s + (v / nx - y[j]! / ny) ** 2, 0);
        const refs: Record<string, number> = { kl, 'kl-reverse': klr, js, tv, hellinger: Math.sqrt(hel), cosine: cos };
        for (const m of Object.keys(refs)) {
          const g = got[m as keyof typeof got][r]!;
          if (!close(g, refs[m]!, 1e-5, 0)) t.fail(`${isa} k=${k} ${m} row ${r}: got ${g}, reference ${refs[m]}`);
        }
      }
      t.ok(got.js[0]! > 0 && got.js[0]! < 1e-12, `${isa} k=${k}: JS is tiny (${got.js[0]}) and not rounding noise`);
    }
  }
});

t.test('extreme logits (scale 300): softmax underflow is handled alike on every ISA', async (t) => {
  // Log-probabilities below -708 underflow to 0 in the SIMD exps and to subnormals in <cmath>;
  // either way the KL term of such a class is ~q, which must not be dropped as if p were 0.
  const rng = createRng(13);
  for (const k of [2, 3, 4, 10]) {
    const a = randomLogits(rng, 60, k, false, 300);
    const b = randomLogits(rng, 60, k, false, 300);
    const ms: FunctionMeasureName[] = ['kl', 'kl-reverse', 'js', 'tv', 'hellinger'];
    const ref = divergencePerSampleSync(a, b, ms, { outputs: 'logits', isa: 'scalar' });
    // An independent reference in log space (the ratio form p/q would divide by an underflowed 0).
    const logSoftmax = (x: number[]) => {
      const mx = Math.max(...x);
      const lse = mx + Math.log(x.reduce((s, v) => s + Math.exp(v - mx), 0));
      return x.map((v) => v - lse);
    };
    const offRef: string[] = [];
    for (let r = 0; r < a.n; r++) {
      const lp = logSoftmax(row(a, r));
      const lq = logSoftmax(row(b, r));
      let kl = 0, klr = 0, js = 0, tv = 0, hel = 0;
      for (let j = 0; j < k; j++) {
        const p = Math.exp(lp[j]!), q = Math.exp(lq[j]!);
        const hi = Math.max(lp[j]!, lq[j]!);
        const lm = hi + Math.log1p(Math.exp(Math.min(lp[j]!, lq[j]!) - hi)) - Math.LN2;
        kl += p * (lp[j]! - lq[j]!);
        klr += q * (lq[j]! - lp[j]!);
        js += 0.5 * (p * (lp[j]! - lm) + q * (lq[j]! - lm));
        tv += 0.5 * Math.abs(p - q);
        hel += 0.5 * (Math.sqrt(p) - Math.sqrt(q)) ** 2;
      }
      const refs = { kl, 'kl-reverse': klr, js, tv, hellinger: Math.sqrt(hel) } as Record<string, number>;
      for (const m of ms) if (!close(ref[m][r]!, refs[m]!)) offRef.push(`${m} row ${r}: ${ref[m][r]} vs ${refs[m]}`);
    }
    t.same(offRef, [], `scalar k=${k}: equals the log-space reference`);
    for (const isa of ISAS.filter((i) => i !== 'scalar')) {
      const got = divergencePerSampleSync(a, b, ms, { outputs: 'logits', isa });
      const off = ms.filter((m) => Array.from(got[m]).some((v, r) => !close(v, ref[m][r]!, 1e-12, 1e-15)));
      t.same(off, [], `${isa} k=${k}: equals scalar`);
    }
  }
});

t.test('nearly identical probability rows: KL is the literal sum p log(p/q) to 1e-6, not rounding noise', async (t) => {
  // Softmax rows 1e-7 apart, as float64 probabilities: each term p log(p/q) is ~1e-8 and they
  // cancel to ~1e-15, so a term-by-term sum in plain float64 is rounding noise (it was 3-36%
  // off). Reference: the literal sum itself, each log(p/q) as log1p((p - q) / q) (p - q is exact
  // for nearby p, q, so each term is right to ~1e-16 relative) and a compensated sum; and,
  // as a second, independent check, sum q g(d) + sum (p - q) with g(d) = d^2/2 + d^3/3 + d^4/8.
  const rng = createRng(12);
  const n = 20;
  for (const k of [3, 10, 1000]) {
    const a = new Float64Array(n * k);
    const b = new Float64Array(n * k);
    for (let r = 0; r < n; r++) {
      const x = Array.from({ length: k }, () => 3 * rng.normal());
      a.set(softmax(x), r * k);
      b.set(softmax(x.map((v) => v + 1e-7 * rng.normal())), r * k);
    }
    const lit = (p: Float64Array, q: Float64Array, r: number) => {
      let sum = 0;
      let comp = 0;  // Neumaier
      for (let j = r * k; j < (r + 1) * k; j++) {
        const v = p[j]! * Math.log1p((p[j]! - q[j]!) / q[j]!);
        const t2 = sum + v;
        comp += Math.abs(sum) >= Math.abs(v) ? sum - t2 + v : v - t2 + sum;
        sum = t2;
      }
      return sum + comp;
    };
    const split = (p: Float64Array, q: Float64Array, r: number) => {
      let g = 0;
      let mass = 0;
      for (let j = r * k; j < (r + 1) * k; j++) {
        const d = Math.log1p((p[j]! - q[j]!) / q[j]!);
        g += q[j]! * (d * d / 2 + (d * d * d) / 3 + (d * d * d * d) / 8);
        mass += p[j]! - q[j]!;
      }
      return g + mass;
    };
    for (let r = 0; r < n; r++) {
      t.ok(close(lit(a, b, r), split(a, b, r), 1e-6, 0), `k=${k} row ${r}: the two references agree`);
    }
    for (const isa of ISAS) {
      const got = divergencePerSampleSync({ data: a, n, k }, { data: b, n, k }, ['kl', 'kl-reverse', 'kl-symmetric'], { outputs: 'probs', isa });
      const off: string[] = [];
      for (let r = 0; r < n; r++) {
        const kl = lit(a, b, r);
        const klr = lit(b, a, r);
        for (const [m, ref] of [['kl', kl], ['kl-reverse', klr], ['kl-symmetric', kl + klr]] as const) {
          if (!close(got[m][r]!, ref, 1e-6, 0)) off.push(`${m} row ${r}: ${got[m][r]} vs ${ref}`);
        }
      }
      t.same(off, [], `${isa} k=${k}: KL of rows 1e-7 apart (~${got.kl[0]!.toExponential(1)}) within 1e-6 relative`);
    }
  }
});

t.test('epsilon smoothing makes KL finite and equals the reference on smoothed rows', async (t) => {
  const a = { data: new Float64Array([0.5, 0.5, 0, 0]), n: 1, k: 4 };
  const b = { data: new Float64Array([0, 0.5, 0.5, 0]), n: 1, k: 4 };
  const eps = 1e-3;
  const smooth = (v: Float64Array) => Array.from(v, (x) => (x + eps) / (1 + 4 * eps));
  for (const isa of ISAS) {
    const got = divergencePerSampleSync(a, b, ['kl', 'js'], { outputs: 'probs', epsilon: eps, isa });
    t.ok(close(got.kl[0]!, klRef(smooth(a.data), smooth(b.data)), 1e-12, 0), `${isa}: smoothed KL`);
    const logits = { data: new Float64Array([2, -1, 0.5]), n: 1, k: 3 };
    const logits2 = { data: new Float64Array([-1, 2, 0.5]), n: 1, k: 3 };
    const g2 = divergencePerSampleSync(logits, logits2, ['kl'], { outputs: 'logits', epsilon: 0.01, isa });
    const sm = (x: number[]) => x.map((v) => (v + 0.01) / 1.03);
    t.ok(close(g2.kl[0]!, klRef(sm(softmax(logits.data)), sm(softmax(logits2.data))), 1e-12, 0), `${isa}: smoothed logits KL`);
  }
  const sig = divergencePerSampleSync({ data: new Float64Array([1]), n: 1, k: 1 }, { data: new Float64Array([0]), n: 1, k: 1 }, ['kl'], {
    outputs: 'sigmoid',
    epsilon: 0.1,
  });
  t.ok(close(sig.kl[0]!, klRef([0.1 / 1.2, 1.1 / 1.2], [1.1 / 1.2, 0.1 / 1.2]), 1e-12, 0), 'smoothed sigmoid KL');
});

t.test("emd-cost: exact optimal transport", async (t) => {
  const rng = createRng(6);
  const k = 9;
  const a = randomProbs(rng, 30, k, 0.3);
  const b = randomProbs(rng, 30, k, 0.3);
  const line = Float64Array.from({ length: k * k }, (_, i) => Math.abs(Math.floor(i / k) - (i % k)));
  const zeroOne = Float64Array.from({ length: k * k }, (_, i) => (Math.floor(i / k) === i % k ? 0 : 1));
  for (const isa of ISAS) {
    const r1 = divergencePerSampleSync(a, b, ['emd-cost', 'emd'], { outputs: 'probs', cost: line, isa });
    const r2 = divergencePerSampleSync(a, b, ['emd-cost', 'tv'], { outputs: 'probs', cost: zeroOne, isa });
    const bad1 = Array.from(r1['emd-cost']).findIndex((v, i) => !close(v, r1.emd[i]!, 1e-9, 1e-12));
    const bad2 = Array.from(r2['emd-cost']).findIndex((v, i) => !close(v, r2.tv[i]!, 1e-9, 1e-12));
    t.equal(bad1, -1, `${isa}: cost |i - j| gives the ordered-class EMD`);
    t.equal(bad2, -1, `${isa}: 0/1 cost gives total variation`);
  }
  // k = 2: one free parameter (mass kept on class 0); the optimum is at an end of its range.
  for (let trial = 0; trial < 20; trial++) {
    const p0 = rng.float();
    const q0 = rng.float();
    const c = Float64Array.from({ length: 4 }, () => rng.float() * 3);
    const cost = (x: number) => c[0]! * x + c[1]! * (p0 - x) + c[2]! * (q0 - x) + c[3]! * (1 - p0 - q0 + x);
    const lo = Math.max(0, p0 + q0 - 1);
    const hi = Math.min(p0, q0);
    const ref = Math.min(cost(lo), cost(hi));
    const got = divergencePerSampleSync({ data: new Float64Array([p0, 1 - p0]), n: 1, k: 2 }, { data: new Float64Array([q0, 1 - q0]), n: 1, k: 2 }, ['emd-cost'], {
      outputs: 'probs',
      cost: c,
    });
    if (!close(got['emd-cost'][0]!, ref, 1e-12, 1e-15)) t.fail(`k=2 trial ${trial}: got ${got['emd-cost'][0]}, brute force ${ref}`);
  }
  t.pass('k = 2 matches the brute-force optimum');
  t.throws(
    () => divergencePerSampleSync(a, b, ['emd-cost'], { outputs: 'probs' }),
    { code: 'INVALID_ARGUMENT', message: /cost matrix/ },
    'emd-cost without a cost matrix',
  );
  t.throws(
    () => divergencePerSampleSync(a, b, ['emd-cost'], { outputs: 'probs', cost: new Float64Array(4) }),
    { code: 'INVALID_ARGUMENT', message: /9 × 9/ },
    'cost matrix of the wrong size',
  );
  const big = randomLogits(rng, 1, 129);
  t.throws(
    () => divergencePerSampleSync(big, big, ['emd-cost'], { cost: new Float64Array(129 * 129) }),
    { code: 'INVALID_ARGUMENT', message: /at most 128 classes/ },
    'k beyond the documented limit',
  );
  const negative = Float64Array.from(line, (v, i) => (i === 1 ? -1 : v));
  t.throws(
    () => divergencePerSampleSync(a, b, ['emd-cost'], { outputs: 'probs', cost: negative }),
    { code: 'INVALID_ARGUMENT', option: 'cost', message: /^cost matrix entry \[0\]\[1\] = -1 must be finite and >= 0$/ },
    'a negative cost names its entry',
  );
  const nan = Float64Array.from(line, (v, i) => (i === 5 ? NaN : v));
  t.throws(
    () => divergencePerSampleSync(a, b, ['emd-cost'], { outputs: 'probs', cost: nan }),
    { code: 'INVALID_ARGUMENT', option: 'cost', message: /^cost matrix entry \[0\]\[5\] = NaN must be finite and >= 0$/ },
    'a NaN cost names its entry',
  );
  const two = { data: new Float64Array([0.2, 0.8]), n: 1, k: 2 };
  t.throws(
    () => divergencePerSampleSync(two, two, ['js'], { outputs: 'sigmoid' }),
    { code: 'INVALID_ARGUMENT', option: 'outputs', message: /^outputs 'sigmoid' needs one column per sample, got k = 2$/ },
    'a sigmoid kind with two columns',
  );
});

t.test('errors name the input, the row and both shapes', async (t) => {
  const good = { data: new Float64Array([0.2, 0.8, 0.5, 0.5, 1, 0]), n: 3, k: 2 };
  t.throws(() => divergencePerSampleSync(good, { data: new Float64Array(4), n: 2, k: 2 }, ['js']), {
    code: 'SHAPE_MISMATCH',
    message: /a has shape \[3, 2\] but b has shape \[2, 2\]/,
  });
  t.throws(() => divergencePerSampleSync({ data: new Float64Array(0), n: 0, k: 2 }, { data: new Float64Array(0), n: 0, k: 2 }, ['js']), {
    code: 'INVALID_ARGUMENT',
    message: /n = 0/,
  });
  t.throws(() => divergencePerSampleSync({ data: new Float64Array(5), n: 3, k: 2 }, good, ['js']), { code: 'SHAPE_MISMATCH', message: /5 values/ });
  t.throws(() => divergencePerSampleSync({ data: [1, 2] as unknown as Float64Array, n: 1, k: 2 }, good, ['js']), { code: 'INVALID_ARGUMENT' });
  t.throws(() => divergencePerSampleSync({ data: new Float64Array(2), n: 1, k: 0 }, good, ['js']), { code: 'INVALID_ARGUMENT' });
  const nan = { data: new Float64Array([0.2, 0.8, 0.5, 0.5, NaN, 0]), n: 3, k: 2 };
  const inf = { data: new Float32Array([0, 0, 0, Infinity, 0, 0]), n: 3, k: 2 };
  for (const isa of ISAS) {
    t.throws(() => divergencePerSampleSync(good, nan, ['js'], { outputs: 'logits', isa, names: ['left.npy', 'right.npy'] }), {
      code: 'NON_FINITE',
      message: /^right\.npy, row 2: contains NaN or Infinity/,
    });
    await t.rejects(divergencePerSample(inf, good, ['kl'], { outputs: 'logits', isa }), { code: 'NON_FINITE', message: /^a, row 1:/ });
    t.throws(() => divergencePerSampleSync(good, nan, ['js'], { outputs: 'probs', isa }), { code: 'NON_FINITE', message: /^b, row 2/ });
  }
  const badSum = { data: new Float64Array([0.2, 0.8, 0.5, 0.6, 1, 0]), n: 3, k: 2 };
  t.throws(() => divergencePerSampleSync(good, badSum, ['js'], { outputs: 'probs' }), {
    code: 'INVALID_PROBS',
    message: /^b, row 1: probabilities sum to 1\.1/,
  });
  const negative = { data: new Float64Array([0.2, 0.8, 1.5, -0.5, 1, 0]), n: 3, k: 2 };
  t.throws(() => divergencePerSampleSync(negative, good, ['js'], { outputs: 'probs' }), { code: 'INVALID_PROBS', message: /^a, row 1: has a negative/ });
  // Within 1e-4 of 1 is accepted, as documented.
  const nearly = { data: new Float64Array([0.2, 0.80005, 0.5, 0.5, 1, 0]), n: 3, k: 2 };
  t.doesNotThrow(() => divergencePerSampleSync(nearly, good, ['js'], { outputs: 'probs' }));
  const s = { data: new Float64Array([0.5, 1.2]), n: 2, k: 1 };
  t.throws(() => divergencePerSampleSync(s, s, ['js'], { outputs: 'sigmoid' }), { code: 'INVALID_PROBS', message: /^a, row 1: sigmoid probability 1\.2/ });
  t.throws(() => divergencePerSampleSync({ data: new Float64Array([Infinity]), n: 1, k: 1 }, { data: new Float64Array([1]), n: 1, k: 1 }, ['js'], { outputs: 'sigmoid-logit' }), {
    code: 'NON_FINITE',
    message: /^a, row 0/,
  });
  t.throws(() => divergencePerSampleSync(good, good, ['js'], { outputs: 'sigmoid' }), { code: 'INVALID_ARGUMENT', message: /one column/ });
  t.throws(() => divergencePerSampleSync(good, good, []), { code: 'INVALID_ARGUMENT' });
  t.throws(() => divergencePerSampleSync(good, good, ['nope' as FunctionMeasureName]), { code: 'INVALID_ARGUMENT', message: /unknown measure 'nope'/ });
  t.throws(() => divergencePerSampleSync(good, good, ['js'], { epsilon: -1 }), { code: 'INVALID_ARGUMENT', message: /epsilon/ });
  t.throws(() => divergencePerSampleSync(good, good, ['js'], { epsilon: NaN }), { code: 'INVALID_ARGUMENT', message: /epsilon/ });
  t.throws(() => divergencePerSampleSync(good, good, ['js'], { threads: 0 }), { code: 'INVALID_ARGUMENT', message: /threads/ });
  t.throws(() => divergencePerSampleSync(good, good, ['js'], { outputs: 'softmax' as OutputKind }), { code: 'INVALID_ARGUMENT', message: /outputs must be/ });
  const unsupported = (['scalar', 'avx2', 'avx512', 'neon'] as const).find((i) => !ISAS.includes(i));
  if (unsupported) {
    t.throws(() => divergencePerSampleSync(good, good, ['js'], { isa: unsupported }), { code: 'INVALID_ARGUMENT', message: /not supported on this CPU/ });
  }
  // Errors raised by the binding itself (bypassing the TS checks) still carry a code.
  t.throws(() => native.divergencePerSampleSync({ a: good.data, b: good.data, n: 3, k: 3, measures: ['js'], kind: 'logits' }), { code: 'SHAPE_MISMATCH' });
  t.throws(() => native.divergencePerSampleSync({ a: good.data, b: good.data, n: 3, k: 2, measures: ['js'], kind: 'x' as 'logits' }), { code: 'INVALID_ARGUMENT' });
});

t.test('argmax-only requests skip the softmax but still check finiteness', async (t) => {
  const rng = createRng(9);
  for (const [k, f32] of [[5, false], [300, false], [301, true]] as const) {
    const a = randomLogits(rng, 40, k, f32);
    const b = randomLogits(rng, 40, k, f32);
    for (const isa of ISAS) {
      const only = divergencePerSampleSync(a, b, ['disagreement', 'l2'], { outputs: 'logits', isa });
      const all = divergencePerSampleSync(a, b, ['disagreement', 'l2', 'js'], { outputs: 'logits', isa });
      t.same(only.disagreement, all.disagreement, `${isa} k=${k}: same labels as with the softmax`);
      t.same(only.l2, all.l2);
      for (const [col, value] of [[2, Infinity], [k - 1, NaN]] as const) {
        const bad = copyOf(b);
        bad.data[7 * k + col] = value;
        t.throws(() => divergencePerSampleSync(a, bad, ['disagreement'], { outputs: 'logits', isa }), {
          code: 'NON_FINITE',
          message: /^b, row 7/,
        });
      }
    }
  }
});

t.test('argmax ties go to the lowest index on every path and ISA', async (t) => {
  const rng = createRng(10);
  for (const k of [3, 5, 9, 17, 100, 301]) {
    const n = 64;
    // Few distinct values: many ties, within a vector and across lanes.
    const a = { data: Float64Array.from({ length: n * k }, () => rng.int(3)), n, k };
    const b = { data: Float64Array.from({ length: n * k }, () => rng.int(3)), n, k };
    const ref = Array.from({ length: n }, (_, r) => (argmax(row(a, r)) === argmax(row(b, r)) ? 0 : 1));
    for (const isa of ISAS) {
      for (const outputs of ['logits', 'probs'] as OutputKind[]) {
        const x = outputs === 'probs' ? { ...a, data: a.data.map((v, i) => (v + 1) / (rowSum(a, Math.floor(i / k)) + k)) } : a;
        const y = outputs === 'probs' ? { ...b, data: b.data.map((v, i) => (v + 1) / (rowSum(b, Math.floor(i / k)) + k)) } : b;
        const got = divergencePerSampleSync(x, y, ['disagreement'], { outputs, isa }).disagreement;
        t.same(Array.from(got), ref, `${isa} ${outputs} k=${k}`);
      }
    }
    t.same(Array.from(predict(a, 'logits').label), Array.from({ length: n }, (_, r) => argmax(row(a, r))), `predict k=${k}`);
  }
});

function rowSum(a: Matrix, r: number): number {
  return row(a, r).reduce((s, v) => s + v, 0);
}

t.test('thread count and sync/async do not change results', async (t) => {
  const rng = createRng(7);
  const a = randomLogits(rng, 30000, 10, true);
  const b = randomLogits(rng, 30000, 10, true);
  const measures: FunctionMeasureName[] = ['js', 'kl', 'tv', 'disagreement', 'cosine'];
  const one = await divergencePerSample(a, b, measures, { threads: 1 });
  const many = await divergencePerSample(a, b, measures, { threads: 7 });
  const sync = divergencePerSampleSync(a, b, measures, { threads: 2 });
  for (const m of measures) {
    t.same(many[m], one[m], `${m}: 7 threads = 1 thread, bit for bit`);
    t.same(sync[m], one[m], `${m}: sync = async`);
  }
});

t.test('pairwise matrix equals the per-pair means', async (t) => {
  const rng = createRng(8);
  const models = [0, 1, 2, 3].map(() => randomLogits(rng, 700, 6));
  const cost = Float64Array.from({ length: 36 }, (_, i) => (Math.floor(i / 6) === i % 6 ? 0 : 1 + ((i * 7) % 5)));
  for (const measure of ['js', 'kl', 'disagreement', 'emd-cost', 'l2'] as FunctionMeasureName[]) {
    const m = await pairwiseDivergence(models, measure, { outputs: 'logits', cost });
    let bad = 0;
    for (let i = 0; i < 4; i++) {
      for (let j = 0; j < 4; j++) {
        const v = m[i * 4 + j]!;
        if (i === j) {
          if (v !== 0) bad++;
          continue;
        }
        const per = divergencePerSampleSync(models[i]!, models[j]!, [measure], { outputs: 'logits', cost })[measure];
        const mean = per.reduce((s, x) => s + x, 0) / per.length;
        if (!close(v, mean, 1e-12, 1e-15)) {
          bad++;
          t.fail(`${measure} [${i},${j}] = ${v}, mean of per-sample values ${mean}`);
        }
      }
    }
    t.equal(bad, 0, `${measure}: every entry is the per-pair mean, diagonal 0`);
  }
  for (const k of [6, 80]) {
    const twin = randomLogits(rng, 50, k);
    const trio = [twin, randomLogits(rng, 50, k), copyOf(twin)];
    const kc = Float64Array.from({ length: k * k }, (_, i) => (Math.floor(i / k) === i % k ? 0 : 1));
    for (const measure of FUNCTION_MEASURE_NAMES) {
      const m = await pairwiseDivergence(trio, measure, { outputs: 'logits', cost: kc });
      t.ok(m[2] === 0 && m[6] === 0 && m[1]! > 0, `k=${k} ${measure}: identical models at different indices give exactly 0`);
    }
  }
  const kl = await pairwiseDivergence(models, 'kl', { outputs: 'logits' });
  t.not(kl[1], kl[4], 'KL matrix is not symmetric');
  const js1 = await pairwiseDivergence(models, 'js', { threads: 1 });
  const js2 = await pairwiseDivergence(models, 'js', { threads: 3 });
  t.same(js1, js2, 'pairwise result independent of thread count');
  await t.rejects(pairwiseDivergence([], 'js'), { code: 'INVALID_ARGUMENT' });
  await t.rejects(pairwiseDivergence([models[0]!, randomLogits(rng, 700, 5)], 'js'), {
    code: 'SHAPE_MISMATCH',
    message: /model 1 has shape \[700, 5\] but model 0 has shape \[700, 6\]/,
  });
  const broken = copyOf(models[2]!);
  broken.data[6 * 100 + 3] = NaN;
  await t.rejects(pairwiseDivergence([models[0]!, models[1]!, broken], 'tv', { names: ['m0', 'm1', 'm2.npy'] }), {
    code: 'NON_FINITE',
    message: /^m2\.npy, row 100/,
  });
});

t.test('resolveOutputKind picks and reports a kind', async (t) => {
  const probs = { data: new Float64Array([0.3, 0.7, 1, 0]), n: 2, k: 2 };
  const logits = { data: new Float64Array([0.3, 0.9, 1, 0]), n: 2, k: 2 };
  t.equal(resolveOutputKind([probs, probs]), 'probs');
  t.equal(resolveOutputKind([logits, logits]), 'logits');
  // Arrays 'auto' would read differently are an error naming them, never a silent choice.
  t.throws(() => resolveOutputKind([probs, logits], 'auto', ['p.npy', 'l.npy']), {
    code: 'INVALID_ARGUMENT',
    option: 'outputs',
    message: /^outputs 'auto' cannot read these arrays one way: p\.npy looks like probabilities .* but l\.npy like logits .*option outputs \(logits\|probs\|sigmoid\|sigmoid-logit\)/,
  });
  t.throws(() => resolveOutputKind([logits, logits, probs]), { message: /a looks like logits .* but c like probabilities/ });
  const offRow = { data: new Float64Array([0.3, 0.7, 1.1, 0]), n: 2, k: 2 }; // row 1 sums to 1.1
  t.throws(() => resolveOutputKind([probs, offRow]), { message: /b like logits/ }, 'a bad probability row is not quietly read as logits');
  t.equal(resolveOutputKind([probs, logits], 'probs'), 'probs', 'an explicit kind is not second-guessed');
  const sig = { data: new Float64Array([0.2, 0.9]), n: 2, k: 1 };
  const sigLogit = { data: new Float64Array([-1.4, 2.2]), n: 2, k: 1 };
  t.throws(() => resolveOutputKind([sig, sigLogit]), { message: /a looks like sigmoid probabilities .* but b like sigmoid logits/ });
  t.equal(resolveOutputKind([{ data: new Float64Array([-0.5, 1.5]), n: 2, k: 1 }]), 'sigmoid-logit');
  t.equal(resolveOutputKind([{ data: new Float32Array([0, 0.5, 1]), n: 3, k: 1 }]), 'sigmoid');
  t.equal(resolveOutputKind([probs], 'logits'), 'logits');
  t.equal(resolveOutputKind([{ data: new Float64Array([NaN, 1]), n: 1, k: 2 }]), 'logits', 'NaN is not a probability');
  t.equal(resolveOutputKind([]), 'logits');
  t.throws(() => resolveOutputKind([probs], 'softmax' as OutputKind), { code: 'INVALID_ARGUMENT' });
});

t.test('predict and cohenKappa', async (t) => {
  const logits = { data: new Float64Array([1, 3, 3, 0, 0, 0, 5, -1, 2]), n: 3, k: 3 };
  const p = predict(logits, 'logits');
  t.same(Array.from(p.label), [1, 0, 0], 'argmax with ties to the lowest index');
  t.ok(close(p.confidence[0]!, softmax([1, 3, 3])[1]!, 1e-15, 0));
  t.ok(close(p.confidence[1]!, 1 / 3, 1e-15, 0));
  const probs = predict({ data: new Float64Array([0.1, 0.9, 0.5, 0.5]), n: 2, k: 2 }, 'probs');
  t.same(Array.from(probs.label), [1, 0]);
  t.same(Array.from(probs.confidence), [0.9, 0.5]);
  const sig = predict({ data: new Float64Array([0.2, 0.5, 0.9]), n: 3, k: 1 }, 'sigmoid');
  t.same(Array.from(sig.label), [0, 0, 1]);
  t.ok(close(sig.confidence[0]!, 0.8, 1e-15, 0) && sig.confidence[2] === 0.9);
  const sl = predict({ data: new Float64Array([-2, 0, 3]), n: 3, k: 1 }, 'sigmoid-logit');
  t.same(Array.from(sl.label), [0, 0, 1]);
  t.ok(close(sl.confidence[0]!, 1 / (1 + Math.exp(-2)), 1e-15, 0) && sl.confidence[1] === 0.5);
  t.throws(() => predict({ data: new Float64Array([0, NaN]), n: 1, k: 2 }, 'logits'), { code: 'NON_FINITE', message: /row 0/ });
  t.throws(() => predict(logits, 'sigmoid'), { code: 'INVALID_ARGUMENT' });

  // Hand-computed: p_o = 0.8, p_e = (2·3 + 2·1 + 1·1) / 25 = 0.36, kappa = 0.44 / 0.64.
  t.ok(close(cohenKappa(Int32Array.from([0, 1, 1, 0, 2]), Int32Array.from([0, 1, 0, 0, 2]), 3), 0.6875, 1e-15, 0));
  t.equal(cohenKappa(Int32Array.from([1, 1]), Int32Array.from([1, 1]), 2), 1, 'identical constant labelings');
  t.equal(cohenKappa(Int32Array.from([0, 1, 0, 1]), Int32Array.from([1, 0, 1, 0]), 2), -1, 'perfect disagreement');
  t.throws(() => cohenKappa(Int32Array.from([0]), Int32Array.from([0, 1]), 2), { code: 'SHAPE_MISMATCH' });
  t.throws(() => cohenKappa(Int32Array.from([0, 2]), Int32Array.from([0, 1]), 2), { code: 'INVALID_ARGUMENT', message: /sample 1/ });
  t.throws(() => cohenKappa(new Int32Array(0), new Int32Array(0), 2), { code: 'INVALID_ARGUMENT' });
  t.throws(() => cohenKappa(new Int32Array(1), new Int32Array(1), 0), { code: 'INVALID_ARGUMENT' });
});

t.test('absurd thread counts are capped; the memory-read ceiling is benchmark-only', async (t) => {
  // divergenceMemoryRead is built only with MODELDIFF_BENCH_KERNELS; bench/divergence.bench.ts
  // checks its sums (checkMemoryRead) before timing it.
  t.equal((native as DivergenceBenchAddon).divergenceMemoryReadSync, undefined, 'not in the product build');
  const rng = createRng(77);
  const randomLogitsFor = (n: number, k: number) => randomLogits(rng, n, k);
  // Absurd thread counts are capped at the hardware's, not honoured (or the process would die).
  const a = randomLogitsFor(2000, 10);
  const b = randomLogitsFor(2000, 10);
  t.same(divergencePerSampleSync(a, b, ['js'], { threads: 100000 }).js, divergencePerSampleSync(a, b, ['js'], { threads: 1 }).js, 'per-sample with threads: 1e5');
});

t.test('float64 probabilities with subnormal entries: finite honest values, identical rows exactly 0, on every ISA', async (t) => {
  const tiny = 1e-310; // subnormal: 2 / (p + q) overflows if computed naively
  const a = { data: Float64Array.from([0, 1, tiny, 1 - tiny]), n: 2, k: 2 };
  const b = { data: Float64Array.from([tiny, 1, tiny, 1 - tiny]), n: 2, k: 2 };
  // Row 0 reference: only class 0 contributes, ½·q·ln(q / (q/2)) = ½·tiny·ln 2.
  const ref0 = 0.5 * tiny * Math.LN2;
  for (const isa of ISAS) {
    const r = divergencePerSampleSync(a, b, ['js', 'kl-reverse'], { outputs: 'probs', isa });
    t.ok(Number.isFinite(r.js[0]) && Math.abs(r.js[0] - ref0) <= 1e-6 * ref0, `${isa}: js row 0 = ${r.js[0]} (ref ${ref0})`);
    t.equal(r.js[1], 0, `${isa}: identical subnormal rows give exactly 0`);
    t.equal(r['kl-reverse'][1], 0, `${isa}: kl of identical subnormal rows is exactly 0`);
  }
});
