/**
 * Back-projection from heatmap pixels to image pixels (reference `get_final_preds` /
 * `transform_preds`): the inverse of the test-time affine transform, applied in float64 and
 * stored as float32 (the reference writes into a float32 array).
 */
import { DecodeError } from '../aggregate/errors.js';
import { isPositive, isPositiveInt } from '../values.js';
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

/** Whether `v` is two values that pass `ok`. */
function isPair(v: unknown, ok: (x: unknown) => boolean): boolean {
  return Array.isArray(v) && v.length === 2 && v.every(ok);
}

/** Whether `grouped` is people as lists of rows `[x, y, ...]`. */
function isGrouped(grouped: unknown): boolean {
  const isRow = (row: unknown): boolean => Array.isArray(row) && typeof row[0] === 'number' && typeof row[1] === 'number';
  return Array.isArray(grouped) && grouped.every((person) => Array.isArray(person) && person.every(isRow));
}

/** A pair given, as errors show it. */
function shown(v: unknown): string {
  return Array.isArray(v) ? `[${v.join(', ')}]` : String(v);
}

/**
 * Refuses an affine centre and scale that would give non-finite or collapsed coordinates
 * (`prefix` leads their names in the errors).
 */
export function assertAffine(center: Point, scale: Point, prefix = ''): void {
  if (!isPair(center, Number.isFinite)) throw new DecodeError(`${prefix}center must be two finite numbers, got ${shown(center)}`);
  if (!isPair(scale, isPositive)) throw new DecodeError(`${prefix}scale must be two positive numbers, got ${shown(scale)}`);
}

/**
 * Maps every person's `[x, y, ...]` rows from heatmap pixels (heatmap size `[w, h]`, the
 * grouped maps' size) to image pixels with the affine centre (image pixels) and scale (`[w, h]`
 * in units of 200 px) of the last test scale processed. Other columns are kept. Throws
 * `DecodeError` for arguments that would give no coordinates or non-finite ones.
 */
export function toImageCoordinates(grouped: readonly (readonly (readonly number[])[])[], center: Point, scale: Point, heatmapSize: Point): number[][][] {
  if (!isGrouped(grouped)) throw new DecodeError('grouped must hold, per person, rows [x, y, ...] in heatmap pixels (as group returns them)');
  assertAffine(center, scale);
  if (!isPair(heatmapSize, isPositiveInt)) throw new DecodeError(`heatmapSize must be two positive integers [w, h], got ${shown(heatmapSize)}`);
  const project = imageProjection(center, scale, heatmapSize);
  return grouped.map((person) =>
    person.map((row) => {
      const out = row.slice();
      project(row[0], row[1], out as [number, number]);
      return out;
    }),
  );
}
