/**
 * The shape reader (lib/weights/graph/shape-elements.ts) on hand-built shape computations:
 * sizes read from declared input dims, integer arithmetic on them (Mod with both sign
 * conventions, exact Div, Mul, Add, Sub), Slice of a shape with computed bounds, Shape with
 * start/end, Gather of a computed list. Expected values are worked out by hand from the
 * declared input shape [n, 3, 16, 12].
 */
import t from 'tap';

import { readOnnx } from '../lib/io/onnx';
import { type ShapeElement, shapeElements, staticSize } from '../lib/weights/graph/shape-elements';
import { channelInts } from '../lib/weights/graph/channel-bounds';
import { GraphWalker } from '../lib/weights/graph/walker';
import { type NodeSpec, buildModel } from './helpers/onnx-builder';

const int = (name: string, values: number[], dims = [values.length]) => ({ name, dims, data: values.map((v) => BigInt(v)), dtype: 'int64' as const });

function walker(nodes: NodeSpec[]): GraphWalker {
  const bytes = buildModel({
    opset: 17,
    inputs: [{ name: 'x', shape: ['n', 3, 16, 12] }],
    outputs: [{ name: 'y', shape: [null] }],
    initializers: [
      int('k0', [0], []), int('k2', [2], []), int('k3', [3], []), int('two', [2], []), int('five', [5], []),
      int('minus1', [-1], []), int('one1', [1]), int('max', [2 ** 62]), int('zero1', [0]), int('idx', [1], []),
    ],
    nodes: [...nodes, { op: 'Identity', inputs: ['x'], outputs: ['y'] }],
  });
  return new GraphWalker(readOnnx(bytes));
}

const ref = (of: string, axis: number): ShapeElement => ({ of, axis });

t.test('sizes from declared dims, and integer arithmetic on them', async (t) => {
  const w = walker([
    { op: 'Shape', inputs: ['x'], outputs: ['s'] },
    { op: 'Gather', inputs: ['s', 'k2'], outputs: ['h'] }, // 16
    { op: 'Gather', inputs: ['s', 'k3'], outputs: ['wd'] }, // 12
    { op: 'Gather', inputs: ['s', 'k0'], outputs: ['n'] }, // symbolic
    { op: 'Div', inputs: ['h', 'two'], outputs: ['half'] }, // 8
    { op: 'Div', inputs: ['h', 'five'], outputs: ['inexact'] }, // 16 / 5: not a size
    { op: 'Mul', inputs: ['h', 'wd'], outputs: ['area'] }, // 192
    { op: 'Mul', inputs: ['n', 'two'], outputs: ['batch2'] }, // n·2: run time
    { op: 'Sub', inputs: ['wd', 'h'], outputs: ['diff'] }, // -4
    { op: 'Add', inputs: ['half', 'k3'], outputs: ['sum'] }, // 11
    { op: 'Mod', inputs: ['minus1', 'k3'], outputs: ['pymod'] }, // Python's -1 % 3 = 2
    { op: 'Mod', inputs: ['minus1', 'k3'], outputs: ['cmod'], attrs: { fmod: { i: 1 } } }, // C's fmod(-1, 3) = -1
    { op: 'Floor', inputs: ['half'], outputs: ['floor'] },
    { op: 'Unsqueeze', inputs: ['half', 'zero1'], outputs: ['u_half'] },
    { op: 'Unsqueeze', inputs: ['batch2', 'zero1'], outputs: ['u_batch2'] },
    { op: 'Concat', inputs: ['u_batch2', 'u_half', 'one1'], outputs: ['target'], attrs: { axis: { i: 0 } } },
  ]);
  const one = (name: string) => {
    const e = shapeElements(w, name);
    t.equal(e?.length, 1, `${name} is one element`);
    return e![0];
  };
  t.same(one('h'), ref('x', 2), 'Gather(Shape(x), 2) is a reference to x\'s axis 2');
  t.equal(staticSize(w, one('h')), 16, 'whose declared size is 16');
  t.equal(staticSize(w, one('n')), undefined, 'a symbolic dim has no static size');
  t.equal(one('half'), 8);
  t.equal(one('inexact'), null, 'an inexact Div is not evaluated');
  t.equal(one('area'), 192);
  t.equal(one('batch2'), null, 'a product with a run-time size is one unknown element');
  t.equal(one('diff'), -4);
  t.equal(one('sum'), 11);
  t.equal(one('pymod'), 2, 'Mod takes the sign of the divisor');
  t.equal(one('cmod'), -1, 'Mod with fmod = 1 takes the sign of the dividend');
  t.equal(one('floor'), 8);
  t.same(shapeElements(w, 'target'), [null, 8, 1], 'a Concat of the pieces');
});

t.test('Slice of a shape with computed bounds, Shape with start/end, Gather of a computed list', async (t) => {
  const w = walker([
    { op: 'Shape', inputs: ['x'], outputs: ['s'] },
    { op: 'Mod', inputs: ['minus1', 'k3'], outputs: ['m'] }, // 2
    { op: 'Reshape', inputs: ['m', 'one1'], outputs: ['m1'] },
    { op: 'Add', inputs: ['m1', 'one1'], outputs: ['m2'] }, // [3]
    { op: 'Slice', inputs: ['s', 'zero1', 'm1'], outputs: ['head'] }, // s[:2]
    { op: 'Slice', inputs: ['s', 'm2', 'max'], outputs: ['tail'] }, // s[3:]
    { op: 'Slice', inputs: ['s', 'one1', 'max', 'zero1', 'two'], outputs: ['strided'] }, // step 2: not read
    { op: 'Shape', inputs: ['x'], outputs: ['s13'], attrs: { start: { i: 1 }, end: { i: -1 } } }, // [3, 16]
    { op: 'Gather', inputs: ['s13', 'idx'], outputs: ['picked'] }, // x's axis 2
    { op: 'Mul', inputs: ['s13', 'two'], outputs: ['doubled'] }, // [6, 32]
    { op: 'Mul', inputs: ['s', 'two'], outputs: ['doubled_n'] }, // n·2 first: not placeable
  ]);
  t.same(shapeElements(w, 'head'), [ref('x', 0), ref('x', 1)], 'Slice(Shape(x), 0, Mod(-1, 3))');
  t.same(shapeElements(w, 'tail'), [ref('x', 3)], 'Slice(Shape(x), Mod(-1, 3) + 1, INT64_MAX)');
  t.equal(shapeElements(w, 'strided'), undefined, 'a Slice with a step other than 1 is not read');
  t.same(shapeElements(w, 's13'), [ref('x', 1), ref('x', 2)], 'Shape with start = 1, end = -1');
  t.same(shapeElements(w, 'picked'), [ref('x', 2)], 'Gather of one element of a computed list');
  t.same(shapeElements(w, 'doubled'), [6, 32], 'elementwise arithmetic on a known list');
  t.equal(shapeElements(w, 'doubled_n'), undefined, 'a longer list with an unknown element is not placed');
});

t.test('channel bounds: axis 1 read as a channel count, integer division (TorchScript chunk sizes)', async (t) => {
  const w = walker([
    { op: 'Shape', inputs: ['x'], outputs: ['s'] },
    { op: 'Gather', inputs: ['s', 'idx'], outputs: ['c'] }, // axis 1: 3 declared, 7 as the caller counts channels
    { op: 'Add', inputs: ['c', 'k2'], outputs: ['c2'] },
    { op: 'Div', inputs: ['c2', 'k3'], outputs: ['per'] }, // (7 + 2) / 3 = 3; (3 + 2) / 3 truncates to 1
    { op: 'Div', inputs: ['c', 'two'], outputs: ['halfc'] }, // 7 / 2 truncates to 3
    { op: 'Unsqueeze', inputs: ['halfc', 'zero1'], outputs: ['u_halfc'] },
    { op: 'Concat', inputs: ['u_halfc', 'one1'], outputs: ['bounds'], attrs: { axis: { i: 0 } } },
    { op: 'Gather', inputs: ['s', 'k0'], outputs: ['n'] },
  ]);
  const channels = (tensor: string) => (tensor === 'x' ? 7 : undefined);
  t.same(channelInts(w, 'per', channels), [3]);
  t.same(channelInts(w, 'bounds', channels), [3, 1], 'a list of bounds');
  t.same(channelInts(w, 'per', () => undefined), [1], 'without a channel count: the declared dim 3, (3 + 2) / 3 truncated');
  t.same(shapeElements(w, 'halfc'), [null], 'the static reader divides exactly only: 3 / 2 is no size');
  t.equal(channelInts(w, 'n', channels), undefined, 'the batch is not known');
});
