/**
 * Weight matching's stopping rules (lib/weights/matching.ts): the per-sweep objective reported
 * through onSweep is the one the result records; a relative-improvement tolerance stops at the
 * first sweep whose gain over the previous objective is at most tol × the objective — checked
 * against the sweep that rule picks from the tolerance-free run's own objective trace — and
 * otherwise the run ends at a fixed point or the sweep limit, saying which.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import t from 'tap';

import { cliErrorLine } from '../lib/cli/flags';
import { runCli } from '../lib/cli/main';
import type { ModeldiffError } from '../lib/errors';

import { readOnnx } from '../lib/io/onnx';
import { createRng } from '../lib/util/rng';
import { weightDistance } from '../lib/weights';
import { buildNetwork } from '../lib/weights/graph';
import { weightMatching } from '../lib/weights/matching';
import { cloneNetwork } from '../lib/weights/network';
import { normalizeNetwork } from '../lib/weights/symmetry';
import { mlpBytes, randomDense } from './helpers/onnx-models';

function pair(seed: number) {
  const rng = createRng(seed);
  const sizes = [6, 14, 14, 14, 14, 3];
  const [a, b] = [0, 1].map(() => {
    const net = buildNetwork(readOnnx(mlpBytes(randomDense(rng, sizes), 'relu')));
    normalizeNetwork(net);
    return net;
  });
  return { a, b };
}

t.test('tolerance: stops at the first sweep whose relative gain is <= tol; objective per sweep', async (t) => {
  const { a, b } = pair(31);
  const seen: Array<[number, number]> = [];
  const full = await weightMatching(a, cloneNetwork(b), { seed: 2, onSweep: (s, v) => seen.push([s, v]) });
  t.equal(full.stopped, 'fixed-point');
  t.ok(full.converged);
  t.ok(full.sweeps >= 3, `a deep net takes several sweeps (${full.sweeps})`);
  t.same(seen, full.objective.slice(1).map((v, i) => [i + 1, v]), 'onSweep reports each sweep and its objective');
  // The tolerance-free trace says where a tolerance must stop: the first sweep s with
  // objective[s] − objective[s−1] <= tol·|objective[s]| (before the fixed point).
  const gains = full.objective.slice(1).map((v, i) => (v - full.objective[i]) / Math.abs(v));
  const tol = gains[1] * 1.01; // just above the second sweep's relative gain
  const expected = gains.findIndex((g) => g <= tol) + 1;
  t.ok(expected < full.sweeps, 'the tolerance stops before the fixed point');
  const early = await weightMatching(a, cloneNetwork(b), { seed: 2, tol });
  t.equal(early.sweeps, expected);
  t.equal(early.stopped, 'tolerance');
  t.notOk(early.converged);
  t.same(early.objective, full.objective.slice(0, expected + 1), 'the same sweeps up to the stop');
  // tol 0 is the fixed-point rule; the sweep limit is reported as such.
  t.same((await weightMatching(a, cloneNetwork(b), { seed: 2, tol: 0 })).objective, full.objective);
  const capped = await weightMatching(a, cloneNetwork(b), { seed: 2, maxSweeps: 1 });
  t.match(capped, { sweeps: 1, stopped: 'max-sweeps', converged: false });
  await t.rejects(weightMatching(a, cloneNetwork(b), { tol: -1 }), { code: 'INVALID_ARGUMENT', option: 'tol', message: /finite number >= 0, got -1/ });
  await t.rejects(weightMatching(a, cloneNetwork(b), { tol: NaN }), { code: 'INVALID_ARGUMENT', option: 'tol' });
  // weightDistance checks it before reading a model, with the same error (one check, option set).
  const mlp = mlpBytes(randomDense(createRng(1), [3, 4, 2]), 'relu');
  await t.rejects(weightDistance(mlp, mlp, { methods: ['aligned'], tol: -1 }), { code: 'INVALID_ARGUMENT', option: 'tol', message: /^options\.tol \(the matching tolerance\) must be a finite number >= 0, got -1$/ });
  await t.rejects(weightDistance(mlp, mlp, { methods: ['aligned'], tol: Infinity }), { code: 'INVALID_ARGUMENT', option: 'tol', message: /got Infinity$/ });
  const e = await weightDistance(mlp, mlp, { methods: ['aligned'], tol: -1 }).catch((err: ModeldiffError) => err);
  t.equal(cliErrorLine(e as ModeldiffError, new Set(['--tol'])), '--tol (the matching tolerance) must be a finite number >= 0, got -1', 'the CLI names the flag');
});

t.test('modeldiff weights --tol: a progress line per sweep on a terminal, none with --json or -q', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'modeldiff-tol-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const rng = createRng(5);
  const sizes = [5, 9, 9, 9, 3];
  fs.writeFileSync(path.join(dir, 'a.onnx'), mlpBytes(randomDense(rng, sizes), 'relu'));
  fs.writeFileSync(path.join(dir, 'b.onnx'), mlpBytes(randomDense(rng, sizes), 'relu'));
  const run = async (args: string[], isTTY: boolean) => {
    let out = '';
    let err = '';
    const code = await runCli(['weights', 'a.onnx', 'b.onnx', '--method', 'aligned', ...args], { cwd: dir, isTTY, stdout: (s: string) => void (out += s), stderr: (s: string) => void (err += s) });
    return { code, out, err };
  };
  const tty = await run([], true);
  t.equal(tty.code, 0, tty.err);
  const sweeps = [...tty.err.matchAll(/aligned: sweep (\d+), objective (-?[\d.e+-]+)/g)];
  const reported = Number(/aligned by weights matching: (\d+) sweep/.exec(tty.out)?.[1]);
  t.equal(sweeps.length, reported, `one line per sweep (${reported})`);
  t.same(sweeps.map((m) => Number(m[1])), Array.from({ length: reported }, (_, i) => i + 1));
  t.equal((await run(['--json'], true)).err, '');
  t.equal((await run(['-q'], true)).err, '');
  t.equal((await run([], false)).err, '');
  const loose = JSON.parse((await run(['--json', '--tol', '0.5'], false)).out);
  t.ok(loose.alignment.iterations <= reported, `a loose tolerance stops no later (${loose.alignment.iterations} vs ${reported})`);
  const bad = await run(['--tol', '-1'], false);
  t.equal(bad.code, 2);
  t.match(bad.err, /--tol/);
});

t.test('a --tol stop is reported as such, in the JSON and the text', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'modeldiff-tolstop-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const rng = createRng(31);
  const sizes = [6, 14, 14, 14, 14, 3];
  fs.writeFileSync(path.join(dir, 'a.onnx'), mlpBytes(randomDense(rng, sizes), 'relu'));
  fs.writeFileSync(path.join(dir, 'b.onnx'), mlpBytes(randomDense(rng, sizes), 'relu'));
  const run = async (args: string[]) => {
    let out = '';
    let err = '';
    const code = await runCli(['weights', 'a.onnx', 'b.onnx', '--method', 'aligned', '--seed', '2', ...args], { cwd: dir, isTTY: false, stdout: (s: string) => void (out += s), stderr: (s: string) => void (err += s) });
    t.equal(code, 0, err);
    return out;
  };
  const full = JSON.parse(await run(['--json'])).alignment;
  t.equal(full.stopped, 'fixed-point');
  t.ok(full.converged);
  t.ok(full.iterations >= 3, `several sweeps to the fixed point (${full.iterations})`);
  // A tolerance just above the second sweep's relative gain stops before the fixed point.
  const gains = (full.objective as number[]).slice(1).map((v, i) => (v - full.objective[i]) / Math.abs(v));
  const tol = String(gains[1] * 1.01);
  const early = JSON.parse(await run(['--json', '--tol', tol])).alignment;
  t.equal(early.stopped, 'tolerance');
  t.notOk(early.converged);
  t.ok(early.iterations < full.iterations);
  t.match(await run(['--tol', tol]), /sweep\(s\), stopped: the objective improved by less than --tol, seed 2/);
  t.match(await run([]), /sweep\(s\), converged, seed 2/);
});
