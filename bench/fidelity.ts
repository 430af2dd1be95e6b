/**
 * How close a reduced-precision run is to the float32 one: the figures `npm run bench`
 * reports for int8 (README, Reduced precision).
 */
import type { Person } from '../src/types.js';

/** Mean |reduced − reference| over all values, divided by the largest |reference| value. */
export function heatmapError(reference: Float32Array, reduced: Float32Array): number {
  if (reference.length !== reduced.length) throw new RangeError(`heatmapError: ${reference.length} and ${reduced.length} values`);
  let sum = 0;
  let largest = 0;
  for (let i = 0; i < reference.length; i++) {
    sum += Math.abs(reduced[i] - reference[i]);
    largest = Math.max(largest, Math.abs(reference[i]));
  }
  return largest > 0 ? sum / reference.length / largest : 0;
}

/** Mean distance between the same joints of two people. */
function meanJointDistance(a: Person, b: Person): number {
  let sum = 0;
  a.keypoints.forEach((k, j) => {
    sum += Math.hypot(k.x - b.keypoints[j].x, k.y - b.keypoints[j].y);
  });
  return sum / a.keypoints.length;
}

/**
 * Pairs people of two runs greedily, closest (mean joint distance) first; returns for each
 * reference person the index of its partner, if any.
 */
function matchPeople(reference: readonly Person[], other: readonly Person[]): (number | undefined)[] {
  const pairs = reference.flatMap((a, i) => other.map((b, j) => ({ i, j, distance: meanJointDistance(a, b) })));
  pairs.sort((p, q) => p.distance - q.distance);
  const partner: (number | undefined)[] = reference.map(() => undefined);
  const taken = new Set<number>();
  for (const { i, j } of pairs) {
    if (partner[i] !== undefined || taken.has(j)) continue;
    partner[i] = j;
    taken.add(j);
  }
  return partner;
}

/**
 * Fraction of the reference keypoints with score > 0 that the other run places within
 * `tolerance` pixels, on the matched person (1 when the reference has none).
 */
export function keypointAgreement(reference: readonly Person[], other: readonly Person[], tolerance = 1): number {
  const partner = matchPeople(reference, other);
  let counted = 0;
  let agreed = 0;
  reference.forEach((person, i) => {
    const match = partner[i] === undefined ? undefined : other[partner[i]];
    person.keypoints.forEach((k, j) => {
      if (k.score <= 0) return;
      counted++;
      if (match && Math.hypot(k.x - match.keypoints[j].x, k.y - match.keypoints[j].y) <= tolerance) agreed++;
    });
  });
  return counted > 0 ? agreed / counted : 1;
}
