/**
 * The samples where two models differ most: the K largest per-sample values
 * of a measure (ties broken by the lower index), with each model's predicted
 * class and its probability.
 */
export interface TopSample {
  index: number;
  value: number;
  labelA: number;
  labelB: number;
  confidenceA: number;
  confidenceB: number;
  /** The true class, when labels were given. */
  trueLabel?: number;
}

export interface Predictions {
  label: Int32Array;
  confidence: Float64Array;
}

export function topSamples(values: Float64Array, k: number, a: Predictions, b: Predictions, labels?: Int32Array): TopSample[] {
  const n = values.length;
  const count = Math.min(k, n);
  // Partial selection would be O(n log K); a full index sort is simpler and n is a probe set.
  const order = Array.from({ length: n }, (_, i) => i);
  order.sort((i, j) => (values[j] > values[i] ? 1 : values[j] < values[i] ? -1 : i - j));
  return order.slice(0, count).map((i) => {
    const s: TopSample = {
      index: i,
      value: values[i],
      labelA: a.label[i],
      labelB: b.label[i],
      confidenceA: a.confidence[i],
      confidenceB: b.confidence[i],
    };
    if (labels) s.trueLabel = labels[i];
    return s;
  });
}
