/**
 * Two language-model options checked against the same comparison computed without them:
 * a mask file narrows the probe's attention_mask (a padded position never counts, whatever the
 * file says), and with bits the cross-entropy is in bits (nats / ln 2) while perplexity, which
 * does not depend on units, is unchanged. And a probe whose attention_mask does not fit its
 * input_ids is refused before onnxruntime sees it.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import t from 'tap';

import { runCli } from '../lib/cli/main';
import { compare } from '../lib/function/compare';
import { readNpz, writeNpz } from '../lib/io/npz';
import { writeNpy } from '../lib/io/npy';
import { makeTensor } from '../lib/io/tensor';
import { captureIo } from './helpers/capture-io';

const dir = path.join(__dirname, '..', 'examples', 'lm');
const base = path.join(dir, 'base.onnx');
const int8 = path.join(dir, 'base.int8.onnx');
const data = path.join(dir, 'tokens.npz');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'modeldiff-lm-options-'));
t.teardown(() => fs.rmSync(tmp, { recursive: true, force: true }));

const attention = readNpz(data).attention_mask;
const [n, positions] = attention.shape;
const common = { data, cache: false, bootstrap: 0, targets: 'next' as const };

t.test('a mask file narrows attention_mask and never counts a padded position', async (t) => {
  const plain = await compare(base, int8, common);
  const ones = path.join(tmp, 'ones.npy');
  writeNpy(ones, makeTensor(new Int32Array(n * positions).fill(1), [n, positions]));
  const withOnes = await compare(base, int8, { ...common, maskFile: ones });
  t.equal(withOnes.rows, plain.rows, 'an all-ones file changes nothing: padded positions stay out');
  t.equal(withOnes.metrics.kl!.mean, plain.metrics.kl!.mean);

  // A file that drops each sequence's first position: the rows counted are the attention mask's
  // ones minus those first positions, counted here from the probe itself.
  const dropFirst = new Int32Array(n * positions).fill(1);
  let expected = 0;
  for (let s = 0; s < n; s++) {
    dropFirst[s * positions] = 0;
    for (let p = 1; p < positions; p++) expected += Number(attention.data[s * positions + p]);
  }
  const firstOff = path.join(tmp, 'first-off.npy');
  writeNpy(firstOff, makeTensor(dropFirst, [n, positions]));
  const narrowed = await compare(base, int8, { ...common, maskFile: firstOff });
  t.equal(narrowed.rows, expected);
  t.ok(expected < plain.rows!);

  const fileOnly = await compare(base, int8, { ...common, maskFile: ones, mask: false });
  t.equal(fileOnly.rows, n * positions, 'with mask: false the file is the only mask');
});

t.test('bits: cross-entropy in bits, perplexity unchanged', async (t) => {
  const nats = await compare(base, int8, common);
  const bits = await compare(base, int8, { ...common, bits: true });
  t.equal(bits.units, 'bits');
  for (const m of [0, 1] as const) {
    t.ok(Math.abs(bits.tokens!.next!.crossEntropy[m] * Math.LN2 - nats.tokens!.next!.crossEntropy[m]) < 1e-12, `model ${m}: bits × ln 2 = nats`);
    t.equal(bits.tokens!.next!.perplexity[m], nats.tokens!.next!.perplexity[m]);
    t.ok(Math.abs(2 ** bits.tokens!.next!.crossEntropy[m] - bits.tokens!.next!.perplexity[m]) < 1e-9 * bits.tokens!.next!.perplexity[m], 'perplexity = 2^(bits)');
  }
  t.ok(Math.abs(bits.metrics.kl!.mean * Math.LN2 - nats.metrics.kl!.mean) < 1e-15, 'KL converted the same way');
});

t.test('an attention_mask of the wrong length is one line naming the file and tensor, before onnxruntime', async (t) => {
  const probe = readNpz(data);
  const short = path.join(tmp, 'short-mask.npz');
  const cut = new BigInt64Array(n * (positions - 1));
  for (let s = 0; s < n; s++) cut.set((attention.data as BigInt64Array).subarray(s * positions, (s + 1) * positions - 1), s * (positions - 1));
  writeNpz(short, { input_ids: probe.input_ids, attention_mask: makeTensor(cut, [n, positions - 1]) });
  const io = captureIo();
  t.equal(await runCli(['compare', base, int8, '--data', short, '--no-cache', '-q'], io), 1);
  t.equal(io.err, `modeldiff: ${short}:attention_mask: attention_mask has shape [${n}, ${positions - 1}] but input_ids (${short}:input_ids) has [${n}, ${positions}]; per-token inputs need one value per token\n`);
  t.notMatch(io.err, /onnxruntime/);
});
