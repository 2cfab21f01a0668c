/** The divergence kernels' addon surface (binding/divergence.cpp). Use lib/function/divergence.ts instead. */

/** Options as the binding reads them. */
export interface NativeDivergenceOptions {
  kind: 'logits' | 'probs' | 'sigmoid' | 'sigmoid-logit';
  epsilon?: number;
  bits?: boolean;
  cost?: Float64Array;
  isa?: string;
  threads?: number;
}

/**
 * Errors the binding throws (or rejects with) carry a ModeldiffError code and, where one input
 * is at fault, its index (`matrix`: 0 = a, 1 = b, or the model index) and `row`; -1 = none.
 */
export interface NativeDivergenceError extends Error {
  code: string;
  matrix: number;
  row: number;
}

export interface DivergenceAddon {
  divergencePerSample(
    a: Float32Array | Float64Array,
    b: Float32Array | Float64Array,
    n: number,
    k: number,
    measures: string[],
    options: NativeDivergenceOptions,
    async: false,
  ): Record<string, Float64Array>;
  divergencePerSample(
    a: Float32Array | Float64Array,
    b: Float32Array | Float64Array,
    n: number,
    k: number,
    measures: string[],
    options: NativeDivergenceOptions,
    async: true,
  ): Promise<Record<string, Float64Array>>;
  divergencePairwise(
    models: Array<Float32Array | Float64Array>,
    n: number,
    k: number,
    measure: string,
    options: NativeDivergenceOptions,
  ): Promise<Float64Array>;
  /** Sum of a float array with `threads` threads: the benchmark's memory-read ceiling. */
  divergenceMemoryRead(data: Float32Array | Float64Array, threads?: number): number;
  /** Largest class count the exact cost-matrix EMD accepts. */
  divergenceMaxEmdCostClasses(): number;
}
