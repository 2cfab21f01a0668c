/**
 * A progress bar on stderr (cli-progress) for long inference runs: drawn
 * only on a TTY, only once a run has taken longer than `delayMs` (about a
 * second, so quick runs print nothing), and never with --quiet.
 */
import cliProgress from 'cli-progress';

export interface ProgressSink {
  /** Write to the terminal (stderr). */
  write(text: string): void;
  isTTY: boolean;
  quiet?: boolean;
}

export interface Progress {
  update(done: number, total: number): void;
  stop(): void;
}

/**
 * Start a cli-progress bar drawn through `sink` (shared with lib/many's stage bars).
 * `format` is cli-progress's, e.g. '{bar} {percentage}%'.
 */
export function startBar(sink: ProgressSink, format: string, total: number, done: number): cliProgress.SingleBar {
  // cli-progress draws through a stream; give it one that forwards to the sink.
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
  const bar = new cliProgress.SingleBar(
    {
      stream: stream as unknown as NodeJS.WritableStream,
      format,
      hideCursor: false,
      clearOnComplete: true,
      fps: 10,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, done);
  return bar;
}

/** `unit` names what the bar counts (default 'samples'; the bootstrap's bar counts 'replicates'). */
export function createProgress(sink: ProgressSink, label: string, options: { delayMs?: number; now?: () => number; unit?: string } = {}): Progress {
  if (!sink.isTTY || sink.quiet) return { update() {}, stop() {} };
  const now = options.now ?? (() => Date.now());
  const started = now();
  const delay = options.delayMs ?? 1000;
  let bar: cliProgress.SingleBar | undefined;
  return {
    update(done, total) {
      if (!bar) {
        if (now() - started < delay || done >= total) return;
        bar = startBar(sink, `${label} [{bar}] {percentage}% | {value}/{total} ${options.unit ?? 'samples'} | ETA {eta_formatted}`, total, done);
        return;
      }
      bar.update(done);
    },
    stop() {
      bar?.stop();
      bar = undefined;
    },
  };
}
