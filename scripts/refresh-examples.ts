/**
 * Re-runs every `$ npx modeldiff …` example in the docs and puts its current output in place,
 * so the README's and docs' outputs stay real. Run from the repository root after
 * `npm run build:ts`:
 *
 *     node_modules/.bin/tsx scripts/refresh-examples.ts README.md docs/*.md
 *
 * A ```console block is refreshed when its first line is `$ [cd DIR && ]npx modeldiff ARGS`
 * and the command exits 0; other blocks, and failing commands (reported), are left as they
 * are. Commands run with the repository's bin, without a terminal (no progress bars), from a
 * scratch folder that links the repository's top-level entries (or DIR inside it), so the files
 * examples write land there; check `git status` after all the same.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..');
const BIN = path.join(ROOT, 'bin', 'modeldiff.js');
const BLOCK = /```console\n\$ ((?:cd (\S+) && )?npx modeldiff ([^\n]*))\n[\s\S]*?```/g;

/** Splits a shell command line into words (double and single quotes), expanding unquoted globs in a file name as a shell would. */
function words(line: string, cwd: string): string[] {
  const out: string[] = [];
  for (const m of line.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)) {
    const word = m[1] ?? m[2] ?? m[3];
    out.push(...(m[3] !== undefined && /[*?[]/.test(word) ? expand(word, cwd) : [word]));
  }
  return out;
}

/** `dir/pattern` with *, ? and [...] in its last part, as the sorted matching paths (the word itself if none). */
function expand(word: string, cwd: string): string[] {
  const dir = path.dirname(word);
  const pattern = new RegExp('^' + path.basename(word).replace(/[.+^${}()|\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.') + '$');
  const found = fs.readdirSync(path.join(cwd, dir)).filter((f) => pattern.test(f)).sort();
  return found.length > 0 ? found.map((f) => (dir === '.' ? f : `${dir}/${f}`)) : [word];
}

/** A scratch folder that sees the repository's top-level entries, so examples that write files write there. */
function scratch(): string {
  const dir = fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'modeldiff-examples-'));
  for (const entry of fs.readdirSync(ROOT)) fs.symlinkSync(path.join(ROOT, entry), path.join(dir, entry));
  return dir;
}

const work = scratch();
for (const file of process.argv.slice(2)) {
  const text = fs.readFileSync(file, 'utf8');
  let changed = 0;
  const next = text.replace(BLOCK, (block, shown: string, dir: string | undefined, args: string) => {
    const cwd = path.join(work, dir ?? '.');
    const r = spawnSync(process.execPath, [BIN, ...words(args, cwd)], { cwd, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
    if (r.status !== 0) {
      console.error(`${file}: "${shown}" exited ${r.status}: ${r.stderr.trim().split('\n')[0]}`);
      return block;
    }
    // The bundled zoo resolves through the scratch folder's link to its real path: shown as the user would see it.
    const stdout = r.stdout.split(`${ROOT}/`).join('');
    const fresh = '```console\n$ ' + shown + '\n' + stdout.replace(/\n$/, '') + '\n```';
    if (fresh !== block) changed++;
    return fresh;
  });
  if (changed > 0) fs.writeFileSync(file, next);
  console.log(`${file}: ${changed} example(s) changed`);
}
fs.rmSync(work, { recursive: true, force: true });
