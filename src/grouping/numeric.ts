/**
 * NumPy's numeric behaviour where the reference's results depend on it: `np.round` (half to
 * even) and float32 sums/means, whose rounding follows NumPy's summation order.
 */
import { numpyPairwiseSum } from '../numpy-sum.js';

const f32 = Math.fround;

/** `np.round(x)` / `np.rint`: nearest integer, ties to even. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x); // ties toward +Infinity
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** NumPy's float32 `add.reduce` over a contiguous run of values (see `numpyPairwiseSum`). */
export function float32PairwiseSum(values: ArrayLike<number>): number {
  return numpyPairwiseSum(values, f32);
}

/** `np.mean` of a float32 vector (e.g. a person's joint scores). */
export function float32Mean(values: ArrayLike<number>): number {
  return f32(float32PairwiseSum(values) / values.length);
}

/**
 * `np.mean(vectors, axis=0)` of float32 vectors: the reduction runs over the outer axis, so
 * each component is accumulated vector by vector in float32, then divided by the count. Vectors
 * of one component (tags without flip test) make one contiguous run, which NumPy sums pairwise.
 */
export function float32MeanVector(vectors: readonly Float32Array[]): Float32Array {
  if (vectors[0].length === 1) return Float32Array.of(float32Mean(vectors.map((v) => v[0])));
  const out = new Float32Array(vectors[0].length);
  for (const v of vectors) {
    for (let d = 0; d < out.length; d++) out[d] += v[d];
  }
  for (let d = 0; d < out.length; d++) out[d] /= vectors.length;
  return out;
}
