/**
 * Which pairs of poses can reach an OKS threshold, found without computing their OKS: in a
 * crowd most pairs are too far apart to, and skipping them makes matching a frame's people to
 * the tracks near-linear in the crowd's size where computing every pair's OKS is quadratic.
 *
 * Why skipping is exact: each joint OKS compares lies in its pose's joint extent (the rectangle
 * around its joints found, score > 0, the only ones OKS compares), so the distance d between a
 * pair's joints is at least the gap g between the two extents, and each joint's term
 * exp(-d² / (2·area·k²)) is at most exp(-g² / (2·area·k²max)), k²max the largest (2σ)². OKS, a
 * mean of such terms (0 with none), is at most that too, so it is below the threshold t once
 * g² > 2·area·k²max·(-ln t + ROUNDING_MARGIN). Every quantity that is not a
 * number (NaN) fails that test, so such a pair is computed, as before.
 */
import type { Person } from '../types.js';

/** Added to -ln t: the bound stays a factor e^-1e-6 below t, far beyond the rounding of OKS's sums and exponentials. */
const ROUNDING_MARGIN = 1e-6;

/** A box's area, as OKS scales by it. */
export const boxArea = (p: Person): number => p.box.width * p.box.height;

/** The area OKS scales a pair's joint distances by: the mean of the two box areas, at least 1. */
export const oksArea = (areaA: number, areaB: number): number => Math.max((areaA + areaB) / 2, 1);

interface JointExtent {
  xMin: number;
  xMax: number;
  yMin: number;
  yMax: number;
  area: number;
}

/**
 * The rectangle around the joints found (score > 0) among a pose's first `joints`, the only ones
 * OKS compares (empty, min > max, when it has none): undetected joints all lie at one image
 * point, and would stretch every pose's extent to it.
 */
function jointExtent(p: Person, joints: number): JointExtent {
  let xMin = Infinity;
  let xMax = -Infinity;
  let yMin = Infinity;
  let yMax = -Infinity;
  const n = Math.min(p.keypoints.length, joints);
  for (let j = 0; j < n; j++) {
    const { x, y, score } = p.keypoints[j]!;
    if (!(score > 0)) continue;
    if (x < xMin) xMin = x;
    if (x > xMax) xMax = x;
    if (y < yMin) yMin = y;
    if (y > yMax) yMax = y;
  }
  return { xMin, xMax, yMin, yMax, area: boxArea(p) };
}

/** The gap between two intervals along one axis (0 where they overlap). */
const gapBetween = (aMin: number, aMax: number, bMin: number, bMax: number): number => Math.max(0, bMin - aMax, aMin - bMax);

/** Whether a gap along one axis alone puts a pair beyond `reachSq`, the square of the farthest gap that can reach the threshold. */
const beyond = (gap: number, reachSq: number): boolean => gap > 0 && gap * gap > reachSq;

/** The first index in [0, n) where the monotone `test` (false, then true) holds; n if none. */
function firstWhere(n: number, test: (k: number) => boolean): number {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (test(mid)) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/**
 * For each pose of `from`, the indices of the poses of `to` whose OKS with it (by `sigmas`) can
 * reach `threshold`; the OKS of every other pair is below it. `to` is swept in order of the left
 * edges of the joint extents, so each pose of `from` looks only at those within reach along x.
 */
export function pairsWithinReach(from: readonly Person[], to: readonly Person[], sigmas: readonly number[], threshold: number): number[][] {
  const joints = sigmas.length;
  // A NaN sigma makes this NaN, and then no pair is skipped.
  const k2Max = sigmas.reduce((most, s) => Math.max(most, (2 * s) ** 2), 0);
  const logReach = -Math.log(threshold) + ROUNDING_MARGIN;
  const reachSq = (area: number): number => 2 * area * k2Max * logReach;

  const fromExtents = from.map((p) => jointExtent(p, joints));
  const toExtents = to.map((p) => jointExtent(p, joints));
  // Comparisons rather than a difference: two empty extents (Infinity - Infinity) compare equal.
  const order = toExtents.map((_, j) => j).sort((i, j) => {
    const a = toExtents[i]!.xMin;
    const b = toExtents[j]!.xMin;
    return a < b ? -1 : a > b ? 1 : 0;
  });
  // The rightmost right edge among the first k + 1 in that order: those before the first that
  // can reach a pose all end too far left of it.
  const rightmost = new Float64Array(order.length);
  let edge = -Infinity;
  for (const [k, j] of order.entries()) rightmost[k] = edge = Math.max(edge, toExtents[j]!.xMax);
  const largestArea = toExtents.reduce((most, e) => Math.max(most, e.area), -Infinity);

  return fromExtents.map((a) => {
    // Enough for every pose of `to`: a pair's area is at most this one with the largest box.
    const reachSqAny = reachSq(oksArea(a.area, largestArea));
    const pairs: number[] = [];
    for (let k = firstWhere(order.length, (k) => !beyond(a.xMin - rightmost[k]!, reachSqAny)); k < order.length; k++) {
      const j = order[k]!;
      const b = toExtents[j]!;
      if (beyond(b.xMin - a.xMax, reachSqAny)) break;
      const gapX = gapBetween(a.xMin, a.xMax, b.xMin, b.xMax);
      const gapY = gapBetween(a.yMin, a.yMax, b.yMin, b.yMax);
      if (!(gapX * gapX + gapY * gapY > reachSq(oksArea(a.area, b.area)))) pairs.push(j);
    }
    return pairs;
  });
}
