/**
 * Back-projection from heatmap pixels to image pixels (reference `get_final_preds` /
 * `transform_preds`): the inverse of the test-time affine transform, applied in float64 and
 * stored as float32 (the reference writes into a float32 array).
 */
import { affineTransform, applyAffine, type Point } from '../preprocess/affine.js';

/** The back-projection of one test: heatmap pixel `(x, y)` to image pixels, rounded to float32, into `out`. */
export type Projection = (x: number, y: number, out: [number, number]) => void;

/** The projection from heatmap pixels (heatmap size `[w, h]`) to image pixels with the affine centre / scale of the last test scale. */
export function imageProjection(center: Point, scale: Point, heatmapSize: Point): Projection {
  const inverse = affineTransform(center, scale, heatmapSize, true);
  return (x, y, out) => {
    const [u, v] = applyAffine(inverse, x, y);
    out[0] = Math.fround(u);
    out[1] = Math.fround(v);
  };
}

/**
 * Maps every person's `[x, y, ...]` rows from heatmap pixels (heatmap size `[w, h]`) to image
 * pixels with the affine centre / scale of the last test scale processed. Other columns are kept.
 */
export function toImageCoordinates(grouped: readonly (readonly (readonly number[])[])[], center: Point, scale: Point, heatmapSize: Point): number[][][] {
  const project = imageProjection(center, scale, heatmapSize);
  return grouped.map((person) =>
    person.map((row) => {
      const out = row.slice();
      project(row[0], row[1], out as [number, number]);
      return out;
    }),
  );
}
