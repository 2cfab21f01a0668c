/**
 * Hidden tensors as activation matrices, one row per sample: flattened to n × features (conv
 * maps n×C×H×W → n×(C·H·W), or n×C with `spatial: 'mean'`), or for a sequence model's
 * token-level tensors [n, s, d] one row per unmasked token (or per sequence with 'mean').
 * Shared by the representations view (lib/views/representations.ts) and activation matching
 * (lib/weights/activation-matching.ts).
 */
import { check } from '../errors';
import { readMask } from '../function/token-grid';
import { probeInputLabel } from '../function/token-mask';
import { type OnnxModel, dataInputs, onnx } from '../io/onnx';
import type { ProbeData } from '../io/probe';
import { elementCount, formatShape } from '../io/tensor';
import type { Matrix } from '../matrix';

/** n×(features) view of a hidden tensor [n, ...]: flattened, or channel means over spatial axes. */
export function flattenActivations(data: Float32Array, dims: number[], spatial: 'flatten' | 'mean', label: string): Matrix {
  const n = dims[0];
  check(dims.length >= 1 && n * elementCount(dims.slice(1)) === data.length, 'MODEL_OUTPUT', `${label}: tensor shape ${formatShape(dims)} does not match its ${data.length} values`);
  if (spatial === 'flatten' || dims.length <= 2) return { data, n, k: Math.max(1, elementCount(dims.slice(1))) };
  const c = dims[1];
  const s = elementCount(dims.slice(2));
  const out = new Float64Array(n * c);
  for (let i = 0; i < n; i++)
    for (let k = 0; k < c; k++) {
      let sum = 0;
      const off = (i * c + k) * s;
      for (let j = 0; j < s; j++) sum += data[off + j];
      out[i * c + k] = sum / s;
    }
  return { data: out, n, k: c };
}

/**
 * Token positions of a sequence model: its integer token-id input is [n, s]; `attention_mask`
 * in the probe (0 = padding) says which positions count. Hidden tensors [n, s, d] of such a
 * model are compared per position (token-level): samples are the unmasked positions.
 */
interface TokenPositions {
  seq: number;
  /** n·s flags, 1 = a real token. */
  keep: Uint8Array;
  count: number;
}

function tokenPositions(model: OnnxModel, probe: ProbeData): TokenPositions | undefined {
  const INTEGER = new Set([onnx.TensorProto.DataType.INT64, onnx.TensorProto.DataType.INT32]);
  const ids = dataInputs(model).find((i) => INTEGER.has(i.type?.tensorType?.elemType ?? 0) && (i.type?.tensorType?.shape?.dim?.length ?? 0) === 2);
  if (!ids) return undefined;
  const given = probe.inputs[ids.name ?? ''] ?? probe.inputs[''];
  if (!given || given.shape.length !== 2) return undefined;
  const seq = given.shape[1];
  // The same 0/1 mask reader as compare's sequence outputs, on the token ids' grid [n, seq].
  const mask = probe.inputs.attention_mask;
  const keep = mask
    ? readMask(mask, probe.n, { positionDims: [seq], positions: seq }, probeInputLabel(probe, 'attention_mask'), `the token ids "${ids.name}" of ${model.label}`, 'data')
    : new Uint8Array(probe.n * seq).fill(1);
  return { seq, keep, count: keep.reduce((a, b) => a + b, 0) };
}

/** Token-level view of a hidden tensor [n, s, d]: the kept positions as samples (or their mean per sequence). */
function tokenActivations(data: Float32Array, dims: number[], tokens: TokenPositions, spatial: 'flatten' | 'mean'): Matrix {
  const [n, s] = dims;
  const d = elementCount(dims.slice(2));
  if (spatial === 'mean') {
    // A sequence with no kept token has no representation: it is left out (as compare skips
    // it), never a row of zeros that would pull every similarity toward the zero row.
    const sequences: number[] = [];
    for (let i = 0; i < n; i++) if (tokens.keep.subarray(i * s, (i + 1) * s).some((v) => v !== 0)) sequences.push(i);
    const out = new Float64Array(sequences.length * d);
    sequences.forEach((i, r) => {
      let kept = 0;
      for (let j = 0; j < s; j++) {
        if (!tokens.keep[i * s + j]) continue;
        kept++;
        for (let k = 0; k < d; k++) out[r * d + k] += data[(i * s + j) * d + k];
      }
      for (let k = 0; k < d; k++) out[r * d + k] /= kept;
    });
    return { data: out, n: sequences.length, k: d };
  }
  const out = new Float32Array(tokens.count * d);
  let row = 0;
  for (let i = 0; i < n * s; i++) {
    if (!tokens.keep[i]) continue;
    out.set(data.subarray(i * d, (i + 1) * d), row * d);
    row++;
  }
  return { data: out, n: tokens.count, k: d };
}

/**
 * The token-level reader of a sequence model's hidden tensors on `probe`: a tensor [n, s, ...] on
 * the token ids' grid becomes its kept (unmasked) positions as rows; other tensors, and models
 * without token ids, give undefined. Shared by cka and activation matching (lib/weights).
 */
export function tokenRows(model: OnnxModel, probe: ProbeData): (data: Float32Array, dims: number[], spatial?: 'flatten' | 'mean') => Matrix | undefined {
  const tokens = tokenPositions(model, probe);
  return (data, dims, spatial = 'flatten') => (tokens && dims.length >= 3 && dims[1] === tokens.seq ? tokenActivations(data, dims, tokens, spatial) : undefined);
}
