/**
 * Large vocabularies (issue 14: V up to 256k): the automatic batch holds about OUTPUT_BATCH_BYTES
 * of one model's output, sized from the declared output shape [n, sequence, V] with the
 * sequence length read from input_ids; and compare at V = 262144 gives the token-weighted KL of
 * a float64 softmax written here. The models are one Mul: logits[s, t, v] = input_ids[s, t]·w[v].
 */
import t from 'tap';

import { compare } from '../lib/function/compare';
import { OUTPUT_BATCH_BYTES, streamOutputs } from '../lib/infer/infer';
import { buildModel } from './helpers/onnx-builder';

const V = 262144;

function lm(w: Float32Array): Uint8Array {
  return buildModel({
    inputs: [{ name: 'input_ids', dtype: 'int64', shape: ['batch', 'sequence'] }],
    outputs: [{ name: 'logits', shape: ['batch', 'sequence', V] }],
    initializers: [
      { name: 'w', dims: [V], data: w },
      { name: 'axes', dims: [1], data: [2], dtype: 'int64' },
    ],
    nodes: [
      { op: 'Cast', inputs: ['input_ids'], outputs: ['x'], attrs: { to: { i: 1 } } },
      { op: 'Unsqueeze', inputs: ['x', 'axes'], outputs: ['x3'] },
      { op: 'Mul', inputs: ['x3', 'w'], outputs: ['logits'] },
    ],
  });
}

const wA = Float32Array.from({ length: V }, (_, v) => ((v % 97) - 48) / 100);
const wB = Float32Array.from({ length: V }, (_, v) => ((v % 89) - 44) / 100);

t.test('the automatic batch is sized by the bytes of one sample\'s output', async (t) => {
  const [n, T] = [20, 16];
  const ids = new BigInt64Array(n * T).fill(1n);
  const s = await streamOutputs(lm(wA), { input_ids: { data: ids, shape: [n, T] } }, { cache: false });
  const perSample = T * V * 4; // 16 MiB of float32 logits per sequence
  t.equal(s.batchSize, Math.floor(OUTPUT_BATCH_BYTES / perSample), `${s.batchSize} sequences per batch, not all ${n}`);
  t.ok(s.batchSize < n);
  await s.close();
});

t.test('compare at V = 262144: the float64 token-weighted KL', async (t) => {
  const [n, T] = [3, 2];
  const ids = BigInt64Array.from({ length: n * T }, (_, i) => BigInt(1 + (i % 4)));
  const r = await compare(lm(wA), lm(wB), { data: { input_ids: { data: ids, shape: [n, T] } }, metrics: ['kl'], cache: false, bootstrap: 0 });
  t.equal(r.k, V);
  t.equal(r.rows, n * T);
  t.equal(r.tokens!.mask, null, 'no attention_mask: every position counts');
  let sum = 0;
  const la = new Float64Array(V);
  const lb = new Float64Array(V);
  for (let i = 0; i < n * T; i++) {
    const x = Number(ids[i]);
    let ma = -Infinity;
    let mb = -Infinity;
    for (let v = 0; v < V; v++) {
      la[v] = Math.fround(x * wA[v]);
      lb[v] = Math.fround(x * wB[v]);
      ma = Math.max(ma, la[v]);
      mb = Math.max(mb, lb[v]);
    }
    let za = 0;
    let zb = 0;
    for (let v = 0; v < V; v++) {
      za += Math.exp(la[v] - ma);
      zb += Math.exp(lb[v] - mb);
    }
    const lza = ma + Math.log(za);
    const lzb = mb + Math.log(zb);
    for (let v = 0; v < V; v++) sum += Math.exp(la[v] - lza) * (la[v] - lza - (lb[v] - lzb));
  }
  const reference = sum / (n * T);
  t.ok(Math.abs(r.metrics.kl!.mean - reference) <= 1e-6 * reference, `KL ${r.metrics.kl!.mean} vs reference ${reference}`);
});
