/**
 * The graph walk's shared state: tensor states, union-find over symmetry
 * groups, the layers found so far, and access to parameters and constants.
 * The per-op rules (./rules.ts) read and extend it; buildNetwork (./index.ts)
 * drives it over the nodes in order.
 */
import { ModeldiffError } from '../../errors';
import { type OnnxModel, attrInt, finiteValues, graphOf, isFloatTensor, nodeLabel, onnx, tensorDims, tensorToFloat64 } from '../../io/onnx';
import type { Group, Layer } from '../network';
import { ALL, type TensorState, type UnitSlot, and } from './tensor-state';

export class GraphWalker {
  readonly graph: onnx.GraphProto;
  readonly inits = new Map<string, onnx.ITensorProto>();
  /** Constant values: initializers and Constant-node outputs. */
  readonly constants = new Map<string, onnx.ITensorProto>();
  /** Cast/Identity outputs of an initializer → the initializer (weights stored in another dtype). */
  readonly castOf = new Map<string, string>();
  /** The data type a Cast/Identity of an initializer yields (a layer's own copy is written in it). */
  readonly castTo = new Map<string, number>();
  /** Parameters other nodes read too (each layer writes its own copy back). */
  readonly sharedParams = new Set<string>();
  /** Tensors computed only from constants and shapes (e.g. a dynamic Reshape target). */
  readonly shapeOnly = new Set<string>();
  /** Node indices reading each tensor (-1: a graph output). */
  readonly uses = new Map<string, number[]>();
  readonly state = new Map<string, TensorState>();
  readonly parent: number[] = [];
  readonly groups: Group[] = [];
  readonly layers: Layer[] = [];
  /** Nodes already consumed as part of a pattern (MatMul's bias Add, a folded BatchNorm). */
  readonly absorbed = new Set<number>();
  /** Initializers some layer or norm reads as its parameters (the rest are extras). */
  readonly paramNames = new Set<string>();
  /** Groups a grouped Conv ties block by block (its input's and its output's), resolved into families by finish.ts. */
  readonly blockTies: Array<{ a: number; b: number; blocks: number; node: onnx.INodeProto }> = [];
  /**
   * Layers reading split or shuffled channels (./slot-readers.ts): the unit each input channel
   * holds, and the channel ranges read together (all of them; a grouped conv's blocks).
   * ./unit-cells.ts turns them into input parts and cells once the walk is done.
   */
  readonly slotReads: Array<{ layer: number; slots: UnitSlot[]; sets: Array<[number, number]>; node: onnx.INodeProto }> = [];
  /** The node writing each tensor. */
  private readonly producer = new Map<string, onnx.INodeProto>();

  constructor(readonly model: OnnxModel) {
    this.graph = graphOf(model);
    for (const t of this.graph.initializer) {
      this.inits.set(t.name ?? '', t);
      this.constants.set(t.name ?? '', t);
    }
    this.graph.node.forEach((n, i) => {
      for (const x of n.input ?? []) if (x) this.uses.set(x, [...(this.uses.get(x) ?? []), i]);
    });
    for (const o of this.graph.output) this.uses.set(o.name ?? '', [...(this.uses.get(o.name ?? '') ?? []), -1]);
    for (const n of this.graph.node) for (const o of n.output ?? []) this.producer.set(o, n);
  }

  producerOf(name: string): onnx.INodeProto | undefined {
    return this.producer.get(name);
  }

  /** `rawWorks`: false when the raw distance cannot read the weights either (held in Constant nodes). */
  fail(node: onnx.INodeProto, why: string, rawWorks = true): never {
    const still = rawWorks ? "the raw weight distance, options.methods ['raw'], output comparison and CKA still work" : 'output comparison and CKA still work';
    throw new ModeldiffError('UNSUPPORTED_GRAPH', `${this.model.label}: cannot derive weight-space symmetries at ${nodeLabel(node)}: ${why} (${still})`, rawWorks ? { option: 'methods' } : undefined);
  }

  newGroup(units: number, fixed: boolean): number {
    const id = this.groups.length;
    this.groups.push({ id, units, caps: { ...ALL }, fixed, producers: [], consumers: [], channelwise: [] });
    this.parent.push(id);
    return id;
  }

  find(id: number): number {
    while (this.parent[id] !== id) id = this.parent[id] = this.parent[this.parent[id]];
    return id;
  }

  root(id: number): Group {
    return this.groups[this.find(id)];
  }

  /** Merge two groups (a residual join); the older id stays the root so forward order is kept. */
  union(a: number, b: number, node: onnx.INodeProto): number {
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

  isConst(name: string): boolean {
    return !name || this.constants.has(name) || this.shapeOnly.has(name);
  }

  data(node: onnx.INodeProto, name: string): TensorState {
    const s = this.state.get(name);
    if (!s) this.fail(node, `its input "${name}" is not a tensor this analysis can follow`);
    return s;
  }

  set(name: string, s: TensorState): void {
    this.state.set(name, s);
  }

  /**
   * A parameter initializer, seen through a Cast/Identity (fp16/bf16
   * weights in a model computing in fp32). Shared by several nodes (an
   * exporter merges identical constants, e.g. fresh BatchNorm statistics):
   * fine when the parameter is only read ('read': folded away), or when
   * each layer may get its own copy on writeback ('copy'); the caller learns
   * which through `shared`.
   */
  param(node: onnx.INodeProto, name: string, what: string, sharing: 'read' | 'copy' | 'none'): onnx.ITensorProto {
    const real = this.castOf.get(name) ?? name;
    const t = this.inits.get(real);
    // Weight distances (raw included) read initializers: weights held in Constant nodes are read by none.
    if (!t && this.constants.has(real)) this.fail(node, `its ${what} "${name}" is held in a Constant node, and weight distances read initializers only (store it as an initializer)`, false);
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
  ownName(name: string): string {
    return this.sharedParams.has(name) ? name : (this.castOf.get(name) ?? name);
  }

  dtypeSeen(name: string, t: onnx.ITensorProto): number {
    const stored = t.dataType ?? onnx.TensorProto.DataType.FLOAT;
    return this.sharedParams.has(name) ? (this.castTo.get(name) ?? stored) : stored;
  }

  values(t: onnx.ITensorProto): Float64Array {
    return tensorToFloat64(t, this.model.label);
  }

  /** A parameter's values; NaN or Infinity in weights is an error naming the tensor, not a NaN distance. */
  finite(t: onnx.ITensorProto): Float64Array {
    return finiteValues(t, this.values(t), this.model.label);
  }

  constValues(name: string): number[] | undefined {
    const c = this.constants.get(name);
    return c ? Array.from(this.values(c)) : undefined;
  }

  /** The length of a 1-D shape tensor: a constant's, or a Concat of one-element pieces (PyTorch's dynamic shapes). */
  lengthOf(name: string): number | undefined {
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

  declaredRank(name: string): number | undefined {
    const v = [...this.graph.valueInfo, ...this.graph.output].find((i) => i.name === name);
    return v?.type?.tensorType?.shape?.dim?.length;
  }

  nodeIndex(node: onnx.INodeProto): number {
    return this.graph.node.indexOf(node as onnx.NodeProto);
  }

  /**
   * Constant-only nodes: a Constant's value, a Cast/Identity of an
   * initializer (remembered so layers find the weight behind it), and
   * anything computed only from constants and shapes. True when the node
   * was one of these.
   */
  trackConstant(node: onnx.INodeProto): boolean {
    const op = node.opType ?? '';
    const inputs = (node.input ?? []).filter((x) => x);
    const outputs = node.output ?? [];
    if (op === 'Constant') {
      const v = (node.attribute ?? []).find((a) => a.name === 'value')?.t;
      if (v) this.constants.set(outputs[0], v);
      else this.shapeOnly.add(outputs[0]);
      return true;
    }
    if ((op === 'Cast' || op === 'Identity' || op === 'CastLike') && this.constants.has(inputs[0])) {
      const source = this.castOf.get(inputs[0]) ?? inputs[0];
      if (this.inits.has(source)) {
        this.castOf.set(outputs[0], source);
        const from = this.castTo.get(inputs[0]) ?? this.inits.get(source)!.dataType ?? onnx.TensorProto.DataType.FLOAT;
        if (op !== 'CastLike') this.castTo.set(outputs[0], op === 'Cast' ? attrInt(node, 'to', from) : from);
      }
      this.constants.set(outputs[0], this.constants.get(inputs[0])!);
      return true;
    }
    if (inputs.every((x) => this.isConst(x)) || op === 'Shape' || op === 'Size') {
      for (const o of outputs) this.shapeOnly.add(o);
      return true;
    }
    return false;
  }
}
