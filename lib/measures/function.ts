/**
 * Function-view measures: how differently two models behave on the same probe set. Per-sample
 * values come from the divergence kernels (lib/function/divergence.ts); a probe-set value is
 * the mean over samples, except kappa, which is computed from the two argmax labelings.
 *
 * p and q are the two models' class distributions for one sample (softmax of logits, given
 * probabilities, or [1 − s, s] for a sigmoid output); x and y the raw output rows.
 *
 * Where a name leads (grep it): the kernels' name table `kNames` in src/divergence.cpp (the
 * enum in src/divergence.hpp, the per-ISA bodies in src/divergence_kernel.hpp), the binding
 * binding/divergence.cpp (`divergencePerSample[Sync]`, `divergencePairwise[Sync]`, generic
 * over names), the wrappers divergencePerSample / divergencePerSampleSync / pairwiseDivergence
 * in lib/function/divergence.ts, and the CLI's `--metric <name>` (compare, divergence, matrix).
 * kappa has no kernel: cohenKappa in lib/function/divergence.ts.
 */
import type { MeasureInfo } from './registry';

const LN2 = Math.LN2;
const logUnits = 'nats (bits with options.bits)';
// Applying the same class permutation to both models' outputs changes none of these except
// the ordered-class EMD (and emd-cost unless the cost matrix is permuted too).
const relabel = 'the same class permutation applied to both';
const logitShift = 'adding a constant to all logits of a row (logits outputs)';

/** `as const`: the function-view name types (lib/function/divergence.ts) are derived from this list. */
export const functionMeasures = [
  {
    name: 'kl',
    view: 'function',
    range: [0, Infinity],
    largerIsSimilar: false,
    symmetric: false,
    metric: false,
    invariantTo: [relabel, logitShift],
    units: logUnits,
    description:
      'KL(p‖q) = Σ p·log(p/q), 0·log 0 = 0; +Infinity where q = 0 < p (smooth with options.epsilon, never applied silently)',
  },
  {
    name: 'kl-reverse',
    view: 'function',
    range: [0, Infinity],
    largerIsSimilar: false,
    symmetric: false,
    metric: false,
    invariantTo: [relabel, logitShift],
    units: logUnits,
    description: 'KL(q‖p) = Σ q·log(q/p): the KL divergence with the models swapped',
  },
  {
    name: 'kl-symmetric',
    view: 'function',
    range: [0, Infinity],
    largerIsSimilar: false,
    symmetric: true,
    metric: false,
    invariantTo: [relabel, logitShift],
    units: logUnits,
    description: 'KL(p‖q) + KL(q‖p) (Jeffreys divergence: the sum, not the mean, of both directions)',
  },
  {
    name: 'js',
    view: 'function',
    range: [0, LN2],
    largerIsSimilar: false,
    symmetric: true,
    metric: false,
    invariantTo: [relabel, logitShift],
    units: logUnits,
    description: 'Jensen-Shannon divergence ½KL(p‖m) + ½KL(q‖m), m = (p+q)/2; at most ln 2 nats = 1 bit',
  },
  {
    name: 'js-distance',
    view: 'function',
    range: [0, Math.sqrt(LN2)],
    largerIsSimilar: false,
    symmetric: true,
    metric: true,
    invariantTo: [relabel, logitShift],
    units: 'sqrt of nats (sqrt of bits with options.bits; at most 1)',
    description: 'Jensen-Shannon distance sqrt(js), a metric (scipy.spatial.distance.jensenshannon)',
  },
  {
    name: 'tv',
    view: 'function',
    range: [0, 1],
    largerIsSimilar: false,
    symmetric: true,
    metric: true,
    invariantTo: [relabel, logitShift],
    units: 'probability',
    description: 'total variation ½Σ|p − q|: the largest difference in probability the models give any set of classes',
  },
  {
    name: 'hellinger',
    view: 'function',
    range: [0, 1],
    largerIsSimilar: false,
    symmetric: true,
    metric: true,
    invariantTo: [relabel, logitShift],
    units: 'unitless',
    description: 'Hellinger distance sqrt(1 − Σ sqrt(p·q)), computed as sqrt(½Σ(√p − √q)²)',
  },
  {
    name: 'emd',
    view: 'function',
    range: [0, Infinity],
    largerIsSimilar: false,
    symmetric: true,
    metric: true,
    invariantTo: [logitShift],
    units: 'class steps (at most k − 1)',
    description: "earth mover's distance on ordered classes, Σ|CDF_p − CDF_q| (classes one unit apart)",
  },
  {
    name: 'emd-cost',
    view: 'function',
    range: [0, Infinity],
    largerIsSimilar: false,
    symmetric: false,
    metric: false,
    invariantTo: [logitShift],
    units: 'cost-matrix units',
    description:
      "exact earth mover's distance (optimal transport cost) under a user k×k cost matrix, both rows scaled to unit mass; symmetric / a metric when the cost matrix is; k ≤ 128",
  },
  {
    name: 'disagreement',
    view: 'function',
    range: [0, 1],
    largerIsSimilar: false,
    symmetric: true,
    metric: true,
    invariantTo: [relabel, logitShift, 'any per-row monotone rescaling of the outputs'],
    units: 'fraction of samples',
    description: 'fraction of samples whose argmax class differs (ties go to the lowest index, as numpy)',
  },
  {
    name: 'l2',
    view: 'function',
    range: [0, Infinity],
    largerIsSimilar: false,
    symmetric: true,
    metric: true,
    invariantTo: [relabel],
    units: 'raw output units',
    description: 'Euclidean distance of the raw output rows (logits or probabilities as given)',
  },
  {
    name: 'cosine',
    view: 'function',
    range: [0, 2],
    largerIsSimilar: false,
    symmetric: true,
    metric: false,
    invariantTo: [relabel, 'positive scaling of either row'],
    units: 'unitless',
    description: 'cosine distance 1 − cos(x, y) of the raw output rows; 0 if both rows are zero, 1 if one is',
  },
  {
    name: 'kappa',
    view: 'function',
    range: [-1, 1],
    largerIsSimilar: true,
    symmetric: true,
    metric: false,
    invariantTo: [relabel, logitShift],
    units: 'unitless',
    description: "Cohen's kappa between the two argmax labelings: agreement beyond chance (1 = identical, 0 = chance)",
    setLevel: true,
  },
] as const satisfies readonly MeasureInfo[];
