/**
 * Weight-space comparison of two ONNX models (library entry points):
 * - raw: every floating-point initializer, matched by name;
 * - canonical: each model put in the canonical baseline form on its own
 *   (BatchNorm folded, scale/sign normalized, units sorted by a key);
 * - aligned: both normalized, then B's units permuted to best match A's
 *   (weight matching, or activation matching on a probe set); the distance
 *   is measured between the normalized networks, and the rewritten B is put
 *   back into A's own scale/sign frame (see aligned.ts).
 * Each reports L2, relative and cosine per tensor and in total, and the
 * rewritten B (canonical, aligned) as ONNX bytes computing B's function.
 */
import { ModeldiffError, check } from '../errors';
import type { HiddenInput } from '../infer/hidden';
import { type OnnxModel, type OnnxSource, checkProbeFitsInput, encodeOnnx, graphOf, readOnnx } from '../io/onnx';
import { readArray } from '../io/array-file';
import { type Tensor, convertTensor } from '../io/tensor';
import { activationMatching } from './activation-matching';
import { checkSameArchitecture, initializerPairs, networkPairs } from './architecture';
import { type WeightDistanceSummary, weightDistances } from './distance';
import { buildNetwork } from './graph';
import type { SortKey } from './kernels';
import { type Matcher, alignPrepared, byActivationsThenWeights, byWeights, prepareAlignment } from './aligned';
import { type Network, type SymmetryKind, symmetryOf } from './network';
import { canonicalizeNetwork } from './symmetry';
import { writeNetwork } from './writeback';

export type { WeightDistanceSummary, TensorDistance } from './distance';
export type { SortKey } from './kernels';

export type WeightMethod = 'raw' | 'canonical' | 'aligned';
export const WEIGHT_METHODS: readonly WeightMethod[] = ['raw', 'canonical', 'aligned'];
export const SORT_KEYS: readonly SortKey[] = ['out-norm', 'bias', 'in-l1', 'first-weight'];

/** Probe data for activation matching: a one-array file path (.npy, .safetensors, .pb, ...) or a tensor (fed to the model's only input). */
export type AlignProbe = string | Tensor;

export interface AlignOptions {
  /** 'weights' (default): weight matching; 'activations': correlation of hidden activations on `data`. */
  align?: 'weights' | 'activations';
  data?: AlignProbe;
  /**
   * Where weight matching starts: 'canonical' (default), B's units put in A's canonical order;
   * 'activations', activation matching's permutation on `data` (needs `data`).
   */
  start?: 'canonical' | 'activations';
  /** Seed for weight matching's layer order. Default 0. */
  seed?: number;
  /** Weight matching's sweep limit. Default 100. */
  maxSweeps?: number;
  /** Weight matching stops once a sweep improves its objective by at most this fraction (default 0: at a fixed point). */
  tol?: number;
  /** Weight matching's progress: called after each sweep with its number and objective. */
  onSweep?: (sweep: number, objective: number) => void;
  /**
   * Scale/sign-normalize both models before matching (default true). Off,
   * only permutations are searched: a rescaled copy then stays far away.
   */
  normalize?: boolean;
}

export interface WeightDistanceOptions extends AlignOptions {
  /** Default: all three (raw is then skipped, with a note, if the initializers do not correspond). */
  methods?: WeightMethod[];
  /** Canonical sort key. Default 'out-norm'. */
  sortKey?: SortKey;
}

export interface AlignmentInfo {
  method: 'weights' | 'activations';
  /** Weight matching's starting point (see {@link AlignOptions.start}); absent for activation matching. */
  start?: 'canonical' | 'activations';
  /** Weight matching: sweeps over the layers; activation matching: 1. */
  iterations: number;
  /**
   * Weight matching's objective, Σ over layers of ⟨A, B⟩ between the normalized networks, at
   * its start and after each sweep (iterations + 1 values, never decreasing); absent for
   * activation matching.
   */
  objective?: number[];
  converged: boolean;
  seed: number;
  /** Whether scale/sign normalization ran before matching. */
  normalized: boolean;
  /** Hidden layers as [tensor read by the next layer, permutation of B's units (new i = old perm[i])]. */
  permutations: Record<string, number[]>;
  /** 'identity' when B as it is was already closer to A than the matched B (then it is kept). */
  kept: 'matched' | 'identity';
  /**
   * Distance before matching, in the same scale-normalized frame the aligned
   * distance is measured in (so `aligned.l2 <= unaligned.l2` always holds).
   */
  unaligned: { l2: number; relative: number; cosine: number };
}

export interface HiddenLayerInfo {
  /** The tensor the next layer reads. */
  tensor: string;
  units: number;
  symmetry: SymmetryKind;
  /** Weight initializers writing these units (several for a residual stream). */
  producers: string[];
  /** A BatchNormalization (or a per-channel Mul/Add after the layer) was folded into a producer. */
  batchNormFolded: boolean;
}

/** What the graph analysis found, for the result and the text output. */
export function describeHidden(net: Network): HiddenLayerInfo[] {
  return net.hidden.map((id) => {
    const g = net.groups[id];
    const producers = g.producers.map((p) => net.layers[p]);
    return {
      tensor: g.tensor ?? String(id),
      units: g.units,
      symmetry: symmetryOf(g.caps),
      producers: producers.map((l) => l.weightName),
      batchNormFolded: producers.some((l) => (l.folded?.length ?? 0) > 0),
    };
  });
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

export async function weightDistance(a: OnnxSource, b: OnnxSource, options: WeightDistanceOptions = {}): Promise<WeightDistanceResult> {
  const methods = options.methods ?? [...WEIGHT_METHODS];
  for (const m of methods) check(WEIGHT_METHODS.includes(m), 'INVALID_ARGUMENT', `unknown weight method "${m}" (raw, canonical, aligned)`);
  checkSortKey(options.sortKey);
  const settings = methods.includes('aligned') ? alignSettings(options) : undefined;
  const ma = readOnnx(a);
  const mb = readOnnx(b);
  const result: WeightDistanceResult = { a: ma.label, b: mb.label, models: {} };
  if (methods.includes('raw')) {
    try {
      result.raw = weightDistances(initializerPairs(ma, mb));
    } catch (e) {
      // Asked for by default only: models whose initializers differ (e.g. one with BatchNorm folded)
      // can still be compared layer by layer.
      if (options.methods || !(e instanceof ModeldiffError) || e.code !== 'ARCHITECTURE_MISMATCH') throw e;
      result.notes = [`raw: skipped, ${e.message}`];
    }
  }
  if (!methods.includes('canonical') && !methods.includes('aligned')) return result;
  const na = buildNetwork(ma);
  const nb = buildNetwork(mb);
  checkSameArchitecture(na, nb);
  result.hidden = describeHidden(na);
  if (na.hidden.length === 0) {
    // Nothing to permute or rescale (a logistic regression): canonical and aligned are raw, never
    // the empty sum over layers a LinearClassifier's attribute weights would give.
    const raw = result.raw ?? weightDistances(initializerPairs(ma, mb));
    const same = { canonical: methods.includes('canonical'), aligned: Boolean(settings) };
    if (same.canonical) result.canonical = raw;
    if (same.canonical) lazyModel(result.models, 'canonical', () => encodeOnnx(writeNetwork(nb)));
    if (settings) {
      const identity = await alignNetworks(na, nb, options, settings, raw);
      result.aligned = identity.aligned;
      result.alignment = identity.info;
      lazyModel(result.models, 'aligned', () => encodeOnnx(writeNetwork(identity.network)));
    }
    (result.notes ??= []).push(`${[same.canonical && 'canonical', same.aligned && 'aligned'].filter(Boolean).join(' and ')}: ${ma.label} has no hidden units to permute or rescale, so ${same.canonical && same.aligned ? 'both are' : 'it is'} the raw distance`);
    return result;
  }
  if (methods.includes('canonical')) {
    // In place; when aligned needs na and nb as they are, on networks built again from the
    // models (their weights are read from the files again) rather than on copies held beside.
    const ca = settings ? buildNetwork(ma) : na;
    const cb = settings ? buildNetwork(mb) : nb;
    canonicalizeNetwork(ca, options.sortKey);
    canonicalizeNetwork(cb, options.sortKey);
    result.canonical = weightDistances(networkPairs(ca, cb));
    // Rebuilt when asked for (deterministic, so the same bytes), instead of keeping cb alive.
    lazyModel(result.models, 'canonical', () => {
      const net = buildNetwork(mb);
      canonicalizeNetwork(net, options.sortKey);
      return encodeOnnx(writeNetwork(net));
    });
  }
  if (settings) {
    const { aligned, info, network } = await alignNetworks(na, nb, options, settings);
    result.aligned = aligned;
    result.alignment = info;
    lazyModel(result.models, 'aligned', () => encodeOnnx(writeNetwork(network)));
  }
  return result;
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

/** The canonical form of one model (BatchNorm folded, normalized, sorted), as ONNX bytes computing the same function. */
export function canonicalize(model: OnnxSource, options: { sortKey?: SortKey } = {}): Uint8Array {
  checkSortKey(options.sortKey);
  const net = buildNetwork(readOnnx(model));
  canonicalizeNetwork(net, options.sortKey);
  return encodeOnnx(writeNetwork(net));
}

export interface AlignResult {
  /** B rewritten into A's frame (BatchNorm folded, permuted, A's unit scales/signs): same function as B. */
  model: Uint8Array;
  /** Distance between the scale/sign-normalized A and the matched, normalized B. */
  distance: WeightDistanceSummary;
  alignment: AlignmentInfo;
}

export async function align(a: OnnxSource, b: OnnxSource, options: AlignOptions = {}): Promise<AlignResult> {
  const settings = alignSettings(options);
  const na = buildNetwork(readOnnx(a));
  const nb = buildNetwork(readOnnx(b));
  checkSameArchitecture(na, nb);
  const raw = na.hidden.length === 0 ? weightDistances(initializerPairs(na.model, nb.model)) : undefined;
  const { aligned, info, network } = await alignNetworks(na, nb, options, settings, raw);
  return { model: encodeOnnx(writeNetwork(network)), distance: aligned, alignment: info };
}

/** The alignment settings with their defaults, checked before any model is read or rewritten. */
export function alignSettings(options: AlignOptions) {
  const method = options.align ?? 'weights';
  check(method === 'weights' || method === 'activations', 'INVALID_ARGUMENT', `unknown alignment "${method}" (weights, activations)`);
  const seed = options.seed ?? 0;
  check(Number.isInteger(seed), 'INVALID_ARGUMENT', `seed must be an integer, got ${seed}`);
  const maxSweeps = options.maxSweeps ?? 100;
  check(Number.isInteger(maxSweeps) && maxSweeps >= 1, 'INVALID_ARGUMENT', `maxSweeps must be a positive integer, got ${maxSweeps}`);
  const tol = options.tol ?? 0;
  check(typeof tol === 'number' && tol >= 0 && Number.isFinite(tol), 'INVALID_ARGUMENT', `tol must be a finite number >= 0, got ${String(tol)}`);
  const start = options.start ?? 'canonical';
  if (start !== 'canonical' && start !== 'activations') {
    throw new ModeldiffError('INVALID_ARGUMENT', `unknown matching start "${String(start)}" (canonical, activations)`, { option: 'start' });
  }
  if (method === 'weights' && start === 'activations' && options.data === undefined) {
    throw new ModeldiffError('INVALID_ARGUMENT', 'a weight-matching start from activations needs probe data', { option: 'data' });
  }
  return { method, seed, maxSweeps, tol, start };
}

/**
 * B matched to A. `raw`: the networks have no hidden units (B is kept as it
 * is, and its distance is the raw one, which counts weights held in
 * attributes too).
 */
async function alignNetworks(na: Network, nb: Network, options: AlignOptions, settings: ReturnType<typeof alignSettings>, raw?: WeightDistanceSummary) {
  const { method, seed, maxSweeps, tol, start } = settings;
  if (raw) {
    const unaligned = { l2: raw.l2, relative: raw.relative, cosine: raw.cosine };
    const info: AlignmentInfo = { method, iterations: 0, converged: true, seed, normalized: options.normalize ?? true, permutations: {}, kept: 'identity', unaligned };
    return { aligned: raw, info, network: nb };
  }
  let matcher: Matcher;
  if (method === 'weights') {
    const matching = { seed, maxSweeps, tol, onSweep: options.onSweep };
    matcher = start === 'activations' ? byActivationsThenWeights(probeInput(na.model, options.data!), matching) : byWeights(matching);
  } else {
    if (options.data === undefined) throw new ModeldiffError('INVALID_ARGUMENT', 'activation matching needs probe data', { option: 'data' });
    const input = probeInput(na.model, options.data);
    matcher = async (a, b) => ({ perms: (await activationMatching(a, b, input)).perms, iterations: 1, converged: true });
  }
  const normalize = options.normalize ?? true;
  // na and nb are this alignment's own: normalized and permuted in place, not copied.
  const r = await alignPrepared(prepareAlignment(na, normalize, true), prepareAlignment(nb, normalize, true), matcher);
  const permutations: Record<string, number[]> = {};
  for (const id of nb.hidden) permutations[nb.groups[id].tensor ?? String(id)] = Array.from(r.perms.get(id) ?? []);
  const unaligned = { l2: r.unaligned.l2, relative: r.unaligned.relative, cosine: r.unaligned.cosine };
  const info: AlignmentInfo = {
    method,
    ...(method === 'weights' ? { start } : {}),
    iterations: r.iterations,
    converged: r.converged,
    ...(method === 'weights' ? { objective: r.objective } : {}),
    seed,
    normalized: normalize,
    permutations,
    kept: r.kept,
    unaligned,
  };
  return { aligned: r.distance, info, network: r.network };
}

function probeInput(model: OnnxModel, data: AlignProbe): HiddenInput {
  const tensor = typeof data === 'string' ? readArray(data) : data;
  const label = typeof data === 'string' ? data : 'probe data';
  const graph = graphOf(model);
  const inits = new Set(graph.initializer.map((t) => t.name));
  const inputs = graph.input.filter((i) => !inits.has(i.name));
  if (inputs.length !== 1) throw new ModeldiffError('MODEL_INPUT', `${model.label}: activation matching needs a single-input model, it has ${inputs.length}`);
  const name = inputs[0].name ?? '';
  const f32 = convertTensor(tensor, 'float32', name).tensor;
  check(f32.shape.length >= 1, 'MODEL_INPUT', `${label}: probe data must have a batch axis`);
  checkProbeFitsInput(model, name, f32.shape, label);
  // One sample gives every unit zero variance: all correlations vanish and the "matching" is arbitrary.
  check(f32.shape[0] >= 2, 'INVALID_ARGUMENT', `${label}: activation matching correlates hidden units over the probe samples and needs at least 2, got ${f32.shape[0]}`);
  return { name, data: f32.data as Float32Array, dims: f32.shape };
}

function checkSortKey(key: SortKey | undefined): void {
  if (key !== undefined) check(SORT_KEYS.includes(key), 'INVALID_ARGUMENT', `unknown sort key "${key}" (${SORT_KEYS.join(', ')})`);
}
