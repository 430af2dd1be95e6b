/**
 * COCO keypoint evaluation, identical to pycocotools `COCOeval(gt, dt, 'keypoints')`:
 * OKS with the COCO sigmas scaled by the annotation's segmentation area, area ranges
 * all / medium (32²–96²) / large (> 96²), 20 detections per image, and the ten summary numbers.
 */
import { COCO_KEYPOINTS } from '../datasets.js';
import type { GroundTruth, KeypointResult } from './data.js';
import { EvalError } from './errors.js';
import { meanOfValid, precisionAt, recallAt, runCocoEval, thresholdIndices, toEvalDts, toEvalGts, type Accumulated, type EvalParams } from './cocoeval.js';

/** The statistics in the reference's order (`COCOeval.stats`, named as HigherHRNet logs them). */
export const COCO_STAT_NAMES = ['AP', 'AP .5', 'AP .75', 'AP (M)', 'AP (L)', 'AR', 'AR .5', 'AR .75', 'AR (M)', 'AR (L)'] as const;
export type CocoStatName = (typeof COCO_STAT_NAMES)[number];
export type CocoStats = Record<CocoStatName, number>;

const COCO_EVAL_PARAMS: EvalParams = {
  sigmas: COCO_KEYPOINTS.sigmas,
  areaRanges: [[0 ** 2, 1e5 ** 2], [32 ** 2, 96 ** 2], [96 ** 2, 1e5 ** 2]],
};

export interface EvaluateOptions {
  /** Evaluate only these images (default: every image of the ground truth), e.g. after a `--limit` run. */
  imageIds?: readonly number[];
}

/** Image ids to evaluate: the ground truth's, or the requested subset (which must belong to it). */
export function selectImageIds(gt: GroundTruth, imageIds?: readonly number[]): number[] {
  const all = gt.images.map((im) => im.id);
  if (!imageIds) return all;
  const known = new Set(all);
  const unknown = imageIds.find((id) => !known.has(id));
  if (unknown !== undefined) throw new EvalError(`Image id ${unknown} is not an image of ${gt.source}`);
  return [...imageIds];
}

export function assertDataset(gt: GroundTruth, expected: GroundTruth['dataset']): void {
  if (gt.dataset !== expected) {
    throw new EvalError(`${gt.source} was loaded as ${gt.dataset} ground truth; the ${expected} evaluation needs ${expected} ground truth`);
  }
}

/** pycocotools' `_summarizeKps`: AP then AR, over all thresholds, at .5, at .75, then medium and large. */
function summarize(acc: Accumulated): CocoStats {
  const all = thresholdIndices();
  const at = (x: number) => thresholdIndices((t) => t === x);
  const ap = (area: number, t: number[]) => meanOfValid(precisionAt(acc, area, t));
  const ar = (area: number, t: number[]) => meanOfValid(recallAt(acc, area, t));
  return {
    'AP': ap(0, all), 'AP .5': ap(0, at(0.5)), 'AP .75': ap(0, at(0.75)), 'AP (M)': ap(1, all), 'AP (L)': ap(2, all),
    'AR': ar(0, all), 'AR .5': ar(0, at(0.5)), 'AR .75': ar(0, at(0.75)), 'AR (M)': ar(1, all), 'AR (L)': ar(2, all),
  };
}

/** Scores validated results (see `parseResults`) against COCO ground truth. */
export function evaluateCoco(gt: GroundTruth, results: readonly KeypointResult[], options: EvaluateOptions = {}): CocoStats {
  assertDataset(gt, 'coco');
  const gts = toEvalGts(gt, (a) => a.area!);
  const acc = runCocoEval(gts, toEvalDts(results), selectImageIds(gt, options.imageIds), gt.categoryIds, COCO_EVAL_PARAMS);
  return summarize(acc);
}
