/**
 * Result types of `matrix` and `study`. Matrices are N×N arrays of arrays
 * (row i, column j = distance from model i to model j) so that JSON output is
 * directly readable; every number a report shows is in here.
 */
import type { Chao1Result } from './richness';
import type { Clustering } from './clustering';
import type { MantelResult } from './correlation';
import type { Point2 } from './embedding';
import type { RepresentationMatrices } from '../views/representations';

import type { WeightMethod } from '../views/weights';

export { WEIGHT_METHODS, type WeightMethod } from '../views/weights';

export interface WeightMatrices {
  /** Methods requested; a method that could not be computed is listed in `skipped`. */
  methods: WeightMethod[];
  raw?: number[][];
  canonical?: number[][];
  /** Not symmetric: aligned[i][j] is model j aligned to model i, in i's frame (see `definitions`). */
  aligned?: number[][];
  /** What each computed matrix holds (row/column convention included), in plain words. */
  definitions?: Partial<Record<WeightMethod, string>>;
  /** Why weight matrices (or some methods) are missing, e.g. architectures differ. */
  skipped?: string;
}

export interface MatrixResult {
  /** Display names (file names, or names given with in-memory outputs). */
  models: string[];
  /** Functional measure (registry name), e.g. "js". */
  metric: string;
  /** epsilon: the smoothing applied before the measure, when one was. */
  /**
   * samples: rows compared (for sequence outputs, counted tokens; sequences then says how many
   * sequences they came from, classAxis which axis held the classes, mask where the mask came
   * from (null: none), skippedSequences how many sequences had no counted position, and intervals resample whole sequences).
   */
  probe: {
    samples: number;
    classes: number;
    outputKind: string;
    epsilon?: number;
    sequences?: number;
    classAxis?: number;
    mask?: string | null;
    /** Sequences with no counted position: left out, and counted here (0 when none). */
    skippedSequences?: number;
    uncertainty?: 'cluster bootstrap over sequences';
  };
  /** N×N mean per-sample divergence on the probe set (row = first argument). */
  functional: number[][];
  weights: WeightMatrices;
  /** With options.layers: CKA-family matrices at that layer (representationMatrices). */
  representations?: RepresentationMatrices;
}

export interface PairRecord {
  i: number;
  j: number;
  a: string;
  b: string;
  /** Mean over the probe set, its standard error, and (when bootstrapped) the 95% percentile interval. */
  functional: { mean: number; reverse: number; se: number; ci95: [number, number] | null };
  /** Weight distances of this pair for each available method: the matrices' entries, (w[i][j] + w[j][i]) / 2 for aligned. */
  weights: Partial<Record<WeightMethod, number>>;
  sameSolution: boolean;
}

export interface ThresholdInfo {
  value: number;
  /** 'bootstrap': derived from the probe set's noise (default); 'user': given. */
  source: 'bootstrap' | 'user';
  /** Plain-words definition written into the JSON and the report. */
  definition: string;
  /** Pairs and resamples the bootstrap used. */
  pairsUsed: number;
  resamples: number;
}

export interface WeightCorrelation {
  method: WeightMethod;
  spearman: MantelResult;
  /** Null when a matrix has non-finite entries (Pearson needs finite values). */
  pearson: MantelResult | null;
  /** Least-squares line functional ≈ slope·weight + intercept over all pairs. */
  fit: { slope: number; intercept: number } | null;
}

export interface StudyMaps {
  /** Classical MDS of the functional distance matrix. */
  mds: Point2[];
  /** t-SNE of the concatenated predictions (null below 4 models). */
  tsne: Point2[] | null;
  /** UMAP of the functional distance matrix (null below 4 models). */
  umap: Point2[] | null;
}

export interface StudyResult extends MatrixResult {
  seed: number;
  /** Accuracy of each model on the labels, when labels were given. */
  accuracy: number[] | null;
  threshold: ThresholdInfo;
  clustering: Clustering;
  /** Distinct solutions and Chao1 over the `counted` models (all of them unless the study was told which are independent runs). */
  solutions: Chao1Result & { expectedAfterDoubling: number; counted: string[] };
  correlations: WeightCorrelation[];
  maps: StudyMaps;
  pairs: PairRecord[];
}
