/**
 * 2-D maps: classical MDS recovers Euclidean configurations exactly (up to
 * rotation/reflection, so we compare distances), and t-SNE / UMAP put two
 * well-separated groups of models apart, reproducibly for a seed.
 */
import t from 'tap';

import { type Point2, classicalMds, tsne, umap } from '../lib/many/embedding';
import { accuracy, l2, toProbabilities } from '../lib/many/predictions';
import { blockSizeFor, blocks, memoryStore } from '../lib/many/store';
import { createRng } from '../lib/util/rng';

const dist = (p: Point2[]): number[] => p.flatMap((a) => p.map((b) => Math.hypot(a[0] - b[0], a[1] - b[1])));

function twoGroups(n: number): number[] {
  const rng = createRng(4);
  const pts = Array.from({ length: n }, (_, i) => [(i < n / 2 ? 0 : 20) + rng.normal(), rng.normal(), rng.normal()]);
  return pts.flatMap((a) => pts.map((b) => Math.hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2])));
}

/** Each point's nearest neighbour on the map belongs to its own group. */
function separated(p: Point2[]): boolean {
  const n = p.length;
  return p.every((a, i) => {
    let best = -1;
    for (let j = 0; j < n; j++) if (j !== i && (best < 0 || Math.hypot(a[0] - p[j][0], a[1] - p[j][1]) < Math.hypot(a[0] - p[best][0], a[1] - p[best][1]))) best = j;
    return i < n / 2 === best < n / 2;
  });
}

t.test('classical MDS recovers 2-D points up to rotation', async (t) => {
  const rng = createRng(8);
  const pts: Point2[] = Array.from({ length: 9 }, () => [3 * rng.normal(), rng.normal()]);
  const d = dist(pts);
  const m = classicalMds(d, 9);
  const e = dist(m);
  t.ok(e.every((v, k) => Math.abs(v - d[k]) < 1e-9), 'all pairwise distances preserved');
  t.same(classicalMds([0], 1), [[0, 0]]);
  const two = classicalMds([0, 2, 2, 0], 2);
  t.ok(Math.abs(Math.hypot(two[0][0] - two[1][0], two[0][1] - two[1][1]) - 2) < 1e-12);
  t.throws(() => classicalMds([0, NaN, NaN, 0], 2), { code: 'NON_FINITE' });
});

t.test('t-SNE and UMAP separate two well-separated groups, reproducibly', async (t) => {
  const n = 16;
  const d = twoGroups(n);
  const a = tsne(d, n, { seed: 1, iterations: 300 });
  t.equal(a.length, n);
  t.ok(separated(a), 't-SNE keeps the groups apart');
  t.same(tsne(d, n, { seed: 1, iterations: 300 }), a, 'same seed, same map');
  t.notSame(tsne(d, n, { seed: 2, iterations: 300 }), a, 'the seed matters');
  const u = umap(d, n, { seed: 1 });
  t.ok(separated(u), 'UMAP keeps the groups apart');
  t.same(umap(d, n, { seed: 1 }), u);
  t.throws(() => tsne([0, 1, 1, 0], 2), { code: 'INVALID_ARGUMENT' });
  t.throws(() => umap([0, 1, 1, 0], 2), { code: 'INVALID_ARGUMENT' });
  // All-zero distances (identical models) still give a finite map.
  t.ok(tsne(new Array(25).fill(0), 5, { iterations: 20 }).flat().every(Number.isFinite));
});

t.test('predictions: softmax / sigmoid probabilities, L2, accuracy', async (t) => {
  const logits = { data: Float32Array.from([0, Math.log(3), 5, 5]), n: 2, k: 2 };
  const p = toProbabilities(logits, 'logits');
  t.ok(Math.abs(p[0] - 0.25) < 1e-7 && Math.abs(p[1] - 0.75) < 1e-7 && p[2] === 0.5 && p[3] === 0.5);
  t.same(Array.from(toProbabilities({ data: Float64Array.from([0.2, 0.8]), n: 1, k: 2 }, 'probs')), [0.2, 0.8]);
  const s = toProbabilities({ data: Float64Array.from([0.25, 0]), n: 2, k: 1 }, 'sigmoid');
  t.same(Array.from(s), [0.75, 0.25, 1, 0]);
  const sl = toProbabilities({ data: Float64Array.from([0]), n: 1, k: 1 }, 'sigmoid-logit');
  t.same(Array.from(sl), [0.5, 0.5]);
  t.throws(() => toProbabilities(logits, 'sigmoid'), { code: 'INVALID_ARGUMENT', option: 'outputs' });
  t.equal(l2(Float64Array.from([0, 3]), Float64Array.from([4, 0])), 5);
  // argmax ties → lowest index, as numpy.
  t.equal(accuracy({ data: Float32Array.from([1, 1, 0, 2, 3, 1]), n: 3, k: 2 }, 'logits', [0, 1, 0]), 1);
  t.equal(accuracy({ data: Float32Array.from([0.7, 0.2]), n: 2, k: 1 }, 'sigmoid', [1, 1]), 0.5);
  t.equal(accuracy({ data: Float32Array.from([-1, 2]), n: 2, k: 1 }, 'sigmoid-logit', [0, 1]), 1);
  t.throws(() => accuracy(logits, 'logits', [0], 'm.onnx'), { code: 'SHAPE_MISMATCH', message: /m\.onnx/ });
  // A label the model has no class for is the wrong labels file, not a wrong prediction.
  t.throws(() => accuracy({ data: Float32Array.from([1, 1, 0, 2, 3, 1]), n: 3, k: 2 }, 'logits', [0, 2, 0], 'm.onnx'), {
    code: 'INVALID_ARGUMENT',
    message: /^labels: label 2 at sample 1 is not a class of this 2-class model \(m\.onnx\)$/,
  });
  t.throws(() => accuracy({ data: Float32Array.from([0.7, 0.2]), n: 2, k: 1 }, 'sigmoid', [1, 2]), { code: 'INVALID_ARGUMENT', message: /label 2 at sample 1 .* 2-class/ });
});

t.test('output store: blocks bounded by the memory budget', async (t) => {
  t.same(blocks(5, 2), [[0, 1], [2, 3], [4]]);
  t.equal(blockSizeFor(10, 100), 10, 'no budget: one block');
  t.equal(blockSizeFor(10, 100, 1000), 5, 'two blocks of 5 fit 1000 bytes');
  t.equal(blockSizeFor(10, 100, 1e9), 10);
  t.throws(() => blockSizeFor(10, 100, 150), { code: 'INVALID_ARGUMENT', option: 'maxMemory', message: /^options\.maxMemory 150 bytes cannot hold the outputs of two models \(100 bytes each/ });
  t.throws(() => blockSizeFor(10, 100, -1), { code: 'INVALID_ARGUMENT', option: 'maxMemory', message: 'options.maxMemory must be a positive size, got -1' });
  const o = (n: number, k: number) => ({ data: new Float32Array(n * k), n, k });
  const s = memoryStore(['a', 'b'], [o(3, 2), o(3, 2)], 96);
  t.equal(s.blockSize, 1, 'two one-model blocks (outputs + probabilities) fit 96 bytes');
  t.same(await s.load([1]), [o(3, 2)]);
  t.throws(() => memoryStore(['a', 'b'], [o(3, 2), o(4, 2)]), { code: 'SHAPE_MISMATCH', message: /b has outputs of shape \[4, 2\]/ });
  t.throws(() => memoryStore(['a'], [{ data: new Float32Array(5), n: 3, k: 2 }]), { code: 'SHAPE_MISMATCH' });
  t.throws(() => memoryStore([], []), { code: 'INVALID_ARGUMENT' });
});
