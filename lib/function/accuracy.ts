/**
 * Accuracy of each model against true labels, and the error-aware view of
 * how two models differ: how often both are wrong, exactly one is wrong, and
 * — among the samples both get wrong — how often they are wrong differently.
 */
import { ModeldiffError } from '../errors';

export interface Accuracy {
  /** Fraction of samples model A classifies correctly. */
  a: number;
  b: number;
  bothRight: number;
  bothWrong: number;
  /** Exactly one of the two is wrong. */
  exactlyOneWrong: number;
  /** A right, B wrong. */
  onlyBWrong: number;
  /** B right, A wrong. */
  onlyAWrong: number;
  /** Among samples both get wrong, the fraction where their (wrong) predictions differ; null when there are none. */
  disagreementWhenBothWrong: number | null;
}

export function accuracyStats(labelsA: Int32Array, labelsB: Int32Array, truth: Int32Array, k: number, labelsName = 'labels'): Accuracy {
  const n = truth.length;
  let ra = 0;
  let rb = 0;
  let both = 0;
  let neither = 0;
  let neitherDiffer = 0;
  for (let i = 0; i < n; i++) {
    if (truth[i] >= k) {
      throw new ModeldiffError('INVALID_ARGUMENT', `${labelsName}: label ${truth[i]} at sample ${i} is not a class of these ${k}-class models`);
    }
    const okA = labelsA[i] === truth[i];
    const okB = labelsB[i] === truth[i];
    if (okA) ra++;
    if (okB) rb++;
    if (okA && okB) both++;
    if (!okA && !okB) {
      neither++;
      if (labelsA[i] !== labelsB[i]) neitherDiffer++;
    }
  }
  return {
    a: ra / n,
    b: rb / n,
    bothRight: both / n,
    bothWrong: neither / n,
    exactlyOneWrong: (n - both - neither) / n,
    onlyBWrong: (ra - both) / n,
    onlyAWrong: (rb - both) / n,
    disagreementWhenBothWrong: neither === 0 ? null : neitherDiffer / neither,
  };
}
