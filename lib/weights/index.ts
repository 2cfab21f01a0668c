/**
 * Weight-space comparison of two ONNX models (library entry points):
 * - raw: every floating-point initializer, matched by name;
 * - canonical: each model put in the canonical baseline form on its own
 *   (BatchNorm folded, scale/sign normalized, units sorted by a key);
 * - aligned: both normalized, then B's units permuted to best match A's
 *   (weight matching, or activation matching on a probe set); the distance
 *   is measured between the normalized networks, and the rewritten B is put
 *   back into A's own scale/sign frame (see aligned.ts).
 * Each reports L2, relative and cosine per tensor and in total, and the
 * rewritten B (canonical, aligned) as ONNX bytes computing B's function.
 */
import { check } from '../errors';
import { type OnnxSource, encodeOnnx, readOnnx } from '../io/onnx';
import { type WeightDistanceOptions, type WeightDistanceResult, SORT_KEYS, weightsContext, weightsView } from '../views/weights';
import type { AlignOptions, AlignmentInfo } from './alignment';
import type { WeightDistanceSummary } from './distance';
import { buildNetwork } from './graph';
import type { SortKey } from './kernels';
import { canonicalizeNetwork } from './symmetry';
import { writeNetwork } from './writeback';

export type { WeightDistanceSummary, TensorDistance } from './distance';
export type { SortKey } from './kernels';
export { type AlignOptions, type AlignProbe, type AlignmentInfo, type HiddenLayerInfo, alignSettings, describeHidden } from './alignment';
export { SORT_KEYS, WEIGHT_METHODS, type WeightDistanceOptions, type WeightDistanceResult, type WeightMethod } from '../views/weights';

/** Raw, canonical and aligned distances between two models: the weights view's prepare, prepare, pair (lib/views/weights.ts). */
export async function weightDistance(a: OnnxSource, b: OnnxSource, options: WeightDistanceOptions = {}): Promise<WeightDistanceResult> {
  const context = weightsContext(options, true);
  // Nothing is awaited before pair: raw distances read their pairs before the first await.
  return weightsView.pair(weightsView.prepare(a, context), weightsView.prepare(b, context), context);
}

/** The canonical form of one model (BatchNorm folded, normalized, sorted), as ONNX bytes computing the same function. */
export function canonicalize(model: OnnxSource, options: { sortKey?: SortKey } = {}): Uint8Array {
  checkSortKey(options.sortKey);
  const net = buildNetwork(readOnnx(model));
  canonicalizeNetwork(net, options.sortKey);
  return encodeOnnx(writeNetwork(net));
}

export interface AlignResult {
  /** B rewritten into A's frame (BatchNorm folded, permuted, A's unit scales/signs): same function as B. */
  model: Uint8Array;
  /** Distance between the scale/sign-normalized A and the matched, normalized B. */
  distance: WeightDistanceSummary;
  alignment: AlignmentInfo;
}

/** B aligned to A (the weights view's aligned method), and B rewritten into A's frame. */
export async function align(a: OnnxSource, b: OnnxSource, options: AlignOptions = {}): Promise<AlignResult> {
  const context = weightsContext({ ...options, methods: ['aligned'] }, true);
  const r = await weightsView.pair(weightsView.prepare(a, context), weightsView.prepare(b, context), context);
  return { model: r.models.aligned as Uint8Array, distance: r.aligned as WeightDistanceSummary, alignment: r.alignment as AlignmentInfo };
}

function checkSortKey(key: SortKey | undefined): void {
  if (key !== undefined) check(SORT_KEYS.includes(key), 'INVALID_ARGUMENT', `unknown sort key "${key}" (${SORT_KEYS.join(', ')})`);
}
