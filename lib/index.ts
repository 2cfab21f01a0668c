/**
 * modeldiff: how different are two trained neural networks?
 *
 * The public API's front page: the workflows and the types they take and return. The file
 * codecs are `modeldiff/io` (lib/io/index.ts) and the numeric kernels `modeldiff/kernels`
 * (lib/kernels/index.ts). Every entry's ESM twin is generated from its export names
 * (scripts/write-esm-entry.js). The command line (lib/cli/, bin/modeldiff),
 * the demo and its zoo loader are not part of it: importing the library loads none of them
 * (nor commander).
 *
 * @module modeldiff
 */
export { ModeldiffError, type ErrorCode } from './errors';
export { capabilities, type Capabilities, type Isa } from './native';
export {
  FUNCTION_MEASURE_NAMES,
  OUTPUT_KINDS,
  type DivergenceOptions,
  type FunctionMeasureName,
  type OutputKind,
} from './function/divergence';
export {
  divergence,
  type DivergenceMetric,
  type DivergenceSummary,
  type DivergenceSummaryOptions,
  type SequenceOutputArray,
  type SequenceOutputOptions,
  type TokenGridArray,
} from './function/divergence-summary';
export {
  compare,
  DEFAULT_METRICS,
  type CompareMetric,
  type CompareOptions,
  type Comparison,
  type ComparedModel,
  type MetricSummary,
} from './function/compare';
export type { Accuracy } from './function/accuracy';
export type { IntervalSummary } from './function/summary';
export {
  DELTA_P_PERCENTILES,
  TOKEN_PERCENTILES,
  type DeltaPPercentile,
  type NextTokenQuality,
  type TokenMeasureSummary,
  type TokenPercentile,
  type TokenRate,
  type TokenSummary,
  type TopToken,
  type TopTokenModel,
} from './function/token-summary';
export type { TopSample } from './function/top';
export type { PerClass, ClassChange } from './function/per-class';
export {
  inferOutputs,
  streamOutputs,
  type InferOptions,
  type InferResult,
  type InferenceStream,
  type OutputBatch,
  type ModelSource,
} from './infer';
export type { ProbeData, ProbeSource, ProbeArraySource, ProbeStream, ProbeArray, ProbeLayout } from './io/probe';
export { measureInfo, measures, measuresOf, type MeasureInfo, type MeasureView } from './measures/registry';
// The per-view registry lists the measure name types are derived from.
export { functionMeasures } from './measures/function';
export { representationMeasures } from './measures/representations';
export { matrix, type MatrixOptions, type ModelInput } from './many/matrix';
export { study, type StudyOptions } from './many/study';
export { probeSha256, readSavedOutputs, type SavedOutputs, type SavedOutputsMeta } from './many/saved-outputs';
export type { MatrixResult, StudyResult, PairRecord, WeightMatrices } from './many/types';
export { writeReport, type ReportOptions } from './report';
export {
  weightDistance,
  canonicalize,
  align,
  WEIGHT_METHODS,
  SORT_KEYS,
  type WeightDistanceOptions,
  type WeightDistanceResult,
  type WeightDistanceSummary,
  type TensorDistance,
  type AlignOptions,
  type AlignResult,
  type AlignmentInfo,
  type WeightMethod,
  type SortKey,
} from './weights';
export { weightMethods, type WeightStat } from './measures/weights';
export type { MatchingStop } from './weights/matching';
export type { CanonicalProgress, OnCanonicalProgress } from './weights/canonical-progress';
export {
  REPRESENTATION_MEASURES,
  type RepresentationMeasureName,
  type RepresentationOptions,
} from './represent/similarity';
export type { Matrix } from './matrix';
export type { RepresentationMatrices } from './views/representations';
export { cka, type ModelCkaOptions, type ModelCkaResult, type LayerPairResult } from './represent/model';
export { listLayers, type LayerInfo } from './represent/layers';
export { lossBarrier, type BarrierOptions, type BarrierResult, type PathCurve } from './path/barrier';
// Types that public results and options refer to, exported so users can name them (and typedoc documents them).
export type { Chao1Result } from './many/richness';
export type { Clustering, DendrogramMerge } from './many/clustering';
export type { ThresholdInfo, WeightCorrelation, StudyMaps } from './many/types';
export type { MantelResult, CorrelationMethod } from './many/correlation';
export type { Point2 } from './many/embedding';
export type { ProgressStage } from './many/matrix';
export type { Tensor, DType, TypedArray } from './io/tensor';
export type { OnnxModel, OnnxSource } from './io/onnx';
export type { IntervalMethod, SamplesNeeded } from './stats';
export type { HiddenLayerInfo, AlignProbe } from './weights';
export type { SymmetryKind } from './weights/network';
