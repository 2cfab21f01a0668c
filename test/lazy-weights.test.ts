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
import v8 from 'node:v8';
import vm from 'node:vm';

import t from 'tap';

import { encodeOnnx, graphOf, onnx, readOnnx, tensorDims, tensorToFloat64 } from '../lib/io/onnx';
import { weightDistance } from '../lib/weights';
import { type Matcher, alignPrepared, prepareAlignment } from '../lib/weights/aligned';
import { buildNetwork } from '../lib/weights/graph';
import { applyPermutationSync } from '../lib/weights/kernels';
import type { Network } from '../lib/weights/network';
import { normalizeNetwork } from '../lib/weights/symmetry';
import { groupView } from '../lib/weights/views';
import { initializerPairs } from '../lib/weights/architecture';
import { mlpSizes, writeBigMlp } from '../scripts/make-big-mlp';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

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

t.test('a model file is read by its structure, never whole, and its weights not at all', async (t) => {
  const size = fs.statSync(fileA).size;
  const { result: model, reads } = watchReads(() => readOnnx(fileA));
  const read = reads.reduce((a, b) => a + b, 0);
  t.ok(Math.max(...reads) <= 64 * 1024, `reads of at most one 64 KiB window (largest ${Math.max(...reads)} bytes)`);
  t.ok(read < 0.1 * size, `${read} of the file's ${size} bytes read at load (the weights are skipped)`);
  const eager = readOnnx(new Uint8Array(fs.readFileSync(fileA)));
  for (const [i, x] of graphOf(model).initializer.entries()) {
    const [lazy, want] = [tensorToFloat64(x), tensorToFloat64(graphOf(eager).initializer[i])];
    t.ok(lazy.length === want.length && lazy.every((v, k) => v === want[k]), `${x.name}: equals the eager reading`);
  }
});

t.test('a field longer than the read window, kept in the graph, is read whole and equals the file', async (t) => {
  const proto = onnx.ModelProto.decode(fs.readFileSync(fileA));
  const doc = 'weights '.repeat(20000); // 160 kB: spans several windows
  proto.graph!.docString = doc;
  proto.graph!.node![0].docString = 'first node';
  const file = path.join(dir, 'doc.onnx');
  fs.writeFileSync(file, onnx.ModelProto.encode(proto).finish());
  const model = readOnnx(file);
  t.equal(graphOf(model).docString, doc);
  t.equal(graphOf(model).node[0].docString, 'first node');
  t.same(encodeOnnx(model), fs.readFileSync(file), 're-encoding gives the file back byte for byte');
});

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

t.test('weights --method raw holds one tensor pair, and its numbers equal a float64 reference', async (t) => {
  gc();
  gc(); // V8 frees array buffers after a GC concurrently: the second GC waits for that
  const baseline = process.memoryUsage().arrayBuffers;
  let held = 0;
  // At each file read, what is still held after a full GC: the previous pairs must be gone.
  // (weightDistance does the raw part synchronously, before its first await.)
  const watched = watchReads(() => weightDistance(fileA, fileB, { methods: ['raw'] }), (length) => {
    if (length < PAIR / 4) return; // a bias, or the graph's structure: too small to matter
    gc();
    gc();
    held = Math.max(held, process.memoryUsage().arrayBuffers - baseline);
  });
  const r = await watched.result;
  const models = 2 * (fs.statSync(fileA).size + fs.statSync(fileB).size);
  const mib = (x: number) => `${(x / 2 ** 20).toFixed(2)} MiB`;
  // Reading a pair's second tensor, its first and the buffer the read fills are held: one
  // pair, which the measure must see (more would be an earlier pair kept alive).
  t.ok(held >= 0.75 * PAIR && held <= 1.25 * PAIR, `one pair held at most while reading (${mib(held)}; a pair is ${mib(PAIR)}, both models ${mib(models)})`);

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
  const raw = r.raw!;
  const close = (got: number, want: number) => Math.abs(got - want) <= 1e-12 * Math.abs(want);
  t.same(raw.layers.map((l) => l.name), perTensor.map((l) => l.name));
  for (const [i, l] of raw.layers.entries()) t.ok(close(l.l2, perTensor[i].l2), `${l.name}: l2 ${l.l2} vs ${perTensor[i].l2}`);
  t.ok(close(raw.l2, Math.sqrt(dd)), 'total l2');
  t.ok(close(raw.relative, Math.sqrt(dd) / Math.sqrt(Math.sqrt(aa) * Math.sqrt(bb))), 'relative');
  t.ok(close(raw.cosine, ab / (Math.sqrt(aa) * Math.sqrt(bb))), 'cosine');
});

t.test('alignment in place: the prepared network is sorted and put back exactly; a kept B comes back as stored', async (t) => {
  const small = [8, 7, 6, 3];
  const file = path.join(dir, 'small.onnx');
  writeBigMlp(file, small, 5);
  const build = () => buildNetwork(readOnnx(file));
  const weights = (net: Network) => net.layers.flatMap((l) => [...l.W, ...l.b]);
  // A matcher that moves B away from A: every group reversed.
  const reverse: Matcher = async (_a, b) => {
    const perms = new Map<number, Int32Array>();
    for (const id of b.hidden) {
      const n = b.groups[id].units;
      const p = Int32Array.from({ length: n }, (_, i) => n - 1 - i);
      const g = groupView(b, id);
      applyPermutationSync(g.view, p);
      g.commit(p);
      perms.set(id, p);
    }
    return { perms, iterations: 1, converged: true };
  };
  const reference = build();
  normalizeNetwork(reference);

  const [na, nb] = [build(), build()];
  const [pa, pb] = [prepareAlignment(na, true, true), prepareAlignment(nb, true, true)];
  t.equal(pa.normalized, na, 'own: normalized in place, not copied');
  t.same(weights(pa.normalized), weights(reference), 'sorting for the canonical orders left the network exactly as normalized');
  const r = await alignPrepared(pa, pb, reverse);
  t.equal(r.kept, 'identity', 'B as it is (A itself) is closer than the reversed match');
  t.equal(r.distance.l2, 0);
  t.not(r.network, nb, 'B as stored is built again (nb was permuted in place)');
  t.same(weights(r.network), weights(build()), 'and equals B as stored');

  const [ca, cb] = [build(), build()];
  const before = [weights(ca), weights(cb)];
  const kept = await alignPrepared(prepareAlignment(ca), prepareAlignment(cb), reverse);
  t.equal(kept.kept, 'identity');
  t.same([weights(ca), weights(cb)], before, 'not own: the networks given are not modified');
});
