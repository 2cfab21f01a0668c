/**
 * safetensors headers that JSON.parse would read without complaint but that
 * the format's reference reader refuses: a tensor name given twice (the last
 * entry would silently win) and shape dimensions written as non-integers
 * (2.0 and 2e0 parse as the integer 2). Each is a one-line BAD_DATA_FILE
 * naming the file and the tensor.
 */
import t from 'tap';

import { ModeldiffError } from '../lib/errors';
import { parseSafetensors } from '../lib/io/safetensors';

/** A safetensors file from a header written as text (so keys may repeat and numbers keep their spelling). */
function file(header: string, dataBytes: number): Uint8Array {
  const json = Buffer.from(header);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  return new Uint8Array(Buffer.concat([len, json, Buffer.alloc(dataBytes)]));
}

function failure(bytes: Uint8Array): { code: string; message: string } {
  try {
    parseSafetensors(bytes, 'w.safetensors');
  } catch (e) {
    if (e instanceof ModeldiffError) return { code: e.code, message: e.message };
    throw e;
  }
  throw new Error('parsed without an error');
}

const entry = (shape: string, from: number, to: number) => `{"dtype":"F32","shape":${shape},"data_offsets":[${from},${to}]}`;

t.test('a tensor name given twice is refused, naming the file and the tensor', async (t) => {
  const twice = file(`{"w":${entry('[2]', 0, 8)},"b":${entry('[1]', 8, 12)},"w":${entry('[2]', 12, 20)}}`, 20);
  t.same(failure(twice), { code: 'BAD_DATA_FILE', message: 'w.safetensors: tensor "w" appears twice in the header' });
  // Escapes spell the same name: still the same key.
  const escaped = file(`{"w":${entry('[2]', 0, 8)},"\\u0077":${entry('[2]', 8, 16)}}`, 16);
  t.match(failure(escaped), { message: /tensor "w" appears twice/ });
  const field = file(`{"w":{"dtype":"F32","shape":[2],"shape":[1],"data_offsets":[0,8]}}`, 8);
  t.match(failure(field), { message: /^w\.safetensors: tensor "w": its header entry gives "shape" twice$/ });
  // Free-form metadata is not the format's business; names that only look alike are different.
  const fine = file(`{"__metadata__":{"k":"1","k":"2"},"w":${entry('[2]', 0, 8)},"w ":${entry('[ 1 ]', 8, 12)},"x\\"y":${entry('[]', 12, 16)}}`, 16);
  const read = parseSafetensors(fine, 'w.safetensors');
  t.same(Object.keys(read), ['w', 'w ', 'x"y']);
  t.same(read['w '].shape, [1]);
  t.same(read['x"y'].shape, []);
});

t.test('shape dimensions must be written as integers', async (t) => {
  for (const [shape, shown] of [['[2.0]', '2.0'], ['[1, 2e0]', '1, 2e0'], ['[2.5]', '2.5'], ['[-0]', '-0'], ['["2"]', '"2"']]) {
    const bytes = file(`{"w":${entry(shape, 0, 8)}}`, 8);
    t.same(failure(bytes), { code: 'BAD_DATA_FILE', message: `w.safetensors: tensor "w": shape [${shown}] is not a list of non-negative integers` }, shape);
  }
  const deep = file(`{"w":${entry('[[2]]', 0, 8)}}`, 8);
  t.match(failure(deep), { message: /tensor "w": shape \[\[2\]\] is not a list/ });
  t.same(parseSafetensors(file(`{"w":${entry('[ 1 ,\n2 ]', 0, 8)}}`, 8), 'w.safetensors').w.shape, [1, 2], 'whitespace is fine');
});
