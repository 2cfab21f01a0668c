/**
 * The models of bench/weights-scale.bench.ts, written to a temp folder (never the repository):
 * ReLU MLPs of Gemm layers with random float32 weights, their permuted copies, and, for a
 * conv net exported by torch, the BatchNorm-folded form and a permuted copy of it made through
 * modeldiff's own graph analysis (every hidden group, residual streams included).
 */
import fs from 'node:fs';

import { onnx } from 'onnx-proto';

import { encodeOnnx, readOnnx } from '../../lib/io/onnx';
import { createRng } from '../../lib/util/rng';
import { buildNetwork } from '../../lib/weights/graph';
import { applyPermutationSync } from '../../lib/weights/kernels';
import { groupView } from '../../lib/weights/views';
import { writeNetwork } from '../../lib/weights/writeback';

export interface Dense {
  W: Float32Array; // out × in
  b: Float32Array;
  out: number;
  in: number;
}

/** Uniform(-s, s) weights, s = 1/sqrt(fan-in), from a fast LCG (34.7M values at width 4096). */
export function randomMlp(sizes: number[], seed: number): Dense[] {
  let s = seed >>> 0;
  const next = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
  return sizes.slice(1).map((out, l) => {
    const fanIn = sizes[l];
    const scale = 1 / Math.sqrt(fanIn);
    const W = new Float32Array(out * fanIn);
    for (let i = 0; i < W.length; i++) W[i] = next() * scale;
    const b = Float32Array.from({ length: out }, () => next() * 0.1);
    return { W, b, out, in: fanIn };
  });
}

/** Every hidden layer's units permuted (new unit i = old unit perm[i]): the same function. */
export function permutedMlp(layers: Dense[], seed: number): Dense[] {
  const rng = createRng(seed);
  const out = layers.map((l) => ({ ...l, W: l.W.slice(), b: l.b.slice() }));
  for (let h = 0; h + 1 < layers.length; h++) {
    const perm = rng.shuffle(Array.from({ length: layers[h].out }, (_, i) => i));
    const [L, N] = [out[h], out[h + 1]];
    const [W, b, Wn] = [L.W.slice(), L.b.slice(), N.W.slice()];
    for (let i = 0; i < L.out; i++) {
      const j = perm[i];
      W.set(L.W.subarray(j * L.in, (j + 1) * L.in), i * L.in);
      b[i] = L.b[j];
      for (let o = 0; o < N.out; o++) Wn[o * N.in + i] = N.W[o * N.in + j];
    }
    Object.assign(L, { W, b });
    N.W = Wn;
  }
  return out;
}

export function writeMlp(file: string, layers: Dense[]): void {
  const nodes: onnx.INodeProto[] = [];
  const inits: onnx.ITensorProto[] = [];
  let x = 'x';
  layers.forEach((l, i) => {
    inits.push({ name: `W${i}`, dims: [l.out, l.in], dataType: 1, rawData: new Uint8Array(l.W.buffer, l.W.byteOffset, l.W.byteLength) });
    inits.push({ name: `b${i}`, dims: [l.out], dataType: 1, rawData: new Uint8Array(l.b.buffer, l.b.byteOffset, l.b.byteLength) });
    const last = i + 1 === layers.length;
    nodes.push({ opType: 'Gemm', input: [x, `W${i}`, `b${i}`], output: [last ? 'y' : `g${i}`], attribute: [{ name: 'transB', type: 2, i: 1 }] });
    if (!last) nodes.push({ opType: 'Relu', input: [`g${i}`], output: [`h${i}`] });
    x = `h${i}`;
  });
  const vi = (name: string, d: number) => ({ name, type: { tensorType: { elemType: 1, shape: { dim: [{ dimParam: 'N' }, { dimValue: d }] } } } });
  const model = onnx.ModelProto.encode({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 13 }],
    graph: { name: 'mlp', node: nodes, initializer: inits, input: [vi('x', layers[0].in)], output: [vi('y', layers[layers.length - 1].out)] },
  }).finish();
  fs.writeFileSync(file, model);
}

/** `source` with BatchNorm folded (so raw distances compare like with like), and a copy with every hidden group permuted. */
export function foldedAndPermuted(source: string, folded: string, permuted: string | undefined, seed: number): void {
  const net = buildNetwork(readOnnx(source));
  fs.writeFileSync(folded, encodeOnnx(writeNetwork(net)));
  if (!permuted) return;
  const rng = createRng(seed);
  for (const id of net.hidden) {
    const perm = Int32Array.from(rng.shuffle(Array.from({ length: net.groups[id].units }, (_, i) => i)));
    const { view, commit } = groupView(net, id);
    applyPermutationSync(view, perm);
    commit(perm);
  }
  fs.writeFileSync(permuted, encodeOnnx(writeNetwork(net)));
}
