/**
 * Every file modeldiff writes (reports, cache entries, rewritten models) goes
 * through here: written to a temporary name in the same folder, flushed, then
 * renamed over the target, so a reader never sees a half-written file. An
 * existing file is only replaced when the caller says `force`.
 */
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';

import { ModeldiffError } from '../errors';

export interface WriteOptions {
  /** Replace an existing file at `target` (the CLI's --force). Default false. */
  force?: boolean;
}

/**
 * Whether `target` can be written, checked up front (commands call it before
 * long work): not a folder (the temporary file would otherwise land in the
 * folder's parent and the rename fail), in a folder that exists, and not an
 * existing file unless `force`.
 */
export function checkWritableTarget(target: string, options: WriteOptions = {}): void {
  const st = statOrNull(target);
  if (st?.isDirectory()) throw new ModeldiffError('INVALID_ARGUMENT', `${target} is a folder; give a file name to write`);
  if (st && !options.force) throw new ModeldiffError('FILE_EXISTS', `${target} already exists; pass --force (force: true) to overwrite it`);
  const dir = path.dirname(path.resolve(target));
  if (!statOrNull(dir)?.isDirectory()) throw new ModeldiffError('FILE_NOT_FOUND', `cannot write ${target}: folder ${dir} does not exist`);
}

function statOrNull(file: string): fs.Stats | null {
  try {
    return fs.statSync(file);
  } catch {
    return null;
  }
}

export function writeFileAtomic(target: string, data: string | Uint8Array, options: WriteOptions = {}): void {
  checkWritableTarget(target, options);
  const dir = path.dirname(path.resolve(target));
  const tmp = path.join(dir, `.${path.basename(target)}.${process.pid}.${crypto.randomBytes(6).toString('hex')}.tmp`);
  try {
    const fd = fs.openSync(tmp, 'wx');
    try {
      fs.writeFileSync(fd, data);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, target);
  } catch (cause) {
    fs.rmSync(tmp, { force: true });
    throw new ModeldiffError('IO', `could not write ${target}: ${(cause as Error).message}`, { cause });
  }
}
