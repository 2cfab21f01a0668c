/**
 * matrix and study read sequence outputs as compare does: --mask-file narrows the probe's
 * attention_mask, --mask names another probe input, --class-axis picks the class axis (a
 * segmentation map [n, C, H, W] with --class-axis 1). Each matrix entry equals the pairwise
 * compare under the same options; the segmentation entry also equals a float64 softmax/KL
 * written in this test. Bad values are one line naming the flag or file, with nothing written.
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
import { matrix } from '../lib/many/matrix';
import { createRng } from '../lib/util/rng';
import { captureIo } from './helpers/capture-io';
import { buildModel } from './helpers/onnx-builder';

const LM = path.join(__dirname, 'fixtures', 'lm');
const TOKENS = path.join(LM, 'tokens.npz');
const gpt2 = path.join(LM, 'gpt2.onnx');
const int8 = path.join(LM, 'gpt2.int8.onnx');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'modeldiff-token-flags-'));
t.teardown(() => fs.rmSync(tmp, { recursive: true, force: true }));
// One output cache for the whole file: each model runs once, however many cases read it.
const cacheDir = path.join(tmp, 'cache');
const cached = { cacheDir };

const attention = readNpz(TOKENS).attention_mask;
const [N, T] = attention.shape;

// A mask file that drops each sequence's first two positions; the tokens it leaves are counted
// here from the probe's own attention_mask.
const dropFirst = new Int32Array(N * T).fill(1);
let keptTokens = 0;
for (let s = 0; s < N; s++) {
  dropFirst[s * T] = dropFirst[s * T + 1] = 0;
  for (let p = 2; p < T; p++) keptTokens += Number(attention.data[s * T + p]);
}
const maskFile = path.join(tmp, 'drop-first.npy');
writeNpy(maskFile, makeTensor(dropFirst, [N, T]));

t.test('an LM matrix entry with a mask file is the pairwise compare with that mask', async (t) => {
  const pair = await compare(gpt2, int8, { data: TOKENS, maskFile, metrics: ['kl'], ...cached, bootstrap: 0 });
  t.equal(pair.rows, keptTokens, 'compare counts the tokens both masks keep');
  const io = captureIo();
  t.equal(await runCli(['matrix', gpt2, int8, '--data', TOKENS, '--mask-file', maskFile, '--metric', 'kl', '--weights', 'none', '--cache-dir', cacheDir, '--json'], io), 0, io.err);
  const m = JSON.parse(io.out);
  t.equal(m.probe.samples, keptTokens);
  t.equal(m.probe.sequences, N);
  t.ok(Math.abs(m.functional[0][1] - pair.metrics.kl!.mean) <= 1e-12 * pair.metrics.kl!.mean, `matrix ${m.functional[0][1]} = compare ${pair.metrics.kl!.mean}`);
  const plain = await matrix([gpt2, int8], { data: TOKENS, metric: 'kl', weights: 'none', ...cached });
  t.not(plain.functional[0][1], m.functional[0][1], 'the mask file changes the entry');

  // study takes the same flags: its pair mean is the same number.
  const sio = captureIo();
  t.equal(await runCli(['study', gpt2, int8, '--data', TOKENS, '--mask-file', maskFile, '--metric', 'kl', '--weights', 'none', '--cache-dir', cacheDir, '--json'], sio), 0, sio.err);
  const s = JSON.parse(sio.out);
  t.ok(Math.abs(s.pairs[0].functional.mean - pair.metrics.kl!.mean) <= 1e-12 * pair.metrics.kl!.mean, 'study pair mean = compare');
});

t.test('mask names a probe input; mask false counts every position', async (t) => {
  const byName = await matrix([gpt2, int8], { data: TOKENS, mask: 'attention_mask', metric: 'kl', weights: 'none', ...cached });
  const byDefault = await compare(gpt2, int8, { data: TOKENS, metrics: ['kl'], ...cached, bootstrap: 0 });
  t.equal(byName.probe.samples, byDefault.rows);
  t.ok(Math.abs(byName.functional[0][1] - byDefault.metrics.kl!.mean) <= 1e-12 * byDefault.metrics.kl!.mean);
  const all = await matrix([gpt2, int8], { data: TOKENS, metric: 'kl', weights: 'none', ...cached, mask: false });
  t.equal(all.probe.samples, N * T, 'mask: false: every position is a row');
  const allPair = await compare(gpt2, int8, { data: TOKENS, mask: false, metrics: ['kl'], ...cached, bootstrap: 0 });
  t.ok(Math.abs(all.functional[0][1] - allPair.metrics.kl!.mean) <= 1e-12 * allPair.metrics.kl!.mean);
  // A mask that is not 0/1 (the token ids) is refused, naming the input.
  await t.rejects(matrix([gpt2, int8], { data: TOKENS, mask: 'input_ids', weights: 'none', ...cached }), { option: 'mask', message: /tokens\.npz:input_ids: mask values must be 0 or 1, found \d+ at sequence 0, position 0/ });
});

t.test('segmentation maps [n, C, H, W] with classAxis 1: matrix = compare = float64 reference', async (t) => {
  const [n, C, H, W] = [5, 4, 3, 2];
  const rng = createRng(11);
  const x = Float32Array.from({ length: n * C * H * W }, () => rng.normal());
  const scaleA = [1, -0.5, 2, 0.3];
  const scaleB = [1.2, -0.4, 1.7, 0.5];
  const shift = [0.1, 0, -0.2, 0.3];
  const seg = (name: string, scale: number[], bias: number[]) => {
    const file = path.join(tmp, `${name}.onnx`);
    fs.writeFileSync(
      file,
      buildModel({
        inputs: [{ name: 'x', shape: ['n', C, H, W] }],
        outputs: [{ name: 'scores', shape: ['n', C, H, W] }],
        initializers: [
          { name: 's', dims: [1, C, 1, 1], data: scale },
          { name: 'b', dims: [1, C, 1, 1], data: bias },
        ],
        nodes: [
          { op: 'Mul', inputs: ['x', 's'], outputs: ['xs'] },
          { op: 'Add', inputs: ['xs', 'b'], outputs: ['scores'] },
        ],
      }),
    );
    return file;
  };
  const a = seg('seg-a', scaleA, [0, 0, 0, 0]);
  const b = seg('seg-b', scaleB, shift);
  const probe = path.join(tmp, 'images.npy');
  writeNpy(probe, makeTensor(x, [n, C, H, W]));

  // KL(softmax_c(A) ‖ softmax_c(B)) at every pixel, in float64 from the float32 model inputs.
  let sum = 0;
  for (let s = 0; s < n; s++) {
    for (let p = 0; p < H * W; p++) {
      const la: number[] = [];
      const lb: number[] = [];
      for (let c = 0; c < C; c++) {
        const v = x[(s * C + c) * H * W + p];
        la.push(Math.fround(v * Math.fround(scaleA[c])));
        lb.push(Math.fround(Math.fround(v * Math.fround(scaleB[c])) + Math.fround(shift[c])));
      }
      const lse = (l: number[]) => Math.max(...l) + Math.log(l.reduce((z, v) => z + Math.exp(v - Math.max(...l)), 0));
      const [za, zb] = [lse(la), lse(lb)];
      for (let c = 0; c < C; c++) sum += Math.exp(la[c] - za) * (la[c] - za - (lb[c] - zb));
    }
  }
  const reference = sum / (n * H * W);

  const pair = await compare(a, b, { data: probe, classAxis: 1, metrics: ['kl'], ...cached, bootstrap: 0 });
  t.equal(pair.rows, n * H * W);
  t.equal(pair.k, C);
  t.ok(Math.abs(pair.metrics.kl!.mean - reference) <= 1e-6 * reference, `compare ${pair.metrics.kl!.mean} vs reference ${reference}`);
  const io = captureIo();
  t.equal(await runCli(['matrix', a, b, '--data', probe, '--class-axis', '1', '--metric', 'kl', '--weights', 'none', '--cache-dir', cacheDir, '--json'], io), 0, io.err);
  const m = JSON.parse(io.out);
  t.same([m.probe.samples, m.probe.classes, m.probe.sequences], [n * H * W, C, n]);
  t.ok(Math.abs(m.functional[0][1] - pair.metrics.kl!.mean) <= 1e-12 * reference, `matrix ${m.functional[0][1]} = compare ${pair.metrics.kl!.mean}`);
  const negative = await matrix([a, b], { data: probe, classAxis: -3, metric: 'kl', weights: 'none', ...cached });
  t.equal(negative.functional[0][1], m.functional[0][1], 'axis -3 is axis 1');
  // The default (last axis) reads W as the classes: a different number.
  const last = await matrix([a, b], { data: probe, metric: 'kl', weights: 'none', ...cached });
  t.equal(last.probe.classes, W);
});

t.test('bad values: one line naming the flag or file, nothing written', async (t) => {
  const short = path.join(tmp, 'short.npy');
  writeNpy(short, makeTensor(new Int32Array(N * (T - 1)).fill(1), [N, T - 1]));
  const twos = new Int32Array(N * T).fill(1);
  twos[T + 3] = 2;
  const twosFile = path.join(tmp, 'twos.npy');
  writeNpy(twosFile, makeTensor(twos, [N, T]));
  const zoo = path.join(__dirname, '..', 'examples', 'digits');
  const cases: Array<[string, string[], number, RegExp]> = [
    ['class axis', ['--class-axis', '3'], 2, /--class-axis 3 is out of range for gpt2\.onnx output "logits" of shape \[N, 16, 256\]/],
    ['class axis 0', ['--class-axis', '0'], 2, /--class-axis 0 is out of range/],
    ['class axis not a number', ['--class-axis', 'last'], 2, /--class-axis/],
    ['mask name', ['--mask', 'nope'], 2, /no input named "nope" \(its inputs: input_ids, attention_mask\).*--mask/],
    ['mask values', ['--mask-file', twosFile], 1, /twos\.npy: mask values must be 0 or 1, found 2 at sequence 1, position 3 \(flag --mask-file\)/],
    ['mask shape', ['--mask-file', short], 1, /short\.npy: the mask has shape \[6, 15\] but the token grid of gpt2\.onnx output "logits" is \[6, 16\].*\(flag --mask-file\)/],
    ['missing mask file', ['--mask-file', path.join(tmp, 'none.npy')], 1, /none\.npy/],
  ];
  for (const command of ['matrix', 'study']) {
    for (const [what, flags, code, message] of cases) {
      const io = captureIo();
      const report = path.join(tmp, `${command}-report.html`);
      const extra = command === 'study' ? ['--report', report] : [];
      t.equal(await runCli([command, gpt2, int8, '--data', TOKENS, '--weights', 'none', '--cache-dir', cacheDir, '-q', ...extra, ...flags], io), code, `${command} ${what}: exit ${code}`);
      t.match(io.err, message, `${command} ${what}`);
      t.equal(io.err.trim().split('\n').length, 1, `${command} ${what}: one line`);
      t.equal(io.out, '', `${command} ${what}: nothing printed`);
      t.notOk(fs.existsSync(report), `${command} ${what}: no report written`);
    }
  }
  // Vocabularies that differ: both sizes named.
  const vocab = captureIo();
  t.equal(await runCli(['matrix', gpt2, path.join(LM, 'llama.onnx'), '--data', TOKENS, '--weights', 'none', '--cache-dir', cacheDir], vocab), 1);
  t.match(vocab.err, /^modeldiff: the models' vocabularies differ: gpt2\.onnx output "logits" has 256 classes on axis 2, llama\.onnx output "logits" has 320; token-level measures need the same vocabulary\n$/);
  // Classifier outputs (one row per sample): the sequence-only flags are refused by name.
  const mlp = [path.join(zoo, 'mlp_relu_seed0.onnx'), path.join(zoo, 'mlp_relu_seed1.onnx')];
  const X = path.join(zoo, 'probe_x.npy');
  const io = captureIo();
  t.equal(await runCli(['matrix', ...mlp, '--data', X, '--weights', 'none', '--cache-dir', cacheDir, '--mask-file', maskFile], io), 2);
  t.match(io.err, /^modeldiff: --mask-file applies to sequence outputs .*mlp_relu_seed0\.onnx output "\S+" has one row per sample, \[450, 10\]\n$/);
  const axis = captureIo();
  t.equal(await runCli(['matrix', ...mlp, '--data', X, '--weights', 'none', '--cache-dir', cacheDir, '--class-axis', '2'], axis), 2);
  t.match(axis.err, /--class-axis 2 is out of range .*\[N, 10\]/);
  t.equal((await matrix(mlp, { data: X, classAxis: -1, weights: 'none', ...cached })).probe.classes, 10, 'axis -1 of a classifier is its classes');
  // Saved outputs without a probe set: a mask name has nowhere to come from.
  await t.rejects(
    matrix(
      [
        { name: 'a', outputs: { data: new Float32Array(12), n: 2, k: 3, dims: [2, 3] } },
        { name: 'b', outputs: { data: new Float32Array(12), n: 2, k: 3, dims: [2, 3] } },
      ],
      { mask: 'attention_mask' },
    ),
    { option: 'mask', message: /no input named "attention_mask" \(no probe set was given\)/ },
  );
});

t.test('matrix and study say how a sequence output was read, in text and JSON', async (t) => {
  const io = captureIo();
  t.equal(await runCli(['matrix', gpt2, int8, '--data', TOKENS, '--metric', 'kl', '--weights', 'none', '--cache-dir', cacheDir, '--json', '--mask-file', maskFile], io), 0, io.err);
  t.match(JSON.parse(io.out).probe, { samples: keptTokens, sequences: N, classAxis: 2, mask: `attention_mask and ${maskFile}`, uncertainty: 'cluster bootstrap over sequences' });
  const text = captureIo();
  t.equal(await runCli(['matrix', gpt2, int8, '--data', TOKENS, '--metric', 'kl', '--weights', 'none', '--cache-dir', cacheDir], text), 0, text.err);
  const counted = Array.from(attention.data as BigInt64Array).filter((v) => v === 1n).length;
  t.match(text.out, `kl between 2 models on ${counted} tokens of ${N} sequences (class axis 2, masked by attention_mask) (outputs read as logits`);
  const st = captureIo();
  const report = path.join(tmp, 'lm-report.html');
  t.equal(await runCli(['study', gpt2, int8, '--data', TOKENS, '--metric', 'kl', '--weights', 'none', '--cache-dir', cacheDir, '--report', report], st), 0, st.err);
  const html = fs.readFileSync(report, 'utf8');
  t.match(html, `study of 2 models on ${counted} tokens of ${N} sequences (intervals resample whole sequences)`);
  t.match(html, `tokens (of ${N} sequences, masked by attention_mask) × vocabulary (logits)`);
  t.match(st.out, `2 models, ${counted} tokens of ${N} sequences (class axis 2, masked by attention_mask), output distance kl`);
  t.match(st.out, /\nstandard errors and the noise bootstrap resample whole sequences \(cluster bootstrap\)\n/);
});

t.test('matrix, study and outputs take several --data NAME=FILE, --execution-provider and say when outputs are not cached', async (t) => {
  const { input_ids } = readNpz(TOKENS);
  const ids = path.join(tmp, 'ids.npy');
  const mask32 = path.join(tmp, 'mask32.npy');
  writeNpy(ids, input_ids);
  writeNpy(mask32, makeTensor(Int32Array.from(attention.data as BigInt64Array, Number), [N, T]));
  const whole = await matrix([gpt2, int8], { data: TOKENS, metric: 'kl', weights: 'none', ...cached });
  const io = captureIo();
  t.equal(await runCli(['matrix', gpt2, int8, '--data', `input_ids=${ids}`, '--data', `attention_mask=${mask32}`, '--metric', 'kl', '--weights', 'none', '--no-cache', '--json'], io), 0, io.err);
  t.same(JSON.parse(io.out).functional, whole.functional, 'int64 ids and an int32 mask from two files: the same matrix as the one .npz');
  const mixed = captureIo();
  t.equal(await runCli(['matrix', gpt2, int8, '--data', `input_ids=${ids}`, '--data', TOKENS, '--weights', 'none', '--no-cache'], mixed), 2);
  t.match(mixed.err, /^modeldiff: mix of named and unnamed --data/);

  // Above --cache-max: one line per model, once, and nothing cached.
  const small = path.join(tmp, 'small-cache');
  const note = captureIo();
  t.equal(await runCli(['matrix', gpt2, int8, '--data', TOKENS, '--metric', 'kl', '--weights', 'none', '--cache-dir', small, '--cache-max', '1K', '-q'], note), 0, note.err);
  const lines = note.err.trim().split('\n');
  t.equal(lines.length, 2, note.err);
  t.match(lines[0], /^modeldiff: warning: gpt2\.onnx: outputs not cached: 96 KiB is above the cache's one-entry budget of 1 KiB/);
  t.match(lines[1], /gpt2\.int8\.onnx: outputs not cached/);
  t.same(fs.existsSync(small) ? fs.readdirSync(small).filter((f) => f.endsWith('.bin')) : [], []);

  for (const command of [['matrix', gpt2, int8, '--weights', 'none'], ['study', gpt2, int8, '--weights', 'none'], ['outputs', gpt2, '-o', path.join(tmp, 'o.npy')]]) {
    const cuda = captureIo();
    t.equal(await runCli([...command, '--data', TOKENS, '--no-cache', '--execution-provider', 'cuda'], cuda), 2, command[0]);
    t.match(cuda.err, /^modeldiff: execution provider 'cuda' is not installed in onnxruntime-node: npm install onnxruntime-node --onnxruntime-node-install=cuda12.*\n$/, command[0]);
  }
  t.notOk(fs.existsSync(path.join(tmp, 'o.npy')), 'outputs wrote nothing');
  const cpu = await matrix([gpt2, int8], { data: TOKENS, metric: 'kl', weights: 'none', executionProviders: ['cpu'], cache: false });
  t.same(cpu.functional, whole.functional, 'explicit cpu');
});

t.test('a mask file may be the probe .npz itself: its attention_mask is the mask', async (t) => {
  const counted = Array.from(attention.data as BigInt64Array).filter((v) => v === 1n).length;
  const r = await compare(gpt2, int8, { data: TOKENS, mask: false, maskFile: TOKENS, metrics: ['kl'], ...cached, bootstrap: 0 });
  t.equal(r.rows, counted, 'the file alone masks the padded positions');
  t.equal(r.tokens!.mask, `${TOKENS}:attention_mask`);
  const m = await matrix([gpt2, int8], { data: TOKENS, mask: false, maskFile: TOKENS, metric: 'kl', weights: 'none', ...cached });
  t.equal(m.probe.samples, counted);
  t.ok(Math.abs(m.functional[0][1] - r.metrics.kl!.mean) <= 1e-12 * r.metrics.kl!.mean);
  // Several arrays and none named attention_mask: which one is meant is not guessed.
  const two = path.join(tmp, 'two.npz');
  writeNpz(two, { a: makeTensor(dropFirst, [N, T]), b: makeTensor(dropFirst, [N, T]) });
  const io = captureIo();
  t.equal(await runCli(['matrix', gpt2, int8, '--data', TOKENS, '--mask-file', two, '--weights', 'none', '--cache-dir', cacheDir], io), 1, "the file's content: input, not usage");
  t.match(io.err, /^modeldiff: \S*two\.npz: holds 2 arrays \("a", "b"\) and none is named attention_mask; give a file with just the mask \(flag --mask-file\)\n$/);
});

t.test('library: in-memory sequence outputs with classAxis and an array mask; option checks', async (t) => {
  // Two models' outputs [n = 2, C = 3, T = 4] (classes on axis 1), the mask [2, 4] drops 3 positions.
  const [n, C, P] = [2, 3, 4];
  const rng = createRng(5);
  const a = Float32Array.from({ length: n * C * P }, () => rng.normal());
  const b = Float32Array.from({ length: n * C * P }, () => rng.normal());
  const maskData = [1, 1, 0, 1, 1, 0, 0, 1];
  let sum = 0;
  let count = 0;
  for (let s = 0; s < n; s++) {
    for (let p = 0; p < P; p++) {
      if (!maskData[s * P + p]) continue;
      const la = Array.from({ length: C }, (_, c) => a[(s * C + c) * P + p]);
      const lb = Array.from({ length: C }, (_, c) => b[(s * C + c) * P + p]);
      const lse = (l: number[]) => Math.log(l.reduce((z, v) => z + Math.exp(v), 0));
      const [za, zb] = [lse(la), lse(lb)];
      for (let c = 0; c < C; c++) sum += Math.exp(la[c] - za) * (la[c] - za - (lb[c] - zb));
      count++;
    }
  }
  const models = [
    { name: 'a', outputs: { data: a, n, k: C * P, dims: [C, P] } },
    { name: 'b', outputs: { data: b, n, k: C * P, dims: [C, P] } },
  ];
  const r = await matrix(models, { metric: 'kl', classAxis: 1, maskFile: { data: maskData, shape: [n, P] } });
  t.match(r.probe, { samples: count, classes: C, sequences: n, classAxis: 1, mask: 'maskFile' });
  t.ok(Math.abs(r.functional[0][1] - sum / count) <= 1e-6 * (sum / count), `${r.functional[0][1]} vs ${sum / count}`);
  // A mask given as in-memory probe arrays is named by its input.
  const probeMask = { input_ids: { data: new BigInt64Array(n * P), shape: [n, P] }, attention_mask: { data: Int32Array.from(maskData), shape: [n, P] } };
  const viaProbe = await matrix(models, { metric: 'kl', classAxis: 1, data: probeMask });
  t.equal(viaProbe.functional[0][1], r.functional[0][1]);
  t.equal(viaProbe.probe.mask, 'attention_mask');
  await t.rejects(matrix(models, { classAxis: 1, data: probeMask, maskFile: { data: [1, 1], shape: [2] } }), { option: 'maskFile', message: /^maskFile: the mask has shape \[2\] but the grid of a is \[2, 4\] \(one value per map and position\)/ });
  await t.rejects(matrix(models, { mask: 7 as unknown as string }), { option: 'mask', message: 'options.mask must be a probe input name or false, got 7' });
  // One row per sample: classAxis out of range, a mask refused.
  const rows = [
    { name: 'a', outputs: { data: a, n: 8, k: 3 } },
    { name: 'b', outputs: { data: b, n: 8, k: 3 } },
  ];
  await t.rejects(matrix(rows, { classAxis: 2 }), { option: 'classAxis', message: /^options\.classAxis 2 is out of range for a of shape \[N, 3\]/ });
  await t.rejects(matrix(rows, { maskFile: { data: maskData, shape: [8] } }), { option: 'maskFile', message: /^options\.maskFile applies to sequence outputs .* a has one row per sample, \[8, 3\]/ });
});

t.test('a sequence with no counted position is skipped and counted, as compare does', async (t) => {
  const off = Int32Array.from(dropFirst, () => 1);
  off.fill(0, T, 2 * T); // sequence 1 all masked
  const file = path.join(tmp, 'seq1-off.npy');
  writeNpy(file, makeTensor(off, [N, T]));
  const pair = await compare(gpt2, int8, { data: TOKENS, maskFile: file, metrics: ['kl'], ...cached, bootstrap: 0 });
  t.equal(pair.tokens!.skippedSequences, 1);
  const io = captureIo();
  t.equal(await runCli(['matrix', gpt2, int8, '--data', TOKENS, '--mask-file', file, '--metric', 'kl', '--weights', 'none', '--cache-dir', cacheDir], io), 0, io.err);
  t.match(io.out, `on ${pair.rows} tokens of ${N} sequences (class axis 2, masked by attention_mask and ${file}, 1 sequence all masked: skipped)`);
  const m = await matrix([gpt2, int8], { data: TOKENS, maskFile: file, metric: 'kl', weights: 'none', ...cached });
  t.match(m.probe, { samples: pair.rows, sequences: N, skippedSequences: 1 });
  t.ok(Math.abs(m.functional[0][1] - pair.metrics.kl!.mean) <= 1e-12 * pair.metrics.kl!.mean);
});

t.test('compare --top with targets: the text shows each listed token\'s target', async (t) => {
  const ids = readNpz(TOKENS).input_ids.data as BigInt64Array;
  const io = captureIo();
  t.equal(await runCli(['compare', gpt2, int8, '--data', TOKENS, '--targets', 'next', '--top', '40', '--bootstrap', '0', '--cache-dir', cacheDir], io), 0, io.err);
  const table = io.out.slice(io.out.indexOf('top 40 tokens by kl'));
  t.match(table, /\n {2}sequence +position +token +target +kl +A top tokens/);
  const rows = [...table.matchAll(/^ {2}(\d+) +(\d+) +(\d+) +(\d+|-) +\S+ /gm)];
  t.equal(rows.length, 40);
  let withTarget = 0;
  for (const [, s, p, token, target] of rows) {
    const i = Number(s) * T + Number(p);
    t.equal(token, String(ids[i]));
    // The next input id when both positions are unmasked, else none.
    const next = Number(p) + 1 < T && attention.data[i + 1] === 1n ? String(ids[i + 1]) : '-';
    t.equal(target, next, `sequence ${s}, position ${p}`);
    if (target !== '-') withTarget++;
  }
  t.ok(withTarget > 0 && withTarget < 40, 'both kinds listed');
});
