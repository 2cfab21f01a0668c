/**
 * Vega-Lite specifications of the report's plots. Each function returns a
 * plain spec (data inlined), so a plot is reproducible from the JSON alone
 * and `--svg DIR` can write exactly what the report shows.
 */
import type { DendrogramMerge } from '../many/clustering';
import type { Point2 } from '../many/embedding';
import { formatNumber } from '../util/format-number';

// vega-lite's TopLevelSpec is very wide; a loose record keeps this file readable.
export type VlSpec = Record<string, unknown>;

const FONT = 'Helvetica, Arial, sans-serif';
/** d3-format: up to 4 significant digits, trailing zeros trimmed (5e-15, 0.0045, 42). */
export const NUMBER_FORMAT = '.4~g';
const CONFIG = {
  font: FONT,
  view: { stroke: null },
  axis: { labelFontSize: 11, titleFontSize: 12, grid: true, gridColor: '#eceff3', domainColor: '#9aa4b1', tickColor: '#9aa4b1' },
  // Distances span 1e-15 (float32 copies) to 1e2: significant digits, not vega's fixed decimals
  // (which printed "0.0000000000000050").
  axisQuantitative: { format: NUMBER_FORMAT },
  legend: { labelFontSize: 11, titleFontSize: 12 },
  title: { fontSize: 14, fontWeight: 600, anchor: 'start', color: '#1f2933' },
};

const base = (title: string, extra: VlSpec = {}): VlSpec => ({
  $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
  title,
  background: 'white',
  padding: 8,
  config: CONFIG,
  ...extra,
});

/** Side in pixels for N models: readable for 3 and for 100. */
const side = (n: number): number => Math.max(220, Math.min(520, n * 18));

/** N×N heatmap, rows and columns in `order` (the dendrogram's leaf order groups solutions). */
export function heatmapSpec(title: string, names: string[], m: number[][], order: number[], unit: string): VlSpec {
  const values: Array<{ a: string; b: string; d: number | null; label: string }> = [];
  for (const i of order) {
    for (const j of order) {
      const v = m[i][j];
      values.push({ a: names[i], b: names[j], d: Number.isFinite(v) ? v : null, label: formatNumber(v) });
    }
  }
  const sorted = order.map((i) => names[i]);
  const showLabels = names.length <= 40;
  const axis = showLabels ? { labelAngle: -45, labelLimit: 240, labelFontSize: 10, grid: false } : { labels: false, ticks: false, grid: false };
  return base(title, {
    width: side(names.length),
    height: side(names.length),
    data: { values },
    mark: { type: 'rect' },
    encoding: {
      x: { field: 'b', type: 'nominal', sort: sorted, title: null, axis },
      y: { field: 'a', type: 'nominal', sort: sorted, title: null, axis: { ...axis, labelAngle: 0 } },
      color: { field: 'd', type: 'quantitative', title: unit, scale: { scheme: 'viridis', reverse: true }, legend: { format: NUMBER_FORMAT } },
      tooltip: [
        { field: 'a', title: 'model' },
        { field: 'b', title: 'vs' },
        { field: 'label', title: unit },
      ],
    },
  });
}

export interface ScatterPoint {
  a: string;
  b: string;
  weight: number;
  functional: number;
  same: boolean;
}

/** Weight distance (x) vs functional distance (y) over all pairs, with the least-squares line. */
export function scatterSpec(title: string, points: ScatterPoint[], xTitle: string, yTitle: string): VlSpec {
  const values = points.filter((p) => Number.isFinite(p.weight) && Number.isFinite(p.functional));
  return base(title, {
    width: 380,
    height: 300,
    data: { values: values.map((p) => ({ ...p, pair: p.same ? 'same solution' : 'different' })) },
    layer: [
      {
        mark: { type: 'point', filled: true, opacity: 0.6, size: 36 },
        encoding: {
          // Distances: the axes start at 0, so how far apart pairs are reads off the plot.
          x: { field: 'weight', type: 'quantitative', title: xTitle, scale: { zero: true } },
          y: { field: 'functional', type: 'quantitative', title: yTitle, scale: { zero: true } },
          color: {
            field: 'pair',
            type: 'nominal',
            title: 'pair',
            scale: { domain: ['different', 'same solution'], range: ['#3b6ea8', '#e4572e'] },
          },
          tooltip: [{ field: 'a' }, { field: 'b' }, { field: 'weight' }, { field: 'functional' }],
        },
      },
      {
        mark: { type: 'line', color: '#1f2933', strokeWidth: 2, strokeDash: [6, 3] },
        transform: [{ regression: 'functional', on: 'weight' }],
        encoding: {
          x: { field: 'weight', type: 'quantitative' },
          y: { field: 'functional', type: 'quantitative' },
        },
      },
    ],
  });
}

/** A 2-D map of the models: colour = solution cluster, size = accuracy (when known). */
export function mapSpec(title: string, names: string[], points: Point2[], labels: number[], accuracy: number[] | null): VlSpec {
  const values = points.map((p, i) => ({
    model: names[i],
    x: p[0],
    y: p[1],
    solution: `S${labels[i] + 1}`,
    accuracy: accuracy ? accuracy[i] : null,
  }));
  const solutions = [...new Set(labels)].sort((a, b) => a - b).map((c) => `S${c + 1}`);
  const encoding: VlSpec = {
    x: { field: 'x', type: 'quantitative', title: null, axis: { labels: false, ticks: false }, scale: { zero: false, nice: false, padding: 12 } },
    y: { field: 'y', type: 'quantitative', title: null, axis: { labels: false, ticks: false }, scale: { zero: false, nice: false, padding: 12 } },
    color: {
      field: 'solution',
      type: 'nominal',
      title: 'solution',
      sort: solutions,
      scale: { scheme: solutions.length <= 10 ? 'tableau10' : 'category20' },
      legend: solutions.length <= 20 ? {} : null,
    },
    tooltip: [{ field: 'model' }, { field: 'solution' }, ...(accuracy ? [{ field: 'accuracy', format: '.4f' }] : [])],
    // Rendered as each point's aria-label, which withPointTitles turns into an SVG <title> (hover text).
    description: { field: 'model' },
  };
  if (accuracy) encoding.size = { field: 'accuracy', type: 'quantitative', title: 'accuracy', scale: { range: [50, 300], zero: false } };
  return base(title, {
    width: 300,
    height: 300,
    data: { values },
    layer: [
      { mark: { type: 'circle', opacity: 0.85, stroke: 'white', strokeWidth: 0.8, ...(accuracy ? {} : { size: 110 }) }, encoding },
      // Names beside the points while they stay readable; beyond that the hover titles carry them.
      ...(names.length <= MAP_LABELS_UP_TO
        ? [{ mark: { type: 'text', align: 'left', dx: 7, dy: -7, fontSize: 10, color: '#3e4c59' }, encoding: { x: encoding.x, y: encoding.y, text: { field: 'model' } } }]
        : []),
    ],
  });
}

/** Maps label their points with model names up to this many models. */
export const MAP_LABELS_UP_TO = 20;

/**
 * vega's SVG has no hover text; each map point carries its model name as
 * aria-label (the `description` channel): repeat it as the point's <title>,
 * which browsers show on hover and which stays in the file.
 */
export function withPointTitles(svg: string): string {
  return svg.replace(/<path aria-label="([^"]*)" role="graphics-symbol"([^>]*?)\/>/g, '<path aria-label="$1" role="graphics-symbol"$2><title>$1</title></path>');
}

/**
 * Dendrogram of average-linkage merges, drawn with rule marks (the elbow
 * layout: each merge is a horizontal bar at its height joining its children's
 * x positions), and the clustering threshold as a dashed line.
 */
export function dendrogramSpec(title: string, names: string[], merges: DendrogramMerge[], order: number[], threshold: number, unit: string): VlSpec {
  const n = names.length;
  const x = new Map<number, number>();
  const y = new Map<number, number>();
  order.forEach((leaf, pos) => {
    x.set(leaf, pos);
    y.set(leaf, 0);
  });
  const segments: Array<{ x: number; x2: number; y: number; y2: number }> = [];
  merges.forEach((m, k) => {
    const id = n + k;
    const [xl, xr] = [x.get(m.left) as number, x.get(m.right) as number];
    segments.push({ x: xl, x2: xl, y: y.get(m.left) as number, y2: m.height });
    segments.push({ x: xr, x2: xr, y: y.get(m.right) as number, y2: m.height });
    segments.push({ x: xl, x2: xr, y: m.height, y2: m.height });
    x.set(id, (xl + xr) / 2);
    y.set(id, m.height);
  });
  const top = Math.max(threshold, ...merges.map((m) => m.height), 1e-12) * 1.08;
  const xScale = { domain: [-0.5, n - 0.5], nice: false, zero: false };
  const leaves = order.map((leaf, pos) => ({ pos, model: names[leaf] }));
  return base(title, {
    width: Math.max(320, Math.min(760, n * 16)),
    height: 260,
    layer: [
      {
        data: { values: segments },
        mark: { type: 'rule', color: '#3b6ea8', strokeWidth: 1.5 },
        encoding: {
          x: { field: 'x', type: 'quantitative', scale: xScale, axis: null },
          x2: { field: 'x2' },
          y: { field: 'y', type: 'quantitative', title: `merge height (${unit})`, scale: { domain: [0, top], nice: false } },
          y2: { field: 'y2' },
        },
      },
      {
        data: { values: [{ t: threshold }] },
        mark: { type: 'rule', color: '#e4572e', strokeDash: [5, 4], strokeWidth: 1.5 },
        encoding: { y: { field: 't', type: 'quantitative' } },
      },
      ...(n <= 40
        ? [
            {
              data: { values: leaves },
              mark: { type: 'text', angle: 270, align: 'right', baseline: 'middle', dy: 0, fontSize: 10, color: '#3e4c59' },
              encoding: {
                x: { field: 'pos', type: 'quantitative', scale: xScale },
                y: { datum: 0, type: 'quantitative' },
                text: { field: 'model' },
                yOffset: { value: 6 },
              },
            },
          ]
        : []),
    ],
  });
}
