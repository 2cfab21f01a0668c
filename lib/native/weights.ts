/**
 * Raw addon surface of the weight-space kernels (binding/assignment.cpp,
 * binding/canonical.cpp). Use the validated, typed wrappers in
 * `lib/weights/kernels.ts` instead of calling these directly.
 *
 * A layer is passed as (win, bin, wout, units, fanIn, outRows, block); see
 * `LayerWeights` in lib/weights/kernels.ts. Argument errors are thrown (or
 * rejected) as Error objects with `code === 'INVALID_ARGUMENT'`.
 */
import type { Isa } from './capabilities';

export interface AssignmentResult {
  /** Column assigned to each row, -1 for rows left unassigned (rows > cols). */
  rowToCol: Int32Array;
  /** Sum of the original costs over the assigned pairs. */
  total: number;
}

/** 0: auto (LAPJV if square and finite), 1: LAPJV, 2: shortest augmenting path (Crouse 2016). */
export type AssignmentMethodCode = 0 | 1 | 2;
/** 0: out-norm, 1: bias, 2: in-l1, 3: first-weight. */
export type SortKeyCode = 0 | 1 | 2 | 3;

type LayerArgs = [win: Float64Array, bin: Float64Array, wout: Float64Array, units: number, fanIn: number, outRows: number, block: number];

export interface WeightsAddon {
  lsaSync(cost: Float64Array, rows: number, cols: number, maximize: boolean, method: AssignmentMethodCode, isa?: Isa): AssignmentResult;
  lsaAsync(cost: Float64Array, rows: number, cols: number, maximize: boolean, method: AssignmentMethodCode, isa?: Isa): Promise<AssignmentResult>;
  normalizeScale(...layer: LayerArgs): Float64Array;
  fixSign(...layer: LayerArgs): Int8Array;
  sortPermutation(...args: [...LayerArgs, key: SortKeyCode]): Int32Array;
  sortKeys(...args: [...LayerArgs, key: SortKeyCode]): Float64Array;
  applyPermutation(...args: [...LayerArgs, perm: Int32Array]): void;
  permuteUnitAxis(data: Float64Array, rows: number, units: number, block: number, perm: Int32Array): void;
  matchingSimilarity(...args: [...LayerArgs, ...LayerArgs, isa?: Isa]): Float64Array;
  matchingSimilarityAsync(...args: [...LayerArgs, ...LayerArgs, isa?: Isa]): Promise<Float64Array>;
}
