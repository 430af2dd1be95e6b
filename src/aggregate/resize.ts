/**
 * Bilinear resizing with the semantics of torch `F.interpolate(x, size, mode='bilinear',
 * align_corners=False)` on CPU float32 tensors (ATen `upsample_bilinear2d`), reproduced to the
 * float32 rounding of every step: the ratio in/out, the source coordinate, the weights and the
 * two-level weighted sum (rows of the width interpolation, then the height interpolation).
 * ATen's CPU build contracts `t0 * w0 + t1 * w1` into a fused multiply-add `fma(t0, w0, t1 * w1)`:
 * the fixtures' heatmap values match bit for bit only with that (plain rounding is off by one
 * ulp in places). The source coordinate `scale * (i + 0.5) - 0.5` is taken as contracted the
 * same way; for the power-of-two ratios of the fixtures both forms are exact.
 */
import type { Planes } from './planes.js';

const f32 = Math.fround;

const bits = new Float32Array(1);
const bitsInt = new Int32Array(bits.buffer);

/** The float32 next to finite `r` in the direction of `toward`. */
function nextFloat32(r: number, toward: number): number {
  if (r === 0) return toward > 0 ? 2 ** -149 : -(2 ** -149);
  bits[0] = r;
  bitsInt[0] += (toward > r) === (r > 0) ? 1 : -1;
  return bits[0];
}

/**
 * float32 `fmaf(a, b, c)`: a * b + c rounded once. The product of two float32 is exact in a
 * double; the double sum's rounding error (TwoSum) settles the one case where rounding the
 * double sum to float32 could differ from rounding the exact sum: a sum exactly halfway
 * between two float32 values.
 */
export function fmaf(a: number, b: number, c: number): number {
  const p = a * b;
  const s = p + c;
  const r = f32(s);
  if (r === s || !Number.isFinite(r)) return r;
  const v = s - p;
  const err = p - (s - v) + (c - v);
  if (err === 0) return r;
  const other = nextFloat32(r, s);
  if (s !== (r + other) / 2) return r;
  // Exactly halfway in double: the exact sum lies on the side of the error.
  return err > 0 === other > r ? other : r;
}

/** Source indices and weights of one output axis (ATen `compute_source_index_and_lambda`). */
interface AxisTaps {
  index0: Int32Array;
  index1: Int32Array;
  weight0: Float32Array;
  weight1: Float32Array;
}

function axisTaps(inSize: number, outSize: number): AxisTaps {
  const taps: AxisTaps = {
    index0: new Int32Array(outSize),
    index1: new Int32Array(outSize),
    weight0: new Float32Array(outSize),
    weight1: new Float32Array(outSize),
  };
  // ATen's `area_pixel_compute_scale` without an explicit scale factor: in/out in float32.
  const ratio = f32(inSize / outSize);
  for (let i = 0; i < outSize; i++) {
    if (inSize === outSize) {
      // Same size: ATen copies (index i, weights 1 and 0).
      taps.index0[i] = i;
      taps.index1[i] = i;
      taps.weight0[i] = 1;
      taps.weight1[i] = 0;
      continue;
    }
    // `area_pixel_compute_source_index`: ratio * (i + 0.5) - 0.5, clamped at 0.
    let real = fmaf(ratio, f32(i + 0.5), -0.5);
    if (real < 0) real = 0;
    const index0 = Math.min(Math.floor(real), inSize - 1);
    const lambda1 = Math.min(Math.max(f32(real - index0), 0), 1);
    taps.index0[i] = index0;
    taps.index1[i] = index0 < inSize - 1 ? index0 + 1 : index0;
    taps.weight1[i] = lambda1;
    taps.weight0[i] = f32(1 - lambda1);
  }
  return taps;
}

/** Resizes every channel to `height` x `width`. */
export function resizeBilinear(p: Planes, height: number, width: number): Planes {
  const rows = axisTaps(p.height, height);
  const cols = axisTaps(p.width, width);
  const inPlane = p.height * p.width;
  const outPlane = height * width;
  const out = new Float32Array(p.channels * outPlane);
  const src = p.data;
  for (let c = 0; c < p.channels; c++) {
    const inBase = c * inPlane;
    const outBase = c * outPlane;
    for (let y = 0; y < height; y++) {
      const row0 = inBase + rows.index0[y] * p.width;
      const row1 = inBase + rows.index1[y] * p.width;
      const wy0 = rows.weight0[y];
      const wy1 = rows.weight1[y];
      for (let x = 0; x < width; x++) {
        const x0 = cols.index0[x];
        const x1 = cols.index1[x];
        const wx0 = cols.weight0[x];
        const wx1 = cols.weight1[x];
        // ATen Interpolate<2>: t0 * w0 + t1 * w1 = fma(t0, w0, t1 * w1) along width, then height.
        const top = fmaf(src[row0 + x0], wx0, f32(src[row0 + x1] * wx1));
        const bottom = fmaf(src[row1 + x0], wx0, f32(src[row1 + x1] * wx1));
        out[outBase + y * width + x] = fmaf(top, wy0, f32(bottom * wy1));
      }
    }
  }
  return { data: out, channels: p.channels, height, width };
}
