/**
 * `modeldiff cka a.onnx b.onnx --data probe.npy`: representation similarity
 * (CKA and kin) between hidden layers of two models on a probe set, per layer
 * pair, or the layer×layer matrix with --all-layers. --list-layers prints each
 * model's candidate layers (index, tensor, op) for picking them.
 */
import path from 'node:path';

import { type Command, Option } from 'commander';

import { ModeldiffError } from '../../errors';
import { createProgress } from '../../infer/progress';
import { measuresOf } from '../../measures/registry';
import { type LayerInfo, listLayers } from '../../represent/layers';
import { type LayerPairResult, type ModelCkaResult, cka } from '../../represent/model';
import { REPRESENTATION_MEASURES, type RepresentationMeasureName, undefinedWords } from '../../represent/similarity';
import { toJson } from '../../util/json';
import type { CliIo } from '../context';
import { fixed } from '../format';
import { inFlagWords } from '../flags';
import { displayPath } from '../display-path';
import { commaList, positiveInteger, positiveNumber } from '../option-parsers';
import { plural } from '../../util/plural';
import { collect, parseDataSpecs } from './compare';

interface CkaFlags {
  quiet?: boolean;
  data: string[];
  dataB: string[];
  layers?: string[];
  allLayers?: boolean;
  listLayers?: boolean;
  metric: RepresentationMeasureName[];
  spatial: 'flatten' | 'mean';
  sigma: number;
  space: 'auto' | 'feature' | 'sample';
  batchSize?: number;
  json?: boolean;
}

/** `a:NAME,b:NAME` (either order) or `NAME` (the same layer reference in both models). */
export function parseLayerPair(spec: string): { a: string; b: string } {
  const parts = spec.split(',').map((s) => s.trim()).filter(Boolean);
  if (parts.length === 1 && !/^[ab]:/.test(parts[0])) return { a: parts[0], b: parts[0] };
  const pair: { a?: string; b?: string } = {};
  for (const p of parts) {
    const m = /^([ab]):(.+)$/.exec(p);
    if (!m || pair[m[1] as 'a' | 'b'] !== undefined) {
      throw new ModeldiffError('USAGE', `--layers "${spec}": expected a:LAYER,b:LAYER (a tensor name, node name or index #k) or a single LAYER for both`);
    }
    pair[m[1] as 'a' | 'b'] = m[2];
  }
  if (pair.a === undefined || pair.b === undefined) throw new ModeldiffError('USAGE', `--layers "${spec}": name a layer for both a: and b:`);
  return { a: pair.a, b: pair.b };
}

export function register(program: Command, io: CliIo): void {
  program
    .command('cka')
    .description('representation similarity of hidden layers (CKA, Procrustes, CCA family) between two models on a probe set')
    .argument('<a>', 'first model (.onnx)')
    .argument('<b>', 'second model (.onnx)')
    .option('--data <FILE|NAME=FILE>', 'probe inputs (.npy, .npz, .safetensors or .pb; axis 0 = samples); repeat NAME=FILE for several model inputs (e.g. input_ids and attention_mask)', collect, [])
    .option('--data-b <FILE|NAME=FILE>', 'the same samples shaped for model b, if its input differs (e.g. n×1×8×8 for a CNN); repeatable like --data', collect, [])
    .option('--layers <pair>', 'layer pair a:NAME,b:NAME or NAME for both (tensor, node name or index #k; repeatable)', (v: string, acc: string[] = []) => [...acc, v])
    .option('--all-layers', 'compare every hidden layer of a with every hidden layer of b (layer×layer matrix)')
    .option('--list-layers', 'list the candidate layers of both models and exit')
    .addOption(
      new Option('--metric <list>', `comma-separated measures:\n${measuresOf('representations').map((m) => `  ${m.name}: ${inFlagWords(m.description)}`).join('\n')}\n`)
        .argParser(commaList('--metric', REPRESENTATION_MEASURES, 'measure'))
        .default(['cka-linear'], 'cka-linear'),
    )
    .addOption(new Option('--spatial <how>', 'conv maps: flatten C·H·W or average over space per channel; sequence models: one row per token or per sequence (mean of its unmasked tokens)').choices(['flatten', 'mean']).default('flatten'))
    .option('--sigma <s>', 'cka-rbf bandwidth as a multiple of the median pairwise distance', positiveNumber('--sigma'), 0.8)
    .addOption(new Option('--space <where>', 'linear CKA via p×p (feature) or n×n (sample) Grams').choices(['auto', 'feature', 'sample']).default('auto'))
    .option('--batch-size <n>', 'samples per onnxruntime run', positiveInteger('--batch-size'))
    .option('--json', 'print the result as JSON')
    .option('-q, --quiet', 'no progress bar')
    .action(async (a: string, b: string, flags: CkaFlags) => {
      const resolve = (p: string) => path.resolve(io.cwd, p);
      if (flags.listLayers) {
        const out = { a: listLayers(resolve(a)), b: listLayers(resolve(b)) };
        io.stdout(flags.json ? toJson(out) + '\n' : `${formatLayers(a, out.a)}\n${formatLayers(b, out.b)}`);
        return;
      }
      const data = parseDataSpecs(flags.data, '--data', 'cka');
      if (flags.layers && flags.allLayers) throw new ModeldiffError('USAGE', 'give either --layers or --all-layers, not both');
      const progress = createProgress({ write: io.stderr, isTTY: io.isTTY, quiet: flags.quiet }, 'inference');
      let result: ModelCkaResult;
      try {
        result = await cka(resolve(a), resolve(b), {
          data,
          dataB: flags.dataB.length > 0 ? parseDataSpecs(flags.dataB, '--data-b', 'cka') : undefined,
          cwd: io.cwd,
          measures: flags.metric,
          layers: flags.layers?.map(parseLayerPair),
          allLayers: flags.allLayers,
          spatial: flags.spatial,
          sigma: flags.sigma,
          space: flags.space,
          batchSize: flags.batchSize,
          onProgress: (d, total) => progress.update(d, total),
        });
      } finally {
        progress.stop();
      }
      for (const w of result.warnings) io.stderr(`modeldiff: warning: ${inFlagWords(w)}\n`);
      for (const p of result.pairs) for (const w of p.warnings) io.stderr(`modeldiff: warning: ${p.a.tensor} vs ${p.b.tensor}: ${inFlagWords(w)}\n`);
      io.stdout(flags.json ? toJson(result) + '\n' : formatResult(result, io.cwd));
    });
}

function formatLayers(model: string, layers: LayerInfo[]): string {
  const lines = [`${model}:`, '  #    tensor                          op                  kind'];
  for (const l of layers) lines.push(`  ${`#${l.index}`.padEnd(4)} ${l.tensor.padEnd(31)} ${l.op.padEnd(19)} ${l.kind}`);
  return lines.join('\n') + '\n';
}

/** A value, or n/a where the measure is undefined on the pair (null; the reason is printed beside it). */
function fmt(x: number | null | undefined): string {
  return x === undefined ? '-' : x === null ? 'n/a' : fixed(x, 6);
}

/** Why a pair's values are n/a, in words: "constant in B". */
function undefinedNote(p: LayerPairResult): string {
  const reasons = [...new Set(Object.values(p.undefinedBecause ?? {}))];
  return reasons.map((r) => undefinedWords(r, ['A', 'B'])).join('; ');
}

function formatResult(r: ModelCkaResult, cwd: string): string {
  // Sequence models compare one row per unmasked token (or per sequence with --spatial mean):
  // say how many rows each layer pair used when that is not one per probe sample.
  const rowCounts = [...new Set(r.pairs.map((p) => p.samples))];
  const rowNote = rowCounts.length === 1 && rowCounts[0] !== r.n ? `, compared on ${rowCounts[0]} rows (${r.spatial === 'mean' ? 'sequences with an unmasked token' : 'unmasked tokens'})` : rowCounts.length > 1 ? `, compared on ${Math.min(...rowCounts)} to ${Math.max(...rowCounts)} rows per layer pair (pairs[].samples in --json)` : '';
  const lines = [`A: ${displayPath(r.a, cwd)}`, `B: ${displayPath(r.b, cwd)}`, `n = ${plural(r.n, 'probe sample')}${rowNote}${r.spatial === 'mean' ? ', conv maps averaged over space' : ''}`, ''];
  if (r.matrix) {
    for (const m of r.measures) {
      const { layersA, layersB, values } = r.matrix;
      const w = Math.max(8, ...layersA.map((l) => l.tensor.length));
      lines.push(`${m} (rows: layers of A, columns: layers of B)`);
      const cw = layersB.map((l) => Math.max(9, l.tensor.length));
      lines.push(`${''.padEnd(w)}  ${layersB.map((l, j) => l.tensor.padStart(cw[j])).join('  ')}`);
      layersA.forEach((l, i) => lines.push(`${l.tensor.padEnd(w)}  ${values[m]![i].map((v, j) => fmt(v).padStart(cw[j])).join('  ')}`));
      lines.push('');
    }
    for (const p of r.pairs) if (p.undefinedBecause) lines.push(`n/a at ${p.a.tensor} × ${p.b.tensor}: ${undefinedNote(p)}`);
    if (r.pairs.some((p) => p.undefinedBecause)) lines.push('');
    return lines.join('\n');
  }
  const wa = Math.max(7, ...r.pairs.map((p) => p.a.tensor.length));
  const wb = Math.max(7, ...r.pairs.map((p) => p.b.tensor.length));
  lines.push(`${'layer A'.padEnd(wa)}  ${'layer B'.padEnd(wb)}  ${r.measures.map((m) => m.padStart(Math.max(9, m.length))).join('  ')}`);
  for (const p of r.pairs) {
    const note = p.undefinedBecause ? `  (${undefinedNote(p)})` : '';
    lines.push(`${p.a.tensor.padEnd(wa)}  ${p.b.tensor.padEnd(wb)}  ${r.measures.map((m) => fmt(p.values[m]).padStart(Math.max(9, m.length))).join('  ')}${note}`);
  }
  return lines.join('\n') + '\n';
}
