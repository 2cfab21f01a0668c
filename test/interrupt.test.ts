/**
 * Interrupts and the files modeldiff writes: a real child process stopped
 * with SIGINT while it fills a cache entry leaves no temporary file and exits
 * 130 with one line; temporary files left by a killed run are swept after a
 * day; a folder that cannot be written is refused before any work, naming
 * the user's path.
 */
import { type SpawnOptions, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import t from 'tap';

import { runCli } from '../lib/cli/main';
import { INTERRUPTED_EXIT, installInterruptHandlers } from '../lib/cli/interrupt';
import { writeNpy } from '../lib/io/npy';
import { AtomicFile, STALE_TEMP_MS, checkWritableFolder, removePendingTempFiles, sweepStaleTempFiles, writeFileAtomic } from '../lib/util/atomic-write';
import { createRng } from '../lib/util/rng';
import { captureIo } from './helpers/capture-io';
import { mlpModel } from './helpers/onnx-builder';

const ROOT = path.join(__dirname, '..');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'modeldiff-interrupt-'));
fs.chmodSync(dir, 0o755); // readable by the unprivileged child below
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));

const D = 4;
const rng = createRng(3);
const model = path.join(dir, 'm.onnx');
fs.writeFileSync(model, mlpModel({ layers: [{ W: Array.from({ length: 3 * D }, () => rng.normal()), b: [0, 0, 0], out: 3, in: D }] }));
const ROWS = 200_000;
const probe = path.join(dir, 'x.npy');
writeNpy(probe, { dtype: 'float32', shape: [ROWS, D], data: Float32Array.from({ length: ROWS * D }, () => rng.normal()) });

const tmpFiles = (folder: string) => (fs.existsSync(folder) ? fs.readdirSync(folder).filter((f) => f.endsWith('.tmp')) : []);

/** The CLI as its own process (outside tap's coverage hooks, as in cli-pipe.test.ts). */
function cli(args: string[], options: SpawnOptions = {}) {
  const script = "require('./lib/cli/main').runCli(process.argv.slice(1)).then((c) => { process.exitCode = c; })";
  return spawn('env', ['-i', `PATH=${process.env.PATH ?? ''}`, `HOME=${dir}`, process.execPath, '--import', 'tsx', '-e', script, ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    ...options,
  });
}

t.test('SIGINT while a cache entry is being written: temp file removed, one line, exit 130', async (t) => {
  const cacheDir = path.join(dir, 'cache');
  const out = path.join(dir, 'o.npy');
  // Batches of one row: thousands of onnxruntime runs, so the entry is mid-write for seconds.
  const child = cli(['outputs', model, '--data', probe, '--out', out, '--cache-dir', cacheDir, '--batch-size', '1', '-q']);
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  const closed = new Promise<[number | null, string | null]>((resolve) => child.on('close', (code, signal) => resolve([code, signal])));
  const deadline = Date.now() + 30_000;
  while (tmpFiles(cacheDir).length === 0 && Date.now() < deadline && child.exitCode === null) await new Promise((r) => setTimeout(r, 25));
  t.equal(tmpFiles(cacheDir).length, 1, 'the entry is being written under a temporary name');
  child.kill('SIGINT');
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000); // bounded, whatever happens
  const [code] = await closed;
  clearTimeout(timer);
  t.equal(code, INTERRUPTED_EXIT);
  t.equal(err, 'modeldiff: interrupted (SIGINT); removed 1 temporary file\n');
  t.same(tmpFiles(cacheDir), [], 'no temporary file left in the cache folder');
  t.same(fs.readdirSync(cacheDir), [], 'and no entry either');
  t.notOk(fs.existsSync(out), '--out not written');
});

t.test('SIGTERM: the same cleanup, in-process (handler installed once)', async (t) => {
  const target = path.join(dir, 'pending.bin');
  const file = AtomicFile.open(target);
  file.write(new Uint8Array(10));
  t.equal(tmpFiles(dir).length, 1);
  const lines: string[] = [];
  const codes: number[] = [];
  installInterruptHandlers((s) => lines.push(s), (c) => codes.push(c));
  installInterruptHandlers((s) => lines.push(`second ${s}`), (c) => codes.push(-c));
  process.emit('SIGTERM', 'SIGTERM');
  t.same(codes, [130]);
  t.same(lines, ['modeldiff: interrupted (SIGTERM); removed 1 temporary file\n']);
  t.same(tmpFiles(dir), []);
  process.emit('SIGINT', 'SIGINT');
  t.same(lines[1], 'modeldiff: interrupted (SIGINT); no temporary files to remove\n');
  file.abort(); // idempotent after the handler removed its file
  t.equal(removePendingTempFiles(), 0);
  process.removeAllListeners('SIGINT');
  process.removeAllListeners('SIGTERM');
});

t.test('temporary files older than a day are swept on the next write into their folder', async (t) => {
  const folder = path.join(dir, 'sweep');
  fs.mkdirSync(folder);
  const stale = path.join(folder, '.report.html.4242.0123456789ab.tmp');
  const fresh = path.join(folder, '.report.html.4243.0123456789ab.tmp');
  const notOurs = path.join(folder, '.notes.tmp');
  for (const f of [stale, fresh, notOurs]) fs.writeFileSync(f, 'x');
  const twoDaysAgo = (Date.now() - 2 * STALE_TEMP_MS) / 1000;
  fs.utimesSync(stale, twoDaysAgo, twoDaysAgo);
  fs.utimesSync(notOurs, twoDaysAgo, twoDaysAgo);
  writeFileAtomic(path.join(folder, 'report.html'), 'ok');
  t.notOk(fs.existsSync(stale), 'a day-old modeldiff temporary file is removed');
  t.ok(fs.existsSync(fresh), 'a recent one may belong to a run in progress: kept');
  t.ok(fs.existsSync(notOurs), 'files modeldiff does not name are never touched');
  t.same(sweepStaleTempFiles(path.join(dir, 'missing')), [], 'a missing folder: nothing to do');
  t.same(sweepStaleTempFiles(folder, 0, Date.now() + 1000), ['.report.html.4243.0123456789ab.tmp']);
});

t.test('an output folder that cannot be written is refused before any work, naming the given path', async (t) => {
  const ro = path.join(dir, 'ro');
  fs.mkdirSync(ro);
  fs.chmodSync(ro, 0o555);
  const asRoot = process.getuid?.() === 0;
  // root may write anywhere: run the check as an unprivileged user, as a real user would.
  const options: SpawnOptions = asRoot ? { uid: 65534, gid: 65534 } : {};
  // A cache the child may write to: an entry in it would mean a model ran before the refusal.
  const cacheDir = path.join(dir, 'ro-cache');
  fs.mkdirSync(cacheDir, { mode: 0o777 });
  fs.chmodSync(cacheDir, 0o777);
  const cases: Array<[string[], string]> = [
    [['outputs', model, '--data', probe, '--out', path.join(ro, 'o.npy'), '--cache-dir', cacheDir], path.join(ro, 'o.npy')],
    [['study', model, model, '--data', probe, '--cache-dir', cacheDir, '--report', path.join(ro, 'r.html')], path.join(ro, 'r.html')],
  ];
  for (const [args, named] of cases) {
    const child = cli(args, options);
    let err = '';
    child.stderr!.on('data', (d) => (err += d));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    t.equal(code, 1, args[0]);
    t.equal(err.trim().split('\n').length, 1, 'one line');
    t.match(err, `cannot write ${named}: folder ${ro} is not writable (EACCES)`);
    t.notMatch(err, /\.tmp/, 'not the temporary name');
    t.same(fs.readdirSync(cacheDir), [], 'refused before any model ran (nothing cached)');
  }
  if (!asRoot) t.throws(() => checkWritableFolder(ro), { code: 'IO' });
  const io = captureIo();
  io.cwd = dir;
  t.equal(await runCli(['outputs', model, '--data', probe, '--out', path.join(dir, 'nowhere', 'o.npy')], io), 1);
  t.match(io.err, /folder .*nowhere does not exist/);
});
