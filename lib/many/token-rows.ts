/**
 * Sequence outputs (rank ≥ 3, e.g. an LM's [n, sequence, vocab] logits) in the model matrix:
 * each model's output becomes one row per counted token (masked positions dropped, class axis
 * last), so every pairwise mean is the token-weighted mean `compare` reports. The sequence of
 * each row is kept too: tokens of a sequence are not independent, so standard errors and the
 * noise bootstrap treat sequences as clusters (lib/function/cluster.ts).
 */
import { ModeldiffError } from '../errors';
import type { ProbeData } from '../io/probe';
import { type TokenGrid, toRows, tokenGrid } from '../function/token-grid';
import { type OpenTokenMask, openTokenMask, tokenMask } from '../function/token-mask';
import type { Matrix } from '../matrix';

/** Which rows of the [n × positions] grid count, and each counted row's sequence. */
export interface TokenLayout {
  grid: TokenGrid;
  /** The first model's sample shape (batch axis excluded), which every model must have. */
  dims: number[];
  /** The first model's output, for messages. */
  label: string;
  /** Indices into the n × positions rows that count, in order. */
  kept: Int32Array;
  /** The sequence of each counted row. */
  clusters: Int32Array;
  /** Sequences (n). */
  sequences: number;
  /** Where the mask came from, or null for none. */
  mask: string | null;
  /** Sequences with no counted position: left out of every number, and counted here. */
  skippedSequences: number;
}

/**
 * The layout of a sequence output of sample shape `dims`: its class axis (default the last) and
 * its mask (default the probe's attention_mask, when it has one; see token-mask.ts).
 */
export function tokenLayout(
  dims: number[],
  n: number,
  probe: ProbeData | undefined,
  label: string,
  options: { classAxis?: number; mask?: OpenTokenMask } = {},
): TokenLayout {
  const grid = tokenGrid(dims, options.classAxis, label);
  const { mask, source } = tokenMask(options.mask ?? openTokenMask({}, probe), probe, n, grid, label);
  const rows = n * grid.positions;
  const kept: number[] = [];
  for (let r = 0; r < rows; r++) if (!mask || mask[r]) kept.push(r);
  if (kept.length === 0) throw new ModeldiffError('INVALID_ARGUMENT', `${source}: every position of every sequence is masked; nothing to compare`);
  return {
    grid,
    dims: [...dims],
    label,
    kept: Int32Array.from(kept),
    clusters: Int32Array.from(kept, (r) => Math.floor(r / grid.positions)),
    sequences: n,
    mask: source ?? null,
    skippedSequences: n - new Set(Array.from(kept, (r) => Math.floor(r / grid.positions))).size,
  };
}

/** What an output store records of a layout: each row's sequence and how the output was read. */
export function layoutFields(layout: TokenLayout): { clusters: Int32Array; sequences: number; classAxis: number; mask: string | null; skippedSequences: number } {
  return { clusters: layout.clusters, sequences: layout.sequences, classAxis: layout.grid.classAxis, mask: layout.mask, skippedSequences: layout.skippedSequences };
}

/** One model's sequence output as counted token rows [tokens, vocab]. */
export function tokenRowsOf(o: Matrix, layout: TokenLayout, label: string): Matrix {
  const { grid, kept } = layout;
  if (!o.dims || o.dims.join() !== layout.dims.join()) {
    const shape = o.dims ? `[N, ${o.dims.join(', ')}]` : `[N, ${o.k}]`;
    const axis = grid.classAxis - 1;
    if (o.dims && o.dims.length === layout.dims.length && o.dims.every((d, i) => i === axis || d === layout.dims[i])) {
      throw new ModeldiffError(
        'SHAPE_MISMATCH',
        `the models' vocabularies differ: ${layout.label} has ${grid.vocab} classes on axis ${grid.classAxis}, ${label} has ${o.dims[axis]}; token-level measures need the same vocabulary`,
      );
    }
    throw new ModeldiffError('SHAPE_MISMATCH', `${label}: output has shape ${shape} but the first model's is [N, ${layout.dims.join(', ')}]; models compared on one probe set must agree`);
  }
  const rows = toRows(o.data, o.n, grid);
  const V = grid.vocab;
  const out = new (rows.constructor as Float32ArrayConstructor)(kept.length * V);
  for (let i = 0; i < kept.length; i++) out.set(rows.subarray(kept[i] * V, (kept[i] + 1) * V), i * V);
  return { data: out, n: kept.length, k: V };
}
