/**
 * Joints shared out between the two post-processing threads as they go: each works through its
 * own joints first, then takes the other's remaining ones from the far end, so a thread that
 * finishes early does not wait (a joint's top-k or refine searches take from 2 to 20 ms, by
 * image and joint). The queue lives in shared memory; taking a joint is one compare-and-swap.
 *
 * Layout (Int32Array on a SharedArrayBuffer): `[0]` packs the bounds `low | high << 16` of the
 * joints not yet taken, `[1..]` the joints, the calling thread's first (taken from the low
 * end), the worker's last (taken from the high end).
 */
import type { Workspace } from '../workspace.js';

export type Side = 'low' | 'high';

/** A queue of `low` (the calling thread's, in order) then `high` (the worker's, taken from the end), in `workspace`'s shared buffer `key`. */
export function jointQueue(low: readonly number[], high: readonly number[], workspace: Workspace, key: string): Int32Array {
  if (low.length + high.length > 0xffff) throw new RangeError('a joint queue holds at most 65535 joints');
  const slots = workspace.int32(key, 1 + low.length + high.length);
  if (!(slots.buffer instanceof SharedArrayBuffer)) throw new TypeError('a joint queue needs a shared workspace');
  slots.set([...low, ...[...high].reverse()], 1);
  Atomics.store(slots, 0, (low.length + high.length) << 16);
  return slots;
}

/** The next joint from `side` of the queue, or -1 when none is left. */
function take(slots: Int32Array, side: Side): number {
  for (;;) {
    const bounds = Atomics.load(slots, 0);
    const low = bounds & 0xffff;
    const high = bounds >>> 16;
    if (low >= high) return -1;
    const next = side === 'low' ? (low + 1) | (high << 16) : low | ((high - 1) << 16);
    if (Atomics.compareExchange(slots, 0, bounds, next) === bounds) return slots[1 + (side === 'low' ? low : high - 1)];
  }
}

/** The joints taken from `side` of the queue until it is empty, each also pushed onto `taken`. */
export function* takeJoints(slots: Int32Array, side: Side, taken: number[]): Generator<number> {
  for (let j = take(slots, side); j >= 0; j = take(slots, side)) {
    taken.push(j);
    yield j;
  }
}
