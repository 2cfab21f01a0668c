/**
 * Which rule handles which op. A new op family adds its module beside the
 * others and its line here; an op listed nowhere stops the walk with
 * UNSUPPORTED_GRAPH naming the node.
 */
import { batchNorm } from './batch-norm';
import { BINARY, binary } from './binary';
import { channelGridReshape, channelGridTranspose } from './channel-shuffle';
import { channelSplit } from './channel-split';
import { concat } from './concat';
import { HOMOGENEOUS, LINEAR_UNARY, ODD, OTHER_ELEMENTWISE, PASS, clip, keepAll, keepPermutation, keepScale, keepSign, prelu, softmax } from './elementwise';
import { argMax, attributeWeights, zipMap } from './label-branch';
import { reshape, transpose } from './layout';
import { linear } from './linear';
import { AVG_POOLS, MAX_POOLS, pool, reducePool } from './pooling';
import { fusedNorm } from './norm';
import { recurrent } from './recurrent';
import type { OpRule } from './rule';
import { selectPositions } from './sequence';

const table: Array<[string[], OpRule]> = [
  [['Gemm', 'MatMul', 'Conv'], linear],
  [['BatchNormalization'], batchNorm],
  [PASS, keepAll],
  [HOMOGENEOUS, keepScale],
  [['PRelu'], prelu],
  [ODD, keepSign],
  [LINEAR_UNARY, keepAll],
  [OTHER_ELEMENTWISE, keepPermutation],
  [['Softmax', 'LogSoftmax'], softmax],
  [['Clip'], clip],
  [['ReduceMean', 'ReduceMax', 'ReduceSum'], reducePool],
  [[...MAX_POOLS, ...AVG_POOLS], pool],
  [['Reshape', 'Flatten', 'Unsqueeze', 'Squeeze'], (c) => channelGridReshape(c) || reshape(c)],
  [['Transpose'], (c) => channelGridTranspose(c) || transpose(c)],
  [['Concat'], concat],
  [BINARY, binary],
  [['LSTM', 'GRU', 'RNN'], recurrent],
  [['ArgMax', 'ArgMin'], argMax],
  [['ai.onnx.ml.ZipMap'], zipMap],
  [['ai.onnx.ml.LinearClassifier', 'ai.onnx.ml.LinearRegressor'], attributeWeights],
  [['ai.onnx.ml.Normalizer'], keepPermutation],
  [['LayerNormalization', 'SimplifiedLayerNormalization', 'RMSNormalization'], fusedNorm],
  [['Split', 'Slice'], channelSplit],
  [['Gather'], selectPositions],
];

export const RULES: ReadonlyMap<string, OpRule> = new Map(table.flatMap(([ops, rule]) => ops.map((op) => [op, rule] as const)));
