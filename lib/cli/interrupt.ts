/**
 * Ctrl-C (SIGINT) or SIGTERM in the middle of a command: remove the
 * temporary files of writes in progress (cache entries being filled, reports,
 * `--out` files), say so in one line and exit 130. Without a handler Node dies
 * on the spot and leaves them behind; the ones a SIGKILL leaves are swept
 * on a later run (see sweepStaleTempFiles).
 */
import { removePendingTempFiles } from '../util/atomic-write';

/** Exit status after an interrupt (128 + SIGINT, what shells report for Ctrl-C). */
export const INTERRUPTED_EXIT = 130;

let installed = false;

/** Install the handlers once per process (the CLI's process entry does; in-process callers need not). */
export function installInterruptHandlers(stderr: (text: string) => void, exit: (code: number) => void = (c) => process.exit(c)): void {
  if (installed) return;
  installed = true;
  const onSignal = (signal: NodeJS.Signals): void => {
    const removed = removePendingTempFiles();
    const files = removed === 0 ? 'no temporary files to remove' : `removed ${removed} temporary file${removed === 1 ? '' : 's'}`;
    stderr(`modeldiff: interrupted (${signal}); ${files}\n`);
    exit(INTERRUPTED_EXIT);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}
