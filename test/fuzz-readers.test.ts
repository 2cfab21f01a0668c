/**
 * Reader fuzz test (issue 17), fixed seeds, a few hundred mutants per format.
 *
 * Every outcome must be a value or a ModeldiffError with a code — never a
 * crash, a hang or another exception. For .npy / .npz the mutants and numpy's
 * verdict on each (accept with dtype, shape and a SHA-256 of the values, or
 * reject) come from scripts/fuzz-npy-corpus.py, committed in
 * test/fixtures/fuzz/npy-corpus.json: whatever modeldiff returns must be what
 * numpy reads from the same bytes, and whatever numpy refuses modeldiff must
 * refuse. modeldiff may refuse some files numpy reads (trailing bytes after
 * the data, bool bytes other than 0/1, duplicate header keys): those are
 * counted, and each such mutant must be one of those documented cases.
 * ONNX models, TensorProto .pb files and .safetensors files are mutated here
 * (generic damage plus protobuf-level edits).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

import t from 'tap';

import { ModeldiffError } from '../lib/errors';
import { parseNpy } from '../lib/io/npy';
import { parseNpz } from '../lib/io/npz';
import { decodeOnnx, graphOf, tensorToFloat64 } from '../lib/io/onnx';
import { parseSafetensors } from '../lib/io/safetensors';
import type { Tensor } from '../lib/io/tensor';
import { parseTensorProto } from '../lib/io/tensor-proto';
import { createRng } from '../lib/util/rng';
import { mutateBytes, mutateProtobuf } from './helpers/mutate';
import { gemmSoftmaxModel } from './helpers/onnx-builder';

interface CorpusEntry {
  format: 'npy' | 'npz';
  mutation: string;
  b64: string;
  numpy: { ok: true; arrays: Record<string, [string, number[], string]> } | { ok: false; error: string };
}

const corpus: CorpusEntry[] = JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures', 'fuzz', 'npy-corpus.json'), 'utf8'));

/** The reader's outcome: the arrays, or the ModeldiffError; any other exception fails the test. */
function outcome<T>(fn: () => T): { value?: T; error?: ModeldiffError } {
  try {
    return { value: fn() };
  } catch (e) {
    if (e instanceof ModeldiffError && typeof e.code === 'string' && e.code.length > 0) return { error: e };
    throw e;
  }
}

function sha256(x: Tensor): string {
  return crypto.createHash('sha256').update(new Uint8Array(x.data.buffer, x.data.byteOffset, x.data.byteLength)).digest('hex');
}

/**
 * Reasons modeldiff refuses files numpy reads, each documented in docs/formats.md: trailing
 * bytes after the .npy data or the zip's end record, bool bytes other than 0/1, duplicate
 * header keys, integers not in plain decimal (0x6), and zip records whose sizes, disk numbers
 * or extents disagree with each other (Python's zipfile reads past some of those).
 */
const STRICTER = new RegExp(
  [
    'unexpected bytes after the data',
    'bool value',
    'appears twice',
    'two entries are both named',
    'shape entries must be integers, found "[xob]"',
    'no end-of-central-directory record',
    'runs past the end of the file',
    'multi-disk archives',
    'entries end at',
    'inflates to \\d+ bytes, not the declared',
    'more than deflate can produce',
    'stored entry of \\d+ bytes declares',
  ].join('|'),
);

t.test('.npy / .npz mutants: values equal numpy\'s, refusals cover numpy\'s', async (t) => {
  t.ok(corpus.length >= 600, `${corpus.length} mutants`);
  let agreedValues = 0;
  let agreedRefusals = 0;
  const stricter: string[] = [];
  for (const [i, entry] of corpus.entries()) {
    const bytes = new Uint8Array(Buffer.from(entry.b64, 'base64'));
    const label = `#${i} ${entry.format} ${entry.mutation}`;
    const got = outcome(() =>
      entry.format === 'npy' ? { '': parseNpy(bytes, 'm.npy') } : (parseNpz(bytes, 'm.npz') as Record<string, Tensor>),
    );
    if (got.value) {
      if (!entry.numpy.ok) {
        t.fail(`${label}: modeldiff read a file numpy refuses (${entry.numpy.error})`);
        continue;
      }
      const mine = Object.fromEntries(Object.entries(got.value).map(([k, x]) => [k, [x.dtype, x.shape, sha256(x)]]));
      t.same(mine, entry.numpy.arrays, label);
      agreedValues++;
    } else if (entry.numpy.ok) {
      stricter.push(`${label}: ${got.error!.message}`);
    } else {
      agreedRefusals++;
    }
  }
  for (const s of stricter) t.match(s, STRICTER, `refused where numpy reads, for a documented reason: ${s}`);
  t.ok(agreedValues >= 40, `${agreedValues} values equal numpy's`);
  t.comment(`${agreedValues} same values, ${agreedRefusals} both refuse, ${stricter.length} refused by modeldiff only`);
});

t.test('ONNX model mutants: a model or BAD_ONNX', async (t) => {
  const base = gemmSoftmaxModel({ W: [1, 0.5, -2, 3, 0, 1], b: [0.25, -1, 2], k: 3, d: 2 });
  const rng = createRng(1701);
  const codes = new Map<string, number>();
  for (let i = 0; i < 400; i++) {
    const m = i % 2 === 0 ? mutateBytes(rng, base) : mutateProtobuf(rng, base);
    const got = outcome(() => {
      const model = decodeOnnx(m.bytes, 'm.onnx');
      return graphOf(model).initializer.map((x) => tensorToFloat64(x, 'm.onnx'));
    });
    const key = got.error ? got.error.code : 'value';
    codes.set(key, (codes.get(key) ?? 0) + 1);
  }
  t.same([...codes.keys()].filter((k) => k !== 'value' && k !== 'BAD_ONNX'), [], 'only BAD_ONNX errors');
  t.ok((codes.get('BAD_ONNX') ?? 0) > 50 && (codes.get('value') ?? 0) > 20, JSON.stringify(Object.fromEntries(codes)));
});

t.test('TensorProto .pb mutants: a tensor or BAD_DATA_FILE', async (t) => {
  const fixtures = path.join(__dirname, 'fixtures', 'arrays');
  const bases = ['raw_f32.pb', 'typed_i64.pb', 'typed_f32.pb', 'raw_bool.pb'].map((f) => new Uint8Array(fs.readFileSync(path.join(fixtures, f))));
  const rng = createRng(1702);
  const codes = new Map<string, number>();
  for (let i = 0; i < 400; i++) {
    const base = bases[i % bases.length];
    const m = rng.int(2) === 0 ? mutateBytes(rng, base) : mutateProtobuf(rng, base);
    const got = outcome(() => parseTensorProto(m.bytes, 'm.pb'));
    const key = got.error ? got.error.code : 'value';
    codes.set(key, (codes.get(key) ?? 0) + 1);
  }
  t.same([...codes.keys()].filter((k) => k !== 'value' && k !== 'BAD_DATA_FILE'), [], 'only BAD_DATA_FILE errors');
  t.ok((codes.get('BAD_DATA_FILE') ?? 0) > 50 && (codes.get('value') ?? 0) > 20, JSON.stringify(Object.fromEntries(codes)));
});

t.test('.safetensors mutants: arrays or BAD_DATA_FILE', async (t) => {
  const base = new Uint8Array(fs.readFileSync(path.join(__dirname, 'fixtures', 'arrays', 'all.safetensors')));
  const rng = createRng(1703);
  const codes = new Map<string, number>();
  for (let i = 0; i < 300; i++) {
    const m = mutateBytes(rng, base);
    const got = outcome(() => parseSafetensors(m.bytes, 'm.safetensors'));
    const key = got.error ? got.error.code : 'value';
    codes.set(key, (codes.get(key) ?? 0) + 1);
  }
  t.same([...codes.keys()].filter((k) => k !== 'value' && k !== 'BAD_DATA_FILE'), [], 'only BAD_DATA_FILE errors');
  t.ok((codes.get('BAD_DATA_FILE') ?? 0) > 50, JSON.stringify(Object.fromEntries(codes)));
});
