// The one native boundary (binding/binding.hpp, lib/native/call.ts): every addon call comes as
// `name` (promise) and `nameSync`, takes one options object, and every failure becomes a
// ModeldiffError with the kernel's input and row as fields.
import t from 'tap';

import { ModeldiffError } from '../lib/errors';
import { divergencePerSample, divergencePerSampleSync } from '../lib/function/divergence';
import { native } from '../lib/native';
import { withRowOffset } from '../lib/native/call';
import { featureGrams, sampleGram } from '../lib/represent/gram';
import { linearSumAssignmentSync, matchingSimilaritySync } from '../lib/weights/kernels';

const out = (rows: number[][]) => ({ data: Float64Array.from(rows.flat()), n: rows.length, k: rows[0]!.length });

t.test('every addon call is exported as name and nameSync', async (t) => {
  const fns = Object.keys(native).filter((k) => typeof (native as unknown as Record<string, unknown>)[k] === 'function');
  // capabilities() is a plain query, not a kernel call.
  const calls = fns.filter((k) => !k.endsWith('Sync') && k !== 'capabilities');
  t.ok(calls.includes('bootstrap'), 'the bootstrap kernel too');
  t.ok(calls.length >= 10, `${calls.length} calls`);
  for (const name of calls) t.ok(fns.includes(`${name}Sync`), `${name}Sync exists`);
  for (const name of fns.filter((k) => k.endsWith('Sync'))) t.ok(fns.includes(name.slice(0, -4)), `${name} has a promise form`);
});

t.test('a kernel failure names its input and row, as fields and in the message', async (t) => {
  const a = out([
    [0, 1],
    [1, 0],
    [2, 2],
  ]);
  const b = out([
    [0, 1],
    [1, 0],
    [NaN, 2],
  ]);
  let sync: unknown;
  try {
    divergencePerSampleSync(a, b, ['js'], { names: ['left.npy', 'right.npy'] });
  } catch (e) {
    sync = e;
  }
  t.ok(sync instanceof ModeldiffError);
  const s = sync as ModeldiffError;
  t.same([s.code, s.input, s.row, s.message], ['NON_FINITE', 'right.npy', 2, 'right.npy, row 2: contains NaN or Infinity']);
  const err = (await divergencePerSample(a, b, ['js']).catch((e: unknown) => e)) as ModeldiffError;
  t.ok(err instanceof ModeldiffError, 'the promise form rejects the same way');
  t.same([err.code, err.input, err.row], ['NON_FINITE', 'b', 2]);
  // A caller that ran the kernel on a chunk re-words the row from the fields, not the message.
  const moved = withRowOffset(err, 1000, 'sample') as ModeldiffError;
  t.same([moved.code, moved.input, moved.row, moved.message], ['NON_FINITE', 'b', 1002, 'b, sample 1002: contains NaN or Infinity']);
  const other = new ModeldiffError('IO', 'disk full');
  t.equal(withRowOffset(other, 5, 'sample'), other, 'errors not from a kernel pass through');
});

t.test('the Gram kernels report the matrix and row as fields', async (t) => {
  const x = { data: Float64Array.from([1, 2, 3, 4, 5, NaN]), n: 3, k: 2 };
  const y = { data: Float64Array.from([1, 2, 3]), n: 3, k: 1 };
  const err = (await featureGrams(x, y).catch((e: unknown) => e)) as ModeldiffError;
  t.same([err.code, err.input, err.row], ['NON_FINITE', 'X', 2]);
  t.match(err.message, /^feature Gram: matrix X has a non-finite value \(nan\) at row 2, column 1$/);
  const errY = (await featureGrams(y, x).catch((e: unknown) => e)) as ModeldiffError;
  t.same([errY.input, errY.row], ['Y', 2]);
});

t.test('the binding checks types and buffer sizes, in both forms', async (t) => {
  const a = new Float64Array(6);
  t.throws(() => native.divergencePerSampleSync({ a, b: a, n: 2, k: 2, measures: ['js'], kind: 'logits' }), {
    code: 'SHAPE_MISMATCH',
    message: /^divergencePerSample: a has 6 elements, expected 4$/,
  });
  await t.rejects(native.divergencePerSample({ a, b: a, n: 3, k: 2, measures: ['js'], kind: 'logits', epsilon: 'x' as unknown as number }), {
    code: 'INVALID_ARGUMENT',
    message: /epsilon must be a number/,
  });
  // Sizes the divergence kernels would otherwise read out of bounds: an empty shape, a row
  // selection outside [0, n).
  t.throws(() => native.divergencePerSampleSync({ a: new Float64Array(0), b: new Float64Array(0), n: 0, k: 2, measures: ['js'], kind: 'logits' }), {
    code: 'INVALID_ARGUMENT',
    message: /^divergencePerSample: inputs must have at least one row and one column$/,
  });
  t.throws(() => native.divergencePairwiseSync({ models: [a], n: 6, k: 0, measure: 'js', kind: 'logits' }), {
    code: 'INVALID_ARGUMENT',
    message: /^divergencePairwise: inputs must have at least one row and one column$/,
  });
  const four = new Float64Array(4);
  t.throws(() => native.divergencePerSampleSync({ a: four, b: four, n: 2, k: 2, measures: ['js'], kind: 'logits', rows: Int32Array.from([1, 2]), rowCount: 2 }), {
    code: 'INVALID_ARGUMENT',
    message: /^divergencePerSample: rows\[1\] = 2 is outside \[0, 2\)$/,
  });
  t.throws(() => (native.featureGramSync as (o: unknown) => unknown)(undefined), { code: 'INVALID_ARGUMENT', message: /expects one options object/ });
  const layer = { win: new Float64Array(2), bin: new Float64Array(2), wout: new Float64Array(2), units: 2, fanIn: 1, outRows: 1, block: 1 };
  t.throws(() => native.matchingSimilaritySync({ a: layer, b: { ...layer, bin: new Float64Array(3) } }), {
    code: 'SHAPE_MISMATCH',
    message: /^matchingSimilarity: b\.bin has 3 elements, expected 2$/,
  });
  t.throws(() => native.matchingSimilaritySync({ a: layer, b: layer, out: new Float64Array(3) }), {
    code: 'SHAPE_MISMATCH',
    message: /^matchingSimilarity: out has 3 elements, expected 4$/,
  });
  t.throws(() => native.matchingSimilaritySync({ a: layer, b: layer, out: new Int32Array(4) as never }), { code: 'INVALID_ARGUMENT', message: /^matchingSimilarity: out must be a Float64Array$/ });
  t.throws(() => native.applyPermutationSync({ layer, perm: Int32Array.from([1, 1]) }), { code: 'INVALID_ARGUMENT', message: /not a permutation/ });
  // b is read with a's row length: the binding refuses unequal dimensions (a buffer-size check).
  const wide = { ...layer, fanIn: 2, win: new Float64Array(4) };
  t.throws(() => native.matchingSimilaritySync({ a: layer, b: wide }), { code: 'INVALID_ARGUMENT', message: /^matchingSimilarity: b\.fanIn, b\.outRows and b\.block must equal a's$/ });
});

t.test('values and shapes are checked in TypeScript, before the call', async (t) => {
  const x = { data: new Float64Array(6), n: 3, k: 2 };
  await t.rejects(featureGrams(x, { data: new Float64Array(4), n: 2, k: 2 }), { code: 'SHAPE_MISMATCH', message: /^feature Gram: X has 3 samples but feature Gram: Y has 2/ });
  await t.rejects(featureGrams(x, { data: new Float64Array(5), n: 3, k: 2 }), { code: 'SHAPE_MISMATCH', message: /^feature Gram: Y: data has 5 values, expected n×k = 3×2$/ });
  await t.rejects(sampleGram({ data: new Float64Array(5), n: 3, k: 2 }, 'dot'), { code: 'SHAPE_MISMATCH', message: /^sample Gram: X: data has 5 values/ });
  await t.rejects(sampleGram(x, 'dot', { threads: 0 }), { code: 'INVALID_ARGUMENT', message: /^sample Gram: threads must be an integer >= 1, got 0$/ });
  // Row and column indices are 32-bit in the kernels: 2^31 rows are refused before anything is allocated.
  t.throws(() => linearSumAssignmentSync(new Float64Array(0), 2 ** 31, 0), { code: 'INVALID_ARGUMENT', message: /rows must be a non-negative integer below 2\^31, got 2147483648/ });
  t.throws(() => linearSumAssignmentSync(new Float64Array(0), 0, 2 ** 31), { code: 'INVALID_ARGUMENT', message: /cols must be a non-negative integer below 2\^31/ });
  const layer = (fanIn: number) => ({ win: new Float64Array(2 * fanIn), bin: new Float64Array(2), wout: new Float64Array(2), units: 2, fanIn, outRows: 1, block: 1 });
  t.throws(() => matchingSimilaritySync(layer(1), layer(2)), { code: 'INVALID_ARGUMENT', message: /a\.fanIn \(1\) differs from b\.fanIn \(2\)/ });
});
