// AssemblyScript source of the tile-extremes kernel (compiled by `npm run build:kernels` into
// src/kernels/binary.ts). JavaScript's scalar loops took ~1 ms per 352x256 plane; with 128-bit
// SIMD this takes ~0.1 ms, copies in and out included.

/** First byte the caller may use: memory below holds this module's own data. */
export function freeMemory(): usize {
  return (__heap_base + 15) & ~15;
}

/**
 * For each tile (row `ty`, column `tx`) of a `rows` x `columns` grid, the largest and smallest
 * value of the `h` x `w` float32 plane at `values` over source rows `[rowFirst[ty], rowLast[ty]]`
 * and columns `[columnFirst[tx], columnLast[tx]]` (inclusive), as float64 at `high` and `low`
 * (`[ty * columns + tx]`). Rows first: the extremes of each source column over the tile row's
 * rows, four columns at a time, into the `w`-long scratch `columnHigh` / `columnLow`; then
 * across each tile's columns. Values are finite (checked before).
 */
export function tileExtremes(
  values: usize, h: i32, w: i32, rows: i32, columns: i32,
  rowFirst: usize, rowLast: usize, columnFirst: usize, columnLast: usize,
  columnHigh: usize, columnLow: usize, high: usize, low: usize,
): void {
  for (let ty = 0; ty < rows; ty++) {
    const r0 = load<i32>(rowFirst + (<usize>ty << 2));
    const r1 = load<i32>(rowLast + (<usize>ty << 2));
    let x = 0;
    for (; x + 4 <= w; x += 4) {
      let hi = v128.load(values + (<usize>(r0 * w + x) << 2));
      let lo = hi;
      for (let sy = r0 + 1; sy <= r1; sy++) {
        const v = v128.load(values + (<usize>(sy * w + x) << 2));
        hi = f32x4.max(hi, v);
        lo = f32x4.min(lo, v);
      }
      v128.store(columnHigh + (<usize>x << 2), hi);
      v128.store(columnLow + (<usize>x << 2), lo);
    }
    for (; x < w; x++) {
      let hi = load<f32>(values + (<usize>(r0 * w + x) << 2));
      let lo = hi;
      for (let sy = r0 + 1; sy <= r1; sy++) {
        const v = load<f32>(values + (<usize>(sy * w + x) << 2));
        hi = max(hi, v);
        lo = min(lo, v);
      }
      store<f32>(columnHigh + (<usize>x << 2), hi);
      store<f32>(columnLow + (<usize>x << 2), lo);
    }
    for (let tx = 0; tx < columns; tx++) {
      const c0 = load<i32>(columnFirst + (<usize>tx << 2));
      const c1 = load<i32>(columnLast + (<usize>tx << 2));
      let hi = load<f32>(columnHigh + (<usize>c0 << 2));
      let lo = load<f32>(columnLow + (<usize>c0 << 2));
      for (let c = c0 + 1; c <= c1; c++) {
        hi = max(hi, load<f32>(columnHigh + (<usize>c << 2)));
        lo = min(lo, load<f32>(columnLow + (<usize>c << 2)));
      }
      const at = <usize>(ty * columns + tx) << 3;
      store<f64>(high + at, <f64>hi);
      store<f64>(low + at, <f64>lo);
    }
  }
}
