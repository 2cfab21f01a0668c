/**
 * Float initializers an exporter writes that are not (new) weights, found
 * by the graph pattern they sit in:
 * - rotary position tables: x·cos + rotate_half(x)·sin, with
 *   rotate_half(x) = Concat(−x[..., d/2:], x[..., :d/2]) on the last axis.
 *   The dynamo exporter folds Llama's cos/sin into initializers; they are a
 *   function of positions, equal in every model, and counting them made
 *   relative distance and cosine depend on the sequence length exported;
 * - a tied embedding stored a second time for the LM head: the dynamo and
 *   TorchScript exporters fold the head's transpose of GPT-2's token table
 *   into its own initializer. The head's copy equals the table (transposed)
 *   exactly; counting both counted one parameter twice.
 */
import { type OnnxModel, graphOf, type onnx, tensorDims, tensorToFloat64 } from '../io/onnx';

/** Constant inputs (by name) of the cos and sin Muls of every rotary pattern in the graph. */
export function rotaryTables(graph: onnx.IGraphProto, isConstant: (name: string) => boolean): Set<string> {
  const producer = new Map<string, onnx.INodeProto>();
  for (const n of graph.node ?? []) for (const o of n.output ?? []) producer.set(o, n);
  const opOf = (name: string) => producer.get(name)?.opType;
  /** Mul(data, constant) in either order: [data, constant]. */
  const mulByConstant = (name: string): [string, string] | undefined => {
    const n = producer.get(name);
    if (n?.opType !== 'Mul') return undefined;
    const [a, b] = n.input ?? [];
    if (isConstant(b) && !isConstant(a)) return [a, b];
    if (isConstant(a) && !isConstant(b)) return [b, a];
    return undefined;
  };
  /** The x of Concat(Neg(Slice(x)), Slice(x)), or undefined. */
  const rotateHalfOf = (name: string): string | undefined => {
    const cat = producer.get(name);
    if (cat?.opType !== 'Concat' || (cat.input ?? []).length !== 2) return undefined;
    const [negName, second] = cat.input ?? [];
    const neg = producer.get(negName);
    if (neg?.opType !== 'Neg' || opOf(second) !== 'Slice') return undefined;
    const first = (neg.input ?? [])[0];
    if (opOf(first) !== 'Slice') return undefined;
    const x = (producer.get(first)!.input ?? [])[0];
    return x === (producer.get(second)!.input ?? [])[0] ? x : undefined;
  };
  const tables = new Set<string>();
  for (const n of graph.node ?? []) {
    if (n.opType !== 'Add') continue;
    const terms = (n.input ?? []).map(mulByConstant);
    if (terms.length !== 2 || !terms[0] || !terms[1]) continue;
    for (const [cosTerm, sinTerm] of [[terms[0], terms[1]], [terms[1], terms[0]]]) {
      if (rotateHalfOf(sinTerm[0]) === cosTerm[0]) {
        tables.add(cosTerm[1]);
        tables.add(sinTerm[1]);
      }
    }
  }
  return tables;
}

/**
 * Counted matrices that are an exact copy (or transpose) of an embedding
 * table: the first name of each pair is kept, the copy returned.
 */
export function tiedCopies(model: OnnxModel, tables: string[], matrices: string[]): Set<string> {
  const inits = new Map(graphOf(model).initializer.map((t) => [t.name ?? '', t]));
  const copies = new Set<string>();
  for (const m of matrices) {
    const tm = inits.get(m)!;
    const dm = tensorDims(tm);
    let vm: Float64Array | undefined; // decoded once, on the first table of a fitting shape
    for (const e of tables) {
      if (e === m) continue;
      const te = inits.get(e)!;
      const de = tensorDims(te);
      if (dm.length !== 2 || de.length !== 2) continue;
      const same = dm[0] === de[0] && dm[1] === de[1];
      const transposed = dm[0] === de[1] && dm[1] === de[0];
      if (!same && !transposed) continue;
      vm ??= tensorToFloat64(tm, model.label);
      const ve = tensorToFloat64(te, model.label);
      const [rows, cols] = de;
      let equal = true;
      if (same) for (let i = 0; i < ve.length && equal; i++) equal = vm[i] === ve[i];
      else for (let r = 0; r < rows && equal; r++) for (let c = 0; c < cols && equal; c++) equal = vm[c * rows + r] === ve[r * cols + c];
      // A square table equal to its own transpose would match both ways; either way it is one parameter.
      if (equal) {
        copies.add(m);
        break;
      }
    }
  }
  return copies;
}
