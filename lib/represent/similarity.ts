/**
 * representationSimilarity(X, Y, measures): every representation measure on
 * two activation matrices over the same samples, sharing the expensive Grams
 * between measures (one feature-space pass for linear CKA, Procrustes and the
 * CCA family; n×n sample-space matrices only where needed).
 */
import { check } from '../errors';
import type { Matrix } from '../matrix';
import { representationMeasures } from '../measures/representations';
import { optionsObject } from '../util/options';
import { canonicalCorrelations, procrustesDistance } from './cca';
import { type FeatureGrams, type KernelOptions, featureGrams, sampleGram } from './gram';
import { ckaFromHsic, clampToRange, frobenius2, hsicBiased, hsicUnbiased, linearHsicFromFeatures, roundingTolerance, summarize } from './hsic';
import { checkPair } from './matrix';
import { rbfGramInPlace } from './rbf';

/** The representation-view measures, from the registry (lib/measures/representations.ts). */
export type RepresentationMeasureName = (typeof representationMeasures)[number]['name'];
export const REPRESENTATION_MEASURES: readonly RepresentationMeasureName[] = representationMeasures.map((m) => m.name);

export interface RepresentationOptions extends KernelOptions {
  /**
   * Where linear CKA is computed: `feature` (p×p Grams XᵀY, O(n·p²)),
   * `sample` (n×n Grams, O(n²·p)), or `auto` (default): feature unless
   * px + py > n or px + py > maxFeatureGram. Both give the same value up to rounding.
   */
  space?: 'auto' | 'feature' | 'sample';
  /** RBF bandwidth multiplier σ (h = σ·median distance). Default 0.8. */
  sigma?: number;
  /** SVCCA: fraction of variance the kept SVD directions explain. Default 0.99. */
  svccaVariance?: number;
  /** CCA: relative eigenvalue below which a direction is treated as zero variance. Default 1e-10. */
  rankTolerance?: number;
  /** Largest n for which n×n matrices are formed (RBF, sample-space CKA). Default 8192 (512 MiB each). */
  maxSampleGram?: number;
  /** Largest px + py for which the (px+py)² feature-space Gram is formed. Default 4096 (128 MiB, plus per-thread partials). */
  maxFeatureGram?: number;
  /**
   * Largest units per side for the CCA family and Procrustes, whose p×p
   * eigen/singular value decompositions (ml-matrix, O(p³) in JS) take minutes
   * beyond it. Default 2048.
   */
  maxDecomposition?: number;
}

/**
 * Why a measure has no value (null) on a pair: `constant` — that side has the same
 * representation for every sample, so every measure is 0/0; `degenerate` — that side has
 * variance, but not for this estimator (debiased CKA on too few distinct samples, RBF CKA when
 * most samples coincide and the median distance is 0). x is the first matrix, y the second.
 */
export type UndefinedReason = `${'constant' | 'degenerate'}-${'x' | 'y' | 'both'}`;

/** An UndefinedReason in words, naming the two sides (default X and Y): "constant in model B". */
export function undefinedWords(reason: UndefinedReason, names: [string, string] = ['X', 'Y']): string {
  const [why, side] = reason.split('-') as ['constant' | 'degenerate', 'x' | 'y' | 'both'];
  const where = side === 'both' ? `${names[0]} and ${names[1]}` : names[side === 'x' ? 0 : 1];
  return why === 'constant' ? `constant in ${where}` : `no variance for this estimator in ${where}`;
}

function sideOf(x: boolean, y: boolean): 'x' | 'y' | 'both' {
  return x && y ? 'both' : x ? 'x' : 'y';
}

/** Every sample has exactly the same representation (each column constant). */
export function isConstant(m: Matrix): boolean {
  const { data, n, k } = m;
  for (let r = 1; r < n; r++) for (let j = 0; j < k; j++) if (data[r * k + j] !== data[j]) return false;
  return true;
}

export interface RepresentationResult {
  n: number;
  px: number;
  py: number;
  /**
   * One value per requested measure: similarities in [0, 1] (debiased CKA in [−1, 1]: it is
   * ≈0 for unrelated representations and may dip below 0); procrustes is a distance in [0, 2].
   * `null` where the measure is undefined (0/0), with the reason in `undefinedBecause`.
   */
  values: Partial<Record<RepresentationMeasureName, number | null>>;
  /** Why each null value is undefined; present only when some value is null. */
  undefinedBecause?: Partial<Record<RepresentationMeasureName, UndefinedReason>>;
  /** Where linear CKA was computed, if requested. */
  space?: 'feature' | 'sample';
  /** RBF bandwidths used for X and Y, if cka-rbf was requested. */
  bandwidth?: { x: number; y: number };
  /** Number of canonical correlations behind cca-mean/pwcca and svcca, if requested. */
  ccaDirections?: { cca?: number; svcca?: number };
  /** Caveats about the values (e.g. CCA with more directions than samples), for people to read. */
  warnings: string[];
}

function identical(x: Matrix, y: Matrix): boolean {
  if (x.k !== y.k) return false;
  for (let i = 0; i < x.data.length; i++) if (x.data[i] !== y.data[i]) return false;
  return true;
}

export function isRepresentationMeasure(name: string): name is RepresentationMeasureName {
  return (REPRESENTATION_MEASURES as readonly string[]).includes(name);
}

function validateOptions(o: RepresentationOptions): void {
  const sigma = o.sigma ?? 0.8;
  check(Number.isFinite(sigma) && sigma > 0, 'INVALID_ARGUMENT', `sigma must be a positive number, got ${o.sigma}`);
  const v = o.svccaVariance ?? 0.99;
  check(Number.isFinite(v) && v > 0 && v <= 1, 'INVALID_ARGUMENT', `svccaVariance must be in (0, 1], got ${o.svccaVariance}`);
  const tol = o.rankTolerance ?? 1e-10;
  check(Number.isFinite(tol) && tol >= 0 && tol < 1, 'INVALID_ARGUMENT', `rankTolerance must be in [0, 1), got ${o.rankTolerance}`);
  check(
    o.space === undefined || o.space === 'auto' || o.space === 'feature' || o.space === 'sample',
    'INVALID_ARGUMENT',
    `space must be auto, feature or sample, got ${o.space}`,
  );
}

/**
 * Centered data lives in n−1 dimensions, so when rank X + rank Y > n−1 the
 * two column spaces must share directions and that many canonical
 * correlations are 1 whatever the data: the CCA values say little.
 */
function degenerate(result: RepresentationResult, what: string, rx: number, ry: number): void {
  const forced = rx + ry - (result.n - 1);
  if (forced > 0) {
    result.warnings.push(
      `${what}: ${rx} + ${ry} directions for ${result.n} samples, so at least ${forced} canonical correlations are 1 regardless of the data; use more samples or fewer features (e.g. spatial averaging of conv maps)`,
    );
  }
}

export async function representationSimilarity(
  x: Matrix,
  y: Matrix,
  measures: readonly RepresentationMeasureName[] = ['cka-linear'],
  options: RepresentationOptions = {},
): Promise<RepresentationResult> {
  checkPair(x, y);
  options = optionsObject(options, 'representationSimilarity');
  validateOptions(options);
  check(measures.length > 0, 'INVALID_ARGUMENT', 'no representation measure requested');
  for (const m of measures) {
    check(isRepresentationMeasure(m), 'INVALID_ARGUMENT', `unknown representation measure "${m}" (known: ${REPRESENTATION_MEASURES.join(', ')})`);
  }
  const n = x.n;
  const want = new Set(measures);
  const result: RepresentationResult = { n, px: x.k, py: y.k, values: {}, warnings: [] };
  const undefinedAs = (m: RepresentationMeasureName, reason: UndefinedReason) => {
    result.values[m] = null;
    result.undefinedBecause = { ...result.undefinedBecause, [m]: reason };
  };
  // A constant side makes every measure 0/0: no value, never a number made of rounding noise.
  const constantX = isConstant(x);
  const constantY = isConstant(y);
  if (constantX || constantY) {
    for (const m of measures) undefinedAs(m, `constant-${sideOf(constantX, constantY)}`);
    return result;
  }
  const tolerance = roundingTolerance(n, x.k, y.k);
  // CKA's true range (the registry's): biased HSIC is an inner product of PSD Grams, so [0, 1];
  // the debiased one an inner product of U-centred Grams, so [−1, 1] by Cauchy–Schwarz.
  // The debiased self-terms are sums of terms of size ‖XcᵀXc‖²_F/(n(n−3)) that may cancel to 0:
  // at most `tolerance` of that size, they are 0 up to rounding.
  const floorOf = (m: RepresentationMeasureName, selfFrob2: number) => (m === 'cka-linear-debiased' ? (tolerance * selfFrob2) / (n * (n - 3)) : 0);
  const setCka = (m: RepresentationMeasureName, kl: number, kk: number, ll: number, selfFrob2: [number, number] = [0, 0]) => {
    const floors: [number, number] = [floorOf(m, selfFrob2[0]), floorOf(m, selfFrob2[1])];
    const v = ckaFromHsic(kl, kk, ll, m, floors);
    if (v === null) undefinedAs(m, `degenerate-${sideOf(!(kk > floors[0]), !(ll > floors[1]))}`);
    else result.values[m] = clampToRange(v, m === 'cka-linear-debiased' ? -1 : 0, 1, tolerance, m);
  };
  const maxN = options.maxSampleGram ?? 8192;
  const needN2 = (what: string) =>
    check(
      n <= maxN,
      'INVALID_ARGUMENT',
      `${what} needs n×n matrices and n = ${n} exceeds maxSampleGram = ${maxN}: use fewer probe samples or raise the limit`,
    );

  const linear = want.has('cka-linear') || want.has('cka-linear-debiased');
  const maxP = options.maxFeatureGram ?? 4096;
  const space = options.space && options.space !== 'auto' ? options.space : x.k + y.k > Math.min(n, maxP) ? 'sample' : 'feature';
  const needFeatures =
    (linear && space === 'feature') || want.has('procrustes') || want.has('cca-mean') || want.has('svcca') || want.has('pwcca');
  const decompositions = measures.filter((m) => m === 'procrustes' || m === 'cca-mean' || m === 'svcca' || m === 'pwcca');
  const maxDec = options.maxDecomposition ?? 2048;
  check(
    decompositions.length === 0 || Math.max(x.k, y.k) <= maxDec,
    'INVALID_ARGUMENT',
    `${decompositions.join(', ')} on ${Math.max(x.k, y.k)} units exceeds maxDecomposition = ${maxDec} (their p×p decompositions grow as p³): ` +
      "average conv maps over space (options.spatial 'mean'), pick a narrower layer, or raise the limit",
  );
  check(
    !needFeatures || x.k + y.k <= maxP,
    'INVALID_ARGUMENT',
    `px + py = ${x.k + y.k} exceeds maxFeatureGram = ${maxP} for the feature-space Gram: use sample-space linear CKA (space: sample), fewer units, or raise the limit`,
  );
  let g: FeatureGrams | undefined;
  if (needFeatures) g = await featureGrams(x, y, options);

  if (linear) {
    result.space = space;
    if (space === 'feature') {
      const f = g as FeatureGrams;
      const fxy = frobenius2(f.xy);
      const fxx = frobenius2(f.xx);
      const fyy = frobenius2(f.yy);
      for (const debiased of [false, true]) {
        const name = debiased ? 'cka-linear-debiased' : 'cka-linear';
        if (!want.has(name)) continue;
        const h = (c: number, a: Float64Array, b: Float64Array) => linearHsicFromFeatures(c, a, b, n, debiased);
        setCka(name, h(fxy, f.rowSqX, f.rowSqY), h(fxx, f.rowSqX, f.rowSqX), h(fyy, f.rowSqY, f.rowSqY), [fxx, fyy]);
      }
    } else {
      needN2('sample-space linear CKA');
      const K = summarize(await sampleGram(x, 'dot', options), n);
      const L = summarize(await sampleGram(y, 'dot', options), n);
      if (want.has('cka-linear')) setCka('cka-linear', hsicBiased(K, L), hsicBiased(K, K), hsicBiased(L, L));
      if (want.has('cka-linear-debiased')) {
        setCka('cka-linear-debiased', hsicUnbiased(K, L), hsicUnbiased(K, K), hsicUnbiased(L, L), [frobenius2(K.K), frobenius2(L.K)]);
      }
    }
  }

  if (want.has('cka-rbf')) {
    needN2('cka-rbf');
    const sigma = options.sigma ?? 0.8;
    const dx = await sampleGram(x, 'sqdist', options);
    const hx = rbfGramInPlace(dx, n, sigma);
    const dy = await sampleGram(y, 'sqdist', options);
    const hy = rbfGramInPlace(dy, n, sigma);
    if (hx === null || hy === null) undefinedAs('cka-rbf', `degenerate-${sideOf(hx === null, hy === null)}`);
    else {
      const K = summarize(dx, n);
      const L = summarize(dy, n);
      setCka('cka-rbf', hsicBiased(K, L), hsicBiased(K, K), hsicBiased(L, L));
      result.bandwidth = { x: hx, y: hy };
    }
  }

  if (g) {
    const tol = options.rankTolerance ?? 1e-10;
    // A distance of identical inputs is exactly 0 (docs/design.md); the SVD's nuclear
    // norm would otherwise differ from the trace in the last bits.
    if (want.has('procrustes')) result.values.procrustes = identical(x, y) ? 0 : procrustesDistance(g);
    if (want.has('cca-mean') || want.has('pwcca')) {
      const c = canonicalCorrelations(g, { rankTolerance: tol });
      degenerate(result, 'cca-mean/pwcca', c.keptX, c.keptY);
      if (want.has('cca-mean')) result.values['cca-mean'] = c.correlations.reduce((a, b) => a + b, 0) / c.correlations.length;
      if (want.has('pwcca')) result.values.pwcca = c.correlations.reduce((s, rho, i) => s + rho * c.weights[i], 0);
      result.ccaDirections = { ...result.ccaDirections, cca: c.correlations.length };
    }
    if (want.has('svcca')) {
      const c = canonicalCorrelations(g, { rankTolerance: tol, variance: options.svccaVariance ?? 0.99 });
      degenerate(result, 'svcca', c.keptX, c.keptY);
      result.values.svcca = c.correlations.reduce((a, b) => a + b, 0) / c.correlations.length;
      result.ccaDirections = { ...result.ccaDirections, svcca: c.correlations.length };
    }
  }
  return result;
}
