/**
 * Hidden activations: expose internal tensors of a model as extra graph
 * outputs (an in-memory edit of the ModelProto; the user's file is never
 * touched), run it with onnxruntime on the probe set, and return them.
 * Used by activation matching (weights) and by CKA (representations).
 */
import * as ort from 'onnxruntime-node';

import { ModeldiffError, check } from '../errors';
import { type OnnxSource, cloneModel, encodeOnnx, graphOf, onnx, readOnnx } from '../io/onnx';
import { unshared } from '../io/tensor';
import { sessionOptions } from './session';

export interface HiddenInput {
  /** Graph input name; must be the model's only non-initializer input. */
  name: string;
  data: Float32Array;
  /** Shape, batch first. */
  dims: number[];
}

export interface HiddenTensor {
  data: Float32Array;
  dims: number[];
}

export interface HiddenOptions {
  /** Samples per onnxruntime run (bounds memory for big probe sets). Default 256. */
  batchSize?: number;
}

export async function hiddenActivations(
  modelBytesOrProto: OnnxSource | onnx.IModelProto,
  tensorNames: string[],
  input: HiddenInput,
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
  const inits = new Set(graph.initializer.map((t) => t.name));
  const inputs = graph.input.filter((i) => !inits.has(i.name));
  check(
    inputs.some((i) => i.name === input.name),
    'MODEL_INPUT',
    `${model.label}: has no input "${input.name}" (inputs: ${inputs.map((i) => i.name).join(', ')})`,
  );
  check(inputs.length === 1, 'MODEL_INPUT', `${model.label}: hidden activations need a single-input model, it has ${inputs.length}`);
  const batch = input.dims[0];
  const rowSize = input.dims.slice(1).reduce((a, b) => a * b, 1);
  check(
    input.dims.length >= 1 && batch * rowSize === input.data.length,
    'MODEL_INPUT',
    `input "${input.name}": data length ${input.data.length} does not match shape [${input.dims}]`,
  );

  // Hidden tensors keep the input's element type (float32 models are the norm).
  const elemType = inputs[0].type?.tensorType?.elemType ?? onnx.TensorProto.DataType.FLOAT;
  check(elemType === onnx.TensorProto.DataType.FLOAT, 'MODEL_INPUT', `${model.label}: input "${input.name}" must be float32 for hidden activations`);
  const existing = new Set(graph.output.map((o) => o.name));
  for (const name of tensorNames) {
    if (!existing.has(name)) graph.output.push(onnx.ValueInfoProto.create({ name, type: { tensorType: { elemType } } }));
  }
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(encodeOnnx(model), sessionOptions());
  } catch (cause) {
    throw new ModeldiffError('BAD_ONNX', `${model.label}: onnxruntime rejected the model: ${(cause as Error).message}`, { cause });
  }
  const step = Math.max(1, options.batchSize ?? 256);
  const parts: Record<string, { chunks: Float32Array[]; dims: number[] }> = {};
  try {
    for (let start = 0; start < batch; start += step) {
      const n = Math.min(step, batch - start);
      const feed = new ort.Tensor('float32', unshared(input.data.subarray(start * rowSize, (start + n) * rowSize)), [n, ...input.dims.slice(1)]);
      let out: ort.InferenceSession.ReturnType;
      try {
        out = await session.run({ [input.name]: feed }, tensorNames);
      } catch (cause) {
        throw new ModeldiffError('MODEL_INPUT', `${model.label}: running on input "${input.name}" [${input.dims}] failed: ${(cause as Error).message}`, { cause });
      }
      for (const name of tensorNames) {
        const t = out[name];
        check(t.type === 'float32', 'MODEL_OUTPUT', `${model.label}: tensor "${name}" is ${t.type}, expected float32`);
        const p = (parts[name] ??= { chunks: [], dims: t.dims.slice(1) as number[] });
        p.chunks.push(t.data as Float32Array);
      }
    }
  } finally {
    await session.release();
  }
  const result: Record<string, HiddenTensor> = {};
  for (const name of tensorNames) {
    const p = parts[name];
    const data = new Float32Array(p ? p.chunks.reduce((a, c) => a + c.length, 0) : 0);
    let off = 0;
    for (const c of p?.chunks ?? []) {
      data.set(c, off);
      off += c.length;
    }
    result[name] = { data, dims: [batch, ...(p?.dims ?? [])] };
  }
  return result;
}

function isModelProto(x: unknown): x is onnx.IModelProto {
  return typeof x === 'object' && x !== null && !(x instanceof Uint8Array) && 'graph' in x && !('label' in x);
}
