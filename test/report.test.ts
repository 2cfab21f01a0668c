/**
 * The study report: every plot is rendered (SVG with marks) into one
 * self-contained HTML file with no URLs, --svg writes one file per plot, and
 * files are written atomically and never overwritten without force.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import t from 'tap';

import { buildReportHtml, inlineSvg, noCorrelationReason, swatchColour } from '../lib/report/html';
import { formatNumber } from '../lib/util/format-number';
import { STUDY_PLOT_IDS, checkReportTargets, renderStudyPlots, studyPlots, writeReport } from '../lib/report';
import { renderSvg } from '../lib/report/render';
import { heatmapSpec, scatterSpec } from '../lib/report/specs';
import { studyText } from '../lib/cli/commands/study';
import { fixtureStudy } from './helpers/many-fixture';

/** Mark elements inside vega's mark groups (axes and legends excluded). */
export function markCount(svg: string): number {
  let count = 0;
  const re = /<g class="mark-(rect|symbol|rule|line|text|area|path)[^"]*role-mark[^"]*"[^>]*>([\s\S]*?)<\/g>/g;
  for (const m of svg.matchAll(re)) count += (m[2].match(/<(path|rect|line|circle)\b/g) ?? []).length;
  return count;
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'modeldiff-report-'));
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));

t.test('every plot renders to an SVG with marks', async (t) => {
  const s = fixtureStudy();
  const defs = studyPlots(s);
  t.same(
    defs.map((d) => d.id),
    ['heatmap-functional', 'heatmap-weights-raw', 'scatter-raw', 'map-mds', 'map-tsne', 'map-umap', 'dendrogram'],
  );
  const plots = await renderStudyPlots(s);
  for (const p of plots) {
    t.match(p.svg, /^<svg/, `${p.id} is SVG`);
    t.ok(markCount(p.svg) > 0, `${p.id} has marks (${markCount(p.svg)})`);
  }
  const withAligned = studyPlots({ ...s, weights: { ...s.weights, methods: ['raw', 'aligned'], aligned: s.weights.raw } });
  const aligned = withAligned.find((p) => p.id === 'heatmap-weights-aligned');
  t.match(aligned?.caption, /reference model's own unit scales/, 'the aligned heatmap says which frame its distances are in');
  t.notMatch(withAligned.find((p) => p.id === 'heatmap-weights-raw')?.caption, /unit scales/);
  const heat = plots.find((p) => p.id === 'heatmap-functional') as { svg: string };
  t.ok(markCount(heat.svg) >= 64, 'one rect per matrix cell');
  // Without accuracy the map has no size channel; without t-SNE/UMAP those plots are left out.
  const bare = { ...fixtureStudy(), accuracy: null, maps: { ...s.maps, tsne: null, umap: null }, weights: { methods: [], skipped: 'x' }, correlations: [] };
  t.same(
    studyPlots(bare).map((d) => d.id),
    ['heatmap-functional', 'map-mds', 'dendrogram'],
  );
  await t.rejects(renderSvg({ mark: 'nonsense-mark' }, 'broken'), { code: 'INTERNAL', message: /broken/ });
});

t.test('report HTML: self-contained, every plot and table, command and versions', async (t) => {
  const s = fixtureStudy();
  const file = path.join(dir, 'report.html');
  const svgDir = path.join(dir, 'svg');
  const r = await writeReport(s, { html: file, svgDir, command: 'modeldiff study a.onnx b.onnx --report r.html', versions: { onnxruntime: '1.2.3' } });
  t.equal(r.html, file);
  t.equal(r.svgs.length, 7);
  const html = fs.readFileSync(file, 'utf8');
  t.notMatch(html, /https?:\/\//, 'no URLs at all: nothing fetched at view time');
  t.notMatch(html, /<script|<link|<img|@import|url\((?!#)/, 'no scripts, links, images or external url() references');
  for (const id of studyPlots(s).map((p) => p.id)) {
    t.match(html, `id="plot-${id}"`, `contains ${id}`);
    t.ok(fs.existsSync(path.join(svgDir, `${id}.svg`)), `--svg wrote ${id}.svg`);
  }
  t.match(fs.readFileSync(path.join(svgDir, 'dendrogram.svg'), 'utf8'), /xmlns="http:\/\/www\.w3\.org\/2000\/svg"/, 'standalone SVGs keep their namespace');
  t.match(html, 'modeldiff study a.onnx b.onnx --report r.html');
  t.match(html, /onnxruntime 1\.2\.3/);
  t.match(html, '<td>0.01·w − 0.1</td>', 'the fit reads as an equation (no "+ -")');
  t.match(html, new RegExp(`node ${process.versions.node.replace(/\./g, '\\.')}`));
  t.match(html, /vega-lite 5\./);
  t.match(html, /singletons/);
  t.match(html, /Chao1/);
  t.equal((html.match(/<tr>/g) ?? []).length >= 28 + 8 + 3, true, 'pair, model and solution tables');
  // Same study, same bytes (no timestamps).
  const again = path.join(dir, 'again.html');
  await writeReport(s, { html: again, command: 'modeldiff study a.onnx b.onnx --report r.html', versions: { onnxruntime: '1.2.3' } });
  t.equal(fs.readFileSync(again, 'utf8'), html);
  // Never overwrite without force; with force, replaced atomically.
  await t.rejects(writeReport(s, { html: file }), { code: 'FILE_EXISTS' });
  await t.rejects(writeReport(s, { svgDir }), { code: 'FILE_EXISTS' });
  await writeReport(s, { html: file, force: true });
  t.match(fs.readFileSync(file, 'utf8'), /\(library call\)/);
  t.same(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp')), [], 'no temporary files left');
  const blocker = path.join(dir, 'blocker');
  fs.writeFileSync(blocker, '');
  await t.rejects(writeReport(s, { svgDir: path.join(blocker, 'svg') }), { code: 'IO', option: 'svgDir', message: /the options\.svgDir folder/ });
});

t.test('report targets are checked before anything is written', async (t) => {
  const s = fixtureStudy();
  for (const p of studyPlots(s)) t.ok(STUDY_PLOT_IDS.includes(p.id), `${p.id} is a known plot id (the CLI checks them before the run)`);
  const d = fs.mkdtempSync(path.join(dir, 'targets-'));
  const svgDir = path.join(d, 'svg');
  fs.mkdirSync(svgDir);
  fs.writeFileSync(path.join(svgDir, 'dendrogram.svg'), 'mine');
  // One existing SVG: nothing at all is written (not the other SVGs, not the HTML).
  await t.rejects(writeReport(s, { html: path.join(d, 'r.html'), svgDir }), { code: 'FILE_EXISTS', message: /dendrogram\.svg already exists/ });
  t.same(fs.readdirSync(svgDir), ['dendrogram.svg']);
  t.notOk(fs.existsSync(path.join(d, 'r.html')));
  t.equal(fs.readFileSync(path.join(svgDir, 'dendrogram.svg'), 'utf8'), 'mine');
  t.throws(() => checkReportTargets({ svgDir }), { code: 'FILE_EXISTS' });
  t.doesNotThrow(() => checkReportTargets({ svgDir, force: true }));
  // A folder given as the report, a missing folder, a file given as the SVG folder.
  t.throws(() => checkReportTargets({ html: d }), { code: 'INVALID_ARGUMENT', option: 'html', message: /^options\.html .* is a folder/ });
  t.throws(() => checkReportTargets({ html: d, force: true }), { code: 'INVALID_ARGUMENT' });
  t.throws(() => checkReportTargets({ html: path.join(d, 'nope', 'r.html') }), { code: 'FILE_NOT_FOUND', message: /folder .*nope does not exist/ });
  t.throws(() => checkReportTargets({ svgDir: path.join(svgDir, 'dendrogram.svg') }), { code: 'INVALID_ARGUMENT', option: 'svgDir', message: /^options\.svgDir .* is a file, not a folder/ });
  t.doesNotThrow(() => checkReportTargets({ html: path.join(d, 'fresh.html'), svgDir: path.join(d, 'new-svg') }));
});

t.test('axis and legend labels stay short for tiny distances (float32 copies)', async (t) => {
  const points = [0, 1, 2, 3].map((k) => ({ a: `m${k}`, b: `n${k}`, weight: k * 1e-7, functional: k * 1.5e-15, same: true }));
  const texts = (svg: string) => [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);
  const scatter = texts(await renderSvg(scatterSpec('tiny', points, 'w', 'f'), 'tiny'));
  t.ok(scatter.some((s) => /^\de-1[56]$/.test(s)), `exponent labels: ${scatter.join(' | ')}`);
  t.notOk(scatter.some((s) => /0\.0{6,}/.test(s)), 'no long runs of zeros');
  const heat = texts(await renderSvg(heatmapSpec('tiny', ['a', 'b'], [[0, 4e-15], [4e-15, 0]], [0, 1], 'js'), 'tinyheat'));
  t.notOk(heat.some((s) => /0\.0{6,}/.test(s)), `legend: ${heat.join(' | ')}`);
});

t.test('one number rule: the dendrogram caption, the cards and the text print the threshold alike', async (t) => {
  const s = { ...fixtureStudy(), threshold: { ...fixtureStudy().threshold, value: 0.0026123 } };
  const caption = studyPlots(s).find((p) => p.id === 'dendrogram')!.caption;
  t.match(caption, 'threshold 0.002612 (bootstrap)');
  const html = buildReportHtml(s, [], { command: 'x', versions: {} });
  t.match(html, '<div class="v">0.002612</div><div class="l">same-solution threshold');
  t.match(studyText(s), 'same-solution threshold: 0.002612 (bootstrap)');
  t.match(studyText(s), `Chao1 estimate: ${formatNumber(s.solutions.estimate)} solutions`);
});

t.test('the report says which models its solution count covers', async (t) => {
  const s = fixtureStudy();
  const all = buildReportHtml(s, [], { command: 'x', versions: {} });
  t.match(all, `<div class="v">${s.solutions.observed}</div><div class="l">distinct solutions among the 8 models</div>`);
  t.match(all, 'Solutions and Chao1 count all 8 models as independent runs.');
  const counted = s.models.slice(0, 5);
  const some = buildReportHtml({ ...s, solutions: { ...s.solutions, counted } }, [], { command: 'x', versions: {} });
  t.match(some, 'distinct solutions among 5 of the 8 models');
  t.match(some, `count only the 5 independent runs (${counted.join(', ')})`);
});

t.test('no correlations: the report says why (too few models, or no weight distances)', async (t) => {
  const s = fixtureStudy();
  const meta = { command: 'x', versions: {} };
  const few = { ...s, correlations: [] };
  t.match(buildReportHtml(few, [], meta), `needs at least 3 models (3 pairs); this study has ${s.models.length}.`);
  const none = { ...s, correlations: [], weights: { methods: [], skipped: 'not requested' } };
  t.equal(noCorrelationReason(none), 'No weight distances were computed (not requested), so there is nothing to correlate.');
});

t.test('HTML helpers', async (t) => {
  t.equal(swatchColour(0, 3), '#4c78a8');
  t.equal(swatchColour(21, 30), '#aec7e8');
  t.equal(formatNumber(null), '–');
  t.equal(formatNumber(Infinity), 'Infinity');
  t.equal(formatNumber(0), '0');
  t.equal(formatNumber(0.5), '0.5');
  t.equal(formatNumber(0.0026123), '0.002612');
  t.equal(formatNumber(16.104), '16.1');
  t.equal(formatNumber(123456), '1.23e+5');
  t.equal(formatNumber(1.5e-6), '1.50e-6');
  t.equal(inlineSvg('<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" a="1">'), '<svg a="1">');
  const s = fixtureStudy(5);
  const html = buildReportHtml(
    { ...s, accuracy: null, weights: { methods: ['raw', 'aligned'], skipped: 'aligned: <b>no</b>' }, correlations: [] },
    [],
    { command: 'x', versions: {} },
  );
  t.match(html, 'aligned: &lt;b&gt;no&lt;/b&gt;', 'escaped');
  t.match(html, /nothing to correlate/);
});
