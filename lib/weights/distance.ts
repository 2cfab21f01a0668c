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

export function weightDistances(pairs: ParamPair[]): WeightDistanceSummary {
  const total: Sums = { dd: 0, aa: 0, bb: 0, ab: 0 };
  const layers = pairs.map(({ name, a, b }) => {
    const s: Sums = { dd: 0, aa: 0, bb: 0, ab: 0 };
    for (let i = 0; i < a.length; i++) {
      const x = a[i];
      const y = b[i];
      const d = x - y;
      s.dd += d * d;
      s.aa += x * x;
      s.bb += y * y;
      s.ab += x * y;
    }
    total.dd += s.dd;
    total.aa += s.aa;
    total.bb += s.bb;
    total.ab += s.ab;
    return { name, ...finish(s), size: a.length };
  });
  return { ...finish(total), layers };
}
