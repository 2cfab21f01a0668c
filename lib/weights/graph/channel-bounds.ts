/**
 * Integer shape computations a Split or Slice of channels is given: constants, and, as
 * TorchScript writes `chunk`, sums, products and quotients of a tensor's channel count
 * (Gather(Shape(T), 1)). Evaluated once the channel counts are known; undefined when
 * the value depends on anything else.
 */
import { shapeElements } from './shape-elements';
import type { GraphWalker } from './walker';

/** Channel count of a tensor by name, or undefined when it has none this walk knows. */
export type ChannelCount = (tensor: string) => number | undefined;

const ARITHMETIC: Record<string, (a: number, b: number) => number> = {
  Add: (a, b) => a + b,
  Sub: (a, b) => a - b,
  Mul: (a, b) => a * b,
  // ONNX integer division truncates toward zero.
  Div: (a, b) => Math.trunc(a / b),
};

export function channelInts(w: GraphWalker, name: string, channels: ChannelCount): number[] | undefined {
  const c = w.constValues(name);
  if (c) return c;
  const p = w.producerOf(name);
  if (!p) return undefined;
  const inputs = p.input ?? [];
  const op = p.opType ?? '';
  if (ARITHMETIC[op]) {
    const [a, b] = [channelInts(w, inputs[0], channels), channelInts(w, inputs[1], channels)];
    if (!a || !b || (a.length !== b.length && a.length !== 1 && b.length !== 1) || (op === 'Div' && b.includes(0))) return undefined;
    return Array.from({ length: Math.max(a.length, b.length) }, (_, i) => ARITHMETIC[op](a[a.length === 1 ? 0 : i], b[b.length === 1 ? 0 : i]));
  }
  if (op === 'Cast' || op === 'Identity' || op === 'Unsqueeze' || op === 'Squeeze') return channelInts(w, inputs[0], channels);
  const elements = shapeElements(w, name);
  if (!elements) return undefined;
  const values = elements.map((e) => (typeof e === 'number' ? e : e && e.axis === 1 ? channels(e.of) : undefined));
  return values.every((v) => v !== undefined) ? (values as number[]) : undefined;
}
