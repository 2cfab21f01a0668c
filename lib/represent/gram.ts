/**
 * Validated wrappers over the C++ Gram kernels (src/linalg.cpp): the heavy
 * O(n·p²) and O(n²·p) products, in float64, off the main thread.
 */
import type { Matrix } from '../matrix';
import { callNative, checkKernelOptions } from '../native/call';
import type { Isa } from '../native/capabilities';
import { checkActivations, checkSameSamples } from './matrix';

export interface KernelOptions {
  /** Force a SIMD path (tests, benchmarks); default: the best supported. */
  isa?: Isa;
  /** Worker threads; default: all hardware threads. */
  threads?: number;
}

/** Column-centered feature-space Grams of a pair X (n×px), Y (n×py). */
export interface FeatureGrams {
  n: number;
  px: number;
  py: number;
  /** Xcᵀ·Xc, px×px row-major. */
  xx: Float64Array;
  /** Ycᵀ·Yc, py×py. */
  yy: Float64Array;
  /** Xcᵀ·Yc, px×py. */
  xy: Float64Array;
  /** ‖row i of Xc‖², the diagonal of the sample-space Gram (debiased HSIC needs it). */
  rowSqX: Float64Array;
  rowSqY: Float64Array;
}

/** Xcᵀ·Xc, Xcᵀ·Yc, Ycᵀ·Yc and centered row norms, in one pass over [X | Y]. */
export async function featureGrams(x: Matrix, y: Matrix, options: KernelOptions = {}): Promise<FeatureGrams> {
  checkSameSamples(x, y, 'feature Gram: X', 'feature Gram: Y');
  checkKernelOptions(options, 'feature Gram');
  const raw = await callNative(
    'featureGram',
    { x: x.data, n: x.n, px: x.k, y: y.data, py: y.k, center: true, isa: options.isa, threads: options.threads },
    { what: 'feature Gram', inputs: ['X', 'Y'], located: true },
  );
  const P = x.k + y.k;
  const xx = new Float64Array(x.k * x.k);
  const yy = new Float64Array(y.k * y.k);
  const xy = new Float64Array(x.k * y.k);
  for (let i = 0; i < x.k; i++) {
    xx.set(raw.gram.subarray(i * P, i * P + x.k), i * x.k);
    xy.set(raw.gram.subarray(i * P + x.k, i * P + P), i * y.k);
  }
  for (let i = 0; i < y.k; i++) yy.set(raw.gram.subarray((x.k + i) * P + x.k, (x.k + i + 1) * P), i * y.k);
  return { n: x.n, px: x.k, py: y.k, xx, yy, xy, rowSqX: raw.rowSqX, rowSqY: raw.rowSqY as Float64Array };
}

/**
 * Sample-space n×n matrix of X: the centered linear Gram Xc·Xcᵀ (`dot`) or
 * squared Euclidean distances between samples (`sqdist`).
 */
export async function sampleGram(x: Matrix, kind: 'dot' | 'sqdist', options: KernelOptions = {}): Promise<Float64Array> {
  checkActivations(x, 'sample Gram: X');
  checkKernelOptions(options, 'sample Gram');
  return callNative(
    'sampleGram',
    { x: x.data, n: x.n, p: x.k, center: true, kind, isa: options.isa, threads: options.threads },
    { what: 'sample Gram', inputs: ['X'], located: true },
  );
}
