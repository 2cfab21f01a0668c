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

export function processIo(): CliIo {
  return {
    stdout: (t) => process.stdout.write(t),
    stderr: (t) => process.stderr.write(t),
    isTTY: Boolean(process.stderr.isTTY),
    cwd: process.cwd(),
  };
}
