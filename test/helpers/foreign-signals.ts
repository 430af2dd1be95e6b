/**
 * Abort signals that are not Node's: `instanceof AbortSignal` is false for both. One of another
 * realm (as a jsdom window's: the whole interface, its reason an error of that realm), and one
 * shaped as the `abort-controller` polyfill's (no `reason`, no `throwIfAborted`).
 */
import vm from 'node:vm';

/** The controller both kinds share: `abort()` aborts `signal` and calls its listeners once. */
export interface ForeignController {
  readonly signal: {
    readonly aborted: boolean;
    addEventListener(type: 'abort', listener: () => void): void;
    removeEventListener(type: 'abort', listener: () => void): void;
  };
  abort(reason?: unknown): void;
  /** Abort listeners on the signal now (to check that callers add one per signal, not one per call). */
  listeners(): number;
}

/** A controller, signal and reason made inside a vm context: objects and errors of another realm. */
export function otherRealmController(): ForeignController & { readonly signal: { readonly reason: unknown; throwIfAborted(): void } } {
  return vm.runInNewContext(`
    const listeners = new Set();
    const signal = {
      aborted: false,
      reason: undefined,
      addEventListener(type, listener) { if (type === 'abort') listeners.add(listener); },
      removeEventListener(type, listener) { listeners.delete(listener); },
      throwIfAborted() { if (this.aborted) throw this.reason; },
    };
    ({
      signal,
      abort(reason) {
        if (signal.aborted) return;
        signal.aborted = true;
        signal.reason = reason === undefined ? Object.assign(new Error('This operation was aborted'), { name: 'AbortError' }) : reason;
        for (const listener of [...listeners]) listener.call(signal, { type: 'abort' });
      },
      listeners: () => listeners.size,
    })
  `) as ReturnType<typeof otherRealmController>;
}

/** A controller of the `abort-controller` polyfill's shape: its signal has `aborted` and the listener methods alone. */
export function polyfillController(): ForeignController {
  const listeners = new Set<() => void>();
  const signal = {
    aborted: false,
    addEventListener(type: 'abort', listener: () => void): void {
      if (type === 'abort') listeners.add(listener);
    },
    removeEventListener(_type: 'abort', listener: () => void): void {
      listeners.delete(listener);
    },
  };
  return {
    signal,
    abort(): void {
      if (signal.aborted) return;
      signal.aborted = true;
      for (const listener of [...listeners]) listener();
    },
    listeners: () => listeners.size,
  };
}
