/**
 * The weight-space view of a model: its linear layers (Gemm, MatMul+Add,
 * Conv, with BatchNorm folded in) in one canonical layout, and the symmetry
 * groups that tie hidden units across layers.
 *
 * Canonical layout of a layer: W is row-major [outUnits, inUnits·inBlock],
 * where column u·inBlock + k is input unit u's k-th weight (a Conv's filter
 * position, or a spatial position of a channel after Flatten — ONNX flattens
 * NCHW channel-major, so each channel owns a contiguous block of columns).
 * This is exactly the layout the C++ kernels take (`win` for the layer's
 * output group, `wout` for its input group).
 */
import type { onnx } from '../io/onnx';
import type { BlockFamily } from './unit-blocks';

/** Which transformations of a hidden unit leave the network's function unchanged. */
export interface Caps {
  /** Positive rescaling (positively homogeneous path: Relu, LeakyRelu, MaxPool, linear ops). */
  scale: boolean;
  /** Sign flip (odd path: Tanh, Erf, linear ops). */
  sign: boolean;
}

export type SymmetryKind = 'permutation+scale+sign' | 'permutation+scale' | 'permutation+sign' | 'permutation';

export function symmetryOf(caps: Caps): SymmetryKind {
  if (caps.scale && caps.sign) return 'permutation+scale+sign';
  if (caps.scale) return 'permutation+scale';
  if (caps.sign) return 'permutation+sign';
  return 'permutation';
}

/** Part of a layer's input: a group's units at an offset, or at the listed channels. */
export interface InputPart {
  group: number;
  offset: number;
  units: number;
  columns?: Int32Array;
}

/** The input channel holding unit u of a part. */
export function channelOf(part: InputPart, u: number): number {
  return part.columns ? part.columns[u] : part.offset + u;
}

export interface Layer {
  /** The weight initializer's name (used in messages and per-layer results). */
  name: string;
  /**
   * BatchNormalization: an unfolded norm's per-channel affine (W = a as [units, 1], b = d), channel-wise.
   * Norm: a LayerNorm/RMSNorm scale (W as [units, 1]) and shift (b), channel-wise, stored as they are.
   * Gather: an embedding table [rows, units] read by a Gather, W = its transpose (a layer from one-hot rows).
   * Table: a constant [..., rows, units] added to the units (positional embeddings), W = its transpose.
   */
  op: 'Gemm' | 'MatMul' | 'Conv' | 'BatchNormalization' | 'Norm' | 'Gather' | 'Table' | 'Recurrent';
  /**
   * A part of an LSTM/GRU/RNN op (graph/recurrent.ts): the node input slot it is stored in (1 W,
   * 2 R, 3 B, 5 initial_h, 6 initial_c, 7 P) and the gate count; in a bidirectional op, the
   * direction whose slice of the stored tensor it holds. `unitsLast`: stored with the units on
   * the last axis (an initial state [D, rows, H]), W is [H, rows].
   */
  recurrent?: { slot: number; gates: number; direction?: number; directions?: number; unitsLast?: boolean };
  /**
   * A grouped Conv (g groups, not depthwise): W is held dense [outUnits, inUnits·inBlock],
   * block-diagonal (zeros where output block k meets input block j ≠ k); writeback keeps the blocks.
   */
  grouped?: number;
  /** A depthwise Conv: one filter per unit of its group (inGroup = outGroup), W is [units, kh·kw]. */
  channelwise?: boolean;
  /** An unfolded norm's slice: the first of its channels in the norm's parameters. */
  normOffset?: number;
  /**
   * Reads concatenated channels: each part's group at its offset among the inUnits channels (inGroup is the first's).
   * `columns`: the part's units are not contiguous (split or shuffled channels, graph/unit-cells.ts):
   * unit u is input channel columns[u] (see channelOf).
   */
  inParts?: InputPart[];
  /** The weight (bias) initializer is shared with other nodes: writeback gives this layer its own copy. */
  ownWeight?: boolean;
  ownBias?: boolean;
  /** The node reading the bias when it is not `node` (a decomposed norm's shift Add): writeback points it at the layer's own copy. */
  biasNode?: number;
  /** Index of the Gemm/MatMul/Conv node in graph.node. */
  node: number;
  /** MatMul's bias Add node, if fused. */
  addNode?: number;
  /** Folded BatchNormalization node, if any. */
  bnNode?: number;
  /** Nodes folded into the layer, in order (BatchNorm, per-channel Mul/Add/Sub/Div); writeback removes them. */
  folded?: number[];
  weightName: string;
  /** Bias initializer name, if the layer has one (else b is zeros). */
  biasName?: string;
  /** The weight is an exporter's copy of a tied embedding table: permuted with it, not counted again in distances. */
  tiedCopy?: boolean;
  /** Stored bias dims when they are not [outUnits] (a norm's shift stored as [1, 1, units]). */
  biasDims?: number[];
  weightDtype: number;
  biasDtype?: number;
  /** Stored weight dims (for writeback). */
  weightDims: number[];
  /**
   * One part of a fused projection (GPT-2's q|k|v): rows [offset, offset + outUnits) of the
   * stored weight's `total` output rows; the parts are written back into one initializer.
   * `index`: the rows are these, not a contiguous range (a layer whose units are split into
   * cells by the channel splits downstream, graph/unit-cells.ts).
   */
  rows?: { offset: number; total: number; index?: Int32Array };
  outUnits: number;
  inUnits: number;
  inBlock: number;
  outGroup: number;
  inGroup: number;
  /** Fed by a flattened NHWC tensor: W's columns were reordered to channel-major blocks on read. */
  inChannelLast?: boolean;
  W: Float64Array;
  b: Float64Array;
}

export interface Group {
  id: number;
  units: number;
  caps: Caps;
  /** Fixed groups (model inputs, outputs) are never permuted. */
  fixed: boolean;
  /** Layers writing this group's units (several when a residual Add joins them). */
  producers: number[];
  /** Layers reading this group's units. */
  consumers: number[];
  /** Depthwise layers along the group: their filters and biases are per-unit parameters of the group. */
  channelwise: number[];
  /** An LSTM/GRU/RNN's hidden units: its layers (W, R, B, P) and gates; sign flips only the candidate gate's rows. */
  recurrent?: {
    W: number;
    R: number;
    B?: number;
    P?: number;
    initial?: number[];
    gates: number;
    candidate: number;
    /** The other direction's group when one learned initial state starts both: a unit's sign flips in both or in neither. */
    signWith?: number;
  };
  /**
   * Attention heads (graph/attention.ts): the units are `count` heads of `dim` units each,
   * head-major, and permute only as whole heads (shared with the `partner` group) and within
   * a head. 'qk': Q's and K's rows (the group has no consumers); 'vo': V's rows and O's
   * columns. `pairsFixed`: rotary embeddings, the dims within a head do not move;
   * `rotaryPairs`: Q/K rescaling (caps) is by rotary pair (i, i + dim/2), not by dim.
   * Grouped-query attention (`kv` on 'qk' and 'vo'): 'qk' is Q's rows only and 'vo' O's
   * columns only; K's rows and V's rows are the groups `kv.group` (roles 'k' and 'v', each
   * `kv.count` heads, `partner` the 'qk'/'vo' group), every K/V head shared by count / kv.count
   * consecutive query heads.
   */
  heads?: { count: number; dim: number; role: 'qk' | 'vo' | 'k' | 'v'; partner: number; pairsFixed?: boolean; rotaryPairs?: boolean; kv?: { group: number; count: number } };
  /** Its units are blocks of a family tied by grouped convolutions (index into Network.families; unit-blocks.ts). */
  family?: number;
  /** The tensor its first consumer reads: [batch, units, ...] or flattened channel-major [batch, units·block]. */
  tensor?: string;
  /** The group's units are these channels of that tensor (a cell of a layer's units, graph/unit-cells.ts). */
  tensorChannels?: Int32Array;
  /** That tensor holds the units on its last axis (NHWC). */
  tensorChannelLast?: boolean;
}

export interface Network {
  label: string;
  layers: Layer[];
  /** All groups by id (ids are dense; merged ids point to their root via `groupOf`). */
  groups: Group[];
  /** Hidden (permutable) groups in forward order. */
  hidden: number[];
  /** Hidden groups whose units permute only in blocks, tied across groups (grouped convolutions). */
  families?: BlockFamily[];
  /** Float initializers that are not layer or BatchNorm parameters (e.g. a shared PRelu slope). */
  extras: Array<{ name: string; data: Float64Array }>;
  /** The decoded model the network was read from. */
  model: { proto: onnx.ModelProto; label: string };
  /** What the analysis could not derive and left fixed (attention heads kept in place, and why). */
  notes?: string[];
}

/** Indices as ranges: [0:2,6:8] (a cell's rows or channels). */
export function rangesLabel(index: ArrayLike<number>): string {
  const ranges: string[] = [];
  for (let i = 0; i < index.length; ) {
    let j = i + 1;
    while (j < index.length && index[j] === index[j - 1] + 1) j++;
    ranges.push(`${index[i]}:${index[j - 1] + 1}`);
    i = j;
  }
  return `[${ranges.join(',')}]`;
}

/** How results name a hidden group: its tensor, and its channels there when it is a cell of a layer's units. */
export function groupLabel(net: Network, id: number): string {
  const g = net.groups[id];
  return (g.tensor ?? String(id)) + (g.tensorChannels ? rangesLabel(g.tensorChannels) : '');
}

/** Deep copy of the numeric state (layers' W and b, extras); structure is shared. */
export function cloneNetwork(net: Network): Network {
  return {
    ...net,
    layers: net.layers.map((l) => ({ ...l, W: l.W.slice(), b: l.b.slice() })),
    extras: net.extras.map((e) => ({ name: e.name, data: e.data.slice() })),
  };
}
