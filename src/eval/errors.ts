import type { DatasetKind } from '../config/experiment.js';

/** Errors of the evaluation and benchmark code: bad annotation or result files, journal mismatches. */
export class EvalError extends Error {
  override name = 'EvalError';
}

/** Annotations with the other dataset's keypoint count: the dataset chosen, not the file, is likely wrong. */
export class OtherDatasetError extends EvalError {
  constructor(message: string, readonly annotationsDataset: DatasetKind) {
    super(message);
  }
}
