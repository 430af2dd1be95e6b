/**
 * The post-processing on two threads: this one and a worker (`worker.ts`). The CPU is idle
 * while it runs on one thread, and most of its work splits in two: at the network's resolution
 * the plain and the flipped pass are combined separately (the worker takes the flipped one),
 * and in grouping each joint's top-k and refine searches read only that joint's maps (the
 * joints are shared out as the threads go, `joint-queue.ts`; tag matching, adjust and the
 * people's scores stay here).
 * The worker builds its own on-demand maps from the network-resolution planes, which shared
 * workspaces keep in SharedArrayBuffers, so nothing large is copied but the flipped outputs.
 * Maps and people are those of `aggregateOnDemand` and `groupMaps` (tested).
 */
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { TestSettings } from '../config/experiment.js';
import { DecodeError } from '../aggregate/errors.js';
import type { MapsSource, OnDemandMaps } from '../aggregate/on-demand.js';
import type { Planes } from '../aggregate/planes.js';
import { assertFiniteScales, combineStages, mapsFromPasses, passKey, validatedScales, type PassMaps, type ScaleOutputs } from '../aggregate/aggregate.js';
import type { KeypointDefinition } from '../datasets.js';
import type { Workspace } from '../workspace.js';
import type { Candidates } from '../grouping/match.js';
import { assemblePeople, detectJoints, type Grouping } from '../grouping/parse.js';
import { applyPlacements, RefineIndex, refineJoints, refineQueries, type RefineQueries } from '../grouping/refine.js';
import { everyJoint } from '../grouping/topk.js';
import { jointQueue, takeJoints } from './joint-queue.js';

/** What the worker is asked: to combine passes' stage outputs, the candidates of `joints`, or their refine searches. */
export type Job =
  | { kind: 'combine'; passes: { outputs: Planes[]; key: string }[]; settings: TestSettings; numJoints: number; flipIndex: readonly number[] }
  | { kind: 'detect'; source: MapsSource; settings: TestSettings; queue: Int32Array }
  | { kind: 'refine'; queries: RefineQueries; queue: Int32Array };
/** Detect and refine replies name the joints the worker took from the queue. */
export type Reply = { passes: PassMaps[] } | { candidates: Candidates; joints: number[] } | { placed: Float32Array; joints: number[] };

/**
 * Starts the worker. From the TypeScript sources (tests and bench run under tsx) the worker
 * registers tsx's loader before it imports its module.
 */
function startWorkerThread(): Worker {
  const fromSource = import.meta.url.endsWith('.ts');
  const entry = new URL(fromSource ? './worker.ts' : './worker.js', import.meta.url).href;
  // tsx's ESM API, found through its package.json (its `require` build fails to register).
  const loader = fromSource ? new URL('dist/esm/api/index.mjs', pathToFileURL(createRequire(import.meta.url).resolve('tsx/package.json'))).href : null;
  const boot = `const { workerData } = require('node:worker_threads');
(async () => {
  if (workerData.loader) (await import(workerData.loader)).register();
  await import(workerData.entry);
})();`;
  return new Worker(boot, { eval: true, workerData: { entry, loader } });
}

/** The planes as they are when already in shared memory, else copied into `workspace`'s shared buffer `key`. */
function inSharedMemory(p: Planes, workspace: Workspace, key: string): Planes {
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

/** The post-processing of images, one at a time, on the calling thread and a worker (see above). */
export class ParallelPostprocessing {
  private readonly pending = new Map<number, { resolve: (reply: Reply) => void; reject: (error: Error) => void }>();
  private nextId = 0;
  /** Images are processed one at a time: the worker holds one image's maps. */
  private queue: Promise<unknown> = Promise.resolve();
  private failure: Error | null = null;
  /** Started on the first image. */
  private started: Worker | null = null;

  /** @param startWorker starts the worker thread (on the first image). */
  constructor(private readonly startWorker: () => Worker = startWorkerThread) {}

  /** Whether the worker failed or stopped: the next images need the one-thread path. */
  get broken(): boolean {
    return this.failure !== null;
  }

  private get worker(): Worker {
    if (this.started) return this.started;
    const worker = (this.started = this.startWorker());
    worker.on('message', ({ id, error, ...reply }: { id: number; error?: string } & Reply) => {
      const request = this.pending.get(id);
      this.pending.delete(id);
      if (this.pending.size === 0) worker.unref();
      if (error !== undefined) request?.reject(new DecodeError(`post-processing worker: ${error}`));
      else request?.resolve(reply as Reply);
    });
    worker.on('error', (error) => this.fail(new DecodeError(`post-processing worker failed: ${error.message}`)));
    worker.on('exit', () => this.fail(new DecodeError('post-processing worker stopped')));
    // An idle worker does not keep the process alive; one with requests in flight does.
    worker.unref();
    return worker;
  }

  /**
   * `aggregateOnDemand(perScale, settings, def, baseSize, workspace)`, then `groupMaps` of the
   * maps, with the worker taking the flipped passes and half of the joints. The maps are valid
   * until the next call.
   */
  decode(perScale: readonly ScaleOutputs[], settings: TestSettings, def: KeypointDefinition, baseSize: readonly [number, number], workspace: Workspace): Promise<{ maps: OnDemandMaps; grouping: Grouping }> {
    return this.enqueue(async () => {
      const maps = await this.aggregateNow(perScale, settings, def, baseSize, workspace);
      return { maps, grouping: await this.groupNow(maps, settings, workspace) };
    });
  }

  private enqueue<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Stops the worker. */
  async dispose(): Promise<void> {
    await this.started?.terminate();
  }

  private async aggregateNow(perScale: readonly ScaleOutputs[], settings: TestSettings, def: KeypointDefinition, baseSize: readonly [number, number], workspace: Workspace): Promise<OnDemandMaps> {
    const numJoints = def.names.length;
    // Values are checked for NaN here while the worker combines (what it combines is then dropped).
    const scales = validatedScales(perScale, settings, def, baseSize, { checkFinite: false });
    const flipped = scales.flatMap(({ scale, flipped: outputs }) => {
      if (!outputs) return [];
      const key = passKey(scale, true);
      return [{ key, outputs: outputs.map((p, i) => inSharedMemory(p, workspace, `${key}:output${i}`)) }];
    });
    const combined = flipped.length > 0 ? this.request({ kind: 'combine', passes: flipped, settings, numJoints, flipIndex: def.flipIndex }) : Promise.resolve({ passes: [] });
    const plain = await alongside(combined, () => {
      assertFiniteScales(scales);
      return scales.map(({ scale, plain: outputs }) => combineStages(outputs, settings, numJoints, null, workspace, passKey(scale, false)));
    });
    const flippedPasses = ((await combined) as { passes: PassMaps[] }).passes;
    let next = 0;
    const passes = scales.map((s, i) => (s.flipped ? [plain[i], flippedPasses[next++]] : [plain[i]]));
    return mapsFromPasses(scales, passes, settings, def, baseSize, workspace);
  }

  private async groupNow(maps: OnDemandMaps, settings: TestSettings, workspace: Workspace): Promise<Grouping> {
    const joints = everyJoint(maps.numJoints);
    const { source } = maps;
    const sharedSource: MapsSource = {
      ...source,
      terms: source.terms.map((t, i) => t.map((p, j) => inSharedMemory(p, workspace, `share:term${i}:${j}`))),
      keptTags: source.keptTags.map((p, i) => inSharedMemory(p, workspace, `share:tags${i}`)),
    };
    // Every other joint each to start with; whoever is done first takes the other's remaining ones.
    const toDetect = jointQueue(joints.filter((j) => j % 2 === 1), joints.filter((j) => j % 2 === 0), workspace, 'queue:detect');
    const detected = this.request({ kind: 'detect', source: sharedSource, settings, queue: toDetect });
    const mine: number[] = [];
    const candidates = await alongside(detected, () => detectJoints(maps, settings, takeJoints(toDetect, 'low', mine)));
    const theirs = (await detected) as { candidates: Candidates; joints: number[] };
    mergeCandidates(candidates, theirs.candidates, theirs.joints);
    const grouping = assemblePeople(candidates, maps, settings);
    if (!settings.refine) return grouping;
    const queries = refineQueries(grouping.grouped, maps);
    // Each thread starts with the joints it detected: the worker has built their refine hierarchies while this thread matched.
    const toRefine = jointQueue(mine, theirs.joints, workspace, 'queue:refine');
    const refined = this.request({ kind: 'refine', queries, queue: toRefine });
    const placed = await alongside(refined, () => refineJoints(new RefineIndex(maps), queries, takeJoints(toRefine, 'low', [])));
    applyPlacements(grouping.grouped, placed);
    applyPlacements(grouping.grouped, ((await refined) as { placed: Float32Array }).placed);
    return grouping;
  }

  private request(job: Job): Promise<Reply> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    this.worker.ref();
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, job });
    });
  }

  private fail(error: Error): void {
    this.failure ??= error;
    for (const { reject } of this.pending.values()) reject(error);
    this.pending.clear();
  }
}

/** Runs `work` here while the worker answers `request`; when `work` throws, waits for the answer first (its outcome dropped). */
async function alongside<T>(request: Promise<Reply>, work: () => T): Promise<T> {
  try {
    return work();
  } catch (error) {
    await request.catch(() => undefined);
    throw error;
  }
}
