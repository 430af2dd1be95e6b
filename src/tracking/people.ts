/** Checks of the people given to the tracker and the smoother. */
import type { BoundingBox, Person } from '../types.js';
import { shownValue } from '../values.js';

const BOX_SIDES = ['xMin', 'yMin', 'xMax', 'yMax'] as const;

/** The box's sides and size: the tracker scales OKS and IoU by width × height. */
export const BOX_SIDES_AND_SIZE = [...BOX_SIDES, 'width', 'height'] as const;

/**
 * A RangeError naming the first keypoint coordinate, score or box field (of `boxFields`) of
 * `people` that is not a finite number: taken in, one NaN makes a track's prediction or filters
 * NaN from then on.
 */
export function checkFinite(people: readonly Person[], who: string, boxFields: readonly (keyof BoundingBox)[] = BOX_SIDES): void {
  people.forEach((person, p) => {
    for (const k of person.keypoints) {
      for (const field of ['x', 'y', 'score'] as const) {
        if (!Number.isFinite(k[field])) throw new RangeError(`${who}: person ${p}'s keypoint ${k.name} has ${field} ${shownValue(k[field])}; coordinates and scores must be finite numbers`);
      }
    }
    for (const field of boxFields) {
      if (!Number.isFinite(person.box[field])) throw new RangeError(`${who}: person ${p}'s box has ${field} ${shownValue(person.box[field])}; coordinates and sizes must be finite numbers`);
    }
  });
}
