/**
 * A hidden group as the kernels see it (`LayerWeights`): the incoming
 * weights of all its producing layers side by side (`win`, `bin`), and the
 * outgoing weights of all its consuming layers (`wout`).
 *
 * In a plain chain (one producer, one consumer) the view *is* the layers'
 * arrays — the canonical layout was chosen for that — so kernels edit the
 * network in place. A residual group has several producers and consumers;
 * then the view is a gathered copy and `commit()` scatters it back:
 *   win  = [W_p1 | W_p2 | b_p2 | ... | W_d1 | b_d1 ...] (extra biases are just more
 *          incoming weights; d: depthwise layers along the group),
 *   wout = consumers' rows stacked (block kept if all consumers share it, else
 *          each (row, position) pair becomes a row with block 1).
 */
import type { LayerWeights } from './kernels';
import { type Layer, type Network, channelOf } from './network';

export interface GroupView {
  view: LayerWeights;
  /**
   * Write the (possibly modified) view back into the network's layers. After
   * a permutation of the view's units, pass it: a layer both reading and
   * writing the group (a residual around one layer) is in the view as a
   * consumer only, and its rows (and bias) are permuted here.
   */
  commit(perm?: Int32Array): void;
}

export function groupView(net: Network, groupId: number): GroupView {
  const g = net.groups[groupId];
  const units = g.units;
  const loops = g.producers.map((i) => net.layers[i]).filter((l) => l.inGroup === l.outGroup);
  const producers = g.producers.map((i) => net.layers[i]).filter((l) => l.inGroup !== l.outGroup);
  const consumers = g.consumers.map((i) => net.layers[i]);
  // Depthwise filters and biases along the group are more incoming weights of its units.
  const incoming = [...producers, ...g.channelwise.map((i) => net.layers[i])];
  const commits: Array<() => void> = [];

  let win: Float64Array;
  let bin: Float64Array;
  let fanIn: number;
  if (incoming.length === 0) {
    // Grouped-query attention's O columns: no layer writes them (heads.ts).
    win = new Float64Array(0);
    bin = new Float64Array(units);
    fanIn = 0;
  } else if (incoming.length === 1) {
    win = incoming[0].W;
    bin = incoming[0].b;
    fanIn = win.length / units;
  } else {
    const widths = incoming.map((p, i) => p.W.length / units + (i > 0 ? 1 : 0));
    fanIn = widths.reduce((a, b) => a + b, 0);
    win = new Float64Array(units * fanIn);
    bin = incoming[0].b.slice();
    const place = (write: boolean) => {
      for (let u = 0; u < units; u++) {
        let off = u * fanIn;
        incoming.forEach((p, i) => {
          const cols = p.W.length / units;
          const row = p.W.subarray(u * cols, (u + 1) * cols);
          if (write) row.set(win.subarray(off, off + cols));
          else win.set(row, off);
          off += cols;
          if (i > 0) {
            if (write) p.b[u] = win[off];
            else win[off] = p.b[u];
            off++;
          }
        });
      }
      if (write) incoming[0].b.set(bin);
    };
    place(false);
    commits.push(() => place(true));
  }

  let wout: Float64Array;
  let outRows: number;
  let block: number;
  // A layer reading concatenated channels (DenseNet) holds this group's units at an offset: gathered row by row.
  const whole = consumers.every((c) => !c.inParts);
  if (consumers.length === 0) {
    // Q/K units (attention heads): read by QKᵀ, no layer's columns.
    wout = new Float64Array(0);
    outRows = 0;
    block = 1;
  } else if (consumers.length === 1 && whole) {
    wout = consumers[0].W;
    outRows = consumers[0].outUnits;
    block = consumers[0].inBlock;
  } else if (whole && consumers.every((c) => c.inBlock === consumers[0].inBlock)) {
    block = consumers[0].inBlock;
    outRows = consumers.reduce((a, c) => a + c.outUnits, 0);
    wout = new Float64Array(outRows * units * block);
    const place = (write: boolean) => {
      let off = 0;
      for (const c of consumers) {
        if (write) c.W.set(wout.subarray(off, off + c.W.length));
        else wout.set(c.W, off);
        off += c.W.length;
      }
    };
    place(false);
    commits.push(() => place(true));
  } else {
    block = 1;
    outRows = consumers.reduce((a, c) => a + c.outUnits * c.inBlock, 0);
    wout = new Float64Array(outRows * units);
    const place = (write: boolean) => {
      let r = 0;
      for (const c of consumers) {
        const cols = c.inUnits * c.inBlock;
        const part = c.inParts?.find((p) => p.group === groupId);
        for (let o = 0; o < c.outUnits; o++) {
          for (let k = 0; k < c.inBlock; k++, r++) {
            for (let u = 0; u < units; u++) {
              const src = o * cols + (part ? channelOf(part, u) : u) * c.inBlock + k;
              if (write) c.W[src] = wout[r * units + u];
              else wout[r * units + u] = c.W[src];
            }
          }
        }
      }
    };
    place(false);
    commits.push(() => place(true));
  }
  return {
    view: { win, bin, wout, units, fanIn, outRows, block },
    commit: (perm?: Int32Array) => {
      commits.forEach((c) => c());
      if (perm) for (const l of loops) permuteRows(l, perm);
    },
  };
}

/** New row i of the layer (its weights and bias) = old row perm[i]. */
function permuteRows(l: Layer, perm: Int32Array): void {
  const cols = l.W.length / l.outUnits;
  const W = l.W.slice();
  const b = l.b.slice();
  for (let i = 0; i < l.outUnits; i++) {
    l.W.set(W.subarray(perm[i] * cols, (perm[i] + 1) * cols), i * cols);
    l.b[i] = b[perm[i]];
  }
}
