/**
 * Activation matching: run both (scale/sign-normalized) networks on the
 * probe set with each hidden group's tensor exposed as an extra output,
 * correlate A's units with B's (Pearson, over samples and spatial
 * positions), and per group take the assignment maximizing the summed
 * correlation. Groups are matched independently (no coordinate descent
 * needed: activations do not depend on the other groups' permutations).
 * Ties (units constant on the probe set) are broken by incoming weights.
 */
import { ModeldiffError } from '../errors';
import { type HiddenTensor, hiddenActivations } from '../infer/hidden';
import { encodeOnnx } from '../io/onnx';
import type { ProbeData } from '../io/probe';
import { featureGrams } from '../represent/gram';
import { tokenRows } from '../represent/activations';
import type { Matrix } from '../matrix';
import { type LayerWeights, applyPermutation, linearSumAssignment, matchingSimilarity } from './kernels';
import type { Network } from './network';
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
  // Attention heads permute only in structured ways (heads.ts): left to weight matching.
  const hidden = a.hidden.filter((id) => !a.groups[id].heads);
  const names = hidden.map((id) => a.groups[id].tensor!);
  const namesB = hidden.map((id) => b.groups[id].tensor!);
  const [actA, actB] = await Promise.all([
    hiddenActivations(encodeOnnx(writeNetwork(a)), [...new Set(names)], probe),
    hiddenActivations(encodeOnnx(writeNetwork(b)), [...new Set(namesB)], probe),
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
    applyPermutation(gb.view, rowToCol);
    gb.commit(rowToCol);
    perms.set(id, rowToCol);
    correlation.set(id, total / units);
  }
  return { perms, correlation };
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
  const S = matchingSimilarity(only(a), only(b));
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
