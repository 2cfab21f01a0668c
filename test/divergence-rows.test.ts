// The row kernel's extras (top-k ids, the argmax, a target's log-probability and probability),
// computed in the same pass as the measures, against a float64 reference written here: a full
// stable sort for the top-k (not the kernel's threshold scan) and a textbook log-sum-exp.
import t from 'tap';

import {
  divergencePerSampleSync,
  divergenceRows,
  divergenceRowsSync,
  type OutputKind,
} from '../lib/function/divergence';
import type { Matrix } from '../lib/matrix';
import { tokenGrid } from '../lib/function/token-grid';
import { TokenAccumulator } from '../lib/function/token-summary';
import { capabilities } from '../lib/native';
import { createRng } from '../lib/util/rng';

const ISAS = capabilities().supported;

/** Class ids of a row by decreasing score, ties to the lower id (numpy's stable argsort of -x). */
function stableTop(x: ArrayLike<number>, k: number): number[] {
  const ids = Array.from({ length: x.length }, (_, i) => i);
  ids.sort((i, j) => (x[j]! > x[i]! ? 1 : x[j]! < x[i]! ? -1 : i - j));
  return ids.slice(0, k);
}

/** log p(target) of a logits row: (x_t − max) − log Σ exp(x_j − max), in float64. */
function logSoftmaxAt(x: ArrayLike<number>, target: number): number {
  let max = -Infinity;
  for (let j = 0; j < x.length; j++) max = Math.max(max, x[j]!);
  let s = 0;
  for (let j = 0; j < x.length; j++) s += Math.exp(x[j]! - max);
  return x[target]! - max - Math.log(s);
}

function row(x: Matrix, r: number): number[] {
  return Array.from(x.data.subarray(r * x.k, (r + 1) * x.k));
}

function close(got: number, want: number, rel: number): boolean {
  return Math.abs(got - want) <= rel * Math.max(1, Math.abs(want));
}

/** Checks every row's extras against the reference; returns the number of mismatches. */
function mismatches(a: Matrix, b: Matrix, kind: OutputKind, topk: number, targets: Int32Array, isa: string): string[] {
  const r = divergenceRowsSync(a, b, ['kl', 'js'], { topk, targets }, { outputs: kind, isa: isa as never, threads: 1 });
  const bad: string[] = [];
  [a, b].forEach((x, m) => {
    for (let i = 0; i < x.n; i++) {
      const xs = row(x, i);
      const scores = kind === 'sigmoid' ? [1 - xs[0]!, xs[0]!] : kind === 'sigmoid-logit' ? [0, xs[0]!] : xs;
      const want = stableTop(scores, topk);
      const got = Array.from(r.top![m].subarray(i * topk, (i + 1) * topk));
      if (want.join() !== got.join()) bad.push(`model ${m} row ${i} top ${got} != ${want}`);
      const tg = targets[i]!;
      const lp = r.targetLogProb![m][i]!;
      const p = r.targetProb![m][i]!;
      if (tg < 0) {
        if (!Number.isNaN(lp) || !Number.isNaN(p)) bad.push(`model ${m} row ${i}: no target but ${lp}, ${p}`);
        continue;
      }
      const wantLp = kind === 'logits' ? logSoftmaxAt(xs, tg) : kind === 'probs' ? Math.log(xs[tg]!) : Math.log(kind === 'sigmoid' ? scores[tg]! : 1 / (1 + Math.exp(tg === 1 ? -xs[0]! : xs[0]!)));
      if (!(lp === wantLp || close(lp, wantLp, 1e-13))) bad.push(`model ${m} row ${i}: log p ${lp} != ${wantLp}`);
      if (!close(p, Math.exp(wantLp), 1e-13)) bad.push(`model ${m} row ${i}: p ${p} != ${Math.exp(wantLp)}`);
    }
  });
  // The measures are the same numbers with or without the extras: identical on the row path
  // (k > 64), to rounding where the request without extras takes the lane-per-row batch path.
  const plain = divergencePerSampleSync(a, b, ['kl', 'js'], { outputs: kind, isa: isa as never, threads: 1 });
  const tol = a.k > 64 ? 0 : 1e-12;
  for (const m of ['kl', 'js'] as const) {
    for (let i = 0; i < a.n; i++) if (!close(r.values[m][i]!, plain[m][i]!, tol)) bad.push(`${m} row ${i} changed by the extras`);
  }
  return bad;
}

function randomLogits(n: number, k: number, seed: number, f32: boolean): Matrix {
  const rng = createRng(seed);
  const data = f32 ? new Float32Array(n * k) : new Float64Array(n * k);
  for (let i = 0; i < data.length; i++) data[i] = 3 * rng.normal();
  return { data, n, k };
}

function randomTargets(n: number, k: number, seed: number): Int32Array {
  const rng = createRng(seed);
  return Int32Array.from({ length: n }, (_, i) => (i % 5 === 4 ? -1 : rng.int(k)));
}

t.test('random logits: top-k, argmax and target log p / p against a float64 reference', async (t) => {
  // Class counts around and off the vector widths (2, 4, 8 doubles), and an LM-sized row.
  for (const isa of ISAS) {
    for (const [k, topk] of [[1, 1], [3, 2], [5, 5], [7, 3], [9, 1], [13, 5], [67, 5], [1001, 5], [4099, 10]] as const) {
      for (const f32 of [true, false]) {
        const n = k > 1000 ? 4 : 23;
        const a = randomLogits(n, k, 10 * k + 1, f32);
        const b = randomLogits(n, k, 10 * k + 2, f32);
        t.same(mismatches(a, b, 'logits', topk, randomTargets(n, k, k), isa), [], `${isa} k=${k} topk=${topk} ${f32 ? 'f32' : 'f64'}`);
      }
    }
  }
});

t.test('logits rows read in place give the same bits as rows normalized in a pass of their own', async (t) => {
  // Two inputs of one dtype take the in-place path (softmax kept unnormalized, the top-k from the
  // max pass, p and log p formed as the measures read them); a float64 copy of one side makes
  // the dtypes differ, which takes the widen + normalize path. Related models (b = a + noise)
  // so that both the series and the direct KL form, and both JS forms, are used.
  const measures = ['kl', 'kl-reverse', 'kl-symmetric', 'js', 'tv', 'hellinger', 'disagreement'] as const;
  for (const isa of ISAS) {
    for (const k of [67, 1001, 4099, 5003]) {
      const n = 6;
      const rng = createRng(k);
      const a = new Float32Array(n * k);
      const b = new Float32Array(n * k);
      for (let i = 0; i < a.length; i++) {
        a[i] = 3 * rng.normal();
        b[i] = a[i] + 0.05 * rng.normal();
      }
      for (let j = 0; j < k; j++) b[k + j] = a[k + j]; // one identical row: every measure exactly 0
      const A = { data: a, n, k };
      const targets = randomTargets(n, k, k + 1);
      for (const extras of [{ topk: 5, targets }, {}]) {
        const o = { outputs: 'logits' as const, isa, threads: 1 };
        const inPlace = divergenceRowsSync(A, { data: b, n, k }, [...measures], extras, o);
        const widened = divergenceRowsSync(A, { data: Float64Array.from(b), n, k }, [...measures], extras, o);
        const same = (x: ArrayLike<number>, y: ArrayLike<number>) => Array.from(x).every((v, i) => Object.is(v, y[i]));
        const off = measures.filter((m) => !same(inPlace.values[m], widened.values[m]));
        if (extras.topk) {
          for (const side of [0, 1]) {
            if (!same(inPlace.top![side], widened.top![side])) off.push(`top ${side}` as never);
            if (!same(inPlace.targetLogProb![side], widened.targetLogProb![side])) off.push(`log p ${side}` as never);
            if (!same(inPlace.targetProb![side], widened.targetProb![side])) off.push(`p ${side}` as never);
          }
        }
        t.same(off, [], `${isa} k=${k} ${extras.topk ? 'top-5 + targets' : 'measures only'}`);
        t.same(measures.map((m) => inPlace.values[m][1]), measures.map(() => 0), `${isa} k=${k}: identical rows give 0`);
      }
    }
  }
});

t.test('ties: the lower class id comes first, in top-k and argmax', async (t) => {
  const rng = createRng(5);
  const n = 40;
  for (const k of [6, 11, 33]) {
    // Integer logits in 0..3: every row has many ties, often at the top.
    const tie = (): Matrix => ({ data: Float64Array.from({ length: n * k }, () => rng.int(4)), n, k });
    for (const isa of ISAS) t.same(mismatches(tie(), tie(), 'logits', 4, randomTargets(n, k, 3), isa), [], `${isa} k=${k}`);
  }
  // A constant row: the top-k is 0, 1, ..., k-1.
  const flat: Matrix = { data: new Float64Array(2 * 9).fill(0.25), n: 2, k: 9 };
  for (const isa of ISAS) {
    const r = divergenceRowsSync(flat, flat, [], { topk: 9 }, { outputs: 'logits', isa });
    t.same(Array.from(r.top![0].subarray(0, 9)), [0, 1, 2, 3, 4, 5, 6, 7, 8], isa);
  }
});

t.test('very negative logits: p underflows to 0, log p stays exact', async (t) => {
  const k = 11;
  const data = new Float64Array(2 * k).fill(-1e300);
  data[3] = 0.5; // row 0: one finite-mass class
  // row 1: all equal, a tie everywhere
  const f32 = Float32Array.from(data, (v) => (v === -1e300 ? -3.4e38 : v));
  const targets = Int32Array.from([5, 7]);
  for (const isa of ISAS) {
    const r = divergenceRowsSync({ data, n: 2, k }, { data: f32, n: 2, k }, ['js'], { topk: 3, targets }, { outputs: 'logits', isa });
    // Row 0, class 5: log p = -1e300 - 0.5 - log(1 + 10 exp(-1e300 - 0.5)) = -1e300 (exactly, in float64).
    t.equal(r.targetLogProb![0][0], -1e300 - 0.5, `${isa}: float64 log p of an underflowing class`);
    t.equal(r.targetProb![0][0], 0, `${isa}: its p is 0`);
    t.equal(r.targetLogProb![1][0], Math.fround(-3.4e38) - 0.5, `${isa}: float32 input`);
    t.same(Array.from(r.top![0].subarray(0, 3)), [3, 0, 1], `${isa}: top-3, ties to the lower id`);
    // Row 1: uniform over 11 classes.
    t.ok(close(r.targetLogProb![0][1]!, -Math.log(k), 1e-15), `${isa}: uniform row`);
    t.same(Array.from(r.top![0].subarray(3, 6)), [0, 1, 2], `${isa}: uniform row top-3`);
  }
});

t.test('top-k counts around the floor of the set maxima (K up to 4 vectors and past them)', async (t) => {
  // The in-place logits path takes its top-k floor from the 4 accumulators' W lanes: K = W, 4W
  // and one past each, on rows with repeated values (ties must keep the lower id).
  for (const isa of ISAS) {
    for (const k of [17, 64, 300]) {
      for (const topk of [1, 2, 3, 4, 5, 8, 9, 16, 17, 32, 33].filter((x) => x <= k)) {
        const n = 7;
        const a = randomLogits(n, k, 7 * k + topk, true);
        for (let i = 0; i < a.data.length; i++) a.data[i] = Math.round(4 * a.data[i]) / 4; // many ties
        const b = randomLogits(n, k, 7 * k + topk + 1, true);
        t.same(mismatches(a, b, 'logits', topk, randomTargets(n, k, k), isa), [], `${isa} k=${k} topk=${topk}`);
      }
    }
  }
});

t.test('bad rows in several thread chunks: the first in order is named, for any thread count', async (t) => {
  // 3000 rows of 100 classes are ~5 chunks of ~630 rows dealt to the threads.
  const n = 3000;
  const k = 100;
  const a = randomLogits(n, k, 5, true);
  const b = randomLogits(n, k, 6, true);
  b.data[2900 * k + 3] = NaN;
  a.data[1900 * k + 7] = Infinity;
  b.data[1000 * k] = NaN;
  for (const threads of [1, 2, 4]) {
    t.throws(() => divergencePerSampleSync(a, b, ['kl'], { outputs: 'logits', threads }), { code: 'NON_FINITE', input: 'b', row: 1000 }, `threads ${threads}`);
    await t.rejects(divergenceRows(a, b, ['kl'], { topk: 3 }, { outputs: 'logits', threads }), { code: 'NON_FINITE', input: 'b', row: 1000 });
  }
  a.data[400 * k + 1] = NaN;
  await t.rejects(divergenceRows(a, b, ['js'], {}, { outputs: 'logits', threads: 2 }), { code: 'NON_FINITE', input: 'a', row: 400 });
});

t.test('non-finite logits are an error naming the input and row', async (t) => {
  const k = 5;
  const a = { data: new Float64Array(3 * k), n: 3, k };
  const b = { data: new Float64Array(3 * k), n: 3, k };
  b.data[2 * k + 1] = -Infinity;
  for (const isa of ISAS) {
    t.throws(() => divergenceRowsSync(a, b, [], { topk: 2 }, { outputs: 'logits', isa }), { code: 'NON_FINITE', input: 'b', row: 2 });
    t.throws(() => divergenceRowsSync(a, b, [], { targets: Int32Array.from([0, 0, 0]) }, { outputs: 'logits', isa }), { code: 'NON_FINITE', input: 'b', row: 2 });
  }
});

t.test('probabilities and the sigmoid kinds', async (t) => {
  const rng = createRng(9);
  const n = 17;
  for (const k of [4, 7, 10]) {
    const probs = (): Matrix => {
      const data = new Float64Array(n * k);
      for (let i = 0; i < n; i++) {
        let s = 0;
        for (let j = 0; j < k; j++) s += data[i * k + j] = j === i % k ? 0 : rng.float() < 0.2 ? 0.5 : rng.float();
        for (let j = 0; j < k; j++) data[i * k + j] /= s;
      }
      return { data, n, k };
    };
    // Targets at zero-probability classes too: log p = -Infinity, p = 0.
    const targets = Int32Array.from({ length: n }, (_, i) => (i % 3 === 0 ? i % k : i % 4 === 0 ? -1 : rng.int(k)));
    for (const isa of ISAS) t.same(mismatches(probs(), probs(), 'probs', 3, targets, isa), [], `${isa} probs k=${k}`);
  }
  const sig = (logit: boolean): Matrix => ({ data: Float64Array.from({ length: n }, (_, i) => (logit ? (i === 0 ? 0 : 4 * rng.normal()) : i === 0 ? 0.5 : rng.float())), n, k: 1 });
  const targets = Int32Array.from({ length: n }, (_, i) => (i % 4 === 0 ? -1 : i % 2));
  for (const isa of ISAS) {
    t.same(mismatches(sig(false), sig(false), 'sigmoid', 2, targets, isa), [], `${isa} sigmoid`);
    t.same(mismatches(sig(true), sig(true), 'sigmoid-logit', 1, targets, isa), [], `${isa} sigmoid-logit`);
  }
});

t.test('async, threads and the batch-sized rows give the same extras', async (t) => {
  const a = randomLogits(300, 12, 1, true);
  const b = randomLogits(300, 12, 2, true);
  const targets = randomTargets(300, 12, 3);
  const one = divergenceRowsSync(a, b, ['tv', 'disagreement'], { topk: 3, targets }, { outputs: 'logits', threads: 1 });
  const many = await divergenceRows(a, b, ['tv', 'disagreement'], { topk: 3, targets }, { outputs: 'logits', threads: 2 });
  t.same(many, one);
  // disagreement is the top-1 ids differing.
  for (let i = 0; i < 300; i++) if (one.values.disagreement[i] !== (one.top![0][3 * i] !== one.top![1][3 * i] ? 1 : 0)) t.fail(`row ${i}`);
  const batch = divergencePerSampleSync(a, b, ['tv'], { outputs: 'logits' }).tv;
  t.ok(batch.every((v, i) => close(v, one.values.tv[i]!, 1e-12)), 'the batch path (no extras) agrees to rounding');
});

t.test('a row selection reads the listed rows in place: the results of a gathered copy', async (t) => {
  // Rows out of order and repeated; targets stay indexed by input row. The row path (k > 64)
  // and the short rows that would otherwise take the lane-per-row batch path.
  const measures = ['kl', 'js', 'tv', 'disagreement'] as const;
  for (const k of [12, 1001]) {
    for (const f32 of [true, false]) {
      const n = 9;
      const a = randomLogits(n, k, k + 5, f32);
      const b = randomLogits(n, k, k + 6, f32);
      const targets = randomTargets(n, k, k + 7);
      const rows = Int32Array.from([7, 0, 3, 3, 8]);
      const gather = (x: Matrix): Matrix => {
        const data = f32 ? new Float32Array(rows.length * k) : new Float64Array(rows.length * k);
        rows.forEach((r, i) => data.set(x.data.subarray(r * k, (r + 1) * k), i * k));
        return { data, n: rows.length, k };
      };
      const o = { outputs: 'logits' as const, threads: 1 };
      const picked = divergenceRowsSync(a, b, [...measures], { topk: 3, targets, rows }, o);
      const copied = divergenceRowsSync(gather(a), gather(b), [...measures], { topk: 3, targets: Int32Array.from(rows, (r) => targets[r]!) }, o);
      t.same(picked, copied, `k=${k} ${f32 ? 'f32' : 'f64'}`);
      t.equal(picked.values.kl.length, rows.length, 'one value per listed row');
      const plain = divergenceRowsSync(a, b, ['kl'], { rows }, o);
      t.same(plain.values.kl, copied.values.kl, `k=${k} measures only`);
      const many = await divergenceRows(a, b, [...measures], { topk: 3, targets, rows }, { outputs: 'logits', threads: 2 });
      t.same(many, picked, `k=${k}: async, two threads`);
    }
  }
  // Errors name the input row, not its place in the list.
  const k = 5;
  const a = { data: new Float64Array(4 * k), n: 4, k };
  const b = { data: new Float64Array(4 * k), n: 4, k };
  b.data[3 * k] = NaN;
  t.throws(() => divergenceRowsSync(a, b, ['kl'], { rows: Int32Array.from([1, 3]) }, { outputs: 'logits' }), { code: 'NON_FINITE', input: 'b', row: 3 });
  t.same(divergenceRowsSync(a, b, ['kl'], { rows: Int32Array.from([0, 2]) }, { outputs: 'logits' }).values.kl, Float64Array.from([0, 0]), 'a bad row left out is not read');
  for (const bad of [-1, 4]) {
    t.throws(() => divergenceRowsSync(a, a, ['kl'], { rows: Int32Array.from([0, bad]) }, { outputs: 'logits' }), { code: 'INVALID_ARGUMENT', option: 'rows', message: /rows\[1\]/ });
  }
  t.throws(() => divergenceRowsSync(a, a, ['kl'], { rows: [0] as never }, { outputs: 'logits' }), { code: 'INVALID_ARGUMENT', option: 'rows' });
});

t.test('bad extras are refused naming the option', async (t) => {
  const a = randomLogits(2, 4, 1, false);
  const o = { outputs: 'logits' as const };
  t.throws(() => divergenceRowsSync(a, a, [], { topk: 0 }, o), { code: 'INVALID_ARGUMENT', option: 'topk' });
  t.throws(() => divergenceRowsSync(a, a, [], { topk: 5 }, o), { code: 'INVALID_ARGUMENT', option: 'topk', message: /\[1, 4\]/ });
  t.throws(() => divergenceRowsSync(a, a, [], { topk: 1.5 }, o), { code: 'INVALID_ARGUMENT', option: 'topk' });
  t.throws(() => divergenceRowsSync(a, a, [], { targets: new Int32Array(3) }, o), { code: 'SHAPE_MISMATCH', option: 'targets' });
  t.throws(() => divergenceRowsSync(a, a, [], { targets: Int32Array.from([0, 4]) }, o), { code: 'INVALID_ARGUMENT', option: 'targets', message: /row 1/ });
  t.throws(() => divergenceRowsSync(a, a, [], { targets: Int32Array.from([-2, 0]) }, o), { code: 'INVALID_ARGUMENT', option: 'targets', message: /row 0/ });
  const s = { data: new Float64Array([0.2, 0.7]), n: 2, k: 1 };
  t.throws(() => divergenceRowsSync(s, s, [], { topk: 3 }, { outputs: 'sigmoid' }), { message: /\[1, 2\]/ });
  t.throws(() => divergenceRowsSync(a, a, [], {}, o), { code: 'INVALID_ARGUMENT', message: /at least one measure/ });
});

t.test('token summaries read the kernel extras: probability outputs, top-k overlap', async (t) => {
  // 2 sequences × 3 positions × 4 classes of probabilities; position 2 of sequence 1 masked.
  const rng = createRng(21);
  const n = 2, P = 3, V = 4;
  const probs = () => {
    const data = new Float64Array(n * P * V);
    for (let r = 0; r < n * P; r++) {
      let s = 0;
      for (let j = 0; j < V; j++) s += data[r * V + j] = 0.1 + rng.float();
      for (let j = 0; j < V; j++) data[r * V + j] /= s;
    }
    return data;
  };
  const a = probs();
  const b = probs();
  const mask = Uint8Array.from([1, 1, 1, 1, 1, 0]);
  const targets = Int32Array.from([2, 0, -1, 3, 1, 2]);
  const acc = new TokenAccumulator({ n, grid: tokenGrid([P, V], undefined, 'x'), measures: ['tv'], divergence: { outputs: 'probs' }, mask, targets, topk: 2 });
  await acc.add(0, n, a, b);
  const { summary } = await acc.summarize({ replicates: 50, seed: 1 });
  // Cross-entropy of probabilities is the mean −log p(target) over the counted rows with a target.
  const scored = [0, 1, 3, 4];
  const ce = (x: Float64Array) => scored.reduce((s, r) => s - Math.log(x[r * V + targets[r]!]!), 0) / scored.length;
  t.ok(close(summary.next!.crossEntropy[0], ce(a), 1e-14), 'cross-entropy of A');
  t.ok(close(summary.next!.crossEntropy[1], ce(b), 1e-14), 'cross-entropy of B');
  const counted = [0, 1, 2, 3, 4];
  const top = (x: Float64Array, r: number, k: number) => stableTop(x.subarray(r * V, (r + 1) * V), k);
  const agree = counted.filter((r) => top(a, r, 1)[0] === top(b, r, 1)[0]).length / counted.length;
  const overlap = counted.reduce((s, r) => s + top(a, r, 2).filter((id) => top(b, r, 2).includes(id)).length / 2, 0) / counted.length;
  t.ok(close(summary.top1Agreement.value, agree, 1e-15), 'top-1 agreement');
  t.ok(close(summary.topkOverlap!.value, overlap, 1e-15), 'top-2 overlap');
  t.equal(summary.topkOverlap!.k, 2);
  // k at least the 4 classes: both top-k's hold every class, the overlap is 1 whatever A and B
  // are, so it is left out rather than reported as 100%.
  for (const topk of [4, 9]) {
    const all = new TokenAccumulator({ n, grid: tokenGrid([P, V], undefined, 'x'), measures: ['tv'], divergence: { outputs: 'probs' }, mask, topk });
    await all.add(0, n, a, b);
    const wide = (await all.summarize({ replicates: 50, seed: 1 })).summary;
    t.equal(wide.topkOverlap, undefined, `top-${topk} of ${V} classes: no overlap`);
    t.ok(close(wide.top1Agreement.value, agree, 1e-15), `top-${topk}: top-1 agreement still there`);
  }
});

t.test('token summaries: a masked row is never read; a bad counted row is named by sequence and position', async (t) => {
  // 3 sequences × 4 positions × 6 classes, added one sequence at a time (the kernel reads the
  // counted rows by index); NaN at a masked position is skipped, at a counted one it is an error.
  const n = 3, P = 4, V = 6;
  const rng = createRng(33);
  const a = Float64Array.from({ length: n * P * V }, () => rng.normal());
  const b = Float64Array.from({ length: n * P * V }, () => rng.normal());
  const mask = Uint8Array.from([1, 1, 1, 0, 1, 1, 0, 0, 1, 1, 1, 1]);
  const per = P * V;
  const accumulate = async (x: Float64Array) => {
    const acc = new TokenAccumulator({ n, grid: tokenGrid([P, V], undefined, 'x'), measures: ['kl'], divergence: { outputs: 'logits' }, mask });
    for (let s = 0; s < n; s++) await acc.add(s, 1, x.subarray(s * per, (s + 1) * per), b.subarray(s * per, (s + 1) * per));
    return acc;
  };
  const masked = Float64Array.from(a);
  masked[(1 * P + 2) * V + 4] = NaN; // sequence 1, position 2: masked
  const acc = await accumulate(masked);
  const kl = acc.perToken().kl!;
  t.equal(kl.length, 9, 'nine counted tokens');
  const index = acc.perTokenIndex();
  t.same(Array.from(index.sequence), [0, 0, 0, 1, 1, 2, 2, 2, 2]);
  t.same(Array.from(index.position), [0, 1, 2, 0, 1, 0, 1, 2, 3]);
  // Each token's KL against a float64 log-softmax reference.
  const logSoftmax = (x: Float64Array, off: number) => {
    let max = -Infinity;
    for (let j = 0; j < V; j++) max = Math.max(max, x[off + j]!);
    let s = 0;
    for (let j = 0; j < V; j++) s += Math.exp(x[off + j]! - max);
    return Array.from({ length: V }, (_, j) => x[off + j]! - max - Math.log(s));
  };
  for (let i = 0; i < kl.length; i++) {
    const off = (index.sequence[i]! * P + index.position[i]!) * V;
    const lp = logSoftmax(a, off);
    const lq = logSoftmax(b, off);
    const want = lp.reduce((sum, l, j) => sum + Math.exp(l) * (l - lq[j]!), 0);
    t.ok(close(kl[i]!, want, 1e-12), `token ${i}: ${kl[i]} vs ${want}`);
  }
  // One call for all three sequences: three masked rows come before the bad one in the batch.
  const counted = Float64Array.from(a);
  counted[(2 * P + 3) * V + 1] = NaN; // sequence 2, position 3: counted
  const whole = new TokenAccumulator({ n, grid: tokenGrid([P, V], undefined, 'x'), measures: ['kl'], divergence: { outputs: 'logits' }, mask });
  await t.rejects(whole.add(0, n, counted, b), { code: 'NON_FINITE', message: /sequence 2, position 3/ });
});
