// AssemblyScript source of the tile-extremes kernels (compiled by `npm run build:kernels` into
// src/kernels/binary.ts): per tile of a resized plane, the extremes of the source values it
// reads (JavaScript's scalar loops took ~1 ms per 352x256 plane; this takes ~0.1 ms, copies in
// and out included), or those of the resized values themselves, computed in plain float32.
// Values are finite, so extremes use `pmax` / `pmin` (one x86 instruction each), not `max` /
// `min`, whose NaN and signed-zero rules cost V8 a sequence of several: the kernels took twice
// as long with them.

/**
 * The largest and smallest of `columnHigh[c0..c1]` and `columnLow[c0..c1]` (inclusive), into
 * `high` and `low` at `at` as float64: four values at a time, lanes past `c1` masked out (the
 * scratch holds 4 values more than it uses). Branch-free: a comparison per value mispredicts
 * on maps that are not smooth, which made this loop take most of the kernel's time.
 */
// @ts-ignore: decorator
@inline function spanExtremes(columnHigh: usize, columnLow: usize, c0: i32, c1: i32, high: usize, low: usize, at: usize): void {
  const lanes = i32x4(0, 1, 2, 3);
  const below = f32x4.splat(-Infinity);
  const above = f32x4.splat(Infinity);
  let hi = below;
  let lo = above;
  for (let c = c0; c <= c1; c += 4) {
    const inside = i32x4.lt_s(lanes, i32x4.splat(c1 - c + 1));
    hi = f32x4.pmax(hi, v128.bitselect(v128.load(columnHigh + (<usize>c << 2)), below, inside));
    lo = f32x4.pmin(lo, v128.bitselect(v128.load(columnLow + (<usize>c << 2)), above, inside));
  }
  hi = f32x4.pmax(hi, v128.shuffle<f32>(hi, hi, 2, 3, 0, 1));
  hi = f32x4.pmax(hi, v128.shuffle<f32>(hi, hi, 1, 0, 3, 2));
  lo = f32x4.pmin(lo, v128.shuffle<f32>(lo, lo, 2, 3, 0, 1));
  lo = f32x4.pmin(lo, v128.shuffle<f32>(lo, lo, 1, 0, 3, 2));
  store<f64>(high + at, <f64>f32x4.extract_lane(hi, 0));
  store<f64>(low + at, <f64>f32x4.extract_lane(lo, 0));
}

/** First byte the caller may use: memory below holds this module's own data. */
export function freeMemory(): usize {
  return (__heap_base + 15) & ~15;
}

/**
 * For each tile (row `ty`, column `tx`) of a `rows` x `columns` grid, the largest and smallest
 * value of the `h` x `w` float32 plane at `values` over source rows `[rowFirst[ty], rowLast[ty]]`
 * and columns `[columnFirst[tx], columnLast[tx]]` (inclusive), as float64 at `high` and `low`
 * (`[ty * columns + tx]`). Rows first: the extremes of each source column over the tile row's
 * rows, four columns at a time, into the scratch `columnHigh` / `columnLow` (`w` + 4 values); then
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
        hi = f32x4.pmax(hi, v);
        lo = f32x4.pmin(lo, v);
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
      spanExtremes(columnHigh, columnLow, c0, c1, high, low, <usize>(ty * columns + tx) << 3);
    }
  }
}

/**
 * For each tile (`tile` x `tile` outputs, row-major grid) of the `outH` x `outW` bilinear resize
 * of the plane at `values` (`inW` values per row), the largest and smallest resized value, as
 * float64 at `high` and `low`. The resize is computed in plain float32 arithmetic, not ATen's
 * exact roundings: callers widen the results by a few ulps of the values' magnitude. Taps as
 * in resize.ts; the width pass of every source row goes to `across` (`inH` x `outW`), each
 * tile row's column extremes to `columnHigh` / `columnLow` (`outW` + 4 values each);
 * `doubled` != 0: the column taps are a doubling's.
 */
export function resizedTileExtremes(
  values: usize, inH: i32, inW: i32, outH: i32, outW: i32, tile: i32,
  columnIndex0: usize, columnIndex1: usize, columnWeight0: usize, columnWeight1: usize,
  rowIndex0: usize, rowIndex1: usize, rowWeight0: usize, rowWeight1: usize,
  across: usize, columnHigh: usize, columnLow: usize, high: usize, low: usize, doubled: i32,
): void {
  for (let sy = 0; sy < inH; sy++) {
    const row = values + (<usize>(sy * inW) << 2);
    const out = across + (<usize>(sy * outW) << 2);
    // Four outputs at a time, their source values gathered lane by lane; in a doubling of the
    // width (`doubledWidthPass` in resize.ts), away from the borders, the four outputs from 2i
    // read columns i - 1 to i + 2: one load.
    let x = 0;
    for (; x + 4 <= outW; x += 4) {
      const at = <usize>x << 2;
      if (doubled != 0 && x >= 2 && x + 4 <= outW - 2) {
        const v = v128.load(row + (<usize>((x >> 1) - 1) << 2));
        const t0 = v128.shuffle<f32>(v, v, 0, 1, 1, 2);
        const t1 = v128.shuffle<f32>(v, v, 1, 2, 2, 3);
        v128.store(out + at, f32x4.add(f32x4.mul(t0, v128.load(columnWeight0 + at)), f32x4.mul(t1, v128.load(columnWeight1 + at))));
        continue;
      }
      const i0 = v128.load(columnIndex0 + at);
      const i1 = v128.load(columnIndex1 + at);
      let t0 = f32x4.splat(load<f32>(row + (<usize>i32x4.extract_lane(i0, 0) << 2)));
      t0 = f32x4.replace_lane(t0, 1, load<f32>(row + (<usize>i32x4.extract_lane(i0, 1) << 2)));
      t0 = f32x4.replace_lane(t0, 2, load<f32>(row + (<usize>i32x4.extract_lane(i0, 2) << 2)));
      t0 = f32x4.replace_lane(t0, 3, load<f32>(row + (<usize>i32x4.extract_lane(i0, 3) << 2)));
      let t1 = f32x4.splat(load<f32>(row + (<usize>i32x4.extract_lane(i1, 0) << 2)));
      t1 = f32x4.replace_lane(t1, 1, load<f32>(row + (<usize>i32x4.extract_lane(i1, 1) << 2)));
      t1 = f32x4.replace_lane(t1, 2, load<f32>(row + (<usize>i32x4.extract_lane(i1, 2) << 2)));
      t1 = f32x4.replace_lane(t1, 3, load<f32>(row + (<usize>i32x4.extract_lane(i1, 3) << 2)));
      v128.store(out + at, f32x4.add(f32x4.mul(t0, v128.load(columnWeight0 + at)), f32x4.mul(t1, v128.load(columnWeight1 + at))));
    }
    for (; x < outW; x++) {
      const at = <usize>x << 2;
      const t0 = load<f32>(row + (<usize>load<i32>(columnIndex0 + at) << 2));
      const t1 = load<f32>(row + (<usize>load<i32>(columnIndex1 + at) << 2));
      store<f32>(out + at, t0 * load<f32>(columnWeight0 + at) + t1 * load<f32>(columnWeight1 + at));
    }
  }
  const columns = (outW + tile - 1) / tile;
  for (let y0 = 0, ty = 0; y0 < outH; y0 += tile, ty++) {
    const y1 = min(y0 + tile, outH);
    for (let y = y0; y < y1; y++) {
      const at = <usize>y << 2;
      const top = across + (<usize>(load<i32>(rowIndex0 + at) * outW) << 2);
      const bottom = across + (<usize>(load<i32>(rowIndex1 + at) * outW) << 2);
      const w0 = load<f32>(rowWeight0 + at);
      const w1 = load<f32>(rowWeight1 + at);
      const w0x4 = f32x4.splat(w0);
      const w1x4 = f32x4.splat(w1);
      let x = 0;
      for (; x + 4 <= outW; x += 4) {
        const o = <usize>x << 2;
        const v = f32x4.add(f32x4.mul(v128.load(top + o), w0x4), f32x4.mul(v128.load(bottom + o), w1x4));
        if (y == y0) {
          v128.store(columnHigh + o, v);
          v128.store(columnLow + o, v);
        } else {
          v128.store(columnHigh + o, f32x4.pmax(v128.load(columnHigh + o), v));
          v128.store(columnLow + o, f32x4.pmin(v128.load(columnLow + o), v));
        }
      }
      for (; x < outW; x++) {
        const o = <usize>x << 2;
        const v = load<f32>(top + o) * w0 + load<f32>(bottom + o) * w1;
        store<f32>(columnHigh + o, y == y0 ? v : max(load<f32>(columnHigh + o), v));
        store<f32>(columnLow + o, y == y0 ? v : min(load<f32>(columnLow + o), v));
      }
    }
    for (let tx = 0; tx < columns; tx++) {
      const x0 = tx * tile;
      spanExtremes(columnHigh, columnLow, x0, min(x0 + tile, outW) - 1, high, low, <usize>(ty * columns + tx) << 3);
    }
  }
}
