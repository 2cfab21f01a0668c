/**
 * `modeldiff outputs model.onnx --data probe.npy --out logits.npy`: run one
 * model on a probe set and save its output array (n × k, float32 or float64
 * as the model produces it), the input `modeldiff divergence` and the
 * library's divergence functions take; in the format --out's extension names
 * (.npy, .npz, .safetensors, .pb; keyed by the output's name in the named
 * ones). Beside it, <out>.json records the model, the output and the probe set's
 * content hash, so `matrix` and `study` can take the file in place of the model
 * (lib/many/saved-outputs.ts). Refuses to overwrite without --force; both files
 * are written atomically.
 */
import path from 'node:path';

import type { Command } from 'commander';

import { inferOutputs } from '../../infer';
import { metaPathOf, probeSha256, writeOutputsMeta } from '../../many/saved-outputs';
import { createProgress } from '../../infer/progress';
import { formatForWriting, writeArray } from '../../io/array-file';
import { openProbe } from '../../io/probe';
import { readMask } from '../../function/token-grid';
import { probeInputLabel } from '../../function/token-mask';
import { checkWritableTarget } from '../../util/atomic-write';
import { toJson } from '../../util/json';
import type { CliIo } from '../context';
import { type CacheFlags, addExecutionProviderOption, inferenceOptions } from '../inference-options';
import { positiveInteger, sizeOption } from '../option-parsers';
import { collect, parseDataSpecs } from './compare';

interface OutputsFlags extends CacheFlags {
  data: string[];
  out: string;
  output?: string;
  batchSize?: number;
  force?: boolean;
  quiet?: boolean;
  json?: boolean;
}

export function register(program: Command, io: CliIo): void {
  const cmd = program
    .command('outputs')
    .description('run one model on a probe set and save its outputs (n × k), for `modeldiff divergence`, `matrix` and `study`')
    .argument('<model>', 'the model (.onnx)')
    .option('-d, --data <FILE|NAME=FILE>', 'probe data (.npy, .npz, .safetensors or .pb), axis 0 = samples; repeat NAME=FILE for several model inputs', collect, [])
    .requiredOption('-o, --out <FILE>', 'where to write the outputs: .npy, .npz, .safetensors or .pb, by extension')
    .option('--output <name>', 'model output to save (default: the first)')
    .option('--batch-size <n>', 'samples per onnxruntime run', positiveInteger('--batch-size'))
    .option('--force', 'overwrite --out if it exists')
    .option('--cache-dir <DIR>', 'output cache folder (default ~/.cache/modeldiff)')
    .option('--no-cache', 'do not read or write the output cache')
    .option('--cache-size <SIZE>', 'cap on the cache folder, least recently used entries removed first (default $MODELDIFF_CACHE_SIZE, else 10G)', sizeOption('--cache-size'))
    .option('--cache-max <SIZE>', 'outputs bigger than this are not cached (default 2G)', sizeOption('--cache-max'));
  addExecutionProviderOption(cmd)
    .option('-q, --quiet', 'no progress bar')
    .option('--json', 'print what was written as JSON')
    .action(async (model: string, flags: OutputsFlags) => {
      const data = parseDataSpecs(flags.data, '--data', 'outputs');
      const out = path.resolve(io.cwd, flags.out);
      // Before inference, not after: the format the extension asks for, and the target.
      formatForWriting(out, flags.out, 'out');
      checkWritableTarget(out, { force: flags.force });
      checkWritableTarget(metaPathOf(out), { force: flags.force });
      // Opened once: inference reads it, and its hash comes from that read (or the cache key's).
      const probeStream = openProbe(data, { cwd: io.cwd });
      // As compare: an attention_mask of other values than 0/1 is refused before any model runs.
      const maskInput = probeStream.inputs.attention_mask;
      if (maskInput) {
        const mask = maskInput.materialize();
        const positionDims = mask.shape.slice(1);
        const grid = { positionDims, positions: positionDims.reduce((p, d) => p * d, 1) };
        readMask(mask, probeStream.n, grid, probeInputLabel(probeStream, 'attention_mask'), 'attention_mask', 'data');
      }
      const progress = createProgress({ write: io.stderr, isTTY: io.isTTY, quiet: flags.quiet }, 'inference');
      let r;
      try {
        r = await inferOutputs(model, probeStream, {
          output: flags.output,
          batchSize: flags.batchSize,
          ...inferenceOptions(flags, io, progress),
        });
      } finally {
        progress.stop();
      }
      const { data: values, n, k, dims } = r.outputs;
      const dtype = values instanceof Float64Array ? 'float64' : 'float32';
      // Sequence outputs keep their shape ([n, sequence, vocab]): divergence reads them token by token.
      const shape = dims ? [n, ...dims] : [n, k];
      const probe = probeSha256(probeStream);
      writeArray(out, { dtype, shape, data: values }, { name: r.outputName, force: flags.force, label: flags.out });
      writeOutputsMeta(out, { model, output: r.outputName, probeSha256: probe, n, k, shape, dtype }, { force: flags.force });
      const summary = { model, output: r.outputName, file: flags.out, n, k, ...(dims ? { shape } : {}), dtype, probeSha256: probe, cached: r.cached, inputConversions: r.inputConversions };
      if (flags.json) io.stdout(toJson(summary) + '\n');
      else {
        for (const c of r.inputConversions) io.stdout(`note: ${c}\n`);
        io.stdout(`${model} output "${r.outputName}": ${shape.join(' × ')} ${dtype} → ${flags.out}${r.cached ? ' (from the cache)' : ''}\n`);
        io.stdout(`probe sha256 ${probe} (in ${flags.out}.json, for matrix and study)\n`);
      }
    });
}
