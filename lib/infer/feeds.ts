/**
 * Matching probe arrays to a model's inputs: by name (or the model's only
 * input for unnamed data), checking dtype and shape against the session's
 * input metadata and planning explicit, reported dtype conversions. Errors
 * show what the model expects against what the probe data is.
 */
import * as ort from 'onnxruntime-node';

import { ModeldiffError } from '../errors';
import type { ProbeLayout } from '../io/probe';
import { type DType, type Tensor, DTYPES, convertTensor, formatShape, isDType, unshared } from '../io/tensor';
import type { ModelHandle } from './session';

export interface InputPlan {
  /** The model's input name. */
  input: string;
  /** Key of the probe array feeding it ("" for unnamed data). */
  probeKey: string;
  /** The dtype the model wants. */
  dtype: DType;
  /** Declared batch size when the model fixes it (batches are padded to it), else undefined. */
  fixedBatch?: number;
}

export interface FeedPlan {
  inputs: InputPlan[];
  /** Human-readable notes for each dtype conversion, e.g. "x: float64 probe data converted to the model's float32 input". */
  conversions: string[];
}

function inputError(handle: ModelHandle, msg: string, option?: string): ModeldiffError {
  return new ModeldiffError('MODEL_INPUT', `${handle.label}: ${msg}`, option === undefined ? undefined : { option });
}

/**
 * Most elements one input's batch may hold: a typed array's length limit, and far past any
 * batch that fits in memory. A model declaring a larger fixed batch (a broken or hostile
 * file: dimension 2^31) is refused here, before the padded batch is allocated.
 */
export const MAX_BATCH_ELEMENTS = 2 ** 31 - 1;

/** Refuse declared dimensions no batch could have, naming the input and axis. */
function checkDeclaredDims(handle: ModelHandle, input: string, shape: ReadonlyArray<number | string>, rowElements: number): void {
  shape.forEach((d, axis) => {
    if (typeof d === 'number' && d > MAX_BATCH_ELEMENTS) {
      throw inputError(handle, `input "${input}" declares dimension ${axis} as ${d}, more than modeldiff can feed (at most ${MAX_BATCH_ELEMENTS})`);
    }
  });
  const batch = shape[0];
  if (typeof batch === 'number' && batch > 0 && batch * rowElements > MAX_BATCH_ELEMENTS) {
    throw inputError(handle, `input "${input}" fixes its batch (dimension 0) at ${batch} rows of ${rowElements} values, more than one batch can hold (${MAX_BATCH_ELEMENTS} values)`);
  }
}

export function planFeeds(handle: ModelHandle, probe: ProbeLayout): FeedPlan {
  const session = handle.session;
  const names = session.inputNames;
  const keys = Object.keys(probe.inputs);
  const plans: InputPlan[] = [];
  const conversions: string[] = [];
  const mapping: Array<[string, string]> = [];
  if (keys.length === 1 && keys[0] === '') {
    if (names.length !== 1) {
      throw inputError(handle, `the model has ${names.length} inputs (${names.join(', ')}); give each one by name in options.data`, 'data');
    }
    mapping.push([names[0], '']);
  } else {
    for (const k of keys) {
      if (!names.includes(k)) throw inputError(handle, `has no input named "${k}" (its inputs: ${names.join(', ')})`);
    }
    for (const name of names) {
      if (!(name in probe.inputs)) throw inputError(handle, `no probe data for input "${name}" (given: ${keys.join(', ')})`);
      mapping.push([name, name]);
    }
  }
  const meta = new Map((session.inputMetadata ?? []).map((m) => [m.name, m]));
  for (const [input, key] of mapping) {
    const t = probe.inputs[key];
    const m = meta.get(input);
    const got = `${t.dtype} ${formatShape(t.shape)} from ${probe.sources[key]}`;
    let dtype: DType = t.dtype;
    let fixedBatch: number | undefined;
    if (m && m.isTensor) {
      if (!isDType(m.type)) throw inputError(handle, `input "${input}" has type ${m.type}, which modeldiff cannot feed`);
      dtype = m.type;
      const shape = m.shape;
      checkDeclaredDims(handle, input, shape, t.shape.slice(1).reduce((a, b) => a * b, 1));
      if (shape.length > 0) {
        const expected = `${m.type} ${formatShape(shape.map((d, i) => (typeof d === 'number' && d >= 0 ? d : i === 0 ? 'N' : String(d))))}`;
        let ok = shape.length === t.shape.length;
        for (let i = 1; ok && i < shape.length; i++) {
          const d = shape[i];
          if (typeof d === 'number' && d >= 0 && d !== t.shape[i]) ok = false;
        }
        if (!ok) throw inputError(handle, `input "${input}" expects ${expected}, got ${got}`);
        if (typeof shape[0] === 'number' && shape[0] > 0) fixedBatch = shape[0];
      }
      try {
        // An empty batch of the probe's dtype: checks the conversion without touching the data.
        const empty: Tensor = { dtype: t.dtype, shape: [0, ...t.shape.slice(1)], data: DTYPES[t.dtype].alloc(0) };
        const { note } = convertTensor(empty, dtype, input);
        if (note) conversions.push(`${handle.label}: ${note}`);
      } catch (e) {
        throw inputError(handle, `input "${input}" expects ${m.type}, got ${got}: ${(e as Error).message.replace(/^input "[^"]*": /, '')}`);
      }
    }
    plans.push({ input, probeKey: key, dtype, fixedBatch });
  }
  return { inputs: plans, conversions };
}

/** Feeds for rows of one batch: converted to the model's dtypes, padded with zeros to a fixed batch size. */
export function makeFeeds(plan: FeedPlan, batch: Record<string, Tensor>): ort.InferenceSession.FeedsType {
  const feeds: Record<string, ort.Tensor> = {};
  for (const p of plan.inputs) {
    let t = convertTensor(batch[p.probeKey], p.dtype, p.input).tensor;
    if (p.fixedBatch !== undefined && t.shape[0] !== p.fixedBatch) t = padRows(t, p.fixedBatch);
    feeds[p.input] = new ort.Tensor(p.dtype, unshared(t.data) as ort.Tensor.DataTypeMap[typeof p.dtype], t.shape);
  }
  return feeds;
}

function padRows(t: Tensor, rows: number): Tensor {
  const row = t.shape[0] === 0 ? 0 : t.data.length / t.shape[0];
  const data = new (t.data.constructor as new (n: number) => typeof t.data)(rows * row);
  data.set(t.data as never);
  return { dtype: t.dtype, shape: [rows, ...t.shape.slice(1)], data };
}
