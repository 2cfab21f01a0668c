/**
 * Raw addon surface of the bootstrap kernel (binding/bootstrap.cpp,
 * src/bootstrap.cpp). Use `bootstrapMean` / `bootstrapMeanCI` in lib/stats instead.
 */
export interface BootstrapAddon {
  /**
   * Resample G units with replacement, replicates `first` .. `first + count − 1`: for each
   * replicate and column s, sum_u c_u·numerators[s][u] / sum_u c_u·denominators[u] (c = the
   * draw counts, shared by all columns; denominators null = every unit weighs 1). Returns
   * m×count row-major. Replicate r draws from its own stream seeded by (seed, r), so results
   * depend neither on `threads` (0 = all cores) nor on how replicates are split across calls.
   * With `async`, runs on a worker thread: do not mutate the inputs until it settles.
   */
  bootstrapResampleRatios(numerators: Float64Array[], denominators: Float64Array | null, first: number, count: number, seed: number, threads: number, async: false): Float64Array;
  bootstrapResampleRatios(numerators: Float64Array[], denominators: Float64Array | null, first: number, count: number, seed: number, threads: number, async: true): Promise<Float64Array>;
}
