/**
 * A hand-made StudyResult (no ONNX, no kernels): 8 models in three groups, a
 * functional matrix and a raw weight matrix that tracks it, assembled with
 * the many-model layer's own statistics. Used by the report tests.
 */
import { clusterModels } from '../../lib/many/clustering';
import { mantel } from '../../lib/many/correlation';
import { classicalMds, tsne, umap } from '../../lib/many/embedding';
import { chao1, expectedAfter } from '../../lib/many/richness';
import type { PairRecord, StudyResult } from '../../lib/many/types';
import { createRng } from '../../lib/util/rng';

export function fixtureStudy(n = 8): StudyResult {
  const rng = createRng(21);
  const group = Array.from({ length: n }, (_, i) => (i < n / 2 ? 0 : i < (3 * n) / 4 ? 1 : 2));
  const centre = [[0, 0], [1, 0.2], [0.3, 1]];
  const pts = group.map((g) => [centre[g][0] + 0.01 * rng.normal(), centre[g][1] + 0.01 * rng.normal()]);
  const f: number[][] = pts.map((a) => pts.map((b) => Math.hypot(a[0] - b[0], a[1] - b[1]) * 0.05));
  const w: number[][] = f.map((r) => r.map((v) => (v === 0 ? 0 : 10 + 100 * v + rng.float())));
  for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) w[i][j] = w[j][i];
  const flat = f.flat();
  const clustering = clusterModels(flat, n, 0.005);
  const r = chao1(clustering.clusters.map((c) => c.length));
  const pairs: PairRecord[] = [];
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      pairs.push({
        i,
        j,
        a: `model-${i}.onnx`,
        b: `model-${j}.onnx`,
        functional: { mean: f[i][j], reverse: f[j][i], se: f[i][j] / 50, ci95: i === 0 ? [f[i][j] * 0.96, f[i][j] * 1.04] : null },
        weights: { raw: w[i][j] },
        sameSolution: clustering.labels[i] === clustering.labels[j],
      });
    }
  }
  return {
    models: Array.from({ length: n }, (_, i) => `model-${i}.onnx`),
    metric: 'js',
    probe: { samples: 500, classes: 10, outputKind: 'logits' },
    functional: f,
    weights: { methods: ['raw'], raw: w },
    seed: 0,
    accuracy: group.map((g, i) => 0.9 - 0.05 * g + 0.001 * i),
    threshold: { value: 0.005, source: 'bootstrap', definition: 'Test threshold.', pairsUsed: pairs.length, resamples: 200 },
    clustering,
    solutions: { ...r, expectedAfterDoubling: expectedAfter(r, n), counted: Array.from({ length: n }, (_, i) => `model-${i}.onnx`) },
    correlations: [
      {
        method: 'raw',
        spearman: mantel(w.flat(), flat, n, { permutations: 99 }),
        pearson: mantel(w.flat(), flat, n, { method: 'pearson', permutations: 99 }),
        fit: { slope: 0.01, intercept: -0.1 },
      },
    ],
    maps: { mds: classicalMds(flat, n), tsne: tsne(flat, n, { iterations: 100 }), umap: umap(flat, n) },
    pairs,
  };
}
