/**
 * Abort signals callers give: Node's, or any object that behaves as one. Another realm's signal
 * (a jsdom window's, a vm context's) fails `instanceof AbortSignal`, and a polyfill's (the
 * `abort-controller` package's) may lack `reason` and `throwIfAborted`: the pipeline works on a
 * Node signal that follows it.
 */
import { shownValue } from './values.js';

/** What a `signal` option takes: an `AbortSignal`, or an object with its interface. */
export interface AbortSignalLike {
  readonly aborted: boolean;
  /** What an aborted call rejects with; when it has none, an `AbortError` DOMException, as Node's `controller.abort()` gives. */
  readonly reason?: unknown;
  addEventListener(type: 'abort', listener: () => void): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

/** Whether `value` behaves as an abort signal: a boolean `aborted` and the listener methods. */
export function isAbortSignalLike(value: unknown): value is AbortSignalLike {
  const signal = value as Partial<AbortSignalLike> | null;
  return typeof signal === 'object' && signal !== null && typeof signal.aborted === 'boolean'
    && typeof signal.addEventListener === 'function' && typeof signal.removeEventListener === 'function';
}

/** How `value`, given as a signal and no signal, shows in the error: a controller given for its signal is told so (JSON shows it as `{}`). */
export function shownAsSignal(value: unknown): string {
  const isController = typeof value === 'object' && value !== null && isAbortSignalLike((value as { signal?: unknown }).signal) && typeof (value as { abort?: unknown }).abort === 'function';
  return isController ? 'an AbortController (pass its .signal)' : shownValue(value);
}

/**
 * The controller of the Node signal that follows each foreign one, made once: a signal shared by
 * many calls gets one listener (one per call would pile up on a signal shared by a folder's calls).
 */
const followers = new WeakMap<AbortSignalLike, AbortController>();

/** `signal` itself when it is Node's, else a Node signal aborted with its reason when it is aborted. */
export function nodeSignal(signal: AbortSignalLike): AbortSignal {
  if (signal instanceof AbortSignal) return signal;
  let follower = followers.get(signal);
  if (!follower) {
    const controller = new AbortController();
    // Added without options, which a polyfill may not take.
    const onAbort = (): void => {
      signal.removeEventListener('abort', onAbort);
      controller.abort(signal.reason);
    };
    if (!signal.aborted) signal.addEventListener('abort', onAbort);
    followers.set(signal, controller);
    follower = controller;
  }
  // Aborted before it was first seen, or without its listeners told. A reason left undefined
  // (a polyfill's) gives Node's AbortError; aborting again changes nothing.
  if (signal.aborted) follower.abort(signal.reason);
  return follower.signal;
}
