/** Checks of the people given to the tracker and the smoother. */
import type { BoundingBox, Person, PersonInput } from '../types.js';
import { shownValue, typeName } from '../values.js';

/** The sides of a person's box (the tracker and `drawPoses` read them). */
export const BOX_SIDES = ['xMin', 'yMin', 'xMax', 'yMax'] as const;

/** The box's sides and size: the tracker scales OKS and IoU by width × height. */
export const BOX_SIDES_AND_SIZE = [...BOX_SIDES, 'width', 'height'] as const;

const isObject = (v: unknown): boolean => typeof v === 'object' && v !== null;

/**
 * A TypeError where `people` is not a list of people with a keypoints list of objects and a box (an array
 * call's list of lists, a person of a user's own without a box), rather than one from inside the
 * checks below.
 */
export function checkShape(people: unknown, who: string): void {
  if (!Array.isArray(people)) throw new TypeError(`${who}: people must be a list of people (estimatePoses gives one per image), got ${typeName(people)}`);
  people.forEach((person: unknown, p) => {
    if (Array.isArray(person)) throw new TypeError(`${who}: person ${p} is a list, not a person: give the people of one image (estimatePoses of a list of images gives a list per image)`);
    if (!isObject(person)) throw new TypeError(`${who}: person ${p} must be a person { keypoints, box, score }, got ${typeName(person)}`);
    const { keypoints, box } = person as Partial<Person>;
    if (!Array.isArray(keypoints)) throw new TypeError(`${who}: person ${p} has no keypoints list, got ${typeName(keypoints)}`);
    const odd = keypoints.findIndex((k) => !isObject(k));
    if (odd >= 0) throw new TypeError(`${who}: person ${p}'s keypoint ${odd} must be a keypoint { name, x, y, score }, got ${typeName(keypoints[odd])}`);
    if (!isObject(box)) throw new TypeError(`${who}: person ${p} has no box (its xMin, yMin, xMax, yMax, width and height), got ${typeName(box)}`);
  });
}

/**
 * A TypeError where `people` is no list of people (see `checkShape`), and a RangeError naming
 * the first keypoint coordinate, score or box field (of `boxFields`) that is not a finite
 * number: taken in, one NaN makes a track's prediction or filters NaN from then on.
 */
export function checkPeople(people: readonly PersonInput[], who: string, boxFields: readonly (keyof BoundingBox)[] = BOX_SIDES): void {
  checkShape(people, who);
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
