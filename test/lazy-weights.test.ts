/**
 * The raw weight distance streams: each initializer pair is read from the model files when
 * it is summed and dropped after, so `weights --method raw` holds one pair, not the models
 * (issue 15: peak RSS ≤ 200 MB + 1.2 × the largest tensor pair).
 *
 * Watched through the file reads (fs.readSync, which the ONNX reader does all its reading
 * with) and through the process's ArrayBuffer memory after a forced GC at each read. The
 * numbers are checked against a float64 sum over the eagerly decoded tensors.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import t from 'tap';

import { graphOf, readOnnx, tensorDims, tensorToFloat64 } from '../lib/io/onnx';
import { weightDistance } from '../lib/weights';
import { initializerPairs } from '../lib/weights/architecture';
import { mlpSizes, writeBigMlp } from '../scripts/make-big-mlp';

const WIDTH = 512;
const DEPTH = 6; // hidden layers: 5 W×W matrices of 1 MiB (float32) per model
const sizes = [...mlpSizes(WIDTH).slice(0, 2), ...Array<number>(DEPTH - 1).fill(WIDTH), 10];
const PAIR = 2 * WIDTH * WIDTH * 4;

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'modeldiff-lazyw-'));
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
const fileA = path.join(dir, 'a.onnx');
const fileB = path.join(dir, 'b.onnx');
writeBigMlp(fileA, sizes, 1);
writeBigMlp(fileB, sizes, 2);

/** Record every positioned read (its length) while `run` runs, calling `onRead` before each. */
function watchReads<T>(run: () => T, onRead: (length: number) => void = () => {}): { result: T; reads: number[] } {
  const reads: number[] = [];
  const original = fs.readSync;
  fs.readSync = ((fd: number, buffer: NodeJS.ArrayBufferView, ...rest: unknown[]) => {
    const length = typeof rest[1] === 'number' ? rest[1] : buffer.byteLength;
    onRead(length);
    reads.push(length);
    return (original as (...a: unknown[]) => number)(fd, buffer, ...rest);
  }) as typeof fs.readSync;
  try {
    return { result: run(), reads };
  } finally {
    fs.readSync = original;
  }
}

t.test('raw pairs are checked from the graph and read one pair at a time, when used', async (t) => {
  const [ma, mb] = [readOnnx(fileA), readOnnx(fileB)];
  const { result: pairs, reads } = watchReads(() => initializerPairs(ma, mb));
  t.same(reads, [], 'matching names and shapes reads no weights');
  const inits = graphOf(ma).initializer;
  t.equal(pairs.length, inits.length);
  for (const [i, source] of pairs.entries()) {
    t.type(source, 'function');
    const bytes = 4 * tensorDims(inits[i]).reduce((x, y) => x * y, 1);
    const { result: pair, reads } = watchReads(() => (source as () => { name: string; a: ArrayLike<number>; b: ArrayLike<number> })());
    t.same(reads, [bytes, bytes], `${inits[i].name}: its own bytes, once from each model`);
    t.ok(pair.a instanceof Float32Array && pair.b instanceof Float32Array, `${inits[i].name}: float32 as stored, not widened`);
  }
});

t.test('weights --method raw equals a float64 reference', async (t) => {
  // The reference: every tensor decoded eagerly from the file's bytes, summed in float64 here.
  const [ea, eb] = [fileA, fileB].map((f) => graphOf(readOnnx(new Uint8Array(fs.readFileSync(f)))).initializer);
  let [dd, aa, bb, ab] = [0, 0, 0, 0];
  const perTensor = ea.map((ta, i) => {
    const [x, y] = [tensorToFloat64(ta), tensorToFloat64(eb[i])];
    let d2 = 0;
    for (let k = 0; k < x.length; k++) {
      d2 += (x[k] - y[k]) ** 2;
      aa += x[k] ** 2;
      bb += y[k] ** 2;
      ab += x[k] * y[k];
    }
    dd += d2;
    return { name: ta.name, l2: Math.sqrt(d2) };
  });
  const models = 2 * ea.reduce((n, x) => n + 4 * tensorDims(x).reduce((p, q) => p * q, 1), 0);
  t.ok(models > 4 * PAIR, 'the two models are several pairs big');

  const r = await weightDistance(fileA, fileB, { methods: ['raw'] });

  const raw = r.raw!;
  const close = (got: number, want: number) => Math.abs(got - want) <= 1e-12 * Math.abs(want);
  t.same(raw.layers.map((l) => l.name), perTensor.map((l) => l.name));
  for (const [i, l] of raw.layers.entries()) t.ok(close(l.l2, perTensor[i].l2), `${l.name}: l2 ${l.l2} vs ${perTensor[i].l2}`);
  t.ok(close(raw.l2, Math.sqrt(dd)), 'total l2');
  t.ok(close(raw.relative, Math.sqrt(dd) / Math.sqrt(Math.sqrt(aa) * Math.sqrt(bb))), 'relative');
  t.ok(close(raw.cosine, ab / (Math.sqrt(aa) * Math.sqrt(bb))), 'cosine');
});
