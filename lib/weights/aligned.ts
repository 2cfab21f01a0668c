/**
 * The aligned distance, shared by `weightDistance`/`align` and the many-model
 * matrices so both report the same number:
 * 1. both networks scale/sign-normalized (per-model work, done once);
 * 2. B's units permuted to match A's (weight or activation matching);
 * 3. the distance is measured between the two *normalized* networks, so it
 *    is invariant to rescaling (and sign flips) of either side's units, not
 *    just B's: a rescaled copy of A is as far from C as A is. (Measuring in
 *    A's own parameterization made the number depend on A's arbitrary unit
 *    scales, and a rescaled twin of a model looked far from everything.)
 *    Canonical distances live in the same normalized frame, so the two are
 *    directly comparable;
 * 4. the returned network is B put back into A's scale/sign frame (A's
 *    normalization undone on matched B): exactly A for a rescaled, permuted
 *    copy, and ready for writeback and interpolation with A;
 * 5. matching starts from the canonical correspondence (B's units put where
 *    A's canonical order has the units of the same rank): coordinate descent
 *    from the identity got stuck far from an exact permuted copy of a
 *    MobileNetV2 (0.93 relative), while the canonical order finds it at once.
 *    With probe data, `byActivationsThenWeights` starts from activation
 *    matching's permutation instead;
 * 6. the unpermuted B is also a point of its orbit: if it is closer to A in
 *    the normalized frame than the matched B, it is kept (alignment never
 *    makes the distance worse than not aligning).
 */
import { type WeightDistanceSummary, weightDistances } from './distance';
import { networkPairs } from './architecture';
import { type Network, cloneNetwork } from './network';
import { type UnitFactors, denormalizeNetwork, normalizeNetwork } from './symmetry';
import { type MatchingOptions, type MatchingStop, weightMatching } from './matching';
import { activationMatching } from './activation-matching';
import type { ProbeData } from '../io/probe';
import { applyPermutationSync } from './kernels';
import { composeSteps, sortHiddenGroups, undoSteps } from './unit-blocks';
import { groupView } from './views';
import { buildNetwork } from './graph';

export interface PreparedNetwork {
  /** A fresh copy of the network as stored (BatchNorm folded). */
  original: () => Network;
  /** Whether `normalized` is this alignment's own (B's is then permuted in place). */
  own: boolean;
  /** Scale/sign normalized copy (same as original with normalize off). */
  normalized: Network;
  factors: UnitFactors;
  /** Per hidden group: the canonical order of the normalized network's units (the matching's warm start). */
  order: Map<number, Int32Array>;
}

/**
 * `own`: the network is this one alignment's to change (weightDistance, align): it is
 * normalized in place and, as B, permuted in place, instead of copied twice (a network is
 * 8 bytes a weight); B as stored is then rebuilt from its model if it is kept. Without it
 * (the many-model matrices, which reuse a prepared network), nothing given is modified.
 */
export function prepareAlignment(net: Network, normalize = true, own = false): PreparedNetwork {
  const normalized = own ? net : cloneNetwork(net);
  const factors = normalize ? normalizeNetwork(normalized) : new Map();
  const original = own ? () => buildNetwork(net.model) : () => cloneNetwork(net);
  return { original, normalized, factors, order: canonicalOrders(normalized), own };
}

export interface Matcher {
  (a: Network, b: Network): Promise<MatcherResult>;
}

export interface MatcherResult {
  perms: Map<number, Int32Array>;
  iterations: number;
  converged: boolean;
  /** Why weight matching stopped (absent for activation matching). */
  stopped?: MatchingStop;
  /** Weight matching's objective at its start and after each sweep. */
  objective?: number[];
}

export interface AlignedPair {
  /** B in A's frame (a fresh network; the inputs are not modified). */
  network: Network;
  distance: WeightDistanceSummary;
  /** The distance before matching, in the same normalized frame: what alignment improved on. */
  unaligned: WeightDistanceSummary;
  /** Per hidden group id; identity when B as it is was kept. */
  perms: Map<number, Int32Array>;
  iterations: number;
  converged: boolean;
  /** Why weight matching stopped (absent for activation matching). */
  stopped?: MatchingStop;
  /** Weight matching's objective at its start and after each sweep. */
  objective?: number[];
  kept: 'matched' | 'identity';
}

export async function alignPrepared(a: PreparedNetwork, b: PreparedNetwork, match: Matcher): Promise<AlignedPair> {
  const asIs = weightDistances(networkPairs(a.normalized, b.normalized));
  const moved = b.own ? b.normalized : cloneNetwork(b.normalized);
  const warm = warmStart(a, b);
  for (const [id, p] of warm) {
    const { view, commit } = groupView(moved, id);
    applyPermutationSync(view, p);
    commit(p);
  }
  const found = await match(a.normalized, moved);
  // New unit i of B = warm-started unit found[i] = original unit warm[found[i]].
  const m = { ...found, perms: new Map([...warm].map(([id, w]) => [id, Int32Array.from(found.perms.get(id) ?? w.map((_, i) => i), (j) => w[j])])) };
  const matched = weightDistances(networkPairs(a.normalized, moved));
  denormalizeNetwork(moved, a.factors);
  if (asIs.l2 < matched.l2) {
    const perms = new Map([...m.perms].map(([id, p]) => [id, Int32Array.from(p, (_, i) => i)]));
    return { network: b.original(), distance: asIs, unaligned: asIs, perms, iterations: m.iterations, converged: m.converged, stopped: m.stopped, objective: m.objective, kept: 'identity' };
  }
  return { network: moved, distance: matched, unaligned: asIs, perms: m.perms, iterations: m.iterations, converged: m.converged, stopped: m.stopped, objective: m.objective, kept: 'matched' };
}

/** Weight matching as a Matcher (seeded layer order, sweep limit, tolerance, per-sweep callback). */
export function byWeights(options: MatchingOptions = {}): Matcher {
  return async (a, b) => {
    const r = await weightMatching(a, b, options);
    return { perms: r.perms, iterations: r.sweeps, converged: r.converged, stopped: r.stopped, objective: r.objective };
  };
}

/**
 * Weight matching started from activation matching's permutation on `probe`
 * (Git Re-Basin's cheaper, comparable method) instead of the canonical
 * correspondence: on a permuted copy activation matching already finds the
 * answer, so weight matching only confirms it.
 */
export function byActivationsThenWeights(probe: ProbeData, options: MatchingOptions = {}): Matcher {
  return async (a, b) => {
    const start = await activationMatching(a, b, probe);
    const r = await weightMatching(a, b, options);
    // New unit i of B = activation-matched unit r[i] = unit start[r[i]] of B as given.
    const perms = new Map([...start.perms].map(([id, s]) => [id, Int32Array.from(r.perms.get(id)!, (j) => s[j])]));
    return { perms, iterations: r.sweeps, converged: r.converged, stopped: r.stopped, objective: r.objective };
  };
}

/**
 * Each group's canonical order (sorted in forward order, so a group's key sees its upstream
 * group sorted). The network is sorted in place and then put back exactly (permutations only
 * move values), rather than sorted as a copy: a copy is as big as the network.
 */
function canonicalOrders(net: Network): Map<number, Int32Array> {
  const steps = sortHiddenGroups(net);
  undoSteps(net, steps);
  return composeSteps(steps);
}

/** B's units placed at the positions A's canonical order gives the units of the same rank: new j = old pB[invA[j]]. */
function warmStart(a: PreparedNetwork, b: PreparedNetwork): Map<number, Int32Array> {
  const warm = new Map<number, Int32Array>();
  for (const [id, pA] of a.order) {
    const pB = b.order.get(id)!;
    const invA = new Int32Array(pA.length);
    pA.forEach((old, i) => (invA[old] = i));
    warm.set(id, Int32Array.from(invA, (rank) => pB[rank]));
  }
  return warm;
}
