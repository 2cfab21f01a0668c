/**
 * The functions this layer uses from its neighbours (divergence kernels,
 * inference, weight distances), in one place so their signatures are adapted
 * here and nowhere else.
 */
export { divergencePerSample, pairwiseDivergence, resolveOutputKind } from '../function/divergence';
export { inferOutputs } from '../infer';
