/**
 * The V/O rescaling of a grouped-query attention site (grouped-query.ts): every query head of
 * K/V head j's block reads the same V rows, so V's row (j, r) times c with O's columns
 * (j·n + m, r) of every query head m of the block divided by c keeps the function (c < 0: a
 * sign flip). The factors live on the V group ('v', caps set by graph/attention.ts).
 * Normalization makes each V row (with its bias) unit-norm and its entry of largest magnitude
 * positive, as normalizeScaleSync and fixSignSync do for a plain group; the O columns take the inverse.
 */
import type { Network } from './network';
import { groupView } from './views';

/** Whether the group is a grouped-query site's V rows that rescale and flip. */
export function isGroupedVo(net: Network, id: number): boolean {
  const g = net.groups[id];
  return g.heads?.role === 'v' && (g.caps.scale || g.caps.sign);
}

/** V row u times c(u), O's columns of every query head reading it divided by c(u), in place. */
function scaleVo(net: Network, id: number, c: (u: number) => number): void {
  const h = net.groups[id].heads!;
  const o = net.groups[h.partner].heads!;
  const n = o.count / h.count;
  const v = groupView(net, id);
  const out = groupView(net, h.partner);
  const { win, bin, fanIn } = v.view;
  const { wout, units, outRows, block } = out.view;
  for (let u = 0; u < net.groups[id].units; u++) {
    const cu = c(u);
    for (let k = 0; k < fanIn; k++) win[u * fanIn + k] *= cu;
    bin[u] *= cu;
    const [j, r] = [Math.floor(u / h.dim), u % h.dim];
    for (let m = 0; m < n; m++) {
      const col = (j * n + m) * h.dim + r;
      for (let row = 0; row < outRows; row++) for (let k = 0; k < block; k++) wout[(row * units + col) * block + k] /= cu;
    }
  }
  v.commit();
  out.commit();
}

/** Normalize every V row of the site (unit norm, largest entry positive); the factors divided out. */
export function normalizeGroupedVo(net: Network, id: number): { scale: Float64Array; sign: Int8Array } {
  const { win, bin, fanIn, units } = groupView(net, id).view;
  const scale = new Float64Array(units);
  const sign = new Int8Array(units);
  for (let u = 0; u < units; u++) {
    let ss = bin[u] ** 2;
    let best = 0;
    for (let k = 0; k < fanIn; k++) {
      const x = win[u * fanIn + k];
      ss += x * x;
      if (Math.abs(x) > Math.abs(best)) best = x;
    }
    if (Math.abs(bin[u]) > Math.abs(best)) best = bin[u];
    scale[u] = ss > 0 ? Math.sqrt(ss) : 1;
    sign[u] = best < 0 ? -1 : 1;
  }
  scaleVo(net, id, (u) => sign[u] / scale[u]);
  return { scale, sign };
}

/** Undo normalizeGroupedVo's factors (possibly another network's), in place. */
export function denormalizeGroupedVo(net: Network, id: number, f: { scale?: Float64Array; sign?: Int8Array }): void {
  scaleVo(net, id, (u) => (f.scale?.[u] ?? 1) * (f.sign?.[u] ?? 1));
}
