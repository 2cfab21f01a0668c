/**
 * Outputs computed anywhere (lib/many/saved-outputs.ts): `modeldiff outputs` run once per model
 * in separate processes (as the tasks of a job array would), then one `study` / `matrix` on the
 * saved files, gives JSON byte for byte equal to the single-process run on the models. Saved
 * outputs mixed with models give the same; weight matrices still need the models; outputs from
 * another probe set, or without their metadata, are refused naming the files and both hashes.
 */
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import t from 'tap';

import { runCli } from '../lib/cli/main';
import { npyReadCounters, writeNpy } from '../lib/io/npy';
import { probeSha256, readSavedOutputs } from '../lib/many/saved-outputs';
import { createRng } from '../lib/util/rng';
import { mlpModel } from './helpers/onnx-builder';

const ROOT = path.join(__dirname, '..');
const [D, H, K, N] = [4, 5, 3, 120];
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'modeldiff-saved-outputs-'));
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));

const rng = createRng(17);
const r = (len: number) => Array.from({ length: len }, () => rng.normal());
const models = [0, 1, 2, 3].map((i) => {
  const file = path.join(dir, 'models', `m${i}.onnx`);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const layers = [
    { W: r(H * D), b: r(H), out: H, in: D, activation: 'relu' as const },
    { W: r(K * H), b: r(K), out: K, in: H },
  ];
  fs.writeFileSync(file, mlpModel({ layers }));
  return file;
});
const x = path.join(dir, 'x.npy');
writeNpy(x, { dtype: 'float32', shape: [N, D], data: Float32Array.from(r(N * D)) });
const x2 = path.join(dir, 'x2.npy');
writeNpy(x2, { dtype: 'float32', shape: [N, D], data: Float32Array.from(r(N * D)) });
fs.mkdirSync(path.join(dir, 'outputs'));

async function run(args: string[]) {
  let out = '';
  let err = '';
  const code = await runCli(args, { cwd: dir, isTTY: false, stdout: (s: string) => void (out += s), stderr: (s: string) => void (err += s) });
  return { code, out, err };
}

/** `modeldiff <args>` in a child process, outside tap's coverage hooks (as test/cli-pipe.test.ts). */
function runProcess(args: string[]): Promise<{ status: number | null; err: string }> {
  const script = `require(${JSON.stringify(path.join(ROOT, 'lib/cli/main'))}).runCli(process.argv.slice(1)).then((c) => { process.exitCode = c; })`;
  const child = spawn('env', ['-i', `PATH=${process.env.PATH ?? ''}`, process.execPath, '--import', 'tsx', '-e', script, ...args], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  return new Promise((resolve) => child.on('close', (status) => resolve({ status, err })));
}

const saved = models.map((_, i) => path.join(dir, 'outputs', `m${i}.npy`));
const common = ['--json', '--seed', '3', '--no-cache'];

t.test('one `outputs` process per model, then one study: the same JSON as one process on the models', async (t) => {
  // The job array: each task independent (here all at once, as a scheduler would run them).
  const tasks = await Promise.all(models.map((m, i) => runProcess(['outputs', m, '--data', x, '--out', saved[i], '--no-cache', '-q'])));
  tasks.forEach((task, i) => t.equal(task.status, 0, `outputs task ${i}: ${task.err}`));
  const meta = readSavedOutputs(saved[0]).meta;
  t.match(meta, { format: 'modeldiff-outputs', version: 1, model: models[0], output: 'y', n: N, k: K, dtype: 'float32' });
  t.equal(meta.probeSha256, probeSha256(x));

  const single = await run(['study', ...models, '--data', x, '--weights', 'none', '--permutations', '19', ...common]);
  t.equal(single.code, 0, single.err);
  const split = await run(['study', ...saved, '--weights', 'none', '--permutations', '19', ...common]);
  t.equal(split.code, 0, split.err);
  t.equal(split.out, single.out, 'study: byte for byte');
  t.ok(JSON.parse(split.out).pairs.length === 6);

  // Mixed: two saved, two models (the models need the probe, and the saved ones are checked against it).
  const mixed = await run(['study', saved[0], models[1], saved[2], models[3], '--data', x, '--weights', 'none', '--permutations', '19', ...common]);
  t.equal(mixed.code, 0, mixed.err);
  t.equal(mixed.out, single.out, 'study, mixed: byte for byte');

  const matrixModels = await run(['matrix', ...models, '--data', x, '--weights', 'none', ...common]);
  const matrixSaved = await run(['matrix', ...saved, '--weights', 'none', ...common]);
  t.equal(matrixSaved.code, 0, matrixSaved.err);
  t.equal(matrixSaved.out, matrixModels.out, 'matrix: byte for byte');

  // Weight matrices need the models: by default they are skipped for saved outputs, and asking is an error.
  const savedDefault = JSON.parse((await run(['matrix', ...saved, ...common])).out);
  t.same(savedDefault.functional, JSON.parse(matrixModels.out).functional, 'the functional part does not need the models');
  t.same(savedDefault.weights, { methods: [], skipped: 'models were given as outputs, not ONNX files' });
  const asked = await run(['matrix', ...saved, '--weights', 'raw', ...common]);
  t.equal(asked.code, 2);
  t.match(asked.err, /weight distances need every model as an ONNX file/);
});

t.test('outputs from another probe set, or without metadata, are refused', async (t) => {
  const other = path.join(dir, 'outputs', 'other.safetensors');
  const w = await run(['outputs', models[1], '--data', x2, '--out', other, '--no-cache', '--json']);
  t.equal(w.code, 0, w.err);
  const summary = JSON.parse(w.out);
  t.equal(summary.probeSha256, probeSha256(x2));
  t.not(summary.probeSha256, probeSha256(x));

  const mismatch = await run(['matrix', saved[0], other, '--no-cache']);
  t.not(mismatch.code, 0);
  t.match(mismatch.err, new RegExp(`other\\.safetensors: computed on a different probe set \\(sha256 ${probeSha256(x2)}\\) than .*m0\\.npy \\(sha256 ${probeSha256(x)}\\)`));
  const againstData = await run(['matrix', saved[0], saved[1], '--data', x2, '--no-cache']);
  t.match(againstData.err, new RegExp(`m0\\.npy: computed on a different probe set \\(sha256 ${probeSha256(x)}\\) than .*x2\\.npy \\(sha256 ${probeSha256(x2)}\\)`));

  // The same probe in another format hashes the same: a .safetensors probe accepts outputs made from x.npy.
  const text = await run(['outputs', models[2], '--data', x, '--out', path.join(dir, 'outputs', 'm2.pb'), '--no-cache']);
  t.match(text.out, new RegExp(`probe sha256 ${probeSha256(x)}`));
  t.equal((await run(['matrix', saved[0], path.join(dir, 'outputs', 'm2.pb'), '--no-cache', '--json'])).code, 0);

  const bare = path.join(dir, 'bare.npy');
  fs.copyFileSync(saved[0], bare);
  const noMeta = await run(['matrix', bare, saved[1], '--no-cache']);
  t.match(noMeta.err, /bare\.npy: no bare\.npy\.json beside it, so the probe set it was computed on is unknown/);
  fs.writeFileSync(`${bare}.json`, '{"format": "something else"}');
  t.match((await run(['matrix', bare, saved[1], '--no-cache'])).err, /bare\.npy\.json: not modeldiff outputs metadata/);
  fs.writeFileSync(`${bare}.json`, '{');
  t.match((await run(['matrix', bare, saved[1], '--no-cache'])).err, /bare\.npy\.json: not JSON/);
  const meta = JSON.parse(fs.readFileSync(`${saved[1]}.json`, 'utf8'));
  t.same(meta.shape, [N, K], 'the metadata records the array shape');
  t.equal(meta.k, K, 'and k, as before');
  fs.writeFileSync(`${bare}.json`, JSON.stringify({ ...meta, shape: [N, 1, K] }));
  t.match((await run(['matrix', bare, saved[1], '--no-cache'])).err, /bare\.npy: has shape \[120, 3\] but its metadata says \[120, 1, 3\]/);
  fs.writeFileSync(`${bare}.json`, JSON.stringify({ ...meta, shape: 'x' }));
  t.match((await run(['matrix', bare, saved[1], '--no-cache'])).err, /not modeldiff outputs metadata/);
  fs.writeFileSync(`${bare}.json`, JSON.stringify({ ...meta, n: N + 1 }));
  t.match((await run(['matrix', bare, saved[1], '--no-cache'])).err, /holds 120 × 3 outputs but its metadata says 121 × 3/);
  writeNpy(bare, { dtype: 'int32', shape: [N, K], data: new Int32Array(N * K) }, { force: true });
  t.match((await run(['matrix', bare, saved[1], '--no-cache'])).err, /outputs must be float32 or float64, got int32/);
  writeNpy(bare, { dtype: 'float32', shape: [N, K, 1], data: new Float32Array(N * K) }, { force: true });
  // A rank-3 array is a sequence output: it cannot be compared with n × k rows (older metadata, no shape).
  const { shape: _shape, ...older } = meta;
  fs.writeFileSync(`${bare}.json`, JSON.stringify(older));
  t.match((await run(['matrix', bare, saved[1], '--no-cache'])).err, /output has shape \[N, 3\] but the first model's is \[N, 3, 1\]/);
  // A model file still needs the probe set.
  t.match((await run(['matrix', saved[0], models[1], '--no-cache'])).err, /^modeldiff: model files need a probe set: --data FILE\n$/);
  // `outputs` does not overwrite an existing metadata file without --force.
  fs.writeFileSync(path.join(dir, 'outputs', 'fresh.npy.json'), '{}');
  t.match((await run(['outputs', models[0], '--data', x, '--out', path.join(dir, 'outputs', 'fresh.npy'), '--no-cache'])).err, /fresh\.npy\.json/);
});

t.test('the probe file is read once: its hash comes from the read that inference makes', async (t) => {
  // The reference: SHA-256 over `input "" <array hash>`, the array hash over dtype, shape and bytes.
  const bytes = fs.readFileSync(x).subarray(fs.statSync(x).size - N * D * 4);
  const arrayHash = crypto.createHash('sha256').update(`float32|${N},${D}|`).update(bytes).digest('hex');
  const reference = crypto.createHash('sha256').update(`input "" ${arrayHash}\n`).digest('hex');
  const reset = () => Object.assign(npyReadCounters, { rowReads: 0, maxRowReadBytes: 0, hashReads: 0, maxHashReadBytes: 0 });
  const out = (name: string) => path.join(dir, 'outputs', name);

  reset();
  const noCache = await run(['outputs', models[0], '--data', x, '--out', out('once.npy'), '--batch-size', '50', '--no-cache', '--json']);
  t.equal(noCache.code, 0, noCache.err);
  t.equal(JSON.parse(noCache.out).probeSha256, reference);
  t.same([npyReadCounters.rowReads, npyReadCounters.hashReads], [3, 0], 'three batches of rows, no separate hashing pass');

  // With the cache the key needs the hash before inference: one hashing pass, reused afterwards.
  const cacheDir = path.join(dir, 'cache');
  reset();
  const miss = await run(['outputs', models[0], '--data', x, '--out', out('miss.npy'), '--batch-size', '50', '--cache-dir', cacheDir, '--json']);
  t.equal(JSON.parse(miss.out).probeSha256, reference);
  t.same([npyReadCounters.rowReads, npyReadCounters.hashReads], [3, 1], 'a cache miss: one hashing pass, then the rows');
  reset();
  const hit = await run(['outputs', models[0], '--data', x, '--out', out('hit.npy'), '--cache-dir', cacheDir, '--json']);
  t.same([JSON.parse(hit.out).cached, JSON.parse(hit.out).probeSha256], [true, reference]);
  t.same([npyReadCounters.rowReads, npyReadCounters.hashReads], [0, 1], 'a cache hit: the hashing pass only');

  // matrix with saved outputs and a model: the probe is loaded once and checked from that read.
  reset();
  const mixed = await run(['matrix', saved[0], models[1], '--data', x, '--weights', 'none', '--no-cache', '--json']);
  t.equal(mixed.code, 0, mixed.err);
  t.same([npyReadCounters.rowReads, npyReadCounters.hashReads], [1, 0], 'one whole read, no hashing pass');
  // Hashing a probe no read has gone through streams the file once, to the same value.
  reset();
  t.equal(probeSha256(x), reference);
  t.same([npyReadCounters.rowReads, npyReadCounters.hashReads], [0, 1]);
});
