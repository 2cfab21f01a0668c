/**
 * Never a silent zero: when every weight distance that was counted is exactly 0, the two models
 * may still differ in what weight distances do not count (a temperature scalar, a Constant
 * node's value, a LayerNorm epsilon, the graph itself). This finds the first such difference,
 * so the weights view stops with it instead of printing 0 for two different functions.
 */
import { ModeldiffError } from '../errors';
import { type OnnxModel, graphOf, isFloatTensor, nodeLabel, onnx, tensorDims, tensorToFloat64 } from '../io/onnx';
import { countedWeights } from './counted';

/** Equal values (floats compared as numbers: -0 is 0), else equal protobuf encodings without the name. */
function sameTensor(a: onnx.ITensorProto, b: onnx.ITensorProto): boolean {
  if (isFloatTensor(a) && isFloatTensor(b)) {
    const [x, y] = [tensorToFloat64(a), tensorToFloat64(b)];
    return tensorDims(a).join() === tensorDims(b).join() && x.length === y.length && x.every((v, i) => v === y[i]);
  }
  const bytes = (t: onnx.ITensorProto) => onnx.TensorProto.encode(onnx.TensorProto.create({ ...t, name: '' })).finish();
  return Buffer.from(bytes(a)).equals(Buffer.from(bytes(b)));
}

function sameAttribute(a: onnx.IAttributeProto, b: onnx.IAttributeProto): boolean {
  const bytes = (x: onnx.IAttributeProto) => onnx.AttributeProto.encode(onnx.AttributeProto.create(x)).finish();
  return Buffer.from(bytes(a)).equals(Buffer.from(bytes(b)));
}

/**
 * The first uncounted tensor, attribute or node in which a and b differ, described; undefined
 * when none does. Counted weights are left out (canonical forms fold BatchNorm into them, so a
 * folded copy's weights differ as stored and still compute the same function), and so are
 * initializers only one model has (paired by use, or folded away), and the `parameters` the
 * weight-space networks read (an RNN's initial state). Nodes are compared position by position
 * when both graphs have as many (a different count can be the same function: BatchNorm folded,
 * a ZipMap added).
 */
export function firstUncountedDifference(a: OnnxModel, b: OnnxModel, parameters: Iterable<string> = []): string | undefined {
  const [ga, gb] = [graphOf(a), graphOf(b)];
  const counted = new Set([...countedWeights(a).initializers, ...parameters]);
  const initsB = new Map(gb.initializer.map((t) => [t.name ?? '', t]));
  for (const t of ga.initializer) {
    const other = initsB.get(t.name ?? '');
    if (other && !counted.has(t.name ?? '') && !sameTensor(t, other)) return `initializer "${t.name}"`;
  }
  if (ga.node.length !== gb.node.length) return undefined;
  for (let i = 0; i < ga.node.length; i++) {
    const [na, nb] = [ga.node[i], gb.node[i]];
    if (na.opType !== nb.opType || (na.domain ?? '') !== (nb.domain ?? '') || (na.input ?? []).length !== (nb.input ?? []).length) {
      return `the graph (node ${i + 1}: ${nodeLabel(na)} vs ${nodeLabel(nb)})`;
    }
    const attrsB = new Map((nb.attribute ?? []).map((x) => [x.name ?? '', x]));
    const names = new Set([...(na.attribute ?? []).map((x) => x.name ?? ''), ...attrsB.keys()]);
    for (const name of names) {
      const x = (na.attribute ?? []).find((y) => y.name === name);
      const y = attrsB.get(name);
      if (!x || !y || !sameAttribute(x, y)) return `attribute "${name}" of ${nodeLabel(na)}`;
    }
  }
  return undefined;
}

/** Throws when the counted distances (raw first, if computed) are all exactly 0 but the models differ elsewhere. */
export function refuseSilentZero(distances: Array<{ l2: number } | undefined>, a: OnnxModel, b: OnnxModel, parameters?: Iterable<string>): void {
  const counted = distances.filter((d) => d !== undefined);
  if (counted.length === 0 || counted.some((d) => d!.l2 !== 0)) return;
  const where = firstUncountedDifference(a, b, parameters);
  if (where === undefined) return;
  throw new ModeldiffError(
    'UNCOUNTED_DIFFERENCE',
    `${a.label} and ${b.label} have the same weights but differ in ${where}, which weight distances do not count; compare their outputs (compare measures the function)`,
  );
}
