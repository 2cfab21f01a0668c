/**
 * Weight space end to end: `weightDistance` on random ReLU MLPs
 * 784 → w → w → 10 against a permuted, rescaled copy (the answer must be ≈ 0),
 * timing each method; and one weight-matching step (similarity matrix +
 * assignment) for a w-unit layer, modeldiff's C++ kernels vs the same step in
 * plain JavaScript (float64 loops + the `linear-sum-assignment` package).
 */
import { createRng } from '../lib/util/rng';
import { weightDistance } from '../lib/weights';
import { linearSumAssignmentSync, matchingSimilaritySync } from '../lib/weights/kernels';
import { mlpBytes, randomDense, randomPerm, transformHidden } from '../test/helpers/onnx-models';

type PeerFn = (m: number[][], o: { maximaze: boolean }) => { rowAssignments: Float64Array; gain: number };

function ms(t0: bigint): number {
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

export default async function bench(): Promise<void> {
  const peer = (await import('linear-sum-assignment')) as unknown as { linearSumAssignment: PeerFn };
  const rng = createRng(99);
  console.log('| MLP 784→w→w→10 | raw (ms) | canonical (ms) | aligned, weight matching (ms) | sweeps | aligned relative distance |');
  console.log('|---:|---:|---:|---:|---:|---:|');
  const step: string[] = [];
  for (const w of [128, 512, 1024]) {
    const A = randomDense(rng, [784, w, w, 10]);
    let B = transformHidden(A, 0, randomPerm(rng, w), Array.from({ length: w }, () => Math.exp(rng.float() - 0.5)));
    B = transformHidden(B, 1, randomPerm(rng, w), Array.from({ length: w }, () => Math.exp(rng.float() - 0.5)));
    const a = mlpBytes(A, 'relu');
    const b = mlpBytes(B, 'relu');
    let t0 = process.hrtime.bigint();
    await weightDistance(a, b, { methods: ['raw'] });
    const tRaw = ms(t0);
    t0 = process.hrtime.bigint();
    await weightDistance(a, b, { methods: ['canonical'] });
    const tCanon = ms(t0);
    t0 = process.hrtime.bigint();
    const r = await weightDistance(a, b, { methods: ['aligned'] });
    const tAlign = ms(t0);
    console.log(`| w = ${w} | ${tRaw.toFixed(0)} | ${tCanon.toFixed(0)} | ${tAlign.toFixed(0)} | ${r.alignment!.iterations} | ${r.aligned!.relative.toExponential(1)} |`);

    // One matching step for the first hidden layer: incoming 784 + bias, outgoing w rows.
    const layer = (L: typeof A) => ({ win: L[0].W, bin: L[0].b, wout: L[1].W, units: w, fanIn: 784, outRows: w, block: 1 });
    const la = layer(A);
    const lb = layer(B);
    t0 = process.hrtime.bigint();
    const C = matchingSimilaritySync(la, lb);
    const ours = linearSumAssignmentSync(C, w, w, { maximize: true });
    const tOurs = ms(t0);
    t0 = process.hrtime.bigint();
    const S: number[][] = [];
    for (let i = 0; i < w; i++) {
      const row: number[] = [];
      for (let j = 0; j < w; j++) {
        let s = la.bin[i] * lb.bin[j];
        for (let k = 0; k < 784; k++) s += la.win[i * 784 + k] * lb.win[j * 784 + k];
        for (let o = 0; o < w; o++) s += la.wout[o * w + i] * lb.wout[o * w + j];
        row.push(s);
      }
      S.push(row);
    }
    const theirs = peer.linearSumAssignment(S, { maximaze: true });
    const tPeer = ms(t0);
    const same = Math.abs(theirs.gain - ours.total) <= 1e-9 * Math.abs(ours.total);
    step.push(`| ${w} | ${tOurs.toFixed(1)} | ${tPeer.toFixed(0)} | ${(tPeer / tOurs).toFixed(0)}× | ${same ? 'yes' : 'NO'} |`);
  }
  console.log('\nOne weight-matching step (similarity matrix + assignment), first hidden layer:\n');
  console.log('| units | modeldiff (ms) | plain JS + linear-sum-assignment (ms) | speed-up | same optimum |');
  console.log('|---:|---:|---:|---:|:---:|');
  for (const s of step) console.log(s);
}
