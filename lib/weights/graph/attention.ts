/**
 * Attention heads as structured permutations, derived from the graph.
 *
 * A projection's output split into heads ([.., h·d] → [.., h, d], directly or after a Split
 * of a fused q|k|v projection) is followed through the ops of scaled dot-product attention,
 * axis by axis ('h' the heads, 'd' the dims within a head):
 *   scores = MatMul(Q [.., h, s, d], Kᵀ [.., h, d, s])  →  Softmax  →  ctx = MatMul(probs, V)
 *   ctx [.., h, s, d] → Transpose → Reshape [.., h·d] (head-major) → the output projection O.
 * When every op on the way acts the same on every head (a scale, a mask or rotary table that
 * is constant along the heads axis), permuting whole heads of Q, K, V rows and O columns
 * together keeps the function, and so does permuting the dims within a head jointly in Q and
 * K (QKᵀ is a sum over them) and, independently, in V and O's columns. Rotary embeddings
 * (Slice/Concat of the 'd' axis, a table varying along it) pair dims with different
 * frequencies: no permutation of Q/K dims survives there, only whole heads (`pairsFixed`).
 *
 * The walk records what it sees (`AttentionRecord`) and decides at the end (`finishAttention`),
 * once every use of every tagged tensor is known: a site is committed only when all of them
 * were followed; otherwise its projections stay fixed, exactly as before heads were derived,
 * and the network carries a note saying why.
 */
import { attrInt, attrInts, nodeLabel, type onnx, tensorDims } from '../../io/onnx';
import type { Layer } from '../network';
import { linear } from './linear';
import type { RuleContext } from './rule';
import { type ShapeElement, declaredDims, shapeElements, staticSize } from './shape-elements';
import { PERMUTATION_ONLY, type TensorState } from './tensor-state';
import type { GraphWalker } from './walker';

/**
 * Axis labels: 'u' the projection's units unsplit, 'h' heads, 'd' dims within a head, 'H' heads
 * merged into the axis before them (nn.MultiheadAttention's [N·h, S, d], heads minor), '1' an
 * axis of size 1 (an Unsqueeze), 'r' copies of each head (grouped-query attention's repeat_kv
 * expands K and V [N, kv, 1, S, d] → [N, kv, r, S, d], then merges them into [N, kv·r, S, d]),
 * '.' anything else.
 */
type Axis = 'u' | 'h' | 'd' | 'H' | '1' | 'r' | '.';

/** What a tensor inside attention is, on its `TensorState.attention`. */
export interface AttentionTag {
  kind: 'proj' | 'scores' | 'probs' | 'ctx' | 'merged';
  axes: Axis[];
  heads: number;
  dim: number;
  /** Projection layers whose values flow here. */
  layers: number[];
  /** The dims within a head were rearranged (rotary halves): only whole heads may move. */
  mixed?: boolean;
  /** A Slice holding the first ('lo', dims [0, d/2)) or second ('hi', [d/2, d)) half of every head's dims (rotate_half). */
  half?: 'lo' | 'hi';
  /**
   * The values are not known to be a linear function of the projection that mixes dim i only
   * with i + d/2 (a product of two projections, another slice of the dims): no Q/K rescaling.
   */
  unpaired?: boolean;
  /** scores/probs/ctx/merged: the layers read as Q and as K; ctx/merged: as V. */
  q?: number;
  k?: number;
  v?: number;
  qkMixed?: boolean;
  /** scores and after: Q or K was `unpaired` (or a half), so no Q/K rescaling survives. */
  qkUnpaired?: boolean;
  /**
   * Grouped-query attention: each of K's and V's `heads` heads repeated `repeat` times, on the
   * 'r' axis, or (once merged) along 'h', which then has heads·repeat entries, kv head-major;
   * on scores/probs/ctx: how many query heads share one K/V head.
   */
  repeat?: number;
}

interface Site {
  q: number;
  k: number;
  v: number;
  o: number;
  heads: number;
  qkDim: number;
  vDim: number;
  pairsFixed: boolean;
  /**
   * What rescales Q against K (qk-pairs.ts): each dim ('dims'), each rotary pair of dims
   * (i, i + d/2) by one factor ('rotary'), nothing ('none').
   */
  qkScale: 'dims' | 'rotary' | 'none';
  /** Grouped-query attention: query heads per K/V head (1: every head its own). */
  repeat: number;
  /** The O layer's input group (the merged context). */
  ctxGroup: number;
  mergedTensor: string;
}

/** What the walk learned about attention, decided on in finishAttention. */
class AttentionRecord {
  /** Per projection layer entering attention: the node where it did. */
  readonly entries = new Map<number, { node: onnx.INodeProto }>();
  /** A fused projection split by Gathers of its parts (selectPart): its part layers. */
  readonly fused = new Map<number, number[]>();
  /** Layers whose attention data met an op that was not followed, and why. */
  readonly poisoned = new Map<number, string>();
  /** Nodes that read attention data and were followed. */
  readonly handled = new Set<number>();
  readonly sites: Site[] = [];
  /** Attention entered in a layout this module does not follow (the units were fixed as before). */
  readonly untracked: string[] = [];
}

const records = new WeakMap<GraphWalker, AttentionRecord>();

function record(w: GraphWalker): AttentionRecord {
  let r = records.get(w);
  if (!r) records.set(w, (r = new AttentionRecord()));
  return r;
}

/** Attention entered where heads are not followed: remembered for the network's notes. */
export function untrackedAttention(w: GraphWalker, node: onnx.INodeProto): void {
  record(w).untracked.push(nodeLabel(node));
}

/**
 * The projection layer whose output `name` is, through single-use Reshapes/Identities
 * (GPT-2's [N·S, 3d] → [N, S, 3d]); undefined when the units also go elsewhere (reading
 * their shape, as TorchScript's nn.MultiheadAttention does, is not going elsewhere).
 */
function projectionBehind(w: GraphWalker, name: string): number | undefined {
  const outputs = new Map<string, number>();
  w.layers.forEach((l, i) => {
    if ((l.op === 'MatMul' || l.op === 'Gemm') && !l.folded?.length) outputs.set((w.graph.node[l.addNode ?? l.node].output ?? [])[0], i);
  });
  for (let n = name, hops = 0; hops < 4; hops++) {
    if (dataUses(w, n).length !== 1) return undefined;
    const layer = outputs.get(n);
    if (layer !== undefined) return !w.layers[layer].rows && w.find(w.layers[layer].outGroup) === w.layers[layer].outGroup ? layer : undefined;
    const p = w.producerOf(n);
    if (!p || !['Reshape', 'Identity'].includes(p.opType ?? '')) return undefined;
    n = (p.input ?? [])[0];
  }
  return undefined;
}

/** The nodes reading a tensor's values (not only its shape, which permutations keep); -1 a graph output. */
function dataUses(w: GraphWalker, name: string): number[] {
  return (w.uses.get(name) ?? []).filter((u) => !['Shape', 'Size'].includes(w.graph.node[u]?.opType ?? ''));
}

/** An opaque fixed tensor carrying `tag` (rank 0, as an untagged opaque tensor has). */
function tagged(w: GraphWalker, tag: AttentionTag): TensorState {
  return { group: w.newGroup(0, true), caps: { scale: true, sign: true }, rank: 0, flat: false, opaque: true, attention: tag };
}

/**
 * A Reshape splitting a projection's units into heads ([.., h·d] → [.., h, d]). False when the
 * source is not a projection used only here (the caller then fixes the units as before).
 */
export function enterHeads(w: GraphWalker, node: onnx.INodeProto, x: TensorState, out: string, target: ShapeElement[]): boolean {
  const layer = projectionBehind(w, (node.input ?? [])[0]);
  if (layer === undefined) return false;
  const units = w.root(x.group).units;
  const proj: AttentionTag = { kind: 'proj', axes: [...Array<Axis>(x.rank - 1).fill('.'), 'u'], heads: 0, dim: units, layers: [layer] };
  const split = splitHeads(w, proj, target);
  if (!split) return false;
  w.root(x.group).fixed = true;
  record(w).entries.set(layer, { node });
  record(w).handled.add(w.nodeIndex(node));
  w.set(out, tagged(w, split));
  return true;
}

/** [.., u] → [.., h, d] when the target's last two elements split the units; undefined otherwise. */
function splitHeads(w: GraphWalker, tag: AttentionTag, target: ShapeElement[]): AttentionTag | undefined {
  const units = tag.dim;
  const dim = staticSize(w, target[target.length - 1]);
  const heads = staticSize(w, target[target.length - 2]);
  if (tag.axes[tag.axes.length - 1] !== 'u' || target.length !== tag.axes.length + 1) return undefined;
  if (dim === undefined || dim < 1 || units % dim !== 0) return undefined;
  if (heads !== undefined && heads !== -1 && heads * dim !== units) return undefined;
  return { ...tag, axes: [...tag.axes.slice(0, -1), 'h', 'd'], heads: units / dim, dim };
}

/**
 * A Split of a fused projection's units into equal parts (GPT-2's q|k|v): the layer becomes one
 * layer per part (rows of one stored weight, written back together), each a projection of its
 * own. False when the split is not of that kind.
 */
export function splitFused(w: GraphWalker, node: onnx.INodeProto, x: TensorState): boolean {
  const layer = projectionBehind(w, (node.input ?? [])[0]);
  const outputs = (node.output ?? []).filter((o) => o);
  const units = w.root(x.group).units;
  const given = (node.input ?? [])[1] ? w.constValues((node.input ?? [])[1]!) : attrInts(node, 'split');
  const sizes = given ?? Array<number>(outputs.length).fill(units / outputs.length);
  if (layer === undefined || w.layers[layer].rows || !sizes || sizes.length !== outputs.length || sizes.some((s) => s !== sizes[0] || !Number.isInteger(s))) return false;
  const parts = splitLayer(w, layer, sizes[0], outputs.length);
  const r = record(w);
  r.handled.add(w.nodeIndex(node));
  outputs.forEach((o, i) => {
    r.entries.set(parts[i], { node });
    w.set(o, tagged(w, { kind: 'proj', axes: [...Array<Axis>(x.rank - 1).fill('.'), 'u'], heads: 0, dim: sizes[0], layers: [parts[i]] }));
  });
  return true;
}

/** Layer `index` cut into `count` layers of `size` rows each (the first keeps its index); their indices. */
function splitLayer(w: GraphWalker, index: number, size: number, count: number): number[] {
  const l = w.layers[index];
  const cols = l.W.length / l.outUnits;
  const total = l.outUnits;
  const part = (k: number, outGroup: number): Layer => ({
    ...l,
    outUnits: size,
    outGroup,
    rows: { offset: k * size, total },
    W: l.W.slice(k * size * cols, (k + 1) * size * cols),
    b: l.b.slice(k * size, (k + 1) * size),
  });
  const indices = [index];
  w.layers[index] = part(0, l.outGroup);
  w.root(l.outGroup).units = size;
  w.root(l.outGroup).fixed = true;
  for (let k = 1; k < count; k++) {
    const g = w.newGroup(size, true);
    const i = w.layers.length;
    w.layers.push(part(k, g));
    w.groups[g].producers.push(i);
    w.root(l.inGroup).consumers.push(i);
    indices.push(i);
  }
  return indices;
}

/** Every op reading a tagged tensor comes here: followed, or the layers it reads are poisoned. */
export function attentionOp(c: RuleContext, redo: () => void): void {
  const { walker: w, node, index, inputs, out } = c;
  const r = record(w);
  const dataNames = inputs.filter((i) => !w.isConst(i));
  const tags = dataNames.map((i) => w.data(node, i).attention);
  const why = follow(c, tags);
  if (typeof why === 'string') {
    // Not followed: the tensors read here lose their tags and the op runs as it did before heads were derived.
    for (const t of tags) for (const l of t?.layers ?? []) if (!r.poisoned.has(l)) r.poisoned.set(l, `${nodeLabel(node)}: ${why}`);
    for (const i of dataNames) {
      const s = w.data(node, i);
      if (s.attention) w.set(i, { ...s, attention: undefined });
    }
    return redo();
  }
  r.handled.add(index);
  if (why !== null) w.set(out, tagged(w, why));
}

/**
 * Ops that act position by position and alike on every head: the output keeps the input's tag.
 * IsNaN/IsInf/Not: TorchScript's sdpa exports wrap the softmax in Where(IsNaN(p), 0, p).
 */
const SAME_TAG = ['Identity', 'Dropout', 'Neg', 'Cast', 'IsNaN', 'IsInf', 'Not'];

/** The tag of the op's output, null for the output projection (walked as a layer), or why not. */
function follow(c: RuleContext, tags: Array<AttentionTag | undefined>): AttentionTag | null | string {
  const { walker: w, node, inputs } = c;
  const op = node.opType ?? '';
  const t = tags[0];
  const others = inputs.filter((i) => !w.isConst(i)).slice(1);
  if (!t) return 'it reads attention data after other data';
  if (SAME_TAG.includes(op)) {
    if (op === 'Cast' && ![1, 10, 11, 16].includes(attrInt(node, 'to', 1))) return 'a cast to a non-float type';
    return tags.length === 1 ? t : 'unexpected inputs';
  }
  switch (op) {
    case 'Transpose': {
      const perm = attrInts(node, 'perm') ?? [];
      if (perm.length !== t.axes.length) return `its perm [${perm}] does not match the rank ${t.axes.length} followed`;
      return { ...t, axes: perm.map((p) => t.axes[p]) };
    }
    case 'Reshape': {
      const target = shapeElements(w, c.inputs[1]);
      if (!target) return 'its target shape is not known';
      if (t.kind === 'proj') return reshapeProjection(w, t, target) ?? 'it does not split the units into heads or merge/split heads with the axis before them';
      const [h, d] = [t.axes.length - 2, t.axes.length - 1];
      const last = target[target.length - 1];
      // [.., h, d] → [.., h·d] (the leading axes may merge too: [N·S, h·d]). A last element
      // computed at run time (-1, or a product) is h·d too: the output projection reading the
      // result takes exactly h·d features, which a row-major reshape can only take from the
      // contiguous (h, d) blocks.
      const keepsLast = staticSize(w, last) === t.heads * t.dim || (t.kind === 'merged' && typeof last === 'object' && last !== null && last.of === c.inputs[0] && (last.axis === -1 || last.axis === t.axes.length - 1));
      const merges = t.kind === 'ctx' && t.axes[h] === 'h' && t.axes[d] === 'd' && (keepsLast || last === -1 || last === null);
      if ((merges || (t.kind === 'merged' && keepsLast)) && target.length >= 2 && target.length <= t.axes.length - (merges ? 1 : 0)) {
        return { ...t, kind: 'merged', axes: [...Array<Axis>(target.length - 1).fill('.'), 'u'] };
      }
      return 'it does not merge heads and dims (head-major) into the last axis';
    }
    case 'Mul':
    case 'Div':
    case 'Add':
    case 'Sub':
    case 'Where':
      return elementwise(c, tags, op);
    case 'Slice':
    case 'Concat':
      return rotaryHalves(c, tags);
    case 'Unsqueeze':
    case 'Squeeze': {
      const axes = attrInts(node, 'axes') ?? (inputs[1] ? w.constValues(inputs[1]) : undefined);
      if (!axes) return 'its axes are not constant';
      if (op === 'Squeeze') {
        const gone = axes.map((a) => (a < 0 ? a + t.axes.length : a));
        if (gone.some((a) => t.axes[a] !== '1')) return 'it squeezes an axis not known to be of size 1';
        return { ...t, axes: t.axes.filter((_, i) => !gone.includes(i)) };
      }
      const rank = t.axes.length + axes.length;
      const added = axes.map((a) => (a < 0 ? a + rank : a));
      const out: Axis[] = [];
      for (let i = 0, j = 0; i < rank; i++) out.push(added.includes(i) ? '1' : t.axes[j++]);
      return { ...t, axes: out };
    }
    case 'Gather':
      return selectPart(w, c, t);
    case 'Expand':
      return repeatHeads(w, c, t);
    case 'Softmax': {
      const axis = attrInt(node, 'axis', -1);
      if (t.kind !== 'scores' || (axis !== -1 && axis !== t.axes.length - 1)) return 'a softmax that is not over the keys of attention scores';
      return { ...t, kind: 'probs' };
    }
    case 'MatMul':
    case 'Gemm':
      if (w.isConst(inputs[1] ?? '')) {
        if (t.kind !== 'merged' || others.length) return 'a projection of something other than the merged heads';
        return outputProjection(c, t);
      }
      return matmul(tags);
    default:
      return `op ${op}`;
  }
}

/** A Shape node giving every axis (no start other than 0, no end). */
function wholeShape(node: onnx.INodeProto | undefined): boolean {
  return node?.opType === 'Shape' && attrInt(node, 'start', 0) === 0 && !(node.attribute ?? []).some((a) => a.name === 'end');
}

/** What a target element says an axis is: a size, or the label of the followed axis it copies. */
function elementLabel(w: GraphWalker, e: ShapeElement): { size?: number; label?: Axis } {
  if (typeof e === 'number') return { size: e };
  if (e === null) return {};
  const tag = w.state.get(e.of)?.attention;
  if (!tag) return {};
  const k = e.axis < 0 ? e.axis + tag.axes.length : e.axis;
  return { label: tag.axes[k] };
}

/** Whether target element e can stand for an axis labelled `axis` of a tensor tagged t (never -1 there). */
function fits(w: GraphWalker, e: ShapeElement, axis: Axis, t: AttentionTag): boolean {
  if (e === -1) return false;
  const { size, label } = elementLabel(w, e);
  if (axis === 'h') return size === headsAlong(t) || label === 'h';
  if (axis === 'd') return size === t.dim || label === 'd';
  if (axis === '1') return size === 1 || label === '1';
  if (axis === '.') return label === undefined || label === '.';
  return false;
}

/**
 * A Reshape of a projection inside attention: splitting the units into heads (into their own
 * axis, or into the axis before them as nn.MultiheadAttention does: [S, N, h·d] → [S, N·h, d]),
 * or merging heads into the axis before them and splitting them out again ([N, h, S, d] ↔
 * [N·h, S, d]). Every other axis must keep its place and size.
 */
function reshapeProjection(w: GraphWalker, t: AttentionTag, target: ShapeElement[]): AttentionTag | undefined {
  const n = t.axes.length;
  const keeps = (from: number, to: number, count: number, elements = target) => {
    for (let j = 0; j < count; j++) if (!fits(w, elements[to + j], t.axes[from + j], t)) return false;
    return true;
  };
  const split = splitHeads(w, t, target);
  if (split) return keeps(0, 0, n - 1) || t.axes.slice(0, -1).every((a) => a === '.') ? split : undefined;
  if (t.axes[n - 1] === 'u' && target.length === n) {
    // [.., X, h·d] → [.., X·h, d]: the heads go minor into the axis before them.
    const dim = staticSize(w, target[n - 1]);
    const merged = target[n - 2];
    if (dim === undefined || dim < 1 || t.dim % dim !== 0 || (merged !== -1 && merged !== null) || t.axes[n - 2] !== '.' || !keeps(0, 0, n - 2)) return undefined;
    return { ...t, axes: [...t.axes.slice(0, n - 2), 'H', 'd'], heads: t.dim / dim, dim };
  }
  const r = t.axes.indexOf('r');
  if (r > 0 && t.axes[r - 1] === 'h' && target.length === n - 1) {
    // [.., kv, r, ..] → [.., kv·r, ..] (repeat_kv): the copies of each K/V head next to each other.
    const merged = target[r - 1];
    const size = staticSize(w, merged);
    // One -1 (the batch, as the dynamo exporter writes it) stands for what the known sizes leave.
    const inferred = target.indexOf(-1);
    const rest = target.map((e, k) => (k === inferred && size === t.heads * t.repeat! && target.lastIndexOf(-1) === k && t.axes[k] === '.' ? null : e));
    if ((size !== t.heads * t.repeat! && merged !== null && merged !== -1) || !keeps(0, 0, r - 1, rest) || !keeps(r + 1, r, n - r - 1, rest)) return undefined;
    return { ...t, axes: t.axes.filter((_, k) => k !== r) };
  }
  const h = t.axes.indexOf('h');
  if (h > 0 && t.axes[h - 1] === '.' && target.length === n - 1) {
    // [.., X, h, ..] → [.., X·h, ..]
    const merged = target[h - 1];
    if ((merged !== -1 && merged !== null) || !keeps(0, 0, h - 1) || !keeps(h + 1, h, n - h - 1)) return undefined;
    return { ...t, axes: [...t.axes.slice(0, h - 1), 'H', ...t.axes.slice(h + 1)] };
  }
  const H = t.axes.indexOf('H');
  if (H >= 0 && target.length === n + 1 && fits(w, target[H + 1], 'h', t) && target[H] !== undefined) {
    // [.., X·h, ..] → [.., X, h, ..]
    if (!keeps(0, 0, H) || !keeps(H + 1, H + 2, n - H - 1)) return undefined;
    return { ...t, axes: [...t.axes.slice(0, H), '.', 'h', ...t.axes.slice(H + 1)] };
  }
  return undefined;
}

/**
 * A Gather of one constant index along the 'h' axis of a fused projection just split ([S, N,
 * 3, d] as nn.MultiheadAttention unflattens q|k|v): that axis held the parts, not heads. The
 * layer is split into its parts (once), and the result is the chosen part's units.
 */
function selectPart(w: GraphWalker, c: RuleContext, t: AttentionTag): AttentionTag | string {
  const { node, inputs } = c;
  const axis = attrInt(node, 'axis', 0);
  const at = axis < 0 ? axis + t.axes.length : axis;
  const index = w.constants.get(inputs[1]);
  const i = index && tensorDims(index).length === 0 ? w.constValues(inputs[1])![0] : undefined;
  const d = t.axes.indexOf('d');
  if (t.kind !== 'proj' || t.axes[at] !== 'h' || i === undefined || t.layers.length !== 1 || d !== t.axes.length - 1) return 'a Gather that is not a choice of one part of a fused projection';
  const r = record(w);
  const layer = t.layers[0];
  let parts = r.fused.get(layer);
  if (!parts) {
    if (w.layers[layer].rows || w.layers[layer].outUnits !== t.heads * t.dim) return 'a Gather of a projection already split';
    parts = splitLayer(w, layer, t.dim, t.heads);
    r.fused.set(layer, parts);
    for (const p of parts) r.entries.set(p, { node });
  }
  const part = parts[i < 0 ? i + parts.length : i];
  if (part === undefined) return 'its index is out of range';
  return { ...t, axes: [...t.axes.filter((_, k) => k !== at).slice(0, -1), 'u'], heads: 0, layers: [part] };
}

/** The entries along a projection's 'h' axis: its heads, times their copies once repeat_kv merged them in. */
function headsAlong(t: AttentionTag): number {
  return t.kind === 'proj' && t.repeat && !t.axes.includes('r') ? t.heads * t.repeat : t.heads;
}

/**
 * An Expand of K or V along an axis of size 1 right after the heads (transformers' repeat_kv:
 * [N, kv, 1, S, d] → [N, kv, r, S, d]): that axis becomes r copies of each head. The heads and
 * the dims must keep their sizes (a literal 1, or their own size).
 */
function repeatHeads(w: GraphWalker, c: RuleContext, t: AttentionTag): AttentionTag | string {
  const target = shapeElements(w, c.inputs[1] ?? '');
  const n = t.axes.length;
  const one = t.axes.indexOf('1');
  if (t.kind !== 'proj' || t.repeat || !target || target.length !== n || one < 1 || t.axes[one - 1] !== 'h') return 'an Expand other than repeating K/V heads';
  const copies = staticSize(w, target[one]);
  if (copies === undefined || copies < 1) return 'the number of copies of each head is not known';
  for (let k = 0; k < n; k++) {
    if (k === one) continue;
    // (Broadcasting another axis, batch or positions, is the same for every head.)
    if (t.axes[k] === '.') continue;
    const size = staticSize(w, target[k]);
    const own = t.axes[k] === 'h' ? t.heads : t.axes[k] === 'd' ? t.dim : 1;
    if (size !== 1 && size !== own) return `it may broadcast axis ${k}`;
  }
  return { ...t, axes: t.axes.map((a, k) => (k === one ? 'r' : a)), repeat: copies };
}

/** Q·Kᵀ (scores) or probs·V (context), head axes aligned. */
function matmul(tags: Array<AttentionTag | undefined>): AttentionTag | string {
  const [a, b] = tags;
  if (!a || !b || tags.length !== 2) return 'a product of attention data with other data';
  const n = a.axes.length;
  if (b.axes.length !== n || n < 3) return 'operands of different ranks';
  const ha = a.axes.indexOf('h');
  if (ha < 0 || ha >= n - 2 || b.axes.indexOf('h') !== ha) return 'the heads axes of its operands are not aligned';
  if ([a, b].some((t) => t.axes.includes('r'))) return 'repeated K/V heads not merged into the heads axis';
  if (a.kind === 'proj' && b.kind === 'proj') {
    if (a.layers.length !== 1 || b.layers.length !== 1 || a.axes[n - 1] !== 'd' || b.axes[n - 2] !== 'd' || a.repeat || headsAlong(b) !== a.heads || a.dim !== b.dim) {
      return 'not a product of one Q [.., s, d] with one Kᵀ [.., d, s] over their head dims';
    }
    return {
      kind: 'scores',
      axes: a.axes.map((x, i) => (i === ha ? 'h' : '.')),
      heads: a.heads,
      dim: a.dim,
      layers: [a.layers[0], b.layers[0]],
      q: a.layers[0],
      k: b.layers[0],
      qkMixed: Boolean(a.mixed || b.mixed),
      qkUnpaired: Boolean(a.unpaired || b.unpaired || a.half || b.half),
      ...(b.repeat && { repeat: b.repeat }),
    };
  }
  if (a.kind === 'probs' && b.kind === 'proj') {
    if (b.layers.length !== 1 || b.axes[n - 1] !== 'd' || b.mixed || headsAlong(b) !== a.heads || (b.repeat ?? 1) !== (a.repeat ?? 1)) return 'not a product of attention weights with one V [.., s, d] (its heads shared as K\'s are)';
    return { ...a, kind: 'ctx', axes: b.axes, dim: b.dim, layers: [...a.layers, b.layers[0]], v: b.layers[0] };
  }
  return `a product of ${a.kind} and ${b.kind}`;
}

/**
 * Elementwise ops: with a constant or data that is the same for every head (a scale, a mask,
 * a rotary table), or the sum of two rotary halves of one projection.
 */
function elementwise(c: RuleContext, tags: Array<AttentionTag | undefined>, op: string): AttentionTag | string {
  const { walker: w, node, inputs } = c;
  const n = Math.max(...tags.filter((t) => t).map((t) => t!.axes.length));
  const main = tags.find((t) => t)!;
  const hAxis = main.axes.indexOf('h');
  const dAxis = main.axes.indexOf('d');
  let mixed = Boolean(main.mixed);
  let unpaired = Boolean(main.unpaired);
  const followed = tags.filter((t) => t);
  if (followed.length > 1) {
    // Two halves of a rotary embedding: one projection, same layout. Or Where(IsNaN(p), 0, p):
    // a condition computed position by position from the very tensor it selects from.
    const sameLayout = followed.every((t) => t!.kind === main.kind && t!.layers.join() === main.layers.join() && t!.axes.join() === main.axes.join());
    const same = op === 'Where' ? sameLayout && followed.every((t) => t!.mixed === main.mixed) : sameLayout && main.kind === 'proj';
    if (!same) return 'it combines different attention tensors';
    mixed ||= followed.some((t) => t!.mixed);
    // A sum keeps QKᵀ bilinear (and each rotary pair apart) when its terms do; a product of two does not.
    unpaired ||= (op !== 'Add' && op !== 'Sub' && op !== 'Where') || followed.some((t) => t!.unpaired || t!.half !== main.half);
  }
  // A projection divided by: not linear in it.
  if (op === 'Div' && !w.state.get(inputs[0])?.attention) unpaired = true;
  for (const name of inputs) {
    if (w.state.get(name)?.attention) continue;
    if (op === 'Where' && name === inputs[0]) {
      if (!uniformAlong(w, name, hAxis - n)) return `its condition "${name}" may differ between heads`;
      continue;
    }
    if (!uniformAlong(w, name, hAxis - n)) return `"${name}" may differ between heads`;
    if (main.kind === 'proj' || main.kind === 'ctx') {
      // Along the head dims a scalar keeps every permutation; a table (rotary) keeps none.
      if (dAxis < 0 || !uniformAlong(w, name, dAxis - n)) {
        if (main.kind === 'ctx' || op === 'Add' || op === 'Sub') return `"${name}" varies along the dims within a head`;
        mixed = true;
      }
    }
  }
  if (main.kind === 'proj' && op !== 'Mul' && op !== 'Div' && followed.length === 1) return `${op} of a projection inside attention`;
  return { ...main, mixed: mixed || undefined, unpaired: unpaired || undefined };
}

/** Slice of the head dims into halves and their Concat (rotate_half): the heads stay, the dims mix. */
function rotaryHalves(c: RuleContext, tags: Array<AttentionTag | undefined>): AttentionTag | string {
  const { walker: w, node, inputs } = c;
  const t = tags[0]!;
  const n = t.axes.length;
  const norm = (a: number) => (a < 0 ? a + n : a);
  if (t.kind !== 'proj') return `${node.opType} of ${t.kind}`;
  if (node.opType === 'Slice') {
    const axes = inputs[3] ? w.constValues(inputs[3]) : undefined;
    if (!axes || axes.some((a) => t.axes[norm(a)] !== 'd')) return 'a slice of something other than the head dims';
    const half = t.half || t.unpaired ? undefined : halfSliced(w, inputs, t.dim);
    return { ...t, mixed: true, half, unpaired: !half || undefined };
  }
  const axis = norm(attrInt(node, 'axis', 0));
  if (t.axes[axis] !== 'd' || inputs.some((i) => w.isConst(i))) return 'a concatenation of something other than head dims';
  if (tags.some((x) => !x || x.kind !== 'proj' || x.layers.join() !== t.layers.join() || x.axes.join() !== t.axes.join())) return 'it concatenates different attention tensors';
  // rotate_half: Concat(-x[.., d/2:], x[.., :d/2]) (or the halves in order) moves dim i only to i ± d/2.
  const halves = tags.map((x) => x!.half).sort().join();
  const unpaired = halves !== 'hi,lo' || tags.some((x) => x!.unpaired);
  return { ...t, mixed: true, half: undefined, unpaired: unpaired || undefined };
}

/**
 * Which half of the head dims a Slice of them keeps: [0, d/2) 'lo', [d/2, d) 'hi' (bounds read
 * as the shape reader reads sizes: TorchScript computes d/2 from Shape(x)[-1]); undefined
 * for anything else.
 */
function halfSliced(w: GraphWalker, inputs: string[], dim: number): 'lo' | 'hi' | undefined {
  const one = (name: string | undefined, absent: number) => {
    if (!name) return absent;
    const e = shapeElements(w, name);
    return e?.length === 1 ? staticSize(w, e[0]) : undefined;
  };
  const [start, end, step] = [one(inputs[1], 0), one(inputs[2], dim), one(inputs[4], 1)];
  if (start === undefined || end === undefined || step !== 1 || dim % 2 !== 0) return undefined;
  const at = (x: number) => Math.min(Math.max(x < 0 ? x + dim : x, 0), dim);
  const [s, e] = [at(start), at(end)];
  if (s === 0 && e === dim / 2) return 'lo';
  if (s === dim / 2 && e === dim) return 'hi';
  return undefined;
}

/** The output projection reading the merged heads: walked as a layer, its input group remembered. */
function outputProjection(c: RuleContext, t: AttentionTag): null | string {
  const { walker: w, node, inputs } = c;
  if (t.q === undefined || t.k === undefined || t.v === undefined) return 'an incomplete attention';
  const layer = w.layers.length;
  const x = w.data(node, inputs[0]);
  // The context's units: a group of their own, fixed until the site is committed.
  const ctxGroup = w.newGroup(t.heads * t.dim, true);
  w.set(inputs[0], { ...x, group: ctxGroup, attention: undefined });
  linear({ ...c, x: w.data(node, inputs[0]) });
  w.set(inputs[0], { ...x, group: ctxGroup });
  if (w.layers.length !== layer + 1 || w.layers[layer].inGroup !== ctxGroup) return 'the output projection was not read as one layer';
  record(w).sites.push({ q: t.q, k: t.k, v: t.v, o: layer, heads: t.heads, qkDim: w.layers[t.q].outUnits / t.heads, vDim: t.dim, pairsFixed: Boolean(t.qkMixed), qkScale: qkScaleOf(w, t), repeat: t.repeat ?? 1, ctxGroup, mergedTensor: inputs[0] });
  return null;
}

/**
 * What rescales Q against K: every dim; under rotary embeddings (the dims mixed, but only
 * pairwise and linearly) every pair (i, i + d/2), which a rotation commutes with; nothing
 * when Q and K are one layer or the product is not bilinear.
 */
function qkScaleOf(w: GraphWalker, t: AttentionTag): Site['qkScale'] {
  if (t.q === t.k || t.qkUnpaired) return 'none';
  if (!t.qkMixed) return 'dims';
  return (w.layers[t.q!].outUnits / t.heads) % 2 === 0 ? 'rotary' : 'none';
}

/** Ops whose output has the largest rank of their inputs (broadcasting) and whose values are a function of theirs, position by position. */
const POINTWISE = new Set(['Add', 'Sub', 'Mul', 'Div', 'Pow', 'Where', 'Equal', 'Less', 'Greater', 'LessOrEqual', 'GreaterOrEqual', 'And', 'Or', 'Not', 'Cast', 'Identity', 'Neg', 'Sqrt', 'Cos', 'Sin', 'Exp']);

/**
 * Whether the tensor `name` is the same along the axis `fromRight` (negative, counted from the
 * last) of a broadcast with it. Values vary along an axis only where a source has extent there:
 * a constant or input of size 1 at that axis (or of lower rank) cannot, nor can an Unsqueeze,
 * Expand or ConstantOfShape, nor a Reshape to size 1 there, nor pointwise ops of such tensors
 * (a mask [N, 1, 1, S], a rotary table [N, 1, S, d]). Anything else is not known to be, and
 * the heads stay fixed.
 */
function uniformAlong(w: GraphWalker, name: string, fromRight: number, depth = 0): boolean {
  if (depth > 32) return false;
  if (sizeOne(w, name, fromRight)) return true;
  const p = w.producerOf(name);
  if (!p) return false;
  const ins = (p.input ?? []).filter((x) => x);
  const op = p.opType ?? '';
  if (POINTWISE.has(op)) return ins.every((x) => uniformAlong(w, x, fromRight, depth + 1));
  switch (op) {
    case 'ConstantOfShape':
      return true;
    case 'Expand':
      return uniformAlong(w, ins[0], fromRight, depth + 1);
    case 'Unsqueeze': {
      const shifted = unsqueezed(w, p, name, fromRight);
      return shifted === true || (shifted !== false && uniformAlong(w, ins[0], shifted, depth + 1));
    }
    default:
      return false;
  }
}

/**
 * An Unsqueeze's output axis `fromRight`: true when the Unsqueeze inserted it, else where it
 * is in the input (counted from the right, it moves by the axes inserted after it); false
 * when the rank is not known.
 */
function unsqueezed(w: GraphWalker, p: onnx.INodeProto, name: string, fromRight: number): number | boolean {
  const rank = rankOf(w, name);
  const ins = (p.input ?? []).filter((x) => x);
  const axes = attrInts(p, 'axes') ?? (ins[1] ? w.constValues(ins[1]) : undefined);
  if (rank === undefined || !axes) return false;
  const at = rank + fromRight;
  const inserted = axes.map((a) => (a < 0 ? a + rank : a));
  if (inserted.includes(at)) return true;
  return fromRight + inserted.filter((a) => a > at).length;
}

/** Whether the tensor has size 1 (or no axis) at `fromRight`, as far as the graph tells. */
function sizeOne(w: GraphWalker, name: string, fromRight: number, depth = 0): boolean {
  if (depth > 32) return false;
  const dims = declaredDims(w, name) ?? (w.constants.has(name) ? tensorDims(w.constants.get(name)!) : undefined);
  if (dims && (dims.length + fromRight < 0 || dims[dims.length + fromRight] === 1)) return true;
  const rank = rankOf(w, name);
  if (rank !== undefined && rank + fromRight < 0) return true;
  const p = w.producerOf(name);
  if (!p || w.constants.has(name)) return false;
  // A size computed from shapes (head_dim read from Q's shape for the scale): rank 0 or 1, one element, or rank 1.
  const sizes = w.shapeOnly.has(name) ? shapeElements(w, name) : undefined;
  if (sizes && (sizes.length === 1 || fromRight < -1)) return true;
  const ins = (p.input ?? []).filter((x) => x);
  const op = p.opType ?? '';
  if (POINTWISE.has(op)) return ins.every((x) => sizeOne(w, x, fromRight, depth + 1));
  switch (op) {
    case 'Unsqueeze': {
      const shifted = unsqueezed(w, p, name, fromRight);
      return shifted === true || (shifted !== false && sizeOne(w, ins[0], shifted, depth + 1));
    }
    case 'Reshape':
      return shapeSaysOne(w, ins[1], fromRight, depth);
    case 'Expand':
      return sizeOne(w, ins[0], fromRight, depth + 1) && shapeSaysOne(w, ins[1], fromRight, depth);
    default:
      return false;
  }
}

/** A shape tensor whose element `fromRight` is 1: a literal 1, or Shape(T) of a T of size 1 there. */
function shapeSaysOne(w: GraphWalker, shape: string, fromRight: number, depth: number): boolean {
  const p = w.producerOf(shape);
  if (wholeShape(p)) return sizeOne(w, (p!.input ?? [])[0], fromRight, depth + 1);
  if (p?.opType === 'Concat' && (p.input ?? []).length === 1) return shapeSaysOne(w, (p.input ?? [])[0], fromRight, depth + 1);
  const target = shapeElements(w, shape);
  return target !== undefined && (target.length + fromRight < 0 || target[target.length + fromRight] === 1);
}

/** A tensor's rank from the graph alone, where it can be told. */
function rankOf(w: GraphWalker, name: string, depth = 0): number | undefined {
  if (depth > 32) return undefined;
  const declared = declaredDims(w, name);
  if (declared) return declared.length;
  const c = w.constants.get(name);
  if (c) return tensorDims(c).length;
  const p = w.producerOf(name);
  if (!p) return undefined;
  const ins = (p.input ?? []).filter((x) => x);
  const op = p.opType ?? '';
  const widest = (names: string[]) => {
    const ranks = names.map((x) => rankOf(w, x, depth + 1));
    return ranks.every((r) => r !== undefined) ? Math.max(...(ranks as number[])) : undefined;
  };
  if (POINTWISE.has(op) || op === 'MatMul') return widest(ins);
  switch (op) {
    case 'Unsqueeze': {
      const axes = attrInts(p, 'axes') ?? (ins[1] ? w.constValues(ins[1]) : undefined);
      const r = rankOf(w, ins[0], depth + 1);
      return axes && r !== undefined ? r + axes.length : undefined;
    }
    case 'Reshape':
    case 'ConstantOfShape':
      return w.lengthOf(ins[op === 'Reshape' ? 1 : 0]);
    case 'Expand': {
      const r = rankOf(w, ins[0], depth + 1);
      const s = shapeLength(w, ins[1], depth + 1);
      return r !== undefined && s !== undefined ? Math.max(r, s) : undefined;
    }
    case 'Range':
    case 'Shape':
      return 1;
    case 'Gather': {
      const [data, indices] = [rankOf(w, ins[0], depth + 1), rankOf(w, ins[1], depth + 1)];
      return data !== undefined && indices !== undefined ? data - 1 + indices : undefined;
    }
    case 'Transpose':
    case 'Concat':
    case 'Softmax':
      return rankOf(w, ins[0], depth + 1);
    default:
      return undefined;
  }
}

/** The number of elements of a 1-D shape tensor, where the graph tells it. */
function shapeLength(w: GraphWalker, name: string, depth: number): number | undefined {
  if (depth > 32) return undefined;
  const known = w.lengthOf(name);
  if (known !== undefined) return known;
  const p = w.producerOf(name);
  const ins = (p?.input ?? []).filter((x) => x);
  switch (p?.opType) {
    case 'Shape':
      return wholeShape(p) ? rankOf(w, ins[0], depth + 1) : undefined;
    case 'ConstantOfShape': {
      // Its length is the value of its 1-element shape input: a constant, or Shape of a 1-D tensor T (T's length).
      const s = w.producerOf(ins[0]);
      return w.constValues(ins[0])?.[0] ?? (wholeShape(s) ? shapeLength(w, (s!.input ?? [])[0], depth + 1) : undefined);
    }
    case 'Reshape':
      return w.constValues(ins[1])?.join() === '-1' ? shapeLength(w, ins[0], depth + 1) : undefined;
    case 'Where':
    case 'Mul':
    case 'Add':
    case 'Equal':
    case 'Cast': {
      // Elementwise on shapes: as long as the longest input (scalars broadcast).
      const lengths = ins.map((x) => (w.constants.has(x) ? tensorDims(w.constants.get(x)!).reduce((a, b) => a * b, 1) : shapeLength(w, x, depth + 1)));
      return lengths.every((n) => n !== undefined) ? Math.max(...(lengths as number[])) : undefined;
    }
    default:
      return undefined;
  }
}

/**
 * A grouped-query site: Q's rows, K's rows, V's rows and O's columns are four groups (K and V
 * have fewer heads than Q and O), permuted together by heads.ts: K/V heads as blocks, each
 * carrying its query heads, query heads within their group, and the dims within a K/V head
 * (shared by its query heads). Q/K rescaling sits on Q's group (qk-pairs.ts), V/O rescaling
 * on V's (grouped-vo.ts).
 */
function groupedQuery(w: GraphWalker, site: Site): void {
  const output = (l: number) => (w.graph.node[w.layers[l].addNode ?? w.layers[l].node].output ?? [])[0];
  const [q, k, v, c] = [w.layers[site.q].outGroup, w.layers[site.k].outGroup, w.layers[site.v].outGroup, site.ctxGroup].map((g) => w.find(g));
  const kv = site.heads / site.repeat;
  for (const [g, tensor] of [[q, output(site.q)], [k, output(site.k)], [v, output(site.v)], [c, site.mergedTensor]] as const) {
    w.groups[g].fixed = false;
    w.groups[g].caps = { ...PERMUTATION_ONLY };
    w.groups[g].tensor ??= tensor;
  }
  // K's dim (pair) times c with the same dim (pair) of every query head of its block divided by c
  // (qk-pairs.ts): the factors are the Q group's.
  if (site.qkScale !== 'none') w.groups[q].caps = { scale: true, sign: true };
  // V's row times c with O's columns of every query head of the block divided by c (grouped-vo.ts).
  w.groups[v].caps = { scale: true, sign: true };
  w.groups[q].heads = { count: site.heads, dim: site.qkDim, role: 'qk', partner: c, pairsFixed: site.pairsFixed || undefined, rotaryPairs: site.qkScale === 'rotary' || undefined, kv: { group: k, count: kv } };
  w.groups[c].heads = { count: site.heads, dim: site.vDim, role: 'vo', partner: q, kv: { group: v, count: kv } };
  w.groups[k].heads = { count: kv, dim: site.qkDim, role: 'k', partner: q };
  w.groups[v].heads = { count: kv, dim: site.vDim, role: 'v', partner: c };
}

/**
 * After the walk (graph outputs already fixed): commit every site all of whose tensors were
 * followed to the end; the rest keep their projections fixed. Returns the notes.
 */
export function finishAttention(w: GraphWalker): string[] {
  const r = records.get(w);
  if (!r) return [];
  // A tagged tensor read by an op that was not followed (or a graph output) poisons its layers.
  for (const [name, s] of w.state) {
    if (!s.attention) continue;
    // (Reading its shape is fine: permutations keep shapes.)
    const stray = (w.uses.get(name) ?? []).find((u) => !r.handled.has(u) && !['Shape', 'Size'].includes(w.graph.node[u]?.opType ?? ''));
    if (stray !== undefined) {
      const why = stray < 0 ? `"${name}" is a graph output` : `${nodeLabel(w.graph.node[stray])} reads "${name}"`;
      for (const l of s.attention.layers) if (!r.poisoned.has(l)) r.poisoned.set(l, why);
    }
  }
  const notes = new Set<string>();
  const seen = new Map<number, number>();
  for (const site of r.sites) for (const l of [site.q, site.k, site.v]) seen.set(l, (seen.get(l) ?? 0) + 1);
  const committed = new Set<number>();
  for (const site of r.sites) {
    const layers = [site.q, site.k, site.v];
    const why =
      layers.map((l) => r.poisoned.get(l)).find((x) => x) ??
      (layers.some((l) => seen.get(l) !== 1 && !(site.q === site.k && seen.get(l) === 2)) ? 'a projection feeds more than one attention' : undefined) ??
      (site.q === site.v || site.k === site.v ? 'V is also read as Q or K' : undefined) ??
      (w.layers[site.v].outUnits * site.repeat !== site.heads * site.vDim || w.layers[site.q].outUnits !== w.layers[site.k].outUnits * site.repeat ? 'head sizes do not add up' : undefined) ??
      ((w.uses.get(site.mergedTensor) ?? []).length !== 1 ? 'the merged heads are read by more than the output projection' : undefined);
    if (why) {
      notes.add(`attention heads at ${nodeLabel(w.graph.node[w.layers[site.q].node])} stay in place: ${why}`);
      continue;
    }
    if (site.repeat > 1) {
      groupedQuery(w, site);
      for (const l of layers) committed.add(l);
      continue;
    }
    const qk = w.union(w.layers[site.q].outGroup, w.layers[site.k].outGroup, w.graph.node[w.layers[site.k].node]);
    const vo = w.union(w.layers[site.v].outGroup, site.ctxGroup, w.graph.node[w.layers[site.o].node]);
    const gqk = w.groups[qk];
    const gvo = w.groups[vo];
    gqk.fixed = false;
    gvo.fixed = false;
    // Q/K units: QKᵀ is bilinear, q_i·c with k_i/c (c < 0: a joint sign flip) keeps it
    // (qk-pairs.ts); under rotary, which rotates dim i with i + d/2, one c per pair.
    gqk.caps = site.qkScale === 'none' ? { ...PERMUTATION_ONLY } : { scale: true, sign: true };
    gqk.tensor ??= (w.graph.node[w.layers[site.q].addNode ?? w.layers[site.q].node].output ?? [])[0];
    gqk.heads = { count: site.heads, dim: site.qkDim, role: 'qk', partner: vo, pairsFixed: site.pairsFixed || undefined, rotaryPairs: site.qkScale === 'rotary' || undefined };
    gvo.heads = { count: site.heads, dim: site.vDim, role: 'vo', partner: qk };
    for (const l of layers) committed.add(l);
  }
  for (const [l, e] of r.entries) {
    if (committed.has(l)) continue;
    const why = r.poisoned.get(l) ?? 'no complete attention (scores, softmax, context, output projection) was found after it';
    if (![...notes].some((n) => n.includes(why))) notes.add(`attention heads at ${nodeLabel(e.node)} stay in place: ${why}`);
  }
  for (const u of r.untracked) notes.add(`attention heads at ${u} stay in place: this layout of attention is not followed`);
  return [...notes];
}
