/**
 * Shape-only ops on data: where the unit axis goes. Any reshape of a fixed
 * tensor (a model input before any weight); a flatten of [batch, C, ...] to
 * [batch, features] (feature = channel·block + position); NCHW ↔ NHWC.
 */
import { attrInt, attrInts } from '../../io/onnx';
import type { OpRule } from './rule';
import { shapeElements } from './shape-elements';
import { enterAttention, selectPositions, sequenceReshape, transposePositions } from './sequence';
import { ALL, unitsLast } from './tensor-state';

/** Reshape/Flatten/Unsqueeze/Squeeze: free on a fixed tensor, otherwise only to [batch, features]. */
export const reshape: OpRule = (c) => {
  if (c.walker.root(c.x.group).fixed) return reshapeFixed(c);
  const op = c.node.opType;
  if (op === 'Reshape' && unitsLast(c.x)) {
    if (sequenceReshape(c.walker, c.node, c.x, c.out)) return;
    // Any other reshape of [N, S, d] but a flatten to two axes (NHWC → [N, H·W·C]) unflattens the
    // units (nn.MultiheadAttention's [S, N, 3, d]): attention, where the units stay fixed.
    const target = shapeElements(c.walker, c.inputs[1]);
    if (c.x.rank > 2 && target?.length !== 2) return enterAttention(c.walker, c.x, [c.out], c.node);
  }
  if (op === 'Squeeze' && unitsLast(c.x) && c.x.rank > 2) return selectPositions(c);
  if (c.node.opType === 'Unsqueeze') {
    if (c.x.parts) c.walker.fail(c.node, 'it reads channels concatenated from several layers');
    c.walker.fail(c.node, 'op Unsqueeze is not supported');
  }
  flatten(c);
};

/**
 * Any reshape of a fixed tensor (a model input, before any weight: an
 * nn.Unflatten to [N, 1, 28, 28], an Unsqueeze of a sequence): nothing is
 * permuted there, so the result is a new fixed tensor whose channel count
 * the layer reading it tells. Only its rank must be known.
 */
const reshapeFixed: OpRule = ({ walker, node, x, inputs, out }) => {
  const op = node.opType ?? '';
  const axes = () => attrInts(node, 'axes') ?? (inputs[1] ? walker.constValues(inputs[1]) : undefined);
  let rank: number | undefined;
  if (op === 'Flatten') rank = 2;
  else if (op === 'Reshape') rank = walker.lengthOf(inputs[1]) ?? walker.declaredRank(out);
  else if (op === 'Unsqueeze') rank = axes() ? x.rank + axes()!.length : walker.declaredRank(out);
  else rank = axes() ? x.rank - axes()!.length : walker.declaredRank(out);
  if (rank === undefined) return walker.fail(node, 'the rank of the reshaped input cannot be told from the graph');
  const id = walker.newGroup(0, true);
  walker.set(out, { group: id, caps: ALL, rank, flat: false });
};

const flatten: OpRule = ({ walker, node, x, inputs, out }) => {
  const op = node.opType;
  if (op === 'Flatten' && attrInt(node, 'axis', 1) !== 1) walker.fail(node, 'only Flatten with axis = 1 is supported');
  if (op === 'Reshape' && !x.flat && !x.channelLast && x.rank > 3) {
    // [N, C, H, W] → [N, C, H·W] (ViT's patches): the channels stay on axis 1, the positions merge.
    const target = shapeElements(walker, inputs[1]);
    const units = walker.root(x.group).units;
    if (target && target.length === 3 && target[1] === units) return walker.set(out, { ...x, rank: 3, layer: undefined });
  }
  if (op === 'Reshape') {
    // Without shape inference we accept only reshapes that keep the batch axis and merge the rest.
    const v = walker.constValues(inputs[1]);
    const units = x.slots?.length ?? (x.parts ? x.parts.reduce((n, q) => n + q.units, 0) : walker.root(x.group).units);
    const keepsFeatures = v && (v[0] === 0 || v[1] === -1 || (!x.flat && (x.rank <= 2 || x.pooled) && v[1] === units));
    if (v && (v.length !== 2 || !keepsFeatures)) walker.fail(node, 'only a reshape to [batch, features] is supported');
  }
  if (op === 'Squeeze') {
    const axes = attrInts(node, 'axes') ?? (inputs[1] ? walker.constValues(inputs[1]) : undefined);
    if (!axes || axes.some((a) => a === 0 || a === 1 || a === -x.rank + 1 || a === -x.rank)) return walker.fail(node, 'only squeezing spatial axes is supported');
    if (x.rank - axes.length !== 2) walker.fail(node, 'only squeezing to [batch, channels] is supported');
  }
  if (x.rank <= 2) return walker.set(out, { ...x, layer: undefined });
  walker.set(out, { ...x, rank: 2, flat: true, layer: undefined });
};

/**
 * NCHW ↔ NHWC. A model input may be transposed freely (it is fixed); hidden
 * channels may move to the last axis and back, and a channel-last tensor
 * may be flattened into a dense layer (its columns are then position-major,
 * which the layer's canonical view reorders to channel-major blocks).
 */
export const transpose: OpRule = ({ walker, node, x, out }) => {
  if (walker.root(x.group).fixed) return walker.set(out, { ...x, layer: undefined });
  if (transposePositions(walker, node, x, out)) return;
  const perm = attrInts(node, 'perm') ?? [];
  const r = x.rank;
  const toLast = [0, ...Array.from({ length: r - 2 }, (_, i) => i + 2), 1];
  const toFirst = [0, r - 1, ...Array.from({ length: r - 2 }, (_, i) => i + 1)];
  const same = (a: number[], b: number[]) => a.length === b.length && a.every((v, i) => v === b[i]);
  if (r > 2 && !x.flat && !x.channelLast && same(perm, toLast)) return walker.set(out, { ...x, channelLast: true, layer: undefined });
  if (r > 2 && !x.flat && x.channelLast && same(perm, toFirst)) return walker.set(out, { ...x, channelLast: false, layer: undefined });
  walker.fail(node, `only moving the channel axis of a hidden tensor last (NHWC) and back is supported, not perm [${perm}]`);
};
