/**
 * `modeldiff compare a.onnx b.onnx --data probe.npy [...]`: how differently
 * two models behave on a probe set. A readable table by default, one JSON
 * document with --json: the library's `Comparison` (lib/function/compare.ts)
 * serialized by toJson, keys in this order:
 *
 *   models: [{ path, outputName, cached }, { ... }]
 *   n, k, outputs ('logits' | 'probs' | 'sigmoid' | 'sigmoid-logit'), units ('nats' | 'bits')
 *   metrics: { <metric>: { mean, stderr, ci95: [lo, hi], median, max, samplesNeeded: { halfWidth, n } } }
 *   inputConversions: string[], bootstrap: { replicates, seed, method ('percentile' | 'cornish-fisher' | 'normal' | 'none'), rule }, hints: string[], warnings: string[]
 *   kappa?                      (with --metric kappa)
 *   accuracy?: { a, b, bothRight, bothWrong, exactlyOneWrong, onlyAWrong, onlyBWrong, disagreementWhenBothWrong }
 *   top?: [{ index, value, labelA, labelB, confidenceA, confidenceB, trueLabel? }]   (with --top K)
 *   perClass?: { confusion: k×k (A's label × B's label), classes: [{ class, count, changed, rate }] }
 *
 * Non-finite numbers are the strings "Infinity" / "-Infinity" / "NaN"
 * (e.g. an infinite KL); ci95 is ["NaN", "NaN"] with --bootstrap 0.
 */
import path from 'node:path';

import { type Command, Option } from 'commander';

import { ModeldiffError } from '../../errors';
import { type CompareMetric, type Comparison, DEFAULT_METRICS, compare } from '../../function/compare';
import { gridWords } from '../../function/token-grid';
import { DELTA_P_PERCENTILES, type TokenMeasureSummary } from '../../function/token-summary';
import type { OutputKind } from '../../function/divergence';
import { createProgress } from '../../infer/progress';
import { writeNpz } from '../../io/npz';
import { type Tensor, makeTensor } from '../../io/tensor';
import { measuresOf } from '../../measures/registry';
import { DEFAULT_RELATIVE_PRECISION } from '../../stats';
import { MAX_REPLICATES } from '../../stats/bootstrap';
import { checkWritableTarget } from '../../util/atomic-write';
import { toJson } from '../../util/json';
import type { CliIo } from '../context';
import { inFlagWords } from '../flags';
import { alignedRows, percent, summaryNumber } from '../format';
import { addExecutionProviderOption, inferenceOptions } from '../inference-options';
import { type TokenGridFlags, addTokenGridOptions, tokenGridOptions } from '../token-options';
import { readCostMatrix } from '../cost-option';
import { commaList, integer, nonNegativeInteger, nonNegativeNumber, positiveInteger, positiveNumber, sizeOption } from '../option-parsers';
import { plural } from '../../util/plural';

/** --metric choices: every function-view measure in the registry (per-sample ones and the set-level kappa). */
export const COMPARE_METRICS = measuresOf('function').map((m) => m.name) as CompareMetric[];

const OUTPUT_KINDS = ['auto', 'logits', 'probs', 'sigmoid', 'sigmoid-logit'];

/** A repeatable string option's values, in order. */
export function collect(v: string, prev: string[] = []): string[] {
  return [...prev, v];
}

/** --metric: comma-separated and repeatable; the lists add up. */
function metricList(v: string, prev: CompareMetric[] = []): CompareMetric[] {
  return [...new Set([...prev, ...commaList('--metric', COMPARE_METRICS, 'metric')(v)])];
}

/** parseDataSpecs' paths resolved (for library calls that take no cwd). */
export function resolveDataSpecs(spec: string | Record<string, string>, resolve: (file: string) => string): string | Record<string, string> {
  return typeof spec === 'string' ? resolve(spec) : Object.fromEntries(Object.entries(spec).map(([name, file]) => [name, resolve(file)]));
}

/** --data values: "FILE" for a single-input model, or "NAME=FILE" per model input. */
export function parseDataSpecs(specs: string[], flag = '--data', command = 'compare'): string | Record<string, string> {
  if (specs.length === 0) throw new ModeldiffError('USAGE', `${command} needs probe data: ${flag} FILE (or ${flag} NAME=FILE per model input)`);
  const named: Record<string, string> = {};
  let unnamed: string | undefined;
  for (const s of specs) {
    const m = /^([A-Za-z_][\w.:/-]*?)=(.+)$/.exec(s);
    if (m && !m[1].includes('/')) {
      if (m[1] in named) throw new ModeldiffError('USAGE', `${flag} ${m[1]}=... is given twice`);
      named[m[1]] = m[2];
    } else {
      if (unnamed !== undefined) throw new ModeldiffError('USAGE', `several unnamed ${flag} files (${unnamed}, ${s}); name them: ${flag} INPUT=FILE`);
      unnamed = s;
    }
  }
  if (unnamed !== undefined && Object.keys(named).length > 0) {
    throw new ModeldiffError('USAGE', `mix of named and unnamed ${flag} (${unnamed}); name every input: ${flag} INPUT=FILE`);
  }
  return unnamed ?? named;
}

interface CompareFlags extends TokenGridFlags {
  data: string[];
  dataB: string[];
  labels?: string;
  output?: string;
  metric?: CompareMetric[];
  outputs: string;
  epsilon?: number;
  bits?: boolean;
  cost?: string;
  batchSize?: number;
  bootstrap: number;
  seed: number;
  precision?: number;
  top?: number;
  perClass?: boolean;
  json?: boolean;
  savePerSample?: string;
  force?: boolean;
  cache: boolean;
  cacheDir?: string;
  cacheSize?: number;
  cacheMax?: number;
  quiet?: boolean;
  targets?: 'next';
  topk?: number;
}

export function register(program: Command, io: CliIo): void {
  const cmd = program
    .command('compare')
    .description('compare two ONNX models by their outputs on a probe set')
    .argument('<a>', 'first model (.onnx)')
    .argument('<b>', 'second model (.onnx)')
    .option('-d, --data <FILE|NAME=FILE>', 'probe data (.npy, .npz, .safetensors or ONNX TensorProto .pb), axis 0 = samples; repeat NAME=FILE for several model inputs', collect, [])
    .option('--data-b <FILE|NAME=FILE>', "the same samples shaped for model b, when its inputs differ from a's (e.g. n×1×8×8 images for a CNN against n×64 for an MLP); repeatable like --data", collect, [])
    .option('--labels <FILE>', 'integer class labels (one-array file, e.g. .npy) for accuracy and error-aware measures; for sequence outputs, per-token targets [n, sequence] (negative = none) for next-token quality')
    .option('--output <NAME>', "model output to compare (default: each model's first)")
    .option('-m, --metric <NAMES>', `measures, comma-separated or repeated (default: ${DEFAULT_METRICS.join(', ')}; choices: ${COMPARE_METRICS.join(', ')})`, metricList)
    .addOption(new Option('--outputs <KIND>', 'how to read the outputs').choices(OUTPUT_KINDS).default('auto'))
    .option('--epsilon <E>', 'smooth both distributions, p ← (p + E) / (1 + k·E), before every distribution measure; makes KL finite where a model gives a class probability 0 (default: none; 0 = none)', nonNegativeNumber('--epsilon'))
    .option('--bits', 'information measures in bits (default nats)')
    .option('--cost <FILE>', 'k×k cost matrix (one-array file, e.g. .npy) for the emd-cost metric')
    .option('--batch-size <N>', 'samples per inference batch (default: automatic)', positiveInteger('--batch-size'))
    .option('--bootstrap <B>', 'bootstrap replicates for the 95% interval', integer('--bootstrap', { min: 0, max: MAX_REPLICATES }), 1000)
    .option('--seed <S>', 'bootstrap seed', nonNegativeInteger('--seed'), 0)
    .option('--precision <H>', `target 95% CI half-width for the samples-needed estimate (default: ${DEFAULT_RELATIVE_PRECISION * 100}% of each mean)`, positiveNumber('--precision'))
    .option('--top <K>', 'list the K samples where the models differ most (by the first metric) and a per-class breakdown', positiveInteger('--top'))
    .option('--per-class', 'include the per-class breakdown without --top')
    .option('--json', 'print one JSON document')
    .option('--save-per-sample <FILE>', 'write the per-sample values (one float64 array per metric, length n) to a .npz file; sequence outputs: per counted token, with int32 sequence and position arrays')
    .option('--force', 'overwrite the --save-per-sample file if it exists');
  addTokenGridOptions(cmd)
    .addOption(new Option('--targets <WHICH>', "sequence outputs: 'next' scores next-token prediction (target at t = input_ids at t+1): cross-entropy, perplexity, RMS Δp").choices(['next']))
    .option('--topk <K>', 'sequence outputs: k of the top-k overlap (default 5)', positiveInteger('--topk'));
  addExecutionProviderOption(cmd)
    .option('--cache-dir <DIR>', 'output cache folder (default ~/.cache/modeldiff)')
    .option('--no-cache', 'do not read or write the output cache')
    .option('--cache-size <SIZE>', 'cap on the cache folder, least recently used entries removed first (default $MODELDIFF_CACHE_SIZE, else 10G)', sizeOption('--cache-size'))
    .option('--cache-max <SIZE>', 'outputs bigger than this are not cached (default 2G)', sizeOption('--cache-max'))
    .option('-q, --quiet', 'no progress bar')
    .action(async (a: string, b: string, flags: CompareFlags) => {
      const data = parseDataSpecs(flags.data);
      const dataB = flags.dataB.length > 0 ? parseDataSpecs(flags.dataB, '--data-b') : undefined;
      if (flags.metric?.includes('emd-cost') && flags.cost === undefined) throw new ModeldiffError('USAGE', '--metric emd-cost needs --cost <k×k cost matrix file>');
      const cost = flags.cost !== undefined ? readCostMatrix(flags.cost, io.cwd) : undefined;
      // Refuse before both models are run, not after.
      if (flags.savePerSample !== undefined) checkWritableTarget(path.resolve(io.cwd, flags.savePerSample), { force: flags.force });
      const sink = { write: io.stderr, isTTY: io.isTTY, quiet: flags.quiet };
      const progress = createProgress(sink, 'inference');
      let bootstrapBar: ReturnType<typeof createProgress> | undefined;
      let result: Comparison;
      try {
        result = await compare(a, b, {
          data,
          dataB,
          labels: flags.labels,
          output: flags.output,
          metrics: flags.metric,
          outputs: flags.outputs as OutputKind | 'auto',
          epsilon: flags.epsilon,
          bits: flags.bits,
          cost,
          costName: flags.cost,
          batchSize: flags.batchSize,
          bootstrap: flags.bootstrap,
          seed: flags.seed,
          precision: flags.precision,
          top: flags.top,
          perClass: flags.perClass || flags.top !== undefined,
          perSample: flags.savePerSample !== undefined,
          ...tokenGridOptions(flags),
          targets: flags.targets,
          topk: flags.topk,
          ...inferenceOptions(flags, io, progress),
          onBootstrapProgress: (done, total) => {
            if (!bootstrapBar) {
              progress.stop();
              bootstrapBar = createProgress(sink, 'bootstrap', { unit: 'replicates' });
            }
            bootstrapBar.update(done, total);
          },
        });
      } finally {
        progress.stop();
        bootstrapBar?.stop();
      }
      if (flags.savePerSample !== undefined) {
        writePerSample(path.resolve(io.cwd, flags.savePerSample), result, flags.force);
        delete result.perSample; // saved to the file, not printed
        delete result.perSampleIndex;
      }
      if (flags.json) {
        io.stdout(toJson({ ...result, hints: result.hints.map((h) => inFlagWords(h)) }) + '\n');
      } else {
        io.stdout(formatComparison(result));
      }
    });
}

/**
 * --save-per-sample: one float64 array per measure; for sequence outputs (per counted token)
 * also int32 `sequence` and `position` arrays saying where each value is.
 */
export function writePerSample(file: string, r: Pick<Comparison, 'perSample' | 'perSampleIndex'>, force?: boolean): void {
  const arrays: Record<string, Tensor> = {};
  for (const [m, v] of Object.entries(r.perSample ?? {})) arrays[m] = makeTensor(v, [v.length]);
  if (r.perSampleIndex) {
    arrays.sequence = makeTensor(r.perSampleIndex.sequence, [r.perSampleIndex.sequence.length]);
    arrays.position = makeTensor(r.perSampleIndex.position, [r.perSampleIndex.position.length]);
  }
  writeNpz(file, arrays, { compress: true, force });
}

const num = summaryNumber;
const pct = percent;

function table(rows: string[][]): string {
  return alignedRows(rows, '  ').join('\n') + '\n';
}

/** One line saying how the 95% intervals were made, and by which rule. */
export function intervalNote(b: Comparison['bootstrap']): string {
  const clusters = b.clusters !== undefined ? `, resampling ${b.clusters} clusters` : '';
  if (b.method === 'percentile') return `95% CI: percentile bootstrap, ${b.replicates} replicates, seed ${b.seed}${clusters}; rule: ${b.rule}`;
  if (b.method === 'cornish-fisher') return `95% CI: the percentile bootstrap's endpoints in closed form (Cornish-Fisher, skewness-corrected${b.clusters !== undefined ? `, over ${b.clusters} clusters` : ''}); rule: ${b.rule}`;
  if (b.method === 'normal') return `95% CI: normal-theory (mean ± 1.96·stderr${b.clusters !== undefined ? ', cluster-robust' : ''}); rule: ${b.rule}`;
  return b.replicates === 0 ? 'no 95% CI: --bootstrap 0' : `no 95% CI: ${b.rule}`;
}

function interval(ci: [number, number], scale = 1, unit = ''): string {
  return Number.isNaN(ci[0]) ? '-' : `[${num(scale * ci[0])}${unit}, ${num(scale * ci[1])}${unit}]`;
}

/** What the token report prints: compare's result, or divergence's on saved sequence outputs. */
export type TokenReport = Pick<Comparison, 'n' | 'outputs' | 'epsilon' | 'units' | 'inputConversions' | 'metrics' | 'bootstrap' | 'hints'> & {
  tokens: NonNullable<Comparison['tokens']>;
};

/** The report of a sequence output: llama.cpp's KL-divergence report, token by token. */
export function formatTokens(r: TokenReport): string {
  const t = r.tokens;
  // A language model's words for a token grid; neutral ones (maps, positions, classes) for
  // other sequence outputs such as a segmentation map read with --class-axis 1.
  const w = gridWords(t);
  const lm = w.row === 'token';
  let s = `  ${r.n} ${w.samples} × ${t.positions} positions: ${t.rows} ${w.rows} counted in ${t.sequences} ${w.samples}`;
  s += t.mask !== null ? ` (${t.maskedRows} masked by ${t.mask}${t.skippedSequences ? `, ${plural(t.skippedSequences, w.sample)} all masked: skipped` : ''})\n` : ' (no mask)\n';
  s += `  ${lm ? `vocabulary ${t.vocab}` : `${t.vocab} classes`} (class axis ${t.classAxis}), outputs read as ${r.outputs}${r.epsilon ? `, smoothed by epsilon = ${r.epsilon}` : ''}, units ${r.units}\n`;
  for (const c of r.inputConversions) s += `  note: ${c}\n`;
  const names = Object.keys(r.metrics) as Array<keyof Comparison['metrics']>;
  if (names.length) {
    s += '\n';
    const rows = [['metric', 'mean', '± stderr', '95% CI', lm ? 'per-seq mean' : 'per-map mean', 'median', '90%', '95%', '99%', '99.9%', 'max']];
    for (const m of names) {
      const v = r.metrics[m]! as TokenMeasureSummary;
      rows.push([m, num(v.mean), num(v.stderr), interval(v.ci95), num(v.perSequenceMean), num(v.median), num(v.percentiles['90']), num(v.percentiles['95']), num(v.percentiles['99']), num(v.percentiles['99.9']), num(v.max)]);
    }
    s += table(rows);
  }
  const overlap = t.topkOverlap ? `; top-${t.topkOverlap.k} overlap: ${pct(t.topkOverlap.value)} ${interval(t.topkOverlap.ci95, 100, '%')}` : '';
  s += `\n  same top ${lm ? 'token' : 'class'}: ${pct(t.top1Agreement.value)} ${interval(t.top1Agreement.ci95, 100, '%')}${overlap}\n`;
  if (t.next) {
    const q = t.next;
    s += `\n  ${lm ? 'next-token' : 'target'} quality (${q.source === 'next' ? 'target: the next input id' : `targets from ${q.source}`}, ${q.targets} ${w.rows}):\n`;
    s += table([
      ['', 'A', 'B'],
      [`cross-entropy (${r.units})`, num(q.crossEntropy[0]), num(q.crossEntropy[1])],
      ['perplexity', num(q.perplexity[0]), num(q.perplexity[1])],
    ]);
    s += `  Δ perplexity (B − A): ${num(q.deltaPerplexity.value)} ${interval(q.deltaPerplexity.ci95)}\n`;
    s += `  ln(PPL(B)/PPL(A)): ${num(q.lnPerplexityRatio.value)} ± ${num(q.lnPerplexityRatio.stderr)} ${interval(q.lnPerplexityRatio.ci95)}\n`;
    s += `  RMS Δp of the target: ${num(100 * q.rmsDeltaP.value)}% ${interval(q.rmsDeltaP.ci95, 100, '%')}\n`;
    const d = q.deltaP;
    s += `  mean Δp of the target (p_B − p_A): ${num(100 * d.value)}% ± ${num(100 * d.stderr)}% ${interval(d.ci95, 100, '%')}\n`;
    const shown: Array<[string, number]> = [['max', d.max], ...[...DELTA_P_PERCENTILES].reverse().map((p): [string, number] => [p === '50' ? 'median' : `${p}%`, d.percentiles[p]]), ['min', d.min]];
    s += `  Δp percentiles: ${shown.map(([label, v]) => `${label} ${num(100 * v)}%`).join(', ')}\n`;
  }
  s += `  (means are ${w.row}-weighted; stderr is cluster-robust over ${w.samples}; ${intervalNote(r.bootstrap)})\n`;
  if (t.top) {
    const metric = names[0];
    s += `\n  top ${t.top.length} ${w.rows} by ${metric}:\n`;
    const shown = (m: { tokens: Array<{ id: number; p: number }> }) => m.tokens.map((x) => `${x.id} (${num(x.p)})`).join(' ');
    // The target column only when there are targets (--targets next or per-token --labels).
    const targets = t.top.some((x) => x.target !== undefined);
    const top = lm ? 'tokens' : 'classes';
    const rows = [[w.sample, 'position', ...(lm ? ['token'] : []), ...(targets ? ['target'] : []), metric, `A top ${top} (p)`, `B top ${top} (p)`]];
    for (const x of t.top) {
      const target = targets ? [x.target !== undefined ? String(x.target) : '-'] : [];
      const token = lm ? [x.tokenId !== undefined ? String(x.tokenId) : '-'] : [];
      rows.push([String(x.sequence), String(x.position), ...token, ...target, num(x.value), shown(x.a), shown(x.b)]);
    }
    s += table(rows);
  }
  for (const h of r.hints) s += `\nhint: ${inFlagWords(h)}\n`;
  return s;
}

/** The human-readable report. */
export function formatComparison(r: Comparison): string {
  let s = `modeldiff compare: ${r.models[0].path} vs ${r.models[1].path}\n`;
  const [oa, ob] = r.models.map((m) => m.outputName);
  s += oa === ob ? `  output "${oa}" of both models\n` : `  output "${oa}" of ${r.models[0].path}, "${ob}" of ${r.models[1].path}\n`;
  if (r.tokens) return s + formatTokens({ ...r, tokens: r.tokens });
  s += `  ${plural(r.n, 'sample')}, ${r.k} ${r.k === 1 ? 'output column' : 'classes'}, outputs read as ${r.outputs}${r.epsilon ? `, smoothed by epsilon = ${r.epsilon}` : ''}, units ${r.units}`;
  const cached = r.models.filter((m) => m.cached).map((m) => m.path);
  s += cached.length ? ` (cached outputs: ${cached.join(', ')})\n` : '\n';
  for (const c of r.inputConversions) s += `  note: ${c}\n`;
  const names = Object.keys(r.metrics) as Array<keyof Comparison['metrics']>;
  if (names.length) {
    s += '\n';
    const rows = [['metric', 'mean', 'stderr', '95% CI', 'median', 'max', 'n needed (±H)']];
    for (const m of names) {
      const v = r.metrics[m]!;
      const ci = r.bootstrap.replicates > 0 && !Number.isNaN(v.ci95[0]) ? `[${num(v.ci95[0])}, ${num(v.ci95[1])}]` : '-';
      const need = Number.isFinite(v.samplesNeeded.n) ? `${v.samplesNeeded.n} (±${num(v.samplesNeeded.halfWidth)})` : 'n/a';
      rows.push([m, num(v.mean), num(v.stderr), ci, num(v.median), num(v.max), need]);
    }
    s += table(rows);
    s += `  (${intervalNote(r.bootstrap)})\n`;
  }
  if (r.kappa !== undefined) s += `\n  Cohen's kappa (argmax labels): ${num(r.kappa)}\n`;
  if (r.accuracy) {
    const a = r.accuracy;
    s += `\n  accuracy: A ${pct(a.a)}, B ${pct(a.b)}\n`;
    s += `  both right ${pct(a.bothRight)}, both wrong ${pct(a.bothWrong)}, exactly one wrong ${pct(a.exactlyOneWrong)} (only A ${pct(a.onlyAWrong)}, only B ${pct(a.onlyBWrong)})\n`;
    s += `  among samples both get wrong, different wrong answers: ${a.disagreementWhenBothWrong === null ? 'n/a' : pct(a.disagreementWhenBothWrong)}\n`;
  }
  if (r.top) {
    const metric = names[0];
    s += `\n  top ${r.top.length} samples by ${metric}:\n`;
    const rows = [['index', metric, 'A class (p)', 'B class (p)', ...(r.accuracy ? ['true'] : [])]];
    for (const t of r.top) {
      rows.push([String(t.index), num(t.value), `${t.labelA} (${num(t.confidenceA)})`, `${t.labelB} (${num(t.confidenceB)})`, ...(t.trueLabel !== undefined ? [String(t.trueLabel)] : [])]);
    }
    s += table(rows);
  }
  if (r.perClass) {
    s += `\n  per class (A's prediction → how often B predicts another class):\n`;
    const rows = [['class', 'A count', 'changed', 'rate']];
    for (const c of r.perClass.classes) if (c.count > 0) rows.push([String(c.class), String(c.count), String(c.changed), pct(c.rate)]);
    s += table(rows);
    if (r.k <= 20) {
      s += `\n  A's label (rows) vs B's label (columns):\n`;
      const rows2 = [['A\\B', ...r.perClass.confusion.map((_, j) => String(j))], ...r.perClass.confusion.map((row, i) => [String(i), ...row.map(String)])];
      s += table(rows2);
    }
  }
  for (const h of r.hints) s += `\nhint: ${inFlagWords(h)}\n`;
  return s;
}
