/** Statistics of per-sample measure values: summaries, bootstrap intervals, sample-size estimates. */
export { describe, mean, median, max, standardDeviation, quantileSorted, type Description } from './describe';
export { bootstrapMean, bootstrapMeanSync, bootstrapMeanCI, bootstrapMeanCISync, type BootstrapOptions, type BootstrapResult, type IntervalMethod } from './bootstrap';
export { samplesNeeded, checkPrecision, DEFAULT_RELATIVE_PRECISION, type SamplesNeeded } from './sample-size';
