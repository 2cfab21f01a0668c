/**
 * The demo's plain-language summary. Every number printed comes from the
 * DemoSummary (which `--json` prints whole), formatted by `formatNumber` (the report's rule, so the summary and the report's cards print the same digits), so the text
 * and the JSON always agree.
 */
import path from 'node:path';

import { formatNumber } from '../util/format-number';
import type { DemoResult } from './run';
import { plural } from '../util/plural';

/** A path relative to `cwd` when it lies inside it (shorter, and the same on every machine). */
function shown(p: string, cwd: string): string {
  const rel = path.relative(cwd, p);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : p;
}

const ci = (c: [number, number]): string => `95% CI ${formatNumber(c[0])}–${formatNumber(c[1])}`;

export function demoText(r: DemoResult, cwd: string = process.cwd()): string {
  const s = r.summary;
  const st = r.study;
  const p = s.perturbed;
  const q = s.permuted;
  const r2 = (['raw', 'canonical', 'aligned'] as const)
    .filter((m) => s.r2[m] !== undefined)
    .map((m) => `${m} R² = ${formatNumber(s.r2[m] as number)} (Mantel p = ${formatNumber(s.mantelP[m] as number)})`)
    .join(', ');
  const lines = [
    `modeldiff demo: ${st.models.length} ReLU MLPs (64→64→64→10) trained on scikit-learn's digits,`,
    `compared on ${plural(st.probe.samples, 'held-out probe image')} (zoo: ${shown(r.zoo, cwd)}). Output distance: Jensen-Shannon divergence (JS, nats).`,
    '',
    `- ${s.seedRuns} runs from different seeds: ${s.solutions} distinct solution${s.solutions === 1 ? '' : 's'} within sampling noise ` +
      `(same solution = JS below ${formatNumber(s.threshold)}, the probe set's own bootstrap noise). ` +
      `Chao1 estimate: ${formatNumber(s.chao1.estimate)} solutions (95% CI ${formatNumber(s.chao1.lower)}–${formatNumber(s.chao1.upper)}); ` +
      `after ${s.seedRuns} more runs, expect about ${formatNumber(s.expectedAfterDoubling)} distinct solutions.`,
    `- Does weight distance track output distance? Over all ${s.pairs} pairs, the share of JS variance explained: ${r2}.`,
    `- The perturbed run (${p.parent} + noise, retrained briefly) ${p.returned ? 'returned to' : 'did not return to'} its starting solution: ` +
      `JS = ${formatNumber(p.js.mean)} (${ci(p.js.ci95)}) from ${p.parent}; two independent seeds differ by median JS ${formatNumber(s.seedPairMedian.js)}. ` +
      `Its weights stayed ${p.weights.aligned < s.seedPairMedian.aligned ? 'closer than two seeds' : 'as far as two seeds'}: ` +
      `aligned L2 ${formatNumber(p.weights.aligned)} vs ${formatNumber(s.seedPairMedian.aligned)} between seeds (raw ${formatNumber(p.weights.raw)} vs ${formatNumber(s.seedPairMedian.raw)}, ` +
      `canonical ${formatNumber(p.weights.canonical)} vs ${formatNumber(s.seedPairMedian.canonical)}).`,
    `- The permuted-and-rescaled copy of ${q.parent} is the same function (JS = ${formatNumber(q.js.mean)}, max ${formatNumber(q.js.max)}): ` +
      `raw relative weight distance ${formatNumber(q.relative.raw)}, but it canonicalizes to ${formatNumber(q.relative.canonical)} and aligns to ${formatNumber(q.relative.aligned)}.`,
    ...s.otherPairs.map(
      (o) =>
        `- Another symmetry group, ${o.architecture} (${o.symmetry}): ${o.a} vs ${o.b}: JS = ${formatNumber(o.js)}; ` +
        `relative weight distance raw ${formatNumber(o.relative.raw)}, canonical ${formatNumber(o.relative.canonical)}, aligned ${formatNumber(o.relative.aligned)}.`,
    ),
    '',
    `Report: ${shown(r.report, cwd)}`,
  ];
  return lines.join('\n') + '\n';
}
