/**
 * The study report as one self-contained HTML file: inline CSS, plots as
 * inline SVG, no scripts, no fonts or images fetched — it opens offline and
 * can be mailed or archived as is. No timestamps, so the same study gives
 * the same bytes.
 */
import type { StudyResult } from '../many/types';
import { formatNumber } from '../util/format-number';
import { plural } from '../util/plural';

export interface RenderedPlot {
  id: string;
  caption: string;
  svg: string;
}

export interface ReportMeta {
  /** The command line that produced the study, shown verbatim. */
  command: string;
  versions: Record<string, string>;
}

const esc = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** Every number in the report, the plots' captions included, goes through this one rule. */

/** Inline SVG needs no namespace declarations in HTML5; dropping them keeps the file free of URLs. */
export function inlineSvg(svg: string): string {
  return svg.replace(/\s+xmlns(:xlink)?="[^"]*"/g, '');
}

const CSS = `
:root{--ink:#1f2933;--muted:#616e7c;--line:#e4e7eb;--accent:#3b6ea8;--warm:#e4572e;--bg:#f5f7fa}
*{box-sizing:border-box}
body{margin:0;font:14px/1.5 Helvetica,Arial,sans-serif;color:var(--ink);background:var(--bg)}
main{max-width:1340px;margin:0 auto;padding:28px 24px 60px}
h1{font-size:26px;margin:0 0 4px}h2{font-size:19px;margin:36px 0 12px;padding-bottom:6px;border-bottom:2px solid var(--line)}
.sub{color:var(--muted);margin:0 0 16px}
pre.cmd{background:#1f2933;color:#e4e7eb;padding:10px 14px;border-radius:6px;overflow-x:auto;font-size:12.5px;white-space:pre-wrap;word-break:break-all}
.versions{color:var(--muted);font-size:12.5px}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(170px,1fr));gap:12px;margin:18px 0}
.card{background:#fff;border:1px solid var(--line);border-radius:8px;padding:12px 14px}
.card .v{font-size:24px;font-weight:600}.card .l{color:var(--muted);font-size:12.5px}
.note{background:#fff;border-left:4px solid var(--accent);padding:10px 14px;border-radius:0 6px 6px 0;margin:12px 0}
.plots{display:flex;flex-wrap:wrap;gap:16px;align-items:flex-start}
figure.plot{background:#fff;border:1px solid var(--line);border-radius:8px;margin:0;padding:10px;max-width:100%;overflow-x:auto}
figure.plot svg{display:block;max-width:100%;height:auto}
figcaption{color:var(--muted);font-size:12.5px;max-width:520px;margin-top:6px}
table{border-collapse:collapse;background:#fff;border:1px solid var(--line);font-size:13px;margin:8px 0}
th,td{padding:5px 10px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
th{background:#f0f3f7;font-weight:600}td.n{text-align:right;font-variant-numeric:tabular-nums}
tr:nth-child(even) td{background:#fafbfc}
details{margin:10px 0}summary{cursor:pointer;color:var(--accent);font-weight:600}
.swatch{display:inline-block;width:10px;height:10px;border-radius:50%;margin-right:6px;vertical-align:baseline}
`;

// The maps' colour schemes (vega's tableau10 up to 10 solutions, category20 beyond), so table swatches match the points.
const TABLEAU10 = ['#4c78a8', '#f58518', '#e45756', '#72b7b2', '#54a24b', '#eeca3b', '#b279a2', '#ff9da6', '#9d755d', '#bab0ac'];
const CATEGORY20 = [
  '#1f77b4', '#aec7e8', '#ff7f0e', '#ffbb78', '#2ca02c', '#98df8a', '#d62728', '#ff9896', '#9467bd', '#c5b0d5',
  '#8c564b', '#c49c94', '#e377c2', '#f7b6d2', '#7f7f7f', '#c7c7c7', '#bcbd22', '#dbdb8d', '#17becf', '#9edae5',
];
export const swatchColour = (cluster: number, clusters: number): string =>
  clusters <= 10 ? TABLEAU10[cluster % 10] : CATEGORY20[cluster % 20];

function table(head: string[], rows: string[][], numeric: boolean[]): string {
  const th = head.map((h) => `<th>${esc(h)}</th>`).join('');
  const body = rows
    .map((r) => `<tr>${r.map((c, i) => (numeric[i] ? `<td class="n">${c}</td>` : `<td>${c}</td>`)).join('')}</tr>`)
    .join('\n');
  return `<table><thead><tr>${th}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

export function buildReportHtml(s: StudyResult, plots: RenderedPlot[], meta: ReportMeta): string {
  const N = s.models.length;
  const sol = s.solutions;
  const unit = s.metric;
  const everyModel = sol.counted.length === N;
  const countedWords = everyModel ? `the ${N} models` : `${sol.counted.length} of the ${N} models`;
  const countedNote = everyModel
    ? `Solutions and Chao1 count all ${N} models as independent runs.`
    : `Solutions and Chao1 count only the ${sol.counted.length} independent runs (${sol.counted.join(', ')}); the other models are derived from these and are not independent draws.`;
  const cards: Array<[string, string]> = [
    [String(N), 'models'],
    s.probe.sequences !== undefined
      ? [`${s.probe.samples} × ${s.probe.classes}`, `tokens (of ${plural(s.probe.sequences, 'sequence')}, ${s.probe.mask ? `masked by ${s.probe.mask}` : 'no mask'}) × vocabulary (${s.probe.outputKind})`]
      : [`${s.probe.samples} × ${s.probe.classes}`, `probe samples × classes (${s.probe.outputKind})`],
    [String(sol.observed), `distinct solutions among ${countedWords}`],
    [`${formatNumber(sol.estimate)}`, `Chao1 estimate (95% CI ${formatNumber(sol.lower)}–${formatNumber(sol.upper)})`],
    [formatNumber(sol.expectedAfterDoubling), `expected after ${sol.models} more runs`],
    [formatNumber(s.threshold.value), `same-solution threshold (${unit}, ${s.threshold.source})`],
  ];
  const versions = Object.entries(meta.versions)
    .map(([k, v]) => `${esc(k)} ${esc(v)}`)
    .join(' · ');

  const clusterRows = s.clustering.clusters.map((members, c) => [
    `<span class="swatch" style="background:${swatchColour(c, s.clustering.clusters.length)}"></span>S${c + 1}`,
    String(members.length),
    s.accuracy ? formatNumber(members.reduce((t, m) => t + (s.accuracy as number[])[m], 0) / members.length) : '–',
    esc(members.map((m) => s.models[m]).join(', ')),
  ]);

  const modelRows = s.models.map((name, i) => {
    let nearest = -1;
    for (let j = 0; j < N; j++) if (j !== i && (nearest < 0 || s.functional[i][j] < s.functional[i][nearest])) nearest = j;
    return [
      String(i),
      esc(name),
      `S${s.clustering.labels[i] + 1}`,
      s.accuracy ? formatNumber(s.accuracy[i]) : '–',
      nearest >= 0 ? esc(s.models[nearest]) : '–',
      nearest >= 0 ? formatNumber(s.functional[i][nearest]) : '–',
    ];
  });

  const corrRows = s.correlations.map((c) => [
    c.method,
    formatNumber(c.spearman.r),
    formatNumber(c.spearman.p),
    c.pearson ? formatNumber(c.pearson.r) : 'n/a',
    c.pearson ? formatNumber(c.pearson.p) : 'n/a',
    c.fit ? `${formatNumber(c.fit.slope)}·w ${c.fit.intercept < 0 ? '−' : '+'} ${formatNumber(Math.abs(c.fit.intercept))}` : 'n/a',
    String(c.spearman.pairs),
  ]);

  const methods = s.weights.methods.filter((m) => s.weights[m]);
  const pairRows = s.pairs.map((p) => [
    esc(p.a),
    esc(p.b),
    formatNumber(p.functional.mean),
    formatNumber(p.functional.se),
    p.functional.ci95 ? `${formatNumber(p.functional.ci95[0])} – ${formatNumber(p.functional.ci95[1])}` : '–',
    ...methods.map((m) => formatNumber(p.weights[m])),
    p.sameSolution ? 'yes' : 'no',
  ]);

  const figures = plots
    .map(
      (p) =>
        `<figure class="plot" id="plot-${esc(p.id)}" data-plot="${esc(p.id)}">${inlineSvg(p.svg)}<figcaption>${esc(p.caption)}</figcaption></figure>`,
    )
    .join('\n');

  const weightNote = s.weights.skipped ? `<p class="note">Weight distances: ${esc(s.weights.skipped)}</p>` : '';

  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>modeldiff study: ${N} models</title>
<style>${CSS}</style>
</head>
<body>
<main>
<h1>How many different solutions?</h1>
<p class="sub">modeldiff study of ${N} models on ${s.probe.sequences !== undefined ? `${plural(s.probe.samples, 'token')} of ${plural(s.probe.sequences, 'sequence')} (intervals resample whole sequences)` : `a probe set of ${plural(s.probe.samples, 'sample')}`}, output distance <b>${esc(unit)}</b>, seed ${s.seed}.</p>
<pre class="cmd">${esc(meta.command)}</pre>
<p class="versions">${versions}</p>
<div class="cards">${cards.map(([v, l]) => `<div class="card"><div class="v">${esc(v)}</div><div class="l">${esc(l)}</div></div>`).join('')}</div>
<p class="note">Two models are <b>the same solution</b> when average-linkage clustering joins them below the threshold. ${esc(s.threshold.definition)}
${esc(countedNote)}
Of the ${sol.observed} solutions, <b>${sol.singletons}</b> were found by exactly one model (singletons) and <b>${sol.doubletons}</b> by exactly two (doubletons).
Chao1 (${sol.formula}) reads many singletons relative to doubletons as evidence of solutions not yet found: it estimates <b>${formatNumber(sol.estimate)}</b> solutions in all
(≈ ${formatNumber(sol.unseen)} unseen, 95% interval ${formatNumber(sol.lower)}–${formatNumber(sol.upper)}).</p>
${weightNote}
<h2>Plots</h2>
<div class="plots">
${figures}
</div>
<h2>Solutions</h2>
${table(['solution', 'models', 'mean accuracy', 'members'], clusterRows, [false, true, true, false])}
<h2>Weight distance vs output distance</h2>
${corrRows.length ? table(['weight method', 'Spearman ρ', 'Mantel p (ρ)', 'Pearson r', 'Mantel p (r)', 'fit', 'pairs'], corrRows, [false, true, true, true, true, false, true]) : `<p class="note">${esc(noCorrelationReason(s))}</p>`}
<p class="sub">Mantel p-values are one-sided (positive association), from permutations of the models (seed ${s.seed}).</p>
<h2>Models</h2>
${table(['#', 'model', 'solution', 'accuracy', 'nearest model', `distance (${unit})`], modelRows, [true, false, false, true, false, true])}
<h2>All pairs</h2>
<details${s.pairs.length <= 50 ? ' open' : ''}><summary>${s.pairs.length} pairs: mean, standard error, 95% bootstrap interval, weight distances</summary>
${table(['model a', 'model b', `${unit} (a‖b)`, 'se', '95% CI', ...methods.map((m) => (m === 'aligned' ? 'aligned L2 (mean of both directions)' : `${m} L2`)), 'same solution'], pairRows, [false, false, true, true, true, ...methods.map(() => true), false])}
</details>
</main>
</body>
</html>
`;
}

/** Why a study has no weight-vs-output correlations (shared by the report and the CLI text). */
export function noCorrelationReason(s: StudyResult): string {
  const computed = s.weights.methods.some((m) => s.weights[m]);
  if (!computed) return `No weight distances were computed${s.weights.skipped ? ` (${s.weights.skipped})` : ''}, so there is nothing to correlate.`;
  return `Correlating weight and output distance needs at least 3 models (3 pairs); this study has ${s.models.length}.`;
}
