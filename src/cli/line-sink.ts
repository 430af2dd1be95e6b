/** Text written to a stream (stdout, a file) as it comes, at the pace its reader takes it. */
import { once } from 'node:events';
import type { Writable } from 'node:stream';

/** Writes with backpressure; a stream error is raised by the next write instead of crashing the process. */
export class LineSink {
  error: Error | undefined;
  /** `interrupt` ends a wait for a reader that does not read (a pipe into a stalled process): the write then throws its reason. */
  constructor(readonly stream: Writable, private readonly interrupt?: AbortSignal) {
    stream.on('error', (err: Error) => (this.error ??= err));
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
