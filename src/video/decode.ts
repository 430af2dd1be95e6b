/**
 * Video decoding with an `ffmpeg` child process: raw `rgb24` frames come over stdout and
 * are handed out one at a time as an async iterable.
 *
 * Backpressure: stdout is only read while the consumer asks for the next frame, so when the
 * consumer is busy the pipe fills and ffmpeg blocks on its write. Memory stays at about one
 * frame plus the pipe buffers however long the video is.
 *
 * Timestamps: ffmpeg runs with a `showinfo` filter at the end of the chain and its frame-rate
 * mode at passthrough (`-vsync`, or `-fps_mode` in ffmpeg 9, which removed `-vsync`), so every
 * frame on stdout has one `showinfo` line on stderr giving its exact presentation
 * time after sampling (and, the first one, the frame size after autorotation). Times are
 * therefore right for variable-frame-rate input too, and count from the start of the input
 * (ffmpeg subtracts the container's start time), `start` included.
 *
 * Inputs: a file path is probed with `ffprobe`. A `Readable` is probed by giving `ffprobe` its
 * bytes as they arrive, until it answers (at most `probeBytes`), keeping them in memory and
 * replaying them into ffmpeg ahead of the rest of the stream; this needs a container that can
 * be read front to back (MPEG-TS, Matroska/WebM, fragmented or `faststart` MP4, …). The stream
 * is consumed, and destroyed if decoding stops early. A network URL is read as such a stream (src/video/url-source.ts).
 *
 * Binaries: `ffmpegPath`/`ffprobePath` options, else `$HIGHER_POSE_FFMPEG`/`$HIGHER_POSE_FFPROBE`,
 * else `ffmpeg`/`ffprobe` on the PATH.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { fstatSync, ReadStream, statSync, type Stats } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { RgbImage } from '../types.js';
import { errorLine, isPositive, isPositiveInt, shownValue, typeName } from '../values.js';
import { openUrlSource, sourceDuration, sourceStop, sourceUrl } from './url-source.js';
import { readBySource, sourceOptionsProblem, type SourceInputOptions } from './source-input.js';

/** A video could not be read or written; `file` names it (a URL input too, read as a stream; undefined for another stream). */
export class VideoError extends Error {
  override name = 'VideoError';
  constructor(message: string, readonly file?: string, options?: ErrorOptions) {
    super(message, options);
  }
}

export interface FfmpegPaths {
  ffmpegPath?: string | undefined;
  ffprobePath?: string | undefined;
}

// An environment variable set but empty is as unset (else: spawn's "The argument 'file' cannot be empty").
export function ffmpegBinary(paths: FfmpegPaths = {}): string {
  return givenBinary(paths.ffmpegPath, 'ffmpegPath') ?? (process.env.HIGHER_POSE_FFMPEG || 'ffmpeg');
}

function ffprobeBinary(paths: FfmpegPaths = {}): string {
  return givenBinary(paths.ffprobePath, 'ffprobePath') ?? (process.env.HIGHER_POSE_FFPROBE || 'ffprobe');
}

/** An option naming a binary; empty or no string, a VideoError naming it (spawn's TypeError named its 'file' argument). */
function givenBinary(path: unknown, option: string): string | undefined {
  if (path === undefined || (typeof path === 'string' && path !== '')) return path;
  throw new VideoError(`${option} must be the path of the binary, got ${shownValue(path)}`);
}

/** Turns a spawn failure into a VideoError that says how to get FFmpeg. */
function spawnError(err: NodeJS.ErrnoException, binary: string, file?: string): VideoError {
  if (err.code === 'ENOENT' || err.code === 'EACCES') {
    return new VideoError(
      `cannot run "${binary}" (${err.code}): video support needs FFmpeg. Install it ` +
        '(Debian/Ubuntu: apt-get install ffmpeg; macOS: brew install ffmpeg; others: https://ffmpeg.org/download.html) ' +
        'or point $HIGHER_POSE_FFMPEG / $HIGHER_POSE_FFPROBE at the binaries',
      file,
      { cause: err },
    );
  }
  return new VideoError(`cannot run "${binary}": ${err.message}`, file, { cause: err });
}

/** The option an ffmpeg takes for its frame-rate mode: `-vsync` up to 8.x, `-fps_mode` from 5.1 on (the only one from 9.0). */
export type SyncOption = '-vsync' | '-fps_mode';

/**
 * Output arguments that give every frame at its own time (none duplicated or dropped for a
 * constant rate), in the input's time base, where frames a tick apart stay apart (the default,
 * 1/frame rate, rounds several into one). ffmpeg 9 removed `-vsync` and `-enc_time_base -1`;
 * their replacements, `-fps_mode` (5.1) and `-enc_time_base demux` (6.1), older ones refuse, so
 * an ffmpeg that has `-vsync` keeps the spelling it always had.
 */
export function passthroughArgs(sync: SyncOption): string[] {
  return sync === '-vsync'
    ? ['-vsync', 'passthrough', '-enc_time_base', '-1']
    : ['-fps_mode', 'passthrough', '-enc_time_base', 'demux'];
}

/** The sync option an ffmpeg's `-h long` lists (`-vsync` first: 5.1 to 8.x list both); undefined where it lists neither, as no ffmpeg does. */
export function syncOptionOf(help: string): SyncOption | undefined {
  if (/^-vsync\b/m.test(help)) return '-vsync';
  if (/^-fps_mode\b/m.test(help)) return '-fps_mode';
  return undefined;
}

/** What an ffmpeg binary printed when asked a question (`-h long`, `-encoders`), and how it exited. */
export interface FfmpegAnswer {
  stdout: string;
  stderr: string;
  code: number | null;
  signal: NodeJS.Signals | null;
}

/**
 * Each ffmpeg binary's answer to each question, asked once per process: a run asks up to three
 * times (its decoding, the second decoding of a sampled overlay, the overlay's encoder; the
 * command line's check of --render too). An answer that failed (no binary there, or one that
 * exited with an error) is not kept: the next asks again, as after an install.
 */
const answers = new Map<string, Promise<FfmpegAnswer>>();

/** `binary`'s answer to `question` (`file`: the video it is asked for, named if the binary cannot run). */
export function askFfmpeg(binary: string, question: readonly string[], file?: string): Promise<FfmpegAnswer> {
  const key = [binary, ...question].join('\0');
  const known = answers.get(key);
  if (known) return known;
  const answer = ffmpegAnswer(binary, question, file);
  answers.set(key, answer);
  const forget = (): void => {
    if (answers.get(key) === answer) answers.delete(key);
  };
  answer.then(({ code }) => {
    if (code !== 0) forget();
  }, forget);
  return answer;
}

async function ffmpegAnswer(binary: string, question: readonly string[], file: string | undefined): Promise<FfmpegAnswer> {
  const child = spawn(binary, ['-hide_banner', ...question], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exit = childExit(child, binary, file);
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const { code, signal } = await exit;
  return { stdout, stderr, code, signal };
}

/** The sync option of `binary`; a binary that cannot run, or is no ffmpeg, is a VideoError (`file`: the video it was for). */
export async function syncOption(binary: string, file?: string): Promise<SyncOption> {
  const { stdout, stderr, code, signal } = await askFfmpeg(binary, ['-h', 'long'], file);
  if (code !== 0) {
    const tail = new StderrTail();
    tail.push(stderr);
    throw new VideoError(`cannot run "${binary}": asked for its options (-h long), it failed (${tail.message() || `exit code ${code ?? signal}`}); video support needs a working FFmpeg, which $HIGHER_POSE_FFMPEG can name`, file);
  }
  // Its log read for the options too: a build may print its help through it.
  const found = syncOptionOf(`${stdout}\n${stderr}`);
  if (!found) throw new VideoError(`"${binary}" is not ffmpeg: its options (-h long) include neither -vsync nor -fps_mode; point $HIGHER_POSE_FFMPEG (or ffmpegPath) at the ffmpeg binary`, file);
  return found;
}

/** Resolves when the child has exited and its pipes are closed; rejects if it could not start. */
export function childExit(
  child: ChildProcess,
  binary: string,
  file?: string,
): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve, reject) => {
    child.once('error', (err) => reject(spawnError(err, binary, file)));
    child.once('close', (code, signal) => resolve({ code, signal }));
  });
}

/** Keeps the end of a child's stderr: enough for the error message, bounded for long runs. */
export class StderrTail {
  /** The end of the log, at most `limit` characters. */
  text = '';
  /** Whether any line logged so far was an error (with ffmpeg's `level` log flag), kept in the tail or not. */
  errorLogged = false;
  constructor(private readonly limit = 16_384) {}
  push(chunk: string): void {
    this.text = (this.text + chunk).slice(-this.limit);
    if (/(^|\] )\[(error|fatal|panic)\] /m.test(chunk)) this.errorLogged = true;
  }
  /**
   * The last few lines logged as errors (ffmpeg's `level` log flag tags them), else the last
   * few lines; `[component @ 0x…]` prefixes and level tags removed.
   */
  message(count = 4): string {
    const lines = this.text
      .split('\n')
      .map((l) => l.replace(/^\[[^\]]+ @ 0x[0-9a-f]+\]\s*/, '').trim())
      .filter((l) => l !== '');
    const errors = lines.filter((l) => /^\[(error|fatal|panic)\]/.test(l));
    return (errors.length > 0 ? errors : lines)
      .slice(-count)
      .map((l) => l.replace(/^\[(trace|debug|verbose|info|warning|error|fatal|panic)\]\s*/, ''))
      .join('; ');
  }
}

export interface VideoInfo {
  /** Frame size after the container's rotation is applied (as ffmpeg autorotates). */
  width: number;
  height: number;
  /**
   * Width of a pixel over its height, after rotation: 1 for square pixels, else the video is shown
   * stretched (anamorphic: DV, HDV's 1440x1080 shown as 16:9). Keypoints are in stored pixels.
   */
  sampleAspectRatio: number;
  /** Average frame rate (frames per second). */
  fps: number;
  /**
   * Seconds from the first frame to the end, when the container says; for a URL (a device, an
   * `inputFormat` input), whose source's stream has none, the duration its source found (`sourceDuration`).
   */
  duration?: number;
  /** Frames in the stream, when the container says. */
  frameCount?: number;
  codec: string;
  /** The container, as ffprobe names it (`mov,mp4,m4a,3gp,3g2,mj2`, `matroska,webm`, `mpegts`, ...). */
  format: string;
}

export interface DecodeOptions extends FfmpegPaths {
  /** Keep every Nth frame (after `fps` sampling); default 1. */
  every?: number | undefined;
  /**
   * Keep at most this many frames per second: the first frame of each 1/`fps` s from the
   * range's start, with its own timestamp (frames are not duplicated to reach a higher rate).
   */
  fps?: number | undefined;
  /** Seconds to skip at the start. */
  start?: number | undefined;
  /** Seconds to decode from `start`. */
  duration?: number | undefined;
  /** Stop after this many frames. */
  maxFrames?: number | undefined;
  /** Most bytes of a stream input that ffprobe reads before it answers (`-probesize`); default 5 MiB. */
  probeBytes?: number | undefined;
  /** Aborting kills ffmpeg; iteration then throws the signal's reason. */
  signal?: AbortSignal | undefined;
  /**
   * Told why a stream input (MPEG-TS, Matroska/WebM) lost its last frames: it ended in the middle
   * of a frame (a live source stopped), which ffmpeg reported as damage. Default: `process.emitWarning`.
   */
  onWarning?: ((message: string) => void) | undefined;
  /**
   * The stall timeout of a URL input (or a device's, an `inputFormat` input's): seconds its source
   * may send no byte while it is read (connecting and ffmpeg's first look at the input, up to 5 s of
   * an MPEG-TS, included) before it is taken as stalled and stopped: the video's end there, as a
   * file's, every frame it sent before still decoded, then a VideoError (`processVideo`: once frames
   * were estimated, the input's end, told to `onWarning`, `sourceStopped()`; before, that
   * VideoError); default 30. Other inputs have none.
   */
  stallTimeout?: number | undefined;
  /**
   * ffmpeg's input format (its `-f` before `-i`: `v4l2`, `avfoundation`, `dshow`, `x11grab`,
   * `lavfi`, ...). The input is then not a file path but ffmpeg's name for it (`/dev/video0`, `0`,
   * `video=Integrated Camera`, `:0.0`, a lavfi graph), read by a source ffmpeg as a URL is, as a
   * live input (ended by `endSignal`, `maxFrames` or `duration`). Not for a stream input.
   */
  inputFormat?: string | undefined;
  /**
   * ffmpeg's input options for a URL, a device or an input with `inputFormat`, name (without its
   * dash) to value, given to its source ffmpeg before `-i` in this order: `{ rtsp_transport: 'tcp' }`,
   * `{ video_size: '1280x720', framerate: '30' }`, `{ timeout: '5000000' }`. An option ffmpeg does
   * not know is ffmpeg's error, a VideoError; those that would break the source (`i`, `f`: give
   * `inputFormat`; `map`, `c`, `loglevel`, ...) are refused, as are options for a file path or a
   * stream, which nothing would read.
   */
  inputOptions?: Readonly<Record<string, string>> | undefined;
}

export interface VideoFrame {
  /** 0, 1, 2, … in the order frames are yielded (after sampling). */
  index: number;
  /** Seconds from the start of the input. */
  time: number;
  image: RgbImage;
}

export interface VideoSource extends AsyncIterable<VideoFrame> {
  readonly info: VideoInfo;
  /** Nominal rate of the yielded frames: `min(fps, info.fps) / every`. */
  readonly outputFps: number;
  /** Frames the options should give for the probed duration (for progress bars); undefined when unknown. */
  readonly expectedFrames?: number;
  /** Live counters: frames ffmpeg has produced and frames handed to the consumer. */
  readonly counts: { readonly decoded: number; readonly delivered: number };
}

const DEFAULT_PROBE_BYTES = 5 * 1024 * 1024;
const MIN_PROBE_BYTES = 32;

/** Probes a video file with ffprobe. */
export async function probeVideo(path: string, paths: FfmpegPaths = {}): Promise<VideoInfo> {
  await assertReadableFile(path);
  return startProbe(ffprobeBinary(paths), `file:${path}`, path).info;
}

/**
 * Probes `input` and returns a source to iterate once. ffmpeg starts when iteration starts and
 * is killed when it ends, early or not. A network URL (`isVideoUrl`), a device (`/dev/video0`)
 * or an input with `inputFormat` is read as a stream (`openUrlSource`), its source ffmpeg started now.
 */
export async function openVideo(input: string | Readable, options: DecodeOptions = {}): Promise<VideoSource> {
  checkInput(input);
  checkSourceOptions(input, options);
  const sampling = checkDecodeOptions(options, typeof input === 'string' ? input : sourceUrl(input));
  options.signal?.throwIfAborted();
  if (typeof input === 'string' && readBySource(input, options)) input = openUrlSource(input, options);
  // What messages name: a URL's (a device's) stream by its URL.
  const name = typeof input === 'string' ? input : sourceUrl(input);
  // Asked while ffprobe runs, so that the first frame does not wait for it; a failure is reported when the frames are read.
  syncOption(ffmpegBinary(options), name).catch(() => {});
  const { info, prefix } = typeof input === 'string'
    ? { info: await probeVideo(input, options), prefix: undefined }
    : await probeStream(input, options.probeBytes ?? DEFAULT_PROBE_BYTES, options, name);
  // A finished file read by a source: its length, for expectedFrames (known once the source wrote what was probed).
  if (typeof input !== 'string') info.duration ??= await sourceDuration(input);
  const outputFps = Math.min(options.fps ?? Infinity, info.fps) / sampling.every;
  const counts = { decoded: 0, delivered: 0 };
  let started = false;
  return {
    info,
    outputFps,
    expectedFrames: expectedFrames(info, options, outputFps),
    counts,
    [Symbol.asyncIterator]() {
      if (started) throw new VideoError(`${label(name)}: a video source can be iterated only once`, name);
      started = true;
      return decodeFrames(input, name, prefix, info, options, sampling.every, outputFps, counts);
    },
  };
}

/**
 * Refuses an input that is neither a path nor a Node stream before any ffprobe starts (one
 * started for a stream it cannot read would wait for its bytes as long as the process lives).
 */
function checkInput(input: unknown): asserts input is string | Readable {
  if (input === '') throw new VideoError('video input is an empty string, not a file path');
  if (typeof input === 'string') return;
  const stream = input as Partial<Readable> | null;
  if (typeof stream?.read === 'function' && typeof stream.on === 'function' && typeof stream.destroy === 'function') return;
  const hint = input instanceof Uint8Array ? ' (for bytes in memory: Readable.from([bytes]))'
    : input instanceof URL ? ' (for a file: URL: fileURLToPath(url))'
    : typeof (input as { getReader?: unknown } | null)?.getReader === 'function' ? ' (for a web ReadableStream: Readable.fromWeb(stream))'
    : '';
  throw new VideoError(`video input must be a file path or a Readable stream, got ${typeName(input)}${hint}`);
}

function label(file: string | undefined): string {
  return file ?? 'video stream';
}

/** Refuses options out of range, each a VideoError naming `file` (the input; undefined for a stream), before any ffmpeg starts. */
export function checkDecodeOptions(options: DecodeOptions, file: string | undefined): { every: number } {
  const bad = (what: string): never => {
    throw new VideoError(`${label(file)}: ${what}`, file);
  };
  const every = options.every ?? 1;
  if (!isPositiveInt(every)) bad(`every must be a positive integer, got ${shownValue(every)}`);
  if (options.fps !== undefined && !isPositive(options.fps)) bad(`fps must be a positive number, got ${shownValue(options.fps)}`);
  if (options.start !== undefined && !(options.start >= 0 && Number.isFinite(options.start))) bad(`start must be a non-negative number of seconds, got ${shownValue(options.start)}`);
  if (options.duration !== undefined && !isPositive(options.duration)) bad(`duration must be a positive number of seconds, got ${shownValue(options.duration)}`);
  // Shorter, it is 0 to ffmpeg, which then reads to the end, for no frame.
  if (options.duration !== undefined && options.duration < 1e-6) bad(`duration must be at least a microsecond (ffmpeg's unit), got ${options.duration} s`);
  // Past 2^53 (1e20) ffmpeg refuses -frames:v, which read as a video it could not decode.
  if (options.maxFrames !== undefined && !(isPositiveInt(options.maxFrames) && Number.isSafeInteger(options.maxFrames))) {
    bad(`maxFrames must be a positive integer (at most ${Number.MAX_SAFE_INTEGER}), got ${shownValue(options.maxFrames)}`);
  }
  if (options.onWarning !== undefined && typeof options.onWarning !== 'function') bad(`onWarning must be a function, got ${shownValue(options.onWarning)}`);
  if (options.stallTimeout !== undefined && !isPositive(options.stallTimeout)) bad(`stallTimeout must be a positive number of seconds, got ${shownValue(options.stallTimeout)}`);
  // Before the probe, rather than once it is done (ffmpeg) or as ffprobe is started.
  for (const binary of [ffprobeBinary, ffmpegBinary]) {
    try {
      binary(options);
    } catch (error) {
      bad(errorLine(error));
    }
  }
  // Else ffprobe refuses it, which read as a video it could not read.
  if (options.probeBytes !== undefined && !(isPositiveInt(options.probeBytes) && options.probeBytes >= MIN_PROBE_BYTES)) {
    bad(`probeBytes must be an integer of at least ${MIN_PROBE_BYTES} (ffprobe's least -probesize), got ${shownValue(options.probeBytes)}`);
  }
  return { every };
}

/** Refuses `inputFormat` and `inputOptions` that `input` cannot take (`sourceOptionsProblem`), a VideoError naming it, before any ffmpeg starts. */
export function checkSourceOptions(input: string | Readable, options: SourceInputOptions): void {
  const problem = sourceOptionsProblem(typeof input === 'string' ? input : undefined, options);
  const file = typeof input === 'string' ? input : sourceUrl(input);
  if (problem) throw new VideoError(`${label(file)}: ${problem}`, file);
}

function expectedFrames(info: VideoInfo, options: DecodeOptions, outputFps: number): number | undefined {
  if (info.duration === undefined) return options.maxFrames;
  const span = Math.max(0, Math.min(info.duration - (options.start ?? 0), options.duration ?? Infinity));
  const frames = Math.ceil(span * outputFps - TIME_EPSILON);
  return options.maxFrames === undefined ? frames : Math.min(frames, options.maxFrames);
}

/** Refuses a path that names no video file: nothing, a folder, a pipe or device (a stream's), an empty file. */
export async function assertReadableFile(path: string): Promise<void> {
  let found: Stats;
  try {
    found = await stat(path);
  } catch (err) {
    throw new VideoError(`${path}: cannot read video file (${(err as Error).message})`, path, { cause: err });
  }
  if (found.isDirectory()) throw new VideoError(`${path}: a folder, not a video file`, path);
  if (!found.isFile()) throw new VideoError(`${path}: not a regular file; read a pipe as a stream (input '-' on the command line, a Readable for openVideo)`, path);
  // Not ffprobe's guess from the name ("moov atom not found" for an empty .mp4).
  if (found.size === 0) throw new VideoError(`${path}: zero-size file, not a video`, path);
}

/**
 * Whether `stream` reads a regular file: `fs.createReadStream` of one, or process.stdin redirected
 * from one (`higher-pose video - < clip.ts`), which Node makes an fs.ReadStream of its fd.
 */
export function readsRegularFile(stream: Readable): boolean {
  if (!(stream instanceof ReadStream)) return false;
  // Its fd while open (stdin's stays so); its path once read to its end and closed.
  const { fd } = stream as ReadStream & { fd?: number | null };
  try {
    return (typeof fd === 'number' ? fstatSync(fd) : statSync(stream.path)).isFile();
  } catch {
    return false;
  }
}

/**
 * Whether `input` is live, sending its frames as they happen, with no end of its own, as known
 * before it is read: a network URL, a device, an input with `inputFormat` (`readBySource`; a
 * finished file among them is known only once its source has opened it: `readsLiveInput`), or a
 * stream that does not read a regular file (a pipe, a camera's, a socket).
 */
export function isLiveInput(input: string | Readable, options: Pick<SourceInputOptions, 'inputFormat'> = {}): boolean {
  return typeof input === 'string' ? readBySource(input, options) : !readsRegularFile(input);
}

/**
 * Whether `input` is live (`isLiveInput`), a source's stream (`openUrlSource`) as its source found
 * its input once it opened it: a finished file (`http://host/clip.mp4`, whose duration ffmpeg
 * knows: `sourceDuration`) is none, and is read as a file is; a camera, a broadcast is.
 */
export async function readsLiveInput(input: string | Readable, options: Pick<SourceInputOptions, 'inputFormat'> = {}): Promise<boolean> {
  const duration = typeof input === 'string' ? undefined : sourceDuration(input);
  return duration ? (await duration) === undefined : isLiveInput(input, options);
}

interface StreamPrefix {
  bytes: Buffer;
  /** The stream ended within the prefix. */
  ended: boolean;
  stream: Readable;
}

/**
 * Probes a stream as its bytes arrive: each chunk goes to ffprobe as it comes and is kept, to be
 * given again to the decoding ffmpeg ahead of the rest. ffprobe answers as soon as it has read
 * what it needs (a few KB of Matroska; about five seconds of MPEG-TS, its analyzeduration), so a
 * live stream's first frame does not wait for `limit` bytes. Reading stops then, at `limit` bytes
 * (ffprobe's `-probesize`) or at the stream's end, and waits while ffprobe has not taken what it
 * was given; the rest stays unread in the stream. An error of the stream after that
 * is kept (the stream's own `errored`) for the decoding to report: the stream keeps a listener,
 * so that it is never an uncaught exception. Aborting, a failed probe or a failed stream destroys it.
 */
function probeStream(stream: Readable, limit: number, options: DecodeOptions, name: string | undefined): Promise<{ info: VideoInfo; prefix: StreamPrefix }> {
  const { signal } = options;
  const where = label(name);
  // A URL's source failing names the URL and its reason already.
  const failure = (err: Error): VideoError => err instanceof VideoError ? err : new VideoError(`${where}: reading failed: ${err.message}`, name, { cause: err });
  if (stream.errored) return Promise.reject(failure(stream.errored));
  if (stream.destroyed && !stream.readableEnded) return Promise.reject(new VideoError(`${where}: the stream was closed before it was read`, name));
  const probe = startProbe(ffprobeBinary(options), 'pipe:0', name, limit);
  const stdin = probe.stdin!;
  // ffprobe stops reading once it knows enough: the broken pipe that follows is expected.
  stdin.on('error', () => {});
  return new Promise((resolve, reject) => {
    const chunks: Uint8Array[] = [];
    let size = 0;
    let ended = stream.readableEnded;
    let settled = false;
    // Read in paused mode ('readable', read()), never pause(): process.stdin stops its pipe on
    // 'pause' a tick later, after the decoding may already have asked it for more.
    let draining = false;
    const stop = (): void => {
      settled = true;
      stream.off('readable', onReadable).off('end', onEnd).off('error', onError).off('close', onClose);
      stdin.off('drain', onDrain);
      signal?.removeEventListener('abort', onAbort);
    };
    const fail = (err: unknown): void => {
      if (settled) return;
      stop();
      probe.kill();
      stream.destroy();
      reject(err);
    };
    const onReadable = (): void => {
      let chunk: unknown;
      // ffprobe reads no further than its -probesize; while it has not taken what it was
      // given, the stream's own buffer fills and it stops reading.
      while (!draining && size < limit && (chunk = stream.read() as unknown) !== null) {
        const bytes = chunkBytes(chunk);
        if (!bytes) {
          fail(new VideoError(`${where}: ${notBytes(chunk)}`, name));
          return;
        }
        chunks.push(bytes);
        size += bytes.length;
        if (size >= limit) stdin.end(bytes);
        else draining = !stdin.write(bytes);
      }
    };
    const onDrain = (): void => {
      draining = false;
      onReadable();
    };
    const onEnd = (): void => {
      ended = true;
      stdin.end();
    };
    const onError = (err: Error): void => fail(failure(err));
    // Destroyed without an error: 'close' comes without 'end'.
    const onClose = (): void => {
      if (!ended) fail(new VideoError(`${where}: the stream closed before it ended`, name));
    };
    const onAbort = (): void => fail(signal!.reason);
    probe.info.then(
      (info) => {
        if (settled) return;
        stop();
        stream.on('error', () => {}); // kept in stream.errored, reported when the frames are read
        resolve({ info, prefix: { bytes: Buffer.concat(chunks), ended, stream } });
      },
      // A URL's source that stopped as it was probed: why it stopped, not what ffprobe made of its first bytes.
      (err: unknown) => fail(sourceStop(stream)?.error ?? (ended && size === 0 ? new VideoError(`${where}: the stream ended without any data, not a video`, name) : err)),
    );
    stdin.on('drain', onDrain);
    signal?.addEventListener('abort', onAbort, { once: true });
    if (ended) {
      stdin.end();
      return;
    }
    stream.on('readable', onReadable).once('end', onEnd).once('error', onError).once('close', onClose);
  });
}

/**
 * A stream chunk as bytes for ffmpeg's stdin; undefined for what is no bytes (an object-mode
 * stream's ArrayBuffer or number), which writing would throw in a stream handler, uncaught.
 */
function chunkBytes(chunk: unknown): Uint8Array | undefined {
  if (typeof chunk === 'string') return Buffer.from(chunk);
  return chunk instanceof Uint8Array ? chunk : undefined;
}

function notBytes(chunk: unknown): string {
  return `a chunk of the stream (${typeName(chunk)}) is not bytes (a Buffer, a Uint8Array or a string)`;
}

/**
 * Starts ffprobe on `target` (`name`: what messages name, a file or a stream's URL); `info` is
 * what it found. With a `probeBytes`, it reads a stream: its stdin is a pipe for the caller to
 * fill, and it reads no more than that.
 */
function startProbe(binary: string, target: string, name: string | undefined, probeBytes?: number): { info: Promise<VideoInfo>; stdin: Writable | null; kill: () => void } {
  const streamed = probeBytes !== undefined;
  const args = ['-v', 'error', '-print_format', 'json', '-show_streams', '-show_format', '-select_streams', 'v'];
  if (streamed) args.push('-probesize', String(probeBytes));
  const child = spawn(binary, [...args, '-i', target], { stdio: [streamed ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
  const exit = childExit(child, binary, name);
  let stdout = '';
  const stderr = new StderrTail();
  child.stdout!.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr!.setEncoding('utf8').on('data', (s: string) => stderr.push(s));
  const info = exit.then(({ code }) => {
    const where = label(name);
    if (code !== 0) {
      const message = stderr.message().replaceAll(`${target}: `, '') || `exit code ${code}`;
      // ffprobe reads a stream front to back: an MP4 whose index comes last fails here.
      const hint = streamed && /moov atom not found/i.test(message) ? FASTSTART_HINT : '';
      throw new VideoError(`${where}: not a readable video (ffprobe: ${message})${hint}`, name);
    }
    return parseProbe(stdout, stderr, name, streamed);
  });
  return { info, stdin: child.stdin, kill: () => void child.kill('SIGKILL') };
}

const FASTSTART_HINT = '; an MP4 read from a stream must have its index first (ffmpeg -movflags +faststart), or pass the file path';
// ffmpeg 5.1 reads a still WebP but not an animated one's frames ("image data not found").
const ANIMATED_WEBP_HINT = '; ffmpeg cannot decode an animated WebP: convert it to a video with another tool, or give it to predict, which reads its first frame';

/** The video stream's description from ffprobe's JSON (`name`: what messages name; `streamed`: read from a stream). */
function parseProbe(stdout: string, stderr: StderrTail, name: string | undefined, streamed: boolean): VideoInfo {
  const where = label(name);
  let parsed: ProbeJson;
  try {
    parsed = JSON.parse(stdout) as ProbeJson;
  } catch {
    throw new VideoError(`${where}: ffprobe printed no JSON (${stderr.message()})`, name);
  }
  const formatName = parsed.format?.format_name ?? '';
  if (TEXT_ART_FORMATS.has(formatName)) {
    throw new VideoError(`${where}: not a video (ffprobe reads it as text art, format ${formatName})`, name);
  }
  const stream = (parsed.streams ?? []).find((s) => s.codec_type === 'video' && !s.disposition?.attached_pic);
  if (!stream) throw new VideoError(`${where}: no video stream found${formatName ? ` (format: ${formatName})` : ''}`, name);
  if (!stream.width || !stream.height) {
    const hint = streamed && formatName.includes('mp4') ? FASTSTART_HINT
      : stream.codec_name === 'webp' || formatName === 'webp_pipe' ? ANIMATED_WEBP_HINT : '';
    const said = stderr.message();
    throw new VideoError(`${where}: not a readable video (ffprobe found no frame size for its ${stream.codec_name ?? 'unknown'} video stream, format ${formatName || 'unknown'}${said ? `: ${said}` : ''})${hint}`, name);
  }
  const fps = parseRate(stream.avg_frame_rate) ?? parseRate(stream.r_frame_rate);
  if (fps === undefined) throw new VideoError(`${where}: the video stream has no frame rate`, name);
  const rotation = Number(stream.side_data_list?.find((d) => d.rotation !== undefined)?.rotation ?? stream.tags?.rotate ?? 0);
  const swap = Math.abs(rotation) % 180 === 90;
  // ffprobe says 0:1 where it does not know, taken as square.
  const sar = parseRate(stream.sample_aspect_ratio?.replace(':', '/')) ?? 1;
  return {
    width: swap ? stream.height : stream.width,
    height: swap ? stream.width : stream.height,
    sampleAspectRatio: swap ? 1 / sar : sar,
    fps,
    duration: positive(stream.duration) ?? formatDuration(parsed.format),
    frameCount: positive(stream.nb_frames),
    codec: stream.codec_name ?? 'unknown',
    format: formatName,
  };
}

/**
 * Containers with an index, where ffmpeg's input seeking (`-ss` before `-i`) lands on the frame
 * asked for. Elsewhere (MPEG-TS: ffmpeg 5.1 started 0.5 s late, on a frame it could not decode
 * whole) the range is cut by a `trim` filter after decoding from the start, exact but slower.
 */
function seeksExactly(format: string): boolean {
  return format.split(',').some((name) => ['mov', 'mp4', 'matroska', 'webm'].includes(name));
}

/**
 * Bare video streams, without timestamps (`.h264`, `.hevc`, `.m4v`, `.m2v`): ffmpeg counts their
 * frames' times in microseconds, each frame's duration rounded (at 30 fps, 0.499995 for frame
 * 15, 3599.964 for the hour's), so that a `start` on a frame missed it. Given the probed rate
 * as the input's, it counts frames at that rate, exactly.
 */
const RAW_STREAM_FORMATS = new Set(['h264', 'hevc', 'm4v', 'mpegvideo']);

/**
 * ffmpeg demuxers that turn text files into pictures (ANSI/ASCII art, chosen by extensions
 * such as .txt): a text file is not a video to estimate poses in.
 */
const TEXT_ART_FORMATS = new Set(['tty', 'bin', 'adf', 'idf', 'xbin']);

interface ProbeJson {
  streams?: {
    codec_type?: string;
    codec_name?: string;
    width?: number;
    height?: number;
    avg_frame_rate?: string;
    r_frame_rate?: string;
    sample_aspect_ratio?: string;
    duration?: string;
    nb_frames?: string;
    disposition?: { attached_pic?: number };
    side_data_list?: { rotation?: number | string }[];
    tags?: { rotate?: string };
  }[];
  format?: { format_name?: string; duration?: string; start_time?: string };
}

/**
 * Containers whose header gives the end time on a timeline from 0 as the format's duration, so
 * a file whose frames start later (cut from a stream, `-output_ts_offset`) adds its offset; the
 * others (MPEG-TS, FLV, ...) give the time from the first frame.
 */
const DURATION_FROM_ZERO = new Set(['matroska', 'webm', 'mov', 'mp4', 'nut']);

/** The format's duration from its first frame on: what frame counts are computed from. */
function formatDuration(format: ProbeJson['format']): number | undefined {
  const duration = positive(format?.duration);
  const start = Number(format?.start_time);
  if (duration === undefined || !(start > 0) || !(format?.format_name ?? '').split(',').some((name) => DURATION_FROM_ZERO.has(name))) return duration;
  const fromFirstFrame = duration - start;
  return fromFirstFrame > 0 ? fromFirstFrame : undefined;
}

function parseRate(rate: string | undefined): number | undefined {
  const [num, den] = (rate ?? '').split('/').map(Number);
  const value = den === undefined ? num : num / den;
  return value !== undefined && Number.isFinite(value) && value > 0 ? value : undefined;
}

function positive(text: string | undefined): number | undefined {
  const value = Number(text);
  return text !== undefined && Number.isFinite(value) && value > 0 ? value : undefined;
}

/**
 * Arguments of the decoding ffmpeg (input `target`: `file:…` or `pipe:0`, `sync` the option it
 * takes); the range by input seeking with `inputSeek` (times then count from `start`), else by a
 * `trim` filter.
 */
function decodeArgs(target: string, info: VideoInfo, options: DecodeOptions, every: number, isFile: boolean, inputSeek: boolean, sync: SyncOption): string[] {
  const { format } = info;
  // Every frame at the probed size, scaled here rather than by ffmpeg rebuilding the filters where
  // the size changes (streams put end to end): rebuilt, select and fps counted afresh, --every
  // sampling frames out of step from there on.
  const filters = [`scale=${info.width}:${info.height}`];
  const range = [
    ...(options.start !== undefined ? [`start=${ffmpegSeconds(options.start)}`] : []),
    ...(options.duration !== undefined ? [`duration=${ffmpegSeconds(options.duration)}`] : []),
  ];
  if (!inputSeek && range.length > 0) filters.push(`trim=${range.join(':')}`);
  if (options.fps !== undefined) filters.push(firstFramePerSlot(options.fps, inputSeek ? 0 : options.start ?? 0));
  if (every > 1) filters.push(`select=not(mod(n\\,${every}))`);
  // Last but for setpts, so that it reports exactly the frames written to stdout, with their own times.
  filters.push('showinfo');
  // Then times that always increase, for the rawvideo muxer: a frame with the time of the one
  // before it (a Matroska file whose timestamps repeat) it logs as an error, which read as damage.
  // Not the frame number: it starts again at 0 where ffmpeg rebuilds the filters (the size changes).
  filters.push('setpts=if(isnan(PREV_OUTPTS)\\,PTS\\,max(PTS\\,PREV_OUTPTS+1))');
  return [
    // Verbose for the bytes it read of its input (the last line), to tell a stream cut at its end from damage before it.
    '-hide_banner', '-nostats', '-loglevel', 'level+verbose',
    // A damaged or truncated input is an error, not a video that ends early (ffmpeg would exit 0).
    // Not for multipart JPEG (IP cameras' MJPEG over HTTP): its demuxer reports its end as invalid data.
    ...(format === 'mpjpeg' ? [] : ['-xerror']),
    ...(isFile ? ['-nostdin'] : []),
    ...(inputSeek && options.start !== undefined ? ['-ss', ffmpegSeconds(options.start)] : []),
    ...(inputSeek && options.duration !== undefined ? ['-t', ffmpegSeconds(options.duration)] : []),
    ...(RAW_STREAM_FORMATS.has(format) ? ['-r', String(info.fps)] : []),
    '-reinit_filter', '0',
    '-i', target,
    // The stream probed: the first video stream that is not a cover picture ('v' may be the cover,
    // where an MP4 lists it first, and give its one picture as the video).
    '-map', '0:V:0', '-an', '-sn', '-dn',
    '-vf', filters.join(','),
    // Without them the rawvideo muxer duplicates frames to a constant rate, or logs frames that
    // setpts keeps a tick apart, rounded into one, as an error.
    ...passthroughArgs(sync),
    ...(options.maxFrames !== undefined ? ['-frames:v', String(options.maxFrames)] : []),
    '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1',
  ];
}

/**
 * The most seconds given to ffmpeg: its times are 64-bit counts of microseconds (at most about
 * 9.2e12 s), and it refused a time beyond as invalid. Any video ends long before.
 */
const LONGEST_SECONDS = 9e12;

/**
 * Seconds as ffmpeg's time options read them: to the microsecond, its unit, never as 1e-7 or
 * 1e+21, which they refuse, and no more than it can count.
 */
function ffmpegSeconds(seconds: number): string {
  return Math.min(seconds, LONGEST_SECONDS).toFixed(6);
}

/**
 * A `select` filter keeping the first frame of each slot of 1/`fps` s counted from `origin`
 * (the range's start as the filters see it). Unlike ffmpeg's `fps` filter, which stamps the frame
 * it keeps with the slot's time (at 1 fps, time 0 showed the frame of 0.48 s), the frames keep
 * their own timestamps, so a frame's time is the time of its picture. At or above the source's
 * rate every frame is kept: frames are never duplicated.
 */
function firstFramePerSlot(fps: number, origin: number): string {
  // The epsilon keeps a frame that falls on a slot's start in that slot despite rounding.
  const slot = (time: string): string => `floor((${time}-${origin})*${fps}+1e-6)`;
  return `select=isnan(prev_selected_t)+gte(${slot('t')}\\,${slot('prev_selected_t')}+1)`;
}

interface FrameMeta {
  time: number;
  width: number;
  height: number;
  /** ffmpeg had logged an error before it gave this frame. */
  afterDamage: boolean;
}

/**
 * The most frames ffmpeg may give after it reported damage, for the damage to be a stream's end
 * cut mid-frame: those its decoder still held (up to 16 frame threads, and frames held back for
 * reordering) when it met the cut frame, the last it was given.
 */
const FRAMES_AFTER_CUT = 64;

/** Rounding in times (ffmpeg prints them to the microsecond): a frame at a range's end, give or take this, is outside it. */
const TIME_EPSILON = 1e-6;

/** A `showinfo` line; a frame without a timestamp has `pts:  NOPTS pts_time:NOPTS` (its time is then NaN). */
const SHOWINFO = /\bn:\s*\d+\s+pts:\s*(?:-?\d+|NOPTS)\s+pts_time:(\S+).*?\bs:(\d+)x(\d+)/;

/** ffmpeg's statistics of its input, logged as it closes it (verbose): the bytes it read. */
const BYTES_READ = /\] Statistics: (\d+) bytes read\b/;

/**
 * ffmpeg's Matroska demuxer meeting the input's end inside an element ("File ended prematurely",
 * some with "at pos. N"): it drops the incomplete block unread, and the decoder never sees it.
 */
const MATROSKA_ENDED_EARLY = /^\[matroska,webm @ 0x[0-9a-f]+\] \[error\] File ended prematurely\b/;

/** Frame metadata from the `showinfo` lines, in order, with a way to wait for the next one. */
class MetaQueue {
  private items: FrameMeta[] = [];
  /** Frames reported so far, i.e. produced by ffmpeg. */
  produced = 0;
  /** Bytes ffmpeg read of its input, once it has closed it. */
  bytesRead: number | undefined;
  /** A Matroska input ended inside an element: logged as an error, but not counted in the tail's `errorLogged`. */
  matroskaEndedEarly = false;
  private closed = false;
  private wake: (() => void) | undefined;
  private partial = '';
  /** `joinable`: a format streamed from any point (MPEG-TS), whose errors before the first frame are not damage. */
  constructor(private readonly tail: StderrTail, private readonly joinable: boolean) {}
  push(text: string): void {
    const lines = (this.partial + text).split('\n');
    this.partial = lines.pop() ?? '';
    for (const line of lines) {
      const m = SHOWINFO.exec(line);
      if (m) this.add({ time: Number(m[1]), width: Number(m[2]), height: Number(m[3]), afterDamage: false });
      else if (line.includes('[verbose] ')) this.bytesRead = Number(BYTES_READ.exec(line)?.[1] ?? this.bytesRead);
      else if (MATROSKA_ENDED_EARLY.test(line)) {
        // Kept in the tail for the message; a cut or damage, as decodeFrames judges at the end. The
        // frames the decoder still gives after it are whole, not damaged ones.
        const errorBefore = this.tail.errorLogged;
        this.tail.push(`${line}\n`);
        this.tail.errorLogged = errorBefore;
        this.matroskaEndedEarly = true;
      } else if (!line.includes('Parsed_showinfo')) this.tail.push(`${line}\n`);
    }
  }
  close(): void {
    this.push('\n');
    this.closed = true;
    this.notify();
  }
  /** The next frame's metadata; undefined when stderr ended without one. */
  async next(): Promise<FrameMeta | undefined> {
    while (this.items.length === 0 && !this.closed) await new Promise<void>((r) => (this.wake = r));
    return this.items.shift();
  }
  private add(meta: FrameMeta): void {
    // Errors logged before an MPEG-TS's first frame, which ffmpeg went on from, are those of
    // frames it skipped as undecodable at the start of a stream joined mid-way (a live or
    // broadcast capture: no keyframe or parameter sets before them yet), not damage. Elsewhere
    // they are: an MP4 whose first keyframe is damaged logs them, then gives that frame concealed.
    if (this.produced === 0 && this.joinable) this.tail.errorLogged = false;
    this.items.push({ ...meta, afterDamage: this.tail.errorLogged });
    this.produced++;
    this.notify();
  }
  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}

/** `promise`, or a rejection with the signal's reason as soon as it is aborted. */
function unlessAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  return new Promise((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    if (signal.aborted) onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

async function* decodeFrames(
  input: string | Readable,
  name: string | undefined,
  prefix: StreamPrefix | undefined,
  info: VideoInfo,
  options: DecodeOptions,
  every: number,
  outputFps: number,
  counts: { decoded: number; delivered: number },
): AsyncGenerator<VideoFrame> {
  const file = typeof input === 'string' ? input : undefined;
  // Messages name the file, or a URL's stream by its URL.
  const where = label(name);
  const binary = ffmpegBinary(options);
  let sync: SyncOption;
  try {
    sync = await unlessAborted(syncOption(binary, name), options.signal);
    // Aborted between probing and the first frame (or just as the option came): ffmpeg is not started.
    options.signal?.throwIfAborted();
  } catch (error) {
    prefix?.stream.destroy();
    throw error;
  }
  const target = file !== undefined ? `file:${file}` : 'pipe:0';
  const { format } = info;
  const inputSeek = file !== undefined && seeksExactly(format);
  const args = decodeArgs(target, info, options, every, file !== undefined, inputSeek, sync);
  // Out of a terminal's reach, as the encoder: higher-pose decides what a Ctrl-C stops, and ffmpeg's own exit on it could come before higher-pose heard it.
  const child = spawn(binary, args, { stdio: [prefix ? 'pipe' : 'ignore', 'pipe', 'pipe'], detached: true });
  const exit = childExit(child, binary, name);
  // Observed below; this keeps an early spawn failure from being an unhandled rejection meanwhile.
  exit.catch(() => {});
  const tail = new StderrTail();
  const metas = new MetaQueue(tail, format === 'mpegts');
  child.stderr!.setEncoding('utf8').on('data', (s: string) => {
    metas.push(s);
    counts.decoded = metas.produced;
  });
  child.stderr!.once('close', () => metas.close());
  let inputError: Error | undefined;
  // Whether the stream has ended, and the bytes of it handed to ffmpeg. Not awaited once ffmpeg
  // has exited: a live source that has stopped sending without ending would never let that end.
  let streamEnded = false;
  let bytesGiven = 0;
  if (prefix) {
    child.stdin!.on('error', () => {}); // ffmpeg may exit before reading everything (maxFrames, early stop).
    const { bytes, ended, stream } = prefix;
    pipeline(async function* () {
      bytesGiven += bytes.length;
      yield bytes;
      if (!ended) {
        try {
          for await (const chunk of stream as AsyncIterable<unknown>) {
            const read = chunkBytes(chunk);
            if (!read) throw new TypeError(notBytes(chunk));
            bytesGiven += read.length;
            yield read;
          }
        } catch (err) {
          inputError = err as Error;
          throw err;
        }
      }
      streamEnded = true;
    }, child.stdin!).catch(() => {});
  }
  const kill = (): void => {
    child.kill('SIGKILL');
  };
  options.signal?.addEventListener('abort', kill, { once: true });
  const start = options.start ?? 0;
  // Input seeking makes the times count from `start`; trimmed, they count from the input's start.
  const timeOffset = inputSeek ? start : 0;
  let previousTime = start - 1 / outputFps;
  const end = options.duration !== undefined ? start + options.duration : Infinity;
  // ffmpeg names the input in some messages; ours names it already.
  const reason = (): string => tail.message().replaceAll(`${target}: `, '');
  const damage = (): VideoError => new VideoError(`${where}: ffmpeg reported damage and stopped early (${reason()})`, name);
  // A live stream (a camera's or a broadcast, a browser's MediaRecorder, on a pipe) may end cut
  // mid-frame when its source stops. A stream that reads a regular file (stdin redirected from
  // one) is that file: it cannot have been cut by a stopped source.
  const streamed = prefix !== undefined && !readsRegularFile(prefix.stream);
  // An MPEG-TS's header gives no length to tell a cut from an end, and ffmpeg decodes the cut
  // frame: frames given after ffmpeg reported damage are held back as those of such a cut, until ffmpeg ends.
  const liveTs = streamed && format === 'mpegts';
  // Matroska/WebM: the demuxer names the cut and drops the incomplete block; but it resyncs after
  // damage and reads on, so a stream read to its end with any other error is still damage.
  const liveMatroska = streamed && format === 'matroska,webm';
  let afterDamage = 0;
  let finished = false;
  try {
    let meta: FrameMeta | undefined;
    let frame: Uint8Array | undefined;
    let filled = 0;
    // Every frame has the first one's size: where the size changes midway (a browser's
    // recording, streams put end to end), the first filter scales the frames to the probed size.
    let size: { width: number; height: number } | undefined;
    for await (const chunk of child.stdout! as AsyncIterable<Buffer>) {
      let offset = 0;
      while (offset < chunk.length) {
        if (!frame) {
          meta = await metas.next();
          if (!meta) throw new VideoError(`${where}: ffmpeg wrote frame data without frame information`, name);
          size ??= { width: meta.width, height: meta.height };
          frame = new Uint8Array(size.width * size.height * 3);
          filled = 0;
        }
        const n = Math.min(frame.length - filled, chunk.length - offset);
        frame.set(chunk.subarray(offset, offset + n), filled);
        filled += n;
        offset += n;
        if (filled === frame.length) {
          // A frame without a timestamp (showinfo prints NOPTS) follows the previous one at the nominal rate.
          const time = Number.isFinite(meta!.time) ? timeOffset + meta!.time : previousTime + 1 / outputFps;
          previousTime = time;
          // ffmpeg measures the duration from the first frame it keeps, which can lie beyond a
          // range shorter than a frame: such a frame is not in the range.
          if (time >= end - TIME_EPSILON) {
            frame = undefined;
            continue;
          }
          if (liveTs && meta!.afterDamage) {
            frame = undefined;
            // So many that the damage lies before the stream's end: not a cut.
            if (++afterDamage > FRAMES_AFTER_CUT) throw damage();
            continue;
          }
          const out: VideoFrame = {
            index: counts.delivered,
            time: Math.round(time * 1e6) / 1e6,
            image: { data: frame, width: size!.width, height: size!.height },
          };
          frame = undefined;
          counts.delivered++;
          yield out;
        }
      }
    }
    const { code, signal } = await exit;
    options.signal?.throwIfAborted();
    if (inputError instanceof VideoError) throw inputError;
    if (inputError) throw new VideoError(`${where}: reading the input stream failed: ${inputError.message}`, name, { cause: inputError });
    const readAll = signal === null && streamEnded && metas.bytesRead === bytesGiven;
    // A URL's source that stopped part-way (stalled, its reading failed) ended the stream: its frames are
    // all given, then why it ended (processVideo takes it as the input's end); its last frame, maybe cut, dropped.
    // Not where the frames asked for were all given: the stop, come with the last of them, cut nothing
    // (maxFrames of them, or the range's last: the next frame would lie past its end).
    const stop = prefix && sourceStop(prefix.stream);
    const rangeDone = counts.delivered > 0 && previousTime + 1 / outputFps >= end - TIME_EPSILON;
    const allAskedFor = (options.maxFrames !== undefined && counts.delivered >= options.maxFrames) || rangeDone;
    if (stop && readAll && !allAskedFor) throw stop.error;
    const readToEnd = readAll && counts.delivered > 0;
    // Read to its end by ffmpeg, which stops at an MPEG-TS's first damage: the stream ended within its last frame.
    const cutTs = liveTs && tail.errorLogged;
    const cutMatroska = liveMatroska && metas.matroskaEndedEarly && !tail.errorLogged;
    if (readToEnd && (cutTs || cutMatroska)) {
      // The frames before it are kept.
      const dropped = afterDamage === 0 ? 'the cut one dropped' : `the ${afterDamage} from then on dropped`;
      const warn = options.onWarning ?? ((message: string) => process.emitWarning(message));
      warn(`${where}: the stream ended in the middle of a frame (ffmpeg: ${reason()}); the ${counts.delivered} frames decoded before it are kept, ${dropped}`);
      finished = true;
      return;
    }
    if (code !== 0) throw new VideoError(`${where}: ffmpeg could not decode it (${reason() || `exit code ${code ?? signal}`})`, name);
    // Some damage ffmpeg logs as an error and ends the video there with exit code 0, -xerror or
    // not: a Matroska or WebM file cut short ("File ended prematurely").
    if ((tail.errorLogged || metas.matroskaEndedEarly) && format !== 'mpjpeg') throw damage();
    if (frame) throw new VideoError(`${where}: ffmpeg output ended in the middle of a frame`, name);
    finished = true;
  } finally {
    options.signal?.removeEventListener('abort', kill);
    // Nothing more is wanted from the input stream, even where ffmpeg stopped on its own
    // (maxFrames, the end of a range) while the stream stays open (a live source).
    prefix?.stream.destroy();
    if (!finished) {
      // Early stop or error: nor from ffmpeg.
      child.kill('SIGKILL');
      await exit.catch(() => {});
    }
  }
}
