// AssemblyScript source of the stage-averaging kernels (compiled by `npm run build:kernels` into
// src/kernels/binary.ts): the sums and division of `combineStages` in src/aggregate/aggregate.ts,
// the same float32 operations in the same order, four values at a time.

/**
 * `dst = src` (`first` != 0) or `dst = dst + src` in float32, over `height` rows of `width`
 * values, `src` read mirrored left-right (`src[row][width - 1 - x]`) when `mirror` != 0.
 */
export function accumulatePlane(dst: usize, src: usize, height: i32, width: i32, mirror: i32, first: i32): void {
  for (let y = 0; y < height; y++) {
    const to = dst + (<usize>(y * width) << 2);
    const from = src + (<usize>(y * width) << 2);
    let x = 0;
    for (; x + 4 <= width; x += 4) {
      const at = <usize>x << 2;
      let v = mirror == 0 ? v128.load(from + at) : v128.load(from + (<usize>(width - 4 - x) << 2));
      if (mirror != 0) v = v128.shuffle<f32>(v, v, 3, 2, 1, 0);
      v128.store(to + at, first != 0 ? v : f32x4.add(v128.load(to + at), v));
    }
    for (; x < width; x++) {
      const at = <usize>x << 2;
      const v = load<f32>(from + (<usize>(mirror == 0 ? x : width - 1 - x) << 2));
      store<f32>(to + at, first != 0 ? v : load<f32>(to + at) + v);
    }
  }
}

/** `values[i] = values[i] / divisor` in float32 for `n` values. */
export function dividePlane(values: usize, n: i32, divisor: f32): void {
  const d = f32x4.splat(divisor);
  let i = 0;
  for (; i + 4 <= n; i += 4) v128.store(values + (<usize>i << 2), f32x4.div(v128.load(values + (<usize>i << 2)), d));
  for (; i < n; i++) store<f32>(values + (<usize>i << 2), load<f32>(values + (<usize>i << 2)) / divisor);
}

/**
 * `dst = (a + b) / 2` in float32 over `n` values (`dst = a` when `b` is 0); returns the largest
 * magnitude of the values read, which are finite (`pmax`: see kernels/tile-extremes.ts).
 */
export function averageMagnitude(a: usize, b: usize, n: i32, dst: usize): f32 {
  let magnitude = f32x4.splat(0);
  const half = f32x4.splat(0.5);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const at = <usize>i << 2;
    const va = v128.load(a + at);
    magnitude = f32x4.pmax(magnitude, f32x4.abs(va));
    if (b == 0) {
      v128.store(dst + at, va);
      continue;
    }
    const vb = v128.load(b + at);
    magnitude = f32x4.pmax(magnitude, f32x4.abs(vb));
    v128.store(dst + at, f32x4.mul(f32x4.add(va, vb), half));
  }
  magnitude = f32x4.pmax(magnitude, v128.shuffle<f32>(magnitude, magnitude, 2, 3, 0, 1));
  magnitude = f32x4.pmax(magnitude, v128.shuffle<f32>(magnitude, magnitude, 1, 0, 3, 2));
  let largest = f32x4.extract_lane(magnitude, 0);
  for (; i < n; i++) {
    const va = load<f32>(a + (<usize>i << 2));
    const vb = b == 0 ? va : load<f32>(b + (<usize>i << 2));
    largest = max(largest, max(abs(va), abs(vb)));
    store<f32>(dst + (<usize>i << 2), b == 0 ? va : (va + vb) * 0.5);
  }
  return largest;
}
