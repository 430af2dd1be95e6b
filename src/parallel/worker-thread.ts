/**
 * This library's worker threads: starting them (from the built JavaScript or from the
 * TypeScript sources) and the requests sent to them.
 */
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker, type Transferable } from 'node:worker_threads';

/**
 * Starts worker module `name` (without extension) that lies beside the module at `callerUrl`
 * (its `import.meta.url`). From the TypeScript sources (tests and bench run under tsx) the
 * worker registers tsx's loader before it imports its module.
 */
export function startModuleWorker(name: string, callerUrl: string): Worker {
  const fromSource = callerUrl.endsWith('.ts');
  const entry = new URL(`./${name}${fromSource ? '.ts' : '.js'}`, callerUrl).href;
  // tsx's ESM API, found through its package.json (its `require` build fails to register).
  const loader = fromSource ? new URL('dist/esm/api/index.mjs', pathToFileURL(createRequire(callerUrl).resolve('tsx/package.json'))).href : null;
  const boot = `const { workerData } = require('node:worker_threads');
(async () => {
  if (workerData.loader) (await import(workerData.loader)).register();
  await import(workerData.entry);
})();`;
  return new Worker(boot, { eval: true, workerData: { entry, loader } });
}

/** A job's error as a worker sends it back. */
export interface WorkerError {
  name: string;
  message: string;
}

/** `error` as a worker sends it back in `{ id, error }`. */
export function workerError(error: unknown): WorkerError {
  const { name, message } = error instanceof Error ? error : new Error(String(error));
  return { name, message };
}

/**
 * Requests to a worker thread, answered by id: the worker answers each `{ id, job }` with
 * `{ id, ...reply }` or `{ id, error }` (a `WorkerError`). The worker keeps the process alive
 * only while requests are in flight. Once it fails or stops, the requests in flight and every
 * later one reject.
 */
export class WorkerRequests<Job, Reply> {
  private readonly pending = new Map<number, { resolve: (reply: Reply) => void; reject: (error: Error) => void }>();
  private nextId = 0;
  private failure: Error | null = null;

  /**
   * @param answerError the error a request rejects with when its job failed.
   * @param threadError the error when the thread failed or stopped (`'failed: ...'`, `'stopped'`).
   */
  constructor(
    readonly worker: Worker,
    answerError: (error: WorkerError) => Error,
    threadError: (what: string) => Error,
  ) {
    worker.on('message', ({ id, error, ...reply }: { id: number; error?: WorkerError }) => {
      const request = this.pending.get(id);
      this.pending.delete(id);
      if (this.pending.size === 0) worker.unref();
      if (error) request?.reject(answerError(error));
      else request?.resolve(reply as Reply);
    });
    worker.on('error', (error) => this.fail(threadError(`failed: ${error.message}`)));
    worker.on('exit', () => this.fail(threadError('stopped')));
    worker.unref();
  }

  /** Whether the worker failed or stopped. */
  get broken(): boolean {
    return this.failure !== null;
  }

  request(job: Job, transfer: readonly Transferable[] = []): Promise<Reply> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    this.worker.ref();
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, job }, transfer);
    });
  }

  private fail(error: Error): void {
    this.failure ??= error;
    for (const { reject } of this.pending.values()) reject(error);
    this.pending.clear();
  }
}
