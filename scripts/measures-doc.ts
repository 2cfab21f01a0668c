/**
 * Writes docs/measures.md from the measure registry (lib/measures/), so the reference cannot
 * drift from the code: every measure's definition, units, range and properties.
 *
 *   npx tsx scripts/measures-doc.ts           # rewrite docs/measures.md
 *   npx tsx scripts/measures-doc.ts --check   # exit 1 if it is stale (test/docs-measures.test.ts does this too)
 */
import fs from 'node:fs';
import path from 'node:path';

import { inFlagWords } from '../lib/cli/flags';
import { type MeasureInfo, type MeasureView, measuresOf } from '../lib/measures/registry';

export const MEASURES_DOC = path.join(__dirname, '..', 'docs', 'measures.md');

const VIEWS: Array<{ view: MeasureView; title: string; intro: string }> = [
  {
    view: 'function',
    title: 'Function: outputs on a probe set',
    intro:
      'How differently two models behave on the same inputs (`modeldiff compare`, `divergence`, `matrix`). ' +
      'p and q are the two models’ class distributions for one sample, x and y their raw output rows. ' +
      'A probe-set value is the mean over samples, except set-level measures.',
  },
  {
    view: 'weights',
    title: 'Weights: parameters',
    intro: 'How far apart two models of the same architecture are in weight space (`modeldiff weights`).',
  },
  {
    view: 'representations',
    title: 'Representations: hidden activations',
    intro: 'How similar two layers’ activations are on the same inputs (`modeldiff cka`). X and Y are n × p activation matrices, rows = samples.',
  },
  {
    view: 'path',
    title: 'Path: loss along the interpolation',
    intro: 'Whether two models sit in one basin (`modeldiff barrier`).',
  },
];

function cell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function bound(v: number): string {
  if (v === Infinity) return '∞';
  if (v === -Infinity) return '−∞';
  if (v === Math.LN2) return 'ln 2';
  if (v === Math.sqrt(Math.LN2)) return '√(ln 2)';
  return String(v);
}

function properties(m: MeasureInfo): string {
  const p = [m.largerIsSimilar ? 'larger = more similar' : 'larger = more different'];
  if (m.symmetric) p.push('symmetric');
  if (m.metric) p.push('metric');
  if (m.setLevel) p.push('set-level');
  return p.join(', ');
}

/** docs/measures.md as the registry says it. */
export function renderMeasuresDoc(): string {
  const lines = [
    '# Measures',
    '',
    '<!-- Generated from lib/measures/ by scripts/measures-doc.ts: edit the registry, not this file. -->',
    '',
    'Every number modeldiff reports is one of these measures. The name is the `--metric` value, the JSON key',
    'and the report label; a measure’s kernel, binding, library wrapper and flag all go by it.',
    '',
  ];
  for (const { view, title, intro } of VIEWS) {
    lines.push(`## ${title}`, '', intro, '');
    lines.push('| Measure | Definition | Range | Units | Properties | Unchanged by |', '|---|---|---|---|---|---|');
    for (const m of measuresOf(view)) {
      const range = `[${bound(m.range[0])}, ${bound(m.range[1])}]`;
      const invariant = m.invariantTo.length > 0 ? m.invariantTo.join('; ') : '—';
      lines.push(`| \`${m.name}\` | ${cell(inFlagWords(m.description))} | ${range} | ${cell(inFlagWords(m.units))} | ${properties(m)} | ${cell(invariant)} |`);
    }
    lines.push('');
  }
  return lines.join('\n');
}

/* c8 ignore start -- the command line; the test calls renderMeasuresDoc */
if (require.main === module) {
  const doc = renderMeasuresDoc();
  if (process.argv.includes('--check')) {
    const current = fs.existsSync(MEASURES_DOC) ? fs.readFileSync(MEASURES_DOC, 'utf8') : '';
    if (current !== doc) {
      console.error('docs/measures.md is stale: run npx tsx scripts/measures-doc.ts');
      process.exit(1);
    }
  } else {
    fs.writeFileSync(MEASURES_DOC, doc);
  }
}
/* c8 ignore stop */
