/**
 * Checks on the options object a library function receives from JavaScript,
 * where the types are only advice: a null, a string or an array in its
 * place, or a missing required field, must be a ModeldiffError naming the
 * function and the field, not a TypeError from deep inside.
 */
import { ModeldiffError, check } from '../errors';

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `the string ${JSON.stringify(v)}`;
  return typeof v === 'number' || typeof v === 'boolean' ? `${typeof v} ${String(v)}` : typeof v;
}

/** `options` itself, or {} when omitted; anything but a plain object is an error. */
export function optionsObject<T extends object>(options: T | undefined, fn: string): T {
  if (options === undefined) return {} as T;
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new ModeldiffError('INVALID_ARGUMENT', `${fn}: options must be an object, got ${describe(options)}`);
  }
  return options;
}

/** A required field: present (not undefined or null). */
export function requireOption(value: unknown, fn: string, name: string, what: string): void {
  check(value !== undefined && value !== null, 'INVALID_ARGUMENT', `${fn}: options.${name} is required (${what})`);
}

/** An optional boolean field. */
export function checkBooleanOption(value: unknown, fn: string, name: string): void {
  check(value === undefined || typeof value === 'boolean', 'INVALID_ARGUMENT', `${fn}: options.${name} must be true or false, got ${describe(value)}`);
}

/** An optional array field. */
export function checkArrayOption(value: unknown, fn: string, name: string): void {
  check(value === undefined || Array.isArray(value), 'INVALID_ARGUMENT', `${fn}: options.${name} must be an array, got ${describe(value)}`);
}
