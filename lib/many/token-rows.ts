/**
 * Sequence outputs (rank ≥ 3, e.g. an LM's [n, sequence, vocab] logits) in the model matrix:
 * each model's output becomes one row per counted token (masked positions dropped, class axis
 * last), so every pairwise mean is the token-weighted mean `compare` reports. The sequence of
 * each row is kept too: tokens of a sequence are not independent, so standard errors and the
 * noise bootstrap treat sequences as clusters (lib/function/cluster.ts).
 */
import { ModeldiffError } from '../errors';
import type { ProbeData } from '../io/probe';
import { type TokenGrid, readMask, toRows, tokenGrid } from '../function/token-grid';
import type { Matrix } from '../matrix';

/** Which rows of the [n × positions] grid count, and each counted row's sequence. */
export interface TokenLayout {
  grid: TokenGrid;
  /** Indices into the n × positions rows that count, in order. */
  kept: Int32Array;
  /** The sequence of each counted row. */
  clusters: Int32Array;
  /** Sequences (n). */
  sequences: number;
  /** Where the mask came from, or null for none. */
  mask: string | null;
}

/** The layout of a sequence output of sample shape `dims`, masked by the probe's attention_mask when it has one. */
export function tokenLayout(dims: number[], n: number, probe: ProbeData | undefined, label: string): TokenLayout {
  const grid = tokenGrid(dims, undefined, label);
  const maskTensor = probe?.inputs.attention_mask;
  const mask = maskTensor ? readMask(maskTensor, n, grid, probe!.sources.attention_mask ?? 'attention_mask', label, 'data') : undefined;
  const rows = n * grid.positions;
  const kept: number[] = [];
  for (let r = 0; r < rows; r++) if (!mask || mask[r]) kept.push(r);
  if (kept.length === 0) throw new ModeldiffError('INVALID_ARGUMENT', `${probe!.sources.attention_mask ?? 'attention_mask'}: every position of every sequence is masked; nothing to compare`);
  return {
    grid,
    kept: Int32Array.from(kept),
    clusters: Int32Array.from(kept, (r) => Math.floor(r / grid.positions)),
    sequences: n,
    mask: mask ? 'attention_mask' : null,
  };
}

/** One model's sequence output as counted token rows [tokens, vocab]. */
export function tokenRowsOf(o: Matrix, layout: TokenLayout, label: string): Matrix {
  const { grid, kept } = layout;
  if (!o.dims || o.dims.join() !== [...grid.positionDims, grid.vocab].join()) {
    const shape = o.dims ? `[N, ${o.dims.join(', ')}]` : `[N, ${o.k}]`;
    throw new ModeldiffError('SHAPE_MISMATCH', `${label}: output has shape ${shape} but the first model's is [N, ${[...grid.positionDims, grid.vocab].join(', ')}]; models compared on one probe set must agree`);
  }
  const rows = toRows(o.data, o.n, grid);
  const V = grid.vocab;
  const out = new (rows.constructor as Float32ArrayConstructor)(kept.length * V);
  for (let i = 0; i < kept.length; i++) out.set(rows.subarray(kept[i] * V, (kept[i] + 1) * V), i * V);
  return { data: out, n: kept.length, k: V };
}
