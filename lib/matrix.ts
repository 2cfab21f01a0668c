/**
 * The one matrix type: row-major, `n` rows (one per sample) × `k` columns, float32 or float64.
 * Model outputs (k classes or output values), saved outputs and the divergence kernels'
 * inputs are all of this type.
 */
export interface Matrix {
  data: Float32Array | Float64Array;
  /** Rows: samples. */
  n: number;
  /** Columns: values per row (the product of `dims` when a row has more than one axis). */
  k: number;
  /** A row's shape when it has more than one axis (e.g. a sequence model's [sequence, vocabulary]). */
  dims?: number[];
}
