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
import type { PlaneStack } from '../kernels/index.js';
import { resizePlane, type AxisTaps, type PlaneResize, type RegionResize } from '../kernels/index.js';
import type { Workspace } from '../workspace.js';

const f32 = Math.fround;

/**
 * float32 `fmaf(a, b, c)`: a * b + c rounded once. The product of two float32 is exact in a
 * double; when the double sum is exact too (TwoSum error 0, the common case for the
 * power-of-two ratios) rounding it to float32 is the single rounding. Otherwise rounding the
 * double sum errs only when it lands exactly halfway between two float32 values, which the
 * sign of the error then resolves. Kept small so that V8 inlines it into the resize loops.
 */
export function fmaf(a: number, b: number, c: number): number {
  const p = a * b;
  const s = p + c;
  const r = f32(s);
  const v = s - p;
  const err = p - (s - v) + (c - v);
  if (err === 0) return r;
  // `other`, the float32 on the far side of s, is one exactly when s is halfway.
  const other = r + 2 * (s - r);
  if (other === r || f32(other) !== other) return r;
  return err > 0 === other > r ? other : r;
}

/** Source indices and weights of one output axis (ATen `compute_source_index_and_lambda`). */
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

/**
 * Whether `taps` double `inSize`: output `2i` reads `i - 1` and `i` with weights 0.25 and 0.75,
 * output `2i + 1` reads `i` and `i + 1` with 0.75 and 0.25, for every output but the two at each
 * border (clamped). ATen's taps for twice the size (exact: the ratio is 0.5), which the kernel's
 * `doubledWidthPass` reads as these values without the tables.
 */
export function doublingTaps(taps: AxisTaps, inSize: number): boolean {
  const outSize = taps.index0.length;
  if (outSize !== 2 * inSize || outSize < 4) return false;
  for (let x = 2; x < outSize - 2; x++) {
    const i = x >> 1;
    const [first, w0] = x % 2 === 0 ? [i - 1, 0.25] : [i, 0.75];
    if (taps.index0[x] !== first || taps.index1[x] !== first + 1 || taps.weight0[x] !== w0 || taps.weight1[x] !== 1 - w0) return false;
  }
  return true;
}

/** The source rows (or columns) output rows [from, to) read: `[first, last]`, inclusive. */
function sourceSpan(taps: AxisTaps, from: number, to: number): [number, number] {
  // Both indices grow with the output index.
  return [taps.index0[from], taps.index1[to - 1]];
}

/**
 * One resize, `inHeight` x `inWidth` to `outHeight` x `outWidth`, applied plane by plane with
 * taps computed once. Separable as ATen is: two source rows are interpolated along the width,
 * then those two rows along the height; the width pass of a source row is the same for every
 * output row that reads it, so it is computed once per plane (into a scratch of source rows x
 * output width) instead of twice per output row. Element for element the operations and their
 * roundings are ATen's. The resizes run in WebAssembly (`src/kernels`): whole planes here,
 * rectangles of planes through a `RegionResizer` given this resizer's taps.
 */
export class Resizer implements RegionResize, PlaneResize {
  readonly rows: AxisTaps;
  readonly columns: AxisTaps;
  /** Source rows some output row reads (all of them unless downsampling). */
  readonly used: Uint8Array;
  /** Same size: ATen copies. */
  readonly identity: boolean;
  /** Twice the width (`doublingTaps`): the kernels read the columns without the taps. */
  readonly doubledColumns: boolean;

  constructor(
    readonly inHeight: number,
    readonly inWidth: number,
    readonly outHeight: number,
    readonly outWidth: number,
  ) {
    this.rows = axisTaps(inHeight, outHeight);
    this.columns = axisTaps(inWidth, outWidth);
    this.used = new Uint8Array(inHeight);
    for (let y = 0; y < outHeight; y++) this.used[this.rows.index0[y]] = this.used[this.rows.index1[y]] = 1;
    this.identity = inHeight === outHeight && inWidth === outWidth;
    this.doubledColumns = doublingTaps(this.columns, inWidth);
  }

  /**
   * Resizes the plane starting at `src[srcOffset]` into `dst` from `dstOffset` (both C order, no
   * padding), mirrored left-right with `mirror`.
   */
  plane(src: Float32Array, srcOffset: number, dst: Float32Array, dstOffset: number, mirror = false): void {
    const { inHeight, inWidth, outHeight, outWidth } = this;
    const from = src.subarray(srcOffset, srcOffset + inHeight * inWidth);
    const to = dst.subarray(dstOffset, dstOffset + outHeight * outWidth);
    if (!this.identity) resizePlane(from, this, to, mirror);
    else if (!mirror) to.set(from);
    else for (let row = 0; row < from.length; row += inWidth) for (let x = 0; x < inWidth; x++) to[row + x] = from[row + inWidth - 1 - x];
  }

  /**
   * Resizes every channel of `p` (of this resizer's input size) into `out`. With `mirrorFrom`,
   * channel c of the result is channel `mirrorFrom[c]` resized and mirrored left-right (the
   * flip-back of a mirrored pass, done as the values are written).
   */
  planes(p: PlaneStack, out: Float32Array, mirrorFrom?: readonly number[]): PlaneStack {
    const inPlane = this.inHeight * this.inWidth;
    const outPlane = this.outHeight * this.outWidth;
    for (let c = 0; c < p.channels; c++) this.plane(p.data, (mirrorFrom ? mirrorFrom[c] : c) * inPlane, out, c * outPlane, mirrorFrom !== undefined);
    return { data: out, channels: p.channels, height: this.outHeight, width: this.outWidth };
  }

  /** Source rows read by output rows [y0, y1) and source columns read by output columns [x0, x1), inclusive. */
  sourceRect(y0: number, y1: number, x0: number, x1: number): { rows: [number, number]; columns: [number, number] } {
    return { rows: sourceSpan(this.rows, y0, y1), columns: sourceSpan(this.columns, x0, x1) };
  }
}

/** The resizer from `from`'s size to `height` x `width` kept in `workspace`: one per size pair (it holds taps and scratch buffers). */
export function keptResizer(workspace: Workspace, from: Pick<PlaneStack, 'height' | 'width'>, height: number, width: number): Resizer {
  return workspace.keep(`resizer:${from.height}x${from.width}>${height}x${width}`, () => new Resizer(from.height, from.width, height, width));
}

/** Resizes every channel to `height` x `width`. */
export function resizeBilinear(p: PlaneStack, height: number, width: number): PlaneStack {
  return new Resizer(p.height, p.width, height, width).planes(p, new Float32Array(p.channels * height * width));
}
