/**
 * compare between models that take the same samples in different shapes (the
 * zoo's MLP on n×64 vectors, its CNN on n×1×8×8 images): each model reads its
 * own probe array, and the result equals the divergence of the two models'
 * outputs computed separately.
 */
import path from 'node:path';

import t from 'tap';

import { runCli } from '../lib/cli/main';
import { compare } from '../lib/function/compare';
import { divergencePerSample } from '../lib/function/divergence';
import { inferOutputs } from '../lib/infer';
import { captureIo } from './helpers/capture-io';

const ZOO = path.join(__dirname, '..', 'examples', 'digits');
const MLP = path.join(ZOO, 'mlp_relu_seed0.onnx');
const CNN = path.join(ZOO, 'cnn_seed0.onnx');
const FLAT = path.join(ZOO, 'probe_x.npy');
const IMG = path.join(ZOO, 'probe_x_img.npy');

t.test('dataB feeds model b its own shape of the same samples', async (t) => {
  const r = await compare(MLP, CNN, { data: FLAT, dataB: IMG, metrics: ['js', 'disagreement'], bootstrap: 0, cache: false, batchSize: 100 });
  const a = (await inferOutputs(MLP, FLAT, { cache: false })).outputs;
  const b = (await inferOutputs(CNN, IMG, { cache: false })).outputs;
  const ref = await divergencePerSample(a, b, ['js', 'disagreement']);
  const mean = (v: Float64Array) => v.reduce((s, x) => s + x, 0) / v.length;
  t.equal(r.n, 450);
  t.ok(Math.abs(r.metrics.js!.mean - mean(ref.js)) < 1e-12, `js ${r.metrics.js!.mean} = ${mean(ref.js)}`);
  t.equal(r.metrics.disagreement!.mean, mean(ref.disagreement));
  t.ok(r.metrics.js!.mean > 0, 'two different architectures differ');
  // Without dataB the CNN cannot take the flat vectors: the error names the model and input.
  await t.rejects(compare(MLP, CNN, { data: FLAT, cache: false }), { code: 'MODEL_INPUT', message: /cnn_seed0\.onnx/ });
  await t.rejects(compare(MLP, CNN, { data: FLAT, dataB: { data: new Float32Array(64 * 10), shape: [10, 1, 8, 8] }, cache: false }), {
    code: 'SHAPE_MISMATCH',
    option: 'dataB',
    message: /^options\.data has 450 samples but options\.dataB has 10; options\.dataB must hold the same samples/,
  });
});

t.test('modeldiff compare --data-b', async (t) => {
  const io = captureIo();
  t.equal(await runCli(['compare', MLP, CNN, '--data', FLAT, '--data-b', IMG, '--metric', 'js', '--no-cache', '--json', '--bootstrap', '0'], io), 0, io.err);
  const viaLib = await compare(MLP, CNN, { data: FLAT, dataB: IMG, metrics: ['js'], bootstrap: 0, cache: false });
  t.equal(JSON.parse(io.out).metrics.js.mean, viaLib.metrics.js!.mean);
  const bad = captureIo();
  t.equal(await runCli(['compare', MLP, CNN, '--data', FLAT, '--data-b', IMG, '--data-b', FLAT], bad), 2);
  t.match(bad.err, /several unnamed --data-b files/);
});
