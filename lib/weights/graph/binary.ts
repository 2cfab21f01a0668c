/**
 * Add/Sub/Mul/Div/Pow. Two data operands: a residual join — their groups
 * merge (as Git Re-Basin's permutation specs tie them); Add/Sub keep the
 * symmetries both sides keep, a product keeps only permutation. A constant
 * operand: a per-channel constant right after a layer folds into it
 * (./fold-affine.ts); a scalar keeps what the op allows.
 */
import type { Caps } from '../network';
import { foldAffine } from './fold-affine';
import type { OpRule } from './rule';
import { PERMUTATION_ONLY, and } from './tensor-state';

export const BINARY = ['Add', 'Sub', 'Mul', 'Div', 'Pow'];

export const binary: OpRule = ({ walker, node, x: first, inputs, out }) => {
  if (first.parts) walker.fail(node, 'it reads channels concatenated from several layers');
  const op = node.opType ?? '';
  const [a, b] = inputs;
  if (!walker.isConst(a) && !walker.isConst(b)) {
    const sa = walker.data(node, a);
    const sb = walker.data(node, b);
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
  if (foldAffine(walker, node, op, x, dataName, constName, c, v)) return;
  if (v.length !== 1) walker.fail(node, `a per-element constant operand ("${c.name || 'constant'}") is not supported`);
  let caps: Caps;
  if (op === 'Mul' || (op === 'Div' && dataName === a)) caps = x.caps;
  else if ((op === 'Add' || op === 'Sub') && v[0] === 0) caps = x.caps;
  else caps = PERMUTATION_ONLY;
  walker.set(out, { ...x, caps, layer: undefined });
};
