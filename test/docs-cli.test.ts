/**
 * docs/cli.md is the command reference: each command's section carries its `--help` text, and
 * that text must be today's. A flag added, renamed or removed without regenerating the docs
 * (npx tsx scripts/cli-docs.ts) fails here, as does a section for a command that is gone.
 */
import fs from 'node:fs';

import t from 'tap';

import { CLI_DOC, helpTexts, withCurrentHelp } from '../scripts/cli-docs';

const doc = fs.readFileSync(CLI_DOC, 'utf8');
const helps = helpTexts();

t.ok(helps.size >= 9, 'every command registered');
for (const [name, help] of helps) {
  t.test(`modeldiff ${name}`, async (t) => {
    const m = new RegExp(`<!-- help ${name} -->\\n\`\`\`text\\n([\\s\\S]*?)\\n\`\`\`\\n<!-- /help -->`).exec(doc);
    t.ok(m, `docs/cli.md has the help block of ${name}`);
    t.equal(m?.[1], help, `docs/cli.md's ${name} block equals \`modeldiff ${name} --help\``);
  });
}

t.test('the generator leaves an up-to-date file unchanged', async (t) => {
  t.equal(withCurrentHelp(doc, helps), doc);
});

t.test('no section for a command that does not exist', async (t) => {
  for (const m of doc.matchAll(/^## `modeldiff ([a-z-]+)/gm)) t.ok(helps.has(m[1]), `${m[1]} is a command`);
});

t.test('a section without markers gets a block under its heading; a missing section is an error', async (t) => {
  const one = new Map([['demo', 'Usage: modeldiff demo']]);
  t.equal(withCurrentHelp('## `modeldiff demo`\nText.\n', one), '## `modeldiff demo`\n\n<!-- help demo -->\n```text\nUsage: modeldiff demo\n```\n<!-- /help -->\nText.\n');
  t.throws(() => withCurrentHelp('# nothing\n', one), /no section/);
});
