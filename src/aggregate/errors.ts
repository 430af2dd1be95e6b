/** The error every post-processing step throws for unusable input (bad shapes, NaN, bad settings). */
export class DecodeError extends Error {
  override name = 'DecodeError';
}
