/** The shape of a per-op rule: how one node moves tensor states, groups and layers forward. */
import type { onnx } from '../../io/onnx';
import type { TensorState } from './tensor-state';
import type { GraphWalker } from './walker';

export interface RuleContext {
  walker: GraphWalker;
  node: onnx.INodeProto;
  /** The node's index in graph.node. */
  index: number;
  /** Its first input that is data (not a constant or shape). */
  x: TensorState;
  /** Its non-empty inputs. */
  inputs: string[];
  /** Its first output. */
  out: string;
}

export type OpRule = (c: RuleContext) => void;
