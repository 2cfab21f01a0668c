/**
 * cka(a, b, options): representation similarity between two ONNX models on a
 * probe set. Hidden tensors are exposed as extra graph outputs and run with
 * onnxruntime (lib/infer/hidden.ts), flattened to n × features (conv maps
 * n×C×H×W → n×(C·H·W), or n×C with `spatial: 'mean'`), then compared with
 * representationSimilarity, per layer pair or as a layer×layer matrix.
 */
import { check } from '../errors';
import { readMask } from '../function/token-grid';
import { probeInputLabel } from '../function/token-mask';
import { hiddenActivations } from '../infer/hidden';
import { type OnnxModel, type OnnxSource, dataInputs, onnx, readOnnx } from '../io/onnx';
import { type ProbeData, type ProbeSource, loadProbe } from '../io/probe';
import { elementCount, formatShape } from '../io/tensor';
import type { Matrix } from '../matrix';
import { checkArrayOption, optionsObject, requireOption } from '../util/options';
import { type LayerInfo, defaultLayers, findLayer, listLayers } from './layers';
import { type RepresentationMeasureName, type RepresentationOptions, representationSimilarity } from './similarity';
import { plural } from '../util/plural';

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
  /** Inference progress: samples run by both models so far, of 2·n. */
  onProgress?: (done: number, total: number) => void;
}

export interface LayerPairResult {
  a: LayerInfo;
  b: LayerInfo;
  /** Features compared on each side after flattening. */
  px: number;
  py: number;
  /** Rows compared: the probe samples, or for token-level layers of sequence models the unmasked token positions. */
  samples: number;
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
  /** Default layers left out (not one row per sample, e.g. attention maps). */
  warnings: string[];
  /** With allLayers: the layer×layer matrices, one per measure (rows: layers of a). */
  matrix?: { layersA: LayerInfo[]; layersB: LayerInfo[]; values: Partial<Record<RepresentationMeasureName, number[][]>> };
}

/** n×(features) view of a hidden tensor [n, ...]: flattened, or channel means over spatial axes. */
export function flattenActivations(data: Float32Array, dims: number[], spatial: 'flatten' | 'mean', label: string): Matrix {
  const n = dims[0];
  check(dims.length >= 1 && n * elementCount(dims.slice(1)) === data.length, 'MODEL_OUTPUT', `${label}: tensor shape ${formatShape(dims)} does not match its ${data.length} values`);
  if (spatial === 'flatten' || dims.length <= 2) return { data, n, k: Math.max(1, elementCount(dims.slice(1))) };
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
  return { data: out, n, k: c };
}

/**
 * Token positions of a sequence model: its integer token-id input is [n, s]; `attention_mask`
 * in the probe (0 = padding) says which positions count. Hidden tensors [n, s, d] of such a
 * model are compared per position (token-level): samples are the unmasked positions.
 */
interface TokenPositions {
  seq: number;
  /** n·s flags, 1 = a real token. */
  keep: Uint8Array;
  count: number;
}

function tokenPositions(model: OnnxModel, probe: ProbeData): TokenPositions | undefined {
  const INTEGER = new Set([onnx.TensorProto.DataType.INT64, onnx.TensorProto.DataType.INT32]);
  const ids = dataInputs(model).find((i) => INTEGER.has(i.type?.tensorType?.elemType ?? 0) && (i.type?.tensorType?.shape?.dim?.length ?? 0) === 2);
  if (!ids) return undefined;
  const given = probe.inputs[ids.name ?? ''] ?? probe.inputs[''];
  if (!given || given.shape.length !== 2) return undefined;
  const seq = given.shape[1];
  // The same 0/1 mask reader as compare's sequence outputs, on the token ids' grid [n, seq].
  const mask = probe.inputs.attention_mask;
  const keep = mask
    ? readMask(mask, probe.n, { positionDims: [seq], positions: seq }, probeInputLabel(probe, 'attention_mask'), `the token ids "${ids.name}" of ${model.label}`, 'data')
    : new Uint8Array(probe.n * seq).fill(1);
  return { seq, keep, count: keep.reduce((a, b) => a + b, 0) };
}

/** Token-level view of a hidden tensor [n, s, d]: the kept positions as samples (or their mean per sequence). */
function tokenActivations(data: Float32Array, dims: number[], tokens: TokenPositions, spatial: 'flatten' | 'mean'): Matrix {
  const [n, s] = dims;
  const d = elementCount(dims.slice(2));
  if (spatial === 'mean') {
    // A sequence with no kept token has no representation: it is left out (as compare skips
    // it), never a row of zeros that would pull every similarity toward the zero row.
    const sequences: number[] = [];
    for (let i = 0; i < n; i++) if (tokens.keep.subarray(i * s, (i + 1) * s).some((v) => v !== 0)) sequences.push(i);
    const out = new Float64Array(sequences.length * d);
    sequences.forEach((i, r) => {
      let kept = 0;
      for (let j = 0; j < s; j++) {
        if (!tokens.keep[i * s + j]) continue;
        kept++;
        for (let k = 0; k < d; k++) out[r * d + k] += data[(i * s + j) * d + k];
      }
      for (let k = 0; k < d; k++) out[r * d + k] /= kept;
    });
    return { data: out, n: sequences.length, k: d };
  }
  const out = new Float32Array(tokens.count * d);
  let row = 0;
  for (let i = 0; i < n * s; i++) {
    if (!tokens.keep[i]) continue;
    out.set(data.subarray(i * d, (i + 1) * d), row * d);
    row++;
  }
  return { data: out, n: tokens.count, k: d };
}

/**
 * The token-level reader of a sequence model's hidden tensors on `probe`: a tensor [n, s, ...] on
 * the token ids' grid becomes its kept (unmasked) positions as rows; other tensors, and models
 * without token ids, give undefined. Shared by cka and activation matching (lib/weights).
 */
export function tokenRows(model: OnnxModel, probe: ProbeData): (data: Float32Array, dims: number[], spatial?: 'flatten' | 'mean') => Matrix | undefined {
  const tokens = tokenPositions(model, probe);
  return (data, dims, spatial = 'flatten') => (tokens && dims.length >= 3 && dims[1] === tokens.seq ? tokenActivations(data, dims, tokens, spatial) : undefined);
}

interface ModelActivations {
  n: number;
  acts: Map<string, Matrix>;
  /** Tensors that are not one row per sample (attention maps, [seq, batch, h] RNN states): name → shape. */
  notPerSample: Map<string, number[]>;
}

async function activations(model: OnnxModel, layers: LayerInfo[], probe: ProbeData, options: ModelCkaOptions, onProgress?: (done: number) => void): Promise<ModelActivations> {
  const names = [...new Set(layers.map((l) => l.tensor))];
  const sampleAxes = Object.fromEntries(layers.filter((l) => l.sampleAxis).map((l) => [l.tensor, l.sampleAxis as number]));
  const hidden = await hiddenActivations(model, names, probe, { batchSize: options.batchSize, sampleAxes, onProgress });
  const spatial = options.spatial ?? 'flatten';
  const tokenLevel = tokenRows(model, probe);
  const acts = new Map<string, Matrix>();
  const notPerSample = new Map<string, number[]>();
  for (const name of names) {
    const { data, dims, perSample } = hidden[name];
    if (!perSample) notPerSample.set(name, dims);
    else acts.set(name, tokenLevel(data, dims, spatial) ?? flattenActivations(data, dims, spatial, `${model.label}: layer ${name}`));
  }
  return { n: probe.n, acts, notPerSample };
}

/** One model's activations at one layer on `probe` (the representations view's prepare step). */
export async function layerActivations(model: OnnxModel, layer: LayerInfo, probe: ProbeData, options: ModelCkaOptions): Promise<Matrix> {
  const x = await activations(model, [layer], probe, options);
  const dims = x.notPerSample.get(layer.tensor);
  check(!dims, 'MODEL_OUTPUT', `${model.label}: layer ${layer.tensor} ${formatShape(dims ?? [])} does not have one row per sample (an attention map or a [seq, batch, ...] state): pick another layer`);
  return x.acts.get(layer.tensor) as Matrix;
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
  check(!(options.allLayers && options.layers), 'INVALID_ARGUMENT', 'give either layers or allLayers, not both');
  check(!options.layers || options.layers.length > 0, 'INVALID_ARGUMENT', 'layers is empty');
  const named = options.layers?.map((p) => ({ a: findLayer(la, p.a, ma.label), b: findLayer(lb, p.b, mb.label) }));
  const probe = loadProbe(options.data, { cwd: options.cwd }); // read once, shared by both models
  const probeB = options.dataB === undefined ? probe : loadProbe(options.dataB, { cwd: options.cwd });
  const from = (p: typeof probe) => [...new Set(Object.values(p.sources))].join(', ');
  check(
    probeB.n === probe.n,
    'SHAPE_MISMATCH',
    `options.data has ${plural(probe.n, 'sample')} but options.dataB has ${probeB.n}: both must hold the same samples (${from(probe)}, ${from(probeB)})`,
    'dataB',
  );
  const done = [0, 0];
  const progress = (i: number) => (d: number) => {
    done[i] = d;
    options.onProgress?.(done[0] + done[1], 2 * probe.n);
  };
  const [xa, xb] = await Promise.all([
    activations(ma, named ? named.map((p) => p.a) : defaultLayers(la), probe, options, progress(0)),
    activations(mb, named ? named.map((p) => p.b) : defaultLayers(lb), probeB, options, progress(1)),
  ]);
  const warnings: string[] = [];
  const notRows = (label: string, tensor: string, dims: number[]) =>
    `${label}: layer ${tensor} ${formatShape(dims)} does not have one row per sample (an attention map or a [seq, batch, ...] state)`;
  // Default layers: tensors that are not one row per sample are left out, with a warning.
  const usable = (layers: LayerInfo[], x: ModelActivations, label: string) =>
    layers.filter((l) => {
      const dims = x.notPerSample.get(l.tensor);
      if (dims) warnings.push(`${notRows(label, l.tensor, dims)}: skipped`);
      return !dims;
    });
  let pairs: Array<{ a: LayerInfo; b: LayerInfo }>;
  let rows: LayerInfo[] = [];
  let cols: LayerInfo[] = [];
  if (named) {
    for (const p of named) {
      for (const [l, x, label] of [[p.a, xa, ma.label], [p.b, xb, mb.label]] as const) {
        const dims = x.notPerSample.get(l.tensor);
        check(!dims, 'MODEL_OUTPUT', `${notRows(label, l.tensor, dims ?? [])}: pick another layer`);
      }
    }
    pairs = named;
  } else if (options.allLayers) {
    rows = usable(defaultLayers(la), xa, ma.label);
    cols = usable(defaultLayers(lb), xb, mb.label);
    pairs = rows.flatMap((ra) => cols.map((cb) => ({ a: ra, b: cb })));
  } else {
    const da = usable(defaultLayers(la), xa, ma.label);
    const db = usable(defaultLayers(lb), xb, mb.label);
    check(
      da.length === db.length && da.length > 0,
      'ARCHITECTURE_MISMATCH',
      `${ma.label} has ${da.length} default layers but ${mb.label} has ${db.length}: name the layer pairs (options.layers) or compare all of them (options.allLayers)`,
      'layers',
    );
    pairs = da.map((l, i) => ({ a: l, b: db[i] }));
  }
  const results: LayerPairResult[] = [];
  for (const p of pairs) {
    const x = xa.acts.get(p.a.tensor) as Matrix;
    const y = xb.acts.get(p.b.tensor) as Matrix;
    const r = await representationSimilarity(x, y, measures, options).catch((e: Error & { code?: string }) => {
      e.message = `${ma.label} layer ${p.a.tensor} vs ${mb.label} layer ${p.b.tensor}: ${e.message}`;
      throw e;
    });
    results.push({ a: p.a, b: p.b, px: x.k, py: y.k, samples: x.n, values: r.values, warnings: r.warnings });
  }
  const result: ModelCkaResult = { a: ma.label, b: mb.label, n: xa.n, measures: [...measures], spatial, pairs: results, warnings };
  if (options.allLayers) {
    const values: Partial<Record<RepresentationMeasureName, number[][]>> = {};
    for (const m of measures) values[m] = rows.map((_, i) => cols.map((_, j) => results[i * cols.length + j].values[m] as number));
    result.matrix = { layersA: rows, layersB: cols, values };
  }
  return result;
}
