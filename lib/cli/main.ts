/**
 * The `modeldiff` command line. Each subcommand lives in lib/cli/commands/
 * and registers itself on the commander program; this file only wires
 * them up and turns errors into one line on stderr and an exit status
 * (2 for usage, 1 for input/runtime, as docs/design.md says).
 */
import { Command, CommanderError } from 'commander';

import { ModeldiffError } from '../errors';
import { commands } from './commands';
import { cliErrorLine, cliExitCode } from './flags';
import { type CliIo, processIo } from './context';
import { installInterruptHandlers } from './interrupt';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { version } = require('../../package.json') as { version: string };

/** "error: unknown command 'comapre'\n(Did you mean compare?)" → "unknown command 'comapre' (did you mean compare?)". */
function oneLine(commanderMessage: string): string {
  const [first, ...rest] = commanderMessage.trim().split('\n');
  const hint = rest.find((l) => /^\(Did you mean /.test(l.trim()));
  return `${first.replace(/^error: /, '')}${hint ? ` ${hint.trim().replace('(Did', '(did')}` : ''}`;
}

/**
 * Runs one command. Without `io` it is the process's own command line: it
 * prints to stdout/stderr and handles SIGINT/SIGTERM (temporary files removed, exit 130).
 */
export async function runCli(argv: string[], io?: CliIo): Promise<number> {
  if (io === undefined) {
    io = processIo();
    installInterruptHandlers(io.stderr);
  }
  return run(argv, io);
}

async function run(argv: string[], io: CliIo): Promise<number> {
  const program = new Command('modeldiff')
    .description('How different are two trained neural networks? Compare ONNX models by function, weights, representations and paths.')
    .version(version)
    .exitOverride()
    .showHelpAfterError(false)
    .configureOutput({
      writeOut: (s) => io.stdout(s),
      writeErr: (s) => io.stderr(s),
      // commander formats usage errors (unknown option, bad choice, missing argument) as
      // "error: ..."; print them one line long in the same "modeldiff: ..." style as a
      // ModeldiffError('USAGE') from the CLI's own checks (both exit 2, below).
      // Commander's "(Did you mean compare?)" comes on a second line: kept, on the same line.
      outputError: (s, write) => write(`modeldiff: ${oneLine(s)}\n`),
    });
  for (const register of commands) register(program, io);
  // The command that ran, to tell the flags the user typed from defaults (see cliExitCode).
  let ran: Command | undefined;
  program.hook('preAction', (_, actionCommand) => {
    ran = actionCommand;
  });
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version also arrive here, with exitCode 0.
      return err.exitCode === 0 ? 0 : 2;
    }
    if (err instanceof ModeldiffError) {
      // The library names option fields, never flags; the CLI puts the flag that sets it.
      const knownFlags = new Set(program.commands.flatMap((c) => c.options.map((o) => o.long ?? '')));
      const typed = new Set((ran?.options ?? []).filter((o) => ran?.getOptionValueSource(o.attributeName()) === 'cli').map((o) => o.long ?? ''));
      io.stderr(`modeldiff: ${cliErrorLine(err, knownFlags)}\n`);
      return cliExitCode(err, typed);
    }
    // Still one line (docs/design.md, "Errors and files"); the stack only on request, for bug reports.
    const e = err as Error;
    const detail = process.env.MODELDIFF_DEBUG ? (e?.stack ?? String(err)) : String(e?.message ?? err).split('\n')[0];
    io.stderr(`modeldiff: internal error: ${detail}${process.env.MODELDIFF_DEBUG ? '' : ' (set MODELDIFF_DEBUG=1 for the stack trace)'}\n`);
    return 1;
  }
}

/* c8 ignore start -- the process entry point; tests call runCli directly */
if (require.main === module) {
  runCli(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
/* c8 ignore stop */
