// The plane resize of src/aggregate/resize.ts (`Resizer.plane`), torch-exact: the same float32
// roundings, the fused multiply-add emulated as there. The vertical pass, over contiguous rows,
// runs two outputs at a time in f64x2 lanes.

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

/**
 * Resizes the `inH` x `inW` float32 plane at `src` to `outH` x `outW` at `dst`, mirrored
 * left-right when `mirror` != 0: per used source row (`used[sy]` != 0) the width pass into
 * `across` (`inH` x `outW`), then the height pass, which writes the mirrored positions.
 * Taps: per output column `columnIndex0/1` (i32) and `columnWeight0/1` (f32), per output row
 * `rowIndex0/1` and `rowWeight0/1`.
 */
export function resizePlane(
  src: usize, inH: i32, inW: i32, outH: i32, outW: i32, used: usize,
  columnIndex0: usize, columnIndex1: usize, columnWeight0: usize, columnWeight1: usize,
  rowIndex0: usize, rowIndex1: usize, rowWeight0: usize, rowWeight1: usize,
  across: usize, dst: usize, mirror: i32,
): void {
  for (let sy = 0; sy < inH; sy++) {
    if (load<u8>(used + <usize>sy) == 0) continue;
    const row = src + (<usize>(sy * inW) << 2);
    const out = across + (<usize>(sy * outW) << 2);
    for (let x = 0; x < outW; x++) {
      const at = <usize>x << 2;
      const t0 = <f64>load<f32>(row + (<usize>load<i32>(columnIndex0 + at) << 2));
      const t1 = <f64>load<f32>(row + (<usize>load<i32>(columnIndex1 + at) << 2));
      const c = <f64><f32>(t1 * <f64>load<f32>(columnWeight1 + at));
      store<f32>(out + at, <f32>fmaf(t0, <f64>load<f32>(columnWeight0 + at), c));
    }
  }
  const zero = f64x2.splat(0);
  for (let y = 0; y < outH; y++) {
    const top = across + (<usize>(load<i32>(rowIndex0 + (<usize>y << 2)) * outW) << 2);
    const bottom = across + (<usize>(load<i32>(rowIndex1 + (<usize>y << 2)) * outW) << 2);
    const w0 = <f64>load<f32>(rowWeight0 + (<usize>y << 2));
    const w1 = <f64>load<f32>(rowWeight1 + (<usize>y << 2));
    const w0x2 = f64x2.splat(w0);
    const w1x2 = f64x2.splat(w1);
    const out = dst + (<usize>(y * outW) << 2);
    let x = 0;
    for (; x + 2 <= outW; x += 2) {
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
          v128.store32_lane(out + (<usize>(outW - 1 - x) << 2), r, 0);
          v128.store32_lane(out + (<usize>(outW - 2 - x) << 2), r, 1);
        }
        continue;
      }
      // A sum TwoSum finds inexact (rare): both lanes the scalar way.
      heightPass(top, bottom, w0, w1, out, outW, x, mirror);
      heightPass(top, bottom, w0, w1, out, outW, x + 1, mirror);
    }
    for (; x < outW; x++) heightPass(top, bottom, w0, w1, out, outW, x, mirror);
  }
}
