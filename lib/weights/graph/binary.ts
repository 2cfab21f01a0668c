/**
 * Add/Sub/Mul/Div/Pow. Two data operands: a residual join — their groups
 * merge (as Git Re-Basin's permutation specs tie them); Add/Sub keep the
 * symmetries both sides keep, a product keeps only permutation. A constant
 * operand: a per-channel constant right after a layer folds into it
 * (./fold-affine.ts); a scalar keeps what the op allows.
 */
import type { Caps } from '../network';
import { foldAffine } from './fold-affine';
import { perUnitScale, perUnitShift } from './norm';
import type { OpRule } from './rule';
import { additiveTable } from './sequence';
import { PERMUTATION_ONLY, and, unitsLast } from './tensor-state';

export const BINARY = ['Add', 'Sub', 'Mul', 'Div', 'Pow'];

export const binary: OpRule = ({ walker, node, x: first, inputs, out }) => {
  if (first.parts) walker.fail(node, 'it reads channels concatenated from several layers');
  const op = node.opType ?? '';
  const [a, b] = inputs;
  if (!walker.isConst(a) && !walker.isConst(b)) {
    const sa = walker.data(node, a);
    const sb = walker.data(node, b);
    // (Either operand: a concatenation second was read as its first part's group.)
    if (sb.parts) walker.fail(node, 'it reads channels concatenated from several layers');
    // A norm's statistic broadcasts along the units: the data keeps its group, permutation only.
    if (sa.unitless && sb.unitless) return walker.set(out, { ...sa, layer: undefined });
    if (sa.unitless || sb.unitless) {
      const s = sa.unitless ? sb : sa;
      if (s.opaque) walker.fail(node, 'it joins a norm statistic with attention data');
      return walker.set(out, { ...s, caps: PERMUTATION_ONLY, layer: undefined });
    }
    if (sa.opaque || sb.opaque) walker.fail(node, "it joins attention's inner data with hidden units");
    if (unitsLast(sa) && unitsLast(sb) && (sa.rank > 2 || sb.rank > 2)) {
      // [N, S, d] with [N, S, d] or [S, d] (broadcast over the batch): the units are last in both.
      const group = walker.union(sa.group, sb.group, node);
      const caps = op === 'Add' || op === 'Sub' ? and(sa.caps, sb.caps) : PERMUTATION_ONLY;
      return walker.set(out, { group, caps, rank: Math.max(sa.rank, sb.rank), flat: false, channelLast: true });
    }
    if (sa.rank !== sb.rank || sa.flat !== sb.flat || Boolean(sa.channelLast) !== Boolean(sb.channelLast)) walker.fail(node, 'it joins tensors of different layouts');
    const group = walker.union(sa.group, sb.group, node);
    const linear = op === 'Add' || op === 'Sub';
    const caps = linear ? and(sa.caps, sb.caps) : PERMUTATION_ONLY;
    walker.set(out, { group, caps, rank: sa.rank, flat: sa.flat, channelLast: sa.channelLast });
    return;
  }
  const dataName = walker.isConst(a) ? b : a;
  const constName = walker.isConst(a) ? a : b;
  const x = walker.data(node, dataName);
  const c = walker.constants.get(constName);
  if (!c) return walker.fail(node, 'its constant operand is computed at run time');
  const v = walker.values(c);
  if (x.unitless) return walker.set(out, { ...x, layer: undefined });
  if (foldAffine(walker, node, op, x, dataName, constName, c, v)) return;
  if (perUnitShift(walker, node, x, dataName, constName) || perUnitScale(walker, node, x, constName) || additiveTable(walker, node, x, constName)) return;
  if (v.length !== 1) walker.fail(node, `a per-element constant operand ("${c.name || 'constant'}") is not supported`);
  let caps: Caps;
  if (op === 'Mul' || (op === 'Div' && dataName === a)) caps = x.caps;
  else if ((op === 'Add' || op === 'Sub') && v[0] === 0) caps = x.caps;
  else caps = PERMUTATION_ONLY;
  walker.set(out, { ...x, caps, layer: undefined });
};
