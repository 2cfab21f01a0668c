/**
 * Removing the trivial symmetries, group by group in forward order (a scale
 * factor pushed into the next layer must be there before that layer's own
 * units are normalized):
 * - scale groups: each unit's incoming vector to unit L2 norm (normalizeScaleSync);
 * - sign groups: each unit's sign fixed by its largest incoming weight (fixSignSync);
 * - attention's Q/K dims: each Q/K pair (rotary pair, grouped-query K dim) balanced and sign-fixed (qk-pairs.ts);
 * - grouped-query attention's V rows: unit norm, sign-fixed, O's columns of the block inverse (grouped-vo.ts);
 * - canonical form then sorts each group's units by a key, ties broken by
 *   secondary keys (canonical-order.ts); attention heads as whole heads and dims within a
 *   head (heads.ts); grouped convolutions' groups in blocks (unit-blocks.ts).
 * All of it is exact: the rewritten network computes the same function.
 */
import { type OnCanonicalProgress, stageReporter } from './canonical-progress';
import { type LayerWeights, type SortKey, fixSignSync, normalizeScaleSync } from './kernels';
import type { Network } from './network';
import { scaleThroughChannelwise } from './channelwise-scale';
import { denormalizeGroupedVo, isGroupedVo, normalizeGroupedVo } from './grouped-vo';
import { denormalizeQkPairs, isQkPairs, normalizeQkPairs } from './qk-pairs';
import { flipRecurrentUnits, recurrentSigns } from './recurrent-sign';
import { sortHiddenGroups } from './unit-blocks';
import { groupView } from './views';

/** What normalization did to each hidden group's units (to undo it in another network). */
export type UnitFactors = Map<number, { scale?: Float64Array; sign?: Int8Array }>;

/**
 * Scale/sign normalization of every hidden group, in forward order, in
 * place; returns the factors it divided out. A residual stream is written by
 * several layers, and some of them read groups downstream of the stream (a
 * block's last layer reads the block's inner units), so a norm over all of
 * them would depend on those groups' scales and unit-norm balancing can have
 * no solution at all. A stream's factor (and sign key) therefore comes only
 * from its upstream producers — those reading a fixed or earlier group —
 * while the factor is still applied to every producer and consumer.
 */
export function normalizeNetwork(net: Network, report?: (step: number, steps: number) => void): UnitFactors {
  const factors: UnitFactors = new Map();
  const order = new Map(net.hidden.map((id, i) => [id, i]));
  report?.(0, net.hidden.length);
  for (const [i, id] of net.hidden.entries()) {
    if (i > 0) report?.(i, net.hidden.length); // the groups before this one done
    const g = net.groups[id];
    if (!g.caps.scale && !g.caps.sign) continue;
    if (isQkPairs(net, id)) {
      // Q's row times c with K's row divided by c (qk-pairs.ts).
      factors.set(id, normalizeQkPairs(net, id));
      continue;
    }
    if (isGroupedVo(net, id)) {
      // V's row times c with the O columns of every query head reading it divided by c (grouped-vo.ts).
      factors.set(id, normalizeGroupedVo(net, id));
      continue;
    }
    if (g.recurrent) {
      // Sign only, gate by gate (recurrent-sign.ts); the kernels see a permutation group.
      // Both directions of one shared initial state at once, at the first of them.
      const tied = g.recurrent.signWith === undefined ? [id] : [id, g.recurrent.signWith];
      if (tied.some((t) => factors.has(t))) continue;
      const sign = recurrentSigns(net, ...tied);
      for (const t of tied) {
        flipRecurrentUnits(net, t, sign);
        factors.set(t, { sign });
      }
      continue;
    }
    const f: { scale?: Float64Array; sign?: Int8Array } = {};
    // Depthwise filters along the group keep their values under a unit's scale (channelwise-scale.ts).
    const channelwise = g.channelwise.length > 0;
    if (g.producers.length === 1 && !channelwise) {
      const { view, commit } = groupView(net, id);
      if (g.caps.scale) f.scale = normalizeScaleSync(view);
      if (g.caps.sign) f.sign = fixSignSync(view);
      commit();
    } else {
      const upstream = g.producers
        .map((p) => net.layers[p])
        .filter((l) => net.groups[l.inGroup].fixed || (order.get(l.inGroup) ?? Infinity) < order.get(id)!);
      if (g.caps.scale) {
        f.scale = Float64Array.from({ length: g.units }, (_, u) => {
          let ss = 0;
          for (const l of upstream) {
            const cols = l.W.length / g.units;
            for (let k = 0; k < cols; k++) ss += l.W[u * cols + k] ** 2;
            ss += l.b[u] ** 2;
          }
          return ss > 0 ? Math.sqrt(ss) : 1;
        });
      }
      if (g.caps.sign) {
        f.sign = Int8Array.from({ length: g.units }, (_, u) => {
          // The upstream entry of largest magnitude (first on ties) decides, as fixSignSync does.
          let best = 0;
          for (const l of upstream) {
            const cols = l.W.length / g.units;
            for (let k = 0; k < cols; k++) if (Math.abs(l.W[u * cols + k]) > Math.abs(best)) best = l.W[u * cols + k];
            if (Math.abs(l.b[u]) > Math.abs(best)) best = l.b[u];
          }
          return best < 0 ? -1 : 1;
        });
      }
      scaleGroup(net, id, (u) => 1 / ((f.scale ? f.scale[u] : 1) * (f.sign ? f.sign[u] : 1)));
    }
    factors.set(id, f);
  }
  report?.(net.hidden.length, net.hidden.length);
  return factors;
}

/** Every unit of a group times c(u): through its view, or layer by layer when depthwise filters lie along it. */
function scaleGroup(net: Network, id: number, c: (u: number) => number): void {
  if (net.groups[id].channelwise.length) return scaleThroughChannelwise(net, id, c);
  const { view, commit } = groupView(net, id);
  scaleUnits(view, c);
  commit();
}

/** Incoming weights and bias of unit u times c(u), outgoing weights divided by it. */
function scaleUnits(view: LayerWeights, c: (u: number) => number): void {
  const { win, bin, wout, units, fanIn, outRows, block } = view;
  for (let u = 0; u < units; u++) {
    const cu = c(u);
    for (let k = 0; k < fanIn; k++) win[u * fanIn + k] *= cu;
    bin[u] *= cu;
    for (let o = 0; o < outRows; o++) for (let k = 0; k < block; k++) wout[(o * units + u) * block + k] /= cu;
  }
}

/**
 * Multiply each hidden unit back by the factors another network's
 * normalization divided out (incoming ×c, outgoing ×1/c; signs likewise), in
 * place. Used to put aligned B into A's own scale frame, so that A and B can
 * be compared (and interpolated) in A's parameterization.
 */
export function denormalizeNetwork(net: Network, factors: UnitFactors): void {
  for (const [id, f] of factors) {
    if (isQkPairs(net, id)) {
      denormalizeQkPairs(net, id, f);
      continue;
    }
    if (isGroupedVo(net, id)) {
      denormalizeGroupedVo(net, id, f);
      continue;
    }
    if (net.groups[id].recurrent) {
      flipRecurrentUnits(net, id, f.sign!);
      continue;
    }
    scaleGroup(net, id, (u) => (f.scale ? f.scale[u] : 1) * (f.sign ? f.sign[u] : 1));
  }
}

/**
 * The canonical baseline, in place: normalize every group first, then sort
 * each group's units by `key`. (Sorting must wait for the normalization of
 * the *next* group: 'out-norm' reads the next layer's weights, whose rows
 * that group's normalization rescales.)
 */
export function canonicalizeNetwork(net: Network, key: SortKey = 'out-norm', onProgress?: OnCanonicalProgress, model = ''): void {
  normalizeNetwork(net, onProgress && stageReporter(onProgress, model, 'normalize'));
  sortHiddenGroups(net, key, onProgress && stageReporter(onProgress, model, 'sort'));
}
