/**
 * Writing RGB frames to an MP4 with an `ffmpeg` child process (libx264 when the build has it,
 * else mpeg4; yuv420p, which needs even sizes, so odd sizes get one padding row/column).
 *
 * ffmpeg writes to a temporary file beside the target, renamed to the target only when
 * `finish()` succeeds: an error or `abort()` removes it, so a failed run never leaves a
 * half-written video under the final name.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { rename, rm, stat } from 'node:fs/promises';
import type { RgbImage } from '../types.js';
import { childExit, ffmpegBinary, StderrTail, VideoError, type FfmpegPaths } from './decode.js';
import { outputFileProblem, temporaryPathBeside } from '../io/atomic.js';
import { isPositiveInt, typeName } from '../values.js';

export interface EncoderOptions extends FfmpegPaths {
  width: number;
  height: number;
  /** Frames per second of the output. */
  fps: number;
  /** Width of a pixel over its height, as players are told (default 1): that of an anamorphic source keeps its shape. */
  sampleAspectRatio?: number;
  /** `auto` (default): libx264 if this ffmpeg has it, else mpeg4. */
  codec?: 'auto' | 'libx264' | 'mpeg4';
}

export interface VideoEncoder {
  /** Codec actually used. */
  readonly codec: 'libx264' | 'mpeg4';
  /** Frames written so far. */
  readonly frames: number;
  /** Queues one frame; resolves when ffmpeg can take more (pipe backpressure). */
  write(image: RgbImage): Promise<void>;
  /** Ends the video and moves it to its final name. */
  finish(): Promise<void>;
  /** Stops ffmpeg and removes the temporary file; safe to call after finish or twice. */
  abort(): Promise<void>;
}

/** Whether this ffmpeg build lists the libx264 encoder. */
async function hasLibx264(paths: FfmpegPaths = {}): Promise<boolean> {
  const binary = ffmpegBinary(paths);
  const child = spawn(binary, ['-hide_banner', '-encoders'], { stdio: ['ignore', 'pipe', 'ignore'] });
  const exit = childExit(child, binary);
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (s: string) => (out += s));
  await exit;
  return /^\s*V\S*\s+libx264\s/m.test(out);
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
 * `checkOutputPath`, and a FIFO or a device (/dev/stdout) refused: an MP4 is written with seeks
 * (its index, moved to the front), which a pipe cannot take, and renaming the finished file over
 * one would replace the FIFO or device itself.
 */
export async function checkVideoOutputPath(path: string, what = 'an output'): Promise<void> {
  await checkOutputPath(path, what);
  const existing = await stat(path).catch(() => undefined);
  if (existing && !existing.isFile()) {
    throw new VideoError(`${path}: is a FIFO or a device, not a file; an MP4 video needs a file (ffmpeg seeks in it), give a file name`, path);
  }
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
  const codec = options.codec === undefined || options.codec === 'auto' ? ((await hasLibx264(options)) ? 'libx264' : 'mpeg4') : options.codec;
  // Unique to this process and call (a random part), unlike the time in ms it once had.
  const temp = temporaryPathBeside(path);
  const binary = ffmpegBinary(options);
  const args = [
    '-hide_banner', '-nostats', '-loglevel', 'level+error', '-y',
    '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${width}x${height}`, '-framerate', String(fps), '-i', 'pipe:0',
    '-vf', `pad=ceil(iw/2)*2:ceil(ih/2)*2,setsar=${sar}`,
    '-c:v', codec,
    ...(codec === 'libx264' ? ['-preset', 'veryfast', '-crf', '23'] : ['-q:v', '4']),
    '-pix_fmt', 'yuv420p', '-movflags', '+faststart', '-f', 'mp4', temp,
  ];
  const child = spawn(binary, args, { stdio: ['pipe', 'ignore', 'pipe'] });
  const exit = childExit(child, binary, path);
  exit.catch(() => {}); // observed in write/finish/abort
  const tail = new StderrTail();
  child.stderr!.setEncoding('utf8').on('data', (s: string) => tail.push(s));
  const stdin = child.stdin!;
  stdin.on('error', () => {}); // a dying ffmpeg closes its stdin: reported through its exit
  const frameBytes = width * height * 3;
  let frames = 0;
  let state: 'open' | 'finished' | 'aborted' = 'open';

  const failure = async (): Promise<VideoError> => {
    const { code, signal } = await exit;
    return new VideoError(`${path}: ffmpeg could not encode the video (${tail.message() || `exit code ${code ?? signal}`})`, path);
  };
  const abort = async (): Promise<void> => {
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
    async write(image) {
      if (state !== 'open') throw new VideoError(`${path}: write after the encoder was ${state}`, path);
      if (image.width !== width || image.height !== height || image.data.length !== frameBytes) {
        throw new VideoError(`${path}: frame is ${image.width}x${image.height}, the video is ${width}x${height}`, path);
      }
      frames++;
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
      try {
        await rename(temp, path);
      } catch (err) {
        await abort();
        throw new VideoError(`${path}: cannot move the finished video into place: ${(err as Error).message}`, path, { cause: err });
      }
      state = 'finished';
    },
    abort,
  };
}
