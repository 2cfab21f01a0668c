/**
 * Seeded randomness for everything that must be reproducible (bootstrap
 * resampling, Mantel permutations, layer order in weight matching, t-SNE
 * initialisation): same seed, same numbers, on every platform. Backed by
 * pure-rand's xoroshiro128+.
 */
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plus, xoroshiro128plusFromState } from 'pure-rand/generator/xoroshiro128plus';

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

const TWO_32 = 2 ** 32;

/**
 * The generator for a seed. pure-rand's xoroshiro128plus(seed) takes a 32-bit seed and starts
 * from the state [-1, ~seed, seed, 0] (words s01, s00, s11, s10), so seeds that agree in
 * their low 32 bits would share a stream. Seeds in [0, 2^32) keep exactly that state (their
 * streams never change); any other safe integer seed = hi·2^32 + lo (hi ≠ 0, lo in
 * [0, 2^32)) starts from [~hi, ~lo, lo, hi], which equals no other seed's state (s10 = hi ≠ 0
 * tells them apart from the 32-bit seeds, and (hi, lo) is recovered from the state). The state
 * is never all zero (s01 = s10 = 0 would need hi = 0 and hi = -1). Negative seeds take the
 * second form too (with `seed | 0`, -s shared the stream of 2^32 − s). Other numbers
 * (fractions, beyond 2^53) keep the old `seed | 0` behaviour.
 */
function generatorFor(seed: number) {
  if (!Number.isSafeInteger(seed) || (seed >= 0 && seed < TWO_32)) return xoroshiro128plus(seed | 0);
  const hi = Math.floor(seed / TWO_32); // exact: |seed| < 2^53, so hi is in [-2^21, 2^21)
  const lo = seed - hi * TWO_32; // in [0, 2^32), exact
  return xoroshiro128plusFromState([~hi, ~lo, lo | 0, hi | 0]);
}

/** A reproducible generator: every safe integer seed gives its own stream, on every platform. */
export function createRng(seed: number): Rng {
  const g = generatorFor(seed);
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
