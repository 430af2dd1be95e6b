/** Checks of the people given to the tracker and the smoother. */
import type { Person } from '../types.js';
import { shownValue } from '../values.js';

/**
 * A RangeError naming the first keypoint coordinate, score or box side of `people` that is not
 * a finite number: taken in, one NaN makes a track's prediction or filters NaN from then on.
 */
export function checkFinite(people: readonly Person[], who: string): void {
  people.forEach((person, p) => {
    for (const k of person.keypoints) {
      for (const field of ['x', 'y', 'score'] as const) {
        if (!Number.isFinite(k[field])) throw new RangeError(`${who}: person ${p}'s keypoint ${k.name} has ${field} ${shownValue(k[field])}; coordinates and scores must be finite numbers`);
      }
    }
    for (const side of ['xMin', 'yMin', 'xMax', 'yMax'] as const) {
      if (!Number.isFinite(person.box[side])) throw new RangeError(`${who}: person ${p}'s box has ${side} ${shownValue(person.box[side])}; coordinates must be finite numbers`);
    }
  });
}
