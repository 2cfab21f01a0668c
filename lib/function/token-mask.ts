/**
 * The mask of a sequence output, as `compare`, `matrix` and `study` take it: the probe input
 * named `attention_mask` (automatic), another probe input named by `mask`, or none
 * (`mask: false`); and a further `maskFile` that narrows it (a one-array file, or the
 * attention_mask of a file holding several, such as the probe .npz). The options are checked before any
 * model runs (`openTokenMask`); the mask itself needs the output's token grid (`tokenMask`).
 * Row outputs (one row per sample) refuse these options (`refuseSequenceOptions`).
 */
import path from 'node:path';

import { ModeldiffError } from '../errors';
import { readArrays } from '../io/array-file';
import type { ProbeData, ProbeStream } from '../io/probe';
import { type Tensor, makeTensor } from '../io/tensor';
import { type TokenGrid, readMask, tokenGrid } from './token-grid';

/** The options that choose the mask of a sequence output. */
export interface TokenMaskOptions {
  /**
   * Sequence outputs: the probe input holding the mask (1 = counted, 0 = excluded). Default:
   * the input named attention_mask, when there is one; false = no mask.
   */
  mask?: string | false;
  /**
   * Sequence outputs: a further mask from an array file (or an array) of shape [n, ...positions]:
   * a one-array file, or the array named attention_mask of a file that holds several.
   * It is combined with the probe's mask (a position counts when both are 1); with mask: false
   * it is the only mask.
   */
  maskFile?: string | { data: ArrayLike<number> | BigInt64Array; shape: number[] };
}

/** The mask options checked and the mask file read, before any model runs. */
export interface OpenTokenMask {
  /** The probe input to read the mask from (undefined: none). */
  input?: string;
  /** The input is the probe's attention_mask, taken because no mask option was given. */
  automatic?: boolean;
  file?: { tensor: Tensor; source: string };
}

/** The probe's inputs as compare (streamed) or matrix (in memory) hold them. */
type Probe = Pick<ProbeData, 'sources'> & { inputs: Record<string, Tensor | { materialize(): Tensor }> };

/**
 * Checks the mask options against the probe's inputs (`probe` undefined: no probe set, so only
 * a mask file can be used) and reads the mask file.
 */
export function openTokenMask(options: TokenMaskOptions, probe: Pick<ProbeData | ProbeStream, 'inputs'> | undefined, cwd?: string): OpenTokenMask {
  const names = probe ? Object.keys(probe.inputs) : [];
  if (typeof options.mask === 'string' && !names.includes(options.mask)) {
    const given = probe ? `its inputs: ${names.join(', ')}` : 'no probe set was given';
    throw new ModeldiffError('INVALID_ARGUMENT', `mask: the probe data has no input named "${options.mask}" (${given})`, { option: 'mask' });
  }
  if (options.mask !== undefined && options.mask !== false && typeof options.mask !== 'string') {
    throw new ModeldiffError('INVALID_ARGUMENT', `options.mask must be a probe input name or false, got ${JSON.stringify(options.mask)}`, { option: 'mask' });
  }
  const input = options.mask === false ? undefined : (options.mask ?? (names.includes('attention_mask') ? 'attention_mask' : undefined));
  const chosen = { input, ...(options.mask === undefined && input !== undefined && { automatic: true }) };
  const m = options.maskFile;
  if (m === undefined) return chosen;
  if (typeof m === 'string') return { ...chosen, file: readMaskFile(path.resolve(cwd ?? process.cwd(), m), m) };
  // A plain array of 0/1 is what the option's type allows; tensors want a typed array.
  const data = Array.isArray(m.data) ? Float64Array.from(m.data) : m.data;
  const file = { tensor: makeTensor(data as never, m.shape, undefined, 'maskFile'), source: 'maskFile' };
  return { ...chosen, file };
}

/** A probe input as messages name it: its file (or .npz member), else `probe input "name"`. */
export function probeInputLabel(probe: Pick<ProbeData, 'sources'>, name: string): string {
  const src = probe.sources[name];
  return src === undefined || src === '<array>' ? `probe input "${name}"` : src;
}

/**
 * A mask file: a one-array file, or the array named attention_mask of a file that holds several
 * (such as the probe .npz itself). `label` is the file as the user gave it.
 */
export function readMaskFile(file: string, label: string): { tensor: Tensor; source: string } {
  const arrays = readArrays(file);
  const named = arrays.find(([name]) => name === 'attention_mask');
  if (arrays.length !== 1 && !named) {
    const names = arrays.map(([k]) => JSON.stringify(k)).join(', ');
    throw new ModeldiffError('INVALID_ARGUMENT', `${label}: holds ${arrays.length} arrays (${names}) and none is named attention_mask; give a file with just the mask`, {
      option: 'maskFile',
      input: label,
    });
  }
  const [name, tensor] = named ?? arrays[0];
  return { tensor, source: named && arrays.length > 1 ? `${label}:${name}` : label };
}

/**
 * The 0/1 mask of an output's token grid (1 = counted), or undefined for none, with where it
 * came from ("attention_mask", "mask.npy", "attention_mask and mask.npy") and the option that
 * chose it (the mask file's, when there is one: it is the one that narrows).
 */
export function tokenMask(open: OpenTokenMask, probe: Probe | undefined, n: number, g: TokenGrid, gridName: string): { mask?: Uint8Array; source?: string; option?: 'mask' | 'maskFile' } {
  let mask: Uint8Array | undefined;
  let source: string | undefined;
  if (open.input !== undefined && probe) {
    const name = open.input;
    const input = probe.inputs[name];
    const tensor = 'materialize' in input ? input.materialize() : input;
    // An automatic mask's bad values are the probe data's, not a mask option's.
    mask = readMask(tensor, n, g, probeInputLabel(probe, name), gridName, open.automatic ? 'data' : 'mask');
    source = name;
  }
  if (open.file) {
    // The file narrows the probe's mask, never widens it: the models were fed that mask, so
    // a position it pads is not a token whatever the file says (mask: false drops it).
    const fileMask = readMask(open.file.tensor, n, g, open.file.source, gridName, 'maskFile');
    if (mask) for (let i = 0; i < mask.length; i++) mask[i] &= fileMask[i];
    mask ??= fileMask;
    source = source === undefined ? open.file.source : `${source} and ${open.file.source}`;
  }
  return { mask, source, option: open.file ? 'maskFile' : mask ? 'mask' : undefined };
}

/**
 * An output with one row per sample ([n, k]) and sequence-only options: a class axis other than
 * 1 (or -1) is out of range; a mask, a mask file or `others` (e.g. targets) is an error naming
 * the first option given.
 */
export function refuseSequenceOptions(
  options: TokenMaskOptions & { classAxis?: number },
  n: number,
  k: number,
  outputLabel: string,
  others: Array<'targets' | 'labels'> = [],
): void {
  if (options.classAxis !== undefined) tokenGrid([k], options.classAxis, outputLabel);
  const given = [...others, ...(options.maskFile !== undefined ? (['maskFile'] as const) : []), ...(typeof options.mask === 'string' ? (['mask'] as const) : [])];
  if (given.length === 0) return;
  throw new ModeldiffError('INVALID_ARGUMENT', `options.${given[0]} applies to sequence outputs (rank ≥ 3, e.g. [batch, sequence, vocab]); ${outputLabel} has one row per sample, [${n}, ${k}]`, {
    option: given[0],
  });
}
