// The weights view: each model prepared once (network built, normalized in place), pairs giving
// the numbers of an independent reference (each network canonicalized on its own copy, as the
// canonical form is defined), prepared networks left exactly as they were by canonical pairs,
// and the N-model matrices equal to weightDistance pair by pair (no-hidden models included).
import path from 'node:path';

import t from 'tap';

import { readOnnx } from '../lib/io/onnx';
import { weightMatrices, weightsContext, weightsView } from '../lib/views/weights';
import { weightDistance } from '../lib/weights';
import { networkPairs } from '../lib/weights/architecture';
import { weightDistances } from '../lib/weights/distance';
import { buildNetwork } from '../lib/weights/graph';
import type { SortKey } from '../lib/weights/kernels';
import { canonicalizeNetwork } from '../lib/weights/symmetry';

const fx = (f: string) => path.join(__dirname, 'fixtures', 'arch', f);
const MLP = ['sklearn_mlp-nozipmap-s0.onnx', 'sklearn_mlp-nozipmap-s0-perm.onnx', 'sklearn_mlp-nozipmap-s1.onnx'].map(fx);
const LOGREG = ['sklearn_logreg-nozipmap-s0.onnx', 'sklearn_logreg-nozipmap-s1.onnx', 'sklearn_logreg-zipmap-s1.onnx'].map(fx);

/** The canonical distance by its definition: each model canonicalized on a network of its own. */
function canonicalReference(a: string, b: string, key?: SortKey): number {
  const [na, nb] = [a, b].map((f) => buildNetwork(readOnnx(f)));
  canonicalizeNetwork(na, key);
  canonicalizeNetwork(nb, key);
  return weightDistances(networkPairs(na, nb)).l2;
}

t.test('canonical pairs equal the canonicalized-copy reference and leave the prepared networks as they were', async (t) => {
  for (const key of [undefined, 'bias', 'in-l1'] as const) {
    const context = weightsContext({ methods: ['canonical', 'aligned'], sortKey: key }, false);
    const [a, b] = [MLP[0], MLP[2]].map((f) => weightsView.prepare(f, context));
    const before = [a, b].map((p) => p.network!.layers.map((l) => [Float64Array.from(l.W), Float64Array.from(l.b)]));
    const r = await weightsView.pair(a, b, context);
    t.equal(r.canonical!.l2, canonicalReference(MLP[0], MLP[2], key), `sort key ${key ?? 'out-norm'}: bit-equal to the reference`);
    const after = [a, b].map((p) => p.network!.layers.map((l) => [l.W, l.b]));
    t.same(after, before, `sort key ${key ?? 'out-norm'}: the prepared networks are unchanged (sorted, measured, put back)`);
    t.equal((await weightsView.pair(a, b, context)).canonical!.l2, r.canonical!.l2, 'pairing the same prepared models again gives the same number');
  }
  // Without normalization the alignment's network is not normalized: canonical has a copy of its own.
  const plain = await weightDistance(MLP[0], MLP[2], { normalize: false });
  t.equal(plain.canonical!.l2, canonicalReference(MLP[0], MLP[2]), 'normalize: false leaves canonical as defined');
  t.equal(plain.alignment!.normalized, false);
});

t.test('weight matrices: every entry is weightDistance of that ordered pair; no-hidden models too', async (t) => {
  for (const files of [MLP, LOGREG]) {
    const progress: string[] = [];
    const m = await weightMatrices(files, ['raw', 'canonical', 'aligned'], { seed: 3, onProgress: (d, n) => progress.push(`${d}/${n}`) });
    t.same(progress, ['0/3', '1/3', '2/3', '3/3'], 'one pair per unordered pair');
    t.equal(m.skipped, undefined);
    for (let i = 0; i < files.length; i++) {
      for (let j = 0; j < files.length; j++) {
        if (i === j) {
          t.same([m.raw![i][i], m.canonical![i][i], m.aligned![i][i]], [0, 0, 0]);
          continue;
        }
        const ref = await weightDistance(files[i], files[j], { seed: 3 });
        t.same([m.raw![i][j], m.canonical![i][j], m.aligned![i][j]], [ref.raw!.l2, ref.canonical!.l2, ref.aligned!.l2], `${path.basename(files[i])} vs ${path.basename(files[j])}`);
      }
    }
  }
  // A logistic regression has no hidden units: canonical and aligned are its raw distance, never 0.
  const lr = await weightMatrices(LOGREG.slice(0, 2), ['canonical', 'aligned'], { seed: 0 });
  t.ok(lr.canonical![0][1] > 7, `logistic regressions are ${lr.canonical![0][1]} apart, not 0`);
  t.equal(lr.aligned![0][1], lr.canonical![0][1]);
  // Both rewritten models are B unchanged: one encoding serves both, equal to B's own weights.
  const d = await weightDistance(LOGREG[0], LOGREG[1], { methods: ['canonical', 'aligned'] });
  const { canonical, aligned } = d.models;
  t.ok(canonical instanceof Uint8Array && canonical === aligned, 'the same bytes, encoded once');
  const same = await weightDistance(LOGREG[1], canonical!, { methods: ['raw'] });
  t.equal(same.raw!.l2, 0, 'the encoded model is B');
});

t.test('weight matrices skip the methods models do not share, each with its reason, in a fixed order', async (t) => {
  const m = await weightMatrices([MLP[0], LOGREG[1], MLP[2]], ['aligned', 'raw', 'canonical'], { seed: 0 });
  t.same(m.methods, ['aligned', 'raw', 'canonical']);
  t.same([m.raw, m.canonical, m.aligned, m.definitions], [undefined, undefined, undefined, undefined]);
  t.match(m.skipped, /^canonical and aligned skipped: .*sklearn_mlp-nozipmap-s0\.onnx and .*sklearn_logreg-nozipmap-s1\.onnx differ: 2 vs 0 linear layers; raw skipped: initializer coefficient0 of .* has no counterpart/);
  const rawOnly = await weightMatrices([MLP[0], LOGREG[1]], ['canonical', 'raw'], { seed: 0 });
  t.equal(rawOnly.skipped?.startsWith('canonical skipped: '), true, 'only the methods asked for are named');
  await t.rejects(weightMatrices([MLP[0], MLP[1]], ['raw'], { seed: 0, onProgress: () => { throw new Error('stop'); } }), /stop/, 'other errors are not skipped');
});
