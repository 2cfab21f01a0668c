import t from 'tap';

import { createRng } from '../lib/util/rng';

t.test('same seed, same stream; different seed, different stream', async (t) => {
  const a = createRng(7), b = createRng(7), c = createRng(8);
  const xa = Array.from({ length: 5 }, () => a.float());
  t.same(xa, Array.from({ length: 5 }, () => b.float()));
  t.not(xa[0], c.float());
});

t.test('int stays in range and covers it; normal has mean ~0, variance ~1', async (t) => {
  const r = createRng(1);
  const seen = new Set<number>();
  const bad: number[] = [];
  for (let i = 0; i < 1000; i++) {
    const v = r.int(5);
    if (!(v >= 0 && v < 5 && Number.isInteger(v))) bad.push(v);
    seen.add(v);
  }
  t.same(bad, [], 'every draw is an integer in [0, 5)');
  t.equal(seen.size, 5);
  let s = 0, s2 = 0;
  const n = 20000;
  for (let i = 0; i < n; i++) {
    const z = r.normal();
    s += z;
    s2 += z * z;
  }
  t.ok(Math.abs(s / n) < 0.05, 'mean near 0');
  t.ok(Math.abs(s2 / n - 1) < 0.05, 'variance near 1');
});

t.test('shuffle is a permutation', async (t) => {
  const a = createRng(3).shuffle(Int32Array.from({ length: 50 }, (_, i) => i));
  t.same(Array.from(a).sort((x, y) => x - y), Array.from({ length: 50 }, (_, i) => i));
});
