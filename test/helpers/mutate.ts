/**
 * Seeded mutations of file bytes for the reader fuzz tests (test/fuzz-readers.test.ts)
 * and the long fuzz run (scripts/fuzz-readers.ts): generic byte damage plus
 * protobuf-aware edits (wrong wire types, group tags, overlong varints,
 * negative enums) that plain bit flips rarely produce.
 */
import type { Rng } from '../../lib/util/rng';

export interface Mutant {
  bytes: Uint8Array;
  how: string;
}

const BOUNDARY = [0x00, 0x7f, 0x80, 0xff, 0x20, 0x2c, 0x29, 0x01];

/** One random generic mutation of `b` (bit flip, boundary byte, truncation, append, huge length, delete, duplicate). */
export function mutateBytes(rng: Rng, b: Uint8Array): Mutant {
  const out = new Uint8Array(b); // a copy (Buffer#slice would be a view, and damage the base)
  const n = b.length;
  const at = rng.int(Math.max(1, n));
  switch (rng.int(7)) {
    case 0:
      out[at] ^= 1 << rng.int(8);
      return { bytes: out, how: `flip byte ${at}` };
    case 1:
      out[at] = BOUNDARY[rng.int(BOUNDARY.length)];
      return { bytes: out, how: `set byte ${at} to ${out[at]}` };
    case 2:
      return { bytes: new Uint8Array(b.subarray(0, at)), how: `truncate to ${at}` };
    case 3: {
      const k = 1 + rng.int(8);
      const tail = Uint8Array.from({ length: k }, () => rng.int(256));
      return { bytes: concat([b, tail]), how: `append ${k}` };
    }
    case 4: {
      const i = rng.int(Math.max(1, n - 4));
      const v = [0xffffffff, 0x7fffffff, 0x80000000, 0x10000][rng.int(4)];
      new DataView(out.buffer).setUint32(Math.min(i, Math.max(0, n - 4)), v >>> 0, true);
      return { bytes: out, how: `length field at ${i}` };
    }
    case 5: {
      const k = 1 + rng.int(15);
      return { bytes: concat([b.subarray(0, at), b.subarray(at + k)]), how: `delete ${k} at ${at}` };
    }
    default: {
      const k = 1 + rng.int(15);
      return { bytes: concat([b.subarray(0, at), b.subarray(at, at + k), b.subarray(at)]), how: `duplicate ${k} at ${at}` };
    }
  }
}

function varint(v: number): number[] {
  const out: number[] = [];
  while (v >= 0x80) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
}

/** A protobuf-level edit: a field with a random wire type, a group, an overlong or padded varint, a negative value. */
export function mutateProtobuf(rng: Rng, b: Uint8Array): Mutant {
  const field = 1 + rng.int(25);
  const at = rng.int(b.length + 1);
  const insert = (extra: number[], how: string): Mutant => ({ bytes: concat([b.subarray(0, at), Uint8Array.from(extra), b.subarray(at)]), how: `${how} at ${at}` });
  switch (rng.int(5)) {
    case 0: {
      const wire = rng.int(8);
      const body = wire === 0 ? [5] : wire === 1 ? [1, 2, 3, 4, 5, 6, 7, 8] : wire === 2 ? [2, 65, 66] : wire === 5 ? [1, 2, 3, 4] : [];
      return insert([...varint(field * 8 + wire), ...body], `field ${field} wire ${wire}`);
    }
    case 1: {
      const depth = 1 + rng.int(3000);
      return insert([...Array(depth).fill(varint(field * 8 + 3)).flat(), ...Array(depth).fill(varint(field * 8 + 4)).flat()], `${depth} nested groups of field ${field}`);
    }
    case 2:
      return insert([...varint(field * 8), ...Array(9 + rng.int(3)).fill(0xff), 0x01], `overlong varint in field ${field}`);
    case 3: {
      // A padded (non-minimal) length: valid protobuf up to 10 bytes.
      const pad = 1 + rng.int(10);
      return insert([...varint(field * 8 + 2), ...Array(pad).fill(0x80).map((x, i) => (i === 0 ? 0x82 : x)), 0x00, 65, 66], `padded length (${pad + 1} bytes) of field ${field}`);
    }
    default:
      return insert([...varint(field * 8), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01], `negative varint in field ${field}`);
  }
}

export function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
