/**
 * The Q/K rescaling of an attention head site (heads.ts): QKᵀ sums q_i·k_i, so K's row i times c
 * with Q's row i divided by c keeps the function, for any c ≠ 0 (c < 0: a joint sign flip).
 * A *scale unit* is the rows one factor moves:
 * - without rotary embeddings, one dim: Q's row and K's row;
 * - under rotary embeddings, which rotate dim i with i + d/2 (a linear map of the pair), one
 *   pair: rows i and i + d/2 of Q and of K (a common factor commutes with the rotation);
 * - grouped-query attention (a K head shared by n query heads): K's row(s) and the same row(s)
 *   of every query head of its block.
 * Normalization balances each unit, |first side| = |second side| (rows with their biases), and
 * makes the first side's entry of largest magnitude positive; the factors are kept so that
 * another network can be put back into this one's frame (symmetry.ts).
 *
 * The first side is the group's first producer (a plain site: Q or K, in layer order; which is
 * which does not matter) or K (grouped-query). Caps are set by graph/attention.ts.
 */
import type { Layer, Network } from './network';

/** Whether the group is the Q/K dims of a site whose pairs rescale and flip (caps set by graph/attention.ts). */
export function isQkPairs(net: Network, id: number): boolean {
  const g = net.groups[id];
  return g.heads?.role === 'qk' && (g.caps.scale || g.caps.sign);
}

/** The two layers one factor rescales against each other, and per scale unit the rows of each. */
interface ScaleUnits {
  first: Layer;
  second: Layer;
  units: Array<{ first: number[]; second: number[] }>;
}

function scaleUnits(net: Network, id: number): ScaleUnits {
  const g = net.groups[id];
  const h = g.heads!;
  const d = h.dim;
  // The rows of one head a factor moves, per unit: a dim, or a rotary pair.
  const within: number[][] = h.rotaryPairs ? Array.from({ length: d / 2 }, (_, i) => [i, i + d / 2]) : Array.from({ length: d }, (_, i) => [i]);
  if (!h.kv) {
    const [first, second] = g.producers.map((i) => net.layers[i]);
    const units = Array.from({ length: h.count }, (_, head) => within.map((rows) => rows.map((r) => head * d + r))).flat();
    return { first, second, units: units.map((rows) => ({ first: rows, second: rows })) };
  }
  const n = h.count / h.kv.count;
  const units: ScaleUnits['units'] = [];
  for (let j = 0; j < h.kv.count; j++) {
    for (const rows of within) {
      const second: number[] = [];
      for (let m = 0; m < n; m++) for (const r of rows) second.push((j * n + m) * d + r);
      units.push({ first: rows.map((r) => j * d + r), second });
    }
  }
  return { first: net.layers[net.groups[h.kv.group].producers[0]], second: net.layers[g.producers[0]], units };
}

/** |rows| of a layer, their biases included. */
function rowsNorm(l: Layer, rows: number[]): number {
  const cols = l.W.length / l.outUnits;
  let s = 0;
  for (const u of rows) {
    s += l.b[u] ** 2;
    for (let k = 0; k < cols; k++) s += l.W[u * cols + k] ** 2;
  }
  return Math.sqrt(s);
}

/** Rows of a layer (and their biases) times c. */
function scaleRows(l: Layer, rows: number[], c: number): void {
  const cols = l.W.length / l.outUnits;
  for (const u of rows) {
    for (let k = 0; k < cols; k++) l.W[u * cols + k] *= c;
    l.b[u] *= c;
  }
}

/** The sign of the entry of largest magnitude of the rows, each row's bias after it (the first on ties), as fixSignSync reads a row. */
function keySign(l: Layer, rows: number[]): number {
  const cols = l.W.length / l.outUnits;
  let best = 0;
  for (const u of rows) {
    for (let k = 0; k < cols; k++) if (Math.abs(l.W[u * cols + k]) > Math.abs(best)) best = l.W[u * cols + k];
    if (Math.abs(l.b[u]) > Math.abs(best)) best = l.b[u];
  }
  return best < 0 ? -1 : 1;
}

/** Balance and sign-fix every scale unit of the group, in place; the factors (a: the first side was divided by a·s, the second multiplied by a·s). */
export function normalizeQkPairs(net: Network, id: number): { scale: Float64Array; sign: Int8Array } {
  const { first, second, units } = scaleUnits(net, id);
  const scale = new Float64Array(units.length);
  const sign = new Int8Array(units.length);
  units.forEach((rows, u) => {
    const [nf, ns] = [rowsNorm(first, rows.first), rowsNorm(second, rows.second)];
    scale[u] = nf > 0 && ns > 0 ? Math.sqrt(nf / ns) : 1;
    sign[u] = keySign(first, rows.first);
    scaleRows(first, rows.first, sign[u] / scale[u]);
    scaleRows(second, rows.second, sign[u] * scale[u]);
  });
  return { scale, sign };
}

/** Undo normalizeQkPairs's factors (possibly another network's) on this group, in place. */
export function denormalizeQkPairs(net: Network, id: number, f: { scale?: Float64Array; sign?: Int8Array }): void {
  const { first, second, units } = scaleUnits(net, id);
  units.forEach((rows, u) => {
    const [a, s] = [f.scale?.[u] ?? 1, f.sign?.[u] ?? 1];
    scaleRows(first, rows.first, a * s);
    scaleRows(second, rows.second, s / a);
  });
}
