/**
 * Walk two models' output batches in lockstep. Both streams cover samples
 * 0..n in order but may cut them differently (a model with a fixed batch
 * dimension forces its own batch size), so each step yields the overlap
 * [start, end) of the current batches of both, as views.
 */
import type { OutputBatch } from './infer';
import type { OutputArray } from './outputs';

export interface PairedBatch {
  start: number;
  end: number;
  a: OutputArray;
  b: OutputArray;
}

function view(b: OutputBatch, start: number, end: number): OutputArray {
  const k = b.output.k;
  return { data: b.output.data.subarray((start - b.start) * k, (end - b.start) * k), n: end - start, k };
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
