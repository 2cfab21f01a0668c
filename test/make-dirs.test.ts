import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import t from 'tap';

import { makeDirs } from '../lib/util/make-dirs';

t.test('creates every missing level and accepts an existing folder', async (t) => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'modeldiff-mkdirs-'));
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));
  const deep = path.join(root, 'a', 'b', 'c');
  makeDirs(deep);
  t.ok(fs.statSync(deep).isDirectory());
  makeDirs(deep); // idempotent
  t.ok(fs.statSync(deep).isDirectory());
});

t.test('fails (instead of looping, as recursive mkdirSync does on Node 20) under /proc', { skip: !fs.existsSync('/proc/self') && 'no /proc' }, async (t) => {
  t.throws(() => makeDirs('/proc/modeldiff-no-such/x'));
});

t.test('a file in the way is an error', async (t) => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'modeldiff-mkdirs-'));
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));
  fs.writeFileSync(path.join(root, 'f'), 'x');
  t.throws(() => makeDirs(path.join(root, 'f', 'sub')));
});
