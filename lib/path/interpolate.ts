/**
 * Linear interpolation of two models' weights, θ(α) = (1−α)·θ_A + α·θ_B,
 * written into A's graph as a new ONNX model. The two graphs must have the
 * same architecture: the same nodes (op types, attributes) in the same order,
 * and floating-point initializers of equal shapes, paired by name (or, when
 * the exporter named them differently, by position). Non-float initializers
 * (shapes, indices) must be identical. Values are mixed in float64 and stored
 * back in each tensor's own dtype, so α = 0 and α = 1 reproduce A's and B's
 * values exactly. Weights held in attributes (ai.onnx.ml LinearClassifier
 * coefficients and intercepts, and the others lib/weights reads as weights:
 * ML_WEIGHTS) are mixed the same way, stored as the attribute's float32.
 */
import { ModeldiffError, check } from '../errors';
import {
  type OnnxModel,
  type OnnxSource,
  cloneModel,
  encodeOnnx,
  float64ToTensor,
  graphOf,
  isFloatTensor,
  nodeLabel,
  readOnnx,
  tensorDims,
  tensorToFloat64,
} from '../io/onnx';
import { ML_WEIGHTS } from '../weights/counted';

interface MixedTensor {
  index: number; // position in A's initializer list
  name: string;
  dims: number[];
  dataType: number;
  a: Float64Array;
  b: Float64Array;
}

/** A float attribute holding weights (e.g. LinearClassifier's coefficients). */
interface MixedAttribute {
  node: number;
  attribute: number;
  a: Float64Array;
  b: Float64Array;
}

export interface InterpolationPlan {
  a: OnnxModel;
  b: OnnxModel;
  tensors: MixedTensor[];
  attributes: MixedAttribute[];
  /** How B's initializers were paired with A's. */
  matchedBy: 'name' | 'position';
  /** Floating-point parameters interpolated. */
  parameters: number;
}

function sameDims(x: number[], y: number[]): boolean {
  return x.length === y.length && x.every((d, i) => d === y[i]);
}

type Node = ReturnType<typeof graphOf>['node'][number];

/** The attributes of `node` that hold weights (ai.onnx.ml ops' fitted parameters). */
function weightAttributes(node: Node): Set<string> {
  return new Set(node.domain === 'ai.onnx.ml' ? (ML_WEIGHTS[node.opType ?? ''] ?? []) : []);
}

/** Architecture check: same node sequence (op type, attributes other than weights, arity). */
function checkSameGraph(a: OnnxModel, b: OnnxModel): void {
  const na = graphOf(a).node;
  const nb = graphOf(b).node;
  check(na.length === nb.length, 'ARCHITECTURE_MISMATCH', `${a.label} has ${na.length} nodes but ${b.label} has ${nb.length}: cannot interpolate different architectures`);
  na.forEach((x, i) => {
    const y = nb[i];
    const weights = weightAttributes(x);
    // Weight attributes must agree in size only; their values are what is interpolated.
    const attrs = (n: typeof x) =>
      JSON.stringify((n.attribute ?? []).map((at) => (weights.has(at.name ?? '') ? [at.name, at.floats?.length] : [at.name, at.i, at.f, at.ints, at.floats, at.s, at.type])));
    check(
      x.opType === y.opType && (x.input ?? []).length === (y.input ?? []).length && attrs(x) === attrs(y),
      'ARCHITECTURE_MISMATCH',
      `node ${i} differs: ${nodeLabel(x)} in ${a.label} vs ${nodeLabel(y)} in ${b.label}`,
    );
  });
}

export function planInterpolation(aSource: OnnxSource, bSource: OnnxSource): InterpolationPlan {
  const a = readOnnx(aSource);
  const b = readOnnx(bSource);
  checkSameGraph(a, b);
  const ia = graphOf(a).initializer;
  const ib = graphOf(b).initializer;
  check(ia.length === ib.length, 'ARCHITECTURE_MISMATCH', `${a.label} has ${ia.length} initializers but ${b.label} has ${ib.length}`);
  const byName = new Map(ib.map((t) => [t.name, t]));
  const matchedBy = ia.every((t) => byName.has(t.name)) ? 'name' : 'position';
  const tensors: MixedTensor[] = [];
  let parameters = 0;
  ia.forEach((ta, index) => {
    const tb = matchedBy === 'name' ? byName.get(ta.name)! : ib[index];
    const where = `initializer ${ta.name} of ${a.label} vs ${tb.name} of ${b.label}`;
    const da = tensorDims(ta);
    check(sameDims(da, tensorDims(tb)), 'ARCHITECTURE_MISMATCH', `${where}: shapes [${da}] and [${tensorDims(tb)}] differ`);
    check(ta.dataType === tb.dataType, 'ARCHITECTURE_MISMATCH', `${where}: data types differ`);
    const va = tensorToFloat64(ta, a.label);
    const vb = tensorToFloat64(tb, b.label);
    if (!isFloatTensor(ta)) {
      check(va.every((v, i) => v === vb[i]), 'ARCHITECTURE_MISMATCH', `${where}: integer tensors differ (they are structure, not weights)`);
      return;
    }
    for (let i = 0; i < va.length; i++) {
      if (!Number.isFinite(va[i]) || !Number.isFinite(vb[i])) {
        throw new ModeldiffError('NON_FINITE', `${where}: non-finite weight at flat index ${i}`);
      }
    }
    tensors.push({ index, name: ta.name ?? '', dims: da, dataType: ta.dataType ?? 1, a: va, b: vb });
    parameters += va.length;
  });
  const attributes: MixedAttribute[] = [];
  const nb = graphOf(b).node;
  graphOf(a).node.forEach((node, i) => {
    const weights = weightAttributes(node);
    (node.attribute ?? []).forEach((at, j) => {
      if (!weights.has(at.name ?? '') || !at.floats?.length) return;
      const va = Float64Array.from(at.floats);
      const vb = Float64Array.from(nb[i].attribute!.find((x) => x.name === at.name)!.floats!);
      const bad = [...va, ...vb].findIndex((v) => !Number.isFinite(v));
      if (bad >= 0) throw new ModeldiffError('NON_FINITE', `${nodeLabel(node)} attribute ${at.name} of ${bad < va.length ? a.label : b.label}: non-finite weight at flat index ${bad % va.length}`);
      attributes.push({ node: i, attribute: j, a: va, b: vb });
      parameters += va.length;
    });
  });
  return { a, b, tensors, attributes, matchedBy, parameters };
}

/** (1−α)·a + α·b, with the endpoints and equal values exact. */
function mix(a: Float64Array, b: Float64Array, alpha: number): Float64Array {
  // Endpoints exactly: no (1−α)·a + α·b rounding at α = 0 or 1.
  if (alpha === 0) return a.slice();
  if (alpha === 1) return b.slice();
  const mixed = new Float64Array(a.length);
  // Equal weights stay exactly equal (so a model with itself has an exactly flat path).
  for (let i = 0; i < mixed.length; i++) mixed[i] = a[i] === b[i] ? a[i] : (1 - alpha) * a[i] + alpha * b[i];
  return mixed;
}

/** A's graph with every floating initializer replaced by (1−α)·A + α·B, as ONNX bytes. */
export function interpolatedModel(plan: InterpolationPlan, alpha: number): Uint8Array {
  check(Number.isFinite(alpha), 'INVALID_ARGUMENT', `alpha must be a finite number, got ${alpha}`);
  const model = cloneModel(plan.a);
  const inits = graphOf(model).initializer;
  for (const t of plan.tensors) inits[t.index] = float64ToTensor(t.name, t.dims, mix(t.a, t.b, alpha), t.dataType);
  const nodes = graphOf(model).node;
  for (const at of plan.attributes) nodes[at.node].attribute![at.attribute].floats = Array.from(mix(at.a, at.b, alpha));
  return encodeOnnx(model);
}
