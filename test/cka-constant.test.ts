// CKA where it is undefined and at the edges of its range: a constant layer gives null with
// the reason (never a crash, never a number made of rounding), the run goes on over the other
// layers (a ViT whose head is zero, as torchvision initialises it), and values outside the
// range are clamped only within what float64 rounding explains.
import path from 'node:path';

import t from 'tap';

import { runCli } from '../lib/cli/main';
import { encodeOnnx, float64ToTensor, graphOf, readOnnx, tensorDims } from '../lib/io/onnx';
import type { Matrix } from '../lib/matrix';
import { clampToRange, roundingTolerance } from '../lib/represent/hsic';
import { cka } from '../lib/represent/model';
import { REPRESENTATION_MEASURES, representationSimilarity, undefinedWords } from '../lib/represent/similarity';
import { representationMatrices } from '../lib/views/representations';
import { createRng } from '../lib/util/rng';
import { captureIo } from './helpers/capture-io';

const rng = createRng(1313);
const rows = (n: number, k: number, f: (i: number, j: number) => number): Matrix => ({ data: Float64Array.from({ length: n * k }, (_, x) => f(Math.floor(x / k), x % k)), n, k });
const random = (n: number, k: number) => rows(n, k, () => rng.normal());

t.test('a constant side: every measure is null with the side named, in both spaces', async (t) => {
  const constant = rows(30, 3, (_, j) => j + 0.1); // every sample the same
  const y = random(30, 4);
  for (const space of ['feature', 'sample'] as const) {
    const r = await representationSimilarity(constant, y, REPRESENTATION_MEASURES, { space });
    for (const m of REPRESENTATION_MEASURES) {
      t.equal(r.values[m], null, `${m} ${space}`);
      t.equal(r.undefinedBecause?.[m], 'constant-x', `${m} ${space}`);
    }
  }
  t.same((await representationSimilarity(y, constant)).undefinedBecause, { 'cka-linear': 'constant-y' });
  t.same((await representationSimilarity(constant, constant)).values, { 'cka-linear': null });
  t.equal(undefinedWords('constant-y', ['A', 'B']), 'constant in B');
  t.equal(undefinedWords('constant-both'), 'constant in X and Y');
  t.equal(undefinedWords('degenerate-x'), 'no variance for this estimator in X');
  // Not constant, but no value for one estimator: most samples coincide (RBF bandwidth 0), and
  // x = (3, −1, −1, −1), whose U-centred Gram is exactly 0 (debiased self-HSIC 0).
  const mostlySame = rows(30, 2, (i, j) => (i < 25 ? j : rng.normal()));
  const rbf = await representationSimilarity(mostlySame, y, ['cka-rbf', 'cka-linear']);
  t.equal(rbf.values['cka-rbf'], null);
  t.same(rbf.undefinedBecause, { 'cka-rbf': 'degenerate-x' });
  const v = rbf.values['cka-linear'] as number;
  t.ok(v > 0 && v < 1, `linear CKA is defined there: ${v}`);
  const star = rows(4, 1, (i) => (i === 0 ? 3 : -1));
  for (const space of ['feature', 'sample'] as const) {
    const r = await representationSimilarity(random(4, 2), star, ['cka-linear-debiased', 'cka-linear'], { space });
    t.equal(r.values['cka-linear-debiased'], null, space);
    t.same(r.undefinedBecause, { 'cka-linear-debiased': 'degenerate-y' }, space);
    t.type(r.values['cka-linear'], 'number', space);
  }
});

t.test('the range: rounding is clamped, anything beyond it is an internal error', async (t) => {
  const tol = roundingTolerance(100, 10, 10);
  t.equal(tol, Math.max(1e-12, Number.EPSILON * (100 * 100 + 20 * 20)));
  t.equal(roundingTolerance(2, 1, 1), 1e-12, 'the floor');
  t.equal(clampToRange(1 + 4e-15, 0, 1, 1e-12, 'cka-linear'), 1);
  t.equal(clampToRange(-3e-17, 0, 1, 1e-12, 'cka-linear'), 0);
  t.equal(clampToRange(-0.25, -1, 1, 1e-12, 'cka-linear-debiased'), -0.25, 'debiased CKA keeps its negative values');
  t.throws(() => clampToRange(1 + 1e-9, 0, 1, 1e-12, 'cka-linear'), { code: 'INTERNAL', message: /^cka-linear: 1\.000000001 is outside its range \[0, 1\] by more than rounding explains \(1\.0e-12\)$/ });
  t.throws(() => clampToRange(-1e-6, 0, 1, 1e-12, 'cka-rbf'), { code: 'INTERNAL' });
  // A permuted, rescaled copy sums in another order: at most 1, within rounding of it.
  const x = random(200, 12);
  const perm = [...Array(12).keys()].reverse();
  const y = rows(200, 12, (i, j) => 3 * x.data[i * 12 + perm[j]]);
  for (const space of ['feature', 'sample'] as const) {
    const r = await representationSimilarity(x, y, ['cka-linear', 'cka-linear-debiased', 'cka-rbf'], { space });
    for (const [m, value] of Object.entries(r.values)) t.ok((value as number) <= 1 && (value as number) > 1 - 1e-12, `${m} ${space}: ${value}`);
  }
  // Unrelated representations on few samples: debiased CKA may be negative, and stays so.
  let negative = false;
  for (let s = 0; s < 20 && !negative; s++) negative = ((await representationSimilarity(random(6, 2), random(6, 2), ['cka-linear-debiased'])).values['cka-linear-debiased'] as number) < 0;
  t.ok(negative, 'a negative debiased CKA is reported as is');
});

// torchvision initialises a ViT's classification head to zero: its output is the same for
// every sample. The other layers still compare; that one is n/a.
const arch = path.join(__dirname, 'fixtures', 'arch');
function zeroHead(file: string): Uint8Array {
  const model = readOnnx(file);
  const inits = graphOf(model).initializer;
  inits.forEach((tensor, i) => {
    if (tensor.name?.startsWith('heads.head.')) inits[i] = float64ToTensor(tensor.name, tensorDims(tensor), new Float64Array(tensorDims(tensor).reduce((a, b) => a * b, 1)), tensor.dataType ?? 1);
  });
  return encodeOnnx(model);
}

t.test('cka over the default layers of a ViT with a zero head: the run goes on, the head is null', async (t) => {
  const a = path.join(arch, 'vit-ts17-s0.onnx');
  const probe = path.join(arch, 'probe-image16.npz');
  const b = zeroHead(a);
  const r = await cka(a, b, { data: probe });
  t.ok(r.pairs.length >= 3, `${r.pairs.length} layers`);
  for (const p of r.pairs) {
    const v = p.values['cka-linear'];
    if (p.a.tensor === 'y') {
      t.equal(v, null, 'the zero head');
      t.same(p.undefinedBecause, { 'cka-linear': 'constant-y' });
    } else {
      t.ok(typeof v === 'number' && Math.abs(v - 1) < 1e-6, `${p.a.tensor}: the same weights before the head (${v})`);
      t.notOk('undefinedBecause' in p);
    }
  }
  // Over N models at that one layer the matrix cannot be built: a one-line error.
  await t.rejects(representationMatrices([a, b], probe, 'y'), { code: 'MODEL_OUTPUT', option: 'layers', message: /^cka-linear between models 0 and 1 at layer y is undefined \(constant in model 1\): pick another layer$/ });
});

t.test('CLI: n/a with the reason in text, null in JSON, exit 0', async (t) => {
  const a = path.join(arch, 'vit-ts17-s0.onnx');
  const fs = await import('node:fs');
  const os = await import('node:os');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cka-constant-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const b = path.join(dir, 'vit-zero-head.onnx');
  fs.writeFileSync(b, zeroHead(a));
  const probe = path.join(arch, 'probe-image16.npz');
  const io = captureIo();
  t.equal(await runCli(['cka', a, b, '--data', probe, '--layers', 'y', '-q'], io), 0, io.err);
  t.match(io.out, /^y +y +n\/a {2}\(constant in B\)$/m);
  const json = captureIo();
  t.equal(await runCli(['cka', a, b, '--data', probe, '--layers', 'y', '--layers', '#0', '--json', '-q'], json), 0, json.err);
  const r = JSON.parse(json.out) as { pairs: Array<{ values: Record<string, number | null>; undefinedBecause?: Record<string, string> }> };
  t.same(r.pairs[0].values, { 'cka-linear': null });
  t.same(r.pairs[0].undefinedBecause, { 'cka-linear': 'constant-y' });
  t.type(r.pairs[1].values['cka-linear'], 'number');
  const matrix = captureIo();
  t.equal(await runCli(['cka', b, b, '--data', probe, '--all-layers', '-q'], matrix), 0, matrix.err);
  // The layer×layer matrix keeps its shape: the head's row and column are n/a, the reason below.
  const lines = matrix.out.split('\n');
  t.match(lines.find((l) => l.startsWith('y ')), /^y( +n\/a)+$/);
  t.ok(lines.filter((l) => /^\S/.test(l) && !l.startsWith('y ') && / n\/a$/.test(l)).length >= 2, 'every other row ends in the head column');
  t.match(matrix.out, /^n\/a at y × y: constant in A and B$/m);
});
