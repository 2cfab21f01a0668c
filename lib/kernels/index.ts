/**
 * `modeldiff/kernels`: the numeric building blocks under the workflows, for users who bring
 * their own arrays — per-sample and pairwise output divergences, linear assignment, Gram
 * matrices and representation similarities (CKA family), bootstrap intervals, and a model's
 * hidden activations as the matrices those take.
 *
 * Each is the same validated, SIMD-backed call the workflows make; the root export
 * (`modeldiff`) keeps the workflows themselves.
 *
 * @module modeldiff/kernels
 */
export {
  divergencePerSample,
  divergencePerSampleSync,
  pairwiseDivergence,
  predict,
  cohenKappa,
  resolveOutputKind,
  type DivergenceOptions,
  type FunctionMeasureName,
  type OutputKind,
} from '../function/divergence';
export {
  linearSumAssignment,
  linearSumAssignmentSync,
  type AssignmentMethod,
  type AssignmentOptions,
  type AssignmentResult,
} from '../weights/kernels';
export { sampleGram, featureGrams, type FeatureGrams, type KernelOptions } from '../represent/gram';
export {
  representationSimilarity,
  type RepresentationMeasureName,
  type RepresentationOptions,
  type RepresentationResult,
} from '../represent/similarity';
export type { Matrix } from '../matrix';
export {
  bootstrapMean,
  bootstrapMeanSync,
  bootstrapMeanCI,
  bootstrapMeanCISync,
  describe,
  samplesNeeded,
  type BootstrapOptions,
  type BootstrapResult,
  type Description,
  type IntervalMethod,
  type SamplesNeeded,
} from '../stats';
export { hiddenActivations, type HiddenInput, type HiddenTensor, type HiddenOptions } from '../infer/hidden';
export { flattenActivations } from '../represent/activations';
export type { OnnxModel, OnnxSource } from '../io/onnx';
export type { Isa } from '../native';
export type { ProbeData } from '../io/probe';
export type { Tensor, DType, TypedArray } from '../io/tensor';
