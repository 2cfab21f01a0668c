/**
 * modeldiff: how different are two trained neural networks?
 *
 * The public API. Everything exported here is also in the ESM entry
 * (generated from this module's export names).
 */
export { ModeldiffError, type ErrorCode } from './errors';
export { capabilities, type Capabilities, type Isa } from './native';
export { runCli } from './cli/main';
export {
  cohenKappa,
  divergencePerSample,
  divergencePerSampleSync,
  FUNCTION_MEASURE_NAMES,
  OUTPUT_KINDS,
  pairwiseDivergence,
  predict,
  resolveOutputKind,
  type DivergenceOptions,
  type FunctionMeasureName,
  type OutputArray,
  type OutputKind,
} from './function/divergence';
export { measureInfo, measures, measuresOf, type MeasureInfo, type MeasureView } from './measures/registry';
export {
  linearSumAssignment,
  linearSumAssignmentSync,
  type AssignmentMethod,
  type AssignmentOptions,
  type AssignmentResult,
} from './weights/kernels';
export { matrix, type MatrixOptions, type ModelInput } from './many/matrix';
export { study, type StudyOptions } from './many/study';
export type { MatrixResult, StudyResult, PairRecord, WeightMatrices, WeightMethod as ManyWeightMethod } from './many/types';
export { writeReport, type ReportOptions } from './report';
