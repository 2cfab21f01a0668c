/**
 * Weight distance matrices (raw, canonical, aligned L2) over all pairs of
 * model files. They only mean something when the models share an
 * architecture; if they do not (or a graph's symmetries cannot be derived),
 * the matrices are skipped with the reason, and the functional results stand.
 */
import { ModeldiffError } from '../errors';
import { weightDistance } from './deps';
import type { WeightMatrices, WeightMethod } from './types';

export interface WeightMatrixOptions {
  seed: number;
  names: string[];
  onProgress?: (done: number, total: number) => void;
}

const SKIPPABLE = new Set(['ARCHITECTURE_MISMATCH', 'UNSUPPORTED_GRAPH']);

export async function weightMatrices(paths: string[], methods: WeightMethod[], options: WeightMatrixOptions): Promise<WeightMatrices> {
  const N = paths.length;
  const out: WeightMatrices = { methods: [...methods] };
  const mats = new Map<WeightMethod, number[][]>();
  for (const m of methods) mats.set(m, Array.from({ length: N }, () => new Array<number>(N).fill(0)));
  const total = (N * (N - 1)) / 2;
  let done = 0;
  options.onProgress?.(0, total);
  for (let i = 0; i < N; i++) {
    for (let j = i + 1; j < N; j++) {
      let r: Record<string, { l2: number } | undefined>;
      try {
        r = (await weightDistance(paths[i] as never, paths[j] as never, { methods, seed: options.seed } as never)) as never;
      } catch (err) {
        if (err instanceof ModeldiffError && SKIPPABLE.has(err.code)) {
          return { methods: [...methods], skipped: `${options.names[i]} vs ${options.names[j]}: ${err.message}` };
        }
        throw err;
      }
      for (const m of methods) {
        const v = r[m]?.l2;
        if (v === undefined) continue;
        (mats.get(m) as number[][])[i][j] = v;
        (mats.get(m) as number[][])[j][i] = v;
      }
      options.onProgress?.(++done, total);
    }
  }
  for (const m of methods) out[m] = mats.get(m);
  return out;
}
