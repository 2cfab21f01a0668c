/** Test helpers for asserting on ModeldiffErrors. */
import { ModeldiffError } from '../../lib/errors';

/** Await a promise that must reject with a ModeldiffError, and return that error. */
export async function errorOf(p: Promise<unknown>): Promise<ModeldiffError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof ModeldiffError) return e;
    throw e;
  }
  throw new Error('expected a ModeldiffError');
}

/** The ModeldiffError code `fn` throws, or undefined if it returns; other errors propagate. */
export function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    if (e instanceof ModeldiffError) return e.code;
    throw e;
  }
  return undefined;
}
