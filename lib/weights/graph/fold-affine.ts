/**
 * A per-channel Mul/Add/Sub/Div by a constant right after a layer (how
 * tf2onnx writes a folded Keras BatchNormalization, or a bias kept apart) is
 * an affine map of the layer's outputs: fold it into W and b, exactly.
 */
import { type onnx, tensorDims } from '../../io/onnx';
import type { TensorState } from './tensor-state';
import type { GraphWalker } from './walker';

/** True when the node was folded into the layer producing `dataName`. */
export function foldAffine(
  w: GraphWalker,
  node: onnx.INodeProto,
  op: string,
  x: TensorState,
  dataName: string,
  constName: string,
  c: onnx.ITensorProto,
  v: Float64Array,
): boolean {
  if (x.layer === undefined || (w.uses.get(dataName) ?? []).length !== 1) return false;
  const layer = w.layers[x.layer];
  if (v.length !== layer.outUnits || !w.inits.has(constName) || (w.uses.get(constName) ?? []).length !== 1) return false;
  // The constant must run along the channel axis: [C] or [1, C] on [N, C]; [C, 1, 1] or [1, C, 1, 1] on [N, C, H, W].
  const dims = tensorDims(c).filter((d, i, all) => !(d === 1 && i === 0 && all.length === x.rank));
  if (dims.length !== x.rank - 1 || dims[0] !== layer.outUnits || dims.slice(1).some((d) => d !== 1)) return false;
  const constFirst = (node.input ?? [])[0] === constName;
  if (op === 'Div' && constFirst) return false;
  const cols = layer.W.length / layer.outUnits;
  w.param(node, constName, 'constant', 'none');
  const value = w.finite(c);
  for (let o = 0; o < layer.outUnits; o++) {
    const k = value[o];
    const [scale, shift] = op === 'Mul' ? [k, 0] : op === 'Div' ? [1 / k, 0] : op === 'Add' ? [1, k] : constFirst ? [-1, k] : [1, -k];
    for (let j = 0; j < cols; j++) layer.W[o * cols + j] *= scale;
    layer.b[o] = layer.b[o] * scale + shift;
  }
  (layer.folded ??= []).push(w.nodeIndex(node));
  w.set((node.output ?? [])[0], { ...x });
  return true;
}
