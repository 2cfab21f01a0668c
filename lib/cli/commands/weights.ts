/**
 * `modeldiff weights a.onnx b.onnx`: weight-space distance, raw / canonical /
 * aligned, per tensor and in total; optionally writes B rewritten into A's
 * frame (canonical or aligned) as ONNX.
 */
import fs from 'node:fs';
import path from 'node:path';

import { type Command, Option } from 'commander';

import { ModeldiffError } from '../../errors';
import { toJson } from '../../util/json';
import { checkWritableTarget, existsError, writeFileAtomic } from '../../util/atomic-write';
import {
  SORT_KEYS,
  type SortKey,
  WEIGHT_METHODS,
  type HiddenLayerInfo,
  type WeightDistanceResult,
  type WeightDistanceSummary,
  type WeightMethod,
  weightDistance,
} from '../../weights';
import type { CliIo } from '../context';
import type { CanonicalProgress } from '../../weights/canonical-progress';
import type { MatchingStop } from '../../weights/matching';
import { distanceNumber, leftColumns, objectiveNumber } from '../format';
import { displayPath } from '../display-path';
import { commaList, nonNegativeInteger, nonNegativeNumber } from '../option-parsers';
import { collect, parseDataSpecs, resolveDataSpecs } from './compare';

interface WeightsFlags {
  json?: boolean;
  method: WeightMethod[];
  align: 'weights' | 'activations';
  data: string[];
  sortKey: SortKey;
  seed: number;
  writeCanonical?: string;
  writeAligned?: string;
  force?: boolean;
  layers?: boolean;
  normalize: boolean;
  tol: number;
  quiet?: boolean;
}

export function register(program: Command, io: CliIo): void {
  program
    .command('weights')
    .description('weight-space distance between two models: raw, canonical (scale-normalized + sorted) and aligned (scale-normalized + matched)')
    .argument('<a>', 'reference model (.onnx)')
    .argument('<b>', 'model to compare (.onnx); rewritten models are B in A\'s frame')
    .option('--json', 'print the result as JSON')
    .addOption(
      new Option('--method <list>', `comma-separated methods (${WEIGHT_METHODS.join(', ')})`)
        .argParser(commaList('--method', WEIGHT_METHODS, 'method'))
        .default([...WEIGHT_METHODS], WEIGHT_METHODS.join(',')),
    )
    .addOption(new Option('--align <how>', 'how to align: weight matching, or activation matching on --data').choices(['weights', 'activations']).default('weights'))
    .option(
      '--data <FILE|NAME=FILE>',
      'probe inputs for --align activations; with weight matching, it starts from activation matching on them; repeat NAME=FILE for several model inputs (e.g. input_ids and attention_mask)',
      collect,
      [],
    )
    .addOption(new Option('--sort-key <key>', 'canonical unit order').choices([...SORT_KEYS]).default('out-norm'))
    .option('--seed <n>', 'seed for the layer order in weight matching', nonNegativeInteger('--seed'), 0)
    .option('--tol <x>', 'stop weight matching once a sweep improves its objective by at most this fraction (0 = at a fixed point)', nonNegativeNumber('--tol'), 0)
    .option('-q, --quiet', 'no progress line')
    .option('--no-normalize', 'align by permutation only (no scale/sign normalization first)')
    .option('--write-canonical <out.onnx>', 'write B in canonical form (same function as B)')
    .option('--write-aligned <out.onnx>', 'write B aligned to A (same function as B)')
    .option('--force', 'overwrite existing output files')
    .option('--layers', 'also print the per-tensor table (text output)')
    .action(async (a: string, b: string, flags: WeightsFlags) => {
      const explicit = program.commands.find((c) => c.name() === 'weights')?.getOptionValueSource('method') === 'cli';
      const methods = flags.method;
      const given = flags.data.length > 0;
      if (flags.align === 'activations' && !given) throw new ModeldiffError('USAGE', '--align activations needs --data probe.npy');
      if (given && !methods.includes('aligned')) throw new ModeldiffError('USAGE', '--data is only used by --method aligned');
      if (flags.writeCanonical && !methods.includes('canonical')) throw new ModeldiffError('USAGE', '--write-canonical needs --method to include canonical');
      if (flags.writeAligned && !methods.includes('aligned')) throw new ModeldiffError('USAGE', '--write-aligned needs --method to include aligned');
      const resolve = (p: string) => path.resolve(io.cwd, p);
      // Refuse before the (possibly long) computation, not after it.
      for (const out of [flags.writeCanonical, flags.writeAligned]) if (out) refuseExisting(resolve(out), flags.force);
      // On a terminal, weight matching's sweeps and objective on one updating line (big models take minutes).
      const drawn = io.isTTY && !flags.quiet && !flags.json;
      const sweepLine = drawn ? (sweep: number, objective: number) => io.stderr(`\r\x1b[2Kaligned: sweep ${sweep}, objective ${objectiveNumber(objective)}`) : undefined;
      // The canonical form's stages likewise (tens of seconds on 100 MB models before this existed, silent).
      const canonicalLine = drawn ? (p: CanonicalProgress) => io.stderr(`\r\x1b[2K${canonicalProgressWords(p)}`) : undefined;
      const result = await weightDistance(resolve(a), resolve(b), {
        methods: explicit ? methods : undefined,
        align: flags.align,
        data: given ? resolveDataSpecs(parseDataSpecs(flags.data, '--data', 'weights'), resolve) : undefined,
        start: given && flags.align === 'weights' ? 'activations' : 'canonical',
        sortKey: flags.sortKey,
        seed: flags.seed,
        normalize: flags.normalize,
        tol: flags.tol,
        onSweep: sweepLine,
        onCanonicalProgress: canonicalLine,
      });
      if (drawn) io.stderr('\r\x1b[2K');
      if (flags.writeCanonical) writeFileAtomic(resolve(flags.writeCanonical), result.models.canonical!, { force: flags.force });
      if (flags.writeAligned) writeFileAtomic(resolve(flags.writeAligned), result.models.aligned!, { force: flags.force });
      const { models: _models, ...printable } = result;
      void _models;
      io.stdout(flags.json ? toJson(printable) + '\n' : formatText(result, methods, Boolean(flags.layers), io.cwd));
    });
}

function refuseExisting(file: string, force: boolean | undefined): void {
  if (!force && fs.existsSync(file) && !fs.statSync(file).isDirectory()) {
    throw existsError(file);
  }
  checkWritableTarget(file, { force }); // a folder, or a missing folder: refused before any work
}

const fmt = distanceNumber;

function formatText(r: WeightDistanceResult, methods: WeightMethod[], layers: boolean, cwd: string): string {
  const lines = [`A: ${displayPath(r.a, cwd)}`, `B: ${displayPath(r.b, cwd)}`, '', 'method      L2            relative      cosine'];
  const row = (name: string, s: { l2: number; relative: number; cosine: number }) =>
    leftColumns([name, fmt(s.l2), fmt(s.relative), fmt(s.cosine)], [11, 13, 13]);
  for (const m of methods) {
    if (r[m]) lines.push(row(m, r[m]!));
    if (m === 'aligned' && r.alignment?.inFrameOfA) lines.push(row("  A's frame", r.alignment.inFrameOfA));
  }
  for (const n of r.notes ?? []) lines.push(`note: ${n}`);
  if (r.hidden) {
    lines.push('', 'hidden layers (A):');
    for (const h of r.hidden) {
      lines.push(`  ${hiddenLayerLine(h)}`);
    }
  }
  if (r.alignment) {
    const a = r.alignment;
    const from = a.start === 'activations' ? ', started from activation matching on the probe' : ', started from the canonical order';
    lines.push('', `aligned by ${a.method} matching${a.method === 'weights' ? `: ${a.iterations} sweep(s), ${matchingStopWords(a)}, seed ${a.seed}${from}` : ''}`);
    if (a.objective) lines.push(`objective ${fmt(a.objective[0])} at the start, ${fmt(a.objective[a.objective.length - 1])} after the last sweep`);
    const frame = a.normalized ? 'between the scale/sign-normalized networks' : 'between the networks as stored';
    lines.push(`(aligned is measured ${frame}; in that frame, before matching:)`, row('unaligned', a.unaligned));
    if (a.inFrameOfA) lines.push("(A's frame: aligned in the parameterization raw is measured in, A against B as --write-aligned writes it)");
    if (!a.normalized) lines.push('(permutations only: scale/sign normalization was off)');
    if (a.kept === 'identity') lines.push('(B as it is was closer to A than any matched permutation found, so it was kept)');
  }
  if (layers) {
    for (const m of methods.filter((x) => r[x])) {
      lines.push('', `${m}, per tensor:`);
      for (const l of r[m]!.layers) lines.push(`  ${row(l.name, l)}  (${l.size} values)`);
    }
  }
  return lines.join('\n') + '\n';
}

/** One canonical progress report as the terminal line says it. */
/** One line of the hidden-layer list: the tensor, its units and symmetry, and what writes them. */
export function hiddenLayerLine(h: HiddenLayerInfo): string {
  // A fused projection (GPT-2's c_attn: Q, K and V rows of one weight) writes a group through several of its parts.
  const parts = new Map<string, number>();
  for (const p of h.producers) parts.set(p, (parts.get(p) ?? 0) + 1);
  const writers = [...parts].map(([name, n]) => (n > 1 ? `${name} (${n} parts)` : name)).join(' + ');
  const writtenBy = h.viaAttention && h.heads?.kvHeads
    ? `attention from the ${h.heads.kvHeads} V heads of ${writers} (each read by ${h.heads.count / h.heads.kvHeads} query heads)`
    : writers;
  const blocks = !h.blocks
    ? ''
    : h.blocksTiedBy === 'shared initial state'
      ? `, each unit tied to the other direction's (one initial state starts both)`
      : `, in ${h.blocks} blocks${h.blocksMove ? '' : ' that stay'} (grouped conv)`;
  const tensor = h.direction ? `${h.tensor} (${h.direction})` : h.tensor;
  return `${tensor}: ${h.units} units, ${h.symmetry}, written by ${writtenBy}${h.batchNormFolded ? ' (BatchNorm folded)' : ''}${blocks}`;
}

export function canonicalProgressWords(p: CanonicalProgress): string {
  const model = path.basename(p.model);
  switch (p.stage) {
    case 'read':
      return `canonical: ${model}: ${p.step === 0 ? 'reading' : 'read'}`;
    case 'distance':
      return `canonical: distance, layer ${p.step}/${p.steps} summed`;
    default:
      return `canonical: ${model}: ${p.stage === 'sort' ? 'sorting' : 'normalizing'}, layer group ${p.step}/${p.steps} done`;
  }
}

/** How weight matching ended, in words: a fixed point, the --tol stop, or the sweep limit (the library's maxSweeps). */
export function matchingStopWords(m: { converged: boolean; stopped?: MatchingStop }): string {
  if (m.converged) return 'converged';
  if (m.stopped === 'tolerance') return 'stopped: the objective improved by less than --tol';
  return 'not converged: stopped at the sweep limit';
}
