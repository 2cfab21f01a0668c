/**
 * Grouped-query attention sites (graph/attention.ts): `count` query heads share `kv.count` K/V
 * heads, query heads j·n .. j·n + n − 1 reading K/V head j (n = count / kv.count). Four groups:
 * Q's rows (qk), K's rows (k), V's rows (v), O's columns (vo). The symmetries: K/V heads move
 * as blocks, each carrying its n query heads (Q rows and O columns); the query heads move
 * within their block; within K/V head j one permutation of the Q/K dims (K's rows and the same
 * dims of every query head of the block; none under rotary embeddings) and one of the V/O dims
 * (V's rows and the same columns of O for every query head of the block).
 *
 * - Canonical order, per K/V head: the Q/K dims by their K rows and their Q rows summed over the
 *   block's query heads (a key that cannot depend on the query heads' order), the V/O dims by
 *   their V rows and their O columns (all query heads'), then the query heads by their Q rows
 *   and O columns in those dim orders; last the K/V heads by everything they carry.
 * - Matching, for every pair of K/V heads (A's i, B's j): a first pairing of their query heads
 *   (each pair of query heads scored with its own best dims), then twice the shared dims given
 *   the pairing and the pairing given the dims; the pair's score is the objective of the best
 *   choice, and an assignment of K/V heads on the scores gives the site's permutation.
 */
import { canonicalOrder } from './canonical-order';
import type { HeadSite } from './heads';
import { type LayerWeights, type SortKey, linearSumAssignment, matchingSimilaritySync } from './kernels';
import type { Network } from './network';
import { groupView } from './views';

/** A grouped-query site: the heads.ts site with its K and V groups. */
export type GroupedSite = HeadSite & { kv: { k: number; v: number; count: number } };

const identity = (n: number) => Int32Array.from({ length: n }, (_, i) => i);

interface Views {
  q: LayerWeights;
  k: LayerWeights;
  v: LayerWeights;
  /** O's columns (no incoming weights). */
  o: LayerWeights;
}

function views(net: Network, site: GroupedSite): Views {
  return { q: groupView(net, site.qk).view, k: groupView(net, site.kv.k).view, v: groupView(net, site.kv.v).view, o: groupView(net, site.vo).view };
}

/** A unit's incoming weights then its bias, appended to `out` at `off`; the next offset. */
function putRow(out: Float64Array, off: number, v: LayerWeights, u: number, sign = 1): number {
  for (let c = 0; c < v.fanIn; c++) out[off + c] += sign * v.win[u * v.fanIn + c];
  out[off + v.fanIn] += sign * v.bin[u];
  return off + v.fanIn + 1;
}

/** A view of `units` units with these incoming rows (bias folded in) and outgoing weights. */
function unitsView(units: number, fanIn: number, outRows: number, block: number, fill: (win: Float64Array, wout: Float64Array) => void): LayerWeights {
  const win = new Float64Array(units * fanIn);
  const wout = new Float64Array(outRows * units * block);
  fill(win, wout);
  return { win, bin: new Float64Array(units), wout, units, fanIn, outRows, block };
}

/** The canonical order of the site's four groups (net normalized, upstream groups sorted). */
export function groupedQueryPermutations(net: Network, site: GroupedSite, key: SortKey): Array<[number, Int32Array]> {
  const { q, k, v, o } = views(net, site);
  const { count, qkDim: dq, voDim: dv } = site;
  const kvCount = site.kv.count;
  const n = count / kvCount;
  const qRow = (j: number, m: number, r: number) => (j * n + m) * dq + r;
  const oCol = (j: number, m: number, r: number) => (j * n + m) * dv + r;
  const tau: Int32Array[] = [];
  const rho: Int32Array[] = [];
  const sigma: Int32Array[] = [];
  for (let j = 0; j < kvCount; j++) {
    tau.push(
      site.pairsFixed
        ? identity(dq)
        : canonicalOrder(
            unitsView(dq, k.fanIn + 1 + q.fanIn + 1, 0, 1, (win) => {
              for (let r = 0; r < dq; r++) {
                const off = putRow(win, r * (k.fanIn + q.fanIn + 2), k, j * dq + r);
                for (let m = 0; m < n; m++) putRow(win, off, q, qRow(j, m, r));
              }
            }),
            key,
          ),
    );
    rho.push(
      canonicalOrder(
        unitsView(dv, v.fanIn + 1, o.outRows * n, o.block, (win, wout) => {
          for (let r = 0; r < dv; r++) {
            putRow(win, r * (v.fanIn + 1), v, j * dv + r);
            for (let m = 0; m < n; m++) {
              for (let row = 0; row < o.outRows; row++) {
                const src = (row * o.units + oCol(j, m, r)) * o.block;
                wout.set(o.wout.subarray(src, src + o.block), ((m * o.outRows + row) * dv + r) * o.block);
              }
            }
          }
        }),
        key,
      ),
    );
    sigma.push(
      canonicalOrder(
        unitsView(n, dq * (q.fanIn + 1), o.outRows, dv * o.block, (win, wout) => {
          for (let m = 0; m < n; m++) {
            let off = m * dq * (q.fanIn + 1);
            for (let r = 0; r < dq; r++) off = putRow(win, off, q, qRow(j, m, tau[j][r]));
            for (let row = 0; row < o.outRows; row++) {
              for (let r = 0; r < dv; r++) {
                const src = (row * o.units + oCol(j, m, rho[j][r])) * o.block;
                wout.set(o.wout.subarray(src, src + o.block), ((row * n + m) * dv + r) * o.block);
              }
            }
          }
        }),
        key,
      ),
    );
  }
  const fanIn = dq * (k.fanIn + 1) + dv * (v.fanIn + 1) + n * dq * (q.fanIn + 1);
  const block = n * dv * o.block;
  const pi = canonicalOrder(
    unitsView(kvCount, fanIn, o.outRows, block, (win, wout) => {
      for (let j = 0; j < kvCount; j++) {
        let off = j * fanIn;
        for (let r = 0; r < dq; r++) off = putRow(win, off, k, j * dq + tau[j][r]);
        for (let r = 0; r < dv; r++) off = putRow(win, off, v, j * dv + rho[j][r]);
        for (let m = 0; m < n; m++) for (let r = 0; r < dq; r++) off = putRow(win, off, q, qRow(j, sigma[j][m], tau[j][r]));
        for (let row = 0; row < o.outRows; row++) {
          for (let m = 0; m < n; m++) {
            for (let r = 0; r < dv; r++) {
              const src = (row * o.units + oCol(j, sigma[j][m], rho[j][r])) * o.block;
              wout.set(o.wout.subarray(src, src + o.block), (row * kvCount + j) * block + (m * dv + r) * o.block);
            }
          }
        }
      }
    }),
    key,
  );
  return sitePerms(site, n, (i) => pi[i], (i) => ({ tau: tau[pi[i]], rho: rho[pi[i]], sigma: sigma[pi[i]] }));
}

/**
 * The four groups' permutations (new unit = old unit at the entry) from the K/V head order
 * `head(i)` (the old K/V head at new place i) and that head's inner orders.
 */
function sitePerms(site: GroupedSite, n: number, head: (i: number) => number, inner: (i: number) => { tau: Int32Array; rho: Int32Array; sigma: Int32Array }): Array<[number, Int32Array]> {
  const { qkDim: dq, voDim: dv } = site;
  const kvCount = site.kv.count;
  const q = new Int32Array(kvCount * n * dq);
  const k = new Int32Array(kvCount * dq);
  const v = new Int32Array(kvCount * dv);
  const o = new Int32Array(kvCount * n * dv);
  for (let i = 0; i < kvCount; i++) {
    const j = head(i);
    const { tau, rho, sigma } = inner(i);
    for (let r = 0; r < dq; r++) k[i * dq + r] = j * dq + tau[r];
    for (let r = 0; r < dv; r++) v[i * dv + r] = j * dv + rho[r];
    for (let m = 0; m < n; m++) {
      for (let r = 0; r < dq; r++) q[(i * n + m) * dq + r] = (j * n + sigma[m]) * dq + tau[r];
      for (let r = 0; r < dv; r++) o[(i * n + m) * dv + r] = (j * n + sigma[m]) * dv + rho[r];
    }
  }
  return [
    [site.qk, q],
    [site.kv.k, k],
    [site.kv.v, v],
    [site.vo, o],
  ];
}

/**
 * One coordinate-descent step of weight matching for a grouped-query site (as heads.ts's
 * matchHeads): the structured permutation of B's four groups given everything else.
 */
export async function matchGroupedQuery(a: Network, b: Network, site: GroupedSite): Promise<{ perms: Array<[number, Int32Array]>; current: number; total: number }> {
  const [va, vb] = [views(a, site), views(b, site)];
  const sim = (g: keyof Views) => matchingSimilaritySync(va[g], vb[g]);
  return assignGroupedQuery(site, { q: sim('q'), k: sim('k'), v: sim('v'), o: sim('o') });
}

/**
 * The structured permutation of a grouped-query site maximizing the summed similarity of A's
 * units with B's, given per group (Q rows, K rows, V rows, O columns) as units × units matrices
 * (weight similarities, or activation correlations: activation-matching.ts).
 */
export async function assignGroupedQuery(site: GroupedSite, similarity: Record<keyof Views, Float64Array>): Promise<{ perms: Array<[number, Int32Array]>; current: number; total: number }> {
  const { count, qkDim: dq, voDim: dv } = site;
  const kvCount = site.kv.count;
  const n = count / kvCount;
  const sized = (C: Float64Array) => ({ C, size: Math.round(Math.sqrt(C.length)) });
  const C = { q: sized(similarity.q), k: sized(similarity.k), v: sized(similarity.v), o: sized(similarity.o) };
  const at = (s: { C: Float64Array; size: number }, x: number, y: number) => s.C[x * s.size + y];
  let current = 0;
  for (const s of Object.values(C)) for (let x = 0; x < s.size; x++) current += at(s, x, x);
  const lsa = async (S: Float64Array, size: number) => linearSumAssignment(S, size, size, { maximize: true });
  /** The best order of B's dims of K/V head j for A's i: its K (V) rows and, for each query head m of A's block, Q rows (O columns) of B's query head match(m). */
  const dims = async (kv: { C: Float64Array; size: number }, per: { C: Float64Array; size: number }, dim: number, i: number, j: number, match: Int32Array) => {
    const S = new Float64Array(dim * dim);
    for (let r = 0; r < dim; r++) {
      for (let c = 0; c < dim; c++) {
        let s = at(kv, i * dim + r, j * dim + c);
        for (let m = 0; m < n; m++) s += at(per, (i * n + m) * dim + r, (j * n + match[m]) * dim + c);
        S[r * dim + c] = s;
      }
    }
    return (await lsa(S, dim)).rowToCol;
  };
  /** The best within-block dims of one pair of query heads, each on its own (a first guess at which query heads pair). */
  const alone = async (per: { C: Float64Array; size: number }, dim: number, x: number, y: number, fixed: boolean) => {
    const S = new Float64Array(dim * dim);
    for (let r = 0; r < dim; r++) for (let c = 0; c < dim; c++) S[r * dim + c] = at(per, x * dim + r, y * dim + c);
    if (!fixed) return (await lsa(S, dim)).total;
    let s = 0;
    for (let r = 0; r < dim; r++) s += S[r * dim + r];
    return s;
  };
  const score = new Float64Array(kvCount * kvCount);
  const inner: Array<{ tau: Int32Array; rho: Int32Array; sigma: Int32Array }> = [];
  for (let i = 0; i < kvCount; i++) {
    for (let j = 0; j < kvCount; j++) {
      const S = new Float64Array(n * n);
      for (let m = 0; m < n; m++) {
        for (let p = 0; p < n; p++) S[m * n + p] = (await alone(C.q, dq, i * n + m, j * n + p, site.pairsFixed)) + (await alone(C.o, dv, i * n + m, j * n + p, false));
      }
      let sigma = (await lsa(S, n)).rowToCol;
      let best: { tau: Int32Array; rho: Int32Array; sigma: Int32Array; value: number } = { tau: identity(dq), rho: identity(dv), sigma, value: -Infinity };
      // The shared dims given the query heads' pairing, then the pairing given the dims: twice.
      for (let round = 0; round < 2; round++) {
        const tau = site.pairsFixed ? identity(dq) : await dims(C.k, C.q, dq, i, j, sigma);
        const rho = await dims(C.v, C.o, dv, i, j, sigma);
        for (let m = 0; m < n; m++) {
          for (let p = 0; p < n; p++) {
            let s = 0;
            for (let r = 0; r < dq; r++) s += at(C.q, (i * n + m) * dq + r, (j * n + p) * dq + tau[r]);
            for (let r = 0; r < dv; r++) s += at(C.o, (i * n + m) * dv + r, (j * n + p) * dv + rho[r]);
            S[m * n + p] = s;
          }
        }
        const pairing = await lsa(S, n);
        sigma = pairing.rowToCol;
        let value = pairing.total;
        for (let r = 0; r < dq; r++) value += at(C.k, i * dq + r, j * dq + tau[r]);
        for (let r = 0; r < dv; r++) value += at(C.v, i * dv + r, j * dv + rho[r]);
        if (value > best.value) best = { tau, rho, sigma, value };
      }
      score[i * kvCount + j] = best.value;
      inner[i * kvCount + j] = best;
    }
  }
  const { rowToCol: heads, total } = await linearSumAssignment(score, kvCount, kvCount, { maximize: true });
  return { perms: sitePerms(site, n, (i) => heads[i], (i) => inner[i * kvCount + heads[i]]), current, total };
}
