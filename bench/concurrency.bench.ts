/**
 * Many `compare` calls at once, as a service diffing model versions sees
 * them: 20 pairs of the example zoo's MLPs on its 450-sample probe set, run
 * one after another and all at once (Promise.all), with modeldiff's sessions
 * (pool threads sleep when idle) and with sessions as onnxruntime makes them
 * by default (pool threads spin-wait), passed in as InferenceSessions. Wall
 * time and the longest event-loop stall (a 5 ms interval timer's largest gap).
 */
import os from 'node:os';
import path from 'node:path';

import * as ort from 'onnxruntime-node';

import { compare } from '../lib/function/compare';

const ZOO = path.join(__dirname, '..', 'examples', 'digits');
const PROBE = path.join(ZOO, 'probe_x.npy');
const PAIRS = 20;
const model = (i: number) => path.join(ZOO, `mlp_relu_seed${i % 8}.onnx`);

type Sessions = (i: number) => Promise<[string | ort.InferenceSession, string | ort.InferenceSession]>;

/** Wall time of `run` and the largest gap between ticks of a 5 ms timer meanwhile, in ms. */
async function measure(run: () => Promise<unknown>): Promise<[number, number]> {
  let last = performance.now();
  let gap = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    gap = Math.max(gap, now - last);
    last = now;
  }, 5);
  const t0 = performance.now();
  await run();
  const wall = performance.now() - t0;
  clearInterval(timer);
  return [wall, Math.max(gap, performance.now() - last)];
}

async function pairs(sessions: Sessions, concurrent: boolean): Promise<[number, number]> {
  const opened = await Promise.all(Array.from({ length: PAIRS }, (_, i) => sessions(i)));
  const one = (i: number) => compare(opened[i][0], opened[i][1], { data: PROBE, cache: false });
  const result = await measure(async () => {
    if (concurrent) await Promise.all(opened.map((_, i) => one(i)));
    else for (let i = 0; i < PAIRS; i++) await one(i);
  });
  for (const [a, b] of opened) for (const s of [a, b]) if (typeof s !== 'string') await s.release();
  return result;
}

export default async function bench(): Promise<void> {
  const reps = Number(process.env.BENCH_REPS ?? 5);
  const spinning = { executionProviders: ['cpu'], intraOpNumThreads: os.availableParallelism(), graphOptimizationLevel: 'all' } as const;
  const variants: Array<[string, Sessions]> = [
    ['modeldiff sessions (idle threads sleep)', async (i) => [model(i), model(i + 1)]],
    [
      'onnxruntime default sessions (idle threads spin)',
      async (i) => [await ort.InferenceSession.create(model(i), spinning), await ort.InferenceSession.create(model(i + 1), spinning)],
    ],
  ];
  console.log(`${PAIRS} compare calls on 450 samples, ${os.availableParallelism()} threads; best of ${reps}; wall ms / longest event-loop stall ms\n`);
  console.log('| sessions | one after another | all at once (Promise.all) |');
  console.log('|---|---|---|');
  await pairs(variants[0][1], false); // warm-up
  for (const [name, sessions] of variants) {
    const best = { seq: [Infinity, Infinity], par: [Infinity, Infinity] };
    for (let r = 0; r < reps; r++) {
      const s = await pairs(sessions, false);
      const p = await pairs(sessions, true);
      if (s[0] < best.seq[0]) best.seq = s;
      if (p[0] < best.par[0]) best.par = p;
    }
    const f = (x: number[]) => `${x[0].toFixed(0)} / ${x[1].toFixed(0)}`;
    console.log(`| ${name} | ${f(best.seq)} | ${f(best.par)} |`);
  }
}
