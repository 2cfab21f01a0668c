/**
 * The one way TypeScript calls the addon. Every addon call takes one options object and comes
 * in two forms (binding/binding.hpp): `name` returns a promise (worker thread) and `nameSync`
 * returns the value. Both reach the addon through `callNative` / `callNativeSync` here, which
 * turn every failure into a ModeldiffError with the kernel's `input` and `row` as fields.
 * Value checks (epsilon, threads, ISA names, shapes) happen before the call, in the wrappers
 * under lib/; the binding checks only types and buffer sizes.
 */
import { type ErrorCode, ModeldiffError } from '../errors';
import { type Addon, capabilities, native } from '../native';

/** Calls that exist as `name` (promise) and `nameSync`. */
export type NativeCall = {
  [K in keyof Addon]: K extends string ? (`${K}Sync` extends keyof Addon ? K : never) : never;
}[keyof Addon];

type CallOptions<K extends NativeCall> = Addon[K] extends (options: infer O) => unknown ? O : never;
type CallResult<K extends NativeCall> = Addon[K] extends (options: never) => Promise<infer R> ? R : never;

/** How to word a failure of one call. */
export interface ErrorContext {
  /** What the call was doing, prefixed to the message ("feature Gram"). */
  what?: string;
  /** Names of the call's inputs in the order the kernel numbers them (error `input` = index). */
  inputs?: readonly string[];
  /** The kernel's message already names its input and row: set the fields, don't repeat them. */
  located?: boolean;
}

/** The addon's error shape: `code`, plus `input` and `row` (-1 = none). */
interface NativeFailure {
  code: string;
  input?: number;
  row?: number;
  message: string;
}

const CODES = new Set<string>([
  'INVALID_ARGUMENT',
  'SHAPE_MISMATCH',
  'NON_FINITE',
  'INVALID_PROBS',
  'INTERNAL',
]);

// How each ModeldiffError from a kernel was worded, so a caller can re-word its row (withRowOffset).
const origins = new WeakMap<ModeldiffError, { failure: NativeFailure; context: ErrorContext }>();

function word(failure: NativeFailure, context: ErrorContext, rowOffset = 0, rowWord: RowWord = 'row'): ModeldiffError {
  const index = typeof failure.input === 'number' && failure.input >= 0 ? failure.input : undefined;
  const input = index === undefined ? undefined : (context.inputs?.[index] ?? `input ${index}`);
  const row = typeof failure.row === 'number' && failure.row >= 0 ? failure.row + rowOffset : undefined;
  const named = row === undefined ? undefined : typeof rowWord === 'function' ? rowWord(row) : `${rowWord} ${row}`;
  const where = context.located ? [] : [input, named].filter((s) => s !== undefined);
  const parts = [context.what, where.join(', '), failure.message].filter((s) => s !== undefined && s !== '');
  const code = (CODES.has(failure.code) ? failure.code : 'INTERNAL') as ErrorCode;
  const err = new ModeldiffError(code, parts.join(': '), { input, row, cause: failure });
  origins.set(err, { failure, context });
  return err;
}

/** Any addon failure as a ModeldiffError (an unexpected one as INTERNAL). */
export function nativeError(err: unknown, context: ErrorContext = {}): ModeldiffError {
  if (err instanceof ModeldiffError) return err;
  const e = err as Partial<NativeFailure> | undefined;
  if (err instanceof Error && typeof e?.code === 'string') return word(err as unknown as NativeFailure, context);
  /* c8 ignore next -- only a bug in the binding throws something without a code */
  return new ModeldiffError('INTERNAL', `${context.what ? `${context.what}: ` : ''}${String((err as Error)?.message ?? err)}`, { cause: err });
}

/** How a message names a row: a word before its number ('sample'), or a function of the row. */
type RowWord = string | ((row: number) => string);

/**
 * The same failure with its row counted from `offset` and named by `rowWord` (a kernel that ran on
 * a chunk of rows 1000.. reports row 3; the user's sample is 1003). Other errors pass through.
 */
export function withRowOffset(err: unknown, offset: number, rowWord: RowWord): unknown {
  const origin = err instanceof ModeldiffError ? origins.get(err) : undefined;
  if (origin === undefined || err instanceof ModeldiffError === false || err.row === undefined) return err;
  return word(origin.failure, origin.context, offset, rowWord);
}

/** Runs `name` on a worker thread. */
export async function callNative<K extends NativeCall>(name: K, options: CallOptions<K>, context: ErrorContext = {}): Promise<CallResult<K>> {
  try {
    return await (native[name] as unknown as (o: CallOptions<K>) => Promise<CallResult<K>>)(options);
  } catch (e) {
    throw nativeError(e, context);
  }
}

/** Runs `name` on the calling thread (`nameSync`). */
export function callNativeSync<K extends NativeCall>(name: K, options: CallOptions<K>, context: ErrorContext = {}): CallResult<K> {
  try {
    return (native[`${name}Sync`] as unknown as (o: CallOptions<K>) => CallResult<K>)(options);
  } catch (e) {
    throw nativeError(e, context);
  }
}

/**
 * Checks the options every kernel call shares (throws INVALID_ARGUMENT naming the option): the
 * one place their values are checked. threads: an integer >= 1, omitted = all cores (0 is how
 * the binding spells "all cores", not a value users pass).
 */
export function checkKernelOptions(options: { isa?: unknown; threads?: unknown }, fn?: string): void {
  const at = fn ? `${fn}: ` : '';
  if (options.isa !== undefined) {
    const { supported } = capabilities();
    if (!(supported as unknown[]).includes(options.isa)) {
      throw new ModeldiffError('INVALID_ARGUMENT', `${at}isa '${String(options.isa)}' is not supported on this CPU (supported: ${supported.join(', ')})`, {
        option: 'isa',
      });
    }
  }
  if (options.threads !== undefined && !(Number.isInteger(options.threads) && (options.threads as number) >= 1)) {
    throw new ModeldiffError('INVALID_ARGUMENT', `${at}threads must be an integer >= 1, got ${String(options.threads)}`, { option: 'threads' });
  }
}
