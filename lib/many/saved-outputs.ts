/**
 * Outputs computed anywhere: `modeldiff outputs` saves one model's output array and, beside it,
 * a small JSON file (`<array file>.json`) recording which model and output it came from and the
 * probe set's content hash. `matrix` and `study` take such files in place of models: the
 * expensive per-model inference can then run as independent jobs (one per model) and the
 * pairwise work on one machine. Outputs from a different probe set than the others (or than
 * the one given with the data option) are refused, naming both hashes.
 *
 * The metadata sits in a sibling file rather than inside the array file because a .npy header
 * holds exactly numpy's three keys (numpy refuses any other), and one rule for every format is
 * simpler to explain than four.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

import { ModeldiffError } from '../errors';
import { arrayFileFormat, readArray } from '../io/array-file';
import { elementCount, formatShape } from '../io/tensor';
import { type ProbeSource, type ProbeStream, openProbe } from '../io/probe';
import { writeFileAtomic } from '../util/atomic-write';
import type { Matrix } from '../matrix';

/** What `<outputs file>.json` holds. */
export interface SavedOutputsMeta {
  format: 'modeldiff-outputs';
  version: 1;
  /** The model as given to `modeldiff outputs` (its base name names it in matrices). */
  model: string;
  /** The model output saved. */
  output: string;
  /** SHA-256 of the probe set's content ({@link probeSha256}). */
  probeSha256: string;
  n: number;
  /** Values per sample: the product of the sample shape (kept for readers of the first files). */
  k: number;
  /** The array's shape, [n, ...sample shape] (e.g. [n, sequence, vocab]); absent in older files. */
  shape?: number[];
  dtype: 'float32' | 'float64';
}

/** Saved outputs read back, as `matrix` and `study` take them. */
export interface SavedOutputs {
  /** The recorded model's base name (what a run on the model itself would call it). */
  name: string;
  /** `dims` set for a sequence output (its sample shape; k is its product). */
  outputs: Matrix;
  meta: SavedOutputsMeta;
  file: string;
}

/** The metadata file of an outputs file. */
export const metaPathOf = (file: string): string => `${file}.json`;

/**
 * The probe set's content hash: SHA-256 over each input's name and the SHA-256 of its dtype,
 * shape and bytes, inputs in name order. The same for the same arrays in any file format.
 */
export function probeSha256(source: ProbeSource | ProbeStream, options: { cwd?: string } = {}): string {
  const probe = openProbe(source, options);
  const h = crypto.createHash('sha256');
  for (const name of Object.keys(probe.inputs).sort()) h.update(`input ${JSON.stringify(name)} ${probe.inputs[name].sha256()}\n`);
  return h.digest('hex');
}

/** Whether a model argument names saved outputs (an array file) rather than an ONNX model. */
export function isOutputsFile(file: string): boolean {
  if (path.extname(file).toLowerCase() === '.onnx') return false;
  try {
    return arrayFileFormat(file) !== undefined;
  } catch {
    return false; // not an array file: treated as a model, whose reader says what is wrong
  }
}

/** Writes `<file>.json` beside an outputs file (atomically; `force` replaces an existing one). */
export function writeOutputsMeta(file: string, meta: Omit<SavedOutputsMeta, 'format' | 'version'>, options: { force?: boolean } = {}): void {
  const full: SavedOutputsMeta = { format: 'modeldiff-outputs', version: 1, ...meta };
  writeFileAtomic(metaPathOf(file), JSON.stringify(full, null, 2) + '\n', options);
}

function readMeta(file: string, label: string): SavedOutputsMeta {
  const metaFile = metaPathOf(file);
  let text: string;
  try {
    text = fs.readFileSync(metaFile, 'utf8');
  } catch {
    throw new ModeldiffError(
      'INVALID_ARGUMENT',
      `${label}: no ${path.basename(metaFile)} beside it, so the probe set it was computed on is unknown; save outputs with \`modeldiff outputs\`, which writes it`,
    );
  }
  let meta: SavedOutputsMeta;
  try {
    meta = JSON.parse(text) as SavedOutputsMeta;
  } catch (e) {
    throw new ModeldiffError('INVALID_ARGUMENT', `${label}.json: not JSON (${(e as Error).message})`);
  }
  const ok =
    meta !== null && typeof meta === 'object' && meta.format === 'modeldiff-outputs' && meta.version === 1 &&
    typeof meta.model === 'string' && typeof meta.output === 'string' && typeof meta.probeSha256 === 'string' && /^[0-9a-f]{64}$/.test(meta.probeSha256) &&
    (meta.shape === undefined || (Array.isArray(meta.shape) && meta.shape.every((d) => Number.isInteger(d))));
  if (!ok) throw new ModeldiffError('INVALID_ARGUMENT', `${label}.json: not modeldiff outputs metadata (format, version 1, model, output, probeSha256)`);
  return meta;
}

/** Reads an outputs file and its metadata; the array must be n × k (or n, or of rank ≥ 3 with `dims`) float32/float64 and match what the metadata says. */
export function readSavedOutputs(file: string, label = file): SavedOutputs {
  const meta = readMeta(file, label);
  const t = readArray(file, label);
  if (t.dtype !== 'float32' && t.dtype !== 'float64') throw new ModeldiffError('INVALID_ARGUMENT', `${label}: outputs must be float32 or float64, got ${t.dtype}`);
  if (t.shape.length < 1) throw new ModeldiffError('SHAPE_MISMATCH', `${label}: outputs must be n × k (or n, or a sequence output such as [n, sequence, vocab]), got a scalar`);
  const n = t.shape[0];
  // Sequence outputs ([n, sequence, vocab]) keep their sample shape; the metadata's k is its product.
  const dims = t.shape.length >= 3 ? t.shape.slice(1) : undefined;
  const k = elementCount(t.shape.slice(1));
  if (n !== meta.n || k !== meta.k) {
    throw new ModeldiffError('SHAPE_MISMATCH', `${label}: holds ${n} × ${k} outputs but its metadata says ${meta.n} × ${meta.k} (the array or the .json was replaced)`);
  }
  if (meta.shape !== undefined && formatShape(meta.shape) !== formatShape(t.shape)) {
    throw new ModeldiffError('SHAPE_MISMATCH', `${label}: has shape ${formatShape(t.shape)} but its metadata says ${formatShape(meta.shape)} (the array or the .json was replaced)`);
  }
  return { name: path.basename(meta.model), outputs: { data: t.data as Float32Array | Float64Array, n, k, ...(dims ? { dims } : {}) }, meta, file };
}

/**
 * Refuses saved outputs whose probe hash differs from the probe set's (when one is given) or
 * from the first saved outputs', naming both files and hashes.
 */
export function checkSameProbe(saved: SavedOutputs[], labels: string[], probe?: { sha256: string; label: string }): void {
  const reference = probe ?? (saved.length > 0 ? { sha256: saved[0].meta.probeSha256, label: labels[0] } : undefined);
  if (!reference) return;
  saved.forEach((s, i) => {
    if (s.meta.probeSha256 !== reference.sha256) {
      throw new ModeldiffError(
        'INVALID_ARGUMENT',
        `${labels[i]}: computed on a different probe set (sha256 ${s.meta.probeSha256}) than ${reference.label} (sha256 ${reference.sha256})`,
      );
    }
  });
}
