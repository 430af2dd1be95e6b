/**
 * Video from a network URL (a camera's `rtsp://`, an `http://` file or stream, ...): a "source"
 * ffmpeg reads it and copies its video stream, not re-encoded, into a live Matroska stream on its
 * stdout (Matroska carries every codec, MPEG-TS not VP8/VP9), which is then read as any stream
 * input is (probed, decoded, its cut end tolerated, ended by `endSignal`).
 */
import { spawn } from 'node:child_process';
import { PassThrough, type Readable } from 'node:stream';
import { childExit, ffmpegBinary, StderrTail, VideoError, type FfmpegPaths } from './decode.js';

/** The network protocols ffmpeg reads a video from, read directly rather than taken as a file path. */
export const URL_SCHEMES = ['rtsp', 'rtsps', 'rtmp', 'rtmps', 'http', 'https', 'srt', 'udp', 'tcp'] as const;

const URL_PATTERN = new RegExp(`^(${URL_SCHEMES.join('|')})://`, 'i');

/** Whether a video input string is a URL of one of `URL_SCHEMES` (case-insensitive), not a file path. */
export function isVideoUrl(input: string): boolean {
  return URL_PATTERN.test(input);
}

/**
 * The video stream of `url`, as a live Matroska stream. The source ffmpeg is killed when the
 * stream is destroyed (the run ended early or was aborted); its failure (connection refused,
 * 404, no video stream) destroys the stream with a VideoError naming the URL and ffmpeg's reason.
 */
export function openUrlSource(url: string, paths: FfmpegPaths = {}): Readable {
  const binary = ffmpegBinary(paths);
  const args = [
    '-hide_banner', '-nostats', '-loglevel', 'level+error', '-nostdin',
    '-i', url,
    '-map', '0:v:0', '-c', 'copy',
    // Written front to back, without the index a seekable file gets at its end.
    '-live', '1', '-f', 'matroska', 'pipe:1',
  ];
  // Out of a terminal's reach, as the decoder: a Ctrl-C ends a live input through higher-pose, its poses kept.
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const tail = new StderrTail();
  child.stderr!.setEncoding('utf8').on('data', (s: string) => tail.push(s));
  const stream = new PassThrough();
  // Ended only once the source has exited: a failure must reach the reader as an error, not an end.
  child.stdout!.pipe(stream, { end: false });
  stream.once('close', () => child.kill('SIGKILL'));
  childExit(child, binary, url).then(
    ({ code, signal }) => {
      if (stream.destroyed) return;
      if (code === 0) {
        stream.end();
        return;
      }
      const reason = tail.message().replaceAll(`${url}: `, '') || `exit code ${code ?? signal}`;
      stream.destroy(new VideoError(`${url}: cannot read the video (ffmpeg: ${reason})`, url));
    },
    (error: unknown) => stream.destroy(error as Error),
  );
  return stream;
}
