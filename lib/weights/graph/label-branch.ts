/**
 * The ends of classifier graphs, which hold no units to permute:
 * - scikit-learn's label branch (skl2onnx): ArgMax of the probabilities →
 *   ArrayFeatureExtractor(classes) → Reshape → Cast(int64) → the label output.
 *   ArgMax reads its input's units in order, so their group is fixed; what it
 *   writes are class indices ("labels"), which only such ops may carry on.
 * - ZipMap (probabilities as a sequence of maps): its input's order is the
 *   class order, fixed.
 * - ai.onnx.ml LinearClassifier/LinearRegressor: weights held in attributes
 *   (counted by the raw distance, see counted.ts), which cannot be permuted
 *   with the units feeding them: those are fixed too.
 */
import { attrInt } from '../../io/onnx';
import type { OpRule, RuleContext } from './rule';
import { ALL, type TensorState } from './tensor-state';

/** Ops that may read class indices (an ArgMax result) and write them on. */
const LABEL_OPS = new Set(['Cast', 'Reshape', 'Identity', 'Squeeze', 'Unsqueeze', 'Flatten', 'ai.onnx.ml.ArrayFeatureExtractor']);

function fixInput({ walker, x }: RuleContext): void {
  for (const p of x.slots ?? x.parts ?? [{ group: x.group }]) walker.root(p.group).fixed = true;
}

function labels(c: RuleContext, rank: number): TensorState {
  return { group: c.walker.newGroup(0, true), caps: ALL, rank, flat: false, label: true };
}

export const argMax: OpRule = (c) => {
  fixInput(c);
  c.walker.set(c.out, labels(c, attrInt(c.node, 'keepdims', 1) === 1 ? c.x.rank : c.x.rank - 1));
};

/** A node reading class indices: only the label branch's ops may. */
export function labelBranch(c: RuleContext, key: string): void {
  if (!LABEL_OPS.has(key)) c.walker.fail(c.node, 'it computes on class indices (an ArgMax result)');
  c.walker.set(c.out, { ...c.x });
}

export const zipMap: OpRule = (c) => {
  fixInput(c);
  c.walker.set(c.out, labels(c, 1));
};

export const attributeWeights: OpRule = (c) => {
  fixInput(c);
  const [first, ...rest] = c.node.output ?? [];
  const classifier = c.node.opType === 'LinearClassifier';
  c.walker.set(first, classifier ? labels(c, 1) : { group: c.walker.newGroup(0, true), caps: ALL, rank: 2, flat: false });
  for (const o of rest) if (o) c.walker.set(o, { group: c.walker.newGroup(0, true), caps: ALL, rank: 2, flat: false });
};
