/**
 * Linear layers: Gemm (alpha, beta, transB folded into W and b), MatMul
 * (+ a bias Add right after it), Conv (group 1, depthwise, or grouped: held
 * dense and block-diagonal, its input's and output's groups tied block by
 * block, see ../unit-blocks.ts). Each opens a
 * new group for its outputs, in the canonical layout of ../network.ts.
 */
import { attrFloat, attrInt, isFloatTensor, type onnx, tensorDims } from '../../io/onnx';
import { channelLastToBlocks } from '../channel-layout';
import type { Layer } from '../network';
import type { OpRule } from './rule';
import { slotReader } from './slot-readers';
import { type StoredWeight, storedFields } from './stored-fields';
import { ALL, type TensorState, and, unitsLast } from './tensor-state';
import type { GraphWalker } from './walker';

/** What a layer node holds once its weight and bias are read. */
export interface LayerRead {
  op: Layer['op'];
  W: Float64Array;
  b: Float64Array;
  dims: number[];
  cols: number;
  outUnits: number;
  biasName?: string;
  biasDtype?: number;
  addNode?: number;
  out: string;
  spatialOut: boolean;
  weightDtype: number;
}

export const linear: OpRule = ({ walker: w, node, index, x }) => {
  const op = node.opType as Layer['op'];
  const inputs = node.input ?? [];
  let out = (node.output ?? [])[0];
  const wt = w.param(node, inputs[1], 'weight', 'copy');
  const dims = tensorDims(wt);
  const raw = w.finite(wt);
  let outUnits: number;
  let cols: number;
  let W: Float64Array;
  let biasName: string | undefined;
  let biasDtype: number | undefined;
  let addNode: number | undefined;
  let biasDims: number[] | undefined;
  let spatialOut = false;
  let depthwise = false;
  let grouped = 1;
  if (op === 'Conv') {
    const groups = attrInt(node, 'group', 1);
    if (groups !== 1) {
      // Depthwise (one filter per channel): channel c in → channel c out, so it permutes with its input's units.
      const units = x.slots?.length ?? x.parts?.reduce((n, q) => n + q.units, 0) ?? w.root(x.group).units;
      depthwise = dims[0] === groups && dims[1] === 1 && (units === groups || units === 0);
      // Otherwise grouped: output block k reads input block k only (../unit-blocks.ts).
      if (!depthwise) grouped = groups;
      if (grouped > 1 && dims[0] % groups !== 0) w.fail(node, `its ${dims[0]} output channels do not divide into ${groups} groups`);
    }
    if (x.rank < 3 || x.flat || x.channelLast) w.fail(node, 'Conv input must be channels-first with spatial axes');
    outUnits = dims[0];
    const kernel = dims.slice(2).reduce((p, q) => p * q, 1);
    cols = dims[1] * grouped * kernel;
    W = grouped > 1 ? blockDiagonal(raw, outUnits, dims[1], kernel, grouped) : raw;
    spatialOut = true;
  } else {
    // A MatMul applies to the last axis: [batch, features], or [batch, positions..., units] (transformers).
    const sequence = x.opaque || (op === 'MatMul' && x.rank > 2 && unitsLast(x));
    if (x.rank !== 2 && !sequence) w.fail(node, `${op} input must be [batch, features] (got rank ${x.rank})`);
    if (x.channelLast && !w.root(x.group).fixed && !x.flat && !sequence) w.fail(node, 'a dense layer over channel-last positions is not supported');
    if (dims.length !== 2) w.fail(node, `its weight "${inputs[1]}" must be 2-D`);
    let trans: boolean;
    let alpha = 1;
    if (op === 'Gemm') {
      if (attrInt(node, 'transA', 0) !== 0) w.fail(node, 'transA = 1 is not supported');
      trans = attrInt(node, 'transB', 0) === 0;
      alpha = attrFloat(node, 'alpha', 1);
    } else {
      trans = true;
    }
    // Stored [K, N] (transB = 0, MatMul) or [N, K] (transB = 1); canonical is [N, K], scaled by alpha.
    outUnits = trans ? dims[1] : dims[0];
    cols = trans ? dims[0] : dims[1];
    W = new Float64Array(outUnits * cols);
    for (let o = 0; o < outUnits; o++) for (let k = 0; k < cols; k++) W[o * cols + k] = alpha * (trans ? raw[k * outUnits + o] : raw[o * cols + k]);
  }
  const b = new Float64Array(outUnits);
  const biasInput = op === 'MatMul' ? undefined : inputs[2];
  if (biasInput) {
    const bt = w.param(node, biasInput, 'bias', 'copy');
    const bv = w.finite(bt);
    if (bv.length !== outUnits && bv.length !== 1) w.fail(node, `its bias "${biasInput}" has ${bv.length} values for ${outUnits} units`);
    const beta = op === 'Gemm' ? attrFloat(node, 'beta', 1) : 1;
    for (let o = 0; o < outUnits; o++) b[o] = beta * bv[bv.length === 1 ? 0 : o];
    biasName = w.ownName(biasInput);
    biasDtype = w.dtypeSeen(biasInput, bt);
  }
  if (op === 'MatMul') {
    // tf2onnx/Keras: MatMul followed by Add of a bias initializer.
    const users = w.uses.get(out) ?? [];
    const add = users.length === 1 && users[0] >= 0 ? w.graph.node[users[0]] : undefined;
    if (add && add.opType === 'Add') {
      const other = (add.input ?? []).find((n) => n !== out) ?? '';
      // An exporter may alias equal biases (all zeros at init) through Identity: each layer then gets its own copy.
      const bt = w.inits.get(w.castOf.get(other) ?? other);
      if (bt && isFloatTensor(bt)) {
        const bv = w.finite(bt);
        if (bv.length === outUnits) {
          w.param(add, other, 'bias', 'copy');
          b.set(bv);
          biasName = w.ownName(other);
          biasDtype = w.dtypeSeen(other, bt);
          biasDims = tensorDims(bt);
          addNode = users[0];
          w.absorbed.add(users[0]);
          out = (add.output ?? [])[0];
        }
      }
    }
  }
  const weightDtype = w.dtypeSeen(inputs[1], wt);
  // Split or shuffled channels, or a grouped or depthwise conv over concatenated ones: ./slot-readers.ts.
  if (x.slots || (x.parts && (grouped > 1 || depthwise))) {
    return slotReader(w, node, index, x, { op, W, b, dims, cols, outUnits, biasName, biasDtype, addNode, out, spatialOut, weightDtype }, { depthwise, grouped });
  }
  if (x.parts) return concatConsumer(w, node, index, x, { op, W, b, dims, cols, outUnits, biasName, biasDtype, addNode, out, spatialOut, weightDtype });
  const inGroup = w.root(x.group);
  if (depthwise) return channelwise(w, index, x, inputs[1], { op: 'Conv', W, b, dims, biasName, biasDtype, weightDtype, out });
  // A model input's channel count is first learned from the layer reading it.
  if (!inGroup.units) inGroup.units = op === 'Conv' ? dims[1] * grouped : cols;
  const inUnits = inGroup.units;
  if (op === 'Conv' && dims[1] * grouped !== inUnits) w.fail(node, `its weight expects ${dims[1] * grouped} input channels, ${inUnits} arrive`);
  if (!inUnits || cols % inUnits !== 0) w.fail(node, `its ${cols} input features do not divide into the ${inUnits || '?'} channels feeding it`);
  const inBlock = cols / inUnits;
  if (!x.flat && op !== 'Conv' && inBlock !== 1) w.fail(node, `its ${cols} input features do not match the ${inUnits} units feeding it`);
  // Flattened NHWC: stored column s·C + c becomes canonical column c·S + s (undone on writeback).
  const inChannelLast = Boolean(x.flat && x.channelLast && !inGroup.fixed && inBlock > 1);
  if (inChannelLast) W = channelLastToBlocks(W, outUnits, inUnits, inBlock);
  inGroup.caps = and(inGroup.caps, x.caps);
  if (inGroup.tensor === undefined) {
    inGroup.tensor = inputs[0];
    inGroup.tensorChannelLast = Boolean(x.channelLast);
  }
  const layerIndex = w.layers.length;
  const outGroup = w.newGroup(outUnits, false);
  w.layers.push({
    ...storedFields(w, index, inputs[1], { op, dims, weightDtype, biasName, biasDtype, addNode }),
    biasDims,
    outUnits,
    inUnits,
    inBlock,
    outGroup,
    inGroup: inGroup.id,
    inChannelLast: inChannelLast || undefined,
    grouped: grouped > 1 ? grouped : undefined,
    W,
    b,
  });
  if (grouped > 1) w.blockTies.push({ a: inGroup.id, b: outGroup, blocks: grouped, node });
  inGroup.consumers.push(layerIndex);
  w.groups[outGroup].producers.push(layerIndex);
  const perPosition = op === 'MatMul' && (x.opaque || (x.rank > 2 && unitsLast(x)));
  const rank = spatialOut ? x.rank : perPosition ? Math.max(x.rank, 3) : 2;
  w.set(out, { group: outGroup, caps: ALL, rank, flat: false, pooled: spatialOut && x.pooled, channelLast: perPosition || undefined, layer: layerIndex });
};

/** A layer reading concatenated channels: each part's group is read at its offset. */
function concatConsumer(w: GraphWalker, node: onnx.INodeProto, index: number, x: TensorState, p: LayerRead): void {
  const parts = x.parts!;
  const inUnits = parts.reduce((n, q) => n + q.units, 0);
  if (p.cols % inUnits !== 0 || (p.op === 'Conv' && p.dims[1] !== inUnits)) w.fail(node, `its ${p.cols} input features do not divide into the ${inUnits} concatenated channels`);
  const inBlock = p.cols / inUnits;
  if (!x.flat && p.op !== 'Conv' && inBlock !== 1) w.fail(node, `its ${p.cols} input features do not match the ${inUnits} channels feeding it`);
  const layerIndex = w.layers.length;
  const outGroup = w.newGroup(p.outUnits, false);
  let offset = 0;
  const inParts = parts.map((q) => {
    const part = { group: q.group, offset, units: q.units };
    offset += q.units;
    return part;
  });
  w.layers.push({
    ...storedFields(w, index, (node.input ?? [])[1], p),
    outUnits: p.outUnits,
    inUnits,
    inBlock,
    outGroup,
    inGroup: parts[0].group,
    inParts,
    W: p.W,
    b: p.b,
  });
  for (const q of parts) {
    const g = w.root(q.group);
    g.caps = and(g.caps, x.caps);
    g.consumers.push(layerIndex);
  }
  w.groups[outGroup].producers.push(layerIndex);
  w.set(p.out, { group: outGroup, caps: ALL, rank: p.spatialOut ? x.rank : 2, flat: false, pooled: p.spatialOut && x.pooled, layer: layerIndex });
}

/**
 * A depthwise Conv: a layer whose units are its input's units (filter c
 * reads channel c only). It joins its input's group as channel-wise
 * parameters, permuted with the group's units. A per-unit scale (sign)
 * passes it when the ops on both sides keep it: the bias scales with the
 * unit and the filter stays (../channelwise-scale.ts).
 */
function channelwise(w: GraphWalker, index: number, x: TensorState, weightName: string, p: StoredWeight & { W: Float64Array; b: Float64Array; out: string }): void {
  const group = w.root(x.group);
  const units = p.dims[0];
  group.units ||= units;
  group.caps = and(group.caps, x.caps);
  const layerIndex = w.layers.length;
  w.layers.push({
    ...storedFields(w, index, weightName, p),
    outUnits: units,
    inUnits: 1,
    inBlock: p.W.length / units,
    outGroup: group.id,
    inGroup: group.id,
    channelwise: true,
    W: p.W,
    b: p.b,
  });
  group.channelwise.push(layerIndex);
  w.set(p.out, { group: group.id, caps: ALL, rank: x.rank, flat: false, layer: layerIndex });
}

/** A grouped Conv's stored weight [out, in/g, k] → dense [out, in·k], block-diagonal (output block j reads input block j). */
export function blockDiagonal(stored: Float64Array, out: number, perGroup: number, kernel: number, groups: number): Float64Array {
  const dense = new Float64Array(out * perGroup * groups * kernel);
  const outPer = out / groups;
  for (let o = 0; o < out; o++) {
    const first = Math.floor(o / outPer) * perGroup;
    dense.set(stored.subarray(o * perGroup * kernel, (o + 1) * perGroup * kernel), (o * perGroup * groups + first) * kernel);
  }
  return dense;
}

/** The inverse of blockDiagonal: the blocks of a dense grouped weight, as stored. */
export function storedBlocks(dense: Float64Array, out: number, perGroup: number, kernel: number, groups: number): Float64Array {
  const stored = new Float64Array(out * perGroup * kernel);
  const outPer = out / groups;
  for (let o = 0; o < out; o++) {
    const first = Math.floor(o / outPer) * perGroup;
    const at = (o * perGroup * groups + first) * kernel;
    stored.set(dense.subarray(at, at + perGroup * kernel), o * perGroup * kernel);
  }
  return stored;
}
