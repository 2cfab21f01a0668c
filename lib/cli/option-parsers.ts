/**
 * Parsers for the CLI's numeric and list option values, shared by every
 * command so that the same kind of value is accepted the same way and a bad
 * one is refused with the same wording:
 *
 *   --threads must be a positive integer, got "abc"
 *
 * i.e. `<flag> must be <what>, got <the value as typed, JSON-quoted>`, thrown
 * as a ModeldiffError with code USAGE (the CLI prints it as one line,
 * `modeldiff: ...`, and exits 2). Each factory takes the flag name and
 * returns a `(value: string) => T` function, usable directly as a commander
 * option argParser (commander's second `previous` argument is ignored) or
 * called on a string flag inside an action.
 *
 * What is accepted:
 * - integers: plain decimal digits with an optional leading "-" ("12",
 *   "-3", "007"), and only within Number.MAX_SAFE_INTEGER. Exponent and hex
 *   forms ("1e3", "0x10"), fractions ("2.0", "1.5"), a leading "+", surrounding
 *   whitespace and the empty string are refused, never silently converted.
 * - numbers: decimal with optional fraction and exponent ("0.5", ".5", "5.",
 *   "1e-3", "-2.5E+2"), finite only. "Infinity", "NaN", hex, "+1", whitespace
 *   and the empty string are refused; so is anything that overflows to
 *   Infinity ("1e999").
 * - lists: comma-separated names, spaces around commas ignored, duplicates
 *   dropped (first occurrence kept), every name one of the given choices, at
 *   least one name.
 * A "-0" is returned as 0.
 */
import { ModeldiffError } from '../errors';
import { positiveByteSize } from '../util/size';

/** The USAGE error every parser throws: `<flag> must be <expected>, got "<value>"`. */
export function invalidOption(flag: string, expected: string, value: string): ModeldiffError {
  return new ModeldiffError('USAGE', `${flag} must be ${expected}, got ${JSON.stringify(value)}`);
}

const INTEGER = /^-?\d+$/;
const NUMBER = /^-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

export interface IntegerBounds {
  /** Smallest accepted value (inclusive). */
  min?: number;
  /** Largest accepted value (inclusive). */
  max?: number;
}

function describeInteger({ min, max }: IntegerBounds): string {
  if (min !== undefined && max !== undefined) return `an integer from ${min} to ${max}`;
  if (min === 1) return 'a positive integer';
  if (min === 0) return 'a non-negative integer';
  if (min !== undefined) return `an integer >= ${min}`;
  if (max !== undefined) return `an integer <= ${max}`;
  return 'an integer';
}

/** A decimal integer, optionally within [min, max] (both inclusive). */
export function integer(flag: string, bounds: IntegerBounds = {}): (value: string) => number {
  const expected = describeInteger(bounds);
  return (value: string) => {
    const x = Number(value);
    if (!INTEGER.test(value) || !Number.isSafeInteger(x)) throw invalidOption(flag, expected, value);
    if ((bounds.min !== undefined && x < bounds.min) || (bounds.max !== undefined && x > bounds.max)) throw invalidOption(flag, expected, value);
    return x === 0 ? 0 : x;
  };
}

/** An integer >= 1. */
export function positiveInteger(flag: string): (value: string) => number {
  return integer(flag, { min: 1 });
}

/** An integer >= 0. */
export function nonNegativeInteger(flag: string): (value: string) => number {
  return integer(flag, { min: 0 });
}

function finiteNumber(flag: string, expected: string, ok: (x: number) => boolean): (value: string) => number {
  return (value: string) => {
    const x = Number(value);
    if (!NUMBER.test(value) || !Number.isFinite(x) || !ok(x)) throw invalidOption(flag, expected, value);
    return x === 0 ? 0 : x;
  };
}

/** A finite number > 0. */
export function positiveNumber(flag: string): (value: string) => number {
  return finiteNumber(flag, 'a positive number', (x) => x > 0);
}

/** A finite number >= 0. */
export function nonNegativeNumber(flag: string): (value: string) => number {
  return finiteNumber(flag, 'a non-negative number', (x) => x >= 0);
}

/**
 * A comma-separated list of names from `choices` (`noun` names one item in
 * messages, e.g. "metric"; `choicesText` lists the valid values in the
 * message when that is more than `choices`). Unknown name: `--metric: unknown metric "bogus"
 * (choices: a, b)`; no name at all: `--metric must be a comma-separated list
 * naming at least one metric, got ","`.
 */
export function commaList<T extends string>(flag: string, choices: readonly T[], noun: string, choicesText = choices.join(', ')): (value: string) => T[] {
  return (value: string) => {
    const names = value.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
    if (names.length === 0) throw invalidOption(flag, `a comma-separated list naming at least one ${noun}`, value);
    for (const name of names) {
      if (!(choices as readonly string[]).includes(name)) {
        throw new ModeldiffError('USAGE', `${flag}: unknown ${noun} ${JSON.stringify(name)} (choices: ${choicesText})`);
      }
    }
    return [...new Set(names)] as T[];
  };
}

/** A positive byte size like 512M or 2G (powers of 1024). */
export function sizeOption(flag: string): (value: string) => number {
  return (value) => {
    try {
      return positiveByteSize(value, flag);
    } catch {
      // The library's check, in the command line's words (a usage error naming the flag).
      throw invalidOption(flag, 'a positive size like 512M or 2G', value);
    }
  };
}
