/**
 * Scale check for the many-model layer (issue 5): N = 100 small MLPs
 * (32 → 64 ReLU → 10 logits, random weights from fixed seeds, written with
 * the test ONNX builder) on a 10,000-sample probe set, `study` end to end on
 * a cold inference cache: inference, the functional matrix and per-pair
 * noise, weight matrices (raw, canonical, aligned), clustering, Mantel tests
 * and maps. Target: under 60 s on a 2-core machine. Then the same with
 * --max-memory set to a quarter of the outputs (blocks re-read from cache).
 *
 * Side by side, the N×N Jensen-Shannon matrix alone: modeldiff's native
 * pairwise kernel vs simsimd's jensenshannon (SIMD, per row, on the same
 * probabilities) and a plain float64 JavaScript loop, on a subset of models.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { pairwiseDivergence } from '../lib/function/divergence';
import { writeNpy } from '../lib/io/npy';
import { inferOutputs } from '../lib/infer';
import { study } from '../lib/many/study';
import { writeReport } from '../lib/report';
import { toProbabilities } from '../lib/many/predictions';
import { createRng } from '../lib/util/rng';
import { mlpModel } from '../test/helpers/onnx-builder';

const N = Number(process.env.MODELDIFF_BENCH_MODELS ?? 100);
const SAMPLES = 10_000;
const D = 32;
const H = 64;
const K = 10;

/** 70% distinct random MLPs; the rest are near-copies (weights + 1e-5 noise) of some of them, so 0.7·N solutions. */
const DISTINCT = Math.ceil(0.7 * N);

function weightsOf(m: number): number[][] {
  const rng = createRng(1000 + (m < DISTINCT ? m : (2 * (m - DISTINCT)) % DISTINCT));
  const r = (len: number, s: number) => Array.from({ length: len }, () => s * rng.normal());
  const w = [r(H * D, 1 / Math.sqrt(D)), r(H, 0.1), r(K * H, 1 / Math.sqrt(H)), r(K, 0.1)];
  if (m < DISTINCT) return w;
  const noise = createRng(m);
  return w.map((a) => a.map((v) => v + 1e-5 * noise.normal()));
}

function makeZoo(dir: string): string[] {
  const paths: string[] = [];
  for (let m = 0; m < N; m++) {
    const [W1, b1, W2, b2] = weightsOf(m);
    const bytes = mlpModel({
      layers: [
        { W: W1, b: b1, out: H, in: D, activation: 'relu' },
        { W: W2, b: b2, out: K, in: H },
      ],
    });
    const file = path.join(dir, `mlp-${String(m).padStart(3, '0')}.onnx`);
    fs.writeFileSync(file, bytes);
    paths.push(file);
  }
  const rng = createRng(7);
  writeNpy(path.join(dir, 'probe.npy'), { dtype: 'float32', shape: [SAMPLES, D], data: Float32Array.from({ length: SAMPLES * D }, () => rng.normal()) });
  return paths;
}

async function timedStudy(paths: string[], dir: string, maxMemory?: number) {
  // Each stage runs from the previous stage's last progress report to its own
  // last; 'analysis' is the bootstrap, clustering, Mantel tests and maps.
  const first: Record<string, number> = {};
  const last: Record<string, number> = {};
  const t0 = performance.now();
  const s = await study(paths, {
    data: path.join(dir, 'probe.npy'),
    cacheDir: path.join(dir, 'cache'),
    seed: 1,
    maxMemory,
    onProgress: (stage) => {
      const now = performance.now();
      first[stage] ??= now;
      last[stage] = now;
    },
  });
  const end = performance.now();
  const stages: Record<string, number> = {};
  let accounted = 0;
  let prev = t0;
  for (const k of Object.keys(first)) {
    stages[k] = last[k] - prev;
    accounted += stages[k];
    prev = last[k];
  }
  stages['other (pair records)'] = end - t0 - accounted;
  return { s, total: (end - t0) / 1000, stages };
}

export default async function bench(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'modeldiff-bench-matrix-'));
  try {
    const paths = makeZoo(dir);
    const rss0 = process.memoryUsage().rss;
    const cold = await timedStudy(paths, dir);
    const rss1 = process.memoryUsage().rss;
    const outputsMb = (N * SAMPLES * K * 4) / 2 ** 20;
    console.log(`study of ${N} MLPs (${D}→${H}→${K}) on ${SAMPLES} probe samples, cold cache: **${cold.total.toFixed(1)} s** (target < 60 s)`);
    console.log('');
    console.log('| stage | seconds |');
    console.log('|---|---:|');
    for (const [k, v] of Object.entries(cold.stages)) console.log(`| ${k} | ${(v / 1000).toFixed(2)} |`);
    console.log('');
    console.log(
      `solutions: ${cold.s.solutions.observed} (built: ${DISTINCT}), Chao1 ${cold.s.solutions.estimate.toFixed(1)} [${cold.s.solutions.lower.toFixed(1)}, ${cold.s.solutions.upper.toFixed(1)}], threshold ${cold.s.threshold.value.toExponential(2)}; Spearman(aligned, js) = ${cold.s.correlations.find((c) => c.method === 'aligned')?.spearman.r.toFixed(3)}; outputs ${outputsMb.toFixed(1)} MiB; RSS growth ${((rss1 - rss0) / 2 ** 20).toFixed(0)} MiB`,
    );
    if (process.env.MODELDIFF_BENCH_REPORT) await writeReport(cold.s, { html: process.env.MODELDIFF_BENCH_REPORT, force: true, command: 'npm run bench -- matrix' });
    const budget = Math.floor((N * SAMPLES * K * 4) / 4);
    const streamed = await timedStudy(paths, dir, budget);
    const same = JSON.stringify(streamed.s) === JSON.stringify(cold.s);
    console.log(`--max-memory ${(budget / 2 ** 20).toFixed(1)} MiB (a quarter of the outputs; blocks re-read from the warm cache): ${streamed.total.toFixed(1)} s, identical study result: ${same}`);

    // The functional matrix alone, vs peers, on M models.
    const M = 30;
    const outs = [];
    for (const p of paths.slice(0, M)) outs.push((await inferOutputs(p, path.join(dir, 'probe.npy'), { cacheDir: path.join(dir, 'cache') })).outputs);
    const probs = outs.map((o) => toProbabilities(o, 'logits'));
    const t1 = performance.now();
    const ours = await pairwiseDivergence(outs, 'js', { outputs: 'logits' });
    const oursMs = performance.now() - t1;
    const t2 = performance.now();
    const js = new Float64Array(M * M);
    for (let i = 0; i < M; i++) {
      for (let j = i + 1; j < M; j++) {
        let s = 0;
        const a = probs[i];
        const b = probs[j];
        for (let q = 0; q < a.length; q++) {
          const mid = (a[q] + b[q]) / 2;
          if (a[q] > 0) s += 0.5 * a[q] * Math.log(a[q] / mid);
          if (b[q] > 0) s += 0.5 * b[q] * Math.log(b[q] / mid);
        }
        js[i * M + j] = js[j * M + i] = s / SAMPLES;
      }
    }
    const plainMs = performance.now() - t2;
    let maxRel = 0;
    for (let q = 0; q < js.length; q++) if (js[q] > 0) maxRel = Math.max(maxRel, Math.abs(ours[q] - js[q]) / js[q]);
    const simsimd = (await import('simsimd')) as unknown as { jensenshannon(a: Float64Array, b: Float64Array): number };
    const rows = probs.map((p) => Array.from({ length: SAMPLES }, (_, r) => p.subarray(r * K, (r + 1) * K)));
    const t3 = performance.now();
    let sink = 0;
    for (let i = 0; i < M; i++) for (let j = i + 1; j < M; j++) for (let r = 0; r < SAMPLES; r++) sink += simsimd.jensenshannon(rows[i][r], rows[j][r]);
    const simMs = performance.now() - t3;
    console.log('');
    console.log(`N×N Jensen-Shannon matrix, ${M} models × ${SAMPLES} samples × ${K} classes (${(M * (M - 1)) / 2} pairs):`);
    console.log('');
    console.log('| implementation | ms | ratio vs modeldiff |');
    console.log('|---|---:|---:|');
    console.log(`| modeldiff pairwiseDivergence (native, threaded; softmax included) | ${oursMs.toFixed(1)} | 1.0 |`);
    console.log(`| simsimd jensenshannon per row (SIMD, on precomputed probabilities) | ${simMs.toFixed(1)} | ${(simMs / oursMs).toFixed(1)} |`);
    console.log(`| plain float64 JavaScript loop (on precomputed probabilities) | ${plainMs.toFixed(1)} | ${(plainMs / oursMs).toFixed(1)} |`);
    console.log('');
    console.log(`max relative difference modeldiff vs float64 JS: ${maxRel.toExponential(2)} (simsimd checksum ${sink.toFixed(3)})`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
