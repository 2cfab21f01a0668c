/**
 * `compare` at 2M rows × 5 measures (the default metrics) with the default bootstrap against
 * `bootstrap: 0`: the intervals' share of an end-to-end run (issue target: within 1.5×).
 * Models: two Gemm 8 → 10 logits (inference is cheap, so the bootstrap's share is as large as
 * it gets); probe: 2M float32 rows in a .npy file; no cache. Two interleaved rounds.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { compare } from '../lib/function/compare';
import { writeNpy } from '../lib/io/npy';
import { createRng } from '../lib/util/rng';
import { gemmSoftmaxModel } from '../test/helpers/onnx-builder';

export default async function bench(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'modeldiff-bench-bootstrap-'));
  try {
    const rng = createRng(1);
    const [K, D, N] = [10, 8, 2_000_000];
    const W = () => Array.from({ length: K * D }, () => rng.normal());
    const a = path.join(dir, 'a.onnx');
    const b = path.join(dir, 'b.onnx');
    fs.writeFileSync(a, gemmSoftmaxModel({ W: W(), b: new Array(K).fill(0), k: K, d: D, softmax: false }));
    fs.writeFileSync(b, gemmSoftmaxModel({ W: W(), b: new Array(K).fill(0), k: K, d: D, softmax: false }));
    const x = new Float32Array(N * D);
    for (let i = 0; i < x.length; i++) x[i] = rng.normal();
    writeNpy(path.join(dir, 'x.npy'), { dtype: 'float32', shape: [N, D], data: x });
    console.log('| round | bootstrap | wall (s) | interval method | RSS (MB) |');
    console.log('|---:|---:|---:|---|---:|');
    for (const round of [1, 2]) {
      for (const B of [0, 1000]) {
        const t0 = performance.now();
        const r = await compare(a, b, { data: path.join(dir, 'x.npy'), cache: false, bootstrap: B });
        const wall = (performance.now() - t0) / 1000;
        console.log(`| ${round} | ${B} | ${wall.toFixed(2)} | ${r.bootstrap.method} | ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} |`);
      }
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
