// CLI words stay in the CLI: outside lib/cli no string the library writes names a command-line
// flag or the USAGE code; messages name option fields (`options.batchSize`) and the CLI turns
// those into flags (lib/cli/flags.ts). Only string and template literals are read, not comments.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import t from 'tap';
import ts from 'typescript';

import { ModeldiffError } from '../lib/errors';
import { cliErrorLine, cliExitCode, flagForOption, inFlagWords } from '../lib/cli/flags';

const LIB = path.join(__dirname, '..', 'lib');
/** A flag: `--x` after the start, a space, a quote or a bracket (not CSS's `var(--ink)` or `{--ink:`). */
const FLAG = /(?:^|[\s'"`[])--[a-z]/;
/** A line may carry this comment for a flag that is not modeldiff's (an npm install command). */
const ALLOW = '// not a modeldiff flag';
/** The one file that must spell the code: its definition. */
const DEFINES_USAGE = path.join(LIB, 'errors.ts');

function tsFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return p === path.join(LIB, 'cli') ? [] : tsFiles(p);
    return e.name.endsWith('.ts') ? [p] : [];
  });
}

/** Every string-literal and template piece in `file`, with its line, as "file:line: text". */
function offendingLiterals(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  const lines = text.split('\n');
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    let literal: string | undefined;
    if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) literal = node.text;
    else if (ts.isTemplateHead(node) || ts.isTemplateMiddle(node) || ts.isTemplateTail(node)) literal = node.text;
    if (literal !== undefined) {
      const line = source.getLineAndCharacterOfPosition(node.getStart()).line;
      const flag = FLAG.test(literal) && !lines[line].includes(ALLOW);
      const usage = literal === 'USAGE' && file !== DEFINES_USAGE;
      if (flag || usage) found.push(`${path.relative(LIB, file)}:${line + 1}: ${literal}`);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

t.test('no string in lib/ outside lib/cli names a --flag or the USAGE code', async (t) => {
  const files = tsFiles(LIB);
  t.ok(files.length > 50, `scanned ${files.length} files`);
  t.same(files.flatMap(offendingLiterals), []);
});

t.test('the scan finds what it looks for (it can fail)', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'modeldiff-cli-words-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const probe = path.join(dir, 'probe.ts');
  fs.writeFileSync(
    probe,
    [
      '// a comment may say --force',
      "const a = 'pass --force';",
      'const b = `x ${1} use --method raw`;',
      "const c = 'USAGE';",
      "const css = ':root{--ink:#000} a{color:var(--ink)}';",
      "const npm = 'npm i x --y'; // not a modeldiff flag",
    ].join('\n'),
  );
  t.same(
    offendingLiterals(probe).map((s) => s.replace(/^.*probe\.ts:/, '')),
    ['2: pass --force', '3:  use --method raw', '4: USAGE'],
  );
});

t.test('the CLI puts flags for option fields, with suggested values as typed', async (t) => {
  t.equal(flagForOption('batchSize'), '--batch-size');
  t.equal(flagForOption('metrics'), '--metric');
  t.equal(inFlagWords('options.maxMemory 6000 bytes cannot hold two models'), '--max-memory 6000 bytes cannot hold two models');
  t.equal(inFlagWords("the raw distance, options.methods ['raw'], still works"), 'the raw distance, --method raw, still works');
  t.equal(inFlagWords("logits? try options.outputs 'sigmoid-logit'"), 'logits? try --outputs sigmoid-logit');
  t.equal(inFlagWords("options.methods ['raw', 'aligned']"), '--method raw,aligned');
  t.equal(inFlagWords('smooth with options.epsilon 1e-9 (or another small value)'), 'smooth with --epsilon 1e-9 (or another small value)');
  t.equal(inFlagWords('no options here: options are fine'), 'no options here: options are fine');

  const known = new Set(['--threshold', '--data', '--force']);
  const threshold = new ModeldiffError('INVALID_ARGUMENT', 'options.threshold must be a number >= 0, got -1\nmore', { option: 'threshold' });
  t.equal(cliErrorLine(threshold, known), '--threshold must be a number >= 0, got -1', 'named in the message: not repeated');
  t.equal(cliExitCode(threshold, known), 2, 'a bad value of a typed flag is a usage error');
  t.equal(cliExitCode(threshold, new Set(['--data'])), 1, 'an option the user did not type is not');
  t.equal(threshold.exitCode, 1, 'for library callers it is not');
  const content = new ModeldiffError('INVALID_ARGUMENT', 'm.npy: mask values must be 0 or 1, found 2', { option: 'threshold', input: 'm.npy' });
  t.equal(cliExitCode(content, known), 1, "the content of a file a typed flag names is input, not usage");
  const unnamed = new ModeldiffError('INVALID_ARGUMENT', 'a.bin: give the file an extension', { option: 'force' });
  t.equal(cliErrorLine(unnamed, known), 'a.bin: give the file an extension (flag --force)');
  const noFlag = new ModeldiffError('INVALID_ARGUMENT', 'options.maxFeatureGram is too small', { option: 'maxFeatureGram' });
  t.equal(cliErrorLine(noFlag, known), 'maxFeatureGram is too small', 'nor a made-up flag');
  const exists = new ModeldiffError('FILE_EXISTS', 'r.html already exists; options.force overwrites it', { option: 'force' });
  t.equal(cliExitCode(exists, known), 1, 'only INVALID_ARGUMENT becomes a usage error');
  const inputs = new ModeldiffError('MODEL_INPUT', 'm.onnx: the model has 2 inputs (a, b); give each one by name in options.data', { option: 'data' });
  t.equal(cliErrorLine(inputs, known), 'm.onnx: the model has 2 inputs (a, b); give each one by name in --data; one --data NAME=FILE per input', 'the CLI adds its own hint');
});
