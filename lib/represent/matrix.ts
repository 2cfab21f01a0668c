/**
 * Activation matrices: n samples (rows) × p features (columns), row-major,
 * float32 or float64. Every representation measure compares two of them
 * computed on the same n samples.
 */
import { check } from '../errors';
import { plural } from '../util/plural';

export interface ActivationMatrix {
  data: Float32Array | Float64Array;
  /** Samples (rows). */
  n: number;
  /** Features / units (columns). */
  p: number;
}

/** Validates shape and element type; `name` is used in messages (e.g. "X", "layer fc1 of a.onnx"). */
export function checkActivations(m: ActivationMatrix, name: string): void {
  check(
    m !== null && typeof m === 'object' && (m.data instanceof Float32Array || m.data instanceof Float64Array),
    'INVALID_ARGUMENT',
    `${name}: data must be a Float32Array or Float64Array`,
  );
  check(Number.isInteger(m.n) && m.n >= 0 && Number.isInteger(m.p) && m.p >= 1, 'INVALID_ARGUMENT', `${name}: n and p must be integers with p ≥ 1 (got n=${m.n}, p=${m.p})`);
  check(m.data.length === m.n * m.p, 'SHAPE_MISMATCH', `${name}: data has ${m.data.length} values, expected n×p = ${m.n}×${m.p}`);
}

/** Validates two matrices over the same samples (any number of them). */
export function checkSameSamples(x: ActivationMatrix, y: ActivationMatrix, nameX = 'X', nameY = 'Y'): void {
  checkActivations(x, nameX);
  checkActivations(y, nameY);
  check(x.n === y.n, 'SHAPE_MISMATCH', `${nameX} has ${plural(x.n, 'sample')} but ${nameY} has ${y.n}: representations must be computed on the same samples`);
}

/** Validates a pair: both well-formed and over the same number (at least 2) of samples. */
export function checkPair(x: ActivationMatrix, y: ActivationMatrix, nameX = 'X', nameY = 'Y'): void {
  checkSameSamples(x, y, nameX, nameY);
  check(x.n >= 2, 'INVALID_ARGUMENT', `${nameX}: need at least 2 samples, got ${x.n}`);
}
