/**
 * The reference's affine resize, reproduced bit for bit:
 *
 * - `affineTransform` is HigherHRNet's `get_affine_transform` (lib/utils/transforms.py) for
 *   rotation 0 and zero shift: three point pairs built in float32 exactly as NumPy does, then
 *   OpenCV `getAffineTransform`, which solves a 6x6 system with OpenCV's own LU (double).
 * - `warpAffineBilinear` is OpenCV `warpAffine(src, M, dsize)` with its defaults INTER_LINEAR
 *   and BORDER_CONSTANT 0 on 8-bit 3-channel images: the matrix is inverted in double, source
 *   coordinates are fixed point with 1/32-pixel resolution (AB_BITS 10, INTER_BITS 5), the
 *   bilinear weights are 15-bit integers and the result is rounded half up (imgwarp.cpp).
 */
import type { RgbImage } from '../types.js';
import { warpAffineRgb } from '../kernels/index.js';

/** A 2x3 affine matrix, row-major `[a, b, c, d, e, f]`: `x' = a*x + b*y + c`, `y' = d*x + e*y + f`. */
export type AffineMatrix = [number, number, number, number, number, number];

export type Point = readonly [number, number];

const f32 = Math.fround;

/**
 * OpenCV `saturate_cast<int>(double)`: round half to even (cvRound uses the FPU's default
 * rounding mode), clamped to the int32 range.
 */
function saturateInt(v: number): number {
  if (!(v > -2147483648.5)) return v !== v ? 0 : -2147483648;
  if (v >= 2147483647.5) return 2147483647;
  let r = Math.round(v);
  // Math.round rounds .5 up; cvRound rounds to even.
  if (r - v === 0.5 && (r & 1) !== 0) r -= 1;
  return r;
}

/**
 * OpenCV `getAffineTransform(src, dst)`: the affine map taking the three `src` points to the
 * three `dst` points. The points are float32 (OpenCV takes `Point2f`); the 6x6 system is solved
 * in double by OpenCV's `hal::LU` (Gaussian elimination with partial pivoting, reciprocal
 * pivots kept on the diagonal), whose operation order is followed so the matrix is identical.
 */
export function getAffineTransform(src: readonly Point[], dst: readonly Point[]): AffineMatrix {
  if (src.length !== 3 || dst.length !== 3) throw new RangeError('getAffineTransform needs exactly 3 source and 3 destination points');
  const a = new Float64Array(36);
  const b = new Float64Array(6);
  for (let i = 0; i < 3; i++) {
    const j = i * 12;
    const k = i * 12 + 6;
    const sx = f32(src[i]![0]);
    const sy = f32(src[i]![1]);
    a[j] = a[k + 3] = sx;
    a[j + 1] = a[k + 4] = sy;
    a[j + 2] = a[k + 5] = 1;
    b[i * 2] = f32(dst[i]![0]);
    b[i * 2 + 1] = f32(dst[i]![1]);
  }
  const m = 6;
  for (let i = 0; i < m; i++) {
    let k = i;
    for (let j = i + 1; j < m; j++) if (Math.abs(a[j * m + i]!) > Math.abs(a[k * m + i]!)) k = j;
    // OpenCV's LU64f tolerance (DBL_EPSILON*100): below it the points are collinear.
    if (Math.abs(a[k * m + i]!) < 2.220446049250313e-16 * 100) {
      throw new RangeError('getAffineTransform: the three points are collinear');
    }
    if (k !== i) {
      for (let j = i; j < m; j++) {
        const t = a[i * m + j]!;
        a[i * m + j] = a[k * m + j]!;
        a[k * m + j] = t;
      }
      const t = b[i]!;
      b[i] = b[k]!;
      b[k] = t;
    }
    const d = -1 / a[i * m + i]!;
    for (let j = i + 1; j < m; j++) {
      const alpha = a[j * m + i]! * d;
      for (let c = i + 1; c < m; c++) a[j * m + c]! += alpha * a[i * m + c]!;
      b[j]! += alpha * b[i]!;
    }
    a[i * m + i] = -d;
  }
  for (let i = m - 1; i >= 0; i--) {
    let s = b[i]!;
    for (let c = i + 1; c < m; c++) s -= a[i * m + c]! * b[c]!;
    b[i] = s * a[i * m + i]!;
  }
  return [b[0]!, b[1]!, b[2]!, b[3]!, b[4]!, b[5]!];
}

/**
 * The reference `get_affine_transform(center, scale, 0, outputSize, inv)`: maps the box of
 * `scale * 200` pixels around `center` onto an `outputSize = [w, h]` image (`inverse`: the
 * other way, as `transform_preds` uses it to project predictions back). The points are built
 * with NumPy's float64 -> float32 steps: `src = [center, center + (0, -srcW/2), third]`,
 * `dst = [(w/2, h/2), (w/2, h/2 - w/2), third]`, where `get_3rd_point` runs in float32.
 */
export function affineTransform(
  center: Point,
  scale: Point,
  outputSize: Point,
  inverse = false,
): AffineMatrix {
  const srcW = scale[0] * 200.0;
  const [dstW, dstH] = outputSize;
  const src0: Point = [f32(center[0]), f32(center[1])];
  // get_dir([0, -srcW/2], 0) = [0*cos - (-srcW/2)*sin, 0*sin + (-srcW/2)*cos] = [0, -srcW/2].
  const src1: Point = [f32(center[0]), f32(center[1] + srcW * -0.5)];
  const dst0: Point = [f32(dstW * 0.5), f32(dstH * 0.5)];
  const dst1: Point = [f32(dstW * 0.5), f32(dstH * 0.5 + f32(dstW * -0.5))];
  const src = [src0, src1, thirdPoint(src0, src1)];
  const dst = [dst0, dst1, thirdPoint(dst0, dst1)];
  return inverse ? getAffineTransform(dst, src) : getAffineTransform(src, dst);
}

/** The reference `get_3rd_point(a, b)`: `b + rot90(a - b)`, all in float32. */
function thirdPoint(a: Point, b: Point): Point {
  const dx = f32(a[0] - b[0]);
  const dy = f32(a[1] - b[1]);
  return [f32(b[0] - dy), f32(b[1] + dx)];
}

/** Applies a 2x3 matrix to a point, in double (the reference `affine_transform`). */
export function applyAffine(m: AffineMatrix, x: number, y: number): [number, number] {
  return [m[0] * x + m[1] * y + m[2], m[3] * x + m[4] * y + m[5]];
}

/** OpenCV warpAffine's inversion of the forward matrix (double, its exact formula order). */
function invertForWarp(m: AffineMatrix): AffineMatrix {
  let d = m[0] * m[4] - m[1] * m[3];
  d = d !== 0 ? 1 / d : 0;
  const a11 = m[4] * d;
  const a22 = m[0] * d;
  const m1 = m[1] * -d;
  const m3 = m[3] * -d;
  const b1 = -a11 * m[2] - m1 * m[5];
  const b2 = -m3 * m[2] - a22 * m[5];
  return [a11, m1, b1, m3, a22, b2];
}

const AB_BITS = 10; // MAX(10, INTER_BITS)
const AB_SCALE = 1 << AB_BITS;
const INTER_BITS = 5;
const INTER_TAB_SIZE = 1 << INTER_BITS;
/** Half of one 1/32-pixel step in AB units: round to the nearest table entry. */
const ROUND_DELTA = AB_SCALE / INTER_TAB_SIZE / 2;

/**
 * OpenCV `warpAffine(src, matrix, (width, height))` with INTER_LINEAR and BORDER_CONSTANT 0,
 * bit-exact for 8-bit RGB. `matrix` maps source to destination pixels (as the reference passes
 * it). For each destination pixel OpenCV computes the source position in 1/1024 pixels
 * (`saturate_cast<int>` of double products, the per-column terms `M[0]*x*1024`,
 * `M[3]*x*1024` precomputed), rounds it to 1/32 pixel, and blends the 2x2 neighbourhood with
 * the weights `(32-fx)(32-fy)*32` etc. (INTER_REMAP_COEF_BITS 15): `(sum + 2^14) >> 15`.
 * Those 15-bit weights are 32 times the 10-bit products used here, so `(sum10 + 512) >> 10`
 * is the same integer. (OpenCV's table entry for fx = fy = 0 is `[32767, 0, 0, 1]` after its
 * saturate/fix-up step; with 8-bit values that rounds to the same result as `[32768, 0, 0, 0]`.)
 * Neighbours outside the source read 0; a pixel whose whole neighbourhood is outside is 0.
 * The positions are computed here, the pixels in WebAssembly (kernels/preprocess.ts). Written
 * into `out` when given (`width * height * 3` bytes).
 */
export function warpAffineBilinear(src: RgbImage, matrix: readonly number[], width: number, height: number, out: Uint8Array = new Uint8Array(width * height * 3)): RgbImage {
  if (matrix.length !== 6 || !matrix.every(Number.isFinite)) throw new RangeError('warpAffineBilinear: matrix must be 6 finite numbers (2x3, row-major)');
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new RangeError(`warpAffineBilinear: output size ${width}x${height} must be positive integers`);
  }
  const M = invertForWarp(matrix as AffineMatrix);
  if (out.length !== width * height * 3) throw new RangeError(`warpAffineBilinear: the output holds ${out.length} bytes, not ${width}x${height}x3`);

  // Per column the x terms, per row the rest: the kernel adds them per pixel (as OpenCV does).
  const columnX = new Int32Array(width);
  const columnY = new Int32Array(width);
  for (let x = 0; x < width; x++) {
    columnX[x] = saturateInt(M[0] * x * AB_SCALE);
    columnY[x] = saturateInt(M[3] * x * AB_SCALE);
  }
  const rowX = new Int32Array(height);
  const rowY = new Int32Array(height);
  for (let y = 0; y < height; y++) {
    rowX[y] = saturateInt((M[1] * y + M[2]) * AB_SCALE) + ROUND_DELTA;
    rowY[y] = saturateInt((M[4] * y + M[5]) * AB_SCALE) + ROUND_DELTA;
  }
  warpAffineRgb(src.data, src.width, src.height, rowX, rowY, columnX, columnY, out);
  return { data: out, width, height };
}
