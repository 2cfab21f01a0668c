/**
 * Symmetries derived from the graph patterns real architectures export:
 * for each, a permuted (and, where allowed, rescaled) copy built by index
 * arithmetic in the test canonicalizes and aligns onto the original, and the
 * rewritten models compute the same function under onnxruntime.
 */
import t, { type Test } from 'tap';
import { onnx } from 'onnx-proto';

import { align, canonicalize, weightDistance } from '../lib/weights';
import { type NodeSpec, type TensorInit, buildModel, tensorProto } from './helpers/onnx-builder';
import { convBytes, createRng, maxAbs, maxAbsDiff, randomConvNet, randomInput, runModel, transformConvNet } from './helpers/onnx-models';

/** B, its canonical form and B aligned to A compute B's function; canonical and aligned distances ≤ 1e-6. */
async function checkCopy(t: Test, a: Uint8Array, b: Uint8Array, x: Float32Array, dims: number[]) {
  const r = await weightDistance(a, b);
  t.ok(r.raw!.relative > 0.05, `raw relative ${r.raw!.relative}`);
  t.ok(r.canonical!.relative <= 1e-6, `canonical relative ${r.canonical!.relative}`);
  t.ok(r.aligned!.relative <= 1e-6, `aligned relative ${r.aligned!.relative}`);
  const yb = await runModel(b, x, dims);
  for (const [name, m] of [['canonical', canonicalize(b)], ['aligned', (await align(a, b)).model]] as const) {
    const y = await runModel(m, x, dims);
    t.ok(maxAbsDiff(y, yb) <= 1e-5 * Math.max(1, maxAbs(yb)), `${name} computes B's function (max diff ${maxAbsDiff(y, yb)})`);
  }
  return r;
}

/** The conv net of onnx-models, fed through a Reshape of a flat [N, 16] input (nn.Unflatten), static or dynamic. */
function unflattened(bytes: Uint8Array, dynamic: boolean): Uint8Array {
  const m = onnx.ModelProto.decode(bytes);
  const g = m.graph!;
  g.input = [onnx.ValueInfoProto.create({ name: 'flat', type: { tensorType: { elemType: 1, shape: { dim: [{ dimParam: 'N' }, { dimValue: 16 }] } } } })];
  const shapeNodes: NodeSpec[] = dynamic
    ? [
        { op: 'Shape', inputs: ['flat'], outputs: ['s'] },
        { op: 'Gather', inputs: ['s', 'zero'], outputs: ['n'], attrs: { axis: { i: 0 } } },
        { op: 'Unsqueeze', inputs: ['n', 'axes0'], outputs: ['n1'] },
        { op: 'Concat', inputs: ['n1', 'rest'], outputs: ['shape'], attrs: { axis: { i: 0 } } },
      ]
    : [];
  const inits: TensorInit[] = dynamic
    ? [{ name: 'zero', dims: [], data: [0], dtype: 'int64' }, { name: 'axes0', dims: [1], data: [0], dtype: 'int64' }, { name: 'rest', dims: [3], data: [1, 4, 4], dtype: 'int64' }]
    : [{ name: 'shape', dims: [4], data: [-1, 1, 4, 4], dtype: 'int64' }];
  const spec = [...shapeNodes, { op: 'Reshape', inputs: ['flat', 'shape'], outputs: ['x'] }];
  const nodes = buildModel({ inputs: [], outputs: [], nodes: spec }).slice();
  const extra = onnx.ModelProto.decode(nodes).graph!.node;
  g.node = [...extra, ...g.node];
  g.initializer.push(...inits.map((i) => onnx.TensorProto.create(tensorProto(i))));
  return onnx.ModelProto.encode(m).finish();
}

for (const dynamic of [false, true]) {
  t.test(`a CNN behind a ${dynamic ? 'dynamic' : 'static'} Reshape of its flat input (nn.Unflatten): permuted copy ≈ 0, same function`, async (t) => {
    const rng = createRng(dynamic ? 41 : 40);
    const A = randomConvNet(rng, 4, 5, 3, false);
    const B = transformConvNet(A, rng);
    await checkCopy(t, unflattened(convBytes(A), dynamic), unflattened(convBytes(B), dynamic), randomInput(rng, 6 * 16), [6, 16]);
  });
}
