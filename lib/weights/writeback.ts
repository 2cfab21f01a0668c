/**
 * A (rewritten) network back into its ONNX model: each layer's weights and
 * bias replace the original initializers in the original graph, in their
 * original layout and dtype. Folded BatchNorm and per-channel affine nodes
 * are removed (the layer now writes the last one's output directly) and a
 * bias initializer is added where folding created one. Gemm alpha/beta become 1 (they were folded into
 * W and b on read). The user's model object is never modified.
 */
import { ModeldiffError } from '../errors';
import { type OnnxModel, attrFloat, attrInt, cloneModel, float64ToTensor, graphOf, onnx, setAttr, tensorDims } from '../io/onnx';
import { blocksToChannelLast } from './channel-layout';
import { storedBlocks } from './graph/linear';
import { storedGateBlocks } from './graph/recurrent';
import type { Layer, Network } from './network';

export function writeNetwork(net: Network): OnnxModel {
  const model = cloneModel(net.model);
  const graph = graphOf(model);
  const nodes = graph.node.slice();
  const inits = new Map(graph.initializer.map((t, i) => [t.name ?? '', i]));
  const names = new Set<string>([...inits.keys(), ...nodes.flatMap((n) => [...(n.input ?? []), ...(n.output ?? [])])]);
  const removeNodes = new Set<onnx.INodeProto>();
  const removeInits = new Set<string>();
  const addNodes: Array<{ after: onnx.INodeProto; node: onnx.INodeProto }> = [];
  const unique = (base: string) => {
    let name = base;
    for (let i = 1; names.has(name); i++) name = `${base}_${i}`;
    names.add(name);
    return name;
  };
  const put = (name: string, t: onnx.TensorProto) => {
    const i = inits.get(name);
    if (i === undefined) {
      inits.set(name, graph.initializer.length);
      graph.initializer.push(t);
    } else {
      graph.initializer[i] = t;
    }
  };

  // A bidirectional RNN's parameters: each direction's layer fills its slice of one stored tensor.
  const directionSlices = new Map<string, Float64Array>();
  // Unfolded norms (per-channel affine slices, one layer per part): gathered per node, written after.
  const norms = new Map<number, Layer[]>();
  for (const layer of joinFusedParts(net.layers)) {
    const node = nodes[layer.node];
    if (layer.op === 'BatchNormalization') {
      const parts = norms.get(layer.node);
      if (parts) parts.push(layer);
      else norms.set(layer.node, [layer]);
      continue;
    }
    if (layer.op === 'Norm' || layer.op === 'Gather' || layer.op === 'Table') {
      writeStored(ownStoredCopies(layer, nodes, unique), put);
      continue;
    }
    if (layer.recurrent && (layer.recurrent.directions || layer.recurrent.unitsLast)) {
      writeRecurrentSlice(layer, directionSlices, put);
      continue;
    }
    // A weight the exporter shared between nodes gets one copy per layer (each layer permutes its own).
    const weightName = layer.ownWeight ? unique(`${layer.weightName}_${layer.node}`) : layer.weightName;
    if (layer.ownWeight) node.input = [(node.input ?? [])[0], weightName, ...(node.input ?? []).slice(2)];
    put(weightName, float64ToTensor(weightName, layer.weightDims, storedWeight(layer, node), layer.weightDtype));
    if (layer.op === 'Gemm') setAttr(node, 'alpha', { f: 1 });
    // The node whose output is the layer's (pre-BatchNorm) result.
    let last = layer.addNode !== undefined ? nodes[layer.addNode] : node;
    const hasBias = layer.biasName !== undefined;
    if (hasBias) {
      const biasDims = layer.biasDims ?? (layer.op === 'MatMul' ? biasDimsOf(model, layer.biasName!) : [layer.outUnits]);
      const biasName = layer.ownBias ? unique(`${layer.biasName}_${layer.node}`) : layer.biasName!;
      if (layer.ownBias && layer.addNode !== undefined) {
        const add = nodes[layer.addNode];
        add.input = (add.input ?? []).map((i) => (i === layer.biasName ? biasName : i));
      } else if (layer.ownBias) {
        node.input = [...(node.input ?? []).slice(0, 2), biasName];
      }
      put(biasName, float64ToTensor(biasName, biasDims, layer.b, layer.biasDtype ?? layer.weightDtype));
      if (layer.op === 'Gemm') setAttr(node, 'beta', { f: 1 });
    } else if (layer.b.some((v) => v !== 0)) {
      // BatchNorm folding gave a bias the layer did not have.
      const name = unique(`${layer.weightName}_bias`);
      put(name, float64ToTensor(name, [layer.outUnits], layer.b, layer.weightDtype));
      if (layer.op === 'MatMul') {
        const out = (node.output ?? [])[0];
        const mid = unique(`${out}_matmul`);
        node.output = [mid];
        last = onnx.NodeProto.create({ opType: 'Add', name: unique(`${node.name || out}_bias_add`), input: [mid, name], output: [out] });
        addNodes.push({ after: node, node: last });
      } else {
        node.input = [...(node.input ?? []).slice(0, 2), name];
        if (layer.op === 'Gemm') setAttr(node, 'beta', { f: 1 });
      }
    }
    if (layer.folded?.length) {
      // The layer now writes the last folded node's output; the folded nodes and their parameters go.
      const chain = layer.folded.map((i) => nodes[i]);
      const intermediate = [(last.output ?? [])[0], ...chain.slice(0, -1).map((n) => (n.output ?? [])[0])];
      last.output = [(chain[chain.length - 1].output ?? [])[0]];
      for (const n of chain) {
        removeNodes.add(n);
        for (const p of n.input ?? []) if (inits.has(p)) removeInits.add(p);
      }
      graph.valueInfo = graph.valueInfo.filter((v) => !intermediate.includes(v.name ?? ''));
    }
  }
  for (const [index, slices] of norms) {
    // The old parameters go unless another node still reads them (checked below).
    for (const p of (nodes[index].input ?? []).slice(1)) if (inits.has(p)) removeInits.add(p);
    writeNorm(nodes[index], slices, unique, put);
  }
  const rebuilt: onnx.INodeProto[] = [];
  for (const n of nodes) {
    if (removeNodes.has(n)) continue;
    rebuilt.push(n);
    for (const a of addNodes) if (a.after === n) rebuilt.push(a.node);
  }
  graph.node = rebuilt as onnx.NodeProto[];
  // Folded parameters go, unless a node still reads them (an exporter shares identical constants);
  // so do shared weights every reader now has its own copy of.
  const read = new Set(rebuilt.flatMap((n) => n.input ?? []));
  for (const l of net.layers) {
    if (l.ownWeight && !read.has(l.weightName)) removeInits.add(l.weightName);
    if (l.ownBias && !read.has(l.biasName!)) removeInits.add(l.biasName!);
  }
  for (const name of removeInits) if (read.has(name)) removeInits.delete(name);
  graph.initializer = graph.initializer.filter((t) => !removeInits.has(t.name ?? ''));
  graph.input = graph.input.filter((i) => !removeInits.has(i.name ?? ''));
  return model;
}

/**
 * The parts of a layer split by rows joined back into one layer per node: a fused
 * projection's (graph/attention.ts, contiguous rows) or a layer's cells (graph/unit-cells.ts,
 * listed rows). The joined layer is the first part's, with every row in place.
 */
function joinFusedParts(layers: Layer[]): Layer[] {
  const parts = new Map<number, Layer[]>();
  for (const l of layers) if (l.rows) parts.set(l.node, [...(parts.get(l.node) ?? []), l]);
  const out: Layer[] = [];
  for (const l of layers) {
    if (!l.rows) {
      out.push(l);
      continue;
    }
    const all = parts.get(l.node)!;
    if (all[0] !== l) continue;
    const cols = l.W.length / l.outUnits;
    const W = new Float64Array(l.rows.total * cols);
    const b = new Float64Array(l.rows.total);
    for (const p of all) {
      for (let r = 0; r < p.outUnits; r++) {
        const row = p.rows!.index ? p.rows!.index[r] : p.rows!.offset + r;
        W.set(p.W.subarray(r * cols, (r + 1) * cols), row * cols);
        b[row] = p.b[r];
      }
    }
    out.push({ ...l, rows: undefined, outUnits: l.rows.total, W, b });
  }
  return out;
}

/** Canonical W [out, in] → the stored layout (Gemm transB = 0 and MatMul store [in, out]). */
function storedWeight(layer: Layer, node: onnx.INodeProto): Float64Array {
  const W = layer.inChannelLast ? blocksToChannelLast(layer.W, layer.outUnits, layer.inUnits, layer.inBlock) : layer.W;
  if (layer.grouped) return storedBlocks(W, layer.outUnits, layer.inUnits / layer.grouped, layer.inBlock, layer.grouped);
  // An RNN's W and R back to gate blocks; its per-unit B and P are stored [blocks, units] (transposed).
  if (layer.recurrent && layer.recurrent.slot <= 2) return storedGateBlocks(W, layer.recurrent.gates, layer.outUnits, layer.inUnits);
  const transposed =
    Boolean(layer.recurrent) ||
    layer.op === 'MatMul' ||
    (layer.op === 'Gemm' && attrInt(node, 'transB', 0) !== 1);
  if (!transposed) return W;
  const n = layer.outUnits;
  const k = W.length / n;
  const out = new Float64Array(n * k);
  for (let o = 0; o < n; o++) for (let j = 0; j < k; j++) out[j * n + o] = W[o * k + j];
  return out;
}

/**
 * One direction of an RNN parameter (or an initial state, stored with the units last) into its
 * slice of the stored tensor; the tensor is put again as each direction fills its slice.
 */
function writeRecurrentSlice(layer: Layer, slices: Map<string, Float64Array>, put: (name: string, t: onnx.TensorProto) => void): void {
  const r = layer.recurrent!;
  const D = r.directions ?? 1;
  const total = layer.W.length * D;
  const stored = slices.get(layer.weightName) ?? new Float64Array(total);
  slices.set(layer.weightName, stored);
  const H = layer.outUnits;
  const per = layer.W.length / H;
  let slice: Float64Array;
  if (r.slot <= 2) {
    slice = storedGateBlocks(layer.W, r.gates, H, layer.inUnits);
  } else {
    // Per-unit parameters [H, per] back to [per, H] (blocks of units; an initial state's rows).
    slice = new Float64Array(layer.W.length);
    for (let u = 0; u < H; u++) for (let k = 0; k < per; k++) slice[k * H + u] = layer.W[u * per + k];
  }
  stored.set(slice, (r.direction ?? 0) * layer.W.length);
  put(layer.weightName, float64ToTensor(layer.weightName, layer.weightDims, stored, layer.weightDtype));
}

/**
 * A norm's or table's parameters another node reads too (tied, see graph/norm.ts): the layer's
 * own initializers, under new names its node(s) now read, so each copy keeps its own permutation.
 */
function ownStoredCopies(layer: Layer, nodes: onnx.INodeProto[], unique: (base: string) => string): Layer {
  const rename = (at: number, from: string, to: string) => {
    nodes[at].input = (nodes[at].input ?? []).map((i) => (i === from ? to : i));
  };
  let out = layer;
  if (layer.ownWeight) {
    const weightName = unique(`${layer.weightName}_${layer.node}`);
    rename(layer.node, layer.weightName, weightName);
    out = { ...out, weightName };
  }
  if (layer.ownBias) {
    const biasName = unique(`${layer.biasName}_${layer.biasNode ?? layer.node}`);
    rename(layer.biasNode ?? layer.node, layer.biasName!, biasName);
    out = { ...out, biasName };
  }
  return out;
}

/**
 * Parameters written as they are stored, the graph untouched: a norm's
 * scale (W) and shift (b); an embedding or positional table, whose W is
 * the stored [..., rows, units] transposed.
 */
function writeStored(layer: Layer, put: (name: string, t: onnx.TensorProto) => void): void {
  const units = layer.outUnits;
  let stored = layer.W;
  if (layer.op !== 'Norm') {
    const rows = layer.W.length / units;
    stored = new Float64Array(layer.W.length);
    for (let u = 0; u < units; u++) for (let r = 0; r < rows; r++) stored[r * units + u] = layer.W[u * rows + r];
  }
  put(layer.weightName, float64ToTensor(layer.weightName, layer.weightDims, stored, layer.weightDtype));
  if (layer.biasName !== undefined) put(layer.biasName, float64ToTensor(layer.biasName, layer.biasDims ?? [units], layer.b, layer.biasDtype ?? layer.weightDtype));
}

function biasDimsOf(model: OnnxModel, name: string): number[] {
  const t = graphOf(model).initializer.find((x) => x.name === name);
  /* c8 ignore next -- the graph walk only records biases that are initializers */
  if (!t) throw new ModeldiffError('INTERNAL', `bias ${name} vanished from ${model.label}`);
  return tensorDims(t);
}

/**
 * An unfolded BatchNormalization rewritten as the per-channel affine its
 * slices hold: scale a, bias d, mean 0, variance 1 − ε (so √(var + ε) = 1).
 * New initializers (the old ones may be shared with other norms).
 */
function writeNorm(node: onnx.INodeProto, slices: Layer[], unique: (base: string) => string, put: (name: string, t: onnx.TensorProto) => void): void {
  const total = slices[0].weightDims[0];
  const dtype = slices[0].weightDtype;
  const eps = attrFloat(node, 'epsilon', 1e-5);
  const a = new Float64Array(total);
  const d = new Float64Array(total);
  for (const l of slices) {
    a.set(l.W, l.normOffset);
    d.set(l.b, l.normOffset);
  }
  const values = [a, d, new Float64Array(total), new Float64Array(total).fill(1 - eps)];
  const names = ['scale', 'bias', 'mean', 'var'].map((k) => unique(`${node.name || (node.output ?? [])[0]}_${k}`));
  names.forEach((name, i) => put(name, float64ToTensor(name, [total], values[i], dtype)));
  node.input = [(node.input ?? [])[0], ...names];
}
