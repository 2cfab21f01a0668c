/** The Layer fields that say where a layer's weight and bias are stored, for every reader of a LayerRead. */
import type { onnx } from '../../io/onnx';
import type { Layer } from '../network';
import type { LayerRead } from './linear';
import type { GraphWalker } from './walker';

/**
 * Where a layer read as `p` keeps its weight and bias in the model (names, dtypes, whether a
 * shared initializer gets its own copy): the fields every reader of a LayerRead records.
 */
export function storedFields(w: GraphWalker, node: onnx.INodeProto, index: number, p: LayerRead) {
  const name = (node.input ?? [])[1];
  return {
    name,
    op: p.op,
    node: index,
    addNode: p.addNode,
    weightName: w.ownName(name),
    ownWeight: w.sharedParams.has(name) || undefined,
    ownBias: (p.biasName !== undefined && w.sharedParams.has(p.biasName)) || undefined,
    biasName: p.biasName,
    weightDtype: p.weightDtype,
    biasDtype: p.biasDtype,
    weightDims: p.dims,
  } satisfies Partial<Layer>;
}
