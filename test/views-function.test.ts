// The function view: prepare = a model's outputs as a stream of row blocks, pair = per-sample
// divergences, summarized by matrix/study as mean and standard error. Through the generic
// driver (pairMatrix) it gives a hand-written float64 reference (total variation of
// probability rows, mean and standard error); functionMatrices, the block-by-block driver of
// matrix/study, gives the same numbers whatever the block size.
import t from 'tap';

import { memoryStore } from '../lib/many/store';
import { createRng } from '../lib/util/rng';
import { functionMatrices, functionView, meanAndStderr, storeContext } from '../lib/views/function';
import { pairMatrix } from '../lib/views/view';

const n = 40;
const k = 3;

function probabilities(seed: number): Float32Array {
  const rng = createRng(seed);
  const out = new Float32Array(n * k);
  for (let i = 0; i < n; i++) {
    const row = Array.from({ length: k }, () => Math.exp(rng.normal()));
    const s = row.reduce((a, b) => a + b, 0);
    row.forEach((v, c) => (out[i * k + c] = v / s));
  }
  return out;
}

/** Total variation per row, ½ Σ|p − q|, in float64, and its mean and standard error. */
function reference(p: Float32Array, q: Float32Array): { mean: number; se: number } {
  const v = Array.from({ length: n }, (_, i) => {
    let s = 0;
    for (let c = 0; c < k; c++) s += Math.abs(p[i * k + c] - q[i * k + c]);
    return s / 2;
  });
  const mean = v.reduce((a, b) => a + b, 0) / n;
  const sd = Math.sqrt(v.reduce((a, x) => a + (x - mean) ** 2, 0) / (n - 1));
  return { mean, se: sd / Math.sqrt(n) };
}

const outputs = [1, 2, 3, 4].map((s) => ({ data: probabilities(s), n, k }));
const names = ['a', 'b', 'c', 'd'];
const close = (x: number, y: number) => Math.abs(x - y) <= 1e-6 * Math.max(1, Math.abs(y));

t.test('the generic driver over the function view gives the float64 reference', async (t) => {
  const context = storeContext(memoryStore(names, outputs), { metric: 'tv', outputKind: 'probs' });
  const pairs = await pairMatrix(functionView, [0, 1, 2, 3].map((index) => ({ index })), context, { symmetric: true });
  for (let i = 0; i < 4; i++) {
    for (let j = 0; j < 4; j++) {
      if (i === j) continue;
      const ref = reference(outputs[i].data, outputs[j].data);
      const s = meanAndStderr(pairs[i][j]!, 'tv');
      t.ok(close(s.mean, ref.mean) && close(s.se, ref.se), `${names[i]} vs ${names[j]}: ${s.mean} ± ${s.se}, reference ${ref.mean} ± ${ref.se}`);
    }
  }
});

t.test('functionMatrices: the same pairs in blocks of 2 as all at once', async (t) => {
  const bytes = outputs[0].data.byteLength + 4 * n * k;
  const whole = await functionMatrices(memoryStore(names, outputs), { metric: 'tv', outputKind: 'probs', perPair: true, keepSeries: new Set([1]) });
  const blocked = await functionMatrices(memoryStore(names, outputs, 4 * bytes), { metric: 'tv', outputKind: 'probs', perPair: true, keepSeries: new Set([1]) });
  t.same(Array.from(blocked.matrix), Array.from(whole.matrix));
  t.same(Array.from(blocked.se!), Array.from(whole.se!));
  const ref = reference(outputs[0].data, outputs[1].data);
  t.ok(close(whole.matrix[1], ref.mean) && close(whole.se![1], ref.se), 'entry (a, b) is the reference');
  t.equal(whole.series.get(1)!.length, n, 'the kept series has one value per sample');
});
