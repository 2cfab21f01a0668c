/**
 * Keeps docs/cli.md's option lists equal to `modeldiff <command> --help`.
 *
 *   npx tsx scripts/cli-docs.ts           # rewrite the blocks in docs/cli.md
 *   npx tsx scripts/cli-docs.ts --check   # exit 1 if any block is stale (the test does this too)
 *
 * Each command's section holds its help text between `<!-- help NAME -->` and `<!-- /help -->`;
 * a section without the markers gets them right under its heading. The prose around the
 * blocks is written by hand.
 */
import fs from 'node:fs';
import path from 'node:path';

import { Command } from 'commander';

import { commands } from '../lib/cli/commands';
import { processIo } from '../lib/cli/context';

export const CLI_DOC = path.join(__dirname, '..', 'docs', 'cli.md');

/** Every command's `--help` text, in the order `modeldiff --help` lists them. */
export function helpTexts(): Map<string, string> {
  const program = new Command('modeldiff');
  program.configureHelp({ helpWidth: 100 });
  for (const register of commands) register(program, processIo());
  return new Map(program.commands.map((c) => [c.name(), c.helpInformation().trimEnd()]));
}

function block(name: string, help: string): string {
  return `<!-- help ${name} -->\n\`\`\`text\n${help}\n\`\`\`\n<!-- /help -->`;
}

/** docs/cli.md with every help block replaced by (or, if missing, given) the current help. */
export function withCurrentHelp(doc: string, helps: Map<string, string>): string {
  let out = doc;
  for (const [name, help] of helps) {
    const marked = new RegExp(`<!-- help ${name} -->[\\s\\S]*?<!-- /help -->`);
    if (marked.test(out)) {
      out = out.replace(marked, () => block(name, help));
      continue;
    }
    const heading = new RegExp('^## `modeldiff ' + name + '\\b.*$', 'm');
    const m = heading.exec(out);
    if (m === null) throw new Error(`docs/cli.md has no section "## \`modeldiff ${name} ...\`"`);
    const at = m.index + m[0].length;
    out = `${out.slice(0, at)}\n\n${block(name, help)}${out.slice(at)}`;
  }
  return out;
}

/* c8 ignore start -- the command-line entry point */
if (require.main === module) {
  const doc = fs.readFileSync(CLI_DOC, 'utf8');
  const next = withCurrentHelp(doc, helpTexts());
  if (process.argv.includes('--check')) {
    if (next !== doc) {
      console.error('docs/cli.md: the --help blocks are stale; run npx tsx scripts/cli-docs.ts');
      process.exitCode = 1;
    }
  } else if (next !== doc) {
    fs.writeFileSync(CLI_DOC, next);
    console.log('docs/cli.md updated');
  }
}
/* c8 ignore stop */
