/**
 * Typed, validated wrappers over the weight-space C++ kernels: linear sum
 * assignment (LAPJV), scale / sign canonicalization, unit sorting and
 * permutation, and the weight-matching similarity matrix.
 *
 * A hidden layer with `units` hidden units is a `LayerWeights`:
 * - `win`  units × fanIn, row-major: each unit's incoming weights (a Gemm row,
 *   or a conv output channel's whole C_in·kh·kw filter);
 * - `bin`  units: the bias (zeros if the layer has none);
 * - `wout` outRows × units × block, row-major: the next layer's weights viewed
 *   so that unit u's outgoing weights are `wout[o, u, 0..block)` (Gemm next:
 *   block 1; Conv next: block kh·kw; Flatten→Gemm next: block H·W).
 *
 * Functions marked "in place" modify the arrays of the layer they are given.
 * Everything is float64 and deterministic.
 */
import { check } from '../errors';
import { callNative, callNativeSync, checkKernelOptions } from '../native/call';
import type { Isa } from '../native/capabilities';
import type { AssignmentResult, NativeLayer } from '../native/weights';

export type { AssignmentResult } from '../native/weights';

/** A hidden layer as the kernels read it: incoming weights and bias, outgoing weights. */
export type LayerWeights = NativeLayer;

export type AssignmentMethod = 'auto' | 'lapjv' | 'shortest-path';

export interface AssignmentOptions {
  /** Maximize the total instead of minimizing it (default false). */
  maximize?: boolean;
  /**
   * Solver. `'auto'` (default) = `'lapjv'`: Jonker-Volgenant, i.e. column
   * reduction and reduction transfer for square finite matrices, then a
   * vectorized Dijkstra shortest augmenting path per free row (for
   * rectangular matrices or ones with forbidden entries, the shortest-path
   * phase from every row). `'shortest-path'`: the Crouse (2016) method as in
   * scipy, scalar, an independent implementation kept for cross-checks. Both
   * give an optimal assignment (they may differ on ties).
   */
  method?: AssignmentMethod;
  /** SIMD path (default: the active one, see `capabilities()`); every path gives the same result. For parity tests and benchmarks. */
  isa?: Isa;
}

const METHODS: readonly AssignmentMethod[] = ['auto', 'lapjv', 'shortest-path'];

// Below 2^31: the kernels index rows, columns and units with 32-bit integers (Int32Array results).
function isDim(n: unknown): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= 0x7fffffff;
}

/** Validates and converts the assignment arguments to the addon's. */
function lsaArgs(cost: Float64Array, rows: number, cols: number, options: AssignmentOptions) {
  check(cost instanceof Float64Array, 'INVALID_ARGUMENT', 'linearSumAssignment: cost must be a Float64Array (rows × cols, row-major)');
  check(isDim(rows), 'INVALID_ARGUMENT', `linearSumAssignment: rows must be a non-negative integer below 2^31, got ${rows}`);
  check(isDim(cols), 'INVALID_ARGUMENT', `linearSumAssignment: cols must be a non-negative integer below 2^31, got ${cols}`);
  check(
    cost.length === rows * cols,
    'INVALID_ARGUMENT',
    `linearSumAssignment: cost has ${cost.length} elements, expected rows × cols = ${rows} × ${cols} = ${rows * cols}`,
  );
  const method = options.method ?? 'auto';
  check(METHODS.includes(method), 'INVALID_ARGUMENT', `linearSumAssignment: unknown method "${method}" (auto, lapjv, shortest-path)`);
  checkKernelOptions({ isa: options.isa }, 'linearSumAssignment');
  return { cost, rows, cols, maximize: options.maximize === true, method, isa: options.isa };
}

/**
 * Optimal linear sum assignment of a dense `rows × cols` cost matrix
 * (row-major), off the main thread. If rows ≤ cols every row gets a distinct
 * column; otherwise every column gets a distinct row and the remaining rows
 * get -1. `total` is the sum of `cost` over the assigned pairs.
 *
 * Forbidden pairs: `+Infinity` when minimizing, `-Infinity` when maximizing.
 * NaN, an infinity of the other sign, or a matrix with no complete assignment
 * avoiding the forbidden pairs is an INVALID_ARGUMENT error. Deterministic
 * (ties go to lower indices; a constant matrix yields the identity) and
 * identical on every SIMD path. `cost` is read in place by a worker
 * thread: do not modify it until the promise settles.
 */
export async function linearSumAssignment(
  cost: Float64Array,
  rows: number,
  cols: number,
  options: AssignmentOptions = {},
): Promise<AssignmentResult> {
  const args = lsaArgs(cost, rows, cols, options);
  return callNative('linearSumAssignment', args, { what: 'linearSumAssignment', inputs: ['cost'], located: true });
}

/** Synchronous `linearSumAssignment` (blocks the event loop; fine for small matrices). */
export function linearSumAssignmentSync(
  cost: Float64Array,
  rows: number,
  cols: number,
  options: AssignmentOptions = {},
): AssignmentResult {
  const args = lsaArgs(cost, rows, cols, options);
  return callNativeSync('linearSumAssignment', args, { what: 'linearSumAssignment', inputs: ['cost'], located: true });
}

/** Validates a layer's dims and array lengths, naming the argument at fault. */
function layerArgs(fn: string, layer: LayerWeights, name = 'layer') {
  check(layer !== null && typeof layer === 'object', 'INVALID_ARGUMENT', `${fn}: ${name} must be a LayerWeights object`);
  const { win, bin, wout, units, fanIn, outRows, block } = layer;
  for (const [k, v] of Object.entries({ units, fanIn, outRows, block })) {
    check(isDim(v), 'INVALID_ARGUMENT', `${fn}: ${name}.${k} must be a non-negative integer, got ${v}`);
  }
  const expect: [string, unknown, number][] = [
    ['win', win, units * fanIn],
    ['bin', bin, units],
    ['wout', wout, outRows * units * block],
  ];
  for (const [k, arr, n] of expect) {
    check(arr instanceof Float64Array, 'INVALID_ARGUMENT', `${fn}: ${name}.${k} must be a Float64Array`);
    check(
      arr.length === n,
      'INVALID_ARGUMENT',
      `${fn}: ${name}.${k} has ${arr.length} elements, expected ${n} (units ${units}, fanIn ${fanIn}, outRows ${outRows}, block ${block})`,
    );
  }
  return { win, bin, wout, units, fanIn, outRows, block };
}

function checkPermutation(fn: string, perm: Int32Array, n: number): void {
  check(perm instanceof Int32Array, 'INVALID_ARGUMENT', `${fn}: perm must be an Int32Array`);
  check(perm.length === n, 'INVALID_ARGUMENT', `${fn}: perm has ${perm.length} entries, expected ${n}`);
  const seen = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const p = perm[i];
    check(p >= 0 && p < n && !seen[p], 'INVALID_ARGUMENT', `${fn}: perm is not a permutation of 0..${n - 1} (perm[${i}] = ${p})`);
    seen[p] = 1;
  }
}

/**
 * Scale canonicalization, in place (positively homogeneous activations such as
 * ReLU): each unit's incoming vector (win row and bias) is divided by its L2
 * norm and its outgoing weights multiplied by it, so the network computes the
 * same function. Returns the per-unit factors (the norms; 1 for an all-zero
 * unit, which is left untouched). Idempotent: a second call returns factors ≈ 1.
 */
export function normalizeScaleSync(layer: LayerWeights): Float64Array {
  return callNativeSync('normalizeScale', { layer: layerArgs('normalizeScaleSync', layer) }, { what: 'normalizeScaleSync' });
}

/**
 * Sign canonicalization, in place (odd activations such as tanh): a unit's
 * key entry is the one of largest magnitude among its incoming weights then
 * its bias (the lowest index on ties); if it is negative, the unit's incoming
 * weights, bias and outgoing weights are all negated. Returns -1 (flipped) or
 * +1 per unit. Idempotent; an all-zero incoming vector is left alone.
 */
export function fixSignSync(layer: LayerWeights): Int8Array {
  return callNativeSync('fixSign', { layer: layerArgs('fixSignSync', layer) }, { what: 'fixSignSync' });
}

/**
 * Unit sort keys, all sorted descending:
 * - `'out-norm'` (default): L2 norm of the unit's outgoing weights (after
 *   scale normalization this is the unit's overall scale);
 * - `'bias'`: the bias;
 * - `'in-l1'`: L1 norm of the incoming weights;
 * - `'first-weight'`: the first incoming weight.
 */
export type SortKey = 'out-norm' | 'bias' | 'in-l1' | 'first-weight';

/** Every SortKey, in the order above. */
export const SORT_KEYS: readonly SortKey[] = ['out-norm', 'bias', 'in-l1', 'first-weight'];

/**
 * The canonical order of a layer's units: `perm[i]` is the unit to place at
 * position i, sorting `key` descending with ties kept in original order.
 * Feed it to `applyPermutationSync`.
 */
export function sortPermutationSync(layer: LayerWeights, key: SortKey = 'out-norm'): Int32Array {
  const args = layerArgs('sortPermutationSync', layer);
  check(SORT_KEYS.includes(key), 'INVALID_ARGUMENT', `sortPermutationSync: unknown key "${key}" (out-norm, bias, in-l1, first-weight)`);
  return callNativeSync('sortPermutation', { layer: args, key }, { what: 'sortPermutationSync' });
}

/**
 * The per-unit values `sortPermutationSync` sorts by (not sorted). Useful to see
 * how close neighbouring keys are: near-ties are where the sorting baseline
 * is unstable under small perturbations.
 */
export function sortKeysSync(layer: LayerWeights, key: SortKey = 'out-norm'): Float64Array {
  const args = layerArgs('sortKeysSync', layer);
  check(SORT_KEYS.includes(key), 'INVALID_ARGUMENT', `sortKeysSync: unknown key "${key}" (out-norm, bias, in-l1, first-weight)`);
  return callNativeSync('sortKeys', { layer: args, key }, { what: 'sortKeysSync' });
}

/**
 * Reorders a layer's units in place: new unit i = old unit `perm[i]` (rows of
 * win, entries of bin, and the unit axis of wout, each unit's whole block).
 * The inverse permutation restores the layer exactly.
 */
export function applyPermutationSync(layer: LayerWeights, perm: Int32Array): void {
  const args = layerArgs('applyPermutationSync', layer);
  checkPermutation('applyPermutationSync', perm, layer.units);
  callNativeSync('applyPermutation', { layer: args, perm }, { what: 'applyPermutationSync' });
}

/**
 * The input side of a permutation, in place: reorders the middle axis of a
 * `rows × units × block` row-major tensor, new [r, i, :] = old [r, perm[i], :].
 * Use it on any array that holds a permuted layer's units on its input axis
 * and is not that layer's `wout` (e.g. a second consumer of a residual
 * stream, or the next layer's weights kept as a separate copy):
 * a Gemm weight [out, in] is (out, in, 1), a Conv weight [Cout, Cin, kh, kw]
 * is (Cout, Cin, kh·kw), a Gemm after Flatten is (out, C, H·W).
 * `applyPermutationSync` already does this for `wout`.
 */
export function permuteUnitAxisSync(data: Float64Array, rows: number, units: number, block: number, perm: Int32Array): void {
  check(data instanceof Float64Array, 'INVALID_ARGUMENT', 'permuteUnitAxisSync: data must be a Float64Array');
  for (const [k, v] of Object.entries({ rows, units, block })) {
    check(isDim(v), 'INVALID_ARGUMENT', `permuteUnitAxisSync: ${k} must be a non-negative integer, got ${v}`);
  }
  check(
    data.length === rows * units * block,
    'INVALID_ARGUMENT',
    `permuteUnitAxisSync: data has ${data.length} elements, expected rows × units × block = ${rows * units * block}`,
  );
  checkPermutation('permuteUnitAxisSync', perm, units);
  callNativeSync('permuteUnitAxis', { data, rows, units, block, perm }, { what: 'permuteUnitAxisSync' });
}

/**
 * Weight-matching similarity (Ainsworth et al. 2022) of A's units to B's:
 * C[i, j] = Σ_f a.win[i,f]·b.win[j,f] + a.bin[i]·b.bin[j] + Σ_{o,t} a.wout[o,i,t]·b.wout[o,j,t],
 * an `a.units × b.units` row-major matrix. Each entry is one sequential
 * float64 sum in that order (SIMD over entries, multithreaded for large
 * layers, no fused multiply-add), so the result is the same bit for bit on
 * every machine, thread count and `options.isa` (for parity tests). A and B
 * must agree in fanIn, outRows and block; apply the neighbouring layers'
 * permutations to B first. Maximize it with
 * `linearSumAssignment(C, a.units, b.units, { maximize: true })`.
 *
 * `options.out`: a Float64Array of exactly a.units × b.units elements to write C into (it is
 * overwritten and returned), so that a caller matching many groups reuses one buffer instead
 * of allocating a new matrix per call (8·units² bytes: 134 MB at 4096 units).
 */
export function matchingSimilaritySync(a: LayerWeights, b: LayerWeights, options: MatchingSimilarityOptions = {}): Float64Array {
  return callNativeSync('matchingSimilarity', matchingArgs('matchingSimilarity', a, b, options), { what: 'matchingSimilarity' });
}

/**
 * `matchingSimilaritySync` on a worker thread, for large layers (it does not block
 * the event loop). Same result bit for bit. The layers' arrays are read in
 * place: do not modify them until the promise settles.
 */
export async function matchingSimilarity(a: LayerWeights, b: LayerWeights, options: MatchingSimilarityOptions = {}): Promise<Float64Array> {
  return callNative('matchingSimilarity', matchingArgs('matchingSimilarity', a, b, options), { what: 'matchingSimilarity' });
}

export interface MatchingSimilarityOptions {
  /** SIMD path (default: the active one); every path gives the same result. */
  isa?: Isa;
  /** Threads (an integer >= 1; default all cores; small products use one); every count gives the same result. */
  threads?: number;
  /** Where to write the a.units × b.units result (overwritten and returned); default a new array. */
  out?: Float64Array;
}

function matchingArgs(fn: string, a: LayerWeights, b: LayerWeights, options: MatchingSimilarityOptions) {
  const argsA = layerArgs(fn, a, 'a');
  const argsB = layerArgs(fn, b, 'b');
  checkKernelOptions({ isa: options.isa, threads: options.threads }, fn);
  for (const k of ['fanIn', 'outRows', 'block'] as const) {
    check(a[k] === b[k], 'INVALID_ARGUMENT', `${fn}: a.${k} (${a[k]}) differs from b.${k} (${b[k]})`);
  }
  const { out, isa, threads } = options;
  if (out === undefined) return { a: argsA, b: argsB, isa, threads };
  const size = a.units * b.units;
  check(out instanceof Float64Array, 'INVALID_ARGUMENT', `${fn}: out must be a Float64Array of a.units × b.units = ${size} elements`, 'out');
  check(out.length === size, 'INVALID_ARGUMENT', `${fn}: out has ${out.length} elements, expected a.units × b.units = ${a.units} × ${b.units} = ${size}`, 'out');
  return { a: argsA, b: argsB, isa, threads, out };
}
