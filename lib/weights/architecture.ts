/**
 * Two networks are comparable in weight space only if they have the same
 * layers, shapes and symmetry groups; otherwise ARCHITECTURE_MISMATCH names
 * the first layer that differs. Raw comparison needs only matching
 * initializer names and shapes.
 */
import { ModeldiffError } from '../errors';
import { type OnnxModel, finiteValues, graphOf, onnx, tensorDims, tensorValues } from '../io/onnx';
import { type CountedWeights, countedWeights } from './counted';
import type { ParamPair, ParamPairSource } from './distance';
import { type Network, rangesLabel } from './network';

/** "6 units × 4 inputs", plus the per-input block (a conv filter, a flattened channel) when it is not 1. */
function shapeOf(l: Network['layers'][number]): string {
  return `${l.outUnits} units × ${l.inUnits} inputs${l.inBlock > 1 ? ` × ${l.inBlock} weights each` : ''}`;
}

export function checkSameArchitecture(a: Network, b: Network): void {
  const fail = (what: string) => {
    throw new ModeldiffError('ARCHITECTURE_MISMATCH', `${a.label} and ${b.label} differ: ${what}`);
  };
  if (a.layers.length !== b.layers.length) fail(`${a.layers.length} vs ${b.layers.length} linear layers`);
  a.layers.forEach((la, i) => {
    const lb = b.layers[i];
    const where = `layer ${i + 1} (${la.name} vs ${lb.name})`;
    if ((la.op === 'Conv') !== (lb.op === 'Conv')) fail(`${where} is ${la.op} vs ${lb.op}`);
    if (la.outUnits !== lb.outUnits || la.inUnits !== lb.inUnits || la.inBlock !== lb.inBlock || la.W.length !== lb.W.length) {
      fail(`${where} has ${shapeOf(la)} vs ${shapeOf(lb)}`);
    }
    if (la.outGroup !== lb.outGroup || la.inGroup !== lb.inGroup || JSON.stringify(la.inParts) !== JSON.stringify(lb.inParts)) {
      fail(`${where} is wired differently (its inputs or residual connections differ: another architecture, or the same one written differently, e.g. by another exporter; compare and cka still work)`);
    }
  });
  if (a.hidden.join() !== b.hidden.join()) fail('their hidden layers differ');
  for (const id of a.hidden) {
    const ga = a.groups[id];
    const gb = b.groups[id];
    if (ga.caps.scale !== gb.caps.scale || ga.caps.sign !== gb.caps.sign || JSON.stringify(ga.heads) !== JSON.stringify(gb.heads)) {
      fail(`the activation after ${a.layers[ga.producers[0]].name} differs (different symmetries)`);
    }
  }
  const extrasB = new Map(b.extras.map((e) => [e.name, e.data]));
  for (const e of a.extras) {
    const other = extrasB.get(e.name);
    if (!other || other.length !== e.data.length) fail(`tensor ${e.name} is missing or has a different size in ${b.label}`);
  }
}

/** Parameter pairs of two same-architecture networks: every layer's W and b (a tied table's copy once), then the extras. */
export function networkPairs(a: Network, b: Network): ParamPair[] {
  const pairs: ParamPair[] = [];
  a.layers.forEach((la, i) => {
    const lb = b.layers[i];
    // A part of a fused projection (q|k|v) is named by its rows.
    const rows = la.rows ? rangesLabel(la.rows.index ?? Array.from({ length: la.outUnits }, (_, r) => la.rows!.offset + r)) : '';
    if (!la.tiedCopy) pairs.push({ name: la.weightName + rows, a: la.W, b: lb.W });
    pairs.push({ name: (la.biasName ?? `${la.weightName}:bias`) + rows, a: la.b, b: lb.b });
  });
  const extrasB = new Map(b.extras.map((e) => [e.name, e.data]));
  for (const e of a.extras) pairs.push({ name: e.name, a: e.data, b: extrasB.get(e.name)! });
  return pairs;
}

/**
 * Raw pairs: every weight (see counted.ts: initializers feeding weighted ops,
 * and weights held in ai.onnx.ml attributes), matched by name and shape, or,
 * when the names differ, by where the graph reads them (pairsByUse).
 * A model with no weights at all is an error, not a distance of 0.
 *
 * Names and shapes are checked here, from the graph alone; each initializer
 * pair's values are read only when its function is called (and are then the
 * caller's to drop), so a distance over them holds one pair at a time.
 */
export function initializerPairs(a: OnnxModel, b: OnnxModel): ParamPairSource[] {
  const [ca, cb] = [countedOf(a), countedOf(b)];
  const initsB = new Map(graphOf(b).initializer.map((t) => [t.name ?? '', t]));
  const initsA = new Map(graphOf(a).initializer.map((t) => [t.name ?? '', t]));
  const namesA = new Set(ca.initializers);
  const namesB = new Set(cb.initializers);
  const missing =
    cb.initializers.filter((n) => !namesA.has(n)).map((n) => `initializer ${n} of ${b.label} has no counterpart in ${a.label}`)[0] ??
    ca.initializers.filter((n) => !namesB.has(n)).map((n) => `initializer ${n} of ${a.label} has no counterpart in ${b.label}`)[0];
  const named = missing === undefined ? ca.initializers.map((n): [string, string] => [n, n]) : pairsByUse(a, b, namesA, namesB);
  if (!named) throw new ModeldiffError('ARCHITECTURE_MISMATCH', missing!);
  const pairs: ParamPairSource[] = named.map(([na, nb]) => {
    const ta = initsA.get(na)!;
    const tb = initsB.get(nb)!;
    const da = tensorDims(ta);
    const db = tensorDims(tb);
    if (da.join() !== db.join()) {
      const which = na === nb ? `initializer ${na} has` : `initializers ${na} and ${nb} have`;
      throw new ModeldiffError('ARCHITECTURE_MISMATCH', `${which} shape [${da}] in ${a.label} but [${db}] in ${b.label}`);
    }
    const name = na === nb ? na : `${na} / ${nb}`;
    // As stored (float32 is not widened), NaN and infinities refused.
    const values = (t: onnx.ITensorProto, m: OnnxModel) => finiteValues(t, tensorValues(t, m.label), m.label);
    return () => ({ name, a: values(ta, a), b: values(tb, b) });
  });
  const attrsB = new Map(cb.attributes.map((w) => [w.name, w.data]));
  if (ca.attributes.length !== cb.attributes.length) {
    throw new ModeldiffError('ARCHITECTURE_MISMATCH', `${a.label} has ${ca.attributes.length} weight attributes, ${b.label} has ${cb.attributes.length}`);
  }
  for (const w of ca.attributes) {
    const other = attrsB.get(w.name);
    if (!other || other.length !== w.data.length) {
      throw new ModeldiffError('ARCHITECTURE_MISMATCH', `weight attribute ${w.name} of ${a.label} has no counterpart of ${w.data.length} values in ${b.label}`);
    }
    pairs.push({ name: w.name, a: w.data, b: other });
  }
  return pairs;
}

/**
 * Weights paired by where they are read (node and input slot) when their
 * names differ: an exporter that merges identical constants (the zero
 * biases of a fresh network) gives one model a single initializer where the
 * other has one per layer. The merged tensor is then tied: paired, and
 * counted, once per layer reading it (as canonical and aligned count it).
 * Undefined when the two graphs do not read their weights at the same places.
 */
function pairsByUse(a: OnnxModel, b: OnnxModel, weightsA: Set<string>, weightsB: Set<string>): Array<[string, string]> | undefined {
  const uses = (model: OnnxModel, weights: Set<string>) =>
    graphOf(model).node.flatMap((n, i) => (n.input ?? []).map((x, slot) => ({ x, at: `${i}:${slot}` })).filter((u) => weights.has(u.x)));
  const [ua, ub] = [uses(a, weightsA), uses(b, weightsB)];
  if (ua.length !== ub.length || ua.some((u, k) => u.at !== ub[k].at)) return undefined;
  const seen = new Set<string>();
  const pairs: Array<[string, string]> = [];
  ua.forEach((u, k) => {
    const key = JSON.stringify([u.x, ub[k].x]);
    if (!seen.has(key)) pairs.push([u.x, ub[k].x]);
    seen.add(key);
  });
  return pairs;
}

function countedOf(model: OnnxModel): CountedWeights {
  const c = countedWeights(model);
  if (c.initializers.length === 0 && c.attributes.length === 0) {
    throw new ModeldiffError(
      'UNSUPPORTED_GRAPH',
      `${model.label}: found no weights (no float initializer feeds a weighted op such as Gemm, MatMul, Conv, a normalization or an embedding)`,
    );
  }
  return c;
}

