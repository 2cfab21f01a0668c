/**
 * End-to-end `compare` of two models (no cache) vs raw onnxruntime-node
 * inference of the same two models with the same batch size and session
 * options. The difference is modeldiff's orchestration: probe loading, feed
 * checks, output checks, the divergence kernels per batch, predictions,
 * bootstrap intervals and summaries. Target: under 10% overhead.
 *
 * Models: two MLPs 784 → 256 (ReLU) → 10 logits, and two 784 → 1024 → 1024
 * → 10, random weights from a fixed seed; probe: n float32 samples of
 * dimension 784 read from a .npy file. modeldiff's own work is O(n·(k + B))
 * (kernels, predictions, B bootstrap draws per sample) whatever the model, so
 * its share shrinks as the models grow.
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

/** Wall time and process CPU time (all threads: onnxruntime's pool, kernels, JS), in ms. */
async function timeIt(fn: () => Promise<unknown>): Promise<[number, number]> {
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  await fn();
  const wall = Number(process.hrtime.bigint() - t0) / 1e6;
  const c = process.cpuUsage(c0);
  return [wall, (c.user + c.system) / 1000];
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

async function runConfig(dir: string, name: string, hidden: number[], sizes: number[], reps: number): Promise<void> {
  const rng = createRng(99);
  const D = 784;
  // Raw vs compare share the probe file and the models; only modeldiff's own work differs.
  const K = 10;
  const mk = () => {
    const dims = [D, ...hidden, K];
    return mlpModel({
      layers: dims.slice(1).map((out, i) => ({
        W: Float32Array.from({ length: out * dims[i] }, () => rng.normal() / Math.sqrt(dims[i])),
        b: new Float32Array(out),
        in: dims[i],
        out,
        activation: i < hidden.length ? ('relu' as const) : ('none' as const),
      })),
    });
  };
  const aPath = path.join(dir, `${name}-a.onnx`);
  const bPath = path.join(dir, `${name}-b.onnx`);
  fs.writeFileSync(aPath, mk());
  fs.writeFileSync(bPath, mk());
  const batch = 256;
  for (const n of sizes) {
    const probePath = path.join(dir, `x${n}.npy`);
    if (!fs.existsSync(probePath)) writeNpy(probePath, makeTensor(Float32Array.from({ length: n * D }, () => rng.float()), [n, D]));
    // Warm up both paths once.
    await raw(aPath, bPath, probePath, batch);
    await compare(aPath, bPath, { data: probePath, batchSize: batch, cache: false });
    const tr: Array<[number, number]> = [];
    const t0: Array<[number, number]> = [];
    const tc: Array<[number, number]> = [];
    const runs: Array<[Array<[number, number]>, () => Promise<unknown>]> = [
      [tr, () => raw(aPath, bPath, probePath, batch)],
      [t0, () => compare(aPath, bPath, { data: probePath, batchSize: batch, cache: false, bootstrap: 0 })],
      [tc, () => compare(aPath, bPath, { data: probePath, batchSize: batch, cache: false })],
    ];
    for (let r = 0; r < reps; r++) {
      // Interleave, rotating the order each round, so machine noise and after-effects
      // (GC, thread pools) of one variant do not land on the same other variant.
      for (let i = 0; i < runs.length; i++) {
        const [times, fn] = runs[(i + r) % runs.length];
        times.push(await timeIt(fn));
      }
    }
    const wall = (x: Array<[number, number]>) => median(x.map((v) => v[0]));
    const cpu = (x: Array<[number, number]>) => median(x.map((v) => v[1]));
    const pct = (x: number, ref: number) => `${((x / ref - 1) * 100).toFixed(1)}%`;
    const [wr, w0, wc] = [wall(tr), wall(t0), wall(tc)];
    const [cr, c0, cc] = [cpu(tr), cpu(t0), cpu(tc)];
    console.log(
      `| ${name} | ${n} | ${wr.toFixed(0)} / ${cr.toFixed(0)} | ${w0.toFixed(0)} / ${c0.toFixed(0)} | ${pct(w0, wr)} / ${pct(c0, cr)} | ` +
        `${wc.toFixed(0)} / ${cc.toFixed(0)} | ${pct(wc, wr)} / ${pct(cc, cr)} |`,
    );
  }
}

export default async function bench(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'modeldiff-bench-compare-'));
  const reps = Number(process.env.BENCH_REPS ?? 7);
  console.log(
    `two MLPs with 784 inputs and 10 logits, batch 256, ${os.availableParallelism()} threads; compare with bootstrap 1000 and ` +
      `the default metrics (js, tv, hellinger, disagreement, kl), no cache; medians of ${reps} interleaved runs, wall / CPU time\n`,
  );
  console.log('| models | n | raw ORT, 2 models (ms) | compare --bootstrap 0 (ms) | overhead | compare --bootstrap 1000 (ms) | overhead |');
  console.log('|---|---:|---:|---:|---:|---:|---:|');
  await runConfig(dir, '784→256→10', [256], [2000, 10000, 50000], reps);
  await runConfig(dir, '784→1024→1024→10', [1024, 1024], [2000, 10000], reps);
  fs.rmSync(dir, { recursive: true, force: true });
}
