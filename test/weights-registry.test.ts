/**
 * The registry's declared properties of the weight measures hold on real
 * computations: every entry maps to a value `weightDistance` reports, ranges,
 * identity, symmetry and the triangle inequality where declared, and the
 * invariances (a permuted, rescaled copy).
 */
import t from 'tap';

import { measuresOf } from '../lib/measures/registry';
import { weightMeasureValue } from '../lib/measures/weights';
import { weightDistance } from '../lib/weights';
import { createRng, mlpBytes, randomDense, randomPerm, transformHidden } from './helpers/onnx-models';

const rng = createRng(41);
const nets = [0, 1, 2].map(() => randomDense(rng, [4, 6, 5, 2]));
const models = nets.map((n) => mlpBytes(n, 'relu'));
const infos = measuresOf('weights');

t.test('the registry declares exactly the nine weight measures, each reported', async (t) => {
  t.same(infos.map((m) => m.name).sort(), ['aligned-cosine', 'aligned-l2', 'aligned-relative', 'canonical-cosine', 'canonical-l2', 'canonical-relative', 'raw-cosine', 'raw-l2', 'raw-relative']);
  const r = await weightDistance(models[0], models[1]);
  for (const m of infos) {
    const v = weightMeasureValue(r, m.name);
    t.type(v, 'number', m.name);
    t.ok(v! >= m.range[0] && v! <= m.range[1], `${m.name} = ${v} within [${m.range}]`);
  }
  t.equal(weightMeasureValue({}, 'raw-l2'), undefined);
});

t.test('identity, symmetry and the triangle inequality where declared', async (t) => {
  const d = new Map<string, number>();
  for (let i = 0; i < 3; i++) {
    for (let j = 0; j < 3; j++) {
      const r = await weightDistance(models[i], models[j]);
      for (const m of infos) d.set(`${m.name} ${i} ${j}`, weightMeasureValue(r, m.name)!);
    }
  }
  for (const m of infos) {
    const v = (i: number, j: number) => d.get(`${m.name} ${i} ${j}`)!;
    const self = m.largerIsSimilar ? 1 : 0;
    for (let i = 0; i < 3; i++) t.ok(Math.abs(v(i, i) - self) < 1e-9, `${m.name}(a, a) = ${self}`);
    if (m.symmetric) t.ok(Math.abs(v(0, 1) - v(1, 0)) <= 1e-9 * Math.max(1, v(0, 1)), `${m.name} symmetric`);
    if (m.metric) {
      for (const [i, j, k] of [[0, 1, 2], [1, 2, 0], [2, 0, 1]]) t.ok(v(i, k) <= v(i, j) + v(j, k) + 1e-9, `${m.name} triangle ${i}${j}${k}`);
    }
  }
});

t.test('declared invariances: canonical and aligned ignore permutation and positive rescaling, raw does not', async (t) => {
  const copy = transformHidden(nets[0], 0, randomPerm(rng, 6), Array.from({ length: 6 }, () => Math.exp(rng.float() - 0.5)));
  const r = await weightDistance(models[0], mlpBytes(copy, 'relu'));
  for (const m of infos) {
    const invariant = m.invariantTo.some((s) => s.startsWith('hidden-unit permutation')) && m.invariantTo.some((s) => s.startsWith('positive rescaling'));
    const v = weightMeasureValue(r, m.name)!;
    const atIdentity = m.largerIsSimilar ? Math.abs(v - 1) < 1e-6 : Math.abs(v) < 1e-5 * (m.name.endsWith('-l2') ? 10 : 1);
    t.equal(atIdentity, invariant, `${m.name}: ${v}`);
  }
});

t.test('declared invariances hold against an unrelated model, on the side they name', async (t) => {
  // One hidden layer: weight matching is then an exact assignment, so any
  // difference comes from the measure's definition, not from a local optimum.
  const one = [0, 1].map(() => randomDense(rng, [4, 7, 3]));
  const g = (net: typeof one[0]) => mlpBytes(transformHidden(net, 0, randomPerm(rng, 7), Array.from({ length: 7 }, () => Math.exp(2 * rng.float() - 1))), 'relu');
  const [a, c] = one.map((n) => mlpBytes(n, 'relu'));
  const base = await weightDistance(a, c);
  const movedA = await weightDistance(g(one[0]), c);
  const movedC = await weightDistance(a, g(one[1]));
  for (const m of infos) {
    const rescaling = m.invariantTo.find((s) => s.startsWith('positive rescaling'));
    const permutation = m.invariantTo.some((s) => s.startsWith('hidden-unit permutation'));
    if (!rescaling || !permutation) continue;
    const v = weightMeasureValue(base, m.name)!;
    const close = (w: number) => Math.abs(w - v) <= 1e-6 * Math.max(1, Math.abs(v)); // float32 weights
    t.ok(close(weightMeasureValue(movedC, m.name)!), `${m.name}: B permuted + rescaled ${weightMeasureValue(movedC, m.name)} vs ${v}`);
    // Declared for both models unless the declaration names B only.
    const bothSides = !/\bB's\b/.test(rescaling);
    t.equal(close(weightMeasureValue(movedA, m.name)!), bothSides, `${m.name}: A permuted + rescaled ${weightMeasureValue(movedA, m.name)} vs ${v} (declared: ${rescaling})`);
  }
});
