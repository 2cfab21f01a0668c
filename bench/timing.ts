/** Timing helpers the benchmarks share: the best of several runs, in seconds. */

/** The shortest wall time of `runs` calls of `fn`. */
export function best(runs: number, fn: () => void): number {
  let t = Infinity;
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    fn();
    t = Math.min(t, Number(process.hrtime.bigint() - t0) / 1e9);
  }
  return t;
}

/** {@link best} for an async `fn`, each call awaited before the next. */
export async function bestAsync(runs: number, fn: () => Promise<unknown>): Promise<number> {
  let t = Infinity;
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    await fn();
    t = Math.min(t, Number(process.hrtime.bigint() - t0) / 1e9);
  }
  return t;
}
