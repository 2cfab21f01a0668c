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
 * 5. the unpermuted B is also a point of its orbit: if it is closer to A in
 *    the normalized frame than the matched B, it is kept (alignment never
 *    makes the distance worse than not aligning).
 */
import { type WeightDistanceSummary, weightDistances } from './distance';
import { networkPairs } from './architecture';
import { type Network, cloneNetwork } from './network';
import { type UnitFactors, denormalizeNetwork, normalizeNetwork } from './symmetry';
import { weightMatching } from './matching';

export interface PreparedNetwork {
  /** BatchNorm folded, otherwise as stored. */
  original: Network;
  /** Scale/sign normalized copy (same as original with normalize off). */
  normalized: Network;
  factors: UnitFactors;
}

export function prepareAlignment(net: Network, normalize = true): PreparedNetwork {
  const normalized = cloneNetwork(net);
  const factors = normalize ? normalizeNetwork(normalized) : new Map();
  return { original: net, normalized, factors };
}

export interface Matcher {
  (a: Network, b: Network): Promise<{ perms: Map<number, Int32Array>; iterations: number; converged: boolean }>;
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
  kept: 'matched' | 'identity';
}

export async function alignPrepared(a: PreparedNetwork, b: PreparedNetwork, match: Matcher): Promise<AlignedPair> {
  const moved = cloneNetwork(b.normalized);
  const m = await match(a.normalized, moved);
  const matched = weightDistances(networkPairs(a.normalized, moved));
  denormalizeNetwork(moved, a.factors);
  const asIs = weightDistances(networkPairs(a.normalized, b.normalized));
  if (asIs.l2 < matched.l2) {
    const perms = new Map([...m.perms].map(([id, p]) => [id, Int32Array.from(p, (_, i) => i)]));
    return { network: cloneNetwork(b.original), distance: asIs, unaligned: asIs, perms, iterations: m.iterations, converged: m.converged, kept: 'identity' };
  }
  return { network: moved, distance: matched, unaligned: asIs, perms: m.perms, iterations: m.iterations, converged: m.converged, kept: 'matched' };
}

/** Weight matching as a Matcher (seeded layer order, sweep limit). */
export function byWeights(options: { seed?: number; maxSweeps?: number } = {}): Matcher {
  return async (a, b) => {
    const r = await weightMatching(a, b, options);
    return { perms: r.perms, iterations: r.sweeps, converged: r.converged };
  };
}
