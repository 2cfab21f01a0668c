/**
 * Model predictions as vectors: the class probabilities each model assigns to
 * each probe sample, concatenated (n·k numbers per model). Distances between
 * these vectors feed the t-SNE map (Erhan et al. 2009 embedded networks by
 * their concatenated outputs); argmax predictions give accuracy.
 */
import { ModeldiffError, check } from '../errors';
import type { Matrix } from '../matrix';
import { checkSigmoidColumns } from '../function/divergence';

/** Interpretations of a row that map it to class probabilities (docs/design.md, "Reading model outputs"). */
export type ProbabilityKind = 'logits' | 'probs' | 'sigmoid' | 'sigmoid-logit';

/**
 * Rows → probabilities in float64: stable softmax for logits, as-is for probs,
 * [1−p, p] for a sigmoid column (from p or from its logit). Other kinds (e.g.
 * raw regression outputs) are used as they are.
 */
export function toProbabilities(o: Matrix, kind: string): Float64Array {
  const { data, n, k } = o;
  if (kind === 'sigmoid' || kind === 'sigmoid-logit') {
    checkSigmoidColumns(kind, k);
    const out = new Float64Array(n * 2);
    for (let i = 0; i < n; i++) {
      const p = kind === 'sigmoid' ? data[i] : 1 / (1 + Math.exp(-data[i]));
      out[2 * i] = 1 - p;
      out[2 * i + 1] = p;
    }
    return out;
  }
  const out = Float64Array.from(data);
  if (kind !== 'logits') return out;
  for (let i = 0; i < n; i++) {
    const row = i * k;
    let max = -Infinity;
    for (let c = 0; c < k; c++) max = Math.max(max, out[row + c]);
    let sum = 0;
    for (let c = 0; c < k; c++) {
      out[row + c] = Math.exp(out[row + c] - max);
      sum += out[row + c];
    }
    for (let c = 0; c < k; c++) out[row + c] /= sum;
  }
  return out;
}

/** Euclidean distance between two prediction vectors (accumulated in float64). */
export function l2(a: Float32Array | Float64Array, b: Float32Array | Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i] - b[i];
    s += d * d;
  }
  return Math.sqrt(s);
}

/**
 * Fraction of samples whose predicted class equals the label. The predicted
 * class is the argmax (lowest index on ties, as numpy); for a single sigmoid
 * column it is p > 0.5 (logit > 0).
 */
export function accuracy(o: Matrix, kind: string, labels: ArrayLike<number>, name = 'model'): number {
  const { data, n, k } = o;
  check(labels.length === n, 'SHAPE_MISMATCH', `labels have ${labels.length} entries but ${name} has outputs for ${n} probe samples`);
  const classes = Math.max(k, 2); // one column: a binary classifier
  let right = 0;
  for (let i = 0; i < n; i++) {
    // A label the model cannot predict means the wrong labels file, not a wrong prediction.
    if (!(labels[i] < classes)) throw new ModeldiffError('INVALID_ARGUMENT', `labels: label ${labels[i]} at sample ${i} is not a class of this ${classes}-class model (${name})`);
    let best = 0;
    if (k === 1) {
      best = data[i] > (kind === 'sigmoid' || kind === 'probs' ? 0.5 : 0) ? 1 : 0;
    } else {
      for (let c = 1; c < k; c++) if (data[i * k + c] > data[i * k + best]) best = c;
    }
    if (best === labels[i]) right++;
  }
  return right / n;
}
