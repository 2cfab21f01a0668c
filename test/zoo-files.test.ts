/**
 * The committed example zoo is what the demo and the zoo tests stand on, so
 * check the files themselves, with onnxruntime-node directly (independent of
 * modeldiff's own compare): every model loads, takes `x`, returns [n, 10]
 * logits with a dynamic batch, scores the manifest's accuracy on the probe
 * set, and the permuted copy really is the same function as its parent.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import t, { type Test as Tap } from 'tap';
import * as ort from 'onnxruntime-node';

import { loadZoo, packageRoot, zooModelByRole, zooModels, type Zoo } from '../lib/demo/zoo';
import { readNpy } from '../lib/io/npy';

const zoo = loadZoo();

async function logits(t: Tap, z: Zoo, file: string, x: Float32Array, dims: number[]): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(z.path(file));
  t.same(session.inputNames, ['x'], `${file} input`);
  t.same(session.outputNames, ['logits'], `${file} output`);
  const out = (await session.run({ x: new ort.Tensor('float32', x, dims) })).logits;
  t.same(out.dims, [dims[0], 10], `${file} output shape`);
  return out.data as Float32Array;
}

function argmaxAccuracy(l: Float32Array, y: BigInt64Array): number {
  let correct = 0;
  for (let i = 0; i < y.length; i++) {
    let best = 0;
    for (let k = 1; k < 10; k++) if (l[i * 10 + k] > l[i * 10 + best]) best = k;
    if (BigInt(best) === y[i]) correct++;
  }
  return correct / y.length;
}

t.test('the bundled zoo is found from the package root and has the documented models', async (t) => {
  t.equal(zoo.dir, path.join(packageRoot(), 'examples', 'digits'));
  const m = zoo.manifest;
  t.equal(m.output, 'logits');
  t.equal(m.input_name, 'x');
  t.equal(m.models.length, 14);
  t.equal(zooModels(zoo, { role: 'seed', architecture: 'mlp-relu-64-64' }).length, 8);
  t.equal(zooModels(zoo, { architecture: 'mlp-tanh-64-64' }).length, 2);
  t.equal(zooModels(zoo, { architecture: 'cnn-conv8-conv8' }).length, 2);
  t.equal(zooModelByRole(zoo, 'perturbed-retrained').parent, 'mlp_relu_seed0.onnx');
  t.equal(zooModelByRole(zoo, 'permuted-rescaled-copy').parent, 'mlp_relu_seed1.onnx');
  const bytes = fs.readdirSync(zoo.dir).reduce((s, f) => s + fs.statSync(zoo.path(f)).size, 0);
  t.ok(bytes < 5e6, `zoo is ${bytes} bytes, well under 5 MB`);
});

t.test('probe arrays: float32 [450,64], the same images as [450,1,8,8], int64 labels 0..9', async (t) => {
  const x = readNpy(zoo.path('probe_x.npy'));
  const img = readNpy(zoo.path('probe_x_img.npy'));
  const y = readNpy(zoo.path('probe_y.npy'));
  t.equal(x.dtype, 'float32');
  t.same(x.shape, [450, 64]);
  t.same(img.shape, [450, 1, 8, 8]);
  t.same(Array.from(img.data as Float32Array), Array.from(x.data as Float32Array));
  t.equal(y.dtype, 'int64');
  t.same(y.shape, [450]);
  t.equal(zoo.manifest.probe.n, 450);
  const labels = Array.from(y.data as BigInt64Array, Number);
  t.ok(labels.every((v) => v >= 0 && v <= 9));
  // stratified split: every class is present about 45 times
  for (let c = 0; c < 10; c++) {
    const count = labels.filter((v) => v === c).length;
    t.ok(count >= 40 && count <= 50, `class ${c}: ${count} samples`);
  }
  const xs = x.data as Float32Array;
  t.ok(xs.every((v) => v >= 0 && v <= 1), 'pixels scaled to 0..1');
});

t.test('every model runs on the probe set and scores its manifest accuracy', async (t) => {
  const x = readNpy(zoo.path('probe_x.npy')).data as Float32Array;
  const y = readNpy(zoo.path('probe_y.npy')).data as BigInt64Array;
  for (const m of zoo.manifest.models) {
    const dims = m.input === 'probe_x_img.npy' ? [450, 1, 8, 8] : [450, 64];
    const acc = argmaxAccuracy(await logits(t, zoo, m.file, x, dims), y);
    t.ok(Math.abs(acc - m.test_accuracy) < 1e-5, `${m.file}: ${acc} vs manifest ${m.test_accuracy}`);
    t.ok(acc > 0.95, `${m.file} is a trained classifier (${acc})`);
  }
  // dynamic batch axis: a batch of 3 gives the first 3 rows of the full run
  const full = await logits(t, zoo, 'mlp_relu_seed3.onnx', x, [450, 64]);
  const three = await logits(t, zoo, 'mlp_relu_seed3.onnx', x.subarray(0, 3 * 64), [3, 64]);
  for (let i = 0; i < 30; i++) t.ok(Math.abs(three[i] - full[i]) <= 1e-5 * Math.max(1, Math.abs(full[i])));
});

t.test('the permuted-and-rescaled copy is the same function with different raw weights', async (t) => {
  const x = readNpy(zoo.path('probe_x.npy')).data as Float32Array;
  const a = await logits(t, zoo, 'mlp_relu_seed1.onnx', x, [450, 64]);
  const b = await logits(t, zoo, 'mlp_relu_seed1_permuted.onnx', x, [450, 64]);
  let maxDiff = 0;
  let maxAbs = 0;
  for (let i = 0; i < a.length; i++) {
    maxDiff = Math.max(maxDiff, Math.abs(a[i] - b[i]));
    maxAbs = Math.max(maxAbs, Math.abs(a[i]));
  }
  t.ok(maxDiff <= 1e-5 * maxAbs, `max logit difference ${maxDiff} vs scale ${maxAbs}`);
  // the two files' weight bytes differ (a permutation is not a no-op)
  const ba = fs.readFileSync(zoo.path('mlp_relu_seed1.onnx'));
  const bb = fs.readFileSync(zoo.path('mlp_relu_seed1_permuted.onnx'));
  t.equal(ba.length, bb.length);
  t.notOk(ba.equals(bb));
});

t.test('the saved PyTorch logits equal the onnxruntime outputs of the same models', async (t) => {
  const x = readNpy(zoo.path('probe_x.npy')).data as Float32Array;
  const saved = zoo.manifest.saved_outputs ?? {};
  t.same(Object.keys(saved), ['logits_mlp_relu_seed0.npy', 'logits_mlp_relu_seed1.npy']);
  for (const [file, model] of Object.entries(saved)) {
    const l = readNpy(zoo.path(file));
    t.equal(l.dtype, 'float32');
    t.same(l.shape, [450, 10]);
    const ref = await logits(t, zoo, model, x, [450, 64]);
    const d = l.data as Float32Array;
    let worst = 0;
    for (let i = 0; i < d.length; i++) worst = Math.max(worst, Math.abs(d[i] - ref[i]) / Math.max(1, Math.abs(ref[i])));
    t.ok(worst < 1e-5, `${file} vs ${model}: ${worst}`);
  }
});

t.test('loadZoo errors name the file at fault', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'modeldiff-zoo-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const code = (fn: () => unknown, c: string, re: RegExp) => 
    t.throws(fn, { name: 'ModeldiffError', code: c, message: re }, `${c} ${re}`);

  code(() => loadZoo(dir), 'FILE_NOT_FOUND', /manifest\.json not found/);
  fs.writeFileSync(path.join(dir, 'manifest.json'), '{ not json');
  code(() => loadZoo(dir), 'IO', /manifest\.json is not valid JSON/);
  fs.writeFileSync(path.join(dir, 'manifest.json'), '{"models": []}');
  code(() => loadZoo(dir), 'IO', /not a modeldiff zoo manifest/);
  fs.writeFileSync(
    path.join(dir, 'manifest.json'),
    JSON.stringify({ probe: { x: 'probe_x.npy', y: 'probe_y.npy' }, models: [{ file: 'a.onnx', role: 'seed' }] }),
  );
  fs.writeFileSync(path.join(dir, 'probe_x.npy'), '');
  fs.writeFileSync(path.join(dir, 'probe_y.npy'), '');
  code(() => loadZoo(dir), 'FILE_NOT_FOUND', /a\.onnx \(listed in .*manifest\.json\) not found/);
  fs.writeFileSync(path.join(dir, 'a.onnx'), '');
  const z = loadZoo(dir);
  code(() => zooModelByRole(z, 'permuted-rescaled-copy'), 'IO', /0 models with role "permuted-rescaled-copy"/);
  t.equal(zooModelByRole(z, 'seed').file, 'a.onnx');
});

t.test('packageRoot skips foreign package.json files and fails outside any modeldiff package', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'modeldiff-root-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.mkdirSync(path.join(dir, 'a', 'b'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'a', 'package.json'), '{"name": "other"}');
  fs.writeFileSync(path.join(dir, 'a', 'b', 'package.json'), 'garbage');
  t.throws(() => packageRoot(path.join(dir, 'a', 'b')), { code: 'FILE_NOT_FOUND' });
  fs.writeFileSync(path.join(dir, 'package.json'), '{"name": "modeldiff"}');
  t.equal(packageRoot(path.join(dir, 'a', 'b')), dir);
});
