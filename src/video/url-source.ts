/**
 * Video from a network URL (a camera's `rtsp://`, an `http://` file or stream, ...), a device
 * (`/dev/video0`) or another input ffmpeg reads with an input format (`inputFormat`: `v4l2`,
 * `avfoundation`, `dshow`, `x11grab`, `lavfi`, ...): a "source" ffmpeg reads it and writes its
 * video stream as a live Matroska stream on its stdout (Matroska carries every codec, MPEG-TS not
 * VP8/VP9), which is then read as any stream input is (probed, decoded, its cut end tolerated,
 * ended by `endSignal`). A source that stops part-way (it stalls, or its reading fails) ends the
 * stream there, as a camera gone offline: what it sent is read to its end, and `sourceStop` says
 * why it ended. Its input's duration, which ffmpeg logs as it opens it, tells a finished file
 * (`http://host/clip.mp4`) from a live input (`sourceDuration`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { PassThrough, type Readable } from 'node:stream';
import { childExit, ffmpegBinary, StderrTail, VideoError, type FfmpegPaths } from './decode.js';
import type { SourceInputOptions } from './source-input.js';

/** The network protocols ffmpeg reads a video from, read directly rather than taken as a file path. */
export const URL_SCHEMES = ['rtsp', 'rtsps', 'rtmp', 'rtmps', 'http', 'https', 'srt', 'udp', 'tcp'] as const;

const URL_PATTERN = new RegExp(`^(${URL_SCHEMES.join('|')})://`, 'i');

/** Whether a video input string is a URL of one of `URL_SCHEMES` (case-insensitive), not a file path. */
export function isVideoUrl(input: string): boolean {
  return URL_PATTERN.test(input);
}

/** Seconds a URL's source may send nothing (connecting included) before it is taken as stalled. */
export const DEFAULT_STALL_TIMEOUT = 30;

/** The longest timer Node keeps (about 24.8 days): a longer one fires at once. */
const LONGEST_TIMER_MS = 2 ** 31 - 1;

/**
 * URLs whose reads ffmpeg's own `rw_timeout` bounds (its http, https and tcp protocols). Timed
 * out, ffmpeg ends the input as at its end: the demuxer, parser and muxer hand on the last packet
 * each held, which killing it loses (1-3 frames). Others (rtsp, rtmp, srt, udp, devices) are killed.
 */
const TIMED_BY_FFMPEG = /^(https?|tcp):\/\//i;

/** How long the watchdog waits beyond an ffmpeg that times out itself: for what its timeout does not bound (a DNS lookup). */
const BACKSTOP_MS = 2000;

export interface UrlSourceOptions extends FfmpegPaths, SourceInputOptions {
  /** Seconds without a byte from the source while its reader waits for one (connecting included); a positive number, default 30. */
  stallTimeout?: number | undefined;
}

/** The URL each source stream reads, for messages about the stream to name it. */
const sourceUrls = new WeakMap<Readable, string>();

/** The URL `stream` reads, where `openUrlSource` made it. */
export function sourceUrl(stream: Readable): string | undefined {
  return sourceUrls.get(stream);
}

/** How a source stopped part-way, which ended its stream there. */
export interface SourceStop {
  /** The VideoError naming the URL, for a reader that takes the end as a failure (`openVideo`). */
  error: VideoError;
  /** How it stopped, without the URL (`no data came for 30 s`). */
  reason: string;
}

const sourceStops = new WeakMap<Readable, SourceStop>();

/**
 * How the source of `stream` (made by `openUrlSource`) stopped part-way, after sending bytes: it
 * stalled, or its reading failed. Its stream was then ended, not destroyed, so that what came before
 * is read to its end; this is known before that end. Undefined where the source did not stop so.
 */
export function sourceStop(stream: Readable): SourceStop | undefined {
  return sourceStops.get(stream);
}

const sourceDurations = new WeakMap<Readable, Promise<number | undefined>>();

/**
 * The duration in seconds of the input the source of `stream` (made by `openUrlSource`) reads, as
 * ffmpeg found it on opening it (its `Duration:` line): a finished file's, which its header gives
 * (an MP4, a Matroska file over http); undefined for a live input (`Duration: N/A`: a camera, a
 * broadcast, a lavfi graph, an MPEG-TS whose length ffmpeg does not find) or where the source
 * stopped before saying. Settled before the source writes its first byte, or once it has stopped.
 * Undefined (no promise) for a stream `openUrlSource` did not make.
 */
export function sourceDuration(stream: Readable): Promise<number | undefined> | undefined {
  return sourceDurations.get(stream);
}

/** A line ffmpeg logs below the error level (`[info]`, `[warning]`, a component's `[mpegts @ 0x…]` first). */
const BELOW_ERROR = /^(\[[^\]]+ @ 0x[0-9a-f]+\] )?\[(trace|debug|verbose|info|warning)\] /;
/** The input's duration, in its dump (`Input #0, mov,mp4,...`), which comes before the output's (`Output #0`). */
const DURATION_LINE = /^\[info\]\s+Duration: (?:(\d+):(\d+):(\d+(?:\.\d+)?)|N\/A)/;

/**
 * The video stream of `url` (a URL; a device or any input with `inputFormat`, as `readBySource`
 * says), as a live Matroska stream: a URL's stream copied as it is; a device's, often raw video,
 * decoded by the source into raw BGR, a layout Matroska's demuxer reads back as it was written
 * (raw RGB, as lavfi's and x11grab's, came back with red and blue swapped; others, as 16-bit gray,
 * not at all). The source ffmpeg is killed when the stream is destroyed (the run ended early or
 * was aborted), or when it sends nothing for `stallTimeout` seconds while the stream is read (an
 * http, https or tcp URL's ffmpeg times out by itself then, every frame it read written). That
 * stall, or its failure (connection refused, 404, no video stream; part-way, a connection reset,
 * which ffmpeg logs naming the URL and takes as the video's end, its last packet maybe cut),
 * destroys the stream with a VideoError naming the URL and the reason where no byte came; after
 * bytes, it ends the stream there, `sourceStop` saying why. `sourceDuration` gives its input's duration.
 */
export function openUrlSource(url: string, options: UrlSourceOptions = {}): Readable {
  const binary = ffmpegBinary(options);
  const stallSeconds = options.stallTimeout ?? DEFAULT_STALL_TIMEOUT;
  // Not where the caller set it: its timeout, then, is the caller's, and its message ffmpeg's.
  const timesOutItself = TIMED_BY_FFMPEG.test(url) && !Object.hasOwn(options.inputOptions ?? {}, 'rw_timeout');
  const args = [
    // At the info level for the input's duration, which ffmpeg logs as it opens it (a few lines).
    '-hide_banner', '-nostats', '-loglevel', 'level+info', '-nostdin',
    ...(options.inputFormat !== undefined ? ['-f', options.inputFormat] : []),
    ...(timesOutItself ? ['-rw_timeout', String(Math.round(stallSeconds * 1e6))] : []),
    ...Object.entries(options.inputOptions ?? {}).flatMap(([name, value]) => [`-${name}`, value]),
    '-i', url,
    '-map', '0:v:0',
    ...(isVideoUrl(url) ? ['-c', 'copy'] : ['-c:v', 'rawvideo', '-pix_fmt', 'bgr24']),
    // Each packet in a cluster of its own, written as the next one comes: else up to a second of
    // frames waits in the muxer (latency), and is lost when a stalled source is killed.
    '-cluster_size_limit', '0',
    // Raw video is written to Matroska only when asked for (as Video for Windows' bitmaps);
    // written front to back, without the index a seekable file gets at its end.
    '-allow_raw_vfw', '1', '-live', '1', '-f', 'matroska', 'pipe:1',
  ];
  // Out of a terminal's reach, as the decoder: a Ctrl-C ends a live input through higher-pose, its poses kept.
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const stream = new PassThrough();
  sourceUrls.set(stream, url);
  let reportDuration!: (seconds: number | undefined) => void;
  sourceDurations.set(stream, new Promise((resolve) => (reportDuration = resolve)));
  // The errors alone are kept, as at the error level: the failures' messages and the read failure's
  // detection see only them; the lines below it are read for the input's duration.
  const tail = new StderrTail();
  let partLine = '';
  const readLine = (line: string): void => {
    if (!BELOW_ERROR.test(line)) {
      tail.push(`${line}\n`);
      return;
    }
    const duration = DURATION_LINE.exec(line);
    if (duration) {
      const [, hours, minutes, secs] = duration;
      const seconds = hours === undefined ? 0 : +hours * 3600 + +minutes! * 60 + +secs!;
      reportDuration(seconds > 0 ? seconds : undefined);
    } else if (line.startsWith('[info] Output #')) {
      // Its output's dump follows its input's: an input that logged no duration has none.
      reportDuration(undefined);
    }
  };
  child.stderr!.setEncoding('utf8').on('data', (text: string) => {
    const lines = (partLine + text).split('\n');
    partLine = lines.pop()!;
    for (const line of lines) readLine(line);
  });
  child.stderr!.once('end', () => {
    if (partLine !== '') readLine(partLine);
  });
  const stop = (reason: string, hint = ''): void => {
    const error = new VideoError(`${url}: ${reason}${hint}`, url);
    if (bytes === 0) {
      stream.destroy(error);
      return;
    }
    // As a camera gone offline: its video ends there, every frame it sent still to be read.
    sourceStops.set(stream, { error, reason });
    stream.end();
  };
  // The watchdog counts only while the stream's reader waits for bytes: a reader that is busy
  // (the estimator on a slow frame) holds the source back, which is no stall. (ffmpeg's own
  // timeout counts while it waits to read: held back, it waits to write.)
  let watchdog: NodeJS.Timeout | undefined;
  let stalled = false;
  const stopWatchdog = (): void => clearTimeout(watchdog);
  const startWatchdog = (): void => {
    stopWatchdog();
    watchdog = setTimeout(() => {
      // Stopped once its exit is seen, after what it had written.
      stalled = true;
      killGroup(child);
    }, Math.min(stallSeconds * 1000 + (timesOutItself ? BACKSTOP_MS : 0), LONGEST_TIMER_MS));
  };
  let bytes = 0;
  child.stdout!.on('data', (chunk: Buffer) => {
    // Once the stream is destroyed, what the killed source had sent is discarded (see 'close').
    if (stream.destroyed) return;
    bytes += chunk.length;
    if (stream.write(chunk)) startWatchdog();
    else {
      stopWatchdog();
      child.stdout!.pause();
    }
  });
  stream.on('drain', () => {
    startWatchdog();
    child.stdout!.resume();
  });
  startWatchdog();
  stream.once('close', () => {
    reportDuration(undefined);
    stopWatchdog();
    killGroup(child);
    // Paused (the stream was full), its pipe would never end: the child's 'close' never came, and the pipe was left open.
    child.stdout!.resume();
  });
  // Ended only once the source has exited and all it wrote is in the stream: a failure must reach
  // the reader as an error, or as a `sourceStop`, not as a plain end.
  childExit(child, binary, url).then(
    ({ code, signal }) => {
      reportDuration(undefined);
      stopWatchdog();
      if (stream.destroyed) return;
      // ffmpeg ends a reading that failed (a connection reset, its own timeout) as the video's end,
      // exit code 0, having logged the failure naming its input; other errors logged (frames of a
      // stream joined mid-way that it could not decode as it probed them, a damaged packet it
      // skipped) end nothing.
      const failures = tail.text.split('\n').filter((line) => line.startsWith(`[error] ${url}: `));
      if (stalled || (timesOutItself && failures.some((line) => / timed out$/i.test(line)))) {
        stop(`no data came for ${stallSeconds} s`, ' (a longer stallTimeout, --stall-timeout on the command line, waits longer)');
        return;
      }
      const readFailed = failures.length > 0;
      if (code === 0 && !readFailed) {
        stream.end();
        return;
      }
      const reason = `ffmpeg: ${tail.message().replaceAll(`${url}: `, '') || `exit code ${code ?? signal}`}`;
      stop(bytes === 0 ? `cannot read the video (${reason})` : `its reading failed part-way (${reason})`);
    },
    (error: unknown) => {
      reportDuration(undefined);
      stopWatchdog();
      stream.destroy(error as Error);
    },
  );
  return stream;
}

/** Kills `child`'s process group (it was spawned detached), unless it has exited (its group id may be another's by now). */
function killGroup(child: ChildProcess): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // Gone meanwhile.
  }
}
