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
 * (group 1). Folded into the layer before it: BatchNormalization, and
 * per-channel Mul/Add/Sub/Div by a constant. Layout ops: Flatten, Reshape to
 * [batch, features] (also PyTorch's Shape→Gather→Concat dynamic form),
 * Squeeze of spatial axes, NCHW↔NHWC Transpose (tf2onnx); pools; Softmax
 * over the features at the end; Identity/Dropout pass through.
 *
 * Anything else stops with UNSUPPORTED_GRAPH naming the node.
 */
import { ModeldiffError, check } from '../errors';
import {
  type OnnxModel,
  attrFloat,
  attrInt,
  attrInts,
  graphOf,
  isFloatTensor,
  nodeLabel,
  onnx,
  tensorDims,
  tensorToFloat64,
} from '../io/onnx';
import { countedWeights } from './counted';
import { foldBatchNorm } from './fold';
import type { Caps, Group, Layer, Network } from './network';

interface TensorState {
  group: number;
  caps: Caps;
  rank: number;
  /** Flattened from a tensor with spatial axes: feature = channel·block + position. */
  flat: boolean;
  /**
   * Concatenated on the channel axis (DenseNet): the channels are these
   * groups' units in order (a direct sum), and `group` is the first part's.
   */
  parts?: Array<{ group: number; units: number }>;
  /** Every spatial axis has size 1 (after a global pool): a reshape to [batch, channels] is a squeeze. */
  pooled?: boolean;
  /** Channels moved to the last axis (NHWC, as tf2onnx leaves Keras conv nets before Flatten). */
  channelLast?: boolean;
  /** Set when the tensor is a layer's direct (pre-activation) output. */
  layer?: number;
}

const ALL: Caps = { scale: true, sign: true };
const and = (a: Caps, b: Caps): Caps => ({ scale: a.scale && b.scale, sign: a.sign && b.sign });

const PASS = new Set(['Identity', 'Dropout']);
const HOMOGENEOUS = new Set(['Relu', 'LeakyRelu', 'Abs']);
const ODD = new Set(['Tanh', 'Erf', 'Softsign', 'Asinh', 'Atan', 'Sinh', 'Sin', 'Tan', 'Asin']);
const LINEAR_UNARY = new Set(['Neg']);
const OTHER_ELEMENTWISE = new Set([
  'Sigmoid', 'Gelu', 'Softplus', 'Elu', 'Selu', 'Celu', 'HardSigmoid', 'HardSwish', 'Mish', 'Exp', 'Log',
  'Sqrt', 'Reciprocal', 'Cos', 'Cosh', 'ThresholdedRelu', 'Shrink', 'Square',
]);
const MAX_POOLS = new Set(['MaxPool', 'GlobalMaxPool']);
const AVG_POOLS = new Set(['AveragePool', 'GlobalAveragePool']);
const BINARY = new Set(['Add', 'Sub', 'Mul', 'Div', 'Pow']);
const RESHAPES = new Set(['Reshape', 'Flatten', 'Unsqueeze', 'Squeeze']);
/** Ops that may read a concatenation of several groups (each part keeps its own units). */
const PARTS_OK = new Set(['Conv', 'Gemm', 'MatMul', 'BatchNormalization', 'Flatten', 'Reshape', 'Squeeze', 'ReduceMean', 'ReduceMax', 'Clip', 'Concat', 'PRelu', ...PASS, ...HOMOGENEOUS, ...ODD, ...OTHER_ELEMENTWISE, ...MAX_POOLS, ...AVG_POOLS]);

export function buildNetwork(model: OnnxModel): Network {
  return new GraphWalker(model).run();
}

class GraphWalker {
  private readonly graph: onnx.GraphProto;
  private readonly inits = new Map<string, onnx.ITensorProto>();
  /** Constant values: initializers and Constant-node outputs. */
  private readonly constants = new Map<string, onnx.ITensorProto>();
  /** Cast/Identity outputs of an initializer → the initializer (weights stored in another dtype). */
  private readonly castOf = new Map<string, string>();
  /** The data type a Cast/Identity of an initializer yields (a layer's own copy is written in it). */
  private readonly castTo = new Map<string, number>();
  /** Parameters other nodes read too (each layer writes its own copy back). */
  private readonly sharedParams = new Set<string>();
  /** Tensors computed only from constants and shapes (e.g. a dynamic Reshape target). */
  private readonly shapeOnly = new Set<string>();
  private readonly uses = new Map<string, number[]>();
  private readonly state = new Map<string, TensorState>();
  private readonly parent: number[] = [];
  private readonly groups: Group[] = [];
  private readonly layers: Layer[] = [];
  /** Nodes already consumed as part of a pattern (MatMul's bias Add, a folded BatchNorm). */
  private readonly absorbed = new Set<number>();
  private readonly paramNames = new Set<string>();

  constructor(private readonly model: OnnxModel) {
    this.graph = graphOf(model);
  }

  run(): Network {
    const g = this.graph;
    for (const t of g.initializer) {
      this.inits.set(t.name ?? '', t);
      this.constants.set(t.name ?? '', t);
    }
    g.node.forEach((n, i) => {
      for (const x of n.input ?? []) if (x) this.uses.set(x, [...(this.uses.get(x) ?? []), i]);
    });
    for (const o of g.output) this.uses.set(o.name ?? '', [...(this.uses.get(o.name ?? '') ?? []), -1]);
    for (const input of g.input) {
      const name = input.name ?? '';
      if (this.inits.has(name)) continue;
      const rank = input.type?.tensorType?.shape?.dim?.length ?? 2;
      const id = this.newGroup(0, true);
      this.state.set(name, { group: id, caps: ALL, rank, flat: false });
    }
    g.node.forEach((node, i) => {
      if (!this.absorbed.has(i)) this.visit(node, i);
    });
    for (const o of g.output) {
      const s = this.state.get(o.name ?? '');
      if (s) for (const p of s.parts ?? [{ group: s.group }]) this.root(p.group).fixed = true;
    }
    return this.finish();
  }

  private fail(node: onnx.INodeProto, why: string): never {
    throw new ModeldiffError(
      'UNSUPPORTED_GRAPH',
      `${this.model.label}: cannot derive weight-space symmetries at ${nodeLabel(node)}: ${why} (the raw weight distance, methods ['raw'], output comparison and CKA still work)`,
      { option: 'methods' },
    );
  }

  private newGroup(units: number, fixed: boolean): number {
    const id = this.groups.length;
    this.groups.push({ id, units, caps: { ...ALL }, fixed, producers: [], consumers: [], channelwise: [] });
    this.parent.push(id);
    return id;
  }

  private find(id: number): number {
    while (this.parent[id] !== id) id = this.parent[id] = this.parent[this.parent[id]];
    return id;
  }

  private root(id: number): Group {
    return this.groups[this.find(id)];
  }

  /** Merge two groups (a residual join); the older id stays the root so forward order is kept. */
  private union(a: number, b: number, node: onnx.INodeProto): number {
    const ra = this.find(a);
    const rb = this.find(b);
    if (ra === rb) return ra;
    const [keep, drop] = ra < rb ? [ra, rb] : [rb, ra];
    const k = this.groups[keep];
    const d = this.groups[drop];
    if (k.units && d.units && k.units !== d.units) this.fail(node, `it joins ${k.units} and ${d.units} channels`);
    k.units ||= d.units;
    k.caps = and(k.caps, d.caps);
    k.fixed ||= d.fixed;
    if (k.tensor === undefined) {
      k.tensor = d.tensor;
      k.tensorChannelLast = d.tensorChannelLast;
    }
    this.parent[drop] = keep;
    return keep;
  }

  private isConst(name: string): boolean {
    return !name || this.constants.has(name) || this.shapeOnly.has(name);
  }

  private data(node: onnx.INodeProto, name: string): TensorState {
    const s = this.state.get(name);
    if (!s) this.fail(node, `its input "${name}" is not a tensor this analysis can follow`);
    return s;
  }

  /**
   * A parameter initializer, seen through a Cast/Identity (fp16/bf16
   * weights in a model computing in fp32). Shared by several nodes (an
   * exporter merges identical constants, e.g. fresh BatchNorm statistics):
   * fine when the parameter is only read ('read': folded away), or when
   * each layer may get its own copy on writeback ('copy'); the caller learns
   * which through `shared`.
   */
  private param(node: onnx.INodeProto, name: string, what: string, sharing: 'read' | 'copy' | 'none'): onnx.ITensorProto {
    const real = this.castOf.get(name) ?? name;
    const t = this.inits.get(real);
    if (!t) this.fail(node, `its ${what} "${name}" is not an initializer`);
    if (!isFloatTensor(t)) this.fail(node, `its ${what} "${name}" is not a floating-point tensor`);
    const shared = (this.uses.get(real) ?? []).length !== 1 || (real !== name && (this.uses.get(name) ?? []).length !== 1);
    if (shared && (sharing === 'none' || (sharing === 'copy' && real !== name && !this.castTo.has(name)))) {
      this.fail(node, `its ${what} "${name}" is shared with other nodes`);
    }
    this.paramNames.add(real);
    if (shared) this.sharedParams.add(name);
    return t;
  }

  /**
   * The initializer a layer writes its parameter to: the one behind a Cast
   * (written in its stored type), or, when shared, the name the node reads
   * (writeback then gives the layer its own initializer of that name's type).
   */
  private ownName(name: string): string {
    return this.sharedParams.has(name) ? name : (this.castOf.get(name) ?? name);
  }

  private dtypeSeen(name: string, t: onnx.ITensorProto): number {
    const stored = t.dataType ?? onnx.TensorProto.DataType.FLOAT;
    return this.sharedParams.has(name) ? (this.castTo.get(name) ?? stored) : stored;
  }

  private values(t: onnx.ITensorProto): Float64Array {
    return tensorToFloat64(t, this.model.label);
  }

  /** A parameter's values; NaN or Infinity in weights is an error naming the tensor, not a NaN distance. */
  private finite(t: onnx.ITensorProto): Float64Array {
    const v = this.values(t);
    const bad = v.findIndex((x) => !Number.isFinite(x));
    if (bad >= 0) throw new ModeldiffError('NON_FINITE', `${this.model.label}: tensor ${t.name} has a non-finite value (${v[bad]}) at index ${bad}`);
    return v;
  }

  private set(name: string, s: TensorState): void {
    this.state.set(name, s);
  }

  private visit(node: onnx.INodeProto, index: number): void {
    const op = node.opType ?? '';
    const inputs = (node.input ?? []).filter((x) => x);
    const outputs = node.output ?? [];
    if (op === 'Constant') {
      const v = (node.attribute ?? []).find((a) => a.name === 'value')?.t;
      if (v) this.constants.set(outputs[0], v);
      else this.shapeOnly.add(outputs[0]);
      return;
    }
    if ((op === 'Cast' || op === 'Identity' || op === 'CastLike') && this.constants.has(inputs[0])) {
      const source = this.castOf.get(inputs[0]) ?? inputs[0];
      if (this.inits.has(source)) {
        this.castOf.set(outputs[0], source);
        const from = this.castTo.get(inputs[0]) ?? this.inits.get(source)!.dataType ?? onnx.TensorProto.DataType.FLOAT;
        if (op !== 'CastLike') this.castTo.set(outputs[0], op === 'Cast' ? attrInt(node, 'to', from) : from);
      }
      this.constants.set(outputs[0], this.constants.get(inputs[0])!);
      return;
    }
    if (inputs.every((x) => this.isConst(x)) || op === 'Shape' || op === 'Size') {
      for (const o of outputs) this.shapeOnly.add(o);
      return;
    }
    if (node.domain && node.domain !== 'ai.onnx') this.fail(node, `custom-domain op ${node.domain}.${op}`);
    const x = this.data(node, inputs.find((i) => !this.isConst(i))!);
    const out = outputs[0];
    if (op === 'Gemm' || op === 'MatMul' || op === 'Conv') return this.linear(node, index, x);
    if (op === 'BatchNormalization') return this.batchNorm(node, x);
    if (PASS.has(op)) return this.set(out, { ...x, layer: undefined });
    if (HOMOGENEOUS.has(op)) return this.set(out, { ...x, caps: and(x.caps, { scale: true, sign: false }), layer: undefined });
    if (op === 'PRelu') {
      const slope = this.inits.get(inputs[1]);
      if (!slope || slope.dims?.reduce((a: number, b) => a * Number(b), 1) !== 1) this.fail(node, 'only a single shared PRelu slope keeps the scale symmetry');
      return this.set(out, { ...x, caps: and(x.caps, { scale: true, sign: false }), layer: undefined });
    }
    if (ODD.has(op)) return this.set(out, { ...x, caps: and(x.caps, { scale: false, sign: true }), layer: undefined });
    if (LINEAR_UNARY.has(op)) return this.set(out, { ...x, layer: undefined });
    if (OTHER_ELEMENTWISE.has(op)) return this.set(out, { ...x, caps: { scale: false, sign: false }, layer: undefined });
    if (op === 'Softmax' || op === 'LogSoftmax') {
      const axis = attrInt(node, 'axis', -1);
      if (!(x.rank === 2 && (axis === 1 || axis === -1))) this.fail(node, 'softmax must run over the feature axis of a 2-D tensor');
      return this.set(out, { ...x, caps: { scale: false, sign: false }, layer: undefined });
    }
    if (op === 'Clip') return this.set(out, { ...x, caps: and(x.caps, this.clipCaps(node)), layer: undefined });
    if (op === 'ReduceMean' || op === 'ReduceMax') return this.reduce(node, x, inputs);
    if (MAX_POOLS.has(op) || AVG_POOLS.has(op)) {
      if (x.rank < 3 || x.flat || x.channelLast) this.fail(node, 'pooling needs a channels-first tensor with spatial axes');
      const caps = MAX_POOLS.has(op) ? and(x.caps, { scale: true, sign: false }) : x.caps;
      return this.set(out, { ...x, caps, pooled: op.startsWith('Global') || undefined, layer: undefined });
    }
    if (RESHAPES.has(op) && this.root(x.group).fixed) return this.reshapeFixed(node, x, inputs);
    if (op === 'Flatten' || op === 'Reshape' || op === 'Squeeze') return this.flatten(node, x, inputs);
    if (op === 'Transpose') return this.transpose(node, x);
    if (op === 'Concat') return this.concat(node, inputs);
    if (x.parts && !PARTS_OK.has(op)) this.fail(node, 'it reads channels concatenated from several layers');
    if (BINARY.has(op)) return this.binary(node, inputs);
    this.fail(node, `op ${op} is not supported`);
  }

  /**
   * Clip(min, max): ReLU when min = 0 and there is no max (positively
   * homogeneous); odd when the bounds are symmetric; otherwise (ReLU6) only
   * permutation.
   */
  private clipCaps(node: onnx.INodeProto): Caps {
    const inputs = node.input ?? [];
    const bound = (i: number, attr: string, fallback: number) => {
      if (inputs[i]) {
        const c = this.constants.get(inputs[i]);
        if (!c) this.fail(node, 'its bounds are computed at run time');
        return this.values(c)[0];
      }
      return attrFloat(node, attr, fallback);
    };
    const lo = bound(1, 'min', -Infinity);
    const hi = bound(2, 'max', Infinity);
    if (lo === 0 && hi === Infinity) return { scale: true, sign: false };
    if (lo === -hi) return { scale: false, sign: true };
    return { scale: false, sign: false };
  }

  /** ReduceMean/ReduceMax over the spatial axes: a global pool (how the dynamo exporter writes adaptive_avg_pool2d(1)). */
  private reduce(node: onnx.INodeProto, x: TensorState, inputs: string[]): void {
    const axes = attrInts(node, 'axes') ?? (inputs[1] ? this.constValues(inputs[1]) : undefined);
    const spatial = axes?.map((a) => (a < 0 ? a + x.rank : a)).sort((p, q) => p - q);
    const all = Array.from({ length: x.rank - 2 }, (_, i) => i + 2);
    if (x.rank < 3 || x.flat || x.channelLast || !spatial || spatial.join() !== all.join()) {
      this.fail(node, 'only a reduction over all spatial axes of a channels-first tensor (a global pool) is supported');
    }
    const keep = attrInt(node, 'keepdims', 1) === 1;
    const caps = node.opType === 'ReduceMax' ? and(x.caps, { scale: true, sign: false }) : x.caps;
    this.set((node.output ?? [])[0], { ...x, caps, rank: keep ? x.rank : 2, pooled: keep, layer: undefined });
  }

  /**
   * NCHW ↔ NHWC. A model input may be transposed freely (it is fixed); hidden
   * channels may move to the last axis and back, and a channel-last tensor
   * may be flattened into a dense layer (its columns are then position-major,
   * which the layer's canonical view reorders to channel-major blocks).
   */
  private transpose(node: onnx.INodeProto, x: TensorState): void {
    const out = (node.output ?? [])[0];
    if (this.root(x.group).fixed) return this.set(out, { ...x, layer: undefined });
    const perm = attrInts(node, 'perm') ?? [];
    const r = x.rank;
    const toLast = [0, ...Array.from({ length: r - 2 }, (_, i) => i + 2), 1];
    const toFirst = [0, r - 1, ...Array.from({ length: r - 2 }, (_, i) => i + 1)];
    const same = (a: number[], b: number[]) => a.length === b.length && a.every((v, i) => v === b[i]);
    if (r > 2 && !x.flat && !x.channelLast && same(perm, toLast)) return this.set(out, { ...x, channelLast: true, layer: undefined });
    if (r > 2 && !x.flat && x.channelLast && same(perm, toFirst)) return this.set(out, { ...x, channelLast: false, layer: undefined });
    this.fail(node, `only moving the channel axis of a hidden tensor last (NHWC) and back is supported, not perm [${perm}]`);
  }

  /**
   * Any reshape of a fixed tensor (a model input, before any weight: an
   * nn.Unflatten to [N, 1, 28, 28], an Unsqueeze of a sequence): nothing is
   * permuted there, so the result is a new fixed tensor whose channel count
   * the layer reading it tells. Only its rank must be known.
   */
  private reshapeFixed(node: onnx.INodeProto, x: TensorState, inputs: string[]): void {
    const op = node.opType ?? '';
    const out = (node.output ?? [])[0];
    const axes = () => attrInts(node, 'axes') ?? (inputs[1] ? this.constValues(inputs[1]) : undefined);
    let rank: number | undefined;
    if (op === 'Flatten') rank = 2;
    else if (op === 'Reshape') rank = this.lengthOf(inputs[1]) ?? this.declaredRank(out);
    else if (op === 'Unsqueeze') rank = axes() ? x.rank + axes()!.length : this.declaredRank(out);
    else rank = axes() ? x.rank - axes()!.length : this.declaredRank(out);
    if (rank === undefined) this.fail(node, 'the rank of the reshaped input cannot be told from the graph');
    const id = this.newGroup(0, true);
    this.set(out, { group: id, caps: ALL, rank, flat: false });
  }

  private constValues(name: string): number[] | undefined {
    const c = this.constants.get(name);
    return c ? Array.from(this.values(c)) : undefined;
  }

  /** The length of a 1-D shape tensor: a constant's, or a Concat of one-element pieces (PyTorch's dynamic shapes). */
  private lengthOf(name: string): number | undefined {
    const c = this.constants.get(name);
    if (c) return tensorDims(c)[0];
    const producer = this.graph.node.find((n) => (n.output ?? []).includes(name));
    if (producer?.opType !== 'Concat') return undefined;
    let n = 0;
    for (const part of producer.input ?? []) {
      const k = this.constants.get(part) ? tensorDims(this.constants.get(part)!)[0] : 1;
      n += k;
    }
    return n;
  }

  private declaredRank(name: string): number | undefined {
    const v = [...this.graph.valueInfo, ...this.graph.output].find((i) => i.name === name);
    return v?.type?.tensorType?.shape?.dim?.length;
  }

  private flatten(node: onnx.INodeProto, x: TensorState, inputs: string[]): void {
    const op = node.opType;
    const out = (node.output ?? [])[0];
    if (op === 'Flatten' && attrInt(node, 'axis', 1) !== 1) this.fail(node, 'only Flatten with axis = 1 is supported');
    if (op === 'Reshape') {
      // Without shape inference we accept only reshapes that keep the batch axis and merge the rest.
      const shape = this.constants.get(inputs[1]);
      const v = shape ? Array.from(this.values(shape)) : undefined;
      const units = x.parts ? x.parts.reduce((n, q) => n + q.units, 0) : this.root(x.group).units;
      const keepsFeatures = v && (v[0] === 0 || v[1] === -1 || (!x.flat && (x.rank <= 2 || x.pooled) && v[1] === units));
      if (v && (v.length !== 2 || !keepsFeatures)) this.fail(node, 'only a reshape to [batch, features] is supported');
    }
    if (op === 'Squeeze') {
      const axes = attrInts(node, 'axes') ?? (inputs[1] && this.constants.get(inputs[1]) ? Array.from(this.values(this.constants.get(inputs[1])!)) : undefined);
      if (!axes || axes.some((a) => a === 0 || a === 1 || a === -x.rank + 1 || a === -x.rank)) this.fail(node, 'only squeezing spatial axes is supported');
      if (x.rank - axes.length !== 2) this.fail(node, 'only squeezing to [batch, channels] is supported');
    }
    if (x.rank <= 2) return this.set(out, { ...x, layer: undefined });
    this.set(out, { ...x, rank: 2, flat: true, layer: undefined });
  }

  private binary(node: onnx.INodeProto, inputs: string[]): void {
    const op = node.opType ?? '';
    const out = (node.output ?? [])[0];
    const [a, b] = inputs;
    if (!this.isConst(a) && !this.isConst(b)) {
      const sa = this.data(node, a);
      const sb = this.data(node, b);
      if (sa.rank !== sb.rank || sa.flat !== sb.flat || Boolean(sa.channelLast) !== Boolean(sb.channelLast)) this.fail(node, 'it joins tensors of different layouts');
      const group = this.union(sa.group, sb.group, node);
      const linear = op === 'Add' || op === 'Sub';
      const caps = linear ? and(sa.caps, sb.caps) : { scale: false, sign: false };
      this.set(out, { group, caps, rank: sa.rank, flat: sa.flat, channelLast: sa.channelLast });
      return;
    }
    const dataName = this.isConst(a) ? b : a;
    const constName = this.isConst(a) ? a : b;
    const x = this.data(node, dataName);
    const c = this.constants.get(constName);
    if (!c) this.fail(node, 'its constant operand is computed at run time');
    const v = this.values(c);
    if (this.foldAffine(node, op, x, dataName, constName, c, v)) return;
    if (v.length !== 1) this.fail(node, `a per-element constant operand ("${c.name || 'constant'}") is not supported`);
    let caps: Caps;
    if (op === 'Mul' || (op === 'Div' && dataName === a)) caps = x.caps;
    else if ((op === 'Add' || op === 'Sub') && v[0] === 0) caps = x.caps;
    else caps = { scale: false, sign: false };
    this.set(out, { ...x, caps, layer: undefined });
  }

  /**
   * A per-channel Mul/Add/Sub/Div by a constant right after a layer (how
   * tf2onnx writes a folded Keras BatchNormalization, or a bias kept apart) is
   * an affine map of the layer's outputs: fold it into W and b, exactly.
   */
  private foldAffine(node: onnx.INodeProto, op: string, x: TensorState, dataName: string, constName: string, c: onnx.ITensorProto, v: Float64Array): boolean {
    if (x.layer === undefined || (this.uses.get(dataName) ?? []).length !== 1) return false;
    const layer = this.layers[x.layer];
    if (v.length !== layer.outUnits || !this.inits.has(constName) || (this.uses.get(constName) ?? []).length !== 1) return false;
    // The constant must run along the channel axis: [C] or [1, C] on [N, C]; [C, 1, 1] or [1, C, 1, 1] on [N, C, H, W].
    const dims = tensorDims(c).filter((d, i, all) => !(d === 1 && i === 0 && all.length === x.rank));
    if (dims.length !== x.rank - 1 || dims[0] !== layer.outUnits || dims.slice(1).some((d) => d !== 1)) return false;
    const constFirst = (node.input ?? [])[0] === constName;
    if (op === 'Div' && constFirst) return false;
    const cols = layer.W.length / layer.outUnits;
    this.param(node, constName, 'constant', 'none');
    const value = this.finite(c);
    for (let o = 0; o < layer.outUnits; o++) {
      const k = value[o];
      const [scale, shift] = op === 'Mul' ? [k, 0] : op === 'Div' ? [1 / k, 0] : op === 'Add' ? [1, k] : constFirst ? [-1, k] : [1, -k];
      for (let j = 0; j < cols; j++) layer.W[o * cols + j] *= scale;
      layer.b[o] = layer.b[o] * scale + shift;
    }
    (layer.folded ??= []).push(this.graph.node.indexOf(node as onnx.NodeProto));
    this.set((node.output ?? [])[0], { ...x });
    return true;
  }

  private linear(node: onnx.INodeProto, index: number, x: TensorState): void {
    const op = node.opType as Layer['op'];
    const inputs = node.input ?? [];
    let out = (node.output ?? [])[0];
    const wt = this.param(node, inputs[1], 'weight', 'copy');
    const dims = tensorDims(wt);
    const raw = this.finite(wt);
    let outUnits: number;
    let cols: number;
    let W: Float64Array;
    let b: Float64Array;
    let biasName: string | undefined;
    let biasDtype: number | undefined;
    let addNode: number | undefined;
    let spatialOut = false;
    let depthwise = false;
    if (op === 'Conv') {
      const groups = attrInt(node, 'group', 1);
      if (groups !== 1) {
        // Depthwise (one filter per channel): channel c in → channel c out, so it permutes with its input's units.
        const units = this.root(x.group).units;
        depthwise = dims[0] === groups && dims[1] === 1 && (units === groups || units === 0);
        if (!depthwise) {
          this.fail(node, `grouped convolution (group = ${groups}, ${dims[1]} channels per group) is not supported, only depthwise (one filter per channel)`);
        }
      }
      if (x.rank < 3 || x.flat || x.channelLast) this.fail(node, 'Conv input must be channels-first with spatial axes');
      outUnits = dims[0];
      cols = dims.slice(1).reduce((p, q) => p * q, 1);
      W = raw;
      spatialOut = true;
    } else {
      if (x.rank !== 2) this.fail(node, `${op} input must be [batch, features] (got rank ${x.rank})`);
      if (x.channelLast && !this.root(x.group).fixed && !x.flat) this.fail(node, 'a dense layer over channel-last positions is not supported');
      if (dims.length !== 2) this.fail(node, `its weight "${inputs[1]}" must be 2-D`);
      let trans: boolean;
      let alpha = 1;
      if (op === 'Gemm') {
        if (attrInt(node, 'transA', 0) !== 0) this.fail(node, 'transA = 1 is not supported');
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
    b = new Float64Array(outUnits);
    const biasInput = op === 'MatMul' ? undefined : inputs[2];
    if (biasInput) {
      const bt = this.param(node, biasInput, 'bias', 'copy');
      const bv = this.finite(bt);
      if (bv.length !== outUnits && bv.length !== 1) this.fail(node, `its bias "${biasInput}" has ${bv.length} values for ${outUnits} units`);
      const beta = op === 'Gemm' ? attrFloat(node, 'beta', 1) : 1;
      for (let o = 0; o < outUnits; o++) b[o] = beta * bv[bv.length === 1 ? 0 : o];
      biasName = this.ownName(biasInput);
      biasDtype = this.dtypeSeen(biasInput, bt);
    }
    if (op === 'MatMul') {
      // tf2onnx/Keras: MatMul followed by Add of a bias initializer.
      const users = this.uses.get(out) ?? [];
      const add = users.length === 1 && users[0] >= 0 ? this.graph.node[users[0]] : undefined;
      if (add && add.opType === 'Add') {
        const other = (add.input ?? []).find((n) => n !== out) ?? '';
        const bt = this.inits.get(other);
        if (bt && isFloatTensor(bt) && (this.uses.get(other) ?? []).length === 1) {
          const bv = this.finite(bt);
          if (bv.length === outUnits) {
            this.param(add, other, 'bias', 'none');
            b.set(bv);
            biasName = other;
            biasDtype = bt.dataType ?? undefined;
            addNode = users[0];
            this.absorbed.add(users[0]);
            out = (add.output ?? [])[0];
          }
        }
      }
    }
    if (x.parts && depthwise) this.fail(node, 'a depthwise convolution over concatenated channels is not supported');
    if (x.parts) return this.concatConsumer(node, index, x, { op, W, b, dims, cols, outUnits, biasName, biasDtype, addNode, out, spatialOut, weightDtype: this.dtypeSeen(inputs[1], wt) });
    const inGroup = this.root(x.group);
    if (depthwise) return this.channelwise(node, index, x, { W, b, dims, weightName: inputs[1], biasName, biasDtype, weightDtype: this.dtypeSeen(inputs[1], wt), out });
    // A model input's channel count is first learned from the layer reading it.
    if (!inGroup.units) inGroup.units = op === 'Conv' ? dims[1] : cols;
    const inUnits = inGroup.units;
    if (op === 'Conv' && dims[1] !== inUnits) this.fail(node, `its weight expects ${dims[1]} input channels, ${inUnits} arrive`);
    if (!inUnits || cols % inUnits !== 0) this.fail(node, `its ${cols} input features do not divide into the ${inUnits || '?'} channels feeding it`);
    const inBlock = cols / inUnits;
    if (!x.flat && op !== 'Conv' && inBlock !== 1) this.fail(node, `its ${cols} input features do not match the ${inUnits} units feeding it`);
    // Flattened NHWC: stored column s·C + c becomes canonical column c·S + s (undone on writeback).
    const inChannelLast = Boolean(x.flat && x.channelLast && !inGroup.fixed && inBlock > 1);
    if (inChannelLast) W = channelLastToBlocks(W, outUnits, inUnits, inBlock);
    inGroup.caps = and(inGroup.caps, x.caps);
    if (inGroup.tensor === undefined) {
      inGroup.tensor = inputs[0];
      inGroup.tensorChannelLast = Boolean(x.channelLast);
    }
    const layerIndex = this.layers.length;
    const outGroup = this.newGroup(outUnits, false);
    this.layers.push({
      name: inputs[1],
      op,
      node: index,
      addNode,
      weightName: this.ownName(inputs[1]),
      ownWeight: this.sharedParams.has(inputs[1]) || undefined,
      ownBias: (biasName !== undefined && this.sharedParams.has(biasName)) || undefined,
      biasName,
      weightDtype: this.dtypeSeen(inputs[1], wt),
      biasDtype,
      weightDims: dims,
      outUnits,
      inUnits,
      inBlock,
      outGroup,
      inGroup: inGroup.id,
      inChannelLast: inChannelLast || undefined,
      W,
      b,
    });
    inGroup.consumers.push(layerIndex);
    this.groups[outGroup].producers.push(layerIndex);
    this.set(out, { group: outGroup, caps: ALL, rank: spatialOut ? x.rank : 2, flat: false, pooled: spatialOut && x.pooled, layer: layerIndex });
  }

  /** A layer reading concatenated channels: each part's group is read at its offset. */
  private concatConsumer(
    node: onnx.INodeProto,
    index: number,
    x: TensorState,
    p: { op: Layer['op']; W: Float64Array; b: Float64Array; dims: number[]; cols: number; outUnits: number; biasName?: string; biasDtype?: number; addNode?: number; out: string; spatialOut: boolean; weightDtype: number },
  ): void {
    const parts = x.parts!;
    const inUnits = parts.reduce((n, q) => n + q.units, 0);
    if (p.cols % inUnits !== 0 || (p.op === 'Conv' && p.dims[1] !== inUnits)) this.fail(node, `its ${p.cols} input features do not divide into the ${inUnits} concatenated channels`);
    const inBlock = p.cols / inUnits;
    if (!x.flat && p.op !== 'Conv' && inBlock !== 1) this.fail(node, `its ${p.cols} input features do not match the ${inUnits} channels feeding it`);
    const layerIndex = this.layers.length;
    const outGroup = this.newGroup(p.outUnits, false);
    let offset = 0;
    const inParts = parts.map((q) => {
      const part = { group: q.group, offset, units: q.units };
      offset += q.units;
      return part;
    });
    const inputName = (node.input ?? [])[1];
    this.layers.push({
      name: inputName,
      op: p.op,
      node: index,
      addNode: p.addNode,
      weightName: this.ownName(inputName),
      ownWeight: this.sharedParams.has(inputName) || undefined,
      ownBias: (p.biasName !== undefined && this.sharedParams.has(p.biasName)) || undefined,
      biasName: p.biasName,
      weightDtype: p.weightDtype,
      biasDtype: p.biasDtype,
      weightDims: p.dims,
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
      const g = this.root(q.group);
      g.caps = and(g.caps, x.caps);
      g.consumers.push(layerIndex);
    }
    this.groups[outGroup].producers.push(layerIndex);
    this.set(p.out, { group: outGroup, caps: ALL, rank: p.spatialOut ? x.rank : 2, flat: false, pooled: p.spatialOut && x.pooled, layer: layerIndex });
  }

  /**
   * A depthwise Conv: a layer whose units are its input's units (filter c
   * reads channel c only). It joins its input's group as channel-wise
   * parameters, permuted with the group's units; the group keeps only the
   * permutation symmetry (a per-unit scale or sign would have to pass
   * through the depthwise bias and the activations on both sides).
   */
  private channelwise(
    node: onnx.INodeProto,
    index: number,
    x: TensorState,
    p: { W: Float64Array; b: Float64Array; dims: number[]; weightName: string; biasName?: string; biasDtype?: number; weightDtype: number; out: string },
  ): void {
    const group = this.root(x.group);
    const units = p.dims[0];
    group.units ||= units;
    group.caps = { scale: false, sign: false };
    const layerIndex = this.layers.length;
    this.layers.push({
      name: p.weightName,
      op: 'Conv',
      node: index,
      weightName: this.ownName(p.weightName),
      ownWeight: this.sharedParams.has(p.weightName) || undefined,
      ownBias: (p.biasName !== undefined && this.sharedParams.has(p.biasName)) || undefined,
      biasName: p.biasName,
      weightDtype: p.weightDtype,
      biasDtype: p.biasDtype,
      weightDims: p.dims,
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
    this.set(p.out, { group: group.id, caps: { scale: false, sign: false }, rank: x.rank, flat: false, layer: layerIndex });
  }

  /**
   * Concat on the channel axis (DenseNet's dense blocks): the result's
   * channels are its inputs' units in order, each input keeping its own
   * group (and permutation); a layer reading it reads each part at its
   * offset.
   */
  private concat(node: onnx.INodeProto, inputs: string[]): void {
    const states = inputs.map((i) => (this.isConst(i) ? this.fail(node, 'it concatenates a constant with data') : this.data(node, i)));
    const first = states[0];
    const axis = attrInt(node, 'axis', 0);
    if ((axis !== 1 && axis !== 1 - first.rank) || first.flat || first.channelLast) this.fail(node, 'only a concatenation of channels-first tensors on the channel axis is supported');
    if (states.some((s) => s.rank !== first.rank || s.flat || s.channelLast)) this.fail(node, 'it joins tensors of different layouts');
    const out = (node.output ?? [])[0];
    if (states.length === 1) return this.set(out, { ...first, layer: undefined });
    const parts = states.flatMap((s) => s.parts ?? [{ group: s.group, units: this.root(s.group).units }]);
    if (parts.some((p) => !p.units)) this.fail(node, 'the channel count of an input is unknown');
    const roots = parts.map((p) => this.find(p.group));
    if (new Set(roots).size !== roots.length) this.fail(node, 'it concatenates the same units more than once');
    const caps = states.reduce((c, s) => and(c, s.caps), ALL);
    this.set(out, { group: parts[0].group, parts, caps, rank: first.rank, flat: false, pooled: states.every((s) => s.pooled) || undefined });
  }

  /**
   * A BatchNormalization that follows no layer (DenseNet normalizes the
   * concatenation before each layer): a per-channel affine map
   * y = a·x + d, a = scale/√(var + ε), d = bias − a·mean. Each part's slice
   * is a channel-wise parameter of that part's group (permutation only);
   * writeback stores a and d as the scale and bias, with mean 0 and
   * variance 1 − ε.
   */
  private unfoldedNorm(node: onnx.INodeProto, x: TensorState): void {
    const inputs = node.input ?? [];
    const values = inputs.slice(1, 5).map((name, i) => this.finite(this.param(node, name, ['scale', 'bias', 'mean', 'variance'][i], 'read')));
    const [scale, bias, mean, variance] = values;
    const eps = attrFloat(node, 'epsilon', 1e-5);
    const parts = x.parts ?? [{ group: x.group, units: this.root(x.group).units }];
    const total = parts.reduce((n, p) => n + p.units, 0);
    if (values.some((v) => v.length !== total)) this.fail(node, `its parameters do not have one value per channel (${total})`);
    const index = this.graph.node.indexOf(node as onnx.NodeProto);
    let offset = 0;
    for (const p of parts) {
      const group = this.root(p.group);
      if (group.fixed) this.fail(node, 'it normalizes a model input; fold it into the first layer before comparing');
      group.caps = { scale: false, sign: false };
      const a = Float64Array.from({ length: p.units }, (_, u) => scale[offset + u] / Math.sqrt(variance[offset + u] + eps));
      const d = Float64Array.from({ length: p.units }, (_, u) => bias[offset + u] - a[u] * mean[offset + u]);
      const layerIndex = this.layers.length;
      const name = `${inputs[1]}[${offset}:${offset + p.units}]`;
      this.layers.push({
        name,
        op: 'BatchNormalization',
        node: index,
        weightName: name,
        biasName: `${inputs[2]}[${offset}:${offset + p.units}]`,
        weightDtype: this.inits.get(this.castOf.get(inputs[1]) ?? inputs[1])!.dataType ?? onnx.TensorProto.DataType.FLOAT,
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
    this.set((node.output ?? [])[0], { ...x, caps: { scale: false, sign: false }, layer: undefined });
  }

  private batchNorm(node: onnx.INodeProto, x: TensorState): void {
    const inputs = node.input ?? [];
    if ((node.output ?? []).filter((o) => o).length !== 1) this.fail(node, 'training-mode BatchNormalization (extra outputs) is not supported');
    const users = this.uses.get(inputs[0]) ?? [];
    if (x.layer === undefined) return this.unfoldedNorm(node, x);
    if (users.length !== 1) {
      this.fail(node, 'BatchNormalization can only be folded when it directly follows a Conv/Gemm/MatMul whose output nothing else reads');
    }
    const layer = this.layers[x.layer];
    const [scale, bias, mean, variance] = inputs.slice(1, 5).map((name, i) => {
      const t = this.param(node, name, ['scale', 'bias', 'mean', 'variance'][i], 'read');
      const v = this.finite(t);
      if (v.length !== layer.outUnits) this.fail(node, `its ${name} has ${v.length} values for ${layer.outUnits} channels`);
      return v;
    });
    foldBatchNorm(layer, { scale, bias, mean, variance, epsilon: attrFloat(node, 'epsilon', 1e-5) });
    layer.bnNode = this.graph.node.indexOf(node as onnx.NodeProto);
    (layer.folded ??= []).push(layer.bnNode);
    this.set((node.output ?? [])[0], { ...x });
  }

  private finish(): Network {
    // Flatten the union-find: every layer points at its root group.
    for (const l of this.layers) {
      l.outGroup = this.find(l.outGroup);
      l.inGroup = this.find(l.inGroup);
      for (const p of l.inParts ?? []) p.group = this.find(p.group);
    }
    // A residual around one linear layer after a depthwise conv (MobileNetV2's t = 1 block) reads and
    // writes the same units: W becomes P·W·Pᵀ. Only the permutation survives such a loop.
    for (const l of this.layers) if (l.inGroup === l.outGroup && !l.channelwise && !l.inParts) this.groups[l.inGroup].caps = { scale: false, sign: false };
    const roots = this.groups.filter((g) => this.find(g.id) === g.id);
    for (const g of this.groups) {
      if (this.find(g.id) !== g.id) {
        const r = this.root(g.id);
        r.producers.push(...g.producers);
        r.consumers.push(...g.consumers);
        r.channelwise.push(...g.channelwise);
      }
    }
    for (const r of roots) {
      if (r.tensor === undefined && r.producers.length) {
        // Read only through concatenations (DenseNet): its units are its first producer's output.
        const l = this.layers[r.producers[0]];
        const last = l.folded?.length ? l.folded[l.folded.length - 1] : (l.addNode ?? l.node);
        r.tensor = (this.graph.node[last].output ?? [])[0];
      }
      r.producers.sort((a, b) => a - b);
      r.consumers.sort((a, b) => a - b);
      r.channelwise.sort((a, b) => a - b);
      // A group nothing reads is dead code: leave it alone.
      if (r.consumers.length === 0) r.fixed = true;
    }
    const hidden = roots.filter((g) => !g.fixed).map((g) => g.id);
    for (const id of hidden) {
      const g = this.groups[id];
      check(g.producers.length > 0, 'INTERNAL', `group ${id} has no producing layer`);
    }
    // Extras are the other weights (a shared PRelu slope, ...), never a mask fill or a scalar constant.
    const weights = new Set(countedWeights(this.model).initializers);
    const extras = this.graph.initializer
      .filter((t) => weights.has(t.name ?? '') && !this.paramNames.has(t.name ?? ''))
      .map((t) => ({ name: t.name ?? '', data: this.values(t) }));
    return { label: this.model.label, layers: this.layers, groups: this.groups, hidden, extras, model: this.model };
  }
}

/** Reorder the columns of [rows, S·C] (position-major, NHWC flatten) to [rows, C·S] (channel-major blocks). */
export function channelLastToBlocks(W: Float64Array, rows: number, C: number, S: number): Float64Array {
  const out = new Float64Array(W.length);
  for (let o = 0; o < rows; o++) for (let s = 0; s < S; s++) for (let c = 0; c < C; c++) out[o * C * S + c * S + s] = W[o * C * S + s * C + c];
  return out;
}

/** The inverse of channelLastToBlocks. */
export function blocksToChannelLast(W: Float64Array, rows: number, C: number, S: number): Float64Array {
  const out = new Float64Array(W.length);
  for (let o = 0; o < rows; o++) for (let s = 0; s < S; s++) for (let c = 0; c < C; c++) out[o * C * S + s * C + c] = W[o * C * S + c * S + s];
  return out;
}
