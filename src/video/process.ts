/**
 * Pose estimation over a video: decode → estimate → track/smooth → (render + encode) → yield,
 * one frame at a time.
 *
 * Decoding runs ahead of inference by at most `queueSize` frames (the next frames are asked
 * for while the estimator works on the current one), so the two overlap without unbounded
 * buffering. With `realtime`, the frames are read as fast as they come instead, and the estimator
 * takes the newest each time, skipping those that came while it was busy. Stage times are
 * collected while it runs; `timings()` gives them at the end.
 */
import type { Readable } from 'node:stream';
import type { KeypointDefinition } from '../datasets.js';
import { checkSmootherOptions, PoseSmoother, type PoseSmootherOptions } from '../tracking/one-euro.js';
import { PoseTracker, type TrackerOptions } from '../tracking/tracker.js';
import type { Person, PoseEstimator, RgbImage } from '../types.js';
import { checkDecodeOptions, checkSourceOptions, openVideo, readsLiveInput, VideoError, type DecodeOptions, type VideoFrame, type VideoSource } from './decode.js';
import { openUrlSource, sourceStop, type SourceStop } from './url-source.js';
import { readBySource } from './source-input.js';
import { checkVideoOutputPath, videoCodec } from './encode.js';
import { overlayOptions, overlayVideo, type OverlayVideo, type RenderOptions } from './overlay-video.js';
import { checkOverlayOptions } from '../render/overlay.js';
import { inOrder, isImagesInFlight, IMAGES_IN_FLIGHT_RANGE, valueOf } from '../parallel/in-order.js';
import { sameFile } from '../io/atomic.js';
import { ImageError } from '../io/image.js';
import { MIN_IMAGE_SIDE } from '../preprocess/scale.js';
import { errorLine, isFlag, isPositiveInt, optionsProblem, shownValue } from '../values.js';
import { isAbortSignalLike, nodeSignal, shownAsSignal, type AbortSignalLike } from '../abort-signal.js';
import { releaseNow } from '../backend/onnx/session.js';

export interface ProcessVideoOptions extends Omit<DecodeOptions, 'signal'> {
  /** Aborting stops the run at once (ffmpeg is killed, no output is left); iteration then throws the signal's reason. Another realm's signal or a polyfill's does as well. */
  signal?: AbortSignalLike | undefined;
  /**
   * Aborting ends the input there, as if the video ended: no more frames are read (ffmpeg is
   * stopped, a stream input destroyed), those being estimated finish and are yielded, and the run
   * completes (the overlay is written). How a live stream, which has no end of its own, is ended
   * with its poses kept. Ended before a frame was estimated, iteration throws a VideoError.
   */
  endSignal?: AbortSignalLike | undefined;
  /** Give people track ids (true, or tracker settings; their keypoints are `keypoints`). */
  track?: boolean | Omit<TrackerOptions, 'keypoints'> | undefined;
  /** Smooth keypoints and boxes per track with One-Euro filters (true, or filter settings); implies `track`. A video's times are seconds: no `checkTimeUnit`. */
  smooth?: boolean | Omit<PoseSmootherOptions, 'checkTimeUnit'> | undefined;
  /** Keypoint definition for tracking and rendering; default the estimator's `keypoints` (another one, of other joints, is a VideoError). */
  keypoints?: KeypointDefinition | undefined;
  /**
   * Write an overlay video here (MP4, MOV, Matroska or WebM, as the extension says), each frame at
   * the time of its source frame: sampling a file (`every`, `fps`), every source frame of the range
   * is drawn with the people of the latest processed frame; a sampled stream gives the processed frames.
   */
  render?: string | undefined;
  renderOptions?: RenderOptions | undefined;
  /** Frames decoded ahead of inference, 1 to 1024; default 3 (unused with `realtime`). */
  queueSize?: number | undefined;
  /**
   * Keep up with a live input: its frames are read as fast as they come (the decoder and the
   * source are never held back), and each time the estimator is free it takes the newest one, the
   * frames that came meanwhile skipped unestimated (`FrameResult.frame` then has gaps;
   * `timings().skipped` counts them). A file (or a Readable over one, or a finished file at a URL,
   * whose duration its source ffmpeg knows: `readsLiveInput`) is played at its own rate, as a
   * camera would send it. `maxFrames` counts the frames estimated. Default false.
   */
  realtime?: boolean | undefined;
  /** Called once the input is probed, before the first frame. */
  onStart?: ((source: Pick<VideoSource, 'info' | 'outputFps' | 'expectedFrames' | 'counts'>) => void) | undefined;
}

export interface FrameResult {
  /** Index of the frame among the decoded frames (0, 1, 2, … after sampling); those `realtime` skipped leave gaps. */
  frame: number;
  /** Seconds from the start of the input. */
  time: number;
  people: Person[];
  /** The decoded frame (without overlay). */
  image: RgbImage;
}

export interface StageTiming {
  /** Busy seconds of the stage (frames estimated at once add up theirs). */
  seconds: number;
  /** Frames per busy second (0 before any frame). */
  fps: number;
}

export interface VideoTimings {
  /** Frames estimated (and yielded). */
  frames: number;
  /** Frames decoded but skipped unestimated by `realtime` to keep up (0 without it). */
  skipped: number;
  wallSeconds: number;
  /** Frames per wall-clock second, end to end. */
  fps: number;
  decode: StageTiming;
  infer: StageTiming;
  /** Tracking and smoothing, when tracking. */
  track?: StageTiming;
  /** Drawing and encoding (and decoding the source frames drawn between processed ones), when rendering. */
  encode?: StageTiming;
}

export interface VideoRun extends AsyncIterable<FrameResult> {
  /** Stage timings so far; complete once iteration has ended. */
  timings(): VideoTimings;
  /**
   * Once iteration has ended: how a URL input's source stopped after frames were estimated
   * (`no data came for 30 s`, `its reading failed part-way (ffmpeg: ...)`), which ended the input
   * there as a file's end does, every frame it sent before estimated (`onWarning` was told);
   * undefined where it did not, or where the frames asked for (`maxFrames`, or the last of the
   * `duration`) came before it stopped.
   */
  sourceStopped(): string | undefined;
}

/** What a run says of itself once it ends, besides its timings. */
interface RunEnd {
  sourceStopped?: string;
}

interface Clock {
  frames: number;
  skipped: number;
  wall: number;
  decode: number;
  infer: number;
  track: number;
  encode: number;
}

/**
 * What `processVideo` runs: an estimator, with the keypoint definition tracking and rendering
 * need, how many frames it keeps in flight (default 1; see `EstimatorOptions.imagesInFlight`),
 * and the most pixels it takes in an image (`EstimatorOptions.maxPixels`).
 */
export type VideoEstimator = PoseEstimator & { keypoints?: KeypointDefinition; imagesInFlight?: number; maxPixels?: number };

/**
 * Runs `estimator` over the frames of `input` (a file path, a network URL (`isVideoUrl`), a device
 * (`/dev/video0`), ffmpeg's name of an input with `options.inputFormat`, or a stream); iterate once.
 */
export function processVideo(
  estimator: VideoEstimator,
  input: string | Readable,
  options: ProcessVideoOptions = {},
): VideoRun {
  const clock: Clock = { frames: 0, skipped: 0, wall: 0, decode: 0, infer: 0, track: 0, encode: 0 };
  const outcome: RunEnd = {};
  let started = false;
  return {
    [Symbol.asyncIterator]() {
      if (started) throw new VideoError('processVideo: a run can be iterated only once', typeof input === 'string' ? input : undefined);
      started = true;
      return run(estimator, input, options, clock, outcome);
    },
    sourceStopped: () => outcome.sourceStopped,
    timings() {
      const stage = (seconds: number): StageTiming => ({ seconds, fps: seconds > 0 ? clock.frames / seconds : 0 });
      return {
        frames: clock.frames,
        skipped: clock.skipped,
        wallSeconds: clock.wall,
        fps: clock.wall > 0 ? clock.frames / clock.wall : 0,
        decode: stage(clock.decode),
        infer: stage(clock.infer),
        ...(options.track || options.smooth ? { track: stage(clock.track) } : {}),
        ...(options.render !== undefined ? { encode: stage(clock.encode) } : {}),
      };
    },
  };
}

const seconds = (since: number): number => (performance.now() - since) / 1000;

/** The most frames `queueSize` may keep decoded ahead: 1024 frames of 1080p hold 6 GB. */
const MAX_QUEUE_SIZE = 1024;

/**
 * `frames` with `count` calls of `next()` kept waiting (async generators queue them), so that
 * the decoder works through them while earlier frames are estimated.
 */
async function* decodedAhead(frames: AsyncGenerator<VideoFrame>, count: number): AsyncGenerator<VideoFrame> {
  const pending: Promise<IteratorResult<VideoFrame>>[] = [];
  for (;;) {
    while (pending.length < count) {
      const next = frames.next();
      next.catch(() => {}); // a failure is raised when this promise's turn comes
      pending.push(next);
    }
    const next = await pending.shift()!;
    if (next.done) return;
    yield next.value;
  }
}

/**
 * `frames` until `end` is aborted: the frames decoded ahead are not estimated then, and the
 * decoding's failure as it is stopped by the end (its reason) is the end of the frames.
 */
async function* untilEnded(frames: AsyncGenerator<VideoFrame>, end: AbortSignal | undefined): AsyncGenerator<VideoFrame> {
  for (;;) {
    let next: IteratorResult<VideoFrame>;
    try {
      next = await frames.next();
    } catch (error) {
      if (end?.aborted) return;
      throw error;
    }
    if (next.done || end?.aborted) return;
    yield next.value;
  }
}

/**
 * The `frames` of a URL's `stream`, whose source's stop (`sourceStop`: it stalled, or its reading
 * failed part-way) ends them: their decoding gives every frame the source sent, then the stop's
 * error, taken here as the frames' end, of which `stopped` is told.
 */
async function* untilSourceStopped(frames: AsyncIterator<VideoFrame>, stream: Readable, stopped: (stop: SourceStop) => void): AsyncGenerator<VideoFrame> {
  try {
    for (;;) {
      let next: IteratorResult<VideoFrame>;
      try {
        next = await frames.next();
      } catch (error) {
        const stop = sourceStop(stream);
        if (!stop || stop.error !== error) throw error;
        stopped(stop);
        return;
      }
      if (next.done) return;
      yield next.value;
    }
  } finally {
    await frames.return?.();
  }
}

/** `frames`, adding the time spent waiting for each one to `clock.decode`. */
async function* timed(frames: AsyncIterator<VideoFrame>, clock: Clock): AsyncGenerator<VideoFrame> {
  try {
    for (;;) {
      const t = performance.now();
      const next = await frames.next();
      clock.decode += seconds(t);
      if (next.done) return;
      yield next.value;
    }
  } finally {
    await frames.return?.();
  }
}

/** The frames `newestFrames` gives, and the end of its reading. */
interface NewestFrames {
  frames: AsyncGenerator<VideoFrame>;
  /** Resolves once the reading has stopped (after the frames' iteration ended, once the frame being decoded came or the decoding was stopped). */
  finished(): Promise<void>;
}

/**
 * `realtime`: `frames` read as fast as they come, so that neither the decoder nor a live source
 * is held back, and each request given the newest frame read, the older one waiting skipped
 * (counted in `clock.skipped`, its memory freed at once): at most one frame waits. `paced` (a file,
 * which has no time of its own) lets each frame through at its time from the first one's, as a
 * camera would send it, holding the decoder meanwhile. At most `limit` frames are given.
 */
function newestFrames(frames: AsyncIterator<VideoFrame>, { paced, limit, clock, signal }: { paced: boolean; limit: number; clock: Clock; signal: AbortSignal }): NewestFrames {
  let waiting: VideoFrame | undefined;
  let ended = false;
  let failure: { error: unknown } | undefined;
  let stopped = false;
  let wakeTaker: (() => void) | undefined;
  let wakePacer: (() => void) | undefined;
  let reading: Promise<void> | undefined;
  const drop = (frame: VideoFrame): void => releaseNow(frame.image.data.buffer);
  const woken = (): void => {
    const wake = wakeTaker;
    wakeTaker = undefined;
    wake?.();
  };
  const until = (due: number): Promise<void> => new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      wakePacer = undefined;
      resolve();
    };
    const timer = setTimeout(done, Math.max(0, due - performance.now()));
    wakePacer = done;
  });
  const read = async (): Promise<void> => {
    let origin: { wall: number; time: number } | undefined;
    try {
      while (!stopped) {
        const next = await frames.next();
        if (next.done) break;
        const frame = next.value;
        if (paced && !stopped) {
          origin ??= { wall: performance.now(), time: frame.time };
          await until(origin.wall + (frame.time - origin.time) * 1000);
        }
        if (stopped) {
          drop(frame);
          break;
        }
        if (waiting) {
          drop(waiting);
          clock.skipped++;
        }
        waiting = frame;
        woken();
      }
    } catch (error) {
      failure = { error };
    } finally {
      ended = true;
      woken();
      // Stopped early (maxFrames, the run's end): ffmpeg is killed.
      await frames.return?.(undefined).catch(() => {});
    }
  };
  // Aborted, the reading stops now: the generator below, suspended in the run's pending request, is
  // returned only after it, and a paced wait would hold the decoder (and the process) for a frame's gap.
  const stop = (): void => {
    stopped = true;
    wakePacer?.();
  };
  async function* newest(): AsyncGenerator<VideoFrame> {
    signal.addEventListener('abort', stop, { once: true });
    reading = read();
    try {
      for (let given = 0; given < limit; given++) {
        while (!waiting && !ended) await new Promise<void>((resolve) => (wakeTaker = resolve));
        const frame = waiting;
        waiting = undefined;
        if (frame) {
          yield frame;
          continue;
        }
        if (failure) throw failure.error;
        return;
      }
    } finally {
      signal.removeEventListener('abort', stop);
      stop();
      if (waiting) drop(waiting);
      waiting = undefined;
    }
  }
  return { frames: newest(), finished: async () => reading };
}

/** Seconds a track's smoothing filters outlive its last frame with `realtime` (by default): tracks unseen for the tracker's `maxMissed` frames at an estimator's pace. */
const REALTIME_FORGET_AFTER = 60;

/** Seconds the poses of a live input may fall behind it before `processVideo` (without `realtime`) suggests `realtime`. */
export const FALLING_BEHIND_SECONDS = 10;

/**
 * Watches how far the poses of a live input fall behind it: each frame's wall-clock time as its
 * poses come, less its stream time, over the least seen (the frames were as close to their source
 * as they get: its start, which came at once, as a burst of a probe's or a segment's frames does).
 * Past `FALLING_BEHIND_SECONDS`, `warn` is called, once.
 */
function fallingBehind(warn: (seconds: number) => void): (time: number) => void {
  let least = Infinity;
  let warned = false;
  return (time) => {
    const lag = performance.now() / 1000 - time;
    least = Math.min(least, lag);
    if (warned || lag - least <= FALLING_BEHIND_SECONDS) return;
    warned = true;
    warn(Math.round(lag - least));
  };
}

/** Every option `processVideo` reads, for refusing the others (a misspelt `evry` would decode every frame without a word). */
const OPTION_NAMES: Record<keyof ProcessVideoOptions, true> = {
  ffmpegPath: true, ffprobePath: true, every: true, fps: true, start: true, duration: true, maxFrames: true, probeBytes: true, stallTimeout: true, inputFormat: true, inputOptions: true,
  signal: true, endSignal: true, track: true, smooth: true, keypoints: true, render: true, renderOptions: true, queueSize: true, realtime: true, onStart: true, onWarning: true,
};

/**
 * The tracker's and smoother's settings `processVideo` takes: it sets the others itself (the
 * tracker's keypoints are its own option's; a video's times are seconds), and they were overridden without a word.
 */
const TRACK_NAMES: Record<keyof Exclude<ProcessVideoOptions['track'], boolean | undefined>, true> = {
  oksThreshold: true, iouThreshold: true, maxMissed: true, minKeypointScore: true, firstId: true,
};
const SMOOTH_NAMES: Record<keyof Exclude<ProcessVideoOptions['smooth'], boolean | undefined>, true> = { minCutoff: true, beta: true, dCutoff: true, forgetAfter: true };
const SET_BY_PROCESS_VIDEO = {
  track: ['keypoints', 'give them as the keypoints option of processVideo, which tracking and rendering use'],
  smooth: ['checkTimeUnit', "a video's frame times are seconds, so the smoother's check for milliseconds is off"],
} as const;

/** Refuses options that are no object, hold a name `processVideo` does not know (in `track` and `smooth` too), or a `track`, `smooth` or `onStart` of the wrong kind (the other options are checked where they are read). */
function checkOptionKinds(options: ProcessVideoOptions, file: string | undefined): void {
  const bad = (what: string): never => {
    throw new VideoError(`processVideo: ${what}`, file);
  };
  const problem = optionsProblem(options, OPTION_NAMES);
  if (problem) bad(problem);
  const isSetting = (value: unknown): boolean => value === undefined || isFlag(value) || (typeof value === 'object' && value !== null);
  if (!isSetting(options.track)) bad(`track must be true, false or tracker settings (an object), got ${shownValue(options.track)}`);
  if (!isSetting(options.smooth)) bad(`smooth must be true, false or filter settings (an object), got ${shownValue(options.smooth)}`);
  for (const [name, known] of [['track', TRACK_NAMES], ['smooth', SMOOTH_NAMES]] as const) {
    const settings: unknown = options[name];
    if (typeof settings !== 'object' || settings === null) continue;
    // Given as undefined, it is left out, as every option is.
    const [setHere, why] = SET_BY_PROCESS_VIDEO[name];
    const { [setHere]: given, ...rest } = settings as Record<string, unknown>;
    if (given !== undefined) bad(`${name}.${setHere} is not taken: ${why}`);
    const problem = optionsProblem(rest, known);
    if (problem) bad(`${name}: ${problem}`);
  }
  if (options.onStart !== undefined && typeof options.onStart !== 'function') bad(`onStart must be a function, got ${shownValue(options.onStart)}`);
  if (options.realtime !== undefined && !isFlag(options.realtime)) bad(`realtime must be true or false, got ${shownValue(options.realtime)}`);
  try {
    // Else found at the first frame drawn, after the video was probed and the encoder started.
    if (options.renderOptions !== undefined) checkOverlayOptions(typeof options.renderOptions === 'object' ? overlayOptions(options.renderOptions) : options.renderOptions);
  } catch (error) {
    bad(`renderOptions: ${errorLine(error).replace(/^drawPoses: /, '')}`);
  }
}

async function* run(
  estimator: VideoEstimator,
  given: string | Readable,
  options: ProcessVideoOptions,
  clock: Clock,
  outcome: RunEnd,
): AsyncGenerator<FrameResult> {
  const begin = performance.now();
  // A URL, a device or an inputFormat input (read by a source ffmpeg, `readBySource`) names the input in messages, as a file does; it is read as a stream.
  const file = typeof given === 'string' ? given : undefined;
  checkOptionKinds(options, file);
  const sourced = file !== undefined && readBySource(file, options);
  const keypoints = options.keypoints ?? estimator.keypoints;
  const tracking = Boolean(options.track || options.smooth);
  if ((tracking || options.render !== undefined) && !keypoints) {
    throw new VideoError('processVideo: tracking and rendering need a keypoint definition (options.keypoints)', file);
  }
  // Else the tracker refuses the first frame with people, and the overlay draws another skeleton over the joints.
  const estimatorKeypoints = estimator.keypoints;
  if (keypoints && estimatorKeypoints && keypoints.names.length !== estimatorKeypoints.names.length) {
    const shown = (def: KeypointDefinition): string => `${def.kind}, ${def.names.length} joints`;
    throw new VideoError(`processVideo: keypoints (${shown(keypoints)}) are not those of the estimator's people (${shown(estimatorKeypoints)}); leave keypoints out to use the estimator's`, file);
  }
  const queueSize = options.queueSize ?? 3;
  // Its requests for frames are made at once: a million of them held the run for minutes, 1e9 for good.
  if (!(isPositiveInt(queueSize) && queueSize <= MAX_QUEUE_SIZE)) {
    throw new VideoError(`processVideo: queueSize must be an integer from 1 to ${MAX_QUEUE_SIZE} (frames decoded ahead of inference, each held in memory), got ${shownValue(queueSize)}`, file);
  }
  const realtime = options.realtime === true;
  checkSourceOptions(given, options);
  const warn = options.onWarning ?? ((message: string) => process.emitWarning(message));
  const inFlight = estimator.imagesInFlight ?? 1;
  if (!isImagesInFlight(inFlight)) throw new VideoError(`processVideo: the estimator's imagesInFlight must be ${IMAGES_IN_FLIGHT_RANGE}, got ${shownValue(inFlight)}`, file);
  for (const name of ['signal', 'endSignal'] as const) {
    if (options[name] !== undefined && !isAbortSignalLike(options[name])) {
      throw new VideoError(`processVideo: ${name} must be an AbortSignal, got ${shownAsSignal(options[name])}`, file);
    }
  }
  const callerSignal = options.signal && nodeSignal(options.signal);
  const endSignal = options.endSignal && nodeSignal(options.endSignal);
  if (options.render !== undefined) {
    // Before any work, rather than at the first frame or the final rename.
    await checkVideoOutputPath(options.render, 'processVideo: render');
    await videoCodec(options.render, { codec: options.renderOptions?.codec, ffmpegPath: options.ffmpegPath });
    // The overlay is renamed into place at the end: over the input, the source video would be lost.
    if (file !== undefined && !sourced && (await sameFile(options.render, file))) {
      throw new VideoError(`${options.render}: the overlay video (render) names the input video; give another file name`, file);
    }
  }
  // Settings checked before the input is probed and onStart told that the run starts; out of range, a
  // VideoError as processVideo's other settings are, the tracker's or smoother's RangeError its cause.
  const setting = <T>(name: 'track' | 'smooth', make: () => T): T => {
    try {
      return make();
    } catch (error) {
      throw new VideoError(`processVideo: ${name}: ${errorLine(error).replace(/^(PoseTracker|PoseSmoother|OneEuroFilter): /, '')}`, file, { cause: error });
    }
  };
  const tracker = tracking
    ? setting('track', () => new PoseTracker({ ...(typeof options.track === 'object' ? options.track : {}), keypoints: keypoints! }))
    : undefined;
  const smoothing = typeof options.smooth === 'object' ? options.smooth : {};
  if (options.smooth) setting('smooth', () => checkSmootherOptions(smoothing));
  // Aborted on the way out, so that ffmpeg dies at once even with frames still requested.
  const stop = new AbortController();
  const signal = callerSignal ? AbortSignal.any([callerSignal, stop.signal]) : stop.signal;
  // The end stops the decoding alone: the overlay's own decoding of a sampled file draws on to the last frame estimated.
  const decoding = endSignal ? AbortSignal.any([signal, endSignal]) : signal;
  // Before a URL's source starts, rather than by openVideo once it runs; with realtime, maxFrames
  // counts the frames estimated, which the decoder cannot know: it is not told, but checked as it would be.
  checkDecodeOptions({ ...options, signal: undefined }, file);
  // Started here rather than by openVideo, so that the overlay takes it as the stream it is, and it is released as one.
  const input = sourced ? openUrlSource(given as string, options) : given;
  const endedBeforeAnyFrame = (): VideoError => new VideoError(`${file ?? 'video stream'}: the input was ended (endSignal) before any frame was estimated${options.render !== undefined ? ', so no video was written' : ''}`, file);
  // A source that stopped part-way (stalled, its reading failed) ended the input there, as a
  // file's end: every frame it sent is estimated, and the caller told; without any, its error is thrown.
  let sourceStopped: SourceStop | undefined;
  // The source took inputFormat and inputOptions: its stream is read as it comes.
  const sourceTaken = { inputFormat: undefined, inputOptions: undefined };
  const source = await openVideo(input, { ...options, ...sourceTaken, ...(realtime ? { maxFrames: undefined } : {}), signal: decoding }).catch((error: unknown) => {
    const ended = endSignal?.aborted === true && error === endSignal.reason && !signal.aborted;
    // A URL's source, started here, is stopped however openVideo failed (its options refused, say); a
    // stream ended as it was probed is released, as when decoding stops early.
    if (typeof input !== 'string' && (sourced || ended)) input.destroy();
    throw ended ? endedBeforeAnyFrame() : error;
  });
  try {
    // Every frame comes at the first one's size: frames the estimator would refuse are refused
    // before any is decoded, naming the video (the estimator's check names a frame "RGB image").
    const { width, height } = source.info;
    if (estimator.maxPixels !== undefined && width * height > estimator.maxPixels) {
      throw new ImageError('dimensions', file ?? 'video stream', `frames are ${width}x${height}, over the limit of ${estimator.maxPixels} pixels`);
    }
    if (width < MIN_IMAGE_SIDE || height < MIN_IMAGE_SIDE) {
      throw new VideoError(`${file ?? 'video stream'}: frames are ${width}x${height}, smaller than the network takes (at least ${MIN_IMAGE_SIDE}x${MIN_IMAGE_SIDE} pixels)`, file);
    }
    options.onStart?.(source);
  } catch (error) {
    // The frames will not be read: a stream input is released, as when decoding stops early.
    if (typeof input !== 'string') input.destroy();
    throw error;
  }
  // A track's filters live as long as the track may go unseen (smoothing implies tracking): at a
  // low frame rate, the smoother's default second is less than one frame. With realtime, the
  // frames estimated are as far apart as the estimator is slow, which is not known here (a second
  // on a CPU): longer, as the tracker's ids are never reused. The frames' times are
  // seconds: far apart (a variable frame rate), they are no unit mistake.
  const smoother = options.smooth
    ? new PoseSmoother({
      ...smoothing,
      forgetAfter: smoothing.forgetAfter ?? (realtime ? REALTIME_FORGET_AFTER : Math.max(1, (tracker!.maxMissed + 1) / source.outputFps)),
      checkTimeUnit: false,
    })
    : undefined;
  // Known once a source has opened its input: a finished file (http://host/clip.mp4) is read as a file.
  const live = await readsLiveInput(input, options);
  const decoded = sourced
    ? untilSourceStopped(source[Symbol.asyncIterator](), input as Readable, (stop) => (sourceStopped = stop))
    : source[Symbol.asyncIterator]();
  const newest = realtime ? newestFrames(decoded, { paced: !live, limit: options.maxFrames ?? Infinity, clock, signal }) : undefined;
  const frames = timed(newest?.frames ?? decoded, clock);
  const estimate = async (frame: VideoFrame): Promise<Person[]> => {
    const t = performance.now();
    try {
      // Frames waiting for a slot leave at the abort, or when the run stops early (the stop signal).
      return await estimator.estimatePoses(frame.image, { signal });
    } finally {
      clock.infer += seconds(t);
    }
  };
  const estimates = inOrder(untilEnded(newest ? frames : decodedAhead(frames, queueSize), endSignal), inFlight, estimate);
  const overlay: OverlayVideo | undefined = options.render !== undefined
    ? overlayVideo(input, source, { path: options.render, keypoints: keypoints!, render: options.renderOptions, decode: { ...options, signal }, skipping: realtime })
    : undefined;
  // Without realtime, a live input whose poses fall ever further behind is told of it, once.
  const behind = live && !realtime
    ? fallingBehind((seconds) => warn(`${file ?? 'video stream'}: the poses are ${seconds} s behind the stream's own time: if it is live (a camera), --realtime (realtime: true) skips frames to keep up`))
    : undefined;
  // Aborted by the caller, the run stops at once rather than after the frames being estimated.
  const aborted = new Promise<never>((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true }));
  aborted.catch(() => {});
  let completed = false;
  try {
    for (;;) {
      const estimated = estimates.next();
      estimated.catch(() => {}); // raised below, unless the abort came first
      const next = await Promise.race([estimated, aborted]);
      if (next.done) break;
      const frame = next.value.item;
      const { index, time, image } = frame;
      behind?.(time);
      let people = valueOf(next.value.outcome);
      let t = performance.now();
      if (tracker) people = tracker.update(people);
      if (smoother) people = smoother.apply(people, time);
      clock.track += seconds(t);
      if (overlay) {
        t = performance.now();
        // Raced with the abort, as the frames are: an encoder that takes no frame (its disk hung) held the run until it read again.
        await Promise.race([overlay.add(frame, people), aborted]);
        clock.encode += seconds(t);
      }
      clock.frames++;
      clock.wall = seconds(begin);
      yield { frame: index, time, people, image };
    }
    if (clock.frames === 0 && sourceStopped) throw sourceStopped.error;
    if (clock.frames === 0 && endSignal?.aborted) throw endedBeforeAnyFrame();
    if (clock.frames === 0) {
      const { start, duration } = options;
      const length = source.info.duration;
      const range = duration !== undefined
        ? ` (no frame lies between ${start ?? 0} s and ${+((start ?? 0) + duration).toFixed(6)} s)`
        // A start within the last frame's time: the video goes on past it, but no frame begins there.
        : start !== undefined && length !== undefined && start < length
          ? ` (no frame starts between ${start} s and the end of the video, ${+length.toFixed(6)} s: the last one starts before ${start} s)`
          : start !== undefined ? ` (does it end before the start, ${start} s?)` : '';
      throw new VideoError(`${file ?? 'video stream'}: no frames were decoded${range}${options.render !== undefined ? ', so no video was written' : ''}`, file);
    }
    if (sourceStopped) {
      // As a camera gone offline: the stream ended there, which the caller is told.
      outcome.sourceStopped = sourceStopped.reason;
      warn(`${file}: ${sourceStopped.reason}, so the stream ends there; the poses of its ${clock.frames} frame${clock.frames === 1 ? '' : 's'} so far are kept`);
    }
    if (overlay) {
      const t = performance.now();
      await finishOverlay(overlay, aborted);
      clock.encode += seconds(t);
    }
    completed = true;
  } finally {
    stop.abort();
    // First, so that an interrupted run leaves no temporary file even if it is then killed.
    if (!completed) await overlay?.abort();
    const closed = (async () => {
      await estimates.return(undefined).catch(() => {});
      await frames.return(undefined).catch(() => {});
      await newest?.finished();
    })();
    // Aborted, the frames in flight finish on their own (a network run cannot be cut short); the estimator's dispose waits for them.
    if (!callerSignal?.aborted) await closed;
    clock.wall = seconds(begin);
  }
}

/**
 * `overlay.finish()`, stopped by an abort as the frames are: ffmpeg is killed and its file
 * removed, unless the abort came as the video was being moved into place (then it is complete).
 */
async function finishOverlay(overlay: OverlayVideo, aborted: Promise<never>): Promise<void> {
  const finished = overlay.finish();
  finished.catch(() => {}); // its failure is raised below, unless the abort came first
  try {
    await Promise.race([finished, aborted]);
  } catch (error) {
    await overlay.abort();
    const complete = await finished.then(() => true, () => false);
    if (!complete) throw error;
  }
}
