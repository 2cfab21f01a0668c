/**
 * The first NaN or ±Infinity of a float array, found fast: model outputs and probe data are
 * checked whole before use (a language model's logits batch is millions of values), and a
 * compare run reads each value once more for this alone.
 */

/** Values summed per block before the block's one test. */
const BLOCK = 4096;

/**
 * Index of the first NaN or ±Infinity in `data`, or -1 when every value is finite. Each block
 * sums v * 0 in four independent accumulators (0 for a finite v, NaN otherwise, and NaN stays
 * NaN), so the hot loop has no branch per value; only a block that fails is scanned value by
 * value for the index.
 */
export function firstNonFinite(data: Float32Array | Float64Array): number {
  const n = data.length;
  for (let start = 0; start < n; start += BLOCK) {
    const end = Math.min(n, start + BLOCK);
    let a0 = 0;
    let a1 = 0;
    let a2 = 0;
    let a3 = 0;
    let i = start;
    for (; i + 4 <= end; i += 4) {
      a0 += data[i] * 0;
      a1 += data[i + 1] * 0;
      a2 += data[i + 2] * 0;
      a3 += data[i + 3] * 0;
    }
    for (; i < end; i++) a0 += data[i] * 0;
    if (a0 + a1 + a2 + a3 === 0) continue;
    for (let j = start; j < end; j++) {
      const v = data[j];
      // v - v is NaN exactly for NaN and ±Infinity.
      if (v - v !== 0) return j;
    }
  }
  return -1;
}
