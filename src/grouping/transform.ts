/**
 * Back-projection from heatmap pixels to image pixels (reference `get_final_preds` /
 * `transform_preds`): the inverse of the test-time affine transform, applied in float64 and
 * stored as float32 (the reference writes into a float32 array).
 */
import { affineTransform, applyAffine, type Point } from '../preprocess/affine.js';

/**
 * Maps every person's `[x, y, ...]` rows from heatmap pixels (heatmap size `[w, h]`) to image
 * pixels with the affine centre / scale of the last test scale processed. Other columns are kept.
 */
export function toImageCoordinates(grouped: readonly (readonly (readonly number[])[])[], center: Point, scale: Point, heatmapSize: Point): number[][][] {
  const inverse = affineTransform(center, scale, heatmapSize, true);
  return grouped.map((person) =>
    person.map((row) => {
      const [u, v] = applyAffine(inverse, row[0], row[1]);
      const out = row.slice();
      out[0] = Math.fround(u);
      out[1] = Math.fround(v);
      return out;
    }),
  );
}
