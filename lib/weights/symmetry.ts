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

/** Scale/sign normalization of every hidden group, in place. */
export function normalizeNetwork(net: Network): void {
  for (const id of net.hidden) {
    const g = net.groups[id];
    if (!g.caps.scale && !g.caps.sign) continue;
    const { view, commit } = groupView(net, id);
    if (g.caps.scale) normalizeScale(view);
    if (g.caps.sign) fixSign(view);
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
