// Sequence outputs that are not token grids: a segmentation network's [n, classes, H, W] scores
// read with --class-axis 1 are compared per pixel, and every report and message says maps,
// positions and classes, not a language model's sequences, tokens and vocabulary. Numbers
// against the float64 numpy reference of scripts/fixtures/make-seg-fixtures.py.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import t from 'tap';

import { runCli } from '../lib/cli/main';
import { writeNpy } from '../lib/io/npy';
import { captureIo } from './helpers/capture-io';

const SEG = path.join(__dirname, 'fixtures', 'seg');
const REF = JSON.parse(fs.readFileSync(path.join(SEG, 'reference.json'), 'utf8'));
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'modeldiff-seg-'));
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));

async function cli(...args: string[]) {
  const io = captureIo();
  io.cwd = SEG;
  const code = await runCli(args, io);
  return { code, out: io.out, err: io.err };
}

const compareArgs = ['compare', 'seg.onnx', 'seg.b.onnx', '--data', 'images.npy', '--class-axis', '1', '--metric', 'kl,tv', '--no-cache', '-q'];
const close = (x: number, want: number) => Math.abs(x - want) <= 1e-5 * Math.abs(want);

t.test('compare --class-axis 1: per-pixel numbers and map words in the JSON', async (t) => {
  const r = await cli(...compareArgs, '--json');
  t.equal(r.code, 0, r.err);
  const doc = JSON.parse(r.out);
  t.match(doc.tokens, { rows: REF.maps * REF.positions, sequences: REF.maps, positions: REF.positions, positionDims: [6, 6], vocab: REF.classes, classAxis: 1, uncertainty: 'cluster bootstrap over maps' });
  t.ok(close(doc.metrics.kl.mean, REF.kl), `kl ${doc.metrics.kl.mean} vs ${REF.kl}`);
  t.ok(close(doc.metrics.tv.mean, REF.tv), `tv ${doc.metrics.tv.mean} vs ${REF.tv}`);
  t.ok(close(doc.metrics.kl.perSequenceMean, REF.klPerMapMean), 'per-map mean');
  t.equal(doc.tokens.top1Agreement.value, REF.top1Agreement);
  // 5 classes and the default top-5: the overlap would be 100% on any maps, so it is absent.
  t.equal(REF.classes, 5);
  t.notOk('topkOverlap' in doc.tokens, 'no top-5 overlap of 5 classes');
  const top3 = JSON.parse((await cli(...compareArgs, '--json', '--topk', '3')).out);
  t.equal(top3.tokens.topkOverlap.k, 3, 'top-3 of 5 classes is reported');
  t.ok(top3.tokens.topkOverlap.value < 1, `and says something: ${top3.tokens.topkOverlap.value}`);
});

t.test('compare --class-axis 1: the text report says maps, positions and classes', async (t) => {
  const r = await cli(...compareArgs, '--top', '2');
  t.equal(r.code, 0, r.err);
  t.match(r.out, `${REF.maps} maps × ${REF.positions} positions: ${REF.maps * REF.positions} positions counted in ${REF.maps} maps (no mask)`);
  t.match(r.out, `${REF.classes} classes (class axis 1)`);
  t.match(r.out, /per-map mean/);
  t.match(r.out, /same top class: \S+ \[[^\]\n]*\]\n/, 'no top-5 overlap of 5 classes after it');
  t.notMatch(r.out, /overlap/);
  t.match(r.out, /means are position-weighted; stderr is cluster-robust over maps/);
  t.match(r.out, /top 2 positions by kl:\n\s+map\s+position\s+kl\s+A top classes \(p\)\s+B top classes \(p\)/);
  t.notMatch(r.out, /token|sequence|vocabulary/i, 'no language-model words');
});

t.test('divergence on saved maps: messages name maps, positions and classes', async (t) => {
  // [2 maps, 3 classes, 2 x 2 pixels]; map 1's pixel 3 has a NaN score in b.
  const a = Float32Array.from({ length: 24 }, (_, i) => Math.sin(i));
  const b = Float32Array.from(a, (v, i) => (i === 12 + 2 * 4 + 3 ? NaN : v + 0.1));
  writeNpy(path.join(dir, 'a.npy'), { dtype: 'float32', shape: [2, 3, 2, 2], data: a });
  writeNpy(path.join(dir, 'b.npy'), { dtype: 'float32', shape: [2, 3, 2, 2], data: b });
  writeNpy(path.join(dir, 'ok.npy'), { dtype: 'float32', shape: [2, 3, 2, 2], data: a.map((v) => v + 0.1) });
  writeNpy(path.join(dir, 'mask.npy'), { dtype: 'int32', shape: [2, 4], data: new Int32Array(8).fill(1) });
  writeNpy(path.join(dir, 'badmask.npy'), { dtype: 'int32', shape: [2, 2, 2], data: Int32Array.from([1, 1, 1, 1, 1, 2, 1, 1]) });
  writeNpy(path.join(dir, 'labels.npy'), { dtype: 'int32', shape: [2, 2, 2], data: Int32Array.from([0, 1, 2, 0, 1, 7, 0, 0]) });
  const run = async (...args: string[]) => {
    const io = captureIo();
    io.cwd = dir;
    const code = await runCli(['divergence', ...args, '--class-axis', '1', '-q'], io);
    return { code, out: io.out, err: io.err };
  };
  const nan = await run('a.npy', 'b.npy');
  t.equal(nan.code, 1);
  t.match(nan.err, /map 1, position 3/);
  t.notMatch(nan.err, /sequence|token/);
  const shape = await run('a.npy', 'ok.npy', '--mask-file', 'mask.npy');
  t.match(shape.err, /the mask has shape \[2, 4\] but the grid of a\.npy is \[2, 2, 2\] \(one value per map and position\)/);
  const value = await run('a.npy', 'ok.npy', '--mask-file', 'badmask.npy');
  t.match(value.err, /mask values must be 0 or 1, found 2 at map 1, position 1/);
  const label = await run('a.npy', 'ok.npy', '--labels', 'labels.npy');
  t.match(label.err, /target 7 at map 1, position 1 is outside the classes \[0, 3\)/);
  const text = await run('a.npy', 'ok.npy', '--labels', 'mask.npy');
  t.equal(text.code, 1);
  const fine = await run('a.npy', 'ok.npy', '--metric', 'kl');
  t.equal(fine.code, 0, fine.err);
  t.match(fine.out, /2 maps × 4 positions: 8 positions counted in 2 maps/);
});
