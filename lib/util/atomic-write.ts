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

export function writeFileAtomic(target: string, data: string | Uint8Array, options: WriteOptions = {}): void {
  if (!options.force && fs.existsSync(target)) {
    throw new ModeldiffError('FILE_EXISTS', `${target} already exists; pass --force (force: true) to overwrite it`);
  }
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
