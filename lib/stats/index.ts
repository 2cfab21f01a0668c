/** Statistics of per-sample measure values: summaries, bootstrap intervals, sample-size estimates. */
export { describe, mean, median, max, standardDeviation, quantileSorted, type Description } from './describe';
export { bootstrapMeanCI, bootstrapMeanCIAsync, type BootstrapOptions } from './bootstrap';
export { samplesNeeded, checkPrecision, DEFAULT_RELATIVE_PRECISION, type SamplesNeeded } from './sample-size';
