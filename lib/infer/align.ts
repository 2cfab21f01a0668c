/**
 * Walk two models' output batches in lockstep. Both streams cover samples
 * 0..n in order but may cut them differently (a model with a fixed batch
 * dimension forces its own batch size), so each step yields the overlap
 * [start, end) of the current batches of both, as views.
 */
import type { OutputBatch } from './infer';
import type { Matrix } from '../matrix';

export interface PairedBatch {
  start: number;
  end: number;
  a: Matrix;
  b: Matrix;
}

function view(b: OutputBatch, start: number, end: number): Matrix {
  const k = b.output.k;
  const out: Matrix = { data: b.output.data.subarray((start - b.start) * k, (end - b.start) * k), n: end - start, k };
  if (b.output.dims) out.dims = b.output.dims;
  return out;
}

export async function* pairBatches(a: AsyncIterable<OutputBatch>, b: AsyncIterable<OutputBatch>): AsyncGenerator<PairedBatch> {
  const ia = a[Symbol.asyncIterator]();
  const ib = b[Symbol.asyncIterator]();
  try {
    let ra = await ia.next();
    let rb = await ib.next();
    let pos = 0;
    while (!ra.done && !rb.done) {
      const end = Math.min(ra.value.end, rb.value.end);
      yield { start: pos, end, a: view(ra.value, pos, end), b: view(rb.value, pos, end) };
      pos = end;
      if (ra.value.end === end) ra = await ia.next();
      if (rb.value.end === end) rb = await ib.next();
    }
  } finally {
    // Release both models even when the consumer stops early or throws.
    await ia.return?.();
    await ib.return?.();
  }
}

/**
 * Merge consecutive small paired batches into chunks of at least `minValues`
 * output values (n·k), so per-call costs of the consumer (kernel dispatch,
 * result allocation) are paid per chunk, not per inference batch. Memory stays
 * bounded by the chunk. Batches whose two sides differ in k pass through
 * unchanged (the consumer reports the mismatch). Chunk buffers are reused:
 * a chunk is valid until the consumer asks for the next one.
 */
export async function* coalesce(pairs: AsyncIterable<PairedBatch>, minValues: number): AsyncGenerator<PairedBatch> {
  let bufA: Float32Array | Float64Array | undefined;
  let bufB: Float32Array | Float64Array | undefined;
  let start = 0;
  let rows = 0;
  let k = 0;
  let dimsA: number[] | undefined;
  let dimsB: number[] | undefined;
  const flush = (): PairedBatch => {
    const out = {
      start,
      end: start + rows,
      a: { data: bufA!.subarray(0, rows * k), n: rows, k, ...(dimsA ? { dims: dimsA } : {}) },
      b: { data: bufB!.subarray(0, rows * k), n: rows, k, ...(dimsB ? { dims: dimsB } : {}) },
    };
    start += rows;
    rows = 0;
    return out;
  };
  for await (const p of pairs) {
    if (p.a.k !== p.b.k || p.a.n * p.a.k >= minValues) {
      if (rows > 0) yield flush();
      start = p.end;
      yield p;
      continue;
    }
    const capacity = Math.ceil(minValues / p.a.k) + p.a.n;
    if (!bufA || k !== p.a.k || bufA.length < capacity * p.a.k || bufA.constructor !== p.a.data.constructor || bufB!.constructor !== p.b.data.constructor) {
      if (rows > 0) yield flush();
      k = p.a.k;
      bufA = p.a.data instanceof Float64Array ? new Float64Array(capacity * k) : new Float32Array(capacity * k);
      bufB = p.b.data instanceof Float64Array ? new Float64Array(capacity * k) : new Float32Array(capacity * k);
    }
    if (rows === 0) start = p.start;
    dimsA = p.a.dims;
    dimsB = p.b.dims;
    bufA.set(p.a.data, rows * k);
    bufB!.set(p.b.data, rows * k);
    rows += p.a.n;
    if (rows * k >= minValues) yield flush();
  }
  if (rows > 0) yield flush();
}
