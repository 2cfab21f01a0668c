/**
 * The canonical form of a plain chain of linear layers (every hidden group written by one
 * Gemm/MatMul/Conv and read by one: MLPs, VGG-style conv nets), held as what produces it
 * instead of as its float64 values, so that the canonical distance needs one layer group at
 * a time rather than both networks in float64 (8 bytes a weight each).
 *
 * A form keeps, per layer, its weights as built (re-read from the model file when the layer
 * equals its initializer as stored, else held as float32 when that is exact, else as float64),
 * its bias, and per hidden group the unit factors normalization divided out and the group's
 * canonical order. A layer's canonical values are replayed from these with the same float64
 * operations normalizeNetwork and canonicalizeNetwork perform on it, in the same order — the
 * upstream group's factors on its columns (× scale, then sign), its own group's on its rows and
 * bias (÷ scale, then sign), then its rows and columns moved by the two groups' orders — so
 * every value, and every distance, is the same bit for bit.
 *
 * Held at once: while a model is built, its network in float64 (once per model, never both);
 * then, to normalize or sort a group, its producing and consuming layers in float64; while a
 * distance is summed, one layer of each model in float64.
 */
import { type OnnxModel, graphOf, onnx, tensorValues } from '../io/onnx';
import { checkSameArchitecture } from './architecture';
import { type OnCanonicalProgress, stageReporter } from './canonical-progress';
import { canonicalOrder } from './canonical-order';
import { type ParamPairSource, type WeightDistanceSummary, weightDistances } from './distance';
import { type LayerWeights, type SortKey, fixSignSync, normalizeScaleSync, permuteUnitAxisSync } from './kernels';
import type { Layer, Network } from './network';

export interface StoredWeights {
  /** 'file': read again from the model's initializer per use; 'float32', 'float64': held in memory. */
  held: 'file' | 'float32' | 'float64';
  /** Write them, in float64, into `into` (of their length). */
  fill(into: Float64Array): void;
}

/**
 * Float64 arrays by length, handed back when a replayed layer is done with, so that replaying
 * reuses a few layer-sized arrays instead of leaving one of garbage per layer and step (which
 * the collector lets pile up: more than the two networks it replaces).
 */
class Scratch {
  private readonly free = new Map<number, Float64Array[]>();

  take(length: number): Float64Array {
    return this.free.get(length)?.pop() ?? new Float64Array(length);
  }

  /** Keeps at most two of a length (a group's two layers); the rest are dropped. */
  give(a: Float64Array | undefined): void {
    if (!a) return;
    const list = this.free.get(a.length) ?? [];
    if (list.length < 2) list.push(a);
    this.free.set(a.length, list);
  }
}

/** One group's normalization: the factors divided out of its units (as normalizeNetwork returns them). */
interface UnitFactor {
  group: number;
  scale?: Float64Array;
  sign?: Int8Array;
}

export interface CanonicalForm {
  /** The network's structure (groups, layer shapes, names); its layers' W are empty. */
  network: Network;
  /** Per layer: where its weights as built are kept, and a fresh float64 copy of them. */
  weights: StoredWeights[];
  /** Per layer: its bias as built. */
  biases: Float64Array[];
  /** Per layer: the hidden group its rows (outputs) and its column units (inputs) belong to, -1 for none. */
  rowGroup: number[];
  colGroup: number[];
  /** Normalization, group by group in the order it ran. */
  factors: UnitFactor[];
  /** Per hidden group: its canonical order (new unit i = old unit order[i]). */
  orders: Map<number, Int32Array>;
}

const CHAIN_OPS = new Set<Layer['op']>(['Gemm', 'MatMul', 'Conv']);

/**
 * Whether the network is a plain chain the form can replay: Gemm/MatMul/Conv layers only
 * (no depthwise, concatenated, tied, recurrent or self-reading layer), each hidden group
 * written by one layer and read by one other, and sorted on its own (no grouped-conv family:
 * unit-blocks.ts sorts those as blocks; attention head sites have two producers).
 */
export function isPlainChain(net: Network): boolean {
  const plainLayer = (l: Layer) =>
    CHAIN_OPS.has(l.op) && !l.channelwise && !l.inParts && !l.tiedCopy && !l.recurrent && l.W.length === l.outUnits * l.inUnits * l.inBlock;
  const plainGroup = (id: number) => {
    const g = net.groups[id];
    return !g.recurrent && g.family === undefined && g.producers.length === 1 && g.consumers.length === 1 && g.channelwise.length === 0 && g.producers[0] !== g.consumers[0];
  };
  return net.hidden.length > 0 && net.layers.every(plainLayer) && net.hidden.every(plainGroup);
}

/**
 * The canonical form of `net` (a plain chain, see isPlainChain) built from `model`, sorted by
 * `key`. Strips `net`'s float64 weights in place (it becomes the form's structure), so the
 * caller holds no more than the form.
 */
export function canonicalForm(net: Network, model: OnnxModel, key: SortKey = 'out-norm', onProgress?: OnCanonicalProgress): CanonicalForm {
  const inits = new Map(graphOf(model).initializer.map((t) => [t.name ?? '', t]));
  const rowGroup = net.layers.map(() => -1);
  const colGroup = net.layers.map(() => -1);
  for (const id of net.hidden) {
    rowGroup[net.groups[id].producers[0]] = id;
    colGroup[net.groups[id].consumers[0]] = id;
  }
  const weights = net.layers.map((l) => storedWeights(l.W, inits.get(l.weightName), model.label));
  const biases = net.layers.map((l) => l.b);
  const scratch = new Scratch();
  net.layers.forEach((l, i) => {
    if (weights[i].held !== 'float64') scratch.give(l.W); // the built arrays serve as the replays' own
    l.W = new Float64Array(0);
  });
  const form: CanonicalForm = { network: net, weights, biases, rowGroup, colGroup, factors: [], orders: new Map() };
  // As normalizeNetwork: forward order, each group's factors from its producer as normalized so far.
  groupSweep(form, scratch, stageReporter(onProgress, model.label, 'normalize'), (id, view) => {
    const caps = net.groups[id].caps;
    if (!caps.scale && !caps.sign) return;
    const f: UnitFactor = { group: id };
    if (caps.scale) f.scale = normalizeScaleSync(view);
    if (caps.sign) f.sign = fixSignSync(view);
    form.factors.push(f);
  });
  // As canonicalizeNetwork's sort: forward order, each group's producer with the upstream group's
  // order applied, and its consumer's columns moved by its own order once it is found.
  groupSweep(form, scratch, stageReporter(onProgress, model.label, 'sort'), (id, view) => {
    const order = canonicalOrder(view, key);
    form.orders.set(id, order);
    permuteUnitAxisSync(view.wout, view.outRows, view.units, view.block, order);
  });
  return form;
}

/**
 * Calls `step` on each hidden group's weights in forward order. A group's consumer, as `step`
 * leaves it, is the next group's producer in a chain (exactly what the in-place code has in that
 * array at that point), so it is carried over instead of replayed again.
 */
function groupSweep(form: CanonicalForm, scratch: Scratch, report: (step: number, steps: number) => void, step: (id: number, view: LayerWeights) => void): void {
  let carried: { layer: number; W: Float64Array } | undefined;
  const { hidden } = form.network;
  report(0, hidden.length);
  for (const [i, id] of hidden.entries()) {
    const g = form.network.groups[id];
    const [p, c] = [g.producers[0], g.consumers[0]];
    const consumer = form.network.layers[c];
    let win: Float64Array;
    if (carried?.layer === p) win = carried.W;
    else {
      scratch.give(carried?.W);
      win = layerWeights(form, p, scratch);
    }
    const view = { win, bin: layerBias(form, p), wout: layerWeights(form, c, scratch), units: g.units, fanIn: win.length / g.units, outRows: consumer.outUnits, block: consumer.inBlock };
    step(id, view);
    scratch.give(win);
    carried = { layer: c, W: view.wout };
    report(i + 1, hidden.length);
  }
  scratch.give(carried?.W);
}

/** The canonical distance between two forms: each tensor pair replayed, summed and dropped in turn. */
export function canonicalFormDistance(a: CanonicalForm, b: CanonicalForm, onProgress?: OnCanonicalProgress): WeightDistanceSummary {
  checkSameArchitecture(a.network, b.network);
  const report = stageReporter(onProgress, '', 'distance');
  const layers = a.network.layers.length;
  const scratch = new Scratch();
  // weightDistances sums each pair before it reads the next: the previous pair's arrays are free then.
  let previous: Float64Array[] = [];
  const pairs: ParamPairSource[] = [];
  a.network.layers.forEach((l, i) => {
    pairs.push(() => {
      report(i, layers); // the layers before this one summed
      previous.forEach((x) => scratch.give(x));
      previous = [layerWeights(a, i, scratch), layerWeights(b, i, scratch)];
      return { name: l.weightName, a: previous[0], b: previous[1] };
    });
    pairs.push(() => ({ name: l.biasName ?? `${l.weightName}:bias`, a: layerBias(a, i), b: layerBias(b, i) }));
  });
  const extrasB = new Map(b.network.extras.map((e) => [e.name, e.data]));
  for (const e of a.network.extras) pairs.push({ name: e.name, a: e.data, b: extrasB.get(e.name)! });
  const summary = weightDistances(pairs);
  report(layers, layers);
  return summary;
}

/**
 * Layer i's weights with the factors and orders recorded so far, as the in-place code leaves
 * them: columns × scale (then sign) of the input group, rows ÷ scale (then sign) of the output
 * group, in the order normalization ran; then rows and column units moved by the orders.
 */
function layerWeights(form: CanonicalForm, i: number, scratch: Scratch): Float64Array {
  const l = form.network.layers[i];
  const W = scratch.take(l.outUnits * l.inUnits * l.inBlock);
  form.weights[i].fill(W);
  const rows = l.outUnits;
  const cols = W.length / rows;
  const block = l.inBlock;
  for (const f of form.factors) {
    if (f.group === form.colGroup[i]) {
      for (let r = 0; r < rows; r++) {
        for (let u = 0; u < l.inUnits; u++) {
          const at = r * cols + u * block;
          if (f.scale) for (let k = 0; k < block; k++) W[at + k] *= f.scale[u];
          if (f.sign && f.sign[u] < 0) for (let k = 0; k < block; k++) W[at + k] = -W[at + k];
        }
      }
    }
    if (f.group === form.rowGroup[i]) {
      for (let r = 0; r < rows; r++) {
        const row = W.subarray(r * cols, (r + 1) * cols);
        if (f.scale) for (let k = 0; k < cols; k++) row[k] /= f.scale[r];
        if (f.sign && f.sign[r] < 0) for (let k = 0; k < cols; k++) row[k] = -row[k];
      }
    }
  }
  const colOrder = form.orders.get(form.colGroup[i]);
  const rowOrder = form.orders.get(form.rowGroup[i]);
  if (colOrder) permuteUnitAxisSync(W, rows, l.inUnits, block, colOrder);
  if (rowOrder) permuteUnitAxisSync(W, 1, rows, cols, rowOrder);
  return W;
}

/** Layer i's bias as layerWeights leaves its rows. */
function layerBias(form: CanonicalForm, i: number): Float64Array {
  const b = form.biases[i].slice();
  for (const f of form.factors) {
    if (f.group !== form.rowGroup[i]) continue;
    for (let r = 0; r < b.length; r++) {
      if (f.scale) b[r] /= f.scale[r];
      if (f.sign && f.sign[r] < 0) b[r] = -b[r];
    }
  }
  const rowOrder = form.orders.get(form.rowGroup[i]);
  if (rowOrder) permuteUnitAxisSync(b, 1, b.length, 1, rowOrder);
  return b;
}

/**
 * A layer's weights as built, kept as cheaply as is exact: read again from the model's
 * initializer when the layer is that tensor as stored (a Gemm with transB, a Conv: nothing held,
 * the file is read per use), else float32 when every value is one (4 bytes a weight), else as
 * they are.
 */
function storedWeights(W: Float64Array, init: onnx.ITensorProto | undefined, label: string): StoredWeights {
  if (init && sameBits(tensorValues(init, label), W)) return fromFile(init, label);
  const narrow = Float32Array.from(W);
  return sameBits(narrow, W) ? held('float32', narrow) : held('float64', W);
}

// Each closure made in a function of its own: closures made in one call share its scope, so a
// file-backed one would keep the float64 W alive.
function fromFile(init: onnx.ITensorProto, label: string): StoredWeights {
  return { held: 'file', fill: (into) => into.set(tensorValues(init, label)) };
}

function held(kind: 'float32' | 'float64', values: Float32Array | Float64Array): StoredWeights {
  return { held: kind, fill: (into) => into.set(values) };
}

function sameBits(x: ArrayLike<number>, y: Float64Array): boolean {
  if (x.length !== y.length) return false;
  for (let i = 0; i < y.length; i++) if (!Object.is(x[i], y[i])) return false;
  return true;
}
