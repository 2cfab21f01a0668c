/**
 * Removing the trivial symmetries, group by group in forward order (a scale
 * factor pushed into the next layer must be there before that layer's own
 * units are normalized):
 * - scale groups: each unit's incoming vector to unit L2 norm (normalizeScale);
 * - sign groups: each unit's sign fixed by its largest incoming weight (fixSign);
 * - canonical form then sorts each group's units by a key (sortPermutation).
 * All of it is exact: the rewritten network computes the same function.
 */
import { type SortKey, applyPermutation, fixSign, normalizeScale, sortPermutation } from './kernels';
import type { Network } from './network';
import { groupView } from './views';

/** What normalization did to each hidden group's units (to undo it in another network). */
export type UnitFactors = Map<number, { scale?: Float64Array; sign?: Int8Array }>;

/**
 * Scale/sign normalization of every hidden group, in place; returns the
 * factors it divided out. In a chain one forward pass is exact. In a residual
 * network a group can feed a layer that writes back into an earlier group
 * (the stream's incoming weights include the block's last layer, whose
 * columns belong to the block's inner group), so normalizing one group
 * disturbs another: passes repeat, like matrix balancing, until every factor
 * is 1 to rounding (at most MAX_PASSES).
 */
export function normalizeNetwork(net: Network): UnitFactors {
  const factors: UnitFactors = new Map();
  for (let pass = 0; pass < MAX_PASSES; pass++) {
    let worst = 0;
    for (const id of net.hidden) {
      const g = net.groups[id];
      if (!g.caps.scale && !g.caps.sign) continue;
      const { view, commit } = groupView(net, id);
      const f = factors.get(id) ?? {};
      if (g.caps.scale) {
        const s = normalizeScale(view);
        for (const v of s) worst = Math.max(worst, Math.abs(v - 1));
        f.scale = f.scale ? f.scale.map((v, i) => v * s[i]) : s;
      }
      if (g.caps.sign) {
        const s = fixSign(view);
        if (s.some((v) => v < 0)) worst = Infinity;
        f.sign = f.sign ? f.sign.map((v, i) => v * s[i]) : s;
      }
      commit();
      factors.set(id, f);
    }
    if (worst <= 1e-12) break;
  }
  return factors;
}

const MAX_PASSES = 200;

/**
 * Multiply each hidden unit back by the factors another network's
 * normalization divided out (incoming ×c, outgoing ×1/c; signs likewise), in
 * place. Used to put aligned B into A's own scale frame, so that A and B can
 * be compared (and interpolated) in A's parameterization.
 */
export function denormalizeNetwork(net: Network, factors: UnitFactors): void {
  for (const [id, f] of factors) {
    const { view, commit } = groupView(net, id);
    const { win, bin, wout, units, fanIn, outRows, block } = view;
    for (let u = 0; u < units; u++) {
      const c = (f.scale ? f.scale[u] : 1) * (f.sign ? f.sign[u] : 1);
      for (let k = 0; k < fanIn; k++) win[u * fanIn + k] *= c;
      bin[u] *= c;
      for (let o = 0; o < outRows; o++) for (let k = 0; k < block; k++) wout[(o * units + u) * block + k] /= c;
    }
    commit();
  }
}

/**
 * The canonical baseline, in place: normalize every group first, then sort
 * each group's units by `key`. (Sorting must wait for the normalization of
 * the *next* group: 'out-norm' reads the next layer's weights, whose rows
 * that group's normalization rescales.)
 */
export function canonicalizeNetwork(net: Network, key: SortKey = 'out-norm'): void {
  normalizeNetwork(net);
  for (const id of net.hidden) {
    const { view, commit } = groupView(net, id);
    applyPermutation(view, sortPermutation(view, key));
    commit();
  }
}
