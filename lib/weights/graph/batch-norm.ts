/**
 * BatchNormalization: folded into the Conv/Gemm/MatMul it directly follows,
 * or, after no layer (DenseNet normalizes a concatenation), kept as a
 * channel-wise affine parameter of each part's group.
 */
import { attrFloat, onnx } from '../../io/onnx';
import { foldBatchNorm } from '../fold';
import type { OpRule } from './rule';
import { PERMUTATION_ONLY, type TensorState } from './tensor-state';
import type { GraphWalker } from './walker';

const NAMES = ['scale', 'bias', 'mean', 'variance'];

export const batchNorm: OpRule = ({ walker, node, x }) => {
  const inputs = node.input ?? [];
  if ((node.output ?? []).filter((o) => o).length !== 1) walker.fail(node, 'training-mode BatchNormalization (extra outputs) is not supported');
  const users = walker.uses.get(inputs[0]) ?? [];
  if (x.layer === undefined) return unfoldedNorm(walker, node, x);
  if (users.length !== 1) {
    walker.fail(node, 'BatchNormalization can only be folded when it directly follows a Conv/Gemm/MatMul whose output nothing else reads');
  }
  const layer = walker.layers[x.layer];
  const [scale, bias, mean, variance] = inputs.slice(1, 5).map((name, i) => {
    const t = walker.param(node, name, NAMES[i], 'read');
    const v = walker.finite(t);
    if (v.length !== layer.outUnits) walker.fail(node, `its ${name} has ${v.length} values for ${layer.outUnits} channels`);
    return v;
  });
  foldBatchNorm(layer, { scale, bias, mean, variance, epsilon: attrFloat(node, 'epsilon', 1e-5) });
  layer.bnNode = walker.nodeIndex(node);
  (layer.folded ??= []).push(layer.bnNode);
  walker.set((node.output ?? [])[0], { ...x });
};

/**
 * A BatchNormalization that follows no layer: a per-channel affine map
 * y = a·x + d, a = scale/√(var + ε), d = bias − a·mean. Each part's slice
 * is a channel-wise parameter of that part's group (permutation only);
 * writeback stores a and d as the scale and bias, with mean 0 and
 * variance 1 − ε.
 */
function unfoldedNorm(w: GraphWalker, node: onnx.INodeProto, x: TensorState): void {
  const inputs = node.input ?? [];
  const values = inputs.slice(1, 5).map((name, i) => w.finite(w.param(node, name, NAMES[i], 'read')));
  const [scale, bias, mean, variance] = values;
  const eps = attrFloat(node, 'epsilon', 1e-5);
  const parts = x.parts ?? [{ group: x.group, units: w.root(x.group).units }];
  const total = parts.reduce((n, p) => n + p.units, 0);
  if (values.some((v) => v.length !== total)) w.fail(node, `its parameters do not have one value per channel (${total})`);
  const index = w.nodeIndex(node);
  let offset = 0;
  for (const p of parts) {
    const group = w.root(p.group);
    if (group.fixed) w.fail(node, 'it normalizes a model input; fold it into the first layer before comparing');
    group.caps = PERMUTATION_ONLY;
    const a = Float64Array.from({ length: p.units }, (_, u) => scale[offset + u] / Math.sqrt(variance[offset + u] + eps));
    const d = Float64Array.from({ length: p.units }, (_, u) => bias[offset + u] - a[u] * mean[offset + u]);
    const layerIndex = w.layers.length;
    const name = `${inputs[1]}[${offset}:${offset + p.units}]`;
    w.layers.push({
      name,
      op: 'BatchNormalization',
      node: index,
      weightName: name,
      biasName: `${inputs[2]}[${offset}:${offset + p.units}]`,
      weightDtype: w.inits.get(w.castOf.get(inputs[1]) ?? inputs[1])!.dataType ?? onnx.TensorProto.DataType.FLOAT,
      weightDims: [total],
      outUnits: p.units,
      inUnits: 1,
      inBlock: 1,
      outGroup: group.id,
      inGroup: group.id,
      channelwise: true,
      normOffset: offset,
      W: a,
      b: d,
    });
    group.channelwise.push(layerIndex);
    offset += p.units;
  }
  w.set((node.output ?? [])[0], { ...x, caps: PERMUTATION_ONLY, layer: undefined });
}
