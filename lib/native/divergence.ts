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
}

export interface PairwiseCall extends NativeDivergenceOptions {
  models: RealArray[];
  n: number;
  k: number;
  measure: string;
}

export type DivergenceAddon = AddonCall<'divergencePerSample', PerSampleCall, Record<string, Float64Array>> &
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
