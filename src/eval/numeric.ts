/**
 * Float64 arithmetic exactly as NumPy performs it, so that the evaluators reproduce the
 * reference statistics bit for bit rather than to within rounding.
 */
import { numpyPairwiseSum } from '../numpy-sum.js';

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

/** `np.sum` of a float64 vector (NumPy's pairwise summation). */
export function pairwiseSum(a: ArrayLike<number>): number {
  return numpyPairwiseSum(a, (x) => x);
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
