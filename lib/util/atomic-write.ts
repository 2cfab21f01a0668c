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
  let file: AtomicFile | undefined;
  try {
    file = AtomicFile.open(target);
    file.write(typeof data === 'string' ? Buffer.from(data) : data);
    file.commit();
  } catch (cause) {
    file?.abort();
    throw new ModeldiffError('IO', `could not write ${target}: ${(cause as Error).message}`, { cause });
  }
}

/**
 * The same temp + fsync + rename, for files written piece by piece (the
 * output cache streams entries batch by batch): bytes are appended to a
 * temporary file beside `target`, created exclusively; `commit` flushes and
 * renames it over `target`, `abort` removes it. Nothing appears under
 * `target` before `commit`. Callers check the target first
 * (`checkWritableTarget`); errors are thrown as the file system reports them.
 */
export class AtomicFile {
  private done = false;
  private fdOpen = true;

  private constructor(
    readonly target: string,
    private readonly tmp: string,
    private readonly fd: number,
  ) {}

  static open(target: string): AtomicFile {
    const dir = path.dirname(path.resolve(target));
    const tmp = path.join(dir, `.${path.basename(target)}.${process.pid}.${crypto.randomBytes(6).toString('hex')}.tmp`);
    return new AtomicFile(target, tmp, fs.openSync(tmp, 'wx'));
  }

  write(bytes: Uint8Array): void {
    let done = 0;
    while (done < bytes.length) done += fs.writeSync(this.fd, bytes, done, bytes.length - done);
  }

  /** Flush and rename into place; on failure the temporary file is removed and the error rethrown. */
  commit(): void {
    try {
      fs.fsyncSync(this.fd);
      this.closeFd();
      fs.renameSync(this.tmp, this.target);
      this.done = true;
    } finally {
      if (!this.done) this.abort();
    }
  }

  /** Drop the temporary file (idempotent; a no-op after a successful commit). */
  abort(): void {
    if (this.done) return;
    this.done = true;
    this.closeFd();
    fs.rmSync(this.tmp, { force: true });
  }

  private closeFd(): void {
    if (!this.fdOpen) return;
    this.fdOpen = false;
    fs.closeSync(this.fd);
  }
}
