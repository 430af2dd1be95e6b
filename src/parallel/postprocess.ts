/**
 * The post-processing on several threads: this one and one to three workers (`worker.ts`), one
 * thread per CPU core up to four. The CPU is idle while it runs on one thread, and most of its
 * work splits: at the network's resolution the plain and the flipped pass are combined
 * separately (the first worker takes the flipped one), and in grouping each joint's top-k and
 * refine searches read only that joint's maps (the joints are shared out as the threads go,
 * `joint-queue.ts`; tag matching, adjust and the people's scores stay here).
 * Each worker builds its own on-demand maps from the network-resolution planes, which shared
 * workspaces keep in SharedArrayBuffers, so nothing large is copied but the flipped outputs.
 * Maps and people are those of `aggregateOnDemand` and `groupMaps` (tested).
 */
import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import type { TestSettings } from '../config/experiment.js';
import { DecodeError } from '../aggregate/errors.js';
import type { MapsSource, OnDemandMaps } from '../aggregate/on-demand.js';
import type { PlaneStack } from '../kernels/index.js';
import { checkedCombine, mapsFromPasses, passKey, validatedScales, type CheckedPasses, type PassToCombine, type ScaleOutputs } from '../aggregate/aggregate.js';
import type { KeypointDefinition } from '../datasets.js';
import type { Workspace } from '../workspace.js';
import type { Candidates } from '../grouping/match.js';
import { assemblePeople, detectJoints, selectPeople, type Grouping, type PoseSelection } from '../grouping/parse.js';
import { applyPlacements, RefineIndex, refineJoints, refineQueries, type RefineQueries } from '../grouping/refine.js';
import { everyJoint } from '../grouping/topk.js';
import { jointQueue, takeJoints } from './joint-queue.js';
import { startModuleWorker, WorkerRequests } from './worker-thread.js';
import { isPositiveInt } from '../values.js';

/**
 * What a worker is asked: to combine passes' stage outputs, or the candidates or refine
 * searches of the joints it takes from `queue`, its own `segment` first.
 */
export type Job =
  | { kind: 'combine'; passes: PassToCombine[]; settings: TestSettings; numJoints: number; flipIndex: readonly number[] }
  | { kind: 'detect'; source: MapsSource; settings: TestSettings; queue: Int32Array; segment: number }
  | { kind: 'refine'; queries: RefineQueries; queue: Int32Array; segment: number };
/** Detect and refine replies name the joints the worker took from the queue. */
export type Reply = CheckedPasses | { candidates: Candidates; joints: number[] } | { placed: Float32Array; joints: number[] };

/** Starts the post-processing worker (`worker.ts`). */
function startWorkerThread(): Worker {
  return startModuleWorker('worker', import.meta.url);
}

/** The planes as they are when already in shared memory, else copied into `workspace`'s shared buffer `key`. */
function inSharedMemory(p: PlaneStack, workspace: Workspace, key: string): PlaneStack {
  if (p.data.buffer instanceof SharedArrayBuffer) return p;
  const data = workspace.float32(key, p.data.length, true);
  data.set(p.data);
  return { ...p, data };
}

/** Copies the entries of `joints` from `from` into `to`. */
function mergeCandidates(to: Candidates, from: Candidates, joints: readonly number[]): void {
  const { k, tagDim } = to;
  for (const j of joints) {
    const [start, end] = [j * k, (j + 1) * k];
    to.val.set(from.val.subarray(start, end), start);
    to.x.set(from.x.subarray(start, end), start);
    to.y.set(from.y.subarray(start, end), start);
    to.tag.set(from.tag.subarray(start * tagDim, end * tagDim), start * tagDim);
  }
}

/**
 * Workers beside the calling thread: one per further CPU, at most 3. Past four threads the
 * grouping's serial part (tag matching) and the 17 joints' uneven costs leave little to gain.
 */
function defaultWorkerCount(): number {
  return Math.max(1, Math.min(availableParallelism() - 1, 3));
}

/** The post-processing of images, one at a time, on the calling thread and workers (see above). */
export class ParallelPostprocessing {
  /** Images are processed one at a time: the workers hold one image's maps. */
  private queue: Promise<unknown> = Promise.resolve();
  /** Started on first use. */
  private readonly workers: (WorkerRequests<Job, Reply> | undefined)[] = [];

  /**
   * @param startWorker starts a worker thread (on the first image).
   * @param workerCount workers beside the calling thread.
   */
  constructor(
    private readonly startWorker: () => Worker = startWorkerThread,
    readonly workerCount = defaultWorkerCount(),
  ) {
    if (!isPositiveInt(workerCount)) throw new RangeError(`workerCount must be a positive integer, got ${workerCount}`);
  }

  /** Whether a worker failed or stopped: the next images need the one-thread path. */
  get broken(): boolean {
    return this.workers.some((w) => w?.broken);
  }

  private request(index: number, job: Job): Promise<Reply> {
    const worker = (this.workers[index] ??= new WorkerRequests<Job, Reply>(
      this.startWorker(),
      (error) => new DecodeError(`post-processing worker: ${error.message}`),
      (what) => new DecodeError(`post-processing worker ${what}`),
    ));
    return worker.request(job);
  }

  /**
   * `aggregateOnDemand(perScale, settings, def, baseSize, workspace)`, then `groupMaps` of the
   * maps with `selection`, with the first worker taking the flipped passes and the workers their
   * share of the joints. The maps are valid until the next call.
   */
  decode(
    perScale: readonly ScaleOutputs[],
    settings: TestSettings,
    def: KeypointDefinition,
    baseSize: readonly [number, number],
    workspace: Workspace,
    selection?: PoseSelection,
  ): Promise<{ maps: OnDemandMaps; grouping: Grouping }> {
    return this.enqueue(async () => {
      const maps = await this.aggregateNow(perScale, settings, def, baseSize, workspace);
      return { maps, grouping: await this.groupNow(maps, settings, workspace, selection) };
    });
  }

  private enqueue<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Stops the workers. */
  async dispose(): Promise<void> {
    await Promise.all(this.workers.map((w) => w?.worker.terminate()));
  }

  private async aggregateNow(perScale: readonly ScaleOutputs[], settings: TestSettings, def: KeypointDefinition, baseSize: readonly [number, number], workspace: Workspace): Promise<OnDemandMaps> {
    const numJoints = def.names.length;
    // Each thread checks the values of the passes it combines (checkedCombine), which keeps their shares even.
    const scales = validatedScales(perScale, settings, def, baseSize, { checkFinite: false });
    const flippedScales = scales.flatMap((s, i) => (s.flipped ? [i] : []));
    const flipped = flippedScales.map((i): PassToCombine => {
      const { scale, flipped: outputs } = scales[i];
      const key = passKey(scale, true);
      return { key, scale, outputs: outputs!.map((p, o) => inSharedMemory(p, workspace, `${key}:output${o}`)) };
    });
    const combined = flipped.length > 0 ? this.request(0, { kind: 'combine', passes: flipped, settings, numJoints, flipIndex: def.flipIndex }) : Promise.resolve({ passes: [] });
    const plain = await alongside(combined, () => checkedCombine(scales.map(({ scale, plain: outputs }) => ({ outputs, scale, key: passKey(scale, false) })), settings, numJoints, null, workspace));
    const theirs = (await combined) as CheckedPasses;
    // The one-thread path's error: the first problem in its order, a scale's plain pass before its flipped one.
    const plainAt = plain.problem?.pass ?? Infinity;
    const flippedAt = theirs.problem ? flippedScales[theirs.problem.pass] : Infinity;
    if (plain.problem && plainAt <= flippedAt) throw new DecodeError(plain.problem.message);
    if (theirs.problem) throw new DecodeError(theirs.problem.message);
    let next = 0;
    const passes = scales.map((s, i) => (s.flipped ? [plain.passes[i], theirs.passes[next++]] : [plain.passes[i]]));
    return mapsFromPasses(scales, passes, settings, def, baseSize, workspace);
  }

  private async groupNow(maps: OnDemandMaps, settings: TestSettings, workspace: Workspace, selection?: PoseSelection): Promise<Grouping> {
    const joints = everyJoint(maps.numJoints);
    const { source } = maps;
    const sharedSource: MapsSource = {
      ...source,
      terms: source.terms.map((t, i) => t.map((p, j) => inSharedMemory(p, workspace, `share:term${i}:${j}`))),
      keptTags: source.keptTags.map((p, i) => inSharedMemory(p, workspace, `share:tags${i}`)),
    };
    // Thread t (this one is 0, worker w is w) starts with every T-th joint (with two threads, this
    // one the odd ones); whoever is done first takes the others' remaining ones.
    const threads = 1 + this.workerCount;
    const toDetect = jointQueue(Array.from({ length: threads }, (_, t) => joints.filter((j) => (j + 1) % threads === t)), workspace, 'queue:detect');
    const workers = Array.from({ length: this.workerCount }, (_, w) => w);
    const detected = allAnswered(workers.map((w) => this.request(w, { kind: 'detect', source: sharedSource, settings, queue: toDetect, segment: w + 1 })));
    const mine: number[] = [];
    const candidates = await alongside(detected, () => detectJoints(maps, settings, takeJoints(toDetect, 0, mine)));
    const theirs = (await detected) as { candidates: Candidates; joints: number[] }[];
    for (const reply of theirs) mergeCandidates(candidates, reply.candidates, reply.joints);
    const grouping = selectPeople(assemblePeople(candidates, maps, settings), selection);
    if (!settings.refine) return grouping;
    const queries = refineQueries(grouping.grouped, maps);
    // Each thread starts with the joints it detected: the workers have built their refine hierarchies while this thread matched.
    const toRefine = jointQueue([mine, ...theirs.map((reply) => reply.joints)], workspace, 'queue:refine');
    const refined = allAnswered(workers.map((w) => this.request(w, { kind: 'refine', queries, queue: toRefine, segment: w + 1 })));
    const placed = await alongside(refined, () => refineJoints(new RefineIndex(maps), queries, takeJoints(toRefine, 0, [])));
    applyPlacements(grouping.grouped, placed);
    for (const reply of (await refined) as { placed: Float32Array }[]) applyPlacements(grouping.grouped, reply.placed);
    return grouping;
  }
}

/**
 * The workers' answers, once every worker has answered: on a failure the others still take
 * joints from the shared queue, which the next image's queue reuses.
 */
async function allAnswered<T>(requests: Promise<T>[]): Promise<T[]> {
  const settled = await Promise.allSettled(requests);
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) throw failed.reason;
  return settled.map((s) => (s as PromiseFulfilledResult<T>).value);
}

/** Runs `work` here while the workers answer `request`; when `work` throws, waits for the answers first (their outcome dropped). */
async function alongside<T>(request: Promise<unknown>, work: () => T): Promise<T> {
  try {
    return work();
  } catch (error) {
    await request.catch(() => undefined);
    throw error;
  }
}
