/** Sizes in bytes as people write them ("512M", "2G", "10GB", "1.5g") and as they read them. */
import { ModeldiffError } from '../errors';

/**
 * Bytes in a size like 512M or 2G (powers of 1024, rounded down), or null when
 * `text` is not written as one; callers check the range (0, or too big to count).
 */
export function parseByteSize(text: string): number | null {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?$/i.exec(text);
  if (m === null) return null;
  const scale = { '': 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40 }[m[2].toLowerCase() as '' | 'k' | 'm' | 'g' | 't'];
  return Math.floor(Number(m[1]) * scale);
}

/**
 * A positive byte count written as a size (`parseByteSize`): anything else — not a size, 0,
 * or too big to count exactly — is INVALID_ARGUMENT naming `what` (the option field or the
 * environment variable) and, when given, the option field for the CLI to turn into its flag.
 */
export function positiveByteSize(text: string, what: string, option?: string): number {
  const bytes = parseByteSize(text);
  if (bytes === null || !(bytes > 0) || !Number.isSafeInteger(bytes)) {
    throw new ModeldiffError('INVALID_ARGUMENT', `${what} must be a positive size like 512M or 2G, got ${JSON.stringify(text)}`, option === undefined ? {} : { option });
  }
  return bytes;
}

/** 1536 → "1.5 KiB", 2147483648 → "2 GiB". */
export function formatBytes(bytes: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${bytes} bytes` : `${Number(v.toPrecision(3))} ${units[u]}`;
}
