/**
 * Results that cover few of the images scored. The official evaluation scores every image of the
 * annotation file (or of `--limit`'s first N), those a results file does not name as images where
 * nobody was found: results of a few images (predict run on some of them) score a low AP without
 * a word, so the evaluation says so.
 */
import type { GroundTruth, KeypointResult } from './data.js';

/** How many of the scored images with people the results name, when it is fewer than half. */
export interface ResultsCoverage {
  /** Images scored with an annotated person (not a crowd, keypoints labelled) that some result names. */
  named: number;
  /** Images scored with an annotated person. */
  withPeople: number;
  /** Images scored. */
  scored: number;
  /** The results' images are all among the first this many scored (by id), fewer than all; absent when not, or when they name none. */
  allWithinFirst?: number;
}

/**
 * How the results cover the images `scoredIds` (ascending) of `gt`, when they name fewer than
 * half of those with people annotated; undefined otherwise. Images with people, not all images:
 * a complete run can find nobody in many images without people (about half of val2017's), while a
 * model worth scoring finds someone in nearly every image with people.
 */
export function sparseCoverage(gt: GroundTruth, scoredIds: readonly number[], results: readonly KeypointResult[]): ResultsCoverage | undefined {
  const scored = new Set(scoredIds);
  const withPeople = new Set(gt.annotations.filter((a) => !a.iscrowd && a.numKeypoints > 0 && scored.has(a.imageId)).map((a) => a.imageId));
  const named = new Set(results.map((r) => r.image_id).filter((id) => scored.has(id)));
  const namedWithPeople = [...withPeople].filter((id) => named.has(id)).length;
  if (namedWithPeople * 2 >= withPeople.size) return undefined;
  const lastNamed = [...named].reduce((last, id) => Math.max(last, id), -Infinity);
  const allWithinFirst = scoredIds.filter((id) => id <= lastNamed).length;
  return { named: namedWithPeople, withPeople: withPeople.size, scored: scoredIds.length, ...(allWithinFirst > 0 && allWithinFirst < scoredIds.length && { allWithinFirst }) };
}

/** The warning for results of `source` that cover the images as `coverage` says. */
export function sparseCoverageWarning(source: string, coverage: ResultsCoverage): string {
  const { named, withPeople, scored, allWithinFirst } = coverage;
  const advice = allWithinFirst === undefined
    ? 'If it holds the results of some images only, estimate every image (eval --images runs the model over them all)'
    : `If it holds the results of the first N images by id only, give --limit N to score those alone (its results are all among the first ${allWithinFirst})`;
  return `warning: ${source} names ${named === 0 ? 'none' : named} of the ${withPeople} images with people annotated (of ${scored} scored): the images it does not name `
    + `count as images where nobody was found, as the official evaluation scores them, which lowers AP and AR. ${advice}`;
}
