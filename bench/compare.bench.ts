/**
 * End-to-end `compare` of two models (no cache) vs raw onnxruntime-node
 * inference of the same two models with the same batch size and session
 * options. The difference is modeldiff's orchestration: probe loading, feed
 * checks, output checks, the divergence kernels per batch, predictions,
 * bootstrap intervals and summaries. Target: under 10% overhead.
 *
 * Models: two MLPs 784 → 256 (ReLU) → 10 logits, random weights from a fixed
 * seed; probe: n float32 samples of dimension 784 read from a .npy file.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import * as ort from 'onnxruntime-node';

import { compare } from '../lib/function/compare';
import { sessionOptions } from '../lib/infer/session';
import { readNpy, writeNpy } from '../lib/io/npy';
import { makeTensor } from '../lib/io/tensor';
import { createRng } from '../lib/util/rng';
import { mlpModel } from '../test/helpers/onnx-builder';

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

async function timeIt(fn: () => Promise<unknown>): Promise<number> {
  const t0 = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

/** Raw onnxruntime: read the probe, create both sessions, run every batch through both. */
async function raw(aPath: string, bPath: string, probePath: string, batch: number): Promise<void> {
  const x = readNpy(probePath);
  const [n, d] = x.shape;
  const data = x.data as Float32Array;
  const a = await ort.InferenceSession.create(aPath, sessionOptions());
  const b = await ort.InferenceSession.create(bPath, sessionOptions());
  for (let s = 0; s < n; s += batch) {
    const e = Math.min(n, s + batch);
    const t = new ort.Tensor('float32', data.subarray(s * d, e * d), [e - s, d]);
    await a.run({ x: t });
    await b.run({ x: t });
  }
  await a.release();
  await b.release();
}

export default async function bench(): Promise<void> {
  const rng = createRng(99);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'modeldiff-bench-compare-'));
  const D = 784;
  const H = 256;
  const K = 10;
  const mk = () =>
    mlpModel({
      layers: [
        { W: Float32Array.from({ length: H * D }, () => rng.normal() * 0.05), b: new Float32Array(H), in: D, out: H, activation: 'relu' },
        { W: Float32Array.from({ length: K * H }, () => rng.normal() * 0.1), b: new Float32Array(K), in: H, out: K },
      ],
    });
  const aPath = path.join(dir, 'a.onnx');
  const bPath = path.join(dir, 'b.onnx');
  fs.writeFileSync(aPath, mk());
  fs.writeFileSync(bPath, mk());
  const reps = 5;
  const batch = 256;
  console.log(`two MLPs ${D}→${H}→${K}, batch ${batch}, ${os.availableParallelism()} threads, bootstrap 1000, default metrics (js, tv, hellinger, disagreement, kl); median of ${reps}\n`);
  console.log('| n | raw onnxruntime, 2 models (ms) | modeldiff compare (ms) | ratio | overhead |');
  console.log('|---:|---:|---:|---:|---:|');
  for (const n of [2000, 10000, 50000]) {
    const probePath = path.join(dir, `x${n}.npy`);
    writeNpy(probePath, makeTensor(Float32Array.from({ length: n * D }, () => rng.float()), [n, D]));
    // Warm up both paths once.
    await raw(aPath, bPath, probePath, batch);
    await compare(aPath, bPath, { data: probePath, batchSize: batch, cache: false });
    const tr: number[] = [];
    const tc: number[] = [];
    for (let r = 0; r < reps; r++) {
      // Interleave so machine noise hits both alike.
      tr.push(await timeIt(() => raw(aPath, bPath, probePath, batch)));
      tc.push(await timeIt(() => compare(aPath, bPath, { data: probePath, batchSize: batch, cache: false })));
    }
    const r = median(tr);
    const c = median(tc);
    console.log(`| ${n} | ${r.toFixed(1)} | ${c.toFixed(1)} | ${(c / r).toFixed(3)} | ${((c / r - 1) * 100).toFixed(1)}% |`);
  }
  fs.rmSync(dir, { recursive: true, force: true });
}
