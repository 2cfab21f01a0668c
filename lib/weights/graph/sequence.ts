/**
 * Transformer layouts: tensors [batch, positions..., units] with the units
 * on the last axis (the residual stream, an MLP's hidden units).
 * - an embedding Gather of a float table [rows, units] is a layer from
 *   one-hot rows (token and position embeddings), opening the stream;
 * - a constant [..., rows, units] added to the stream (a positional table
 *   the dynamo exporter folded) is one more producer of the stream;
 * - reshapes keeping the last axis ([N, S, d] ↔ [N·S, d]) keep the units;
 * - a reshape splitting the last axis into heads ([N, S, h, d/h]), or a
 *   Split of it (GPT-2's packed q|k|v), enters attention: followed head by
 *   head in attention.ts; where it is not, the projection's units are fixed
 *   there and everything computed inside is opaque fixed data, until a
 *   projection reads it back;
 * - Gather/Slice/Squeeze of positions (BERT's pooler reads x[:, 0]) keep
 *   the units.
 */
import { attrInt, attrInts, isFloatTensor, type onnx, tensorDims } from '../../io/onnx';
import { enterHeads, splitFused, untrackedAttention } from './attention';
import type { OpRule } from './rule';
import { shapeElements, staticSize } from './shape-elements';
import { storedFields } from './stored-fields';
import { ALL, type TensorState, unitsLast } from './tensor-state';
import type { GraphWalker } from './walker';

/** Gather(table, ids) on a float initializer table of rank 2: an embedding layer. False when it is not one. */
export function embedding(w: GraphWalker, node: onnx.INodeProto, index: number): boolean {
  const [table, ids] = node.input ?? [];
  const t = w.inits.get(w.castOf.get(table) ?? table);
  if (!t || !isFloatTensor(t) || tensorDims(t).length !== 2 || attrInt(node, 'axis', 0) !== 0) return false;
  const idState = w.state.get(ids);
  if (idState && !idState.opaque && !w.root(idState.group).fixed) w.fail(node, 'it looks rows up by indices computed from hidden units');
  // A table another node reads too (a tied output head the exporter did not copy) is tied: own copy each.
  w.param(node, table, 'embedding table', 'copy');
  const [rows, units] = tensorDims(t);
  const W = transpose(w.finite(t), rows, units);
  const layerIndex = w.layers.length;
  const inGroup = w.newGroup(rows, true);
  const outGroup = w.newGroup(units, false);
  w.layers.push({
    ...storedFields(w, index, table, { op: 'Gather', dims: [rows, units], weightDtype: w.dtypeSeen(table, t) }),
    outUnits: units,
    inUnits: rows,
    inBlock: 1,
    outGroup,
    inGroup,
    W,
    b: new Float64Array(units),
  });
  w.groups[inGroup].consumers.push(layerIndex);
  w.groups[outGroup].producers.push(layerIndex);
  w.set((node.output ?? [])[0], { group: outGroup, caps: ALL, rank: (idState?.rank ?? 2) + 1, flat: false, channelLast: true, layer: layerIndex });
  return true;
}

/** A constant [..., rows, units] added to units-last data: a producer of its group. False when the constant is not such a table. */
export function additiveTable(w: GraphWalker, node: onnx.INodeProto, x: TensorState, constName: string): boolean {
  const t = w.inits.get(w.castOf.get(constName) ?? constName);
  const units = w.root(x.group).units;
  if (node.opType !== 'Add' || !t || !isFloatTensor(t) || !unitsLast(x) || !units) return false;
  const dims = tensorDims(t);
  const size = dims.reduce((a, b) => a * b, 1);
  if (dims[dims.length - 1] !== units || size === units) return false;
  tableLayer(w, node, x.group, constName);
  w.set((node.output ?? [])[0], { ...x, layer: undefined });
  return true;
}

/** A float initializer [..., rows, units] as a producer of `group`: W is its transpose, from fixed one-hot rows. */
function tableLayer(w: GraphWalker, node: onnx.INodeProto, groupId: number, name: string): void {
  const t = w.param(node, name, 'positional table', 'copy');
  const group = w.root(groupId);
  const dims = tensorDims(t);
  const units = dims[dims.length - 1];
  if (group.units && units !== group.units) w.fail(node, `its table "${name}" has ${units} units for ${group.units}`);
  const rows = dims.reduce((a, b) => a * b, 1) / units;
  const layerIndex = w.layers.length;
  const inGroup = w.newGroup(rows, true);
  w.layers.push({
    ...storedFields(w, w.nodeIndex(node), name, { op: 'Table', dims, weightDtype: w.dtypeSeen(name, t) }),
    outUnits: units,
    inUnits: rows,
    inBlock: 1,
    outGroup: group.id,
    inGroup,
    W: transpose(w.finite(t), rows, units),
    b: new Float64Array(units),
  });
  w.groups[inGroup].consumers.push(layerIndex);
  group.producers.push(layerIndex);
}

/** The initializer a constant tensor repeats (ViT's class token through Expand), if any. */
function initializerBehind(w: GraphWalker, name: string): string | undefined {
  for (let n = name, hops = 0; hops < 8; hops++) {
    const real = w.castOf.get(n) ?? n;
    if (w.inits.has(real)) return n;
    const p = w.producerOf(n);
    if (!p || !['Expand', 'Identity', 'Cast', 'Unsqueeze', 'Reshape', 'Tile'].includes(p.opType ?? '')) return undefined;
    n = (p.input ?? [])[0];
  }
  return undefined;
}

/**
 * Concat along positions of units-last data (ViT prepends its class token):
 * the data parts join one group, each constant part is a table producing it.
 */
export const positionsConcat: OpRule = ({ walker: w, node, inputs, out }) => {
  const data = inputs.filter((i) => !w.isConst(i)).map((i) => w.data(node, i));
  const first = data[0];
  const axis = attrInt(node, 'axis', 0);
  if (data.some((s) => !unitsLast(s) || s.rank < 3) || axis === -1 || axis === first.rank - 1) w.fail(node, 'only a concatenation of [batch, positions, units] tensors along positions is supported');
  let group = first.group;
  for (const s of data.slice(1)) group = w.union(group, s.group, node);
  for (const c of inputs.filter((i) => w.isConst(i))) {
    const init = initializerBehind(w, c);
    if (!init) return w.fail(node, `its constant part "${c}" is not a table of weights`);
    tableLayer(w, node, group, init);
  }
  w.set(out, { ...first, group, layer: undefined });
};

/** [rows, cols] row-major → [cols, rows]. */
export function transpose(v: Float64Array, rows: number, cols: number): Float64Array {
  const out = new Float64Array(v.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = v[r * cols + c];
  return out;
}

/**
 * A Reshape of units-last data: keeps the units when the target's last
 * element is the unit count (or the input's own last axis), enters
 * attention when it splits them into heads. Undefined: not a pattern of
 * this module (the caller's flatten rules decide).
 */
export function sequenceReshape(w: GraphWalker, node: onnx.INodeProto, x: TensorState, out: string): true | undefined {
  const target = shapeElements(w, (node.input ?? [])[1]);
  const units = w.root(x.group).units;
  if (!target || target.length < 2 || !units) return undefined;
  const last = target[target.length - 1];
  const keeps =
    last === units ||
    (typeof last === 'object' && last !== null && (() => {
      // The size of the last axis of a tensor with the same units (the input itself, or the layer output it came from).
      const s = w.state.get(last.of);
      return s !== undefined && unitsLast(s) && (last.axis === -1 || last.axis === s.rank - 1) && w.find(s.group) === w.find(x.group);
    })());
  if (keeps) {
    w.set(out, { ...x, rank: target.length, channelLast: target.length > 2, layer: undefined });
    return true;
  }
  const dim = staticSize(w, last);
  if (dim !== undefined && dim > 1 && dim < units && units % dim === 0 && target.length === Math.max(x.rank, 3) + 1) {
    if (!enterHeads(w, node, x, out, target)) enterAttention(w, x, [out], node);
    return true;
  }
  return undefined;
}

/** Split of the unit axis (GPT-2's packed q|k|v): the units are fixed, the parts opaque. */
export const splitUnits: OpRule = ({ walker: w, node, x }) => {
  const axis = attrInt(node, 'axis', 0);
  if (!unitsLast(x) || (axis !== -1 && axis !== x.rank - 1)) w.fail(node, 'only a Split of the unit axis of a units-last tensor (packed attention projections) is supported');
  if (!splitFused(w, node, x)) enterAttention(w, x, node.output ?? [], node);
};

/** Fix the units of x and make the outputs opaque: entering attention where heads are not followed (noted). */
export function enterAttention(w: GraphWalker, x: TensorState, outputs: string[], node: onnx.INodeProto): void {
  untrackedAttention(w, node);
  w.root(x.group).fixed = true;
  for (const o of outputs) if (o) w.set(o, opaque(w));
}

/** A new opaque fixed tensor. */
export function opaque(w: GraphWalker): TensorState {
  return { group: w.newGroup(0, true), caps: ALL, rank: 0, flat: false, opaque: true };
}

/** Gather/Slice/Squeeze on a positions axis of units-last data: the units stay last. */
export const selectPositions: OpRule = ({ walker: w, node, x, inputs, out }) => {
  const op = node.opType ?? '';
  // Part of fixed data (a model input, an RNN's output whose initial state the caller feeds): fixed data.
  if (w.root(x.group).fixed && !x.parts && !x.opaque && !x.directions) return selectFixed(w, node, x, inputs, out);
  if (!unitsLast(x) || x.rank < 3) w.fail(node, `${op} of hidden units is only supported on the positions of a [batch, positions, units] tensor`);
  const lastAxis = (a: number) => a === -1 || a === x.rank - 1;
  let rank = x.rank;
  if (op === 'Gather') {
    if (lastAxis(attrInt(node, 'axis', 0))) w.fail(node, 'it gathers hidden units');
    const idx = w.constants.get(inputs[1]);
    if (idx && tensorDims(idx).length === 0) rank -= 1;
    else if (!idx) w.fail(node, 'its indices are computed at run time');
  } else if (op === 'Slice') {
    const axes = inputs[3] ? w.constValues(inputs[3]) : undefined;
    if (!axes || axes.some(lastAxis)) w.fail(node, 'only slicing positions (constant axes other than the last) is supported');
  } else {
    const axes = attrInts(node, 'axes') ?? (inputs[1] ? w.constValues(inputs[1]) : undefined);
    if (!axes || axes.some(lastAxis)) return w.fail(node, 'only squeezing positions is supported');
    rank -= axes.length;
  }
  w.set(out, { ...x, rank, channelLast: rank > 2, layer: undefined });
};

/** A Transpose of [batch, positions, units] that keeps the units last ([S, N, d] for nn.MultiheadAttention). */
export function transposePositions(w: GraphWalker, node: onnx.INodeProto, x: TensorState, out: string): boolean {
  const perm = attrInts(node, 'perm') ?? [];
  if (!unitsLast(x) || x.rank < 3 || perm.length !== x.rank || perm[perm.length - 1] !== x.rank - 1) return false;
  // A size-1 axis (an RNN's direction) moves with the permutation.
  const singleton = x.singleton?.rank === x.rank ? { axis: perm.indexOf(x.singleton.axis), rank: x.rank } : undefined;
  // So does a bidirectional output's directions axis.
  const directions = x.directions?.rank === x.rank ? { ...x.directions, axis: perm.indexOf(x.directions.axis) } : undefined;
  w.set(out, { ...x, singleton, directions, layer: undefined });
  return true;
}

/** Gather/Slice/Squeeze of fixed data: a new fixed tensor (its channel count is told by the layer reading it). */
function selectFixed(w: GraphWalker, node: onnx.INodeProto, x: TensorState, inputs: string[], out: string): void {
  const op = node.opType ?? '';
  let rank: number | undefined = x.rank;
  if (op === 'Gather') {
    const idx = w.constants.get(inputs[1]);
    rank = idx ? x.rank - 1 + tensorDims(idx).length : w.declaredRank(out);
  } else if (op === 'Squeeze') {
    const axes = attrInts(node, 'axes') ?? (inputs[1] ? w.constValues(inputs[1]) : undefined);
    rank = axes ? x.rank - axes.length : w.declaredRank(out);
  }
  if (rank === undefined) return w.fail(node, 'the rank of the selected data cannot be told from the graph');
  w.set(out, { group: w.newGroup(0, true), caps: ALL, rank, flat: false });
}
