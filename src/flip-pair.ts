/**
 * How the flip test's two inputs (plain and mirrored) go through the network: as one batch of
 * two, or as two runs. Their outputs are the same to the bit; their speeds differ by a few
 * percent, and which way is faster changes with the machine, the backend and even from one
 * process to the next on the same machine (docs/speed.md). An estimator therefore times both:
 * the first pairs of each network input size alternate between them, and the faster is kept.
 */

/**
 * Largest network input (pixels of one pass) whose flip pair may run as one batch: a 4000x500
 * panorama's 4096x512 input (2.1 MP) took 2.18 GB at peak as a batch, 1.78 GB as two runs (W32);
 * photos at 512 or 640 give 0.3-0.6 MP. Larger inputs always run as two runs.
 */
const FLIP_BATCH_MAX_PIXELS = 1024 * 1024;

/** Whether a flip pair of a `width` x `height` network input may run as one batch (see FLIP_BATCH_MAX_PIXELS). */
export function flipBatchFits(width: number, height: number): boolean {
  return width * height <= FLIP_BATCH_MAX_PIXELS;
}

/**
 * Largest network input whose flip pair runs at once on two sessions (`concurrentFlip`): above
 * it, the passes run one after the other (on half the threads, ~1.8x slower), so that the largest
 * inputs keep the memory of one pass (each million pixels ~0.55 GB; README, Speed). Higher than
 * FLIP_BATCH_MAX_PIXELS, which only chooses between two ways of the same speed: scale 2 of a
 * photo (1408x1024) and a 4096x512 panorama still run at once.
 */
const CONCURRENT_FLIP_MAX_PIXELS = 4 * 1024 * 1024;

/** Whether a flip pair of a `width` x `height` network input runs at once with `concurrentFlip` (see CONCURRENT_FLIP_MAX_PIXELS). */
export function concurrentFlipFits(width: number, height: number): boolean {
  return width * height <= CONCURRENT_FLIP_MAX_PIXELS;
}

/** Pairs timed each way per input size, after a first one each way that is not (a new size's first run allocates). */
const FLIP_PAIRS_TIMED = 3;

/** Pairs of one size run before its way is chosen, when they ran one at a time. */
export const FLIP_PAIRS_TO_CHOOSE = 2 * (1 + FLIP_PAIRS_TIMED);

/** Pairs of one size after which the way is chosen on what was timed, however little (pairs overlapping others are not timed). */
const FLIP_PAIRS_AT_MOST = 4 * FLIP_PAIRS_TO_CHOOSE;

/** The timing of one input size's pairs. */
interface SizeTrials {
  /** Pairs started. */
  runs: number;
  /** Milliseconds of the timed pairs each way. */
  batch: number[];
  twoRuns: number[];
  /** The way kept: true for one batch. */
  batched?: boolean;
}

/** Runs a flip pair one way (true: one batch of two) and resolves to its outputs. */
export type FlipPairRun<T> = (batch: boolean) => Promise<T>;

/**
 * Chooses, per network input size, the faster way to run the flip pair by timing the first ones:
 * one batch, then two runs, and so on, the first of each way not counted, until each way has
 * `FLIP_PAIRS_TIMED` timings; the way with the smaller minimum is kept (one batch on a tie).
 * A pair is timed only when it ran alone (with images in flight, another pair may overlap it);
 * a size whose pairs keep overlapping is decided after `FLIP_PAIRS_AT_MOST` pairs.
 */
export class FlipPairChooser {
  private readonly sizes = new Map<string, SizeTrials>();
  /** Pairs running now, and started so far: a pair that saw another start or run is not timed. */
  private running = 0;
  private started = 0;

  /** `now`: the clock in milliseconds (tests give their own). */
  constructor(private readonly now: () => number = () => performance.now()) {}

  /** Whether a `width` x `height` input's pair runs as one batch: undefined while that size is being timed. */
  chosen(width: number, height: number): boolean | undefined {
    return flipBatchFits(width, height) ? this.sizes.get(`${width}x${height}`)?.batched : false;
  }

  /** Runs a pair of `width` x `height` inputs the way kept for its size, or the way its timing needs next. */
  async run<T>(width: number, height: number, runPair: FlipPairRun<T>): Promise<T> {
    const kept = this.chosen(width, height);
    if (kept !== undefined) return runPair(kept);
    const key = `${width}x${height}`;
    let trials = this.sizes.get(key);
    if (!trials) this.sizes.set(key, (trials = { runs: 0, batch: [], twoRuns: [] }));
    const batch = trials.runs % 2 === 0;
    const counted = trials.runs >= 2;
    trials.runs++;
    const alone = this.running === 0;
    const start = ++this.started;
    this.running++;
    const begin = this.now();
    try {
      const outputs = await runPair(batch);
      if (counted && alone && this.started === start) (batch ? trials.batch : trials.twoRuns).push(this.now() - begin);
      this.decide(trials);
      return outputs;
    } finally {
      this.running--;
    }
  }

  private decide(trials: SizeTrials): void {
    if (trials.batched !== undefined) return;
    const { batch, twoRuns } = trials;
    const timedEnough = batch.length >= FLIP_PAIRS_TIMED && twoRuns.length >= FLIP_PAIRS_TIMED;
    if (!timedEnough && trials.runs < FLIP_PAIRS_AT_MOST) return;
    // Untimed one way (every pair overlapped): the batch, as on a tie.
    trials.batched = batch.length === 0 || twoRuns.length === 0 || Math.min(...batch) <= Math.min(...twoRuns);
  }
}
