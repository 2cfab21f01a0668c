/**
 * `modeldiff matrix models/*.onnx --data probe.npy`: the N×N output distance
 * matrix (and weight distance matrices when the models share an
 * architecture). Text table by default, --json for every number, --csv for
 * the output distance matrix and --csv-weights <method> for a weight distance
 * matrix as a square table.
 */
import { type Command, Option } from 'commander';

import { check, ModeldiffError } from '../../errors';
import { FUNCTION_MEASURE_NAMES } from '../../function/divergence';
import { measureInfo } from '../../measures/registry';
import { type MatrixOptions, matrix } from '../../many/matrix';
import { stageProgress } from '../../many/progress';
import { WEIGHT_METHODS, type MatrixResult, type WeightMethod } from '../../many/types';
import { toJson } from '../../util/json';
import type { CliIo } from '../context';
import { inFlagWords } from '../flags';
import { matrixNumber } from '../format';
import { addExecutionProviderOption } from '../inference-options';
import { collect, parseDataSpecs } from './compare';
import { type TokenGridFlags, addTokenGridOptions, tokenGridOptions } from '../token-options';
import { readCostMatrix } from '../cost-option';
import { commaList, invalidOption, nonNegativeInteger, nonNegativeNumber, positiveInteger, sizeOption } from '../option-parsers';
import { plural } from '../../util/plural';

export interface MatrixFlags extends TokenGridFlags {
  data: string[];
  layers?: string;
  metric: string;
  outputs: string;
  output?: string;
  epsilon?: number;
  cost?: string;
  weights: 'none' | WeightMethod[];
  seed: number;
  batchSize?: number;
  cache: boolean;
  cacheDir?: string;
  cacheSize?: number;
  cacheMax?: number;
  executionProvider?: string[];
  maxMemory?: number;
  threads?: number;
  quiet?: boolean;
  json?: boolean;
}

/** Registry measures that are per-sample output distances (what the matrices hold). */
const distanceMeasures = (): string[] => FUNCTION_MEASURE_NAMES.filter((m) => !measureInfo(m).largerIsSimilar);

/** Options `matrix` and `study` share. */
export function addMatrixOptions(cmd: Command): Command {
  cmd
    .argument('<models...>', 'ONNX models (at least 2), e.g. models/*.onnx, or outputs saved by `modeldiff outputs` (e.g. outputs/*.npy), or both')
    .option(
      '--data <FILE|NAME=FILE>',
      'probe set (.npy, .npz, .safetensors or ONNX TensorProto .pb) every model is run on; repeat NAME=FILE for several model inputs; needed for ONNX models, checked against saved outputs',
      collect,
      [],
    )
    .option('--layers <layer>', 'also CKA (linear) between every pair of models at this layer (a tensor name, node name or #k, as cka --list-layers shows)')
    .option('--metric <name>', `output distance measure (${distanceMeasures().join(', ')})`, 'js')
    .addOption(new Option('--outputs <kind>', 'how to read model outputs').choices(['auto', 'logits', 'probs', 'sigmoid', 'sigmoid-logit']).default('auto'))
    .option('--output <name>', 'model output to compare, when a model has several');
  addTokenGridOptions(cmd)
    .option('--epsilon <x>', 'smooth both distributions, p ← (p + x) / (1 + k·x), before the measure; makes KL finite where a model gives a class probability 0 (0 = none)', nonNegativeNumber('--epsilon'))
    .option('--cost <file>', 'k × k cost matrix (one-array file, e.g. .npy) for --metric emd-cost')
    .addOption(
      new Option('--weights <methods>', `weight matrices: none, or a comma list of ${WEIGHT_METHODS.join(',')}`)
        .argParser(parseWeights)
        .default([...WEIGHT_METHODS], WEIGHT_METHODS.join(',')),
    )
    .option('--seed <n>', 'seed for everything random (weight matching, bootstrap, permutations, maps)', nonNegativeInteger('--seed'), 0)
    .option('--batch-size <n>', 'samples per onnxruntime run', positiveInteger('--batch-size'))
    .option('--no-cache', 'do not read or write the inference cache')
    .option('--cache-dir <dir>', 'inference cache folder')
    .option('--cache-size <SIZE>', 'cap on the cache folder, least recently used entries removed first (default $MODELDIFF_CACHE_SIZE, else 10G)', sizeOption('--cache-size'))
    .option('--cache-max <SIZE>', 'outputs bigger than this are not cached (default 2G)', sizeOption('--cache-max'));
  return addExecutionProviderOption(cmd)
    .option('--max-memory <size>', 'memory budget for model outputs (e.g. 512M, 2G); above it, blocks of models are re-read from the cache', parseSize)
    .option('--threads <n>', 'threads for the distance kernels', positiveInteger('--threads'))
    .option('-q, --quiet', 'no progress bars');
}

/** "512M", "2G", "1.5g", "1000000" → bytes. */
export function parseSize(v: string): number {
  return sizeOption('--max-memory')(v);
}

/** --weights: `none`, or a comma list of weight methods. */
export function parseWeights(v: string): 'none' | WeightMethod[] {
  if (v === 'none') return 'none';
  return commaList('--weights', WEIGHT_METHODS, 'method', `none, or a list of ${WEIGHT_METHODS.join(', ')}`)(v);
}

/**
 * The library options from the shared flags. `cmd` tells a --weights left at its default from
 * one given: the default is the library's (all three, skipped for saved outputs), a given list
 * is a request (an error when a model is saved outputs).
 */
export function matrixOptionsFrom(flags: MatrixFlags, io: CliIo, onProgress: MatrixOptions['onProgress'], cmd?: Command): MatrixOptions {
  return {
    data: flags.data.length > 0 ? parseDataSpecs(flags.data, '--data', cmd?.name() ?? 'matrix') : undefined,
    layers: flags.layers,
    metric: flags.metric,
    outputs: flags.outputs,
    output: flags.output,
    ...tokenGridOptions(flags),
    epsilon: flags.epsilon,
    cost: flags.cost === undefined ? undefined : readCostMatrix(flags.cost, io.cwd),
    costName: flags.cost,
    weights: cmd?.getOptionValueSource('weights') === 'default' ? undefined : flags.weights,
    seed: flags.seed,
    batchSize: flags.batchSize,
    cache: flags.cache,
    cacheDir: flags.cacheDir,
    cacheMaxBytes: flags.cacheSize,
    cacheEntryMaxBytes: flags.cacheMax,
    executionProviders: flags.executionProvider,
    onWarning: (w) => io.stderr(`modeldiff: warning: ${w}\n`),
    maxMemory: flags.maxMemory,
    threads: flags.threads,
    cwd: io.cwd,
    onProgress,
  };
}

const fmt = matrixNumber;

/** matrix and study compare at least two models (commander only asks for one); ONNX models run on --data. */
export function checkModels(models: string[], flags: { data: string[] }): void {
  check(models.length >= 2, 'USAGE', `need at least 2 models, got ${models.length}`);
  check(flags.data.length > 0 || !models.some((m) => m.toLowerCase().endsWith('.onnx')), 'USAGE', 'model files need a probe set: --data FILE');
}

/** A square matrix as aligned text: models as rows, column numbers as header. */
export function matrixTable(title: string, names: string[], m: number[][]): string {
  const cells = m.map((r) => r.map(fmt));
  const w = Math.max(6, ...cells.flat().map((c) => c.length));
  const nameW = Math.max(...names.map((n) => n.length), 5);
  const lines = [title, `${''.padEnd(nameW + 5)} ${names.map((_, j) => String(j).padStart(w)).join(' ')}`];
  names.forEach((n, i) => lines.push(`${String(i).padStart(3)}  ${n.padEnd(nameW)} ${cells[i].map((c) => c.padStart(w)).join(' ')}`));
  return lines.join('\n') + '\n';
}

function csvCell(s: string): string {
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function matrixCsv(names: string[], m: number[][]): string {
  const rows = [['model', ...names].map(csvCell).join(',')];
  names.forEach((n, i) => rows.push([csvCell(n), ...m[i].map((v) => String(v))].join(',')));
  return rows.join('\n') + '\n';
}

/**
 * What the distances were averaged over: probe samples, or for sequence outputs the counted
 * tokens, their sequences, the class axis and the mask.
 */
export function probeWords(p: MatrixResult['probe']): string {
  if (p.sequences === undefined) return plural(p.samples, 'probe sample');
  const skipped = p.skippedSequences ? `, ${plural(p.skippedSequences, 'sequence')} all masked: skipped` : '';
  return `${plural(p.samples, 'token')} of ${plural(p.sequences, 'sequence')} (class axis ${p.classAxis}, ${p.mask ? `masked by ${p.mask}` : 'no mask'}${skipped})`;
}

export function matrixText(r: MatrixResult): string {
  let out = matrixTable(
    `${r.metric} between ${r.models.length} models on ${probeWords(r.probe)} (outputs read as ${r.probe.outputKind}${r.probe.epsilon ? `, smoothed by epsilon = ${r.probe.epsilon}` : ''}; row = first argument)`,
    r.models,
    r.functional,
  );
  for (const m of r.weights.methods) {
    const w = r.weights[m];
    const convention = m === 'aligned' ? '; row = A, column = B aligned to A, not symmetric' : '';
    if (w) out += '\n' + matrixTable(`${m} weight distance (L2${convention})`, r.models, w);
  }
  if (r.weights.skipped) out += `\nweights: ${inFlagWords(r.weights.skipped)}\n`;
  return out + representationTables(r);
}

/** The CKA-family matrices of --layers, one table per measure ('' without them). */
export function representationTables(r: MatrixResult): string {
  const rep = r.representations;
  if (!rep) return '';
  return Object.entries(rep.values)
    .map(([m, v]) => '\n' + matrixTable(`${m} at layer ${rep.layer} (${[...new Set(rep.tensors)].join(', ')})`, r.models, v))
    .join('');
}

/** The weight matrix `--csv-weights` asked for; one that could not be computed is an error saying why. */
function weightMatrixFor(r: MatrixResult, method: WeightMethod): number[][] {
  const m = r.weights[method];
  if (!m) throw new ModeldiffError('USAGE', `--csv-weights ${method}: no ${method} weight distance matrix: ${r.weights.skipped ? inFlagWords(r.weights.skipped) : 'it could not be computed'}`);
  return m;
}

export function register(program: Command, io: CliIo): void {
  addMatrixOptions(program.command('matrix').description('N×N output distance matrix of many models (plus weight distance matrices when they share an architecture)'))
    .option('--json', 'print every number as JSON')
    .option('--csv', 'print the output distance matrix as CSV')
    .addOption(new Option('--csv-weights <method>', 'print one weight distance matrix as CSV').choices([...WEIGHT_METHODS]))
    .action(async (models: string[], flags: MatrixFlags & { csv?: boolean; csvWeights?: WeightMethod }, cmd: Command) => {
      checkModels(models, flags);
      check([flags.json, flags.csv, flags.csvWeights].filter(Boolean).length <= 1, 'USAGE', '--json, --csv and --csv-weights are exclusive');
      // Refused before the (possibly long) computation; only "could not be computed" waits for it.
      if (flags.csvWeights && (flags.weights === 'none' || !flags.weights.includes(flags.csvWeights))) {
        const asked = flags.weights === 'none' ? 'none' : flags.weights.join(',');
        throw new ModeldiffError('USAGE', `--csv-weights ${flags.csvWeights}: no ${flags.csvWeights} weight distance matrix: it was not requested (--weights ${asked})`);
      }
      const progress = stageProgress({ write: (t) => io.stderr(t), isTTY: io.isTTY, quiet: flags.quiet });
      try {
        const r = await matrix(models, matrixOptionsFrom(flags, io, progress.update, cmd));
        progress.stop();
        if (flags.json) io.stdout(toJson(r) + '\n');
        else if (flags.csv) io.stdout(matrixCsv(r.models, r.functional));
        else if (flags.csvWeights) io.stdout(matrixCsv(r.models, weightMatrixFor(r, flags.csvWeights)));
        else io.stdout(matrixText(r));
      } finally {
        progress.stop();
      }
    });
}
