/**
 * `modeldiff barrier a.onnx b.onnx --data probe.npy --labels y.npy`: loss and
 * error along the linear interpolation path between two models' weights, and
 * the barrier (the largest rise above the straight line between the
 * endpoints), naive and optionally after aligning B to A by weight matching.
 */
import path from 'node:path';

import { type Command, Option } from 'commander';

import { ModeldiffError } from '../../errors';
import { OUTPUT_KINDS, type OutputKind } from '../../function/divergence';
import { type BarrierResult, lossBarrier } from '../../path/barrier';
import { toJson } from '../../util/json';
import type { CliIo } from '../context';
import { fixed, leftColumns } from '../format';
import { displayPath } from '../display-path';
import { integer, nonNegativeInteger, positiveInteger } from '../option-parsers';
import { plural } from '../../util/plural';
import { collect, parseDataSpecs, resolveDataSpecs } from './compare';
import { matchingStopWords } from './weights';

interface BarrierFlags {
  data: string[];
  labels?: string;
  targets?: 'next';
  steps: number;
  align: 'none' | 'weights' | 'activations';
  bits?: boolean;
  outputs: OutputKind | 'auto';
  output?: string;
  seed: number;
  batchSize?: number;
  json?: boolean;
}

/** The grid sizes lossBarrier accepts (alphaGrid in lib/path/barrier.ts). */
const MIN_STEPS = 2;
const MAX_STEPS = 1001;

export function register(program: Command, io: CliIo): void {
  program
    .command('barrier')
    .description('mode connectivity: loss / error along the linear path between two models\' weights, and the barrier on it')
    .argument('<a>', 'first model (.onnx); the path starts here (α = 0)')
    .argument('<b>', 'second model (.onnx, same architecture); α = 1')
    .option('--data <FILE|NAME=FILE>', 'probe inputs (.npy, .npz, .safetensors or .pb; axis 0 = samples); repeat NAME=FILE for several model inputs (e.g. input_ids and attention_mask)', collect, [])
    .option('--labels <y.npy>', 'true class ids, one per probe sample; for sequence outputs (language models), per-token targets [n, sequence] (negative = none)')
    .addOption(new Option('--targets <WHICH>', "sequence outputs: 'next' uses the next-token cross-entropy (target at t = input_ids at t+1, both unmasked), as compare --targets next").choices(['next']))
    .option('--steps <n>', `grid points on [0, 1], endpoints included (${MIN_STEPS} to ${MAX_STEPS})`, integer('--steps', { min: MIN_STEPS, max: MAX_STEPS }), 11)
    .addOption(
      new Option('--align <how>', 'also walk the path to B aligned to A, by weight matching or by activation matching on --data').choices(['none', 'weights', 'activations']).default('none'),
    )
    .option('--bits', 'report the loss in bits instead of nats')
    .addOption(new Option('--outputs <kind>', 'how to read model outputs').choices(['auto', ...OUTPUT_KINDS]).default('auto'))
    .option('--output <name>', 'model output to read (default: the first)')
    .option('--seed <n>', 'seed for weight matching', nonNegativeInteger('--seed'), 0)
    .option('--batch-size <n>', 'samples per onnxruntime run', positiveInteger('--batch-size'))
    .option('--json', 'print the result as JSON')
    .action(async (a: string, b: string, flags: BarrierFlags) => {
      const resolve = (p: string) => path.resolve(io.cwd, p);
      if (flags.labels === undefined && flags.targets === undefined) {
        throw new ModeldiffError('USAGE', 'give --labels (true class ids, or per-token targets for a language model) or --targets next');
      }
      const result = await lossBarrier(resolve(a), resolve(b), {
        data: resolveDataSpecs(parseDataSpecs(flags.data, '--data', 'barrier'), resolve),
        labels: flags.labels === undefined ? undefined : resolve(flags.labels),
        targets: flags.targets,
        steps: flags.steps,
        align: flags.align,
        outputs: flags.outputs,
        output: flags.output,
        seed: flags.seed,
        batchSize: flags.batchSize,
        bits: flags.bits,
      });
      io.stdout(flags.json ? toJson(result) + '\n' : formatText(result, io.cwd));
    });
}

const f = (x: number) => fixed(x, 6);

function formatText(r: BarrierResult, cwd: string): string {
  const scored =
    r.tokens === undefined
      ? plural(r.n, 'labelled probe sample')
      : `${plural(r.n, 'sequence')}, ${plural(r.tokens, r.targets === 'next' ? 'next-token target' : 'token target')}${r.targets === 'next' ? '' : ` from ${displayPath(r.targets, cwd)}`}`;
  const lines = [`A: ${displayPath(r.a, cwd)}  (α = 0)`, `B: ${displayPath(r.b, cwd)}  (α = 1)`, `n = ${scored}, outputs read as ${r.outputs} (output "${r.output}"), loss = ${r.tokens === undefined ? '' : 'mean per-token '}cross-entropy in ${r.lossUnit}`, ''];
  const al = r.aligned;
  lines.push(`α        loss         error     ${al ? 'aligned loss  aligned error' : ''}`.trimEnd());
  r.naive.alphas.forEach((a, i) => {
    const cells = [fixed(a, 4), f(r.naive.loss[i]), f(r.naive.error[i])];
    lines.push(al ? leftColumns([...cells, f(al.loss[i]), f(al.error[i])], [8, 12, 9, 13]) : leftColumns(cells, [8, 12, 9]));
  });
  lines.push('', `naive barrier:   loss ${f(r.naive.lossBarrier)} at α=${fixed(r.naive.lossBarrierAlpha, 4)}, error ${f(r.naive.errorBarrier)} at α=${fixed(r.naive.errorBarrierAlpha, 4)}`);
  if (al) {
    lines.push(`aligned barrier: loss ${f(al.lossBarrier)} at α=${fixed(al.lossBarrierAlpha, 4)}, error ${f(al.errorBarrier)} at α=${fixed(al.errorBarrierAlpha, 4)}`);
    const m = al.alignment;
    const how = m.method === 'weights' ? `weight matching: ${m.iterations} sweep(s), ${matchingStopWords(m)}, seed ${m.seed}` : 'activation matching';
    lines.push(`(${how}${m.kept === 'identity' ? ', B kept as is' : ''})`);
  }
  return lines.join('\n') + '\n';
}
