/**
 * Raw addon surface of the Gram kernels (binding/linalg.cpp, src/linalg.cpp).
 * Use the validated wrappers in `lib/represent/gram.ts` instead of calling these
 * directly. Both run off the JS thread and resolve a promise; the input arrays
 * must not be mutated until it settles. Rejections are Error objects whose
 * `code` is 'NON_FINITE' (message names the matrix, row and column),
 * 'INVALID_ARGUMENT' or 'INTERNAL'.
 */
export interface FeatureGramRaw {
  /** P×P row-major (P = px + py), Zcᵀ·Zc for Z = [X | Y], centered if asked. */
  gram: Float64Array;
  /** The P column means that were subtracted (zeros when not centering). */
  mean: Float64Array;
  /** Squared norm of each (centered) row of X. */
  rowSqX: Float64Array;
  /** Same for Y, null when Y was not given. */
  rowSqY: Float64Array | null;
}

export type RealArray = Float32Array | Float64Array;

export interface LinalgAddon {
  linalgFeatureGram(
    x: RealArray,
    n: number,
    px: number,
    y: RealArray | null,
    py: number,
    center: boolean,
    isa?: string,
    threads?: number,
  ): Promise<FeatureGramRaw>;
  linalgSampleGram(
    x: RealArray,
    n: number,
    p: number,
    center: boolean,
    kind: 'dot' | 'sqdist',
    isa?: string,
    threads?: number,
  ): Promise<Float64Array>;
}
