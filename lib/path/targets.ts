/**
 * What `barrier` scores each model against: one class label per probe sample (classifiers), or,
 * for a sequence output ([n, sequence, vocab], e.g. a language model's logits), per-token
 * targets exactly as `compare` defines them: `next` (the target at t is input_ids at t + 1,
 * both positions unmasked) or per-token labels [n, sequence] (negative = no target), where the
 * probe's attention mask also drops padded positions. Token-level losses are averaged over the
 * counted tokens.
 */
import path from 'node:path';

import { ModeldiffError, check } from '../errors';
import type { OutputKind } from '../function/divergence';
import { type TokenGrid, nextTokenTargets, readTargets, toRows, tokenGrid } from '../function/token-grid';
import { openTokenMask, tokenMask } from '../function/token-mask';
import { readArray } from '../io/array-file';
import { type ProbeData, loadLabels } from '../io/probe';
import { DTYPES, type Tensor } from '../io/tensor';
import type { Matrix } from '../matrix';
import { plural } from '../util/plural';
import { type LossResult, classificationLoss } from './loss';

export interface TargetOptions {
  /** Class ids, one per sample (.npy path or array), or a path to per-token targets [n, sequence]. */
  labels?: string | ArrayLike<number> | Int32Array;
  /** 'next': next-token targets from the probe's input_ids (sequence outputs). */
  targets?: 'next';
  cwd?: string;
}

/** Targets read before any model runs; the token ones are fixed on the first output's grid. */
export interface Targets {
  /** Where the targets come from: 'labels' (one per sample), 'next', or the per-token labels file. */
  source: string;
  /** Class labels, one per sample. */
  classes?: Int32Array;
  /** Per-token: the labels' array until the grid is known. */
  perToken?: { tensor: Tensor; name: string };
  /** Per-token, once the grid is known: flat (sequence, position) indices counted, and their targets. */
  tokens?: { grid: TokenGrid; dims: string; positions: Int32Array; targets: Int32Array };
}

/** The probe input that holds token ids: input_ids, else the only integer input (as compare reads it). */
function tokenIdInput(probe: ProbeData): string | undefined {
  if ('input_ids' in probe.inputs) return 'input_ids';
  const ints = Object.keys(probe.inputs).filter((k) => ['int', 'uint'].includes(DTYPES[probe.inputs[k].dtype].kind));
  return ints.length === 1 ? ints[0] : undefined;
}

export function readTargetOptions(options: TargetOptions, probe: ProbeData): Targets {
  if (options.targets !== undefined && options.targets !== 'next') {
    throw new ModeldiffError('INVALID_ARGUMENT', `options.targets must be 'next', got ${JSON.stringify(options.targets)} (per-token targets come from options.labels)`, { option: 'targets' });
  }
  check(!(options.targets === 'next' && options.labels !== undefined), 'INVALID_ARGUMENT', "give options.targets 'next' or options.labels, not both", 'targets');
  if (options.targets === 'next') {
    check(
      tokenIdInput(probe) !== undefined,
      'INVALID_ARGUMENT',
      `targets 'next' needs the token ids: a probe input named input_ids (inputs given: ${Object.keys(probe.inputs).map((k) => k || `one unnamed array, ${probe.sources[k]}`).join(', ')})`,
      'targets',
    );
    return { source: 'next' };
  }
  check(options.labels !== undefined, 'INVALID_ARGUMENT', "lossBarrier: options.labels is required (the true class of each probe sample, or per-token targets), unless options.targets is 'next'", 'labels');
  if (typeof options.labels === 'string') {
    const tensor = readArray(path.resolve(options.cwd ?? process.cwd(), options.labels), options.labels);
    // More than one axis that is not 1: per-position targets of a sequence output.
    const integer = ['int', 'uint'].includes(DTYPES[tensor.dtype].kind); // else loadLabels says labels must be integers
    if (integer && tensor.shape.filter((d, i) => i === 0 || d !== 1).length > 1) return { source: options.labels, perToken: { tensor, name: options.labels } };
  }
  return { source: 'labels', classes: loadLabels(options.labels as string | ArrayLike<number>, probe.n, { cwd: options.cwd }) };
}

/** Fixes the token targets on the first sequence output's grid (mask from the probe's attention_mask). */
function fixTokens(t: Targets, out: Matrix, probe: ProbeData, label: string): NonNullable<Targets['tokens']> {
  const grid = tokenGrid(out.dims as number[], undefined, label);
  const { mask } = tokenMask(openTokenMask({}, probe), probe, probe.n, grid, label);
  let all: Int32Array;
  if (t.source === 'next') {
    const ids = tokenIdInput(probe) as string;
    all = nextTokenTargets(probe.inputs[ids], mask, probe.n, grid, probe.sources[ids] ?? ids, label);
  } else {
    const { tensor, name } = t.perToken!;
    all = readTargets(tensor, probe.n, grid, name, label);
    if (mask) for (let i = 0; i < all.length; i++) if (!mask[i]) all[i] = -1;
  }
  const positions = Int32Array.from(all.keys()).filter((i) => all[i] >= 0);
  check(positions.length > 0, 'INVALID_ARGUMENT', `${t.source === 'next' ? "targets 'next'" : t.source}: no token has a target (every position is masked or negative)`, t.source === 'next' ? 'targets' : 'labels');
  return { grid, dims: out.dims!.join(), positions, targets: Int32Array.from(positions, (i) => all[i]) };
}

/**
 * Mean cross-entropy and error of one model's outputs against the targets: per sample, or per
 * counted token for sequence outputs (each token a row of the vocabulary's logits).
 */
export function targetLoss(t: Targets, out: Matrix, kind: OutputKind, probe: ProbeData, label: string): LossResult & { tokens?: number } {
  if (!out.dims) {
    check(
      t.classes !== undefined,
      'INVALID_ARGUMENT',
      `options.${t.source === 'next' ? 'targets' : 'labels'}: per-token targets apply to sequence outputs (rank ≥ 3, e.g. [batch, sequence, vocab]); ${label} has one row per sample, [${out.n}, ${out.k}]`,
      t.source === 'next' ? 'targets' : 'labels',
    );
    return classificationLoss(out, t.classes!, kind, label);
  }
  check(
    t.classes === undefined,
    'SHAPE_MISMATCH',
    `labels: one label per sequence, but ${label} is a sequence output [N, ${out.dims.join(', ')}]: give per-token targets [n, sequence] (negative = no target) or options.targets 'next'`,
    'labels',
  );
  t.tokens ??= fixTokens(t, out, probe, label);
  const { grid, positions, targets } = t.tokens;
  check(out.dims.join() === t.tokens.dims, 'SHAPE_MISMATCH', `${label}: output shape [N, ${out.dims.join(', ')}] differs from the first model's [N, ${t.tokens.dims}]`);
  const rows = toRows(out.data, out.n, grid);
  const V = grid.vocab;
  const picked = new Float64Array(positions.length * V);
  positions.forEach((p, r) => picked.set(rows.subarray(p * V, (p + 1) * V), r * V));
  return { ...classificationLoss({ data: picked, n: positions.length, k: V }, targets, kind, `${label}, ${plural(positions.length, 'counted token')}`), tokens: positions.length };
}
