/**
 * The representations view: prepare = one model's activations at one layer on the probe set;
 * pair = the CKA family between two of them (representationSimilarity). `cka` on two models
 * and `representationMatrices` on N models give the same numbers for the same layer.
 */
import { check } from '../errors';
import { measureInfo } from '../measures/registry';
import { type OnnxSource, readOnnx } from '../io/onnx';
import { type ProbeData, type ProbeSource, loadProbe } from '../io/probe';
import { findLayer, listLayers } from '../represent/layers';
import type { Matrix } from '../matrix';
import { type ModelCkaOptions, layerActivations } from '../represent/model';
import { type RepresentationMeasureName, representationSimilarity } from '../represent/similarity';
import { type View, pairMatrix } from './view';

export interface RepresentationsContext {
  probe: ProbeData;
  /** The layer every model is read at: a tensor name, node name or index `#k` (listLayers). */
  layer: string;
  measures: RepresentationMeasureName[];
  options: ModelCkaOptions;
}

export interface PreparedActivations {
  label: string;
  /** The layer's tensor in this model. */
  tensor: string;
  x: Matrix;
}

export type RepresentationValues = Partial<Record<RepresentationMeasureName, number>>;

export const representationsView: View<OnnxSource, RepresentationsContext, PreparedActivations, RepresentationValues> = {
  async prepare(source, context) {
    const model = readOnnx(source);
    const layer = findLayer(listLayers(model), context.layer, model.label);
    return { label: model.label, tensor: layer.tensor, x: await layerActivations(model, layer, context.probe, context.options) };
  },
  async pair(a, b, context) {
    const r = await representationSimilarity(a.x, b.x, context.measures, context.options).catch((e: Error) => {
      e.message = `${a.label} layer ${a.tensor} vs ${b.label} layer ${b.tensor}: ${e.message}`;
      throw e;
    });
    return r.values;
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
  const context: RepresentationsContext = { probe: loadProbe(data, { cwd: options.cwd }), layer, measures: [...measures], options };
  const tensors: string[] = [];
  const view: typeof representationsView = {
    prepare: async (m, c) => {
      const p = await representationsView.prepare(m, c);
      tensors.push(p.tensor);
      return p;
    },
    pair: representationsView.pair,
  };
  // Every CKA-family measure is symmetric in its two arguments.
  const pairs = await pairMatrix(view, models, context, { symmetric: true, onProgress: options.onProgress });
  const values: RepresentationMatrices['values'] = {};
  for (const m of measures) {
    const same = measureInfo(m).largerIsSimilar ? 1 : 0; // a model against itself
    values[m] = pairs.map((row, i) => row.map((r, j) => (i === j ? same : (r?.[m] as number))));
  }
  return { layer, tensors, values };
}
