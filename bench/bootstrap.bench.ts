/**
 * The percentile bootstrap at 2M rows × 5 measures, in one run:
 * 1. the kernel alone, the cache-blocked one (src/bootstrap.cpp) against the one before it
 *    (src/bootstrap_unblocked.cpp: per replicate, G draws into one byte per unit, then every
 *    column read whole), same data, replicates and threads; wall and process CPU time;
 * 2. `compare` end to end with the default bootstrap against `bootstrap: 0` (issue target:
 *    within 1.5×) on a normal probe and on a heavy-tailed one (300 rows scaled ×60), interleaved
 *    (the order alternates by round; BENCH_REPS rounds, default 3), with the ratios' median and
 *    range. Models: two Gemm 8 → 10 logits (inference is cheap, so the bootstrap's share is as
 *    large as it gets); probes: 2M float32 rows in .npy files; no cache.
 * 3. On the heavy probe's per-sample values: the interval rule's inputs per measure and the
 *    closed-form (Cornish–Fisher) endpoints against the exact percentile bootstrap's at 2000
 *    replicates, in half-widths, beside that Monte Carlo error.
 * The old kernel is built only with the benchmark exports:
 * `npx cmake-js compile --CDMODELDIFF_BENCH_KERNELS=ON` first (without them, part 1 times the
 * new kernel alone). The machine's load average is printed: on a shared machine wall times
 * move with it, CPU times much less.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { compare } from '../lib/function/compare';
import { writeNpy } from '../lib/io/npy';
import { native } from '../lib/native';
import { bootstrapMeanSync, closedFormError, normalQuantile, ratioMoments } from '../lib/stats/bootstrap';
import type { BootstrapCall } from '../lib/native/bootstrap';
import type { AddonCall } from '../lib/native/types';
import { createRng } from '../lib/util/rng';
import { gemmSoftmaxModel } from '../test/helpers/onnx-builder';

type UnblockedAddon = Partial<AddonCall<'bootstrapUnblocked', BootstrapCall, Float64Array>>;

const [K, D, N, M] = [10, 8, 2_000_000, 5];

/** Wall seconds and process CPU seconds (all threads) of fn. */
async function timed<T>(fn: () => T | Promise<T>): Promise<{ value: T; wall: number; cpu: number }> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const value = await fn();
  const wall = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  return { value, wall, cpu: (c.user + c.system) / 1e6 };
}

const load = () => os.loadavg()[0].toFixed(1);

async function kernels(): Promise<void> {
  const rng = createRng(3);
  const columns = Array.from({ length: M }, () => Float64Array.from({ length: N }, () => rng.normal() ** 2));
  const replicates = 500;
  const threads = 2;
  const call: BootstrapCall = { numerators: columns, units: N, first: 0, count: replicates, seed: 1, threads };
  const unblocked = (native as UnblockedAddon).bootstrapUnblockedSync;
  console.log(`### Kernel: ${N} units × ${M} columns, ${replicates} replicates, ${threads} threads (load average ${load()})\n`);
  console.log('| kernel | wall (s) | CPU (s) | CPU ns per unit·replicate | CPU vs blocked |');
  console.log('|---|---:|---:|---:|---:|');
  const blocked = await timed(() => native.bootstrapSync(call));
  const row = (name: string, r: { wall: number; cpu: number }) =>
    console.log(`| ${name} | ${r.wall.toFixed(2)} | ${r.cpu.toFixed(2)} | ${((r.cpu / (N * replicates)) * 1e9).toFixed(2)} | ${(r.cpu / blocked.cpu).toFixed(1)}× |`);
  row('blocked (now)', blocked);
  if (unblocked === undefined) {
    console.log('\n(the unblocked kernel needs the benchmark build: npx cmake-js compile --CDMODELDIFF_BENCH_KERNELS=ON)');
  } else {
    const old = await timed(() => unblocked(call));
    row('unblocked (before)', old);
    // Same distribution: the replicate means' spread agrees (different streams, so not bit for bit).
    const sd = (x: Float64Array) => {
      const m = x.reduce((a, b) => a + b, 0) / x.length;
      return Math.sqrt(x.reduce((a, b) => a + (b - m) ** 2, 0) / (x.length - 1));
    };
    console.log(`\nReplicate sd of column 0: blocked ${sd(blocked.value.subarray(0, replicates)).toExponential(3)}, unblocked ${sd(old.value.subarray(0, replicates)).toExponential(3)}`);
  }
}

async function compareRuns(dir: string): Promise<void> {
  const rng = createRng(1);
  const W = () => Array.from({ length: K * D }, () => rng.normal());
  const a = path.join(dir, 'a.onnx');
  const b = path.join(dir, 'b.onnx');
  fs.writeFileSync(a, gemmSoftmaxModel({ W: W(), b: new Array(K).fill(0), k: K, d: D, softmax: false }));
  fs.writeFileSync(b, gemmSoftmaxModel({ W: W(), b: new Array(K).fill(0), k: K, d: D, softmax: false }));
  const x = new Float32Array(N * D);
  for (let i = 0; i < x.length; i++) x[i] = rng.normal();
  writeNpy(path.join(dir, 'normal.npy'), { dtype: 'float32', shape: [N, D], data: x });
  for (let i = 0; i < 300; i++) {
    const row = rng.int(N);
    for (let j = 0; j < D; j++) x[row * D + j] *= 60;
  }
  writeNpy(path.join(dir, 'heavy.npy'), { dtype: 'float32', shape: [N, D], data: x });
  console.log(`\n### compare: ${N} rows × ${M} measures, no cache (load average ${load()})\n`);
  console.log('| round | probe | bootstrap | wall (s) | CPU (s) | interval method | RSS (MB) |');
  console.log('|---:|---|---:|---:|---:|---|---:|');
  const rounds = Number(process.env.BENCH_REPS ?? 3);
  const ratios: Record<string, { wall: number[]; cpu: number[] }> = { normal: { wall: [], cpu: [] }, heavy: { wall: [], cpu: [] } };
  for (let round = 1; round <= rounds; round++) {
    for (const probe of ['normal', 'heavy']) {
      const times: Record<number, { wall: number; cpu: number }> = {};
      // Alternate which goes first, so a slow stretch of the shared machine does not always land on one.
      for (const B of round % 2 === 1 ? [0, 1000] : [1000, 0]) {
        const r = await timed(() => compare(a, b, { data: path.join(dir, `${probe}.npy`), cache: false, bootstrap: B }));
        times[B] = r;
        console.log(`| ${round} | ${probe} | ${B} | ${r.wall.toFixed(2)} | ${r.cpu.toFixed(2)} | ${r.value.bootstrap.method} | ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} |`);
      }
      ratios[probe].wall.push(times[1000].wall / times[0].wall);
      ratios[probe].cpu.push(times[1000].cpu / times[0].cpu);
    }
  }
  const spread = (x: number[]) => {
    const s = [...x].sort((p, q) => p - q);
    return `${s[s.length >> 1].toFixed(2)}× (${s[0].toFixed(2)}–${s[s.length - 1].toFixed(2)})`;
  };
  console.log('\n| probe | wall, default vs 0: median (range) | CPU, default vs 0: median (range) |');
  console.log('|---|---:|---:|');
  for (const probe of ['normal', 'heavy']) console.log(`| ${probe} | ${spread(ratios[probe].wall)} | ${spread(ratios[probe].cpu)} |`);
  await agreement(a, b, path.join(dir, 'heavy.npy'));
  console.log(`\nLoad average at the end: ${load()} (${os.cpus().length} cores)`);
}

/** The heavy probe's measures: the rule's inputs and the closed form against the exact percentile bootstrap. */
async function agreement(a: string, b: string, probe: string): Promise<void> {
  const r = await compare(a, b, { data: probe, cache: false, bootstrap: 0, perSample: true });
  const B = 2000;
  const z = normalQuantile(0.975);
  // A percentile endpoint's Monte Carlo standard error, in half-widths: √(α(1 − α)/B)/φ(z)/z.
  const mcError = Math.sqrt((0.025 * 0.975) / B) / (Math.exp((-z * z) / 2) / Math.sqrt(2 * Math.PI)) / z;
  console.log(`\n### Heavy probe: closed form vs ${B} exact percentile replicates (Monte Carlo SE of an endpoint: ${(mcError * 100).toFixed(1)}% of the half-width)\n`);
  console.log('| measure | skewness | excess kurtosis | next terms (% half-width) | smoothing | lower: closed − exact (% half-width) | upper |');
  console.log('|---|---:|---:|---:|---:|---:|---:|');
  const measures = Object.keys(r.perSample!) as Array<keyof typeof r.perSample>;
  const series = measures.map((m) => r.perSample![m]!);
  const exact = bootstrapMeanSync(series, { replicates: B, seed: 1, method: 'percentile' }).intervals;
  const closed = bootstrapMeanSync(series, { method: 'cornish-fisher' }).intervals;
  measures.forEach((m, i) => {
    const mo = ratioMoments(series[i], null);
    const half = (closed[i][1] - closed[i][0]) / 2;
    const pctOf = (x: number) => `${((x / half) * 100).toFixed(1)}%`;
    console.log(
      `| ${String(m)} | ${mo.skew.toFixed(1)} | ${mo.kurtosis.toFixed(0)} | ${(closedFormError(mo, N, z) * 100).toPrecision(2)}% | ${mo.smoothing.toFixed(1)} | ` +
        `${pctOf(closed[i][0] - exact[i][0])} | ${pctOf(closed[i][1] - exact[i][1])} |`,
    );
  });
}

export default async function bench(): Promise<void> {
  await kernels();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'modeldiff-bench-bootstrap-'));
  try {
    await compareRuns(dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
