import t from 'tap';

import { runCli } from '../lib/cli/main';
import type { CliIo } from '../lib/cli/context';

export function captureIo(): CliIo & { out: string; err: string } {
  const io = {
    out: '',
    err: '',
    isTTY: false,
    cwd: process.cwd(),
    stdout(s: string) {
      io.out += s;
    },
    stderr(s: string) {
      io.err += s;
    },
  };
  return io;
}

t.test('--version prints the package version and exits 0', async (t) => {
  const io = captureIo();
  t.equal(await runCli(['--version'], io), 0);
  t.equal(io.out.trim(), require('../package.json').version);
});

t.test('an unknown command is a usage error: one line, exit 2', async (t) => {
  const io = captureIo();
  t.equal(await runCli(['no-such-command'], io), 2);
  t.equal(io.err.trim().split('\n').length, 1);
});
