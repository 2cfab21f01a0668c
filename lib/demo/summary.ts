/**
 * The demo's plain-language summary. Every number printed comes from the
 * DemoSummary (which `--json` prints whole), formatted by `num`, so the text
 * and the JSON always agree.
 */
import path from 'node:path';

import { formatNumber } from '../util/format-number';
import type { DemoResult } from './run';
import { plural } from '../util/plural';

/** The report's number rule, so the summary and the report's cards print the same digits. */
export const num = formatNumber;

/** A path relative to `cwd` when it lies inside it (shorter, and the same on every machine). */
function shown(p: string, cwd: string): string {
  const rel = path.relative(cwd, p);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : p;
}

const ci = (c: [number, number]): string => `95% CI ${num(c[0])}–${num(c[1])}`;

export function demoText(r: DemoResult, cwd: string = process.cwd()): string {
  const s = r.summary;
  const st = r.study;
  const p = s.perturbed;
  const q = s.permuted;
  const r2 = (['raw', 'canonical', 'aligned'] as const)
    .filter((m) => s.r2[m] !== undefined)
    .map((m) => `${m} R² = ${num(s.r2[m] as number)} (Mantel p = ${num(s.mantelP[m] as number)})`)
    .join(', ');
  const lines = [
    `modeldiff demo: ${st.models.length} ReLU MLPs (64→64→64→10) trained on scikit-learn's digits,`,
    `compared on ${plural(st.probe.samples, 'held-out probe image')} (zoo: ${shown(r.zoo, cwd)}). Output distance: Jensen-Shannon divergence (JS, nats).`,
    '',
    `- ${s.seedRuns} runs from different seeds: ${s.solutions} distinct solution${s.solutions === 1 ? '' : 's'} within sampling noise ` +
      `(same solution = JS below ${num(s.threshold)}, the probe set's own bootstrap noise). ` +
      `Chao1 estimate: ${num(s.chao1.estimate)} solutions (95% CI ${num(s.chao1.lower)}–${num(s.chao1.upper)}); ` +
      `after ${s.seedRuns} more runs, expect about ${num(s.expectedAfterDoubling)} distinct solutions.`,
    `- Does weight distance track output distance? Over all ${s.pairs} pairs, the share of JS variance explained: ${r2}.`,
    `- The perturbed run (${p.parent} + noise, retrained briefly) ${p.returned ? 'returned to' : 'did not return to'} its starting solution: ` +
      `JS = ${num(p.js.mean)} (${ci(p.js.ci95)}) from ${p.parent}; two independent seeds differ by median JS ${num(s.seedPairMedian.js)}. ` +
      `Its weights stayed ${p.weights.aligned < s.seedPairMedian.aligned ? 'closer than two seeds' : 'as far as two seeds'}: ` +
      `aligned L2 ${num(p.weights.aligned)} vs ${num(s.seedPairMedian.aligned)} between seeds (raw ${num(p.weights.raw)} vs ${num(s.seedPairMedian.raw)}, ` +
      `canonical ${num(p.weights.canonical)} vs ${num(s.seedPairMedian.canonical)}).`,
    `- The permuted-and-rescaled copy of ${q.parent} is the same function (JS = ${num(q.js.mean)}, max ${num(q.js.max)}): ` +
      `raw relative weight distance ${num(q.relative.raw)}, but it canonicalizes to ${num(q.relative.canonical)} and aligns to ${num(q.relative.aligned)}.`,
    ...s.otherPairs.map(
      (o) =>
        `- Another symmetry group, ${o.architecture} (${o.symmetry}): ${o.a} vs ${o.b}: JS = ${num(o.js)}; ` +
        `relative weight distance raw ${num(o.relative.raw)}, canonical ${num(o.relative.canonical)}, aligned ${num(o.relative.aligned)}.`,
    ),
    '',
    `Report: ${shown(r.report, cwd)}`,
  ];
  return lines.join('\n') + '\n';
}
