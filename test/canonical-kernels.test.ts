import t from 'tap';

import { capabilities } from '../lib/native';
import { createRng, type Rng } from '../lib/util/rng';
import {
  applyPermutationSync,
  fixSignSync,
  linearSumAssignmentSync,
  matchingSimilaritySync,
  matchingSimilarity,
  normalizeScaleSync,
  permuteUnitAxisSync,
  SORT_KEYS,
  sortKeysSync,
  sortPermutationSync,
  type LayerWeights,
  type SortKey,
} from '../lib/weights/kernels';

function randn(rng: Rng, n: number, scale = 1): Float64Array {
  const a = new Float64Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.normal() * scale;
  return a;
}

function randomLayer(rng: Rng, units: number, fanIn: number, outRows: number, block: number): LayerWeights {
  return {
    win: randn(rng, units * fanIn),
    bin: randn(rng, units),
    wout: randn(rng, outRows * units * block),
    units,
    fanIn,
    outRows,
    block,
  };
}

function clone(l: LayerWeights): LayerWeights {
  return { ...l, win: l.win.slice(), bin: l.bin.slice(), wout: l.wout.slice() };
}

/**
 * The layer pair as a function (float64 reference): input x holds `block`
 * positions of fanIn features; h[u,t] = act(win[u]·x_t + bin[u]);
 * y[o] = Σ_{u,t} wout[o,u,t] h[u,t] (a Flatten→Gemm, or Gemm→Gemm when block = 1).
 */
function forward(l: LayerWeights, x: Float64Array, act: (z: number) => number): Float64Array {
  const h = new Float64Array(l.units * l.block);
  for (let u = 0; u < l.units; u++) {
    for (let p = 0; p < l.block; p++) {
      let z = l.bin[u];
      for (let f = 0; f < l.fanIn; f++) z += l.win[u * l.fanIn + f] * x[p * l.fanIn + f];
      h[u * l.block + p] = act(z);
    }
  }
  const y = new Float64Array(l.outRows);
  for (let o = 0; o < l.outRows; o++) {
    let s = 0;
    for (let i = 0; i < l.units * l.block; i++) s += l.wout[o * l.units * l.block + i] * h[i];
    y[o] = s;
  }
  return y;
}

const relu = (z: number) => Math.max(0, z);

function maxRelDiff(a: Float64Array, b: Float64Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]) / Math.max(1, Math.abs(b[i])));
  return m;
}

function randomPerm(rng: Rng, n: number): Int32Array {
  return rng.shuffle(Int32Array.from({ length: n }, (_, i) => i));
}

function inverse(p: Int32Array): Int32Array {
  const inv = new Int32Array(p.length);
  p.forEach((v, i) => (inv[v] = i));
  return inv;
}

t.test('normalizeScaleSync preserves a ReLU layer pair, yields unit-norm units, and is idempotent', async (t) => {
  const rng = createRng(21);
  for (const [units, fanIn, outRows, block] of [[8, 5, 3, 1], [6, 4, 2, 3]]) {
    const l = randomLayer(rng, units, fanIn, outRows, block);
    // positive rescaling of unit 0 by a large factor: the normalization must undo it
    for (let f = 0; f < fanIn; f++) l.win[f] *= 1000;
    l.bin[0] *= 1000;
    const before = clone(l);
    const xs = Array.from({ length: 5 }, () => randn(rng, fanIn * block));
    const factors = normalizeScaleSync(l);
    for (let u = 0; u < units; u++) {
      let ss = l.bin[u] ** 2, ssBefore = before.bin[u] ** 2;
      for (let f = 0; f < fanIn; f++) {
        ss += l.win[u * fanIn + f] ** 2;
        ssBefore += before.win[u * fanIn + f] ** 2;
      }
      t.ok(Math.abs(ss - 1) < 1e-12, `unit ${u} has unit incoming norm`);
      t.ok(Math.abs(factors[u] - Math.sqrt(ssBefore)) <= 1e-12 * factors[u], 'factor is the incoming norm');
      for (let o = 0; o < outRows; o++)
        for (let p = 0; p < block; p++) {
          const i = (o * units + u) * block + p;
          t.ok(Math.abs(l.wout[i] - before.wout[i] * factors[u]) <= 1e-12 * Math.abs(l.wout[i]) + 1e-300);
        }
    }
    for (const x of xs) t.ok(maxRelDiff(forward(l, x, relu), forward(before, x, relu)) < 1e-12, 'same function');
    const again = clone(l);
    const f2 = normalizeScaleSync(again);
    t.ok(f2.every((f) => Math.abs(f - 1) < 1e-14), 'second call: factors ≈ 1');
    t.ok(maxRelDiff(again.win, l.win) < 1e-14 && maxRelDiff(again.wout, l.wout) < 1e-14, 'second call changes nothing');
  }
});

t.test('kernels work on views into larger buffers', async (t) => {
  const rng = createRng(30);
  const l = randomLayer(rng, 5, 3, 2, 2);
  const big = new Float64Array(1 + l.win.length + l.bin.length + l.wout.length);
  big.set(l.win, 1);
  big.set(l.bin, 1 + l.win.length);
  big.set(l.wout, 1 + l.win.length + l.bin.length);
  const view: LayerWeights = {
    ...l,
    win: big.subarray(1, 1 + l.win.length),
    bin: big.subarray(1 + l.win.length, 1 + l.win.length + l.bin.length),
    wout: big.subarray(1 + l.win.length + l.bin.length),
  };
  const copy = clone(l);
  t.same(normalizeScaleSync(view), normalizeScaleSync(copy));
  t.same(fixSignSync(view), fixSignSync(copy));
  t.same(sortPermutationSync(view), sortPermutationSync(copy));
  t.same(matchingSimilaritySync(view, view), matchingSimilaritySync(copy, copy));
  applyPermutationSync(view, new Int32Array([4, 3, 2, 1, 0]));
  applyPermutationSync(copy, new Int32Array([4, 3, 2, 1, 0]));
  t.same(view.win, copy.win);
  t.same(view.bin, copy.bin);
  t.same(view.wout, copy.wout);
  t.equal(big[0], 0, 'nothing before the views is touched');
});

t.test('normalizeScaleSync leaves a dead unit alone and survives huge and tiny magnitudes', async (t) => {
  const l: LayerWeights = {
    win: new Float64Array([0, 0, 3e200, 4e200, 3e-200, 0]),
    bin: new Float64Array([0, 0, 4e-200]),
    wout: new Float64Array([7, 1, 1]),
    units: 3,
    fanIn: 2,
    outRows: 1,
    block: 1,
  };
  const f = normalizeScaleSync(l);
  const near = (a: Float64Array, b: number[]) => a.length === b.length && a.every((v, i) => Math.abs(v - b[i]) <= 1e-15 * Math.abs(b[i]));
  t.ok(near(f, [1, 5e200, 5e-200]), 'factors: 1 for the dead unit, else the norm (no overflow or underflow)');
  t.ok(near(l.win, [0, 0, 0.6, 0.8, 0.6, 0]));
  t.ok(near(l.bin, [0, 0, 0.8]));
  t.ok(near(l.wout, [7, 5e200, 5e-200]));
});

t.test('fixSignSync preserves a tanh layer pair, makes the key entry positive, and is idempotent', async (t) => {
  const rng = createRng(22);
  const l = randomLayer(rng, 10, 4, 3, 2);
  const before = clone(l);
  const signs = fixSignSync(l);
  t.ok(signs.some((s) => s === -1) && signs.some((s) => s === 1), 'random layer has both signs');
  for (let u = 0; u < l.units; u++) {
    // reference key: largest |entry| of [win[u,:], bin[u]], lowest index on ties
    const entries = [...l.win.subarray(u * 4, u * 4 + 4), l.bin[u]];
    let k = 0;
    for (let i = 1; i < entries.length; i++) if (Math.abs(entries[i]) > Math.abs(entries[k])) k = i;
    t.ok(entries[k] > 0, `unit ${u} key entry is positive`);
    t.equal(l.bin[u], before.bin[u] * signs[u]);
  }
  for (let k = 0; k < 5; k++) {
    const x = randn(rng, 4 * 2);
    t.ok(maxRelDiff(forward(l, x, Math.tanh), forward(before, x, Math.tanh)) < 1e-12, 'same function');
  }
  const again = clone(l);
  t.ok(fixSignSync(again).every((s) => s === 1), 'second call flips nothing');
  t.same(again, l);
  // ties: |−2| = |2| → the lowest index (−2) is the key, so the unit flips; a zero unit does not
  const tie: LayerWeights = { win: new Float64Array([-2, 2, 0, 0]), bin: new Float64Array([1, 0]), wout: new Float64Array([3, 5]), units: 2, fanIn: 2, outRows: 1, block: 1 };
  t.same(Array.from(fixSignSync(tie)), [-1, 1]);
  t.same(Array.from(tie.win), [2, -2, 0, 0]);
  t.same(Array.from(tie.wout), [-3, 5]);
});

t.test('applyPermutationSync moves whole units and its inverse restores exactly', async (t) => {
  const rng = createRng(23);
  const l = randomLayer(rng, 7, 3, 4, 5);
  const before = clone(l);
  const perm = randomPerm(rng, 7);
  applyPermutationSync(l, perm);
  for (let i = 0; i < 7; i++) {
    const p = perm[i];
    t.same(l.win.subarray(i * 3, i * 3 + 3), before.win.subarray(p * 3, p * 3 + 3));
    t.equal(l.bin[i], before.bin[p]);
    for (let o = 0; o < 4; o++)
      t.same(l.wout.subarray((o * 7 + i) * 5, (o * 7 + i + 1) * 5), before.wout.subarray((o * 7 + p) * 5, (o * 7 + p + 1) * 5));
  }
  const x = randn(rng, 3 * 5);
  t.ok(maxRelDiff(forward(l, x, relu), forward(before, x, relu)) < 1e-12, 'permuting units preserves the function');
  applyPermutationSync(l, inverse(perm));
  t.same(l, before, 'inverse restores bit for bit');
});

t.test('permuteUnitAxisSync is the input side of applyPermutationSync', async (t) => {
  const rng = createRng(24);
  const l = randomLayer(rng, 6, 2, 3, 4);
  const nextWeights = l.wout.slice(); // the next layer's weight kept as a separate array
  const perm = randomPerm(rng, 6);
  applyPermutationSync(l, perm);
  permuteUnitAxisSync(nextWeights, 3, 6, 4, perm);
  t.same(nextWeights, l.wout);
  permuteUnitAxisSync(nextWeights, 3, 6, 4, inverse(perm));
  permuteUnitAxisSync(l.wout, 3, 6, 4, inverse(perm));
  t.same(nextWeights, l.wout);
});

t.test('permuteUnitAxisSync (in place, cycle by cycle) equals new[r, i, :] = old[r, perm[i], :]', async (t) => {
  const rng = createRng(34);
  const n = 9;
  const perms: Array<[string, number[]]> = [
    ['identity', [0, 1, 2, 3, 4, 5, 6, 7, 8]],
    ['one cycle through every unit', [1, 2, 3, 4, 5, 6, 7, 8, 0]],
    ['transpositions and fixed points', [1, 0, 2, 4, 3, 5, 8, 7, 6]],
    ['cycles of 3 and 4, two fixed points', [2, 0, 1, 6, 3, 4, 5, 7, 8]],
    ['random', Array.from(randomPerm(rng, n))],
  ];
  for (const [what, p] of perms) {
    const perm = Int32Array.from(p);
    for (const [rows, block] of [[1, 1], [3, 4], [2, 1]]) {
      const data = randn(rng, rows * n * block);
      const expected = new Float64Array(data.length);
      for (let r = 0; r < rows; r++) for (let i = 0; i < n; i++) for (let k = 0; k < block; k++) expected[(r * n + i) * block + k] = data[(r * n + perm[i]) * block + k];
      permuteUnitAxisSync(data, rows, n, block, perm);
      t.same(data, expected, `${what}, ${rows} × ${n} × ${block}`);
    }
  }
  const one = Float64Array.from([5, 6]);
  permuteUnitAxisSync(one, 1, 1, 2, Int32Array.from([0]));
  t.same(Array.from(one), [5, 6], 'one unit');
  permuteUnitAxisSync(new Float64Array(0), 4, 0, 3, new Int32Array(0));
});

t.test('sortPermutationSync: descending keys, stable ties, and a permuted layer has the same canonical form', async (t) => {
  const rng = createRng(25);
  const keyOf: Record<SortKey, (l: LayerWeights, u: number) => number> = {
    'out-norm': (l, u) => {
      let s = 0;
      for (let o = 0; o < l.outRows; o++) for (let p = 0; p < l.block; p++) s += l.wout[(o * l.units + u) * l.block + p] ** 2;
      return Math.sqrt(s);
    },
    bias: (l, u) => l.bin[u],
    'in-l1': (l, u) => l.win.subarray(u * l.fanIn, (u + 1) * l.fanIn).reduce((s, v) => s + Math.abs(v), 0),
    'first-weight': (l, u) => l.win[u * l.fanIn],
  };
  // SORT_KEYS (the one list the addon's sortKeys/sortPermutation type also uses) is exactly the
  // keys with a reference here: a key added to one and not the other fails.
  t.same([...SORT_KEYS].sort(), Object.keys(keyOf).sort(), 'SORT_KEYS lists every key the reference knows');
  for (const key of SORT_KEYS) {
    const a = randomLayer(rng, 9, 3, 2, 2);
    normalizeScaleSync(a);
    const b = clone(a);
    applyPermutationSync(b, randomPerm(rng, 9));
    const pa = sortPermutationSync(a, key);
    const ref = Array.from({ length: 9 }, (_, i) => i).sort((i, j) => keyOf[key](a, j) - keyOf[key](a, i) || i - j);
    t.same(Array.from(pa), ref, `${key}: matches a reference stable descending sort`);
    const keysRef = Array.from({ length: 9 }, (_, u) => keyOf[key](a, u));
    t.ok(sortKeysSync(a, key).every((k, u) => Math.abs(k - keysRef[u]) <= 1e-12 * Math.max(1, Math.abs(keysRef[u]))), `${key}: sortKeysSync`);
    applyPermutationSync(a, pa);
    applyPermutationSync(b, sortPermutationSync(b, key));
    t.same(b, a, `${key}: canonical forms agree exactly`);
  }
  const ties: LayerWeights = { win: new Float64Array(0), bin: new Float64Array([1, 2, 1, 2, -0, 0]), wout: new Float64Array([1, 1, 3, 3, 2, 2]), units: 6, fanIn: 0, outRows: 1, block: 1 };
  t.same(Array.from(sortPermutationSync(ties, 'bias')), [1, 3, 0, 2, 4, 5], 'equal keys keep their original order (−0 = +0)');
  t.same(Array.from(sortPermutationSync(ties)), [2, 3, 4, 5, 0, 1], 'default key is out-norm');
  t.same(Array.from(sortPermutationSync(ties, 'first-weight')), [0, 1, 2, 3, 4, 5], 'fanIn 0: first-weight is 0 for all');
});

/** Naive triple loop, float64. */
function naiveSimilarity(a: LayerWeights, b: LayerWeights): Float64Array {
  const C = new Float64Array(a.units * b.units);
  for (let i = 0; i < a.units; i++)
    for (let j = 0; j < b.units; j++) {
      let s = 0;
      for (let f = 0; f < a.fanIn; f++) s += a.win[i * a.fanIn + f] * b.win[j * a.fanIn + f];
      s += a.bin[i] * b.bin[j];
      for (let o = 0; o < a.outRows; o++)
        for (let p = 0; p < a.block; p++) s += a.wout[(o * a.units + i) * a.block + p] * b.wout[(o * b.units + j) * a.block + p];
      C[i * b.units + j] = s;
    }
  return C;
}

t.test('matchingSimilaritySync equals a naive triple loop', async (t) => {
  const rng = createRng(26);
  // small and odd shapes (edge tiles), then one large enough to be multithreaded
  for (const [ua, ub, fanIn, outRows, block] of [[1, 1, 1, 1, 1], [5, 7, 3, 2, 3], [13, 13, 17, 9, 1], [9, 4, 0, 0, 1], [160, 160, 300, 40, 3]]) {
    const a = randomLayer(rng, ua, fanIn, outRows, block);
    const b = randomLayer(rng, ub, fanIn, outRows, block);
    const C = matchingSimilaritySync(a, b);
    t.equal(C.length, ua * ub);
    t.ok(maxRelDiff(C, naiveSimilarity(a, b)) < 1e-12, `${ua}×${ub}, D = ${fanIn + 1 + outRows * block}`);
  }
  const a = randomLayer(rng, 6, 4, 3, 2);
  t.same(matchingSimilaritySync(a, a), matchingSimilaritySync(a, a), 'deterministic');
  const empty = randomLayer(rng, 0, 4, 3, 2);
  t.equal(matchingSimilaritySync(empty, a).length, 0);
});

t.test('matchingSimilarity: every SIMD path equals the naive loop bit for bit', async (t) => {
  const rng = createRng(29);
  // odd shapes exercise the partial tiles of every panel width; zeros in A only. The last two
  // cross every block boundary of the kernel: depth > 256, rows > 144, columns > 2048, and
  // rows > 252 on one thread (a thread's C buffer holds at most 252 rows of 2048 columns).
  for (const [ua, ub, fanIn, outRows, block] of [[3, 5, 7, 2, 1], [17, 19, 33, 3, 3], [70, 45, 300, 3, 3], [150, 2060, 258, 2, 3], [301, 2057, 5, 1, 3]]) {
    const a = randomLayer(rng, ua, fanIn, outRows, block);
    const b = randomLayer(rng, ub, fanIn, outRows, block);
    a.win.fill(0, 0, a.win.length >> 1);
    const ref = naiveSimilarity(a, b);
    for (const isa of capabilities().supported) {
      t.same(matchingSimilaritySync(a, b, { isa }), ref, `${isa} ${ua}×${ub}`);
      t.same(matchingSimilaritySync(a, b, { isa, threads: 1 }), ref, `${isa} ${ua}×${ub}, one thread`);
    }
  }
  t.throws(() => matchingSimilaritySync(randomLayer(rng, 2, 2, 1, 1), randomLayer(rng, 2, 2, 1, 1), { isa: 'mmx' as never }), {
    code: 'INVALID_ARGUMENT',
    message: /isa 'mmx' is not supported/,
  });
});

t.test('matchingSimilarity equals the sync result and rejects bad input', async (t) => {
  const rng = createRng(31);
  const a = randomLayer(rng, 150, 200, 30, 2);
  const b = randomLayer(rng, 120, 200, 30, 2);
  const sync = matchingSimilaritySync(a, b);
  const pending = [matchingSimilarity(a, b), matchingSimilarity(a, b, { isa: 'scalar' })];
  for (const r of await Promise.all(pending)) t.same(r, sync);
  // 150 x 120 x 261 is large enough to be split over threads: any count gives the same bits.
  for (const threads of [1, 2, 3]) t.same(matchingSimilaritySync(a, b, { threads }), sync, `threads: ${threads}`);
  t.same(await matchingSimilarity(a, b, { threads: 1 }), sync, 'threads: 1, async');
  t.throws(() => matchingSimilaritySync(a, b, { threads: 0 }), { code: 'INVALID_ARGUMENT', message: /matchingSimilarity: threads must be an integer >= 1, got 0/ });
  t.equal((await matchingSimilarity(randomLayer(rng, 0, 3, 1, 1), randomLayer(rng, 2, 3, 1, 1))).length, 0);
  const nan = randomLayer(rng, 3, 2, 2, 1);
  nan.wout[5] = NaN;
  await t.rejects(matchingSimilarity(randomLayer(rng, 3, 2, 2, 1), nan), {
    name: 'ModeldiffError',
    code: 'INVALID_ARGUMENT',
    message: /matchingSimilarity: b\.wout\[5\] is NaN/,
  });
  await t.rejects(matchingSimilarity(a, randomLayer(rng, 3, 2, 30, 2)), { code: 'INVALID_ARGUMENT', message: /a\.fanIn \(200\) differs/ });
  await t.rejects(matchingSimilarity(a, b, { isa: 'sse9' as never }), { code: 'INVALID_ARGUMENT', message: /isa 'sse9'/ });
});

t.test('matchingSimilaritySync writes into a given out buffer, reused across shapes', async (t) => {
  const rng = createRng(33);
  const out = new Float64Array(13 * 11).fill(NaN);
  const a = randomLayer(rng, 13, 17, 9, 2);
  const b = randomLayer(rng, 11, 17, 9, 2);
  const C = matchingSimilaritySync(a, b, { out });
  t.equal(C, out, 'the result is the buffer given');
  t.ok(maxRelDiff(out, naiveSimilarity(a, b)) < 1e-12, 'the naive loop');
  t.same(out, matchingSimilaritySync(a, b), 'equal to a fresh result, bit for bit');
  // A smaller group through a view of the same memory: every entry is overwritten.
  const small = [randomLayer(rng, 5, 3, 2, 1), randomLayer(rng, 5, 3, 2, 1)];
  const view = out.subarray(0, 25).fill(NaN);
  t.equal(matchingSimilaritySync(small[0], small[1], { out: view }), view);
  t.ok(maxRelDiff(view, naiveSimilarity(small[0], small[1])) < 1e-12, 'no entry left from before');
  t.same(view, matchingSimilaritySync(small[0], small[1]));
  t.equal(await matchingSimilarity(a, b, { out }), out, 'the async form too');
  t.same(out, C);
  const err = (message: RegExp) => ({ name: 'ModeldiffError', code: 'INVALID_ARGUMENT', option: 'out', message });
  t.throws(() => matchingSimilaritySync(a, b, { out: new Float64Array(13 * 11 - 1) }), err(/^matchingSimilarity: out has 142 elements, expected a\.units × b\.units = 13 × 11 = 143$/));
  t.throws(() => matchingSimilaritySync(a, b, { out: new Float32Array(143) as never }), err(/out must be a Float64Array of a\.units × b\.units = 143 elements/));
  await t.rejects(matchingSimilarity(a, b, { out: new Float64Array(1) }), err(/^matchingSimilarity: out has 1 elements/));
});

t.test('weight matching recovers a permutation of the hidden units', async (t) => {
  const rng = createRng(27);
  const a = randomLayer(rng, 32, 10, 6, 1);
  const b = clone(a);
  const perm = randomPerm(rng, 32);
  applyPermutationSync(b, perm);
  const { rowToCol } = linearSumAssignmentSync(matchingSimilaritySync(a, b), 32, 32, { maximize: true });
  t.same(rowToCol, inverse(perm), 'unit i of A matches unit inverse(perm)[i] of B');
});

t.test('bad layers are ModeldiffErrors naming the argument', async (t) => {
  const rng = createRng(28);
  const good = () => randomLayer(rng, 3, 2, 2, 1);
  const err = (message: RegExp) => ({ name: 'ModeldiffError', code: 'INVALID_ARGUMENT', message });
  t.throws(() => normalizeScaleSync({ ...good(), win: new Float64Array(5) }), err(/normalizeScaleSync: layer\.win has 5 elements, expected 6/));
  t.throws(() => fixSignSync({ ...good(), bin: new Float64Array(2) }), err(/fixSignSync: layer\.bin has 2 elements, expected 3/));
  t.throws(() => sortPermutationSync({ ...good(), wout: [1, 2] as unknown as Float64Array }), err(/layer\.wout must be a Float64Array/));
  t.throws(() => normalizeScaleSync({ ...good(), units: -1 }), err(/layer\.units must be a non-negative integer/));
  t.throws(() => normalizeScaleSync(null as unknown as LayerWeights), err(/layer must be a LayerWeights object/));
  t.throws(() => sortPermutationSync(good(), 'norm' as SortKey), err(/unknown key "norm"/));
  t.throws(() => sortPermutationSync(good(), 'constructor' as SortKey), err(/unknown key "constructor"/));
  t.throws(() => sortKeysSync(good(), 'nope' as SortKey), err(/sortKeysSync: unknown key "nope"/));
  t.throws(() => sortKeysSync({ ...good(), bin: new Float64Array(1) }), err(/sortKeysSync: layer\.bin has 1 elements/));
  t.same(sortKeysSync({ win: new Float64Array([3, -4]), bin: new Float64Array([2]), wout: new Float64Array([6, 8]), units: 1, fanIn: 2, outRows: 2, block: 1 }), new Float64Array([10]));
  const nan = good();
  nan.win[4] = NaN;
  t.throws(() => normalizeScaleSync(nan), err(/normalizeScaleSync: win\[4\] is NaN/));
  t.throws(() => fixSignSync(nan), err(/win\[4\] is NaN/));
  t.throws(() => sortPermutationSync(nan), err(/win\[4\] is NaN/));
  const inf = good();
  inf.wout[1] = -Infinity;
  t.throws(() => normalizeScaleSync(inf), err(/wout\[1\] is infinite/));
  t.throws(() => matchingSimilaritySync(good(), inf), err(/matchingSimilarity: b\.wout\[1\] is infinite/));
  const nanBias = good();
  nanBias.bin[2] = NaN;
  t.throws(() => matchingSimilaritySync(nanBias, good()), err(/a\.bin\[2\] is NaN/));
  // The check runs after the product (a bad input poisons its row or column of C): on both
  // threads of a large call, on an empty side, and not on finite inputs whose products overflow.
  const big = randomLayer(rng, 200, 150, 120, 1);
  big.wout[119 * 200 + 150] = NaN;
  t.throws(() => matchingSimilaritySync(randomLayer(rng, 200, 150, 120, 1), big), err(/b\.wout\[23950\] is NaN/));
  t.throws(() => matchingSimilaritySync({ ...nan, units: 0, win: new Float64Array(0), bin: new Float64Array(0), wout: new Float64Array(0) }, { ...nan }), err(/b\.win\[4\] is NaN/));
  const huge = (x: number): LayerWeights => ({ win: new Float64Array([x]), bin: new Float64Array([0]), wout: new Float64Array([0]), units: 1, fanIn: 1, outRows: 1, block: 1 });
  t.same(matchingSimilaritySync(huge(1e200), huge(-1e200)), new Float64Array([-Infinity]));
  t.throws(() => matchingSimilaritySync(good(), randomLayer(rng, 3, 3, 2, 1)), err(/a\.fanIn \(2\) differs from b\.fanIn \(3\)/));
  t.throws(() => matchingSimilaritySync(good(), { ...good(), win: new Float64Array(1) }), err(/b\.win has 1 elements/));
  t.throws(() => applyPermutationSync(good(), new Int32Array([0, 0, 1])), err(/perm is not a permutation of 0\.\.2 \(perm\[1\] = 0\)/));
  t.throws(() => applyPermutationSync(good(), new Int32Array([0, 1])), err(/perm has 2 entries, expected 3/));
  t.throws(() => applyPermutationSync(good(), [0, 1, 2] as unknown as Int32Array), err(/perm must be an Int32Array/));
  t.throws(() => permuteUnitAxisSync(new Float64Array(5), 1, 3, 2, new Int32Array([0, 1, 2])), err(/data has 5 elements, expected rows × units × block = 6/));
  t.throws(() => permuteUnitAxisSync(new Float64Array(6), 1, 3, 2, new Int32Array([0, 1, 3])), err(/perm\[2\] = 3/));
  t.throws(() => permuteUnitAxisSync(new Float64Array(6), 1.5, 3, 2, new Int32Array([0, 1, 2])), err(/rows must be a non-negative integer/));
  t.throws(() => permuteUnitAxisSync([] as unknown as Float64Array, 0, 0, 0, new Int32Array(0)), err(/data must be a Float64Array/));
});
