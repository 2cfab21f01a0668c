// One source of names: the measure registry (lib/measures/) is the list; the TypeScript name
// lists are derived from it, the addon's kernels must know exactly the per-sample function
// measures in the same order, and docs/measures.md is generated from it.
import fs from 'node:fs';

import t from 'tap';

import { inFlagWords } from '../lib/cli/flags';
import { FUNCTION_MEASURE_NAMES } from '../lib/function/divergence';
import { measuresOf } from '../lib/measures/registry';
import { native } from '../lib/native';
import { REPRESENTATION_MEASURES } from '../lib/represent/similarity';
import { MEASURES_DOC, renderMeasuresDoc } from '../scripts/measures-doc';

t.test('the divergence kernels know exactly the per-sample function measures of the registry', async (t) => {
  const registry = measuresOf('function')
    .filter((m) => !m.setLevel)
    .map((m) => m.name);
  t.same([...native.divergenceMeasures], registry, 'addon list = registry, in order');
  t.same([...FUNCTION_MEASURE_NAMES], registry, 'FUNCTION_MEASURE_NAMES is derived from the registry');
  t.same(
    measuresOf('function')
      .filter((m) => m.setLevel)
      .map((m) => m.name),
    ['kappa'],
    'the set-level measure is computed in TypeScript, not by the kernels',
  );
});

t.test('the representation measure names are the registry’s', async (t) => {
  t.same(
    [...REPRESENTATION_MEASURES],
    measuresOf('representations').map((m) => m.name),
  );
});

t.test('docs/measures.md is generated from the registry and up to date', async (t) => {
  const doc = renderMeasuresDoc();
  t.equal(fs.readFileSync(MEASURES_DOC, 'utf8'), doc, 'run npx tsx scripts/measures-doc.ts after changing lib/measures/');
  for (const view of ['function', 'weights', 'representations', 'path'] as const) {
    for (const m of measuresOf(view)) {
      const row = doc.split('\n').find((l) => l.startsWith(`| \`${m.name}\` |`));
      t.ok(row, `${m.name} has a row`);
      t.ok(row?.includes(inFlagWords(m.units).replace(/\|/g, '\\|')), `${m.name} row gives its units (in flag words)`);
    }
  }
  t.match(doc, /\| `js` \| .* \| \[0, ln 2\] \|/, 'ranges are written as their closed forms');
  t.match(doc, /\| `cka-linear` \| .* \| \[0, 1\] \| .* \| larger = more similar, symmetric \|/);
});
