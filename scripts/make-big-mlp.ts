/**
 * Writes a large MLP as an ONNX file with random float32 weights, for measuring the memory
 * and time of `modeldiff weights` on real sizes (issue 15). The files are big (width 4096:
 * 132 MB each): write them to a temp folder, never into the repository.
 *
 *   node --import tsx scripts/make-big-mlp.ts OUT.onnx WIDTH [SEED]
 *
 * The model is x[N, 256] → Gemm(W) → Relu → Gemm → Relu → Gemm → Relu → Gemm → y[N, 10]
 * (three hidden layers of WIDTH units, Gemm with transB = 1), weights uniform in ±0.025 from a
 * seeded generator (a different SEED gives an independent model). The file is streamed one
 * tensor at a time, so writing it needs memory for one tensor, not the whole model.
 */
import fs from 'node:fs';

import { onnx } from 'onnx-proto';

/** Sizes of the layers of the MLP the script writes: 256 → width × 3 → 10. */
export function mlpSizes(width: number): number[] {
  return [256, width, width, width, 10];
}

/** n uniform floats in ±0.025, as float32 bytes, from a 32-bit LCG seeded with `seed`. */
function randomFloats(n: number, seed: number): Uint8Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s / 2 ** 32 - 0.5) * 0.05;
  }
  return new Uint8Array(out.buffer);
}

/** A length-delimited protobuf field: tag, length, bytes. */
function lengthDelimited(field: number, length: number): Uint8Array {
  const bytes: number[] = [];
  for (let v = (field << 3) | 2; ; v = Math.floor(v / 128)) {
    bytes.push(v >= 0x80 ? (v & 0x7f) | 0x80 : v);
    if (v < 0x80) break;
  }
  for (let v = length; ; v = Math.floor(v / 128)) {
    bytes.push(v >= 0x80 ? (v & 0x7f) | 0x80 : v);
    if (v < 0x80) break;
  }
  return Uint8Array.from(bytes);
}

/** Write the MLP for `sizes` to `file`, one initializer at a time. */
export function writeBigMlp(file: string, sizes: number[], seed: number): void {
  const nodes: onnx.INodeProto[] = [];
  const inits: Array<{ name: string; dims: number[]; seed: number }> = [];
  let x = 'x';
  for (let l = 0; l + 1 < sizes.length; l++) {
    const [i, o] = [sizes[l], sizes[l + 1]];
    const last = l + 2 === sizes.length;
    inits.push({ name: `W${l}`, dims: [o, i], seed: seed * 1000 + 2 * l });
    inits.push({ name: `b${l}`, dims: [o], seed: seed * 1000 + 2 * l + 1 });
    const gemmOut = last ? 'y' : `g${l}`;
    nodes.push({ opType: 'Gemm', input: [x, `W${l}`, `b${l}`], output: [gemmOut], attribute: [{ name: 'transB', type: 2, i: 1 }] });
    if (!last) nodes.push({ opType: 'Relu', input: [gemmOut], output: [`h${l}`] });
    x = last ? 'y' : `h${l}`;
  }
  const vi = (name: string, d: number) => ({ name, type: { tensorType: { elemType: 1, shape: { dim: [{ dimParam: 'N' }, { dimValue: d }] } } } });
  const graph = onnx.GraphProto.encode({ name: 'mlp', node: nodes, input: [vi('x', sizes[0])], output: [vi('y', sizes[sizes.length - 1])] }).finish();
  const model = onnx.ModelProto.encode({ irVersion: 8, opsetImport: [{ domain: '', version: 13 }] }).finish();
  // Protobuf fields may come in any order, so GraphProto.initializer (field 5) can follow the
  // graph's other fields; the graph's length must be known up front, so encode each tensor's
  // header first and sum.
  const tensor = (t: (typeof inits)[number]) => onnx.TensorProto.encode({ name: t.name, dims: t.dims, dataType: 1 }).finish();
  const tensorLength = (t: (typeof inits)[number]) => {
    const bytes = 4 * t.dims.reduce((a, b) => a * b, 1);
    return tensor(t).length + lengthDelimited(9, bytes).length + bytes;
  };
  const graphLength = graph.length + inits.reduce((n, t) => n + lengthDelimited(5, tensorLength(t)).length + tensorLength(t), 0);
  const tmp = `${file}.tmp-${process.pid}`;
  const fd = fs.openSync(tmp, 'w');
  try {
    for (const part of [model, lengthDelimited(7, graphLength), graph]) fs.writeSync(fd, part);
    for (const t of inits) {
      const n = t.dims.reduce((a, b) => a * b, 1);
      fs.writeSync(fd, lengthDelimited(5, tensorLength(t)));
      fs.writeSync(fd, tensor(t));
      fs.writeSync(fd, lengthDelimited(9, 4 * n));
      fs.writeSync(fd, randomFloats(n, t.seed));
    }
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
}

if (require.main === module) {
  const [out, widthArg, seedArg] = process.argv.slice(2);
  const width = Number(widthArg);
  if (!out || !Number.isInteger(width) || width < 1) {
    console.error('usage: node --import tsx scripts/make-big-mlp.ts OUT.onnx WIDTH [SEED]');
    process.exit(2);
  }
  writeBigMlp(out, mlpSizes(width), Number(seedArg ?? 1));
  console.log(`wrote ${out} (${(fs.statSync(out).size / 2 ** 20).toFixed(1)} MiB)`);
}
