/**
 * How big the output cache may grow. Two limits:
 * - the whole folder (`cacheMaxBytes`, default 10 GiB, or $MODELDIFF_CACHE_SIZE):
 *   after each new entry, the least recently used entries are removed until
 *   the folder fits (a hit marks an entry used by touching its mtime);
 * - one entry (`cacheEntryMaxBytes`, default 2 GiB): outputs bigger than that
 *   are not cached at all (a 2M-row probe of a 1000-class model is 8 GB per
 *   model), and the run says so in one line.
 * `modeldiff cache info|prune|clear` reads and trims the folder by hand.
 */
import fs from 'node:fs';
import path from 'node:path';

import { ModeldiffError } from '../errors';
import { STALE_TEMP_MS, TEMP_NAME, sweepStaleTempFiles } from '../util/atomic-write';
import { positiveByteSize } from '../util/size';

export const DEFAULT_CACHE_MAX_BYTES = 10 * 2 ** 30;
export const DEFAULT_CACHE_ENTRY_MAX_BYTES = 2 * 2 ** 30;
export const CACHE_SIZE_ENV = 'MODELDIFF_CACHE_SIZE';

/** Entry files: the SHA-256 key in hex, ".bin". Nothing else in the folder is ever removed as an entry. */
const ENTRY_NAME = /^[0-9a-f]{64}\.bin$/;

/** The folder cap: the option, else $MODELDIFF_CACHE_SIZE ("10G", "500M"), else 10 GiB. */
export function cacheMaxBytes(option?: number): number {
  if (option !== undefined) return checkBytes(option, 'cacheMaxBytes');
  const env = process.env[CACHE_SIZE_ENV];
  if (env === undefined || env === '') return DEFAULT_CACHE_MAX_BYTES;
  return positiveByteSize(env, CACHE_SIZE_ENV, 'cacheMaxBytes');
}

/** The one-entry budget: the option, else 2 GiB. */
export function cacheEntryMaxBytes(option?: number): number {
  return option === undefined ? DEFAULT_CACHE_ENTRY_MAX_BYTES : checkBytes(option, 'cacheEntryMaxBytes');
}

function checkBytes(v: number, option: string): number {
  if (!Number.isSafeInteger(v) || v <= 0) throw new ModeldiffError('INVALID_ARGUMENT', `options.${option} must be a positive whole number of bytes, got ${v}`, { option });
  return v;
}

interface EntryFile {
  name: string;
  bytes: number;
  /** Last use (a hit touches the file). */
  usedMs: number;
}

function listFolder(dir: string): { entries: EntryFile[]; temps: EntryFile[] } {
  const entries: EntryFile[] = [];
  const temps: EntryFile[] = [];
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return { entries, temps }; // no folder yet: an empty cache
  }
  for (const name of names) {
    const list = ENTRY_NAME.test(name) ? entries : TEMP_NAME.test(name) ? temps : null;
    if (!list) continue;
    try {
      const st = fs.statSync(path.join(dir, name));
      list.push({ name, bytes: st.size, usedMs: st.mtimeMs });
    } catch {
      // removed meanwhile by another process
    }
  }
  return { entries, temps };
}

export interface CacheInfo {
  dir: string;
  entries: number;
  bytes: number;
  maxBytes: number;
  entryMaxBytes: number;
  /** Temporary files (entries being written, or left by a killed run). */
  tempFiles: number;
  tempBytes: number;
}

export function cacheInfo(dir: string, options: { maxBytes?: number; entryMaxBytes?: number } = {}): CacheInfo {
  const { entries, temps } = listFolder(dir);
  const sum = (l: EntryFile[]) => l.reduce((t, e) => t + e.bytes, 0);
  return {
    dir,
    entries: entries.length,
    bytes: sum(entries),
    maxBytes: cacheMaxBytes(options.maxBytes),
    entryMaxBytes: cacheEntryMaxBytes(options.entryMaxBytes),
    tempFiles: temps.length,
    tempBytes: sum(temps),
  };
}

export interface PruneResult {
  removed: number;
  freedBytes: number;
  /** Entries and bytes left. */
  entries: number;
  bytes: number;
}

function remove(dir: string, files: EntryFile[]): number {
  let freed = 0;
  for (const f of files) {
    try {
      fs.rmSync(path.join(dir, f.name));
      freed += f.bytes;
    } catch {
      // another process removed it first
    }
  }
  return freed;
}

/**
 * Remove least recently used entries until the folder holds at most
 * `maxBytes` (never `keep`, the entry just written), and temporary files
 * older than a day.
 */
export function pruneCache(dir: string, maxBytes: number, keep?: string): PruneResult {
  sweepStaleTempFiles(dir, STALE_TEMP_MS);
  const { entries } = listFolder(dir);
  let bytes = entries.reduce((t, e) => t + e.bytes, 0);
  const victims: EntryFile[] = [];
  // Oldest use first; ties by name so that every process evicts the same ones.
  const byAge = entries.filter((e) => e.name !== keep).sort((a, b) => a.usedMs - b.usedMs || (a.name < b.name ? -1 : 1));
  for (const e of byAge) {
    if (bytes <= maxBytes) break;
    victims.push(e);
    bytes -= e.bytes;
  }
  const freed = remove(dir, victims);
  return { removed: victims.length, freedBytes: freed, entries: entries.length - victims.length, bytes };
}

/** Remove every entry and every modeldiff temporary file (a run writing into the folder now loses its entry). */
export function clearCache(dir: string): PruneResult {
  const { entries, temps } = listFolder(dir);
  const freed = remove(dir, [...entries, ...temps]);
  return { removed: entries.length + temps.length, freedBytes: freed, entries: 0, bytes: 0 };
}

/** Mark an entry used now (least-recently-used eviction reads mtimes). */
export function touchCacheEntry(file: string): void {
  try {
    const now = new Date();
    fs.utimesSync(file, now, now);
  } catch {
    // read-only cache folder: eviction order is then by write time
  }
}
