/**
 * The overlay video of `processVideo`: people drawn on the frames, each encoded at its own time
 * (from the first frame's), so that a variable frame rate stays as it was.
 *
 * When every frame is processed, or the input is a stream (which cannot be read twice), the
 * processed frames are the video. When a file is sampled (`every`, `fps`) or frames are skipped (`realtime`), a second ffmpeg
 * decodes every frame of the same range, and each is drawn with the people of the latest
 * processed frame at or before it: the overlay plays as smoothly as the source, the poses
 * updated at the sampled rate.
 */
import type { Readable } from 'node:stream';
import type { KeypointDefinition } from '../datasets.js';
import { drawPoses, type OverlayOptions } from '../render/overlay.js';
import type { Person } from '../types.js';
import { openVideo, VideoError, type DecodeOptions, type VideoFrame, type VideoSource } from './decode.js';
import { createVideoEncoder, type EncoderOptions, type VideoEncoder } from './encode.js';

export type RenderOptions = OverlayOptions & { codec?: EncoderOptions['codec'] };

/** The drawing's part of render options: drawPoses refuses `codec` as an option of its own. */
export function overlayOptions(render: RenderOptions | undefined): OverlayOptions {
  const { codec, ...overlay } = render ?? {};
  return overlay;
}

export interface OverlayVideo {
  /** Draws `people` on the processed `frame` and, sampling a file, on the source frames up to the next processed one. */
  add(frame: VideoFrame, people: readonly Person[]): Promise<void>;
  /** Writes what is left and moves the video to its final name. */
  finish(): Promise<void>;
  /** Stops; nothing is left under the final name. */
  abort(): Promise<void>;
}

export interface OverlayVideoOptions {
  path: string;
  keypoints: KeypointDefinition;
  render?: RenderOptions;
  /** What the processed frames were decoded with (the range, the sampling, ffmpeg's paths, the abort signal). */
  decode: DecodeOptions;
  /** Frames are skipped (`realtime`): a file's every source frame is drawn, as when it is sampled. */
  skipping?: boolean;
}

/** The overlay video of the frames `processed` yields from `input`. */
export function overlayVideo(input: string | Readable, processed: Pick<VideoSource, 'info' | 'outputFps'>, options: OverlayVideoOptions): OverlayVideo {
  const sampled = (options.decode.every ?? 1) > 1 || options.decode.fps !== undefined || options.skipping === true;
  return typeof input === 'string' && sampled
    ? everySourceFrame(input, processed, options)
    : timedFrames(processed.outputFps, processed.info.sampleAspectRatio, options);
}

/**
 * The overlay video of the frames given, each at its time from the first one's: one overlay frame
 * per frame, as the source times them. `fps`, the nominal rate, gives the last frame's duration.
 */
function timedFrames(fps: number, sampleAspectRatio: number, options: OverlayVideoOptions): OverlayVideo & { readonly started: boolean } {
  let encoder: VideoEncoder | undefined;
  // Aborted while the first frame's encoder starts (processVideo leaves that add at an abort), it
  // is stopped once started: else it was left running.
  let starting: Promise<VideoEncoder> | undefined;
  let origin = 0;
  const overlay = overlayOptions(options.render);
  return {
    async add(frame, people) {
      if (!encoder) {
        const { width, height } = frame.image;
        starting = createVideoEncoder(options.path, { width, height, fps, sampleAspectRatio, codec: options.render?.codec, ffmpegPath: options.decode.ffmpegPath });
        encoder = await starting;
        origin = frame.time;
      }
      await encoder.write(drawPoses(frame.image, people, options.keypoints, overlay), frame.time - origin);
    },
    get started() {
      return encoder !== undefined;
    },
    finish: async () => encoder?.finish(),
    abort: async () => (await starting?.catch(() => undefined))?.abort(),
  };
}

function everySourceFrame(file: string, processed: Pick<VideoSource, 'info' | 'outputFps'>, options: OverlayVideoOptions): OverlayVideo {
  const { ffmpegPath, ffprobePath, start, duration, signal } = options.decode;
  const range: DecodeOptions = { ffmpegPath, ffprobePath, start, duration, signal };
  const sourceFps = processed.info.fps;
  let frames: AsyncIterator<VideoFrame> | undefined;
  const encoder = timedFrames(sourceFps, processed.info.sampleAspectRatio, options);
  // A source frame read but not drawn yet: it comes at or after the next processed frame.
  let waiting: VideoFrame | undefined;
  let held: { time: number; people: readonly Person[] } | undefined;

  /** Draws the source frames before `end` seconds with `people`. */
  const drawBefore = async (end: number, people: readonly Person[]): Promise<void> => {
    frames ??= (await openVideo(file, range))[Symbol.asyncIterator]();
    for (;;) {
      let frame = waiting;
      waiting = undefined;
      if (!frame) {
        const next = await frames.next();
        if (next.done) return;
        frame = next.value;
      }
      if (frame.time >= end) {
        waiting = frame;
        return;
      }
      await encoder.add(frame, people);
    }
  };
  const stopDecoding = async (): Promise<void> => {
    await frames?.return?.(undefined).catch(() => {});
  };

  return {
    async add(frame, people) {
      // The range's first frame is always processed: no source frame comes before it.
      if (held) await drawBefore(frame.time, held.people);
      held = { time: frame.time, people };
    },
    async finish() {
      if (!held) return;
      // The last processed frame stands for one sampling period, less half a source frame: the
      // frames of a range cut by maxFrames end there, those of the whole input with the input.
      await drawBefore(held.time + 1 / processed.outputFps - 0.5 / sourceFps, held.people);
      await stopDecoding();
      if (!encoder.started) throw new VideoError(`${options.path}: the second decoding of ${file} gave no frames, so no video was written`, file);
      await encoder.finish();
    },
    async abort() {
      await stopDecoding();
      await encoder.abort();
    },
  };
}
