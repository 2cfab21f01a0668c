/**
 * Peak memory of `modeldiff weights A B --method raw` on two large MLPs
 * (256 → W → W → W → 10, random float32 weights, written here as ONNX files in a
 * temp folder), against issue 15's target: peak RSS ≤ 200 MB + 1.2 × the
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

import { onnx } from 'onnx-proto';

function randomFloats(n: number, seed: number): Uint8Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s / 2 ** 32 - 0.5) * 0.05;
  }
  return new Uint8Array(out.buffer);
}

/** An MLP of Gemm layers (transB = 1) with ReLU between, as ONNX bytes written to `file`. */
function writeMlp(file: string, sizes: number[], seed: number): void {
  const nodes: onnx.INodeProto[] = [];
  const inits: onnx.ITensorProto[] = [];
  let x = 'x';
  for (let l = 0; l + 1 < sizes.length; l++) {
    const [i, o] = [sizes[l], sizes[l + 1]];
    inits.push({ name: `W${l}`, dims: [o, i], dataType: 1, rawData: randomFloats(o * i, seed * 100 + l) });
    inits.push({ name: `b${l}`, dims: [o], dataType: 1, rawData: randomFloats(o, seed * 100 + 50 + l) });
    const y = l + 2 < sizes.length ? `h${l}` : 'y';
    nodes.push({ opType: 'Gemm', input: [x, `W${l}`, `b${l}`], output: [l + 2 < sizes.length ? `g${l}` : y], attribute: [{ name: 'transB', type: 2, i: 1 }] });
    if (l + 2 < sizes.length) nodes.push({ opType: 'Relu', input: [`g${l}`], output: [y] });
    x = y;
  }
  const vi = (name: string, d: number) => ({ name, type: { tensorType: { elemType: 1, shape: { dim: [{ dimParam: 'N' }, { dimValue: d }] } } } });
  const model = onnx.ModelProto.encode({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 13 }],
    graph: { name: 'mlp', node: nodes, initializer: inits, input: [vi('x', sizes[0])], output: [vi('y', sizes[sizes.length - 1])] },
  }).finish();
  fs.writeFileSync(file, model);
}

export default async function run(): Promise<void> {
  const widths = (process.env.BENCH_WIDTHS ?? '1024 2048 4096').split(/\s+/).filter(Boolean).map(Number);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'modeldiff-membench-'));
  const MB = 1024 * 1024;
  console.log('| width | params | model file | largest pair | target (200 MB + 1.2 × pair) | peak RSS | wall | within |');
  console.log('|---|---|---|---|---|---|---|---|');
  try {
    for (const w of widths) {
      const sizes = [256, w, w, w, 10];
      const a = path.join(dir, `a${w}.onnx`);
      const b = path.join(dir, `b${w}.onnx`);
      writeMlp(a, sizes, 1);
      writeMlp(b, sizes, 2);
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
