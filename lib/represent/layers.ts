/**
 * Candidate layers for representation similarity: the tensors an ONNX graph's
 * nodes produce whose values are "a representation of the input" — outputs of
 * nonlinearities and pooling (the usual choice), of the linear ops before them,
 * and the graph outputs. Layers are picked by tensor name, by node name, or by
 * index into `listLayers()` (`#3` or `3`).
 */
import { ModeldiffError } from '../errors';
import { type OnnxSource, graphOf, readOnnx } from '../io/onnx';

/** Nonlinearities and pooling: their outputs are the classic "hidden layers". */
const ACTIVATION_OPS = new Set([
  'Relu', 'LeakyRelu', 'PRelu', 'Elu', 'Selu', 'Celu', 'Gelu', 'Tanh', 'Sigmoid', 'HardSigmoid', 'HardSwish',
  'Softplus', 'Softsign', 'Mish', 'Swish', 'MaxPool', 'AveragePool', 'GlobalAveragePool', 'GlobalMaxPool', 'Softmax',
]);
/** Linear ops (pre-activations) and shape ops users may also want. */
const LINEAR_OPS = new Set(['Gemm', 'MatMul', 'Conv', 'ConvTranspose', 'Add', 'BatchNormalization', 'LayerNormalization', 'Flatten']);

export interface LayerInfo {
  /** Position in the model's candidate list (stable for a given graph). */
  index: number;
  /** Tensor name (what onnxruntime exposes). */
  tensor: string;
  /** Producing node's name (may be empty) and op type. */
  node: string;
  op: string;
  /** `activation`: nonlinearity / pooling; `linear`: Gemm, Conv, Add, ...; `output`: a graph output. */
  kind: 'activation' | 'linear' | 'output';
}

export function listLayers(model: OnnxSource): LayerInfo[] {
  const graph = graphOf(readOnnx(model));
  const outputs = new Set(graph.output.map((o) => o.name));
  const layers: LayerInfo[] = [];
  for (const node of graph.node) {
    const op = node.opType ?? '';
    const tensor = node.output?.[0];
    if (!tensor) continue;
    const isOut = outputs.has(tensor);
    if (!isOut && !ACTIVATION_OPS.has(op) && !LINEAR_OPS.has(op)) continue;
    const kind = isOut ? 'output' : ACTIVATION_OPS.has(op) ? 'activation' : 'linear';
    layers.push({ index: layers.length, tensor, node: node.name ?? '', op, kind });
  }
  return layers;
}

/** The layers compared by default: activations and graph outputs (all candidates if there are none). */
export function defaultLayers(layers: LayerInfo[]): LayerInfo[] {
  const picked = layers.filter((l) => l.kind !== 'linear');
  return picked.some((l) => l.kind === 'activation') ? picked : layers;
}

/** Resolve a layer reference: `#k` / `k` (index), a tensor name, or a node name. */
export function findLayer(layers: LayerInfo[], ref: string | number, modelLabel: string): LayerInfo {
  const s = String(ref).trim();
  const byTensor = layers.find((l) => l.tensor === s) ?? layers.find((l) => l.node !== '' && l.node === s);
  if (byTensor) return byTensor;
  const m = /^#?(\d+)$/.exec(s);
  if (m && Number(m[1]) < layers.length) return layers[Number(m[1])];
  throw new ModeldiffError(
    'INVALID_ARGUMENT',
    `${modelLabel}: no layer "${s}" (candidates: ${layers.map((l) => `#${l.index} ${l.tensor} [${l.op}]`).join(', ') || 'none'})`,
  );
}
