/**
 * Turning an onnxruntime output tensor into an n×k matrix of scores: axis 0
 * is the batch; the remaining axes flatten to one row per sample (axes of
 * size 1 are squeezed). When more than one axis remains (a language model's
 * [batch, sequence, vocab] logits, a segmentation map) the row is the whole
 * sample and `dims` keeps its shape, for the token-level reading
 * (lib/function/token-grid.ts). Floating outputs only; float16 widens to
 * float32. NaN or ±Infinity is an error naming the model, output, sample and
 * class — never passed on as a number.
 */
import * as ort from 'onnxruntime-node';

import { ModeldiffError } from '../errors';
import { formatShape, halfToFloat } from '../io/tensor';
import { firstNonFinite } from '../util/finite';
import type { Matrix } from '../matrix';

export function outputMatrix(tensor: ort.Tensor, rows: number, label: string, outputName: string, sampleOffset: number): Matrix {
  const dims = tensor.dims;
  const rest = dims.slice(1).filter((d) => d !== 1);
  if (dims.length === 0 || dims[0] < rows) {
    throw new ModeldiffError(
      'MODEL_OUTPUT',
      `${label}: output "${outputName}" has shape ${formatShape(dims)}; expected [${rows}, ...] (axis 0 is the batch of ${rows} samples)`,
    );
  }
  const k = rest.reduce((a, d) => a * d, 1);
  let data: Float32Array | Float64Array;
  if (tensor.type === 'float32') data = tensor.data as Float32Array;
  else if (tensor.type === 'float64') data = tensor.data as Float64Array;
  else if (tensor.type === 'float16') {
    const h = tensor.data as Uint16Array;
    data = new Float32Array(h.length);
    for (let i = 0; i < h.length; i++) data[i] = halfToFloat(h[i]);
  } else {
    throw new ModeldiffError('MODEL_OUTPUT', `${label}: output "${outputName}" is ${tensor.type}; expected floating-point scores`);
  }
  // Drop rows that only pad a fixed batch size.
  if (dims[0] > rows) data = data.subarray(0, rows * k);
  const i = firstNonFinite(data);
  if (i >= 0) {
    const row = Math.floor(i / k);
    throw new ModeldiffError(
      'MODEL_OUTPUT',
      `${label}: output "${outputName}" is ${data[i]} at sample ${sampleOffset + row}, class ${i - row * k}; model outputs must be finite`,
    );
  }
  return rest.length > 1 ? { data, n: rows, k, dims: dims.slice(1) } : { data, n: rows, k };
}
