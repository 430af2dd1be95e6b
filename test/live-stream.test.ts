/** Video from live sources: a pipe or a Readable carrying MPEG-TS, whose producer may stop at any byte. */
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, createReadStream, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { openVideo, VideoError, type DecodeOptions } from '../src/video/decode.js';
import { TINY_COCO_CHECKPOINT } from '../src/paths.js';
import { ffmpeg, hasFfmpeg, sizeChangingStream } from './helpers/ffmpeg.js';

/** An MPEG-TS of `seconds` of 160x120 test pattern at 10 fps, every frame a keyframe (MPEG-4 part 2). */
function transportStream(path: string, seconds: number): Buffer {
  ffmpeg('-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=10', '-t', String(seconds), '-pix_fmt', 'yuv420p', '-c:v', 'mpeg4', '-g', '1', '-f', 'mpegts', path);
  return readFileSync(path);
}

const PACKET = 188;
const VIDEO_PID = 0x100; // ffmpeg's MPEG-TS muxer's first stream

/** Offsets of the video packets of `ts` that start a frame (a PES packet), in order. */
function frameStarts(ts: Buffer): number[] {
  const starts: number[] = [];
  for (let at = 0; at + PACKET <= ts.length; at += PACKET) {
    const pid = ((ts[at + 1]! & 0x1f) << 8) | ts[at + 2]!;
    if (pid === VIDEO_PID && (ts[at + 1]! & 0x40) !== 0) starts.push(at);
  }
  return starts;
}

async function frames(input: string | Readable, options: DecodeOptions = {}): Promise<number[]> {
  const times: number[] = [];
  for await (const frame of await openVideo(input, options)) times.push(frame.time);
  return times;
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  return promise.then(() => expect.fail('expected a rejection'), (err: Error) => err);
}

if (!hasFfmpeg) {
  describe('live streams', () => {
    console.log('    live stream tests skipped: ffmpeg/ffprobe not found on the PATH (apt-get install ffmpeg / brew install ffmpeg)');
    it('skipped: ffmpeg/ffprobe not installed');
  });
} else {
  describe('live streams', function () {
    this.timeout(120_000);
    let dir: string;
    let whole: Buffer; // 2 s, 20 frames
    let cut: Buffer; // its first 12 frames, and a part of the 13th cut mid-packet, as a stopped producer leaves it
    before(() => {
      dir = mkdtempSync(join(tmpdir(), 'higher-pose-live-'));
      whole = transportStream(join(dir, 'whole.ts'), 2);
      const starts = frameStarts(whole);
      expect(starts).to.have.length(20);
      cut = whole.subarray(0, starts[12]! + 3 * PACKET + 100);
      writeFileSync(join(dir, 'cut.ts'), cut);
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    /**
     * The times of the frames before the cut one (the 13th), but for the last few, which ffmpeg's
     * decoder threads may give after it reported the cut: those are dropped with it.
     */
    function expectFirstFrames(times: number[]): void {
      expect(times.length).to.be.within(9, 12);
      expect(times).to.deep.equal([0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1, 1.1].slice(0, times.length));
    }

    it('a stream cut mid-frame at its end (its source stopped) gives the frames before the cut, and a warning; a file cut so is damage, as it was', async () => {
      const warnings: string[] = [];
      const times = await frames(Readable.from([cut]), { onWarning: (message) => warnings.push(message) });
      expectFirstFrames(times);
      expect(warnings).to.have.length(1);
      expect(warnings[0]).to.match(new RegExp(`^video stream: the stream ended in the middle of a frame \\(ffmpeg: .+\\); the ${times.length} frames decoded before it are kept, `));

      const err = await rejection(frames(join(dir, 'cut.ts'), { onWarning: (message) => warnings.push(message) }));
      expect(err).to.be.instanceOf(VideoError);
      expect(err.message).to.match(/^.*cut\.ts: ffmpeg (could not decode it|reported damage)/);
      expect(warnings).to.have.length(1);
    });

    it('BAD VIDEO - a file cut so, read as a stream (stdin redirected from it: video - < cut.ts; fs.createReadStream): damage, as the file named, no warning', async () => {
      const warnings: string[] = [];
      const err = await rejection(frames(createReadStream(join(dir, 'cut.ts')), { onWarning: (message) => warnings.push(message) }));
      expect(err).to.be.instanceOf(VideoError);
      expect(err.message).to.match(/^video stream: ffmpeg (could not decode it|reported damage)/);
      expect(warnings).to.deep.equal([]);

      const out = join(dir, 'redirected.jsonl');
      const script = "import('./src/cli/main.ts').then((m) => m.main(['node', 'higher-pose', ...process.argv.slice(1)]))";
      const file = openSync(join(dir, 'cut.ts'), 'r');
      let child: ChildProcess | undefined;
      try {
        child = spawn(process.execPath, ['--import', 'tsx', '-e', script, 'video', '-', '--preset', 'tiny_coco', '--weights', TINY_COCO_CHECKPOINT(),
          '--input-size', '256', '--out', out], { stdio: [file, 'ignore', 'pipe'] });
        let stderr = '';
        child.stderr!.setEncoding('utf8').on('data', (text: string) => (stderr += text));
        const code = await new Promise((resolve) => child!.on('close', resolve));
        expect(code, stderr).to.equal(1);
        expect(stderr).to.match(/higher-pose: VideoError: video stream: ffmpeg (could not decode it|reported damage)/);
        expect(stderr).not.to.include('warning');
        expect(readdirSync(dir).filter((name) => name.startsWith('redirected'))).to.deep.equal([]);
      } finally {
        child?.kill('SIGKILL');
        closeSync(file);
      }
    });

    it('BAD VIDEO - damage in the middle of a stream that then ends is damage, as it was: a VideoError, no warning', async () => {
      const long = transportStream(join(dir, 'long.ts'), 20);
      const damaged = Buffer.from(long);
      // A packet inside a frame a quarter of the way in, its payload garbled: ffmpeg stops there, most of the stream unread.
      const inside = frameStarts(long)[50]! + 2 * PACKET;
      for (let i = inside + 4; i < inside + PACKET; i++) damaged[i] ^= 0x5a;
      const warnings: string[] = [];
      const err = await rejection(frames(Readable.from([damaged]), { onWarning: (message) => warnings.push(message) }));
      expect(err).to.be.instanceOf(VideoError);
      expect(err.message).to.match(/^video stream: ffmpeg (could not decode it|reported damage)/);
      expect(warnings).to.deep.equal([]);
    });

    it('BAD VIDEO - damage in a live stream whose source then sends nothing more, without ending: a VideoError, not a wait for its end', async function () {
      // Without an end the run would wait as long as the source stays open: a failing test, not a hanging one.
      this.timeout(20_000);
      const long = transportStream(join(dir, 'long.ts'), 20);
      const damaged = Buffer.from(long);
      const starts = frameStarts(long);
      const inside = starts[50]! + 2 * PACKET;
      for (let i = inside + 4; i < inside + PACKET; i++) damaged[i] ^= 0x5a;
      // A camera that stalls: ten frames past the damage sent, the stream left open.
      const source = new PassThrough();
      source.write(damaged.subarray(0, starts[60]));
      try {
        const warnings: string[] = [];
        const err = await rejection(frames(source, { onWarning: (message) => warnings.push(message) }));
        expect(err).to.be.instanceOf(VideoError);
        expect(err.message).to.match(/^video stream: ffmpeg (could not decode it|reported damage)/);
        expect(warnings).to.deep.equal([]);
      } finally {
        source.destroy();
      }
    });

    it('samples a stream whose frame size changes midway (segments put end to end) in step: every, fps, from a file or a stream', async () => {
      // 0.5 s of 160x120, 0.5 s of 200x100, 0.5 s of 160x120: ffmpeg rebuilt its filters at each change, counting afresh.
      const joined = sizeChangingStream(dir, 'joined.ts', ['160x120', '200x100', '160x120']);
      for (const input of [() => joined, () => createReadStream(joined)]) {
        expect(await frames(input(), { every: 2 })).to.deep.equal([0, 0.2, 0.4, 0.6, 0.8, 1, 1.2, 1.4]);
        expect(await frames(input(), { every: 3 })).to.deep.equal([0, 0.3, 0.6, 0.9, 1.2]);
        // The first frame of each third of a second: 0.5 s shares its slot with 0.4 s.
        expect(await frames(input(), { fps: 3 })).to.deep.equal([0, 0.4, 0.7, 1, 1.4]);
      }
    });

    it('higher-pose video - with a stream cut at its end on stdin: --out holds the frames before the cut, a warning on stderr, exit 0', async () => {
      const out = join(dir, 'poses.jsonl');
      const script = "import('./src/cli/main.ts').then((m) => m.main(['node', 'higher-pose', ...process.argv.slice(1)]))";
      let child: ChildProcess | undefined;
      try {
        child = spawn(process.execPath, ['--import', 'tsx', '-e', script, 'video', '-', '--preset', 'tiny_coco', '--weights', TINY_COCO_CHECKPOINT(),
          '--input-size', '256', '--out', out], { stdio: ['pipe', 'ignore', 'pipe'] });
        let stderr = '';
        child.stderr!.setEncoding('utf8').on('data', (text: string) => (stderr += text));
        child.stdin!.end(cut);
        const code = await new Promise((resolve) => child!.on('exit', resolve));
        expect(code, stderr).to.equal(0);
        const lines = readFileSync(out, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { frame: number; time: number });
        expectFirstFrames(lines.map((line) => line.time));
        expect(stderr).to.match(new RegExp(`warning: video stream: the stream ended in the middle of a frame \\(ffmpeg: .+\\); the ${lines.length} frames decoded before it are kept`));
        expect(readdirSync(dir).filter((name) => name.startsWith('poses'))).to.deep.equal(['poses.jsonl']);
      } finally {
        child?.kill('SIGKILL');
      }
    });
  });
}
