/**
 * Two networks are comparable in weight space only if they have the same
 * layers, shapes and symmetry groups; otherwise ARCHITECTURE_MISMATCH names
 * the first layer that differs. Raw comparison needs only matching
 * initializer names and shapes.
 */
import { ModeldiffError } from '../errors';
import { type OnnxModel, graphOf, isFloatTensor, onnx, tensorDims, tensorToFloat64 } from '../io/onnx';
import type { ParamPair } from './distance';
import type { Network } from './network';

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
    if (la.outGroup !== lb.outGroup || la.inGroup !== lb.inGroup) fail(`${where} is wired differently (residual connections differ)`);
  });
  if (a.hidden.join() !== b.hidden.join()) fail('their hidden layers differ');
  for (const id of a.hidden) {
    const ga = a.groups[id];
    const gb = b.groups[id];
    if (ga.caps.scale !== gb.caps.scale || ga.caps.sign !== gb.caps.sign) {
      fail(`the activation after ${a.layers[ga.producers[0]].name} differs (different symmetries)`);
    }
  }
  const extrasB = new Map(b.extras.map((e) => [e.name, e.data]));
  for (const e of a.extras) {
    const other = extrasB.get(e.name);
    if (!other || other.length !== e.data.length) fail(`tensor ${e.name} is missing or has a different size in ${b.label}`);
  }
}

/** Parameter pairs of two same-architecture networks: every layer's W and b, then the extras. */
export function networkPairs(a: Network, b: Network): ParamPair[] {
  const pairs: ParamPair[] = [];
  a.layers.forEach((la, i) => {
    const lb = b.layers[i];
    pairs.push({ name: la.weightName, a: la.W, b: lb.W });
    pairs.push({ name: la.biasName ?? `${la.weightName}:bias`, a: la.b, b: lb.b });
  });
  const extrasB = new Map(b.extras.map((e) => [e.name, e.data]));
  for (const e of a.extras) pairs.push({ name: e.name, a: e.data, b: extrasB.get(e.name)! });
  return pairs;
}

/** Raw pairs: every floating-point initializer, matched by name and shape. */
export function initializerPairs(a: OnnxModel, b: OnnxModel): ParamPair[] {
  const floats = (m: OnnxModel) => graphOf(m).initializer.filter(isFloatTensor);
  const inB = new Map(floats(b).map((t) => [t.name ?? '', t]));
  const names = new Set(floats(a).map((t) => t.name ?? ''));
  for (const name of inB.keys()) {
    if (!names.has(name)) throw new ModeldiffError('ARCHITECTURE_MISMATCH', `initializer ${name} of ${b.label} has no counterpart in ${a.label}`);
  }
  return floats(a).map((ta) => {
    const tb = inB.get(ta.name ?? '');
    if (!tb) throw new ModeldiffError('ARCHITECTURE_MISMATCH', `initializer ${ta.name} of ${a.label} has no counterpart in ${b.label}`);
    const da = tensorDims(ta);
    const db = tensorDims(tb);
    if (da.join() !== db.join()) {
      throw new ModeldiffError('ARCHITECTURE_MISMATCH', `initializer ${ta.name} has shape [${da}] in ${a.label} but [${db}] in ${b.label}`);
    }
    return { name: ta.name ?? '', a: finite(ta, a), b: finite(tb, b) };
  });
}

function finite(t: onnx.ITensorProto, model: OnnxModel): Float64Array {
  const v = tensorToFloat64(t, model.label);
  const bad = v.findIndex((x) => !Number.isFinite(x));
  if (bad >= 0) throw new ModeldiffError('NON_FINITE', `${model.label}: initializer ${t.name} has a non-finite value (${v[bad]}) at index ${bad}`);
  return v;
}
