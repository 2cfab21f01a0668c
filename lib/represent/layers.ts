/**
 * Candidate layers for representation similarity: the tensors an ONNX graph's
 * nodes produce whose values are "a representation of the input" — outputs of
 * nonlinearities and pooling (the usual choice), of the linear ops before them,
 * and the graph outputs. Layers are picked by tensor name, by node name, or by
 * index into `listLayers()` (`#3` or `3`).
 *
 * Exporters often write an activation as several elementwise nodes: SiLU as
 * x·Sigmoid(x), HardSwish as x·HardSigmoid(x) (opset < 14), GELU as
 * x·(1 + Erf(x/√2))·0.5 or its Tanh form, Mish as x·Tanh(Softplus(x)). Such a
 * cluster — elementwise nodes that are all functions of one tensor x, with a
 * nonlinearity among them — is one layer: its last tensor is the candidate, and
 * the pieces inside (the Sigmoid, the Erf) are not. A Softmax that feeds a MatMul
 * (directly or through a Cast) is an attention map ([batch, heads, s, s]), not units of a
 * layer: not a candidate. Elementwise nonlinearities applied one after another directly
 * (tanh(relu(x))) form one cluster too: the last one is the layer.
 */
import { ModeldiffError } from '../errors';
import { DataType, type OnnxSource, attrInt, graphOf, readOnnx } from '../io/onnx';

/** Nonlinearities as single ops. */
const NONLINEARITIES = [
  'Relu', 'LeakyRelu', 'PRelu', 'Elu', 'Selu', 'Celu', 'Gelu', 'Tanh', 'Sigmoid', 'HardSigmoid', 'HardSwish',
  'Softplus', 'Softsign', 'Mish', 'Swish', 'Clip', 'ThresholdedRelu',
];
/** Nonlinearities and pooling: their outputs are the classic "hidden layers". */
const ACTIVATION_OPS = new Set([...NONLINEARITIES, 'MaxPool', 'AveragePool', 'GlobalAveragePool', 'GlobalMaxPool', 'Softmax']);
/** Ops that make an elementwise cluster nonlinear (Erf: GELU's erf form). */
const NONLINEAR_OPS = new Set([...NONLINEARITIES, 'Erf']);
/** Elementwise ops a cluster may be built of: one tensor input (others constant) or two of one cluster. */
const ELEMENTWISE_OPS = new Set([...NONLINEAR_OPS, 'Add', 'Sub', 'Mul', 'Div', 'Pow', 'Neg', 'Exp', 'Log', 'Sqrt', 'Reciprocal', 'Abs', 'Max', 'Min']);
/** Linear ops (pre-activations) and shape ops users may also want. */
const LINEAR_OPS = new Set(['Gemm', 'MatMul', 'Conv', 'ConvTranspose', 'Add', 'BatchNormalization', 'LayerNormalization', 'Flatten']);

export interface LayerInfo {
  /** Position in the model's candidate list (stable for a given graph). */
  index: number;
  /** Tensor name (what onnxruntime exposes). */
  tensor: string;
  /** Producing node's name (may be empty) and op type (for a cluster: the activation it computes, e.g. `SiLU`). */
  op: string;
  node: string;
  /** `activation`: nonlinearity / pooling; `linear`: Gemm, Conv, Add, ...; `output`: a graph output. */
  kind: 'activation' | 'linear' | 'output';
  /** The tensor's sample axis when it is not 0: an LSTM/GRU/RNN's Y_h [directions, n, hidden] (1) or Y [seq, directions, n, hidden] (2). */
  sampleAxis?: number;
}

/** Recurrent ops: their final hidden state Y_h (second output) is the layer, else all steps' states Y. */
const RECURRENT_OPS = new Set(['LSTM', 'GRU', 'RNN']);

interface GraphNode {
  opType?: string | null;
  domain?: string | null;
  name?: string | null;
  input?: string[] | null;
  output?: string[] | null;
}

const FLOAT_TYPES = new Set([DataType.FLOAT, DataType.FLOAT16, DataType.DOUBLE, DataType.BFLOAT16]);

export function listLayers(model: OnnxSource): LayerInfo[] {
  const graph = graphOf(readOnnx(model));
  // Graph outputs that can be compared: float tensors. Integer class labels (scikit-learn's
  // first output) and ZipMap's sequences of maps are not; the tensor a ZipMap relabels is.
  const outputs = new Set<string>();
  const skipped = new Set<string>();
  for (const o of graph.output) {
    const elem = o.type?.tensorType ? o.type.tensorType.elemType ?? 0 : -1;
    (elem === 0 || FLOAT_TYPES.has(elem) ? outputs : skipped).add(o.name ?? '');
  }
  for (const n of graph.node) if (n.opType === 'ZipMap' && n.input?.[0]) outputs.add(n.input[0]);
  const { clusters, attentionMaps } = activationClusters(graph.node, new Set(graph.initializer.map((t) => t.name ?? '')));
  const layers: LayerInfo[] = [];
  for (const node of graph.node) {
    const op = node.opType ?? '';
    // ai.onnx.ml classifiers write (label, scores): the scores are the representation.
    const second = op.endsWith('Classifier') && node.domain === 'ai.onnx.ml';
    if (RECURRENT_OPS.has(op)) {
      // Y_h [directions, n, hidden], or when the export dropped it Y [seq, directions, n, hidden]
      // (layout 0, the default; layout 1 puts the samples first).
      const finalState = node.output?.[1];
      const tensor = finalState || node.output?.[0];
      if (!tensor) continue;
      const batchFirst = attrInt(node, 'layout', 0) === 1;
      const axis = finalState ? 1 : 2;
      layers.push({ index: layers.length, tensor, node: node.name ?? '', op: `${op}(${finalState ? 'Y_h' : 'Y'})`, kind: 'activation', ...(batchFirst ? {} : { sampleAxis: axis }) });
      continue;
    }
    const tensor = second ? node.output?.[1] : node.output?.[0];
    if (!tensor || skipped.has(tensor)) continue;
    const isOut = outputs.has(tensor);
    const cluster = clusters.get(tensor);
    let kind: LayerInfo['kind'] | undefined;
    if (isOut) kind = 'output';
    else if (cluster === 'inner' || attentionMaps.has(tensor)) kind = undefined;
    else if (cluster !== undefined || ACTIVATION_OPS.has(op)) kind = 'activation';
    else if (LINEAR_OPS.has(op)) kind = 'linear';
    if (kind === undefined) continue;
    const label = cluster !== undefined && cluster !== 'inner' ? cluster : op;
    layers.push({ index: layers.length, tensor, node: node.name ?? '', op: label, kind });
  }
  return layers;
}

/**
 * Tensors of elementwise activation clusters: the cluster's last tensor maps to the activation
 * it computes (`SiLU`, `GELU`, ...), tensors inside a cluster map to 'inner'. Also marks
 * the Softmax outputs that feed a MatMul (attention maps).
 */
function activationClusters(nodes: GraphNode[], initializers: Set<string>): { clusters: Map<string, string>; attentionMaps: Set<string> } {
  const constant = new Set(initializers);
  const producer = new Map<string, GraphNode>();
  const consumers = new Map<string, GraphNode[]>();
  for (const n of nodes) {
    if (n.opType === 'Constant') for (const o of n.output ?? []) constant.add(o);
    for (const o of n.output ?? []) producer.set(o, n);
    for (const i of n.input ?? []) {
      if (!i) continue;
      const list = consumers.get(i);
      if (list) list.push(n);
      else consumers.set(i, [n]);
    }
  }
  // root(t): the tensor x of which t is an elementwise function (t itself when it is not one).
  const root = new Map<string, string>();
  const nonlinear = new Set<string>(); // tensors whose elementwise chain from the root has a nonlinearity
  const ops = new Map<string, Set<string>>(); // op types inside each tensor's chain
  const rootOf = (t: string): string => {
    const known = root.get(t);
    if (known !== undefined) return known;
    root.set(t, t); // provisional, breaks cycles
    const n = producer.get(t);
    let r = t;
    if (n && ELEMENTWISE_OPS.has(n.opType ?? '') && n.output?.[0] === t) {
      const live = (n.input ?? []).filter((i) => i && !constant.has(i));
      const roots = new Set(live.map(rootOf));
      if (roots.size === 1 && live.length > 0) {
        r = [...roots][0];
        const inner = new Set<string>([n.opType ?? '']);
        for (const i of live) for (const o of ops.get(i) ?? []) inner.add(o);
        ops.set(t, inner);
        if (NONLINEAR_OPS.has(n.opType ?? '') || live.some((i) => nonlinear.has(i))) nonlinear.add(t);
      }
    }
    root.set(t, r);
    return r;
  };
  for (const n of nodes) if (n.output?.[0]) rootOf(n.output[0]); // in graph (topological) order: shallow recursion
  const result = new Map<string, string>();
  const attentionMaps = new Set<string>();
  for (const n of nodes) {
    const t = n.output?.[0];
    if (!t) continue;
    if (n.opType === 'Softmax' && feedsMatMul(t, consumers)) attentionMaps.add(t);
    const r = rootOf(t);
    if (r === t || !nonlinear.has(t)) continue;
    const continues = (consumers.get(t) ?? []).some((c) => {
      const o = c.output?.[0];
      return o !== undefined && ELEMENTWISE_OPS.has(c.opType ?? '') && rootOf(o) === r;
    });
    if (continues) {
      result.set(t, 'inner');
      continue;
    }
    const inner = ops.get(t) ?? new Set<string>();
    if (inner.size > 1) result.set(t, clusterName(inner));
  }
  return { clusters: result, attentionMaps };
}

/** Whether a tensor reaches a MatMul directly or through Cast/Identity/Dropout (attention weights · V). */
function feedsMatMul(t: string, consumers: Map<string, GraphNode[]>, depth = 0): boolean {
  return (consumers.get(t) ?? []).some(
    (c) => c.opType === 'MatMul' || (depth < 4 && ['Cast', 'Identity', 'Dropout'].includes(c.opType ?? '') && feedsMatMul(c.output?.[0] ?? '', consumers, depth + 1)),
  );
}

/** What an elementwise cluster computes, from the ops inside it. */
function clusterName(ops: Set<string>): string {
  const gated = ops.has('Mul');
  if (ops.has('Erf')) return 'GELU(erf)';
  if (ops.has('Tanh') && (ops.has('Softplus') || (ops.has('Exp') && ops.has('Log')))) return 'Mish';
  if (ops.has('Tanh') && ops.has('Pow')) return 'GELU(tanh)';
  if (gated && ops.has('HardSigmoid')) return 'HardSwish';
  if (gated && ops.has('Sigmoid')) return 'SiLU';
  return [...ops].filter((o) => NONLINEAR_OPS.has(o)).join('+');
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
