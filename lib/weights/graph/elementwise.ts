/**
 * Unary ops that act on each unit alone: which symmetries pass through.
 * Relu/LeakyRelu/Abs keep positive scale, odd functions (Tanh, Erf, ...)
 * keep sign, Neg and pass-throughs keep both, any other elementwise map
 * keeps only permutation.
 */
import { attrFloat, attrInt, type onnx } from '../../io/onnx';
import type { Caps } from '../network';
import type { OpRule } from './rule';
import { PERMUTATION_ONLY, and } from './tensor-state';
import type { GraphWalker } from './walker';

export const PASS = ['Identity', 'Dropout', 'Cast'];
export const HOMOGENEOUS = ['Relu', 'LeakyRelu', 'Abs'];
export const ODD = ['Tanh', 'Erf', 'Softsign', 'Asinh', 'Atan', 'Sinh', 'Sin', 'Tan', 'Asin'];
export const LINEAR_UNARY = ['Neg'];
export const OTHER_ELEMENTWISE = [
  'Sigmoid', 'Gelu', 'Softplus', 'Elu', 'Selu', 'Celu', 'HardSigmoid', 'HardSwish', 'Mish', 'Exp', 'Log',
  'Sqrt', 'Reciprocal', 'Cos', 'Cosh', 'ThresholdedRelu', 'Shrink', 'Square',
];

/** Unary elementwise ops: they keep every axis where it is. */
export const UNARY_OPS: ReadonlySet<string> = new Set([...PASS, ...HOMOGENEOUS, ...ODD, ...LINEAR_UNARY, ...OTHER_ELEMENTWISE, 'Clip']);

export const keepAll: OpRule = ({ walker, x, out }) => walker.set(out, { ...x, layer: undefined });
export const keepScale: OpRule = ({ walker, x, out }) => walker.set(out, { ...x, caps: and(x.caps, { scale: true, sign: false }), layer: undefined });
export const keepSign: OpRule = ({ walker, x, out }) => walker.set(out, { ...x, caps: and(x.caps, { scale: false, sign: true }), layer: undefined });
export const keepPermutation: OpRule = ({ walker, x, out }) => walker.set(out, { ...x, caps: PERMUTATION_ONLY, layer: undefined });

export const prelu: OpRule = (c) => {
  const slope = c.walker.inits.get(c.inputs[1]);
  if (!slope || slope.dims?.reduce((a: number, b) => a * Number(b), 1) !== 1) c.walker.fail(c.node, 'only a single shared PRelu slope keeps the scale symmetry');
  keepScale(c);
};

export const softmax: OpRule = (c) => {
  const axis = attrInt(c.node, 'axis', -1);
  if (!(c.x.rank === 2 && (axis === 1 || axis === -1))) c.walker.fail(c.node, 'softmax must run over the feature axis of a 2-D tensor');
  keepPermutation(c);
};

export const clip: OpRule = ({ walker, node, x, out }) => walker.set(out, { ...x, caps: and(x.caps, clipCaps(walker, node)), layer: undefined });

/**
 * Clip(min, max): ReLU when min = 0 and there is no max (positively
 * homogeneous); odd when the bounds are symmetric; otherwise (ReLU6) only
 * permutation.
 */
function clipCaps(w: GraphWalker, node: onnx.INodeProto): Caps {
  const inputs = node.input ?? [];
  const bound = (i: number, attr: string, fallback: number) => {
    if (inputs[i]) {
      const c = w.constants.get(inputs[i]);
      if (!c) w.fail(node, 'its bounds are computed at run time');
      return w.values(c)[0];
    }
    return attrFloat(node, attr, fallback);
  };
  const lo = bound(1, 'min', -Infinity);
  const hi = bound(2, 'max', Infinity);
  if (lo === 0 && hi === Infinity) return { scale: true, sign: false };
  if (lo === -hi) return { scale: false, sign: true };
  return PERMUTATION_ONLY;
}
