/**
 * A strict reader for the zip archives numpy writes (.npz): the container is
 * walked here, entries are inflated by fflate. fflate's own unzip trusts the
 * archive — it checks no signature, no CRC and no name — and a damaged .npz
 * came back as silently wrong numbers. Here, as Python's zipfile does when
 * numpy reads the file:
 *
 *   - the end-of-central-directory record (and its zip64 form) must be sound
 *     and the central directory must end where it says;
 *   - each entry's local header must carry the same name as its central-
 *     directory entry;
 *   - each entry's data must inflate to exactly its declared size and match
 *     its CRC-32.
 *
 * Also refused, as zipfile refuses them: encrypted and patched entries,
 * entries needing zip version > 6.3, compression other than stored/deflate;
 * and, stricter than zipfile: multi-disk fields, bytes after the end record,
 * sizes that disagree with the data, duplicate names. Errors are BAD_NPY naming the file
 * and entry.
 */
import zlib from 'node:zlib';

import { inflateSync } from 'fflate';

import { ModeldiffError } from '../errors';

const EOCD = 0x06054b50;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_EOCD = 0x06064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;
const MAX_COMMENT = 0xffff;

let crcTable: Uint32Array | undefined;

/** CRC-32 (the zip / gzip polynomial), table-driven; used where Node lacks zlib.crc32 (before 20.15). */
export function tableCrc32(bytes: Uint8Array): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) crc = crcTable[(crc ^ bytes[i]) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

const nativeCrc32 = (zlib as { crc32?: (data: Uint8Array) => number }).crc32;

/** CRC-32 of `bytes`, by zlib when Node has it (native, several GB/s). */
export const crc32: (bytes: Uint8Array) => number = nativeCrc32 ? (b) => nativeCrc32(b) >>> 0 : tableCrc32;

/** Read every file entry of a zip archive (folders skipped), keyed by name, in archive order. */
export function unzipStrict(bytes: Uint8Array, source: string): Map<string, Uint8Array> {
  const fail = (why: string) => new ModeldiffError('BAD_NPY', `${source}: not a valid .npz (zip) archive: ${why}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const u16 = (at: number) => view.getUint16(at, true);
  const u32 = (at: number) => view.getUint32(at, true);
  const u64 = (at: number) => {
    const v = view.getBigUint64(at, true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw fail(`a 64-bit size or offset ${v} is out of range`);
    return Number(v);
  };
  const within = (at: number, length: number, what: string) => {
    if (at < 0 || length < 0 || at + length > bytes.length) throw fail(`${what} runs past the end of the file`);
  };

  // The end-of-central-directory record: 22 bytes, then a comment of at most 64 KB.
  let eocd = -1;
  for (let at = bytes.length - 22; at >= 0 && at >= bytes.length - 22 - MAX_COMMENT; at--) {
    if (u32(at) === EOCD && at + 22 + u16(at + 20) === bytes.length) {
      eocd = at;
      break;
    }
  }
  if (eocd < 0) throw fail('no end-of-central-directory record');
  if (u16(eocd + 4) !== 0 || u16(eocd + 6) !== 0) throw fail('multi-disk archives are not supported');
  let count = u16(eocd + 10);
  if (u16(eocd + 8) !== count) throw fail('multi-disk archives are not supported');
  let cdSize = u32(eocd + 12);
  let cdOffset = u32(eocd + 16);
  let cdEnd = eocd;
  if (eocd >= 20 && u32(eocd - 20) === ZIP64_LOCATOR) {
    const record = u64(eocd - 12);
    within(record, 56, 'the zip64 end-of-central-directory record');
    if (u32(record) !== ZIP64_EOCD) throw fail('bad zip64 end-of-central-directory signature');
    count = u64(record + 32);
    if (u64(record + 24) !== count) throw fail('multi-disk archives are not supported');
    cdSize = u64(record + 40);
    cdOffset = u64(record + 48);
    cdEnd = record;
  }
  if (cdOffset + cdSize !== cdEnd) throw fail(`the central directory (${cdSize} bytes at ${cdOffset}) does not end where the end record starts (${cdEnd})`);

  const entries = new Map<string, Uint8Array>();
  let at = cdOffset;
  for (let i = 0; i < count; i++) {
    within(at, 46, `central-directory entry ${i}`);
    if (u32(at) !== CENTRAL) throw fail(`bad signature of central-directory entry ${i}`);
    const entryAt = at;
    const flags = u16(at + 8);
    const method = u16(at + 10);
    const crc = u32(at + 16);
    let packed = u32(at + 20);
    let size = u32(at + 24);
    const nameLength = u16(at + 28);
    const extraLength = u16(at + 30);
    const commentLength = u16(at + 32);
    let local = u32(at + 42);
    within(at + 46, nameLength + extraLength + commentLength, `central-directory entry ${i}`);
    const nameBytes = bytes.subarray(at + 46, at + 46 + nameLength);
    const name = new TextDecoder(flags & 0x800 ? 'utf-8' : 'latin1').decode(nameBytes);
    const entryFail = (why: string) => fail(`entry "${name}": ${why}`);
    // zip64: sizes and offset that overflow 32 bits move to extra field 0x0001, in this order.
    if (packed === 0xffffffff || size === 0xffffffff || local === 0xffffffff) {
      let e = at + 46 + nameLength;
      const end = e + extraLength;
      let found = false;
      while (e + 4 <= end) {
        const id = u16(e);
        const length = u16(e + 2);
        if (e + 4 + length > end) throw entryFail('corrupt extra field');
        if (id === 0x0001) {
          let p = e + 4;
          const take = () => {
            if (p + 8 > e + 4 + length) throw entryFail('corrupt zip64 extra field');
            const v = u64(p);
            p += 8;
            return v;
          };
          if (size === 0xffffffff) size = take();
          if (packed === 0xffffffff) packed = take();
          if (local === 0xffffffff) local = take();
          found = true;
          break;
        }
        e += 4 + length;
      }
      if (!found) throw entryFail('32-bit size marked as zip64 but no zip64 extra field');
    }
    at += 46 + nameLength + extraLength + commentLength;

    if (flags & 0x41) throw entryFail('encrypted entries are not supported');
    if (flags & 0x20) throw entryFail('compressed patched data (flag bit 5) is not supported');
    // Python's zipfile (numpy's reader) refuses entries needing a newer zip version than 6.3.
    const version = bytes[entryAt + 6]; // one byte; the next is the host system
    if (version > 63) throw entryFail(`needs zip version ${(version / 10).toFixed(1)} to extract (at most 6.3 is supported)`);
    if (method !== 0 && method !== 8) throw entryFail(`compression method ${method} is not supported (stored or deflate only)`);
    within(local, 30, `the local header of entry "${name}"`);
    if (u32(local) !== LOCAL) throw entryFail('bad local header signature');
    const localNameLength = u16(local + 26);
    const dataStart = local + 30 + localNameLength + u16(local + 28);
    within(local + 30, localNameLength, `the local header of entry "${name}"`);
    const localName = bytes.subarray(local + 30, local + 30 + localNameLength);
    if (!sameBytes(localName, nameBytes)) {
      throw entryFail(`its local header names it ${JSON.stringify(new TextDecoder('latin1').decode(localName))}`);
    }
    within(dataStart, packed, `the data of entry "${name}"`);
    if (dataStart + packed > cdOffset) throw entryFail('its data overlaps the central directory');
    if (name.endsWith('/')) continue; // a folder
    if (entries.has(name)) throw entryFail('the name appears twice');

    const stored = bytes.subarray(dataStart, dataStart + packed);
    let data: Uint8Array;
    if (method === 0) {
      if (packed !== size) throw entryFail(`stored entry of ${packed} bytes declares ${size}`);
      data = stored;
    } else {
      // Deflate expands at most 1032:1; a larger declared size is damage (or a zip bomb), not data.
      if (size > packed * 1032 + 1024) throw entryFail(`declares ${size} bytes from ${packed} compressed, more than deflate can produce`);
      try {
        data = inflateSync(stored, { out: new Uint8Array(size) });
      } catch (cause) {
        throw new ModeldiffError('BAD_NPY', `${source}: not a valid .npz (zip) archive: entry "${name}": ${(cause as Error).message}`, { cause });
      }
      if (data.length !== size) throw entryFail(`inflates to ${data.length} bytes, not the declared ${size}`);
    }
    const actual = crc32(data);
    if (actual !== crc) throw entryFail(`bad CRC-32 (stored ${hex(crc)}, data has ${hex(actual)}): the entry is damaged`);
    entries.set(name, data);
  }
  if (at !== cdEnd) throw fail(`the central directory's ${count} entries end at ${at}, not at ${cdEnd}`);
  return entries;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function hex(n: number): string {
  return `0x${n.toString(16).padStart(8, '0')}`;
}
