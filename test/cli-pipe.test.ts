/**
 * `modeldiff ... | head`: the reader closing the pipe early must not crash the
 * command with an unhandled EPIPE 'error' event. Run as a real child process,
 * since the failure only exists with a real pipe.
 */
import { spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import path from 'node:path';

import t from 'tap';

import { pipeSafeWriter, processIo } from '../lib/cli/context';

const ROOT = path.join(__dirname, '..');

t.test('a closed stdout pipe: the command finishes quietly with its own status', async (t) => {
  const script = "require('./lib/cli/main').runCli(process.argv.slice(1)).then((c) => { process.exitCode = c; })";
  const args = ['divergence', 'examples/digits/logits_mlp_relu_seed0.npy', 'examples/digits/logits_mlp_relu_seed1.npy', '--metric', 'js,tv'];
  // Through `env -i`: the child must run outside tap's coverage hooks (they follow every spawned
  // process), or its coverage of lib/, compiled by tsx rather than tap's loader, is merged
  // against the wrong source maps and wrecks the report.
  const child = spawn('env', ['-i', `PATH=${process.env.PATH ?? ''}`, process.execPath, '--import', 'tsx', '-e', script, ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.destroy(); // the reader is gone before the command prints anything
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  const status = await new Promise<number | null>((resolve) => child.on('close', resolve));
  t.equal(status, 0);
  t.notMatch(err, /EPIPE|Unhandled|at /, 'no stack trace');
});

t.test('pipeSafeWriter: EPIPE silences later writes; any other stream error still throws', async (t) => {
  const writes: string[] = [];
  const stream = Object.assign(new EventEmitter(), { write: (s: string) => writes.push(s) }) as unknown as NodeJS.WritableStream;
  const write = pipeSafeWriter(stream);
  write('a');
  stream.emit('error', Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
  write('b');
  t.same(writes, ['a']);
  t.throws(() => stream.emit('error', Object.assign(new Error('disk full'), { code: 'ENOSPC' })), /disk full/);
});

t.test("the CLI's process stdout is guarded", async (t) => {
  const before = process.stdout.listenerCount('error');
  processIo();
  processIo(); // one guard, however many times the io is made
  t.ok(process.stdout.listenerCount('error') >= 1, 'an error listener on process.stdout');
  t.ok(process.stdout.listenerCount('error') <= before + 1, 'added once');
});
