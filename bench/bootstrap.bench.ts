/**
 * The percentile bootstrap at 2M rows × 5 measures, in one run:
 * 1. the kernel alone, the cache-blocked one (src/bootstrap.cpp) against the one before it
 *    (src/bootstrap_unblocked.cpp: per replicate, G draws into one byte per unit, then every
 *    column read whole), same data, replicates and threads; wall and process CPU time;
 * 2. `compare` end to end with the default bootstrap against `bootstrap: 0` (issue target:
 *    within 1.5×) on a normal probe, where the interval rule picks normal theory, and on a
 *    heavy-tailed one (300 rows scaled ×60), where the skewness rule keeps the percentile
 *    bootstrap. Models: two Gemm 8 → 10 logits (inference is cheap, so the bootstrap's share is
 *    as large as it gets); probes: 2M float32 rows in .npy files; no cache.
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
  console.log('| round | probe | bootstrap | wall (s) | CPU (s) | interval method | wall vs 0 | CPU vs 0 | RSS (MB) |');
  console.log('|---:|---|---:|---:|---:|---|---:|---:|---:|');
  for (const round of [1, 2]) {
    for (const probe of ['normal', 'heavy']) {
      const zero = { wall: 0, cpu: 0 };
      for (const B of [0, 1000]) {
        const r = await timed(() => compare(a, b, { data: path.join(dir, `${probe}.npy`), cache: false, bootstrap: B }));
        if (B === 0) Object.assign(zero, r);
        const ratios = B === 0 ? '| |' : `| ${(r.wall / zero.wall).toFixed(2)}× | ${(r.cpu / zero.cpu).toFixed(2)}×`;
        console.log(`| ${round} | ${probe} | ${B} | ${r.wall.toFixed(2)} | ${r.cpu.toFixed(2)} | ${r.value.bootstrap.method} ${ratios} | ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} |`);
      }
    }
  }
  console.log(`\nLoad average at the end: ${load()} (${os.cpus().length} cores)`);
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
