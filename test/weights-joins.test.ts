/**
 * Channel joins around grouped convolutions, concatenations and splits (fixtures:
 * scripts/fixtures/make-convrnn-fixtures.py, real torch modules with random weights):
 * - a grouped conv whose groups each read one of two concatenated Convs: accepted, its units
 *   permute within its blocks and the blocks stay (swapping them would need the two Convs to
 *   trade places); the copy permuted and rescaled in PyTorch canonicalizes and aligns to float32
 *   noise and the written-back models compute B's function;
 * - joins not derived stop with one line naming the node and saying what still works, and the
 *   raw distance, `compare`-style output checks and CKA's input (the model) are untouched:
 *   ShuffleNetV1's grouped conv → channel shuffle, an Add of a Concat with another tensor, an
 *   Add of split channels with another tensor.
 */
import fs from 'node:fs';
import path from 'node:path';

import t from 'tap';

import { readArrays } from '../lib/io/array-file';
import { encodeOnnx, graphOf, readOnnx } from '../lib/io/onnx';
import { weightDistance } from '../lib/weights';
import { checkPermutedCopy } from './helpers/permuted-copy';

const FIXTURES = path.join(__dirname, 'fixtures', 'convrnn');
const probe = readArrays(path.join(FIXTURES, 'probe-image16.npz'))[0][1];
const copyProbe = { data: probe.data as Float32Array, shape: probe.shape, classes: 5 };
const file = (name: string) => path.join(FIXTURES, `${name}.onnx`);

for (const exporter of ['ts13', 'ts17', 'dyn18']) {
  t.test(`grouped conv over a concatenation (${exporter}): blocks stay, units permute within them`, async (t) => {
    const a = fs.readFileSync(file(`gconvcat-${exporter}-s0`));
    const b = fs.readFileSync(file(`gconvcat-${exporter}-s0-perm`));
    const r = await weightDistance(a, b);
    t.same(
      r.hidden!.map((h) => `${h.units} ${h.symmetry}${h.blocks ? ` in ${h.blocks} blocks${h.blocksMove ? ', moving' : ', in place'}` : ''}`),
      ['8 permutation+scale', '8 permutation+scale', '16 permutation+scale in 2 blocks, in place'],
    );
    await checkPermutedCopy(t, r, b, copyProbe);
    if (exporter !== 'ts13') return;
    const seeds = await weightDistance(a, fs.readFileSync(file('gconvcat-ts13-s1')), { methods: ['raw', 'aligned'] });
    t.ok(seeds.aligned!.relative < seeds.raw!.relative, `two seeds: aligned ${seeds.aligned!.relative} < raw ${seeds.raw!.relative}`);
  });
}

const REFUSED: Array<[string, RegExp]> = [
  ['shufflev1', /at Conv node "[^"]+": it splits channels a grouped convolution ties in blocks/],
  ['addcat', /at Add node "[^"]+": it reads channels concatenated from several layers/],
  ['addsplit', /at Add node "[^"]+": it reads channels split or shuffled from several layers/],
];

t.test('an Add of another tensor with a Concat (operands swapped) is refused the same way', async (t) => {
  for (const exporter of ['ts13', 'dyn18']) {
    const m = readOnnx(file(`addcat-${exporter}-s0`));
    const add = graphOf(m).node.find((n) => n.opType === 'Add' && graphOf(m).node.some((p) => p.opType === 'Concat' && p.output![0] === n.input![0]))!;
    add.input = [add.input![1], add.input![0]];
    const bytes = encodeOnnx(m);
    const err = await weightDistance(bytes, bytes).then(
      () => undefined,
      (e: Error) => e,
    );
    t.match(err?.message, /at Add node "[^"]+": it reads channels concatenated from several layers/, exporter);
  }
});

for (const [arch, where] of REFUSED) {
  for (const exporter of ['ts13', 'dyn18']) {
    t.test(`${arch} (${exporter}): refused in one line naming the node; raw still works`, async (t) => {
      const a = file(`${arch}-${exporter}-s0`);
      const err = await weightDistance(a, a).then(
        () => undefined,
        (e: Error & { code?: string }) => e,
      );
      t.equal(err?.code, 'UNSUPPORTED_GRAPH');
      t.match(err?.message, where);
      t.match(err?.message, /the raw weight distance, .*output comparison and CKA still work/);
      t.notMatch(err?.message, /\n/, 'one line');
      const raw = await weightDistance(a, a, { methods: ['raw'] });
      t.equal(raw.raw!.l2, 0, 'raw runs');
    });
  }
}
