/**
 * `modeldiff demo`: the whole answer on real networks with no arguments.
 * Runs `study` on the bundled zoo's ReLU MLPs (8 seeds, the perturbed-and-
 * retrained run and the permuted-and-rescaled copy), writes the HTML report,
 * and pulls out the numbers the plain-language summary quotes: how many
 * distinct solutions the seed runs found (Chao1 on the seed runs only: the
 * two derived models are not independent draws), how much of the output
 * distance each weight distance explains, and the two controlled
 * experiments checked pair by pair with `compare` and `weightDistance`.
 */
import path from 'node:path';

import { check } from '../errors';
import { type Comparison, compare, type MetricSummary } from '../function/compare';
import type { Chao1Result } from '../many/richness';
import { type StudyOptions, study } from '../many/study';
import type { StudyResult, WeightMethod } from '../many/types';
import { checkReportTargets, writeReport } from '../report';
import { weightDistance } from '../weights';
import { type Zoo, type ZooModel, loadZoo, zooModelByRole, zooModels } from './zoo';

export const DEMO_REPORT = 'modeldiff-demo.html';
const ARCH = 'mlp-relu-64-64';

export interface DemoOptions {
  /** Report file (default modeldiff-demo.html), relative to `cwd`. */
  out?: string;
  /** Overwrite an existing report. */
  force?: boolean;
  /** Folder `out` resolves against (default process.cwd()). */
  cwd?: string;
  /** Zoo folder (default: the bundled examples/digits). */
  zooDir?: string;
  /** Use modeldiff's inference cache (default false: the demo leaves no files but the report). */
  cache?: boolean;
  seed?: number;
  onProgress?: StudyOptions['onProgress'];
  /** The command line the report shows (default "(library call)"). */
  command?: string;
}

export interface WeightGap {
  raw: number;
  canonical: number;
  aligned: number;
}

export interface DemoSummary {
  /** Independent runs of the same recipe (different seeds). */
  seedRuns: number;
  /** Distinct solutions among them (the study's `solutions`, counted over the seed runs). */
  solutions: number;
  /** Chao1 richness over the seed runs' clusters. */
  chao1: Chao1Result;
  /** Solutions expected after as many runs again. */
  expectedAfterDoubling: number;
  /** Same-solution threshold (JS, nats) from the probe set's bootstrap noise. */
  threshold: number;
  /** Pairs the correlations are over. */
  pairs: number;
  /** Pearson r² between each weight distance and JS over all pairs (share of variance explained). */
  r2: Partial<Record<WeightMethod, number>>;
  /** Mantel permutation p-value of that Pearson correlation. */
  mantelP: Partial<Record<WeightMethod, number>>;
  /** Median JS and weight L2 distances over pairs of seed runs: the yardstick for "far". */
  seedPairMedian: { js: number } & WeightGap;
  perturbed: {
    model: string;
    parent: string;
    /** JS from its parent, with compare()'s bootstrap interval. */
    js: MetricSummary;
    /** Same study cluster as the parent. */
    returned: boolean;
    /** Weight L2 distances from the parent. */
    weights: WeightGap;
  };
  permuted: {
    model: string;
    parent: string;
    js: MetricSummary;
    /** Relative weight distances ‖a−b‖ / sqrt(‖a‖‖b‖) from the parent. */
    relative: WeightGap;
  };
  /** The zoo's other architectures (tanh MLPs, CNNs): two seeds of each, with their own symmetry groups. */
  otherPairs: OtherPair[];
}

export interface OtherPair {
  architecture: string;
  a: string;
  b: string;
  /** Symmetry of the first hidden layer, as derived from the graph (e.g. "permutation+sign"). */
  symmetry: string;
  /** Mean JS between the two on their probe input. */
  js: number;
  relative: WeightGap;
}

export interface DemoResult {
  zoo: string;
  report: string;
  summary: DemoSummary;
  study: StudyResult;
}

const median = (v: number[]): number => {
  const s = [...v].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

export async function runDemo(options: DemoOptions = {}): Promise<DemoResult> {
  const cwd = options.cwd ?? process.cwd();
  const report = path.resolve(cwd, options.out ?? DEMO_REPORT);
  // Fail before minutes of work, not after (writeReport checks again, atomically).
  checkReportTargets({ html: report, force: options.force, htmlOption: 'out' }, []);
  const zoo = loadZoo(options.zooDir);
  const seed = options.seed ?? 0;
  const cache = options.cache ?? false;

  const seeds = zooModels(zoo, { role: 'seed', architecture: ARCH });
  const perturbed = zooModelByRole(zoo, 'perturbed-retrained');
  const permuted = zooModelByRole(zoo, 'permuted-rescaled-copy');
  const files = [...seeds, perturbed, permuted].map((m) => m.file);
  const idx = (file: string): number => files.indexOf(file);
  const seedIdx = seeds.map((m) => idx(m.file));
  // Solutions and Chao1 count the seed runs only (the two derived models are not
  // independent draws); the study result, hence the summary and the report, carries that count.
  const s = await study(
    files.map((f) => zoo.path(f)),
    { data: zoo.path(zoo.manifest.probe.x), labels: zoo.path(zoo.manifest.probe.y), metric: 'js', seed, cache, onProgress: options.onProgress, independentRuns: seedIdx },
  );
  await writeReport(s, {
    html: report,
    force: options.force,
    htmlOption: 'out',
    command: options.command,
    versions: { onnxruntime: (require('onnxruntime-node/package.json') as { version: string }).version },
  });

  const summary: DemoSummary = {
    seedRuns: seedIdx.length,
    solutions: s.solutions.observed,
    chao1: s.solutions,
    expectedAfterDoubling: s.solutions.expectedAfterDoubling,
    threshold: s.threshold.value,
    pairs: s.pairs.length,
    r2: {},
    mantelP: {},
    seedPairMedian: seedPairMedians(s, seedIdx),
    perturbed: await perturbedRun(zoo, s, idx, perturbed, seed, cache),
    permuted: await permutedCopy(zoo, permuted, seed, cache),
    otherPairs: await otherPairs(zoo, seed, cache),
  };
  for (const c of s.correlations) {
    if (!c.pearson) continue;
    summary.r2[c.method] = c.pearson.r * c.pearson.r;
    summary.mantelP[c.method] = c.pearson.p;
  }
  return { zoo: zoo.dir, report, summary, study: s };
}

function seedPairMedians(s: StudyResult, seedIdx: number[]): DemoSummary['seedPairMedian'] {
  const set = new Set(seedIdx);
  const pairs = s.pairs.filter((p) => set.has(p.i) && set.has(p.j));
  const w = (m: WeightMethod) => median(pairs.map((p) => p.weights[m] as number));
  return { js: median(pairs.map((p) => p.functional.mean)), raw: w('raw'), canonical: w('canonical'), aligned: w('aligned') };
}

async function jsOf(zoo: Zoo, a: string, b: string, seed: number, cache: boolean, probe = zoo.manifest.probe.x): Promise<MetricSummary> {
  const c: Comparison = await compare(zoo.path(a), zoo.path(b), { data: zoo.path(probe), metrics: ['js'], seed, cache });
  return c.metrics.js as MetricSummary;
}

async function otherPairs(zoo: Zoo, seed: number, cache: boolean): Promise<OtherPair[]> {
  const archs = [...new Set(zoo.manifest.models.map((m) => m.architecture))].filter((a) => a !== ARCH);
  const out: OtherPair[] = [];
  for (const architecture of archs) {
    const [a, b] = zooModels(zoo, { role: 'seed', architecture });
    if (!b) continue;
    const w = await weightDistance(zoo.path(a.file), zoo.path(b.file), { seed });
    out.push({
      architecture,
      a: a.file,
      b: b.file,
      symmetry: w.hidden?.[0]?.symmetry ?? 'unknown',
      js: (await jsOf(zoo, a.file, b.file, seed, cache, a.input)).mean,
      relative: { raw: w.raw!.relative, canonical: w.canonical!.relative, aligned: w.aligned!.relative },
    });
  }
  return out;
}

/** The model a perturbed or permuted zoo entry was derived from. */
function parentOf(zoo: Zoo, m: ZooModel): string {
  check(m.parent && zoo.manifest.models.some((x) => x.file === m.parent), 'IO', `${zoo.path('manifest.json')}: ${m.file} has no valid "parent"`);
  return m.parent;
}

async function perturbedRun(zoo: Zoo, s: StudyResult, idx: (f: string) => number, m: ZooModel, seed: number, cache: boolean) {
  const parent = parentOf(zoo, m);
  const file = m.file;
  const [i, j] = [idx(parent), idx(file)].sort((x, y) => x - y);
  const pair = s.pairs.find((p) => p.i === i && p.j === j);
  check(pair, 'INTERNAL', `study has no pair for ${parent} and ${file}`);
  return {
    model: file,
    parent,
    js: await jsOf(zoo, parent, file, seed, cache),
    returned: pair.sameSolution,
    weights: { raw: pair.weights.raw as number, canonical: pair.weights.canonical as number, aligned: pair.weights.aligned as number },
  };
}

async function permutedCopy(zoo: Zoo, m: ZooModel, seed: number, cache: boolean) {
  const parent = parentOf(zoo, m);
  const file = m.file;
  const w = await weightDistance(zoo.path(parent), zoo.path(file), { seed });
  return {
    model: file,
    parent,
    js: await jsOf(zoo, parent, file, seed, cache),
    relative: { raw: w.raw!.relative, canonical: w.canonical!.relative, aligned: w.aligned!.relative },
  };
}
