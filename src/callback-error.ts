import { errorLine } from './values.js';

/**
 * A callback given as an option (`onStageTimes`) threw: the caller's code failed, not the image,
 * so the error names the option, not the image; the callback's error is the `cause`.
 */
export class CallbackError extends Error {
  override name = 'CallbackError';
  constructor(readonly option: string, cause: unknown) {
    super(`${option} threw: ${errorLine(cause)}`, { cause });
  }
}
