/**
 * Checks on activation matrices: n samples (rows) × k features (columns) as a
 * row-major {@link Matrix}, float32 or float64. Every representation measure
 * compares two of them computed on the same n samples.
 */
import { check } from '../errors';
import type { Matrix } from '../matrix';
import { plural } from '../util/plural';

/** Validates shape and element type; `name` is used in messages (e.g. "X", "layer fc1 of a.onnx"). */
export function checkActivations(m: Matrix, name: string): void {
  check(
    m !== null && typeof m === 'object' && (m.data instanceof Float32Array || m.data instanceof Float64Array),
    'INVALID_ARGUMENT',
    `${name}: data must be a Float32Array or Float64Array`,
  );
  check(Number.isInteger(m.n) && m.n >= 0 && Number.isInteger(m.k) && m.k >= 1, 'INVALID_ARGUMENT', `${name}: n and k must be integers with k ≥ 1 (got n=${m.n}, k=${m.k})`);
  check(m.data.length === m.n * m.k, 'SHAPE_MISMATCH', `${name}: data has ${m.data.length} values, expected n×k = ${m.n}×${m.k}`);
}

/** Validates two matrices over the same samples (any number of them). */
export function checkSameSamples(x: Matrix, y: Matrix, nameX = 'X', nameY = 'Y'): void {
  checkActivations(x, nameX);
  checkActivations(y, nameY);
  check(x.n === y.n, 'SHAPE_MISMATCH', `${nameX} has ${plural(x.n, 'sample')} but ${nameY} has ${y.n}: representations must be computed on the same samples`);
}

/** Validates a pair: both well-formed and over the same number (at least 2) of samples. */
export function checkPair(x: Matrix, y: Matrix, nameX = 'X', nameY = 'Y'): void {
  checkSameSamples(x, y, nameX, nameY);
  check(x.n >= 2, 'INVALID_ARGUMENT', `${nameX}: need at least 2 samples, got ${x.n}`);
}
