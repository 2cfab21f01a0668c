/**
 * lossBarrier(a, b, options): mode connectivity along the linear path between
 * two models' weights. For α on a grid, θ(α) = (1−α)θ_A + αθ_B is evaluated
 * on a labelled probe set (loss in nats, error rate), and the barrier is
 *
 *   B = max_α [ L(θ(α)) − ((1−α)·L(θ_A) + α·L(θ_B)) ]
 *
 * (Frankle et al. 2020; Entezari et al. 2022), for the loss and for the error
 * (per counted token for a language model's next-token or per-token targets: lib/path/targets.ts),
 * with the α where it peaks. B ≥ 0 since the endpoints contribute 0. With
 * `align: 'weights'` (or 'activations'), B is first permuted into A's frame by
 * weight matching (lib/weights align(): Ainsworth et al. 2022's Git Re-Basin;
 * or activation matching on the probe set) and the path is
 * walked between A and aligned B (both with BatchNorm folded, as align()
 * returns them), which removes the barrier that is only due to the
 * permutation symmetry.
 */
import { check } from '../errors';
import { type OutputKind, resolveOutputKind } from '../function/divergence';
import { inferOutputs } from '../infer/infer';
import { type OnnxSource, encodeOnnx, readOnnx } from '../io/onnx';
import { type ProbeSource, loadProbe } from '../io/probe';
import { alignSettings, align as alignWeights } from '../weights';
import { buildNetwork } from '../weights/graph';
import type { MatchingStop } from '../weights/matching';
import { writeNetwork } from '../weights/writeback';
import { optionsObject, requireOption } from '../util/options';
import { interpolatedModel, planInterpolation } from './interpolate';
import { type Targets, readTargetOptions, targetLoss } from './targets';

export interface BarrierOptions {
  /** Probe inputs (path, typed array with shape, or loaded ProbeData). */
  data: ProbeSource;
  /**
   * True class ids, one per probe sample (.npy path or array); for a sequence output (a language
   * model's [n, sequence, vocab] logits), a path to per-token targets [n, sequence] (negative =
   * no target). Give this or `targets`.
   */
  labels?: string | ArrayLike<number> | Int32Array;
  /**
   * 'next': a language model's next-token loss, as compare's targets 'next': the target at t is
   * input_ids at t + 1 where both positions are unmasked (the probe's attention_mask).
   */
  targets?: 'next';
  /** Grid points on [0, 1], endpoints included. Default 11. */
  steps?: number;
  /**
   * 'none' (default): the naive path only. 'weights': also the path to B
   * aligned to A by weight matching; 'activations': aligned by matching hidden
   * units' activations on the probe set (both via lib/weights align()).
   */
  align?: 'none' | 'weights' | 'activations';
  /** Report the loss in bits instead of nats. */
  bits?: boolean;
  /** How to read model outputs; 'auto' (default) decides once, on model A's outputs. */
  outputs?: OutputKind | 'auto';
  /** Model output to read (default: the first). */
  output?: string;
  batchSize?: number;
  /** Seed for weight matching's layer order. */
  seed?: number;
  cwd?: string;
  /** Called after each evaluated model. */
  onProgress?: (done: number, total: number) => void;
}

export interface PathCurve {
  alphas: number[];
  /** Mean cross-entropy at each α (nats, or bits with `bits`). */
  loss: number[];
  /** Error rate at each α. */
  error: number[];
  /** max_α of the curve minus the straight line between its endpoints, and where it peaks. */
  lossBarrier: number;
  lossBarrierAlpha: number;
  errorBarrier: number;
  errorBarrierAlpha: number;
  /** How initializers were paired. */
  matchedBy: 'name' | 'position';
}

export interface BarrierResult {
  a: string;
  b: string;
  /** Probe samples (sequences, for a language model). */
  n: number;
  /** What the loss scores: 'labels' (one class per sample), 'next' (next-token targets), or the per-token labels file. */
  targets: string;
  /** Sequence outputs: the tokens with a target that every loss and error averages over. */
  tokens?: number;
  /** The model output read (a scikit-learn export's probabilities rather than its first, integer label output). */
  output: string;
  outputs: OutputKind;
  /** Unit of the loss values. */
  lossUnit: 'nats' | 'bits';
  naive: PathCurve;
  /** Present with align 'weights' or 'activations'. */
  aligned?: PathCurve & {
    alignment: { method: 'weights' | 'activations'; iterations: number; converged: boolean; stopped?: MatchingStop; seed: number; kept: 'matched' | 'identity' };
  };
}

/** max_α [c(α) − ((1−α)c(0) + αc(1))] and its α (the first one on ties). */
export function barrierOf(alphas: number[], curve: number[]): { value: number; alpha: number } {
  const last = curve.length - 1;
  let value = -Infinity;
  let alpha = 0;
  alphas.forEach((a, i) => {
    const v = i === 0 || i === last ? 0 : curve[i] - ((1 - a) * curve[0] + a * curve[last]);
    if (v > value) {
      value = v;
      alpha = a;
    }
  });
  return { value, alpha };
}

export function alphaGrid(steps: number): number[] {
  check(Number.isInteger(steps) && steps >= 2 && steps <= 1001, 'INVALID_ARGUMENT', `steps must be an integer from 2 to 1001, got ${steps}`);
  return Array.from({ length: steps }, (_, i) => (i === steps - 1 ? 1 : i / (steps - 1)));
}

interface WalkState {
  kind?: OutputKind;
  output?: string;
  tokens?: number;
  done: number;
  total: number;
}

async function walk(
  a: OnnxSource,
  b: OnnxSource,
  alphas: number[],
  probe: ReturnType<typeof loadProbe>,
  targets: Targets,
  options: BarrierOptions,
  state: WalkState,
): Promise<PathCurve> {
  const plan = planInterpolation(a, b);
  const loss: number[] = [];
  const error: number[] = [];
  for (const alpha of alphas) {
    const label = `${plan.a.label} ⟷ ${plan.b.label} at α=${alpha}`;
    const { outputs, outputName } = await inferOutputs(interpolatedModel(plan, alpha), probe, { output: options.output, batchSize: options.batchSize, cache: false, label });
    state.output ??= outputName;
    // Sequence outputs are logits unless told otherwise, as compare reads them.
    state.kind ??= resolveOutputKind([outputs], outputs.dims && (options.outputs ?? 'auto') === 'auto' ? 'logits' : (options.outputs ?? 'auto'));
    const r = targetLoss(targets, outputs, state.kind, probe, label);
    state.tokens = r.tokens;
    loss.push(options.bits ? r.loss / Math.LN2 : r.loss);
    error.push(r.error);
    options.onProgress?.(++state.done, state.total);
  }
  const lb = barrierOf(alphas, loss);
  const eb = barrierOf(alphas, error);
  return { alphas, loss, error, lossBarrier: lb.value, lossBarrierAlpha: lb.alpha, errorBarrier: eb.value, errorBarrierAlpha: eb.alpha, matchedBy: plan.matchedBy };
}

export async function lossBarrier(a: OnnxSource, b: OnnxSource, options: BarrierOptions): Promise<BarrierResult> {
  options = optionsObject(options, 'lossBarrier');
  requireOption(options.data, 'lossBarrier', 'data', 'the probe inputs the interpolated models are run on');
  const alphas = alphaGrid(options.steps ?? 11);
  const mode = options.align ?? 'none';
  check(mode === 'none' || mode === 'weights' || mode === 'activations', 'INVALID_ARGUMENT', `align must be none, weights or activations, got ${mode}`);
  if (mode !== 'none') alignSettings({ align: mode, seed: options.seed }); // a bad seed fails now, not after the naive walk
  const ma = readOnnx(a);
  const mb = readOnnx(b);
  const probe = loadProbe(options.data, { cwd: options.cwd });
  const targets = readTargetOptions(options, probe);
  const state: WalkState = { done: 0, total: alphas.length * (mode === 'none' ? 1 : 2) };
  const naive = await walk(ma, mb, alphas, probe, targets, options, state);
  const result: BarrierResult = {
    a: ma.label,
    b: mb.label,
    n: probe.n,
    targets: targets.source,
    ...(state.tokens !== undefined ? { tokens: state.tokens } : {}),
    output: state.output as string,
    outputs: state.kind as OutputKind,
    lossUnit: options.bits ? 'bits' : 'nats',
    naive,
  };
  if (mode !== 'none') {
    const aligned = await alignWeights(ma, mb, { align: mode, data: mode === 'activations' ? probe : undefined, seed: options.seed });
    // align() returns B with BatchNorm folded; walk from A in the same (folded) form.
    const aFolded = encodeOnnx(writeNetwork(buildNetwork(ma)));
    const curve = await walk({ ...readOnnx(aFolded), label: ma.label }, { ...readOnnx(aligned.model), label: `${mb.label} (aligned)` }, alphas, probe, targets, options, state);
    const { method, iterations, converged, stopped, seed, kept } = aligned.alignment;
    result.aligned = { ...curve, alignment: { method, iterations, converged, ...(stopped ? { stopped } : {}), seed, kept } };
  }
  return result;
}
