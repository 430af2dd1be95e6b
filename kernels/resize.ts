// The torch-exact bilinear resize of src/aggregate/resize.ts, of whole planes (`Resizer.plane`)
// and of rectangles (`RegionResizer` in src/kernels): ATen's float32 roundings, the fused
// multiply-add emulated as `fmaf` there. The vertical pass, over contiguous rows, runs two
// outputs at a time in f64x2 lanes.

/**
 * float32 `fmaf(a, b, c)` for float32 a, b, c, as `fmaf` in src/aggregate/resize.ts: the
 * double sum rounded once when TwoSum finds it exact, else resolved at float32 midpoints.
 */
// @ts-ignore: decorator
@inline function fmaf(a: f64, b: f64, c: f64): f64 {
  const p = a * b;
  const s = p + c;
  const r = <f64><f32>s;
  const v = s - p;
  const err = p - (s - v) + (c - v);
  if (err == 0) return r;
  const other = r + 2 * (s - r);
  if (other == r || <f64><f32>other != other) return r;
  return (err > 0) == (other > r) ? other : r;
}

/** One output of the height pass, the scalar way. */
// @ts-ignore: decorator
@inline function heightPass(top: usize, bottom: usize, w0: f64, w1: f64, out: usize, outW: i32, x: i32, mirror: i32): void {
  const at = <usize>x << 2;
  const c = <f64><f32>(<f64>load<f32>(bottom + at) * w1);
  store<f32>(out + (<usize>(mirror == 0 ? x : outW - 1 - x) << 2), <f32>fmaf(<f64>load<f32>(top + at), w0, c));
}

/** One output of the width pass, the scalar way: output column `x` of source row `row` to `out`. */
// @ts-ignore: decorator
@inline function widthOutput(row: usize, x: i32, columnIndex0: usize, columnIndex1: usize, columnWeight0: usize, columnWeight1: usize, out: usize): void {
  const at = <usize>x << 2;
  const t0 = <f64>load<f32>(row + (<usize>load<i32>(columnIndex0 + at) << 2));
  const t1 = <f64>load<f32>(row + (<usize>load<i32>(columnIndex1 + at) << 2));
  const c = <f64><f32>(t1 * <f64>load<f32>(columnWeight1 + at));
  store<f32>(out, <f32>fmaf(t0, <f64>load<f32>(columnWeight0 + at), c));
}

/**
 * Width-pass outputs `x` and `x + 1` of source row `row` into `to`, from their taps' values `a`
 * and `b` and weights `w0` and `w1` in f64x2 lanes: stored at once when TwoSum finds both sums
 * exact (rounding them once is then `fmaf`'s rounding), else the scalar way.
 */
// @ts-ignore: decorator
@inline function widthPair(
  a: v128, b: v128, w0: v128, w1: v128, row: usize, x: i32, columnIndex0: usize, columnIndex1: usize, columnWeight0: usize, columnWeight1: usize, to: usize,
): void {
  const c = f64x2.promote_low_f32x4(f32x4.demote_f64x2_zero(f64x2.mul(b, w1)));
  const p = f64x2.mul(a, w0);
  const s = f64x2.add(p, c);
  const v = f64x2.sub(s, p);
  const err = f64x2.add(f64x2.sub(p, f64x2.sub(s, v)), f64x2.sub(c, v));
  if (!v128.any_true(f64x2.ne(err, f64x2.splat(0)))) {
    v128.store64_lane(to, f32x4.demote_f64x2_zero(s), 0);
    return;
  }
  widthOutput(row, x, columnIndex0, columnIndex1, columnWeight0, columnWeight1, to);
  widthOutput(row, x + 1, columnIndex0, columnIndex1, columnWeight0, columnWeight1, to + 4);
}

/**
 * The width pass of source row `row`: output columns `[x0, x1)` into `out` (contiguous).
 * Taps: per output column `columnIndex0/1` (i32) and `columnWeight0/1` (f32). Two outputs at a
 * time in f64x2 lanes, as `heightRow`; a pair whose sums TwoSum finds inexact the scalar way.
 */
// @ts-ignore: decorator
@inline function widthPass(
  row: usize, x0: i32, x1: i32, columnIndex0: usize, columnIndex1: usize, columnWeight0: usize, columnWeight1: usize, out: usize,
): void {
  let x = x0;
  for (; x + 2 <= x1; x += 2) {
    const at = <usize>x << 2;
    let a = f64x2.splat(<f64>load<f32>(row + (<usize>load<i32>(columnIndex0 + at) << 2)));
    a = f64x2.replace_lane(a, 1, <f64>load<f32>(row + (<usize>load<i32>(columnIndex0 + at + 4) << 2)));
    let b = f64x2.splat(<f64>load<f32>(row + (<usize>load<i32>(columnIndex1 + at) << 2)));
    b = f64x2.replace_lane(b, 1, <f64>load<f32>(row + (<usize>load<i32>(columnIndex1 + at + 4) << 2)));
    const w0 = f64x2.promote_low_f32x4(v128.load64_zero(columnWeight0 + at));
    const w1 = f64x2.promote_low_f32x4(v128.load64_zero(columnWeight1 + at));
    widthPair(a, b, w0, w1, row, x, columnIndex0, columnIndex1, columnWeight0, columnWeight1, out + (<usize>(x - x0) << 2));
  }
  for (; x < x1; x++) widthOutput(row, x, columnIndex0, columnIndex1, columnWeight0, columnWeight1, out + (<usize>(x - x0) << 2));
}

/**
 * `widthPass` when the output is twice as wide as the source (`outW` = 2 x the source width) and
 * the taps are ATen's for that: output `2i` reads columns `i - 1` and `i` with weights 0.25 and
 * 0.75, output `2i + 1` columns `i` and `i + 1` with 0.75 and 0.25 (the caller checks the taps
 * for the outputs from 2 to `outW - 3`). A pair of outputs from an even one then reads two
 * contiguous pairs of columns: two loads instead of the taps' four gathers. The outputs at the
 * borders (clamped) and an odd first one go the scalar way; the values are `widthPass`'s.
 */
// @ts-ignore: decorator
@inline function doubledWidthPass(
  row: usize, x0: i32, x1: i32, outW: i32, columnIndex0: usize, columnIndex1: usize, columnWeight0: usize, columnWeight1: usize, out: usize,
): void {
  const w0 = f64x2.replace_lane(f64x2.splat(0.25), 1, 0.75);
  const w1 = f64x2.replace_lane(f64x2.splat(0.75), 1, 0.25);
  const pairsFrom = (max(x0, 2) + 1) & ~1;
  const pairsTo = min(x1, outW - 2);
  let x = x0;
  for (; x < x1 && x < pairsFrom; x++) widthOutput(row, x, columnIndex0, columnIndex1, columnWeight0, columnWeight1, out + (<usize>(x - x0) << 2));
  for (; x + 2 <= pairsTo; x += 2) {
    const left = row + (<usize>((x >> 1) - 1) << 2);
    const a = f64x2.promote_low_f32x4(v128.load64_zero(left));
    const b = f64x2.promote_low_f32x4(v128.load64_zero(left + 4));
    widthPair(a, b, w0, w1, row, x, columnIndex0, columnIndex1, columnWeight0, columnWeight1, out + (<usize>(x - x0) << 2));
  }
  for (; x < x1; x++) widthOutput(row, x, columnIndex0, columnIndex1, columnWeight0, columnWeight1, out + (<usize>(x - x0) << 2));
}

/**
 * The height pass of one output row: `n` values from the width-interpolated rows `top` and
 * `bottom` with weights `w0` and `w1`, into `out`, mirrored (`out[n - 1 - x]`) when `mirror`
 * != 0. Two outputs at a time in f64x2 lanes; a pair whose sums TwoSum finds inexact (rare)
 * the scalar way.
 */
// @ts-ignore: decorator
@inline function heightRow(top: usize, bottom: usize, w0: f64, w1: f64, out: usize, n: i32, mirror: i32): void {
  const zero = f64x2.splat(0);
  const w0x2 = f64x2.splat(w0);
  const w1x2 = f64x2.splat(w1);
  let x = 0;
  for (; x + 2 <= n; x += 2) {
    const at = <usize>x << 2;
    const a = f64x2.promote_low_f32x4(v128.load64_zero(top + at));
    const b = f64x2.promote_low_f32x4(v128.load64_zero(bottom + at));
    const c = f64x2.promote_low_f32x4(f32x4.demote_f64x2_zero(f64x2.mul(b, w1x2)));
    const p = f64x2.mul(a, w0x2);
    const s = f64x2.add(p, c);
    const v = f64x2.sub(s, p);
    const err = f64x2.add(f64x2.sub(p, f64x2.sub(s, v)), f64x2.sub(c, v));
    if (!v128.any_true(f64x2.ne(err, zero))) {
      const r = f32x4.demote_f64x2_zero(s);
      if (mirror == 0) {
        v128.store64_lane(out + at, r, 0);
      } else {
        v128.store32_lane(out + (<usize>(n - 1 - x) << 2), r, 0);
        v128.store32_lane(out + (<usize>(n - 2 - x) << 2), r, 1);
      }
      continue;
    }
    heightPass(top, bottom, w0, w1, out, n, x, mirror);
    heightPass(top, bottom, w0, w1, out, n, x + 1, mirror);
  }
  for (; x < n; x++) heightPass(top, bottom, w0, w1, out, n, x, mirror);
}

/**
 * Resizes the `inH` x `inW` float32 plane at `src` to `outH` x `outW` at `dst`, mirrored
 * left-right when `mirror` != 0: per used source row (`used[sy]` != 0) the width pass into
 * `across` (`inH` x `outW`), then the height pass, which writes the mirrored positions.
 * Taps: per output column `columnIndex0/1` (i32) and `columnWeight0/1` (f32), per output row
 * `rowIndex0/1` and `rowWeight0/1`; `doubled` != 0: the column taps are a doubling's
 * (`doubledWidthPass`).
 */
export function resizePlane(
  src: usize, inH: i32, inW: i32, outH: i32, outW: i32, used: usize,
  columnIndex0: usize, columnIndex1: usize, columnWeight0: usize, columnWeight1: usize,
  rowIndex0: usize, rowIndex1: usize, rowWeight0: usize, rowWeight1: usize,
  across: usize, dst: usize, mirror: i32, doubled: i32,
): void {
  for (let sy = 0; sy < inH; sy++) {
    if (load<u8>(used + <usize>sy) == 0) continue;
    const row = src + (<usize>(sy * inW) << 2);
    const out = across + (<usize>(sy * outW) << 2);
    if (doubled != 0) doubledWidthPass(row, 0, outW, outW, columnIndex0, columnIndex1, columnWeight0, columnWeight1, out);
    else widthPass(row, 0, outW, columnIndex0, columnIndex1, columnWeight0, columnWeight1, out);
  }
  for (let y = 0; y < outH; y++) {
    const at = <usize>y << 2;
    const top = across + (<usize>(load<i32>(rowIndex0 + at) * outW) << 2);
    const bottom = across + (<usize>(load<i32>(rowIndex1 + at) * outW) << 2);
    heightRow(top, bottom, <f64>load<f32>(rowWeight0 + at), <f64>load<f32>(rowWeight1 + at), dst + (<usize>(y * outW) << 2), outW, mirror);
  }
}

/**
 * The output rectangle `[y0, y1)` x `[x0, x1)` of the same resize of the plane at `src` (`inW`
 * values per row), into `dst` with `dstStride` values per row: the width pass of the source
 * rows the rectangle reads into `across`, then the height pass (`doubled` as in `resizePlane`).
 */
export function resizeRegion(
  src: usize, inW: i32,
  columnIndex0: usize, columnIndex1: usize, columnWeight0: usize, columnWeight1: usize,
  rowIndex0: usize, rowIndex1: usize, rowWeight0: usize, rowWeight1: usize,
  y0: i32, y1: i32, x0: i32, x1: i32, across: usize, dst: usize, dstStride: i32, doubled: i32,
): void {
  const firstRow = load<i32>(rowIndex0 + (<usize>y0 << 2));
  const lastRow = load<i32>(rowIndex1 + (<usize>(y1 - 1) << 2));
  const span = x1 - x0;
  for (let sy = firstRow; sy <= lastRow; sy++) {
    const row = src + (<usize>(sy * inW) << 2);
    const out = across + (<usize>((sy - firstRow) * span) << 2);
    if (doubled != 0) doubledWidthPass(row, x0, x1, inW << 1, columnIndex0, columnIndex1, columnWeight0, columnWeight1, out);
    else widthPass(row, x0, x1, columnIndex0, columnIndex1, columnWeight0, columnWeight1, out);
  }
  for (let y = y0; y < y1; y++) {
    const at = <usize>y << 2;
    const top = across + (<usize>((load<i32>(rowIndex0 + at) - firstRow) * span) << 2);
    const bottom = across + (<usize>((load<i32>(rowIndex1 + at) - firstRow) * span) << 2);
    heightRow(top, bottom, <f64>load<f32>(rowWeight0 + at), <f64>load<f32>(rowWeight1 + at), dst + (<usize>((y - y0) * dstStride) << 2), span, 0);
  }
}
