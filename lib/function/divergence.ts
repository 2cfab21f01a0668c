/**
 * Output divergences between two models evaluated on the same probe set: the function view.
 *
 * Each model's outputs are an n × k row-major matrix (one row per sample). How a row is read
 * is its {@link OutputKind}: `logits` (softmax inside the kernel, computed stably), `probs`
 * (validated, never renormalized), `sigmoid` / `sigmoid-logit` (one column, a Bernoulli
 * probability or logit). The per-sample math runs in the C++ addon (SIMD, float64
 * accumulation, all cores); this module checks arguments, names inputs in errors, and adds
 * the set-level pieces (argmax predictions, Cohen's kappa).
 *
 * Definitions, units and zero handling are the registry's (lib/measures/function.ts).
 * Async calls read the input arrays in place on worker threads: until the promise settles, do
 * not mutate them or transfer their buffers (a transferred buffer may be freed while a worker
 * reads it; Node-API cannot pin it or detect that). The Sync variant has no such window.
 */
import { check, ModeldiffError } from '../errors';
import { checkBooleanOption, optionsObject } from '../util/options';
import { capabilities, type Isa, native } from '../native';
import type { NativeDivergenceOptions, PerSampleCall } from '../native/divergence';
import { functionMeasures } from '../measures/function';
import { callNative, callNativeSync, checkKernelOptions } from '../native/call';
import { plural } from '../util/plural';
import type { Matrix } from '../matrix';

export type OutputKind = 'logits' | 'probs' | 'sigmoid' | 'sigmoid-logit';

/** A per-sample function-view measure: every function measure of the registry that is not set-level. */
export type FunctionMeasureName = Exclude<(typeof functionMeasures)[number], { setLevel: true }>['name'];

/** Every per-sample function-view measure the kernels compute, in registry order. */
export const FUNCTION_MEASURE_NAMES: readonly FunctionMeasureName[] = functionMeasures.filter(
  (m): m is Exclude<(typeof functionMeasures)[number], { setLevel: true }> => !('setLevel' in m && m.setLevel),
).map((m) => m.name);

export const OUTPUT_KINDS: readonly OutputKind[] = ['logits', 'probs', 'sigmoid', 'sigmoid-logit'];

export interface DivergenceOptions {
  /** How to read the rows; 'auto' (the default) picks one with {@link resolveOutputKind}. */
  outputs?: OutputKind | 'auto';
  /** Smoothing p ← (p + ε) / (1 + kε) of both distributions; 0 / undefined = off. */
  epsilon?: number;
  /** Log measures (kl*, js, js-distance) in bits instead of nats. */
  bits?: boolean;
  /** k × k row-major cost matrix for 'emd-cost' (2 × 2 for the sigmoid kinds). */
  cost?: Float64Array;
  /** Force a SIMD path (tests); default: the best this CPU supports. */
  isa?: Isa;
  /** Worker threads; default: all hardware threads. Results do not depend on it. */
  threads?: number;
  /** Names used in error messages, e.g. file names: [a, b] or one per model. */
  names?: string[];
}

/** Tolerance on a probability row's sum, as the kernels check it. */
const PROB_SUM_TOL = 1e-4;

function isProbRows(x: Matrix): boolean {
  const { data, n, k } = x;
  for (let r = 0; r < n; r++) {
    let s = 0;
    for (let j = r * k; j < (r + 1) * k; j++) {
      const v = data[j]!;
      if (!(v >= 0)) return false; // negative or NaN
      s += v;
    }
    if (!(Math.abs(s - 1) <= PROB_SUM_TOL)) return false;
  }
  return true;
}

function inUnitInterval(x: Matrix): boolean {
  for (const v of x.data) if (!(v >= 0 && v <= 1)) return false;
  return true;
}

/** How 'auto' reads one array (see resolveOutputKind). */
function detectKind(x: Matrix): OutputKind {
  if (x.k === 1) return inUnitInterval(x) ? 'sigmoid' : 'sigmoid-logit';
  return isProbRows(x) ? 'probs' : 'logits';
}

const KIND_LOOKS: Record<OutputKind, string> = {
  probs: 'probabilities (non-negative rows summing to 1)',
  logits: 'logits (rows that are not probabilities)',
  sigmoid: 'sigmoid probabilities (one column in [0, 1])',
  'sigmoid-logit': 'sigmoid logits (one column, not all in [0, 1])',
};

/**
 * Which {@link OutputKind} the arrays are read as. An explicit kind is returned as is. 'auto':
 * k = 1 with every value in [0, 1] → 'sigmoid', k = 1 otherwise → 'sigmoid-logit'; rows all
 * non-negative and summing to 1 within 1e-4 → 'probs'; anything else → 'logits'. Arrays that
 * would be read differently are an error naming them (`names`, default a, b, ...): reading a
 * probability array as logits gives confident wrong numbers, and a probability array with one
 * bad row would otherwise slip through as logits instead of failing validation.
 *
 * `outputChoices` lists, per array, its model and the outputs that model has: when any has more than one,
 * the error says to pick the same output of each model by name (option `output`), since the usual
 * cause is one model whose first output is probabilities and another whose first is logits, and
 * forcing one reading on both would make a confident wrong number.
 */
export function resolveOutputKind(
  arrays: Matrix[],
  requested: OutputKind | 'auto' = 'auto',
  names?: readonly string[],
  outputChoices?: readonly { model: string; outputs: readonly string[] }[],
): OutputKind {
  if (requested !== 'auto') {
    check(
      (OUTPUT_KINDS as readonly string[]).includes(requested),
      'INVALID_ARGUMENT',
      `outputs must be one of auto, ${OUTPUT_KINDS.join(', ')}; got '${String(requested)}'`,
    );
    return requested;
  }
  if (arrays.length === 0) return 'logits';
  const kinds = arrays.map(detectKind);
  const other = kinds.findIndex((k) => k !== kinds[0]);
  if (other >= 0) {
    const name = (i: number) => names?.[i] ?? String.fromCharCode(97 + (i % 26));
    const found = `outputs 'auto' cannot read these arrays one way: ${name(0)} looks like ${KIND_LOOKS[kinds[0]]} but ${name(other)} like ${KIND_LOOKS[kinds[other]]}`;
    if (outputChoices?.some((c) => c.outputs.length > 1)) {
      const listed = outputChoices.map((c) => `${c.model}: ${c.outputs.join(', ')}`).join('; ');
      throw new ModeldiffError('INVALID_ARGUMENT', `${found}; compare the same output of each model, chosen by name with option output (outputs of ${listed})`, {
        option: 'output',
      });
    }
    throw new ModeldiffError(
      'INVALID_ARGUMENT',
      `${found}; both are read the same way, so make them the same kind (reading probabilities as logits gives wrong numbers), or set option outputs (${OUTPUT_KINDS.join('|')}) if you know what both hold`,
      { option: 'outputs' },
    );
  }
  return kinds[0];
}

/**
 * What 'auto' would have said when an explicit reading contradicts it on these arrays, e.g.
 * probabilities read as logits: a warning, since it is legal but usually a mistake that gives
 * confident wrong numbers. Undefined when the reading matches what the arrays look like.
 */
export function outputKindWarning(arrays: Matrix[], used: OutputKind, names?: readonly string[]): string | undefined {
  const name = (i: number) => names?.[i] ?? String.fromCharCode(97 + (i % 26));
  for (let i = 0; i < arrays.length; i++) {
    const looks = detectKind(arrays[i]);
    if ((used === 'logits' && looks === 'probs') || (used === 'sigmoid-logit' && looks === 'sigmoid')) {
      return `${name(i)} looks like ${KIND_LOOKS[looks]} but is read as ${used}: the numbers are right only if these really are ${used}`;
    }
  }
  return undefined;
}

/**
 * The sigmoid kinds read one column per sample (a Bernoulli probability or its logit): the one
 * check of that rule, for every reader of outputs.
 * @internal
 */
export function checkSigmoidColumns(kind: string, k: number): void {
  if ((kind === 'sigmoid' || kind === 'sigmoid-logit') && k !== 1) {
    throw new ModeldiffError('INVALID_ARGUMENT', `outputs '${kind}' needs one column per sample, got k = ${k}`, { option: 'outputs' });
  }
}

function shapeOf(x: Matrix): string {
  return `[${x.n}, ${x.k}]`;
}

function checkArray(x: Matrix, name: string): void {
  check(
    x !== null && typeof x === 'object' && (x.data instanceof Float32Array || x.data instanceof Float64Array),
    'INVALID_ARGUMENT',
    `${name}: outputs must be a Float32Array or Float64Array`,
  );
  check(
    Number.isInteger(x.n) && x.n >= 0 && Number.isInteger(x.k) && x.k >= 1,
    'INVALID_ARGUMENT',
    `${name}: n must be an integer >= 0 and k an integer >= 1 (got n = ${x.n}, k = ${x.k})`,
  );
  check(
    x.data.length === x.n * x.k,
    'SHAPE_MISMATCH',
    `${name}: ${x.data.length} values do not fill shape ${shapeOf(x)}`,
  );
  check(x.n > 0, 'INVALID_ARGUMENT', `${name}: no samples (n = 0)`);
}

function checkMeasures(measures: readonly string[]): void {
  check(Array.isArray(measures) && measures.length > 0, 'INVALID_ARGUMENT', 'measures: name at least one measure');
  for (const m of measures) {
    check(
      (FUNCTION_MEASURE_NAMES as readonly string[]).includes(m),
      'INVALID_ARGUMENT',
      `measures: unknown measure '${m}' (known: ${FUNCTION_MEASURE_NAMES.join(', ')})`,
    );
  }
}

/**
 * Checks `options` against the inputs and turns them into the binding's form (throws
 * INVALID_ARGUMENT naming the bad option).
 */
function nativeOptions(
  kind: OutputKind,
  k: number,
  measures: readonly string[],
  options: DivergenceOptions,
): NativeDivergenceOptions {
  const out: NativeDivergenceOptions = { kind };
  checkSigmoidColumns(kind, k);
  const ke = kind === 'sigmoid' || kind === 'sigmoid-logit' ? 2 : k;
  if (options.epsilon !== undefined) {
    check(
      typeof options.epsilon === 'number' && Number.isFinite(options.epsilon) && options.epsilon >= 0,
      'INVALID_ARGUMENT',
      `epsilon must be a finite number >= 0, got ${String(options.epsilon)}`,
    );
    // (p + ε) / (1 + k·ε): a k·ε that overflows would turn every row into NaN.
    check(Number.isFinite(1 + ke * options.epsilon), 'INVALID_ARGUMENT', `epsilon ${options.epsilon} is too large for ${ke} classes (1 + k·epsilon overflows)`);
    out.epsilon = options.epsilon;
  }
  checkBooleanOption(options.bits, 'divergence', 'bits');
  if (options.bits) out.bits = true;
  if (measures.includes('emd-cost')) {
    const max = native.divergenceMaxEmdCostClasses;
    check(ke <= max, 'INVALID_ARGUMENT', `emd-cost supports at most ${max} classes, got ${ke}`);
    check(
      options.cost instanceof Float64Array && options.cost.length === ke * ke,
      'INVALID_ARGUMENT',
      `emd-cost needs a cost matrix: a Float64Array of ${ke} × ${ke} = ${ke * ke} values (option cost)`,
    );
    const cost = options.cost!;
    for (let i = 0; i < cost.length; i++) {
      const v = cost[i]!;
      if (!(Number.isFinite(v) && v >= 0)) {
        const entry = `[${Math.floor(i / ke)}][${i % ke}]`;
        throw new ModeldiffError('INVALID_ARGUMENT', `cost matrix entry ${entry} = ${v} must be finite and >= 0`, { option: 'cost' });
      }
    }
  }
  if (options.cost !== undefined) out.cost = options.cost;
  checkKernelOptions(options);
  if (options.isa !== undefined) out.isa = options.isa;
  if (options.threads !== undefined) out.threads = options.threads;
  return out;
}

interface Prepared {
  names: string[];
  kind: OutputKind;
  opts: NativeDivergenceOptions;
}

/**
 * Check two models' outputs as the divergence functions do (typed arrays that fill their
 * shapes, n > 0, equal shapes) and return the names errors use for them.
 * @internal
 */
export function checkOutputPair(a: Matrix, b: Matrix, options: Pick<DivergenceOptions, 'names'> = {}): [string, string] {
  const names: [string, string] = [options.names?.[0] ?? 'a', options.names?.[1] ?? 'b'];
  checkArray(a, names[0]);
  checkArray(b, names[1]);
  check(
    a.n === b.n && a.k === b.k,
    'SHAPE_MISMATCH',
    `${names[0]} has shape ${shapeOf(a)} but ${names[1]} has shape ${shapeOf(b)}; outputs compared on the same probe set must have the same shape`,
  );
  return names;
}

function preparePair(a: Matrix, b: Matrix, measures: readonly string[], options: DivergenceOptions): Prepared {
  options = optionsObject(options, 'divergencePerSample');
  const names = checkOutputPair(a, b, options);
  checkMeasures(measures);
  const kind = resolveOutputKind([a, b], options.outputs ?? 'auto', names);
  return { names, kind, opts: nativeOptions(kind, a.k, measures, options) };
}

/**
 * Per-sample values of each requested measure, computed in one pass over the rows, off the
 * main thread. Only the requested keys are present in the result.
 */
export async function divergencePerSample<M extends FunctionMeasureName>(
  a: Matrix,
  b: Matrix,
  measures: M[],
  options: DivergenceOptions = {},
): Promise<Record<M, Float64Array>> {
  const p = preparePair(a, b, measures, options);
  return (await callNative('divergencePerSample', { ...p.opts, a: a.data, b: b.data, n: a.n, k: a.k, measures }, { inputs: p.names })).values as Record<
    M,
    Float64Array
  >;
}

/** {@link divergencePerSample} on the calling thread (fine for small inputs). */
export function divergencePerSampleSync<M extends FunctionMeasureName>(
  a: Matrix,
  b: Matrix,
  measures: M[],
  options: DivergenceOptions = {},
): Record<M, Float64Array> {
  const p = preparePair(a, b, measures, options);
  return callNativeSync('divergencePerSample', { ...p.opts, a: a.data, b: b.data, n: a.n, k: a.k, measures }, { inputs: p.names }).values as Record<
    M,
    Float64Array
  >;
}

/** What {@link divergenceRows} computes per row besides the measures. @internal */
export interface RowExtrasRequest {
  /** Each model's `topk` best classes per row (1 ≤ topk ≤ classes). */
  topk?: number;
  /** Target class per row (-1 = none): each model's log-probability and probability of it. */
  targets?: Int32Array;
  /**
   * Only these rows of a and b, in this order, read in place (no gathered copy): every result
   * then has one entry per listed row; `targets` stays indexed by row of a and b.
   */
  rows?: Int32Array;
}

/** {@link divergenceRows}' result; every pair is [a, b]. @internal */
export interface RowsResult<M extends FunctionMeasureName> {
  values: Record<M, Float64Array>;
  /** n × topk class ids per model, best first, ties to the lower id (top-1 is the argmax). */
  top?: [Int32Array, Int32Array];
  /** log p(target) under each model's unsmoothed distribution (float64); NaN where the target is -1. */
  targetLogProb?: [Float64Array, Float64Array];
  /** p(target); NaN where the target is -1. */
  targetProb?: [Float64Array, Float64Array];
}

function prepareRows(a: Matrix, b: Matrix, measures: readonly string[], extras: RowExtrasRequest, options: DivergenceOptions) {
  const wanted = extras.topk !== undefined || extras.targets !== undefined;
  const p = wanted && measures.length === 0 ? preparePair(a, b, ['tv'], options) : preparePair(a, b, measures, options);
  const classes = p.kind === 'sigmoid' || p.kind === 'sigmoid-logit' ? 2 : a.k;
  const call: PerSampleCall = { ...p.opts, a: a.data, b: b.data, n: a.n, k: a.k, measures };
  if (extras.topk !== undefined) {
    if (!(Number.isInteger(extras.topk) && extras.topk >= 1 && extras.topk <= classes)) {
      throw new ModeldiffError('INVALID_ARGUMENT', `topk must be an integer in [1, ${classes}] (the number of classes), got ${String(extras.topk)}`, { option: 'topk' });
    }
    call.topk = extras.topk;
  }
  if (extras.targets !== undefined) {
    const t = extras.targets;
    if (!(t instanceof Int32Array && t.length === a.n)) {
      throw new ModeldiffError('SHAPE_MISMATCH', `targets must be an Int32Array of ${a.n} values (one per row)`, { option: 'targets' });
    }
    for (let r = 0; r < t.length; r++) {
      if (!(t[r] >= -1 && t[r] < classes)) {
        throw new ModeldiffError('INVALID_ARGUMENT', `targets, row ${r}: class ${t[r]} is outside [0, ${classes}) (-1 = no target)`, { option: 'targets' });
      }
    }
    call.targets = t;
  }
  if (extras.rows !== undefined) {
    const rows = extras.rows;
    if (!(rows instanceof Int32Array)) throw new ModeldiffError('INVALID_ARGUMENT', 'rows must be an Int32Array of row indices', { option: 'rows' });
    for (let i = 0; i < rows.length; i++) {
      if (!(rows[i] >= 0 && rows[i] < a.n)) throw new ModeldiffError('INVALID_ARGUMENT', `rows[${i}] = ${rows[i]} is outside [0, ${a.n})`, { option: 'rows' });
    }
    call.rows = rows;
    call.rowCount = rows.length;
  }
  return { call, names: p.names };
}

/**
 * {@link divergencePerSample} plus, in the same pass over each row (one softmax per row and
 * model), each model's top-k classes and the log-probability and probability of a target class:
 * what the token summaries need from a [rows, vocab] batch. `measures` may be empty.
 * @internal
 */
export async function divergenceRows<M extends FunctionMeasureName>(
  a: Matrix,
  b: Matrix,
  measures: M[],
  extras: RowExtrasRequest,
  options: DivergenceOptions = {},
): Promise<RowsResult<M>> {
  const p = prepareRows(a, b, measures, extras, options);
  return (await callNative('divergencePerSample', p.call, { inputs: p.names })) as RowsResult<M>;
}

/** {@link divergenceRows} on the calling thread. @internal */
export function divergenceRowsSync<M extends FunctionMeasureName>(
  a: Matrix,
  b: Matrix,
  measures: M[],
  extras: RowExtrasRequest,
  options: DivergenceOptions = {},
): RowsResult<M> {
  const p = prepareRows(a, b, measures, extras, options);
  return callNativeSync('divergencePerSample', p.call, { inputs: p.names }) as RowsResult<M>;
}

/**
 * N × N row-major matrix of the mean per-sample `measure` between every pair of models
 * (diagonal 0). Each model's rows are prepared (softmax, logs) once per block of rows and
 * reused by every pair.
 */
export async function pairwiseDivergence(
  models: Matrix[],
  measure: FunctionMeasureName,
  options: DivergenceOptions = {},
): Promise<Float64Array> {
  check(Array.isArray(models) && models.length > 0, 'INVALID_ARGUMENT', 'models: pass at least one model output');
  options = optionsObject(options, 'pairwiseDivergence');
  const names = models.map((_, i) => options.names?.[i] ?? `model ${i}`);
  models.forEach((m, i) => checkArray(m, names[i]!));
  const first = models[0]!;
  models.forEach((m, i) =>
    check(
      m.n === first.n && m.k === first.k,
      'SHAPE_MISMATCH',
      `${names[i]} has shape ${shapeOf(m)} but ${names[0]} has shape ${shapeOf(first)}; outputs compared on the same probe set must have the same shape`,
    ),
  );
  checkMeasures([measure]);
  const kind = resolveOutputKind(models, options.outputs ?? 'auto', names);
  const opts = nativeOptions(kind, first.k, [measure], options);
  return callNative(
    'divergencePairwise',
    { ...opts, models: models.map((m) => m.data), n: first.n, k: first.k, measure },
    { inputs: names },
  );
}

/**
 * The advice shown when a KL-type measure is +Infinity on some samples (one model gives a class
 * probability 0 that the other does not), naming how to get a finite number.
 */
export function infiniteMeasureHint(measure: string, infinite: number, n: number): string {
  return (
    `${measure} is infinite on ${infinite} of ${n} samples: one model gives probability 0 to a class the other does not; ` +
    `smooth with options.epsilon 1e-9 (or another small value), or use js / tv / hellinger, which stay finite`
  );
}

/**
 * Argmax class per row (ties → lowest index, as numpy) and the probability the model gives it.
 * For the sigmoid kinds the classes are [0, 1] with p(1) = s (or sigmoid(z)).
 */
export function predict(x: Matrix, outputs: OutputKind): { label: Int32Array; confidence: Float64Array } {
  checkArray(x, 'outputs');
  resolveOutputKind([x], outputs);
  const { data, n, k } = x;
  const label = new Int32Array(n);
  const confidence = new Float64Array(n);
  checkSigmoidColumns(outputs, k);
  for (let r = 0; r < n; r++) {
    const off = r * k;
    let best = 0;
    let max = data[off]!;
    for (let j = 0; j < k; j++) {
      const v = data[off + j]!;
      // A plain `if`, not check(): check's message argument would be built for every element.
      if (!Number.isFinite(v)) throw new ModeldiffError('NON_FINITE', `outputs, row ${r}: contains NaN or Infinity`);
      if (v > max) {
        max = v;
        best = j;
      }
    }
    if (outputs === 'logits') {
      let s = 0;
      for (let j = 0; j < k; j++) s += Math.exp(data[off + j]! - max);
      label[r] = best;
      confidence[r] = 1 / s;
    } else if (outputs === 'probs') {
      label[r] = best;
      confidence[r] = max;
    } else if (outputs === 'sigmoid') {
      label[r] = max > 0.5 ? 1 : 0;
      confidence[r] = max > 0.5 ? max : 1 - max;
    } else {
      label[r] = max > 0 ? 1 : 0;
      confidence[r] = 1 / (1 + Math.exp(-Math.abs(max)));
    }
  }
  return { label, confidence };
}

/**
 * Cohen's kappa between two labelings of the same samples: (p_o − p_e) / (1 − p_e), with p_o
 * the observed agreement and p_e the agreement expected from the label frequencies. Two
 * identical constant labelings (p_e = 1) give 1 (scikit-learn returns NaN there).
 */
export function cohenKappa(labelsA: Int32Array, labelsB: Int32Array, k: number): number {
  check(Number.isInteger(k) && k >= 1, 'INVALID_ARGUMENT', `k must be an integer >= 1, got ${k}`);
  check(
    labelsA.length === labelsB.length,
    'SHAPE_MISMATCH',
    `labelsA has ${plural(labelsA.length, 'sample')} but labelsB has ${labelsB.length}`,
  );
  const n = labelsA.length;
  check(n > 0, 'INVALID_ARGUMENT', 'cohenKappa: no samples (n = 0)');
  const ca = new Float64Array(k);
  const cb = new Float64Array(k);
  let agree = 0;
  for (let i = 0; i < n; i++) {
    const x = labelsA[i]!;
    const y = labelsB[i]!;
    if (!(x >= 0 && x < k && y >= 0 && y < k)) {
      throw new ModeldiffError('INVALID_ARGUMENT', `labels, sample ${i}: label outside [0, ${k})`);
    }
    if (!Number.isInteger(x) || !Number.isInteger(y)) {
      throw new ModeldiffError('INVALID_ARGUMENT', `labels, sample ${i}: label ${Number.isInteger(x) ? y : x} is not an integer class id`);
    }
    ca[x] += 1;
    cb[y] += 1;
    if (x === y) agree++;
  }
  const po = agree / n;
  let pe = 0;
  for (let c = 0; c < k; c++) pe += (ca[c]! / n) * (cb[c]! / n);
  if (pe >= 1) return 1; // both labelings constant and equal (po = 1)
  return (po - pe) / (1 - pe);
}
