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

  /** `task()` now when a slot is free, else once one is; settles as it does. */
  run<T>(task: () => Promise<T>): Promise<T> {
    if (this.free) {
      this.running++;
      return this.start(task);
    }
    // The slot is handed over by the task that frees it, still counted as running.
    return new Promise<void>((resolve) => this.waiting.push(resolve)).then(() => this.start(task));
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
