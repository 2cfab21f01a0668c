/**
 * Path-view measures: mode connectivity along θ(α) = (1−α)θ_A + αθ_B
 * (lib/path/). The barrier is max_α [f(θ(α)) − ((1−α)f(θ_A) + αf(θ_B))] for
 * f = loss or error on a labelled probe set (Frankle et al. 2020; Entezari et al. 2022).
 *
 * No kernel of their own: lossBarrier (lib/path/barrier.ts; JSON `naive.lossBarrier`,
 * `naive.errorBarrier`, and `aligned.lossBarrier`, `aligned.errorBarrier` for the -aligned
 * ones) runs onnxruntime along the path (lib/path/interpolate.ts, lib/path/loss.ts); the
 * -aligned ones first align B with `align` (lib/weights/index.ts, lib/weights/aligned.ts).
 * CLI: `barrier` (`--align` for the -aligned ones).
 */
import type { MeasureInfo } from './registry';

const naive = 'reversing the path (swapping A and B)';
const perm = 'permuting B\'s hidden units (and scaling / sign symmetries weight matching removes)';

/** `as const`: PathMeasureName is derived from this list. */
export const pathMeasures = [
  {
    name: 'loss-barrier',
    view: 'path',
    range: [0, Infinity],
    largerIsSimilar: false,
    symmetric: true,
    metric: false,
    invariantTo: [naive],
    units: 'nats (cross-entropy)',
    description: 'largest rise of the probe-set cross-entropy above the straight line between the endpoints, on the linear path between the weights',
  },
  {
    name: 'error-barrier',
    view: 'path',
    range: [0, 1],
    largerIsSimilar: false,
    symmetric: true,
    metric: false,
    invariantTo: [naive],
    units: 'fraction of samples',
    description: 'the same for the error rate (argmax ≠ label)',
  },
  {
    name: 'loss-barrier-aligned',
    view: 'path',
    range: [0, Infinity],
    largerIsSimilar: false,
    symmetric: false,
    metric: false,
    invariantTo: [perm],
    units: 'nats (cross-entropy)',
    description: 'loss barrier after aligning B to A by weight matching (Ainsworth et al. 2022), on BatchNorm-folded weights',
  },
  {
    name: 'error-barrier-aligned',
    view: 'path',
    range: [0, 1],
    largerIsSimilar: false,
    symmetric: false,
    metric: false,
    invariantTo: [perm],
    units: 'fraction of samples',
    description: 'error barrier after aligning B to A by weight matching',
  },
] as const satisfies readonly MeasureInfo[];

/** 'loss-barrier', 'error-barrier-aligned', ...: every path measure's name. */
export type PathMeasureName = (typeof pathMeasures)[number]['name'];
