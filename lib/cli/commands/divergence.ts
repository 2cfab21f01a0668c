/**
 * `modeldiff divergence a.npy b.npy --metric js[,tv,...]`: function-view divergences between
 * two saved output arrays (n × k, or 1-D = n × 1; float32 or float64), summarized by the
 * library's `divergence()` as `compare` summarizes them. A readable table by default; with
 * --json one document
 * `{ a, b, n, k, outputs, units, epsilon?, metrics: { <name>: { mean, stderr, ci95, median, max, samplesNeeded } | { value } }, bootstrap: { replicates, seed, method, rule }, hints }`
 * (set-level measures such as kappa have `value`; ci95 is ["NaN", "NaN"] with --bootstrap 0; hints say e.g. how to get a finite KL).
 * Metric names and help come from the measure registry.
 *
 * Arrays of rank ≥ 3 (an LM's [n, sequence, vocab] logits from `modeldiff outputs`) are compared
 * token by token as `compare` does (--class-axis, --mask-file, --labels, --topk, --top); the JSON
 * is then the library's result with `rows`, `sequences`, `classAxis` and `tokens`, and the text
 * is compare's token report.
 */
import path from 'node:path';

import type { Command } from 'commander';

import { check, ModeldiffError } from '../../errors';
import { OUTPUT_KINDS, resolveOutputKind } from '../../function/divergence';
import { divergence, type DivergenceMetric, type DivergenceSummaryOptions, type SequenceOutputArray } from '../../function/divergence-summary';
import { isSequenceOutput } from '../../function/token-divergence';
import { checkWritableTarget } from '../../util/atomic-write';
import { createProgress, type Progress } from '../../infer/progress';
import type { MetricSummary } from '../../function/summary';
import { readArray } from '../../io/array-file';
import { readMaskFile } from '../../function/token-mask';
import { measuresOf } from '../../measures/registry';
import { DEFAULT_RELATIVE_PRECISION } from '../../stats';
import { MAX_REPLICATES } from '../../stats/bootstrap';
import { formatTokens, intervalNote, writePerSample } from './compare';
import { toJson } from '../../util/json';
import type { CliIo } from '../context';
import { inFlagWords } from '../flags';
import { alignedRows, divergenceNumber } from '../format';
import { readCostMatrix } from '../cost-option';
import { commaList, integer, invalidOption, nonNegativeInteger, nonNegativeNumber, positiveInteger, positiveNumber } from '../option-parsers';
import type { Matrix } from '../../matrix';

interface DivergenceFlags {
  metric: string;
  outputs: string;
  bits?: boolean;
  epsilon?: number;
  cost?: string;
  threads?: number;
  bootstrap: number;
  seed: number;
  precision?: number;
  json?: boolean;
  savePerSample?: string;
  force?: boolean;
  classAxis?: number;
  maskFile?: string;
  labels?: string;
  topk?: number;
  top?: number;
  quiet?: boolean;
}

const usage = (msg: string) => new ModeldiffError('USAGE', msg);

/** Load a saved output array as n × k float32/float64 (1-D → n × 1), or in its full shape when its rank is ≥ 3 (sequence outputs). */
export function loadOutputs(file: string, cwd: string): Matrix | SequenceOutputArray {
  const arr = readArray(path.resolve(cwd, file), file);
  check(
    arr.data instanceof Float32Array || arr.data instanceof Float64Array,
    'INVALID_ARGUMENT',
    `${file}: dtype ${arr.dtype} is not supported for model outputs; save them as float32 or float64`,
  );
  check(arr.shape.length >= 1, 'SHAPE_MISMATCH', `${file}: outputs must be 1-D (n), 2-D (n × k) or sequence outputs of rank ≥ 3, got a scalar`);
  if (arr.shape.length >= 3) return { data: arr.data, shape: arr.shape };
  const n = arr.shape[0]!;
  const k = arr.shape.length === 2 ? arr.shape[1]! : 1;
  return { data: arr.data, n, k };
}


/** A measure's JSON entry: the library's summary, or a set-level measure's value. */
type MetricResult = MetricSummary | { value: number };

export async function runDivergence(fileA: string, fileB: string, flags: DivergenceFlags, io: CliIo): Promise<void> {
  const registry = measuresOf('function');
  const metrics = commaList(
    '--metric',
    registry.map((m) => m.name as DivergenceMetric),
    'metric',
  )(flags.metric);
  if (!['auto', ...OUTPUT_KINDS].includes(flags.outputs)) {
    throw invalidOption('--outputs', `one of auto, ${OUTPUT_KINDS.join(', ')}`, flags.outputs);
  }
  const options: DivergenceSummaryOptions = {
    names: [fileA, fileB],
    bits: Boolean(flags.bits),
    bootstrap: flags.bootstrap,
    seed: flags.seed,
  };
  if (flags.precision !== undefined) options.precision = flags.precision;
  if (flags.epsilon !== undefined) options.epsilon = flags.epsilon;
  if (flags.threads !== undefined) options.threads = flags.threads;
  if (metrics.includes('emd-cost') && flags.cost === undefined) {
    throw usage('--metric emd-cost needs --cost <k×k cost matrix file>');
  }

  // Refuse before any work, not after.
  if (flags.savePerSample !== undefined) checkWritableTarget(path.resolve(io.cwd, flags.savePerSample), { force: flags.force });
  const a = loadOutputs(fileA, io.cwd);
  const b = loadOutputs(fileB, io.cwd);
  if (isSequenceOutput(a) || isSequenceOutput(b)) {
    if (flags.cost !== undefined) {
      const k = (isSequenceOutput(a) ? a : (b as SequenceOutputArray)).shape.at(flags.classAxis ?? -1);
      options.cost = readCostMatrix(flags.cost, io.cwd, k);
    }
    options.outputs = flags.outputs as DivergenceSummaryOptions['outputs'];
    Object.assign(options, sequenceOptions(flags, io.cwd));
  } else {
    // Resolved here, not left to divergence(): the cost matrix's size depends on it.
    const kind = resolveOutputKind([a, b], flags.outputs as DivergenceSummaryOptions['outputs'], [fileA, fileB]);
    options.outputs = kind;
    if (flags.cost !== undefined) {
      options.cost = readCostMatrix(flags.cost, io.cwd, kind === 'sigmoid' || kind === 'sigmoid-logit' ? 2 : a.k);
    }
    for (const [flag, v] of [
      ['--mask-file', flags.maskFile],
      ['--labels', flags.labels],
      ['--topk', flags.topk],
      ['--top', flags.top],
    ] as const) {
      if (v !== undefined) throw usage(`${flag} applies to sequence outputs (rank >= 3, e.g. [n, sequence, vocab]); ${fileA} is [${a.n}, ${a.k}]`);
    }
    if (flags.classAxis !== undefined) options.classAxis = flags.classAxis;
  }
  if (flags.savePerSample !== undefined) options.perSample = true;

  // Progress bars on a terminal once a stage takes over a second; none with --quiet or --json.
  const sink = { write: io.stderr, isTTY: io.isTTY, quiet: Boolean(flags.quiet || flags.json) };
  let bar: { stage: string; progress: Progress } | undefined;
  const stage = (name: string, unit: string) => (done: number, total: number) => {
    if (bar?.stage !== name) {
      bar?.progress.stop();
      bar = { stage: name, progress: createProgress(sink, name, { unit }) };
    }
    bar.progress.update(done, total);
  };
  options.onProgress = stage('divergence', 'sequences');
  options.onBootstrapProgress = stage('bootstrap', 'replicates');
  let r: Awaited<ReturnType<typeof divergence>>;
  try {
    r = await divergence(a, b, metrics, options);
  } finally {
    bar?.progress.stop();
  }
  if (flags.savePerSample !== undefined) writePerSample(path.resolve(io.cwd, flags.savePerSample), r, flags.force);
  if (r.tokens) {
    if (flags.json) {
      const { perSample: _p, perSampleIndex: _i, ...doc } = r;
      io.stdout(toJson({ a: fileA, b: fileB, ...doc }) + '\n');
    } else {
      io.stdout(`${fileA} vs ${fileB}\n` + formatTokens({ ...r, tokens: r.tokens, inputConversions: [] }));
    }
    return;
  }
  const results: Record<string, MetricResult> = {};
  for (const m of metrics) {
    if (m === 'kappa') {
      results[m] = { value: r.kappa! };
    } else {
      const s = r.metrics[m]!;
      results[m] = s;
    }
  }

  if (flags.json) {
    io.stdout(
      toJson({ a: fileA, b: fileB, n: r.n, k: r.k, outputs: r.outputs, units: r.units, ...(r.epsilon ? { epsilon: r.epsilon } : {}), metrics: results, bootstrap: r.bootstrap, hints: r.hints.map((h) => inFlagWords(h)) }) + '\n',
    );
    return;
  }
  const auto = flags.outputs === 'auto' ? ' (auto)' : '';
  io.stdout(`${fileA} vs ${fileB}: n = ${r.n}, k = ${r.k}, outputs = ${r.outputs}${auto}${r.epsilon ? `, smoothed by epsilon = ${r.epsilon}` : ''}, log units = ${r.units}\n`);
  const rows = metrics.map((m) => {
    const v = results[m]!;
    if ('value' in v) return [m, divergenceNumber(v.value), '-', '-'];
    const ci = r.bootstrap.replicates > 0 && !Number.isNaN(v.ci95[0]) ? `[${divergenceNumber(v.ci95[0])}, ${divergenceNumber(v.ci95[1])}]` : '-';
    return [m, divergenceNumber(v.mean), ci, divergenceNumber(v.max)];
  });
  const header = ['metric', 'mean', '95% CI', 'max per sample'];
  for (const line of alignedRows([header, ...rows])) io.stdout(line + '\n');
  if (metrics.some((m) => m !== 'kappa')) {
    io.stdout(`(${intervalNote(r.bootstrap)})\n`);
  }
  for (const h of r.hints) io.stdout(`hint: ${inFlagWords(h)}\n`);
}

/** The mask (a one-array file, or the attention_mask of an .npz) and per-token labels of sequence outputs. */
function sequenceOptions(flags: DivergenceFlags, cwd: string): Partial<DivergenceSummaryOptions> {
  const out: Partial<DivergenceSummaryOptions> = { classAxis: flags.classAxis, topk: flags.topk, top: flags.top };
  if (flags.maskFile !== undefined) {
    const m = readMaskFile(path.resolve(cwd, flags.maskFile), flags.maskFile);
    out.maskFile = m.tensor;
    out.maskName = m.source;
  }
  if (flags.labels !== undefined) {
    out.labels = readArray(path.resolve(cwd, flags.labels), flags.labels);
    out.labelsName = flags.labels;
  }
  return out;
}

export function register(program: Command, io: CliIo): void {
  const registry = measuresOf('function');
  const help = registry.map((m) => `  ${m.name.padEnd(13)} ${inFlagWords(m.description)}`).join('\n');
  program
    .command('divergence')
    .description('divergences between two saved model output arrays (n × k, or an LM\'s [n, sequence, vocab] token by token; .npy, .safetensors, .pb or a one-array .npz)')
    .argument('<a>', 'first model outputs (float32/float64, n × k, n, or rank >= 3 as modeldiff outputs saves them)')
    .argument('<b>', 'second model outputs (same shape)')
    .option('--metric <names>', `comma-separated metrics: ${registry.map((m) => m.name).join(', ')}`, 'js')
    .option('--outputs <kind>', `how to read rows: auto, ${OUTPUT_KINDS.join(', ')}`, 'auto')
    .option('--bits', 'log measures in bits instead of nats')
    .option('--epsilon <e>', 'smooth both distributions, p ← (p + e) / (1 + k·e), before every distribution measure (off by default; 0 = off)', nonNegativeNumber('--epsilon'))
    .option('--cost <file>', 'k × k cost matrix (one-array file, e.g. .npy) for emd-cost')
    .option('--threads <n>', 'worker threads (default: all cores)', positiveInteger('--threads'))
    .option('--bootstrap <B>', 'bootstrap replicates for the 95% interval (0 = none)', integer('--bootstrap', { min: 0, max: MAX_REPLICATES }), 1000)
    .option('--seed <S>', 'bootstrap seed', nonNegativeInteger('--seed'), 0)
    .option('--precision <H>', `target 95% CI half-width for the samples-needed estimate (default: ${DEFAULT_RELATIVE_PRECISION * 100}% of each mean)`, positiveNumber('--precision'))
    .option('--json', 'one JSON document instead of a table')
    .option('--save-per-sample <file>', 'write the per-sample values to a .npz file (one float64 array per metric; sequence outputs: per counted token, with int32 sequence and position arrays)')
    .option('--force', 'overwrite the --save-per-sample file if it exists')
    .option('--class-axis <axis>', 'outputs of rank >= 3: the class axis, counted with axis 0 = batch (default: the last; negative counts from the end)', integer('--class-axis'))
    .option('--mask-file <file>', 'sequence outputs: 0/1 mask [n, sequence] (a one-array file, or the attention_mask of an .npz such as the probe)')
    .option('--labels <file>', 'sequence outputs: per-token target ids [n, sequence] (negative = none) for next-token quality')
    .option('--topk <k>', 'sequence outputs: k of the top-k overlap (default 5)', positiveInteger('--topk'))
    .option('--top <K>', 'sequence outputs: list the K tokens where the first metric is largest', positiveInteger('--top'))
    .option('-q, --quiet', 'no progress bar')
    .addHelpText('after', `\nMetrics:\n${help}\n`)
    .action(async (a: string, b: string, flags: DivergenceFlags) => {
      await runDivergence(a, b, flags, io);
    });
}
