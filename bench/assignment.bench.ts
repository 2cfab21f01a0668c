/**
 * Linear assignment: modeldiff's LAPJV (C++) vs the `linear-sum-assignment`
 * npm package (pure JS, Crouse shortest augmenting path over ml-matrix), on
 * the same random uniform [0, 1) cost matrices (fixed seed). Verifies that both
 * reach the same optimal total, then reports the best wall time of several
 * runs (the least disturbed by other load on a shared machine) and the ratio.
 */
import { createRng } from '../lib/util/rng';
import { linearSumAssignment, linearSumAssignmentSync } from '../lib/weights/kernels';
import { best } from './timing';

type PeerFn = (m: number[][], o: { maximaze: boolean }) => { rowAssignments: Float64Array; gain: number };

/** Best of `reps` wall times, in ms. */
function time(fn: () => void, reps: number): number {
  return best(reps, fn) * 1e3;
}

export default async function bench(): Promise<void> {
  // The peer is an ES module; this package is CommonJS.
  const peer = (await import('linear-sum-assignment')) as unknown as { linearSumAssignment: PeerFn };
  const rng = createRng(2024);
  const rows: string[] = [];
  rows.push('| size | modeldiff LAPJV (ms) | modeldiff Crouse shortest path (ms) | linear-sum-assignment (ms) | speed-up (LAPJV vs peer) | same optimum |');
  rows.push('|---:|---:|---:|---:|---:|:---:|');
  for (const [nr, nc] of [[128, 128], [512, 512], [1024, 1024], [512, 1024]]) {
    const cost = new Float64Array(nr * nc);
    for (let i = 0; i < cost.length; i++) cost[i] = rng.float();
    const nested = Array.from({ length: nr }, (_, r) => Array.from(cost.subarray(r * nc, (r + 1) * nc)));
    const reps = nr <= 128 ? 21 : nr <= 512 ? 7 : 5;
    const peerReps = nr <= 128 ? 9 : 5;

    const ours = linearSumAssignmentSync(cost, nr, nc);
    const theirs = peer.linearSumAssignment(nested, { maximaze: false });
    const same = Math.abs(ours.total - theirs.gain) <= 1e-9 * Math.abs(ours.total);
    const sp = linearSumAssignmentSync(cost, nr, nc, { method: 'shortest-path' });
    if (!same || Math.abs(sp.total - ours.total) > 1e-9 * ours.total)
      throw new Error(`${nr}×${nc}: optimal totals differ: lapjv ${ours.total}, shortest-path ${sp.total}, peer ${theirs.gain}`);

    const tOurs = time(() => linearSumAssignmentSync(cost, nr, nc), reps);
    const tSp = time(() => linearSumAssignmentSync(cost, nr, nc, { method: 'shortest-path' }), reps);
    const tPeer = time(() => peer.linearSumAssignment(nested, { maximaze: false }), peerReps);
    rows.push(`| ${nr}×${nc} | ${tOurs.toFixed(2)} | ${tSp.toFixed(2)} | ${tPeer.toFixed(1)} | ${(tPeer / tOurs).toFixed(0)}× | ${same ? 'yes' : 'NO'} |`);
  }
  // The async path adds only the worker hop.
  const n = 512;
  const cost = new Float64Array(n * n).map(() => rng.float());
  let best = Infinity;
  for (let r = 0; r < 7; r++) {
    const t0 = process.hrtime.bigint();
    await linearSumAssignment(cost, n, n);
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e6);
  }
  const tSync = time(() => linearSumAssignmentSync(cost, n, n), 7);
  console.log(rows.join('\n'));
  console.log(`\nn = 512, best of 7: async (worker thread) ${best.toFixed(2)} ms, sync ${tSync.toFixed(2)} ms`);
}
