/** Inference on probe sets: sessions, feeds, batched runs, the output cache. */
export { inferOutputs, streamOutputs, inferenceCounters, type InferOptions, type InferResult, type InferenceStream, type OutputBatch } from './infer';
export { openModel, closeModel, sessionOptions, type ModelSource, type ModelHandle } from './session';
export { defaultCacheDir, cacheKey, CACHE_FORMAT_VERSION } from './cache';
