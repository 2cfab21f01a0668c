/**
 * `modeldiff study models/*.onnx --data probe.npy --report report.html`:
 * how many distinct solutions, how many more to expect, does weight distance
 * track output distance, and a map — as text, JSON, an HTML report and SVGs.
 */
import path from 'node:path';

import type { Command } from 'commander';

import { stageProgress } from '../../many/progress';
import { type StudyOptions, study } from '../../many/study';
import type { StudyResult } from '../../many/types';
import { inFlagWords } from '../flags';
import { formatNumber } from '../format';
import { checkReportTargets, writeReport } from '../../report';
import { noCorrelationReason } from '../../report/html';
import { toJson } from '../../util/json';
import type { CliIo } from '../context';
import { integer, nonNegativeNumber } from '../option-parsers';
import { type MatrixFlags, addMatrixOptions, checkModels, matrixOptionsFrom, probeWords, representationTables } from './matrix';

interface StudyFlags extends MatrixFlags {
  labels?: string;
  threshold?: number;
  permutations: number;
  report?: string;
  svg?: string;
  force?: boolean;
}

export function studyText(s: StudyResult): string {
  const sol = s.solutions;
  const lines = [
    `${s.models.length} models, ${probeWords(s.probe)}, output distance ${s.metric} (outputs read as ${s.probe.outputKind}${s.probe.epsilon ? `, smoothed by epsilon = ${s.probe.epsilon}` : ''})`,
    ...(s.probe.sequences !== undefined ? ['standard errors and the noise bootstrap resample whole sequences (cluster bootstrap)'] : []),
    `same-solution threshold: ${formatNumber(s.threshold.value)} (${s.threshold.source})`,
    `distinct solutions${sol.counted.length === s.models.length ? '' : ` among the ${sol.counted.length} independent runs`}: ${sol.observed} (singletons ${sol.singletons}, doubletons ${sol.doubletons})`,
    `Chao1 estimate: ${formatNumber(sol.estimate)} solutions (95% CI ${formatNumber(sol.lower)}–${formatNumber(sol.upper)}); expected after ${sol.models} more runs: ${formatNumber(sol.expectedAfterDoubling)}`,
  ];
  s.clustering.clusters.forEach((c, k) => {
    const acc = s.accuracy ? `, mean accuracy ${formatNumber(c.reduce((t, m) => t + (s.accuracy as number[])[m], 0) / c.length)}` : '';
    lines.push(`  S${k + 1}: ${c.length} model${c.length === 1 ? '' : 's'}${acc}: ${c.map((m) => s.models[m]).join(', ')}`);
  });
  for (const c of s.correlations) {
    const p = c.pearson ? `Pearson r ${formatNumber(c.pearson.r)} (p ${formatNumber(c.pearson.p)})` : 'Pearson n/a (non-finite distances)';
    lines.push(`${c.method} weight vs output distance: Spearman ρ ${formatNumber(c.spearman.r)} (Mantel p ${formatNumber(c.spearman.p)}), ${p}`);
  }
  if (s.correlations.length === 0 && s.weights.methods.some((m) => s.weights[m])) lines.push(noCorrelationReason(s));
  if (s.weights.skipped) lines.push(`weights: ${inFlagWords(s.weights.skipped)}`);
  return lines.join('\n') + '\n';
}

export function register(program: Command, io: CliIo): void {
  addMatrixOptions(
    program
      .command('study')
      .description('many-model study: distinct solutions (clusters + Chao1), weight-vs-output correlation (Mantel), maps, HTML report'),
  )
    .option('--labels <y.npy>', 'class labels of the probe samples (accuracy sizes the map points)')
    .option('--threshold <x>', 'same-solution distance threshold (default: from the probe set\'s bootstrap noise)', nonNegativeNumber('--threshold'))
    .option('--permutations <n>', 'Mantel test permutations (the smallest p-value is 1 / (n + 1))', integer('--permutations', { min: 1, max: 1_000_000 }), 999)
    .option('--report <file.html>', 'write the self-contained HTML report')
    .option('--svg <dir>', 'write each plot as an SVG file into this folder')
    .option('--force', 'overwrite existing report/SVG files')
    .option('--json', 'print every number as JSON')
    .action(async (models: string[], flags: StudyFlags, cmd: Command) => {
      checkModels(models, flags);
      // Fail before hours of work, not after: existing report/SVG files need --force, folders must make sense.
      checkReportTargets({
        html: flags.report && path.resolve(io.cwd, flags.report),
        svgDir: flags.svg && path.resolve(io.cwd, flags.svg),
        force: flags.force,
      });
      const progress = stageProgress({ write: (t) => io.stderr(t), isTTY: io.isTTY, quiet: flags.quiet });
      try {
        const options: StudyOptions = {
          ...matrixOptionsFrom(flags, io, progress.update, cmd),
          labels: flags.labels,
          threshold: flags.threshold,
          permutations: flags.permutations,
        };
        const s = await study(models, options);
        progress.stop();
        if (flags.report || flags.svg) {
          const args = (cmd.parent?.args ?? []).map((a) => (/[\s"'$*?]/.test(a) ? `'${a.replace(/'/g, "'\\''")}'` : a));
          const ort = require('onnxruntime-node/package.json') as { version: string };
          await writeReport(s, {
            html: flags.report && path.resolve(io.cwd, flags.report),
            svgDir: flags.svg && path.resolve(io.cwd, flags.svg),
            force: flags.force,
            command: `modeldiff ${args.join(' ')}`,
            versions: { onnxruntime: ort.version },
          });
        }
        io.stdout(flags.json ? toJson(s) + '\n' : studyText(s) + representationTables(s));
      } finally {
        progress.stop();
      }
    });
}
