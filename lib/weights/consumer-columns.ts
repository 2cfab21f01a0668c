/**
 * The reading side of a per-unit rescaling done outside the kernels' group
 * view (channelwise-scale.ts, recurrent-sign.ts): every consumer's input
 * columns for the group's units, found at the group's offset when the
 * consumer reads a concatenation.
 */
import { type Network, channelOf } from './network';

/** Divide each consumer's input columns for unit u of group `id` by factor(u), in place; units with factor 1 are left as they are. */
export function divideConsumerColumns(net: Network, id: number, factor: (u: number) => number): void {
  const H = net.groups[id].units;
  for (const c of net.groups[id].consumers) {
    const l = net.layers[c];
    const cols = l.inUnits * l.inBlock;
    const part = l.inParts?.find((p) => p.group === id);
    for (let u = 0; u < H; u++) {
      const f = factor(u);
      if (f === 1) continue;
      for (let o = 0; o < l.outUnits; o++) {
        for (let k = 0; k < l.inBlock; k++) l.W[o * cols + (part ? channelOf(part, u) : u) * l.inBlock + k] /= f;
      }
    }
  }
}
