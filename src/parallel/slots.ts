/**
 * At most `count` tasks running at once, the others started in the order they came as slots free
 * up. Unlike p-limit, a task that finds a slot free starts inside `run` itself: what it does
 * before its first `await` is done when `run` returns (how the estimator reads a caller's pixels
 * before `estimatePoses` returns).
 */
/** A task waiting for a slot: `start` hands it one; `signal`, when given, can take it out of the queue. */
interface Waiting {
  start: () => void;
  leave: (reason: unknown) => void;
  signal?: AbortSignal;
}

export class Slots {
  private running = 0;
  private readonly waiting: Waiting[] = [];
  /**
   * One abort listener per signal that tasks wait with, and how many wait with it: a listener per
   * task would pile up on a signal shared by a whole folder's calls (Node warns past ten).
   */
  private readonly watched = new Map<AbortSignal, { waiting: number; onAbort: () => void }>();

  constructor(private readonly count: number) {}

  /** Whether a task given to `run` now would start at once. */
  get free(): boolean {
    return this.running < this.count && this.waiting.length === 0;
  }

  /**
   * `task()` now when a slot is free, else once one is; settles as it does. Aborting `signal`
   * before the task starts rejects with its reason, and the task leaves the queue.
   */
  run<T>(task: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (signal?.aborted) return Promise.reject(signal.reason as unknown);
    if (this.free) {
      this.running++;
      return this.start(task);
    }
    // The slot is handed over by the task that frees it, still counted as running.
    return new Promise<void>((resolve, reject) => {
      const waiting: Waiting = {
        start: () => {
          if (signal) this.unwatch(signal);
          resolve();
        },
        leave: reject,
        signal,
      };
      this.waiting.push(waiting);
      if (signal) this.watch(signal);
    }).then(() => this.start(task));
  }

  private watch(signal: AbortSignal): void {
    const watched = this.watched.get(signal);
    if (watched) {
      watched.waiting++;
      return;
    }
    const onAbort = () => {
      this.watched.delete(signal);
      // In place, keeping the others' order (no spread: the queue may hold a whole folder).
      const leaving: Waiting[] = [];
      let kept = 0;
      for (const waiting of this.waiting) {
        if (waiting.signal === signal) leaving.push(waiting);
        else this.waiting[kept++] = waiting;
      }
      this.waiting.length = kept;
      for (const waiting of leaving) waiting.leave(signal.reason);
    };
    this.watched.set(signal, { waiting: 1, onAbort });
    signal.addEventListener('abort', onAbort, { once: true });
  }

  /** A task of `signal` got its slot: the last one removes the listener. */
  private unwatch(signal: AbortSignal): void {
    const watched = this.watched.get(signal)!;
    if (--watched.waiting > 0) return;
    this.watched.delete(signal);
    signal.removeEventListener('abort', watched.onAbort);
  }

  private start<T>(task: () => Promise<T>): Promise<T> {
    let result: Promise<T>;
    try {
      result = task();
    } catch (error) {
      result = Promise.reject(error);
    }
    const release = () => {
      const next = this.waiting.shift();
      if (next) next.start();
      else this.running--;
    };
    result.then(release, release);
    return result;
  }
}
