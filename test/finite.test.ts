// firstNonFinite against a plain scan: NaN and ±Infinity at every kind of place (the first
// value, a block's tail, the tail after the last whole block, past several blocks), in float32
// and float64, next to the largest finite values and signed zeros.
import t from 'tap';

import { firstNonFinite } from '../lib/util/finite';

function plainScan(x: ArrayLike<number>): number {
  for (let i = 0; i < x.length; i++) if (!Number.isFinite(x[i])) return i;
  return -1;
}

t.test('the index of the first NaN or ±Infinity, else -1', async (t) => {
  for (const Ctor of [Float32Array, Float64Array]) {
    const big = Ctor === Float32Array ? 3.4028234663852886e38 : Number.MAX_VALUE;
    for (const n of [0, 1, 3, 4, 5, 4095, 4096, 4097, 3 * 4096 + 7]) {
      const base = Ctor.from(Array.from({ length: n }, (_, i) => (i % 3 === 0 ? big : i % 3 === 1 ? -big : -0)));
      t.equal(firstNonFinite(base), -1, `${Ctor.name} n=${n}: all finite`);
      for (const at of [0, 1, 3, 4, 4094, 4095, 4096, 4097, n - 1].filter((i) => i >= 0 && i < n)) {
        for (const bad of [NaN, Infinity, -Infinity]) {
          const x = Ctor.from(base);
          x[at] = bad;
          if (at + 2 < n) x[at + 2] = NaN; // a later one does not hide the first
          t.equal(firstNonFinite(x), plainScan(x), `${Ctor.name} n=${n}: ${bad} at ${at}`);
        }
      }
    }
  }
});
