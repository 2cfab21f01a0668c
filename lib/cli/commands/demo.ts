/**
 * `modeldiff demo [--out FILE] [--force] [--json]`: the study on the bundled
 * example zoo with no arguments — a plain-language summary on stdout and the
 * HTML report in the current folder.
 */
import type { Command } from 'commander';

import { DEMO_REPORT, runDemo } from '../../demo/run';
import { demoText } from '../../demo/summary';
import { stageProgress } from '../../many/progress';
import { toJson } from '../../util/json';
import type { CliIo } from '../context';

interface DemoFlags {
  out: string;
  force?: boolean;
  json?: boolean;
  quiet?: boolean;
}

export function register(program: Command, io: CliIo): void {
  program
    .command('demo')
    .description('run the full study on the bundled example zoo (real PyTorch-trained digit classifiers) and explain the result')
    .option('--out <file.html>', 'report file to write', DEMO_REPORT)
    .option('--force', 'overwrite an existing report')
    .option('--json', 'print the summary numbers and the whole study as JSON')
    .option('-q, --quiet', 'no progress bars')
    .action(async (flags: DemoFlags) => {
      const progress = stageProgress({ write: (t) => io.stderr(t), isTTY: io.isTTY, quiet: flags.quiet });
      try {
        const result = await runDemo({
          out: flags.out,
          force: flags.force,
          cwd: io.cwd,
          onProgress: progress.update,
          command: `modeldiff demo${flags.out !== DEMO_REPORT ? ` --out ${flags.out}` : ''}${flags.force ? ' --force' : ''}`,
        });
        progress.stop();
        io.stdout(flags.json ? toJson(result) + '\n' : demoText(result, io.cwd));
      } finally {
        progress.stop();
      }
    });
}
