/** The divergence kernels' addon surface (binding/divergence.cpp). Use lib/function/divergence.ts instead. */
import type { AddonCall, KernelCallOptions, RealArray } from './types';

/** Options both divergence calls read. */
export interface NativeDivergenceOptions extends KernelCallOptions {
  kind: 'logits' | 'probs' | 'sigmoid' | 'sigmoid-logit';
  epsilon?: number;
  bits?: boolean;
  cost?: Float64Array;
}

export interface PerSampleCall extends NativeDivergenceOptions {
  a: RealArray;
  b: RealArray;
  n: number;
  k: number;
  measures: readonly string[];
  /** Also return each row's `topk` best classes per input (>= 1; at most the class count). */
  topk?: number;
  /** Also return each input's log-probability and probability of class targets[row] (-1 = none). */
  targets?: Int32Array;
  /** Only these input rows (rowCount indices in [0, n)), read in place: every result has rowCount entries; targets stay per input row. */
  rows?: Int32Array;
  rowCount?: number;
}

/** What one per-sample call returns; each pair is [a, b]. */
export interface PerSampleResult {
  /** Per-sample values of each requested measure. */
  values: Record<string, Float64Array>;
  /** n × topk class ids, best first (ties: the lower id first); top-1 is the argmax. */
  top?: [Int32Array, Int32Array];
  /** log p(target) under the unsmoothed distribution, float64; NaN where the target is -1. */
  targetLogProb?: [Float64Array, Float64Array];
  /** p(target); NaN where the target is -1. */
  targetProb?: [Float64Array, Float64Array];
}

export interface PairwiseCall extends NativeDivergenceOptions {
  models: RealArray[];
  n: number;
  k: number;
  measure: string;
}

export type DivergenceAddon = AddonCall<'divergencePerSample', PerSampleCall, PerSampleResult> &
  AddonCall<'divergencePairwise', PairwiseCall, Float64Array> &
  {
    /** The measure names the kernels know, in kernel order. */
    readonly divergenceMeasures: readonly string[];
    /** Largest class count the exact cost-matrix EMD accepts. */
    readonly divergenceMaxEmdCostClasses: number;
  };

/**
 * Benchmark-only exports, present only in a MODELDIFF_BENCH_KERNELS build (CMakeLists.txt):
 * the sum of a float array, the benchmark's memory-read ceiling.
 */
export type DivergenceBenchAddon = Partial<AddonCall<'divergenceMemoryRead', { data: RealArray; length: number; threads?: number }, number>>;
