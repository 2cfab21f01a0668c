// Commands and defaults the project ships must work on any machine: no script, benchmark, doc or
// library file names the build machine's own paths (a virtualenv under /work was one); a Python
// comes from an environment variable or `python3` on the PATH.
import fs from 'node:fs';
import path from 'node:path';

import t from 'tap';

const root = path.join(__dirname, '..');
const machinePath = new RegExp(['', 'work', ''].join('/') + '(venv|main|wt)\\b');

function files(dir: string): string[] {
  return fs.readdirSync(path.join(root, dir), { withFileTypes: true }).flatMap((e) => {
    const rel = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === 'node_modules' || e.name.startsWith('.') ? [] : files(rel);
    return /\.(ts|py|md|js|mjs|json|sh)$/.test(e.name) ? [rel] : [];
  });
}

t.test('no shipped file names a path of the build machine', async (t) => {
  const checked = [...['scripts', 'bench', 'docs', 'lib'].flatMap(files), 'CHANGELOG.md', 'package.json'];
  t.ok(checked.includes(path.join('scripts', 'fuzz-readers.ts')) && checked.includes(path.join('bench', 'README.md')), 'the fuzz script and bench README are among them');
  const offending = checked.filter((f) => machinePath.test(fs.readFileSync(path.join(root, f), 'utf8')));
  t.same(offending, [], 'no file mentions the build machine\'s paths');
});
