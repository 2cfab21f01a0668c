/**
 * Writes a study's report: the self-contained HTML file and, optionally,
 * each plot as its own SVG (for papers). Everything goes through
 * writeFileAtomic, so nothing is half-written and nothing is overwritten
 * without `force`.
 */
import fs from 'node:fs';
import path from 'node:path';

import { ModeldiffError } from '../errors';
import type { StudyResult } from '../many/types';
import { checkWritableFolder, existsError, writeFileAtomic } from '../util/atomic-write';
import { WEIGHT_METHODS } from '../many/types';
import { type ReportMeta, type RenderedPlot, buildReportHtml } from './html';
import { studyPlots } from './plots';
import { plotLibraryVersions, renderSvg } from './render';
import { withPointTitles } from './specs';
import { makeDirs } from '../util/make-dirs';

export { buildReportHtml, type ReportMeta, type RenderedPlot } from './html';
export { studyPlots, type PlotDef } from './plots';
export { renderSvg } from './render';

export interface ReportOptions {
  /** HTML file to write. */
  html?: string;
  /** Folder for one SVG per plot (created if missing). */
  svgDir?: string;
  force?: boolean;
  /** The option field that named `html`, for messages (default "html"; the demo's is "out"). */
  htmlOption?: string;
  /** Command line to show; default "(library call)". */
  command?: string;
  /** Extra version entries (e.g. onnxruntime), merged after modeldiff/node/vega. */
  versions?: Record<string, string>;
}

export async function renderStudyPlots(s: StudyResult): Promise<RenderedPlot[]> {
  const out: RenderedPlot[] = [];
  for (const p of studyPlots(s)) {
    const svg = scopeIds(await renderSvg(p.spec, p.id), p.id);
    out.push({ id: p.id, caption: p.caption, svg: p.id.startsWith('map-') ? withPointTitles(svg) : svg });
  }
  return out;
}

/**
 * vega numbers gradients and clip paths with a process-wide counter, so the
 * same plot gets different ids on each render and two plots could collide
 * inside one HTML page. Rename every id an SVG defines to <plot id>-<k>.
 */
export function scopeIds(svg: string, plotId: string): string {
  const ids = [...svg.matchAll(/\sid="([^"]+)"/g)].map((m) => m[1]);
  let out = svg;
  ids.forEach((id, k) => {
    const escaped = id.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    out = out.replace(new RegExp(`(["#])${escaped}(["\\)])`, 'g'), `$1${plotId}-${k}$2`);
  });
  return out;
}

/** Every plot id a study can produce (`svgDir: DIR` writes DIR/<id>.svg). */
export const STUDY_PLOT_IDS: readonly string[] = [
  'heatmap-functional',
  ...WEIGHT_METHODS.map((m) => `heatmap-weights-${m}`),
  ...WEIGHT_METHODS.map((m) => `scatter-${m}`),
  'map-mds',
  'map-tsne',
  'map-umap',
  'dendrogram',
];

/**
 * Checks the report targets before anything is computed or written, so a
 * long study does not end in "already exists" or a missing folder, and a
 * report is never left half-written (some SVGs written, then a refusal):
 * the HTML path must not be a folder, its folder must exist, and neither it
 * nor any SVG this report could write may exist without `force`.
 */
export function checkReportTargets(options: Pick<ReportOptions, 'html' | 'svgDir' | 'force' | 'htmlOption'>, plotIds: readonly string[] = STUDY_PLOT_IDS): void {
  if (options.html) {
    const option = options.htmlOption ?? 'html';
    const st = statOrNull(options.html);
    if (st?.isDirectory()) {
      throw new ModeldiffError('INVALID_ARGUMENT', `options.${option} ${options.html} is a folder; give the HTML file to write, e.g. ${path.join(options.html, 'report.html')}`, { option });
    }
    if (st && !options.force) throw existsError(options.html);
    const folder = path.dirname(path.resolve(options.html));
    if (!statOrNull(folder)?.isDirectory()) throw new ModeldiffError('FILE_NOT_FOUND', `options.${option} ${options.html}: folder ${folder} does not exist`, { option });
    checkWritableFolder(folder, options.html);
  }
  if (options.svgDir) {
    const st = statOrNull(options.svgDir);
    if (st && !st.isDirectory()) throw new ModeldiffError('INVALID_ARGUMENT', `options.svgDir ${options.svgDir} is a file, not a folder`, { option: 'svgDir' });
    // The folder itself, or the nearest existing folder it would be created in, must be writable.
    let existing = path.resolve(options.svgDir);
    while (!statOrNull(existing) && path.dirname(existing) !== existing) existing = path.dirname(existing);
    checkWritableFolder(existing, options.svgDir);
    if (st) {
      for (const id of plotIds) {
        const file = path.join(options.svgDir, `${id}.svg`);
        const f = statOrNull(file);
        if (f?.isDirectory()) throw new ModeldiffError('INVALID_ARGUMENT', `${file} is a folder; cannot write the ${id} plot there`);
        if (f && !options.force) throw existsError(file);
      }
    }
  }
}

function statOrNull(file: string): fs.Stats | null {
  try {
    return fs.statSync(file);
  } catch {
    return null; // missing (or unreachable: the write itself then reports why)
  }
}

export async function writeReport(s: StudyResult, options: ReportOptions): Promise<{ html?: string; svgs: string[] }> {
  const plots = await renderStudyPlots(s);
  checkReportTargets(options, plots.map((p) => p.id));
  const written: { html?: string; svgs: string[] } = { svgs: [] };
  if (options.svgDir) {
    try {
      makeDirs(options.svgDir);
    } catch (cause) {
      throw new ModeldiffError('IO', `could not create the options.svgDir folder ${options.svgDir}: ${(cause as Error).message}`, { cause, option: 'svgDir' });
    }
    for (const p of plots) {
      const file = path.join(options.svgDir, `${p.id}.svg`);
      writeFileAtomic(file, p.svg, { force: options.force });
      written.svgs.push(file);
    }
  }
  if (options.html) {
    const lib = await plotLibraryVersions();
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { version } = require('../../package.json') as { version: string };
    const meta: ReportMeta = {
      command: options.command ?? '(library call)',
      versions: { modeldiff: version, node: process.versions.node, ...options.versions, vega: lib.vega, 'vega-lite': lib.vegaLite },
    };
    writeFileAtomic(options.html, buildReportHtml(s, plots, meta), { force: options.force });
    written.html = options.html;
  }
  return written;
}
