/**
 * A bidirectional RNN's outputs carry two groups on a directions axis:
 * Y [steps, 2, batch, H] and Y_h/Y_c [2, batch, H]. What the exporters do
 * with them:
 * - Transpose to [steps, batch, 2, H] and Reshape to [steps, batch, 2·H]
 *   (nn.LSTM's output): the feature axis is the direct sum [forward,
 *   backward], a concatenation whose parts permute independently;
 * - Gather one direction (h_n[-1]): that direction's group alone.
 * Any other op on such a tensor stops the walk naming the node.
 */
import { attrInt, type onnx } from '../../io/onnx';
import type { OpRule } from './rule';
import { shapeElements } from './shape-elements';
import type { TensorState } from './tensor-state';
import type { GraphWalker } from './walker';

/** Ops a tensor with a directions axis may meet (unary elementwise ops keep the layout). */
export function readsDirections(op: string): boolean {
  return ['Reshape', 'Transpose', 'Gather'].includes(op);
}

/** Reshape [..., 2, H] → [..., 2·H]: the [forward, backward] concatenation on the last axis. */
export const mergeDirections: OpRule = ({ walker: w, node, x, inputs, out }) => {
  const d = directionsOf(w, node, x);
  const target = shapeElements(w, inputs[1]);
  const H = w.root(d.groups[0]).units;
  const last = target?.[target.length - 1];
  const merges = d.axis === x.rank - 2 && target?.length === x.rank - 1 && (last === -1 || last === null || last === d.groups.length * H);
  const keeps = target?.slice(0, -1).every((e, i) => e === 0 || (typeof e === 'object' && e !== null && e.axis === i) || typeof e === 'number');
  if (!merges || !keeps) w.fail(node, 'only merging the directions axis of a bidirectional recurrent output into its features ([..., 2, H] → [..., 2·H]) is supported');
  const parts = d.groups.map((group) => ({ group, units: w.root(group).units }));
  w.set(out, { group: parts[0].group, parts, caps: x.caps, rank: x.rank - 1, flat: false, channelLast: x.rank - 1 > 2 || undefined });
};

/** Gather of one index: on the directions axis, that direction's units; on a positions axis, the directions stay. */
export const selectDirection: OpRule = ({ walker: w, node, x, inputs, out }) => {
  const d = directionsOf(w, node, x);
  const given = attrInt(node, 'axis', 0);
  const axis = given < 0 ? given + x.rank : given;
  const index = w.constValues(inputs[1]);
  if (axis === x.rank - 1 || !index || index.length !== 1 || w.constants.get(inputs[1])?.dims?.length) {
    w.fail(node, 'only gathering one position or one direction (a scalar index) of a bidirectional recurrent output is supported');
  }
  if (axis !== d.axis) {
    const directions = { ...d, axis: axis < d.axis ? d.axis - 1 : d.axis, rank: x.rank - 1 };
    return w.set(out, { ...x, rank: x.rank - 1, directions, layer: undefined });
  }
  const k = index![0] < 0 ? index![0] + d.groups.length : index![0];
  w.set(out, { group: d.groups[k], caps: x.caps, rank: x.rank - 1, flat: false, channelLast: x.rank - 1 > 2 || undefined });
};

/** The directions of x, or a refusal when its directions axis was lost by an op that does not follow it. */
function directionsOf(w: GraphWalker, node: onnx.INodeProto, x: TensorState): NonNullable<TensorState['directions']> {
  if (x.directions?.rank !== x.rank) w.fail(node, 'it reads a bidirectional recurrent output whose directions axis is not followed');
  return x.directions;
}
