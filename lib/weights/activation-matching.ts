/**
 * Activation matching: run both (scale/sign-normalized) networks on the
 * probe set with each hidden group's tensor exposed as an extra output,
 * correlate A's units with B's (Pearson, over samples and spatial
 * positions), and per group take the assignment maximizing the summed
 * correlation. Groups are matched independently (no coordinate descent
 * needed: activations do not depend on the other groups' permutations).
 * Ties (units constant on the probe set) are broken by incoming weights.
 * Attention head sites (heads.ts) are matched as one structured assignment on the correlations
 * of the tensors their units are seen in.
 */
import { ModeldiffError } from '../errors';
import { type HiddenTensor, hiddenActivations } from '../infer/hidden';
import { encodeOnnx } from '../io/onnx';
import type { ProbeData } from '../io/probe';
import { featureGrams } from '../represent/gram';
import { tokenRows } from '../represent/activations';
import type { Matrix } from '../matrix';
import { type LayerWeights, applyPermutationSync, linearSumAssignment, matchingSimilaritySync } from './kernels';
import type { Network } from './network';
import { type GroupedSite, assignGroupedQuery } from './grouped-query';
import { type HeadSite, assignHeads, headSite, unitsOfWork } from './heads';
import { familyOf, permuteGroup, structuredAssignment } from './unit-blocks';
import { groupView } from './views';
import { writeNetwork } from './writeback';

export interface ActivationMatchingResult {
  perms: Map<number, Int32Array>;
  /** Mean matched correlation per hidden group id. */
  correlation: Map<number, number>;
}

/**
 * Permutes `b` in place into `a`'s frame by activation correlation on `probe`, fed as `cka` feeds
 * it (several named inputs, int64 token ids); a sequence model's [n, s, units] tensors are read
 * token-level (unmasked positions as samples), as `cka` reads them.
 */
export async function activationMatching(a: Network, b: Network, probe: ProbeData): Promise<ActivationMatchingResult> {
  // Attention heads permute only in structured ways (heads.ts): each site once, below.
  const hidden = a.hidden.filter((id) => !a.groups[id].heads);
  const sites = unitsOfWork(a).flatMap((id) => headSite(a, id) ?? []);
  const names = hidden.map((id) => a.groups[id].tensor!);
  const namesB = hidden.map((id) => b.groups[id].tensor!);
  const siteTensors = (net: Network) => sites.flatMap((site) => siteGroups(site).flatMap((g) => unitSources(net, g).map((u) => u.tensor)));
  const [actA, actB] = await Promise.all([
    hiddenActivations(encodeOnnx(writeNetwork(a)), [...new Set([...names, ...siteTensors(a)])], probe),
    hiddenActivations(encodeOnnx(writeNetwork(b)), [...new Set([...namesB, ...siteTensors(b)])], probe),
  ]);
  const rowsA = tokenRows(a.model, probe);
  const rowsB = tokenRows(b.model, probe);
  const perms = new Map<number, Int32Array>();
  const correlation = new Map<number, number>();
  for (const id of a.hidden) if (a.groups[id].heads) perms.set(id, Int32Array.from({ length: a.groups[id].units }, (_, i) => i));
  const similarity = async (id: number) => {
    const h = hidden.indexOf(id);
    const units = a.groups[id].units;
    const last = Boolean(a.groups[id].tensorChannelLast);
    // A cell of a layer's units (graph/unit-cells.ts) is some of its tensor's channels.
    const pick = (t: HiddenTensor, channels?: Int32Array) => (channels ? someChannels(t, channels) : t);
    const ta = pick(actA[names[h]], a.groups[id].tensorChannels);
    const tb = pick(actB[namesB[h]], b.groups[id].tensorChannels);
    const C = await unitCorrelation(unitMatrix(ta, units, names[h], last, rowsA), unitMatrix(tb, units, namesB[h], last, rowsB));
    const tie = incomingCosine(groupView(a, id).view, groupView(b, id).view);
    for (let i = 0; i < C.length; i++) C[i] += TIE_BREAK * tie[i];
    return C;
  };
  for (const id of hidden) {
    const units = a.groups[id].units;
    const family = familyOf(b, id);
    if (family) {
      // Grouped convolutions' groups: one structured assignment for the family (./unit-blocks.ts), at its first member.
      if (family.groups[0] !== id) continue;
      const Cs: Float64Array[] = [];
      for (const m of family.groups) Cs.push(await similarity(m));
      const found = structuredAssignment(Cs, family).perms;
      family.groups.forEach((m, k) => {
        const n = b.groups[m].units;
        permuteGroup(b, m, found[k]);
        perms.set(m, found[k]);
        correlation.set(m, found[k].reduce((s, j, i) => s + Cs[k][i * n + j], 0) / n);
      });
      continue;
    }
    const C = await similarity(id);
    const gb = groupView(b, id);
    const { rowToCol, total } = await linearSumAssignment(C, units, units, { maximize: true });
    applyPermutationSync(gb.view, rowToCol);
    gb.commit(rowToCol);
    perms.set(id, rowToCol);
    correlation.set(id, total / units);
  }
  for (const site of sites) {
    // Per group, the correlations of the tensors its units are seen in, summed (Q's and K's
    // outputs for Q/K units; V's output and O's input for V/O units).
    const C = new Map<number, Float64Array>();
    for (const g of siteGroups(site)) {
      const [sa, sb] = [unitSources(a, g), unitSources(b, g)];
      const ma = sa.map((u) => sourceMatrix(actA[u.tensor], u, rowsA));
      const mb = sb.map((u) => sourceMatrix(actB[u.tensor], u, rowsB));
      if (ma.some((m) => !m) || mb.some((m) => !m)) break;
      const sum = new Float64Array(a.groups[g].units ** 2);
      for (let k = 0; k < ma.length; k++) (await unitCorrelation(ma[k]!, mb[k]!)).forEach((v, i) => (sum[i] += v / ma.length));
      C.set(g, sum);
    }
    // Units not on a tensor's last axis: the site keeps its units in place.
    if (C.size !== siteGroups(site).length) {
      for (const g of siteGroups(site)) perms.set(g, Int32Array.from({ length: a.groups[g].units }, (_, i) => i));
      continue;
    }
    const found = site.kv
      ? await assignGroupedQuery(site as GroupedSite, { q: C.get(site.qk)!, k: C.get(site.kv.k)!, v: C.get(site.kv.v)!, o: C.get(site.vo)! })
      : await assignHeads(site, C.get(site.qk)!, C.get(site.vo)!);
    for (const [g, perm] of found.perms) {
      permuteGroup(b, g, perm);
      perms.set(g, perm);
      correlation.set(g, perm.reduce((s, j, i) => s + C.get(g)![i * perm.length + j], 0) / perm.length);
    }
  }
  return { perms, correlation };
}

/** The groups of a head site: Q/K and V/O, and a grouped-query site's K and V rows. */
function siteGroups(site: HeadSite): number[] {
  return site.kv ? [site.qk, site.kv.k, site.kv.v, site.vo] : [site.qk, site.vo];
}

/** A tensor a group's units are seen in: its last axis from `offset` (a fused q|k|v projection's part), `total` wide. */
interface UnitSource {
  tensor: string;
  offset: number;
  units: number;
  total: number;
}

/** Where a head group's units are seen: its producers' outputs, and the inputs of the layers reading it (O's, for V/O). */
function unitSources(net: Network, id: number): UnitSource[] {
  const g = net.groups[id];
  const nodes = net.model.proto.graph!.node!;
  const out = g.producers.map((i) => {
    const l = net.layers[i];
    return { tensor: (nodes[l.addNode ?? l.node].output ?? [])[0], offset: l.rows?.offset ?? 0, units: g.units, total: l.rows?.total ?? l.outUnits };
  });
  for (const i of g.consumers) out.push({ tensor: (nodes[net.layers[i].node].input ?? [])[0], offset: 0, units: g.units, total: g.units });
  return out;
}

/**
 * A source's units as a rows × units matrix: token-level on a sequence model's [n, s, units];
 * otherwise every position a row, whatever the layout ([N·S, units] or nn.MultiheadAttention's
 * [S, N, units], read for the first batch only: infer/hidden.ts), the same rows in A and B.
 * Undefined when the units are not the last axis.
 */
function sourceMatrix(t: HiddenTensor, u: UnitSource, tokenLevel: ReturnType<typeof tokenRows>): Matrix | undefined {
  if (t.dims[t.dims.length - 1] !== u.total) return undefined;
  const all = (t.perSample ? tokenLevel(t.data, t.dims) : undefined) ?? { data: t.data, n: t.data.length / u.total, k: u.total };
  if (u.offset === 0 && u.units === u.total) return all;
  const data = new Float32Array(all.n * u.units);
  for (let r = 0; r < all.n; r++) data.set(all.data.subarray(r * u.total + u.offset, r * u.total + u.offset + u.units), r * u.units);
  return { data, n: all.n, k: u.units };
}

/**
 * Units the probe set cannot tell apart (dead ReLUs correlate with nothing)
 * are matched by their incoming weights instead: the cosine of their
 * incoming vectors, scaled far below any meaningful correlation difference.
 * Groups run in forward order, so B's incoming side is already permuted.
 */
const TIE_BREAK = 1e-6;

function incomingCosine(a: LayerWeights, b: LayerWeights): Float64Array {
  const only = (v: LayerWeights): LayerWeights => ({ ...v, wout: new Float64Array(0), outRows: 0, block: 1 });
  const S = matchingSimilaritySync(only(a), only(b));
  const norms = (v: LayerWeights) =>
    Float64Array.from({ length: v.units }, (_, u) => {
      let ss = v.bin[u] ** 2;
      for (let k = 0; k < v.fanIn; k++) ss += v.win[u * v.fanIn + k] ** 2;
      return Math.sqrt(ss) || 1;
    });
  const na = norms(a);
  const nb = norms(b);
  for (let i = 0; i < a.units; i++) for (let j = 0; j < b.units; j++) S[i * b.units + j] /= na[i] * nb[j];
  return S;
}

/**
 * [batch, units, rest...] (or flattened channel-major [batch, units·rest], or
 * channel-last [batch, rest..., units]) as
 * a samples × units matrix, every spatial position of every sample a row;
 * a sequence model's [batch, s, units] as its unmasked token positions.
 */
function unitMatrix(t: HiddenTensor, units: number, name: string, channelLast: boolean, tokenLevel: ReturnType<typeof tokenRows>): Matrix {
  const tokens = channelLast ? tokenLevel(t.data, t.dims) : undefined;
  if (tokens && tokens.k === units) return tokens;
  const batch = t.dims[0];
  const R = t.data.length / (batch * units);
  if (!Number.isInteger(R) || R === 0) {
    throw new ModeldiffError('MODEL_OUTPUT', `hidden tensor "${name}" [${t.dims}] does not hold ${units} units per sample`);
  }
  // Channel-last (NHWC) tensors already are (batch·positions) × units.
  if (R === 1 || channelLast) return { data: t.data, n: batch * R, k: units };
  const data = new Float32Array(t.data.length);
  for (let n = 0; n < batch; n++) {
    for (let u = 0; u < units; u++) {
      const src = (n * units + u) * R;
      for (let r = 0; r < R; r++) data[(n * R + r) * units + u] = t.data[src + r];
    }
  }
  return { data, n: batch * R, k: units };
}

/** These channels (axis 1) of a [batch, channels, ...] tensor. */
function someChannels(t: HiddenTensor, channels: Int32Array): HiddenTensor {
  const [batch, C] = t.dims;
  const rest = t.data.length / (batch * C);
  const data = new Float32Array(batch * channels.length * rest);
  for (let n = 0; n < batch; n++) {
    channels.forEach((c, i) => data.set(t.data.subarray((n * C + c) * rest, (n * C + c + 1) * rest), (n * channels.length + i) * rest));
  }
  return { ...t, data, dims: [batch, channels.length, ...t.dims.slice(2)] };
}

/**
 * Pearson correlation of every A unit with every B unit (units × units,
 * row-major), from the centered cross-Gram (C++ kernel, float64). A unit
 * constant on the probe set (a dead ReLU) correlates with nothing: 0.
 */
async function unitCorrelation(a: Matrix, b: Matrix): Promise<Float64Array> {
  const g = await featureGrams(a, b);
  const units = a.k;
  const C = new Float64Array(units * units);
  for (let i = 0; i < units; i++) {
    const vi = g.xx[i * units + i];
    for (let j = 0; j < units; j++) {
      const vj = g.yy[j * units + j];
      C[i * units + j] = vi > 0 && vj > 0 ? g.xy[i * units + j] / Math.sqrt(vi * vj) : 0;
    }
  }
  return C;
}
