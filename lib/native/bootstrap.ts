/**
 * Raw addon surface of the bootstrap kernel (binding/bootstrap.cpp, src/bootstrap.cpp). Use
 * `bootstrapMean` / `bootstrapMeanCI` in lib/stats instead: they check the values first.
 */
import type { AddonCall } from './types';

/**
 * Resample `units` units with replacement, replicates `first` .. `first + count − 1`: for each
 * replicate and column s, sum_u c_u·numerators[s][u] / sum_u c_u·denominators[u] (c = the
 * draw counts, shared by all columns; no denominators = every unit weighs 1). Returns m×count
 * row-major. Replicate r draws from its own stream seeded by (seed, r), so results depend
 * neither on `threads` (default all cores) nor on how replicates are split across calls.
 */
export interface BootstrapCall {
  numerators: Float64Array[];
  denominators?: Float64Array | null;
  /** Length of every numerator column (and of denominators). */
  units: number;
  first: number;
  count: number;
  seed: number;
  threads?: number;
}

export type BootstrapAddon = AddonCall<'bootstrap', BootstrapCall, Float64Array>;
