/**
 * Small random networks for the weight-space tests, and symmetry transforms
 * written independently of lib/weights (plain index arithmetic on the
 * ONNX layouts), so a test that permutes with these and un-permutes with the
 * library checks one against the other.
 */
import * as ort from 'onnxruntime-node';

import { type Rng, createRng } from '../../lib/util/rng';
import { type NodeSpec, type TensorInit, buildModel, mlpModel } from './onnx-builder';

export interface Dense {
  W: Float64Array; // [out, in]
  b: Float64Array;
  out: number;
  in: number;
}

export function randomDense(rng: Rng, sizes: number[], scale = 1): Dense[] {
  const layers: Dense[] = [];
  for (let i = 0; i + 1 < sizes.length; i++) {
    const [n, m] = [sizes[i + 1], sizes[i]];
    const W = Float64Array.from({ length: n * m }, () => (scale * rng.normal()) / Math.sqrt(m));
    const b = Float64Array.from({ length: n }, () => 0.1 * rng.normal());
    layers.push({ W, b, out: n, in: m });
  }
  return layers;
}

export function mlpBytes(layers: Dense[], act: 'relu' | 'tanh' | 'sigmoid', matmul = false): Uint8Array {
  return mlpModel({
    layers: layers.map((l, i) => ({ W: l.W, b: l.b, out: l.out, in: l.in, matmul, activation: i < layers.length - 1 ? act : 'none' })),
  });
}

/** A random permutation of 0..n-1. */
export function randomPerm(rng: Rng, n: number): number[] {
  return rng.shuffle(Array.from({ length: n }, (_, i) => i));
}

/**
 * Hidden layer h (output of layers[h]) transformed: new unit i = old unit
 * perm[i], times factor[i] (positive for scale symmetry, ±1 for sign); the
 * next layer's columns get 1/factor (sign: the same ±1).
 */
export function transformHidden(layers: Dense[], h: number, perm: number[], factor: number[]): Dense[] {
  const out = layers.map((l) => ({ ...l, W: l.W.slice(), b: l.b.slice() }));
  const L = layers[h];
  const N = layers[h + 1];
  for (let i = 0; i < L.out; i++) {
    const j = perm[i];
    for (let k = 0; k < L.in; k++) out[h].W[i * L.in + k] = factor[i] * L.W[j * L.in + k];
    out[h].b[i] = factor[i] * L.b[j];
    for (let o = 0; o < N.out; o++) out[h + 1].W[o * N.in + i] = N.W[o * N.in + j] / factor[i];
  }
  return out;
}

export async function runModel(bytes: Uint8Array, x: Float32Array, dims: number[]): Promise<Float32Array> {
  const s = await ort.InferenceSession.create(bytes);
  const r = await s.run({ [s.inputNames[0]]: new ort.Tensor('float32', x, dims) });
  const y = r[s.outputNames[0]].data as Float32Array;
  await s.release();
  return y;
}

export function randomInput(rng: Rng, n: number): Float32Array {
  return Float32Array.from({ length: n }, () => rng.normal());
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

export function maxAbs(a: ArrayLike<number>): number {
  return maxAbsDiff(a, new Float64Array(a.length));
}

/**
 * A small CNN: Conv(1→C1, 3×3, pad 1) [→ BatchNorm] → Relu → MaxPool 2×2 →
 * Conv(C1→C2, 3×3, pad 1) → Relu → Flatten → Gemm(C2·2·2 → K). Input [N, 1, 4, 4].
 */
export interface ConvNet {
  w1: Float64Array; b1: Float64Array; // [C1,1,3,3], [C1]
  bn?: { scale: Float64Array; bias: Float64Array; mean: Float64Array; variance: Float64Array };
  w2: Float64Array; b2: Float64Array; // [C2,C1,3,3]
  w3: Float64Array; b3: Float64Array; // [K, C2·4]
  C1: number; C2: number; K: number;
}

export function randomConvNet(rng: Rng, C1 = 4, C2 = 5, K = 3, bn = true): ConvNet {
  const r = (n: number, s: number) => Float64Array.from({ length: n }, () => s * rng.normal());
  return {
    w1: r(C1 * 9, 0.5), b1: r(C1, 0.1),
    bn: bn ? { scale: Float64Array.from({ length: C1 }, () => 0.5 + rng.float()), bias: r(C1, 0.2), mean: r(C1, 0.3), variance: Float64Array.from({ length: C1 }, () => 0.5 + rng.float()) } : undefined,
    w2: r(C2 * C1 * 9, 0.3), b2: r(C2, 0.1),
    w3: r(K * C2 * 4, 0.4), b3: r(K, 0.1),
    C1, C2, K,
  };
}

export function convBytes(n: ConvNet): Uint8Array {
  const inits: TensorInit[] = [
    { name: 'conv1.w', dims: [n.C1, 1, 3, 3], data: n.w1 },
    { name: 'conv1.b', dims: [n.C1], data: n.b1 },
    { name: 'conv2.w', dims: [n.C2, n.C1, 3, 3], data: n.w2 },
    { name: 'conv2.b', dims: [n.C2], data: n.b2 },
    { name: 'fc.w', dims: [n.K, n.C2 * 4], data: n.w3 },
    { name: 'fc.b', dims: [n.K], data: n.b3 },
  ];
  const conv = { kernel_shape: { ints: [3, 3] }, pads: { ints: [1, 1, 1, 1] } };
  const nodes: NodeSpec[] = [{ op: 'Conv', inputs: ['x', 'conv1.w', 'conv1.b'], outputs: ['c1'], attrs: conv }];
  let cur = 'c1';
  if (n.bn) {
    inits.push(
      { name: 'bn.scale', dims: [n.C1], data: n.bn.scale },
      { name: 'bn.bias', dims: [n.C1], data: n.bn.bias },
      { name: 'bn.mean', dims: [n.C1], data: n.bn.mean },
      { name: 'bn.var', dims: [n.C1], data: n.bn.variance },
    );
    nodes.push({ op: 'BatchNormalization', inputs: ['c1', 'bn.scale', 'bn.bias', 'bn.mean', 'bn.var'], outputs: ['bn1'], attrs: { epsilon: { f: 1e-3 } } });
    cur = 'bn1';
  }
  nodes.push(
    { op: 'Relu', inputs: [cur], outputs: ['r1'] },
    { op: 'MaxPool', inputs: ['r1'], outputs: ['p1'], attrs: { kernel_shape: { ints: [2, 2] }, strides: { ints: [2, 2] } } },
    { op: 'Conv', inputs: ['p1', 'conv2.w', 'conv2.b'], outputs: ['c2'], attrs: conv },
    { op: 'Relu', inputs: ['c2'], outputs: ['r2'] },
    { op: 'Flatten', inputs: ['r2'], outputs: ['f'], attrs: { axis: { i: 1 } } },
    { op: 'Gemm', inputs: ['f', 'fc.w', 'fc.b'], outputs: ['y'], attrs: { transB: { i: 1 } } },
  );
  return buildModel({ inputs: [{ name: 'x', shape: ['N', 1, 4, 4] }], outputs: [{ name: 'y', shape: ['N', n.K] }], initializers: inits, nodes });
}

/** Conv channels permuted and (positively) rescaled, through BN and the Flatten blocks of the Gemm. */
export function transformConvNet(n: ConvNet, rng: Rng): ConvNet {
  const p1 = randomPerm(rng, n.C1);
  const p2 = randomPerm(rng, n.C2);
  const s1 = p1.map(() => Math.exp(2 * rng.float() - 1));
  const s2 = p2.map(() => Math.exp(2 * rng.float() - 1));
  const out: ConvNet = { ...n, w1: n.w1.slice(), b1: n.b1.slice(), w2: n.w2.slice(), b2: n.b2.slice(), w3: n.w3.slice() };
  // With BN, scale the BN's affine output (scale, bias) instead of the conv: same effect after the Relu.
  for (let i = 0; i < n.C1; i++) {
    const j = p1[i];
    for (let k = 0; k < 9; k++) out.w1[i * 9 + k] = (n.bn ? 1 : s1[i]) * n.w1[j * 9 + k];
    out.b1[i] = (n.bn ? 1 : s1[i]) * n.b1[j];
  }
  if (n.bn) {
    const bn = n.bn;
    out.bn = {
      scale: Float64Array.from(p1, (j, i) => s1[i] * bn.scale[j]),
      bias: Float64Array.from(p1, (j, i) => s1[i] * bn.bias[j]),
      mean: Float64Array.from(p1, (j) => bn.mean[j]),
      variance: Float64Array.from(p1, (j) => bn.variance[j]),
    };
  }
  for (let o = 0; o < n.C2; o++) {
    const jo = p2[o];
    for (let i = 0; i < n.C1; i++) {
      for (let k = 0; k < 9; k++) out.w2[(o * n.C1 + i) * 9 + k] = (s2[o] / s1[i]) * n.w2[(jo * n.C1 + p1[i]) * 9 + k];
    }
    out.b2[o] = s2[o] * n.b2[jo];
  }
  for (let k = 0; k < n.K; k++) {
    for (let c = 0; c < n.C2; c++) for (let s = 0; s < 4; s++) out.w3[k * n.C2 * 4 + c * 4 + s] = n.w3[k * n.C2 * 4 + p2[c] * 4 + s] / s2[c];
  }
  return out;
}

/**
 * Residual MLP: s = relu(W0 x + b0); t = s + W2 relu(W1 s + b1) + b2; y = W3 relu(t) + b3.
 * Groups: the residual stream (W0 and W2 rows, W1 and W3 columns) and W1's hidden units.
 */
export interface ResMlp { d: number; h: number; k: number; o: number; L: Dense[] }

export function randomResMlp(rng: Rng, d = 5, h = 6, k = 4, o = 3): ResMlp {
  const r = (out: number, inp: number) => randomDense(rng, [inp, out])[0];
  return { d, h, k, o, L: [r(h, d), r(k, h), r(h, k), r(o, h)] };
}

export function resMlpBytes(m: ResMlp): Uint8Array {
  const inits: TensorInit[] = m.L.flatMap((l, i) => [
    { name: `W${i}`, dims: [l.out, l.in], data: l.W },
    { name: `b${i}`, dims: [l.out], data: l.b },
  ]);
  const g = (i: number, x: string, y: string): NodeSpec => ({ op: 'Gemm', inputs: [x, `W${i}`, `b${i}`], outputs: [y], attrs: { transB: { i: 1 } } });
  return buildModel({
    inputs: [{ name: 'x', shape: ['N', m.d] }],
    outputs: [{ name: 'y', shape: ['N', m.o] }],
    initializers: inits,
    nodes: [
      g(0, 'x', 'z0'), { op: 'Relu', inputs: ['z0'], outputs: ['s'] },
      g(1, 's', 'z1'), { op: 'Relu', inputs: ['z1'], outputs: ['a1'] },
      g(2, 'a1', 'f'), { op: 'Add', inputs: ['s', 'f'], outputs: ['t'] },
      { op: 'Relu', inputs: ['t'], outputs: ['rt'] },
      g(3, 'rt', 'y'),
    ],
  });
}

/** Permute + rescale (or sign-flip) both groups of a residual MLP. */
export function transformResMlp(m: ResMlp, rng: Rng, signs = false): ResMlp {
  const factor = () => (signs ? (rng.float() < 0.5 ? -1 : 1) : Math.exp(2 * rng.float() - 1));
  const ps = randomPerm(rng, m.h);
  const ss = ps.map(factor);
  const pk = randomPerm(rng, m.k);
  const sk = pk.map(factor);
  const [L0, L1, L2, L3] = m.L.map((l) => ({ ...l, W: l.W.slice(), b: l.b.slice() }));
  for (let i = 0; i < m.h; i++) {
    for (let c = 0; c < m.d; c++) L0.W[i * m.d + c] = ss[i] * m.L[0].W[ps[i] * m.d + c];
    L0.b[i] = ss[i] * m.L[0].b[ps[i]];
    for (let c = 0; c < m.k; c++) L2.W[i * m.k + c] = (ss[i] / sk[c]) * m.L[2].W[ps[i] * m.k + pk[c]];
    L2.b[i] = ss[i] * m.L[2].b[ps[i]];
  }
  for (let j = 0; j < m.k; j++) {
    for (let c = 0; c < m.h; c++) L1.W[j * m.h + c] = (sk[j] / ss[c]) * m.L[1].W[pk[j] * m.h + ps[c]];
    L1.b[j] = sk[j] * m.L[1].b[pk[j]];
  }
  for (let o = 0; o < m.o; o++) for (let c = 0; c < m.h; c++) L3.W[o * m.h + c] = m.L[3].W[o * m.h + ps[c]] / ss[c];
  return { ...m, L: [L0, L1, L2, L3] };
}

export { createRng };

/** Mean Jensen-Shannon divergence (nats) between the softmaxes of two [n, k] logit arrays, in float64. */
export function meanJs(a: Float32Array, b: Float32Array, k: number): number {
  const softmax = (z: Float32Array, r: number) => {
    const row = Array.from(z.subarray(r * k, (r + 1) * k));
    const m = Math.max(...row);
    const e = row.map((v) => Math.exp(v - m));
    const s = e.reduce((p, q) => p + q, 0);
    return e.map((v) => v / s);
  };
  const n = a.length / k;
  let total = 0;
  for (let r = 0; r < n; r++) {
    const p = softmax(a, r);
    const q = softmax(b, r);
    for (let i = 0; i < k; i++) {
      const m = (p[i] + q[i]) / 2;
      total += (p[i] > 0 ? 0.5 * p[i] * Math.log(p[i] / m) : 0) + (q[i] > 0 ? 0.5 * q[i] * Math.log(q[i] / m) : 0);
    }
  }
  return total / n;
}
