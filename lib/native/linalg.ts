/**
 * Raw addon surface of the Gram kernels (binding/linalg.cpp, src/linalg.cpp).
 * Use the validated wrappers in `lib/represent/gram.ts` instead of calling these
 * directly. A NaN/Inf in x or y fails with code 'NON_FINITE' (input 0 = x, 1 = y, and the row).
 */
import type { AddonCall, KernelCallOptions, RealArray } from './types';

export type { RealArray } from './types';

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

export interface FeatureGramCall extends KernelCallOptions {
  x: RealArray;
  n: number;
  px: number;
  y?: RealArray;
  py?: number;
  center: boolean;
}

export interface SampleGramCall extends KernelCallOptions {
  x: RealArray;
  n: number;
  p: number;
  center: boolean;
  kind: 'dot' | 'sqdist';
}

export type LinalgAddon = AddonCall<'featureGram', FeatureGramCall, FeatureGramRaw> & AddonCall<'sampleGram', SampleGramCall, Float64Array>;
