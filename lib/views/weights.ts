/**
 * The weights view: prepare = one model's network graph (BatchNorm folded), its symmetry
 * groups, scale/sign-normalized once in place (the canonical form before sorting) with the
 * alignment inputs (unit factors, canonical orders); pair = the raw, canonical and aligned
 * distances between two prepared models. `weightDistance` is prepare, prepare, pair;
 * `weightMatrices` pairs N prepared models (pairMatrix), so each network is built once
 * either way — never once per method or per pair.
 *
 * Canonical distances need each network sorted by the key: the normalized network is sorted
 * in place, measured and put back exactly (permutations only move values), so it needs no
 * copy beside the network aligned later.
 */
import { ModeldiffError, check } from '../errors';
import { type OnnxModel, type OnnxSource, encodeOnnx, readOnnx } from '../io/onnx';
import { type PreparedNetwork, prepareAlignment } from '../weights/aligned';
import { type AlignOptions, type AlignSettings, type AlignmentInfo, type HiddenLayerInfo, alignNetworks, alignSettings, describeHidden, identityAlignment } from '../weights/alignment';
import { checkSameArchitecture, initializerPairs, networkPairs } from '../weights/architecture';
import { type OnCanonicalProgress, stageReporter } from '../weights/canonical-progress';
import { type CanonicalForm, canonicalForm, canonicalFormDistance, isPlainChain } from '../weights/canonical-stream';
import { type WeightDistanceSummary, weightDistances } from '../weights/distance';
import { buildNetwork } from '../weights/graph';
import { SORT_KEYS, type SortKey } from '../weights/kernels';
import { type Network, cloneNetwork } from '../weights/network';
import { canonicalizeNetwork, normalizeNetwork } from '../weights/symmetry';
import { distanceInFrameOfA } from '../weights/in-frame-of-a';
import { sortHiddenGroups, undoSteps } from '../weights/unit-blocks';
import { writeNetwork } from '../weights/writeback';
import { refuseSilentZero } from '../weights/uncounted';
import type { WeightMatrices } from '../many/types';
import { type View, pairMatrix } from './view';
import { type WeightMethod, weightMethods } from '../measures/weights';

export type { WeightMethod };
export { SORT_KEYS };
/** 'raw', 'canonical', 'aligned': the registry's weight methods (lib/measures/weights.ts), in its order. */
export const WEIGHT_METHODS: readonly WeightMethod[] = Object.keys(weightMethods) as WeightMethod[];

export interface WeightDistanceOptions extends AlignOptions {
  /** Default: all three (raw is then skipped, with a note, if the initializers do not correspond). */
  methods?: WeightMethod[];
  /** Canonical sort key. Default 'out-norm'. */
  sortKey?: SortKey;
  /** The canonical method's progress: per model, stage and hidden group (lib/weights/canonical-progress.ts). */
  onCanonicalProgress?: OnCanonicalProgress;
}

export interface WeightDistanceResult {
  a: string;
  b: string;
  raw?: WeightDistanceSummary;
  canonical?: WeightDistanceSummary;
  aligned?: WeightDistanceSummary;
  alignment?: AlignmentInfo;
  /** The hidden layers found in A and the symmetry each has (when canonical or aligned ran). */
  hidden?: HiddenLayerInfo[];
  /** Why a default method was skipped (raw needs the same initializer names and shapes). */
  notes?: string[];
  /** The rewritten B models, for writeback (ONNX bytes). */
  models: { canonical?: Uint8Array; aligned?: Uint8Array };
}

export interface WeightsContext {
  methods: readonly WeightMethod[];
  sortKey?: SortKey;
  onCanonicalProgress?: OnCanonicalProgress;
  /** normalize, data and onSweep of the alignment. */
  align: AlignOptions;
  /** The checked alignment settings, when aligned is among the methods. */
  settings?: AlignSettings;
  /** Raw failing on initializers that do not correspond is a note, not an error (the methods were defaulted). */
  rawOptional: boolean;
  /**
   * A pair may consume its prepared models (B's network is permuted in place by the
   * alignment): a two-model workflow. Off when each prepared model is paired many times.
   */
  consume: boolean;
}

export interface PreparedWeights {
  model: OnnxModel;
  /** The network (canonical or aligned asked for): normalized in place when it has hidden units. */
  network?: Network;
  /** The normalized network canonical distances sort and measure: `network`, or a copy when alignment does not normalize. */
  canonical?: Network;
  /** `canonical` is already in canonical order (canonical only, paired once). */
  sorted?: boolean;
  alignment?: PreparedNetwork;
  /**
   * Canonical alone, on a plain chain (lib/weights/canonical-stream.ts): the canonical form as
   * stored weights, unit factors and orders, replayed a layer group at a time; `network` is
   * then its structure without weights.
   */
  form?: CanonicalForm;
}

/** The view's context from weightDistance's options, checked before any model is read. */
export function weightsContext(options: WeightDistanceOptions, consume: boolean): WeightsContext {
  const methods = options.methods ?? [...WEIGHT_METHODS];
  for (const m of methods) check(WEIGHT_METHODS.includes(m), 'INVALID_ARGUMENT', `unknown weight method "${m}" (raw, canonical, aligned)`);
  if (options.sortKey !== undefined) check(SORT_KEYS.includes(options.sortKey), 'INVALID_ARGUMENT', `unknown sort key "${options.sortKey}" (${SORT_KEYS.join(', ')})`);
  const settings = methods.includes('aligned') ? alignSettings(options) : undefined;
  return { methods, sortKey: options.sortKey, onCanonicalProgress: options.onCanonicalProgress, align: options, settings, rawOptional: options.methods === undefined, consume };
}

export const weightsView = {
  /** Synchronous: a caller that awaits nothing before pairing reads raw pairs before its first await. */
  prepare(source: OnnxSource, context: WeightsContext): PreparedWeights {
    const model = readOnnx(source);
    const canonical = context.methods.includes('canonical');
    if (!canonical && !context.settings) return { model };
    const progress = canonical ? context.onCanonicalProgress : undefined;
    const read = stageReporter(progress, model.label, 'read');
    read(0, 1);
    const network = buildNetwork(model);
    read(1, 1);
    if (network.hidden.length === 0) return { model, network };
    const normalize = context.align.normalize ?? true;
    if (!context.settings) {
      // A plain chain: its canonical form, replayed a layer group at a time (any number of pairs).
      if (isPlainChain(network)) return { model, network, form: canonicalForm(network, model, context.sortKey, progress) };
      // Paired once (weightDistance): sorted now, while the other model is not built yet.
      if (context.consume) {
        canonicalizeNetwork(network, context.sortKey, progress, model.label);
        return { model, network, canonical: network, sorted: true };
      }
      normalizeNetwork(network, stageReporter(progress, model.label, 'normalize'));
      return { model, network, canonical: network };
    }
    let copy: Network | undefined;
    if (canonical && !normalize) {
      copy = cloneNetwork(network);
      normalizeNetwork(copy);
    }
    // Normalized in place (own); with several pairs B must not be permuted in place.
    const prepared = prepareAlignment(network, normalize, true);
    return { model, network, canonical: canonical ? (copy ?? network) : undefined, alignment: context.consume ? prepared : { ...prepared, own: false } };
  },

  async pair(a: PreparedWeights, b: PreparedWeights, context: WeightsContext): Promise<WeightDistanceResult> {
    const { methods, settings } = context;
    const [ma, mb] = [a.model, b.model];
    const result: WeightDistanceResult = { a: ma.label, b: mb.label, models: {} };
    if (methods.includes('raw')) {
      try {
        result.raw = weightDistances(initializerPairs(ma, mb));
      } catch (e) {
        // Asked for by default only: models whose initializers differ (e.g. one with BatchNorm folded)
        // can still be compared layer by layer.
        if (!context.rawOptional || !(e instanceof ModeldiffError) || e.code !== 'ARCHITECTURE_MISMATCH') throw e;
        result.notes = [`raw: skipped, ${e.message}`];
      }
    }
    const canonical = methods.includes('canonical');
    if (!canonical && !settings) {
      refuseSilentZero([result.raw], ma, mb);
      return result;
    }
    // A form on one side only (the other is not a plain chain): that side is built again in full.
    if (a.form && !b.form) withoutForm(a);
    if (b.form && !a.form) withoutForm(b);
    const [na, nb] = [a.network as Network, b.network as Network];
    checkSameArchitecture(na, nb);
    result.hidden = describeHidden(na);
    // What could not be derived (attention heads left in place, and why).
    if (na.notes) (result.notes ??= []).push(...na.notes);
    if (na.hidden.length === 0) {
      // Nothing to permute or rescale (a logistic regression): canonical and aligned are raw, never
      // the empty sum over layers a LinearClassifier's attribute weights would give.
      const raw = result.raw ?? weightDistances(initializerPairs(ma, mb));
      if (canonical) result.canonical = raw;
      // B unchanged is both models: encoded once, whichever is read first.
      let encoded: Uint8Array | undefined;
      const encodeB = () => (encoded ??= encodeOnnx(writeNetwork(nb)));
      if (canonical) lazyModel(result.models, 'canonical', encodeB);
      if (settings) {
        const identity = identityAlignment(nb, context.align, settings, raw);
        result.aligned = identity.aligned;
        result.alignment = identity.info;
        lazyModel(result.models, 'aligned', encodeB);
      }
      (result.notes ??= []).push(`${[canonical && 'canonical', settings && 'aligned'].filter(Boolean).join(' and ')}: ${ma.label} has no hidden units to permute or rescale, so ${canonical && settings ? 'both are' : 'it is'} the raw distance`);
      refuseSilentZero([result.raw, result.canonical, result.aligned], ma, mb);
      return result;
    }
    if (canonical) {
      const [ca, cb] = [a.canonical as Network, b.canonical as Network];
      const distance = stageReporter(context.onCanonicalProgress, '', 'distance');
      if (a.form && b.form) result.canonical = canonicalFormDistance(a.form, b.form, context.onCanonicalProgress);
      else {
        distance(0, 1);
        result.canonical = a.sorted && b.sorted ? weightDistances(networkPairs(ca, cb)) : canonicalDistance(ca, cb, context.sortKey);
        distance(1, 1);
      }
      // Rebuilt when asked for (deterministic, so the same bytes), instead of keeping a sorted copy of B.
      lazyModel(result.models, 'canonical', () => {
        const net = buildNetwork(mb);
        canonicalizeNetwork(net, context.sortKey);
        return encodeOnnx(writeNetwork(net));
      });
    }
    if (settings) {
      const pa = a.alignment as PreparedNetwork;
      const { aligned, info, network } = await alignNetworks(pa, b.alignment as PreparedNetwork, context.align, settings);
      result.aligned = aligned;
      result.alignment = info;
      if (context.consume && info.normalized) info.inFrameOfA = distanceInFrameOfA(pa, network);
      lazyModel(result.models, 'aligned', () => encodeOnnx(writeNetwork(network)));
    }
    refuseSilentZero([result.raw, result.canonical, result.aligned], ma, mb, networkParameters(na));
    return result;
  },
} satisfies View<OnnxSource, WeightsContext, PreparedWeights, WeightDistanceResult>;

/** The initializers a network's layers read (for refuseSilentZero: they were counted). */
function networkParameters(net: Network): string[] {
  return net.layers.flatMap((l) => [l.weightName, l.name, ...(l.biasName === undefined ? [] : [l.biasName])]);
}

/** A prepared model with a canonical form, as prepare leaves a model that is not a plain chain. */
function withoutForm(p: PreparedWeights): void {
  p.form = undefined;
  p.network = buildNetwork(p.model);
  normalizeNetwork(p.network);
  p.canonical = p.network;
}

/**
 * The distance between the canonical forms of two normalized networks: each is sorted in
 * place by `key` (group by group in forward order, as canonicalizeNetwork sorts), measured,
 * and put back (for the alignment, or the next pair of the same prepared models).
 */
function canonicalDistance(a: Network, b: Network, key: SortKey | undefined): WeightDistanceSummary {
  const undo = [sortUnits(a, key), sortUnits(b, key)];
  try {
    return weightDistances(networkPairs(a, b));
  } finally {
    for (const u of undo) u();
  }
}

/** Sorts every hidden group of `net` into its canonical order; returns what puts it back. */
function sortUnits(net: Network, key: SortKey | undefined): () => void {
  const applied = sortHiddenGroups(net, key);
  return () => undoSteps(net, applied);
}

/**
 * `models[key]` as bytes made when first read (then kept): a rewritten model costs its
 * encoding (about the model's size, twice while it is built) only when it is asked for.
 */
function lazyModel(models: WeightDistanceResult['models'], key: 'canonical' | 'aligned', make: () => Uint8Array): void {
  let bytes: Uint8Array | undefined;
  let maker: (() => Uint8Array) | undefined = make;
  Object.defineProperty(models, key, {
    enumerable: true,
    configurable: true,
    get: () => {
      if (maker) {
        bytes = maker();
        maker = undefined; // what it held (a network) can go
      }
      return bytes;
    },
  });
}

/** Written into the JSON next to the matrices: what row and column mean for each method. */
export const WEIGHT_DEFINITIONS: Record<WeightMethod, string> = {
  raw: 'L2 distance between the initializers as stored, matched by name; symmetric.',
  canonical: 'L2 distance between the two models each put in canonical form on its own (BatchNorm folded, scale/sign normalized, units sorted by out-norm); symmetric.',
  aligned:
    "L2 distance in model i's frame after aligning model j to model i (weight matching with the seed), as `modeldiff weights i j` reports it; " +
    'not symmetric: aligned[i][j] aligns column j to row i. Correlations, plots and pair records use (aligned[i][j] + aligned[j][i]) / 2.',
};

export interface WeightMatrixOptions {
  seed: number;
  onProgress?: (done: number, total: number) => void;
}

/** Errors that mean "these models have no common weight space": the method is skipped with the reason. */
const SKIPPABLE = new Set(['ARCHITECTURE_MISMATCH', 'UNSUPPORTED_GRAPH']);

/** One unordered pair's L2 distances; aligned in both frames ([B to A, A to B]). */
interface PairDistances {
  raw?: number;
  canonical?: number;
  aligned?: [number, number];
}

/**
 * Weight distance matrices (raw, canonical, aligned L2) over N model files through the
 * weights view: N prepares and one pair per unordered pair, aligned in both frames, so
 * every entry is the number `weightDistance(models[i], models[j])` reports
 * (aligned[i][j] aligns model j to model i and is not symmetric).
 *
 * The matrices only mean something when the models share an architecture; if they do not
 * (or a graph's symmetries cannot be derived), those methods are skipped with the reason
 * and the functional results stand.
 */
export async function weightMatrices(paths: readonly string[], methods: readonly WeightMethod[], options: WeightMatrixOptions): Promise<WeightMatrices> {
  const context = weightsContext({ methods: [...methods], seed: options.seed }, false);
  context.rawOptional = false;
  // Raw needs matching initializer names and shapes only; the other two need networks of one
  // architecture. A failure of either drops just those methods (networks' reason first).
  const reasons = { networks: '', raw: '', uncounted: '' };
  const skip = (which: 'networks' | 'raw', err: unknown) => {
    if (!(err instanceof ModeldiffError && SKIPPABLE.has(err.code))) throw err;
    const dropped = (which === 'raw' ? (['raw'] as const) : (['canonical', 'aligned'] as const)).filter((m) => context.methods.includes(m));
    reasons[which] = `${dropped.join(' and ')} skipped: ${err.message}`;
    context.methods = context.methods.filter((m) => !dropped.includes(m));
    if (!context.methods.includes('aligned')) context.settings = undefined;
  };
  let first: PreparedWeights | undefined;
  const view: View<string, WeightsContext, PreparedWeights, PairDistances> = {
    prepare(file, ctx) {
      let prepared: PreparedWeights;
      try {
        prepared = weightsView.prepare(file, ctx);
        if (first?.network && prepared.network) checkSameArchitecture(first.network, prepared.network);
      } catch (err) {
        if (!ctx.methods.some((m) => m !== 'raw')) throw err;
        skip('networks', err);
        prepared = weightsView.prepare(file, ctx);
      }
      first ??= prepared;
      if (ctx.methods.includes('raw')) {
        try {
          initializerPairs(first.model, prepared.model);
        } catch (err) {
          skip('raw', err);
        }
      }
      return prepared;
    },
    async pair(a, b, ctx) {
      if (ctx.methods.length === 0) return {};
      let ab: WeightDistanceResult;
      try {
        ab = await weightsView.pair(a, b, ctx);
      } catch (err) {
        // Two models with the same weights that differ elsewhere (a temperature, an attribute):
        // a weight matrix would show them at 0, so every weight matrix is skipped with the reason.
        if (!(err instanceof ModeldiffError && err.code === 'UNCOUNTED_DIFFERENCE')) throw err;
        reasons.uncounted = `${ctx.methods.join(', ')} skipped: ${err.message}`;
        ctx.methods = [];
        ctx.settings = undefined;
        return {};
      }
      const ba = ctx.settings ? await weightsView.pair(b, a, { ...ctx, methods: ['aligned'] }) : undefined;
      return { raw: ab.raw?.l2, canonical: ab.canonical?.l2, aligned: ab.aligned && ba?.aligned ? [ab.aligned.l2, ba.aligned.l2] : undefined };
    },
  };
  const pairs = await pairMatrix(view, paths, context, { symmetric: true, onProgress: options.onProgress });
  const active = methods.filter((m) => context.methods.includes(m));
  const out: WeightMatrices = { methods: [...methods] };
  for (const m of active) {
    out[m] = pairs.map((row, i) =>
      row.map((r, j) => {
        if (r === null) return 0; // a model against itself
        if (m === 'aligned') return (r.aligned as [number, number])[i < j ? 0 : 1];
        return r[m] as number;
      }),
    );
  }
  if (active.length) out.definitions = Object.fromEntries(active.map((m) => [m, WEIGHT_DEFINITIONS[m]]));
  const skipped = [reasons.networks, reasons.raw, reasons.uncounted].filter(Boolean);
  if (skipped.length) out.skipped = skipped.join('; ');
  return out;
}
