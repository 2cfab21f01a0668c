/**
 * The .npy header: a Python dict literal such as
 *
 *   {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }
 *
 * numpy reads it with ast.literal_eval. This is a single-pass tokenizer for
 * the subset numpy writes, linear in the header's length (a regex over a
 * header as long as the file was quadratic: 37 s for 1 MB). Accepted:
 *
 *   - a dict with exactly the keys 'descr', 'fortran_order' and 'shape', each
 *     once (numpy lets a duplicate key silently win; a file like that was not
 *     written by numpy, so it is refused rather than guessed at);
 *   - descr: a quoted string without escapes; fortran_order: True or False;
 *   - shape: a tuple of decimal integers — `()`, `(5,)`, `(3, 4)`, `(3, 4,)`;
 *     no floats, no leading zeros (`011` is a syntax error in Python 3), no
 *     empty elements; an `L` suffix only in versions 1.0 and 2.0 (numpy
 *     strips it there, for files written by Python 2);
 *   - spaces, tabs and newlines between tokens, one optional trailing comma.
 *
 * Anything else is refused with a message saying what was found where.
 */
import { ModeldiffError } from '../errors';

export interface NpyHeader {
  descr: string;
  fortranOrder: boolean;
  shape: number[];
}

type Value = { kind: 'string'; text: string } | { kind: 'bool'; value: boolean } | { kind: 'tuple'; items: number[] } | { kind: 'list' };

const KEYS = ['descr', 'fortran_order', 'shape'] as const;

function isSpace(c: string): boolean {
  return c === ' ' || c === '\t' || c === '\n';
}

function isDigit(c: string): boolean {
  return c >= '0' && c <= '9';
}

/** Parse a .npy header; `allowLongSuffix` accepts Python 2's `3L` integers (format versions 1.0 and 2.0). */
export function parseNpyHeader(header: string, source: string, allowLongSuffix: boolean): NpyHeader {
  let pos = 0;
  const fail = (what: string) =>
    new ModeldiffError('BAD_NPY', `${source}: malformed header: ${what} at character ${pos} of ${JSON.stringify(header.slice(0, 80))}`);
  const skipSpace = () => {
    while (pos < header.length && isSpace(header[pos])) pos++;
  };
  const expect = (c: string, what: string) => {
    skipSpace();
    if (header[pos] !== c) throw fail(`expected ${what}, found ${describe(header[pos])}`);
    pos++;
  };

  const readString = (): string => {
    const quote = header[pos];
    const start = ++pos;
    while (pos < header.length && header[pos] !== quote) {
      const c = header[pos];
      if (c === '\\') throw fail('escape sequences in strings are not supported');
      if (c === '\n') throw fail('unterminated string');
      pos++;
    }
    if (pos >= header.length) throw fail('unterminated string');
    return header.slice(start, pos++);
  };

  const readInt = (): number => {
    const start = pos;
    while (pos < header.length && isDigit(header[pos])) pos++;
    const digits = header.slice(start, pos);
    if (digits.length === 0) throw fail(`expected an integer, found ${describe(header[pos])}`);
    if (digits.length > 1 && digits[0] === '0') throw fail(`integer ${digits} has a leading zero`);
    if (allowLongSuffix && (header[pos] === 'L' || header[pos] === 'l')) pos++;
    const c = header[pos];
    if (c !== undefined && !isSpace(c) && c !== ',' && c !== ')') throw fail(`shape entries must be integers, found ${describe(c)} after ${digits}`);
    const v = Number(digits);
    if (!Number.isSafeInteger(v)) throw fail(`shape entry ${digits} is too large`);
    return v;
  };

  const readTuple = (): number[] => {
    pos++; // '('
    const items: number[] = [];
    skipSpace();
    if (header[pos] === ')') {
      pos++;
      return items;
    }
    for (;;) {
      skipSpace();
      items.push(readInt());
      skipSpace();
      const c = header[pos];
      if (c === ')') {
        // (5) is the integer 5, not a tuple: numpy refuses it.
        if (items.length === 1) throw fail('a one-element shape needs a trailing comma, as in (5,)');
        pos++;
        return items;
      }
      if (c !== ',') throw fail(`expected ',' or ')' in the shape, found ${describe(c)}`);
      pos++;
      skipSpace();
      if (header[pos] === ')') {
        pos++;
        return items;
      }
    }
  };

  const readValue = (): Value => {
    skipSpace();
    const c = header[pos];
    if (c === "'" || c === '"') return { kind: 'string', text: readString() };
    if (c === '(') return { kind: 'tuple', items: readTuple() };
    if (c === '[') return { kind: 'list' };
    for (const word of ['True', 'False']) {
      if (header.startsWith(word, pos)) {
        pos += word.length;
        const next = header[pos];
        if (next !== undefined && /[A-Za-z0-9_]/.test(next)) break;
        return { kind: 'bool', value: word === 'True' };
      }
    }
    throw fail(`expected a string, True, False or a tuple, found ${describe(c)}`);
  };

  const seen = new Map<string, Value>();
  expect('{', "'{'");
  for (;;) {
    skipSpace();
    if (header[pos] === '}') {
      pos++;
      break;
    }
    const c = header[pos];
    if (c !== "'" && c !== '"') throw fail(`expected a quoted key or '}', found ${describe(c)}`);
    const keyAt = pos;
    const key = readString();
    if (!(KEYS as readonly string[]).includes(key)) {
      pos = keyAt;
      throw fail(`unexpected key ${JSON.stringify(key)} (a .npy header has exactly 'descr', 'fortran_order' and 'shape')`);
    }
    if (seen.has(key)) {
      pos = keyAt;
      throw fail(`key '${key}' appears twice`);
    }
    expect(':', "':'");
    const value = readValue();
    if (value.kind === 'list' && key === 'descr') throw new ModeldiffError('BAD_NPY', `${source}: structured (record) dtypes are not supported`);
    seen.set(key, value);
    skipSpace();
    if (header[pos] === ',') pos++;
    else if (header[pos] !== '}') throw fail(`expected ',' or '}', found ${describe(header[pos])}`);
  }
  skipSpace();
  if (pos < header.length) throw fail(`unexpected ${describe(header[pos])} after the header dict`);

  const missing = KEYS.filter((k) => !seen.has(k));
  if (missing.length > 0) throw new ModeldiffError('BAD_NPY', `${source}: header has no ${missing.map((k) => `'${k}'`).join(', ')}`);
  const descr = seen.get('descr') as Value;
  const fortran = seen.get('fortran_order') as Value;
  const shape = seen.get('shape') as Value;
  if (descr.kind !== 'string') throw new ModeldiffError('BAD_NPY', `${source}: header 'descr' is not a string`);
  if (fortran.kind !== 'bool') throw new ModeldiffError('BAD_NPY', `${source}: header 'fortran_order' is not True or False`);
  if (shape.kind !== 'tuple') throw new ModeldiffError('BAD_NPY', `${source}: header 'shape' is not a tuple of integers`);
  return { descr: descr.text, fortranOrder: fortran.value, shape: shape.items };
}

function describe(c: string | undefined): string {
  return c === undefined ? 'the end of the header' : JSON.stringify(c);
}
