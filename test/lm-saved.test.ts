/**
 * Saved LM outputs: `divergence` on two [n, sequence, vocab] logit arrays (as `modeldiff
 * outputs` writes them) with the probe's mask and per-token labels gives the numbers of the
 * float64 numpy reference of scripts/fixtures/make-lm-fixtures.py, whatever the class axis;
 * `--save-per-sample` writes per-token values with their sequence and position; bad input is a
 * one-line error; `matrix` reads such saved outputs token by token.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import t from 'tap';

import { runCli } from '../lib/cli/main';
import { divergencePerSampleSync } from '../lib/function/divergence';
import { divergence } from '../lib/function/divergence-summary';
import { inferOutputs } from '../lib/infer/infer';
import { matrix } from '../lib/many/matrix';
import { writeNpy } from '../lib/io/npy';
import { readNpz, writeNpz } from '../lib/io/npz';
import { captureIo } from './helpers/capture-io';

const LM = path.join(__dirname, 'fixtures', 'lm');
const TOKENS = path.join(LM, 'tokens.npz');
const REF = JSON.parse(fs.readFileSync(path.join(LM, 'reference.json'), 'utf8')).pairs['gpt2:int8'];
const N = 6;
const T = 16;
const V = 256;

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lm-saved-'));
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));

function close(t: { ok(c: boolean, m: string): unknown }, got: number, want: number, what: string, rel = 1e-6): void {
  t.ok(got === want || Math.abs(got - want) <= rel * Math.abs(want), `${what}: ${got} vs reference ${want}`);
}

const { input_ids: ids, attention_mask: mask } = readNpz(TOKENS);
// Next-token targets as per-token labels: position t's target is the id at t + 1 (both unmasked).
const labels = new BigInt64Array(N * T).fill(-100n);
for (let s = 0; s < N; s++) for (let p = 0; p + 1 < T; p++) if (mask.data[s * T + p] && mask.data[s * T + p + 1]) labels[s * T + p] = (ids.data as BigInt64Array)[s * T + p + 1];

/** [n, T, V] → [n, V, T]: the class axis moved to 1. */
function classAxisFirst(x: Float32Array): Float32Array {
  const out = new Float32Array(x.length);
  for (let s = 0; s < N; s++) for (let p = 0; p < T; p++) for (let c = 0; c < V; c++) out[(s * V + c) * T + p] = x[(s * T + p) * V + c];
  return out;
}

/** Each model's logits, [n, T, V] row-major. */
const logits: Record<string, Float32Array> = {};

t.before(async () => {
  for (const [name, m] of [
    ['a', 'gpt2'],
    ['b', 'gpt2.int8'],
  ]) {
    const r = await inferOutputs(path.join(LM, `${m}.onnx`), TOKENS, { cache: false });
    const data = r.outputs.data as Float32Array;
    logits[name] = data;
    writeNpy(path.join(dir, `${name}.npy`), { dtype: 'float32', shape: [N, T, V], data });
    writeNpy(path.join(dir, `${name}.t.npy`), { dtype: 'float32', shape: [N, V, T], data: classAxisFirst(data) });
  }
  writeNpy(path.join(dir, 'labels.npy'), { dtype: 'int64', shape: [N, T], data: labels });
  writeNpy(path.join(dir, 'mask.npy'), { dtype: 'int64', shape: [N, T], data: mask.data as BigInt64Array });
  writeNpy(path.join(dir, 'short-mask.npy'), { dtype: 'int64', shape: [N, T - 1], data: new BigInt64Array(N * (T - 1)).fill(1n) });
  writeNpy(path.join(dir, 'rows.npy'), { dtype: 'float32', shape: [N, V], data: new Float32Array(N * V) });
});

async function cli(...args: string[]) {
  const io = { ...captureIo(), cwd: dir };
  const wrapped = { ...io, stdout: (s: string) => void (io.out += s), stderr: (s: string) => void (io.err += s) };
  const code = await runCli(['divergence', ...args], wrapped);
  return { code, out: io.out, err: io.err };
}

for (const [a, b, axis] of [
  ['a.npy', 'b.npy', undefined],
  ['a.t.npy', 'b.t.npy', '1'],
] as const) {
  t.test(`divergence ${a} ${b}${axis ? ` --class-axis ${axis}` : ''}: the float64 reference, token by token`, async (t) => {
    const r = await cli(a, b, '--metric', 'kl,js,tv', '--mask-file', 'mask.npy', '--labels', 'labels.npy', '--bootstrap', '100', '--json', ...(axis ? ['--class-axis', axis] : []));
    t.equal(r.code, 0, r.err);
    const doc = JSON.parse(r.out);
    t.match(doc, { a, b, n: N, rows: REF.tokens, sequences: REF.sequences, classAxis: axis ? 1 : 2, k: V, outputs: 'logits' });
    t.equal(doc.tokens.maskedRows, N * T - REF.tokens);
    t.equal(doc.tokens.mask, 'mask.npy');
    for (const m of ['kl', 'js', 'tv']) {
      close(t, doc.metrics[m].mean, REF[m].mean, `${m} mean`);
      close(t, doc.metrics[m].perSequenceMean, REF[m].perSequenceMean, `${m} per-sequence mean`);
      for (const p of ['50', '90', '99.9']) close(t, doc.metrics[m].percentiles[p], REF[m].percentiles[p], `${m} ${p}th percentile`);
    }
    close(t, doc.tokens.top1Agreement.value, REF.top1Agreement, 'top-1 agreement');
    close(t, doc.tokens.topkOverlap.value, REF.topkOverlap, 'top-5 overlap');
    const q = doc.tokens.next;
    t.equal(q.targets, REF.next.targets);
    t.equal(q.source, 'labels.npy');
    close(t, q.perplexity[0], REF.next.perplexityA, 'perplexity A');
    close(t, q.perplexity[1], REF.next.perplexityB, 'perplexity B');
    close(t, q.rmsDeltaP.value, REF.next.rmsDeltaP, 'RMS Δp');
    close(t, q.deltaP.value, REF.next.deltaP.mean, 'mean Δp');
    close(t, q.deltaP.percentiles['99'], REF.next.deltaP.percentiles['99'], 'Δp 99th percentile');
  });
}

t.test('the mask from the probe .npz, the text report, and per-token values with their index', async (t) => {
  const r = await cli('a.npy', 'b.npy', '--metric', 'kl', '--mask-file', TOKENS, '--bootstrap', '0', '--top', '2', '--save-per-sample', 'per-token.npz');
  t.equal(r.code, 0, r.err);
  t.match(r.out, /6 sequences × 16 positions: 72 tokens counted in 6 sequences \(24 masked by .*tokens\.npz:attention_mask\)/);
  t.match(r.out, /top 2 tokens by kl/);
  const saved = readNpz(path.join(dir, 'per-token.npz'));
  t.same(Object.keys(saved).sort(), ['kl', 'position', 'sequence']);
  t.equal(saved.sequence.dtype, 'int32');
  t.equal(saved.kl.data.length, REF.tokens, 'one value per counted token');
  const { a, b } = logits;
  for (let i = 0; i < saved.kl.data.length; i++) {
    const s = saved.sequence.data[i] as number;
    const p = saved.position.data[i] as number;
    t.equal(mask.data[s * T + p], 1n, `token ${i} is unmasked`);
    const row = (x: Float32Array) => ({ data: x.subarray((s * T + p) * V, (s * T + p + 1) * V), n: 1, k: V });
    const want = divergencePerSampleSync(row(a), row(b), ['kl'], { outputs: 'logits' }).kl[0];
    if (saved.kl.data[i] !== want) t.fail(`token ${i} (sequence ${s}, position ${p}): ${saved.kl.data[i]} vs ${want}`);
  }
  const again = await cli('a.npy', 'b.npy', '--mask-file', TOKENS, '--save-per-sample', 'per-token.npz');
  t.equal(again.code, 1);
  t.match(again.err, /already exists/);
});

t.test('library: divergence on sequence outputs matches the reference; bad input is a one-line error', async (t) => {
  const a = { data: logits.a, shape: [N, T, V] };
  const r = await divergence(a, a, ['kl', 'tv'], { maskFile: mask, bootstrap: 0 });
  t.equal(r.metrics.kl!.max, 0, 'a model against itself');
  t.equal(r.rows, REF.tokens);
  await t.rejects(divergence(a, a, ['kappa'], { maskFile: mask }), { option: 'metrics', message: /kappa' is for one row per sample/ });
  await t.rejects(divergence(a, { data: new Float32Array(N * V), n: N, k: V }, ['kl'], { names: ['x.npy', 'y.npy'] }), { message: /x\.npy is a sequence output \[6, 16, 256\] but y\.npy has one row per sample/ });
  await t.rejects(divergence({ data: new Float32Array(N * V), n: N, k: V }, { data: new Float32Array(N * V), n: N, k: V }, ['kl'], { maskFile: mask }), {
    option: 'maskFile',
    message: /maskFile applies to sequence outputs/,
  });
  await t.rejects(divergence(a, { data: a.data.subarray(0, N * (T - 1) * V), shape: [N, T - 1, V] }, ['kl']), { code: 'SHAPE_MISMATCH', message: /a has shape \[6, 16, 256\] but b has shape \[6, 15, 256\]/ });
  const rows = { data: new Float32Array(N * V), n: N, k: V };
  await t.rejects(divergence(rows, rows, ['kl'], { classAxis: 2 }), { option: 'classAxis', message: /classAxis 2 is out of range/ });
  await t.rejects(divergence(rows, rows, ['kl'], { top: 3 }), { option: 'top', message: /top applies to sequence outputs/ });
  await t.rejects(divergence(a, { data: new Int32Array(N * T * V) as never, shape: [N, T, V] }, ['kl']), { message: /b: outputs must be a Float32Array or Float64Array/ });
  await t.rejects(divergence(a, { data: new Float32Array(5), shape: [N, T, V] }, ['kl']), { code: 'SHAPE_MISMATCH', message: /b: 5 values do not fill shape \[6, 16, 256\]/ });
  await t.rejects(divergence({ data: new Float32Array(0), shape: [0, T, V] }, { data: new Float32Array(0), shape: [0, T, V] }, ['kl']), { message: /a: no sequences \(n = 0\)/ });
  const cases: Array<[string[], number, RegExp]> = [
    [['a.npy', 'b.npy', '--mask-file', 'short-mask.npy'], 1, /short-mask\.npy: the mask has shape \[6, 15\] but the token grid of a\.npy is \[6, 16\].*\(flag --mask-file\)/],
    [['a.npy', 'rows.npy'], 1, /a\.npy is a sequence output \[6, 16, 256\] but rows\.npy has one row per sample/],
    [['rows.npy', 'rows.npy', '--mask-file', 'mask.npy'], 2, /--mask-file applies to sequence outputs/],
    [['a.npy', 'b.npy', '--class-axis', '3'], 2, /^modeldiff: --class-axis 3 is out of range for a\.npy of shape \[N, 16, 256\]/],
    [['a.npy', 'b.npy', '--mask-file', 'two.npz'], 1, /two\.npz: holds 2 arrays .* none is named attention_mask/],
  ];
  writeNpy(path.join(dir, 'x.npy'), { dtype: 'int64', shape: [2], data: new BigInt64Array(2) });
  writeNpz(path.join(dir, 'two.npz'), { x: { dtype: 'int64', shape: [2], data: new BigInt64Array(2) }, y: { dtype: 'int64', shape: [2], data: new BigInt64Array(2) } });
  for (const [args, code, message] of cases) {
    const r2 = await cli(...args, '--save-per-sample', 'bad.npz');
    t.equal(r2.code, code, args.join(' '));
    t.match(r2.err, message);
    t.equal(r2.err.trim().split('\n').length, 1, 'one line');
    t.notOk(fs.existsSync(path.join(dir, 'bad.npz')), 'nothing written');
  }
});

t.test('matrix on LM outputs saved by modeldiff outputs: the masked token-weighted means', async (t) => {
  const saved: string[] = [];
  for (const m of ['gpt2', 'gpt2.int8']) {
    const file = path.join(dir, `${m}.logits.npy`);
    const io = captureIo();
    t.equal(await runCli(['outputs', path.join(LM, `${m}.onnx`), '--data', TOKENS, '-o', file, '--no-cache', '-q'], io), 0, io.err);
    saved.push(file);
  }
  const r = await matrix(saved, { data: TOKENS, metric: 'kl', weights: 'none' });
  t.equal(r.probe.samples, REF.tokens, 'the probe\'s attention_mask leaves padded positions out');
  t.equal(r.probe.sequences, N);
  close(t, r.functional[0][1], REF.kl.mean, 'KL(gpt2‖int8) from saved outputs');
  // Without the probe set there is no mask: every position counts.
  const unmasked = await matrix(saved, { metric: 'kl', weights: 'none' });
  t.equal(unmasked.probe.samples, N * T);
});

t.test('outputs refuses a probe attention_mask other than 0/1, as compare does, before running', async (t) => {
  const twos = BigInt64Array.from(mask.data as BigInt64Array);
  twos[T + 2] = 2n;
  const bad = path.join(dir, 'bad-mask-tokens.npz');
  writeNpz(bad, { input_ids: ids, attention_mask: { ...mask, data: twos } });
  const out = path.join(dir, 'bad-mask.logits.npy');
  const io = captureIo();
  t.equal(await runCli(['outputs', path.join(LM, 'gpt2.onnx'), '--data', bad, '-o', out, '--no-cache', '-q'], io), 1);
  t.match(io.err, /^modeldiff: \S*bad-mask-tokens\.npz:attention_mask: mask values must be 0 or 1, found 2 at sequence 1, position 2 \(flag --data\)\n$/);
  t.notOk(fs.existsSync(out), 'nothing written');
  // compare names the flag the values came through: --data for the automatic mask, --mask when chosen.
  const gpt2 = path.join(LM, 'gpt2.onnx');
  for (const [extra, flag] of [[[], '--data'], [['--mask', 'attention_mask'], '--mask']] as const) {
    const cio = captureIo();
    t.equal(await runCli(['compare', gpt2, gpt2, '--data', bad, ...extra, '--no-cache', '-q'], cio), 1);
    t.match(cio.err, new RegExp(`mask values must be 0 or 1, found 2 at sequence 1, position 2 \\(flag ${flag}\\)\n$`));
  }
});
