/**
 * Grouping on two threads: this one and a worker (`worker.ts`). The CPU is idle while grouping
 * runs on one thread, and most of its work splits by joint: each joint's top-k and refine
 * searches read only that joint's maps. So the worker takes half of the joints for both; tag
 * matching, adjust and the people's scores stay here. The worker builds its own on-demand maps
 * from the network-resolution planes, which a shared workspace keeps in SharedArrayBuffers, so
 * nothing large is copied. The people are those of `groupMaps` (tested).
 */
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { TestSettings } from '../config/experiment.js';
import { DecodeError } from '../aggregate/errors.js';
import type { MapsSource, OnDemandMaps } from '../aggregate/on-demand.js';
import type { Planes } from '../aggregate/planes.js';
import type { Workspace } from '../workspace.js';
import type { Candidates } from './match.js';
import { assemblePeople, detectJoints, type Grouping } from './parse.js';
import { applyPlacements, RefineIndex, refineJoints, refineQueries, type RefineQueries } from './refine.js';
import { everyJoint } from './topk.js';

/** What the worker is asked: the candidates of `joints`, or their refine searches. */
export type Job = { kind: 'detect'; source: MapsSource; settings: TestSettings; joints: number[] } | { kind: 'refine'; queries: RefineQueries; joints: number[] };
export type Reply = { candidates: Candidates } | { placed: Float32Array };

/**
 * Starts the worker. From the TypeScript sources (tests and bench run under tsx) the worker
 * registers tsx's loader before it imports its module.
 */
function startWorker(): Worker {
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

/** The planes as they are when already in shared memory, else copied into it. */
function shared(p: Planes): Planes {
  if (p.data.buffer instanceof SharedArrayBuffer) return p;
  const data = new Float32Array(new SharedArrayBuffer(p.data.byteLength));
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

export class ParallelGrouping {
  private readonly pending = new Map<number, { resolve: (reply: Reply) => void; reject: (error: Error) => void }>();
  private nextId = 0;
  /** Images are grouped one at a time: the worker holds one image's maps. */
  private queue: Promise<unknown> = Promise.resolve();
  private failure: Error | null = null;
  /** Started on the first image. */
  private started: Worker | null = null;

  private get worker(): Worker {
    if (this.started) return this.started;
    const worker = (this.started = startWorker());
    worker.on('message', ({ id, error, ...reply }: { id: number; error?: string } & Reply) => {
      const request = this.pending.get(id);
      this.pending.delete(id);
      if (this.pending.size === 0) worker.unref();
      if (error !== undefined) request?.reject(new DecodeError(`grouping worker: ${error}`));
      else request?.resolve(reply as Reply);
    });
    worker.on('error', (error) => this.fail(new DecodeError(`grouping worker failed: ${error.message}`)));
    worker.on('exit', () => this.fail(new DecodeError('grouping worker stopped')));
    // An idle worker does not keep the process alive; one with requests in flight does.
    worker.unref();
    return worker;
  }

  /** `groupMaps(maps, settings, workspace)` with the worker taking half of the joints. */
  group(maps: OnDemandMaps, settings: TestSettings, workspace: Workspace): Promise<Grouping> {
    const run = this.queue.then(() => this.groupNow(maps, settings, workspace));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Stops the worker. */
  async dispose(): Promise<void> {
    await this.started?.terminate();
  }

  private async groupNow(maps: OnDemandMaps, settings: TestSettings, workspace: Workspace): Promise<Grouping> {
    const joints = everyJoint(maps.numJoints);
    const mine = joints.filter((j) => j % 2 === 0);
    const theirs = joints.filter((j) => j % 2 === 1);
    const { source } = maps;
    const sharedSource: MapsSource = { ...source, terms: source.terms.map((t) => t.map(shared)), keptTags: source.keptTags.map(shared) };
    const detected = this.request({ kind: 'detect', source: sharedSource, settings, joints: theirs });
    const candidates = await alongside(detected, () => detectJoints(maps, settings, mine));
    mergeCandidates(candidates, ((await detected) as { candidates: Candidates }).candidates, theirs);
    const grouping = assemblePeople(candidates, maps, settings);
    if (!settings.refine) return grouping;
    const queries = refineQueries(grouping.grouped, maps);
    const refined = this.request({ kind: 'refine', queries, joints: theirs });
    const placed = await alongside(refined, () => refineJoints(new RefineIndex(maps, workspace), queries, mine));
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
