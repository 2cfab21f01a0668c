/**
 * Never a silent zero: two models with the same weights that differ in something weight
 * distances do not count (a temperature scalar, a LayerNorm epsilon, a Constant node's value)
 * stop with UNCOUNTED_DIFFERENCE naming it; the same model twice is still exactly 0.
 */
import t from 'tap';

import { weightDistance } from '../lib/weights';
import { buildModel } from './helpers/onnx-builder';

const W1 = [0.5, -1, 2, 0.25, 1.5, -0.75];
const W2 = [1, -2, 0.5, 3, -1, 0.5];

/** x[N,2] → MatMul → LayerNormalization(ε) → Relu → MatMul → Div by T (an initializer, or a Constant node). */
function model(opts: { T?: number; eps?: number; constT?: number; op?: string }): Uint8Array {
  const tNode = opts.constT !== undefined ? [{ op: 'Constant', inputs: [], outputs: ['T'], attrs: { value: { t: { name: 'T', dims: [], data: [opts.constT] } } } }] : [];
  return buildModel({
    opset: 17,
    inputs: [{ name: 'x', shape: ['N', 2] }],
    outputs: [{ name: 'y', shape: ['N', 2] }],
    initializers: [
      { name: 'W1', dims: [2, 3], data: W1 }, { name: 'g', dims: [3], data: [1, 2, 0.5] }, { name: 'W2', dims: [3, 2], data: W2 },
      ...(opts.constT === undefined ? [{ name: 'T', dims: [], data: [opts.T ?? 1] }] : []),
    ],
    nodes: [
      ...tNode,
      { op: 'MatMul', inputs: ['x', 'W1'], outputs: ['z'] },
      { op: 'LayerNormalization', inputs: ['z', 'g'], outputs: ['n'], attrs: { axis: { i: -1 }, epsilon: { f: opts.eps ?? 1e-5 } } },
      { op: 'Relu', inputs: ['n'], outputs: ['a'] },
      { op: 'MatMul', inputs: ['a', 'W2'], outputs: ['l'] },
      { op: opts.op ?? 'Div', inputs: ['l', 'T'], outputs: ['y'] },
    ],
  });
}

const refused = (what: RegExp) => ({ name: 'ModeldiffError', code: 'UNCOUNTED_DIFFERENCE', message: new RegExp(`same weights but differ in ${what.source}.*compare measures the function`) });

t.test('same weights, different temperature / epsilon / Constant: an error naming it, not 0', async (t) => {
  await t.rejects(weightDistance(model({ T: 1 }), model({ T: 3 })), refused(/initializer "T"/), 'temperature initializer (all methods)');
  await t.rejects(weightDistance(model({ T: 1 }), model({ T: 3 }), { methods: ['raw'] }), refused(/initializer "T"/), 'raw only');
  await t.rejects(weightDistance(model({ eps: 1e-5 }), model({ eps: 0.5 })), refused(/attribute "epsilon" of LayerNormalization/), 'epsilon attribute');
  await t.rejects(weightDistance(model({ constT: 1 }), model({ constT: 3 }), { methods: ['raw', 'canonical'] }), refused(/attribute "value" of Constant/), 'Constant node');
  await t.rejects(weightDistance(model({ eps: 1e-5 }), model({ eps: 1e-5, op: 'Mul' })), refused(/the graph \(node 5/), 'an op');
});

t.test('the same model twice is exactly 0, no error', async (t) => {
  const r = await weightDistance(model({ T: 3 }), model({ T: 3 }));
  t.same([r.raw!.l2, r.canonical!.l2, r.aligned!.l2], [0, 0, 0]);
});

t.test('weights held in Constant nodes: the refusal says raw cannot read them either', async (t) => {
  const constModel = (w: number[]) => buildModel({
    inputs: [{ name: 'x', shape: ['N', 2] }],
    outputs: [{ name: 'y', shape: ['N', 3] }],
    nodes: [
      { op: 'Constant', inputs: [], outputs: ['W'], attrs: { value: { t: { name: 'W', dims: [2, 3], data: w } } } },
      { op: 'MatMul', inputs: ['x', 'W'], outputs: ['y'] },
    ],
  });
  const [a, b] = [constModel(W1), constModel(W2)];
  await t.rejects(weightDistance(a, b), { code: 'UNSUPPORTED_GRAPH', message: /"W" is held in a Constant node.*\(output comparison and CKA still work\)$/ });
  await t.rejects(weightDistance(a, b, { methods: ['raw'] }), { code: 'UNSUPPORTED_GRAPH', message: /found no weights/ }, 'raw indeed reads none');
});
