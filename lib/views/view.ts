/**
 * The two-stage contract every view of a model follows: `prepare` does the per-model work once
 * (run the probe, read the layer, build the network), `pair` compares two prepared models. A
 * workflow over two models is prepare, prepare, pair; over N models it is N prepares and one
 * pair per pair of models (`pairMatrix`), never N² prepares. A prepare with nothing to wait
 * for may return its result directly (the weights view reads and builds synchronously).
 */
export interface View<Model, Context, Prepared, Result> {
  prepare(model: Model, context: Context): Prepared | Promise<Prepared>;
  pair(a: Prepared, b: Prepared, context: Context): Promise<Result>;
}

/**
 * `view`'s results for every ordered pair (i, j), i ≠ j, as an N × N array (null on the
 * diagonal). A symmetric view is paired once per unordered pair and mirrored.
 */
export async function pairMatrix<Model, Context, Prepared, Result>(
  view: View<Model, Context, Prepared, Result>,
  models: readonly Model[],
  context: Context,
  options: { symmetric: boolean; onProgress?: (done: number, total: number) => void },
): Promise<Array<Array<Result | null>>> {
  const N = models.length;
  const prepared: Prepared[] = [];
  for (const m of models) prepared.push(await view.prepare(m, context));
  const out: Array<Array<Result | null>> = Array.from({ length: N }, () => new Array<Result | null>(N).fill(null));
  const total = options.symmetric ? (N * (N - 1)) / 2 : N * (N - 1);
  let done = 0;
  options.onProgress?.(0, total);
  for (let i = 0; i < N; i++) {
    for (let j = options.symmetric ? i + 1 : 0; j < N; j++) {
      if (i === j) continue;
      const r = await view.pair(prepared[i], prepared[j], context);
      out[i][j] = r;
      if (options.symmetric) out[j][i] = r;
      options.onProgress?.(++done, total);
    }
  }
  return out;
}
