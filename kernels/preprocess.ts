// AssemblyScript source of the preprocessing kernels (compiled by `npm run build:kernels` into
// src/kernels/binary.ts): the per-pixel loops of OpenCV's bilinear warpAffine
// (src/preprocess/affine.ts, which computes the fixed-point source positions) and of the
// network input's normalisation (src/preprocess/normalize.ts, which computes the tables).

/** Fixed-point source positions in 1/32 pixel: `INTER_BITS` fraction bits, `AB_BITS - INTER_BITS` dropped first. */
const INTER_BITS = 5;
const INTER_MASK = (1 << INTER_BITS) - 1;
const POSITION_SHIFT = 10 - INTER_BITS;

/** OpenCV `saturate_cast<short>`. */
// @ts-ignore: decorator
@inline function saturateShort(v: i32): i32 {
  return v < -32768 ? -32768 : v > 32767 ? 32767 : v;
}

/** The 4 bytes at `p` as i32 lanes. */
// @ts-ignore: decorator
@inline function widen(p: usize): v128 {
  return i32x4.extend_low_i16x8_u(i16x8.extend_low_i8x16_u(v128.load32_zero(p)));
}

/**
 * `width` x `height` RGB bytes at `dst` from the `sw` x `sh` RGB bytes at `src`: destination
 * pixel (x, y) reads the source at `rowX[y] + columnX[x]`, `rowY[y] + columnY[x]` (i32 sums
 * that wrap, in 1/1024 pixels, rounding offset included), blending its 2x2 neighbourhood with
 * 10-bit weights rounded half up; neighbours outside the source read 0. `src` and `dst` need
 * one byte to spare after their last pixel.
 */
export function warpAffine(
  src: usize, sw: i32, sh: i32, rowX: usize, rowY: usize, columnX: usize, columnY: usize, width: i32, height: i32, dst: usize,
): void {
  const stride = sw * 3;
  // remapBilinear's interior test: (unsigned)sx < width-1 && (unsigned)sy < height-1.
  const w1 = max(sw - 1, 0);
  const h1 = max(sh - 1, 0);
  let o = dst;
  for (let y = 0; y < height; y++) {
    const x0 = load<i32>(rowX + (<usize>y << 2));
    const y0 = load<i32>(rowY + (<usize>y << 2));
    for (let x = 0; x < width; x++, o += 3) {
      const X = (x0 + load<i32>(columnX + (<usize>x << 2))) >> POSITION_SHIFT;
      const Y = (y0 + load<i32>(columnY + (<usize>x << 2))) >> POSITION_SHIFT;
      const sx = saturateShort(X >> INTER_BITS);
      const sy = saturateShort(Y >> INTER_BITS);
      const fx = X & INTER_MASK;
      const fy = Y & INTER_MASK;
      const w00 = (32 - fy) * (32 - fx);
      const w01 = (32 - fy) * fx;
      const w10 = fy * (32 - fx);
      const w11 = fy * fx;
      if (sx >= 0 && sx < w1 && sy >= 0 && sy < h1) {
        // The three channels at once: 4 bytes from each neighbour (the 4th, the next pixel's
        // red, is computed and overwritten by the next pixel; the buffers have a byte to spare).
        const p = src + <usize>(sy * stride + sx * 3);
        const q = p + <usize>stride;
        const sum = i32x4.add(
          i32x4.add(i32x4.mul(widen(p), i32x4.splat(w00)), i32x4.mul(widen(p + 3), i32x4.splat(w01))),
          i32x4.add(i32x4.mul(widen(q), i32x4.splat(w10)), i32x4.mul(widen(q + 3), i32x4.splat(w11))),
        );
        const bytes = i32x4.shr_u(i32x4.add(sum, i32x4.splat(512)), 10);
        v128.store32_lane(o, i8x16.narrow_i16x8_u(i16x8.narrow_i32x4_u(bytes, bytes), bytes), 0);
      } else if (sx >= sw || sx + 1 < 0 || sy >= sh || sy + 1 < 0) {
        store<u8>(o, 0);
        store<u8>(o + 1, 0);
        store<u8>(o + 2, 0);
      } else {
        // Partly outside: each of the four neighbours is read or replaced by 0.
        const x0in = sx >= 0 && sx < sw;
        const x1in = sx + 1 >= 0 && sx + 1 < sw;
        const y0in = sy >= 0 && sy < sh;
        const y1in = sy + 1 >= 0 && sy + 1 < sh;
        for (let c = 0; c < 3; c++) {
          // Addresses only formed for neighbours inside the source.
          const v00 = x0in && y0in ? <i32>load<u8>(src + <usize>(sy * stride + sx * 3 + c)) : 0;
          const v01 = x1in && y0in ? <i32>load<u8>(src + <usize>(sy * stride + sx * 3 + 3 + c)) : 0;
          const v10 = x0in && y1in ? <i32>load<u8>(src + <usize>((sy + 1) * stride + sx * 3 + c)) : 0;
          const v11 = x1in && y1in ? <i32>load<u8>(src + <usize>((sy + 1) * stride + sx * 3 + 3 + c)) : 0;
          store<u8>(o + <usize>c, (v00 * w00 + v01 * w01 + v10 * w10 + v11 * w11 + 512) >> 10);
        }
      }
    }
  }
}

/**
 * The `w` x `h` RGB bytes at `rgb` as float32 planes R, G, B (NCHW, `tables`: per channel the
 * 256 normalised values): as they are at `plain` when `withPlain` != 0, mirrored left-right at
 * `mirrored` when `withMirrored` != 0.
 */
export function normalizeImage(rgb: usize, w: i32, h: i32, tables: usize, withPlain: i32, plain: usize, withMirrored: i32, mirrored: usize): void {
  const plane = <usize>(w * h) << 2;
  const red = tables;
  const green = tables + 1024;
  const blue = tables + 2048;
  let p = rgb;
  for (let y = 0; y < h; y++) {
    const row = <usize>(y * w) << 2;
    const rowEnd = row + (<usize>(w - 1) << 2);
    for (let x = 0; x < w; x++, p += 3) {
      const r = load<f32>(red + (<usize>load<u8>(p) << 2));
      const g = load<f32>(green + (<usize>load<u8>(p + 1) << 2));
      const b = load<f32>(blue + (<usize>load<u8>(p + 2) << 2));
      const at = row + (<usize>x << 2);
      if (withPlain != 0) {
        store<f32>(plain + at, r);
        store<f32>(plain + plane + at, g);
        store<f32>(plain + 2 * plane + at, b);
      }
      if (withMirrored != 0) {
        const m = rowEnd - (<usize>x << 2);
        store<f32>(mirrored + m, r);
        store<f32>(mirrored + plane + m, g);
        store<f32>(mirrored + 2 * plane + m, b);
      }
    }
  }
}
