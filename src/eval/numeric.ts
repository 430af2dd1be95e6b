/**
 * Float64 arithmetic exactly as NumPy performs it, so that the evaluators reproduce the
 * reference statistics bit for bit rather than to within rounding.
 */

/** `np.spacing(1)`: the reference adds it to denominators. */
export const SPACING_1 = Number.EPSILON;

/** `np.linspace(start, stop, num, endpoint=True)`: `i * step + start`, last value exactly `stop`. */
export function linspace(start: number, stop: number, num: number): Float64Array {
  const out = new Float64Array(num);
  const step = (stop - start) / (num - 1);
  for (let i = 0; i < num; i++) out[i] = i * step + start;
  out[num - 1] = stop;
  return out;
}

/**
 * `np.sum` of a float64 vector: NumPy's pairwise summation (8 accumulators, blocks of 128,
 * halves split at multiples of 8), started from the additive identity.
 */
export function pairwiseSum(a: ArrayLike<number>, begin = 0, n = a.length - begin): number {
  if (n < 8) {
    let s = 0;
    for (let i = 0; i < n; i++) s += a[begin + i]!;
    return s;
  }
  if (n <= 128) {
    const r = new Float64Array(8);
    for (let j = 0; j < 8; j++) r[j] = a[begin + j]!;
    let i = 8;
    for (; i < n - (n % 8); i += 8) {
      for (let j = 0; j < 8; j++) r[j]! += a[begin + i + j]!;
    }
    let s = ((r[0]! + r[1]!) + (r[2]! + r[3]!)) + ((r[4]! + r[5]!) + (r[6]! + r[7]!));
    for (; i < n; i++) s += a[begin + i]!;
    return s;
  }
  let n2 = Math.floor(n / 2);
  n2 -= n2 % 8;
  return pairwiseSum(a, begin, n2) + pairwiseSum(a, begin + n2, n - n2);
}

/** `np.mean` of a float64 vector (pairwise sum, then one division). */
export function mean(a: ArrayLike<number>): number {
  return pairwiseSum(a) / a.length;
}

/**
 * `np.argsort(-scores, kind='mergesort')`: indices by descending score, ties kept in input
 * order (the reference's tie rule; Array.prototype.sort is stable).
 */
export function argsortDescending(scores: ArrayLike<number>): number[] {
  const idx = Array.from({ length: scores.length }, (_, i) => i);
  return idx.sort((i, j) => {
    const a = scores[i]!;
    const b = scores[j]!;
    return a > b ? -1 : a < b ? 1 : 0;
  });
}

/** `np.round(x, decimals)`: multiply, round half to even, divide. */
export function npRound(x: number, decimals: number): number {
  const f = 10 ** decimals;
  const y = x * f;
  let r = Math.round(y);
  // Math.round rounds halves up; NumPy's rint rounds them to even.
  if (r - y === 0.5 && r % 2 !== 0) r -= 1;
  return r / f;
}
