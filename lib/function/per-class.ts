/**
 * Per-class view of how predictions change between model A and model B: a
 * k×k table counting samples by (A's predicted class, B's predicted class),
 * and for each class A predicts, how often B predicts something else.
 */
export interface ClassChange {
  class: number;
  /** Samples A assigns to this class. */
  count: number;
  /** Of those, how many B assigns to another class. */
  changed: number;
  /** changed / count (NaN → reported as 0 when count is 0). */
  rate: number;
}

export interface PerClass {
  /** confusion[i][j] = samples A labels i and B labels j; sums to n. */
  confusion: number[][];
  classes: ClassChange[];
}

export function perClassBreakdown(labelsA: Int32Array, labelsB: Int32Array, k: number): PerClass {
  const confusion = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  for (let i = 0; i < labelsA.length; i++) confusion[labelsA[i]][labelsB[i]]++;
  const classes = confusion.map((row, c) => {
    const count = row.reduce((s, v) => s + v, 0);
    const changed = count - row[c];
    return { class: c, count, changed, rate: count === 0 ? 0 : changed / count };
  });
  return { confusion, classes };
}
