// The root export is the library: importing it must not load the command line (commander),
// the demo or the zoo loader, which are the CLI's.
import { execFileSync } from 'node:child_process';
import path from 'node:path';

import t from 'tap';

import * as api from '../lib/index';

t.test('the root export has the workflows and not the CLI, demo or zoo', async (t) => {
  for (const name of ['compare', 'divergence', 'weightDistance', 'cka', 'lossBarrier', 'matrix', 'study', 'writeReport']) {
    t.equal(typeof (api as Record<string, unknown>)[name], 'function', `${name} is exported`);
  }
  for (const name of ['runCli', 'runDemo', 'loadZoo', 'DEMO_REPORT']) t.notOk(name in api, `${name} is not exported`);
});

t.test('importing the library loads no CLI module and not commander', async (t) => {
  const root = path.join(__dirname, '..');
  const script =
    "require('./lib/index.ts');" +
    "const loaded = Object.keys(require.cache).map((f) => f.replace(process.cwd() + '/', ''));" +
    "console.log(JSON.stringify(loaded.filter((f) => /node_modules\\/commander\\/|^lib\\/(cli|demo)\\//.test(f))));" +
    "console.log(JSON.stringify(loaded.filter((f) => f.startsWith('lib/')).length));";
  const out = execFileSync(process.execPath, ['--import', 'tsx', '-e', script], { cwd: root, encoding: 'utf8' }).trim().split('\n');
  t.same(JSON.parse(out[0]!), [], 'no commander, lib/cli or lib/demo module in require.cache');
  t.ok(Number(out[1]) > 20, `the library itself did load (${out[1]} lib/ modules)`);
});
