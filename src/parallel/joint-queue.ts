/**
 * Joints shared out between the post-processing threads as they go: each thread works through
 * its own segment of the joints first, then takes the others' remaining ones from their far
 * ends, so a thread that finishes early does not wait (a joint's top-k or refine searches take
 * from 2 to 20 ms, by image and joint), and an owner and a thief meet in the middle of a
 * segment. The queue lives in shared memory; taking a joint is one compare-and-swap.
 *
 * Layout (Int32Array on a SharedArrayBuffer): `[0]` the number of segments S; `[1 + s]` packs
 * the bounds `low | high << 16` of segment s's joints not yet taken (indices into the array);
 * `[1 + S..]` the joints, segment after segment.
 */
import type { Workspace } from '../workspace.js';

/** A queue of `segments` (thread t's joints are segment t, in order) in `workspace`'s buffer `key`, shared memory whatever the workspace. */
export function jointQueue(segments: readonly (readonly number[])[], workspace: Workspace, key: string): Int32Array {
  const size = 1 + segments.length + segments.reduce((sum, s) => sum + s.length, 0);
  if (size > 0xffff) throw new RangeError('a joint queue holds at most 65535 entries');
  const slots = workspace.int32(key, size, true);
  slots[0] = segments.length;
  let at = 1 + segments.length;
  segments.forEach((joints, s) => {
    slots.set(joints, at);
    Atomics.store(slots, 1 + s, at | ((at + joints.length) << 16));
    at += joints.length;
  });
  return slots;
}

/** The next joint of `segment`, from its `low` (owner's) or `high` (thieves') end, or -1 when none is left. */
function take(slots: Int32Array, segment: number, side: 'low' | 'high'): number {
  for (;;) {
    const bounds = Atomics.load(slots, 1 + segment);
    const low = bounds & 0xffff;
    const high = bounds >>> 16;
    if (low >= high) return -1;
    const next = side === 'low' ? (low + 1) | (high << 16) : low | ((high - 1) << 16);
    if (Atomics.compareExchange(slots, 1 + segment, bounds, next) === bounds) return slots[side === 'low' ? low : high - 1];
  }
}

/**
 * The joints thread `own` takes until the queue is empty: its segment in order, then the
 * others' (own + 1, own + 2, ... round) from their far ends; each also pushed onto `taken`.
 */
export function* takeJoints(slots: Int32Array, own: number, taken: number[]): Generator<number> {
  const segments = slots[0];
  for (let i = 0; i < segments; i++) {
    const segment = (own + i) % segments;
    for (let j = take(slots, segment, i === 0 ? 'low' : 'high'); j >= 0; j = take(slots, segment, i === 0 ? 'low' : 'high')) {
      taken.push(j);
      yield j;
    }
  }
}
