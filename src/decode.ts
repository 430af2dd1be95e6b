/**
 * The post-processing alone, for users who run the network elsewhere: raw network outputs of
 * every test scale (plain and mirrored input) → aggregated maps → grouped people in heatmap
 * pixels → people in image pixels. Reproduces the reference `tools/valid.py` loop after the
 * forward passes.
 */
import type { NdArray } from 'ndarray';
import type { TestSettings } from './config/experiment.js';
import type { KeypointDefinition } from './datasets.js';
import type { BoundingBox, Person } from './types.js';
import { aggregate, aggregateOnDemand, completeMaps, type AggregatedMaps, type ScaleOutputs } from './aggregate/aggregate.js';
import { DecodeError } from './aggregate/errors.js';
import { group, groupMaps, type Grouping } from './grouping/parse.js';
import type { ParallelPostprocessing } from './parallel/postprocess.js';
import type { OnDemandMaps } from './aggregate/on-demand.js';
import { toImageCoordinates } from './grouping/transform.js';
import { Workspace } from './workspace.js';

export { aggregate, DecodeError, group, toImageCoordinates };
export type { AggregatedMaps, ScaleOutputs };

/** Where the network input came from in the image (`get_multi_scale_size` / `resize_align_multi_scale`). */
export interface ImageGeometry {
  /** `[w, h]` network input size at scale 1: the PROJECT2IMAGE target. */
  baseSize: [number, number];
  /**
   * Affine centre and scale (`[w, h]` in units of 200 px) of the last scale processed — the
   * smallest — which the reference uses to map every person back to the image.
   */
  center: [number, number];
  scale: [number, number];
}

export interface DecodeResult {
  /** People in image pixels, in the reference's order (not sorted by score). */
  people: Person[];
  /** Per person, J rows `[x, y, score, tag...]` in heatmap pixels, as the reference parser returns them. */
  grouped: number[][][];
  /** Per person, the mean joint score before refine. */
  scores: number[];
  /** `grouped` with x, y in image pixels (reference `get_final_preds`). */
  final: number[][][];
  /**
   * The aggregated maps `grouped` was computed from. Grouping computes only the parts of them
   * it reads; the rest is computed on first access to these.
   */
  readonly heatmaps: NdArray<Float32Array>;
  readonly tags: NdArray<Float32Array>;
}

/** Box around a person's detected joints (score > 0); a zero box at the origin when none is. */
function boundingBox(rows: readonly (readonly number[])[]): BoundingBox {
  const seen = rows.filter((r) => r[2] > 0);
  if (seen.length === 0) return { xMin: 0, yMin: 0, xMax: 0, yMax: 0, width: 0, height: 0 };
  const xs = seen.map((r) => r[0]);
  const ys = seen.map((r) => r[1]);
  const [xMin, xMax, yMin, yMax] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  return { xMin, yMin, xMax, yMax, width: xMax - xMin, height: yMax - yMin };
}

/** Names the joints of `final` rows and attaches the person scores. */
export function toPeople(final: readonly (readonly (readonly number[])[])[], scores: readonly number[], def: KeypointDefinition): Person[] {
  return final.map((rows, p) => ({
    score: scores[p],
    keypoints: rows.map((r, j) => ({ name: def.names[j], x: r[0], y: r[1], score: r[2] })),
    box: boundingBox(rows),
  }));
}

/**
 * Decodes people from the network outputs of every test scale (any order; processed largest
 * first as the reference does). `settings` are the test-time settings of the configuration the
 * network was run with; `def` the dataset's keypoints (its flip index un-mirrors flipped outputs).
 * Throws `DecodeError` for NaN/Infinity in the outputs, shapes that do not fit the settings or
 * the joint count, or settings the reference could not run.
 *
 * A `workspace` passed for reuse from image to image holds the maps: the result's `heatmaps`
 * and `tags` are then valid only until it decodes the next image.
 */
export function decodePoses(perScale: readonly ScaleOutputs[], geometry: ImageGeometry, settings: TestSettings, def: KeypointDefinition, workspace = new Workspace()): DecodeResult {
  const maps = aggregateOnDemand(perScale, settings, def, geometry.baseSize, workspace);
  return decodeResult(maps, groupMaps(maps, settings), geometry, def);
}

/**
 * `decodePoses` with the post-processing shared between this thread and `postprocessing`'s worker
 * (the same people). A shared `workspace` (`new Workspace({ shared: true })`) lets the worker
 * read the maps without a copy. Part of the maps lives in the worker's buffers: the result's
 * `heatmaps` and `tags` are valid until `postprocessing` decodes the next image.
 */
export async function decodePosesInParallel(
  perScale: readonly ScaleOutputs[],
  geometry: ImageGeometry,
  settings: TestSettings,
  def: KeypointDefinition,
  workspace: Workspace,
  postprocessing: ParallelPostprocessing,
): Promise<DecodeResult> {
  const { maps, grouping } = await postprocessing.decode(perScale, settings, def, geometry.baseSize, workspace);
  return decodeResult(maps, grouping, geometry, def);
}

function decodeResult(maps: OnDemandMaps, { grouped, scores }: Grouping, geometry: ImageGeometry, def: KeypointDefinition): DecodeResult {
  const final = toImageCoordinates(grouped, geometry.center, geometry.scale, [maps.width, maps.height]);
  let complete: AggregatedMaps | undefined;
  return {
    people: toPeople(final, scores, def),
    grouped,
    scores,
    final,
    get heatmaps() {
      return (complete ??= completeMaps(maps)).heatmaps;
    },
    get tags() {
      return (complete ??= completeMaps(maps)).tags;
    },
  };
}
