/**
 * Typed arrays over a SharedArrayBuffer (what a worker pool shares) are read
 * like ordinary ones by every native entry point and by onnxruntime, giving
 * the same numbers as copies in ordinary memory.
 */
import path from 'node:path';

import t from 'tap';

import { compare } from '../lib/function/compare';
import { divergencePerSample, pairwiseDivergence } from '../lib/function/divergence';
import { readNpy } from '../lib/io/npy';
import { representationSimilarity } from '../lib/represent/similarity';
import { createRng } from '../lib/util/rng';

const ZOO = path.join(__dirname, '..', 'examples', 'digits');

function shared<T extends Float32Array | Float64Array>(a: T): T {
  const s = new (a.constructor as new (b: SharedArrayBuffer) => T)(new SharedArrayBuffer(a.byteLength));
  s.set(a);
  return s;
}

const rng = createRng(11);
const n = 300;
const k = 7;
const a = Float64Array.from({ length: n * k }, () => rng.normal() * 2);
const b = Float32Array.from({ length: n * k }, () => rng.normal() * 2);

t.test('divergences: per sample and pairwise', async (t) => {
  const plain = await divergencePerSample({ data: a, n, k }, { data: b, n, k }, ['js', 'kl', 'tv']);
  const viaShared = await divergencePerSample({ data: shared(a), n, k }, { data: shared(b), n, k }, ['js', 'kl', 'tv']);
  for (const m of ['js', 'kl', 'tv'] as const) t.same(Array.from(viaShared[m]), Array.from(plain[m]), m);
  t.ok(plain.js.some((v) => v > 0));
  const offset = shared(a).subarray(k); // a shared view not starting at byte 0
  const shifted = await divergencePerSample({ data: offset, n: n - 1, k }, { data: a.subarray(k), n: n - 1, k }, ['js']);
  t.ok(shifted.js.every((v) => v === 0), 'a shared view at an offset reads the right rows');
  const pw = await pairwiseDivergence([{ data: shared(a), n, k }, { data: b, n, k }], 'js');
  const pwPlain = await pairwiseDivergence([{ data: a, n, k }, { data: b, n, k }], 'js');
  t.same(Array.from(pw), Array.from(pwPlain));
});

t.test('representation similarity (the Gram kernels)', async (t) => {
  const x = { data: a, n, k };
  const y = { data: Float64Array.from(b), n, k };
  const plain = await representationSimilarity(x, y, ['cka-linear']);
  const viaShared = await representationSimilarity({ ...x, data: shared(a) }, { ...y, data: shared(y.data) }, ['cka-linear']);
  t.equal(viaShared.values['cka-linear'], plain.values['cka-linear']);
});

t.test('compare: shared probe data goes through onnxruntime', async (t) => {
  const x = readNpy(path.join(ZOO, 'probe_x.npy'));
  const opts = { metrics: ['js' as const], bootstrap: 0, cache: false };
  const A = path.join(ZOO, 'mlp_relu_seed0.onnx');
  const B = path.join(ZOO, 'mlp_relu_seed1.onnx');
  const viaShared = await compare(A, B, { ...opts, data: { data: shared(x.data as Float32Array), shape: x.shape } });
  const plain = await compare(A, B, { ...opts, data: path.join(ZOO, 'probe_x.npy') });
  t.equal(viaShared.metrics.js?.mean, plain.metrics.js?.mean);
});
