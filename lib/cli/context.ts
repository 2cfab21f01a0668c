/**
 * What a CLI command needs from its surroundings, injectable so tests can run
 * commands in-process and read what they print.
 */
export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  /** Whether stderr is a terminal (progress bars only draw on a TTY). */
  isTTY: boolean;
  /** Working directory relative paths resolve against. */
  cwd: string;
}

/**
 * A writer to `stream` that goes quiet once the reader has gone away (EPIPE:
 * `modeldiff ... | head`): the command still finishes, so files it writes are
 * completed, instead of dying on an unhandled 'error' event mid-way.
 */
export function pipeSafeWriter(stream: NodeJS.WritableStream): (text: string) => void {
  let closed = false;
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    closed = true;
  });
  return (text) => {
    if (!closed) stream.write(text);
  };
}

let stdoutWriter: ((text: string) => void) | undefined;

export function processIo(): CliIo {
  stdoutWriter ??= pipeSafeWriter(process.stdout);
  return {
    stdout: stdoutWriter,
    stderr: (t) => process.stderr.write(t),
    isTTY: Boolean(process.stderr.isTTY),
    cwd: process.cwd(),
  };
}
