/**
 * Weight distances between two parameter sets, per tensor and in total:
 * L2 ‖a−b‖, relative ‖a−b‖ / sqrt(‖a‖·‖b‖), cosine a·b / (‖a‖‖b‖), all
 * accumulated in float64. Conventions at zero: relative is 0 when a = b = 0
 * and +Infinity when exactly one is zero; cosine is 1 when both are zero and
 * 0 when exactly one is.
 */
export interface TensorDistance {
  name: string;
  l2: number;
  relative: number;
  cosine: number;
  size: number;
}

export interface WeightDistanceSummary {
  l2: number;
  relative: number;
  cosine: number;
  layers: TensorDistance[];
}

export interface ParamPair {
  name: string;
  a: ArrayLike<number>;
  b: ArrayLike<number>;
}

/**
 * A pair, or a function that reads one when it is used: raw distances stream the model's
 * tensors one pair at a time (read, summed, dropped), so they hold one pair, not the models.
 */
export type ParamPairSource = ParamPair | (() => ParamPair);

interface Sums {
  dd: number;
  aa: number;
  bb: number;
  ab: number;
}

function finish(s: Sums): { l2: number; relative: number; cosine: number } {
  const l2 = Math.sqrt(s.dd);
  const na = Math.sqrt(s.aa);
  const nb = Math.sqrt(s.bb);
  const denom = Math.sqrt(na * nb);
  const relative = l2 === 0 ? 0 : denom === 0 ? Infinity : l2 / denom;
  const cosine = na === 0 && nb === 0 ? 1 : na === 0 || nb === 0 ? 0 : Math.max(-1, Math.min(1, s.ab / (na * nb)));
  return { l2, relative, cosine };
}

export function weightDistances(pairs: Iterable<ParamPairSource>): WeightDistanceSummary {
  const total: Sums = { dd: 0, aa: 0, bb: 0, ab: 0 };
  const layers: TensorDistance[] = [];
  for (const source of pairs) layers.push(addPair(source, total));
  return { ...finish(total), layers };
}

/**
 * One pair's distance, its sums added to `total`. A function of its own so that the pair's
 * arrays die when it returns: a loop body's locals stay referenced from the frame until
 * overwritten, which would keep the previous pair alive while the next one is read.
 */
function addPair(source: ParamPairSource, total: Sums): TensorDistance {
  const { name, a, b } = typeof source === 'function' ? source() : source;
  const s = sums(a, b);
  total.dd += s.dd;
  total.aa += s.aa;
  total.bb += s.bb;
  total.ab += s.ab;
  return { name, ...finish(s), size: a.length };
}

/** The four sums of one pair, in float64 whatever the arrays hold (float32 views are read as they are). */
function sums(a: ArrayLike<number>, b: ArrayLike<number>): Sums {
  let dd = 0;
  let aa = 0;
  let bb = 0;
  let ab = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    const y = b[i];
    const d = x - y;
    dd += d * d;
    aa += x * x;
    bb += y * y;
    ab += x * y;
  }
  return { dd, aa, bb, ab };
}
