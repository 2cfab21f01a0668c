/**
 * Peak memory and wall time of `modeldiff weights A B --method M` on two large MLPs
 * (256 → W → W → W → 10, random float32 weights, written by scripts/make-big-mlp.ts as
 * ONNX files in a temp folder). Raw is checked against issue 15's target: peak RSS ≤ 200 MB +
 * 1.2 × the largest tensor pair (two W × W float32 matrices); canonical and aligned are printed
 * beside what docs/weights.md says they hold. Each run is a fresh process
 * (bench/memory/weights-run.ts) so its peak RSS is its own. Aligned runs weight matching with
 * `--tol 0.05` (a few sweeps: the memory is the same every sweep, the time is not the point).
 *
 *   npm run bench -- weights-memory            (widths 1024 2048 4096, raw canonical aligned)
 *   BENCH_WIDTHS=1024 BENCH_METHODS="canonical" npm run bench -- weights-memory
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { mlpSizes, writeBigMlp } from '../scripts/make-big-mlp';

const EXTRA: Record<string, string[]> = { raw: [], canonical: [], aligned: ['--tol', '0.05'] };

export default async function run(): Promise<void> {
  const widths = (process.env.BENCH_WIDTHS ?? '1024 2048 4096').split(/\s+/).filter(Boolean).map(Number);
  const methods = (process.env.BENCH_METHODS ?? 'raw canonical aligned').split(/\s+/).filter(Boolean);
  for (const m of methods) if (!(m in EXTRA)) throw new Error(`unknown method ${m} (raw, canonical, aligned)`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'modeldiff-membench-'));
  const MB = 1024 * 1024;
  const mb = (x: number) => `${(x / MB).toFixed(0)} MB`;
  console.log(`load average at start: ${os.loadavg().map((l) => l.toFixed(1)).join(' ')} (${os.cpus().length} cores)`);
  console.log('| width | params | model file | method | peak RSS | wall | load (1 min) | raw target (200 MB + 1.2 × pair) |');
  console.log('|---|---|---|---|---|---|---|---|');
  try {
    for (const w of widths) {
      const sizes = mlpSizes(w);
      const a = path.join(dir, `a${w}.onnx`);
      const b = path.join(dir, `b${w}.onnx`);
      writeBigMlp(a, sizes, 1);
      writeBigMlp(b, sizes, 2);
      const params = sizes.slice(1).reduce((n, o, i) => n + o * sizes[i] + o, 0);
      const target = 200 * MB + 1.2 * (2 * w * w * 4);
      for (const method of methods) {
        const runner = path.join(__dirname, 'memory', 'weights-run.ts');
        const child = spawnSync(process.execPath, ['--import', 'tsx', runner, a, b, '--method', method, '-q', ...EXTRA[method]], { encoding: 'utf8', maxBuffer: 1 << 26 });
        const line = child.stdout.trim().split('\n').pop() ?? '';
        if (child.status !== 0 || !line.startsWith('{')) throw new Error(`weights ${method} run failed: ${child.stderr}`);
        const { code, maxRssBytes, seconds } = JSON.parse(line) as { code: number; maxRssBytes: number; seconds: number };
        if (code !== 0) throw new Error(`weights ${method} exited ${code}: ${child.stderr}`);
        const within = method === 'raw' ? `${mb(target)}: ${maxRssBytes <= target ? 'within' : 'over'}` : '';
        console.log(`| ${w} | ${(params / 1e6).toFixed(1)}M | ${mb(fs.statSync(a).size)} | ${method} | ${mb(maxRssBytes)} | ${seconds.toFixed(1)} s | ${os.loadavg()[0].toFixed(1)} | ${within} |`);
      }
      fs.rmSync(a);
      fs.rmSync(b);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
