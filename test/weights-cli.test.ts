/**
 * `modeldiff weights` end to end, in-process: JSON schema, writeback of the
 * aligned / canonical models (same function as B, refusing to overwrite),
 * activation matching with a probe file, and usage errors.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import t from 'tap';

import { runCli } from '../lib/cli/main';
import { writeNpy } from '../lib/io/npy';
import { captureIo } from './helpers/capture-io';
import { buildModel } from './helpers/onnx-builder';
import { createRng, maxAbs, maxAbsDiff, mlpBytes, randomDense, randomInput, randomPerm, runModel, transformHidden } from './helpers/onnx-models';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'modeldiff-weights-cli-'));
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
const rng = createRng(21);
const A = randomDense(rng, [4, 6, 3]);
const B = transformHidden(A, 0, randomPerm(rng, 6), Array.from({ length: 6 }, () => Math.exp(rng.float() - 0.5)));
fs.writeFileSync(path.join(dir, 'a.onnx'), mlpBytes(A, 'relu'));
fs.writeFileSync(path.join(dir, 'b.onnx'), mlpBytes(B, 'relu'));
const x = randomInput(rng, 32 * 4);
writeNpy(path.join(dir, 'probe.npy'), { dtype: 'float32', shape: [32, 4], data: x });
writeNpy(path.join(dir, 'probe-nchw.npy'), { dtype: 'float32', shape: [32, 1, 2, 2], data: x });
writeNpy(path.join(dir, 'probe-wide.npy'), { dtype: 'float32', shape: [16, 8], data: x });
writeNpy(path.join(dir, 'probe-one.npy'), { dtype: 'float32', shape: [1, 4], data: x.slice(0, 4) });

async function cli(...args: string[]) {
  const io = captureIo();
  io.cwd = dir;
  const code = await runCli(args, io);
  return { code, out: io.out, err: io.err };
}

t.test('--json prints raw / canonical / aligned with per-tensor layers; writes rewritten models', async (t) => {
  const r = await cli('weights', 'a.onnx', 'b.onnx', '--json', '--write-aligned', 'al.onnx', '--write-canonical', 'ca.onnx', '--seed', '4');
  t.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out);
  for (const m of ['raw', 'canonical', 'aligned']) t.same(Object.keys(j[m]), ['l2', 'relative', 'cosine', 'layers'], m);
  t.same(Object.keys(j.aligned.layers[0]), ['name', 'l2', 'relative', 'cosine', 'size']);
  t.ok(j.raw.relative > 0.1);
  t.ok(j.aligned.relative < 1e-6 && j.canonical.relative < 1e-6);
  t.equal(j.alignment.seed, 4);
  t.notOk('models' in j);
  const yb = await runModel(fs.readFileSync(path.join(dir, 'b.onnx')), x, [32, 4]);
  for (const f of ['al.onnx', 'ca.onnx']) {
    const y = await runModel(fs.readFileSync(path.join(dir, f)), x, [32, 4]);
    t.ok(maxAbsDiff(y, yb) <= 1e-5 * Math.max(1, maxAbs(yb)), `${f} computes B's function`);
  }
  const again = await cli('weights', 'a.onnx', 'b.onnx', '--write-aligned', 'al.onnx');
  t.equal(again.code, 1);
  t.match(again.err, /al\.onnx already exists/);
  t.equal((await cli('weights', 'a.onnx', 'b.onnx', '--write-aligned', 'al.onnx', '--force')).code, 0);
});

t.test('text output, --layers, --method subsets, activation matching', async (t) => {
  const r = await cli('weights', 'a.onnx', 'b.onnx', '--layers', '--sort-key', 'bias');
  t.equal(r.code, 0, r.err);
  t.match(r.out, /^method\s+L2\s+relative\s+cosine$/m);
  t.match(r.out, /aligned by weights matching: 1 sweep\(s\), converged, seed 0, started from the canonical order\n/);
  t.match(r.out, /raw, per tensor:\n\s+W0 /);
  const raw = await cli('weights', 'a.onnx', 'b.onnx', '--method', 'raw', '--json');
  t.same(Object.keys(JSON.parse(raw.out)), ['a', 'b', 'raw']);
  const act = await cli('weights', 'a.onnx', 'b.onnx', '--align', 'activations', '--data', 'probe.npy', '--method', 'aligned', '--json');
  t.equal(act.code, 0, act.err);
  const j = JSON.parse(act.out);
  t.equal(j.alignment.method, 'activations');
  t.ok(j.aligned.relative < 1e-6, `activation-aligned ${j.aligned.relative}`);
  const off = await cli('weights', 'a.onnx', 'b.onnx', '--no-normalize', '--method', 'aligned');
  t.match(off.out, /permutations only/);
  const txt = await cli('weights', 'a.onnx', 'b.onnx', '--align', 'activations', '--data', 'probe.npy', '--method', 'aligned');
  t.match(txt.out, /aligned by activations matching\n/);
});

t.test('usage and input errors: one line, exit 2 / 1', async (t) => {
  const cases: Array<[string[], number, RegExp]> = [
    [['weights', 'a.onnx', 'b.onnx', '--method', 'raw,bogus'], 2, /unknown method "bogus"/],
    [['weights', 'a.onnx', 'b.onnx', '--seed', 'x'], 2, /--seed/],
    [['weights', 'a.onnx', 'b.onnx', '--seed', '-1'], 2, /--seed must be a non-negative integer, got "-1"/],
    [['weights', 'a.onnx', 'b.onnx', '--align', 'activations'], 2, /--data/],
    [['weights', 'a.onnx', 'b.onnx', '--method', 'raw', '--data', 'probe.npy'], 2, /--data is only used by --method aligned/],
    [['weights', 'a.onnx', 'b.onnx', '--method', 'raw', '--write-aligned', 'z.onnx'], 2, /--write-aligned needs/],
    [['weights', 'a.onnx', 'b.onnx', '--method', 'raw', '--write-canonical', 'z.onnx'], 2, /--write-canonical needs/],
    [['weights', 'a.onnx', 'b.onnx', '--sort-key', 'nope'], 2, /nope/],
    [['weights', 'a.onnx', 'missing.onnx'], 1, /missing\.onnx/],
    // Output targets that cannot be written are refused before any work (a folder used to
    // send the temporary file into the folder's parent).
    [['weights', 'a.onnx', 'b.onnx', '--write-aligned', '.', '--force'], 1, /modeldiff-weights-cli-\w+ is a folder; give a file name/],
    [['weights', 'a.onnx', 'b.onnx', '--write-canonical', 'nodir/c.onnx'], 1, /cannot write .*c\.onnx: folder .*nodir does not exist/],
    // Probe data that does not fit the model's input: the data file and the model are named (not "<bytes>").
    [['weights', 'a.onnx', 'b.onnx', '--align', 'activations', '--data', 'probe-nchw.npy'], 1, /probe-nchw\.npy: probe data \[32, 1, 2, 2\] does not fit input "x" \[N, 4\] of .*a\.onnx$/m],
    [['weights', 'a.onnx', 'b.onnx', '--align', 'activations', '--data', 'probe-wide.npy'], 1, /probe-wide\.npy: .*\[16, 8\] does not fit input "x" \[N, 4\]/],
    [['weights', 'a.onnx', 'b.onnx', '--align', 'activations', '--data', 'a.onnx'], 1, /a\.onnx: not a data file modeldiff reads \(expected \.npy/],
    [['weights', 'a.onnx', 'b.onnx', '--align', 'activations', '--data', 'probe-one.npy'], 1, /probe-one\.npy: activation matching .* needs at least 2, got 1/],
  ];
  for (const [args, code, msg] of cases) {
    const r = await cli(...args);
    t.equal(r.code, code, args.join(' '));
    t.match(r.err, msg);
    t.equal(r.err.trim().split('\n').length, 1);
  }
  t.notOk(fs.existsSync(path.join(dir, 'z.onnx')));
});

t.test('PyTorch BN-kept vs BN-folded exports: raw skipped with a note, hidden layers listed', async (t) => {
  const fx = path.join(__dirname, 'fixtures', 'weights');
  const r = await cli('weights', path.join(fx, 'torch_resnet_bn.onnx'), path.join(fx, 'torch_resnet_folded.onnx'));
  t.equal(r.code, 0, r.err);
  t.match(r.out, /note: raw: skipped, initializer .* has no counterpart/);
  t.notMatch(r.out, /^raw /m);
  t.match(r.out, /4 units, permutation\+scale, written by stem\.weight \+ blk\.c2\.weight \(BatchNorm folded\)/);
  const j = JSON.parse((await cli('weights', path.join(fx, 'torch_resnet_bn.onnx'), path.join(fx, 'torch_resnet_folded.onnx'), '--json')).out);
  t.same(j.hidden.map((h: { symmetry: string }) => h.symmetry), ['permutation+scale', 'permutation+scale']);
  const explicit = await cli('weights', path.join(fx, 'torch_resnet_bn.onnx'), path.join(fx, 'torch_resnet_folded.onnx'), '--method', 'raw,aligned');
  t.equal(explicit.code, 1, 'asking for raw explicitly is an error');
  t.match(explicit.err, /has no counterpart/);
});

t.test('an architecture whose symmetries are not derived: the error points at --method raw, which works', async (t) => {
  // Channels split into 2 groups by one grouped convolution and 3 by the next: no symmetry serves both.
  const rng = createRng(123);
  const grouped = (file: string) => {
    const w = (name: string, dims: number[]) => ({ name, dims, data: Array.from({ length: dims.reduce((p, q) => p * q, 1) }, () => rng.normal()) });
    fs.writeFileSync(file, buildModel({
      inputs: [{ name: 'x', shape: ['N', 4, 5, 5] }],
      outputs: [{ name: 'y', shape: ['N', 2] }],
      initializers: [w('cw', [6, 2, 3, 3]), w('cw2', [3, 2, 1, 1]), w('fc', [2, 3])],
      nodes: [
        { op: 'Conv', inputs: ['x', 'cw'], outputs: ['c'], attrs: { kernel_shape: { ints: [3, 3] }, group: { i: 2 } } },
        { op: 'Relu', inputs: ['c'], outputs: ['r'] },
        { op: 'Conv', inputs: ['r', 'cw2'], outputs: ['c2'], attrs: { kernel_shape: { ints: [1, 1] }, group: { i: 3 } } },
        { op: 'GlobalAveragePool', inputs: ['c2'], outputs: ['g'] },
        { op: 'Flatten', inputs: ['g'], outputs: ['f'] },
        { op: 'Gemm', inputs: ['f', 'fc'], outputs: ['y'], attrs: { transB: { i: 1 } } },
      ],
    }));
    return file;
  };
  const [a, b] = [grouped(path.join(dir, 'grouped-a.onnx')), grouped(path.join(dir, 'grouped-b.onnx'))];
  const refused = captureIo();
  t.equal(await runCli(['weights', a, b], refused), 1);
  t.match(refused.err, /cannot derive weight-space symmetries at .*\(the raw weight distance, --method raw, output comparison and CKA still work\)\n$/);
  // matrix and study print the same reason as a skipped weight matrix, also in flag words.
  writeNpy(path.join(dir, 'probe-grouped.npy'), { dtype: 'float32', shape: [3, 4, 5, 5], data: Float32Array.from({ length: 300 }, () => rng.normal()) });
  for (const command of ['matrix', 'study']) {
    const text = captureIo();
    t.equal(await runCli([command, a, b, '--data', path.join(dir, 'probe-grouped.npy'), '--no-cache'], text), 0, text.err);
    t.match(text.out, /weights: canonical and aligned skipped: .*\(the raw weight distance, --method raw, output comparison and CKA still work\)/, `${command}: the reason in flag words`);
    t.notMatch(text.out, /options\./, `${command}: no library option words`);
  }
  const raw = captureIo();
  t.equal(await runCli(['weights', a, b, '--method', 'raw', '--json'], raw), 0, raw.err);
  const r = JSON.parse(raw.out) as { raw: { relative: number } };
  t.ok(r.raw.relative > 0.1, `two random models are far apart raw (${r.raw.relative})`);
});
