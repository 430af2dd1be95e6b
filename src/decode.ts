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
import { group, groupMaps, selectionProblem, type Grouping, type PoseSelection } from './grouping/parse.js';
import type { ParallelPostprocessing } from './parallel/postprocess.js';
import type { OnDemandMaps } from './aggregate/on-demand.js';
import { assertAffine, imageProjection, toImageCoordinates, type Projection } from './grouping/transform.js';
import { Workspace } from './workspace.js';
import { kernelsImageDone } from './kernels/index.js';
import { optionsProblem, typeName } from './values.js';

export { aggregate, DecodeError, group, toImageCoordinates };
export type { AggregatedMaps, PoseSelection, ScaleOutputs };

/** Where the network input came from in the image (`get_multi_scale_size` / `resize_align_multi_scale`). */
export interface ImageGeometry {
  /** `[w, h]` network input size at scale 1: the PROJECT2IMAGE target. */
  baseSize: readonly [number, number];
  /**
   * Affine centre and scale (`[w, h]` in units of 200 px) of the last scale processed — the
   * smallest — which the reference uses to map every person back to the image.
   */
  center: readonly [number, number];
  scale: readonly [number, number];
}

export interface DecodeResult {
  /** People in image pixels, in the reference's order (not sorted by score). */
  people: Person[];
  /** Per person, J rows `[x, y, score, tag...]` in heatmap pixels, as the reference parser returns them. */
  grouped: number[][][];
  /** Per person, the mean score of its J rows (0 for a joint not detected) before refine: `Person.score`. */
  scores: number[];
  /** `grouped` with x, y in image pixels (reference `get_final_preds`), made on first access. */
  readonly final: number[][][];
  /**
   * The aggregated maps `grouped` was computed from. Grouping computes only the parts of them
   * it reads; the rest is computed on first access to these.
   */
  readonly heatmaps: NdArray<Float32Array>;
  readonly tags: NdArray<Float32Array>;
}

/**
 * People from the grouped rows (heatmap pixels; `project` maps them to image pixels): named
 * joints, the person scores, and the box around the detected joints (score > 0; a zero box at
 * the origin when none is). Plain loops: one image can hold hundreds of people.
 */
export function toPeople(grouped: readonly (readonly (readonly number[])[])[], scores: readonly number[], def: KeypointDefinition, project: Projection): Person[] {
  const at: [number, number] = [0, 0];
  return grouped.map((rows, p) => {
    let xMin = Infinity;
    let yMin = Infinity;
    let xMax = -Infinity;
    let yMax = -Infinity;
    const keypoints = rows.map((r, j) => {
      project(r[0], r[1], at);
      const x = at[0];
      const y = at[1];
      if (r[2] > 0) {
        if (x < xMin) xMin = x;
        if (x > xMax) xMax = x;
        if (y < yMin) yMin = y;
        if (y > yMax) yMax = y;
      }
      return { name: def.names[j], x, y, score: r[2] };
    });
    const box: BoundingBox = xMin <= xMax ? { xMin, yMin, xMax, yMax, width: xMax - xMin, height: yMax - yMin } : { xMin: 0, yMin: 0, xMax: 0, yMax: 0, width: 0, height: 0 };
    return { score: scores[p], keypoints, box };
  });
}

/**
 * Decodes people from the network outputs of every test scale (any order; processed largest
 * first as the reference does). `settings` are the test-time settings of the configuration the
 * network was run with; `def` the dataset's keypoints (its flip index un-mirrors flipped outputs).
 * Throws `DecodeError` for NaN/Infinity in the outputs, shapes that do not fit the settings or
 * the joint count, or settings the reference could not run.
 *
 * A `workspace` passed for reuse from image to image holds the maps: the result's `heatmaps`
 * and `tags` are then valid only until it decodes the next image. With `selection`, only the
 * people it keeps are refined and returned (see `PoseSelection`).
 */
export function decodePoses(
  perScale: readonly ScaleOutputs[],
  geometry: ImageGeometry,
  settings: TestSettings,
  def: KeypointDefinition,
  workspace = new Workspace(),
  selection?: PoseSelection,
): DecodeResult {
  checkGeometry(geometry);
  checkWorkspace(workspace);
  checkSelection(selection);
  const maps = aggregateOnDemand(perScale, settings, def, geometry.baseSize, workspace);
  const result = decodeResult(maps, groupMaps(maps, settings, selection), geometry, def);
  imageDone(workspace);
  return result;
}

/**
 * `decodePoses` with the post-processing shared between this thread and `postprocessing`'s workers
 * (the same people). A shared `workspace` (`new Workspace({ shared: true })`) lets the workers
 * read the maps without a copy. Part of the maps lives in the workers' buffers: the result's
 * `heatmaps` and `tags` are valid until `postprocessing` decodes the next image.
 */
export async function decodePosesInParallel(
  perScale: readonly ScaleOutputs[],
  geometry: ImageGeometry,
  settings: TestSettings,
  def: KeypointDefinition,
  workspace: Workspace,
  postprocessing: ParallelPostprocessing,
  selection?: PoseSelection,
): Promise<DecodeResult> {
  checkGeometry(geometry);
  checkWorkspace(workspace);
  checkSelection(selection);
  const { maps, grouping } = await postprocessing.decode(perScale, settings, def, geometry.baseSize, workspace, selection);
  const result = decodeResult(maps, grouping, geometry, def);
  imageDone(workspace);
  return result;
}

/** After an image, gives back the memory a much larger one before it left: in `workspace`, and this thread's kernels'. */
function imageDone(workspace: Workspace): void {
  workspace.imageDone();
  kernelsImageDone();
}

/** Refuses an affine back-projection that would give non-finite or collapsed coordinates. */
function checkGeometry(geometry: ImageGeometry): void {
  const { center, scale, baseSize } = geometry ?? {};
  if (![center, scale, baseSize].every(Array.isArray)) {
    throw new DecodeError('geometry must be { baseSize: [w, h], center: [x, y], scale: [w, h] }: the affine parameters at scale 1 (testScaleInputs gives them)');
  }
  assertAffine(center, scale, 'geometry.');
}

/** Refuses a workspace that is none (its options, `{ shared: true }`, given for it): a TypeError from inside otherwise. */
function checkWorkspace(workspace: Workspace): void {
  if (!(workspace instanceof Workspace)) throw new DecodeError(`workspace must be a Workspace (new Workspace(), or undefined for a fresh one), got ${typeName(workspace)}`);
}

/** The options of a selection: another (a misspelt `maxPose`) would be ignored without a word. */
const SELECTION_OPTION_NAMES: Record<keyof PoseSelection, true> = { maxPoses: true, minPoseScore: true };

/** Refuses a selection that would keep people wrongly without a word (a negative `maxPoses` dropped the last ones, NaN kept every one or none, a misspelt option every one). */
function checkSelection(selection: PoseSelection | undefined): void {
  if (selection === undefined) return;
  const badOptions = optionsProblem(selection, SELECTION_OPTION_NAMES);
  if (badOptions) throw new DecodeError(`selection: ${badOptions}`);
  const problem = selectionProblem(selection);
  if (problem) throw new DecodeError(`selection.${problem.field} must be ${problem.allowed}, got ${String(selection[problem.field])}`);
}

function decodeResult(maps: OnDemandMaps, { grouped, scores }: Grouping, geometry: ImageGeometry, def: KeypointDefinition): DecodeResult {
  const heatmapSize: [number, number] = [maps.width, maps.height];
  let complete: AggregatedMaps | undefined;
  let final: number[][][] | undefined;
  return {
    people: toPeople(grouped, scores, def, imageProjection(geometry.center, geometry.scale, heatmapSize)),
    grouped,
    scores,
    // The people have their coordinates already: the rows are projected when asked for.
    get final() {
      return (final ??= toImageCoordinates(grouped, geometry.center, geometry.scale, heatmapSize));
    },
    get heatmaps() {
      return (complete ??= completeMaps(maps)).heatmaps;
    },
    get tags() {
      return (complete ??= completeMaps(maps)).tags;
    },
  };
}
