/**
 * Raw addon surface of the bootstrap kernel (binding/bootstrap.cpp,
 * src/bootstrap.cpp). Use `bootstrapMeanCI` in lib/stats instead.
 */
export interface BootstrapAddon {
  /**
   * Resample means: `rows` is n×m row-major (m statistics per sample); returns
   * m×B row-major means, replicate b drawn from its own stream seeded by
   * (seed, b), so results do not depend on `threads` (0 = all cores).
   * With `async`, runs on a worker thread: do not mutate `rows` until it settles.
   */
  bootstrapResampleMeans(rows: Float64Array, n: number, m: number, replicates: number, seed: number, threads: number, async: false): Float64Array;
  bootstrapResampleMeans(rows: Float64Array, n: number, m: number, replicates: number, seed: number, threads: number, async: true): Promise<Float64Array>;
}
