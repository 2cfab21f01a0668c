// The CLI's shared option parsers (lib/cli/option-parsers.ts): each parser on good and bad
// values, then one bad numeric option per command through runCli, which must print one line
// `modeldiff: <flag> must be ..., got "<value>"` and exit 2.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import t, { type Test } from 'tap';

import { parseSize, parseWeights } from '../lib/cli/commands/matrix';
import { runCli } from '../lib/cli/main';
import {
  commaList,
  integer,
  invalidOption,
  nonNegativeInteger,
  nonNegativeNumber,
  positiveInteger,
  positiveNumber,
} from '../lib/cli/option-parsers';
import { ModeldiffError } from '../lib/errors';
import { writeNpy } from '../lib/io/npy';
import { captureIo } from './helpers/capture-io';

/** The error `fn(value)` throws: must be a USAGE ModeldiffError. */
function usageError(t: Test, fn: (v: string) => unknown, value: string): string {
  try {
    const got = fn(value);
    t.fail(`${JSON.stringify(value)} was accepted as ${String(got)}`);
    return '';
  } catch (e) {
    t.ok(e instanceof ModeldiffError, `${JSON.stringify(value)}: a ModeldiffError`);
    t.equal((e as ModeldiffError).code, 'USAGE', `${JSON.stringify(value)}: code USAGE`);
    t.equal((e as ModeldiffError).exitCode, 2);
    return (e as Error).message;
  }
}

// Bad for every numeric parser, whatever its range.
const NOT_NUMBERS = ['', ' ', ' 5', '5 ', '\t5', 'abc', '0x10', '0b1', '0o7', 'NaN', 'Infinity', '-Infinity', '1e999', '+5', '5,0', '1_000', '--1', '5abc', '.', 'e5'];

t.test('integer parsers: decimal digits only, safe range, bounds', async (t) => {
  const p = positiveInteger('--threads');
  t.equal(p('1'), 1);
  t.equal(p('8'), 8);
  t.equal(p('007'), 7, 'leading zeros are still decimal');
  t.equal(p(String(Number.MAX_SAFE_INTEGER)), Number.MAX_SAFE_INTEGER);
  for (const bad of [...NOT_NUMBERS, '0', '-1', '-0', '1.5', '2.0', '1.', '1e3', '1E3', '9007199254740992', '99999999999999999999']) {
    t.equal(usageError(t, p, bad), `--threads must be a positive integer, got ${JSON.stringify(bad)}`);
  }

  const nn = nonNegativeInteger('--seed');
  t.equal(nn('0'), 0);
  t.ok(Object.is(nn('-0'), 0), '"-0" is 0, not -0');
  t.equal(nn('42'), 42);
  for (const bad of ['-1', '0.5', '1e2', 'x', '']) t.equal(usageError(t, nn, bad), `--seed must be a non-negative integer, got ${JSON.stringify(bad)}`);

  const any = integer('--seed');
  t.equal(any('-3'), -3);
  t.equal(any(String(-Number.MAX_SAFE_INTEGER)), -Number.MAX_SAFE_INTEGER);
  for (const bad of ['-9007199254740992', '1.0', '-', 'seven', '1e3']) t.equal(usageError(t, any, bad), `--seed must be an integer, got ${JSON.stringify(bad)}`);

  const steps = integer('--steps', { min: 2, max: 1001 });
  t.equal(steps('2'), 2);
  t.equal(steps('1001'), 1001);
  for (const bad of ['1', '1002', '0', '-5']) t.equal(usageError(t, steps, bad), `--steps must be an integer from 2 to 1001, got "${bad}"`);

  t.equal(usageError(t, integer('--k', { min: 3 }), '2'), '--k must be an integer >= 3, got "2"');
  t.equal(usageError(t, integer('--k', { max: -1 }), '0'), '--k must be an integer <= -1, got "0"');
  t.equal(usageError(t, integer('--k', { min: -2 }), '-3'), '--k must be an integer >= -2, got "-3"');
});

t.test('number parsers: finite decimals with optional exponent', async (t) => {
  const pos = positiveNumber('--sigma');
  t.equal(pos('0.8'), 0.8);
  t.equal(pos('.5'), 0.5);
  t.equal(pos('5.'), 5);
  t.equal(pos('3'), 3);
  t.equal(pos('1e-3'), 0.001);
  t.equal(pos('2.5E+2'), 250);
  t.equal(pos('1e308'), 1e308);
  t.equal(pos('5e-324'), 5e-324, 'the smallest subnormal is > 0');
  for (const bad of [...NOT_NUMBERS, '0', '-0', '0.0', '-1', '-1e-9', '1e-400']) {
    t.equal(usageError(t, pos, bad), `--sigma must be a positive number, got ${JSON.stringify(bad)}`);
  }

  const nn = nonNegativeNumber('--epsilon');
  t.equal(nn('0'), 0);
  t.ok(Object.is(nn('-0'), 0), '"-0" is 0, not -0');
  t.equal(nn('0.0'), 0);
  t.equal(nn('1e-9'), 1e-9);
  t.equal(nn('1e-400'), 0, 'underflow to 0 is 0, which is allowed here');
  for (const bad of [...NOT_NUMBERS, '-1', '-1e-9']) {
    t.equal(usageError(t, nn, bad), `--epsilon must be a non-negative number, got ${JSON.stringify(bad)}`);
  }
});

t.test('commaList: names from a fixed set, spaces around commas ignored, duplicates dropped', async (t) => {
  const p = commaList('--metric', ['js', 'tv', 'kl'] as const, 'metric');
  t.same(p('js'), ['js']);
  t.same(p('tv, js ,kl'), ['tv', 'js', 'kl']);
  t.same(p('js,tv,js'), ['js', 'tv']);
  t.same(p('js,,tv,'), ['js', 'tv']);
  t.equal(usageError(t, p, 'js,bogus'), '--metric: unknown metric "bogus" (choices: js, tv, kl)');
  t.equal(usageError(t, p, 'JS'), '--metric: unknown metric "JS" (choices: js, tv, kl)');
  for (const bad of ['', ',', ' , ']) {
    t.equal(usageError(t, p, bad), `--metric must be a comma-separated list naming at least one metric, got ${JSON.stringify(bad)}`);
  }
  t.equal(usageError(t, commaList('--weights', ['raw'], 'method', 'none, or raw'), 'x'), '--weights: unknown method "x" (choices: none, or raw)');
});

t.test('invalidOption, parseSize and parseWeights use the same wording', async (t) => {
  const e = invalidOption('--x', 'a thing', 'a"b');
  t.equal(e.code, 'USAGE');
  t.equal(e.message, '--x must be a thing, got "a\\"b"', 'the value is JSON-quoted');
  t.equal(parseSize('512M'), 512 * 2 ** 20);
  t.equal(parseSize('2 G'), 2 * 2 ** 30);
  for (const bad of ['lots', '', ' 1G', '-1M', '0x10']) t.equal(usageError(t, parseSize, bad), `--max-memory must be a positive size like 512M or 2G, got ${JSON.stringify(bad)}`);
  for (const bad of ['0', '0.0001k', '9999999T']) t.equal(usageError(t, parseSize, bad), `--max-memory must be a positive size like 512M or 2G, got "${bad}"`);
  t.equal(parseWeights('none'), 'none');
  t.same(parseWeights('raw,aligned'), ['raw', 'aligned']);
  t.match(usageError(t, parseWeights, 'raw,bogus'), /^--weights: unknown method "bogus" \(choices: none, or a list of raw, canonical, aligned\)$/);
});

// End to end: the bad value is refused while the options are parsed, before any file is read,
// so the model and data paths need not exist.
t.test('every command refuses a bad numeric option: one line naming option and value, exit 2', async (t) => {
  const cases: Array<[string[], string]> = [
    [['compare', 'a.onnx', 'b.onnx', '--data', 'x.npy', '--batch-size', '0'], '--batch-size must be a positive integer, got "0"'],
    [['compare', 'a.onnx', 'b.onnx', '--data', 'x.npy', '--bootstrap', '1e3'], '--bootstrap must be an integer from 0 to 100000000, got "1e3"'],
    [['compare', 'a.onnx', 'b.onnx', '--data', 'x.npy', '--seed', '-1'], '--seed must be a non-negative integer, got "-1"'],
    [['compare', 'a.onnx', 'b.onnx', '--data', 'x.npy', '--precision', 'NaN'], '--precision must be a positive number, got "NaN"'],
    [['compare', 'a.onnx', 'b.onnx', '--data', 'x.npy', '--metric', 'js', '--metric', 'nope'], '--metric: unknown metric "nope" (choices: kl, kl-reverse, kl-symmetric, js, js-distance, tv, hellinger, emd, emd-cost, disagreement, l2, cosine, kappa)'],
    [['barrier', 'a.onnx', 'b.onnx', '--data', 'x.npy', '--labels', 'y.npy', '--steps', '1002'], '--steps must be an integer from 2 to 1001, got "1002"'],
    [['barrier', 'a.onnx', 'b.onnx', '--data', 'x.npy', '--labels', 'y.npy', '--seed', '1.5'], '--seed must be a non-negative integer, got "1.5"'],
    [['matrix', 'a.onnx', 'b.onnx', '--data', 'x.npy', '--threads', 'abc'], '--threads must be a positive integer, got "abc"'],
    [['matrix', 'a.onnx', 'b.onnx', '--data', 'x.npy', '--epsilon', '-1e-9'], '--epsilon must be a non-negative number, got "-1e-9"'],
    [['matrix', 'a.onnx', 'b.onnx', '--data', 'x.npy', '--seed', '9007199254740993'], '--seed must be a non-negative integer, got "9007199254740993"'],
    [['cka', 'a.onnx', 'b.onnx', '--data', 'x.npy', '--sigma', '0'], '--sigma must be a positive number, got "0"'],
    [['cka', 'a.onnx', 'b.onnx', '--data', 'x.npy', '--batch-size', ' 8'], '--batch-size must be a positive integer, got " 8"'],
    [['divergence', 'a.npy', 'b.npy', '--threads', '0x10'], '--threads must be a positive integer, got "0x10"'],
    [['divergence', 'a.npy', 'b.npy', '--epsilon', 'Infinity'], '--epsilon must be a non-negative number, got "Infinity"'],
    [['study', 'a.onnx', 'b.onnx', '--data', 'x.npy', '--permutations', ''], '--permutations must be an integer from 1 to 1000000, got ""'],
    [['study', 'a.onnx', 'b.onnx', '--data', 'x.npy', '--threshold', '-0.1'], '--threshold must be a non-negative number, got "-0.1"'],
    [['study', 'a.onnx', 'b.onnx', '--data', 'x.npy', '--batch-size', '2.5'], '--batch-size must be a positive integer, got "2.5"'],
    [['weights', 'a.onnx', 'b.onnx', '--seed', '0x10'], '--seed must be a non-negative integer, got "0x10"'],
    [['weights', 'a.onnx', 'b.onnx', '--method', ','], '--method must be a comma-separated list naming at least one method, got ","'],
  ];
  for (const [argv, message] of cases) {
    const io = captureIo();
    t.equal(await runCli(argv, io), 2, argv.join(' '));
    t.equal(io.err, `modeldiff: ${message}\n`, argv.join(' '));
    t.equal(io.out, '');
  }
});

t.test("commander's own usage errors print in the same style and exit 2", async (t) => {
  for (const [argv, re] of [
    [['compare', 'a.onnx', 'b.onnx', '--outputs', 'zz'], /^modeldiff: option '--outputs <KIND>' argument 'zz' is invalid\. Allowed choices are auto, /],
    [['weights', 'a.onnx', 'b.onnx', '--frobnicate'], /^modeldiff: unknown option '--frobnicate'\n$/],
    [['cka', 'a.onnx'], /^modeldiff: missing required argument 'b'\n$/],
  ] as Array<[string[], RegExp]>) {
    const io = captureIo();
    t.equal(await runCli(argv, io), 2, argv.join(' '));
    t.match(io.err, re);
    t.equal(io.err.trim().split('\n').length, 1, 'one line');
  }
});

t.test('--epsilon 0 is accepted (no smoothing) by every command that has it', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'modeldiff-option-parsers-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  // Row 0: q puts 0 where p does not, so KL(p‖q) is infinite; JS of row 0 is ln 2 / 2 (m = (.5, .25, .25)), row 1 is 0.
  writeNpy(path.join(dir, 'p.npy'), { dtype: 'float64', shape: [2, 3], data: new Float64Array([0.5, 0.5, 0, 0.2, 0.3, 0.5]) });
  writeNpy(path.join(dir, 'q.npy'), { dtype: 'float64', shape: [2, 3], data: new Float64Array([0.5, 0, 0.5, 0.2, 0.3, 0.5]) });
  const io = captureIo();
  io.cwd = dir;
  t.equal(await runCli(['divergence', 'p.npy', 'q.npy', '--outputs', 'probs', '--metric', 'js,kl', '--epsilon', '0', '--json'], io), 0, io.err);
  const doc = JSON.parse(io.out);
  t.ok(Math.abs(doc.metrics.js.mean - Math.LN2 / 4) < 1e-12, `js mean ${doc.metrics.js.mean} = ln 2 / 4`);
  t.equal(doc.metrics.kl.max, 'Infinity', 'epsilon 0 smooths nothing: KL stays infinite');
  // compare and matrix: 0 gets past option parsing; the run then stops at the missing model (exit 1, not 2).
  for (const cmd of ['compare', 'matrix', 'study']) {
    const e = captureIo();
    e.cwd = dir;
    t.equal(await runCli([cmd, 'missing-a.onnx', 'missing-b.onnx', '--data', 'p.npy', '--epsilon', '0', '--no-cache'], e), 1, `${cmd}: ${e.err}`);
    t.match(e.err, /missing-a\.onnx/);
  }
});
