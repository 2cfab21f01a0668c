/**
 * The output cache's limits: least-recently-used eviction down to the folder
 * cap (option, environment variable, default), the one-entry budget that
 * skips caching with a one-line note, and `modeldiff cache info|prune|clear`.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import t from 'tap';

import { runCli } from '../lib/cli/main';
import {
  CACHE_SIZE_ENV,
  DEFAULT_CACHE_ENTRY_MAX_BYTES,
  DEFAULT_CACHE_MAX_BYTES,
  cacheEntryMaxBytes,
  cacheInfo,
  cacheMaxBytes,
  clearCache,
  pruneCache,
} from '../lib/infer/cache-budget';
import { writeNpy } from '../lib/io/npy';
import { formatBytes, parseByteSize } from '../lib/util/size';
import { createRng } from '../lib/util/rng';
import { captureIo } from './helpers/capture-io';
import { mlpModel } from './helpers/onnx-builder';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'modeldiff-cache-budget-'));
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));

const key = (c: string) => c.repeat(64);
/** A fake entry of `bytes` bytes last used `ageS` seconds ago. */
function entry(folder: string, name: string, bytes: number, ageS: number): void {
  const file = path.join(folder, name);
  fs.writeFileSync(file, Buffer.alloc(bytes));
  const t0 = Date.now() / 1000 - ageS;
  fs.utimesSync(file, t0, t0);
}

t.test('prune removes the least recently used entries until the folder fits, never the one kept', async (t) => {
  const folder = path.join(dir, 'lru');
  fs.mkdirSync(folder);
  entry(folder, `${key('a')}.bin`, 400, 40); // oldest
  entry(folder, `${key('b')}.bin`, 300, 30);
  entry(folder, `${key('c')}.bin`, 200, 20);
  entry(folder, `${key('d')}.bin`, 100, 10); // newest
  entry(folder, 'notes.txt', 5000, 100); // not an entry: never counted or removed
  // 1000 bytes of entries, cap 450: a (400) and b (300), the least recently used, go; 300 left.
  const r = pruneCache(folder, 450);
  t.same(r, { removed: 2, freedBytes: 700, entries: 2, bytes: 300 });
  t.same(fs.readdirSync(folder).sort(), [`${key('c')}.bin`, `${key('d')}.bin`, 'notes.txt']);
  entry(folder, `${key('a')}.bin`, 400, 40);
  const kept = pruneCache(folder, 450, `${key('a')}.bin`);
  t.same(kept, { removed: 2, freedBytes: 300, entries: 1, bytes: 400 }, 'c and d go; a is the entry just written');
  t.same(fs.readdirSync(folder).sort(), [`${key('a')}.bin`, 'notes.txt']);
  t.same(pruneCache(path.join(dir, 'none'), 1), { removed: 0, freedBytes: 0, entries: 0, bytes: 0 }, 'no folder: an empty cache');
});

t.test('the cap: option, then $MODELDIFF_CACHE_SIZE, then 10 GiB; the entry budget: option, then 2 GiB', async (t) => {
  const saved = process.env[CACHE_SIZE_ENV];
  t.teardown(() => (saved === undefined ? delete process.env[CACHE_SIZE_ENV] : (process.env[CACHE_SIZE_ENV] = saved)));
  delete process.env[CACHE_SIZE_ENV];
  t.equal(cacheMaxBytes(), 10 * 1024 ** 3);
  t.equal(DEFAULT_CACHE_MAX_BYTES, 10737418240);
  process.env[CACHE_SIZE_ENV] = '1.5K';
  t.equal(cacheMaxBytes(), 1536);
  t.equal(cacheMaxBytes(99), 99, 'the option wins');
  process.env[CACHE_SIZE_ENV] = 'lots';
  t.throws(() => cacheMaxBytes(), { code: 'INVALID_ARGUMENT', option: 'cacheMaxBytes', message: 'MODELDIFF_CACHE_SIZE must be a positive size like 512M or 2G, got "lots"' });
  process.env[CACHE_SIZE_ENV] = '0';
  t.throws(() => cacheMaxBytes(), { code: 'INVALID_ARGUMENT', option: 'cacheMaxBytes', message: 'MODELDIFF_CACHE_SIZE must be a positive size like 512M or 2G, got "0"' });
  t.throws(() => cacheMaxBytes(0), { code: 'INVALID_ARGUMENT', option: 'cacheMaxBytes', message: 'options.cacheMaxBytes must be a positive whole number of bytes, got 0' });
  t.equal(cacheEntryMaxBytes(), 2 * 1024 ** 3);
  t.equal(DEFAULT_CACHE_ENTRY_MAX_BYTES, 2147483648);
  t.throws(() => cacheEntryMaxBytes(1.5), { code: 'INVALID_ARGUMENT', option: 'cacheEntryMaxBytes', message: 'options.cacheEntryMaxBytes must be a positive whole number of bytes, got 1.5' });
  t.equal(parseByteSize('2G'), 2147483648);
  t.equal(parseByteSize('512mb'), 536870912);
  t.equal(parseByteSize(' 1G'), null);
  t.equal(formatBytes(1536), '1.5 KiB');
  t.equal(formatBytes(2 * 1024 ** 3), '2 GiB');
  t.equal(formatBytes(700), '700 bytes');
});

// Real inference: three small models (different weights, so different entries) on one probe.
const D = 4;
const K = 3;
const ROWS = 50;
const rng = createRng(8);
const models = ['m0', 'm1', 'm2'].map((name) => {
  const file = path.join(dir, `${name}.onnx`);
  fs.writeFileSync(file, mlpModel({ layers: [{ W: Array.from({ length: K * D }, () => rng.normal()), b: [0, 0, 0], out: K, in: D }] }));
  return file;
});
const probe = path.join(dir, 'x.npy');
writeNpy(probe, { dtype: 'float32', shape: [ROWS, D], data: Float32Array.from({ length: ROWS * D }, () => rng.normal()) });

async function outputs(model: string, cacheDir: string, extra: string[] = []) {
  const io = Object.assign(captureIo(), { cwd: dir });
  const out = path.join(dir, `out-${Math.random().toString(16).slice(2)}.npy`);
  const code = await runCli(['outputs', model, '--data', probe, '--out', out, '--cache-dir', cacheDir, '-q', ...extra], io);
  return { code, out: io.out, err: io.err };
}
const entries = (folder: string) => (fs.existsSync(folder) ? fs.readdirSync(folder).filter((f) => f.endsWith('.bin')) : []);

t.test('a run over the cap evicts the least recently used entry; a hit counts as a use', async (t) => {
  const folder = path.join(dir, 'cache-lru');
  t.equal((await outputs(models[0], folder)).code, 0);
  const [e0] = entries(folder);
  const bytes = fs.statSync(path.join(folder, e0)).size;
  t.equal(bytes, 12 + fs.readFileSync(path.join(folder, e0)).readUInt32LE(8) + ROWS * K * 4 + 40, 'entry = preamble + header + n·k float32 + footer');
  const cap = ['--cache-size', String(2 * bytes + 10)]; // room for two entries
  await new Promise((r) => setTimeout(r, 20));
  t.equal((await outputs(models[1], folder, cap)).code, 0);
  const e1 = entries(folder).find((e) => e !== e0)!;
  await new Promise((r) => setTimeout(r, 20));
  const hit = await outputs(models[0], folder, cap);
  t.match(hit.out, /from the cache/, 'm0 again: a hit, which marks it used');
  await new Promise((r) => setTimeout(r, 20));
  t.equal((await outputs(models[2], folder, cap)).code, 0);
  const left = entries(folder);
  t.equal(left.length, 2);
  t.ok(left.includes(e0), 'm0 (used last) stays');
  t.notOk(left.includes(e1), 'm1 (least recently used) was evicted');
});

t.test('outputs above the one-entry budget are not cached, and one line says so', async (t) => {
  const folder = path.join(dir, 'cache-budget');
  const r = await outputs(models[0], folder, ['--cache-max', '500']);
  t.equal(r.code, 0, r.err);
  t.equal(r.err, `modeldiff: warning: ${models[0]}: outputs not cached: ${formatBytes(ROWS * K * 4)} is above the cache's one-entry budget of 500 bytes\n`);
  t.same(entries(folder), []);
  const bad = await outputs(models[0], folder, ['--cache-max', '0']);
  t.equal(bad.code, 2);
  t.equal(bad.err, 'modeldiff: --cache-max must be a positive size like 512M or 2G, got "0"\n');
});

t.test('modeldiff cache info, prune and clear', async (t) => {
  const folder = path.join(dir, 'cache-cmd');
  for (const m of models) t.equal((await outputs(m, folder)).code, 0);
  fs.writeFileSync(path.join(folder, '.x.bin.1.0123456789ab.tmp'), 'partial');
  const run = async (args: string[]) => {
    const io = captureIo();
    const code = await runCli(['cache', ...args, '--cache-dir', folder], io);
    return { code, out: io.out, err: io.err };
  };
  const sizes = entries(folder).map((e) => fs.statSync(path.join(folder, e)).size);
  const total = sizes.reduce((a, b) => a + b, 0);
  const info = JSON.parse((await run(['info', '--json'])).out);
  t.same(info, { dir: folder, entries: 3, bytes: total, maxBytes: cacheInfo(folder).maxBytes, entryMaxBytes: 2147483648, tempFiles: 1, tempBytes: 7 });
  t.match((await run(['info'])).out, `cache folder: ${folder}\nentries: 3, ${formatBytes(total)} of a `);
  const pruned = await run(['prune', '--cache-size', String(sizes[0] + 1)]);
  t.match(pruned.out, /^removed 2 entries \(.*\); 1 left, .* in /);
  t.equal(entries(folder).length, 1);
  const cleared = JSON.parse((await run(['clear', '--json'])).out);
  t.match(cleared, { dir: folder, removed: 2, entries: 0, bytes: 0 }, 'the last entry and the temporary file');
  t.same(fs.readdirSync(folder), []);
  t.match((await run(['clear'])).out, /^removed 0 files \(0 bytes\) from /);
  t.match((await run(['prune', '--json'])).out, /"removed": 0/);
  t.same(clearCache(path.join(dir, 'never')), { removed: 0, freedBytes: 0, entries: 0, bytes: 0 });
});
