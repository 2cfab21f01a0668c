/**
 * Pools over spatial axes, and ReduceMean/ReduceMax over all of them (how
 * the dynamo exporter writes adaptive_avg_pool2d(1)): units stay in place;
 * max keeps only positive scale.
 */
import { attrInt, attrInts } from '../../io/onnx';
import { reduceUnits } from './norm';
import type { OpRule } from './rule';
import { and } from './tensor-state';

export const MAX_POOLS = ['MaxPool', 'GlobalMaxPool'];
export const AVG_POOLS = ['AveragePool', 'GlobalAveragePool'];

export const pool: OpRule = ({ walker, node, x, out }) => {
  const op = node.opType ?? '';
  if (x.rank < 3 || x.flat || x.channelLast) walker.fail(node, 'pooling needs a channels-first tensor with spatial axes');
  const caps = MAX_POOLS.includes(op) ? and(x.caps, { scale: true, sign: false }) : x.caps;
  walker.set(out, { ...x, caps, pooled: op.startsWith('Global') || undefined, layer: undefined });
};

/** ReduceMean/ReduceMax over the spatial axes: a global pool. */
export const reducePool: OpRule = ({ walker, node, x, inputs, out }) => {
  if (reduceUnits(walker, node, x, out)) return;
  const axes = attrInts(node, 'axes') ?? (inputs[1] ? walker.constValues(inputs[1]) : undefined);
  const spatial = axes?.map((a) => (a < 0 ? a + x.rank : a)).sort((p, q) => p - q);
  const all = Array.from({ length: x.rank - 2 }, (_, i) => i + 2);
  if (x.rank < 3 || x.flat || x.channelLast || !spatial || spatial.join() !== all.join()) {
    walker.fail(node, 'only a reduction over all spatial axes of a channels-first tensor (a global pool) is supported');
  }
  const keep = attrInt(node, 'keepdims', 1) === 1;
  const caps = node.opType === 'ReduceMax' ? and(x.caps, { scale: true, sign: false }) : x.caps;
  walker.set(out, { ...x, caps, rank: keep ? x.rank : 2, pooled: keep, layer: undefined });
};
