/**
 * `modeldiff demo` in a temporary cwd: it writes modeldiff-demo.html there,
 * refuses to overwrite it without --force, --force overwrites, and every
 * number the plain-language summary prints is the JSON's number. The JSON's
 * numbers are checked against the study they were derived from and against
 * the zoo's construction.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import t from 'tap';

import { runCli } from '../lib/cli/main';
import { runDemo } from '../lib/demo/run';
import { formatNumber } from '../lib/util/format-number';
import { captureIo } from './helpers/capture-io';

const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'modeldiff-demo-'));
t.teardown(() => fs.rmSync(cwd, { recursive: true, force: true }));
const io = () => Object.assign(captureIo(), { cwd });
const report = path.join(cwd, 'modeldiff-demo.html');

/** The first number after `label` in the text (formats: 0.003215, 22.75, 4.67e-15). */
function after(text: string, label: string): number {
  const at = text.indexOf(label);
  if (at < 0) throw new Error(`"${label}" not in the summary:\n${text}`);
  const m = /-?\d+(?:\.\d+)?(?:e[+-]?\d+)?/.exec(text.slice(at + label.length));
  return Number(m![0]);
}
/** The printed value is the JSON value to the (3–4) significant digits printed. */
const printed = (text: string, label: string, v: number) => Math.abs(after(text, label) - v) <= 5e-3 * Math.abs(v);

let json: any;
let text = '';

t.test('demo --json writes the report in the cwd and its numbers hold together', async (t) => {
  const o = io();
  t.equal(await runCli(['demo', '--json'], o), 0, o.err);
  json = JSON.parse(o.out);
  t.equal(json.report, report);
  const html = fs.readFileSync(report, 'utf8');
  t.match(html, /<svg/, 'report has plots');
  t.match(html, /modeldiff demo/, 'report shows the command');

  const s = json.summary;
  const st = json.study;
  t.equal(st.models.length, 10);
  t.equal(s.seedRuns, 8);
  // distinct solutions among seed runs = distinct cluster labels of the seed models
  const seedIdx = st.models.map((m: string, i: number) => [m, i]).filter(([m]: [string]) => /seed\d\.onnx$/.test(m)).map(([, i]: [string, number]) => i);
  t.equal(seedIdx.length, 8);
  t.equal(s.solutions, new Set(seedIdx.map((i: number) => st.clustering.labels[i])).size);
  t.equal(s.chao1.models, 8);
  t.equal(s.chao1.observed, s.solutions);
  // One source of truth: the study's own count is over the seed runs, and the report's cards show it.
  t.same(st.solutions.counted, seedIdx.map((i: number) => st.models[i]).sort());
  t.equal(st.solutions.observed, s.solutions);
  t.equal(st.solutions.estimate, s.chao1.estimate);
  t.match(html, `<div class="v">${s.solutions}</div><div class="l">distinct solutions among 8 of the 10 models</div>`);
  t.match(html, `<div class="v">${formatNumber(s.chao1.estimate)}</div><div class="l">Chao1 estimate (95% CI ${formatNumber(s.chao1.lower)}–${formatNumber(s.chao1.upper)})</div>`);
  t.match(html, /count only the 8 independent runs \(mlp_relu_seed0\.onnx, /);
  t.ok(s.chao1.estimate >= s.solutions && s.chao1.lower <= s.chao1.estimate && s.chao1.estimate <= s.chao1.upper);
  t.equal(s.threshold, st.threshold.value);
  t.equal(s.pairs, 45);
  for (const c of st.correlations) t.equal(s.r2[c.method], c.pearson.r ** 2, `R² of ${c.method}`);
  t.ok(s.r2.aligned > s.r2.raw, 'aligned weight distance explains more than raw');

  const iOf = (f: string) => st.models.indexOf(f);
  const pair = (a: string, b: string) => st.pairs.find((p: any) => p.i === Math.min(iOf(a), iOf(b)) && p.j === Math.max(iOf(a), iOf(b)));
  const p = s.perturbed;
  t.equal(p.parent, 'mlp_relu_seed0.onnx');
  t.equal(p.returned, pair(p.parent, p.model).sameSolution);
  t.ok(Math.abs(p.js.mean - pair(p.parent, p.model).functional.mean) < 1e-12, 'compare and study agree on JS');
  t.ok(p.js.ci95[0] <= p.js.mean && p.js.mean <= p.js.ci95[1]);
  t.equal(p.weights.aligned, pair(p.parent, p.model).weights.aligned);

  const q = s.permuted;
  t.equal(q.parent, 'mlp_relu_seed1.onnx');
  t.ok(q.js.mean < 1e-9, `copy JS ${q.js.mean}`);
  t.ok(q.relative.raw > 0.5 && q.relative.canonical < 1e-5 && q.relative.aligned < 1e-5);
  t.equal(pair(q.parent, q.model).sameSolution, true);

  // the other architectures: one pair each, with the symmetry the graph analysis derived
  t.same(
    s.otherPairs.map((o: any) => [o.architecture, o.symmetry]),
    [
      ['mlp-tanh-64-64', 'permutation+sign'],
      ['cnn-conv8-conv8', 'permutation+scale'],
    ],
  );
  for (const o of s.otherPairs) {
    t.ok(o.js > 1e-4, `${o.a} vs ${o.b} differ in function`);
    t.ok(o.relative.aligned <= o.relative.raw, 'alignment does not increase the distance');
  }
});

t.test('demo refuses to overwrite the report without --force', async (t) => {
  const before = fs.statSync(report).mtimeMs;
  const o = io();
  t.equal(await runCli(['demo'], o), 1);
  t.match(o.err, /modeldiff-demo\.html already exists; --force overwrites it$/m);
  t.equal(o.err.trim().split('\n').length, 1);
  t.equal(o.out, '');
  t.equal(fs.statSync(report).mtimeMs, before, 'file untouched');
});

t.test('demo --force overwrites; the summary prints the JSON numbers', async (t) => {
  fs.writeFileSync(report, 'old');
  const o = io();
  t.equal(await runCli(['demo', '--force'], o), 0, o.err);
  text = o.out;
  t.not(fs.readFileSync(report, 'utf8'), 'old');
  const s = json.summary;
  t.ok(printed(text, 'runs from different seeds: ', s.solutions) && after(text, '8 runs from different seeds: ') === s.solutions);
  t.ok(printed(text, 'JS below ', s.threshold), 'threshold');
  t.ok(printed(text, 'Chao1 estimate: ', s.chao1.estimate), 'Chao1');
  t.ok(printed(text, 'solutions (95% CI ', s.chao1.lower), 'Chao1 lower');
  t.ok(printed(text, 'canonical R² = ', s.r2.canonical), 'canonical R²');
  t.ok(printed(text, 'aligned R² = ', s.r2.aligned), 'aligned R²');
  t.ok(printed(text, 'raw R² = ', s.r2.raw), 'raw R²');
  t.match(text, s.perturbed.returned ? /returned to its starting solution/ : /did not return to its starting solution/);
  t.ok(printed(text, 'starting solution: JS = ', s.perturbed.js.mean), 'perturbed JS');
  t.ok(printed(text, `JS = ${formatNumber(s.perturbed.js.mean)} (95% CI `, s.perturbed.js.ci95[0]), 'perturbed CI');
  t.ok(printed(text, `from ${s.perturbed.parent}; two independent seeds differ by median JS `, s.seedPairMedian.js), 'seed median JS');
  t.ok(printed(text, 'same function (JS = ', s.permuted.js.mean), 'copy JS');
  t.ok(printed(text, 'raw relative weight distance ', s.permuted.relative.raw), 'copy raw');
  t.ok(printed(text, 'canonicalizes to ', s.permuted.relative.canonical), 'copy canonical');
  t.ok(printed(text, 'aligns to ', s.permuted.relative.aligned), 'copy aligned');
  for (const o of s.otherPairs) {
    const line = `${o.a} vs ${o.b}: JS = `;
    t.ok(printed(text, line, o.js), `${o.architecture} JS`);
    t.ok(printed(text.slice(text.indexOf(line)), 'aligned ', o.relative.aligned), `${o.architecture} aligned`);
  }
  t.match(text, /\nReport: modeldiff-demo\.html\n/, 'report path shown relative to the cwd');
  t.match(text, `(zoo: ${path.join(__dirname, '..', 'examples', 'digits')})`, 'zoo outside the cwd: shown absolute');
});

t.test('--out resolves against the cwd; runDemo errors are typed', async (t) => {
  fs.writeFileSync(path.join(cwd, 'mine.html'), 'keep');
  const o = io();
  t.equal(await runCli(['demo', '--out', 'mine.html', '-q'], o), 1);
  t.match(o.err, `${path.join(cwd, 'mine.html')} already exists`);
  t.equal(fs.readFileSync(path.join(cwd, 'mine.html'), 'utf8'), 'keep');
  await t.rejects(runDemo({ cwd, out: 'out/r.html' }), { code: 'FILE_NOT_FOUND', option: 'out', message: /^options\.out .*out\/r\.html: folder .*out does not exist/ }, 'the demo names its own option');
  await t.rejects(runDemo({ cwd, out: '.', force: true }), { code: 'INVALID_ARGUMENT', option: 'out', message: /^options\.out .* is a folder; give the HTML file to write/ }, '--force does not make a folder writable');
  await t.rejects(runDemo({ cwd, out: 'r.html', zooDir: path.join(cwd, 'nowhere') }), { code: 'FILE_NOT_FOUND', message: /manifest\.json not found/ });
  await t.rejects(runDemo({ cwd, out: 'modeldiff-demo.html' }), { code: 'FILE_EXISTS' });
});

t.test('num: 4 significant digits, exponent form for tiny values', async (t) => {
  t.equal(formatNumber(0), '0');
  t.equal(formatNumber(0.0032154), '0.003215');
  t.equal(formatNumber(22.75), '22.75');
  t.equal(formatNumber(4.6696e-15), '4.67e-15');
  t.equal(formatNumber(1.6533788), '1.653');
  t.equal(formatNumber(Infinity), 'Infinity');
});
