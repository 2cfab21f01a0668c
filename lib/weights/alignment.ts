/**
 * Aligning B to A on prepared networks, with the settings and the report `weightDistance` and
 * `align` give: the options and their checks (alignSettings), the matcher they choose (weight
 * matching from the canonical correspondence or from activation matching, or activation
 * matching alone), and what the alignment found (AlignmentInfo). The networks come prepared
 * by the weights view (lib/views/weights.ts): normalized once, per model.
 */
import { ModeldiffError, check } from '../errors';
import { type OnnxModel, checkProbeFitsInput, dataInputs } from '../io/onnx';
import { type ProbeData, type ProbeSource, loadProbe } from '../io/probe';
import { activationMatching } from './activation-matching';
import type { WeightDistanceSummary } from './distance';
import { type Matcher, type PreparedNetwork, alignPrepared, byActivationsThenWeights, byWeights } from './aligned';
import { type MatchingStop, checkTol } from './matching';
import { type Network, type SymmetryKind, groupLabel, symmetryOf } from './network';
import { familyOf } from './unit-blocks';

/**
 * Probe data for activation matching, as `cka` takes it: a file path (.npy, .npz, .safetensors,
 * .pb; a multi-array .npz feeds its arrays by name), a tensor for the model's only input, or
 * arrays by input name (e.g. input_ids and attention_mask).
 */
export type AlignProbe = ProbeSource;

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
  /**
   * Why weight matching stopped: no accepted change ('fixed-point', as `converged`), the
   * relative-improvement tolerance `tol`, or the sweep limit `maxSweeps`; absent for activation
   * matching.
   */
  stopped?: MatchingStop;
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
  /**
   * The aligned distance in A's own frame: A as stored against B moved into it (B as
   * `--write-aligned` writes it: permuted, and given A's unit scales and signs), both with
   * BatchNorm folded and each stored tensor counted once, as raw counts it. Unlike `aligned`, it is in
   * the parameterization raw is measured in, so it is what to set beside raw (the normalized
   * frame's unit-norm rows weigh layers differently, and can make aligned exceed raw). Only for
   * a two-model `weightDistance` with normalization on; absent in matrices.
   */
  inFrameOfA?: { l2: number; relative: number; cosine: number };
}

export interface HiddenLayerInfo {
  /** The tensor the next layer reads. */
  tensor: string;
  units: number;
  symmetry: SymmetryKind;
  /**
   * Weight initializers writing these units (several for a residual stream). Never empty: a
   * grouped-query 'vo' group (O's columns) is written by attention, not by a layer; its
   * producers are then V's projection, whose heads attention repeats, and `viaAttention` is set.
   */
  producers: string[];
  viaAttention?: boolean;
  /** A BatchNormalization (or a per-channel Mul/Add after the layer) was folded into a producer. */
  batchNormFolded: boolean;
  /**
   * Attention heads: the units are `count` heads of `dim`, permuted as whole heads and within a
   * head; 'qk' Q's and K's rows (`pairsFixed`: rotary, the dims within a head stay; `rotaryPairs`:
   * Q/K rescaled per rotary pair of dims (i, i + dim/2)), 'vo' V's rows and O's columns.
   * Grouped-query attention (`kvHeads` on 'qk' and 'vo': the number of K/V heads): 'qk' is Q's rows
   * only, 'vo' O's columns only, and K's and V's rows are groups of their own ('k', 'v').
   */
  heads?: { count: number; dim: number; role: 'qk' | 'vo' | 'k' | 'v'; pairsFixed?: boolean; rotaryPairs?: boolean; kvHeads?: number };
  /**
   * Tied by grouped convolutions: the units permute within this many equal blocks, and the blocks
   * move together with the tied layers' blocks (`blocksMove` false: they stay, a tied group is fixed).
   */
  blocks?: number;
  blocksMove?: boolean;
  /** What ties the blocks: grouped convolutions, or one learned initial state starting both directions of a bidirectional RNN (blocks of one unit, each tied to the other direction's). */
  blocksTiedBy?: 'grouped conv' | 'shared initial state';
  /** One direction of a bidirectional LSTM/GRU/RNN: both directions' units are read from the same output tensor. */
  direction?: 'forward' | 'backward';
}

/** What the graph analysis found, for the result and the text output. */
export function describeHidden(net: Network): HiddenLayerInfo[] {
  return net.hidden.map((id) => {
    const g = net.groups[id];
    // Grouped-query O columns: attention writes them from V's heads (graph/finish.ts).
    const viaAttention = g.producers.length === 0 && g.heads?.kv !== undefined;
    const producers = (viaAttention ? net.groups[g.heads!.kv!.group].producers : g.producers).map((p) => net.layers[p]);
    const family = familyOf(net, id);
    const role = g.recurrent ? net.layers[g.recurrent.W].recurrent : undefined;
    const direction = role?.directions === 2 ? (role.direction === 0 ? 'forward' : 'backward') : undefined;
    return {
      tensor: groupLabel(net, id),
      units: g.units,
      symmetry: symmetryOf(g.caps),
      producers: producers.map((l) => l.weightName),
      ...(viaAttention && { viaAttention: true }),
      batchNormFolded: producers.some((l) => (l.folded?.length ?? 0) > 0),
      ...(g.heads && {
        heads: { count: g.heads.count, dim: g.heads.dim, role: g.heads.role, ...(g.heads.pairsFixed && { pairsFixed: true }), ...(g.heads.rotaryPairs && { rotaryPairs: true }), ...(g.heads.kv && { kvHeads: g.heads.kv.count }) },
      }),
      ...(family ? { blocks: family.blocks, blocksMove: family.swappable, blocksTiedBy: family.groups.every((m) => net.groups[m].recurrent) ? 'shared initial state' : 'grouped conv' } : {}),
      ...(direction !== undefined && { direction }),
    };
  });
}

/** The checked alignment settings with their defaults (alignSettings). */
export interface AlignSettings {
  method: 'weights' | 'activations';
  seed: number;
  maxSweeps: number;
  tol: number;
  start: 'canonical' | 'activations';
}

/** The alignment settings with their defaults, checked before any model is read or rewritten. */
export function alignSettings(options: AlignOptions): AlignSettings {
  const method = options.align ?? 'weights';
  check(method === 'weights' || method === 'activations', 'INVALID_ARGUMENT', `unknown alignment "${method}" (weights, activations)`);
  const seed = options.seed ?? 0;
  check(Number.isInteger(seed), 'INVALID_ARGUMENT', `seed must be an integer, got ${seed}`);
  const maxSweeps = options.maxSweeps ?? 100;
  check(Number.isInteger(maxSweeps) && maxSweeps >= 1, 'INVALID_ARGUMENT', `maxSweeps must be a positive integer, got ${maxSweeps}`);
  const tol = checkTol(options.tol ?? 0);
  const start = options.start ?? 'canonical';
  if (start !== 'canonical' && start !== 'activations') {
    throw new ModeldiffError('INVALID_ARGUMENT', `unknown matching start "${String(start)}" (canonical, activations)`, { option: 'start' });
  }
  if (method === 'weights' && start === 'activations' && options.data === undefined) {
    throw new ModeldiffError('INVALID_ARGUMENT', 'a weight-matching start from activations needs probe data', { option: 'data' });
  }
  return { method, seed, maxSweeps, tol, start };
}

/** B kept as it is, at the raw distance: networks without hidden units have nothing to align. */
export function identityAlignment(nb: Network, options: AlignOptions, settings: AlignSettings, raw: WeightDistanceSummary) {
  const unaligned = { l2: raw.l2, relative: raw.relative, cosine: raw.cosine };
  const info: AlignmentInfo = { method: settings.method, iterations: 0, converged: true, seed: settings.seed, normalized: options.normalize ?? true, permutations: {}, kept: 'identity', unaligned };
  return { aligned: raw, info, network: nb };
}

/** B matched to A, both prepared (prepareAlignment) with `options.normalize`. */
export async function alignNetworks(pa: PreparedNetwork, pb: PreparedNetwork, options: AlignOptions, settings: AlignSettings) {
  const { method, seed, maxSweeps, tol, start } = settings;
  const model = pa.normalized.model;
  let matcher: Matcher;
  if (method === 'weights') {
    const matching = { seed, maxSweeps, tol, onSweep: options.onSweep };
    matcher = start === 'activations' ? byActivationsThenWeights(probeInput(model, options.data!), matching) : byWeights(matching);
  } else {
    if (options.data === undefined) throw new ModeldiffError('INVALID_ARGUMENT', 'activation matching needs probe data', { option: 'data' });
    const input = probeInput(model, options.data);
    matcher = async (a, b) => ({ perms: (await activationMatching(a, b, input)).perms, iterations: 1, converged: true });
  }
  const r = await alignPrepared(pa, pb, matcher);
  const nb = pb.normalized;
  const permutations: Record<string, number[]> = {};
  for (const id of nb.hidden) permutations[groupLabel(nb, id)] = Array.from(r.perms.get(id) ?? []);
  const unaligned = { l2: r.unaligned.l2, relative: r.unaligned.relative, cosine: r.unaligned.cosine };
  const info: AlignmentInfo = {
    method,
    ...(method === 'weights' ? { start } : {}),
    iterations: r.iterations,
    converged: r.converged,
    ...(method === 'weights' ? { stopped: r.stopped, objective: r.objective } : {}),
    seed,
    normalized: options.normalize ?? true,
    permutations,
    kept: r.kept,
    unaligned,
  };
  return { aligned: r.distance, info, network: r.network };
}

function probeInput(model: OnnxModel, data: AlignProbe): ProbeData {
  const probe = loadProbe(data);
  const inputs = dataInputs(model);
  for (const [name, t] of Object.entries(probe.inputs)) {
    // An unnamed array feeds a single-input model; naming and feeding are then checked as compare checks them.
    const input = name === '' && inputs.length === 1 ? (inputs[0].name ?? '') : name;
    checkProbeFitsInput(model, input, t.shape, probe.sources[name] === '<array>' ? 'probe data' : probe.sources[name]);
  }
  // One sample gives every unit zero variance: all correlations vanish and the "matching" is arbitrary.
  const label = [...new Set(Object.values(probe.sources))].join(', ');
  check(probe.n >= 2, 'INVALID_ARGUMENT', `${label}: activation matching correlates hidden units over the probe samples and needs at least 2, got ${probe.n}`);
  return probe;
}
