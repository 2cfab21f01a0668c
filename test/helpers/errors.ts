/** Test helper: await a promise that must reject with a ModeldiffError, and return that error. */
import { ModeldiffError } from '../../lib/errors';

export async function errorOf(p: Promise<unknown>): Promise<ModeldiffError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof ModeldiffError) return e;
    throw e;
  }
  throw new Error('expected a ModeldiffError');
}
