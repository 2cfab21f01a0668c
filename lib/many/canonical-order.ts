/**
 * An order of the models that does not depend on the order they were given
 * in: their names sorted (code-unit order, ties by position). Seeded steps
 * that draw over model indices (Mantel permutations, the sampled bootstrap
 * pairs) and tie-breaking steps (agglomerative clustering) run in this
 * order, so permuting the input permutes the results and changes nothing else.
 */

/** Indices 0..N−1 sorted by `keys` (ties keep input order). */
export function canonicalOrder(keys: readonly string[]): number[] {
  return keys.map((_, i) => i).sort((a, b) => (keys[a] < keys[b] ? -1 : keys[a] > keys[b] ? 1 : a - b));
}

/** The N×N row-major matrix `m` with rows and columns taken in `order`. */
export function reorderMatrix(m: ArrayLike<number>, n: number, order: readonly number[]): Float64Array {
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) out[i * n + j] = m[order[i] * n + order[j]];
  return out;
}
