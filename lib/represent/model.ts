/**
 * cka(a, b, options): representation similarity between two ONNX models on a probe set, per
 * layer pair or as a layer×layer matrix. A driver over the representations view
 * (lib/views/representations.ts): prepare a (its layers, on options.data), prepare b (on
 * options.dataB when given), pair them for the layer pairs asked.
 */
import { check } from '../errors';
import { type OnnxSource, readOnnx } from '../io/onnx';
import { loadProbe } from '../io/probe';
import { plural } from '../util/plural';
import { checkArrayOption, optionsObject, requireOption } from '../util/options';
import {
  type LayerPairResult,
  type ModelCkaOptions,
  type PreparedActivations,
  type RepresentationsContext,
  notPerSampleMessage,
  representationsView,
} from '../views/representations';
import { type LayerInfo, defaultLayers, findLayer, listLayers } from './layers';
import type { RepresentationMeasureName } from './similarity';

export type { LayerPairResult, ModelCkaOptions } from '../views/representations';
export { flattenActivations } from './activations';

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
  matrix?: { layersA: LayerInfo[]; layersB: LayerInfo[]; values: Partial<Record<RepresentationMeasureName, Array<Array<number | null>>>> };
}

export async function cka(a: OnnxSource, b: OnnxSource, options: ModelCkaOptions): Promise<ModelCkaResult> {
  options = optionsObject(options, 'cka');
  requireOption(options.data, 'cka', 'data', 'the probe inputs both models are run on');
  checkArrayOption(options.measures, 'cka', 'measures');
  checkArrayOption(options.layers, 'cka', 'layers');
  const measures = options.measures ?? ['cka-linear'];
  const spatial = options.spatial ?? 'flatten';
  check(spatial === 'flatten' || spatial === 'mean', 'INVALID_ARGUMENT', `spatial must be flatten or mean, got ${spatial}`, 'spatial');
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
  const context: RepresentationsContext = { measures: [...measures], options };
  // Both models run at once: prepare, prepare, then pair.
  const [xa, xb] = await Promise.all([
    representationsView.prepare({ model: ma, probe, layers: named ? named.map((p) => p.a) : defaultLayers(la), onProgress: progress(0) }, context),
    representationsView.prepare({ model: mb, probe: probeB, layers: named ? named.map((p) => p.b) : defaultLayers(lb), onProgress: progress(1) }, context),
  ]);
  const warnings: string[] = [];
  // Default layers: tensors that are not one row per sample are left out, with a warning.
  const usable = (x: PreparedActivations) =>
    x.layers.filter((l) => {
      const dims = x.notPerSample.get(l.tensor);
      if (dims) warnings.push(`${notPerSampleMessage(x.label, l.tensor, dims)}: skipped`);
      return !dims;
    });
  let pairs: Array<{ a: LayerInfo; b: LayerInfo }>;
  let rows: LayerInfo[] = [];
  let cols: LayerInfo[] = [];
  if (named) pairs = named;
  else if (options.allLayers) {
    rows = usable(xa);
    cols = usable(xb);
    pairs = rows.flatMap((ra) => cols.map((cb) => ({ a: ra, b: cb })));
  } else {
    const da = usable(xa);
    const db = usable(xb);
    check(
      da.length === db.length && da.length > 0,
      'ARCHITECTURE_MISMATCH',
      `${ma.label} has ${da.length} default layers but ${mb.label} has ${db.length}: name the layer pairs (options.layers) or compare all of them (options.allLayers)`,
      'layers',
    );
    pairs = da.map((l, i) => ({ a: l, b: db[i] }));
  }
  const results = await representationsView.pair(xa, xb, { ...context, pairs });
  const result: ModelCkaResult = { a: ma.label, b: mb.label, n: xa.n, measures: [...measures], spatial, pairs: results, warnings };
  if (options.allLayers) {
    const values: Partial<Record<RepresentationMeasureName, Array<Array<number | null>>>> = {};
    for (const m of measures) values[m] = rows.map((_, i) => cols.map((_, j) => results[i * cols.length + j].values[m] as number | null));
    result.matrix = { layersA: rows, layersB: cols, values };
  }
  return result;
}
