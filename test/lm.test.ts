/**
 * Language models token by token: compare on the committed tiny GPT-2 and Llama-style LMs
 * (test/fixtures/lm, built by scripts/fixtures/make-lm-fixtures.py) against the float64 numpy
 * reference the script computed from the same ONNX models' logits; the exact-zero, re-export
 * and int8 properties; and each bad input as a one-line error with nothing written.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import t from 'tap';

import { runCli } from '../lib/cli/main';
import { type Comparison, compare } from '../lib/function/compare';
import { inferOutputs } from '../lib/infer/infer';
import { clusterBootstrapCI, clusterSums } from '../lib/function/cluster';
import { matrix } from '../lib/many/matrix';
import { study } from '../lib/many/study';
import { readNpy, writeNpy } from '../lib/io/npy';
import { readNpz } from '../lib/io/npz';
import { captureIo } from './helpers/capture-io';

const LM = path.join(__dirname, 'fixtures', 'lm');
const TOKENS = path.join(LM, 'tokens.npz');
const model = (name: string) => path.join(LM, `${name}.onnx`);

interface MeasureRef {
  mean: number;
  perSequenceMean: number;
  percentiles: Record<string, number>;
  max: number;
}
interface PairRef {
  tokens: number;
  sequences: number;
  kl: MeasureRef;
  js: MeasureRef;
  tv: MeasureRef;
  top1Agreement: number;
  topkOverlap: number;
  next: {
    targets: number;
    crossEntropyA: number;
    crossEntropyB: number;
    perplexityA: number;
    perplexityB: number;
    deltaPerplexity: number;
    lnPerplexityRatio: number;
    rmsDeltaP: number;
    deltaP: { mean: number; min: number; max: number; percentiles: Record<string, number> };
  };
}
const REF = JSON.parse(fs.readFileSync(path.join(LM, 'reference.json'), 'utf8')) as { pairs: Record<string, PairRef> };

function close(t: { ok(c: boolean, m: string): unknown }, got: number, want: number, what: string, rel = 1e-6): void {
  const ok = got === want || Math.abs(got - want) <= rel * Math.abs(want);
  t.ok(ok, `${what}: ${got} vs reference ${want}`);
}

async function lmCompare(a: string, b: string, extra: Record<string, unknown> = {}): Promise<Comparison> {
  return compare(model(a), model(b), { data: TOKENS, targets: 'next', metrics: ['kl', 'js', 'tv'], cache: false, bootstrap: 200, ...extra });
}

for (const pair of ['gpt2:int8', 'llama:int8', 'llama:fp16']) {
  t.test(`${pair}: token-level numbers match the float64 reference`, async (t) => {
    const [base, other] = pair.split(':');
    const ref = REF.pairs[pair];
    const r = await lmCompare(base, `${base}.${other}`);
    t.equal(r.rows, ref.tokens, 'unmasked tokens counted');
    t.equal(r.sequences, ref.sequences);
    t.equal(r.classAxis, 2);
    t.equal(r.tokens!.maskedRows, 6 * 16 - ref.tokens);
    for (const m of ['kl', 'js', 'tv'] as const) {
      const got = r.metrics[m]! as unknown as MeasureRef & { median: number };
      close(t, got.mean, ref[m].mean, `${m} token-weighted mean`);
      close(t, got.perSequenceMean, ref[m].perSequenceMean, `${m} per-sequence mean`);
      for (const p of ['50', '90', '95', '99', '99.9']) close(t, got.percentiles[p], ref[m].percentiles[p], `${m} ${p}th percentile`);
      close(t, got.max, ref[m].max, `${m} max`);
      t.equal(got.median, got.percentiles['50']);
    }
    close(t, r.tokens!.top1Agreement.value, ref.top1Agreement, 'top-1 agreement');
    close(t, r.tokens!.topkOverlap!.value, ref.topkOverlap, 'top-5 overlap');
    const q = r.tokens!.next!;
    t.equal(q.targets, ref.next.targets);
    close(t, q.perplexity[0], ref.next.perplexityA, 'perplexity A');
    close(t, q.perplexity[1], ref.next.perplexityB, 'perplexity B');
    close(t, q.crossEntropy[0], ref.next.crossEntropyA, 'cross-entropy A');
    close(t, q.deltaPerplexity.value, ref.next.deltaPerplexity, 'Δ perplexity', 1e-5);
    close(t, q.lnPerplexityRatio.value, ref.next.lnPerplexityRatio, 'ln ppl ratio', 1e-5);
    close(t, q.rmsDeltaP.value, ref.next.rmsDeltaP, 'RMS Δp');
    close(t, q.deltaP.value, ref.next.deltaP.mean, 'mean Δp');
    close(t, q.deltaP.min, ref.next.deltaP.min, 'min Δp');
    close(t, q.deltaP.max, ref.next.deltaP.max, 'max Δp');
    t.same(Object.keys(q.deltaP.percentiles).sort(), Object.keys(ref.next.deltaP.percentiles).sort(), "llama.cpp's Δp percentiles");
    for (const [p, want] of Object.entries(ref.next.deltaP.percentiles)) close(t, q.deltaP.percentiles[p as '50'], want, `Δp ${p}th percentile`);
    t.ok(q.deltaP.ci95[0] <= q.deltaP.value && q.deltaP.value <= q.deltaP.ci95[1], 'the Δp interval holds its mean');
  });
}

t.test('the int8 copy: small positive KL whose cluster-bootstrap interval excludes 0', async (t) => {
  for (const base of ['gpt2', 'llama']) {
    const r = await lmCompare(base, `${base}.int8`);
    const kl = r.metrics.kl!;
    t.ok(kl.mean > 0 && kl.mean < 0.01, `${base}: KL ${kl.mean} small and positive`);
    t.ok(kl.ci95[0] > 0 && kl.ci95[0] <= kl.mean && kl.mean <= kl.ci95[1], `${base}: interval [${kl.ci95}] excludes 0 and holds the mean`);
    t.ok(kl.stderr > 0);
    t.equal(r.tokens!.uncertainty, 'cluster bootstrap over sequences');
  }
});

t.test('an LM against itself re-exported by the other exporter: <= 1e-6 on every measure', async (t) => {
  for (const base of ['gpt2', 'llama']) {
    const r = await lmCompare(base, `${base}.dynamo`);
    for (const m of ['kl', 'js', 'tv'] as const) t.ok(r.metrics[m]!.max <= 1e-6, `${base} ${m} max ${r.metrics[m]!.max}`);
    t.equal(r.tokens!.top1Agreement.value, 1);
    t.ok(Math.abs(r.tokens!.next!.lnPerplexityRatio.value) <= 1e-6);
    t.ok(r.tokens!.next!.rmsDeltaP.value <= 1e-6);
  }
});

t.test('a copy that differs only at padded positions: exactly 0 on every measure', async (t) => {
  const r = await lmCompare('llama', 'llama.padrow', { metrics: ['kl', 'kl-reverse', 'js', 'tv', 'hellinger', 'disagreement', 'l2'] });
  for (const [m, s] of Object.entries(r.metrics)) t.equal(s!.max, 0, `${m} is 0 at every counted token`);
  t.equal(r.tokens!.top1Agreement.value, 1);
  t.equal(r.tokens!.topkOverlap!.value, 1);
  t.equal(r.tokens!.next!.deltaPerplexity.value, 0);
  t.equal(r.tokens!.next!.rmsDeltaP.value, 0);
  // Without the mask the padded positions count, and there the copy differs.
  const unmasked = await lmCompare('llama', 'llama.padrow', { mask: false, targets: undefined });
  t.equal(unmasked.rows, 96);
  t.ok(unmasked.metrics.kl!.max > 0, 'padded positions differ');
});

t.test('per-token labels equal to the next ids give the next-token numbers; top list', async (t) => {
  const { input_ids: ids, attention_mask: mask } = readNpz(TOKENS);
  const T = 16;
  const labels = new BigInt64Array(6 * T).fill(-100n);
  for (let s = 0; s < 6; s++) for (let p = 0; p + 1 < T; p++) if (mask.data[s * T + p] && mask.data[s * T + p + 1]) labels[s * T + p] = (ids.data as BigInt64Array)[s * T + p + 1];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lm-'));
  const file = path.join(dir, 'labels.npy');
  writeNpy(file, { dtype: 'int64', shape: [6, T], data: labels });
  const viaLabels = await compare(model('gpt2'), model('gpt2.int8'), { data: TOKENS, labels: file, metrics: ['kl'], cache: false, bootstrap: 0, top: 4 });
  const ref = REF.pairs['gpt2:int8'];
  close(t, viaLabels.tokens!.next!.perplexity[1], ref.next.perplexityB, 'perplexity B from labels');
  t.equal(viaLabels.tokens!.next!.source, file);
  const top = viaLabels.tokens!.top!;
  t.equal(top.length, 4);
  t.equal(top[0].value, viaLabels.metrics.kl!.max, 'the first entry is the largest KL');
  for (let i = 1; i < top.length; i++) t.ok(top[i - 1].value >= top[i].value, 'sorted by KL');
  for (const e of top) {
    t.equal(mask.data[e.sequence * T + e.position], 1n, 'only counted tokens are listed');
    t.equal(e.tokenId, Number((ids.data as BigInt64Array)[e.sequence * T + e.position]));
    t.equal(e.a.tokens.length, 3);
    t.ok(e.a.tokens[0].p >= e.a.tokens[1].p && e.a.tokens[0].p <= 1);
  }
  t.ok(Number.isNaN(viaLabels.metrics.kl!.ci95[0]), 'no interval with 0 replicates');
  fs.rmSync(dir, { recursive: true });
});

t.test('all-masked sequences are skipped and counted; all masked is an error', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lm-'));
  const { attention_mask: mask } = readNpz(TOKENS);
  const m = new BigInt64Array(mask.data as BigInt64Array);
  m.fill(0n, 16, 32); // sequence 1 all masked
  writeNpy(path.join(dir, 'mask.npy'), { dtype: 'int64', shape: [6, 16], data: m });
  const r = await compare(model('gpt2'), model('gpt2.int8'), { data: TOKENS, maskFile: path.join(dir, 'mask.npy'), metrics: ['kl'], cache: false, bootstrap: 0 });
  t.equal(r.sequences, 5);
  t.equal(r.tokens!.skippedSequences, 1);
  t.equal(r.rows, REF.pairs['gpt2:int8'].tokens - 12);
  t.equal(r.tokens!.mask, `attention_mask and ${path.join(dir, 'mask.npy')}`, 'the file narrows the probe mask');
  writeNpy(path.join(dir, 'zeros.npy'), { dtype: 'int64', shape: [6, 16], data: new BigInt64Array(96) });
  await t.rejects(compare(model('gpt2'), model('gpt2.int8'), { data: TOKENS, maskFile: path.join(dir, 'zeros.npy'), cache: false }), { message: /every position of every sequence is masked/, option: 'maskFile' });
  fs.rmSync(dir, { recursive: true });
});

t.test('bad input: one line naming the file, tensor or flag; nothing written', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lm-'));
  const out = path.join(dir, 'per-token.npz');
  writeNpy(path.join(dir, 'short-mask.npy'), { dtype: 'int64', shape: [6, 15], data: new BigInt64Array(90).fill(1n) });
  const twos = new BigInt64Array(96).fill(1n);
  twos[20] = 2n;
  writeNpy(path.join(dir, 'two-mask.npy'), { dtype: 'int64', shape: [6, 16], data: twos });
  writeNpy(path.join(dir, 'short-labels.npy'), { dtype: 'int64', shape: [6, 15], data: new BigInt64Array(90) });
  writeNpy(path.join(dir, 'zeros.npy'), { dtype: 'int64', shape: [6, 16], data: new BigInt64Array(96) });
  const cases: Array<[string, string[], RegExp]> = [
    ['mask shape', ['--mask-file', path.join(dir, 'short-mask.npy')], /short-mask\.npy: the mask has shape \[6, 15\] but the token grid .* is \[6, 16\].*\(flag --mask-file\)/],
    ['mask values', ['--mask-file', path.join(dir, 'two-mask.npy')], /two-mask\.npy: mask values must be 0 or 1, found 2 at sequence 1, position 4/],
    ['class axis', ['--class-axis', '3'], /^modeldiff: --class-axis 3 is out of range for .*logits.* of shape \[N, 16, 256\]: the class axis must be one of 1\.\.2 .*axis 0 is the batch\)\n$/],
    ['class axis 0', ['--class-axis', '0'], /--class-axis 0 is out of range/],
    ['labels shape', ['--labels', path.join(dir, 'short-labels.npy')], /short-labels\.npy: the label array has shape \[6, 15\]/],
    ['all masked', ['--mask-file', path.join(dir, 'zeros.npy')], /zeros\.npy: every position of every sequence is masked; nothing to compare \(flag --mask-file\)/],
    ['mask name', ['--mask', 'nope'], /no input named "nope".*\(flag --mask\)/],
  ];
  // The content of a file a flag names is input (1), like a bad mask in the probe itself.
  const usage = ['class axis', 'class axis 0', 'mask name'];
  for (const [what, flags, message] of cases) {
    const io = captureIo();
    const code = await runCli(['compare', model('gpt2'), model('gpt2.int8'), '--data', TOKENS, '--no-cache', '--save-per-sample', out, ...flags], io);
    // A bad value of a typed flag is a usage error (2); a bad file it names is an input error (1).
    t.equal(code, usage.includes(what) ? 2 : 1, `${what}: exit ${usage.includes(what) ? 2 : 1}`);
    t.match(io.err, message, what);
    t.equal(io.err.trim().split('\n').length, 1, `${what}: one line`);
    t.notOk(fs.existsSync(out), `${what}: nothing written`);
  }
  const io = captureIo();
  t.equal(await runCli(['compare', model('gpt2'), model('llama'), '--data', TOKENS, '--no-cache'], io), 1);
  t.match(io.err, /vocabularies differ: .*gpt2\.onnx output "logits" has 256 classes.*llama\.onnx output "logits" has 320/);
  fs.rmSync(dir, { recursive: true });
});

t.test('modeldiff compare on an LM pair: text and JSON', async (t) => {
  const io = captureIo();
  t.equal(await runCli(['compare', model('gpt2'), model('gpt2.int8'), '--data', TOKENS, '--targets', 'next', '--no-cache', '--top', '2', '--bootstrap', '100'], io), 0, io.err);
  t.match(io.out, /6 sequences × 16 positions: 72 tokens counted in 6 sequences \(24 masked by attention_mask\)/);
  t.match(io.out, /^ {2}kl /m);
  t.match(io.out, /same top token: 100\.0%/);
  t.match(io.out, /perplexity +351\.8 +351\.4/);
  // llama.cpp's "Token probability statistics", in percent, printed to 4 significant digits.
  const dp = REF.pairs['gpt2:int8'].next.deltaP;
  const meanLine = /mean Δp of the target \(p_B − p_A\): (\S+)% ± \S+% \[/.exec(io.out);
  t.ok(meanLine, 'mean Δp line');
  close(t, Number(meanLine![1]), 100 * dp.mean, 'printed mean Δp', 1e-3);
  const line = /Δp percentiles: max (\S+)%, 99\.9% \S+%, 99% \S+%, 95% \S+%, 90% \S+%, 75% \S+%, median (\S+)%, 25% \S+%, 10% \S+%, 5% \S+%, 1% \S+%, 0\.1% \S+%, min (\S+)%\n/.exec(io.out);
  t.ok(line, 'Δp percentiles line, max to min');
  close(t, Number(line![1]), 100 * dp.max, 'printed max Δp', 1e-3);
  close(t, Number(line![2]), 100 * dp.percentiles['50'], 'printed median Δp', 1e-3);
  close(t, Number(line![3]), 100 * dp.min, 'printed min Δp', 1e-3);
  t.match(io.out, /top 2 tokens by kl/);
  const json = captureIo();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lm-'));
  const saved = path.join(dir, 'per-token.npz');
  t.equal(await runCli(['compare', model('gpt2'), model('gpt2.int8'), '--data', TOKENS, '--no-cache', '--json', '--topk', '3', '--bootstrap', '0', '--save-per-sample', saved], json), 0, json.err);
  const r = JSON.parse(json.out);
  // Per counted token, with the sequence and position each value belongs to.
  const perToken = readNpz(saved);
  const { attention_mask: mask } = readNpz(TOKENS);
  t.same(Object.keys(perToken).sort(), ['hellinger', 'js', 'kl', 'position', 'sequence', 'tv']);
  const where = Array.from(perToken.sequence.data as Int32Array, (s, i) => s * 16 + (perToken.position.data[i] as number));
  const unmasked = Array.from(mask.data as BigInt64Array).flatMap((v, i) => (v ? [i] : []));
  t.same(where, unmasked, 'one value per unmasked position, in order');
  const klMean = (perToken.kl.data as Float64Array).reduce((x, y) => x + y, 0) / where.length;
  close(t, klMean, REF.pairs['gpt2:int8'].kl.mean, 'saved per-token KL averages to the reference mean');
  t.notOk('perSample' in r || 'perSampleIndex' in r, 'saved, not printed');
  fs.rmSync(dir, { recursive: true });
  t.equal(r.rows, 72);
  t.equal(r.sequences, 6);
  t.equal(r.classAxis, 2);
  t.equal(r.tokens.topkOverlap.k, 3);
  t.same(Object.keys(r.metrics), ['kl', 'js', 'tv', 'hellinger'], 'KL first by default for sequence outputs');
});

t.test('execution providers: unknown and not installed are one-line errors', async (t) => {
  const io = captureIo();
  t.equal(await runCli(['compare', model('gpt2'), model('gpt2.int8'), '--data', TOKENS, '--no-cache', '--execution-provider', 'warp-drive'], io), 2);
  t.match(io.err, /unknown execution provider 'warp-drive' \(onnxruntime-node knows: cpu.*\(flag --execution-provider\)/);
  const cuda = captureIo();
  t.equal(await runCli(['compare', model('gpt2'), model('gpt2.int8'), '--data', TOKENS, '--no-cache', '--execution-provider', 'cuda'], cuda), 2);
  t.match(cuda.err, /execution provider 'cuda' is not installed in onnxruntime-node: npm install onnxruntime-node --onnxruntime-node-install=cuda12/);
  t.equal(cuda.err.trim().split('\n').length, 1);
  const cpu = await compare(model('gpt2'), model('gpt2.int8'), { data: TOKENS, executionProviders: ['cpu'], metrics: ['kl'], cache: false, bootstrap: 0 });
  close(t, cpu.metrics.kl!.mean, REF.pairs['gpt2:int8'].kl.mean, 'explicit cpu');
});

t.test('sequence-only options on classifiers, mixed outputs, kappa, option checks: one-line errors', async (t) => {
  const ZOO = path.join(__dirname, '..', 'examples', 'digits');
  const mlp = path.join(ZOO, 'mlp_relu_seed0.onnx');
  const X = path.join(ZOO, 'probe_x.npy');
  const base = { data: X, cache: false, bootstrap: 0 };
  await t.rejects(compare(mlp, mlp, { ...base, targets: 'next' }), { message: /input_ids/, option: 'targets' });
  await t.rejects(compare(mlp, mlp, { ...base, maskFile: { data: new Float32Array(450), shape: [450] } }), {
    option: 'maskFile',
    message: /maskFile applies to sequence outputs .* has one row per sample, \[450, 10\]/,
  });
  await t.rejects(compare(mlp, mlp, { ...base, classAxis: 2 }), { code: 'INVALID_ARGUMENT', option: 'classAxis', message: /^options\.classAxis 2 is out of range .* \[N, 10\]/ });
  await t.rejects(compare(mlp, mlp, { ...base, topk: 0 }), { code: 'INVALID_ARGUMENT', option: 'topk', message: 'options.topk must be a positive integer, got 0' });
  await t.rejects(compare(mlp, mlp, { ...base, targets: 'previous' as 'next' }), { code: 'INVALID_ARGUMENT', option: 'targets', message: /^options\.targets must be 'next', got "previous"/ });
  await t.rejects(compare(model('gpt2'), model('gpt2.int8'), { data: TOKENS, cache: false, targets: 'next', labels: X }), { code: 'INVALID_ARGUMENT', option: 'targets', message: "give options.targets 'next' or per-token options.labels, not both" });
  await t.rejects(compare(model('gpt2'), model('gpt2.int8'), { data: TOKENS, cache: false, metrics: ['kl', 'kappa'] }), { option: 'metrics', message: /kappa' is for one row per sample/ });
  // Labels of one axis on an LM are class labels of the wrong kind: the labels' own error.
  await t.rejects(compare(model('gpt2'), model('gpt2.int8'), { data: TOKENS, cache: false, labels: [1, 2, 3, 4, 5, 6] }), { option: 'labels', message: /one label per sequence/ });
});

t.test('matrix and study on sequence outputs: token rows, masked positions out, cluster-aware, as compare', async (t) => {
  const models = [model('gpt2'), model('gpt2.int8'), model('gpt2.fp16')];
  const pair = await compare(models[0], models[1], { data: TOKENS, metrics: ['kl'], cache: false, bootstrap: 0, perSample: true });
  const m = await matrix(models, { data: TOKENS, metric: 'kl', cache: false, weights: 'none' });
  t.equal(m.probe.samples, REF.pairs['gpt2:int8'].tokens, 'one row per unmasked token');
  t.equal(m.probe.sequences, 6);
  t.equal(m.probe.classes, 256);
  close(t, m.functional[0][1], REF.pairs['gpt2:int8'].kl.mean, 'KL(gpt2‖int8) token-weighted mean');
  close(t, m.functional[0][2], REF.pairs['gpt2:fp16'].kl.mean, 'KL(gpt2‖fp16) token-weighted mean');
  close(t, m.functional[0][1], pair.metrics.kl!.mean, 'the matrix entry is compare\'s mean', 1e-12);
  t.equal(m.functional[0][0], 0);
  const s = await study(models, { data: TOKENS, metric: 'kl', cache: false, weights: 'none', bootstrap: 200, seed: 3 });
  const p01 = s.pairs.find((p) => p.i === 0 && p.j === 1)!;
  close(t, p01.functional.se, pair.metrics.kl!.stderr, 'cluster-robust stderr, as compare', 1e-9);
  // The noise bootstrap resamples whole sequences: the same interval from compare's per-token values.
  const c = clusterSums([pair.perSample!.kl!], pair.perSampleIndex!.sequence, pair.rows!, 6);
  t.same(p01.functional.ci95, clusterBootstrapCI(c, (m) => m[0], 200, 3), 'cluster bootstrap interval');
  await t.rejects(study(models, { data: TOKENS, cache: false, weights: 'none', labels: [1, 2, 3, 4, 5, 6] }), { option: 'labels', message: /token by token/ });
});

t.test('LM logits: saved in their full shape; cached with their shape within the one-entry budget', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lm-'));
  const cacheDir = path.join(dir, 'cache');
  const io = captureIo();
  t.equal(await runCli(['outputs', model('gpt2'), '--data', TOKENS, '-o', path.join(dir, 'logits.npy'), '--cache-dir', cacheDir, '-q'], io), 0, io.err);
  t.match(io.out, /6 × 16 × 256 float32/);
  const saved = readNpy(path.join(dir, 'logits.npy'));
  t.same(saved.shape, [6, 16, 256]);
  t.equal(fs.readdirSync(cacheDir).filter((f) => f.endsWith('.bin')).length, 1, 'one cache entry for the sequence output');
  // A hit gives back the same values with the sample shape, so compare reads it token by token.
  const hit = await inferOutputs(model('gpt2'), TOKENS, { cacheDir });
  t.equal(hit.cached, true);
  t.same(hit.outputs.dims, [16, 256]);
  t.same(Buffer.from(hit.outputs.data.buffer, hit.outputs.data.byteOffset, hit.outputs.data.byteLength), Buffer.from(saved.data.buffer, saved.data.byteOffset, saved.data.byteLength), 'same bytes');
  const fresh = await compare(model('gpt2'), model('gpt2.int8'), { data: TOKENS, targets: 'next', metrics: ['kl'], cacheDir, bootstrap: 0 });
  const again = await compare(model('gpt2'), model('gpt2.int8'), { data: TOKENS, targets: 'next', metrics: ['kl'], cacheDir, bootstrap: 0 });
  t.same(again.models.map((m) => m.cached), [true, true], 'both models from the cache');
  t.equal(again.metrics.kl!.mean, fresh.metrics.kl!.mean);
  t.equal(again.rows, REF.pairs['gpt2:int8'].tokens);
  t.same(again.tokens, fresh.tokens, 'the same token summary from cached outputs');
  // Above the one-entry budget: not cached, and one line says so.
  const small = path.join(dir, 'small-cache');
  const warnings: string[] = [];
  const r = await inferOutputs(model('gpt2'), TOKENS, { cacheDir: small, cacheEntryMaxBytes: 6 * 16 * 256 * 4 - 1, onWarning: (w) => warnings.push(w) });
  t.equal(r.cached, false);
  t.match(warnings, [/outputs not cached: 96 KiB is above the cache's one-entry budget/]);
  t.same(fs.existsSync(small) ? fs.readdirSync(small).filter((f) => f.endsWith('.bin')) : [], []);
  fs.rmSync(dir, { recursive: true });
});
