/**
 * The similarity products of weight matching (`matchingSimilarity`, the GEMM every sweep runs
 * per hidden group) against numpy + OpenBLAS on the same machine, in one run
 * (`npm run bench -- matching-gemm`):
 *
 *   C = W_A·W_Bᵀ + b_A⊗b_B + W'_Aᵀ·W'_B     (units × units, depth fanIn + 1 + outRows·block)
 *
 * numpy computes it the way a numpy user (and the Git Re-Basin code) writes it, one matmul per
 * weight plus the outer product, and, as the ceiling, as one GEMM Φ_A·Φ_Bᵀ on the features
 * concatenated beforehand (not timed). Same float64 data (through .npy files), every result
 * checked against numpy's before it counts. modeldiff writes into one reused \`out\` array, as
 * weight matching's sweep does (a new array per call would time page faults, not the GEMM). Each product runs twice: on all cores (OpenBLAS's
 * default, modeldiff's default) and on one thread (OPENBLAS_NUM_THREADS=1 for numpy,
 * `threads: 1` for modeldiff), the load-robust row on a shared machine. Rounds alternate
 * between the two sides, best of several calls per round; the table shows the best round of
 * each side and, for the speed ratio, the range of the per-round ratios. The load average is
 * printed with the table.
 *
 *   MODELDIFF_BENCH_PYTHON=/path/to/python npm run bench -- matching-gemm
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { readNpy, writeNpy } from '../lib/io/npy';
import { makeTensor } from '../lib/io/tensor';
import { createRng } from '../lib/util/rng';
import { type LayerWeights, matchingSimilaritySync } from '../lib/weights/kernels';
import { best } from './timing';

const PYTHON = process.env.MODELDIFF_BENCH_PYTHON ?? 'python3';
const ROUNDS = Number(process.env.MODELDIFF_BENCH_ROUNDS ?? 3);
/** Thread counts: 0 = all cores (both sides' default), then one thread. */
const THREADS = [0, 1];

/** The products weight matching runs on the networks of the big-model table. */
const SHAPES: Array<{ label: string; units: number; fanIn: number; outRows: number; block: number; calls: number }> = [
  { label: 'MLP 784→1024, next 1024', units: 1024, fanIn: 784, outRows: 1024, block: 1, calls: 5 },
  { label: 'MLP 1024→1024, next 1024', units: 1024, fanIn: 1024, outRows: 1024, block: 1, calls: 5 },
  { label: 'MLP 2048→2048, next 2048', units: 2048, fanIn: 2048, outRows: 2048, block: 1, calls: 2 },
  { label: 'ResNet-50 3×3 conv, 512 ch (→ 1×1, 2048)', units: 512, fanIn: 512 * 9, outRows: 2048, block: 1, calls: 5 },
  { label: 'ResNet-50 1×1 conv, 2048 ch (→ 1×1, 512)', units: 2048, fanIn: 512, outRows: 512, block: 1, calls: 3 },
  { label: 'ResNet-50 1×1 conv, 256 ch (→ 3×3, 64)', units: 256, fanIn: 64, outRows: 64, block: 9, calls: 9 },
];

const NUMPY_SCRIPT = `
import sys, json, time, numpy as np
d, calls = sys.argv[1], int(sys.argv[2])
L = {k: np.load(f"{d}/{k}.npy") for k in ["winA", "binA", "woutA", "winB", "binB", "woutB"]}
u, blk = L["winA"].shape[0], int(sys.argv[3])
# wout is outRows x units x block: unit u's outgoing weights as one row of units x (outRows*block).
oA = np.ascontiguousarray(L["woutA"].reshape(-1, u, blk).transpose(1, 0, 2).reshape(u, -1))
oB = np.ascontiguousarray(L["woutB"].reshape(-1, u, blk).transpose(1, 0, 2).reshape(u, -1))
def step():
    return L["winA"] @ L["winB"].T + np.outer(L["binA"], L["binB"]) + oA @ oB.T
phiA = np.hstack([L["winA"], L["binA"][:, None], oA]); phiB = np.hstack([L["winB"], L["binB"][:, None], oB])
def gemm():
    return phiA @ phiB.T
def best(f):
    t = 1e9
    for _ in range(calls):
        t0 = time.perf_counter(); f(); t = min(t, time.perf_counter() - t0)
    return t
C = step()
np.save(f"{d}/C.npy", C)
print(json.dumps({"step": best(step), "gemm": best(gemm)}))
`;

function layer(rng: ReturnType<typeof createRng>, s: (typeof SHAPES)[number]): LayerWeights {
  const fill = (n: number) => Float64Array.from({ length: n }, () => rng.normal() * 0.05);
  return { win: fill(s.units * s.fanIn), bin: fill(s.units), wout: fill(s.outRows * s.units * s.block), units: s.units, fanIn: s.fanIn, outRows: s.outRows, block: s.block };
}

function loadavg(): string {
  return os.loadavg().map((x) => x.toFixed(1)).join(' / ');
}

export default async function bench(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'modeldiff-gemm-bench-'));
  const script = path.join(dir, 'numpy_step.py');
  fs.writeFileSync(script, NUMPY_SCRIPT);
  const rng = createRng(15);
  const rows: string[] = [];
  console.log(`load average (1/5/15 min) at the start: ${loadavg()}; ${os.cpus().length} cores, ${os.cpus()[0]?.model ?? ''}`);
  try {
    for (const s of SHAPES) {
      const a = layer(rng, s);
      const b = layer(rng, s);
      for (const [side, l] of [['A', a], ['B', b]] as const) {
        writeNpy(path.join(dir, `win${side}.npy`), makeTensor(l.win, [s.units, s.fanIn]), { force: true });
        writeNpy(path.join(dir, `bin${side}.npy`), makeTensor(l.bin, [s.units]), { force: true });
        writeNpy(path.join(dir, `wout${side}.npy`), makeTensor(l.wout, [s.outRows, s.units * s.block]), { force: true });
      }
      for (const threads of THREADS) {
        let ours = Infinity;
        let np = { step: Infinity, gemm: Infinity };
        const ratios: number[] = [];
        let C: Float64Array = new Float64Array(0);
        const env = threads === 0 ? process.env : { ...process.env, OPENBLAS_NUM_THREADS: '1', OMP_NUM_THREADS: '1' };
        // The sweep's call: lib/weights/matching.ts passes the same `out` every time, as numpy's
        // allocator hands its step the memory it freed. A fresh 0.5 MiB Float64Array per call
        // (no `out`) adds ~130 page faults, ~0.8 ms of system time at 256 units on this machine.
        const reuse = new Float64Array(s.units * s.units);
        const options = threads === 0 ? { out: reuse } : { threads, out: reuse };
        for (let round = 0; round < ROUNDS; round++) {
          const t = best(s.calls, () => (C = matchingSimilaritySync(a, b, options)));
          const out = JSON.parse(execFileSync(PYTHON, [script, dir, String(s.calls), String(s.block)], { encoding: 'utf8', env })) as typeof np;
          ours = Math.min(ours, t);
          np = { step: Math.min(np.step, out.step), gemm: Math.min(np.gemm, out.gemm) };
          ratios.push(out.step / t);
        }
        // numpy's C, read back from its .npy: the two must agree.
        const ref = readNpy(path.join(dir, 'C.npy')).data as Float64Array;
        let maxErr = 0;
        let maxAbs = 0;
        for (let i = 0; i < ref.length; i++) {
          maxErr = Math.max(maxErr, Math.abs(C[i] - ref[i]));
          maxAbs = Math.max(maxAbs, Math.abs(ref[i]));
        }
        const agree = ref.length === C.length && maxErr <= 1e-12 * Math.max(1, maxAbs);
        const D = s.fanIn + 1 + s.outRows * s.block;
        const gflop = (2 * s.units * s.units * D) / 1e9;
        const ms = (x: number) => (x * 1e3).toFixed(x < 0.01 ? 2 : 1);
        const spread = `${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}`;
        rows.push(
          `| ${s.label} | ${s.units}×${s.units}×${D} | ${threads === 0 ? os.cpus().length : 1} | ${ms(ours)} (${(gflop / ours).toFixed(1)} GFLOP/s) | ${ms(np.step)} | ${ms(np.gemm)} (${(gflop / np.gemm).toFixed(1)} GFLOP/s) | ${(np.step / ours).toFixed(2)} (${spread}) | ${(np.gemm / ours).toFixed(2)} | ${agree ? 'yes' : `NO (${maxErr.toExponential(1)})`} |`,
        );
      }
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  console.log('| product | units × units × depth | threads | modeldiff matchingSimilaritySync (ms) | numpy W·Wᵀ + b⊗b + W′ᵀ·W′ (ms) | numpy one GEMM Φ_A·Φ_Bᵀ (ms) | speed vs numpy step (range over rounds) | speed vs one GEMM | same C (1e-12) |');
  console.log('|---|---|---:|---:|---:|---:|---:|---:|:---:|');
  for (const r of rows) console.log(r);
  console.log(`\nload average at the end: ${loadavg()}. "speed vs" = numpy's time / modeldiff's, best round of each (≥ 0.70 is issue 15's target); in parentheses the lowest and highest ratio of one round's pair.`);
}
