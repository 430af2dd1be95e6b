/**
 * Tasks over a sequence with a few in flight at once and their outcomes taken in order: how
 * `estimatePoses([...])`, `processVideo`, the COCO benchmark and `predict` keep the next images
 * estimating while they handle the current one (`EstimatorOptions.imagesInFlight`).
 */
import { isPositiveInt } from '../values.js';

/**
 * The most images the estimator may keep in flight (`imagesInFlight`), here or in its slots: each
 * holds its own buffers, ~110 MB at input 512 with flip test, so 64 hold some 7 GB; the network
 * runs one at a time, and more than a few in flight gain nothing.
 */
export const MAX_IMAGES_IN_FLIGHT = 64;

/** Whether `count` is a number of images the estimator may keep in flight. */
export const isImagesInFlight = (count: unknown): count is number => isPositiveInt(count) && count <= MAX_IMAGES_IN_FLIGHT;

/** How errors say what `imagesInFlight` may be. */
export const IMAGES_IN_FLIGHT_RANGE = `an integer from 1 to ${MAX_IMAGES_IN_FLIGHT} (images estimated at once, each holding its buffers)`;

/** An item and how its task ended. */
export interface Outcome<T, R> {
  item: T;
  outcome: PromiseSettledResult<R>;
}

/**
 * Runs `task` on the items of `items` as they come, at most `inFlight` at once, and yields each
 * outcome in the items' order. New items are taken only when one is yielded, so a consumer
 * that stops starts nothing more; the tasks still running are awaited before the generator
 * finishes. An error of `items` itself comes after the outcomes of the items before it.
 */
export async function* inOrder<T, R>(items: Iterable<T> | AsyncIterable<T>, inFlight: number, task: (item: T) => Promise<R>): AsyncGenerator<Outcome<T, R>> {
  const source = Symbol.asyncIterator in items ? items[Symbol.asyncIterator]() : items[Symbol.iterator]();
  const running: { item: T; outcome: Promise<PromiseSettledResult<R>> }[] = [];
  let exhausted = false;
  // An error of `items` is thrown after the outcomes of the items before it.
  let failure: { error: unknown } | null = null;
  try {
    for (;;) {
      while (!exhausted && !failure && running.length < inFlight) {
        let next: IteratorResult<T>;
        try {
          next = await source.next();
        } catch (error) {
          failure = { error };
          break;
        }
        if (next.done) exhausted = true;
        else {
          const item = next.value;
          const outcome = task(item).then(
            (value): PromiseSettledResult<R> => ({ status: 'fulfilled', value }),
            (reason: unknown): PromiseSettledResult<R> => ({ status: 'rejected', reason }),
          );
          running.push({ item, outcome });
        }
      }
      const first = running.shift();
      if (!first) {
        if (failure) throw failure.error;
        return;
      }
      yield { item: first.item, outcome: await first.outcome };
    }
  } finally {
    await Promise.all(running.map((r) => r.outcome));
    await source.return?.();
  }
}

/** The value of a fulfilled outcome; a rejected one throws its reason. */
export function valueOf<R>(outcome: PromiseSettledResult<R>): R {
  if (outcome.status === 'rejected') throw outcome.reason;
  return outcome.value;
}
