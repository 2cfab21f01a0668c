/**
 * Messages a new user meets: NaN/Inf in the probe data blamed on the data
 * (file, row, column) and not on the model; a mistyped command or flag gets
 * a suggestion; counts read "1 sample", not "1 samples".
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import t from 'tap';

import { runCli } from '../lib/cli/main';
import { checkProbeFinite } from '../lib/infer/probe-check';
import { writeNpy } from '../lib/io/npy';
import { plural } from '../lib/util/plural';
import { createRng } from '../lib/util/rng';
import { captureIo } from './helpers/capture-io';
import { mlpModel } from './helpers/onnx-builder';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'modeldiff-messages-'));
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));

const D = 4;
const rng = createRng(2);
const model = path.join(dir, 'm.onnx');
fs.writeFileSync(model, mlpModel({ layers: [{ W: Array.from({ length: 3 * D }, () => rng.normal()), b: [0, 0, 0], out: 3, in: D }] }));

async function cli(args: string[]) {
  const io = Object.assign(captureIo(), { cwd: dir });
  const code = await runCli(args, io);
  return { code, out: io.out, err: io.err };
}

/** A 40 × 4 float32 probe with `value` at [row, col]. */
function probeWith(file: string, row: number, col: number, value: number): void {
  const data = Float32Array.from({ length: 40 * D }, () => rng.normal());
  data[row * D + col] = value;
  writeNpy(path.join(dir, file), { dtype: 'float32', shape: [40, D], data });
}

t.test('NaN and Inf in the probe data name the probe file, row and column, before any model runs', async (t) => {
  for (const [file, row, col, value, word] of [
    ['nan.npy', 17, 2, NaN, 'NaN'],
    ['inf.npy', 3, 0, Infinity, 'Inf'],
    ['neginf.npy', 39, 3, -Infinity, '-Inf'],
  ] as const) {
    probeWith(file, row, col, value);
    const r = await cli(['compare', model, model, '--data', file, '--no-cache', '-q']);
    t.equal(r.code, 1);
    t.equal(r.err, `modeldiff: ${file}: probe data is ${word} at row ${row}, column ${col}; models need finite inputs\n`);
    t.notMatch(r.err, /m\.onnx/, 'the model is not blamed');
  }
  // Rows count from the start of the probe set, not of the batch.
  probeWith('late.npy', 33, 1, NaN);
  const r = await cli(['compare', model, model, '--data', 'late.npy', '--no-cache', '--batch-size', '8', '-q']);
  t.match(r.err, 'late.npy: probe data is NaN at row 33, column 1');
  // Images: the element within the sample.
  const img = { dtype: 'float64' as const, shape: [2, 3, 4, 5], data: new Float64Array(2 * 60) };
  img.data[60 + 1 * 20 + 2 * 5 + 3] = NaN;
  t.throws(() => checkProbeFinite(img, 'img.npy', 100), { code: 'NON_FINITE', message: 'img.npy: probe data is NaN at row 101, element [1, 2, 3]; models need finite inputs' });
  t.doesNotThrow(() => checkProbeFinite({ dtype: 'int32', shape: [2, 2], data: new Int32Array(4) }, 'ids.npy', 0), 'integers cannot be NaN');
});

t.test('typos get a suggestion on the same line', async (t) => {
  t.same(await cli(['comapre']), { code: 2, out: '', err: "modeldiff: unknown command 'comapre' (did you mean compare?)\n" });
  t.same(await cli(['compare', 'a', 'b', '--metrc', 'js']), { code: 2, out: '', err: "modeldiff: unknown option '--metrc' (did you mean --metric?)\n" });
  t.same(await cli(['cache', 'prun']), { code: 2, out: '', err: "modeldiff: unknown command 'prun' (did you mean prune?)\n" });
  t.same(await cli(['zzzzzz']), { code: 2, out: '', err: "modeldiff: unknown command 'zzzzzz'\n" }, 'nothing close: no guess');
});

t.test('"1 sample", never "1 samples"', async (t) => {
  t.equal(plural(1, 'sample'), '1 sample');
  t.equal(plural(0, 'sample'), '0 samples');
  t.equal(plural(2, 'probe sample'), '2 probe samples');
  t.equal(plural(1, 'entry', 'entries'), '1 entry');
  writeNpy(path.join(dir, 'one.npy'), { dtype: 'float32', shape: [1, D], data: Float32Array.from({ length: D }, () => rng.normal()) });
  const r = await cli(['compare', model, model, '--data', 'one.npy', '--no-cache', '-q', '--bootstrap', '0']);
  t.equal(r.code, 0, r.err);
  t.match(r.out, /\b1 sample,/);
  t.notMatch(r.out + r.err, /\b1 samples\b/);
  // No library option wording in CLI messages: the flag, not "(force: true)".
  fs.writeFileSync(path.join(dir, 'taken.npy'), 'x');
  const taken = await cli(['outputs', model, '--data', 'one.npy', '--out', 'taken.npy', '--no-cache', '-q']);
  t.equal(taken.err, `modeldiff: ${path.join(dir, 'taken.npy')} already exists; --force overwrites it\n`);
  t.notMatch(taken.err, /force: true/);
});
