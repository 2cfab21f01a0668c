/**
 * Graph → layers and symmetry groups.
 *
 * One forward pass over the nodes (ONNX keeps them topologically sorted)
 * tracks, for every data tensor, which group its channel axis belongs to and
 * which symmetries the ops since the producing layers preserve. Each linear
 * layer opens a new group for its outputs; a residual Add (two data inputs)
 * merges the groups it joins, as Git Re-Basin's permutation specs tie them.
 * A group's symmetry is the AND over every path from its producers to its
 * consumers: Relu/LeakyRelu/MaxPool keep positive scale, Tanh/Erf keep sign,
 * linear ops keep both, anything else elementwise keeps only permutation.
 * Groups that reach a model input or output are fixed.
 *
 * Layers: Gemm (alpha, beta, transB folded into W and b), MatMul + Add, Conv
 * (group 1, depthwise, grouped: see ../unit-blocks.ts). Folded into the layer before it: BatchNormalization,
 * and per-channel Mul/Add/Sub/Div by a constant. Layout ops: Flatten,
 * Reshape to [batch, features] (also PyTorch's Shape→Gather→Concat dynamic
 * form), Squeeze of spatial axes, NCHW↔NHWC Transpose (tf2onnx); pools;
 * Softmax over the features at the end; Identity/Dropout pass through.
 *
 * Split/Slice of the channel axis and ShuffleNet's channel shuffle move channels
 * unit by unit (channel-slots.ts, channel-split.ts, channel-shuffle.ts); layers
 * reading such channels (slot-readers.ts) cut their groups into cells at the end
 * (unit-cells.ts).
 *
 * The modules here: walker.ts (shared state, union-find, parameter access),
 * rules.ts (op → rule) and one module per op family, finish.ts (roots and
 * extras). Anything else stops with UNSUPPORTED_GRAPH naming the node.
 */
import { type OnnxModel, onnx } from '../../io/onnx';
import type { Network } from '../network';
import { attentionOp, finishAttention } from './attention';
import { mergeDirections, readsDirections, selectDirection } from './bidirectional';
import { UNARY_OPS } from './elementwise';
import { readsSlots } from './channel-slots';
import { finishNetwork } from './finish';
import { labelBranch } from './label-branch';
import { RULES } from './rules';
import { embedding, opaque } from './sequence';
import { ALL } from './tensor-state';
import { GraphWalker } from './walker';

export function buildNetwork(model: OnnxModel): Network {
  const w = new GraphWalker(model);
  const g = w.graph;
  for (const input of g.input) {
    const name = input.name ?? '';
    if (w.inits.has(name)) continue;
    const rank = input.type?.tensorType?.shape?.dim?.length ?? 2;
    const id = w.newGroup(0, true);
    // Integer inputs (token ids, attention masks) are looked up or masked with, never multiplied by weights.
    const elem = input.type?.tensorType?.elemType ?? onnx.TensorProto.DataType.FLOAT;
    w.set(name, { group: id, caps: ALL, rank, flat: false, opaque: !FLOAT_TYPES.has(elem) || undefined });
  }
  g.node.forEach((node, index) => {
    if (!w.absorbed.has(index)) visit(w, node, index);
  });
  for (const o of g.output) {
    const s = w.state.get(o.name ?? '');
    if (s) for (const group of s.slots?.map((p) => p.group) ?? s.parts?.map((p) => p.group) ?? s.directions?.groups ?? [s.group]) w.root(group).fixed = true;
  }
  const notes = finishAttention(w);
  const net = finishNetwork(w);
  return notes.length ? { ...net, notes } : net;
}

const FLOAT_TYPES = new Set<number>([
  onnx.TensorProto.DataType.FLOAT,
  onnx.TensorProto.DataType.FLOAT16,
  onnx.TensorProto.DataType.BFLOAT16,
  onnx.TensorProto.DataType.DOUBLE,
]);

function visit(w: GraphWalker, node: GraphWalker['graph']['node'][number], index: number): void {
  const op = node.opType ?? '';
  if (op === 'Gather' && embedding(w, node, index)) return;
  if (w.trackConstant(node)) return;
  // Ops of other domains are listed as "domain.Op" (ai.onnx.ml.ZipMap).
  const key = node.domain && node.domain !== 'ai.onnx' ? `${node.domain}.${op}` : op;
  const rule = RULES.get(key);
  const inputs = (node.input ?? []).filter((i) => i);
  const dataInputs = inputs.filter((i) => !w.isConst(i)).map((i) => w.data(node, i));
  const x = dataInputs[0];
  const context = { walker: w, node, index, x, inputs, out: (node.output ?? [])[0] };
  if (x.label) return labelBranch(context, key);
  if (dataInputs.some((s) => s.attention)) return attentionOp(context, () => visit(w, node, index));
  const projection = (op === 'MatMul' || op === 'Gemm') && w.isConst(inputs[1] ?? '');
  if (!projection && dataInputs.every((s) => s.opaque)) {
    // Computed from token ids, masks or attention's inner data alone: unchanged by every symmetry.
    for (const o of node.output ?? []) if (o) w.set(o, opaque(w));
    return;
  }
  if (dataInputs.every((s) => s.unitless || s.opaque) && dataInputs.some((s) => s.unitless)) {
    for (const o of node.output ?? []) if (o) w.set(o, { ...x, unitless: true, layer: undefined });
    return;
  }
  if (dataInputs.some((s) => s.slots || s.grid) && !readsSlots(w, node, dataInputs)) w.fail(node, 'it reads channels split or shuffled from several layers');
  if (x.directions) {
    if (op === 'Reshape') return mergeDirections(context);
    if (op === 'Gather') return selectDirection(context);
    if (!readsDirections(op) && !UNARY_OPS.has(op)) w.fail(node, 'it reads the directions axis of a bidirectional recurrent output as data');
  }
  if (!rule && key !== op) w.fail(node, `custom-domain op ${key}`);
  if (rule) return rule(context);
  if (x.parts) w.fail(node, 'it reads channels concatenated from several layers');
  w.fail(node, `op ${op} is not supported`);
}
