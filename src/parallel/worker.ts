/**
 * A worker thread of `ParallelPostprocessing`: checks and combines the stage outputs of the
 * passes it is sent (the flipped ones, first worker only), builds on-demand maps from the shared network-resolution planes it
 * is sent, finds the candidates of the joints it takes from the shared queue, then runs the
 * refine searches of the joints it takes for the people it is sent. Its buffers live in its
 * own workspace, reused from image to image.
 */
import { parentPort } from 'node:worker_threads';
import { OnDemandMaps } from '../aggregate/on-demand.js';
import { checkedCombine } from '../aggregate/aggregate.js';
import { Workspace } from '../workspace.js';
import { kernelsImageDone } from '../kernels/index.js';
import { detectJoints } from '../grouping/parse.js';
import { RefineIndex, refineJoints } from '../grouping/refine.js';
import type { Job, Reply } from './postprocess.js';
import { takeJoints } from './joint-queue.js';
import { workerError } from './worker-thread.js';

const port = parentPort;
if (!port) throw new Error('src/parallel/worker.ts runs as a worker thread (see ParallelPostprocessing)');
// Shared: the passes it combines are read by the main thread.
const workspace = new Workspace({ shared: true });
// The image being grouped: refine jobs continue the last detect job.
let index: RefineIndex | null = null;

function answer(job: Job): Reply {
  if (job.kind === 'combine') {
    return checkedCombine(job.passes, job.settings, job.numJoints, job.flipIndex, workspace);
  }
  const joints: number[] = [];
  if (job.kind === 'detect') {
    // A new image: the memory a much larger one before it left is given back (see decodePoses).
    workspace.imageDone();
    kernelsImageDone();
    const maps = new OnDemandMaps(job.source, workspace);
    index = new RefineIndex(maps);
    return { candidates: detectJoints(maps, job.settings, takeJoints(job.queue, job.segment, joints)), joints };
  }
  if (!index) throw new Error('a refine job came before any detect job');
  return { placed: refineJoints(index, job.queries, takeJoints(job.queue, job.segment, joints)), joints };
}

port.on('message', ({ id, job }: { id: number; job: Job }) => {
  let reply: Reply;
  try {
    reply = answer(job);
    port.postMessage({ id, ...reply });
  } catch (error) {
    port.postMessage({ id, error: workerError(error) });
    return;
  }
  // While the main thread matches the candidates, build the refine hierarchies of the joints
  // detected here: the refine queue gives them to this thread first. A failure here (memory)
  // recurs in the refine job, which reports it.
  if (job.kind === 'detect' && job.settings.refine && 'joints' in reply) {
    try {
      for (const j of reply.joints) index?.hierarchy(j);
    } catch {
      // Left to the refine job.
    }
  }
});
