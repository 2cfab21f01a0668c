/**
 * Progress of a matrix/study run on stderr: one cli-progress bar per stage
 * (inference over models, distances over pairs, weights over pairs, then
 * the study's analysis steps), drawn
 * only on a terminal and never with --quiet, so pipes and tests stay clean.
 */
import cliProgress from 'cli-progress';

import type { ProgressStage } from './matrix';

export interface ProgressSink {
  write(text: string): void;
  isTTY: boolean;
  quiet?: boolean;
}

const UNITS: Record<ProgressStage, string> = { inference: 'models', distances: 'pairs', weights: 'pairs', analysis: 'steps' };

export function stageProgress(sink: ProgressSink): { update: (stage: ProgressStage, done: number, total: number) => void; stop: () => void } {
  if (!sink.isTTY || sink.quiet) return { update() {}, stop() {} };
  // cli-progress draws through a stream; this one forwards to the sink.
  const stream = {
    isTTY: true,
    columns: 80,
    write: (s: string) => {
      sink.write(s);
      return true;
    },
    on: () => stream,
    removeListener: () => stream,
    cursorTo: (x: number) => {
      sink.write(`\x1b[${x + 1}G`);
      return true;
    },
    clearLine: () => {
      sink.write('\x1b[2K');
      return true;
    },
    moveCursor: () => true,
  };
  let bar: cliProgress.SingleBar | undefined;
  let current: ProgressStage | undefined;
  const stop = () => {
    bar?.stop();
    bar = undefined;
    current = undefined;
  };
  return {
    update(stage, done, total) {
      if (stage !== current) {
        stop();
        current = stage;
        bar = new cliProgress.SingleBar(
          {
            stream: stream as unknown as NodeJS.WritableStream,
            format: `${stage.padEnd(10)} [{bar}] {percentage}% | {value}/{total} ${UNITS[stage]} | ETA {eta_formatted}`,
            hideCursor: false,
            clearOnComplete: true,
            fps: 10,
          },
          cliProgress.Presets.shades_classic,
        );
        bar.start(total, done);
        return;
      }
      bar?.update(done);
    },
    stop,
  };
}
