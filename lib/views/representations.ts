/**
 * The representations view: prepare = one model's activations at the layers asked, on its probe
 * set (one onnxruntime pass for all of them); pair = the CKA family (representationSimilarity)
 * for the layer pairs asked. `cka` drives it over two models (several layer pairs, a probe of
 * its own for model b); `representationMatrices` drives it over N models at one layer through
 * pairMatrix, so both give the same numbers for the same layer.
 */
import { ModeldiffError, check } from '../errors';
import { hiddenActivations } from '../infer/hidden';
import { type OnnxSource, readOnnx } from '../io/onnx';
import { type ProbeData, type ProbeSource, loadProbe } from '../io/probe';
import { formatShape } from '../io/tensor';
import type { Matrix } from '../matrix';
import { measureInfo } from '../measures/registry';
import { flattenActivations, tokenRows } from '../represent/activations';
import { type LayerInfo, findLayer, listLayers } from '../represent/layers';
import { type RepresentationMeasureName, type RepresentationOptions, type UndefinedReason, representationSimilarity, undefinedWords } from '../represent/similarity';
import { plural } from '../util/plural';
import { type View, pairMatrix } from './view';

/** Options of `cka` (lib/represent/model.ts); `representationMatrices` reads the measures' and the capture's. */
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

/** One model as the view reads it: the graph, the probe it runs on, the layers to capture. */
export interface RepresentationsModel {
  model: OnnxSource;
  probe: ProbeData;
  /** Layers of `model` (from listLayers), in the order asked; a layer may repeat. */
  layers: readonly LayerInfo[];
  /** Inference progress: samples run so far, of probe.n. */
  onProgress?: (done: number) => void;
}

export interface RepresentationsContext {
  measures: readonly RepresentationMeasureName[];
  /** The measures' options, how conv maps are read (`spatial`) and samples per onnxruntime run. */
  options: RepresentationOptions & { spatial?: 'flatten' | 'mean'; batchSize?: number };
  /** The layer pairs `pair` compares, a's layer with b's; default: the prepared layers paired by position. */
  pairs?: ReadonlyArray<{ a: LayerInfo; b: LayerInfo }>;
}

export interface PreparedActivations {
  label: string;
  /** Probe samples. */
  n: number;
  /** The layers captured, as asked. */
  layers: readonly LayerInfo[];
  /** Per layer tensor: its activations, one row per sample (or per unmasked token). */
  rows: Map<string, Matrix>;
  /** Layer tensors that are not one row per sample (attention maps, [seq, batch, h] RNN states): tensor → shape. */
  notPerSample: Map<string, number[]>;
}

export interface LayerPairResult {
  a: LayerInfo;
  b: LayerInfo;
  /** Features compared on each side after flattening. */
  px: number;
  py: number;
  /** Rows compared: the probe samples, or for token-level layers of sequence models the unmasked token positions. */
  samples: number;
  /** null where the measure is undefined on this pair (e.g. a constant layer), with the reason in `undefinedBecause`. */
  values: Partial<Record<RepresentationMeasureName, number | null>>;
  /** Why each null value is undefined (x: a's layer, y: b's); present only when some value is null. */
  undefinedBecause?: Partial<Record<RepresentationMeasureName, UndefinedReason>>;
  /** Caveats from representationSimilarity (e.g. degenerate CCA). */
  warnings: string[];
}

/** Why a tensor cannot be compared: it is not one row per sample. */
export function notPerSampleMessage(label: string, tensor: string, dims: readonly number[]): string {
  return `${label}: layer ${tensor} ${formatShape([...dims])} does not have one row per sample (an attention map or a [seq, batch, ...] state)`;
}

/** A prepared model's rows at `layer`; a layer that is not one row per sample is refused. */
export function layerRows(p: PreparedActivations, layer: LayerInfo): Matrix {
  const dims = p.notPerSample.get(layer.tensor);
  check(!dims, 'MODEL_OUTPUT', `${notPerSampleMessage(p.label, layer.tensor, dims ?? [])}: pick another layer`);
  return p.rows.get(layer.tensor) as Matrix;
}

export const representationsView: View<RepresentationsModel, RepresentationsContext, PreparedActivations, LayerPairResult[]> = {
  async prepare({ model: source, probe, layers, onProgress }, context) {
    const model = readOnnx(source);
    const names = [...new Set(layers.map((l) => l.tensor))];
    const sampleAxes = Object.fromEntries(layers.filter((l) => l.sampleAxis).map((l) => [l.tensor, l.sampleAxis as number]));
    const hidden = await hiddenActivations(model, names, probe, { batchSize: context.options.batchSize, sampleAxes, onProgress });
    const spatial = context.options.spatial ?? 'flatten';
    const tokenLevel = tokenRows(model, probe);
    const rows = new Map<string, Matrix>();
    const notPerSample = new Map<string, number[]>();
    for (const name of names) {
      const { data, dims, perSample } = hidden[name];
      if (!perSample) notPerSample.set(name, dims);
      else rows.set(name, tokenLevel(data, dims, spatial) ?? flattenActivations(data, dims, spatial, `${model.label}: layer ${name}`));
    }
    return { label: model.label, n: probe.n, layers, rows, notPerSample };
  },
  async pair(a, b, context) {
    check(
      context.pairs !== undefined || a.layers.length === b.layers.length,
      'INVALID_ARGUMENT',
      `${a.label} was prepared at ${plural(a.layers.length, 'layer')} but ${b.label} at ${b.layers.length}: give the layer pairs (context.pairs)`,
    );
    const pairs = context.pairs ?? a.layers.map((l, i) => ({ a: l, b: b.layers[i] }));
    // Every pair's layers are checked before any similarity is computed.
    const matrices = pairs.map((p) => ({ x: layerRows(a, p.a), y: layerRows(b, p.b) }));
    const results: LayerPairResult[] = [];
    for (const [i, p] of pairs.entries()) {
      const { x, y } = matrices[i];
      const r = await representationSimilarity(x, y, context.measures, context.options).catch((e: Error) => {
        e.message = `${a.label} layer ${p.a.tensor} vs ${b.label} layer ${p.b.tensor}: ${e.message}`;
        throw e;
      });
      results.push({ a: p.a, b: p.b, px: x.k, py: y.k, samples: x.n, values: r.values, ...(r.undefinedBecause ? { undefinedBecause: r.undefinedBecause } : {}), warnings: r.warnings });
    }
    return results;
  },
};

export interface RepresentationMatrices {
  /** The layer as given, and each model's tensor for it. */
  layer: string;
  tensors: string[];
  /** measure → N × N, row-major by model (1 on the diagonal for similarities, 0 for distances). */
  values: Partial<Record<RepresentationMeasureName, number[][]>>;
}

/** Every measure's N × N matrix between `models` at one layer, through the representations view. */
export async function representationMatrices(
  models: readonly OnnxSource[],
  data: ProbeSource,
  layer: string,
  options: ModelCkaOptions & { onProgress?: (done: number, total: number) => void } = { data },
): Promise<RepresentationMatrices> {
  check(models.length >= 2, 'INVALID_ARGUMENT', `need at least 2 models, got ${models.length}`);
  const measures = options.measures ?? ['cka-linear'];
  const probe = loadProbe(data, { cwd: options.cwd });
  const context: RepresentationsContext = { measures: [...measures], options };
  const tensors: string[] = [];
  // Each model read at the one layer; a layer that is not one row per sample is refused as soon
  // as that model is prepared, before the next model runs.
  const view: View<OnnxSource, RepresentationsContext, PreparedActivations, LayerPairResult[]> = {
    prepare: async (source, c) => {
      const model = readOnnx(source);
      const at = findLayer(listLayers(model), layer, model.label);
      const p = await representationsView.prepare({ model, probe, layers: [at] }, c);
      layerRows(p, at);
      tensors.push(at.tensor);
      return p;
    },
    pair: representationsView.pair,
  };
  // Every CKA-family measure is symmetric in its two arguments.
  const pairs = await pairMatrix(view, models, context, { symmetric: true, onProgress: options.onProgress });
  // One layer was asked for: an undefined value (a model constant there) stops the matrix.
  pairs.forEach((row, i) =>
    row.forEach((r, j) => {
      const why = r?.[0].undefinedBecause;
      if (why) {
        const [m, reason] = Object.entries(why)[0];
        throw new ModeldiffError('MODEL_OUTPUT', `${m} between models ${i} and ${j} at layer ${layer} is undefined (${undefinedWords(reason, [`model ${i}`, `model ${j}`])}): pick another layer`, { option: 'layers' });
      }
    }),
  );
  const values: RepresentationMatrices['values'] = {};
  for (const m of measures) {
    const same = measureInfo(m).largerIsSimilar ? 1 : 0; // a model against itself
    values[m] = pairs.map((row, i) => row.map((r, j) => (i === j ? same : (r?.[0].values[m] as number))));
  }
  return { layer, tensors, values };
}
