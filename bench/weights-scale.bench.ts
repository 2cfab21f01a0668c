/**
 * `modeldiff weights` at real sizes, side by side with the same steps in numpy + scipy, in one
 * run (`npm run bench -- weights-scale`): ReLU MLPs 256 → W → W → W → 10 (W = 1024, 2048, 4096)
 * and torchvision's ResNet-50 (BatchNorm folded), each against an independent random model
 * and against a permuted copy of itself; raw, canonical and aligned (weight matching, --tol),
 * wall time, sweeps and peak RSS, each run in a fresh process (bench/scale/weights-run.ts;
 * the peer bench/peers/weights_numpy.py). Models are written to a temp folder and deleted.
 *
 * The machine is shared: every cell is the best of N runs, modeldiff and numpy alternating,
 * and the 1-minute load average is printed per row.
 *
 *   MODELDIFF_BENCH_PYTHON=/path/to/python npm run bench -- weights-scale
 *   MODELDIFF_BENCH_WIDTHS="1024 2048"  MODELDIFF_BENCH_RESNET=0  MODELDIFF_BENCH_REPEAT=3
 *   MODELDIFF_BENCH_TOL=1e-4 (both sides' relative-improvement stop)
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { foldedAndPermuted, permutedMlp, randomMlp, writeMlp } from './scale/models';

const PYTHON = process.env.MODELDIFF_BENCH_PYTHON ?? 'python3';
const WIDTHS = (process.env.MODELDIFF_BENCH_WIDTHS ?? '1024 2048 4096').split(/\s+/).filter(Boolean).map(Number);
const RESNET = process.env.MODELDIFF_BENCH_RESNET !== '0';
const REPEAT = Number(process.env.MODELDIFF_BENCH_REPEAT ?? 2);
const TOL = process.env.MODELDIFF_BENCH_TOL ?? '1e-4';
const METHODS = ['raw', 'canonical', 'aligned'] as const;
const ROOT = path.join(__dirname, '..');

interface Run {
  seconds: number;
  sweeps: number;
  relative?: number;
  maxRssBytes: number;
}

function modeldiff(a: string, b: string, method: string): Run {
  const child = spawnSync(process.execPath, ['--import', 'tsx', path.join(__dirname, 'scale', 'weights-run.ts'), a, b, method, TOL], { encoding: 'utf8', maxBuffer: 1 << 26 });
  const line = child.stdout.trim().split('\n').pop() ?? '';
  if (child.status !== 0 || !line.startsWith('{')) throw new Error(`modeldiff weights failed: ${child.stderr}`);
  const r = JSON.parse(line) as Run & { code: number; err: string };
  if (r.code !== 0) throw new Error(`modeldiff weights exited ${r.code}: ${r.err}`);
  return r;
}

function numpy(a: string, b: string, method: string): Run {
  const out = execFileSync(PYTHON, [path.join(__dirname, 'peers', 'weights_numpy.py'), method, a, b, TOL], { encoding: 'utf8', maxBuffer: 1 << 26 });
  return JSON.parse(out.trim().split('\n').pop()!) as Run;
}

/** Best (shortest) of REPEAT runs; its sweeps and distance, the largest peak RSS seen. */
function bestOf(runs: Run[]): Run {
  const best = runs.reduce((x, y) => (y.seconds < x.seconds ? y : x));
  return { ...best, maxRssBytes: Math.max(...runs.map((r) => r.maxRssBytes)) };
}

const mb = (bytes: number) => `${Math.round(bytes / 2 ** 20)}`;
const rel = (x: number | undefined) => (x === undefined ? '—' : x.toExponential(2));

export default async function bench(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'modeldiff-scale-bench-'));
  const sets: Array<{ label: string; params: string; make: () => { a: string; b: string; p: string }; peer: readonly string[] }> = [];
  for (const w of WIDTHS) {
    const sizes = [256, w, w, w, 10];
    const params = sizes.slice(1).reduce((n, o, i) => n + o * sizes[i] + o, 0);
    sets.push({
      label: `MLP 256→${w}→${w}→${w}→10`,
      params: `${(params / 1e6).toFixed(1)}M`,
      make: () => {
        const files = { a: path.join(dir, 'a.onnx'), b: path.join(dir, 'b.onnx'), p: path.join(dir, 'p.onnx') };
        const A = randomMlp(sizes, 1);
        writeMlp(files.a, A);
        writeMlp(files.p, permutedMlp(A, 7));
        writeMlp(files.b, randomMlp(sizes, 2));
        return files;
      },
      peer: METHODS,
    });
  }
  if (RESNET) {
    sets.push({
      label: 'ResNet-50 (torchvision, BatchNorm folded)',
      params: '25.5M',
      make: () => {
        const files = { a: path.join(dir, 'a.onnx'), b: path.join(dir, 'b.onnx'), p: path.join(dir, 'p.onnx') };
        for (const [seed, raw] of [[1, 'ra.onnx'], [2, 'rb.onnx']] as const) {
          execFileSync(PYTHON, [path.join(__dirname, 'peers', 'make_resnet50.py'), path.join(dir, raw), String(seed)], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
        }
        foldedAndPermuted(path.join(dir, 'ra.onnx'), files.a, files.p, 7);
        foldedAndPermuted(path.join(dir, 'rb.onnx'), files.b, undefined, 0);
        return files;
      },
      // The peer's hand-written ResNet permutation spec (bench/peers/weights_numpy.py, resnet_groups).
      peer: METHODS,
    });
  }
  console.log(`${os.cpus().length} cores (${os.cpus()[0]?.model ?? ''}), best of ${REPEAT} runs per cell, --tol ${TOL} on both sides, node ${process.version}`);
  console.log('');
  console.log('| model | params | B | method | modeldiff (s) | sweeps | peak RSS (MB) | numpy + scipy (s) | sweeps | peak RSS (MB) | numpy / modeldiff time | relative distance modeldiff / numpy | load (1 min) |');
  console.log('|---|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---|---:|');
  try {
    for (const set of sets) {
      const files = set.make();
      for (const [pairLabel, b] of [['random', files.b], ['permuted A', files.p]] as const) {
        for (const method of METHODS) {
          const load = os.loadavg()[0];
          const ours: Run[] = [];
          const theirs: Run[] = [];
          for (let r = 0; r < REPEAT; r++) {
            ours.push(modeldiff(files.a, b, method));
            if (set.peer.includes(method)) theirs.push(numpy(files.a, b, method));
          }
          const m = bestOf(ours);
          const n = theirs.length ? bestOf(theirs) : undefined;
          const cells = n
            ? [n.seconds.toFixed(2), method === 'aligned' ? String(n.sweeps) : '', mb(n.maxRssBytes), (n.seconds / m.seconds).toFixed(2), `${rel(m.relative)} / ${rel(n.relative)}`]
            : ['—', '', '—', '—', `${rel(m.relative)} / —`];
          console.log(`| ${set.label} | ${set.params} | ${pairLabel} | ${method} | ${m.seconds.toFixed(2)} | ${method === 'aligned' ? m.sweeps : ''} | ${mb(m.maxRssBytes)} | ${cells.join(' | ')} | ${load.toFixed(1)} |`);
        }
      }
      for (const f of fs.readdirSync(dir)) fs.rmSync(path.join(dir, f));
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
