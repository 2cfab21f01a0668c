/**
 * How many samples a probe set needs so that the 95% confidence interval of
 * a mean has half-width at most H, from the observed standard deviation
 * (normal approximation): n = ceil((1.96·sd / H)²).
 *
 * Default H (when the caller gives no absolute precision): 10% of the
 * observed mean, i.e. "enough samples to know the mean to ±10%". When the
 * mean is 0 (e.g. identical models) there is nothing relative to aim at and
 * one sample suffices if sd is 0 too.
 */
import { ModeldiffError } from '../errors';

export const DEFAULT_RELATIVE_PRECISION = 0.1;
const Z95 = 1.96; // as in the documented formula

export interface SamplesNeeded {
  /** Target ci95 half-width, in the metric's units. */
  halfWidth: number;
  /**
   * Samples needed for that half-width; Infinity when the spread is infinite or the target is 0
   * with sd > 0; NaN in results computed from a single sample (no spread to go on).
   */
  n: number;
}

/** Throws INVALID_ARGUMENT unless `precision` is undefined or a finite number > 0. */
export function checkPrecision(precision: unknown): void {
  if (precision !== undefined && !(typeof precision === 'number' && precision > 0 && Number.isFinite(precision))) {
    throw new ModeldiffError('INVALID_ARGUMENT', `precision (target ci95 half-width) must be a finite number > 0, got ${String(precision)}`);
  }
}

export function samplesNeeded(sd: number, meanValue: number, precision?: number): SamplesNeeded {
  checkPrecision(precision);
  const H = precision ?? DEFAULT_RELATIVE_PRECISION * Math.abs(meanValue);
  if (!Number.isFinite(sd)) return { halfWidth: H, n: Infinity };
  if (sd === 0) return { halfWidth: H, n: 1 };
  if (!(H > 0) || !Number.isFinite(H)) return { halfWidth: H, n: Infinity };
  return { halfWidth: H, n: Math.max(1, Math.ceil(((Z95 * sd) / H) ** 2)) };
}
