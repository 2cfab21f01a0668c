/**
 * `--cost FILE` (the k×k cost matrix of the emd-cost measure), shared by
 * compare, divergence, matrix and study so the file is read and checked one
 * way: a square 2-D numeric array file (.npy or another format `readArray` reads), every entry finite and >= 0, and — when the
 * caller knows the number of classes — k × k. Errors name the file as the
 * user typed it.
 */
import path from 'node:path';

import { check } from '../errors';
import { readArray } from '../io/array-file';
import { toFloat64 } from '../io/tensor';

/** The cost matrix in `file` (resolved against `cwd`), row-major float64; `k`: the classes it must cover. */
export function readCostMatrix(file: string, cwd: string, k?: number): Float64Array {
  const arr = readArray(path.resolve(cwd, file), file);
  check(arr.dtype !== 'bool', 'INVALID_ARGUMENT', `${file}: a cost matrix must be numeric, got dtype bool`);
  const [rows, cols] = arr.shape;
  check(
    arr.shape.length === 2 && rows === cols && rows >= 1,
    'SHAPE_MISMATCH',
    `${file}: the cost matrix must be square (k × k, one row and column per class), got shape [${arr.shape.join(', ')}]`,
  );
  if (k !== undefined) {
    check(rows === k, 'SHAPE_MISMATCH', `${file}: the cost matrix must be ${k} × ${k} (one row and column per class), got [${rows}, ${cols}]`);
  }
  // A copy: the .npy view may be unaligned and the kernels read it on worker threads.
  const cost = Float64Array.from(toFloat64(arr));
  for (let i = 0; i < cost.length; i++) {
    const v = cost[i];
    const where = `${file}: cost[${Math.floor(i / rows)}][${i % rows}] = ${v}`;
    check(Number.isFinite(v), 'NON_FINITE', `${where}; cost entries must be finite`);
    check(v >= 0, 'INVALID_ARGUMENT', `${where}; cost entries must be >= 0`);
  }
  return cost;
}
