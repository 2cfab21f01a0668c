/**
 * Which tensors of a model are its weights: what raw, canonical and aligned
 * distances count (and what `--layers` lists).
 *
 * A float initializer is a weight when its value (possibly through Cast,
 * Transpose, Reshape, ... of constants: an fp16 weight behind a Cast, a
 * weight the exporter transposed) reaches
 * - a weight slot of a weighted op that computes on the model's data:
 *   Gemm/MatMul/Einsum constants, Conv/ConvTranspose weight and bias,
 *   normalization scale and bias, LSTM/GRU/RNN W, R and B, PRelu slopes;
 * - the table of an embedding (Gather of a float matrix), positional
 *   embeddings included (their indices are often built from shapes);
 * - or, non-scalar, an Add/Sub/Mul/Div/Concat/Where with data (biases kept
 *   apart, decomposed LayerNorm/RMSNorm scales, ViT positional embeddings
 *   and class tokens).
 * Not counted: exporter artefacts (rotary cos/sin tables, a tied
 * embedding's second copy for the LM head: see exporter-artefacts.ts),
 * scalars in elementwise ops (eps, 0.5, √2, a mask fill value
 * such as -3.4e38), shape tensors, integer tensors, and masks (tensors whose
 * every value is 0 or a huge/infinite fill), which are constants of the
 * architecture, not learned: counting a -3.4e38 fill made two different
 * transformers look identical (relative distance 2.8e-38).
 *
 * Weights held in node attributes (ai.onnx.ml LinearClassifier,
 * LinearRegressor, SVMClassifier/SVMRegressor, Scaler) are read as weights
 * too; other ai.onnx.ml ops holding float parameters (tree ensembles) stop
 * with an error rather than count nothing.
 */
import { ModeldiffError } from '../errors';
import { type OnnxModel, dataInputs, graphOf, isFloatTensor, nodeLabel, onnx, tensorSize, tensorToFloat64 } from '../io/onnx';
import { rotaryTables, tiedCopies } from './exporter-artefacts';

/** Ops whose output is their first input's values rearranged or converted (weights pass through them). */
const PASS_THROUGH = new Set(['Cast', 'CastLike', 'Identity', 'Transpose', 'Reshape', 'Unsqueeze', 'Squeeze', 'Flatten', 'Expand', 'Tile', 'Gather', 'Slice', 'Split', 'Concat']);
/** Weighted ops and the input slots holding weights (all slots after the data input when undefined). */
const WEIGHT_SLOTS: Record<string, number[] | undefined> = {
  Gemm: [0, 1, 2],
  MatMul: [0, 1],
  Einsum: undefined,
  Conv: [1, 2],
  ConvTranspose: [1, 2],
  BatchNormalization: [1, 2],
  LayerNormalization: [1, 2],
  InstanceNormalization: [1, 2],
  GroupNormalization: [1, 2],
  RMSNormalization: [1],
  SimplifiedLayerNormalization: [1],
  SkipLayerNormalization: [2, 3, 4],
  SkipSimplifiedLayerNormalization: [2],
  LSTM: [1, 2, 3],
  GRU: [1, 2, 3],
  RNN: [1, 2, 3],
  PRelu: [1],
};
/** Elementwise ops where a non-scalar constant operand next to data is a parameter (bias, norm scale, positional embedding). */
const ELEMENTWISE = new Set(['Add', 'Sub', 'Mul', 'Div', 'Concat', 'Where']);

/** ai.onnx.ml ops and their float attributes that hold fitted weights (lib/path/interpolate.ts mixes them too). */
export const ML_WEIGHTS: Record<string, string[]> = {
  LinearClassifier: ['coefficients', 'intercepts'],
  LinearRegressor: ['coefficients', 'intercepts'],
  SVMClassifier: ['coefficients', 'support_vectors', 'rho', 'prob_a', 'prob_b'],
  SVMRegressor: ['coefficients', 'support_vectors', 'rho'],
  Scaler: ['offset', 'scale'],
};

export interface CountedWeights {
  /** Names of the float initializers that are weights, in the model's initializer order. */
  initializers: string[];
  /** Weights held in attributes, named "<node>.<attribute>". */
  attributes: Array<{ name: string; data: Float64Array }>;
}

/** A mask, not a weight: every value is 0 or a fill of magnitude ≥ 1e30 (or infinite), and there is a fill. */
function isMask(values: Float64Array): boolean {
  let fill = false;
  for (const v of values) {
    if (Math.abs(v) >= 1e30) fill = true;
    else if (v !== 0) return false;
  }
  return fill;
}

export function countedWeights(model: OnnxModel): CountedWeights {
  const graph = graphOf(model);
  const inits = new Map(graph.initializer.map((t) => [t.name ?? '', t]));
  // Data: tensors computed from the model's (non-initializer) inputs; a Shape or Size of data is not data.
  const data = new Set(dataInputs(graph).map((i) => i.name ?? ''));
  const producer = new Map<string, onnx.INodeProto>();
  for (const node of graph.node) {
    for (const o of node.output ?? []) producer.set(o, node);
    const op = node.opType ?? '';
    if (op !== 'Shape' && op !== 'Size' && (node.input ?? []).some((x) => data.has(x))) for (const o of node.output ?? []) data.add(o);
  }
  /** The float initializers a constant tensor's values come from (through pass-through ops). */
  const sources = (name: string, seen = new Set<string>()): string[] => {
    if (seen.has(name)) return [];
    seen.add(name);
    const t = inits.get(name);
    if (t) return isFloatTensor(t) ? [name] : [];
    const p = producer.get(name);
    if (!p || !PASS_THROUGH.has(p.opType ?? '')) return [];
    // Concat joins several constants; the other pass-through ops carry their first input's values.
    const from = p.opType === 'Concat' ? (p.input ?? []) : (p.input ?? []).slice(0, 1);
    return from.flatMap((x) => sources(x, seen));
  };
  const rotary = rotaryTables(graph, (name) => !data.has(name));
  const counted = new Set<string>();
  // Whether an elementwise constant is learned (not a scalar or a mask), decided once per
  // tensor: a constant read by several nodes is decoded (from the model file) only once.
  const verdicts = new Map<string, boolean>();
  const learned = (s: string): boolean => {
    let v = verdicts.get(s);
    if (v === undefined) {
      const t = inits.get(s)!;
      v = tensorSize(t) > 1 && !isMask(tensorToFloat64(t, model.label));
      verdicts.set(s, v);
    }
    return v;
  };
  const tables = new Set<string>();
  const matrices = new Set<string>();
  const attributes: CountedWeights['attributes'] = [];
  graph.node.forEach((node, index) => {
    const op = node.opType ?? '';
    const inputs = node.input ?? [];
    if (node.domain === 'ai.onnx.ml') return readMlWeights(model, node, index, attributes);
    const hasData = inputs.some((x) => data.has(x));
    if (!hasData) return;
    const constant = (i: number) => Boolean(inputs[i]) && !data.has(inputs[i]);
    if (op in WEIGHT_SLOTS) {
      const slots = WEIGHT_SLOTS[op] ?? inputs.map((_, i) => i);
      for (const i of slots) {
        if (!constant(i)) continue;
        for (const s of sources(inputs[i])) {
          counted.add(s);
          if (op === 'MatMul' || op === 'Gemm') matrices.add(s);
        }
      }
      return;
    }
    if (op === 'Gather' && constant(0)) {
      for (const s of sources(inputs[0])) {
        if ((inits.get(s)!.dims ?? []).length < 2) continue;
        counted.add(s);
        tables.add(s);
      }
      return;
    }
    if (!ELEMENTWISE.has(op)) return;
    inputs.forEach((x, i) => {
      if (!constant(i) || (op === 'Where' && i === 0) || rotary.has(x)) return;
      for (const s of sources(x)) if (learned(s)) counted.add(s);
    });
  });
  const copies = tiedCopies(model, [...tables], [...matrices].filter((m) => !tables.has(m)));
  return { initializers: graph.initializer.map((t) => t.name ?? '').filter((n) => counted.has(n) && !copies.has(n)), attributes };
}

function readMlWeights(model: OnnxModel, node: onnx.INodeProto, index: number, out: CountedWeights['attributes']): void {
  const op = node.opType ?? '';
  const name = node.name || `${op}_${index}`;
  const known = ML_WEIGHTS[op];
  const floatAttrs = (node.attribute ?? []).filter((a) => (a.floats?.length ?? 0) > 0 || (a.t && isFloatTensor(a.t)));
  if (!known) {
    if (floatAttrs.length === 0) return;
    throw new ModeldiffError(
      'UNSUPPORTED_GRAPH',
      `${model.label}: ${nodeLabel(node)} holds fitted parameters (${floatAttrs.map((a) => a.name).join(', ')}) that weight distances cannot compare; compare the models' outputs instead`,
    );
  }
  for (const attr of known) {
    const a = floatAttrs.find((x) => x.name === attr);
    if (a) out.push({ name: `${name}.${attr}`, data: a.t ? tensorToFloat64(a.t, model.label) : Float64Array.from(a.floats ?? []) });
  }
}
