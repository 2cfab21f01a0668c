/**
 * Issue 2's smoke test: onnxruntime-node (CPU build) loads the committed
 * fixture test/fixtures/gemm-softmax.onnx and computes softmax(x·Wᵀ + b),
 * checked against a hand computation in float64.
 */
import path from 'node:path';

import t from 'tap';
import * as ort from 'onnxruntime-node';

const W = [1, 0, 0, 1, 1, -1]; // [3, 2], as in scripts/make-test-fixtures.ts
const b = [0, 0.5, -0.5];

t.test('the gemm-softmax fixture runs under onnxruntime-node and matches a hand computation', async (t) => {
  const session = await ort.InferenceSession.create(path.join(__dirname, 'fixtures', 'gemm-softmax.onnx'));
  t.same(session.inputNames, ['x']);
  t.same(session.outputNames, ['y']);
  const x = new Float32Array([0, 0, 1, 2, -3, 0.5]);
  const out = await session.run({ x: new ort.Tensor('float32', x, [3, 2]) });
  const y = out.y;
  t.same(y.dims, [3, 3]);
  const data = y.data as Float32Array;
  for (let i = 0; i < 3; i++) {
    const z = [0, 1, 2].map((k) => W[2 * k] * x[2 * i] + W[2 * k + 1] * x[2 * i + 1] + b[k]);
    const m = Math.max(...z);
    const e = z.map((v) => Math.exp(v - m));
    const s = e.reduce((a, c) => a + c, 0);
    for (let k = 0; k < 3; k++) t.ok(Math.abs(data[3 * i + k] - e[k] / s) < 1e-6, `y[${i}][${k}] = ${data[3 * i + k]} vs ${e[k] / s}`);
  }
  // Hand value for the first row: logits [0, .5, -.5].
  const e0 = [1, Math.exp(0.5), Math.exp(-0.5)];
  t.ok(Math.abs(data[1] - e0[1] / (e0[0] + e0[1] + e0[2])) < 1e-6);
  await session.release();
});
