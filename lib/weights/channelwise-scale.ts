/**
 * Scale and sign through channel-wise layers (a depthwise Conv along a
 * group, graph/linear.ts): y_u = w_u ∗ x_u + b_u. Multiplying unit u's input
 * x_u by c multiplies y_u by c when b_u is multiplied too and the filter w_u
 * stays, so one factor per unit passes the whole chain producer → (act) →
 * depthwise → (act) → consumer when every act on it is positively
 * homogeneous (c > 0) or odd (c = ±1). The kernels' group view would scale
 * the depthwise filters with the producers' rows (they are more incoming
 * weights there), so such a group is scaled here, layer by layer.
 */
import { divideConsumerColumns } from './consumer-columns';
import type { Network } from './network';

/** Unit u's producer rows and biases and its channel-wise biases times c(u), its consumer columns divided by it, in place. */
export function scaleThroughChannelwise(net: Network, id: number, c: (u: number) => number): void {
  const g = net.groups[id];
  const H = g.units;
  for (const p of g.producers) {
    const l = net.layers[p];
    const cols = l.W.length / H;
    for (let u = 0; u < H; u++) {
      const cu = c(u);
      for (let k = 0; k < cols; k++) l.W[u * cols + k] *= cu;
      l.b[u] *= cu;
    }
  }
  for (const d of g.channelwise) {
    const l = net.layers[d];
    for (let u = 0; u < H; u++) l.b[u] *= c(u);
  }
  divideConsumerColumns(net, id, c);
}
