/**
 * NumPy's `add.reduce` over a contiguous run of values (`pairwise_sum` in its umath loops),
 * which the reference's sums and means follow: plain accumulation below 8 values, eight
 * interleaved accumulators up to 128, halves beyond. `round` rounds each sum to the array's
 * dtype: `Math.fround` for float32, none for float64.
 */
export function numpyPairwiseSum(values: ArrayLike<number>, round: (x: number) => number, start = 0, n = values.length - start): number {
  if (n < 8) {
    let sum = 0;
    for (let i = 0; i < n; i++) sum = round(sum + values[start + i]!);
    return sum;
  }
  if (n <= 128) {
    const r = Array.from({ length: 8 }, (_, j) => round(values[start + j]!));
    let i = 8;
    for (; i < n - (n % 8); i += 8) {
      for (let j = 0; j < 8; j++) r[j] = round(r[j]! + values[start + i + j]!);
    }
    let sum = round(round(round(r[0]! + r[1]!) + round(r[2]! + r[3]!)) + round(round(r[4]! + r[5]!) + round(r[6]! + r[7]!)));
    for (; i < n; i++) sum = round(sum + values[start + i]!);
    return sum;
  }
  let half = Math.floor(n / 2);
  half -= half % 8;
  return round(numpyPairwiseSum(values, round, start, half) + numpyPairwiseSum(values, round, start + half, n - half));
}
