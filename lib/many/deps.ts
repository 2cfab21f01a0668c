/**
 * The functions this layer uses from its neighbours (divergence kernels,
 * inference, weight distances), in one place so their signatures are adapted
 * here and nowhere else.
 */
export {
  FUNCTION_MEASURE_NAMES,
  type FunctionMeasureName,
  type OutputKind,
  divergencePerSample,
  pairwiseDivergence,
  resolveOutputKind,
} from '../function/divergence';
export { inferOutputs } from '../infer';
