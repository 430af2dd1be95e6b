/** Whether an object is garbage-collected: for tests that a large buffer is not kept alive. */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

setFlagsFromString('--expose-gc');
// Exposed to contexts made from now on, without starting node with --expose-gc.
const gc = runInNewContext('gc') as () => void;

/** Whether the object `ref` points to has been collected, after the current job ends (a WeakRef holds its target until then). */
export async function isCollected(ref: WeakRef<object>): Promise<boolean> {
  await new Promise((resolve) => setImmediate(resolve));
  gc();
  return ref.deref() === undefined;
}
