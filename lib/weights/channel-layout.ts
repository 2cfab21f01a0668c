/**
 * Column layouts of a dense layer fed by a flattened NHWC tensor (tf2onnx's
 * Keras conv nets): stored position-major, canonical channel-major.
 */

/** Reorder the columns of [rows, S·C] (position-major, NHWC flatten) to [rows, C·S] (channel-major blocks). */
export function channelLastToBlocks(W: Float64Array, rows: number, C: number, S: number): Float64Array {
  const out = new Float64Array(W.length);
  for (let o = 0; o < rows; o++) for (let s = 0; s < S; s++) for (let c = 0; c < C; c++) out[o * C * S + c * S + s] = W[o * C * S + s * C + c];
  return out;
}

/** The inverse of channelLastToBlocks. */
export function blocksToChannelLast(W: Float64Array, rows: number, C: number, S: number): Float64Array {
  const out = new Float64Array(W.length);
  for (let o = 0; o < rows; o++) for (let s = 0; s < S; s++) for (let c = 0; c < C; c++) out[o * C * S + s * C + c] = W[o * C * S + c * S + s];
  return out;
}
