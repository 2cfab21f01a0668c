/**
 * How many distinct solutions are there, including the ones not yet found?
 * Each cluster of "the same solution" is a species and each trained model an
 * individual. Chao1 (Chao 1984, 1987) estimates total richness from how many
 * solutions were seen exactly once (singletons, f1) and exactly twice
 * (doubletons, f2): many singletons relative to doubletons mean many
 * solutions are still unseen; if every solution was found at least twice the
 * search has likely saturated.
 */
import { check } from '../errors';

export interface Chao1Result {
  /** Number of models (individuals). */
  models: number;
  /** Number of distinct solutions observed (S_obs). */
  observed: number;
  /** Solutions found by exactly one model (f1). */
  singletons: number;
  /** Solutions found by exactly two models (f2). */
  doubletons: number;
  /** Estimated total number of solutions. */
  estimate: number;
  /** Estimated unseen solutions (estimate − observed). */
  unseen: number;
  variance: number;
  /** 95% log-normal confidence interval (Chao 1987); its lower end is never below `observed`. */
  lower: number;
  upper: number;
  /** Which formula applied: classic (f2 > 0) or bias-corrected (f2 = 0). */
  formula: 'classic' | 'bias-corrected';
}

/**
 * Chao1 from solution abundances (models per cluster), with the variance and
 * log-normal interval of Chao (1987), with the (n−1)/n small-sample factor A (Gotelli & Colwell
 * 2011; Chao & Jost 2012):
 * - f2 > 0: S = S_obs + A·f1²/(2 f2), A = (n−1)/n,
 *   var = f2·[A/2·(f1/f2)² + A²·(f1/f2)³ + A²/4·(f1/f2)⁴];
 * - f2 = 0: S = S_obs + A·f1(f1−1)/2 (bias-corrected),
 *   var = A·f1(f1−1)/2 + A²·f1(2f1−1)²/4 − A²·f1⁴/(4S);
 * - interval: T = S − S_obs, K = exp(1.96·sqrt(ln(1 + var/T²))), [S_obs + T/K, S_obs + T·K].
 *   With T = 0 (no singletons, or a single one) there is no evidence of unseen
 *   solutions and the interval collapses to [S_obs, S_obs].
 */
export function chao1(abundances: ArrayLike<number>): Chao1Result {
  let models = 0;
  let observed = 0;
  let f1 = 0;
  let f2 = 0;
  for (let i = 0; i < abundances.length; i++) {
    const a = abundances[i];
    check(Number.isInteger(a) && a >= 0, 'INVALID_ARGUMENT', `abundances[${i}] must be a non-negative integer, got ${a}`);
    if (a === 0) continue;
    models += a;
    observed++;
    if (a === 1) f1++;
    if (a === 2) f2++;
  }
  check(models > 0, 'INVALID_ARGUMENT', 'abundances are all zero: no models to count');
  const A = (models - 1) / models;
  let estimate: number;
  let variance: number;
  let formula: Chao1Result['formula'];
  if (f2 > 0) {
    formula = 'classic';
    const q = f1 / f2;
    estimate = observed + (A * f1 * f1) / (2 * f2);
    variance = f2 * ((A / 2) * q * q + A * A * q ** 3 + ((A * A) / 4) * q ** 4);
  } else {
    formula = 'bias-corrected';
    estimate = observed + (A * f1 * (f1 - 1)) / 2;
    variance = (A * f1 * (f1 - 1)) / 2 + (A * A * f1 * (2 * f1 - 1) ** 2) / 4 - (A * A * f1 ** 4) / (4 * estimate);
    variance = Math.max(0, variance);
  }
  const T = estimate - observed;
  let lower = observed;
  let upper = observed;
  if (T > 0) {
    const K = Math.exp(1.96 * Math.sqrt(Math.log(1 + variance / (T * T))));
    lower = observed + T / K;
    upper = observed + T * K;
  }
  return { models, observed, singletons: f1, doubletons: f2, estimate, unseen: T, variance, lower, upper, formula };
}

/**
 * Expected number of distinct solutions after `more` additional runs
 * (Shen, Chao & Lin 2003): S_obs + f0·[1 − (1 − f1/(n·f0 + f1))^more],
 * with f0 = Chao1 − S_obs the estimated unseen solutions.
 */
export function expectedAfter(result: Chao1Result, more: number): number {
  check(Number.isInteger(more) && more >= 0, 'INVALID_ARGUMENT', `more must be a non-negative integer, got ${more}`);
  const f0 = result.unseen;
  if (f0 <= 0 || result.singletons === 0) return result.observed;
  return result.observed + f0 * (1 - (1 - result.singletons / (result.models * f0 + result.singletons)) ** more);
}
