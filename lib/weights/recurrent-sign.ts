/**
 * The sign symmetry of an LSTM/GRU/RNN's hidden units (graph/recurrent.ts).
 * Negating unit u's state means negating the candidate gate's rows of W, R
 * and B for u (tanh is odd, so the candidate and with it the cell or state
 * flips), the LSTM's three peepholes for u (they multiply the flipped cell),
 * and every column that reads u: R's, in every gate, and each consumer's.
 * A learned initial h (and c: c = f·c + i·g flips with g) flips too.
 * The sigmoid gates' rows stay. So a whole-row flip, as fixSignSync does for
 * other groups, would be wrong: this module does it gate by gate.
 * One learned initial state read by both directions of a bidirectional op
 * ties them: unit u flips in both at once (`recurrent.signWith`), its sign
 * decided by both directions' candidate gates together.
 */
import { divideConsumerColumns } from './consumer-columns';
import type { Network } from './network';

/**
 * Each unit's sign: that of its largest-magnitude candidate-gate input weight or bias (first on
 * ties), as fixSignSync decides; over the groups given in order (both directions of a shared state).
 */
export function recurrentSigns(net: Network, ...ids: number[]): Int8Array {
  return Int8Array.from({ length: net.groups[ids[0]].units }, (_, u) => {
    let best = 0;
    for (const id of ids) {
      const r = net.groups[id].recurrent!;
      const W = net.layers[r.W];
      const B = r.B === undefined ? undefined : net.layers[r.B];
      const G = r.gates;
      const cols = W.inUnits;
      for (let i = 0; i < cols; i++) {
        const v = W.W[u * cols * G + i * G + r.candidate];
        if (Math.abs(v) > Math.abs(best)) best = v;
      }
      for (const k of B ? [r.candidate, G + r.candidate] : []) if (Math.abs(B!.W[u * 2 * G + k]) > Math.abs(best)) best = B!.W[u * 2 * G + k];
    }
    return best < 0 ? -1 : 1;
  });
}

/** Multiply each unit's state by sign[u] (±1), in place, keeping the network's function. */
export function flipRecurrentUnits(net: Network, id: number, sign: Int8Array): void {
  const g = net.groups[id];
  const r = g.recurrent!;
  const G = r.gates;
  const H = g.units;
  const rows = (layer: number, per: number, entries: (k: number) => boolean) => {
    const l = net.layers[layer];
    for (let u = 0; u < H; u++) if (sign[u] < 0) for (let k = 0; k < per; k++) if (entries(k)) l.W[u * per + k] = -l.W[u * per + k];
  };
  const candidate = (k: number) => k % G === r.candidate;
  rows(r.W, net.layers[r.W].inUnits * G, candidate);
  rows(r.R, H * G, candidate);
  if (r.B !== undefined) rows(r.B, 2 * G, candidate);
  if (r.P !== undefined) rows(r.P, 3, () => true);
  // A learned initial state is the unit's state (and cell) at step 0: it flips with the unit.
  for (const i of r.initial ?? []) rows(i, net.layers[i].W.length / H, () => true);
  // Every reader of the state: R (columns v·G + g) and the consumers after the op.
  divideConsumerColumns(net, id, (u) => sign[u]);
}
