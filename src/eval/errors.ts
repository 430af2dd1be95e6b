/** Errors of the evaluation and benchmark code: bad annotation or result files, journal mismatches. */
export class EvalError extends Error {
  override name = 'EvalError';
}
