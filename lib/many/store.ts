/**
 * Where the N models' outputs live while the matrices are computed. With
 * enough memory (the default, or --max-memory large enough) all N·n·k outputs
 * are kept; otherwise only a block of models at a time is, and a block is
 * re-read from the inference cache when it is needed again. Either way the
 * matrices are computed block pair by block pair, so peak memory is bounded
 * by two blocks of outputs (plus one inference batch per model).
 */
import { check } from '../errors';
import type { Matrix } from '../matrix';

export interface OutputStore {
  names: string[];
  samples: number;
  classes: number;
  /** Models per block; two blocks' outputs fit in the memory budget (>= N when everything fits). */
  blockSize: number;
  /**
   * Sequence outputs: the sequence of each row (a counted token), for cluster-robust standard
   * errors and the cluster bootstrap; absent when every row is its own sample.
   */
  clusters?: Int32Array;
  /** Sequence outputs: the probe's sequences (clusters are in [0, sequences)). */
  sequences?: number;
  /** Sequence outputs: the class axis of the output (axis 0 = batch). */
  classAxis?: number;
  /** Sequence outputs: where the mask came from (e.g. "attention_mask"), or null for none. */
  mask?: string | null;
  /** Sequence outputs: sequences with no counted position (skipped). */
  skippedSequences?: number;
  load(ids: number[]): Promise<Matrix[]>;
}

/**
 * Bytes one model costs while its block is in memory: its outputs (float32
 * from onnxruntime, or whatever array was given) plus their float32 class
 * probabilities (the t-SNE input; two columns for a sigmoid output).
 */
export function modelBytes(o: Matrix): number {
  return o.data.byteLength + 4 * o.n * Math.max(2, o.k);
}

/**
 * Models per block so that two blocks fit in `maxMemory` bytes (a block pair
 * is the unit of work). At least 2 models per block, else no pair could be
 * formed: a budget below two models' outputs is an error.
 */
export function blockSizeFor(models: number, bytesPerModel: number, maxMemory?: number): number {
  if (maxMemory === undefined) return models;
  check(Number.isFinite(maxMemory) && maxMemory > 0, 'INVALID_ARGUMENT', `options.maxMemory must be a positive size, got ${maxMemory}`, 'maxMemory');
  const perBlock = Math.floor(maxMemory / (2 * bytesPerModel));
  check(
    perBlock >= 1,
    'INVALID_ARGUMENT',
    `options.maxMemory ${maxMemory} bytes cannot hold the outputs of two models (${bytesPerModel} bytes each, with their probabilities); raise it`,
    'maxMemory',
  );
  return Math.max(1, Math.min(models, perBlock));
}

/** Model i's outputs must have the n×k shape of model 0's (names[0]). */
export function checkSameShape(names: string[], i: number, o: { n: number; k: number }, n: number, k: number): void {
  check(
    o.n === n && o.k === k,
    'SHAPE_MISMATCH',
    `${names[i]} has outputs of shape [${o.n}, ${o.k}] but ${names[0]} has [${n}, ${k}]; models compared on one probe set must agree`,
  );
}

/** A store over outputs already in memory. */
export function memoryStore(names: string[], outputs: Matrix[], maxMemory?: number): OutputStore {
  check(outputs.length === names.length, 'INTERNAL', 'names and outputs differ in length');
  check(outputs.length > 0, 'INVALID_ARGUMENT', 'no models given');
  const { n, k } = outputs[0];
  outputs.forEach((o, i) => {
    checkSameShape(names, i, o, n, k);
    check(o.data.length === o.n * o.k, 'SHAPE_MISMATCH', `${names[i]}: output data has ${o.data.length} values, expected ${o.n}×${o.k}`);
  });
  return {
    names,
    samples: n,
    classes: k,
    blockSize: blockSizeFor(outputs.length, modelBytes(outputs[0]), maxMemory),
    load: async (ids) => ids.map((i) => outputs[i]),
  };
}

/** Consecutive blocks of model indices, each at most `size` long. */
export function blocks(models: number, size: number): number[][] {
  const out: number[][] = [];
  for (let s = 0; s < models; s += size) out.push(Array.from({ length: Math.min(size, models - s) }, (_, i) => s + i));
  return out;
}
