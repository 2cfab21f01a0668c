/**
 * Representation-view measures: how similar two models' hidden activations
 * are on the same probe set (lib/represent/). X (n×px) and Y (n×py) are the
 * two layers' activations, rows = samples; Xc, Yc are column-centered.
 *
 * Each name is one case of representationSimilarity (lib/represent/similarity.ts; HSIC in
 * hsic.ts, the RBF kernel in rbf.ts, the CCA family in cca.ts), on Gram matrices from
 * featureGrams / sampleGram (lib/represent/gram.ts → binding/linalg.cpp `featureGram[Sync]`,
 * `sampleGram[Sync]` → src/linalg*.cpp). CLI: `cka --metric <name>` (`matrix --layers` for
 * cka-linear).
 */
import type { MeasureInfo } from './registry';

/** The invariance vocabulary the property tests check (test/cka-registry.test.ts). */
export const REPRESENTATION_INVARIANCES = {
  orthogonal: 'orthogonal transforms of the features (X → XQ)',
  isotropicScale: 'isotropic scaling (X → cX, c > 0)',
  translation: 'translation of the features (X → X + 1bᵀ)',
  invertibleLinear: 'invertible linear transforms of the features (X → XA)',
  permutation: 'permutation of the units',
} as const;

const I = REPRESENTATION_INVARIANCES;
const similarityUnits = 'similarity (1 = identical up to the invariances)';

/** `as const`: RepresentationMeasureName (lib/represent/similarity.ts) is derived from this list. */
export const representationMeasures = [
  {
    name: 'cka-linear',
    view: 'representations',
    range: [0, 1],
    largerIsSimilar: true,
    symmetric: true,
    metric: false,
    invariantTo: [I.orthogonal, I.isotropicScale, I.translation, I.permutation],
    units: similarityUnits,
    description: 'linear CKA (Kornblith et al. 2019): ‖XcᵀYc‖²_F / (‖XcᵀXc‖_F·‖YcᵀYc‖_F), biased HSIC',
  },
  {
    name: 'cka-linear-debiased',
    view: 'representations',
    range: [-1, 1],
    largerIsSimilar: true,
    symmetric: true,
    metric: false,
    invariantTo: [I.orthogonal, I.isotropicScale, I.translation, I.permutation],
    units: similarityUnits,
    description: 'linear CKA from the unbiased HSIC estimator (Song et al. 2012; Nguyen et al. 2021): ≈0 for independent representations at any n; needs n ≥ 4',
  },
  {
    name: 'cka-rbf',
    view: 'representations',
    range: [0, 1],
    largerIsSimilar: true,
    symmetric: true,
    metric: false,
    invariantTo: [I.orthogonal, I.isotropicScale, I.translation, I.permutation],
    units: similarityUnits,
    description: 'RBF-kernel CKA, bandwidth h = σ·median pairwise distance (σ = 0.8 by default, options.sigma), biased HSIC; forms n×n matrices',
  },
  {
    name: 'procrustes',
    view: 'representations',
    range: [0, 2],
    largerIsSimilar: false,
    symmetric: true,
    metric: false,
    invariantTo: [I.orthogonal, I.isotropicScale, I.translation, I.permutation],
    units: 'squared distance between unit-norm centered representations',
    description: 'orthogonal Procrustes distance 2 − 2‖XcᵀYc‖_* / (‖Xc‖_F‖Yc‖_F) (its square root is a metric)',
  },
  {
    name: 'cca-mean',
    view: 'representations',
    range: [0, 1],
    largerIsSimilar: true,
    symmetric: true,
    metric: false,
    invariantTo: [I.invertibleLinear, I.orthogonal, I.isotropicScale, I.translation, I.permutation],
    units: 'mean canonical correlation',
    description: 'mean of the canonical correlations between Xc and Yc (zero-variance directions dropped)',
  },
  {
    name: 'svcca',
    view: 'representations',
    range: [0, 1],
    largerIsSimilar: true,
    symmetric: true,
    metric: false,
    invariantTo: [I.orthogonal, I.isotropicScale, I.translation, I.permutation],
    units: 'mean canonical correlation',
    description: 'SVCCA (Raghu et al. 2017): mean CCA after keeping each side\'s top SVD directions explaining 99% of its variance',
  },
  {
    name: 'pwcca',
    view: 'representations',
    range: [0, 1],
    largerIsSimilar: true,
    symmetric: false,
    metric: false,
    invariantTo: [I.isotropicScale, I.translation, I.permutation], // not rotations: the weights sum |projections| onto individual units
    units: 'weighted mean canonical correlation',
    description: 'projection-weighted CCA (Morcos et al. 2018): canonical correlations weighted by how much of the smaller side\'s units each canonical variate accounts for',
  },
] as const satisfies readonly MeasureInfo[];
