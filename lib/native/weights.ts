/**
 * Raw addon surface of the weight-space kernels (binding/assignment.cpp,
 * binding/canonical.cpp, binding/matching.cpp). Use the validated, typed wrappers in
 * `lib/weights/kernels.ts` instead of calling these directly.
 */
import type { SortKey } from '../weights/kernels';
import type { AddonCall } from './types';

export interface AssignmentResult {
  /** Column assigned to each row, -1 for rows left unassigned (rows > cols). */
  rowToCol: Int32Array;
  /** Sum of the original costs over the assigned pairs. */
  total: number;
}

/** A hidden layer as the kernels read it (exported as LayerWeights by lib/weights/kernels.ts). */
export interface NativeLayer {
  win: Float64Array;
  bin: Float64Array;
  wout: Float64Array;
  units: number;
  fanIn: number;
  outRows: number;
  block: number;
}

export interface AssignmentCall {
  cost: Float64Array;
  rows: number;
  cols: number;
  maximize?: boolean;
  method?: 'auto' | 'lapjv' | 'shortest-path';
  isa?: string;
}

export type WeightsAddon = AddonCall<'linearSumAssignment', AssignmentCall, AssignmentResult> &
  AddonCall<'normalizeScale', { layer: NativeLayer }, Float64Array> &
  AddonCall<'fixSign', { layer: NativeLayer }, Int8Array> &
  AddonCall<'sortPermutation', { layer: NativeLayer; key: SortKey }, Int32Array> &
  AddonCall<'sortKeys', { layer: NativeLayer; key: SortKey }, Float64Array> &
  AddonCall<'applyPermutation', { layer: NativeLayer; perm: Int32Array }, undefined> &
  AddonCall<'permuteUnitAxis', { data: Float64Array; rows: number; units: number; block: number; perm: Int32Array }, undefined> &
  AddonCall<'matchingSimilarity', { a: NativeLayer; b: NativeLayer; isa?: string; threads?: number; out?: Float64Array }, Float64Array>;
