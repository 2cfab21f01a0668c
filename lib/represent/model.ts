/**
 * cka(a, b, options): representation similarity between two ONNX models on a
 * probe set. Hidden tensors are exposed as extra graph outputs and run with
 * onnxruntime (lib/infer/hidden.ts), flattened to n × features (conv maps
 * n×C×H×W → n×(C·H·W), or n×C with `spatial: 'mean'`), then compared with
 * representationSimilarity, per layer pair or as a layer×layer matrix.
 */
import { check } from '../errors';
import { hiddenActivations } from '../infer/hidden';
import { type OnnxModel, type OnnxSource, checkProbeFitsInput, graphOf, readOnnx } from '../io/onnx';
import { type ProbeData, type ProbeSource, loadProbe } from '../io/probe';
import { elementCount, formatShape, toFloat64 } from '../io/tensor';
import { checkArrayOption, optionsObject, requireOption } from '../util/options';
import { type LayerInfo, defaultLayers, findLayer, listLayers } from './layers';
import type { ActivationMatrix } from './matrix';
import { type RepresentationMeasureName, type RepresentationOptions, representationSimilarity } from './similarity';

export interface ModelCkaOptions extends RepresentationOptions {
  /** Probe inputs (a .npy path, typed array with shape, or loaded ProbeData). */
  data: ProbeSource;
  /**
   * The same samples shaped for model b, when its input differs from a's
   * (e.g. an MLP on n×64 vs a CNN on n×1×8×8); default: `data`.
   */
  dataB?: ProbeSource;
  /** Measures (default ['cka-linear']). */
  measures?: RepresentationMeasureName[];
  /**
   * Layer pairs to compare: `{ a, b }` with a layer reference for each model
   * (tensor name, node name, or index into listLayers()). Default: the
   * models' default layers (activations and outputs) paired by position.
   */
  layers?: Array<{ a: string | number; b: string | number }>;
  /** Compare every default layer of a with every default layer of b (a matrix). */
  allLayers?: boolean;
  /** Conv maps: `flatten` (n×C·H·W, default) or `mean` (per-channel spatial average, n×C). */
  spatial?: 'flatten' | 'mean';
  /** Samples per onnxruntime run. */
  batchSize?: number;
  /** Resolves relative paths (default process.cwd()). */
  cwd?: string;
}

export interface LayerPairResult {
  a: LayerInfo;
  b: LayerInfo;
  /** Features compared on each side after flattening. */
  px: number;
  py: number;
  values: Partial<Record<RepresentationMeasureName, number>>;
  /** Caveats from representationSimilarity (e.g. degenerate CCA). */
  warnings: string[];
}

export interface ModelCkaResult {
  a: string;
  b: string;
  n: number;
  measures: RepresentationMeasureName[];
  spatial: 'flatten' | 'mean';
  /** Per compared pair (with allLayers: every pair, row-major over layersA × layersB). */
  pairs: LayerPairResult[];
  /** With allLayers: the layer×layer matrices, one per measure (rows: layers of a). */
  matrix?: { layersA: LayerInfo[]; layersB: LayerInfo[]; values: Partial<Record<RepresentationMeasureName, number[][]>> };
}

/** n×(features) view of a hidden tensor [n, ...]: flattened, or channel means over spatial axes. */
export function flattenActivations(data: Float32Array, dims: number[], spatial: 'flatten' | 'mean', label: string): ActivationMatrix {
  const n = dims[0];
  check(dims.length >= 1 && n * elementCount(dims.slice(1)) === data.length, 'MODEL_OUTPUT', `${label}: tensor shape ${formatShape(dims)} does not match its ${data.length} values`);
  if (spatial === 'flatten' || dims.length <= 2) return { data, n, p: Math.max(1, elementCount(dims.slice(1))) };
  const c = dims[1];
  const s = elementCount(dims.slice(2));
  const out = new Float64Array(n * c);
  for (let i = 0; i < n; i++)
    for (let k = 0; k < c; k++) {
      let sum = 0;
      const off = (i * c + k) * s;
      for (let j = 0; j < s; j++) sum += data[off + j];
      out[i * c + k] = sum / s;
    }
  return { data: out, n, p: c };
}

function onlyInput(model: OnnxModel): string {
  const graph = graphOf(model);
  const inits = new Set(graph.initializer.map((t) => t.name));
  const inputs = graph.input.filter((i) => !inits.has(i.name)).map((i) => i.name);
  check(inputs.length === 1, 'MODEL_INPUT', `${model.label}: representation similarity needs a single-input model, it has ${inputs.length} (${inputs.join(', ')})`);
  return inputs[0] as string;
}

async function activations(model: OnnxModel, layers: LayerInfo[], probe: ProbeData, options: ModelCkaOptions) {
  const inputName = onlyInput(model);
  const entries = Object.entries(probe.inputs);
  const tensor = probe.inputs[inputName] ?? (entries.length === 1 ? entries[0][1] : undefined);
  check(tensor, 'MODEL_INPUT', `${model.label}: probe data has no input "${inputName}" (it has ${Object.keys(probe.inputs).join(', ')})`);
  checkProbeFitsInput(model, inputName, tensor.shape, probe.sources[inputName] ?? Object.values(probe.sources)[0] ?? 'probe data');
  const f32 = tensor.dtype === 'float32' ? (tensor.data as Float32Array) : Float32Array.from(toFloat64(tensor));
  const names = [...new Set(layers.map((l) => l.tensor))];
  const acts = await hiddenActivations(model, names, { name: inputName, data: f32, dims: tensor.shape.slice() }, { batchSize: options.batchSize });
  const spatial = options.spatial ?? 'flatten';
  const out = new Map<string, ActivationMatrix>();
  for (const name of names) out.set(name, flattenActivations(acts[name].data, acts[name].dims, spatial, `${model.label}: layer ${name}`));
  return { n: probe.n, acts: out };
}

export async function cka(a: OnnxSource, b: OnnxSource, options: ModelCkaOptions): Promise<ModelCkaResult> {
  options = optionsObject(options, 'cka');
  requireOption(options.data, 'cka', 'data', 'the probe inputs both models are run on');
  checkArrayOption(options.measures, 'cka', 'measures');
  checkArrayOption(options.layers, 'cka', 'layers');
  const measures = options.measures ?? ['cka-linear'];
  const spatial = options.spatial ?? 'flatten';
  check(spatial === 'flatten' || spatial === 'mean', 'INVALID_ARGUMENT', `spatial must be flatten or mean, got ${spatial}`);
  const ma = readOnnx(a);
  const mb = readOnnx(b);
  const la = listLayers(ma);
  const lb = listLayers(mb);
  let pairs: Array<{ a: LayerInfo; b: LayerInfo }>;
  let rows: LayerInfo[] = [];
  let cols: LayerInfo[] = [];
  if (options.allLayers) {
    check(!options.layers, 'INVALID_ARGUMENT', 'give either layers or allLayers, not both');
    rows = defaultLayers(la);
    cols = defaultLayers(lb);
    pairs = rows.flatMap((ra) => cols.map((cb) => ({ a: ra, b: cb })));
  } else if (options.layers) {
    check(options.layers.length > 0, 'INVALID_ARGUMENT', 'layers is empty');
    pairs = options.layers.map((p) => ({ a: findLayer(la, p.a, ma.label), b: findLayer(lb, p.b, mb.label) }));
  } else {
    const da = defaultLayers(la);
    const db = defaultLayers(lb);
    check(
      da.length === db.length && da.length > 0,
      'ARCHITECTURE_MISMATCH',
      `${ma.label} has ${da.length} default layers but ${mb.label} has ${db.length}: name the layer pairs (layers / --layers) or compare all of them (allLayers / --all-layers)`,
    );
    pairs = da.map((l, i) => ({ a: l, b: db[i] }));
  }
  const probe = loadProbe(options.data, { cwd: options.cwd }); // read once, shared by both models
  const probeB = options.dataB === undefined ? probe : loadProbe(options.dataB, { cwd: options.cwd });
  const from = (p: typeof probe) => [...new Set(Object.values(p.sources))].join(', ');
  check(
    probeB.n === probe.n,
    'SHAPE_MISMATCH',
    `data has ${probe.n} samples but dataB has ${probeB.n}: both must hold the same samples (--data ${from(probe)}, --data-b ${from(probeB)})`,
  );
  const [xa, xb] = await Promise.all([
    activations(ma, [...new Set(pairs.map((p) => p.a))], probe, options),
    activations(mb, [...new Set(pairs.map((p) => p.b))], probeB, options),
  ]);
  const results: LayerPairResult[] = [];
  for (const p of pairs) {
    const x = xa.acts.get(p.a.tensor) as ActivationMatrix;
    const y = xb.acts.get(p.b.tensor) as ActivationMatrix;
    const r = await representationSimilarity(x, y, measures, options).catch((e: Error & { code?: string }) => {
      e.message = `${ma.label} layer ${p.a.tensor} vs ${mb.label} layer ${p.b.tensor}: ${e.message}`;
      throw e;
    });
    results.push({ a: p.a, b: p.b, px: x.p, py: y.p, values: r.values, warnings: r.warnings });
  }
  const result: ModelCkaResult = { a: ma.label, b: mb.label, n: xa.n, measures: [...measures], spatial, pairs: results };
  if (options.allLayers) {
    const values: Partial<Record<RepresentationMeasureName, number[][]>> = {};
    for (const m of measures) values[m] = rows.map((_, i) => cols.map((_, j) => results[i * cols.length + j].values[m] as number));
    result.matrix = { layersA: rows, layersB: cols, values };
  }
  return result;
}
