/**
 * `modeldiff divergence a.npy b.npy --metric js[,tv,...]`: function-view divergences between
 * two saved output arrays (n × k, or 1-D = n × 1; float32 or float64). A readable table by
 * default; with --json one document
 * `{ a, b, n, k, outputs, units, metrics: { <name>: { mean, perSampleMax } | { value } }, hints }`
 * (set-level measures such as kappa have `value`; hints say e.g. how to get a finite KL). Metric names and help come from the
 * measure registry.
 */
import path from 'node:path';

import type { Command } from 'commander';

import { check, ModeldiffError } from '../../errors';
import {
  cohenKappa,
  divergencePerSample,
  type DivergenceOptions,
  infiniteMeasureHint,
  type FunctionMeasureName,
  OUTPUT_KINDS,
  type OutputArray,
  predict,
  resolveOutputKind,
} from '../../function/divergence';
import { readNpy } from '../../io/npy';
import { measuresOf } from '../../measures/registry';
import { toJson } from '../../util/json';
import type { CliIo } from '../context';
import { readCostMatrix } from '../cost-option';
import { commaList, invalidOption, nonNegativeNumber, positiveInteger } from '../option-parsers';

interface DivergenceFlags {
  metric: string;
  outputs: string;
  bits?: boolean;
  epsilon?: number;
  cost?: string;
  threads?: number;
  json?: boolean;
}

const usage = (msg: string) => new ModeldiffError('USAGE', msg);

/** Load a saved output array as n × k float32/float64 (1-D → n × 1). */
export function loadOutputs(file: string, cwd: string): OutputArray {
  const arr = readNpy(path.resolve(cwd, file));
  check(
    arr.data instanceof Float32Array || arr.data instanceof Float64Array,
    'BAD_NPY',
    `${file}: dtype ${arr.dtype} is not supported for model outputs; save them as float32 or float64`,
  );
  check(
    arr.shape.length === 1 || arr.shape.length === 2,
    'SHAPE_MISMATCH',
    `${file}: outputs must be 1-D (n) or 2-D (n × k), got shape [${arr.shape.join(', ')}]`,
  );
  const n = arr.shape[0]!;
  const k = arr.shape.length === 2 ? arr.shape[1]! : 1;
  return { data: arr.data, n, k };
}

function formatNumber(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (v === 0) return '0';
  const a = Math.abs(v);
  return a >= 1e-4 && a < 1e6 ? v.toPrecision(6) : v.toExponential(4);
}

type MetricResult = { mean: number; perSampleMax: number } | { value: number };

export async function runDivergence(fileA: string, fileB: string, flags: DivergenceFlags, io: CliIo): Promise<void> {
  const registry = measuresOf('function');
  const metrics = commaList(
    '--metric',
    registry.map((m) => m.name),
    'metric',
  )(flags.metric);
  if (!['auto', ...OUTPUT_KINDS].includes(flags.outputs)) {
    throw invalidOption('--outputs', `one of auto, ${OUTPUT_KINDS.join(', ')}`, flags.outputs);
  }
  const options: DivergenceOptions = { names: [fileA, fileB], bits: Boolean(flags.bits) };
  if (flags.epsilon !== undefined) options.epsilon = flags.epsilon;
  if (flags.threads !== undefined) options.threads = flags.threads;
  if (metrics.includes('emd-cost') && flags.cost === undefined) {
    throw usage('--metric emd-cost needs --cost <k×k cost .npy>');
  }

  const a = loadOutputs(fileA, io.cwd);
  const b = loadOutputs(fileB, io.cwd);
  const kind = resolveOutputKind([a, b], flags.outputs as DivergenceOptions['outputs']);
  options.outputs = kind;
  if (flags.cost !== undefined) {
    options.cost = readCostMatrix(flags.cost, io.cwd, kind === 'sigmoid' || kind === 'sigmoid-logit' ? 2 : a.k);
  }

  const perSample = metrics.filter((m) => m !== 'kappa') as FunctionMeasureName[];
  const values = perSample.length > 0 ? await divergencePerSample(a, b, perSample, options) : undefined;
  const results: Record<string, MetricResult> = {};
  const hints: string[] = [];
  for (const m of metrics) {
    if (m === 'kappa') {
      // divergencePerSample has validated shapes; predict checks finiteness per row.
      const k = kind === 'sigmoid' || kind === 'sigmoid-logit' ? 2 : a.k;
      results[m] = { value: cohenKappa(predict(a, kind).label, predict(b, kind).label, k) };
      continue;
    }
    const v = values![m as FunctionMeasureName];
    let sum = 0;
    let max = -Infinity;
    for (const x of v) {
      sum += x;
      if (x > max) max = x;
    }
    results[m] = { mean: sum / v.length, perSampleMax: max };
    if (max === Infinity) hints.push(infiniteMeasureHint(m, v.filter((x) => x === Infinity).length, v.length));
  }

  const units = flags.bits ? 'bits' : 'nats';
  if (flags.json) {
    io.stdout(toJson({ a: fileA, b: fileB, n: a.n, k: a.k, outputs: kind, units, metrics: results, hints }) + '\n');
    return;
  }
  const auto = flags.outputs === 'auto' ? ' (auto)' : '';
  io.stdout(`${fileA} vs ${fileB}: n = ${a.n}, k = ${a.k}, outputs = ${kind}${auto}, log units = ${units}\n`);
  const rows = metrics.map((m) => {
    const r = results[m]!;
    return 'value' in r ? [m, formatNumber(r.value), '-'] : [m, formatNumber(r.mean), formatNumber(r.perSampleMax)];
  });
  const header = ['metric', 'mean', 'max per sample'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  io.stdout(line(header) + '\n');
  for (const r of rows) io.stdout(line(r) + '\n');
  for (const h of hints) io.stdout(`hint: ${h}\n`);
}

export function register(program: Command, io: CliIo): void {
  const registry = measuresOf('function');
  const help = registry.map((m) => `  ${m.name.padEnd(13)} ${m.description}`).join('\n');
  program
    .command('divergence')
    .description('divergences between two saved model output arrays (.npy, n × k)')
    .argument('<a>', 'first model outputs (.npy, float32/float64, n × k or n)')
    .argument('<b>', 'second model outputs (same shape)')
    .option('--metric <names>', `comma-separated metrics: ${registry.map((m) => m.name).join(', ')}`, 'js')
    .option('--outputs <kind>', `how to read rows: auto, ${OUTPUT_KINDS.join(', ')}`, 'auto')
    .option('--bits', 'log measures in bits instead of nats')
    .option('--epsilon <e>', 'smooth both distributions: p ← (p + e) / (1 + k·e) (off by default; 0 = off)', nonNegativeNumber('--epsilon'))
    .option('--cost <file>', 'k × k cost matrix (.npy) for emd-cost')
    .option('--threads <n>', 'worker threads (default: all cores)', positiveInteger('--threads'))
    .option('--json', 'one JSON document instead of a table')
    .addHelpText('after', `\nMetrics:\n${help}\n`)
    .action(async (a: string, b: string, flags: DivergenceFlags) => {
      await runDivergence(a, b, flags, io);
    });
}
