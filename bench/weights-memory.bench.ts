/**
 * Peak memory of `modeldiff weights A B --method raw` on two large MLPs
 * (256 → W → W → W → 10, random float32 weights, written by scripts/make-big-mlp.ts as
 * ONNX files in a temp folder), against issue 15's target: peak RSS ≤ 200 MB + 1.2 × the
 * largest tensor pair (two W × W float32 matrices). Each run is a fresh
 * process (bench/memory/weights-raw-run.ts) so its peak RSS is its own.
 *
 *   npm run bench -- weights-memory            (widths 1024 2048 4096)
 *   BENCH_WIDTHS=1024 npm run bench -- weights-memory
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { mlpSizes, writeBigMlp } from '../scripts/make-big-mlp';

export default async function run(): Promise<void> {
  const widths = (process.env.BENCH_WIDTHS ?? '1024 2048 4096').split(/\s+/).filter(Boolean).map(Number);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'modeldiff-membench-'));
  const MB = 1024 * 1024;
  console.log('| width | params | model file | largest pair | target (200 MB + 1.2 × pair) | peak RSS | wall | within |');
  console.log('|---|---|---|---|---|---|---|---|');
  try {
    for (const w of widths) {
      const sizes = mlpSizes(w);
      const a = path.join(dir, `a${w}.onnx`);
      const b = path.join(dir, `b${w}.onnx`);
      writeBigMlp(a, sizes, 1);
      writeBigMlp(b, sizes, 2);
      const params = sizes.slice(1).reduce((n, o, i) => n + o * sizes[i] + o, 0);
      const pair = 2 * w * w * 4;
      const target = 200 * MB + 1.2 * pair;
      const start = performance.now();
      const child = spawnSync(process.execPath, ['--import', 'tsx', path.join(__dirname, 'memory', 'weights-raw-run.ts'), a, b], { encoding: 'utf8', maxBuffer: 1 << 24 });
      const wall = (performance.now() - start) / 1000;
      const line = child.stdout.trim().split('\n').pop() ?? '';
      if (child.status !== 0 || !line.startsWith('{')) throw new Error(`weights run failed: ${child.stderr}`);
      const { code, maxRssBytes } = JSON.parse(line) as { code: number; maxRssBytes: number };
      if (code !== 0) throw new Error(`weights exited ${code}: ${child.stderr}`);
      const mb = (x: number) => `${(x / MB).toFixed(0)} MB`;
      console.log(`| ${w} | ${(params / 1e6).toFixed(1)}M | ${mb(fs.statSync(a).size)} | ${mb(pair)} | ${mb(target)} | ${mb(maxRssBytes)} | ${wall.toFixed(1)} s | ${maxRssBytes <= target ? 'yes' : 'no'} |`);
      fs.rmSync(a);
      fs.rmSync(b);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
