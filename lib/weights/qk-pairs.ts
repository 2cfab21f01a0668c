/**
 * The Q/K dims of an attention head site (heads.ts) without rotary embeddings: QKᵀ sums q_i·k_i,
 * so Q's row i times c with K's row i divided by c keeps the function, for any c ≠ 0 (c < 0:
 * a joint sign flip). Normalization balances each pair, |Q_i| = |K_i| (rows with their biases),
 * and makes the first producer's entry of largest magnitude positive; the factors are kept so
 * that another network can be put back into this one's frame (symmetry.ts).
 *
 * The group's producers are Q and K (in layer order; which is which does not matter, the
 * second one gets the inverse factor). Rotary embeddings rotate dim i with i + d/2, which a
 * per-dim factor does not commute with: such sites (`heads.pairsFixed`) keep permutation only,
 * as do grouped-query sites (a K dim is shared by several query heads' dims).
 */
import type { Layer, Network } from './network';

/** Whether the group is the Q/K dims of a site whose pairs rescale and flip (caps set by graph/attention.ts). */
export function isQkPairs(net: Network, id: number): boolean {
  const g = net.groups[id];
  return g.heads?.role === 'qk' && (g.caps.scale || g.caps.sign);
}

/** |row u| of a layer, its bias included. */
function rowNorm(l: Layer, u: number): number {
  const cols = l.W.length / l.outUnits;
  let s = l.b[u] ** 2;
  for (let k = 0; k < cols; k++) s += l.W[u * cols + k] ** 2;
  return Math.sqrt(s);
}

/** Row u of a layer (and its bias) times c. */
function scaleRow(l: Layer, u: number, c: number): void {
  const cols = l.W.length / l.outUnits;
  for (let k = 0; k < cols; k++) l.W[u * cols + k] *= c;
  l.b[u] *= c;
}

/** The sign of the entry of largest magnitude of row u, bias last (the first on ties), as fixSign reads it. */
function keySign(l: Layer, u: number): number {
  const cols = l.W.length / l.outUnits;
  let best = 0;
  for (let k = 0; k < cols; k++) if (Math.abs(l.W[u * cols + k]) > Math.abs(best)) best = l.W[u * cols + k];
  if (Math.abs(l.b[u]) > Math.abs(best)) best = l.b[u];
  return best < 0 ? -1 : 1;
}

function producers(net: Network, id: number): [Layer, Layer] {
  const [p, q] = net.groups[id].producers.map((i) => net.layers[i]);
  return [p, q];
}

/** Balance and sign-fix every Q/K pair of the group, in place; the factors (a: the first producer was divided by a·s, the second multiplied by a·s). */
export function normalizeQkPairs(net: Network, id: number): { scale: Float64Array; sign: Int8Array } {
  const [p, q] = producers(net, id);
  const units = net.groups[id].units;
  const scale = new Float64Array(units);
  const sign = new Int8Array(units);
  for (let u = 0; u < units; u++) {
    const [np, nq] = [rowNorm(p, u), rowNorm(q, u)];
    scale[u] = np > 0 && nq > 0 ? Math.sqrt(np / nq) : 1;
    sign[u] = keySign(p, u);
    scaleRow(p, u, sign[u] / scale[u]);
    scaleRow(q, u, sign[u] * scale[u]);
  }
  return { scale, sign };
}

/** Undo normalizeQkPairs's factors (possibly another network's) on this group, in place. */
export function denormalizeQkPairs(net: Network, id: number, f: { scale?: Float64Array; sign?: Int8Array }): void {
  const [p, q] = producers(net, id);
  for (let u = 0; u < net.groups[id].units; u++) {
    const [a, s] = [f.scale?.[u] ?? 1, f.sign?.[u] ?? 1];
    scaleRow(p, u, a * s);
    scaleRow(q, u, s / a);
  }
}
