/**
 * The checks shared by every permuted-copy fixture of a real architecture: the
 * copy is far from A raw, at float32 noise canonical and aligned, and both
 * written-back models compute B's function through onnxruntime.
 */
import type tap from 'tap';

import type { WeightDistanceResult } from '../../lib/weights';
import { meanJs, runModel } from './onnx-models';

type Tap = Pick<typeof tap, 'ok'>;

export interface Probe {
  data: Float32Array;
  shape: number[];
  /** Output classes per row. */
  classes: number;
}

export async function checkPermutedCopy(t: Tap, r: WeightDistanceResult, b: Uint8Array, probe: Probe): Promise<void> {
  t.ok(r.raw!.relative > 0.5, `raw relative ${r.raw!.relative}`);
  t.ok(r.canonical!.relative <= 1e-6, `canonical relative ${r.canonical!.relative}`);
  t.ok(r.aligned!.relative <= 1e-6, `aligned relative ${r.aligned!.relative}`);
  const yb = await runModel(b, probe.data, probe.shape);
  for (const [name, m] of [['canonical', r.models.canonical!], ['aligned', r.models.aligned!]] as const) {
    const js = meanJs(yb, await runModel(m, probe.data, probe.shape), probe.classes);
    t.ok(js <= 1e-9, `${name} written back computes B's function: JS ${js}`);
  }
}

/** A's top class on every probe row: labels under which a loss barrier to A's copy is flat. */
export async function argmaxLabels(a: Uint8Array, probe: Probe): Promise<Int32Array> {
  const y = await runModel(a, probe.data, probe.shape);
  return Int32Array.from({ length: probe.shape[0] }, (_, i) => {
    const row = Array.from(y.subarray(i * probe.classes, (i + 1) * probe.classes));
    return row.indexOf(Math.max(...row));
  });
}
