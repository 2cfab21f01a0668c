import t, { type Test } from 'tap';

import { capabilities } from '../lib/native';
import { createRng, type Rng } from '../lib/util/rng';
import {
  linearSumAssignment,
  linearSumAssignmentSync,
  type AssignmentMethod,
} from '../lib/weights/kernels';

// ---- independent float64 references ---------------------------------------

/** Best total over every injective map rows→cols (rows ≤ cols), skipping forbidden (non-finite) pairs. */
function bruteForce(cost: Float64Array, rows: number, cols: number, maximize: boolean): number {
  let best = maximize ? -Infinity : Infinity;
  const used = new Array<boolean>(cols).fill(false);
  const rec = (r: number, sum: number): void => {
    if (r === rows) {
      if (maximize ? sum > best : sum < best) best = sum;
      return;
    }
    for (let c = 0; c < cols; c++) {
      const x = cost[r * cols + c];
      if (used[c] || !Number.isFinite(x)) continue;
      used[c] = true;
      rec(r + 1, sum + x);
      used[c] = false;
    }
  };
  rec(0, 0);
  return best;
}

function transpose(a: Float64Array, rows: number, cols: number): Float64Array {
  const out = new Float64Array(a.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = a[r * cols + c];
  return out;
}

/** Classic O(n²m) Hungarian algorithm with potentials (rows ≤ cols), minimizing. */
function hungarian(cost: Float64Array, n: number, m: number): number {
  const u = new Float64Array(n + 1), v = new Float64Array(m + 1);
  const p = new Int32Array(m + 1), way = new Int32Array(m + 1);
  for (let i = 1; i <= n; i++) {
    p[0] = i;
    let j0 = 0;
    const minv = new Float64Array(m + 1).fill(Infinity);
    const used = new Uint8Array(m + 1);
    do {
      used[j0] = 1;
      const i0 = p[j0];
      let delta = Infinity, j1 = 0;
      for (let j = 1; j <= m; j++) {
        if (used[j]) continue;
        const cur = cost[(i0 - 1) * m + j - 1] - u[i0] - v[j];
        if (cur < minv[j]) { minv[j] = cur; way[j] = j0; }
        if (minv[j] < delta) { delta = minv[j]; j1 = j; }
      }
      for (let j = 0; j <= m; j++) {
        if (used[j]) { u[p[j]] += delta; v[j] -= delta; } else minv[j] -= delta;
      }
      j0 = j1;
    } while (p[j0] !== 0);
    do { const j1 = way[j0]; p[j0] = p[j1]; j0 = j1; } while (j0);
  }
  let total = 0;
  for (let j = 1; j <= m; j++) if (p[j]) total += cost[(p[j] - 1) * m + j - 1];
  return total;
}

function randomCost(rng: Rng, n: number, ints = false): Float64Array {
  const a = new Float64Array(n);
  for (let i = 0; i < n; i++) a[i] = ints ? rng.int(4) : rng.float() * 10 - 3;
  return a;
}

/** Checks the assignment is valid (distinct columns, min(rows, cols) assigned) and `total` is its cost. */
function checkValid(t: Test, cost: Float64Array, rows: number, cols: number, r: { rowToCol: Int32Array; total: number }) {
  t.equal(r.rowToCol.length, rows);
  const seen = new Set<number>();
  let sum = 0;
  for (let i = 0; i < rows; i++) {
    const c = r.rowToCol[i];
    if (c === -1) continue;
    if (c < 0 || c >= cols || seen.has(c)) return t.fail(`invalid assignment ${Array.from(r.rowToCol)}`);
    seen.add(c);
    sum += cost[i * cols + c];
  }
  t.equal(seen.size, Math.min(rows, cols), 'every row or every column is assigned');
  t.ok(Math.abs(sum - r.total) <= 1e-9 * Math.max(1, Math.abs(sum)), 'total is the cost of the assignment');
}

const close = (a: number, b: number) => Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b));
const methods: AssignmentMethod[] = ['auto', 'lapjv', 'shortest-path'];

// ---- tests -------------------------------------------------------------------

t.test('square matrices n ≤ 8 equal brute force (minimize and maximize, both solvers)', async (t) => {
  const rng = createRng(11);
  let mismatches = 0, checks = 0;
  for (let n = 1; n <= 8; n++) {
    const trials = n <= 6 ? 30 : 4;
    for (let k = 0; k < trials; k++) {
      const cost = randomCost(rng, n * n, k % 2 === 1); // odd trials: small integers, many ties
      for (const maximize of [false, true]) {
        const ref = bruteForce(cost, n, n, maximize);
        for (const method of methods) {
          const r = linearSumAssignmentSync(cost, n, n, { maximize, method });
          checks++;
          if (!close(r.total, ref)) mismatches++;
          if (k === 0) checkValid(t, cost, n, n, r);
        }
      }
    }
  }
  t.equal(mismatches, 0, `all ${checks} optima equal the brute-force optimum`);
});

t.test('rectangular matrices, both orientations, equal brute force', async (t) => {
  const rng = createRng(12);
  let mismatches = 0;
  for (const [rows, cols] of [[1, 5], [2, 7], [3, 5], [4, 7], [5, 6], [6, 8], [5, 1], [7, 2], [5, 3], [7, 4], [6, 5], [8, 6]]) {
    for (let k = 0; k < 6; k++) {
      const cost = randomCost(rng, rows * cols, k % 2 === 1);
      for (const maximize of [false, true]) {
        const ref = rows <= cols ? bruteForce(cost, rows, cols, maximize) : bruteForce(transpose(cost, rows, cols), cols, rows, maximize);
        const r = linearSumAssignmentSync(cost, rows, cols, { maximize });
        if (!close(r.total, ref)) mismatches++;
        if (k < 2) checkValid(t, cost, rows, cols, r);
        if (rows > cols) t.equal(r.rowToCol.filter((c) => c === -1).length, rows - cols, 'surplus rows get -1');
      }
    }
  }
  t.equal(mismatches, 0);
});

t.test('random 200×200 and 120×200 equal an O(n³) Hungarian reference', async (t) => {
  const rng = createRng(13);
  for (const [rows, cols] of [[200, 200], [120, 200]]) {
    const cost = randomCost(rng, rows * cols);
    const ref = hungarian(cost, rows, cols);
    for (const method of methods) {
      const r = linearSumAssignmentSync(cost, rows, cols, { method });
      t.ok(close(r.total, ref), `${rows}×${cols} ${method}: ${r.total} vs ${ref}`);
      checkValid(t, cost, rows, cols, r);
    }
    const neg = cost.map((x) => -x);
    const rmax = linearSumAssignmentSync(neg, rows, cols, { maximize: true });
    t.ok(close(rmax.total, -ref), 'maximizing −C gives −(min of C)');
  }
  // tie-heavy integer costs and a structured (rank-one) matrix
  const ints = randomCost(rng, 150 * 150, true);
  const prod = Float64Array.from({ length: 150 * 150 }, (_, k) => Math.floor(k / 150) * (k % 150));
  for (const [name, cost] of [['integers 0..3', ints], ['i·j', prod]] as const) {
    const ref = hungarian(cost, 150, 150);
    for (const method of methods) t.ok(close(linearSumAssignmentSync(cost, 150, 150, { method }).total, ref), `${name} ${method}`);
  }
});

t.test('a constant matrix gives the identity; ties are deterministic', async (t) => {
  for (const method of methods) {
    for (const maximize of [false, true]) {
      const r = linearSumAssignmentSync(new Float64Array(36).fill(2.5), 6, 6, { method, maximize });
      t.same(Array.from(r.rowToCol), [0, 1, 2, 3, 4, 5], `${method} maximize=${maximize}`);
      t.equal(r.total, 15);
    }
  }
  t.same(Array.from(linearSumAssignmentSync(new Float64Array(12), 3, 4).rowToCol), [0, 1, 2]);
  t.same(Array.from(linearSumAssignmentSync(new Float64Array(12), 4, 3).rowToCol), [0, 1, 2, -1]);
  const rng = createRng(14);
  const ties = randomCost(rng, 50 * 50, true);
  const first = linearSumAssignmentSync(ties, 50, 50).rowToCol;
  for (let k = 0; k < 3; k++) t.same(linearSumAssignmentSync(ties, 50, 50).rowToCol, first, 'same input, same answer');
});

t.test('async agrees with sync', async (t) => {
  const rng = createRng(15);
  for (const [rows, cols] of [[64, 64], [30, 50], [50, 30]]) {
    const cost = randomCost(rng, rows * cols);
    for (const maximize of [false, true]) {
      const s = linearSumAssignmentSync(cost, rows, cols, { maximize });
      const a = await linearSumAssignment(cost, rows, cols, { maximize });
      t.same(a.rowToCol, s.rowToCol);
      t.equal(a.total, s.total);
    }
  }
  // a view into a larger buffer (non-zero byteOffset) is read at its offset
  const view = new Float64Array([9, 9, 4, 1, 3, 2, 0, 5, 3, 2, 2]).subarray(2);
  t.same(linearSumAssignmentSync(view, 3, 3), { rowToCol: new Int32Array([1, 0, 2]), total: 5 });
  t.same(await linearSumAssignment(view, 3, 3), { rowToCol: new Int32Array([1, 0, 2]), total: 5 });
  const pending = [1, 2, 3].map(() => linearSumAssignment(new Float64Array([4, 1, 3, 2, 0, 5, 3, 2, 2]), 3, 3));
  for (const r of await Promise.all(pending)) t.same(Array.from(r.rowToCol), [1, 0, 2]);
});

t.test('empty matrices', async (t) => {
  t.same(linearSumAssignmentSync(new Float64Array(0), 0, 0), { rowToCol: new Int32Array(0), total: 0 });
  t.same(Array.from(linearSumAssignmentSync(new Float64Array(0), 3, 0).rowToCol), [-1, -1, -1]);
  t.equal((await linearSumAssignment(new Float64Array(0), 0, 4)).rowToCol.length, 0);
});

t.test('forbidden pairs: +Infinity when minimizing, -Infinity when maximizing', async (t) => {
  const rng = createRng(16);
  let mismatches = 0;
  for (let k = 0; k < 40; k++) {
    const [rows, cols] = k % 2 ? [5, 5] : [4, 6];
    const cost = randomCost(rng, rows * cols);
    for (let i = 0; i < cost.length; i++) if (rng.float() < 0.3) cost[i] = Infinity;
    const ref = bruteForce(cost, rows, cols, false);
    if (ref === Infinity) {
      for (const method of methods)
        t.throws(() => linearSumAssignmentSync(cost, rows, cols, { method }), { code: 'INVALID_ARGUMENT', message: /infeasible/ });
      continue;
    }
    for (const method of methods) {
      const r = linearSumAssignmentSync(cost, rows, cols, { method });
      if (!close(r.total, ref)) mismatches++;
      const rmax = linearSumAssignmentSync(cost.map((x) => -x), rows, cols, { maximize: true, method });
      if (!close(rmax.total, -ref)) mismatches++;
    }
  }
  t.equal(mismatches, 0);
  await t.rejects(linearSumAssignment(new Float64Array([Infinity, Infinity, 1, 2]), 2, 2), { code: 'INVALID_ARGUMENT', message: /infeasible/ });
});

t.test('every SIMD path gives the scalar path\'s assignment, bit for bit', async (t) => {
  const rng = createRng(17);
  const isas = capabilities().supported;
  t.ok(isas.includes('scalar'));
  // Sizes with and without a vector tail; continuous costs, integer costs
  // (many ties), zeros in one half only, and maximization (negated copy).
  for (const n of [1, 3, 8, 13, 64, 101, 256]) {
    for (const kind of ['uniform', 'ints', 'half-zero'] as const) {
      const cost = randomCost(rng, n * n, kind === 'ints');
      if (kind === 'half-zero') for (let i = 0; i < cost.length / 2; i++) cost[i] = 0;
      for (const maximize of [false, true]) {
        const ref = linearSumAssignmentSync(cost, n, n, { maximize, isa: 'scalar' });
        for (const isa of isas) {
          const r = linearSumAssignmentSync(cost, n, n, { maximize, isa });
          if (!(r.total === ref.total && r.rowToCol.every((c, i) => c === ref.rowToCol[i])))
            t.fail(`${isa} differs from scalar at n=${n} ${kind} maximize=${maximize}`);
        }
      }
    }
  }
  // rectangular (both orientations) and forbidden entries take the no-initialization path
  for (const [rows, cols] of [[5, 9], [9, 5], [40, 67], [67, 40]]) {
    const cost = randomCost(rng, rows * cols, rows % 2 === 1);
    for (let i = 0; i < cost.length; i += 7) cost[i] = Infinity;
    const ref = linearSumAssignmentSync(cost, rows, cols, { isa: 'scalar' });
    for (const isa of isas) t.same(linearSumAssignmentSync(cost, rows, cols, { isa }), ref, `${isa} ${rows}×${cols} with forbidden pairs`);
  }
  const big = randomCost(rng, 300 * 300);
  const ref = linearSumAssignmentSync(big, 300, 300, { isa: 'scalar' });
  t.ok(close(ref.total, hungarian(big, 300, 300)), 'the scalar path is optimal');
  for (const isa of isas) t.same(await linearSumAssignment(big, 300, 300, { isa }), ref, `${isa} (async) = scalar`);
  t.throws(() => linearSumAssignmentSync(big, 300, 300, { isa: 'neon-x' as never }), { code: 'INVALID_ARGUMENT', message: /isa 'neon-x' is not supported/ });
});

t.test('bad input is a ModeldiffError naming the argument', async (t) => {
  const nan = new Float64Array([1, 2, NaN, 4]);
  t.throws(() => linearSumAssignmentSync(nan, 2, 2), { name: 'ModeldiffError', code: 'INVALID_ARGUMENT', message: /cost\[1, 0\] is NaN/, input: 'cost', row: 1 });
  // The row is a field, counted in the matrix as given (a taller one is solved transposed).
  t.throws(() => linearSumAssignmentSync(new Float64Array([1, 2, 3, 4, NaN, 6]), 3, 2), { message: 'linearSumAssignment: cost[2, 0] is NaN', input: 'cost', row: 2 });
  await t.rejects(linearSumAssignment(nan, 2, 2), { name: 'ModeldiffError', code: 'INVALID_ARGUMENT', message: 'linearSumAssignment: cost[1, 0] is NaN', input: 'cost', row: 1 });
  t.throws(() => linearSumAssignmentSync(new Float64Array([1, -Infinity, 2, 3]), 2, 2), { message: /cost\[0, 1\] is -Infinity.*unbounded/, input: 'cost', row: 0 });
  t.throws(() => linearSumAssignmentSync(new Float64Array([1, Infinity, 2, 3]), 2, 2, { maximize: true }), { message: /\+Infinity.*maximum/ });
  t.throws(() => linearSumAssignmentSync(new Float64Array(5), 2, 3), { code: 'INVALID_ARGUMENT', message: /cost has 5 elements, expected rows × cols = 2 × 3 = 6/ });
  t.throws(() => linearSumAssignmentSync(new Float64Array(4), -2, -2), { message: /rows must be a non-negative integer/ });
  t.throws(() => linearSumAssignmentSync(new Float64Array(4), 2, 2.5), { message: /cols must be a non-negative integer/ });
  t.throws(() => linearSumAssignmentSync([1, 2, 3, 4] as unknown as Float64Array, 2, 2), { message: /cost must be a Float64Array/ });
  t.throws(() => linearSumAssignmentSync(new Float64Array(4), 2, 2, { method: 'greedy' as AssignmentMethod }), { message: /unknown method "greedy"/ });
  t.throws(() => linearSumAssignmentSync(new Float64Array(4), 2, 2, { method: 'toString' as AssignmentMethod }), { message: /unknown method "toString"/ });
  await t.rejects(linearSumAssignment(new Float64Array(3), 2, 2), { code: 'INVALID_ARGUMENT', message: /cost has 3 elements/ });
});
