/**
 * Builds tiny ONNX models in TypeScript for tests and fixtures, with
 * onnx-proto (protobufjs). `buildModel` is the general form (any nodes,
 * initializers and typed inputs/outputs); `gemmSoftmaxModel` and `mlpModel`
 * are the shapes most tests need. Weight layouts follow ONNX: a Gemm with
 * transB = 1 stores W as [out, in] and computes y = x·Wᵀ + b.
 */
import { onnx } from 'onnx-proto';

export type ElemType = 'float32' | 'float64' | 'float16' | 'int8' | 'int16' | 'int32' | 'int64' | 'uint8' | 'uint16' | 'uint32' | 'uint64' | 'bool';

const ELEM: Record<ElemType, number> = {
  float32: onnx.TensorProto.DataType.FLOAT,
  float64: onnx.TensorProto.DataType.DOUBLE,
  float16: onnx.TensorProto.DataType.FLOAT16,
  int8: onnx.TensorProto.DataType.INT8,
  int16: onnx.TensorProto.DataType.INT16,
  int32: onnx.TensorProto.DataType.INT32,
  int64: onnx.TensorProto.DataType.INT64,
  uint8: onnx.TensorProto.DataType.UINT8,
  uint16: onnx.TensorProto.DataType.UINT16,
  uint32: onnx.TensorProto.DataType.UINT32,
  uint64: onnx.TensorProto.DataType.UINT64,
  bool: onnx.TensorProto.DataType.BOOL,
};

/** A graph input/output: a dimension is a number, a symbolic name, or null (unknown). */
export interface ValueSpec {
  name: string;
  dtype?: ElemType; // default float32
  shape: Array<number | string | null>;
}

/** An initializer (constant tensor); values are stored as raw little-endian bytes. */
export interface TensorInit {
  name: string;
  dims: number[];
  data: ArrayLike<number> | ArrayLike<bigint>;
  dtype?: 'float32' | 'float64' | 'int64' | 'int32'; // default float32
}

/** An attribute value, tagged with its ONNX type so ints and floats are never confused. */
export type AttrValue = { i: number } | { f: number } | { ints: number[] } | { floats: number[] } | { s: string } | { t: TensorInit };

export interface NodeSpec {
  op: string;
  inputs: string[];
  outputs: string[];
  name?: string;
  domain?: string;
  attrs?: Record<string, AttrValue>;
}

export interface ModelSpec {
  inputs: ValueSpec[];
  outputs: ValueSpec[];
  initializers?: TensorInit[];
  nodes: NodeSpec[];
  opset?: number; // default 13
  name?: string;
}

function valueInfo(v: ValueSpec): onnx.IValueInfoProto {
  return {
    name: v.name,
    type: {
      tensorType: {
        elemType: ELEM[v.dtype ?? 'float32'],
        shape: {
          dim: v.shape.map((d) => (typeof d === 'number' ? { dimValue: d } : typeof d === 'string' ? { dimParam: d } : {})),
        },
      },
    },
  };
}

export function tensorProto(t: TensorInit): onnx.ITensorProto {
  const dtype = t.dtype ?? 'float32';
  let raw: Uint8Array;
  if (dtype === 'float32') raw = new Uint8Array(Float32Array.from(t.data as ArrayLike<number>).buffer);
  else if (dtype === 'float64') raw = new Uint8Array(Float64Array.from(t.data as ArrayLike<number>).buffer);
  else if (dtype === 'int32') raw = new Uint8Array(Int32Array.from(t.data as ArrayLike<number>).buffer);
  else raw = new Uint8Array(BigInt64Array.from(Array.from(t.data as ArrayLike<number | bigint>, (x) => BigInt(x))).buffer);
  return { name: t.name, dims: t.dims, dataType: ELEM[dtype], rawData: raw };
}

function attribute(name: string, v: AttrValue): onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if ('i' in v) return { name, type: T.INT, i: v.i };
  if ('f' in v) return { name, type: T.FLOAT, f: v.f };
  if ('ints' in v) return { name, type: T.INTS, ints: v.ints };
  if ('floats' in v) return { name, type: T.FLOATS, floats: v.floats };
  if ('s' in v) return { name, type: T.STRING, s: new TextEncoder().encode(v.s) };
  return { name, type: T.TENSOR, t: tensorProto(v.t) };
}

/** Serialize a model to ONNX protobuf bytes. */
export function buildModel(spec: ModelSpec): Uint8Array {
  const model: onnx.IModelProto = {
    irVersion: 8,
    producerName: 'modeldiff-test',
    opsetImport: [{ domain: '', version: spec.opset ?? 13 }],
    graph: {
      name: spec.name ?? 'g',
      input: spec.inputs.map(valueInfo),
      output: spec.outputs.map(valueInfo),
      initializer: (spec.initializers ?? []).map(tensorProto),
      node: spec.nodes.map((n, i) => ({
        opType: n.op,
        input: n.inputs,
        output: n.outputs,
        name: n.name ?? `${n.op}_${i}`,
        domain: n.domain ?? '',
        attribute: Object.entries(n.attrs ?? {}).map(([k, v]) => attribute(k, v)),
      })),
    },
  };
  return onnx.ModelProto.encode(onnx.ModelProto.create(model)).finish();
}

export interface GemmSoftmaxSpec {
  /** Weights [k, d] (row-major), y = softmax(x·Wᵀ + b) or the raw logits. */
  W: ArrayLike<number>;
  b: ArrayLike<number>;
  k: number;
  d: number;
  softmax?: boolean; // default true
  inputName?: string; // default 'x'
  outputName?: string; // default 'y'
  /** Batch dimension in the declared input shape: a fixed number or a symbolic name (default 'N'). */
  batch?: number | string;
  inputDtype?: 'float32' | 'float64';
}

/** One Gemm (transB = 1) optionally followed by Softmax over the last axis. */
export function gemmSoftmaxModel(s: GemmSoftmaxSpec): Uint8Array {
  const x = s.inputName ?? 'x';
  const y = s.outputName ?? 'y';
  const softmax = s.softmax ?? true;
  const dtype = s.inputDtype ?? 'float32';
  const nodes: NodeSpec[] = [{ op: 'Gemm', inputs: [x, 'W', 'b'], outputs: [softmax ? 'logits' : y], attrs: { transB: { i: 1 } } }];
  if (softmax) nodes.push({ op: 'Softmax', inputs: ['logits'], outputs: [y], attrs: { axis: { i: -1 } } });
  return buildModel({
    inputs: [{ name: x, dtype, shape: [s.batch ?? 'N', s.d] }],
    outputs: [{ name: y, dtype, shape: [s.batch ?? 'N', s.k] }],
    initializers: [
      { name: 'W', dims: [s.k, s.d], data: s.W, dtype },
      { name: 'b', dims: [s.k], data: s.b, dtype },
    ],
    nodes,
  });
}

export type Activation = 'relu' | 'tanh' | 'sigmoid' | 'none';

export interface DenseLayer {
  /** Weights [out, in] row-major. */
  W: ArrayLike<number>;
  b: ArrayLike<number>;
  out: number;
  in: number;
  activation?: Activation; // applied after this layer; default 'none'
  /** Emit MatMul + Add (weights stored [in, out]) instead of Gemm. */
  matmul?: boolean;
}

/** A multi-layer perceptron of Gemm (or MatMul+Add) layers, optional final Softmax. */
export function mlpModel(spec: { layers: DenseLayer[]; softmax?: boolean; inputName?: string; outputName?: string }): Uint8Array {
  const input = spec.inputName ?? 'x';
  const output = spec.outputName ?? 'y';
  const nodes: NodeSpec[] = [];
  const inits: TensorInit[] = [];
  let cur = input;
  spec.layers.forEach((L, i) => {
    const w = `W${i}`;
    const b = `b${i}`;
    const z = `z${i}`;
    if (L.matmul) {
      const wt = new Float32Array(L.in * L.out);
      for (let o = 0; o < L.out; o++) for (let j = 0; j < L.in; j++) wt[j * L.out + o] = L.W[o * L.in + j];
      inits.push({ name: w, dims: [L.in, L.out], data: wt }, { name: b, dims: [L.out], data: L.b });
      nodes.push({ op: 'MatMul', inputs: [cur, w], outputs: [`m${i}`] }, { op: 'Add', inputs: [`m${i}`, b], outputs: [z] });
    } else {
      inits.push({ name: w, dims: [L.out, L.in], data: L.W }, { name: b, dims: [L.out], data: L.b });
      nodes.push({ op: 'Gemm', inputs: [cur, w, b], outputs: [z], attrs: { transB: { i: 1 } } });
    }
    cur = z;
    const act = L.activation ?? 'none';
    if (act !== 'none') {
      const op = act === 'relu' ? 'Relu' : act === 'tanh' ? 'Tanh' : 'Sigmoid';
      nodes.push({ op, inputs: [cur], outputs: [`a${i}`] });
      cur = `a${i}`;
    }
  });
  if (spec.softmax) {
    nodes.push({ op: 'Softmax', inputs: [cur], outputs: ['probs'], attrs: { axis: { i: -1 } } });
    cur = 'probs';
  }
  nodes.push({ op: 'Identity', inputs: [cur], outputs: [output] });
  const first = spec.layers[0];
  const last = spec.layers[spec.layers.length - 1];
  return buildModel({
    inputs: [{ name: input, shape: ['N', first.in] }],
    outputs: [{ name: output, shape: ['N', last.out] }],
    initializers: inits,
    nodes,
  });
}
