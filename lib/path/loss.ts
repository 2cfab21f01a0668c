/**
 * Classification loss and error of one model's outputs against labels: mean
 * cross-entropy in nats (−log p(true class), computed stably from logits by
 * log-sum-exp) and the error rate (argmax ≠ label; ties → lowest index).
 * Output kinds follow docs/design.md: logits, probs, sigmoid, sigmoid-logit.
 */
import { check } from '../errors';
import type { OutputKind } from '../function/divergence';
import type { Matrix } from '../matrix';

export interface LossResult {
  /** Mean cross-entropy (nats); +Infinity if a model gives probability 0 to a true class. */
  loss: number;
  /** Fraction of samples misclassified. */
  error: number;
}

function softplus(x: number): number {
  return x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x));
}

/** docs/design.md: rows read as probabilities must be on the simplex (sum 1 within 1e-4), never silently renormalized. */
function checkSimplexRow(data: Matrix['data'], off: number, k: number, r: number, label: string): void {
  let sum = 0;
  for (let j = 0; j < k; j++) {
    const v = data[off + j];
    check(v >= 0, 'INVALID_PROBS', `${label}, row ${r}: has a negative probability (${v}); logits? try options.outputs 'logits'`, 'outputs');
    sum += v;
  }
  check(Math.abs(sum - 1) <= 1e-4, 'INVALID_PROBS', `${label}, row ${r}: probabilities sum to ${sum}, not 1 (tolerance 1e-4); logits? try options.outputs 'logits'`, 'outputs');
}

export function classificationLoss(out: Matrix, labels: Int32Array, kind: OutputKind, label = 'model'): LossResult {
  const { data, n, k } = out;
  check(labels.length === n, 'SHAPE_MISMATCH', `${label}: ${n} outputs but ${labels.length} labels`);
  const binary = kind === 'sigmoid' || kind === 'sigmoid-logit';
  check(!binary || k === 1, 'INVALID_ARGUMENT', `${label}: outputs '${kind}' need one column, got ${k}`);
  const classes = binary ? 2 : k;
  let total = 0;
  let wrong = 0;
  for (let r = 0; r < n; r++) {
    const y = labels[r];
    check(y < classes, 'INVALID_ARGUMENT', `labels: label ${y} at sample ${r} is not a class of this ${classes}-class model (${label})`);
    const off = r * k;
    let best = 0;
    let max = -Infinity;
    for (let j = 0; j < k; j++) {
      const v = data[off + j];
      check(Number.isFinite(v), 'NON_FINITE', `${label}: output row ${r} contains NaN or Infinity`);
      if (v > max) {
        max = v;
        best = j;
      }
    }
    let ce: number;
    let pred: number;
    if (kind === 'logits') {
      let s = 0;
      for (let j = 0; j < k; j++) s += Math.exp(data[off + j] - max);
      ce = max + Math.log(s) - data[off + y];
      pred = best;
    } else if (kind === 'probs') {
      checkSimplexRow(data, off, k, r, label);
      ce = -Math.log(data[off + y]);
      pred = best;
    } else if (kind === 'sigmoid') {
      const p = data[off];
      check(p >= 0 && p <= 1, 'INVALID_PROBS', `${label}, row ${r}: sigmoid probability ${p} is outside [0, 1] (logits? try options.outputs 'sigmoid-logit')`, 'outputs');
      ce = -Math.log(y === 1 ? p : 1 - p);
      pred = p > 0.5 ? 1 : 0;
    } else {
      const z = data[off];
      ce = y === 1 ? softplus(-z) : softplus(z);
      pred = z > 0 ? 1 : 0;
    }
    total += ce;
    if (pred !== y) wrong++;
  }
  return { loss: total / n, error: wrong / n };
}
