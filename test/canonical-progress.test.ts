/**
 * The canonical method's progress (lib/weights/canonical-progress.ts): per model, the read and
 * every hidden group of normalization and sorting, then the distance layer by layer — on the
 * plain-chain path (canonical-stream.ts) and the in-place path (canonicalizeNetwork) — and the
 * CLI's terminal line drawn from it, none with --json, -q or off a terminal.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import t from 'tap';

import { canonicalProgressWords } from '../lib/cli/commands/weights';
import { runCli } from '../lib/cli/main';
import { createRng } from '../lib/util/rng';
import { weightDistance } from '../lib/weights';
import type { CanonicalProgress } from '../lib/weights/canonical-progress';
import { mlpBytes, randomDense, randomResMlp, resMlpBytes } from './helpers/onnx-models';

/** What one model reports for `groups` hidden groups, in order. */
const modelSteps = (model: string, groups: number) => [
  [model, 'read', 0, 1],
  [model, 'read', 1, 1],
  ...Array.from({ length: groups + 1 }, (_, i) => [model, 'normalize', i, groups]),
  ...Array.from({ length: groups + 1 }, (_, i) => [model, 'sort', i, groups]),
];

const asRows = (seen: CanonicalProgress[]) => seen.map((p) => [p.model, p.stage, p.step, p.steps]);

t.test('a plain chain: read, each group normalized and sorted, each layer pair summed', async (t) => {
  const rng = createRng(3);
  const sizes = [5, 9, 9, 9, 3]; // 3 hidden groups, 4 layers
  const [a, b] = [0, 1].map(() => mlpBytes(randomDense(rng, sizes), 'relu'));
  const seen: CanonicalProgress[] = [];
  const r = await weightDistance(a, b, { methods: ['canonical'], onCanonicalProgress: (p) => seen.push(p) });
  const label = seen[0].model;
  t.ok(label.length > 0, 'the model is named');
  t.same(asRows(seen), [...modelSteps(label, 3), ...modelSteps(label, 3), ...Array.from({ length: 5 }, (_, i) => ['', 'distance', i, 4])]);
  t.equal(r.canonical!.l2, (await weightDistance(a, b, { methods: ['canonical'] })).canonical!.l2, 'reporting changes no number');
  // Only the canonical method reports.
  const quiet: CanonicalProgress[] = [];
  await weightDistance(a, b, { methods: ['raw', 'aligned'], onCanonicalProgress: (p) => quiet.push(p) });
  t.same(quiet, []);
});

t.test('a residual MLP (normalized and sorted in place): the same stages, one distance step', async (t) => {
  const rng = createRng(4);
  const [a, b] = [0, 1].map(() => resMlpBytes(randomResMlp(rng)));
  const seen: CanonicalProgress[] = [];
  const r = await weightDistance(a, b, { methods: ['canonical'], onCanonicalProgress: (p) => seen.push(p) });
  const label = seen[0].model;
  // Two groups: the residual stream and the block's inner units.
  t.same(asRows(seen), [...modelSteps(label, 2), ...modelSteps(label, 2), ['', 'distance', 0, 1], ['', 'distance', 1, 1]]);
  t.equal(r.canonical!.l2, (await weightDistance(a, b, { methods: ['canonical'] })).canonical!.l2);
});

t.test('canonicalProgressWords', async (t) => {
  t.equal(canonicalProgressWords({ model: '/x/a.onnx', stage: 'read', step: 0, steps: 1 }), 'canonical: a.onnx: reading');
  t.equal(canonicalProgressWords({ model: '/x/a.onnx', stage: 'read', step: 1, steps: 1 }), 'canonical: a.onnx: read');
  t.equal(canonicalProgressWords({ model: '/x/a.onnx', stage: 'normalize', step: 2, steps: 3 }), 'canonical: a.onnx: normalizing, layer group 2/3 done');
  t.equal(canonicalProgressWords({ model: 'a.onnx', stage: 'sort', step: 1, steps: 3 }), 'canonical: a.onnx: sorting, layer group 1/3 done');
  t.equal(canonicalProgressWords({ model: '', stage: 'distance', step: 4, steps: 4 }), 'canonical: distance, layer 4/4 summed');
});

t.test('modeldiff weights --method canonical: a progress line on a terminal, none with --json or -q', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'modeldiff-canprog-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const rng = createRng(5);
  const sizes = [5, 9, 9, 3];
  fs.writeFileSync(path.join(dir, 'a.onnx'), mlpBytes(randomDense(rng, sizes), 'relu'));
  fs.writeFileSync(path.join(dir, 'b.onnx'), mlpBytes(randomDense(rng, sizes), 'relu'));
  const run = async (args: string[], isTTY: boolean) => {
    let out = '';
    let err = '';
    const code = await runCli(['weights', 'a.onnx', 'b.onnx', '--method', 'canonical', ...args], { cwd: dir, isTTY, stdout: (s: string) => void (out += s), stderr: (s: string) => void (err += s) });
    t.equal(code, 0, err);
    return { out, err };
  };
  const tty = await run([], true);
  const lines = tty.err.split('\r\x1b[2K').filter(Boolean);
  t.same(lines, [
    ...['a.onnx', 'b.onnx'].flatMap((m) => [
      `canonical: ${m}: reading`,
      `canonical: ${m}: read`,
      ...[0, 1, 2].map((i) => `canonical: ${m}: normalizing, layer group ${i}/2 done`),
      ...[0, 1, 2].map((i) => `canonical: ${m}: sorting, layer group ${i}/2 done`),
    ]),
    ...[0, 1, 2, 3].map((i) => `canonical: distance, layer ${i}/3 summed`),
  ]);
  t.ok(tty.err.endsWith('\r\x1b[2K'), 'the line is cleared before the result');
  t.equal(tty.out, (await run([], false)).out, 'the same result');
  t.equal((await run(['--json'], true)).err, '');
  t.equal((await run(['-q'], true)).err, '');
  t.equal((await run([], false)).err, '');
});
