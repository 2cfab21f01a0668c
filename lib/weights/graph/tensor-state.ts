/**
 * What the graph walk knows about each data tensor: which symmetry group its
 * unit (channel) axis belongs to, which symmetries the ops since the
 * producing layers preserve, and how the units are laid out.
 */
import type { Caps } from '../network';
import type { AttentionTag } from './attention';

/** One channel of a tensor whose channels were split or shuffled: which unit of which group it holds. */
export interface UnitSlot {
  group: number;
  unit: number;
}

export interface TensorState {
  group: number;
  caps: Caps;
  rank: number;
  /** Flattened from a tensor with spatial axes: feature = channel·block + position. */
  flat: boolean;
  /**
   * Concatenated on the channel axis (DenseNet): the channels are these
   * groups' units in order (a direct sum), and `group` is the first part's.
   */
  parts?: Array<{ group: number; units: number }>;
  /**
   * Channels split, sliced or shuffled (ShuffleNet): channel k holds unit `slots[k].unit` of
   * group `slots[k].group` (./channel-slots.ts); `group` is the first channel's. Set instead of `parts`.
   */
  slots?: UnitSlot[];
  /**
   * The channel axis reshaped into two axes [outer, inner] at axes 1 and 2 (a channel shuffle's
   * first Reshape), swapped when a Transpose exchanged them; `slots` is the order before.
   */
  grid?: { outer: number; inner: number; swapped: boolean };
  /** Every spatial axis has size 1 (after a global pool): a reshape to [batch, channels] is a squeeze. */
  pooled?: boolean;
  /** Channels moved to the last axis (NHWC, as tf2onnx leaves Keras conv nets before Flatten). */
  channelLast?: boolean;
  /** Set when the tensor is a layer's direct (pre-activation) output. */
  layer?: number;
  /** Class indices (an ArgMax result, scikit-learn's label branch): no units, only label ops may read it. */
  label?: boolean;
  /**
   * An axis known to have size 1 (a one-direction RNN's direction axis), valid while the tensor
   * has `rank` axes: a reshape merging it into the units keeps them (the dynamo exporter's
   * [steps, batch, 1, units] → [steps, batch, units]).
   */
  singleton?: { axis: number; rank: number };
  /**
   * A bidirectional RNN's output: the axis (valid while the tensor has `rank` axes) holding its
   * two directions, whose units are these groups ([forward, backward]); `group` is the first's.
   * Only ./bidirectional.ts and shape ops that move the axis along may read such a tensor.
   */
  directions?: { axis: number; rank: number; groups: number[] };
  /**
   * Fixed data whose layout is not followed: integer model inputs (token ids,
   * masks) and attention's inside once the heads are split off. Anything
   * computed from such tensors alone is unchanged by every symmetry.
   */
  opaque?: boolean;
  /** Reduced over the unit axis (a norm's mean or variance): broadcasts along the units, belongs to no group. */
  unitless?: boolean;
  /** Inside attention, followed axis by axis (graph/attention.ts); always opaque too. */
  attention?: AttentionTag;
}

/** The units are on the last axis: [batch, units], or [batch, positions..., units] (a transformer's stream). */
export function unitsLast(s: TensorState): boolean {
  return !s.flat && !s.opaque && !s.unitless && (s.rank <= 2 || Boolean(s.channelLast));
}

/** Every symmetry (a linear path). */
export const ALL: Caps = { scale: true, sign: true };
/** Only permutation survives (a generic nonlinearity, a norm). */
export const PERMUTATION_ONLY: Caps = { scale: false, sign: false };
/** The symmetries both paths keep. */
export const and = (a: Caps, b: Caps): Caps => ({ scale: a.scale && b.scale, sign: a.sign && b.sign });
