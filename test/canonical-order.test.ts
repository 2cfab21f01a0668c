/**
 * canonicalOrder's ties (lib/weights/canonical-order.ts): units equal on the primary key are
 * ordered by bias, incoming L1, outgoing L1, largest outgoing magnitude, then the incoming
 * weights one by one — each level read only when a tie reaches it. Hand-built layers whose
 * units differ first at a chosen level, so every level is checked against a hand-derived order.
 */
import t from 'tap';

import { canonicalOrder } from '../lib/weights/canonical-order';
import type { LayerWeights } from '../lib/weights/kernels';

t.test('secondary keys break ties level by level, in descending order', async (t) => {
  // 5 units, 2 inputs each, 2 outgoing rows; biases all 1 and |win| rows all of L1 norm 1.
  // Outgoing columns (unit u's entries wout[o*5+u]): L1 and max per unit:
  //   u0 [1, 1]      L1 2, max 1
  //   u1 [3, 0]      L1 3, max 3    -> first by outgoing L1
  //   u2 [2, 0]      L1 2, max 2    -> then by max: u2, u3, {u0, u4}
  //   u3 [0.5, 1.5]  L1 2, max 1.5
  //   u4 [1, 1]      L1 2, max 1    -> u0 and u4 tie to here; win[u, 0]: u0 1 > u4 0
  const cols = [[1, 1], [3, 0], [2, 0], [0.5, 1.5], [1, 1]];
  const wout = new Float64Array(10);
  cols.forEach(([r0, r1], u) => {
    wout[u] = r0;
    wout[5 + u] = r1;
  });
  const view: LayerWeights = { win: new Float64Array([1, 0, 0, 1, 1, 0, 0, 1, 0, 1]), bin: new Float64Array(5).fill(1), wout, units: 5, fanIn: 2, outRows: 2, block: 1 };
  t.same(Array.from(canonicalOrder(view, 'bias')), [1, 2, 3, 0, 4]);
  // The incoming L1 decides before the outgoing keys: u4's row doubled puts it first.
  const inL1 = { ...view, win: Float64Array.from(view.win, (v, i) => (i >= 8 ? 2 * v : v)) };
  t.same(Array.from(canonicalOrder(inL1, 'bias')), [4, 1, 2, 3, 0]);
  // Keys within the tolerance (1e-6 of the largest) are a tie: u0's outgoing L1 and max raised by
  // 3e-7 (a strict order would put u0 before u2) still leave win[u, 0] to decide.
  const near = { ...view, wout: Float64Array.from(wout, (v, i) => (i === 0 ? v + 3e-7 : v)) };
  t.same(Array.from(canonicalOrder(near, 'bias')), [1, 2, 3, 0, 4]);
  // Blocks: each half ordered within itself (units 0-1, then 2-3).
  const blocks: LayerWeights = { win: new Float64Array(0), bin: new Float64Array([1, 2, 4, 3]), wout: new Float64Array(4), units: 4, fanIn: 0, outRows: 1, block: 1 };
  t.same(Array.from(canonicalOrder(blocks, 'bias', 2)), [1, 0, 2, 3]);
});
