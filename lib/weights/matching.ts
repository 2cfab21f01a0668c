/**
 * Weight matching (Ainsworth et al. 2022, "Git Re-Basin"): find the
 * permutation of B's hidden units that best matches A, by coordinate descent
 * over the hidden groups. Start from the identity; each sweep visits the
 * groups in a seeded random order, and for each builds
 *   C = matchingSimilarity(A's group, B's group)
 * (B's neighbouring groups already permuted, since B is kept permuted in
 * place) and takes the assignment maximizing Σ C. A new assignment is only
 * accepted when it beats the current one by more than a float32-aware
 * relative tolerance, so the objective never decreases, a network aligned to
 * itself keeps the identity, and rounding cannot make it cycle. Stops after
 * a sweep with no accepted change (a single group needs one sweep), or after
 * `maxSweeps`.
 */
import { createRng } from '../util/rng';
import { applyPermutation, linearSumAssignment, matchingSimilarity } from './kernels';
import type { Network } from './network';
import { groupView } from './views';

/** Improvements below this fraction of the objective are float32 noise. */
export const MATCHING_TOLERANCE = 4 * 2 ** -23;

export interface MatchingOptions {
  /** Seed for the order layers are visited in. Default 0. */
  seed?: number;
  /** Default 100. */
  maxSweeps?: number;
}

export interface MatchingResult {
  /** Per hidden group id: new unit i of B = original unit perm[i]. */
  perms: Map<number, Int32Array>;
  /** Sweeps run (including the final one that changed nothing, unless only one group). */
  sweeps: number;
  converged: boolean;
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

/** Permutes `b` in place into `a`'s frame. Both must already be scale/sign normalized. */
export async function weightMatching(a: Network, b: Network, options: MatchingOptions = {}): Promise<MatchingResult> {
  const rng = createRng(options.seed ?? 0);
  const maxSweeps = options.maxSweeps ?? 100;
  const perms = new Map(b.hidden.map((id) => [id, identity(b.groups[id].units)]));
  const objective = [matchingObjective(a, b)];
  let sweeps = 0;
  let converged = b.hidden.length === 0;
  while (!converged && sweeps < maxSweeps) {
    sweeps++;
    let changed = false;
    for (const id of rng.shuffle(b.hidden.slice())) {
      const va = groupView(a, id).view;
      const gb = groupView(b, id);
      const n = va.units;
      const C = matchingSimilarity(va, gb.view);
      let current = 0;
      for (let i = 0; i < n; i++) current += C[i * n + i];
      const { rowToCol, total } = await linearSumAssignment(C, n, n, { maximize: true });
      if (total - current > MATCHING_TOLERANCE * Math.max(Math.abs(current), Math.abs(total))) {
        applyPermutation(gb.view, rowToCol);
        gb.commit(rowToCol);
        const old = perms.get(id)!;
        perms.set(id, Int32Array.from(rowToCol, (j) => old[j]));
        changed = true;
      }
    }
    objective.push(matchingObjective(a, b));
    // With one group the assignment is already optimal given everything else.
    converged = !changed || b.hidden.length === 1;
  }
  return { perms, sweeps, converged, objective };
}
