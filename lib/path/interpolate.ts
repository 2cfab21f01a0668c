/**
 * Linear interpolation of two models' weights, θ(α) = (1−α)·θ_A + α·θ_B,
 * written into A's graph as a new ONNX model. The two graphs must have the
 * same architecture: the same nodes (op types, attributes) in the same order,
 * and floating-point initializers of equal shapes, paired by name (or, when
 * the exporter named them differently, by position). Non-float initializers
 * (shapes, indices) must be identical. Values are mixed in float64 and stored
 * back in each tensor's own dtype, so α = 0 and α = 1 reproduce A's and B's
 * values exactly.
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

interface MixedTensor {
  index: number; // position in A's initializer list
  name: string;
  dims: number[];
  dataType: number;
  a: Float64Array;
  b: Float64Array;
}

export interface InterpolationPlan {
  a: OnnxModel;
  b: OnnxModel;
  tensors: MixedTensor[];
  /** How B's initializers were paired with A's. */
  matchedBy: 'name' | 'position';
  /** Floating-point parameters interpolated. */
  parameters: number;
}

function sameDims(x: number[], y: number[]): boolean {
  return x.length === y.length && x.every((d, i) => d === y[i]);
}

/** Architecture check: same node sequence (op type, attributes, arity). */
function checkSameGraph(a: OnnxModel, b: OnnxModel): void {
  const na = graphOf(a).node;
  const nb = graphOf(b).node;
  check(na.length === nb.length, 'ARCHITECTURE_MISMATCH', `${a.label} has ${na.length} nodes but ${b.label} has ${nb.length}: cannot interpolate different architectures`);
  na.forEach((x, i) => {
    const y = nb[i];
    const attrs = (n: typeof x) => JSON.stringify((n.attribute ?? []).map((at) => [at.name, at.i, at.f, at.ints, at.floats, at.s, at.type]));
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
  return { a, b, tensors, matchedBy, parameters };
}

/** A's graph with every floating initializer replaced by (1−α)·A + α·B, as ONNX bytes. */
export function interpolatedModel(plan: InterpolationPlan, alpha: number): Uint8Array {
  check(Number.isFinite(alpha), 'INVALID_ARGUMENT', `alpha must be a finite number, got ${alpha}`);
  const model = cloneModel(plan.a);
  const inits = graphOf(model).initializer;
  for (const t of plan.tensors) {
    const mixed = new Float64Array(t.a.length);
    // Endpoints exactly: no (1−α)·a + α·b rounding at α = 0 or 1.
    if (alpha === 0) mixed.set(t.a);
    else if (alpha === 1) mixed.set(t.b);
    // Equal weights stay exactly equal (so a model with itself has an exactly flat path).
    else for (let i = 0; i < mixed.length; i++) mixed[i] = t.a[i] === t.b[i] ? t.a[i] : (1 - alpha) * t.a[i] + alpha * t.b[i];
    inits[t.index] = float64ToTensor(t.name, t.dims, mixed, t.dataType);
  }
  return encodeOnnx(model);
}
