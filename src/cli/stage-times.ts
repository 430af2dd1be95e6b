/** Sums of the estimator's per-image stage times (`EstimatorOptions.onStageTimes`), for a command's closing summary. */
import type { StageTimes } from '../estimator.js';

export class StageTotals {
  private readonly sums: StageTimes = { read: 0, preprocess: 0, network: 0, postprocess: 0 };
  images = 0;

  /** Pass as `onStageTimes`. */
  readonly add = (times: StageTimes): void => {
    for (const stage of Object.keys(this.sums) as (keyof StageTimes)[]) this.sums[stage] += times[stage];
    this.images++;
  };

  /** Mean milliseconds per image of `stage`. */
  mean(stage: keyof StageTimes): number {
    return this.sums[stage] / this.images;
  }
}
