import { expect } from 'chai';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, constants, createReadStream, existsSync, linkSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable, Writable } from 'node:stream';
import { Command, CommanderError } from 'commander';
import sharp from 'sharp';
import { registerVideo } from '../src/cli/commands/video.js';
import { Interrupted } from '../src/cli/interrupted.js';
import { COCO_KEYPOINTS, CROWDPOSE_KEYPOINTS, type KeypointDefinition } from '../src/datasets.js';
import type { Person, PoseEstimator, RgbImage } from '../src/types.js';
import { openVideo, passthroughArgs, probeVideo, syncOptionOf, VideoError, type DecodeOptions, type VideoFrame } from '../src/video/decode.js';
import { createEstimator } from '../src/estimator.js';
import { createVideoEncoder } from '../src/video/encode.js';
import { ImageError } from '../src/io/image.js';
import { processVideo, type ProcessVideoOptions } from '../src/video/process.js';
import { overlayVideo } from '../src/video/overlay-video.js';
import { Slots } from '../src/parallel/slots.js';
import { nodeSignal } from '../src/abort-signal.js';
import { TINY_COCO_CHECKPOINT } from '../src/paths.js';
import { otherRealmController, polyfillController, type ForeignController } from './helpers/foreign-signals.js';
import { ffmpeg, hasFfmpeg, sizeChangingStream, skippedWithoutFfmpeg } from './helpers/ffmpeg.js';
import { CLI_SCRIPT, networkRunHeldScript, spawnCli, type CliRun } from './helpers/cli-process.js';

function ffprobe(...args: string[]): string {
  const r = spawnSync('ffprobe', ['-v', 'error', ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ffprobe failed: ${r.stderr}`);
  return r.stdout.trim();
}

/** Presentation times of the frames of a file, as ffprobe reports them. */
function probeTimes(file: string): number[] {
  return ffprobe('-select_streams', 'v:0', '-show_entries', 'frame=best_effort_timestamp_time', '-of', 'csv=p=0', file)
    .split('\n').filter((l) => l.trim() !== '').map((l) => Number(l.replace(/,$/, '')));
}

/** Frames, size and frame rate of a file, decoded by ffprobe. */
function probeStream(file: string): { frames: number; width: number; height: number; rate: string; codec: string } {
  const [codec, width, height, rate, frames] = ffprobe(
    '-count_frames', '-select_streams', 'v:0', '-show_entries', 'stream=codec_name,width,height,r_frame_rate,nb_read_frames', '-of', 'csv=p=0', file,
  ).split(',');
  return { codec: codec!, width: Number(width), height: Number(height), rate: rate!, frames: Number(frames) };
}

async function collect(input: Parameters<typeof openVideo>[0], options: DecodeOptions = {}): Promise<VideoFrame[]> {
  const frames: VideoFrame[] = [];
  for await (const frame of await openVideo(input, options)) frames.push(frame);
  return frames;
}

const times = (frames: { time: number }[]): number[] => frames.map((f) => f.time);

/** Command lines of running processes that mention `text` (Linux /proc; undefined elsewhere). */
function processesMentioning(text: string): string[] | undefined {
  if (!existsSync('/proc/self/cmdline')) return undefined;
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
      if (cmd.includes(text) && pid !== String(process.pid)) found.push(cmd);
    } catch {
      // the process ended meanwhile
    }
  }
  return found;
}

/**
 * The command line, whose JSON lines on stdout stop after the first: the second one's write never
 * completes, as into a pipe whose reader stopped reading. The run waits there, mid-video, for a signal.
 */
const stdoutStalledAfterFirstLineScript = `const write = process.stdout.write.bind(process.stdout);
  let lines = 0;
  process.stdout.write = (...args) => (lines++ === 0 ? write(...args) : false);
  ${CLI_SCRIPT}`;

/**
 * The command line, which writes `marker` as it hears its first SIGINT: before the run's own
 * listener, in the same turn, and once, so that the process can still end by the signal.
 */
const sigintHeardScript = (marker: string): string => `process.once('SIGINT', () => require('node:fs').writeFileSync(${JSON.stringify(marker)}, ''));
  ${CLI_SCRIPT}`;

/**
 * The command line, whose second network run (the second frame's, one run a frame: no flip test)
 * writes `marker` and waits until the run has heard a Ctrl-C (after the run's own listener, once):
 * the first frame estimated, the run cannot go on before the signal.
 */
const secondFrameHeldScript = (marker: string): string =>
  networkRunHeldScript(1, `await new Promise((resolve) => { fs.writeFileSync(${JSON.stringify(marker)}, ''); process.once('SIGINT', resolve); });`);

/**
 * `script` (the command line by default), whose first removal of a temporary file (fs/promises'
 * rm of a `*.tmp`: the overlay's or the JSON lines') writes `marker`, then waits until `release`
 * exists or `folder` is gone: a fixed point in the cleanup of an interrupted run. The builtin
 * module's function is replaced (syncBuiltinESMExports: its importers too).
 */
const heldRemovalScript = (marker: string, release: string, folder: string, script = CLI_SCRIPT): string => `const fs = require('node:fs');
  const promises = require('node:fs/promises');
  const { rm } = promises;
  let held = false;
  const released = () => new Promise((resolve) => {
    const waiting = setInterval(() => {
      if (fs.existsSync(${JSON.stringify(release)}) || !fs.existsSync(${JSON.stringify(folder)})) resolve(clearInterval(waiting));
    }, 20);
  });
  promises.rm = async (path, ...rest) => {
    if (!held && String(path).endsWith('.tmp')) {
      held = true;
      fs.writeFileSync(${JSON.stringify(marker)}, '');
      await released();
    }
    return rm(path, ...rest);
  };
  require('node:module').syncBuiltinESMExports();
  ${script}`;

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a rejection');
}

/** A pose around (cx, cy) with COCO joint names. */
function person(cx: number, cy: number, score = 0.9): Person {
  const keypoints = COCO_KEYPOINTS.names.map((name, j) => ({ name, x: cx + ((j % 3) - 1) * 8, y: cy - 30 + j * 4, score }));
  return { score, keypoints, box: { xMin: cx - 8, yMin: cy - 30, xMax: cx + 8, yMax: cy + 34, width: 16, height: 64 } };
}

/** Two people walking right; records how far decoding was ahead at each call. */
function fakeEstimator(onCall?: (call: number) => void): PoseEstimator & { keypoints: KeypointDefinition; calls: number; disposed: boolean } {
  return {
    keypoints: COCO_KEYPOINTS,
    calls: 0,
    disposed: false,
    async estimatePoses(image) {
      const call = this.calls++;
      onCall?.(call);
      const { width } = image as RgbImage;
      return [person(30 + call * 2, 60), person(width - 30, 60, 0.7)];
    },
    async dispose() {
      this.disposed = true;
    },
  };
}

if (!hasFfmpeg) skippedWithoutFfmpeg('video');
else {
  describe('video', function () {
    let dir: string;
    let clip: string; // 160x120, 10 frames at 10 fps, faststart
    let long: string; // 320x240, 100 frames at 25 fps, index (moov) last
    let matroska: string; // 160x120, 250 frames at 25 fps
    let transport: string; // 160x120, 100 frames at 25 fps, MPEG-TS, a keyframe a second
    let clipPixels: Buffer; // all frames of clip as ffmpeg decodes them
    before(() => {
      dir = mkdtempSync(join(tmpdir(), 'higher-pose-video-'));
      clip = join(dir, 'clip.mp4');
      long = join(dir, 'long.mp4');
      matroska = join(dir, 'live.mkv');
      transport = join(dir, 'clip.ts');
      ffmpeg('-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=10', '-t', '1', '-pix_fmt', 'yuv420p', '-movflags', '+faststart', clip);
      ffmpeg('-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=25', '-t', '4', '-pix_fmt', 'yuv420p', '-c:v', 'mpeg4', long);
      ffmpeg('-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=25', '-t', '10', '-pix_fmt', 'yuv420p', '-c:v', 'mpeg4', matroska);
      ffmpeg('-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=25', '-t', '4', '-pix_fmt', 'yuv420p', '-c:v', 'mpeg4', '-g', '25', '-f', 'mpegts', transport);
      clipPixels = spawnSync('ffmpeg', ['-v', 'error', '-i', clip, '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'], { maxBuffer: 1 << 24 }).stdout;
      expect(clipPixels.length).to.equal(10 * 57600);
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    // Child processes a test started: killed after it, passed or not.
    const children: ChildProcess[] = [];
    afterEach(() => children.splice(0).forEach((child) => child.kill('SIGKILL')));

    /**
     * Starts `script` (the command line by default) with `args`, killed after the test: `ended`
     * once its output is read to its end, with its exit code or signal; `stdout()` and `stderr()`
     * what it printed so far.
     */
    function started(args: string[], options: { script?: string; env?: NodeJS.ProcessEnv } = {}): CliRun {
      const run = spawnCli(args, options);
      children.push(run.child);
      return run;
    }

    const until = (what: string, reached: () => boolean, run: CliRun): Promise<void> => run.until(what, reached);

    const appeared = (path: string, run: CliRun): Promise<void> => until(`${path} appeared`, () => existsSync(path), run);

    const leftovers = (sub: string): string[] => readdirSync(join(dir, sub));

    describe('decode', () => {
      it('probes size, rate, duration and frame count as ffprobe does', async () => {
        const info = await probeVideo(clip);
        expect(info).to.include({ width: 160, height: 120, sampleAspectRatio: 1, fps: 10, duration: 1, frameCount: 10, codec: 'h264' });
      });

      it('counts the duration from the first frame in files whose frames start later (Matroska, MP4, NUT, MPEG-TS, FLV)', async function () {
        this.timeout(60_000);
        for (const [ext, codec] of [['mkv', 'mpeg4'], ['mp4', 'mpeg4'], ['nut', 'mpeg4'], ['ts', 'mpeg4'], ['flv', 'flv']]) {
          // Frames from 10 s on: Matroska, MP4 and NUT headers then give 14 s as the format's duration.
          const offset = join(dir, `offset.${ext}`);
          ffmpeg('-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=25', '-t', '4', '-pix_fmt', 'yuv420p', '-c:v', codec, '-output_ts_offset', '10', offset);
          // NUT's ends at the last frame's start.
          expect((await probeVideo(offset)).duration, ext).to.be.within(3.96, 4);
          const source = await openVideo(offset, { start: 1 });
          let frames = 0;
          for await (const _ of source) frames++;
          expect(frames, ext).to.equal(75);
          expect(source.expectedFrames, ext).to.be.within(74, 75);
        }
      });

      it('yields every frame with ffprobe timestamps and ffmpeg pixels', async () => {
        const frames = await collect(clip);
        expect(frames.map((f) => f.index)).to.deep.equal([...Array(10).keys()]);
        expect(times(frames)).to.deep.equal(probeTimes(clip));
        expect(frames.every((f) => f.image.width === 160 && f.image.height === 120)).to.equal(true);
        expect(frames.every((f, i) => Buffer.from(f.image.data).equals(clipPixels.subarray(i * 57600, (i + 1) * 57600)))).to.equal(true);
      });

      it('reads a variable-frame-rate video whose frames come closer than a frame of its nominal rate, with their own times', async () => {
        // 30 fps nominally, every other frame 20 ms late: times 0, 0.053, 0.066, 0.12, … (ffmpeg's
        // rawvideo muxer, at 1/30 s a tick by default, logged two frames in one tick as an error).
        const jittered = join(dir, 'jittered.mkv');
        ffmpeg('-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=30', '-t', '1', '-vf', 'settb=1/1000,setpts=(N/30+mod(N\\,2)*0.02)/TB',
          '-vsync', 'passthrough', '-enc_time_base', '1:1000', '-c:v', 'mpeg4', jittered);
        const frames = await collect(jittered);
        expect(frames).to.have.length(30);
        expect(times(frames)).to.deep.equal(probeTimes(jittered));
        expect(times(frames).slice(0, 4)).to.deep.equal([0, 0.053, 0.066, 0.12]);
      });

      it('reads a video whose frames repeat a timestamp: each frame once, with the time the file gives it, from a file or a stream', async () => {
        // The fourth frame stamped with the third's time (0.2 s), as Matroska keeps it: ffmpeg's
        // rawvideo muxer logged the repeat as an error, taken for damage, though it wrote the frame.
        const repeated = join(dir, 'repeated.mkv');
        ffmpeg('-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=10', '-t', '1', '-c:v', 'mpeg4', '-bsf:v', 'setts=ts=if(eq(N\\,3)\\,PREV_OUTPTS\\,PTS)', repeated);
        expect(probeTimes(repeated).slice(2, 5)).to.deep.equal([0.2, 0.2, 0.4]);
        const pixels = spawnSync('ffmpeg', ['-v', 'error', '-i', repeated, '-vsync', 'passthrough', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'], { maxBuffer: 1 << 24 }).stdout;
        expect(pixels.length).to.equal(10 * 57600);
        for (const input of [repeated, createReadStream(repeated)]) {
          const frames = await collect(input);
          expect(times(frames)).to.deep.equal(probeTimes(repeated));
          expect(frames.every((f, i) => Buffer.from(f.image.data).equals(pixels.subarray(i * 57600, (i + 1) * 57600)))).to.equal(true);
        }
      });

      it('reads the video of an MP4 whose cover picture ffmpeg lists first, not the cover', async () => {
        // Cover art (udta) ahead of the tracks in the index, as some taggers write it: ffmpeg's
        // first video stream is then the cover, which gave its one picture as the whole video.
        const tagged = join(dir, 'tagged.mp4');
        const cover = join(dir, 'cover.jpg');
        ffmpeg('-f', 'lavfi', '-i', 'testsrc2=size=320x240', '-frames:v', '1', cover);
        ffmpeg('-i', clip, '-i', cover, '-map', '0', '-map', '1', '-c', 'copy', '-disposition:v:1', 'attached_pic', '-movflags', '+faststart', tagged);
        // Boxes: 4-byte size, 4-byte type. The index (moov) comes before the data, so its offsets stay right.
        const file = readFileSync(tagged);
        const boxes = (from: number, to: number): Buffer[] => {
          const found: Buffer[] = [];
          for (let at = from; at < to; at += file.readUInt32BE(at)) found.push(file.subarray(at, at + file.readUInt32BE(at)));
          return found;
        };
        const moov = boxes(0, file.length).find((box) => box.toString('latin1', 4, 8) === 'moov')!;
        const moovAt = moov.byteOffset - file.byteOffset;
        const children = boxes(moovAt + 8, moovAt + moov.length);
        const isTrack = (box: Buffer): boolean => box.toString('latin1', 4, 8) === 'trak';
        const reordered = Buffer.concat([...children.filter((box) => !isTrack(box)), ...children.filter(isTrack)]);
        writeFileSync(tagged, Buffer.concat([file.subarray(0, moovAt + 8), reordered, file.subarray(moovAt + moov.length)]));
        expect(ffprobe('-show_entries', 'stream=codec_name', '-of', 'csv=p=0', tagged).split('\n')).to.deep.equal(['mjpeg', 'h264']);
        for (const input of [tagged, createReadStream(tagged)]) {
          const frames = await collect(input);
          expect(frames).to.have.length(10);
          expect(frames.every((f, i) => Buffer.from(f.image.data).equals(clipPixels.subarray(i * 57600, (i + 1) * 57600)))).to.equal(true);
        }
      });

      it("reads a video whose frame size changes midway as ffmpeg does: every frame at the first one's size", async () => {
        // Streams put end to end (or a browser's recording): ffmpeg scales the frames after the
        // change to the size it began with, where showinfo gives their size before that.
        const resized = sizeChangingStream(dir, 'resized.ts', ['160x120', '200x100']);
        const pixels = spawnSync('ffmpeg', ['-v', 'error', '-i', resized, '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'], { maxBuffer: 1 << 24 }).stdout;
        expect(pixels.length).to.equal(10 * 57600);
        const frames = await collect(resized);
        expect(times(frames)).to.deep.equal([0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]);
        expect(frames.every((f) => f.image.width === 160 && f.image.height === 120)).to.equal(true);
        expect(frames.every((f, i) => Buffer.from(f.image.data).equals(pixels.subarray(i * 57600, (i + 1) * 57600)))).to.equal(true);
      });

      it('samples with every, fps, start, duration and maxFrames', async () => {
        const [every, fps, window, mixed, source] = await Promise.all([
          collect(clip, { every: 3 }),
          collect(clip, { fps: 5 }),
          collect(clip, { start: 0.35, duration: 0.3 }),
          collect(clip, { start: 0.2, every: 2, maxFrames: 2 }),
          openVideo(clip, { fps: 5, every: 2 }),
        ]);
        expect(times(every)).to.deep.equal([0, 0.3, 0.6, 0.9]);
        expect(times(fps)).to.deep.equal([0, 0.2, 0.4, 0.6, 0.8]);
        expect(times(window)).to.deep.equal([0.4, 0.5, 0.6]);
        expect(mixed.map((f) => [f.index, f.time])).to.deep.equal([[0, 0.2], [1, 0.4]]);
        expect(source.outputFps).to.equal(2.5);
        expect(source.expectedFrames).to.equal(3);
        // A range shorter than a frame, between two frames, holds none (ffmpeg counts the duration from the next one).
        const between = await Promise.all([clip, transport].map((file) => collect(file, { start: 0.25, duration: 0.01 })));
        expect(between.map(times)).to.deep.equal([[], []]);
      });

      it('cuts ranges of an MPEG-TS file, where input seeking is not exact, at the frames asked for, pixel for pixel', async () => {
        expect((await probeVideo(transport)).format).to.equal('mpegts');
        const [all, cut, from] = await Promise.all([collect(transport), collect(transport, { start: 1.5, duration: 0.2 }), collect(transport, { start: 0.2, maxFrames: 2 })]);
        expect(times(cut)).to.deep.equal([1.52, 1.56, 1.6, 1.64, 1.68]);
        expect(times(from)).to.deep.equal([0.2, 0.24]);
        for (const frame of [...cut, ...from]) {
          const same = all.find((f) => f.time === frame.time)!;
          expect(Buffer.from(frame.image.data).equals(Buffer.from(same.image.data)), `frame at ${frame.time} s`).to.equal(true);
        }
      });

      it('samples with fps the first frame of each period, and its time is the time of its picture', async () => {
        // testsrc draws a counter, so every frame's pixels differ; MP4 seeks, MPEG-TS is trimmed.
        for (const file of [long, transport]) {
          const [all, perSecond, fromStart, faster] = await Promise.all([
            collect(file),
            collect(file, { fps: 1 }),
            collect(file, { fps: 3, start: 0.3, duration: 1 }),
            openVideo(file, { fps: 100 }),
          ]);
          expect(times(perSecond), file).to.deep.equal([0, 1, 2, 3]);
          expect(times(fromStart), file).to.deep.equal([0.32, 0.64, 1]);
          for (const frame of [...perSecond, ...fromStart]) {
            const same = all.find((f) => f.time === frame.time)!;
            expect(Buffer.from(frame.image.data).equals(Buffer.from(same.image.data)), `${file}: frame at ${frame.time} s`).to.equal(true);
          }
          // Above the source's rate, frames are not duplicated.
          expect(faster.outputFps).to.equal(25);
          expect(faster.expectedFrames).to.equal(100);
        }
      });

      it('times the frames of a bare H.264 stream (.h264, no timestamps) at its rate, so that a start on a frame starts there', async function () {
        // ffmpeg counted them in microseconds, each frame's duration rounded down: at 30 fps the
        // frame of 0.5 s was at 0.499995, and start 0.5 began at the frame after it.
        if (!spawnSync('ffmpeg', ['-hide_banner', '-encoders']).stdout.toString().includes(' libx264 ')) return this.skip();
        const bare = join(dir, 'camera.h264');
        ffmpeg('-f', 'lavfi', '-i', 'testsrc=size=64x64:rate=30', '-t', '1', '-c:v', 'libx264', '-f', 'h264', bare);
        const [all, fromHalf, streamedFromHalf] = await Promise.all([
          collect(bare),
          collect(bare, { start: 0.5, duration: 0.1 }),
          collect(createReadStream(bare), { start: 0.5, duration: 0.1 }),
        ]);
        expect(times(all)).to.deep.equal(all.map((_, i) => Math.round((i / 30) * 1e6) / 1e6));
        for (const cut of [fromHalf, streamedFromHalf]) {
          expect(times(cut)).to.deep.equal([0.5, 0.533333, 0.566667]);
          cut.forEach((frame, i) => expect(Buffer.from(frame.image.data).equals(Buffer.from(all[15 + i]!.image.data)), `frame at ${frame.time} s`).to.equal(true));
        }
      });

      it('reads multipart JPEG (MJPEG over HTTP, as IP cameras send it), whose end ffmpeg calls invalid data', async () => {
        const multipart = join(dir, 'camera.mpjpeg');
        ffmpeg('-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=10', '-t', '1', '-f', 'mpjpeg', multipart);
        for (const input of [multipart, createReadStream(multipart)]) {
          const frames = await collect(input);
          expect(frames.map((f) => f.index)).to.deep.equal([...Array(10).keys()]);
        }
      });

      it('reads a stream as it reads the file', async () => {
        const [frames, sampled] = await Promise.all([
          collect(createReadStream(clip)),
          collect(createReadStream(clip), { start: 0.5, every: 2 }),
        ]);
        expect(times(frames)).to.deep.equal(probeTimes(clip));
        expect(frames.every((f, i) => Buffer.from(f.image.data).equals(clipPixels.subarray(i * 57600, (i + 1) * 57600)))).to.equal(true);
        expect(times(sampled)).to.deep.equal([0.5, 0.7, 0.9]);
      });

      it('probes a live stream as its bytes arrive: the first frame comes while the stream is open and far under probeBytes', async () => {
        const live = new PassThrough();
        // 10 s of video, ~260 KB: ffprobe needs a fraction of it; probeBytes (5 MiB) would never be reached.
        live.write(readFileSync(matroska));
        let timer: NodeJS.Timeout | undefined;
        const stalled = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error('openVideo still waits for more of an open stream than ffprobe needs')), 10_000);
        });
        try {
          const source = await Promise.race([openVideo(live), stalled]);
          expect(source.info).to.include({ width: 160, height: 120, fps: 25 });
          const frames = source[Symbol.asyncIterator]();
          const first = await Promise.race([frames.next(), stalled]);
          expect(first.value?.index).to.equal(0);
          live.end();
          let count = 1;
          while (!(await frames.next()).done) count++;
          expect(count).to.equal(250);
        } finally {
          clearTimeout(timer);
          live.destroy();
        }
      });

      it("reads a live stream on a process's stdin on after the probe (process.stdin stops its pipe a tick after a pause)", async () => {
        // It says when the first frame has come: the probe has answered, frames are read.
        const script = "import('./src/video/decode.ts').then(async ({ openVideo }) => { let n = 0; for await (const f of await openVideo(process.stdin)) if (n++ === 0) console.log('first'); console.log(n); })";
        const child = spawn(process.execPath, ['--import', 'tsx', '-e', script], { stdio: ['pipe', 'pipe', 'inherit'] });
        children.push(child);
        const bytes = readFileSync(matroska);
        // Enough for the probe and the first frames, then the rest once the first frame has come.
        child.stdin.write(bytes.subarray(0, bytes.length / 2));
        let out = '';
        child.stdout.setEncoding('utf8').on('data', (s: string) => {
          out += s;
          if (out.startsWith('first\n') && !child.stdin.writableEnded) child.stdin.end(bytes.subarray(bytes.length / 2));
        });
        // A stopped pipe leaves the child waiting for good: it fails after a wide margin instead.
        const timer = setTimeout(() => child.kill(), 60_000);
        const code = await new Promise((resolve) => child.on('close', resolve));
        clearTimeout(timer);
        expect([code, out]).to.deep.equal([0, 'first\n250\n']);
      });

      it('keeps ffmpeg at most a few frames ahead of a slow consumer', async () => {
        const source = await openVideo(long);
        const frameBytes = 320 * 240 * 3;
        let consumed = 0;
        for await (const frame of source) {
          expect(frame.image.data.length).to.equal(frameBytes);
          consumed++;
          await new Promise((r) => setTimeout(r, 40));
          if (consumed === 5) break;
        }
        expect(source.counts.delivered).to.equal(5);
        // 100 frames were available; a pipe buffer and ffmpeg's own queues hold only a few.
        expect(source.counts.decoded).to.be.at.most(consumed + 8);
      });

      it('kills ffmpeg and destroys the input stream when the consumer stops early', async () => {
        for await (const frame of await openVideo(long)) if (frame.index === 1) break;
        expect(processesMentioning(long) ?? []).to.deep.equal([]);
        const stream = createReadStream(clip);
        for await (const frame of await openVideo(stream)) if (frame.index === 1) break;
        expect(stream.destroyed).to.equal(true);
        // ffmpeg stops on its own (maxFrames, the end of a range) while a live stream stays open: released too.
        for (const options of [{ maxFrames: 3 }, { duration: 0.5 }]) {
          const live = new PassThrough();
          live.write(readFileSync(matroska));
          const frames = await collect(live, options);
          expect(frames.length, JSON.stringify(options)).to.be.greaterThan(0);
          expect(live.destroyed, JSON.stringify(options)).to.equal(true);
        }
      });

      it('BAD CALL - a stream that closes early, fails after probing or is no video: a VideoError, the stream released', async () => {
        const closed = new PassThrough();
        closed.write(Buffer.alloc(1000));
        setTimeout(() => closed.destroy(), 50);
        const early = await rejection(openVideo(closed));
        expect(early).to.be.instanceOf(VideoError);
        expect(early.message).to.equal('video stream: the stream closed before it ended');

        // Fails while ffprobe reads the prefix: reported when the frames are read, never uncaught.
        const failing = new PassThrough();
        failing.write(readFileSync(clip));
        const source = await openVideo(failing, { probeBytes: 1024 });
        failing.destroy(new Error('connection reset'));
        const late = await rejection((async () => {
          for await (const frame of source) expect(frame.index).to.be.a('number');
        })());
        expect(late).to.be.instanceOf(VideoError);
        expect(late.message).to.match(/video stream: reading the input stream failed: connection reset/);

        const text = new PassThrough();
        text.write(Buffer.alloc(200_000, 7));
        expect(await rejection(openVideo(text, { probeBytes: 64 * 1024 }))).to.be.instanceOf(VideoError);
        expect(text.destroyed).to.equal(true);
      });

      it('BAD CALL - a stream of chunks that are not bytes (Readable.from of ArrayBuffers or numbers): a VideoError naming them, the stream released, never an uncaught exception', async () => {
        // Read by the probe: writing such a chunk to ffprobe threw in a stream event handler, ending the process.
        const buffers = Readable.from([new ArrayBuffer(64)]);
        const atProbe = await rejection(openVideo(buffers));
        expect(atProbe).to.be.instanceOf(VideoError);
        expect(atProbe.message).to.equal('video stream: a chunk of the stream (ArrayBuffer) is not bytes (a Buffer, a Uint8Array or a string)');
        expect(buffers.destroyed).to.equal(true);

        // Read after the probe: the decoding's input ended there, as if the video did.
        const numbers = Readable.from([readFileSync(clip), 42]);
        const source = await openVideo(numbers, { probeBytes: 1024 });
        const afterProbe = await rejection((async () => {
          for await (const frame of source) expect(frame.index).to.be.a('number');
        })());
        expect(afterProbe).to.be.instanceOf(VideoError);
        expect(afterProbe.message).to.equal('video stream: reading the input stream failed: a chunk of the stream (Number) is not bytes (a Buffer, a Uint8Array or a string)');
        expect(numbers.destroyed).to.equal(true);
      });

      it('stops at an abort between probing and the first frame, and while the probe waits for data', async () => {
        const abort = new AbortController();
        const source = await openVideo(long, { signal: abort.signal });
        abort.abort(new Error('stopped'));
        const seen: VideoFrame[] = [];
        const stopped = await rejection((async () => {
          for await (const frame of source) seen.push(frame);
        })());
        expect([stopped.message, seen.length]).to.deep.equal(['stopped', 0]);

        const stalled = new PassThrough();
        stalled.write(Buffer.alloc(1000));
        const waiting = new AbortController();
        setTimeout(() => waiting.abort(new Error('gave up')), 50);
        expect((await rejection(openVideo(stalled, { signal: waiting.signal }))).message).to.equal('gave up');
        expect(stalled.destroyed).to.equal(true);
      });

      it('BAD CALL - corrupt, empty and non-video inputs give VideoError with ffmpeg\'s message, or saying they are empty', async () => {
        const corrupt = join(dir, 'corrupt.mp4');
        writeFileSync(corrupt, readFileSync(long).subarray(0, 3000));
        const empty = join(dir, 'empty.mp4');
        writeFileSync(empty, '');
        const text = join(dir, 'notes.txt');
        writeFileSync(text, 'these are not the frames you are looking for\n'.repeat(20));
        const audio = join(dir, 'tone.wav');
        ffmpeg('-f', 'lavfi', '-i', 'sine=duration=0.2', audio);
        const cases: [string, RegExp][] = [
          [corrupt, /corrupt\.mp4: not a readable video \(ffprobe: .*moov atom not found/],
          [empty, /empty\.mp4: zero-size file, not a video$/],
          [text, /notes\.txt: not a video \(ffprobe reads it as text art/],
          [audio, /tone\.wav: no video stream found \(format: wav\)/],
          [join(dir, 'missing.mp4'), /missing\.mp4: cannot read video file/],
          [dir, /: a folder, not a video file$/],
        ];
        // A named pipe, which the probe and the decoding would each read a part of.
        const fifo = join(dir, 'camera.fifo');
        if (spawnSync('mkfifo', [fifo]).status === 0) cases.push([fifo, /camera\.fifo: not a regular file; read a pipe as a stream \(input '-' on the command line, a Readable for openVideo\)/]);
        const pretend = join(dir, 'pretend.jpg');
        writeFileSync(pretend, 'not an image at all');
        cases.push([pretend, /pretend\.jpg: not a readable video \(ffprobe found no frame size for its mjpeg video stream, format image2: .*No JPEG data/]);
        const errors = await Promise.all([...cases.map(([file]) => rejection(collect(file))),
          rejection(collect(createReadStream(text))), rejection(collect(createReadStream(long))),
          rejection(collect(createReadStream(long), { probeBytes: 32 * 1024 })), rejection(collect(createReadStream(empty)))]);
        cases.forEach(([file, message], i) => {
          expect(errors[i], file).to.be.instanceOf(VideoError);
          expect(errors[i]!.message).to.match(message);
          expect((errors[i] as VideoError).file).to.equal(file);
        });
        const [textStream, indexLast, indexBeyondProbe, emptyStream] = errors.slice(cases.length);
        expect(textStream).to.be.instanceOf(VideoError);
        expect(textStream!.message).to.match(/video stream: not a readable video/);
        expect(indexLast!.message).to.match(/video stream: not a readable video \(ffprobe found no frame size .* -movflags \+faststart/);
        // Where ffprobe gives up first, the advice is the same.
        expect(indexBeyondProbe!.message).to.match(/video stream: not a readable video \(ffprobe: .*moov atom not found.*\); an MP4 read from a stream must have its index first \(ffmpeg -movflags \+faststart\)/);
        expect(emptyStream).to.be.instanceOf(VideoError);
        expect(emptyStream!.message).to.equal('video stream: the stream ended without any data, not a video');
      });

      it('BAD CALL - an animated WebP, which ffmpeg 5.1 cannot decode: a VideoError saying so, with what to do instead', async function () {
        // It read only as "not a readable video (... image data not found)".
        const animated = join(dir, 'wave.webp');
        const side = 32;
        const frames = Buffer.alloc(side * side * 3 * 3);
        for (let f = 0; f < 3; f++) frames.fill(60 * (f + 1), f * side * side * 3, (f + 1) * side * side * 3);
        await sharp(frames, { raw: { width: side, height: side * 3, channels: 3, pageHeight: side } }).webp({ delay: [100, 100, 100], loop: 0 }).toFile(animated);
        const decoded = await collect(animated).catch((err: Error) => err);
        // Newer ffmpeg releases decode animated WebP.
        if (!(decoded instanceof Error)) return this.skip();
        const hint = '; ffmpeg cannot decode an animated WebP: convert it to a video with another tool, or give it to predict, which reads its first frame';
        for (const [input, name] of [[animated, animated], [createReadStream(animated), 'video stream']] as const) {
          const err = input === animated ? decoded : await rejection(collect(input));
          expect(err, name).to.be.instanceOf(VideoError);
          expect(err.message).to.match(new RegExp(`^${name}: not a readable video \\(ffprobe found no frame size for its webp video stream, format webp_pipe`));
          expect(err.message.endsWith(hint), err.message).to.equal(true);
        }
      });

      it('reads an MPEG-TS stream joined mid-way (a live or broadcast capture), starting at its first keyframe, from a file or a stream', async () => {
        // Its first frames refer to a keyframe and headers before the join: ffmpeg logs them as
        // errors, skips them and decodes the rest, exiting 0; that read as damage.
        const full = join(dir, 'broadcast.ts');
        const joined = join(dir, 'joined.ts');
        ffmpeg('-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=10', '-t', '3', '-c:v', 'mpeg2video', '-g', '10', '-f', 'mpegts', full);
        ffmpeg('-i', full, '-ss', '0.45', '-c', 'copy', '-copyinkf', '-f', 'mpegts', joined);
        const startTime = Number(ffprobe('-show_entries', 'format=start_time', '-of', 'csv=p=0', joined));
        const decodable = probeTimes(joined).map((t) => Math.round((t - startTime) * 1e6) / 1e6);
        expect(decodable.length).to.be.within(15, 25);
        for (const input of [joined, createReadStream(joined)]) {
          expect(times(await collect(input))).to.deep.equal(decodable);
        }
      });

      it('BAD CALL - errors before the first frame of a file other than an MPEG-TS (an MP4 whose first keyframe is damaged) are damage, as they were', async () => {
        // ffmpeg logs the damage, conceals it and gives the frame; whether -xerror then stops it
        // depends on its threads, so the log is given here by an ffmpeg that logs it first.
        const damaged = join(dir, 'damaged-first-frame.sh');
        writeFileSync(damaged, '#!/bin/sh\necho "[h264 @ 0x55d0c0de] [error] error while decoding MB 12 1, bytestream 2340" >&2\nexec ffmpeg "$@"\n', { mode: 0o755 });
        const err = await rejection(collect(clip, { ffmpegPath: damaged }));
        expect(err).to.be.instanceOf(VideoError);
        expect(err.message).to.match(/: ffmpeg reported damage and stopped early \(error while decoding MB 12 1, bytestream 2340\)$/);
        // An MPEG-TS is joined mid-way as a matter of course: its errors before the first frame are those of the frames before its first keyframe.
        expect(await collect(transport, { ffmpegPath: damaged })).to.have.length(100);
      });

      it('BAD CALL - a Matroska file cut short, which ffmpeg ends early with exit code 0: a VideoError after the frames it holds, from a file or a stream', async () => {
        const cut = join(dir, 'cut.mkv');
        const bytes = readFileSync(matroska);
        writeFileSync(cut, bytes.subarray(0, Math.floor(bytes.length / 3)));
        for (const input of [cut, createReadStream(cut)]) {
          let delivered = 0;
          const err = await rejection((async () => {
            for await (const frame of await openVideo(input)) delivered = frame.index + 1;
          })());
          expect(err).to.be.instanceOf(VideoError);
          expect(err.message).to.match(/: ffmpeg reported damage and stopped early \(File ended prematurely\)/);
          expect(delivered).to.be.within(1, 249);
        }
      });

      it('BAD CALL - a missing ffmpeg binary says how to install it', async () => {
        const err = await rejection(collect(clip, { ffmpegPath: join(dir, 'no-such-ffmpeg') }));
        expect(err).to.be.instanceOf(VideoError);
        expect(err.message).to.match(/no-such-ffmpeg.*ENOENT.*apt-get install ffmpeg.*brew install ffmpeg.*ffmpeg\.org/);
        const saved = process.env.HIGHER_POSE_FFPROBE;
        process.env.HIGHER_POSE_FFPROBE = join(dir, 'no-such-ffprobe');
        try {
          expect((await rejection(probeVideo(clip))).message).to.match(/no-such-ffprobe.*apt-get install ffmpeg/);
          const stream = createReadStream(clip);
          expect((await rejection(openVideo(stream))).message).to.match(/no-such-ffprobe.*apt-get install ffmpeg/);
          expect(stream.destroyed).to.equal(true);
        } finally {
          if (saved === undefined) delete process.env.HIGHER_POSE_FFPROBE;
          else process.env.HIGHER_POSE_FFPROBE = saved;
        }
      });

      it('$HIGHER_POSE_FFMPEG and $HIGHER_POSE_FFPROBE set but empty are as unset (the binaries on the PATH), as an empty $HIGHER_POSE_CACHE is', async () => {
        const saved = [process.env.HIGHER_POSE_FFMPEG, process.env.HIGHER_POSE_FFPROBE];
        process.env.HIGHER_POSE_FFMPEG = '';
        process.env.HIGHER_POSE_FFPROBE = '';
        try {
          expect((await probeVideo(clip)).width).to.be.greaterThan(0);
          expect((await collect(clip, { maxFrames: 2 })).length).to.equal(2);
        } finally {
          for (const [name, value] of [['HIGHER_POSE_FFMPEG', saved[0]], ['HIGHER_POSE_FFPROBE', saved[1]]] as const) {
            if (value === undefined) delete process.env[name];
            else process.env[name] = value;
          }
        }
      });

      it('BAD CALL - invalid sampling options', async () => {
        expect((await rejection(openVideo(clip, { every: 0 }))).message).to.match(/every must be a positive integer/);
        expect((await rejection(openVideo(clip, { fps: -1 }))).message).to.match(/fps must be a positive number/);
        expect((await rejection(openVideo(clip, { maxFrames: 1.5 }))).message).to.match(/maxFrames must be a positive integer/);
        // Read from a query string or the environment: 'fps must be a positive number, got 5' hid that 5 was a string.
        const given = { every: '2', fps: '5', start: '1', duration: '1', maxFrames: '3' };
        for (const [name, value] of Object.entries(given)) {
          expect((await rejection(openVideo(clip, { [name]: value }))).message, name).to.match(new RegExp(`: ${name} must be a .*, got "${value}"$`));
        }
        // ffmpeg refused it: 'ffmpeg could not decode it (The value for frames:v was 100000000000000000000 which is not within ...)'.
        expect((await rejection(openVideo(clip, { maxFrames: 1e20 }))).message).to.equal(`${clip}: maxFrames must be a positive integer (at most 9007199254740991), got 100000000000000000000`);
        // ffprobe refused these, which read as a stream that was no video.
        for (const [probeBytes, shown] of [[0, '0'], [NaN, 'NaN'], [31, '31'], [1.5, '1.5'], ['4096', '"4096"']] as const) {
          const stream = createReadStream(clip);
          const err = await rejection(openVideo(stream, { probeBytes: probeBytes as number }));
          stream.destroy();
          expect(err).to.be.instanceOf(VideoError);
          expect(err.message).to.equal(`video stream: probeBytes must be an integer of at least 32 (ffprobe's least -probesize), got ${shown}`);
        }
        // Shorter than ffmpeg's microsecond, a duration is 0 to it: the whole input, for no frame.
        expect((await rejection(openVideo(clip, { duration: 1e-7 }))).message).to.match(/duration must be at least a microsecond \(ffmpeg's unit\), got 1e-7 s/);
      });

      it('BAD CALL - an ffmpegPath or ffprobePath that is empty or no string: a VideoError naming the option before any ffmpeg, not spawn\'s TypeError', async () => {
        for (const [paths, shown] of [[{ ffprobePath: '' }, 'ffprobePath: ""'], [{ ffmpegPath: '' }, 'ffmpegPath: ""'], [{ ffmpegPath: 42 }, 'ffmpegPath: 42']] as const) {
          const err = await rejection(openVideo(clip, paths as DecodeOptions));
          expect(err).to.be.instanceOf(VideoError);
          expect(err.message).to.equal(`${clip}: ${shown.replace(':', ' must be the path of the binary, got')}`);
        }
        // Rendering asks ffmpeg for its encoders before the input is read.
        const render = join(dir, 'no-binary.mp4');
        const err = await rejection((async () => {
          for await (const _ of processVideo(fakeEstimator(), clip, { render, ffmpegPath: 42 as unknown as string })) void _;
        })());
        expect(err).to.be.instanceOf(VideoError);
        expect(err.message).to.equal('ffmpegPath must be the path of the binary, got 42');
        expect(existsSync(render)).to.equal(false);
      });

      it('BAD CALL - an input that is neither a path nor a stream (bytes, a URL, a web stream, nothing): a VideoError saying what to give, before any ffprobe', async () => {
        const bytes = readFileSync(clip);
        const cases: [unknown, string][] = [
          [bytes, 'got Uint8Array (for bytes in memory: Readable.from([bytes]))'],
          [new URL(`file://${clip}`), 'got URL (for a file: URL: fileURLToPath(url))'],
          [new Blob([bytes]).stream(), 'got ReadableStream (for a web ReadableStream: Readable.fromWeb(stream))'],
          [undefined, 'got Undefined'],
          [42, 'got Number'],
        ];
        // A started ffprobe would fail on this binary instead (it used to be started, then wait for bytes as long as the process lived).
        const ffprobePath = join(dir, 'no-such-ffprobe');
        for (const [input, said] of cases) {
          const err = await rejection(openVideo(input as Readable, { ffprobePath }));
          expect(err).to.be.instanceOf(VideoError);
          expect(err.message).to.equal(`video input must be a file path or a Readable stream, ${said}`);
          const run = await rejection((async () => {
            for await (const result of processVideo(fakeEstimator(), input as Readable, { ffprobePath })) expect(result.frame).to.be.a('number');
          })());
          expect(run.message).to.equal(err.message);
        }
        expect((await rejection(openVideo('', { ffprobePath }))).message).to.equal('video input is an empty string, not a file path');
      });

      it('gives ffmpeg times that JavaScript writes with an exponent (1e-7) in its notation', async () => {
        // ffmpeg refused "1e-7" as a time (input seeking in the MP4, trim in the MPEG-TS).
        for (const file of [clip, transport]) {
          expect(times(await collect(file, { start: 1e-7, duration: 0.15 })), file).to.deep.equal(file === clip ? [0, 0.1] : [0, 0.04, 0.08, 0.12]);
        }
        // Nor, past its 64-bit microseconds, "1e+21" or 1e15 s ("could not decode it: Invalid duration specification"):
        // such a duration runs to the end, such a start is past it.
        for (const file of [clip, transport]) {
          for (const duration of [1e15, 1e21]) expect(await collect(file, { start: 0.5, duration }), file).to.have.length(file === clip ? 5 : 87);
          expect(await collect(file, { start: 1e21 }), file).to.deep.equal([]);
        }
      });
    });

    describe('encode', () => {
      it('writes an mp4 with even dimensions under a temporary name until finished', async () => {
        const sub = 'encode-ok';
        const out = join(dir, sub, 'out.mp4');
        rmSync(join(dir, sub), { recursive: true, force: true });
        spawnSync('mkdir', ['-p', join(dir, sub)]);
        const encoder = await createVideoEncoder(out, { width: 161, height: 121, fps: 5 });
        for (let i = 0; i < 7; i++) {
          await encoder.write({ data: new Uint8Array(161 * 121 * 3).fill(i * 30), width: 161, height: 121 });
        }
        expect(existsSync(out)).to.equal(false);
        expect(leftovers(sub)).to.have.length(1);
        await encoder.finish();
        expect(leftovers(sub)).to.deep.equal(['out.mp4']);
        const probed = probeStream(out);
        expect(probed).to.deep.include({ frames: 7, width: 162, height: 122, rate: '5/1' });
        expect(probed.codec).to.equal(encoder.codec === 'libx264' ? 'h264' : 'mpeg4');
      });

      it('writes the container its extension names (.mp4, .mov, .mkv, .webm, in any case), each frame at its time', async () => {
        const sub = 'encode-containers';
        mkdirSync(join(dir, sub));
        const cases: [string, string, string[]][] = [
          ['out.mp4', 'mov,mp4,m4a,3gp,3g2,mj2', ['h264', 'mpeg4']],
          ['OUT.MP4', 'mov,mp4,m4a,3gp,3g2,mj2', ['h264', 'mpeg4']],
          ['out.mov', 'mov,mp4,m4a,3gp,3g2,mj2', ['h264', 'mpeg4']],
          ['out.mkv', 'matroska,webm', ['h264', 'mpeg4']],
          ['out.webm', 'matroska,webm', ['vp9']],
        ];
        for (const [name, format, codecs] of cases) {
          const out = join(dir, sub, name);
          const encoder = await createVideoEncoder(out, { width: 64, height: 48, fps: 10 });
          for (const time of [0, 0.1, 0.7]) await encoder.write({ data: new Uint8Array(64 * 48 * 3).fill(time * 300), width: 64, height: 48 }, time);
          await encoder.finish();
          expect(ffprobe('-show_entries', 'format=format_name', '-of', 'default=nw=1:nk=1', out), name).to.equal(format);
          expect(codecs, name).to.include(probeStream(out).codec);
          // mov and mp4 share a demuxer: the brand tells them apart.
          if (name.endsWith('.mov')) expect(ffprobe('-show_entries', 'format_tags=major_brand', '-of', 'default=nw=1:nk=1', out)).to.equal('qt');
          // So do Matroska and WebM: the header's DocType does.
          if (format === 'matroska,webm') expect(readFileSync(out).subarray(0, 64).includes(name.endsWith('.webm') ? 'webm' : 'matroska'), name).to.equal(true);
          probeTimes(out).forEach((time, k) => expect(time, `${name}: frame ${k}`).to.be.closeTo([0, 0.1, 0.7][k]!, 0.001));
          // The last frame lasts a nominal frame (1/fps), not a tick: a one-frame video had no length.
          expect(Number(ffprobe('-show_entries', 'format=duration', '-of', 'default=nw=1:nk=1', out)), name).to.be.closeTo(0.8, 0.002);
        }
        expect(leftovers(sub).sort()).to.deep.equal(['OUT.MP4', 'out.mkv', 'out.mov', 'out.mp4', 'out.webm']);
      });

      it('keeps every frame of a source whose times repeat or go back, even before its first one: each just after the frame before', async () => {
        const sub = 'encode-backwards';
        mkdirSync(join(dir, sub));
        const out = join(dir, sub, 'out.mp4');
        const encoder = await createVideoEncoder(out, { width: 64, height: 48, fps: 10 });
        for (const time of [0, 0.1, 0.05, 0.1, -0.2, 0.5]) await encoder.write({ data: new Uint8Array(64 * 48 * 3), width: 64, height: 48 }, time);
        const notATime = await rejection(encoder.write({ data: new Uint8Array(64 * 48 * 3), width: 64, height: 48 }, Number.NaN));
        expect(notATime).to.be.instanceOf(VideoError);
        expect(notATime.message).to.match(/out\.mp4: a frame's time must be a number of seconds, got NaN$/);
        await encoder.finish();
        const tick = 1 / 50_000;
        probeTimes(out).forEach((time, k) => expect(time, `frame ${k}`).to.be.closeTo([0, 0.1, 0.1 + tick, 0.1 + 2 * tick, 0.1 + 3 * tick, 0.5][k]!, 1e-6));
        expect(probeStream(out).frames).to.equal(6);
      });

      it('BAD CALL - frames more than 11.9 hours apart in an MP4 or MOV: a VideoError, not the later frames moved to just after the earlier one', async () => {
        // ffmpeg's MP4 muxer stores a gap between frames in 31 bits of 20 µs ticks: beyond that it wrote the frame 20 µs on, silently.
        const sub = 'encode-long-gap';
        mkdirSync(join(dir, sub));
        for (const name of ['gap.mp4', 'gap.mov', 'gap.mkv']) {
          const out = join(dir, sub, name);
          const encoder = await createVideoEncoder(out, { width: 32, height: 16, fps: 10 });
          const frame = { data: new Uint8Array(32 * 16 * 3), width: 32, height: 16 };
          await encoder.write(frame, 0);
          await encoder.write(frame, 1);
          if (name.endsWith('.mkv')) {
            await encoder.write(frame, 43_001);
            await encoder.finish();
            probeTimes(out).forEach((time, k) => expect(time, `${name}: frame ${k}`).to.be.closeTo([0, 1, 43_001][k]!, 1e-6));
            continue;
          }
          const err = await rejection(encoder.write(frame, 43_001));
          expect(err, name).to.be.instanceOf(VideoError);
          expect(err.message).to.equal(`${out}: the frame at 43001 s comes 43000 s after the one before, more than an ${name.endsWith('.mov') ? 'MOV' : 'MP4'} video holds between two frames (11.9 h); give a .mkv name`);
          await encoder.abort();
        }
        expect(leftovers(sub)).to.deep.equal(['gap.mkv']);
      });

      it('BAD CALL - a name whose extension is not a container it writes, a codec the container does not take, WebM without VP9: a VideoError before any frame', async () => {
        const sub = 'encode-extensions';
        mkdirSync(join(dir, sub));
        // An ffmpeg built without libvpx: its list of encoders lacks VP9.
        const noVp9 = join(dir, sub, 'ffmpeg-without-vp9');
        writeFileSync(noVp9, '#!/bin/sh\ncase " $* " in *" -encoders "*) ffmpeg "$@" | grep -v libvpx ;; *) exec ffmpeg "$@" ;; esac\n', { mode: 0o755 });
        const size = { width: 64, height: 48, fps: 10 };
        const cases: [string, Parameters<typeof createVideoEncoder>[1], RegExp][] = [
          ['overlay.avi', size, /overlay\.avi: ends in \.avi; the video is written as its extension says: give a name ending in \.mp4, \.mov, \.mkv, \.webm$/],
          ['overlay', size, /overlay: has no extension; .*give a name ending in \.mp4, \.mov, \.mkv, \.webm$/],
          ['overlay.webm', { ...size, codec: 'libx264' }, /overlay\.webm: a \.webm video is written with libvpx-vp9, not "libx264"/],
          ['overlay.mp4', { ...size, codec: 'libvpx-vp9' }, /overlay\.mp4: a \.mp4 video is written with libx264 or mpeg4, not "libvpx-vp9"/],
          ['overlay.webm', { ...size, ffmpegPath: noVp9 }, /overlay\.webm: this ffmpeg \(.*ffmpeg-without-vp9\) has no VP9 encoder \(libvpx-vp9\), which a WebM video needs; give a name ending in \.mp4, \.mov or \.mkv$/],
        ];
        for (const [name, options, message] of cases) {
          const err = await rejection(createVideoEncoder(join(dir, sub, name), options));
          expect(err, name).to.be.instanceOf(VideoError);
          expect(err.message, name).to.match(message);
          const refused = await rejection((async () => {
            for await (const _ of processVideo(fakeEstimator(), clip, { render: join(dir, sub, name), renderOptions: { codec: options.codec }, ffmpegPath: options.ffmpegPath })) void _;
          })());
          expect(refused.message, `processVideo ${name}`).to.match(message);
        }
        expect(leftovers(sub)).to.deep.equal(['ffmpeg-without-vp9']);
      });

      it('BAD CALL - a wrong frame size or an abort leaves no file', async () => {
        const sub = 'encode-bad';
        spawnSync('mkdir', ['-p', join(dir, sub)]);
        const out = join(dir, sub, 'bad.mp4');
        const encoder = await createVideoEncoder(out, { width: 64, height: 48, fps: 10, codec: 'mpeg4' });
        await encoder.write({ data: new Uint8Array(64 * 48 * 3), width: 64, height: 48 });
        const err = await rejection(encoder.write({ data: new Uint8Array(10 * 10 * 3), width: 10, height: 10 }));
        expect(err).to.be.instanceOf(VideoError);
        expect(err.message).to.match(/bad\.mp4: frame is 10x10, the video is 64x48/);
        await encoder.abort();
        expect(leftovers(sub)).to.deep.equal([]);
        const missing = await rejection(createVideoEncoder(out, { width: 64, height: 48, fps: 10, ffmpegPath: join(dir, 'nope') }));
        expect(missing.message).to.match(/apt-get install ffmpeg/);
        const nowhere = await rejection(createVideoEncoder(join(dir, sub, 'missing', 'x.mp4'), { width: 64, height: 48, fps: 10 }));
        expect(nowhere).to.be.instanceOf(VideoError);
        expect(nowhere.message).to.match(/x\.mp4: the folder .*missing does not exist/);
      });

      it('BAD CALL - a folder ffmpeg cannot write in: its reason, not the broken pipe of a write waiting for it', async function () {
        // Where the folder exists but takes no new file, even for root.
        if (!existsSync('/proc/self')) this.skip();
        const [width, height] = [320, 240];
        const encoder = await createVideoEncoder('/proc/higher-pose-test.mp4', { width, height, fps: 10, codec: 'mpeg4' });
        // Frames larger than the pipe's buffer: each write waits for ffmpeg to read.
        const err = await rejection((async () => {
          for (let i = 0; i < 20; i++) await encoder.write({ data: new Uint8Array(width * height * 3), width, height });
          await encoder.finish();
        })());
        expect(err).to.be.instanceOf(VideoError);
        expect(err.message).to.match(/^\/proc\/higher-pose-test\.mp4: ffmpeg could not encode the video \(.*No such file or directory\)$/);
      });
    });

    describe('processVideo', () => {
      it('estimates, tracks and renders with decoding a bounded number of frames ahead', async () => {
        const sub = 'process-ok';
        spawnSync('mkdir', ['-p', join(dir, sub)]);
        const render = join(dir, sub, 'overlay.mp4');
        let counts: { decoded: number; delivered: number } | undefined;
        const ahead: number[] = [];
        const estimator = fakeEstimator((call) => ahead.push(counts!.delivered - (call + 1)));
        const run = processVideo(estimator, clip, {
          track: true,
          smooth: true,
          every: 2,
          render,
          queueSize: 2,
          onStart: (source) => (counts = source.counts),
        });
        const results = [];
        for await (const r of run) results.push(r);
        expect(results.map((r) => r.frame)).to.deep.equal([0, 1, 2, 3, 4]);
        expect(times(results)).to.deep.equal([0, 0.2, 0.4, 0.6, 0.8]);
        expect(results.map((r) => r.people.map((p) => p.id))).to.deep.equal(Array(5).fill([1, 2]));
        expect(Math.max(...ahead)).to.be.at.most(2);
        // Sampling a file, the overlay has every source frame, at the source's rate.
        const probed = probeStream(render);
        expect(probed).to.deep.include({ frames: 10, width: 160, height: 120, rate: '10/1' });
        expect(leftovers(sub)).to.deep.equal(['overlay.mp4']);
        const t = run.timings();
        expect(t.frames).to.equal(5);
        for (const stage of [t.decode, t.infer, t.track!, t.encode!]) expect(stage.fps).to.be.greaterThan(0);
      });

      it('draws each source frame between processed ones with the latest people; a sampled stream gives the processed frames', async () => {
        const sub = 'process-held';
        spawnSync('mkdir', ['-p', join(dir, sub)]);
        const render = join(dir, sub, 'overlay.mp4');
        // People on the first processed frame only (frame 0 of the source), none on the next ones (3, 6, 9).
        const estimator = { ...fakeEstimator(), calls: 0, async estimatePoses(image: RgbImage) {
          return this.calls++ === 0 ? [person(80, 60)] : [];
        } };
        const results = [];
        for await (const r of processVideo(estimator, clip, { every: 3, render, renderOptions: { codec: 'mpeg4' } })) results.push(r);
        expect(times(results)).to.deep.equal([0, 0.3, 0.6, 0.9]);
        expect(probeStream(render)).to.deep.include({ frames: 10, rate: '10/1' });
        const drawn = spawnSync('ffmpeg', ['-v', 'error', '-i', render, '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'], { maxBuffer: 1 << 24 }).stdout;
        const frameBytes = 160 * 120 * 3;
        // Mean difference from the source frame around the person (x 60..100, y 25..100).
        const difference = (k: number): number => {
          let sum = 0;
          let count = 0;
          for (let y = 25; y < 100; y++) {
            for (let x = 60; x < 100; x++) {
              for (let c = 0; c < 3; c++) {
                const i = k * frameBytes + (y * 160 + x) * 3 + c;
                sum += Math.abs(drawn[i]! - clipPixels[i]!);
                count++;
              }
            }
          }
          return sum / count;
        };
        const differences = Array.from({ length: 10 }, (_, k) => difference(k));
        const held = differences.slice(0, 3);
        const plain = differences.slice(3);
        expect(Math.min(...held), differences.map((d) => d.toFixed(1)).join(' ')).to.be.greaterThan(4 * Math.max(...plain));
        // Resampled, or from a start: the source frames of the range.
        for (const [options, frames] of [[{ fps: 4 }, 10], [{ start: 0.2, every: 2 }, 8]] as const) {
          for await (const _ of processVideo(fakeEstimator(), clip, { ...options, render })) void _;
          expect(probeStream(render), JSON.stringify(options)).to.deep.include({ frames, rate: '10/1' });
        }
        // A stream cannot be read twice: the overlay is the processed frames, at their rate.
        rmSync(render);
        for await (const _ of processVideo(fakeEstimator(), createReadStream(transport), { every: 5, maxFrames: 4, render })) void _;
        expect(probeStream(render)).to.deep.include({ frames: 4, rate: '5/1' });
        expect(leftovers(sub)).to.deep.equal(['overlay.mp4']);
      });

      it('keeps imagesInFlight frames estimating at once and yields them in order', async () => {
        for (const imagesInFlight of [1, 2, 3]) {
          let running = 0;
          let most = 0;
          const base = fakeEstimator();
          // Even calls take longer, so that later frames finish first when several are in flight.
          const estimator = {
            ...base,
            imagesInFlight,
            async estimatePoses(image: RgbImage) {
              const call = base.calls;
              most = Math.max(most, ++running);
              const people = await base.estimatePoses.call(base, image);
              await new Promise((resolve) => setTimeout(resolve, call % 2 === 0 ? 30 : 1));
              running--;
              return people;
            },
          };
          const results = [];
          for await (const r of processVideo(estimator, clip, { every: 2 })) results.push(r);
          expect(results.map((r) => r.frame), `${imagesInFlight} in flight`).to.deep.equal([0, 1, 2, 3, 4]);
          expect(results.map((r) => r.people[0].keypoints[0].x)).to.deep.equal([0, 1, 2, 3, 4].map((k) => person(30 + k * 2, 60).keypoints[0].x));
          expect(most).to.equal(imagesInFlight);
        }
      });

      it('renders a variable-frame-rate video frame for frame: each overlay frame at the time of its source frame, none dropped or repeated', async () => {
        const sub = 'process-vfr';
        mkdirSync(join(dir, sub));
        const render = join(dir, sub, 'overlay.mp4');
        // 10 fps for 0.5 s, then 2 fps: frames at 0, 0.1, …, 0.4, 0.5 and 1 s; 10 fps nominally.
        const variable = join(dir, 'variable.mkv');
        ffmpeg('-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=10:duration=0.5', '-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=2:duration=1',
          '-filter_complex', '[0][1]concat=n=2:v=1', '-vsync', 'vfr', '-enc_time_base', '1:1000', '-c:v', 'mpeg4', variable);
        // A burst: 10 frames over 81 s, at 0, 1, 4, 9, … 81 s (a phone's recording of a scene that hardly moves).
        const bursty = join(dir, 'bursty.mkv');
        ffmpeg('-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=10:duration=1', '-vf', 'setpts=N*N/TB', '-vsync', 'vfr', '-enc_time_base', '1:1000', '-c:v', 'mpeg4', bursty);
        expect(probeTimes(variable)).to.deep.equal([0, 0.1, 0.2, 0.3, 0.4, 0.5, 1]);
        expect(probeTimes(bursty)).to.deep.equal([0, 1, 4, 9, 16, 25, 36, 49, 64, 81]);
        const cases: [string | (() => Readable), number[], object][] = [
          [variable, [0, 0.1, 0.2, 0.3, 0.4, 0.5, 1], {}],
          // Every other frame processed: every source frame is drawn, at its time.
          [variable, [0, 0.1, 0.2, 0.3, 0.4, 0.5, 1], { every: 2 }],
          [() => createReadStream(variable), [0, 0.1, 0.2, 0.3, 0.4, 0.5, 1], {}],
          [bursty, [0, 1, 4, 9, 16, 25, 36, 49, 64, 81], {}],
          [() => createReadStream(bursty), [0, 4, 16, 36, 64], { every: 2 }],
        ];
        for (const [input, expected, options] of cases) {
          const what = `${typeof input === 'string' ? input : 'stream'} ${JSON.stringify(options)}`;
          for await (const _ of processVideo(fakeEstimator(), typeof input === 'string' ? input : input(), { ...options, render })) void _;
          const shown = probeTimes(render);
          // One frame a period of the nominal rate, the frames of a slow part were shown again and those of a burst dropped.
          expect(shown, what).to.have.length(expected.length);
          shown.forEach((time, k) => expect(time, `${what}: frame ${k}`).to.be.closeTo(expected[k]!, 0.001));
          expect(probeStream(render).frames, what).to.equal(expected.length);
        }
        expect(leftovers(sub)).to.deep.equal(['overlay.mp4']);
      });

      it('renders every frame of a stream sampled by --fps, each in its own slot (12 fps at 10: none dropped, none shown twice)', async () => {
        const sub = 'process-stream-fps';
        mkdirSync(join(dir, sub));
        const render = join(dir, sub, 'overlay.mp4');
        // Frame n is grey level 20n: which source frame an overlay frame shows is in its pixels.
        const source = join(dir, 'grey-steps.nut');
        ffmpeg('-f', 'lavfi', '-i', 'color=black:size=32x32:rate=12:duration=1', '-vf', "geq=lum='20*N':cb=128:cr=128", '-c:v', 'ffv1', source);
        const processed: number[] = [];
        for await (const r of processVideo(fakeEstimator(), createReadStream(source), { fps: 10, render })) processed.push(r.time);
        // The first frame of each 0.1 s slot: 0, 1/12 … — one a slot.
        expect(processed).to.have.length(10);
        const grey = async (file: string) => (await collect(file)).map((f) => f.image.data[3 * (16 * 32 + 16)]!);
        const levels = await grey(source);
        // The source frame each overlay frame shows, by the nearest grey level (the encoding is lossy).
        const shown = (await grey(render)).map((v) => levels.reduce((best, l, n) => (Math.abs(l - v) < Math.abs(levels[best]! - v) ? n : best), 0));
        // Rounded to periods, the frame of 0.25 s went to period 3, the one of 0.333 s was dropped and frame 0 shown twice.
        expect(shown).to.deep.equal(processed.map((t) => Math.round(t * 12)));
        expect(leftovers(sub)).to.deep.equal(['overlay.mp4']);
      });

      it('renders an anamorphic video (pixels twice as wide as high) with its pixel shape, rotated or not', async () => {
        const sub = 'process-anamorphic';
        mkdirSync(join(dir, sub));
        const render = join(dir, sub, 'overlay.mp4');
        const wide = join(dir, 'anamorphic.mp4');
        ffmpeg('-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=10', '-t', '0.3', '-vf', 'setsar=2', '-c:v', 'mpeg4', wide);
        // Turned a quarter: ffmpeg 6 on sets the display matrix with -display_rotation, earlier ones with the rotate tag.
        const turned = join(dir, 'anamorphic-turned.mp4');
        if (spawnSync('ffmpeg', ['-v', 'error', '-y', '-display_rotation', '90', '-i', wide, '-c', 'copy', turned]).status !== 0) {
          ffmpeg('-i', wide, '-c', 'copy', '-metadata:s:v:0', 'rotate=90', turned);
        }
        for (const [file, expected, sar] of [[wide, '160,120,2:1', 2], [turned, '120,160,1:2', 0.5]] as const) {
          expect(await probeVideo(file), file).to.include({ sampleAspectRatio: sar });
          for await (const _ of processVideo(fakeEstimator(), file, { render })) void _;
          // The overlay had square pixels: shown half as wide as its source.
          expect(ffprobe('-select_streams', 'v:0', '-show_entries', 'stream=width,height,sample_aspect_ratio', '-of', 'csv=p=0', render), file).to.equal(expected);
        }
        expect(leftovers(sub)).to.deep.equal(['overlay.mp4']);
      });

      it('smooths at low frame rates too: the filters live as long as the tracks', async () => {
        // One frame every 2 s: a smoother forgetting after its default second would pass every frame raw.
        const xs: number[] = [];
        for await (const { people } of processVideo(fakeEstimator(), long, { fps: 0.5, smooth: true, keypoints: COCO_KEYPOINTS })) {
          xs.push(people.find((p) => p.id === 1)!.keypoints[0]!.x);
        }
        const raw = [0, 1, 2].map((call) => person(30 + call * 2, 60).keypoints[0]!.x);
        expect(xs).to.have.length(2);
        expect(xs[0]).to.equal(raw[0]);
        expect(xs[1]).to.be.above(raw[0]!).and.below(raw[1]!);
      });

      it('BAD CALL - a queue size or an estimator\'s imagesInFlight that is not a positive integer, or past its bound', async () => {
        const run = (options: { queueSize?: number }, imagesInFlight?: number) => rejection((async () => {
          for await (const result of processVideo({ ...fakeEstimator(), imagesInFlight }, clip, options)) expect(result.frame).to.be.a('number');
        })());
        expect((await run({ queueSize: 0 })).message).to.match(/queueSize must be an integer from 1 to 1024 .*, got 0$/);
        expect((await run({ queueSize: '3' as unknown as number })).message).to.match(/queueSize must be an integer from 1 to 1024 .*, got "3"$/);
        // Its billion requests for frames, made at once, never let the run start.
        expect((await run({ queueSize: 1e9 })).message).to.equal(`processVideo: queueSize must be an integer from 1 to 1024 (frames decoded ahead of inference, each held in memory), got 1000000000`);
        const idle = await run({}, 0);
        expect(idle).to.be.instanceOf(VideoError);
        expect(idle.message).to.match(/the estimator's imagesInFlight must be an integer from 1 to 64 .*, got 0$/);
        // A billion frames in flight decoded the whole video ahead of the estimator, however long.
        expect((await run({}, 1e9)).message).to.match(/the estimator's imagesInFlight must be an integer from 1 to 64 .*, got 1000000000$/);
      });

      it('BAD CALL - options that are no object, a misspelt one, or a track, smooth or onStart of the wrong kind: an error before any frame, not a run without them', async () => {
        const cases: [unknown, string][] = [
          [null, 'options must be an object with any of ffmpegPath, ffprobePath, every, fps, start, duration, maxFrames, probeBytes, stallTimeout, inputFormat, inputOptions, signal, endSignal, track, smooth, keypoints, render, renderOptions, queueSize, realtime, onStart, onWarning; got Null'],
          ['fast', 'options must be an object with any of ffmpegPath, ffprobePath, every, fps, start, duration, maxFrames, probeBytes, stallTimeout, inputFormat, inputOptions, signal, endSignal, track, smooth, keypoints, render, renderOptions, queueSize, realtime, onStart, onWarning; got "fast"'],
          [{ evry: 2 }, 'unknown option evry; its options are '],
          [{ track: 'yes' }, 'track must be true, false or tracker settings (an object), got "yes"'],
          [{ smooth: 5 }, 'smooth must be true, false or filter settings (an object), got 5'],
          [{ onStart: 'log' }, 'onStart must be a function, got "log"'],
          // Found at the first frame drawn otherwise, after the encoder started.
          [{ renderOptions: { lineWidht: 2, codec: 'h264' } }, 'renderOptions: unknown option lineWidht; its options are '],
          [{ renderOptions: { box: 'yes' } }, 'renderOptions: box must be true or false, got "yes"'],
        ];
        for (const [options, message] of cases) {
          const estimator = fakeEstimator();
          const err = await rejection((async () => {
            for await (const _ of processVideo(estimator, clip, options as ProcessVideoOptions)) void _;
          })());
          expect(err, JSON.stringify(options)).to.be.instanceOf(VideoError);
          expect(err.message.startsWith(`processVideo: ${message}`), err.message).to.equal(true);
          expect(estimator.calls).to.equal(0);
        }
      });

      it('BAD CALL - track or smooth settings processVideo sets itself (keypoints, checkTimeUnit), or misspelt: a VideoError before any frame, not overridden without a word', async () => {
        const cases: [ProcessVideoOptions, string][] = [
          // @ts-expect-error the smoother's time check is processVideo's to set
          [{ smooth: { checkTimeUnit: true } }, "smooth.checkTimeUnit is not taken: a video's frame times are seconds, so the smoother's check for milliseconds is off"],
          // @ts-expect-error the tracker's keypoints are processVideo's keypoints option
          [{ track: { keypoints: CROWDPOSE_KEYPOINTS } }, 'track.keypoints is not taken: give them as the keypoints option of processVideo, which tracking and rendering use'],
          // Listed with the smoother's names, checkTimeUnit among them, and as a PoseSmoother's TypeError.
          // @ts-expect-error misspelt
          [{ smooth: { minCutof: 2 } }, 'smooth: unknown option minCutof; its options are minCutoff, beta, dCutoff, forgetAfter'],
          // @ts-expect-error misspelt
          [{ track: { maxMised: 2 } }, 'track: unknown option maxMised; its options are oksThreshold, iouThreshold, maxMissed, minKeypointScore, firstId'],
        ];
        for (const [options, message] of cases) {
          const estimator = fakeEstimator();
          const err = await rejection((async () => {
            for await (const _ of processVideo(estimator, clip, options)) void _;
          })());
          expect(err, JSON.stringify(options)).to.be.instanceOf(VideoError);
          expect(err.message).to.equal(`processVideo: ${message}`);
          expect(estimator.calls).to.equal(0);
        }
        // Given as undefined, they are left out.
        const unset: ProcessVideoOptions = { smooth: { checkTimeUnit: undefined } as ProcessVideoOptions['smooth'], track: { keypoints: undefined } as ProcessVideoOptions['track'], maxFrames: 2 };
        let frames = 0;
        for await (const { people } of processVideo(fakeEstimator(), clip, unset)) frames += people.every((p) => p.id !== undefined) ? 1 : 0;
        expect(frames).to.equal(2);
      });

      it('BAD CALL - an overlay video path that is empty or not a string: an error before any frame', async () => {
        for (const [render, said] of [['', 'an empty string'], [5, 'Number'], [{ path: 'overlay.mp4' }, 'Object']] as const) {
          const estimator = fakeEstimator();
          const err = await rejection((async () => {
            for await (const result of processVideo(estimator, clip, { render: render as string })) expect(result.frame).to.be.a('number');
          })());
          expect(err).to.be.instanceOf(VideoError);
          expect(err.message).to.equal(`processVideo: render must be a file path, got ${said}`);
          expect(estimator.calls).to.equal(0);
        }
      });

      it('BAD CALL - an overlay video that names the input video (or a link to it): an error before any frame, the input untouched', async () => {
        const sub = 'render-over-input';
        mkdirSync(join(dir, sub));
        const input = join(dir, sub, 'input.mp4');
        writeFileSync(input, readFileSync(clip));
        linkSync(input, join(dir, sub, 'link.mp4'));
        for (const render of [input, join(dir, sub, 'link.mp4')]) {
          const estimator = fakeEstimator();
          const err = await rejection((async () => {
            for await (const result of processVideo(estimator, input, { render })) expect(result.frame).to.be.a('number');
          })());
          expect(err).to.be.instanceOf(VideoError);
          expect(err.message).to.equal(`${render}: the overlay video (render) names the input video; give another file name`);
          expect(estimator.calls).to.equal(0);
        }
        expect(readFileSync(input).equals(readFileSync(clip))).to.equal(true);
        expect(leftovers(sub).sort()).to.deep.equal(['input.mp4', 'link.mp4']);
      });

      it('BAD CALL - tracker or smoother settings out of range: a VideoError (the RangeError its cause), as other settings, before the input is probed or onStart called', async () => {
        // They were checked after onStart had told the caller that the run started.
        for (const options of [{ track: { maxMissed: -1 } }, { smooth: { beta: -1 } }, { smooth: { forgetAfter: 0 } }]) {
          let started = false;
          const err = await rejection((async () => {
            for await (const _ of processVideo(fakeEstimator(), clip, { ...options, onStart: () => (started = true) })) void _;
          })());
          expect(err, JSON.stringify(options)).to.be.instanceOf(VideoError);
          expect(err.message).to.match(/^processVideo: (track: maxMissed|smooth: minCutoff and dCutoff .* beta -1,|smooth: forgetAfter) /);
          expect(err.cause).to.be.instanceOf(RangeError);
          expect(started, JSON.stringify(options)).to.equal(false);
        }
      });

      it('BAD VIDEO - frames smaller than the network takes (under 4x4): a VideoError naming the video once probed, before onStart or any frame, leaving no output', async () => {
        // The estimator refused the first frame with a PreprocessError naming an "image", not the video.
        const sub = 'process-too-small';
        mkdirSync(join(dir, sub));
        for (const size of ['2x2', '2x8', '8x2', '4x4']) {
          const video = join(dir, sub, `${size}.mkv`);
          ffmpeg('-f', 'lavfi', '-i', `color=gray:size=${size}:rate=5`, '-t', '0.6', '-c:v', 'ffv1', video);
        }
        for (const size of ['2x2', '2x8', '8x2']) {
          const video = join(dir, sub, `${size}.mkv`);
          for (const input of [video, createReadStream(video)]) {
            const estimator = fakeEstimator();
            let started = false;
            const render = join(dir, sub, 'overlay.mp4');
            const err = await rejection((async () => {
              for await (const _ of processVideo(estimator, input, { render, onStart: () => (started = true) })) void _;
            })());
            const name = typeof input === 'string' ? video : 'video stream';
            expect(err, name).to.be.instanceOf(VideoError);
            expect(err.message).to.equal(`${name}: frames are ${size}, smaller than the network takes (at least 4x4 pixels)`);
            expect((err as VideoError).file).to.equal(typeof input === 'string' ? video : undefined);
            expect(started).to.equal(false);
            expect(estimator.calls).to.equal(0);
          }
        }
        expect(leftovers(sub).sort()).to.deep.equal(['2x2.mkv', '2x8.mkv', '4x4.mkv', '8x2.mkv']);
        // At the least size, the frames run.
        const estimator = fakeEstimator();
        for await (const _ of processVideo(estimator, join(dir, sub, '4x4.mkv'))) void _;
        expect(estimator.calls).to.equal(3);
      });

      it('BAD CALL - keypoints of another definition than the estimator\'s (CrowdPose\'s for a COCO model): a VideoError before the input is probed', async () => {
        // Tracking failed at the first frame with people, naming a PoseTracker the caller never made;
        // rendering alone drew CrowdPose's skeleton over COCO's joints, silently.
        const sub = 'process-other-keypoints';
        mkdirSync(join(dir, sub));
        for (const options of [{ track: true }, { render: join(dir, sub, 'overlay.mp4') }]) {
          const estimator = fakeEstimator();
          let started = false;
          const err = await rejection((async () => {
            for await (const _ of processVideo(estimator, clip, { ...options, keypoints: CROWDPOSE_KEYPOINTS, onStart: () => (started = true) })) void _;
          })());
          expect(err, JSON.stringify(options)).to.be.instanceOf(VideoError);
          expect(err.message).to.equal('processVideo: keypoints (crowdpose, 14 joints) are not those of the estimator\'s people (coco, 17 joints); leave keypoints out to use the estimator\'s');
          expect(started).to.equal(false);
          expect(estimator.calls).to.equal(0);
        }
        expect(leftovers(sub)).to.deep.equal([]);
      });

      it('BAD CALL - an estimator failure or an early stop leaves no rendered file and no ffmpeg', async () => {
        const sub = 'process-bad';
        spawnSync('mkdir', ['-p', join(dir, sub)]);
        const render = join(dir, sub, 'overlay.mp4');
        const failing = fakeEstimator((call) => {
          if (call === 3) throw new Error('inference exploded');
        });
        const err = await rejection((async () => {
          for await (const _ of processVideo(failing, clip, { render })) void _;
        })());
        expect(err.message).to.equal('inference exploded');
        // Sampled, the source frames between processed ones come from a second ffmpeg.
        for (const every of [1, 4]) {
          for await (const r of processVideo(fakeEstimator(), long, { render, every })) if (r.frame === 2) break;
          const interrupt = new AbortController();
          const aborted = await rejection((async () => {
            for await (const r of processVideo(fakeEstimator(), long, { render, every, signal: interrupt.signal })) {
              if (r.frame === 1) interrupt.abort(new VideoError('interrupted by SIGINT'));
            }
          })());
          expect(aborted.message).to.equal('interrupted by SIGINT');
        }
        expect(leftovers(sub)).to.deep.equal([]);
        expect(processesMentioning(sub) ?? []).to.deep.equal([]);
        expect(processesMentioning(long) ?? []).to.deep.equal([]);
      });
      it('BAD CALL - aborted, frames waiting for a slot of the estimator leave at once, none rejecting unhandled', async () => {
        // An estimator of one slot with three frames in flight: one estimating, the next waiting.
        const slots = new Slots(1);
        const started: number[] = [];
        let calls = 0;
        // The second estimate's end: the slot a waiting frame would take then.
        let secondDone!: () => void;
        const secondEnded = new Promise<void>((resolve) => (secondDone = resolve));
        const estimator: PoseEstimator & { keypoints: KeypointDefinition; imagesInFlight: number } = {
          keypoints: COCO_KEYPOINTS,
          imagesInFlight: 3,
          estimatePoses(_image, options) {
            const call = calls++;
            return slots.run(async () => {
              started.push(call);
              await new Promise((resolve) => setTimeout(resolve, 50));
              if (call === 1) secondDone();
              return [];
            }, options?.signal && nodeSignal(options.signal)); // as the estimator takes a signal
          },
          async dispose() {},
        };
        const unhandled: unknown[] = [];
        const onUnhandled = (reason: unknown): number => unhandled.push(reason);
        process.on('unhandledRejection', onUnhandled);
        try {
          const interrupt = new AbortController();
          const err = await rejection((async () => {
            for await (const r of processVideo(estimator, long, { signal: interrupt.signal })) {
              if (r.frame === 0) interrupt.abort(new VideoError('interrupted by SIGINT'));
            }
          })());
          expect(err.message).to.equal('interrupted by SIGINT');
          // The slot free again: a frame that stayed waiting would have started by the next turn.
          await secondEnded;
          await new Promise((resolve) => setImmediate(resolve));
        } finally {
          process.off('unhandledRejection', onUnhandled);
        }
        expect(started).to.deep.equal([0, 1]);
        expect(unhandled).to.deep.equal([]);
      });

      for (const [kind, controllerOf] of [['another realm\'s signal', otherRealmController], ['a polyfill\'s signal (no reason, no throwIfAborted)', polyfillController]] as const) {
        it(`takes ${kind} as Node's: aborted before the run or midway, it stops with the signal's reason (Node's AbortError when it has none) and leaves no overlay`, async () => {
          const sub = `foreign-signal-${controllerOf.name}`;
          mkdirSync(join(dir, sub));
          const render = join(dir, sub, 'overlay.mp4');
          const expectAbortedBy = (error: Error, controller: ForeignController) => {
            if ('reason' in controller.signal) expect(error).to.equal(controller.signal.reason);
            else expect([error instanceof DOMException, error.name]).to.deep.equal([true, 'AbortError']);
          };
          const before = controllerOf();
          before.abort();
          const estimator = fakeEstimator();
          expectAbortedBy(await rejection((async () => {
            for await (const _ of processVideo(estimator, long, { render, signal: before.signal })) void _;
          })()), before);
          expect(estimator.calls, 'no frame estimated').to.equal(0);

          const midway = controllerOf();
          const seen: number[] = [];
          expectAbortedBy(await rejection((async () => {
            for await (const r of processVideo(fakeEstimator(), long, { render, signal: midway.signal })) {
              seen.push(r.frame);
              if (r.frame === 1) midway.abort();
            }
          })()), midway);
          expect(seen).to.deep.equal([0, 1]);
          expect(leftovers(sub)).to.deep.equal([]);
          expect(processesMentioning(sub) ?? []).to.deep.equal([]);
        });
      }

      it('BAD CALL - aborted while the overlay encoder takes no frame (its disk hung): the abort at once, the encoder killed and its file removed', async () => {
        // Sampled, the frame waits in the second decoding's drawing of the source frames.
        for (const every of [1, 4]) {
          const sub = `stalled-encoder-${every}`;
          const held = join(dir, `${sub}-ffmpeg`);
          mkdirSync(join(dir, sub));
          mkdirSync(held);
          // The encoding ffmpeg makes its output file, says it started, and never reads its stdin (a 320x240 frame is over a
          // pipe's 64 KiB: the first frame's write waits) until its folder is gone, so that nothing is left running.
          const stalled = join(held, 'ffmpeg');
          const encoding = join(held, 'encoding');
          writeFileSync(stalled, `#!/bin/sh\ncase "$*" in *"-f matroska -i pipe:0"*) for output; do :; done; : > "$output"; : > '${encoding}'
  while [ -d '${held}' ]; do sleep 0.05; done; exit 1 ;; esac\nexec ffmpeg "$@"\n`, { mode: 0o755 });
          const render = join(dir, sub, 'overlay.mp4');
          // Had the abort waited for the encoder to read, that comes after a wide margin, and the test fails instead of hanging.
          let released = false;
          const margin = setTimeout(() => {
            released = true;
            rmSync(held, { recursive: true, force: true });
          }, 20_000);
          try {
            const controller = new AbortController();
            let ended = false;
            const run = rejection((async () => {
              for await (const _ of processVideo(fakeEstimator(), long, { render, every, ffmpegPath: stalled, signal: controller.signal })) void _;
            })()).finally(() => (ended = true));
            // Started, the encoder has the first frame's write waiting: that came in the same turn.
            while (!existsSync(encoding) && !ended) await new Promise((resolve) => setTimeout(resolve, 20));
            controller.abort(new Error('stopped'));
            const err = await run;
            expect({ message: err.message, released }, `every ${every}`).to.deep.equal({ message: 'stopped', released: false });
            expect(leftovers(sub), `every ${every}`).to.deep.equal([]);
            expect(processesMentioning(held) ?? [], `every ${every}`).to.deep.equal([]);
          } finally {
            clearTimeout(margin);
            rmSync(held, { recursive: true, force: true });
          }
        }
      });

      it('BAD CALL - an overlay video aborted as its first frame starts the encoder: the encoder stopped once started, none left running, no file', async () => {
        // processVideo leaves an add at the abort; the encoder that add is starting is then the abort's to stop.
        const sub = 'overlay-abort-starting';
        mkdirSync(join(dir, sub));
        const source = await openVideo(clip, { maxFrames: 1 });
        const [frame] = await (async () => {
          const frames: VideoFrame[] = [];
          for await (const decoded of source) frames.push(decoded);
          return frames;
        })();
        const overlay = overlayVideo(clip, source, { path: join(dir, sub, 'overlay.mp4'), keypoints: COCO_KEYPOINTS, decode: {} });
        // In the same turn: the add waits for its encoder to start.
        const added = overlay.add(frame!, [person(80, 60)]).catch(() => {});
        try {
          await overlay.abort();
          await added;
          expect(processesMentioning(sub) ?? []).to.deep.equal([]);
          expect(leftovers(sub)).to.deep.equal([]);
        } finally {
          await added;
          await overlay.abort();
        }
      });

      it('BAD CALL - a signal that is no AbortSignal (a string, a controller instead of its signal) is refused before any frame', async () => {
        for (const [signal, said] of [['stop', '"stop"'], [new AbortController(), 'an AbortController (pass its .signal)'], [polyfillController(), 'an AbortController (pass its .signal)']] as const) {
          const estimator = fakeEstimator();
          const err = await rejection((async () => {
            for await (const _ of processVideo(estimator, clip, { signal: signal as never })) void _;
          })());
          expect(err).to.be.instanceOf(VideoError);
          expect(err.message).to.equal(`processVideo: signal must be an AbortSignal, got ${said}`);
          expect(estimator.calls).to.equal(0);
        }
      });
    });

    describe('ffmpeg 9 (no -vsync, no -enc_time_base -1)', () => {
      /**
       * An ffmpeg that behaves as 9.0 on the command line: -vsync unknown (nor in its -h long) and
       * -enc_time_base -1 refused; the rest is the real ffmpeg's, -enc_time_base demux given as the
       * -1 that 5.1 takes for it. Each call's arguments are logged to `calls`.
       */
      function ffmpeg9(sub: string): { binary: string; calls: () => string[] } {
        const binary = join(dir, sub, 'ffmpeg9');
        const log = join(dir, sub, 'ffmpeg9.log');
        writeFileSync(binary, `#!/bin/sh
echo "$*" >> '${log}'
case " $* " in
  *" -vsync "*) echo "Unrecognized option 'vsync'." >&2; echo 'Error splitting the argument list: Option not found' >&2; exit 8 ;;
  *" -h "*) ffmpeg "$@" | grep -v '^-vsync'; exit 0 ;;
esac
previous=
for arg do
  shift
  if [ "$previous" = -enc_time_base ]; then
    case "$arg" in
      -1) echo '[vost#0:0/rawvideo @ 0x55d0c0de] Invalid time base: -1' >&2; exit 234 ;;
      demux) arg=-1 ;;
    esac
  fi
  previous=$arg
  set -- "$@" "$arg"
done
exec ffmpeg "$@"
`, { mode: 0o755 });
        return { binary, calls: () => (existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter((line) => line !== '') : []) };
      }

      it('processVideo with a rendered, sampled overlay works with ffmpeg 9 as with the ffmpeg here: the same poses and overlay frames (it failed on -vsync)', async function () {
        this.timeout(120_000);
        const sub = 'ffmpeg9-process';
        mkdirSync(join(dir, sub));
        const fake = ffmpeg9(sub);
        const estimator = await createEstimator({ preset: 'tiny_coco', weights: TINY_COCO_CHECKPOINT(), inputSize: 256 });
        const run = async (name: string, ffmpegPath?: string) => {
          const render = join(dir, sub, name);
          const results = [];
          // Sampled: the overlay decodes the file a second time for every source frame, then encodes them.
          for await (const { frame, time, people } of processVideo(estimator, clip, { every: 2, maxFrames: 3, render, ffmpegPath })) results.push({ frame, time, people });
          return { results, overlay: probeTimes(render) };
        };
        try {
          const here = await run('here.mp4');
          const nine = await run('nine.mp4', fake.binary);
          expect(nine.results).to.have.length(3);
          expect(nine.results.some((r) => r.people.length > 0), 'people found').to.equal(true);
          expect(nine.results).to.deep.equal(here.results);
          expect(nine.overlay).to.have.length(6);
          expect(nine.overlay).to.deep.equal(here.overlay);
        } finally {
          await estimator.dispose();
        }
        const runs = fake.calls().filter((line) => / -i /.test(line));
        expect(runs).to.have.length(3); // two decodings, one encoding
        for (const line of runs) expect(line).to.match(/ -fps_mode passthrough -enc_time_base demux /).and.not.match(/-vsync/);
        expect(leftovers(sub).sort()).to.deep.equal(['ffmpeg9', 'ffmpeg9.log', 'here.mp4', 'nine.mp4']);
      });

      it('a stream read with ffmpeg 9 gives the frames and times it gives with the ffmpeg here', async () => {
        const sub = 'ffmpeg9-stream';
        mkdirSync(join(dir, sub));
        const { binary } = ffmpeg9(sub);
        const here = await collect(createReadStream(transport), { maxFrames: 30 });
        const nine = await collect(createReadStream(transport), { maxFrames: 30, ffmpegPath: binary });
        expect(times(nine)).to.deep.equal(times(here));
        expect(nine.every((frame, i) => Buffer.from(frame.image.data).equals(here[i]!.image.data))).to.equal(true);
      });

      it('each ffmpeg is asked for its options once a process, until it answers: not again for every video, decoding or overlay', async () => {
        const sub = 'ffmpeg9-asked-once';
        mkdirSync(join(dir, sub));
        const binary = join(dir, sub, 'ffmpeg-logging');
        const calls = join(dir, sub, 'calls.log');
        // Not there yet: the run fails, and the next asks again.
        expect((await rejection(collect(clip, { ffmpegPath: binary }))).message).to.match(/ffmpeg-logging.*ENOENT.*apt-get install ffmpeg/);
        writeFileSync(binary, `#!/bin/sh\necho "$*" >> '${calls}'\nexec ffmpeg "$@"\n`, { mode: 0o755 });
        for (const name of ['a.mp4', 'b.mkv']) {
          for await (const _ of processVideo(fakeEstimator(), clip, { every: 3, render: join(dir, sub, name), ffmpegPath: binary })) void _;
        }
        expect(await collect(matroska, { maxFrames: 2, ffmpegPath: binary })).to.have.length(2);
        const lines = readFileSync(calls, 'utf8').split('\n').filter((line) => line !== '');
        expect(lines.filter((line) => line === '-hide_banner -h long')).to.have.length(1);
        // ffmpeg 5.1 here has -vsync: its arguments are those it always had.
        const runs = lines.filter((line) => / -i /.test(line));
        expect(runs).to.have.length(7);
        for (const line of runs) expect(line).to.match(/ -vsync passthrough -enc_time_base -1 /);
      });

      it('BAD CALL - an ffmpeg that fails when asked for its options, or a binary that is no ffmpeg (ffprobe): a VideoError saying so, for decoding and encoding, no output left', async () => {
        const sub = 'ffmpeg9-broken';
        mkdirSync(join(dir, sub));
        const broken = join(dir, sub, 'ffmpeg-broken');
        writeFileSync(broken, '#!/bin/sh\necho "ffmpeg: error while loading shared libraries: libavdevice.so.59: cannot open shared object file" >&2\nexit 127\n', { mode: 0o755 });
        const cases: [string, RegExp][] = [
          [broken, /^cannot run ".*ffmpeg-broken": asked for its options \(-h long\), it failed \(ffmpeg: error while loading shared libraries: libavdevice\.so\.59: cannot open shared object file\); video support needs a working FFmpeg/],
          // Before, ffprobe given as ffmpeg failed as "Failed to set value '-loglevel' for option 'nostats'".
          ['ffprobe', /^"ffprobe" is not ffmpeg: its options \(-h long\) include neither -vsync nor -fps_mode; point \$HIGHER_POSE_FFMPEG \(or ffmpegPath\) at the ffmpeg binary$/],
        ];
        for (const [ffmpegPath, message] of cases) {
          const decoding = await rejection(collect(clip, { ffmpegPath }));
          expect(decoding).to.be.instanceOf(VideoError).and.include({ file: clip });
          expect(decoding.message).to.match(message);
          const out = join(dir, sub, 'overlay.mp4');
          const encoding = await rejection(createVideoEncoder(out, { width: 64, height: 48, fps: 10, codec: 'mpeg4', ffmpegPath }));
          expect(encoding).to.be.instanceOf(VideoError).and.include({ file: out });
          expect(encoding.message).to.match(message);
        }
        expect(leftovers(sub)).to.deep.equal(['ffmpeg-broken']);
      });

      it('BAD CALL - aborted while an ffmpeg is asked for its options: the abort at once, not the wait for its answer', async () => {
        const sub = 'ffmpeg9-abort';
        mkdirSync(join(dir, sub));
        const slow = join(dir, sub, 'ffmpeg-slow-help');
        const [asked, release] = [join(dir, sub, 'asked'), join(dir, sub, 'release')];
        // Asked for its options, it says so and answers once the test lets it, or once its folder is gone (removed
        // before it looked for the release), so that nothing is left running.
        writeFileSync(slow, `#!/bin/sh\ncase " $* " in *" -h "*) : > '${asked}'; while [ ! -e '${release}' ] && [ -d '${join(dir, sub)}' ]; do sleep 0.05; done ;; esac\nexec ffmpeg "$@"\n`, { mode: 0o755 });
        // Had the abort waited for the answer, that comes after a wide margin, and the test fails instead of hanging.
        let answered = false;
        const margin = setTimeout(() => {
          answered = true;
          writeFileSync(release, '');
        }, 30_000);
        try {
          const controller = new AbortController();
          const source = await openVideo(clip, { ffmpegPath: slow, signal: controller.signal });
          const read = rejection((async () => {
            for await (const _ of source) void _;
          })());
          while (!existsSync(asked)) await new Promise((resolve) => setTimeout(resolve, 20));
          controller.abort(new Error('stopped'));
          const err = await read;
          expect({ message: err.message, answered }).to.deep.equal({ message: 'stopped', answered: false });
        } finally {
          clearTimeout(margin);
          writeFileSync(release, '');
        }
      });
    });

    describe('video command', () => {
      function program(estimator = fakeEstimator(), stdin?: Readable, stdout?: Writable): { program: Command; requests: unknown[]; logs: string[] } {
        const requests: unknown[] = [];
        const logs: string[] = [];
        const p = new Command().exitOverride().configureOutput({ writeErr: () => {} });
        registerVideo(p, {
          createEstimator: async (opts) => {
            requests.push(opts);
            return estimator;
          },
          log: (line) => logs.push(line),
          stdin,
          stdout,
        });
        return { program: p, requests, logs };
      }

      it('writes one JSON line per frame and an overlay video', async () => {
        const sub = 'cli-ok';
        spawnSync('mkdir', ['-p', join(dir, sub)]);
        const out = join(dir, sub, 'poses.jsonl');
        const render = join(dir, sub, 'overlay.mp4');
        const estimator = fakeEstimator();
        const { program: p, requests, logs } = program(estimator);
        await p.parseAsync(['video', clip, '--preset', 'coco_w32_512', '--weights', 'w.pth', '--scales', '1,0.5', '--no-flip',
          '--out', out, '--render', render, '--track', '--every', '3', '--max-frames', '3'], { from: 'user' });
        expect(requests).to.have.length(1);
        expect(requests[0]).to.deep.include({ preset: 'coco_w32_512', weights: 'w.pth', flipTest: false, scales: [1, 0.5] });
        const lines = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
        expect(lines.map((l) => [l.frame, l.time])).to.deep.equal([[0, 0], [1, 0.3], [2, 0.6]]);
        const first = (lines[0]!.people as Record<string, unknown>[])[0]!;
        expect(Object.keys(first)).to.deep.equal(['id', 'score', 'keypoints', 'box']);
        expect(first.id).to.equal(1);
        const kps = first.keypoints as Record<string, unknown>[];
        expect(kps).to.have.length(17);
        expect(kps[0]).to.have.all.keys('name', 'x', 'y', 'score');
        expect(kps[0]!.name).to.equal('nose');
        expect(first.box).to.have.all.keys('xMin', 'yMin', 'xMax', 'yMax', 'width', 'height');
        // Frames 0-8 of the source: the last processed frame (6) stands for 6, 7 and 8.
        expect(probeStream(render)).to.deep.include({ frames: 9, rate: '10/1' });
        expect(leftovers(sub).sort()).to.deep.equal(['overlay.mp4', 'poses.jsonl']);
        rmSync(join(dir, sub, 'untracked.jsonl'), { force: true });
        expect(logs.join('\n')).to.match(/3 frames in .* decode [\d.]+, infer [\d.]+, track [\d.]+, encode [\d.]+/);
        const { program: untracked, logs: untrackedLogs } = program(fakeEstimator());
        await untracked.parseAsync(['video', clip, '--preset', 'tiny_coco', '--weights', 'w.pth', '--out', join(dir, sub, 'untracked.jsonl'), '--max-frames', '2'], { from: 'user' });
        expect(untrackedLogs.join('\n')).to.match(/stages in frames\/s: decode [\d.]+, infer [\d.]+$/);
        expect(estimator.disposed).to.equal(true);
      });

      it('BAD CALL - a video file that is not there, or a folder, is refused before the model is made', async () => {
        // Was found by processVideo, once the estimator was made (a W48 checkpoint: seconds of loading for a typo).
        for (const [input, said] of [[join(dir, 'no-such-clip.mp4'), /no-such-clip\.mp4: cannot read video file \(ENOENT/], [dir, /: a folder, not a video file$/]] as const) {
          const { program: p, requests } = program();
          const err = await rejection(p.parseAsync(['video', input, '--preset', 'tiny_coco', '--weights', 'w.pth'], { from: 'user' }));
          expect(err).to.be.instanceOf(VideoError);
          expect(err.message).to.match(said);
          expect(requests, input).to.have.length(0);
        }
      });

      it('asks ffmpeg for its encoders once a process, not at each check of --render; a probe that failed is asked again', async () => {
        const sub = 'cli-encoders';
        mkdirSync(join(dir, sub));
        // An ffmpeg that logs how it is called, at a path where there is none yet.
        const calls = join(dir, sub, 'calls.log');
        const logging = join(dir, sub, 'ffmpeg-logging');
        const render = (name: string) => program().program.parseAsync(['video', clip, '--preset', 'tiny_coco', '--weights', 'w.pth', '--max-frames', '2',
          '--out', join(dir, sub, `${name}.jsonl`), '--render', join(dir, sub, name)], { from: 'user' });
        const saved = process.env.HIGHER_POSE_FFMPEG;
        process.env.HIGHER_POSE_FFMPEG = logging;
        try {
          expect(await rejection(render('before.mp4'))).to.be.instanceOf(VideoError);
          // Installed since: asked again, then once for every render after.
          writeFileSync(logging, `#!/bin/sh\necho "$*" >> '${calls}'\nexec ffmpeg "$@"\n`, { mode: 0o755 });
          for (const name of ['overlay.mp4', 'overlay.webm', 'again.mp4']) await render(name);
        } finally {
          if (saved === undefined) delete process.env.HIGHER_POSE_FFMPEG;
          else process.env.HIGHER_POSE_FFMPEG = saved;
        }
        expect(readFileSync(calls, 'utf8').split('\n').filter((line) => / -encoders$/.test(line))).to.deep.equal(['-hide_banner -encoders']);
        expect(leftovers(sub).filter((name) => /^(overlay|again)\.(mp4|webm)$/.test(name)).sort()).to.deep.equal(['again.mp4', 'overlay.mp4', 'overlay.webm']);
      });

      it('BAD CALL - --max-pixels reaches the estimator; frames over its bound are refused once the video is probed, naming it, before any is estimated, leaving no output', async () => {
        const sub = 'cli-max-pixels';
        mkdirSync(join(dir, sub));
        // The clip is 160x120.
        const estimator = Object.assign(fakeEstimator(), { maxPixels: 160 * 120 - 1 });
        const { program: p, requests } = program(estimator);
        const err = await rejection(p.parseAsync(['video', clip, '--preset', 'tiny_coco', '--weights', 'w.pth', '--max-pixels', String(160 * 120 - 1),
          '--out', join(dir, sub, 'poses.jsonl'), '--render', join(dir, sub, 'overlay.mp4')], { from: 'user' }));
        expect(requests[0]).to.deep.include({ maxPixels: 160 * 120 - 1 });
        expect(err).to.be.instanceOf(ImageError);
        expect((err as ImageError).code).to.equal('dimensions');
        expect(err.message).to.equal(`${clip}: frames are 160x120, over the limit of 19199 pixels`);
        expect(estimator.calls).to.equal(0);
        expect(leftovers(sub)).to.deep.equal([]);
        expect(processesMentioning(clip) ?? []).to.deep.equal([]);
        // At the bound, the frames run.
        const { program: q } = program(Object.assign(fakeEstimator(), { maxPixels: 160 * 120 }));
        await q.parseAsync(['video', clip, '--preset', 'tiny_coco', '--weights', 'w.pth', '--max-frames', '2', '--out', join(dir, sub, 'poses.jsonl')], { from: 'user' });
        expect(leftovers(sub)).to.deep.equal(['poses.jsonl']);
      });

      it("splits inference into the network and the post-processing in the summary, as the estimator times them", async () => {
        const estimator = fakeEstimator();
        const logs: string[] = [];
        const p = new Command().exitOverride().configureOutput({ writeErr: () => {} });
        registerVideo(p, {
          createEstimator: async (opts) => ({
            ...estimator,
            estimatePoses: async (image: Parameters<typeof estimator.estimatePoses>[0]) => {
              opts.onStageTimes?.({ read: 0, preprocess: 1, network: 20, postprocess: 5 });
              return estimator.estimatePoses(image);
            },
          }) as typeof estimator,
          log: (line) => logs.push(line),
        });
        await p.parseAsync(['video', clip, '--preset', 'tiny_coco', '--weights', 'w.pth', '--out', join(dir, 'stages.jsonl'), '--max-frames', '3'], { from: 'user' });
        expect(logs.join('\n')).to.match(/stages in frames\/s: decode [\d.]+, infer [\d.]+ \(network 50\.0, post-processing 200\.0\)$/);
      });

      it("reads the video from stdin with input '-', and refuses a terminal there", async () => {
        const sub = 'cli-stdin';
        spawnSync('mkdir', ['-p', join(dir, sub)]);
        const out = join(dir, sub, 'poses.jsonl');
        const stdin = createReadStream(matroska);
        const { program: p } = program(fakeEstimator(), stdin);
        await p.parseAsync(['video', '-', '--preset', 'tiny_coco', '--weights', 'w.pth', '--out', out, '--every', '100'], { from: 'user' });
        const lines = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
        expect(lines.map((l) => [l.frame, l.time])).to.deep.equal([[0, 0], [1, 4], [2, 8]]);
        expect(stdin.destroyed).to.equal(true);

        const terminal = Object.assign(new PassThrough(), { isTTY: true });
        const { program: q, requests } = program(fakeEstimator(), terminal);
        const err = await rejection(q.parseAsync(['video', '-', '--preset', 'tiny_coco', '--weights', 'w.pth'], { from: 'user' }));
        expect(err).to.be.instanceOf(VideoError);
        expect(err.message).to.match(/stdin is a terminal; pipe a video into it/);
        expect(requests).to.deep.equal([]);
      });

      it('BAD CALL - interrupted, it says so even when a failure of its ffmpeg (Ctrl-C reaches them too) comes first', async () => {
        const sub = 'cli-interrupted';
        spawnSync('mkdir', ['-p', join(dir, sub)]);
        const estimator = fakeEstimator((call) => {
          if (call !== 1) return;
          // The command's own SIGINT listener (emitting the signal would reach mocha's too).
          (process.listeners('SIGINT').at(-1) as (signal: NodeJS.Signals) => void)('SIGINT');
          throw new VideoError('overlay.mp4: ffmpeg could not encode the video (exit code 255)');
        });
        const { program: p } = program(estimator);
        const err = await rejection(p.parseAsync(['video', clip, '--preset', 'tiny_coco', '--weights', 'w.pth', '--out', join(dir, sub, 'poses.jsonl'),
          '--render', join(dir, sub, 'overlay.mp4')], { from: 'user' }));
        expect(err).to.be.instanceOf(Interrupted);
        expect(err.message).to.match(new RegExp(`^interrupted by SIGINT; stopped after [01] frames?; ${join(dir, sub, 'poses.jsonl')} and ${join(dir, sub, 'overlay.mp4')} not written$`));
        expect(leftovers(sub)).to.deep.equal([]);
      });

      it('BAD CALL - stopped by a signal, the process ends by it (a shell reports 130 for SIGINT, 143 for SIGTERM, and stops a loop) and leaves no overlay', async function () {
        this.timeout(120_000);
        for (const signal of ['SIGINT', 'SIGTERM'] as const) {
          const sub = `cli-${signal}`;
          mkdirSync(join(dir, sub));
          // Held after the first frame's JSON line (its second never written): the run cannot end before the signal.
          const run = started(['video', matroska, '--preset', 'tiny_coco', '--weights', TINY_COCO_CHECKPOINT(), '--render', join(dir, sub, 'overlay.mp4')],
            { script: stdoutStalledAfterFirstLineScript });
          // Once the first frame's JSON line is out, the run is under way.
          run.child.stdout!.once('data', () => run.child.kill(signal));
          expect(await run.ended, run.stderr()).to.deep.equal({ code: null, by: signal });
          expect(run.stderr()).to.match(new RegExp(`higher-pose: interrupted by ${signal}; stopped after \\d+ frames?; ${join(dir, sub, 'overlay.mp4')} not written\n`));
          expect(leftovers(sub)).to.deep.equal([]);
        }
      });

      it('BAD CALL - a SIGINT to node alone while ffmpeg finishes the overlay: ended by it and no overlay, not a complete run', async function () {
        this.timeout(120_000);
        const sub = 'cli-final-encode';
        const held = join(dir, `${sub}-ffmpeg`);
        mkdirSync(join(dir, sub));
        mkdirSync(held);
        // An encoding ffmpeg that, its video written, takes its time to end (a long flush, a faststart rewrite): it says so,
        // then ends once the run has heard the SIGINT, or once its folder is gone, so that nothing is left running.
        const slowEncoder = join(held, 'slow-ffmpeg.sh');
        const [finishing, heard] = [join(held, 'finishing'), join(held, 'heard')];
        writeFileSync(slowEncoder, `#!/bin/sh\nffmpeg "$@"; status=$?\ncase "$*" in *"-f matroska -i pipe:0"*) : > '${finishing}'
  while [ ! -e '${heard}' ] && [ -d '${held}' ]; do sleep 0.05; done ;; esac\nexit $status\n`, { mode: 0o755 });
        const overlay = join(dir, sub, 'overlay.mp4');
        const run = started(['video', matroska, '--preset', 'tiny_coco', '--weights', TINY_COCO_CHECKPOINT(), '--input-size', '256', '--max-frames', '3', '--render', overlay],
          { script: sigintHeardScript(heard), env: { ...process.env, HIGHER_POSE_FFMPEG: slowEncoder } });
        // The last frame's JSON line out and its overlay frame in, ffmpeg has written the video and is finishing.
        await appeared(finishing, run);
        run.child.kill('SIGINT');
        expect(await run.ended, run.stderr()).to.deep.equal({ code: null, by: 'SIGINT' });
        expect(run.stderr()).to.include(`higher-pose: interrupted by SIGINT; stopped after 3 frames; ${overlay} not written\n`);
        expect(run.stdout().trim().split('\n')).to.have.length(3);
        expect(leftovers(sub)).to.deep.equal([]);
      });

      it('BAD CALL - Ctrl-C twice (or SIGINT then SIGTERM): the process still ends without temporary files of --out or --render', async function () {
        this.timeout(120_000);
        for (const second of ['SIGINT', 'SIGTERM'] as const) {
          const sub = `cli-twice-${second}`;
          const held = join(dir, `${sub}-held`);
          mkdirSync(join(dir, sub));
          mkdirSync(held);
          const [estimating, removing, release] = [join(held, 'estimating'), join(held, 'removing'), join(held, 'release')];
          const [out, overlay] = [join(dir, sub, 'poses.jsonl'), join(dir, sub, 'overlay.mp4')];
          const run = started(['video', long, '--preset', 'tiny_coco', '--weights', TINY_COCO_CHECKPOINT(), '--input-size', '256', '--no-flip', '--out', out, '--render', overlay],
            { script: heldRemovalScript(removing, release, held, secondFrameHeldScript(estimating)) });
          // Both outputs under way (the overlay's file made as its ffmpeg starts, at the first frame), the second frame held.
          await appeared(estimating, run);
          await until('both temporary files were made', () => leftovers(sub).filter((name) => name.endsWith('.tmp')).length === 2, run);
          run.child.kill('SIGINT');
          // The second signal as the first one's cleanup removes the temporary files, held before the first removal.
          await appeared(removing, run);
          run.child.kill(second);
          // Sent: the run has it before it can see the release.
          writeFileSync(release, '');
          // Ended by the first signal, once the files were gone: the second stopped nothing.
          expect(await run.ended, `${second}: ${run.stderr()}`).to.deep.equal({ code: null, by: 'SIGINT' });
          expect(leftovers(sub), second).to.deep.equal([]);
          expect(run.stderr()).to.match(new RegExp(`higher-pose: interrupted by SIGINT; stopped after \\d+ frames?; ${out} and ${overlay} not written\n`));
        }
      });

      it('BAD CALL - interrupted while its JSON lines wait for a reader that does not read: it stops at once', async () => {
        const sub = 'cli-stalled';
        spawnSync('mkdir', ['-p', join(dir, sub)]);
        // The command's own SIGINT listener (emitting the signal would reach mocha's too).
        const ctrlC = (): void => (process.listeners('SIGINT').at(-1) as (signal: NodeJS.Signals) => void)('SIGINT');
        // A pipe into a process that never reads: no write completes. Ctrl-C comes once the first line waits there.
        const stalled = new Writable({ highWaterMark: 1, write: () => setImmediate(ctrlC) });
        const estimator = fakeEstimator();
        const { program: p } = program(estimator, undefined, stalled);
        const err = await rejection(p.parseAsync(['video', long, '--preset', 'tiny_coco', '--weights', 'w.pth', '--render', join(dir, sub, 'overlay.mp4')], { from: 'user' }));
        expect(err.message).to.match(new RegExp(`^interrupted by SIGINT; stopped after \\d+ frames?; ${join(dir, sub, 'overlay.mp4')} not written$`));
        expect(estimator.calls).to.be.at.most(5);
        expect(leftovers(sub)).to.deep.equal([]);
      });

      it('stops when the reader of stdout closes it (| head): quietly, or with an error when the overlay it was rendering is lost', async () => {
        const sub = 'cli-head';
        spawnSync('mkdir', ['-p', join(dir, sub)]);
        // A pipe whose reader has gone after the first line.
        const head = (): Writable => {
          let lines = 0;
          return new Writable({ write: (_chunk, _encoding, done) => done(lines++ === 0 ? null : Object.assign(new Error('write EPIPE'), { code: 'EPIPE' })) });
        };
        const quiet = program(fakeEstimator(), undefined, head());
        await quiet.program.parseAsync(['video', long, '--preset', 'tiny_coco', '--weights', 'w.pth'], { from: 'user' });
        expect(quiet.logs).to.deep.equal(['stopped after 1 frame: the reader of stdout closed it']);
        const estimator = fakeEstimator();
        const { program: p } = program(estimator, undefined, head());
        const err = await rejection(p.parseAsync(['video', long, '--preset', 'tiny_coco', '--weights', 'w.pth', '--render', join(dir, sub, 'overlay.mp4')], { from: 'user' }));
        expect(err).to.be.instanceOf(VideoError);
        expect(err.message).to.match(/^stopped after 1 frame: the reader of stdout closed it, so .*overlay\.mp4 was not written$/);
        expect(estimator.calls).to.be.below(100);
        expect(leftovers(sub)).to.deep.equal([]);
      });

      it('BAD CALL - a corrupt input leaves neither output under its final name', async () => {
        const sub = 'cli-bad';
        spawnSync('mkdir', ['-p', join(dir, sub)]);
        const corrupt = join(dir, 'truncated.mp4');
        writeFileSync(corrupt, readFileSync(long).subarray(0, 5000));
        const { program: p } = program();
        const err = await rejection(p.parseAsync(['video', corrupt, '--preset', 'tiny_coco', '--weights', 'w.pth', '--out', join(dir, sub, 'poses.jsonl'),
          '--render', join(dir, sub, 'overlay.mp4')], { from: 'user' }));
        expect(err).to.be.instanceOf(VideoError);
        expect(err.message).to.match(/truncated\.mp4: not a readable video/);
        expect(leftovers(sub)).to.deep.equal([]);
      });

      it('--out a FIFO (or a device: /dev/stdout) is written into, not replaced by a plain file', async function () {
        const sub = 'cli-fifo';
        mkdirSync(join(dir, sub), { recursive: true });
        const fifo = join(dir, sub, 'poses.pipe');
        if (spawnSync('mkfifo', [fifo]).status !== 0) this.skip();
        // Non-blocking: the FIFO has a reader, and a failing test cannot hang.
        const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
        try {
          const { program: p } = program();
          await p.parseAsync(['video', clip, '--preset', 'tiny_coco', '--weights', 'w.pth', '--out', fifo, '--max-frames', '2'], { from: 'user' });
          expect(statSync(fifo).isFIFO(), 'still a FIFO').to.equal(true);
          const got = Buffer.alloc(1 << 16);
          const lines = got.toString('utf8', 0, readSync(reader, got)).trim().split('\n');
          expect(lines.map((l) => (JSON.parse(l) as { frame: number }).frame)).to.deep.equal([0, 1]);
        } finally {
          closeSync(reader);
        }
        expect(leftovers(sub)).to.deep.equal(['poses.pipe']);
      });

      it('BAD CALL - --render with an extension that is not a container it writes (.avi, none) is a usage error (exit 2) before the model is loaded', async () => {
        const sub = 'cli-render-extension';
        mkdirSync(join(dir, sub), { recursive: true });
        for (const name of ['overlay.avi', 'overlay']) {
          const { program: p, requests } = program();
          const err = await rejection(p.parseAsync(['video', clip, '--preset', 'tiny_coco', '--weights', 'w.pth', '--render', join(dir, sub, name)], { from: 'user' }));
          expect(err, name).to.be.instanceOf(CommanderError).and.include({ exitCode: 2 });
          expect(err.message, name).to.match(/^error: --render .*overlay(\.avi: ends in \.avi|: has no extension); .*give a name ending in \.mp4, \.mov, \.mkv, \.webm$/);
          expect(requests, `${name}: the model was loaded`).to.deep.equal([]);
        }
        expect(leftovers(sub)).to.deep.equal([]);
      });

      it('BAD CALL - --render a FIFO or a device is refused before the model is loaded, and left as it was', async function () {
        const sub = 'cli-render-fifo';
        mkdirSync(join(dir, sub), { recursive: true });
        // Whatever the container: the message once said an MP4 needs a file, for a .webm name too.
        const fifos = ['overlay.mp4', 'overlay.webm'];
        for (const name of fifos) {
          const fifo = join(dir, sub, name);
          if (spawnSync('mkfifo', [fifo]).status !== 0) this.skip();
          // Not a device such as /dev/null: a regression run as root would rename a video over it.
          const { program: p, requests } = program();
          const err = await rejection(p.parseAsync(['video', clip, '--preset', 'tiny_coco', '--weights', 'w.pth', '--render', fifo], { from: 'user' }));
          expect(err).to.be.instanceOf(VideoError);
          expect(err.message).to.equal(`${fifo}: is a FIFO or a device, not a file; the video is written beside it and then renamed to its name, which would replace it: give a file name`);
          expect(requests, 'the model was loaded').to.deep.equal([]);
          // The encoder itself refuses too, as processVideo does.
          expect((await rejection(createVideoEncoder(fifo, { width: 64, height: 48, fps: 10 }))).message).to.match(/is a FIFO or a device/);
          expect(statSync(fifo).isFIFO(), 'still a FIFO').to.equal(true);
        }
        expect(leftovers(sub).sort()).to.deep.equal(fifos);
      });

      it('BAD CALL - JSON lines that cannot be moved into place take the finished overlay with them', async () => {
        const sub = 'cli-commit';
        spawnSync('mkdir', ['-p', join(dir, sub)]);
        const out = join(dir, sub, 'poses.jsonl');
        const estimator = fakeEstimator();
        // A folder appears under the JSON lines' name while the run goes on: the final rename fails.
        const { program: p } = program({ ...estimator, estimatePoses: async (image: Parameters<typeof estimator.estimatePoses>[0]) => {
          mkdirSync(out, { recursive: true });
          return estimator.estimatePoses(image);
        } } as typeof estimator);
        const err = await rejection(p.parseAsync(['video', clip, '--preset', 'tiny_coco', '--weights', 'w.pth', '--out', out,
          '--render', join(dir, sub, 'overlay.mp4'), '--max-frames', '2'], { from: 'user' }));
        expect(err).to.be.instanceOf(VideoError);
        expect(err.message).to.match(/poses\.jsonl: cannot move the finished file into place/);
        expect(leftovers(sub)).to.deep.equal(['poses.jsonl']);
        expect(leftovers(join(sub, 'poses.jsonl'))).to.deep.equal([]);
      });

      it('BAD CALL - a video cut short after its index: an error for the damage, no outputs', async () => {
        const sub = 'cli-cut';
        spawnSync('mkdir', ['-p', join(dir, sub)]);
        const indexed = join(dir, 'indexed.mp4');
        ffmpeg('-i', long, '-c', 'copy', '-movflags', '+faststart', indexed);
        const cut = join(dir, 'cut.mp4');
        const bytes = readFileSync(indexed);
        writeFileSync(cut, bytes.subarray(0, bytes.length / 2));
        const { program: p } = program();
        const err = await rejection(p.parseAsync(['video', cut, '--preset', 'tiny_coco', '--weights', 'w.pth', '--out', join(dir, sub, 'poses.jsonl'),
          '--render', join(dir, sub, 'overlay.mp4')], { from: 'user' }));
        expect(err).to.be.instanceOf(VideoError);
        expect(err.message).to.match(/cut\.mp4: ffmpeg could not decode it \(corrupt input packet/);
        expect(leftovers(sub)).to.deep.equal([]);
      });

      it('BAD CALL - no frame in the range asked for, or an output that is a folder: an error, no outputs', async () => {
        const sub = 'cli-none';
        spawnSync('mkdir', ['-p', join(dir, sub, 'folder')]);
        const out = join(dir, sub, 'poses.jsonl');
        const late = await rejection(program().program.parseAsync(['video', clip, '--preset', 'tiny_coco', '--weights', 'w.pth', '--out', out, '--start', '5'], { from: 'user' }));
        expect(late).to.be.instanceOf(VideoError);
        expect(late.message).to.match(/clip\.mp4: no frames were decoded \(does it end before the start, 5 s\?\)/);
        // After the last frame's start (0.9 s) but before the end (1 s): the video does not end before the start.
        const lastFrame = await rejection(program().program.parseAsync(['video', clip, '--preset', 'tiny_coco', '--weights', 'w.pth', '--out', out, '--start', '0.95'], { from: 'user' }));
        expect(lastFrame).to.be.instanceOf(VideoError);
        expect(lastFrame.message).to.equal(`${clip}: no frames were decoded (no frame starts between 0.95 s and the end of the video, 1 s: the last one starts before 0.95 s)`);
        const between = await rejection(program().program.parseAsync(['video', clip, '--preset', 'tiny_coco', '--weights', 'w.pth', '--out', out, '--start', '0.25', '--duration', '0.01'], { from: 'user' }));
        expect(between).to.be.instanceOf(VideoError);
        expect(between.message).to.match(/clip\.mp4: no frames were decoded \(no frame lies between 0\.25 s and 0\.26 s\)/);
        const estimator = fakeEstimator();
        const folder = await rejection(program(estimator).program.parseAsync(['video', clip, '--preset', 'tiny_coco', '--weights', 'w.pth',
          '--out', join(dir, sub, 'folder'), '--render', join(dir, sub, 'overlay.mp4')], { from: 'user' }));
        expect(folder).to.be.instanceOf(VideoError);
        expect(folder.message).to.match(/folder: is a folder; give a file name for the output/);
        expect(estimator.calls).to.equal(0);
        expect(leftovers(sub)).to.deep.equal(['folder']);
        // Outputs that would replace the input, by its name or another link to it.
        const input = join(dir, sub, 'input.mp4');
        writeFileSync(input, readFileSync(clip));
        linkSync(input, join(dir, sub, 'link.mp4'));
        const cases: [string[], RegExp][] = [
          [['--out', input], /input\.mp4: --out names the input video; give another file name/],
          [['--render', join(dir, sub, 'link.mp4')], /link\.mp4: --render names the input video/],
          [['--render', join(dir, sub, 'missing', 'overlay.mp4')], /overlay\.mp4: the folder .*missing does not exist/],
          [['--out', join(dir, sub, 'missing', 'poses.jsonl')], /poses\.jsonl: the folder .*missing does not exist/],
          // It used to pass, and the run to fail only at the end, renaming the finished file to ''.
          [['--out', ''], /^--out must be a file path, got an empty string$/],
          [['--render', ''], /^--render must be a file path, got an empty string$/],
        ];
        for (const [outputs, message] of cases) {
          const { program: p, requests } = program(estimator);
          const err = await rejection(p.parseAsync(['video', input, '--preset', 'tiny_coco', '--weights', 'w.pth', ...outputs], { from: 'user' }));
          expect(err).to.be.instanceOf(VideoError);
          expect(err.message).to.match(message);
          expect(requests, 'the model is not loaded').to.deep.equal([]);
        }
        // The same name for both, whatever is on disk: a usage error (exit 2).
        const { program: same, requests } = program(estimator);
        const err = await rejection(same.parseAsync(['video', input, '--preset', 'tiny_coco', '--weights', 'w.pth', '--out', join(dir, sub, 'same.mp4'), '--render', join(dir, sub, '.', 'same.mp4')], { from: 'user' }));
        expect(err).to.be.instanceOf(CommanderError).and.include({ exitCode: 2 });
        expect(err.message).to.match(/^error: .*same\.mp4: --out and --render name the same file; give them different names$/);
        expect(requests, 'the model is not loaded').to.deep.equal([]);
        expect(estimator.calls).to.equal(0);
        expect(readFileSync(input).equals(readFileSync(clip))).to.equal(true);
        expect(leftovers(sub).sort()).to.deep.equal(['folder', 'input.mp4', 'link.mp4']);
      });

      it('BAD CALL - needs --weights, a known preset, and valid numbers: usage errors (exit 2)', async () => {
        const err = await rejection(program().program.parseAsync(['video', clip, '--preset', 'tiny_coco'], { from: 'user' }));
        expect(err).to.be.instanceOf(CommanderError).and.include({ exitCode: 2 });
        expect(err.message).to.match(/--weights is required/);
        const preset = await rejection(program().program.parseAsync(['video', clip, '--preset', 'p', '--weights', 'w.pth'], { from: 'user' }));
        expect(preset).to.be.instanceOf(CommanderError);
        expect(preset.message).to.match(/--preset <name>.*Unsupported preset: p\. Must be one of \[coco_w32_512/);
        const bad = await rejection(program().program.parseAsync(['video', clip, '--preset', 'tiny_coco', '--every', '0'], { from: 'user' }));
        expect(bad).to.be.instanceOf(CommanderError);
        expect(bad.message).to.match(/--every <n>.*expected a positive integer, got 0/);
      });
    });
  });
}

describe('ffmpeg arguments by version', () => {
  it('an ffmpeg with -vsync (up to 8.x) keeps its arguments; one without (9.0 on) gets -fps_mode and -enc_time_base demux', () => {
    expect(passthroughArgs('-vsync')).to.deep.equal(['-vsync', 'passthrough', '-enc_time_base', '-1']);
    expect(passthroughArgs('-fps_mode')).to.deep.equal(['-fps_mode', 'passthrough', '-enc_time_base', 'demux']);
  });

  it('reads the option from the -h long listing: -vsync where listed (with -fps_mode from 5.1 to 8.x), else -fps_mode, else none', () => {
    const listing = (...lines: string[]) => ['Advanced global options:', ...lines, '-xerror             exit on error', ''].join('\n');
    // 4.4
    expect(syncOptionOf(listing('-vsync              video sync method'))).to.equal('-vsync');
    // 5.1 (this machine's) and 7.x
    expect(syncOptionOf(listing('-vsync              set video sync method globally; deprecated, use -fps_mode', '-fps_mode           set framerate mode for matching video streams; overrides vsync'))).to.equal('-vsync');
    // 9.0: per-stream options are listed with their stream specifier.
    expect(syncOptionOf(listing('-fps_mode[:<stream_spec>]  set framerate mode for matching video streams'))).to.equal('-fps_mode');
    // The word elsewhere is no option (a filter's name, a description).
    expect(syncOptionOf(listing('avsynctest        AV sync test', '-r                  overrides -vsync and -fps_mode'))).to.equal(undefined);
    expect(syncOptionOf('')).to.equal(undefined);
  });
});
