/**
 * Normalizations over the unit axis (LayerNorm, RMSNorm): the units keep
 * only their permutation (a norm couples all of them), and the scale and
 * shift are channel-wise parameters of the group, permuted with it.
 * - fused: LayerNormalization (opset 17), SimplifiedLayerNormalization
 *   (onnxruntime's RMSNorm), RMSNormalization (opset 23), over the last axis;
 * - decomposed: a reduction over the unit axis gives a unitless tensor (it
 *   broadcasts along the units); data combined with it keeps its group,
 *   permutation only; the following Mul by a per-unit constant is the
 *   scale, an Add of one after it the shift.
 */
import { attrInt, attrInts, isFloatTensor, type onnx, tensorDims } from '../../io/onnx';
import type { Layer } from '../network';
import type { OpRule } from './rule';
import { storedFields } from './stored-fields';
import { PERMUTATION_ONLY, type TensorState, unitsLast } from './tensor-state';
import type { GraphWalker } from './walker';

export const fusedNorm: OpRule = ({ walker: w, node, index, x, out }) => {
  const op = node.opType ?? '';
  const inputs = node.input ?? [];
  const axis = attrInt(node, 'axis', -1);
  if (!unitsLast(x) || (axis !== -1 && axis !== x.rank - 1)) w.fail(node, `only ${op} over the last (unit) axis of a units-last tensor is supported`);
  if ((node.output ?? []).slice(1).some((o) => o && (w.uses.get(o) ?? []).length > 0)) w.fail(node, 'its mean/variance outputs are read');
  const layer = addNormScale(w, node, index, x, inputs[1]);
  if (op === 'LayerNormalization' && inputs[2]) setNormShift(w, node, w.layers[layer], inputs[2]);
  w.set(out, { ...x, caps: PERMUTATION_ONLY, layer: undefined });
};

/** A reduction over the unit axis (keepdims): a norm's statistic. Undefined when it is not one. */
export function reduceUnits(w: GraphWalker, node: onnx.INodeProto, x: TensorState, out: string): true | undefined {
  const inputs = node.input ?? [];
  const axes = attrInts(node, 'axes') ?? (inputs[1] ? w.constValues(inputs[1]) : undefined);
  if (!unitsLast(x) || !axes || axes.length !== 1 || (axes[0] !== -1 && axes[0] !== x.rank - 1)) return undefined;
  if (attrInt(node, 'keepdims', 1) !== 1) w.fail(node, 'a reduction over the units must keep the axis (keepdims = 1)');
  w.root(x.group).caps = PERMUTATION_ONLY;
  w.set(out, { ...x, unitless: true, layer: undefined });
  return true;
}

/** Mul by a per-unit constant on units-last data that no layer output is: a norm's scale. */
export function perUnitScale(w: GraphWalker, node: onnx.INodeProto, x: TensorState, constName: string): boolean {
  if (node.opType !== 'Mul' || !isPerUnit(w, x, constName)) return false;
  const layer = addNormScale(w, node, w.nodeIndex(node), x, constName);
  w.set((node.output ?? [])[0], { ...x, caps: PERMUTATION_ONLY, layer });
  return true;
}

/** Add of a per-unit constant right after a norm's scale: its shift. */
export function perUnitShift(w: GraphWalker, node: onnx.INodeProto, x: TensorState, dataName: string, constName: string): boolean {
  const layer = x.layer === undefined ? undefined : w.layers[x.layer];
  if (node.opType !== 'Add' || layer?.op !== 'Norm' || layer.biasName !== undefined || (w.uses.get(dataName) ?? []).length !== 1 || !isPerUnit(w, x, constName)) return false;
  setNormShift(w, node, layer, constName);
  w.set((node.output ?? [])[0], { ...x, layer: undefined });
  return true;
}

function isPerUnit(w: GraphWalker, x: TensorState, name: string): boolean {
  const t = w.inits.get(w.castOf.get(name) ?? name);
  const units = w.root(x.group).units;
  if (!t || !isFloatTensor(t) || !unitsLast(x) || !units) return false;
  const dims = tensorDims(t);
  return dims.length > 0 && dims[dims.length - 1] === units && dims.slice(0, -1).every((d) => d === 1);
}

function addNormScale(w: GraphWalker, node: onnx.INodeProto, index: number, x: TensorState, scaleName: string): number {
  const group = w.root(x.group);
  // An all-ones scale shared by several norms (an exporter merged identical constants) is tied:
  // each norm gets its own logical copy, permuted by its own group, written back as its own initializer.
  const t = w.param(node, scaleName, 'scale', 'copy');
  const W = w.finite(t);
  if (group.units && W.length !== group.units) w.fail(node, `its scale has ${W.length} values for ${group.units} units`);
  group.units ||= W.length;
  group.caps = PERMUTATION_ONLY;
  const layerIndex = w.layers.length;
  w.layers.push({
    ...storedFields(w, index, scaleName, { op: 'Norm', dims: tensorDims(t), weightDtype: w.dtypeSeen(scaleName, t) }),
    outUnits: W.length,
    inUnits: 1,
    inBlock: 1,
    outGroup: group.id,
    inGroup: group.id,
    channelwise: true,
    W,
    b: new Float64Array(W.length),
  });
  group.channelwise.push(layerIndex);
  return layerIndex;
}

function setNormShift(w: GraphWalker, node: onnx.INodeProto, layer: Layer, shiftName: string): void {
  const t = w.param(node, shiftName, 'shift', 'copy');
  const b = w.finite(t);
  if (b.length !== layer.outUnits) w.fail(node, `its shift has ${b.length} values for ${layer.outUnits} units`);
  layer.b = b;
  layer.biasName = w.ownName(shiftName);
  layer.biasDtype = w.dtypeSeen(shiftName, t);
  layer.biasDims = tensorDims(t);
  if (w.sharedParams.has(shiftName)) {
    layer.ownBias = true;
    layer.biasNode = w.nodeIndex(node);
  }
}
