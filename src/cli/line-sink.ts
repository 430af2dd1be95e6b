/** Text written to a stream (stdout, a file) as it comes, at the pace its reader takes it. */
import { once } from 'node:events';
import type { Writable } from 'node:stream';

/**
 * The first error of each stream written to, heard by one listener however many sinks write to it
 * (runs of a command in one process): a stream that failed stays failed.
 */
const streamErrors = new WeakMap<Writable, { error?: Error }>();

function errorsOf(stream: Writable): { error?: Error } {
  let heard = streamErrors.get(stream);
  if (!heard) {
    const errors: { error?: Error } = {};
    stream.on('error', (err: Error) => (errors.error ??= err));
    streamErrors.set(stream, (heard = errors));
  }
  return heard;
}

/** Writes with backpressure; a stream error is raised by the next write instead of crashing the process. */
export class LineSink {
  private readonly heard: { error?: Error };
  /** `interrupt` ends a wait for a reader that does not read (a pipe into a stalled process): the write then throws its reason. */
  constructor(readonly stream: Writable, private readonly interrupt?: AbortSignal) {
    this.heard = errorsOf(stream);
  }

  get error(): Error | undefined {
    return this.heard.error;
  }

  async write(text: string): Promise<void> {
    if (this.error) throw this.error;
    if (!this.stream.write(text)) {
      // Whichever comes first; the others' listeners are removed (they would pile up frame by frame).
      const waiting = new AbortController();
      const signal = this.interrupt ? AbortSignal.any([waiting.signal, this.interrupt]) : waiting.signal;
      await Promise.race([once(this.stream, 'drain', { signal }), once(this.stream, 'close', { signal })]).catch(() => {});
      waiting.abort();
    }
    this.interrupt?.throwIfAborted();
    if (this.error) throw this.error;
  }
}
