/**
 * Output divergences, side by side: modeldiff (1 thread, all threads), a plain TypeScript
 * loop, ml-distance (one pair of rows per call) and simsimd (one pair per call), on float32
 * model outputs, n = 10^6 rows of k = 10 classes and 10^4 rows of k = 1000. Plus a plain
 * memory-read kernel (a vectorized sum of the same float32 inputs, in C++) as the ceiling, and the accuracy of each peer
 * against a float64 reference (simsimd loses accuracy; its JS kernel mishandles zeros).
 *
 * Rates are the best wall time over 3 passes through the whole list (5 calls per pass for modeldiff, 1 for
 * the far slower others): this shared VM has slow spells of whole seconds. The load average is printed.
 * The calls that run on the calling thread alone (modeldiff 1 thread, the TypeScript loop) are
 * also timed in process CPU time, which other jobs on the machine inflate much less.
 * `npm run bench -- divergence`.
 */
import os from 'node:os';

import { distance as mlDistance } from 'ml-distance';

import {
  divergencePerSample,
  divergencePerSampleSync,
  type FunctionMeasureName,
  type OutputKind,
} from '../lib/function/divergence';
import type { Matrix } from '../lib/matrix';
import { capabilities, native } from '../lib/native';
import type { DivergenceBenchAddon } from '../lib/native/divergence';
import { createRng } from '../lib/util/rng';
import { best, bestAsync } from './timing';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const simsimd = require('simsimd') as {
  jensenshannon(a: Float32Array | Float64Array, b: Float32Array | Float64Array): number;
  kullbackleibler(a: Float32Array | Float64Array, b: Float32Array | Float64Array): number;
};

type Measure = 'js' | 'kl' | 'tv' | 'disagreement';
const MEASURES: Measure[] = ['js', 'kl', 'tv', 'disagreement'];

/** Best wall and best process CPU seconds of `runs` calls (for single-threaded calls). */
function bestBoth(runs: number, fn: () => void): { seconds: number; cpuSeconds: number } {
  let t = Infinity;
  let c = Infinity;
  for (let i = 0; i < runs; i++) {
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    fn();
    t = Math.min(t, Number(process.hrtime.bigint() - t0) / 1e9);
    const dc = process.cpuUsage(c0);
    c = Math.min(c, (dc.user + dc.system) / 1e6);
  }
  return { seconds: t, cpuSeconds: c };
}

function makeData(n: number, k: number, seed: number): { logits: Matrix[]; probs: Matrix[] } {
  const rng = createRng(seed);
  const logits: Matrix[] = [];
  const probs: Matrix[] = [];
  for (let m = 0; m < 2; m++) {
    const l = new Float32Array(n * k);
    const p = new Float32Array(n * k);
    for (let r = 0; r < n; r++) {
      let max = -Infinity;
      for (let j = 0; j < k; j++) {
        l[r * k + j] = 2 * rng.normal();
        max = Math.max(max, l[r * k + j]!);
      }
      let s = 0;
      for (let j = 0; j < k; j++) s += Math.exp(l[r * k + j]! - max);
      for (let j = 0; j < k; j++) p[r * k + j] = Math.exp(l[r * k + j]! - max) / s;
    }
    logits.push({ data: l, n, k });
    probs.push({ data: p, n, k });
  }
  return { logits, probs };
}

// ---------- the plain TypeScript loop (what a user would write) ----------

function tsLoop(a: Matrix, b: Matrix, measure: Measure, kind: OutputKind): Float64Array {
  const { n, k } = a;
  const out = new Float64Array(n);
  const pa = new Float64Array(k);
  const pb = new Float64Array(k);
  const dist = (src: Float32Array | Float64Array, off: number, dst: Float64Array) => {
    if (kind === 'probs') {
      for (let j = 0; j < k; j++) dst[j] = src[off + j]!;
      return;
    }
    let max = -Infinity;
    for (let j = 0; j < k; j++) max = Math.max(max, src[off + j]!);
    let s = 0;
    for (let j = 0; j < k; j++) s += dst[j] = Math.exp(src[off + j]! - max);
    for (let j = 0; j < k; j++) dst[j]! /= s;
  };
  for (let r = 0; r < n; r++) {
    const off = r * k;
    dist(a.data, off, pa);
    dist(b.data, off, pb);
    let v = 0;
    if (measure === 'js') {
      for (let j = 0; j < k; j++) {
        const p = pa[j]!;
        const q = pb[j]!;
        const m = (p + q) / 2;
        if (p > 0) v += 0.5 * p * Math.log(p / m);
        if (q > 0) v += 0.5 * q * Math.log(q / m);
      }
    } else if (measure === 'kl') {
      for (let j = 0; j < k; j++) if (pa[j]! > 0) v += pa[j]! * Math.log(pa[j]! / pb[j]!);
    } else if (measure === 'tv') {
      for (let j = 0; j < k; j++) v += 0.5 * Math.abs(pa[j]! - pb[j]!);
    } else {
      let ia = 0;
      let ib = 0;
      for (let j = 1; j < k; j++) {
        if (pa[j]! > pa[ia]!) ia = j;
        if (pb[j]! > pb[ib]!) ib = j;
      }
      v = ia === ib ? 0 : 1;
    }
    out[r] = v;
  }
  return out;
}

// ---------- per-pair peers ----------

function rowsOf(x: Matrix, n: number): Float32Array[] {
  const rows: Float32Array[] = [];
  for (let r = 0; r < n; r++) rows.push((x.data as Float32Array).subarray(r * x.k, (r + 1) * x.k));
  return rows;
}

const mlFns: Partial<Record<Measure, (a: Float32Array, b: Float32Array) => number>> = {
  js: (a, b) => mlDistance.jensenShannon(a as unknown as number[], b as unknown as number[]),
  kl: (a, b) => mlDistance.kullbackLeibler(a as unknown as number[], b as unknown as number[]),
  tv: (a, b) => mlDistance.manhattan(a as unknown as number[], b as unknown as number[]) / 2,
};
const simFns: Partial<Record<Measure, (a: Float32Array, b: Float32Array) => number>> = {
  js: (a, b) => simsimd.jensenshannon(a, b),
  kl: (a, b) => simsimd.kullbackleibler(a, b),
};

function perPair(fn: (a: Float32Array, b: Float32Array) => number, ra: Float32Array[], rb: Float32Array[]): Float64Array {
  const out = new Float64Array(ra.length);
  for (let r = 0; r < ra.length; r++) out[r] = fn(ra[r]!, rb[r]!);
  return out;
}

// ---------- reporting ----------

interface Row {
  k: number;
  inputs: OutputKind;
  measure: Measure;
  who: string;
  rows: number;
  seconds: number;
  cpuSeconds?: number;
}

const fmtRate = (v: number) => (v >= 1e9 ? `${(v / 1e9).toFixed(2)} G` : v >= 1e6 ? `${(v / 1e6).toFixed(1)} M` : `${(v / 1e3).toFixed(1)} k`);

function jsRef(p: ArrayLike<number>, q: ArrayLike<number>): number {
  let v = 0;
  for (let j = 0; j < p.length; j++) {
    const m = (p[j]! + q[j]!) / 2;
    if (p[j]! > 0) v += 0.5 * p[j]! * Math.log(p[j]! / m);
    if (q[j]! > 0) v += 0.5 * q[j]! * Math.log(q[j]! / m);
  }
  return v;
}

/**
 * The memory-read ceiling (binding/divergence.cpp's divergenceMemoryRead, in MODELDIFF_BENCH_KERNELS
 * builds only), checked against a plain sum before it is timed.
 */
function memoryRead(): (data: Float32Array | Float64Array, threads: number) => number {
  const fn = (native as DivergenceBenchAddon).divergenceMemoryReadSync;
  if (fn === undefined) {
    throw new Error('the memory-read ceiling needs the benchmark build: npx cmake-js compile --CDMODELDIFF_BENCH_KERNELS=ON');
  }
  const read = (data: Float32Array | Float64Array, threads: number) => fn({ data, length: data.length, threads });
  const data = Float64Array.from({ length: 100001 }, (_, i) => i % 17);
  const ref = data.reduce((s, v) => s + v, 0);
  const f32 = Float32Array.from(data);
  const checks: Array<[string, number, number]> = [
    ['1 thread', read(data, 1), ref],
    ['3 threads', read(data, 3), ref],
    ['float32', read(f32, 1), ref],
    ['a view with an offset', read(f32.subarray(7), 2), ref - data.subarray(0, 7).reduce((s, v) => s + v, 0)],
    ['threads: 1e5 (capped at the hardware\'s)', read(data, 100000), ref],
  ];
  for (const [what, got, want] of checks) if (got !== want) throw new Error(`memory-read ceiling, ${what}: sum ${got}, expected ${want}`);
  let typeChecked = false;
  try {
    fn({ data: new Int32Array(4) as unknown as Float64Array, length: 4 });
  } catch (e) {
    typeChecked = (e as { code?: string }).code === 'INVALID_ARGUMENT';
  }
  if (!typeChecked) throw new Error('memory-read ceiling: an Int32Array was not refused with INVALID_ARGUMENT');
  return read;
}

export default async function main(): Promise<void> {
  const caps = capabilities();
  const all = caps.threads;
  console.log(
    `modeldiff isa ${caps.isa} (supported: ${caps.supported.join(', ')}), ${all} hardware threads, ` +
      `${os.cpus()[0]?.model ?? 'cpu'}, load average ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}\n`,
  );
  // Every row is the best over PASSES passes through the whole list, not over consecutive calls:
  // this VM's slow spells last whole seconds, long enough to cover all repetitions of one row.
  const PASSES = 3;
  const best_: Map<string, Row> = new Map();
  const record = (r: Row) => {
    const key = `${r.k}|${r.inputs}|${r.measure}|${r.who}`;
    const old = best_.get(key);
    if (!old) return void best_.set(key, r);
    old.seconds = Math.min(old.seconds, r.seconds);
    if (r.cpuSeconds !== undefined) old.cpuSeconds = Math.min(old.cpuSeconds ?? Infinity, r.cpuSeconds);
  };
  const ceilings: string[] = [];

  for (const [k, n, nPeer] of [
    [10, 1_000_000, 200_000],
    [1000, 10_000, 10_000],
  ] as const) {
    const data = makeData(n, k, 42 + k);
    // Memory-read ceiling: a plain vectorized sum over the same pair of float32 input arrays
    // the kernels read (the bytes they must at least load), per n·k elements.
    const [ca, cb] = data.probs;
    const read = memoryRead();
    const readPair = (threads: number) => read(ca.data, threads) + read(cb.data, threads);
    // Warm-up: on this VM, reads of freshly written arrays start at ~1/3 of full speed and ramp
    // up over ~10 passes (host-side memory effects, not the caches: the arrays are 40 MB each),
    // which would penalize whichever kernels ran first. Read until the rate stops improving.
    for (let i = 0, fastest = Infinity, since = 0; i < 40 && since < 5; i++, since++) {
      const t = best(1, () => readPair(1));
      if (t < 0.97 * fastest) (fastest = t), (since = 0);
    }
    let t1 = Infinity;
    let tall = Infinity;
    for (let pass = 0; pass < PASSES; pass++) {
      for (const inputs of ['probs', 'logits'] as OutputKind[]) {
        const [a, b] = inputs === 'probs' ? data.probs : data.logits;
        for (const measure of MEASURES) {
          if (inputs === 'logits' && (measure === 'tv' || measure === 'disagreement')) continue;
          const opts = { outputs: inputs, threads: 1 };
          const m = [measure] as FunctionMeasureName[];
          record({ k, inputs, measure, who: 'modeldiff, 1 thread', rows: n, ...bestBoth(5, () => divergencePerSampleSync(a!, b!, m, opts)) });
          record({
            k,
            inputs,
            measure,
            who: `modeldiff, ${all} threads`,
            rows: n,
            seconds: await bestAsync(5, () => divergencePerSample(a!, b!, m, { outputs: inputs, threads: all })),
          });
          record({ k, inputs, measure, who: 'TypeScript loop', rows: n, ...bestBoth(1, () => tsLoop(a!, b!, measure, inputs)) });
          if (inputs === 'probs') {
            const ra = rowsOf(a!, nPeer);
            const rb = rowsOf(b!, nPeer);
            const ml = mlFns[measure];
            if (ml) record({ k, inputs, measure, who: 'ml-distance', rows: nPeer, seconds: best(1, () => perPair(ml, ra, rb)) });
            const sim = simFns[measure];
            if (sim) record({ k, inputs, measure, who: 'simsimd', rows: nPeer, seconds: best(1, () => perPair(sim, ra, rb)) });
          }
        }
      }
      // Timed after the kernels of each pass, over the same (now warm) arrays.
      t1 = Math.min(t1, best(4, () => readPair(1)));
      tall = Math.min(tall, best(4, () => readPair(all)));
    }
    ceilings.push(`| ${k} | ${fmtRate((n * k) / t1)} | ${fmtRate((n * k) / tall)} |`);
  }
  const results = [...best_.values()];

  console.log(`### Throughput (best over ${PASSES} passes of 5 calls (modeldiff) or 1 call (others) each, one pair of n × k float32 output arrays)\n`);
  console.log('| k | inputs | measure | implementation | rows timed | elements/s | rows/s | modeldiff 1 thread ÷ this | elements per CPU-second |');
  console.log('|---:|---|---|---|---:|---:|---:|---:|---:|');
  for (const r of results) {
    const rate = (r.rows * r.k) / r.seconds;
    const base = results.find((x) => x.k === r.k && x.inputs === r.inputs && x.measure === r.measure && x.who === 'modeldiff, 1 thread')!;
    const baseRate = (base.rows * base.k) / base.seconds;
    console.log(
      `| ${r.k} | ${r.inputs} | ${r.measure} | ${r.who} | ${r.rows} | ${fmtRate(rate)} | ${fmtRate(r.rows / r.seconds)} | ${(baseRate / rate).toFixed(2)}× | ${r.cpuSeconds ? fmtRate((r.rows * r.k) / r.cpuSeconds) : '—'} |`,
    );
  }
  console.log('\n### Memory-read ceiling (vectorized sum of the same two float32 inputs in C++, elements/s)\n');
  console.log('| k | 1 thread | all threads |');
  console.log('|---:|---:|---:|');
  for (const c of ceilings) console.log(c);

  // ---------- accuracy vs a float64 reference ----------
  console.log('\n### Accuracy of the JS distance sqrt(JS) vs a float64 reference (max abs error)\n');
  const rng = createRng(7);
  const cases: Array<[string, Float32Array[], Float32Array[]]> = [];
  for (const k of [10, 1000, 100_000]) {
    const rows = k >= 100_000 ? 10 : 200;
    const mk = () =>
      Array.from({ length: rows }, () => {
        const v = Float32Array.from({ length: k }, () => rng.float() ** 2);
        const s = v.reduce((x, y) => x + y, 0);
        return v.map((x) => x / s);
      });
    cases.push([`random rows, k = ${k}`, mk(), mk()]);
  }
  cases.push(['p = [.5, .5, 0, 0], q = uniform', [new Float32Array([0.5, 0.5, 0, 0])], [new Float32Array([0.25, 0.25, 0.25, 0.25])]]);
  console.log('| case | modeldiff | simsimd (float32) | simsimd (float64) | ml-distance |');
  console.log('|---|---:|---:|---:|---:|');
  for (const [name, pa, pb] of cases) {
    const k = pa[0]!.length;
    const flatA = new Float32Array(pa.length * k);
    const flatB = new Float32Array(pa.length * k);
    pa.forEach((r, i) => flatA.set(r, i * k));
    pb.forEach((r, i) => flatB.set(r, i * k));
    const md = divergencePerSampleSync({ data: flatA, n: pa.length, k }, { data: flatB, n: pa.length, k }, ['js-distance'], { outputs: 'probs' })['js-distance'];
    let eMd = 0;
    let eS32 = 0;
    let eS64 = 0;
    let eMl = 0;
    for (let i = 0; i < pa.length; i++) {
      const ref = Math.sqrt(jsRef(pa[i]!, pb[i]!));
      eMd = Math.max(eMd, Math.abs(md[i]! - ref));
      eS32 = Math.max(eS32, Math.abs(simsimd.jensenshannon(pa[i]!, pb[i]!) - ref));
      eS64 = Math.max(eS64, Math.abs(simsimd.jensenshannon(Float64Array.from(pa[i]!), Float64Array.from(pb[i]!)) - ref));
      const ml = Math.sqrt(mlDistance.jensenShannon(pa[i]! as unknown as number[], pb[i]! as unknown as number[]));
      eMl = Number.isNaN(ml) ? NaN : Math.max(eMl, Math.abs(ml - ref));
    }
    const f = (e: number) => (Number.isNaN(e) ? 'NaN' : e.toExponential(1));
    console.log(`| ${name} | ${f(eMd)} | ${f(eS32)} | ${f(eS64)} | ${f(eMl)} |`);
  }
}
