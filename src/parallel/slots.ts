/**
 * At most `count` tasks running at once, the others started in the order they came as slots free
 * up. Unlike p-limit, a task that finds a slot free starts inside `run` itself: what it does
 * before its first `await` is done when `run` returns (how the estimator reads a caller's pixels
 * before `estimatePoses` returns).
 */
export class Slots {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

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
      const leave = () => {
        this.waiting.splice(this.waiting.indexOf(handOver), 1);
        reject(signal!.reason as unknown);
      };
      const handOver = () => {
        signal?.removeEventListener('abort', leave);
        resolve();
      };
      this.waiting.push(handOver);
      signal?.addEventListener('abort', leave, { once: true });
    }).then(() => this.start(task));
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
      if (next) next();
      else this.running--;
    };
    result.then(release, release);
    return result;
  }
}
