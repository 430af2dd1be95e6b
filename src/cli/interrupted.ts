/**
 * A command stopped by a signal (Ctrl-C, `kill`), reported one way by every command: one line,
 * `higher-pose: interrupted by SIGINT; ` and what the run leaves (and how to resume it), then the
 * process ends by the signal.
 */
import { removedOnSignal } from '../io/atomic.js';

/** What a stopped command says: the signal, then what it leaves behind. */
const interruptedMessage = (signal: NodeJS.Signals, outcome: string): string => `interrupted by ${signal}; ${outcome}`;

/** A command stopped by a signal, its cleanup done: `main` prints the message and ends the process by the signal (`endBySignal`). */
export class Interrupted extends Error {
  override name = 'Interrupted';
  constructor(readonly signal: NodeJS.Signals, outcome: string) {
    super(interruptedMessage(signal, outcome));
  }
}

/**
 * Until the returned function is called, a signal stops the command at once: the temporary files
 * being written are removed (`removedOnSignal`), the line is printed with `outcome()` (what the
 * run leaves, as it stands then), and the process ends by the signal.
 */
export function stoppedAtOnceOnSignal(outcome: () => string, signals?: readonly NodeJS.Signals[]): () => void {
  return removedOnSignal(signals, (signal) => process.stderr.write(`higher-pose: ${interruptedMessage(signal, outcome())}\n`));
}

/**
 * Resolves once the signals that came during work holding the event loop have been heard (their
 * handlers called): a handler let go before then leaves such a signal to Node's default, which ends
 * the process unsaid. Node reads signals as the loop polls: the first immediate can run before
 * the loop polls again, the second runs after it.
 */
export const signalsHeard = (): Promise<void> => new Promise((resolve) => setImmediate(() => setImmediate(resolve)));
