/**
 * `modeldiff outputs`: one model's outputs on a probe set saved as .npy, equal
 * to inferOutputs' values bit for bit, and two such files through
 * `modeldiff divergence` give compare's numbers. Never overwrites unasked.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import t from 'tap';

import { runCli } from '../lib/cli/main';
import { compare } from '../lib/function/compare';
import { inferOutputs } from '../lib/infer';
import { readNpy } from '../lib/io/npy';
import { captureIo } from './helpers/capture-io';

const ZOO = path.join(__dirname, '..', 'examples', 'digits');
const A = path.join(ZOO, 'mlp_relu_seed0.onnx');
const B = path.join(ZOO, 'mlp_relu_seed1.onnx');
const X = path.join(ZOO, 'probe_x.npy');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'modeldiff-outputs-'));
t.teardown(() => fs.rmSync(tmp, { recursive: true, force: true }));

async function cli(...args: string[]) {
  const io = { ...captureIo(), cwd: tmp };
  const wrapped = { ...io, stdout: (s: string) => void (io.out += s), stderr: (s: string) => void (io.err += s) };
  const code = await runCli(args, wrapped);
  return { code, out: io.out, err: io.err };
}

t.test('saves the outputs inferOutputs computes, for divergence to read', async (t) => {
  const r = await cli('outputs', A, '--data', X, '--out', 'a.npy', '--no-cache', '--json');
  t.equal(r.code, 0, r.err);
  const doc = JSON.parse(r.out);
  t.match(doc, { n: 450, k: 10, dtype: 'float32', file: 'a.npy', cached: false });
  const saved = readNpy(path.join(tmp, 'a.npy'));
  const ref = (await inferOutputs(A, X, { cache: false })).outputs;
  t.same(saved.shape, [450, 10]);
  t.same(Buffer.from(saved.data.buffer, saved.data.byteOffset, saved.data.byteLength), Buffer.from(ref.data.buffer, ref.data.byteOffset, ref.data.byteLength), 'bit for bit');
  t.equal((await cli('outputs', B, '-d', X, '-o', 'b.npy', '--no-cache', '-q')).code, 0);
  const div = JSON.parse((await cli('divergence', 'a.npy', 'b.npy', '--metric', 'js,tv', '--json', '--bootstrap', '0')).out);
  const cmp = await compare(A, B, { data: X, metrics: ['js', 'tv'], bootstrap: 0, cache: false });
  t.equal(div.metrics.js.mean, cmp.metrics.js!.mean, 'divergence of the saved outputs = compare');
  t.equal(div.metrics.tv.mean, cmp.metrics.tv!.mean);
  // The other formats, by --out's extension, read back by divergence with the same numbers.
  for (const ext of ['safetensors', 'pb', 'npz']) {
    t.equal((await cli('outputs', A, '-d', X, '-o', `a.${ext}`, '--no-cache', '-q')).code, 0, ext);
    t.equal((await cli('outputs', B, '-d', X, '-o', `b.${ext}`, '--no-cache', '-q')).code, 0, ext);
    const d = JSON.parse((await cli('divergence', `a.${ext}`, `b.${ext}`, '--metric', 'js,tv', '--json', '--bootstrap', '0')).out);
    t.equal(d.metrics.js.mean, div.metrics.js.mean, `${ext}: same js`);
  }
  const mixed = JSON.parse((await cli('divergence', 'a.pb', 'b.safetensors', '--metric', 'js', '--json', '--bootstrap', '0')).out);
  t.equal(mixed.metrics.js.mean, div.metrics.js.mean, 'formats mix');
  const badExt = await cli('outputs', A, '--data', X, '--out', 'a.bin', '--no-cache');
  t.equal(badExt.code, 2);
  t.match(badExt.err, /a\.bin: give the file one of the extensions/);
  t.notOk(fs.existsSync(path.join(tmp, 'a.bin')));
  const text = await cli('outputs', A, '--data', X, '--out', 'c.npy', '--no-cache');
  t.match(text.out, /mlp_relu_seed0\.onnx output ".*": 450 × 10 float32 → c\.npy/);
});

t.test('never overwrites without --force; bad input is one line', async (t) => {
  fs.writeFileSync(path.join(tmp, 'keep.npy'), 'mine');
  const r = await cli('outputs', A, '--data', X, '--out', 'keep.npy', '--no-cache');
  t.equal(r.code, 1);
  t.match(r.err, /keep\.npy already exists; --force overwrites it$/m);
  t.equal(fs.readFileSync(path.join(tmp, 'keep.npy'), 'utf8'), 'mine', 'untouched');
  t.equal((await cli('outputs', A, '--data', X, '--out', 'keep.npy', '--no-cache', '--force', '-q')).code, 0);
  t.same(readNpy(path.join(tmp, 'keep.npy')).shape, [450, 10]);
  const noOut = await cli('outputs', A, '--data', X);
  t.equal(noOut.code, 2);
  t.match(noOut.err, /--out/);
  const noData = await cli('outputs', A, '--out', 'z.npy');
  t.equal(noData.code, 2);
  t.match(noData.err, /^modeldiff: outputs needs probe data: --data FILE/);
  const wrongShape = await cli('outputs', path.join(ZOO, 'cnn_seed0.onnx'), '--data', X, '--out', 'z.npy', '--no-cache');
  t.equal(wrongShape.code, 1);
  t.match(wrongShape.err, /cnn_seed0\.onnx/);
  t.notOk(fs.existsSync(path.join(tmp, 'z.npy')), 'nothing written on failure');
});
