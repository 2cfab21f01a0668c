/**
 * Weight-space measures: L2, relative and cosine, each for raw initializers,
 * the canonical baseline and aligned weights (`modeldiff weights`; JSON
 * `raw.l2`, `canonical.relative`, `aligned.cosine`, ...).
 *
 * Names are `<method>-<stat>`: raw-l2, raw-relative, raw-cosine, canonical-l2,
 * canonical-relative, canonical-cosine, aligned-l2, aligned-relative, aligned-cosine. The
 * statistics are computed in TypeScript (weightDistances, lib/weights/distance.ts) on what the
 * weights view pairs (lib/views/weights.ts). Per method: raw = initializers matched by name
 * (lib/weights/architecture.ts); canonical = lib/weights/canonical-stream.ts on the kernels
 * normalizeScaleSync / fixSignSync / sortKeysSync (lib/weights/kernels.ts →
 * binding/canonical.cpp → src/canonical.cpp); aligned = lib/weights/aligned.ts, by weight
 * matching (lib/weights/matching.ts: matchingSimilarity → binding/matching.cpp →
 * src/matching*.cpp, and linearSumAssignment → binding/assignment.cpp → src/assignment*.cpp)
 * or activation matching (lib/weights/activation-matching.ts). CLI: `weights --method
 * <method>`, `matrix --weights <methods>`.
 */
import type { MeasureInfo } from './registry';

/** The weight-view methods, one per key (the order `weights` reports them in): what each compares and is invariant to. */
export const weightMethods = {
  raw: {
    invariantTo: [] as string[],
    what: 'floating-point initializers as stored, matched by name',
  },
  canonical: {
    invariantTo: ['BatchNorm folding', 'positive rescaling of hidden units (homogeneous activations)', 'sign flips (odd activations)', 'hidden-unit permutation (unless sort keys nearly tie)'],
    what: 'each model in canonical form (BatchNorm folded, units scale/sign-normalized, sorted by a key)',
  },
  aligned: {
    // Both models are normalized and B is matched to A; the distance is taken between the
    // normalized networks, so neither model's unit scales or signs affect it.
    invariantTo: ['BatchNorm folding', "positive rescaling of either model's hidden units (homogeneous activations)", "sign flips of either model's units (odd activations)", 'hidden-unit permutation'],
    what: "B's units matched to A's (weight or activation matching), both scale/sign-normalized",
  },
};

/** 'raw' | 'canonical' | 'aligned', derived from the registry above. */
export type WeightMethod = keyof typeof weightMethods;
/** The statistic each method reports. */
export type WeightStat = 'l2' | 'relative' | 'cosine';
/** 'raw-l2', 'aligned-cosine', ...: every weight measure's name. */
export type WeightMeasureName = `${WeightMethod}-${WeightStat}`;

export const weightMeasures: readonly (MeasureInfo & { name: WeightMeasureName })[] = (Object.keys(weightMethods) as WeightMethod[]).flatMap((m) => [
  {
    name: `${m}-l2` as const,
    view: 'weights' as const,
    range: [0, Infinity] as [number, number],
    largerIsSimilar: false,
    symmetric: m !== 'aligned',
    metric: m !== 'aligned',
    invariantTo: weightMethods[m].invariantTo,
    units: 'weight units (L2 norm)',
    description: `‖a − b‖ over ${weightMethods[m].what}`,
  },
  {
    name: `${m}-relative` as const,
    view: 'weights' as const,
    range: [0, Infinity] as [number, number],
    largerIsSimilar: false,
    symmetric: m !== 'aligned',
    metric: false,
    invariantTo: [...weightMethods[m].invariantTo, 'common rescaling of both models'],
    units: 'dimensionless',
    description: `‖a − b‖ / sqrt(‖a‖·‖b‖) over ${weightMethods[m].what}`,
  },
  {
    name: `${m}-cosine` as const,
    view: 'weights' as const,
    range: [-1, 1] as [number, number],
    largerIsSimilar: true,
    symmetric: m !== 'aligned',
    metric: false,
    invariantTo: [...weightMethods[m].invariantTo, 'rescaling of either model'],
    units: 'cosine similarity',
    description: `a·b / (‖a‖‖b‖) over ${weightMethods[m].what}`,
  },
]);

/** A registry name ('aligned-relative', ...) → its value in a weightDistance result (undefined if that method did not run). */
export function weightMeasureValue(
  result: Partial<Record<WeightMethod, Record<WeightStat, number>>>,
  name: string,
): number | undefined {
  const [method, stat] = name.split('-') as [WeightMethod, WeightStat];
  return result[method]?.[stat];
}
