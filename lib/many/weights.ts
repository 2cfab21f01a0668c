/**
 * Weight distance matrices (raw, canonical, aligned L2) over all pairs of
 * model files. `weightDistance` (lib/weights) does one pair from scratch; for
 * N models we do the per-model work once — parse, build the network,
 * canonicalize, prepare the alignment (scale/sign normalization) — and only
 * the per-pair work (distances and weight matching) per pair, through the
 * same routines as `modeldiff weights` (`alignPrepared`, same seed), so every
 * entry is the number `modeldiff weights` reports for that pair.
 *
 * raw and canonical are symmetric. aligned is not: it is measured in A's
 * frame with B aligned to A, so both orders are computed and
 * aligned[i][j] = `weightDistance(models[i], models[j]).aligned.l2`
 * (row = A, column = B). `symmetricWeights` (symmetric.ts) averages the two orders for the
 * correlations, plots and pair records, which need one number per pair.
 *
 * The matrices only mean something when the models share an architecture; if
 * they do not (or a graph's symmetries cannot be derived), they are skipped
 * with the reason and the functional results stand.
 */
import { ModeldiffError } from '../errors';
import { type OnnxModel, readOnnx } from '../io/onnx';
import { type PreparedNetwork, alignPrepared, byWeights, prepareAlignment } from '../weights/aligned';
import { checkSameArchitecture, initializerPairs, networkPairs } from '../weights/architecture';
import { weightDistances } from '../weights/distance';
import { buildNetwork } from '../weights/graph';
import { type Network, cloneNetwork } from '../weights/network';
import { canonicalizeNetwork } from '../weights/symmetry';
import type { WeightMatrices, WeightMethod } from './types';

export interface WeightMatrixOptions {
  seed: number;
  names: string[];
  onProgress?: (done: number, total: number) => void;
}

/** Written into the JSON next to the matrices: what row and column mean for each method. */
export const WEIGHT_DEFINITIONS: Record<WeightMethod, string> = {
  raw: 'L2 distance between the initializers as stored, matched by name; symmetric.',
  canonical: 'L2 distance between the two models each put in canonical form on its own (BatchNorm folded, scale/sign normalized, units sorted by out-norm); symmetric.',
  aligned:
    "L2 distance in model i's frame after aligning model j to model i (weight matching with the seed), as `modeldiff weights i j` reports it; " +
    'not symmetric: aligned[i][j] aligns column j to row i. Correlations, plots and pair records use (aligned[i][j] + aligned[j][i]) / 2.',
};

const SKIPPABLE = new Set(['ARCHITECTURE_MISMATCH', 'UNSUPPORTED_GRAPH']);

interface Prepared {
  model: OnnxModel;
  canonical?: Network;
  alignment?: PreparedNetwork;
}

export async function weightMatrices(paths: string[], methods: WeightMethod[], options: WeightMatrixOptions): Promise<WeightMatrices> {
  const N = paths.length;
  const models = paths.map((p) => readOnnx(p));
  const reasons: string[] = [];
  // Raw needs matching initializer names and shapes only; the other two need
  // networks of one architecture. A failure of either drops just those methods.
  let active = [...methods];
  const drop = (which: WeightMethod[], err: unknown) => {
    if (!(err instanceof ModeldiffError && SKIPPABLE.has(err.code))) throw err;
    active = active.filter((m) => !which.includes(m));
    reasons.push(`${which.join(' and ')} skipped: ${err.message}`);
  };
  const prepared: Prepared[] = models.map((model) => ({ model }));
  if (active.includes('canonical') || active.includes('aligned')) {
    try {
      let first: Network | undefined;
      for (const entry of prepared) {
        const net = buildNetwork(entry.model);
        if (first) checkSameArchitecture(first, net);
        else first = net;
        if (active.includes('canonical')) {
          entry.canonical = cloneNetwork(net);
          canonicalizeNetwork(entry.canonical);
        }
        if (active.includes('aligned')) entry.alignment = prepareAlignment(net);
      }
    } catch (err) {
      drop(['canonical', 'aligned'].filter((m) => active.includes(m as WeightMethod)) as WeightMethod[], err);
    }
  }
  if (active.includes('raw')) {
    try {
      for (let i = 1; i < N; i++) initializerPairs(models[0], models[i]);
    } catch (err) {
      drop(['raw'], err);
    }
  }
  const mats = new Map<WeightMethod, number[][]>();
  for (const m of active) mats.set(m, Array.from({ length: N }, () => new Array<number>(N).fill(0)));
  const set = (m: WeightMethod, i: number, j: number, v: number) => {
    (mats.get(m) as number[][])[i][j] = v;
    (mats.get(m) as number[][])[j][i] = v;
  };
  const matcher = byWeights({ seed: options.seed });
  const total = (N * (N - 1)) / 2;
  let done = 0;
  options.onProgress?.(0, total);
  for (let i = 0; i < N; i++) {
    for (let j = i + 1; j < N; j++) {
      const a = prepared[i];
      const b = prepared[j];
      if (mats.has('raw')) set('raw', i, j, weightDistances(initializerPairs(a.model, b.model)).l2);
      if (mats.has('canonical')) set('canonical', i, j, weightDistances(networkPairs(a.canonical as Network, b.canonical as Network)).l2);
      const aligned = mats.get('aligned');
      if (aligned) {
        const pa = a.alignment as PreparedNetwork;
        const pb = b.alignment as PreparedNetwork;
        aligned[i][j] = (await alignPrepared(pa, pb, matcher)).distance.l2;
        aligned[j][i] = (await alignPrepared(pb, pa, matcher)).distance.l2;
      }
      options.onProgress?.(++done, total);
    }
  }
  const out: WeightMatrices = { methods: [...methods] };
  for (const m of active) out[m] = mats.get(m);
  if (active.length) out.definitions = Object.fromEntries(active.map((m) => [m, WEIGHT_DEFINITIONS[m]]));
  if (reasons.length) out.skipped = reasons.join('; ');
  return out;
}
