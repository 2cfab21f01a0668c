import t from 'tap';

import { runCli } from '../lib/cli/main';
import { displayPath } from '../lib/cli/display-path';
import { captureIo } from './helpers/capture-io';


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

t.test('an unexpected (non-modeldiff) error is one line, exit 1; the stack only with MODELDIFF_DEBUG', async (t) => {
  const broken = () => {
    const io = captureIo();
    io.stdout = () => {
      throw new Error('write EPIPE\n    at somewhere');
    };
    return io;
  };
  const io = broken();
  t.equal(await runCli(['--version'], io), 1);
  t.equal(io.err, 'modeldiff: internal error: write EPIPE (set MODELDIFF_DEBUG=1 for the stack trace)\n');
  process.env.MODELDIFF_DEBUG = '1';
  try {
    const dbg = broken();
    t.equal(await runCli(['--version'], dbg), 1);
    t.match(dbg.err, /^modeldiff: internal error: Error: write EPIPE\n/);
    t.ok(dbg.err.split('\n').length > 2, 'stack trace included');
  } finally {
    delete process.env.MODELDIFF_DEBUG;
  }
});

t.test('text output shows model paths relative to the working folder when inside it', async (t) => {
  t.equal(displayPath('/w/p/examples/a.onnx', '/w/p'), 'examples/a.onnx');
  t.equal(displayPath('/elsewhere/a.onnx', '/w/p'), '/elsewhere/a.onnx');
  t.equal(displayPath('rel/a.onnx', '/w/p'), 'rel/a.onnx');
});
