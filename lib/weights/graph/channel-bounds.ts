/**
 * Integer shape computations a Split or Slice of channels is given: constants, and, as
 * TorchScript writes `chunk`, sums, products and quotients of a tensor's channel count
 * (Gather(Shape(T), 1)). Read by the shape reader (./shape-elements.ts) with axis 1 of a
 * tensor standing for its channel count and integer division; undefined when the value
 * depends on anything else.
 */
import { type ShapeElement, type ShapeReading, shapeElements, staticSize } from './shape-elements';
import type { GraphWalker } from './walker';

/** Channel count of a tensor by name, or undefined when it has none this walk knows. */
export type ChannelCount = (tensor: string) => number | undefined;

export function channelInts(w: GraphWalker, name: string, channels: ChannelCount): number[] | undefined {
  const reading: ShapeReading = {
    size: (walker, e: ShapeElement) => (e !== null && typeof e === 'object' && e.axis === 1 ? (channels(e.of) ?? staticSize(walker, e)) : staticSize(walker, e)),
    integerDiv: true,
  };
  const values = shapeElements(w, name, reading)?.map((e) => reading.size(w, e));
  return values?.every((v) => v !== undefined) ? (values as number[]) : undefined;
}
