/**
 * Back-projection from heatmap pixels to image pixels (reference `get_final_preds` /
 * `transform_preds`): the inverse of the affine transform that `get_affine_transform` builds
 * from three float32 point pairs (centre, a point above it, and the third point of the right
 * angle), applied in float64 and stored as float32.
 */

type Point = [number, number];

const f32 = Math.fround;

/** `get_3rd_point(a, b)` in float32: b plus (a - b) rotated by 90°. */
function thirdPoint(a: Point, b: Point): Point {
  const dx = f32(a[0] - b[0]);
  const dy = f32(a[1] - b[1]);
  return [f32(b[0] - dy), f32(b[1] + dx)];
}

/** The 2x3 matrix mapping each `from` point onto its `to` point (`cv2.getAffineTransform`). */
function affineFromPoints(from: Point[], to: Point[]): number[][] {
  const [[x0, y0], [x1, y1], [x2, y2]] = from;
  const det = x0 * (y1 - y2) - y0 * (x1 - x2) + (x1 * y2 - x2 * y1);
  return [0, 1].map((d) => {
    const [u0, u1, u2] = to.map((p) => p[d]);
    // Cramer's rule for [a, b, c] with a*x + b*y + c = u at the three points.
    const a = (u0 * (y1 - y2) - y0 * (u1 - u2) + (u1 * y2 - u2 * y1)) / det;
    const b = (x0 * (u1 - u2) - u0 * (x1 - x2) + (x1 * u2 - x2 * u1)) / det;
    const c = (x0 * (y1 * u2 - y2 * u1) - y0 * (x1 * u2 - x2 * u1) + u0 * (x1 * y2 - x2 * y1)) / det;
    return [a, b, c];
  });
}

/**
 * `get_affine_transform(center, scale, 0, outputSize, inv=1)`: heatmap → image. Only the
 * scale's width counts (scale * 200 pixels of the image span the output width).
 */
function inverseTransform(center: Point, scale: Point, outputSize: Point): number[][] {
  const srcW = scale[0] * 200;
  const [dstW, dstH] = outputSize;
  const src0: Point = [f32(center[0]), f32(center[1])];
  const src1: Point = [f32(center[0]), f32(center[1] + srcW * -0.5)];
  const dst0: Point = [f32(dstW * 0.5), f32(dstH * 0.5)];
  const dst1: Point = [f32(dstW * 0.5), f32(dstH * 0.5 + f32(dstW * -0.5))];
  return affineFromPoints([dst0, dst1, thirdPoint(dst0, dst1)], [src0, src1, thirdPoint(src0, src1)]);
}

/**
 * Maps every person's `[x, y, ...]` rows from heatmap pixels (heatmap size `[w, h]`) to image
 * pixels with the affine centre / scale of the last test scale processed. Other columns are kept.
 */
export function toImageCoordinates(grouped: readonly (readonly (readonly number[])[])[], center: Point, scale: Point, heatmapSize: Point): number[][][] {
  const t = inverseTransform(center, scale, heatmapSize);
  return grouped.map((person) =>
    person.map(([x, y, ...rest]) => [f32(t[0][0] * x + t[0][1] * y + t[0][2]), f32(t[1][0] * x + t[1][1] * y + t[1][2]), ...rest]),
  );
}
