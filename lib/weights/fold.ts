/**
 * BatchNormalization folded into the preceding layer, exactly:
 *   y = s·(W·x + b − μ)/√(v + ε) + β  =  W'·x + b'
 *   W'[o,:] = W[o,:]·s[o]/√(v[o] + ε),   b'[o] = (b[o] − μ[o])·s[o]/√(v[o] + ε) + β[o]
 * (computed in float64; the only error is the final rounding to the stored dtype).
 */
import type { Layer } from './network';

export interface BatchNormParams {
  scale: Float64Array;
  bias: Float64Array;
  mean: Float64Array;
  variance: Float64Array;
  epsilon: number;
}

export function foldBatchNorm(layer: Pick<Layer, 'W' | 'b' | 'outUnits'>, bn: BatchNormParams): void {
  const cols = layer.W.length / layer.outUnits;
  for (let o = 0; o < layer.outUnits; o++) {
    const f = bn.scale[o] / Math.sqrt(bn.variance[o] + bn.epsilon);
    for (let k = 0; k < cols; k++) layer.W[o * cols + k] *= f;
    layer.b[o] = (layer.b[o] - bn.mean[o]) * f + bn.bias[o];
  }
}
