/** Which plots a study gets, each with a stable file-name id and a caption. */
import { symmetricWeights } from '../many/symmetric';
import type { StudyResult } from '../many/types';
import { formatNumber } from '../util/format-number';
import { type ScatterPoint, type VlSpec, dendrogramSpec, heatmapSpec, mapSpec, scatterSpec } from './specs';

export interface PlotDef {
  /** File-name-safe id: `--svg DIR` writes DIR/<id>.svg. */
  id: string;
  caption: string;
  spec: VlSpec;
}

/** The report's one number rule (the cards and tables use it too). */

/** Plot labels: the model names without the ".onnx" every one of them has. */
const short = (names: string[]): string[] => {
  const stripped = names.map((n) => n.replace(/\.onnx$/i, ''));
  return new Set(stripped).size === names.length ? stripped : names;
};

export function studyPlots(s: StudyResult): PlotDef[] {
  const names = short(s.models);
  const order = s.clustering.order;
  const unit = s.metric;
  const plots: PlotDef[] = [
    {
      id: 'heatmap-functional',
      caption: `Functional distance (${unit}) between every pair of models on the probe set, rows and columns in dendrogram order so that solutions form blocks.`,
      spec: heatmapSpec(`Output distance (${unit})`, names, s.functional, order, unit),
    },
  ];
  for (const method of s.weights.methods) {
    const m = s.weights[method];
    if (!m) continue;
    const mean = method === 'aligned' ? ' (mean of aligning either model to the other)' : '';
    // Aligned distances are measured in the reference model's own unit scales (see lib/weights/aligned.ts).
    const frame = method === 'aligned' ? " Each direction is measured in the reference model's own unit scales, so a model whose hidden units are unusually scaled (e.g. a rescaled copy) sits far from the others here; the canonical distance has no such bias." : '';
    plots.push({
      id: `heatmap-weights-${method}`,
      caption: `Weight distance (${method}, L2)${mean} between every pair of models, same order as the output heatmap.${frame}`,
      spec: heatmapSpec(`Weight distance (${method})`, names, symmetricWeights(m), order, `${method} L2`),
    });
  }
  for (const c of s.correlations) {
    const w = s.weights[c.method];
    if (!w) continue;
    const m = symmetricWeights(w);
    const points: ScatterPoint[] = s.pairs.map((p) => ({
      a: names[p.i],
      b: names[p.j],
      weight: m[p.i][p.j],
      functional: (p.functional.mean + p.functional.reverse) / 2,
      same: p.sameSolution,
    }));
    plots.push({
      id: `scatter-${c.method}`,
      caption: `Each point is a pair of models. Spearman ρ = ${formatNumber(c.spearman.r)} (Mantel p = ${formatNumber(c.spearman.p)}), Pearson r = ${c.pearson ? `${formatNumber(c.pearson.r)} (p = ${formatNumber(c.pearson.p)})` : 'n/a'}; dashed: least-squares fit.`,
      spec: scatterSpec(`${c.method} weight distance vs output distance`, points, `${c.method} weight distance (L2)`, `output distance (${unit})`),
    });
  }
  const mapCaption = s.accuracy ? 'Colour: solution cluster; size: accuracy on the labels.' : 'Colour: solution cluster.';
  plots.push({
    id: 'map-mds',
    caption: `Classical MDS of the output distance matrix. ${mapCaption}`,
    spec: mapSpec('Map of models: MDS of output distances', names, s.maps.mds, s.clustering.labels, s.accuracy),
  });
  if (s.maps.tsne) {
    plots.push({
      id: 'map-tsne',
      caption: `t-SNE of the models' concatenated predictions (Erhan et al. 2009). ${mapCaption}`,
      spec: mapSpec('Map of models: t-SNE of predictions', names, s.maps.tsne, s.clustering.labels, s.accuracy),
    });
  }
  if (s.maps.umap) {
    plots.push({
      id: 'map-umap',
      caption: `UMAP of the output distance matrix. ${mapCaption}`,
      spec: mapSpec('Map of models: UMAP of output distances', names, s.maps.umap, s.clustering.labels, s.accuracy),
    });
  }
  plots.push({
    id: 'dendrogram',
    caption: `Average-linkage clustering of the output distances. Dashed: the threshold ${formatNumber(s.threshold.value)} (${s.threshold.source}); merges below it are the same solution.`,
    spec: dendrogramSpec('Dendrogram of solutions', names, s.clustering.merges, s.clustering.order, s.threshold.value, unit),
  });
  return plots;
}
