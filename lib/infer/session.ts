/**
 * onnxruntime-node sessions as modeldiff creates them: CPU provider, one
 * intra-op thread per core that sleeps rather than spins when idle, all
 * graph optimizations. A model is a path to an
 * .onnx file, its bytes, or an InferenceSession the caller already made (then
 * the caller keeps ownership, and the output cache is off for it: there are
 * no model bytes to key the cache on).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import * as ort from 'onnxruntime-node';

import { ModeldiffError } from '../errors';

export type ModelSource = string | Uint8Array | ort.InferenceSession;

export interface ModelHandle {
  session: ort.InferenceSession;
  /** For messages: the path as given, "<bytes>" or "<session>". */
  label: string;
  /** SHA-256 of the model bytes (hex), computed on first call; undefined for sessions passed in. Keys the output cache. */
  sha256?: () => string;
  /** Whether modeldiff created the session (and must release it). */
  owned: boolean;
}

export function sessionOptions(): ort.InferenceSession.SessionOptions {
  return {
    executionProviders: ['cpu'],
    intraOpNumThreads: os.availableParallelism(),
    graphOptimizationLevel: 'all',
    // onnxruntime's pool threads spin-wait for work by default. With several sessions alive at
    // once (concurrent compare calls in a service, matrix runs) the spinners starve each other
    // and the event loop: 20 concurrent compares took 10x their sequential time. modeldiff runs
    // large batches, where waking a sleeping thread costs nothing measurable.
    extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
  };
}

function isSession(x: unknown): x is ort.InferenceSession {
  return typeof x === 'object' && x !== null && typeof (x as ort.InferenceSession).run === 'function' && Array.isArray((x as ort.InferenceSession).inputNames);
}

export async function openModel(model: ModelSource, options: { cwd?: string; label?: string } = {}): Promise<ModelHandle> {
  if (isSession(model)) return { session: model, label: options.label ?? '<session>', owned: false };
  let bytes: Uint8Array;
  let label: string;
  if (typeof model === 'string') {
    label = options.label ?? model;
    try {
      bytes = fs.readFileSync(path.resolve(options.cwd ?? process.cwd(), model));
    } catch (cause) {
      const code = (cause as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') throw new ModeldiffError('FILE_NOT_FOUND', `${model}: no such ONNX model file`, { cause });
      throw new ModeldiffError('IO', `${model}: cannot read the model: ${(cause as Error).message}`, { cause });
    }
  } else if (model instanceof Uint8Array) {
    label = options.label ?? '<bytes>';
    bytes = model;
  } else {
    throw new ModeldiffError('INVALID_ARGUMENT', 'a model must be an .onnx path, ONNX bytes or an onnxruntime InferenceSession');
  }
  let digest: string | undefined;
  const sha256 = () => (digest ??= crypto.createHash('sha256').update(bytes).digest('hex'));
  let session: ort.InferenceSession;
  try {
    // From a path, onnxruntime resolves external data next to the model file.
    session =
      typeof model === 'string'
        ? await ort.InferenceSession.create(path.resolve(options.cwd ?? process.cwd(), model), sessionOptions())
        : await ort.InferenceSession.create(bytes, sessionOptions());
  } catch (cause) {
    const why = ((cause as Error).message ?? String(cause)).split('\n')[0];
    throw new ModeldiffError('BAD_ONNX', `${label}: not a valid ONNX model for onnxruntime (${why})`, { cause });
  }
  return { session, label, sha256, owned: true };
}

export async function closeModel(handle: ModelHandle): Promise<void> {
  if (handle.owned) await handle.session.release();
}
