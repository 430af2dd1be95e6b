/**
 * Writing RGB frames to a video with an `ffmpeg` child process, each frame at its own time (a
 * variable frame rate stays variable). The container follows the file's extension: MP4, MOV or
 * Matroska with libx264 when the build has it, else mpeg4; WebM with VP9 (libvpx-vp9). yuv420p,
 * which needs even sizes, so odd sizes get one padding row/column.
 *
 * ffmpeg writes to a temporary file beside the target, renamed to the target only when
 * `finish()` succeeds: an error or `abort()` removes it, so a failed run never leaves a
 * half-written video under the final name.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { rename, rm, stat } from 'node:fs/promises';
import { extname } from 'node:path';
import type { RgbImage } from '../types.js';
import { askFfmpeg, childExit, ffmpegBinary, passthroughArgs, StderrTail, syncOption, VideoError, type FfmpegPaths } from './decode.js';
import { outputFileProblem, temporaryPathBeside } from '../io/atomic.js';
import { isPositiveInt, shownValue, typeName } from '../values.js';
import { matroskaFrameHeader, matroskaHeader, MATROSKA_TICKS_PER_SECOND } from './matroska.js';

export type VideoCodec = 'libx264' | 'mpeg4' | 'libvpx-vp9';

interface Container {
  /** ffmpeg's name of the muxer. */
  muxer: string;
  /** The codecs it is written with, best first: the first this ffmpeg has is used. */
  codecs: readonly VideoCodec[];
  /** The longest time between two frames it holds, in Matroska ticks (ffmpeg's MP4 muxer keeps a gap in 31 bits). */
  maxGapTicks?: number;
}

/** The video files the encoder writes, by extension (lower case). */
const CONTAINERS: Readonly<Record<string, Container>> = {
  '.mp4': { muxer: 'mp4', codecs: ['libx264', 'mpeg4'], maxGapTicks: 2 ** 31 - 1 },
  '.mov': { muxer: 'mov', codecs: ['libx264', 'mpeg4'], maxGapTicks: 2 ** 31 - 1 },
  '.mkv': { muxer: 'matroska', codecs: ['libx264', 'mpeg4'] },
  '.webm': { muxer: 'webm', codecs: ['libvpx-vp9'] },
};

const CONTAINER_NAMES = Object.keys(CONTAINERS).join(', ');

/** Why `path` names no container the encoder writes (by its extension), or undefined when it names one. */
export function containerProblem(path: string): string | undefined {
  const extension = extname(path).toLowerCase();
  if (CONTAINERS[extension]) return undefined;
  const named = extension === '' ? 'has no extension' : `ends in ${extname(path)}`;
  return `${path}: ${named}; the video is written as its extension says: give a name ending in ${CONTAINER_NAMES}`;
}

/** The container `path` names by its extension; another extension (or none) is a VideoError. */
function containerOf(path: string): Container {
  const problem = containerProblem(path);
  if (problem) throw new VideoError(problem, path);
  return CONTAINERS[extname(path).toLowerCase()];
}

export interface EncoderOptions extends FfmpegPaths {
  width: number;
  height: number;
  /** Nominal frames per second: how long the last frame lasts, and the times of frames written without one. */
  fps: number;
  /** Width of a pixel over its height, as players are told (default 1): that of an anamorphic source keeps its shape. */
  sampleAspectRatio?: number;
  /** `auto` (default): for MP4, MOV and Matroska libx264 if this ffmpeg has it, else mpeg4; for WebM libvpx-vp9. */
  codec?: 'auto' | VideoCodec;
}

export interface VideoEncoder {
  /** Codec actually used. */
  readonly codec: VideoCodec;
  /** Frames written so far. */
  readonly frames: number;
  /**
   * Queues one frame, shown from `time` seconds (default: one nominal frame after the one
   * before; the video starts at 0); resolves when ffmpeg can take more (pipe backpressure). A
   * time not after the previous frame's is moved just after it (20 µs), so that every frame is kept;
   * one more than 11.9 h after it in an MP4 or MOV, which cannot hold that gap, is a VideoError.
   */
  write(image: RgbImage, time?: number): Promise<void>;
  /** Ends the video and moves it to its final name. */
  finish(): Promise<void>;
  /**
   * Stops ffmpeg and removes the temporary file; safe to call after finish or twice. Called while
   * finish moves the video into place, it waits for that: the video is then complete.
   */
  abort(): Promise<void>;
}

/** Whether this ffmpeg build lists the video encoder `name`. */
async function hasEncoder(name: VideoCodec, paths: FfmpegPaths = {}): Promise<boolean> {
  return new RegExp(`^\\s*V\\S*\\s+${name}\\s`, 'm').test((await askFfmpeg(ffmpegBinary(paths), ['-encoders'])).stdout);
}

/**
 * The codec a video named `path` is written with: `codec` where its container takes it, else
 * (`auto`) the first of the container's codecs this ffmpeg has. A codec the container does not
 * take, or a WebM file without ffmpeg's VP9 encoder, is a VideoError.
 */
export async function videoCodec(path: string, options: FfmpegPaths & { codec?: EncoderOptions['codec'] } = {}): Promise<VideoCodec> {
  const container = containerOf(path);
  const { codec = 'auto' } = options;
  if (codec !== 'auto') {
    if (!container.codecs.includes(codec)) {
      throw new VideoError(`${path}: a ${extname(path)} video is written with ${container.codecs.join(' or ')}, not ${shownValue(codec)}`, path);
    }
    return codec;
  }
  for (const candidate of container.codecs.slice(0, -1)) {
    if (await hasEncoder(candidate, options)) return candidate;
  }
  // mpeg4 is ffmpeg's own; VP9 comes from a library a build may leave out.
  const last = container.codecs.at(-1)!;
  if (last === 'libvpx-vp9' && !(await hasEncoder(last, options))) {
    throw new VideoError(`${path}: this ffmpeg (${ffmpegBinary(options)}) has no VP9 encoder (libvpx-vp9), which a WebM video needs; give a name ending in .mp4, .mov or .mkv`, path);
  }
  return last;
}

/** ffmpeg's settings of each codec: quick, at a quality where the drawn lines stay sharp. */
function codecArgs(codec: VideoCodec): string[] {
  switch (codec) {
    // No B-frames: with them, frames at irregular times gave MP4 durations shorter than the video.
    case 'libx264': return ['-preset', 'veryfast', '-crf', '23', '-bf', '0'];
    case 'mpeg4': return ['-q:v', '4'];
    case 'libvpx-vp9': return ['-deadline', 'realtime', '-cpu-used', '8', '-row-mt', '1', '-crf', '32', '-b:v', '0'];
  }
}

/**
 * Refuses an output path that names a folder, or one in a folder that does not exist, before
 * any work: the finished file is renamed to it only at the end, when a failure would waste the
 * run (and leave the other outputs alone).
 */
export async function checkOutputPath(path: string, what = 'an output'): Promise<void> {
  // An empty name passed every check and failed only at the rename, after the whole run.
  if (typeof path !== 'string' || path === '') {
    throw new VideoError(`${what} must be a file path, got ${typeof path === 'string' ? 'an empty string' : typeName(path)}`);
  }
  const problem = await outputFileProblem(path, true);
  if (problem) throw new VideoError(`${path}: ${problem}`, path);
}

/**
 * `checkOutputPath`, a FIFO or a device (/dev/stdout) refused: the video is written to a file
 * beside it (MP4 and MOV with seeks, to move their index to the front), and renaming that file
 * over the FIFO or device would replace it. And a name whose extension is not that of a
 * container the encoder writes (`.avi`, none): the video would not be what its name says.
 */
export async function checkVideoOutputPath(path: string, what = 'an output'): Promise<void> {
  await checkOutputPath(path, what);
  const existing = await stat(path).catch(() => undefined);
  if (existing && !existing.isFile()) {
    throw new VideoError(`${path}: is a FIFO or a device, not a file; the video is written beside it and then renamed to its name, which would replace it: give a file name`, path);
  }
  containerOf(path);
}

export async function createVideoEncoder(path: string, options: EncoderOptions): Promise<VideoEncoder> {
  const { width, height, fps } = options;
  await checkVideoOutputPath(path);
  if (!(isPositiveInt(width) && isPositiveInt(height))) {
    throw new VideoError(`${path}: invalid frame size ${width}x${height}`, path);
  }
  if (!(fps > 0 && Number.isFinite(fps))) throw new VideoError(`${path}: invalid frame rate ${fps}`, path);
  const sar = options.sampleAspectRatio ?? 1;
  if (!(sar > 0 && Number.isFinite(sar))) throw new VideoError(`${path}: invalid sample aspect ratio ${sar}`, path);
  const { muxer, maxGapTicks = Infinity } = containerOf(path);
  const binary = ffmpegBinary(options);
  const [codec, sync] = await Promise.all([videoCodec(path, options), syncOption(binary, path)]);
  // Unique to this process and call (a random part), unlike the time in ms it once had.
  const temp = temporaryPathBeside(path);
  const args = [
    '-hide_banner', '-nostats', '-loglevel', 'level+error', '-y',
    // Matroska, not raw frames, which carry no time: ffmpeg numbered them at one rate. Its header
    // says all there is to know: without probing, the file is started at the first frame, not 5 MB on.
    '-probesize', '32', '-analyzeduration', '0', '-f', 'matroska', '-i', 'pipe:0',
    '-vf', `pad=ceil(iw/2)*2:ceil(ih/2)*2,setsar=${sar}`,
    '-c:v', codec, ...codecArgs(codec), '-pix_fmt', 'yuv420p',
    // Each frame at its input time, in the input's time base, rather than one a period at a constant rate.
    ...passthroughArgs(sync),
    ...(muxer === 'mp4' || muxer === 'mov' ? ['-movflags', '+faststart'] : []),
    '-f', muxer, temp,
  ];
  // In a process group of its own, out of a terminal's reach: Ctrl-C that ends a live stream leaves its overlay to be finished.
  const child = spawn(binary, args, { stdio: ['pipe', 'ignore', 'pipe'], detached: true });
  const exit = childExit(child, binary, path);
  exit.catch(() => {}); // observed in write/finish/abort
  const tail = new StderrTail();
  child.stderr!.setEncoding('utf8').on('data', (s: string) => tail.push(s));
  const stdin = child.stdin!;
  stdin.on('error', () => {}); // a dying ffmpeg closes its stdin: reported through its exit
  const frameBytes = width * height * 3;
  const frameTicks = Math.max(1, Math.round(MATROSKA_TICKS_PER_SECOND / fps));
  stdin.write(matroskaHeader(width, height, frameTicks));
  let frames = 0;
  let lastTick = -1;
  let state: 'open' | 'finished' | 'aborted' = 'open';
  // Set while finish moves the video into place: an abort then waits for it rather than racing it.
  let renaming: Promise<void> | undefined;

  const failure = async (): Promise<VideoError> => {
    const { code, signal } = await exit;
    return new VideoError(`${path}: ffmpeg could not encode the video (${tail.message() || `exit code ${code ?? signal}`})`, path);
  };
  const abort = async (): Promise<void> => {
    if (renaming) await renaming.catch(() => {});
    if (state === 'finished') return;
    state = 'aborted';
    child.kill('SIGKILL');
    await exit.catch(() => {});
    await rm(temp, { force: true });
  };

  return {
    codec,
    get frames() {
      return frames;
    },
    async write(image, time) {
      if (state !== 'open') throw new VideoError(`${path}: write after the encoder was ${state}`, path);
      if (image.width !== width || image.height !== height || image.data.length !== frameBytes) {
        throw new VideoError(`${path}: frame is ${image.width}x${image.height}, the video is ${width}x${height}`, path);
      }
      // Not only non-negative: a source whose times go back before its first frame's gives one below 0.
      if (time !== undefined && !Number.isFinite(time)) {
        throw new VideoError(`${path}: a frame's time must be a number of seconds, got ${shownValue(time)}`, path);
      }
      const wanted = time !== undefined ? Math.round(time * MATROSKA_TICKS_PER_SECOND) : frames === 0 ? 0 : lastTick + frameTicks;
      const tick = Math.max(lastTick + 1, wanted);
      // Beyond it, ffmpeg wrote the frame (and those after) just after the one before, silently.
      if (tick - lastTick > maxGapTicks) {
        const seconds = (ticks: number): number => +(ticks / MATROSKA_TICKS_PER_SECOND).toFixed(6);
        throw new VideoError(`${path}: the frame at ${seconds(tick)} s comes ${seconds(tick - lastTick)} s after the one before, more than an ${extname(path).slice(1).toUpperCase()} video holds between two frames (${(maxGapTicks / MATROSKA_TICKS_PER_SECOND / 3600).toFixed(1)} h); give a .mkv name`, path);
      }
      lastTick = tick;
      frames++;
      stdin.write(matroskaFrameHeader(tick, frameTicks, frameBytes));
      if (stdin.write(image.data)) return;
      // Wait for the pipe to drain, or for ffmpeg to die (then drain never comes).
      // A broken pipe (EPIPE) is ffmpeg dying too: its exit says why.
      const drained = await Promise.race([once(stdin, 'drain').then(() => true, () => false), exit.then(() => false, () => false)]);
      if (!drained) {
        const err = await failure().catch((e: unknown) => e as Error);
        await abort();
        throw err;
      }
    },
    async finish() {
      if (state !== 'open') throw new VideoError(`${path}: finish after the encoder was ${state}`, path);
      if (frames === 0) {
        await abort();
        throw new VideoError(`${path}: no frames to write`, path);
      }
      stdin.end();
      let result: { code: number | null };
      try {
        result = await exit;
      } catch (err) {
        await abort();
        throw err;
      }
      if (result.code !== 0) {
        const err = await failure();
        await abort();
        throw err;
      }
      // Aborted while ffmpeg was finishing: its file is being removed.
      if (state !== 'open') throw new VideoError(`${path}: the encoder was ${state} before the video was finished`, path);
      try {
        renaming = rename(temp, path).then(() => {
          state = 'finished';
        });
        await renaming;
      } catch (err) {
        renaming = undefined;
        await abort();
        throw new VideoError(`${path}: cannot move the finished video into place: ${(err as Error).message}`, path, { cause: err });
      }
    },
    abort,
  };
}
