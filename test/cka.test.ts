// Representation similarity on matrices: every measure against a float64
// reference written here (naive n×n HSIC, Gram-Schmidt CCA, explicit SVDs),
// plus the invariances that define the measures, and the kernel's parity with
// a naive triple loop on every ISA this machine supports.
import { Matrix, SingularValueDecomposition } from 'ml-matrix';
import t, { type Test } from 'tap';

import { ModeldiffError } from '../lib/errors';
import { capabilities } from '../lib/native';
import { featureGrams, sampleGram } from '../lib/represent/gram';
import type { Matrix as Activations } from '../lib/matrix';
import { medianOffDiagonal, quickselect } from '../lib/represent/rbf';
import { REPRESENTATION_MEASURES, representationSimilarity } from '../lib/represent/similarity';
import { createRng } from '../lib/util/rng';

type M = number[][];
const rng = createRng(20261126);

function randn(n: number, p: number, shift = 0): M {
  return Array.from({ length: n }, () => Array.from({ length: p }, () => rng.normal() + shift));
}
function act(a: M, f32 = false): Activations {
  const n = a.length;
  const p = a[0].length;
  const data = f32 ? new Float32Array(n * p) : new Float64Array(n * p);
  for (let i = 0; i < n; i++) for (let j = 0; j < p; j++) data[i * p + j] = a[i][j];
  return { data, n, k: p };
}
function mul(a: M, b: M): M {
  return a.map((row) => b[0].map((_, j) => row.reduce((s, v, k) => s + v * b[k][j], 0)));
}
function transpose(a: M): M {
  return a[0].map((_, j) => a.map((r) => r[j]));
}
function center(a: M): M {
  const n = a.length;
  const mean = a[0].map((_, j) => a.reduce((s, r) => s + r[j], 0) / n);
  return a.map((r) => r.map((v, j) => v - mean[j]));
}
function scale(a: M, s: number): M {
  return a.map((r) => r.map((v) => v * s));
}
/** Random orthogonal matrix (Gram-Schmidt on a Gaussian matrix). */
function orthogonal(p: number): M {
  return transpose(gramSchmidt(randn(p, p)).q);
}
/** Orthonormal basis of the columns (Gram-Schmidt with re-orthogonalization), dropping dependent ones. */
function gramSchmidt(a: M): { q: M } {
  const cols = transpose(a);
  const basis: number[][] = [];
  for (const c of cols) {
    const v = c.slice();
    const norm0 = Math.hypot(...v);
    for (let pass = 0; pass < 2; pass++)
      for (const b of basis) {
        const d = b.reduce((s, x, i) => s + x * v[i], 0);
        for (let i = 0; i < v.length; i++) v[i] -= d * b[i];
      }
    const norm = Math.hypot(...v);
    if (norm > 1e-9 * norm0) basis.push(v.map((x) => x / norm));
  }
  return { q: basis }; // rows are the basis vectors
}
function frob2(a: M): number {
  return a.reduce((s, r) => s + r.reduce((t, v) => t + v * v, 0), 0);
}
/** tr(K H L H) with H applied explicitly. */
function hsicNaive(K: M, L: M): number {
  const n = K.length;
  const H: M = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? 1 : 0) - 1 / n));
  const A = mul(mul(K, H), mul(L, H));
  return A.reduce((s, r, i) => s + r[i], 0) / (n - 1) ** 2;
}
/** Song et al. 2012 unbiased HSIC, written out literally. */
function hsicUnbiasedNaive(K0: M, L0: M): number {
  const n = K0.length;
  const K = K0.map((r, i) => r.map((v, j) => (i === j ? 0 : v)));
  const L = L0.map((r, i) => r.map((v, j) => (i === j ? 0 : v)));
  const KL = mul(K, L);
  const tr = KL.reduce((s, r, i) => s + r[i], 0);
  const sumK = K.flat().reduce((a, b) => a + b, 0);
  const sumL = L.flat().reduce((a, b) => a + b, 0);
  const oneKL1 = KL.flat().reduce((a, b) => a + b, 0);
  return (tr + (sumK * sumL) / ((n - 1) * (n - 2)) - (2 / (n - 2)) * oneKL1) / (n * (n - 3));
}
function linearGram(x: M): M {
  const c = center(x);
  return mul(c, transpose(c));
}
function ckaRef(K: M, L: M, h = hsicNaive): number {
  return h(K, L) / Math.sqrt(h(K, K) * h(L, L));
}
function rbfGram(x: M, sigma: number, minusOne = false): M {
  const n = x.length;
  const d2 = x.map((a) => x.map((b) => a.reduce((s, v, k) => s + (v - b[k]) ** 2, 0)));
  const pairs: number[] = [];
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) pairs.push(d2[i][j]);
  pairs.sort((a, b) => a - b);
  const m = pairs.length;
  const med = m % 2 ? pairs[(m - 1) / 2] : (pairs[m / 2 - 1] + pairs[m / 2]) / 2;
  return d2.map((r) => r.map((v) => (minusOne ? Math.expm1 : Math.exp)(-v / (2 * sigma * sigma * med))));
}
/** Canonical correlations via orthonormal bases of the centered columns. */
function ccaRef(x: M, y: M): { rho: number[]; alpha: number[] } {
  const qx = gramSchmidt(center(x)).q; // rx × n
  const qy = gramSchmidt(center(y)).q;
  const small = qx.length <= qy.length ? qx : qy;
  const other = small === qx ? qy : qx;
  const units = transpose(center(small === qx ? x : y)); // p × n
  const m = new Matrix(mul(other, transpose(small))); // r_other × r_small
  const svd = new SingularValueDecomposition(m);
  const V = svd.rightSingularVectors;
  const rho = svd.diagonal.slice(0, small.length);
  const alpha = rho.map((_, i) => {
    const h = transpose(small).map((row) => row.reduce((s, v, k) => s + v * V.get(k, i), 0)); // n-vector
    return units.reduce((s, u) => s + Math.abs(u.reduce((t, v, k) => t + v * h[k], 0)), 0);
  });
  return { rho, alpha };
}
function close(t: Test, got: number | null | undefined, want: number, tol: number, msg: string) {
  t.ok(typeof got === 'number' && Math.abs(got - want) <= tol * Math.max(1, Math.abs(want)), `${msg}: got ${got}, want ${want}`);
}

const X = randn(60, 7, 2);
const Y = mul(X, randn(7, 5)).map((r) => r.map((v) => v + 0.5 * rng.normal()));

t.test('linear CKA and debiased CKA match naive n×n HSIC, in feature and sample space', async (t) => {
  const K = linearGram(X);
  const L = linearGram(Y);
  const want = ckaRef(K, L);
  const wantDebiased = ckaRef(K, L, hsicUnbiasedNaive);
  t.ok(Math.abs(want - wantDebiased) > 1e-3, 'biased and debiased differ on small n');
  for (const space of ['feature', 'sample'] as const) {
    for (const f32 of [false, true]) {
      const r = await representationSimilarity(act(X, f32), act(Y, f32), ['cka-linear', 'cka-linear-debiased'], { space });
      t.equal(r.space, space);
      const tol = f32 ? 1e-6 : 1e-10;
      // float32 inputs: the reference must see the same rounded values.
      const xr = f32 ? X.map((r) => r.map(Math.fround)) : X;
      const yr = f32 ? Y.map((r) => r.map(Math.fround)) : Y;
      close(t, r.values['cka-linear'], f32 ? ckaRef(linearGram(xr), linearGram(yr)) : want, tol, `cka-linear ${space} f32=${f32}`);
      close(t, r.values['cka-linear-debiased'], f32 ? ckaRef(linearGram(xr), linearGram(yr), hsicUnbiasedNaive) : wantDebiased, tol, `debiased ${space} f32=${f32}`);
    }
  }
  // The unbiased estimator does not care whether the linear Gram is built from centered features.
  const raw = mul(X, transpose(X));
  close(t, ckaRef(raw, mul(Y, transpose(Y)), hsicUnbiasedNaive), wantDebiased, 1e-9, 'unbiased HSIC is translation invariant');
  const auto = await representationSimilarity(act(X), act(Y), ['cka-linear']);
  t.equal(auto.space, 'feature', 'auto picks feature space when p ≪ n');
  const wide = await representationSimilarity(act(X.slice(0, 8)), act(Y.slice(0, 8)), ['cka-linear']);
  t.equal(wide.space, 'sample', 'auto picks sample space when px + py > n');
  close(t, wide.values['cka-linear'], ckaRef(linearGram(X.slice(0, 8)), linearGram(Y.slice(0, 8))), 1e-10, 'wide case');
});

t.test('linear CKA: 1 on itself, invariant to orthogonal maps and isotropic scaling, not to general linear maps', async (t) => {
  const cka = async (a: M, b: M) => (await representationSimilarity(act(a), act(b), ['cka-linear'])).values['cka-linear'] as number;
  close(t, await cka(X, X), 1, 1e-12, 'CKA(X, X)');
  const base = await cka(X, Y);
  close(t, await cka(mul(X, orthogonal(7)), Y), base, 1e-10, 'orthogonal X');
  close(t, await cka(scale(X, 3.7), Y), base, 1e-10, 'scaled X');
  close(t, await cka(X.map((r) => r.map((v) => v + 100)), Y), base, 1e-9, 'translated X');
  const A = randn(7, 7).map((r, i) => r.map((v, j) => (j === i ? v * 25 : v)));
  t.ok(Math.abs((await cka(mul(X, A), Y)) - base) > 1e-3, 'an anisotropic invertible map changes linear CKA');
  // Independent random representations: CKA near 0 (its bias is ~p/n).
  const ind = await cka(randn(2000, 10), randn(2000, 10));
  t.ok(ind < 0.03, `independent: ${ind}`);
  const indDebiased = (await representationSimilarity(act(randn(2000, 10)), act(randn(2000, 10)), ['cka-linear-debiased'])).values['cka-linear-debiased'] as number;
  t.ok(Math.abs(indDebiased) < 0.01, `independent, debiased: ${indDebiased}`);
});

t.test('RBF CKA matches a naive reference; σ changes it; 1 on itself', async (t) => {
  for (const sigma of [0.8, 2]) {
    const r = await representationSimilarity(act(X), act(Y), ['cka-rbf'], { sigma });
    close(t, r.values['cka-rbf'], ckaRef(rbfGram(X, sigma), rbfGram(Y, sigma)), 1e-10, `cka-rbf σ=${sigma}`);
    t.ok(r.bandwidth!.x > 0 && r.bandwidth!.y > 0);
  }
  const self = await representationSimilarity(act(Y), act(Y), ['cka-rbf']);
  close(t, self.values['cka-rbf'], 1, 1e-12, 'rbf self');
  // Wide bandwidths: K → 1 − d/(2h²), so RBF CKA tends to linear CKA (corrections O(1/σ²)) and
  // must never exceed 1. The reference keeps K − 1 (expm1) so that its own centring is exact.
  const linear = (await representationSimilarity(act(X), act(Y), ['cka-linear'])).values['cka-linear'] as number;
  for (const sigma of [100, 1000, 1e4, 1e6]) {
    const v = (await representationSimilarity(act(X), act(Y), ['cka-rbf'], { sigma })).values['cka-rbf'] as number;
    t.ok(v <= 1, `σ=${sigma}: ${v} <= 1`);
    t.ok(Math.abs(v - linear) <= 10 / sigma ** 2 + 1e-9, `σ=${sigma}: ${v} → linear CKA ${linear}`);
    close(t, v, ckaRef(rbfGram(X, sigma, true), rbfGram(Y, sigma, true)), 1e-8, `σ=${sigma} vs the expm1 reference`);
  }
  // Odd pair count path of the median.
  const odd = X.slice(0, 6); // 15 pairs
  const r = await representationSimilarity(act(odd), act(Y.slice(0, 6)), ['cka-rbf']);
  close(t, r.values['cka-rbf'], ckaRef(rbfGram(odd, 0.8), rbfGram(Y.slice(0, 6), 0.8)), 1e-10, 'odd pair count');
});

t.test('median helpers agree with sorting', async (t) => {
  for (const len of [1, 2, 7, 100, 101]) {
    const v = Float64Array.from({ length: len }, () => Math.round(rng.normal() * 5));
    const sorted = Array.from(v).sort((a, b) => a - b);
    for (const k of [0, len >> 1, len - 1]) t.equal(quickselect(Float64Array.from(v), k), sorted[k]);
  }
  const D = Float64Array.from([0, 1, 5, 1, 0, 3, 5, 3, 0]);
  t.equal(medianOffDiagonal(D, 3), 3);
  const D4 = new Float64Array(16);
  [1, 2, 3, 4, 5, 6].forEach((v, i) => {
    const [a, b] = [[0, 1], [0, 2], [0, 3], [1, 2], [1, 3], [2, 3]][i];
    D4[a * 4 + b] = D4[b * 4 + a] = v;
  });
  t.equal(medianOffDiagonal(D4, 4), 3.5);
});

t.test('Procrustes: 0 for X vs X·Q and scaled copies, matches an explicit SVD otherwise', async (t) => {
  const pr = async (a: M, b: M) => (await representationSimilarity(act(a), act(b), ['procrustes'])).values.procrustes as number;
  t.ok((await pr(X, mul(scale(X, 0.3), orthogonal(7)))) < 1e-12, 'X vs 0.3·X·Q');
  const xc = center(X);
  const yc = center(Y);
  const nuclear = new SingularValueDecomposition(new Matrix(mul(transpose(xc), yc)), { autoTranspose: true }).diagonal.reduce((a, b) => a + b, 0);
  close(t, await pr(X, Y), 2 - (2 * nuclear) / Math.sqrt(frob2(xc) * frob2(yc)), 1e-10, 'procrustes vs reference');
  const d = await pr(X, randn(60, 3));
  t.ok(d > 0.5 && d <= 2, `unrelated: ${d}`);
});

t.test('CCA family: matches Gram-Schmidt reference; mean CCA = 1 for Y = X·A', async (t) => {
  const r = await representationSimilarity(act(X), act(Y), ['cca-mean', 'pwcca', 'svcca']);
  const ref = ccaRef(X, Y);
  close(t, r.values['cca-mean'], ref.rho.reduce((a, b) => a + b, 0) / ref.rho.length, 1e-8, 'cca-mean');
  const aSum = ref.alpha.reduce((a, b) => a + b, 0);
  close(t, r.values.pwcca, ref.rho.reduce((s, v, i) => s + (v * ref.alpha[i]) / aSum, 0), 1e-8, 'pwcca');
  t.equal(r.ccaDirections?.cca, 5);
  t.same(r.warnings, []);
  // More directions than samples: CCA is forced to 1 and says so.
  const wide = await representationSimilarity(act(X.slice(0, 9)), act(Y.slice(0, 9)), ['cca-mean', 'svcca']);
  t.equal(wide.warnings.length, 2);
  t.match(wide.warnings[0], /cca-mean\/pwcca: 7 \+ 5 directions for 9 samples, so at least 4 canonical correlations are 1/);
  // SVCCA reference: keep each side's top principal directions explaining 99% of the variance.
  const reduce = (a: M) => {
    const c = center(a);
    const svd = new SingularValueDecomposition(new Matrix(c));
    const s2 = svd.diagonal.map((s) => s * s);
    const total = s2.reduce((x, y) => x + y, 0);
    let k = 0;
    for (let acc = 0; k < s2.length && acc < 0.99 * total; ) acc += s2[k++];
    return mul(c, svd.rightSingularVectors.subMatrix(0, a[0].length - 1, 0, k - 1).to2DArray());
  };
  const sv = ccaRef(reduce(X), reduce(Y));
  close(t, r.values.svcca, sv.rho.reduce((a, b) => a + b, 0) / sv.rho.length, 1e-8, 'svcca');
  t.equal(r.ccaDirections?.svcca, sv.rho.length);

  const A = randn(7, 7);
  const same = await representationSimilarity(act(X), act(mul(X, A)), ['cca-mean', 'pwcca', 'svcca']);
  close(t, same.values['cca-mean'], 1, 1e-7, 'mean CCA of X vs X·A');
  close(t, same.values.pwcca, 1, 1e-7, 'PWCCA of X vs X·A');
  // One unit each: the canonical correlation is |Pearson r|.
  const a1 = X.map((r) => [r[0]]);
  const b1 = Y.map((r) => [r[1]]);
  const ca = center(a1).map((r) => r[0]);
  const cb = center(b1).map((r) => r[0]);
  const pearson = ca.reduce((s, v, i) => s + v * cb[i], 0) / Math.sqrt(ca.reduce((s, v) => s + v * v, 0) * cb.reduce((s, v) => s + v * v, 0));
  close(t, (await representationSimilarity(act(a1), act(b1), ['cca-mean'])).values['cca-mean'], Math.abs(pearson), 1e-10, 'p=1 CCA is |r|');
  // Rank-deficient X (a duplicated unit): the zero-variance direction is dropped.
  const dup = X.map((r) => [...r, r[0]]);
  const rd = await representationSimilarity(act(dup), act(Y), ['cca-mean']);
  close(t, rd.values['cca-mean'], ref.rho.reduce((a, b) => a + b, 0) / ref.rho.length, 1e-6, 'duplicated column');
});

t.test('all measures run together and agree with running them one by one', async (t) => {
  const all = await representationSimilarity(act(X), act(Y), REPRESENTATION_MEASURES);
  for (const m of REPRESENTATION_MEASURES) {
    const one = await representationSimilarity(act(X), act(Y), [m]);
    t.equal(all.values[m], one.values[m], m);
  }
});

t.test('Gram kernel equals a naive triple loop on every ISA, f32 and f64, odd sizes', async (t) => {
  const n = 203;
  const a = randn(n, 13, 5);
  const b = randn(n, 6, -2);
  const ca = center(a);
  const cb = center(b);
  const xy = mul(transpose(ca), cb);
  const xx = mul(transpose(ca), ca);
  const K = mul(ca, transpose(ca));
  for (const isa of capabilities().supported) {
    for (const f32 of [false, true]) {
      const ar = f32 ? a.map((r) => r.map(Math.fround)) : a;
      const br = f32 ? b.map((r) => r.map(Math.fround)) : b;
      const refXY = f32 ? mul(transpose(center(ar)), center(br)) : xy;
      const refXX = f32 ? mul(transpose(center(ar)), center(ar)) : xx;
      for (const threads of [1, 3]) {
        const g = await featureGrams(act(a, f32), act(b, f32), { isa, threads });
        let err = 0;
        for (let i = 0; i < 13; i++) for (let j = 0; j < 6; j++) err = Math.max(err, Math.abs(g.xy[i * 6 + j] - refXY[i][j]) / (1 + Math.abs(refXY[i][j])));
        for (let i = 0; i < 13; i++) for (let j = 0; j < 13; j++) err = Math.max(err, Math.abs(g.xx[i * 13 + j] - refXX[i][j]) / (1 + Math.abs(refXX[i][j])));
        t.ok(err < 1e-12, `${isa} f32=${f32} threads=${threads}: max rel err ${err}`);
        close(t, g.rowSqX[7], center(ar)[7].reduce((s, v) => s + v * v, 0), 1e-12, 'row norm');
      }
    }
    const S = await sampleGram(act(a), 'dot', { isa });
    const D = await sampleGram(act(a), 'sqdist', { isa });
    let err = 0;
    for (let i = 0; i < n; i += 5)
      for (let j = 0; j < n; j += 3) {
        err = Math.max(err, Math.abs(S[i * n + j] - K[i][j]) / (1 + Math.abs(K[i][j])));
        const d = a[i].reduce((s, v, k) => s + (v - a[j][k]) ** 2, 0);
        err = Math.max(err, Math.abs(D[i * n + j] - d) / (1 + d));
      }
    t.ok(err < 1e-12, `${isa} sample Gram: ${err}`);
    t.equal(D[5 * n + 5], 0, 'exact zero diagonal');
  }
});

t.test('every SIMD path gives the scalar path\'s CKA (parity)', async (t) => {
  const a = act(randn(501, 37, 1), true);
  const b = act(randn(501, 29, -1), true);
  for (const space of ['feature', 'sample'] as const) {
    const ref = (await representationSimilarity(a, b, ['cka-linear', 'cka-linear-debiased'], { isa: 'scalar', space })).values;
    for (const isa of capabilities().supported) {
      const got = (await representationSimilarity(a, b, ['cka-linear', 'cka-linear-debiased'], { isa, space, threads: 2 })).values;
      close(t, got['cka-linear'], ref['cka-linear'] as number, 1e-13, `${isa} ${space} cka-linear`);
      close(t, got['cka-linear-debiased'], ref['cka-linear-debiased'] as number, 1e-12, `${isa} ${space} debiased`);
    }
  }
});

t.test('bad input: clear errors naming the matrix, row and column', async (t) => {
  const bad = act(X);
  bad.data[3 * 7 + 2] = NaN;
  await t.rejects(representationSimilarity(bad, act(Y)), { code: 'NON_FINITE', message: /matrix X .*row 3, column 2/ });
  const badY = act(Y, true);
  badY.data[10] = Infinity;
  await t.rejects(representationSimilarity(act(X), badY, ['cka-rbf']), { code: 'NON_FINITE', message: /matrix X .*row 2, column 0/ }, 'sample Gram names its own input');
  await t.rejects(representationSimilarity(act(X), act(Y.slice(1))), { code: 'SHAPE_MISMATCH', message: /60 samples but Y has 59/ });
  await t.rejects(representationSimilarity({ data: new Float64Array(5), n: 2, k: 3 }, act(Y)), { code: 'SHAPE_MISMATCH' });
  await t.rejects(representationSimilarity({ data: [1, 2] as unknown as Float64Array, n: 1, k: 2 }, act(Y)), { code: 'INVALID_ARGUMENT' });
  await t.rejects(representationSimilarity(act(X), act(Y), ['nope' as 'cka-linear']), { code: 'INVALID_ARGUMENT', message: /unknown representation measure "nope"/ });
  await t.rejects(representationSimilarity(act(X), act(Y), []), { code: 'INVALID_ARGUMENT' });
  await t.rejects(representationSimilarity(act(X), act(Y), ['cka-rbf'], { sigma: 0 }), { message: /sigma/ });
  await t.rejects(representationSimilarity(act(X), act(Y), ['svcca'], { svccaVariance: 1.5 }), { message: /svccaVariance/ });
  await t.rejects(representationSimilarity(act(X), act(Y), ['svcca'], { rankTolerance: -1 }), { message: /rankTolerance/ });
  await t.rejects(representationSimilarity(act(X), act(Y), ['cka-linear'], { space: 'x' as 'auto' }), { message: /space/ });
  await t.rejects(representationSimilarity(act(X), act(Y), ['cka-rbf'], { maxSampleGram: 10 }), { message: /exceeds maxSampleGram/ });
  await t.rejects(representationSimilarity(act(X), act(Y), ['cka-linear', 'svcca', 'procrustes'], { maxDecomposition: 6 }), {
    message: /svcca, procrustes on 7 units exceeds maxDecomposition = 6 .*average conv maps over space \(options\.spatial 'mean'\)/,
  });
  await t.rejects(representationSimilarity(act(X), act(Y), ['procrustes'], { maxFeatureGram: 11 }), { message: /px \+ py = 12 exceeds maxFeatureGram = 11/ });
  t.equal((await representationSimilarity(act(X), act(Y), ['cka-linear'], { maxFeatureGram: 11 })).space, 'sample', 'auto avoids a too-wide feature Gram');
  await t.rejects(representationSimilarity(act(X), act(Y), ['cka-linear'], { maxFeatureGram: 11, space: 'feature' }), { message: /exceeds maxFeatureGram/ });
  await t.rejects(representationSimilarity(act(X), act(Y), ['cka-linear'], { isa: 'neon' }), { code: 'INVALID_ARGUMENT', message: /isa 'neon'/ });
  const huge = act(X.map((r) => r.map((v) => v * 1e100)));
  await t.rejects(representationSimilarity(huge, act(Y)), { code: 'NON_FINITE', message: /overflowed float64/ });
  await t.rejects(representationSimilarity(act(X.slice(0, 3)), act(Y.slice(0, 3)), ['cka-linear-debiased']), { message: /at least 4 samples/ });
  await t.rejects(representationSimilarity(act(X.slice(0, 3)), act(Y.slice(0, 3)), ['cka-linear-debiased'], { space: 'sample' }), { message: /at least 4 samples/ });
  await t.rejects(representationSimilarity(act(X.slice(0, 1)), act(Y.slice(0, 1))), { message: /at least 2 samples/ });
});
