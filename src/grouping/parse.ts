/**
 * Associative-embedding grouping of aggregated maps into people (reference
 * `HeatmapParser.parse`): top-k → tag matching → adjust → person scores → refine.
 */
import type { NdArray } from 'ndarray';
import type { TestSettings } from '../config/experiment.js';
import type { KeypointDefinition } from '../datasets.js';
import { assertTestSettings, DecodeError } from '../aggregate/errors.js';
import { assertFinite, assertFloat32Data, assertNdarray, cOrderData } from '../aggregate/planes.js';
import { matchByTag, referenceJointOrder, type Candidates } from './match.js';
import { float32Mean } from './numeric.js';
import { adjustPeople, RefineIndex, refinePeople } from './refine.js';
import { denseMaps, type GroupingMaps } from './maps.js';
import { everyJoint, topK } from './topk.js';

export interface Grouping {
  /** Per person, J rows `[x, y, score, tag...]` in heatmap pixels (after adjust / refine). */
  grouped: number[][][];
  /** Per person, the mean score of its J rows (0 for a joint not detected) before refine (the reference's ranking score). */
  scores: number[];
}

/** Refuses settings the reference could not run on maps of `height` x `width` (the settings alone are checked before: `assertTestSettings`). */
function checkSettings(settings: TestSettings, height: number, width: number): void {
  if (settings.maxNumPeople > height * width) throw new DecodeError(`maxNumPeople ${settings.maxNumPeople} exceeds the ${height * width} heatmap positions`);
}

/** Validates the maps' shapes against each other and the definition. */
function mapsFrom(heatmaps: NdArray<Float32Array>, tags: NdArray<Float32Array>, def: KeypointDefinition): GroupingMaps {
  if (!Array.isArray(def?.names)) throw new DecodeError('the keypoint definition must have names (COCO_KEYPOINTS, CROWDPOSE_KEYPOINTS)');
  assertNdarray(heatmaps, 'heatmaps', '[1, J, H, W]');
  assertNdarray(tags, 'tags', '[1, T, H, W, K]');
  const numJoints = def.names.length;
  const hs = heatmaps.shape;
  const ts = tags.shape;
  if (hs.length !== 4 || hs[0] !== 1) throw new DecodeError(`heatmaps must have shape [1, J, H, W], got [${hs.join(', ')}]`);
  if (hs[1] !== numJoints) throw new DecodeError(`heatmaps have ${hs[1]} joints but the ${def.kind} keypoints are ${numJoints}`);
  if (ts.length !== 5 || ts[0] !== 1) throw new DecodeError(`tags must have shape [1, T, H, W, K], got [${ts.join(', ')}]`);
  if (ts[1] !== numJoints && ts[1] !== 1) throw new DecodeError(`tags have ${ts[1]} maps per position; expected ${numJoints} (one per joint) or 1`);
  if (ts[2] !== hs[2] || ts[3] !== hs[3]) throw new DecodeError(`tags are ${ts[2]}x${ts[3]} but heatmaps ${hs[2]}x${hs[3]}`);
  if (ts[4] < 1) throw new DecodeError('tags have no tag values (last axis is empty)');
  assertFloat32Data(heatmaps, 'heatmaps');
  assertFloat32Data(tags, 'tags');
  const det = cOrderData(heatmaps);
  const tagData = cOrderData(tags);
  assertFinite(det, 'heatmaps', hs);
  assertFinite(tagData, 'tags', ts);
  return denseMaps({ det, numJoints, height: hs[2], width: hs[3], tags: tagData, tagChannels: ts[1], tagDim: ts[4] });
}

/**
 * Groups heatmaps `[1, J, H, W]` and tag maps `[1, T, H, W, K]` (float32 ndarrays, as `aggregate`
 * returns them) into people, as the reference `HeatmapParser.parse(det, tag, adjust, refine)`
 * does for one image. Returns the people in heatmap pixels (`toImageCoordinates` maps them to
 * the image). Throws `DecodeError` for maps or settings the reference could not group with.
 */
export function group(heatmaps: NdArray<Float32Array>, tags: NdArray<Float32Array>, settings: TestSettings, def: KeypointDefinition): Grouping {
  assertTestSettings(settings);
  return groupMaps(mapsFrom(heatmaps, tags, def), settings);
}

/**
 * Step one of grouping: the top-k candidates of `joints` (each joint's alone, so the joints can
 * be split between threads). Refuses settings and joint counts the reference could not run.
 */
export function detectJoints(maps: GroupingMaps, settings: TestSettings, joints: Iterable<number> = everyJoint(maps.numJoints)): Candidates {
  checkSettings(settings, maps.height, maps.width);
  jointOrderOf(maps.numJoints);
  return topK(maps, settings.maxNumPeople, settings.nmsKernel, settings.nmsPadding, settings.detectionThreshold, joints);
}

function jointOrderOf(numJoints: number): number[] {
  const jointOrder = referenceJointOrder(numJoints);
  if (!jointOrder) throw new DecodeError(`the reference joint order does not cover ${numJoints} joints`);
  return jointOrder;
}

/** Step two: tag matching of every joint's candidates, adjust, and the people's scores (refine comes next). */
export function assemblePeople(candidates: Candidates, maps: GroupingMaps, settings: TestSettings): Grouping {
  const grouped = matchByTag(candidates, {
    maxNumPeople: settings.maxNumPeople,
    detectionThreshold: settings.detectionThreshold,
    tagThreshold: settings.tagThreshold,
    useDetectionVal: settings.useDetectionVal,
    ignoreTooMuch: settings.ignoreTooMuch,
    jointOrder: jointOrderOf(maps.numJoints),
  });
  if (settings.adjust) adjustPeople(grouped, maps);
  const scores = grouped.map((person) => float32Mean(person.map((joint) => joint[2])));
  return { grouped, scores };
}

/** The people a caller wants (`EstimatorOptions.maxPoses`, `minPoseScore`); every one by default. */
export interface PoseSelection {
  /** At most this many, the best by score. */
  maxPoses?: number | undefined;
  /** Only people scoring at least this. */
  minPoseScore?: number | undefined;
}

/** The first field of `selection` out of range, with what it must be, or undefined (the estimator's options and `decodePoses` check it). */
export function selectionProblem({ maxPoses, minPoseScore }: PoseSelection): { field: keyof PoseSelection; allowed: string } | undefined {
  if (maxPoses !== undefined && !(Number.isInteger(maxPoses) && maxPoses >= 1)) return { field: 'maxPoses', allowed: 'a positive integer' };
  if (minPoseScore !== undefined && !Number.isFinite(minPoseScore)) return { field: 'minPoseScore', allowed: 'a finite number' };
  return undefined;
}

/**
 * The people `selection` keeps, in the reference's order: those scoring at least `minPoseScore`,
 * then the `maxPoses` best (the earlier of equal scores first, as a stable sort by score ranks
 * them). The scores are those before refine, which refines each person on its own, so the people
 * left out need no refine and those kept come out as in a run that keeps every one.
 */
export function selectPeople(grouping: Grouping, selection: PoseSelection = {}): Grouping {
  const { maxPoses = Infinity, minPoseScore = -Infinity } = selection;
  let kept = grouping.scores.flatMap((score, i) => (score >= minPoseScore ? [i] : []));
  if (kept.length === grouping.scores.length && maxPoses >= kept.length) return grouping;
  if (maxPoses < kept.length) kept = kept.sort((a, b) => grouping.scores[b] - grouping.scores[a]).slice(0, maxPoses).sort((a, b) => a - b);
  return { grouped: kept.map((i) => grouping.grouped[i]), scores: kept.map((i) => grouping.scores[i]) };
}

/** `group` on maps that may still be computed on demand (see `GroupingMaps`), keeping the people `selection` keeps. */
export function groupMaps(maps: GroupingMaps, settings: TestSettings, selection?: PoseSelection): Grouping {
  const grouping = selectPeople(assemblePeople(detectJoints(maps, settings), maps, settings), selection);
  if (settings.refine) refinePeople(grouping.grouped, maps, new RefineIndex(maps));
  return grouping;
}
