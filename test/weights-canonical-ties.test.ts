/**
 * Canonical form at ties: units whose sort keys agree within float32
 * rounding are ordered by secondary keys, so an exact permuted and rescaled
 * copy (stored in float32) canonicalizes onto the original. Before, the
 * float32 noise decided the order of tied units (VGG11 vs its permuted copy:
 * canonical relative distance 0.049).
 */
import t from 'tap';

import { weightDistance } from '../lib/weights';
import { createRng, mlpBytes, randomDense, transformHidden } from './helpers/onnx-models';

t.test('units with exactly tied out-norm keys: a reversed, rescaled float32 copy is canonically ≤ 1e-6 away', async (t) => {
  const rng = createRng(5);
  const [L0, L1] = randomDense(rng, [4, 6, 3]);
  // Unit 1 is unit 0 with two incoming weights swapped and two outgoing rows swapped: same norms, same bias.
  L0.b[1] = L0.b[0];
  for (let k = 0; k < 4; k++) L0.W[4 + k] = L0.W[k];
  [L0.W[4], L0.W[5]] = [L0.W[1], L0.W[0]];
  for (let o = 0; o < 3; o++) L1.W[o * 6 + 1] = L1.W[((o + 1) % 3) * 6];
  const reversed = [5, 4, 3, 2, 1, 0];
  const factors = Array.from({ length: 6 }, () => Math.exp(2 * rng.float() - 1));
  const A = [L0, L1];
  const B = transformHidden(A, 0, reversed, factors);
  const r = await weightDistance(mlpBytes(A, 'relu'), mlpBytes(B, 'relu'), { methods: ['raw', 'canonical'] });
  t.ok(r.raw!.relative > 0.3, `raw relative ${r.raw!.relative}: the copy is far as stored`);
  t.ok(r.canonical!.relative <= 1e-6, `canonical relative ${r.canonical!.relative}`);
});

t.test('every sort key gives ≤ 1e-6 on permuted, rescaled copies of a wider net with many near-ties', async (t) => {
  const rng = createRng(9);
  // Weights on a coarse grid make many units share each key exactly (bias, first weight, in-l1, out-norm).
  const grid = (v: number) => Math.round(v * 2) / 2;
  const A = randomDense(rng, [5, 24, 16, 3]).map((l) => ({ ...l, W: l.W.map(grid), b: l.b.map(() => 0.25) }));
  let B = transformHidden(A, 0, rng.shuffle(Array.from({ length: 24 }, (_, i) => i)), Array.from({ length: 24 }, () => Math.exp(rng.float())));
  B = transformHidden(B, 1, rng.shuffle(Array.from({ length: 16 }, (_, i) => i)), Array.from({ length: 16 }, () => Math.exp(rng.float())));
  for (const sortKey of ['out-norm', 'bias', 'in-l1', 'first-weight'] as const) {
    const r = await weightDistance(mlpBytes(A, 'relu'), mlpBytes(B, 'relu'), { methods: ['canonical'], sortKey });
    t.ok(r.canonical!.relative <= 1e-6, `${sortKey}: canonical relative ${r.canonical!.relative}`);
  }
});
