// Views as prepare/pair modules: the generic N-model driver prepares each model once and pairs
// each pair once, and the representations view through it gives the numbers pairwise cka calls
// give (same layer, same measures).
import t from 'tap';

import { cka } from '../lib/represent/model';
import { createRng } from '../lib/util/rng';
import { representationMatrices } from '../lib/views/representations';
import { type View, pairMatrix } from '../lib/views/view';
import { type DenseLayer, mlpModel } from './helpers/onnx-builder';

t.test('pairMatrix: N prepares, one pair per pair (mirrored when symmetric), ordered pairs otherwise', async (t) => {
  const prepared: number[] = [];
  const view: View<number, { scale: number }, number, number> = {
    prepare: async (m, c) => {
      prepared.push(m);
      return m * c.scale;
    },
    pair: async (a, b) => a - b,
  };
  const ordered = await pairMatrix(view, [1, 2, 4], { scale: 10 }, { symmetric: false });
  t.same(prepared, [1, 2, 4], 'each model prepared once, in order');
  t.same(ordered, [
    [null, -10, -30],
    [10, null, -20],
    [30, 20, null],
  ]);
  const progress: string[] = [];
  const mirrored = await pairMatrix(view, [1, 2, 4], { scale: 1 }, { symmetric: true, onProgress: (d, n) => progress.push(`${d}/${n}`) });
  t.same(mirrored, [
    [null, -1, -3],
    [-1, null, -2],
    [-3, -2, null],
  ], 'symmetric: (i, j) for i < j, copied to (j, i)');
  t.same(progress, ['0/3', '1/3', '2/3', '3/3']);
});

t.test('representation matrices through the view equal pairwise cka calls at the same layer', async (t) => {
  const rng = createRng(11);
  const sizes = [5, 8, 3];
  const model = (): Uint8Array => {
    const layers: DenseLayer[] = [];
    for (let l = 0; l + 1 < sizes.length; l++) {
      const W = Array.from({ length: sizes[l + 1] * sizes[l] }, () => rng.normal() / Math.sqrt(sizes[l]));
      layers.push({ W, b: Array.from({ length: sizes[l + 1] }, () => 0.2 * rng.normal()), out: sizes[l + 1], in: sizes[l], activation: l === 0 ? 'relu' : 'none' });
    }
    return mlpModel({ layers });
  };
  const models = [model(), model(), model(), model()];
  const probe = { data: Float32Array.from({ length: 48 * sizes[0] }, () => rng.normal()), shape: [48, sizes[0]] };
  const measures = ['cka-linear', 'procrustes'] as const;
  const r = await representationMatrices(models, probe, 'a0', { data: probe, measures: [...measures] });
  t.same(r.tensors, ['a0', 'a0', 'a0', 'a0']);
  for (let i = 0; i < models.length; i++) {
    t.equal(r.values['cka-linear']![i][i], 1, 'a model is identical to itself');
    t.equal(r.values.procrustes![i][i], 0);
    for (let j = i + 1; j < models.length; j++) {
      const pair = await cka(models[i], models[j], { data: probe, layers: [{ a: 'a0', b: 'a0' }], measures: [...measures] });
      for (const m of measures) {
        const want = pair.pairs[0].values[m] as number;
        t.ok(Math.abs(r.values[m]![i][j] - want) <= 1e-12, `${m} (${i}, ${j}): ${r.values[m]![i][j]} = cka's ${want}`);
        t.equal(r.values[m]![j][i], r.values[m]![i][j], `${m} is symmetric`);
      }
      t.ok((r.values['cka-linear']![i][j] as number) < 1, 'independent random models are not identical');
    }
  }
  await t.rejects(representationMatrices(models.slice(0, 1), probe, 'a0'), { code: 'INVALID_ARGUMENT', message: /at least 2 models/ });
  await t.rejects(representationMatrices(models.slice(0, 2), probe, 'nope'), { message: /nope/ });
});
