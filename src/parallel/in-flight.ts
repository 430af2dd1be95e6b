/**
 * The calls in progress on something that `dispose()` frees (an estimator, a network): dispose
 * lets the calls made before it finish, then frees it once, however often it is called; calls
 * after it are refused.
 */
export class CallsInFlight {
  private readonly running = new Set<Promise<unknown>>();
  private disposed: Promise<void> | undefined;

  /** @param refusal the error of a call made after dispose. */
  constructor(private readonly refusal: () => Error) {}

  /** Whether dispose was called: for refusing work that does not go through `run`. */
  get isDisposed(): boolean {
    return this.disposed !== undefined;
  }

  /** `call()`, counted until it settles; rejected with the refusal once dispose was called. */
  run<T>(call: () => Promise<T>): Promise<T> {
    if (this.disposed) return Promise.reject(this.refusal());
    const running = call();
    this.running.add(running);
    const forget = () => void this.running.delete(running);
    running.then(forget, forget);
    return running;
  }

  /** `free()` once the calls in progress have settled; every dispose gets the same promise. */
  dispose(free: () => Promise<void>): Promise<void> {
    return (this.disposed ??= Promise.allSettled(this.running).then(free));
  }
}
