/**
 * Reading files by position, and the one mapping of a failed file system call
 * to a ModeldiffError naming the file: a missing file is FILE_NOT_FOUND,
 * anything else IO. The readers in lib/io and the output cache share both.
 */
import fs from 'node:fs';

import { ModeldiffError } from '../errors';

/** How a reader words the two failures a user can fix; anything else keeps the system's message. */
export interface FileErrorWords {
  /** For a missing file (ENOENT), e.g. "no such file". */
  missing?: string;
  /** For a folder given as a file (EISDIR), e.g. "is a folder, not a data file". */
  folder?: string;
}

/** A failed fs call as `label: why`; a ModeldiffError (already mapped) passes through. */
export function fileError(cause: unknown, label: string, words: FileErrorWords = {}): ModeldiffError {
  if (cause instanceof ModeldiffError) return cause;
  const errno = (cause as NodeJS.ErrnoException).code;
  const message = (cause as Error).message;
  if (errno === 'ENOENT') return new ModeldiffError('FILE_NOT_FOUND', `${label}: ${words.missing ?? message}`, { cause });
  return new ModeldiffError('IO', `${label}: ${(errno === 'EISDIR' && words.folder) || message}`, { cause });
}

/**
 * Fill `into` from byte `position` of an open file (short reads retried; offsets past 2 GB
 * work). Returns the bytes read: fewer than `into.length` only where the file ends.
 */
export function readAt(fd: number, into: Uint8Array, position: number): number {
  let done = 0;
  while (done < into.length) {
    const got = fs.readSync(fd, into, done, into.length - done, position + done);
    if (got === 0) break;
    done += got;
  }
  return done;
}

/**
 * `readAt` that must fill `into`: a failed read is `fileError(label)`, a file that ends early
 * (it shrank since its size was read) is an IO error saying so.
 */
export function readExactly(fd: number, into: Uint8Array, position: number, label: string, words: FileErrorWords = {}): void {
  let got: number;
  try {
    got = readAt(fd, into, position);
  } catch (cause) {
    throw fileError(cause, label, words);
  }
  if (got < into.length) throw new ModeldiffError('IO', `${label}: the file shrank while it was being read`);
}
