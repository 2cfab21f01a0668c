/**
 * Progress of a matrix/study run on stderr: one cli-progress bar per stage
 * (inference over models, distances over pairs, weights over pairs, then
 * the study's analysis steps), drawn
 * only on a terminal and never with --quiet, so pipes and tests stay clean.
 */
import type cliProgress from 'cli-progress';

import { type ProgressSink, startBar } from '../infer/progress';
import type { ProgressStage } from './matrix';

export type { ProgressSink };

const UNITS: Record<ProgressStage, string> = { inference: 'models', distances: 'pairs', weights: 'pairs', analysis: 'steps' };

export function stageProgress(sink: ProgressSink): { update: (stage: ProgressStage, done: number, total: number) => void; stop: () => void } {
  if (!sink.isTTY || sink.quiet) return { update() {}, stop() {} };
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
        bar = startBar(sink, `${stage.padEnd(10)} [{bar}] {percentage}% | {value}/{total} ${UNITS[stage]} | ETA {eta_formatted}`, total, done);
        return;
      }
      bar?.update(done);
    },
    stop,
  };
}
