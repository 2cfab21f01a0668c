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
import { fileError } from '../io/file-read';

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

export function sessionOptions(executionProviders: readonly string[] = ['cpu']): ort.InferenceSession.SessionOptions {
  return {
    executionProviders: [...executionProviders],

    intraOpNumThreads: os.availableParallelism(),
    graphOptimizationLevel: 'all',
    // onnxruntime's pool threads spin-wait for work by default. With several sessions alive at
    // once (concurrent compare calls in a service, matrix runs) the spinners starve each other
    // and the event loop: 20 concurrent compares took 10x their sequential time. modeldiff runs
    // large batches, where waking a sleeping thread costs nothing measurable.
    extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
    // onnxruntime logs a failed run to stderr (in colour) before throwing; the thrown error
    // reaches the user as modeldiff's one line, so its own log would be a second, raw copy.
    logSeverityLevel: 4,
  };
}

function isSession(x: unknown): x is ort.InferenceSession {
  return typeof x === 'object' && x !== null && typeof (x as ort.InferenceSession).run === 'function' && Array.isArray((x as ort.InferenceSession).inputNames);
}

/** onnxruntime-node's execution providers and whether each ships in its package. */
function knownProviders(): Array<{ name: string; bundled: boolean }> {
  const list = (ort as unknown as { listSupportedBackends?: () => Array<{ name: string; bundled: boolean }> }).listSupportedBackends;
  /* c8 ignore next -- every onnxruntime-node modeldiff supports has it */
  return typeof list === 'function' ? list() : [{ name: 'cpu', bundled: true }];
}

/**
 * Checks requested execution providers against the ones onnxruntime-node knows (one-line
 * INVALID_ARGUMENT for an unknown name); returns them, CPU when none are given.
 */
export function checkExecutionProviders(providers: readonly string[] | undefined): string[] {
  if (providers === undefined || providers.length === 0) return ['cpu'];
  if (!Array.isArray(providers) || providers.some((p) => typeof p !== 'string')) {
    throw new ModeldiffError('INVALID_ARGUMENT', 'executionProviders must be an array of provider names, e.g. ["cuda", "cpu"]', { option: 'executionProviders' });
  }
  const known = knownProviders().map((p) => p.name);
  for (const p of providers) {
    if (!known.includes(p)) {
      throw new ModeldiffError('INVALID_ARGUMENT', `unknown execution provider '${p}' (onnxruntime-node knows: ${known.join(', ')})`, { option: 'executionProviders' });
    }
  }
  return [...providers];
}

/**
 * Whether a provider that onnxruntime-node does not bundle has its library next to the binding
 * (onnxruntime-node's install script puts it there). Checked before a session is made: a missing
 * library makes onnxruntime print a multi-line native log before it throws.
 */
function providerLibraryPresent(name: string): boolean {
  let dir: string;
  try {
    dir = path.join(path.dirname(require.resolve('onnxruntime-node/package.json')), 'bin');
    /* c8 ignore next 3 -- onnxruntime-node is a dependency */
  } catch {
    return true; // cannot tell: let onnxruntime try
  }
  const wanted = new RegExp(`onnxruntime_providers_${name}\\.(so|dll|dylib)$`);
  const walk = (d: string, depth: number): boolean => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(d, { withFileTypes: true });
    } catch {
      return false;
    }
    return entries.some((e) => (e.isDirectory() ? depth < 4 && walk(path.join(d, e.name), depth + 1) : wanted.test(e.name)));
  };
  return walk(dir, 0);
}

/** The one-line error for a provider that is known but whose binaries are not installed. */
function providerNotInstalled(providers: readonly string[], cause?: unknown): ModeldiffError | undefined {
  const missing = knownProviders().find((k) => !k.bundled && providers.includes(k.name) && (cause !== undefined ? /fail(ed)? to load|shared (object|library)/i.test(String((cause as Error).message ?? cause)) : !providerLibraryPresent(k.name)));
  if (!missing) return undefined;
  const how =
    missing.name === 'cuda'
      ? 'npm install onnxruntime-node --onnxruntime-node-install=cuda12 (CUDA 12 and cuDNN 9 must be on the machine)' // not a modeldiff flag
      : `install onnxruntime-node's ${missing.name} binaries (npm install onnxruntime-node --onnxruntime-node-install)`; // not a modeldiff flag
  return new ModeldiffError('INVALID_ARGUMENT', `execution provider '${missing.name}' is not installed in onnxruntime-node: ${how}`, { option: 'executionProviders', cause });
}

export async function openModel(model: ModelSource, options: { cwd?: string; label?: string; executionProviders?: readonly string[] } = {}): Promise<ModelHandle> {
  if (isSession(model)) return { session: model, label: options.label ?? '<session>', owned: false };
  let bytes: Uint8Array;
  let label: string;
  if (typeof model === 'string') {
    label = options.label ?? model;
    try {
      bytes = fs.readFileSync(path.resolve(options.cwd ?? process.cwd(), model));
    } catch (cause) {
      throw fileError(cause, model, { missing: 'no such ONNX model file', folder: 'is a folder, not an ONNX model file' });
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
  const providers = checkExecutionProviders(options.executionProviders);
  const notInstalled = providerNotInstalled(providers);
  if (notInstalled) throw notInstalled;
  try {
    // From a path, onnxruntime resolves external data next to the model file.
    session =
      typeof model === 'string'
        ? await ort.InferenceSession.create(path.resolve(options.cwd ?? process.cwd(), model), sessionOptions(providers))
        : await ort.InferenceSession.create(bytes, sessionOptions(providers));
  } catch (cause) {
    const missing = providerNotInstalled(providers, cause);
    if (missing) throw missing;
    const why = ((cause as Error).message ?? String(cause)).split('\n')[0];
    throw new ModeldiffError('BAD_ONNX', `${label}: not a valid ONNX model for onnxruntime (${why})`, { cause });
  }
  return { session, label, sha256, owned: true };
}

export async function closeModel(handle: ModelHandle): Promise<void> {
  if (handle.owned) await handle.session.release();
}
