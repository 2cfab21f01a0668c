/**
 * Channels as units: which unit of which group each channel of a channels-first tensor holds.
 * A tensor is one group (channel k = unit k), a concatenation (its parts in order), or, once a
 * Split/Slice or a channel shuffle moved them, an explicit list (TensorState.slots). Which ops
 * may read such a list is decided here; the groups it cuts into cells, at the end of the
 * walk, by ./unit-cells.ts.
 */
import type { onnx } from '../../io/onnx';
import { UNARY_OPS } from './elementwise';
import { AVG_POOLS, MAX_POOLS } from './pooling';
import type { TensorState, UnitSlot } from './tensor-state';
import type { GraphWalker } from './walker';

/** The unit each channel holds; the channel count must be known (a hidden layer's output). */
export function slotsOf(w: GraphWalker, node: onnx.INodeProto, s: TensorState): UnitSlot[] {
  if (s.slots) return s.slots;
  const parts = s.parts ?? [{ group: s.group, units: w.root(s.group).units }];
  if (parts.some((p) => !p.units)) w.fail(node, 'the channel count of its input is unknown');
  return parts.flatMap((p) => Array.from({ length: p.units }, (_, unit) => ({ group: p.group, unit })));
}

/** Axis 1 holds the channels (or features) and nothing else is special about the tensor. */
export function channelsFirst(s: TensorState): boolean {
  return s.rank >= 2 && !s.flat && !s.channelLast && !s.opaque && !s.unitless && !s.directions && !s.attention && !s.label && !s.grid && !s.singleton;
}

/** A new state holding these channels (the first one's group stands for the tensor). */
export function withSlots(x: TensorState, slots: UnitSlot[], extra: Partial<TensorState> = {}): TensorState {
  return { ...x, group: slots[0]?.group ?? x.group, slots, parts: undefined, layer: undefined, ...extra };
}

/** Ops that keep channels where they are, move them as ./channel-split.ts, ./channel-shuffle.ts and ./concat.ts follow, or read them as layers. */
const SLOT_OPS = new Set([...UNARY_OPS, 'PRelu', ...MAX_POOLS, ...AVG_POOLS, 'Concat', 'Split', 'Slice', 'Conv', 'Gemm', 'MatMul', 'Flatten', 'Reshape', 'Squeeze']);
/** Ops folded into the layer right before them (a BatchNorm, a per-channel affine constant). */
const FOLDED_OPS = new Set(['BatchNormalization', 'Add', 'Sub', 'Mul', 'Div']);

/**
 * Whether a node may read tensors with split or shuffled channels (or a shuffle's two-axis
 * grid); anything else stops the walk naming the node.
 */
export function readsSlots(w: GraphWalker, node: onnx.INodeProto, inputs: TensorState[]): boolean {
  const op = node.opType ?? '';
  if (inputs.some((s) => s.grid)) return UNARY_OPS.has(op) || op === 'Transpose' || op === 'Reshape';
  if (SLOT_OPS.has(op)) return true;
  // Folding needs the layer's own output and one constant operand.
  const constants = (node.input ?? []).filter((i) => i && w.isConst(i)).length;
  return FOLDED_OPS.has(op) && inputs.length === 1 && inputs[0].layer !== undefined && constants >= 1;
}
