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
 * folder's parent and the rename fail), in a folder that exists and may be
 * written to, and not an existing file unless `force`.
 */
export function checkWritableTarget(target: string, options: WriteOptions = {}): void {
  const st = statOrNull(target);
  if (st?.isDirectory()) throw new ModeldiffError('INVALID_ARGUMENT', `${target} is a folder; give a file name to write`);
  if (st && !options.force) throw existsError(target);
  const dir = path.dirname(path.resolve(target));
  if (!statOrNull(dir)?.isDirectory()) throw new ModeldiffError('FILE_NOT_FOUND', `cannot write ${target}: folder ${dir} does not exist`);
  checkWritableFolder(dir, target);
}

/** "already exists" for a file the caller did not allow overwriting (the `force` option does). */
export function existsError(target: string): ModeldiffError {
  return new ModeldiffError('FILE_EXISTS', `${target} already exists; options.force overwrites it`, { option: 'force' });
}

/**
 * A folder files can be created in (checked before work, so a read-only folder
 * fails at once and the message names the user's path, not a temporary name).
 */
export function checkWritableFolder(dir: string, target: string = dir): void {
  try {
    fs.accessSync(dir, fs.constants.W_OK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'error';
    throw new ModeldiffError('IO', `cannot write ${target}: folder ${dir} is not writable (${code})`, { cause: e });
  }
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
/** Temporary files this process has open, removed on an interrupt (see removePendingTempFiles). */
const pendingTemps = new Set<string>();
/** Folders already swept for stale temporary files in this process. */
const swept = new Set<string>();
/** Temporary files older than this are left-overs of a killed run. */
export const STALE_TEMP_MS = 24 * 3600 * 1000;
/** `.<target name>.<pid>.<12 hex>.tmp`: the names AtomicFile gives its temporary files. */
export const TEMP_NAME = /^\..+\.\d+\.[0-9a-f]{12}\.tmp$/;

/**
 * Remove the temporary files of writes still in progress (the CLI calls this
 * on SIGINT/SIGTERM before exiting). Synchronous, so it can run in a signal
 * handler. Returns how many were removed.
 */
export function removePendingTempFiles(): number {
  let removed = 0;
  for (const tmp of pendingTemps) {
    try {
      fs.rmSync(tmp, { force: true });
      removed++;
    } catch {
      // best effort: the process is exiting
    }
  }
  pendingTemps.clear();
  return removed;
}

/**
 * Remove modeldiff temporary files older than `maxAgeMs` from `dir`: left
 * behind by a run that was killed outright (SIGKILL, power loss). Errors are
 * ignored (another process may remove them first). Returns the names removed.
 */
export function sweepStaleTempFiles(dir: string, maxAgeMs: number = STALE_TEMP_MS, now: number = Date.now()): string[] {
  const removed: string[] = [];
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return removed;
  }
  for (const name of names) {
    if (!TEMP_NAME.test(name)) continue;
    const file = path.join(dir, name);
    try {
      if (now - fs.statSync(file).mtimeMs > maxAgeMs) {
        fs.rmSync(file, { force: true });
        removed.push(name);
      }
    } catch {
      // gone already
    }
  }
  return removed;
}

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
    // Once per folder and process: left-overs of runs killed before they could clean up.
    if (!swept.has(dir)) {
      swept.add(dir);
      sweepStaleTempFiles(dir);
    }
    const tmp = path.join(dir, `.${path.basename(target)}.${process.pid}.${crypto.randomBytes(6).toString('hex')}.tmp`);
    const fd = fs.openSync(tmp, 'wx');
    pendingTemps.add(tmp);
    return new AtomicFile(target, tmp, fd);
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
      pendingTemps.delete(this.tmp);
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
    pendingTemps.delete(this.tmp);
  }

  private closeFd(): void {
    if (!this.fdOpen) return;
    this.fdOpen = false;
    fs.closeSync(this.fd);
  }
}
