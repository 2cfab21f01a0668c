// The registry's declared properties of the representation measures hold on
// random inputs: ranges, symmetry, identity value, and exactly the declared
// invariances (a transform that is not declared must change the value).
import t from 'tap';

import { measureInfo, measuresOf } from '../lib/measures/registry';
import { REPRESENTATION_INVARIANCES as I } from '../lib/measures/representations';
import type { Matrix } from '../lib/matrix';
import { REPRESENTATION_MEASURES, type RepresentationMeasureName, representationSimilarity } from '../lib/represent/similarity';
import { createRng } from '../lib/util/rng';

const rng = createRng(99);
const n = 50;
const p = 6;
const randn = (rows: number, cols: number) => Float64Array.from({ length: rows * cols }, () => rng.normal());
const X: Matrix = { data: randn(n, p), n, k: p };
// Y depends on X nonlinearly plus noise, with its own width.
const Y: Matrix = { data: new Float64Array(n * 5), n, k: 5 };
for (let i = 0; i < n; i++) for (let j = 0; j < 5; j++) Y.data[i * 5 + j] = Math.tanh(X.data[i * p + j] + 0.5 * X.data[i * p + j + 1]) + 0.3 * rng.normal();

function linear(m: Matrix, A: Float64Array, q: number): Matrix {
  const out = new Float64Array(m.n * q);
  for (let i = 0; i < m.n; i++) for (let k = 0; k < m.k; k++) for (let j = 0; j < q; j++) out[i * q + j] += m.data[i * m.k + k] * A[k * q + j];
  return { data: out, n: m.n, k: q };
}
function orthogonal(q: number): Float64Array {
  const cols: number[][] = [];
  while (cols.length < q) {
    const v = Array.from({ length: q }, () => rng.normal());
    for (const c of cols) {
      const d = c.reduce((s, x, i) => s + x * v[i], 0);
      c.forEach((x, i) => (v[i] -= d * x));
    }
    const norm = Math.hypot(...v);
    cols.push(v.map((x) => x / norm));
  }
  return Float64Array.from({ length: q * q }, (_, k) => cols[k % q][Math.floor(k / q)]);
}
const transforms: Record<string, (m: Matrix) => Matrix> = {
  [I.orthogonal]: (m) => linear(m, orthogonal(m.k), m.k),
  [I.isotropicScale]: (m) => ({ ...m, data: m.data.map((v) => 4.5 * v) }),
  [I.translation]: (m) => ({ ...m, data: m.data.map((v, k) => v + 10 * ((k % m.k) + 1)) }),
  // A strongly anisotropic invertible map.
  [I.invertibleLinear]: (m) => linear(m, Float64Array.from({ length: m.k * m.k }, (_, k) => (k % (m.k + 1) === 0 ? 1 + 20 * (k / (m.k + 1)) : 0.3 * rng.normal())), m.k),
  [I.permutation]: (m) => {
    const perm = rng.shuffle(Array.from({ length: m.k }, (_, i) => i));
    return { ...m, data: m.data.map((_, k) => m.data[Math.floor(k / m.k) * m.k + perm[k % m.k]]) };
  },
};

const infos = measuresOf('representations');
const value = async (a: Matrix, b: Matrix, m: RepresentationMeasureName) => (await representationSimilarity(a, b, [m])).values[m] as number;

t.test('the registry declares exactly the implemented measures', async (t) => {
  t.same(infos.map((m) => m.name), [...REPRESENTATION_MEASURES]);
  for (const name of ['loss-barrier', 'error-barrier', 'loss-barrier-aligned', 'error-barrier-aligned']) t.equal(measureInfo(name).view, 'path');
});

for (const info of infos) {
  const m = info.name as RepresentationMeasureName;
  t.test(`${m}: declared range, symmetry, identity and invariances hold`, async (t) => {
    const xy = await value(X, Y, m);
    t.ok(xy >= info.range[0] && xy <= info.range[1], `in range: ${xy}`);
    const yx = await value(Y, X, m);
    if (info.symmetric) t.ok(Math.abs(xy - yx) < 1e-9, `symmetric: ${xy} vs ${yx}`);
    const self = await value(X, { ...X, data: X.data.slice() }, m);
    t.ok(Math.abs(self - (info.largerIsSimilar ? 1 : 0)) < 1e-9, `identical inputs: ${self}`);
    if (m === 'procrustes' || m === 'cka-linear') t.equal(self, info.largerIsSimilar ? 1 : 0, 'exactly, on identical inputs');
    for (const [name, transform] of Object.entries(transforms)) {
      // Transform each side in turn (PWCCA's weights only see the narrower side).
      const change = Math.max(Math.abs((await value(transform(X), Y, m)) - xy), Math.abs((await value(X, transform(Y), m)) - xy));
      if (info.invariantTo.includes(name)) t.ok(change < 1e-8, `invariant to ${name}: changed by ${change}`);
      else t.ok(change > 1e-4, `not invariant to ${name}: changed by ${change}`);
    }
  });
}
