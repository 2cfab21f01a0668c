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
import { type HiddenInput, type HiddenTensor, hiddenActivations } from '../infer/hidden';
import { encodeOnnx } from '../io/onnx';
import { type LayerWeights, applyPermutation, linearSumAssignment, matchingSimilarity } from './kernels';
import type { Network } from './network';
import { groupView } from './views';
import { writeNetwork } from './writeback';

export interface ActivationMatchingResult {
  perms: Map<number, Int32Array>;
  /** Mean matched correlation per hidden group id. */
  correlation: Map<number, number>;
}

/** Permutes `b` in place into `a`'s frame by activation correlation on `input`. */
export async function activationMatching(a: Network, b: Network, input: HiddenInput): Promise<ActivationMatchingResult> {
  const names = a.hidden.map((id) => a.groups[id].tensor!);
  const namesB = b.hidden.map((id) => b.groups[id].tensor!);
  const [actA, actB] = await Promise.all([
    hiddenActivations(encodeOnnx(writeNetwork(a)), [...new Set(names)], input),
    hiddenActivations(encodeOnnx(writeNetwork(b)), [...new Set(namesB)], input),
  ]);
  const perms = new Map<number, Int32Array>();
  const correlation = new Map<number, number>();
  for (let h = 0; h < a.hidden.length; h++) {
    const id = a.hidden[h];
    const units = a.groups[id].units;
    const C = unitCorrelation(unitColumns(actA[names[h]], units, names[h]), unitColumns(actB[namesB[h]], units, namesB[h]), units);
    const gb = groupView(b, id);
    const tie = incomingCosine(groupView(a, id).view, gb.view);
    for (let i = 0; i < C.length; i++) C[i] += TIE_BREAK * tie[i];
    const { rowToCol, total } = await linearSumAssignment(C, units, units, { maximize: true });
    applyPermutation(gb.view, rowToCol);
    gb.commit();
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
 * [batch, units, rest...] (or flattened channel-major [batch, units·rest]) as
 * one standardized column per unit over batch·rest values. A constant unit
 * (a dead ReLU) gets a zero column: it correlates with nothing.
 */
function unitColumns(t: HiddenTensor, units: number, name: string): { cols: Float64Array; m: number } {
  const batch = t.dims[0];
  const R = t.data.length / (batch * units);
  if (!Number.isInteger(R) || R === 0) {
    throw new ModeldiffError('MODEL_OUTPUT', `hidden tensor "${name}" [${t.dims}] does not hold ${units} units per sample`);
  }
  const m = batch * R;
  const cols = new Float64Array(units * m);
  for (let n = 0; n < batch; n++) {
    for (let u = 0; u < units; u++) {
      const src = (n * units + u) * R;
      const dst = u * m + n * R;
      for (let r = 0; r < R; r++) cols[dst + r] = t.data[src + r];
    }
  }
  for (let u = 0; u < units; u++) {
    const col = cols.subarray(u * m, (u + 1) * m);
    let mean = 0;
    for (let i = 0; i < m; i++) mean += col[i];
    mean /= m;
    let ss = 0;
    for (let i = 0; i < m; i++) {
      col[i] -= mean;
      ss += col[i] * col[i];
    }
    const inv = ss > 0 ? 1 / Math.sqrt(ss) : 0;
    for (let i = 0; i < m; i++) col[i] *= inv;
  }
  return { cols, m };
}

/** Pearson correlation of every A unit with every B unit: units × units, row-major. */
function unitCorrelation(a: { cols: Float64Array; m: number }, b: { cols: Float64Array; m: number }, units: number): Float64Array {
  const C = new Float64Array(units * units);
  const m = a.m;
  for (let i = 0; i < units; i++) {
    const x = a.cols.subarray(i * m, (i + 1) * m);
    for (let j = 0; j < units; j++) {
      const y = b.cols.subarray(j * m, (j + 1) * m);
      let s = 0;
      for (let k = 0; k < m; k++) s += x[k] * y[k];
      C[i * units + j] = s;
    }
  }
  return C;
}
