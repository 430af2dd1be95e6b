/**
 * CrowdPose keypoint evaluation, as crowdposetools (the COCOeval fork the HigherHRNet authors
 * used) computes it: COCO matching with the CrowdPose sigmas, OKS scaled by 0.53 × the box
 * area, 20 detections per image, and AP per crowd-index split.
 */
import { CROWDPOSE_KEYPOINTS } from '../datasets.js';
import type { GroundTruth, KeypointResult } from './data.js';
import { assertDataset, selectImageIds, type EvaluateOptions } from './coco.js';
import { meanOfValid, precisionAt, recallAt, runCocoEval, thresholdIndices, toEvalDts, toEvalGts, type EvalDt, type EvalGt, type EvalParams } from './cocoeval.js';
import { mean, npRound } from './numeric.js';

const CROWDPOSE_STAT_NAMES = ['AP', 'AP .5', 'AP .75', 'AR', 'AR .5', 'AR .75', 'AP (E)', 'AP (M)', 'AP (H)'] as const;
export type CrowdPoseStatName = (typeof CROWDPOSE_STAT_NAMES)[number];
export type CrowdPoseStats = Record<CrowdPoseStatName, number>;

/** Only the 'all' range is reported (crowdposetools' other ranges never reach its statistics). */
const CROWDPOSE_EVAL_PARAMS: EvalParams = { sigmas: CROWDPOSE_KEYPOINTS.sigmas, areaRanges: [[0 ** 2, 1e5 ** 2]] };

/** crowdposetools' `split(first=0.2, second=0.8)` of the images by crowd index. */
const CROWD_INDEX_SPLITS = [0.2, 0.8] as const;

function crowdSplits(gt: GroundTruth, imageIds: readonly number[]): [number[], number[], number[]] {
  const wanted = new Set(imageIds);
  const [first, second] = CROWD_INDEX_SPLITS;
  const splits: [number[], number[], number[]] = [[], [], []];
  for (const image of gt.images) {
    if (!wanted.has(image.id)) continue;
    const ci = image.crowdIndex!;
    splits[ci < first ? 0 : ci < second ? 1 : 2].push(image.id);
  }
  return splits;
}

/**
 * `get_type_result`: re-evaluate on a split and average *all* precision entries — including
 * the -1 of an empty split — rounded to 4 decimals with NumPy's rounding, as the reference does.
 */
function splitAp(gts: EvalGt[], dts: EvalDt[], imageIds: number[], gt: GroundTruth): number {
  const acc = runCocoEval(gts, dts, imageIds, gt.categoryIds, CROWDPOSE_EVAL_PARAMS);
  return npRound(mean(acc.precision[0]!), 4);
}

/** Scores validated results against CrowdPose ground truth (images need `crowdIndex`). */
export function evaluateCrowdPose(gt: GroundTruth, results: readonly KeypointResult[], options: EvaluateOptions = {}): CrowdPoseStats {
  assertDataset(gt, 'crowdpose');
  const imageIds = selectImageIds(gt, options.imageIds);
  const gts = toEvalGts(gt, (a) => a.bbox[3] * a.bbox[2] * 0.53);
  const dts = toEvalDts(results);
  const acc = runCocoEval(gts, dts, imageIds, gt.categoryIds, CROWDPOSE_EVAL_PARAMS);
  const all = thresholdIndices();
  // The reference selects AP thresholds within 0.01 but AR thresholds by equality.
  const near = (x: number) => thresholdIndices((t) => Math.abs(x - t) < 0.01);
  const equal = (x: number) => thresholdIndices((t) => t === x);
  const ap = (t: number[]) => meanOfValid(precisionAt(acc, 0, t));
  const ar = (t: number[]) => meanOfValid(recallAt(acc, 0, t));
  const [easy, medium, hard] = crowdSplits(gt, imageIds).map((ids) => splitAp(gts, dts, ids, gt)) as [number, number, number];
  return {
    'AP': ap(all), 'AP .5': ap(near(0.5)), 'AP .75': ap(near(0.75)),
    'AR': ar(all), 'AR .5': ar(equal(0.5)), 'AR .75': ar(equal(0.75)),
    'AP (E)': easy, 'AP (M)': medium, 'AP (H)': hard,
  };
}
