/**
 * scikit-learn exports (skl2onnx, default options) end in an ai.onnx.ml
 * ZipMap: the [n, classes] probability tensor becomes a sequence of
 * {class label: probability} maps, which onnxruntime-node cannot return.
 * A map has no column order, so the rows modeldiff reads are the
 * probabilities in ascending class-label order (numeric for int64 labels,
 * by code point for strings): the model is rewritten so that the ZipMap's
 * output is the tensor it zips, its columns gathered into that order (for
 * skl2onnx, whose labels are scikit-learn's sorted `classes_`, the identity).
 * The same model exported with zipmap=False gives the same rows.
 */
import { ModeldiffError } from '../errors';
import { type OnnxSource, DataType, attribute, encodeOnnx, graphOf, onnx, readOnnx, toNumber } from '../io/onnx';

export interface UnzippedModel {
  bytes: Uint8Array;
  /** The class labels in the order of the rows' columns. */
  labels: Array<number | string>;
}

/**
 * The model with output `output` (written by a ZipMap) turned into a float
 * tensor [n, classes]; undefined when no ZipMap writes that output.
 */
export function unzipMapOutput(source: OnnxSource, output: string, label: string): UnzippedModel | undefined {
  const model = readOnnx(source);
  const graph = graphOf(model);
  const at = graph.node.findIndex((n) => n.opType === 'ZipMap' && (n.output ?? [])[0] === output);
  if (at < 0) return undefined;
  const zip = graph.node[at];
  const ints = attribute(zip, 'classlabels_int64s')?.ints ?? [];
  const strings = (attribute(zip, 'classlabels_strings')?.strings ?? []).map((s) => Buffer.from(s).toString('utf8'));
  const labels: Array<number | string> = ints.length ? ints.map(toNumber) : strings;
  if (labels.length === 0) throw new ModeldiffError('MODEL_OUTPUT', `${label}: the ZipMap writing output "${output}" has no class labels`, { option: 'output' });
  const order = labels.map((_, i) => i).sort((i, j) => (labels[i] < labels[j] ? -1 : labels[i] > labels[j] ? 1 : 0));
  const input = (zip.input ?? [])[0];
  const sorted = order.every((j, i) => j === i);
  const indices = `${output}__class_order`;
  graph.node[at] = sorted
    ? onnx.NodeProto.create({ opType: 'Identity', name: zip.name ?? '', input: [input], output: [output] })
    : onnx.NodeProto.create({ opType: 'Gather', name: zip.name ?? '', input: [input, indices], output: [output], attribute: [{ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: 1 }] });
  if (!sorted) graph.initializer.push(onnx.TensorProto.create({ name: indices, dims: [order.length], dataType: DataType.INT64, int64Data: order }));
  const declared = graph.output.find((o) => o.name === output)!;
  declared.type = onnx.TypeProto.create({
    tensorType: { elemType: DataType.FLOAT, shape: { dim: [{ dimParam: 'n' }, { dimValue: labels.length }] } },
  });
  return { bytes: encodeOnnx(model), labels: order.map((j) => labels[j]) };
}
