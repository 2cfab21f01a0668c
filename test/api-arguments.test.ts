/**
 * What a JavaScript caller can pass that the TypeScript types would have
 * refused: every such call must end in a ModeldiffError naming the function
 * and the argument (never a TypeError from deep inside), and invalid data
 * must never turn into a number. Plus kappa's labels, computed in slices,
 * checked against labels and a kappa computed here.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import t, { type Test as TapTest } from 'tap';

import { ModeldiffError } from '../lib/errors';
import { compare } from '../lib/function/compare';
import { cohenKappa, divergencePerSample, divergencePerSampleSync, pairwiseDivergence } from '../lib/function/divergence';
import { divergence } from '../lib/function/divergence-summary';
import { encodeNpy, writeNpy } from '../lib/io/npy';
import { writeNpz } from '../lib/io/npz';
import { encodeSafetensors } from '../lib/io/safetensors';
import { matrix } from '../lib/many/matrix';
import { study } from '../lib/many/study';
import { lossBarrier } from '../lib/path/barrier';
import { representationSimilarity } from '../lib/represent/similarity';
import { cka } from '../lib/represent/model';
import { bootstrapMeanCISync } from '../lib/stats';
import { createRng } from '../lib/util/rng';

const ZOO = path.join(__dirname, '..', 'examples', 'digits');
const A = path.join(ZOO, 'mlp_relu_seed0.onnx');
const B = path.join(ZOO, 'mlp_relu_seed1.onnx');
const X = path.join(ZOO, 'probe_x.npy');
const x = () => ({ data: new Float32Array([1, 2, 3, 4, 5, 6]), n: 2, k: 3 });
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const any = (v: unknown) => v as any;

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'modeldiff-api-'));
t.teardown(() => fs.rmSync(tmp, { recursive: true, force: true }));

async function failure(t: TapTest, run: () => unknown, code: string, message: RegExp, what: string): Promise<void> {
  let err: unknown;
  try {
    await run();
  } catch (e) {
    err = e;
  }
  t.ok(err instanceof ModeldiffError, `${what}: a ModeldiffError (got ${String(err)})`);
  t.match(err, { code, message }, what);
}

t.test('options objects', async (t) => {
  await failure(t, () => divergence(x(), x(), ['js'], any(null)), 'INVALID_ARGUMENT', /^divergence: options must be an object, got null/, 'divergence(null)');
  await failure(t, () => divergence(x(), x(), ['js'], any('probs')), 'INVALID_ARGUMENT', /got the string "probs"/, "divergence('probs')");
  await failure(t, () => divergencePerSampleSync(x(), x(), ['js'], any(null)), 'INVALID_ARGUMENT', /^divergencePerSample: options must be an object/, 'sync(null)');
  await failure(t, () => divergencePerSample(x(), x(), ['js'], any([])), 'INVALID_ARGUMENT', /got an array/, 'async([])');
  await failure(t, () => pairwiseDivergence([x(), x()], 'js', any(7)), 'INVALID_ARGUMENT', /^pairwiseDivergence: options must be an object, got number 7/, 'pairwise(7)');
  await failure(t, () => divergence(x(), x(), ['js'], any({ bits: 'no' })), 'INVALID_ARGUMENT', /options\.bits must be true or false, got the string "no"/, 'bits');
  for (const threads of [0, 1.5, -2]) {
    await failure(t, () => divergence(x(), x(), ['js'], { threads }), 'INVALID_ARGUMENT', /threads must be an integer >= 1/, `threads ${threads}`);
  }
  // Absurd counts are capped (at the hardware's), by the kernels and the bootstrap alike.
  const capped = await divergence(x(), x(), ['js'], { threads: 5000 });
  t.same(capped.metrics.js?.ci95, (await divergence(x(), x(), ['js'], { threads: 1 })).metrics.js?.ci95);
  await failure(t, () => compare(A, B, any(undefined)), 'INVALID_ARGUMENT', /^compare: options\.data is required/, 'compare without options');
  await failure(t, () => compare(A, B, any({ cache: false })), 'INVALID_ARGUMENT', /^compare: options\.data is required/, 'compare without data');
  await failure(t, () => compare(A, B, any({ data: X, metrics: 'js' })), 'INVALID_ARGUMENT', /options\.metrics must be an array, got the string "js"/, 'compare metrics');
  await failure(t, () => cka(A, B, any({})), 'INVALID_ARGUMENT', /^cka: options\.data is required/, 'cka without data');
  await failure(t, () => cka(A, B, any({ data: X, layers: 'a:x,b:y' })), 'INVALID_ARGUMENT', /^cka: options\.layers must be an array/, 'cka layers');
  await failure(t, () => lossBarrier(A, B, any({ data: X })), 'INVALID_ARGUMENT', /^lossBarrier: options\.labels is required/, 'barrier without labels');
  await failure(t, () => matrix([A, B], any(null)), 'INVALID_ARGUMENT', /^matrix: options must be an object, got null/, 'matrix(null)');
  await failure(t, () => study([A, B], any('x')), 'INVALID_ARGUMENT', /^study: options must be an object, got the string "x"/, "study('x')");
  const act = { data: new Float64Array([1, 2, 3, 4, 5, 7, 8, 9]), n: 4, k: 2 };
  await failure(t, () => representationSimilarity(act, act, ['cka-linear'], any(null)), 'INVALID_ARGUMENT', /^representationSimilarity: options must be an object/, 'representationSimilarity(null)');
  const viaNull = await compare(A, B, { data: X, dataB: any(null), metrics: ['js'], bootstrap: 0, cache: false });
  const plain = await compare(A, B, { data: X, metrics: ['js'], bootstrap: 0, cache: false });
  t.equal(viaNull.metrics.js?.mean, plain.metrics.js?.mean, 'dataB: null reads as absent');
});

t.test('invalid data never becomes a number', async (t) => {
  const notProbs = { data: new Float64Array([0.2, 0.2, 0.2, 0.3, 0.3, 0.3]), n: 2, k: 3 };
  const onehot = { data: new Float64Array([1, 0, 0, 0, 1, 0]), n: 2, k: 3 };
  await failure(t, () => divergence(notProbs, onehot, ['kappa'], { outputs: 'probs' }), 'INVALID_PROBS', /^a, row 0: probabilities sum to 0\.6/, 'kappa alone still validates');
  const nan = { data: new Float32Array([1, NaN, 3, 4, 5, 6]), n: 2, k: 3 };
  await failure(t, () => divergence(x(), nan, ['kappa']), 'NON_FINITE', /^b, row 0/, 'kappa alone: NaN');
  await failure(t, () => divergencePerSample(x(), x(), ['kl'], { epsilon: 1e308 }), 'INVALID_ARGUMENT', /epsilon 1e\+308 is too large for 3 classes/, 'epsilon overflow');
  const ok = await divergencePerSample(x(), x(), ['kl'], { epsilon: 1e300 });
  t.same(Array.from(ok.kl), [0, 0], 'a huge but representable epsilon: identical rows are still 0');
  await failure(t, () => bootstrapMeanCISync([[1, NaN, 3, 4, 5]], { replicates: 100 }), 'NON_FINITE', /bootstrap series 0, value 1: NaN/, 'bootstrap of NaN');
  await failure(t, () => cohenKappa(any([0, 0.5]), any([0, 1]), 2), 'INVALID_ARGUMENT', /sample 1: label 0\.5 is not an integer class id/, 'fractional label');
});

t.test('writers refuse arrays that do not match their shape or dtype, before writing', async (t) => {
  const file = path.join(tmp, 'bad.npy');
  await failure(t, () => writeNpy(file, any({ data: new Float32Array([1, 2, 3]), shape: [2, 2], dtype: 'float32' })), 'SHAPE_MISMATCH', /shape \[2, 2\] needs 4 values, got 3/, 'short data');
  await failure(t, () => writeNpy(file, any({ data: new Float64Array(4), shape: [4], dtype: 'int32' })), 'INVALID_ARGUMENT', /dtype int32 needs a Int32Array, got a Float64Array/, 'wrong class');
  await failure(t, () => encodeNpy(any({ data: new Float32Array(2), shape: [-1, 2], dtype: 'float32' })), 'INVALID_ARGUMENT', /invalid shape \[-1, 2\]/, 'negative dim');
  t.notOk(fs.existsSync(file), 'nothing was written');
  await failure(t, () => writeNpz(path.join(tmp, 'b.npz'), any({ w: { data: new Float32Array(3), shape: [4], dtype: 'float32' } })), 'SHAPE_MISMATCH', /array "w": shape \[4\] needs 4 values/, 'npz member');
  await failure(t, () => encodeSafetensors(any({ w: { data: new Float32Array(3), shape: [4], dtype: 'float32' } })), 'SHAPE_MISMATCH', /tensor "w": shape \[4\]/, 'safetensors member');
});

t.test("kappa's labels: the first maximum per row, the sigmoid threshold for one column", async (t) => {
  const rng = createRng(5);
  const n = 200_000; // several slices of 65536 rows
  const k = 4;
  const a = Float32Array.from({ length: n * k }, () => Math.round(rng.normal() * 2)); // ties happen
  const b = Float32Array.from(a, (v) => (rng.float() < 0.3 ? Math.round(rng.normal() * 2) : v));
  const argmax = (d: Float32Array, r: number) => {
    let best = 0;
    for (let j = 1; j < k; j++) if (d[r * k + j] > d[r * k + best]) best = j;
    return best;
  };
  const kappaRef = (la: number[], lb: number[], classes: number) => {
    const ca = new Array(classes).fill(0);
    const cb = new Array(classes).fill(0);
    let agree = 0;
    la.forEach((v, i) => {
      ca[v]++;
      cb[lb[i]]++;
      if (v === lb[i]) agree++;
    });
    const po = agree / la.length;
    const pe = ca.reduce((s, c, i) => s + (c / la.length) * (cb[i] / la.length), 0);
    return (po - pe) / (1 - pe);
  };
  const la = Array.from({ length: n }, (_, r) => argmax(a, r));
  const lb = Array.from({ length: n }, (_, r) => argmax(b, r));
  const r = await divergence({ data: a, n, k }, { data: b, n, k }, ['kappa'], { outputs: 'logits' });
  t.ok(Math.abs(r.kappa! - kappaRef(la, lb, k)) < 1e-12, `logits kappa ${r.kappa}`);
  const s = Float64Array.from({ length: 1000 }, () => rng.float());
  const s2 = Float64Array.from(s, (v) => (rng.float() < 0.2 ? 1 - v : v));
  const sig = await divergence({ data: s, n: 1000, k: 1 }, { data: s2, n: 1000, k: 1 }, ['kappa'], { outputs: 'sigmoid' });
  const lab = (v: Float64Array) => Array.from(v, (p) => (p > 0.5 ? 1 : 0));
  t.ok(Math.abs(sig.kappa! - kappaRef(lab(s), lab(s2), 2)) < 1e-12, 'sigmoid kappa');
  const logit = (v: Float64Array) => Float64Array.from(v, (p) => Math.log(p / (1 - p)));
  const sl = await divergence({ data: logit(s), n: 1000, k: 1 }, { data: logit(s2), n: 1000, k: 1 }, ['kappa'], { outputs: 'sigmoid-logit' });
  t.equal(sl.kappa, sig.kappa, 'sigmoid-logit thresholds at 0, the same labels');
});
