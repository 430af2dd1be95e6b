/**
 * The keypoint evaluation engine shared by the COCO and CrowdPose evaluators: a faithful port
 * of `COCOeval` (pycocotools, iouType 'keypoints') — `computeOks`, `evaluateImg`, `accumulate` —
 * keeping the reference's order of operations so that float64 results are identical.
 * The dataset evaluators differ only in sigmas, the ground-truth area and the area ranges.
 */
import type { GroundTruth, KeypointResult } from './data.js';
import { argsortDescending, linspace, pairwiseSum, SPACING_1 } from './numeric.js';

/** A ground-truth person as the engine sees it. */
export interface EvalGt {
  id: number;
  imageId: number;
  categoryId: number;
  keypoints: readonly number[];
  bbox: readonly number[];
  /** Scale of the OKS and the value tested against area ranges. */
  area: number;
  /** Crowd regions and people without labelled joints: matches to them are neither TP nor FP. */
  ignore: boolean;
  iscrowd: boolean;
}

/** A detection: one results entry, numbered from 1 in file order as `loadRes` does. */
export interface EvalDt {
  id: number;
  imageId: number;
  categoryId: number;
  keypoints: readonly number[];
  score: number;
  area: number;
}

export type AreaRange = readonly [number, number];

export interface EvalParams {
  sigmas: readonly number[];
  areaRanges: readonly AreaRange[];
}

/** Keypoint evaluations keep the 20 best detections per image. */
export const MAX_DETS = 20;
/** `np.linspace(.5, 0.95, 10)`: OKS thresholds (0.8999999999999999 included, as NumPy makes it). */
export const OKS_THRESHOLDS = linspace(0.5, 0.95, 10);
/** `np.linspace(.0, 1.00, 101)`: recall points of the interpolated precision. */
export const RECALL_THRESHOLDS = linspace(0, 1, 101);

const T = OKS_THRESHOLDS.length;
const R = RECALL_THRESHOLDS.length;

/** What `accumulate` produces, for one maxDets setting. */
export interface Accumulated {
  numCategories: number;
  /** Per area range: precision at `(t * R + r) * K + k`; -1 where no ground truth counts. */
  precision: Float64Array[];
  /** Per area range: recall at `t * K + k`; -1 where no ground truth counts. */
  recall: Float64Array[];
}

/** Ground truth as the engine needs it; `area` gives the dataset's OKS scale. */
export function toEvalGts(gt: GroundTruth, area: (a: GroundTruth['annotations'][number]) => number): EvalGt[] {
  return gt.annotations.map((a) => ({
    id: a.id,
    imageId: a.imageId,
    categoryId: a.categoryId,
    keypoints: a.keypoints,
    bbox: a.bbox,
    area: area(a),
    // As `_prepare`: the file's own `ignore` field is overwritten by these two rules.
    ignore: a.iscrowd || a.numKeypoints === 0,
    iscrowd: a.iscrowd,
  }));
}

/** `COCO.loadRes`: ids from 1, area from the boxes when the first result has one, else from the keypoints' extent. */
export function toEvalDts(results: readonly KeypointResult[]): EvalDt[] {
  const fromBoxes = results[0]?.bbox !== undefined;
  return results.map((r, i) => ({
    id: i + 1,
    imageId: r.image_id,
    categoryId: r.category_id,
    keypoints: r.keypoints,
    score: r.score,
    area: fromBoxes ? r.bbox![2]! * r.bbox![3]! : keypointExtentArea(r.keypoints),
  }));
}

function keypointExtentArea(kpts: readonly number[]): number {
  let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
  for (let j = 0; j < kpts.length; j += 3) {
    x0 = Math.min(x0, kpts[j]!);
    x1 = Math.max(x1, kpts[j]!);
    y0 = Math.min(y0, kpts[j + 1]!);
    y1 = Math.max(y1, kpts[j + 1]!);
  }
  return (x1 - x0) * (y1 - y0);
}

/**
 * OKS of one detection against one ground truth (`computeOks`). Labelled joints are compared
 * directly; a ground truth without labelled joints is compared to its box doubled on each
 * side, the distance being how far each predicted joint lies outside it.
 */
export function oks(gt: EvalGt, dt: readonly number[], vars: readonly number[]): number {
  const g = gt.keypoints;
  let labelled = 0;
  for (let j = 2; j < g.length; j += 3) if (g[j]! > 0) labelled++;
  const [bx, by, bw, bh] = gt.bbox as [number, number, number, number];
  const x0 = bx - bw, x1 = bx + bw * 2, y0 = by - bh, y1 = by + bh * 2;
  const terms: number[] = [];
  for (let j = 0; j < vars.length; j++) {
    const xd = dt[3 * j]!, yd = dt[3 * j + 1]!;
    let dx: number, dy: number;
    if (labelled > 0) {
      if (!(g[3 * j + 2]! > 0)) continue;
      dx = xd - g[3 * j]!;
      dy = yd - g[3 * j + 1]!;
    } else {
      dx = Math.max(0, x0 - xd) + Math.max(0, xd - x1);
      dy = Math.max(0, y0 - yd) + Math.max(0, yd - y1);
    }
    const e = (dx * dx + dy * dy) / vars[j]! / (gt.area + SPACING_1) / 2;
    terms.push(Math.exp(-e));
  }
  return pairwiseSum(terms) / terms.length;
}

/** One image and category: detections best first (at most MAX_DETS) and their OKS matrix. */
interface ImageCase {
  gts: EvalGt[];
  dts: EvalDt[];
  /** `ious[d * G + g]`, ground truths in file order. */
  ious: Float64Array;
}

function prepareCase(gts: EvalGt[], allDts: EvalDt[], vars: readonly number[]): ImageCase {
  const dts = argsortDescending(allDts.map((d) => d.score)).slice(0, MAX_DETS).map((i) => allDts[i]!);
  const ious = new Float64Array(dts.length * gts.length);
  dts.forEach((d, i) => gts.forEach((g, j) => (ious[i * gts.length + j] = oks(g, d.keypoints, vars))));
  return { gts, dts, ious };
}

/** Per-image outcome at every threshold (`evaluateImg`). */
interface ImageEval {
  dtScores: number[];
  /** `[t * D + d]`: id of the matched ground truth, 0 when unmatched (the reference tests the id's truthiness). */
  dtMatch: Float64Array;
  dtIgnore: Uint8Array;
  gtIgnore: Uint8Array;
}

function outside(area: number, range: AreaRange): boolean {
  return area < range[0] || area > range[1];
}

function evaluateCase(c: ImageCase, range: AreaRange): ImageEval | null {
  if (c.gts.length === 0 && c.dts.length === 0) return null;
  const gtIgnoreInFileOrder = c.gts.map((g) => g.ignore || outside(g.area, range));
  // Ground truths to ignore go last, stably (np.argsort(kind='mergesort') of the flags).
  const order = c.gts.map((_, i) => i).sort((a, b) => Number(gtIgnoreInFileOrder[a]) - Number(gtIgnoreInFileOrder[b]));
  const gts = order.map((i) => c.gts[i]!);
  const G = gts.length, D = c.dts.length;
  const gtIgnore = Uint8Array.from(order, (i) => Number(gtIgnoreInFileOrder[i]));
  const gtMatched = new Uint8Array(T * G);
  const dtMatch = new Float64Array(T * D);
  const dtIgnore = new Uint8Array(T * D);
  for (let t = 0; t < T; t++) {
    for (let d = 0; d < D; d++) {
      const m = bestMatch(c.ious, d, order, gts, gtIgnore, gtMatched.subarray(t * G, (t + 1) * G), OKS_THRESHOLDS[t]!);
      if (m === -1) continue;
      dtIgnore[t * D + d] = gtIgnore[m]!;
      dtMatch[t * D + d] = gts[m]!.id;
      gtMatched[t * G + m] = 1;
    }
  }
  // Unmatched detections outside the area range are ignored rather than counted as false positives.
  c.dts.forEach((d, i) => {
    if (!outside(d.area, range)) return;
    for (let t = 0; t < T; t++) if (dtMatch[t * D + i] === 0) dtIgnore[t * D + i] = 1;
  });
  return { dtScores: c.dts.map((d) => d.score), dtMatch, dtIgnore, gtIgnore };
}

/**
 * Greedy matching of detection d (`evaluateImg`'s inner loop): the unmatched (or crowd)
 * ground truth of highest OKS ≥ threshold, preferring any regular ground truth over ignored
 * ones; ties keep the first. Returns the index into the reordered `gts`, or -1.
 */
function bestMatch(ious: Float64Array, d: number, order: number[], gts: EvalGt[], gtIgnore: Uint8Array, matched: Uint8Array, threshold: number): number {
  const G = gts.length;
  let best = Math.min(threshold, 1 - 1e-10);
  let m = -1;
  for (let g = 0; g < G; g++) {
    if (matched[g] && !gts[g]!.iscrowd) continue;
    if (m > -1 && gtIgnore[m] === 0 && gtIgnore[g] === 1) break;
    const iou = ious[d * G + order[g]!]!;
    if (iou < best) continue;
    best = iou;
    m = g;
  }
  return m;
}

/** `accumulate` for one category and area range: fills `precision` and `recall` at k. */
function accumulateInto(evals: ImageEval[], k: number, K: number, precision: Float64Array, recall: Float64Array): void {
  if (evals.length === 0) return;
  const npig = evals.reduce((n, e) => n + e.gtIgnore.filter((x) => x === 0).length, 0);
  if (npig === 0) return;
  const scores = evals.flatMap((e) => e.dtScores);
  const inds = argsortDescending(scores);
  // Position of each concatenated detection: its image and index there.
  const where = evals.flatMap((e, ei) => e.dtScores.map((_, di) => [ei, di] as const));
  const nd = scores.length;
  for (let t = 0; t < T; t++) {
    const rc = new Float64Array(nd);
    const pr = new Float64Array(nd);
    let tp = 0, fp = 0;
    inds.forEach((src, i) => {
      const [ei, di] = where[src]!;
      const e = evals[ei]!;
      const D = e.dtScores.length;
      if (!e.dtIgnore[t * D + di]) {
        if (e.dtMatch[t * D + di] !== 0) tp++;
        else fp++;
      }
      rc[i] = tp / npig;
      pr[i] = tp / (fp + tp + SPACING_1);
    });
    recall[t * K + k] = nd ? rc[nd - 1]! : 0;
    for (let i = nd - 1; i > 0; i--) if (pr[i]! > pr[i - 1]!) pr[i - 1] = pr[i]!;
    // np.searchsorted(rc, recThrs, side='left'); recall points beyond the last detection stay 0.
    let pi = 0;
    for (let r = 0; r < R; r++) {
      while (pi < nd && rc[pi]! < RECALL_THRESHOLDS[r]!) pi++;
      precision[(t * R + r) * K + k] = pi < nd ? pr[pi]! : 0;
    }
  }
}

function groupKey(imageId: number, categoryId: number): string {
  return `${imageId}/${categoryId}`;
}

function groupBy<V extends { imageId: number; categoryId: number }>(items: readonly V[]): Map<string, V[]> {
  const groups = new Map<string, V[]>();
  for (const item of items) {
    const key = groupKey(item.imageId, item.categoryId);
    const list = groups.get(key);
    if (list) list.push(item);
    else groups.set(key, [item]);
  }
  return groups;
}

/**
 * `COCOeval.evaluate()` + `accumulate()` over the given images (deduplicated and sorted as
 * `np.unique` does) and categories. Ground truths and detections of other images are left out.
 */
export function runCocoEval(gts: readonly EvalGt[], dts: readonly EvalDt[], imageIds: readonly number[], categoryIds: readonly number[], params: EvalParams): Accumulated {
  const images = [...new Set(imageIds)].sort((a, b) => a - b);
  const K = categoryIds.length;
  const vars = params.sigmas.map((s) => (s * 2) * (s * 2));
  const gtGroups = groupBy(gts);
  const dtGroups = groupBy(dts);
  const precision = params.areaRanges.map(() => new Float64Array(T * R * K).fill(-1));
  const recall = params.areaRanges.map(() => new Float64Array(T * K).fill(-1));
  categoryIds.forEach((cat, k) => {
    const cases = images.map((img) => prepareCase(gtGroups.get(groupKey(img, cat)) ?? [], dtGroups.get(groupKey(img, cat)) ?? [], vars));
    params.areaRanges.forEach((range, a) => {
      const evals = cases.map((c) => evaluateCase(c, range)).filter((e): e is ImageEval => e !== null);
      accumulateInto(evals, k, K, precision[a]!, recall[a]!);
    });
  });
  return { numCategories: K, precision, recall };
}

/** Indices of the OKS thresholds accepted by `select` (all when omitted). */
export function thresholdIndices(select?: (threshold: number) => boolean): number[] {
  return [...OKS_THRESHOLDS.keys()].filter((t) => !select || select(OKS_THRESHOLDS[t]!));
}

/** Precision values at the given thresholds of one area range, in the reference's `[t, r, k]` order. */
export function precisionAt(acc: Accumulated, area: number, thresholds: readonly number[]): number[] {
  const K = acc.numCategories;
  const p = acc.precision[area]!;
  return thresholds.flatMap((t) => Array.from(p.subarray(t * R * K, (t + 1) * R * K)));
}

/** Recall values at the given thresholds of one area range, in `[t, k]` order. */
export function recallAt(acc: Accumulated, area: number, thresholds: readonly number[]): number[] {
  const K = acc.numCategories;
  const rc = acc.recall[area]!;
  return thresholds.flatMap((t) => Array.from(rc.subarray(t * K, (t + 1) * K)));
}

/** `_summarize`: mean of the values that are not -1, or -1 when there are none. */
export function meanOfValid(values: readonly number[]): number {
  const valid = values.filter((v) => v > -1);
  return valid.length === 0 ? -1 : pairwiseSum(valid) / valid.length;
}
