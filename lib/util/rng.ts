/**
 * Seeded randomness for everything that must be reproducible (bootstrap
 * resampling, Mantel permutations, layer order in weight matching, t-SNE
 * initialisation): same seed, same numbers, on every platform. Backed by
 * pure-rand's xoroshiro128+.
 */
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';

export interface Rng {
  /** Uniform in [0, 1), 53 random bits. */
  float(): number;
  /** Uniform integer in [0, n). */
  int(n: number): number;
  /** Standard normal (Box-Muller). */
  normal(): number;
  /** In-place Fisher-Yates shuffle; returns its argument. */
  shuffle<T extends { length: number; [i: number]: unknown }>(a: T): T;
}

export function createRng(seed: number): Rng {
  const g = xoroshiro128plus(seed | 0);
  const rng: Rng = {
    float: () => uniformFloat64(g),
    int: (n) => uniformInt(g, 0, n - 1),
    normal() {
      let u = 0;
      while (u === 0) u = rng.float();
      return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.float());
    },
    shuffle(a) {
      for (let i = a.length - 1; i > 0; i--) {
        const j = rng.int(i + 1);
        const t = a[i];
        a[i] = a[j];
        a[j] = t;
      }
      return a;
    },
  };
  return rng;
}
