/**
 * Library option fields to command-line flags. The library's messages name option fields
 * (`options.batchSize`, and ModeldiffError.option); only the CLI speaks of flags, and this is
 * where it turns the one into the other.
 */
import type { ModeldiffError } from '../errors';

/** Fields whose flag is not the field name in kebab case. */
const FLAG_EXCEPTIONS: Readonly<Record<string, string>> = {
  metrics: '--metric',
  methods: '--method',
  executionProviders: '--execution-provider',
  cacheMaxBytes: '--cache-size',
  cacheEntryMaxBytes: '--cache-max',
  // The library's cache option defaults to on; the command line can only turn it off.
  cache: '--no-cache',
  replicates: '--bootstrap',
  dataB: '--data-b',
  // writeReport's and study's report files.
  html: '--report',
  svgDir: '--svg',
};

/** The flag that sets library option `field` (batchSize → --batch-size). */
export function flagForOption(field: string): string {
  return FLAG_EXCEPTIONS[field] ?? `--${field.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/**
 * Hints the command line adds after a library error about an option, keyed by
 * `<code>:<option field>`: how to get what the user wants with flags, which the library
 * cannot say in its own words.
 */
const CLI_HINTS: Readonly<Record<string, string>> = {
  'MODEL_INPUT:data': 'one --data NAME=FILE per input',
};

/**
 * `options.field` in a library message, optionally followed by a literal value the library
 * suggests: a quoted string ('logits'), a list of them (['raw']) or a number (1e-9).
 */
const OPTION_MENTION = /\boptions\.([A-Za-z]\w*)(?: (\[(?:'[^']*'(?:, )?)+\]|'[^']*'|-?\d[\w.+-]*))?/g;

/** A suggested value as typed after its flag: 'logits' → logits, ['raw', 'aligned'] → raw,aligned. */
function flagValue(literal: string): string {
  return literal.startsWith('[') ? [...literal.matchAll(/'([^']*)'/g)].map((m) => m[1]).join(',') : literal.replace(/^'(.*)'$/, '$1');
}

/**
 * `message` in command-line words: each `options.field [value]` becomes `--flag [value]`.
 * With `knownFlags`, a field the command line has no flag for is left as its bare name.
 */
export function inFlagWords(message: string, knownFlags?: ReadonlySet<string>): string {
  return message.replace(OPTION_MENTION, (all: string, field: string, value?: string) => {
    const flag = flagForOption(field);
    if (knownFlags !== undefined && !knownFlags.has(flag)) return all.slice('options.'.length);
    return `${flag}${value !== undefined ? ` ${flagValue(value)}` : ''}`;
  });
}

/**
 * The one line the CLI prints for a library error: its first line in flag words, then the
 * flag (when the message did not name it) and the command line's own hint.
 * `knownFlags`: every long flag the CLI has; options without one keep their library words.
 */
export function cliErrorLine(err: ModeldiffError, knownFlags: ReadonlySet<string>): string {
  let line = inFlagWords(err.message.split('\n')[0], knownFlags);
  if (err.option !== undefined) {
    const flag = flagForOption(err.option);
    if (knownFlags.has(flag) && !line.includes(flag)) line += ` (flag ${flag})`;
    const hint = CLI_HINTS[`${err.code}:${err.option}`];
    if (hint !== undefined) line += `; ${hint}`;
  }
  return line;
}

/**
 * The CLI's exit status for a library error: 2 (usage, as for commander's own errors) when
 * the value of a flag the user typed (`typedFlags`) is out of its domain, else the error's
 * own status (1: an option the user did not give, such as 'auto' outputs that cannot be read
 * one way, is about the input, not the command line; so is the content of a file a flag names,
 * such as bad values in --mask-file: the error names that input).
 */
export function cliExitCode(err: ModeldiffError, typedFlags: ReadonlySet<string>): number {
  const flagValue = err.code === 'INVALID_ARGUMENT' && err.option !== undefined && err.input === undefined;
  return flagValue && typedFlags.has(flagForOption(err.option!)) ? 2 : err.exitCode;
}
