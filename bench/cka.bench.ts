/**
 * Linear CKA at n = 10,000 samples, p ∈ {64, 512} units per layer (float32
 * activations, fixed seed): modeldiff (C++ Gram kernel, float64, blocked and
 * threaded, per SIMD path) vs a plain TypeScript implementation (float64,
 * column-major dot products: the natural hand-written version) and ml-matrix
 * (center + transpose + mmul). Checks all agree to 1e-9, then prints median
 * wall times and ratios.
 */
import { Matrix } from 'ml-matrix';

import { capabilities } from '../lib/native';
import type { Isa } from '../lib/native/capabilities';
import type { Matrix as Activations } from '../lib/matrix';
import { representationSimilarity } from '../lib/represent/similarity';
import { createRng } from '../lib/util/rng';

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

async function time(fn: () => unknown, reps: number): Promise<number> {
  const ts: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t0 = process.hrtime.bigint();
    await fn();
    ts.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return median(ts);
}

/** Plain TypeScript linear CKA: centered float64 columns, then ‖XᵀY‖², ‖XᵀX‖², ‖YᵀY‖² by dot products. */
export function ckaPlain(x: Activations, y: Activations): number {
  const cols = (m: Activations) => {
    const out: Float64Array[] = [];
    for (let j = 0; j < m.k; j++) {
      const c = new Float64Array(m.n);
      let s = 0;
      for (let i = 0; i < m.n; i++) s += (c[i] = m.data[i * m.k + j]);
      const mean = s / m.n;
      for (let i = 0; i < m.n; i++) c[i] -= mean;
      out.push(c);
    }
    return out;
  };
  const frob2 = (a: Float64Array[], b: Float64Array[], sym: boolean) => {
    let total = 0;
    for (let i = 0; i < a.length; i++)
      for (let j = sym ? i : 0; j < b.length; j++) {
        const u = a[i];
        const v = b[j];
        let d = 0;
        for (let k = 0; k < u.length; k++) d += u[k] * v[k];
        total += sym && i !== j ? 2 * d * d : d * d;
      }
    return total;
  };
  const cx = cols(x);
  const cy = cols(y);
  return frob2(cx, cy, false) / Math.sqrt(frob2(cx, cx, true) * frob2(cy, cy, true));
}

function ckaMlMatrix(x: Activations, y: Activations): number {
  const toM = (m: Activations) => new Matrix(Array.from({ length: m.n }, (_, i) => Array.from(m.data.subarray(i * m.k, (i + 1) * m.k))));
  const X = toM(x).center('column');
  const Y = toM(y).center('column');
  const f = (a: Matrix, b: Matrix) => a.transpose().mmul(b).norm('frobenius') ** 2;
  return f(X, Y) / Math.sqrt(f(X, X) * f(Y, Y));
}

export default async function bench(): Promise<void> {
  const rng = createRng(31);
  const n = 10_000;
  const isas = capabilities().supported as Isa[];
  const rows: string[] = [];
  rows.push(`| p | ${isas.map((i) => `modeldiff ${i} (ms)`).join(' | ')} | modeldiff ${isas[isas.length - 1]}, 1 thread (ms) | plain TS (ms) | ml-matrix (ms) | vs plain TS | vs ml-matrix | agree |`);
  rows.push(`|---:|${isas.map(() => '---:|').join('')}---:|---:|---:|---:|---:|:---:|`);
  for (const p of [64, 512]) {
    const mk = (): Activations => ({ data: Float32Array.from({ length: n * p }, () => rng.normal()), n, k: p });
    const x = mk();
    // Y shares a component with X so CKA is not ~0 (a more telling agreement check).
    const y = mk();
    for (let i = 0; i < y.data.length; i++) y.data[i] += 0.5 * x.data[i];
    const ours = (isa: Isa, threads?: number) => representationSimilarity(x, y, ['cka-linear'], { isa, threads }).then((r) => r.values['cka-linear'] as number);
    const ref = ckaPlain(x, y);
    const ml = ckaMlMatrix(x, y);
    let agree = Math.abs(ml - ref) < 1e-9;
    for (const isa of isas) agree &&= Math.abs((await ours(isa)) - ref) < 1e-9;
    const reps = p === 64 ? 7 : 3;
    const tIsa: number[] = [];
    for (const isa of isas) tIsa.push(await time(() => ours(isa), reps));
    const best = isas[isas.length - 1];
    const tOne = await time(() => ours(best, 1), reps);
    const tPlain = await time(() => ckaPlain(x, y), p === 64 ? 3 : 1);
    const tMl = await time(() => ckaMlMatrix(x, y), p === 64 ? 3 : 1);
    const tBest = tIsa[tIsa.length - 1];
    rows.push(
      `| ${p} | ${tIsa.map((v) => v.toFixed(1)).join(' | ')} | ${tOne.toFixed(1)} | ${tPlain.toFixed(0)} | ${tMl.toFixed(0)} | ${(tPlain / tBest).toFixed(0)}× | ${(tMl / tBest).toFixed(0)}× | ${agree ? 'yes' : 'NO'} |`,
    );
  }
  console.log(`Linear CKA, n = ${n}, float32 inputs, ${capabilities().threads} hardware threads\n`);
  console.log(rows.join('\n'));
}
