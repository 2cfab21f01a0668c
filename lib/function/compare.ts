/**
 * compare(a, b, options): how differently two models behave on a probe set. A driver over the
 * function view of two models (lib/views/compare.ts): check the options, prepare a's output
 * stream, prepare b's, pair them into per-sample divergences and their summary.
 */
import type { InferenceStream } from '../infer/infer';
import type { ModelSource } from '../infer/session';
import { type CompareOptions, type Comparison, compareContext, compareView } from '../views/compare';

export {
  DEFAULT_METRICS,
  DEFAULT_TOKEN_METRICS,
  type CompareMetric,
  type CompareOptions,
  type ComparedModel,
  type Comparison,
  type MetricSummary,
  type TokenSummary,
} from '../views/compare';

export async function compare(a: ModelSource, b: ModelSource, options: CompareOptions): Promise<Comparison> {
  const context = compareContext(options);
  const sa = await compareView.prepare({ source: a, side: 0 }, context);
  let sb: InferenceStream;
  try {
    sb = await compareView.prepare({ source: b, side: 1 }, context);
  } catch (e) {
    await sa.close();
    throw e;
  }
  return compareView.pair(sa, sb, context);
}
