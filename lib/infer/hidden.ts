/**
 * Hidden activations: expose internal tensors of a model as extra graph
 * outputs (an in-memory edit of the ModelProto; the user's file is never
 * touched), run it with onnxruntime on the probe set, and return them.
 * Used by activation matching (weights) and by CKA (representations).
 *
 * Inputs are matched and converted as `compare` does (lib/infer/feeds.ts):
 * several inputs by name, int64 token ids, and models that fix their batch
 * size (batches are padded to it and the padding rows dropped again).
 */
import * as ort from 'onnxruntime-node';

import { ModeldiffError, check } from '../errors';
import { type OnnxModel, type OnnxSource, cloneModel, encodeOnnx, graphOf, onlyDataInput, onnx, readOnnx } from '../io/onnx';
import { type ProbeData, probeBatches } from '../io/probe';
import { halfToFloat } from '../io/tensor';
import { makeFeeds, planFeeds } from './feeds';
import { checkTokenInputs } from './probe-check';
import { sessionOptions } from './session';

export interface HiddenInput {
  /** Graph input name; must be the model's only non-initializer input. */
  name: string;
  data: Float32Array;
  /** Shape, batch first. */
  dims: number[];
}

export interface HiddenTensor {
  /** Values as float32 (float16 and float64 tensors are widened or rounded to it). */
  data: Float32Array;
  /** Shape; dims[0] is the sample axis when `perSample` is true. */
  dims: number[];
  /**
   * Whether the tensor's first axis runs over the samples fed (false for tensors such as
   * attention maps laid out [batch·heads, s, s], or an RNN's [seq, batch, hidden] states).
   * Such tensors are returned for the first batch only.
   */
  perSample: boolean;
}

export interface HiddenOptions {
  /** Samples per onnxruntime run (bounds memory for big probe sets). Default 256. */
  batchSize?: number;
  /** Tensors whose sample axis is not 0 (an RNN's Y_h [directions, n, hidden]: 1); they are returned sample-first. */
  sampleAxes?: Record<string, number>;
  /** Progress: samples run so far, of the probe's n. */
  onProgress?: (done: number, total: number) => void;
}

const TENSOR_TYPES = new Set(['float32', 'float16', 'float64']);

export async function hiddenActivations(
  modelBytesOrProto: OnnxSource | onnx.IModelProto,
  tensorNames: string[],
  input: HiddenInput | ProbeData,
  options: HiddenOptions = {},
): Promise<Record<string, HiddenTensor>> {
  const source = isModelProto(modelBytesOrProto) ? encodeOnnx(modelBytesOrProto) : modelBytesOrProto;
  const model = cloneModel(readOnnx(source));
  const graph = graphOf(model);
  const produced = new Set<string>();
  for (const n of graph.node) for (const o of n.output ?? []) produced.add(o);
  for (const i of graph.input) produced.add(i.name ?? '');
  for (const name of tensorNames) {
    check(produced.has(name), 'MODEL_OUTPUT', `${model.label}: no tensor named "${name}" in the graph`);
  }
  const probe = 'inputs' in input ? input : singleInput(model, input);
  checkTokenInputs(probe);
  // The tensor's own type (float16 in half-precision models): onnxruntime infers it when the
  // extra output declares none, where declaring float32 would be a type error.
  const existing = new Set(graph.output.map((o) => o.name));
  for (const name of tensorNames) {
    if (!existing.has(name)) graph.output.push(onnx.ValueInfoProto.create({ name }));
  }
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(encodeOnnx(model), sessionOptions());
  } catch (cause) {
    throw new ModeldiffError('BAD_ONNX', `${model.label}: onnxruntime rejected the model: ${(cause as Error).message}`, { cause });
  }
  const parts = new Map<string, { chunks: Float32Array[]; dims: number[]; perSample: boolean }>();
  try {
    const plan = planFeeds({ session, label: model.label, owned: true }, probe);
    const fixed = plan.inputs.map((p) => p.fixedBatch).filter((b): b is number => b !== undefined);
    const step = fixed.length > 0 ? Math.min(...fixed) : Math.max(1, options.batchSize ?? 256);
    for (const batch of probeBatches(probe, step)) {
      const rows = batch.end - batch.start;
      let out: ort.InferenceSession.ReturnType;
      try {
        out = await session.run(makeFeeds(plan, batch.inputs), tensorNames);
      } catch (cause) {
        const fed = Object.entries(batch.inputs).map(([k, t]) => `"${k}" [${t.shape}]`);
        throw new ModeldiffError('MODEL_INPUT', `${model.label}: running on input ${fed.join(', ')} failed: ${(cause as Error).message}`, { cause });
      }
      const fedRows = fixed.length > 0 ? step : rows;
      for (const name of tensorNames) {
        const t = out[name];
        check(TENSOR_TYPES.has(t.type), 'MODEL_OUTPUT', `${model.label}: tensor "${name}" is ${t.type}, not a floating-point representation`);
        let dims = t.dims.slice() as number[];
        let values = asFloat32(t);
        const axis = options.sampleAxes?.[name] ?? 0;
        if (axis > 0 && dims[axis] === fedRows) ({ values, dims } = sampleAxisFirst(values, dims, axis));
        const part = parts.get(name) ?? { chunks: [], dims: dims.slice(1), perSample: dims.length >= 1 && dims[0] === fedRows };
        if (!parts.has(name)) parts.set(name, part);
        if (!part.perSample) {
          if (part.chunks.length === 0) {
            part.dims = dims;
            part.chunks.push(values);
          }
          continue;
        }
        check(dims[0] === fedRows, 'MODEL_OUTPUT', `${model.label}: tensor "${name}" has ${dims[0]} rows for a batch of ${fedRows}`);
        part.chunks.push(rows === fedRows ? values : values.subarray(0, (values.length / fedRows) * rows)); // drop padding rows
      }
      options.onProgress?.(batch.end, probe.n);
    }
  } finally {
    await session.release();
  }
  const result: Record<string, HiddenTensor> = {};
  for (const name of tensorNames) {
    const p = parts.get(name)!;
    const data = new Float32Array(p.chunks.reduce((a, c) => a + c.length, 0));
    let off = 0;
    for (const c of p.chunks) {
      data.set(c, off);
      off += c.length;
    }
    result[name] = { data, dims: p.perSample ? [probe.n, ...p.dims] : p.dims, perSample: p.perSample };
  }
  return result;
}

/** The old single-float32-input form, as probe data (the model must have exactly that one input). */
function singleInput(model: OnnxModel, input: HiddenInput): ProbeData {
  const only = onlyDataInput(model, 'reading hidden activations from one array');
  check(only === input.name, 'MODEL_INPUT', `${model.label}: has no input "${input.name}" (its input is "${only}")`);
  const batch = input.dims[0];
  const rowSize = input.dims.slice(1).reduce((a, b) => a * b, 1);
  check(
    input.dims.length >= 1 && batch * rowSize === input.data.length,
    'MODEL_INPUT',
    `input "${input.name}": data length ${input.data.length} does not match shape [${input.dims}]`,
  );
  return { inputs: { [input.name]: { dtype: 'float32', shape: input.dims.slice(), data: input.data } }, n: batch, sources: { [input.name]: '<array>' } };
}

/** Move axis `axis` of a C-order tensor to the front. */
function sampleAxisFirst(values: Float32Array, dims: number[], axis: number): { values: Float32Array; dims: number[] } {
  const n = dims[axis];
  const outer = dims.slice(0, axis).reduce((a, b) => a * b, 1);
  const inner = dims.slice(axis + 1).reduce((a, b) => a * b, 1);
  const out = new Float32Array(values.length);
  for (let o = 0; o < outer; o++)
    for (let i = 0; i < n; i++) out.set(values.subarray((o * n + i) * inner, (o * n + i + 1) * inner), (i * outer + o) * inner);
  return { values: out, dims: [n, ...dims.slice(0, axis), ...dims.slice(axis + 1)] };
}

function asFloat32(t: ort.Tensor): Float32Array {
  if (t.type === 'float32') return t.data as Float32Array;
  if (t.type === 'float64') return Float32Array.from(t.data as Float64Array);
  const bits = t.data as Uint16Array; // float16: raw IEEE half bits
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = halfToFloat(bits[i]);
  return out;
}

function isModelProto(x: unknown): x is onnx.IModelProto {
  return typeof x === 'object' && x !== null && !(x instanceof Uint8Array) && 'graph' in x && !('label' in x);
}
