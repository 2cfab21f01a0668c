/**
 * Weight matching (Ainsworth et al. 2022, "Git Re-Basin"): find the
 * permutation of B's hidden units that best matches A, by coordinate descent
 * over the hidden groups (an attention head site as one step, heads.ts). Start from the identity; each sweep visits the
 * groups in a seeded random order, and for each builds
 *   C = matchingSimilaritySync(A's group, B's group)
 * (B's neighbouring groups already permuted, since B is kept permuted in
 * place) and takes the assignment maximizing Σ C. A new assignment is only
 * accepted when it beats the current one by more than a float32-aware
 * relative tolerance, so the objective never decreases, a network aligned to
 * itself keeps the identity, and rounding cannot make it cycle. Stops after
 * a sweep with no accepted change (a fixed point; a single group needs one sweep), when a
 * sweep improves the objective by at most `tol` times its value (big networks creep towards
 * their fixed point for many sweeps of negligible gain), or after `maxSweeps`.
 */
import { ModeldiffError } from '../errors';
import { createRng } from '../util/rng';
import { applyPermutationSync, linearSumAssignment, matchingSimilaritySync } from './kernels';
import { headSite, matchHeads, unitsOfWork } from './heads';
import type { Network } from './network';
import { type BlockFamily, familyOf, inverse, permuteGroup, structuredAssignment } from './unit-blocks';
import { groupView } from './views';

/** Improvements below this fraction of the objective are float32 noise. */
export const MATCHING_TOLERANCE = 4 * 2 ** -23;

/** Why weight matching stopped: no accepted change, the relative-improvement tolerance, or the sweep limit. */
export type MatchingStop = 'fixed-point' | 'tolerance' | 'max-sweeps';

export interface MatchingOptions {
  /** Seed for the order layers are visited in. Default 0. */
  seed?: number;
  /** Default 100. */
  maxSweeps?: number;
  /**
   * Stop once a sweep improves the objective by at most this fraction of it (default 0: run to
   * a fixed point). 1e-4 stops a 4096-wide MLP within a few sweeps of the fixed point's value.
   */
  tol?: number;
  /** Called after each sweep with its number (1-based) and the objective, e.g. for a progress line. */
  onSweep?: (sweep: number, objective: number) => void;
}

export interface MatchingResult {
  /** Per hidden group id: new unit i of B = original unit perm[i]. */
  perms: Map<number, Int32Array>;
  /** Sweeps run (including the final one that changed nothing, unless only one group). */
  sweeps: number;
  converged: boolean;
  /** Why it stopped: no accepted change, the relative-improvement tolerance, or the sweep limit. */
  stopped: MatchingStop;
  /** Σ over all layers of ⟨A, B⟩ after each sweep (index 0: identity start). */
  objective: number[];
}

/** The matching objective: the inner product of A's and B's layer parameters. */
export function matchingObjective(a: Network, b: Network): number {
  let s = 0;
  a.layers.forEach((la, i) => {
    const lb = b.layers[i];
    for (let k = 0; k < la.W.length; k++) s += la.W[k] * lb.W[k];
    for (let k = 0; k < la.b.length; k++) s += la.b[k] * lb.b[k];
  });
  return s;
}

function identity(n: number): Int32Array {
  return Int32Array.from({ length: n }, (_, i) => i);
}

/** The matching tolerance, checked: a finite number >= 0 (weightMatching and the alignment settings). */
export function checkTol(tol: unknown): number {
  if (!(typeof tol === 'number' && tol >= 0 && Number.isFinite(tol))) {
    throw new ModeldiffError('INVALID_ARGUMENT', `options.tol (the matching tolerance) must be a finite number >= 0, got ${String(tol)}`, { option: 'tol' });
  }
  return tol;
}

/** Permutes `b` in place into `a`'s frame. Both must already be scale/sign normalized. */
export async function weightMatching(a: Network, b: Network, options: MatchingOptions = {}): Promise<MatchingResult> {
  const rng = createRng(options.seed ?? 0);
  const maxSweeps = options.maxSweeps ?? 100;
  const tol = checkTol(options.tol ?? 0);
  const perms = new Map(b.hidden.map((id) => [id, identity(b.groups[id].units)]));
  const objective = [matchingObjective(a, b)];
  let sweeps = 0;
  let converged = b.hidden.length === 0;
  let byTolerance = false;
  // One similarity buffer for every group and sweep, sized for the widest group (8·units² bytes:
  // 134 MB at 4096 units), instead of a new matrix per group that lives until a collection.
  const widest = Math.max(0, ...b.hidden.map((id) => b.groups[id].units));
  const similarity = new Float64Array(widest * widest);
  // Each group once; an attention head site (heads.ts) once for its two groups, a family of
  // grouped convolutions' groups (unit-blocks.ts) once for all of them, at its first member.
  const work = unitsOfWork(b).filter((g) => (familyOf(b, g)?.groups[0] ?? g) === g);
  while (!converged && sweeps < maxSweeps) {
    sweeps++;
    let changed = false;
    for (const id of rng.shuffle(work.slice())) {
      const site = headSite(b, id);
      if (site) {
        const { perms: found, current, total } = await matchHeads(a, b, site);
        if (total - current > MATCHING_TOLERANCE * Math.max(Math.abs(current), Math.abs(total))) {
          for (const [group, perm] of found) {
            const gb = groupView(b, group);
            applyPermutationSync(gb.view, perm);
            gb.commit(perm);
            const old = perms.get(group)!;
            perms.set(group, Int32Array.from(perm, (j) => old[j]));
          }
          changed = true;
        }
        continue;
      }
      const family = familyOf(b, id);
      if (family) {
        changed = matchFamily(a, b, family, perms) || changed;
        continue;
      }
      const va = groupView(a, id).view;
      const gb = groupView(b, id);
      const n = va.units;
      // The assignment has settled before the next group writes the buffer (it is awaited).
      const C = matchingSimilaritySync(va, gb.view, { out: similarity.subarray(0, n * n) });
      let current = 0;
      for (let i = 0; i < n; i++) current += C[i * n + i];
      const { rowToCol, total } = await linearSumAssignment(C, n, n, { maximize: true });
      if (total - current > MATCHING_TOLERANCE * Math.max(Math.abs(current), Math.abs(total))) {
        applyPermutationSync(gb.view, rowToCol);
        gb.commit(rowToCol);
        const old = perms.get(id)!;
        perms.set(id, Int32Array.from(rowToCol, (j) => old[j]));
        changed = true;
      }
    }
    const value = matchingObjective(a, b);
    const gain = value - objective[objective.length - 1];
    objective.push(value);
    options.onSweep?.(sweeps, value);
    // With one group the assignment is already optimal given everything else.
    converged = !changed || work.length === 1;
    if (!converged && tol > 0 && gain <= tol * Math.abs(value)) {
      byTolerance = true;
      break;
    }
  }
  const stopped = converged ? 'fixed-point' : byTolerance ? 'tolerance' : 'max-sweeps';
  return { perms, sweeps, converged, stopped, objective };
}

/**
 * One coordinate step over a family: the best structured assignment of every member at once.
 * Each member's similarity is read before any moves, so the step is kept only if the
 * objective, measured after it, grew; otherwise it is undone.
 */
function matchFamily(a: Network, b: Network, family: BlockFamily, perms: Map<number, Int32Array>): boolean {
  const before = matchingObjective(a, b);
  const similarity = family.groups.map((id) => matchingSimilaritySync(groupView(a, id).view, groupView(b, id).view));
  const found = structuredAssignment(similarity, family).perms;
  if (found.every((p) => p.every((j, i) => j === i))) return false;
  family.groups.forEach((id, k) => permuteGroup(b, id, found[k]));
  const after = matchingObjective(a, b);
  if (after - before > MATCHING_TOLERANCE * Math.max(Math.abs(before), Math.abs(after))) {
    family.groups.forEach((id, k) => {
      const old = perms.get(id)!;
      perms.set(id, Int32Array.from(found[k], (j) => old[j]));
    });
    return true;
  }
  family.groups.forEach((id, k) => permuteGroup(b, id, inverse(found[k])));
  return false;
}
