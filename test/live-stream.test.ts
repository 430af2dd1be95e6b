/** Video from live sources: a pipe or a Readable carrying MPEG-TS or Matroska/WebM, whose producer may stop at any byte. */
import { expect } from 'chai';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, createReadStream, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { openVideo, VideoError, type DecodeOptions } from '../src/video/decode.js';
import { TINY_COCO_CHECKPOINT } from '../src/paths.js';
import { ffmpeg, hasFfmpeg, sizeChangingStream, skippedWithoutFfmpeg } from './helpers/ffmpeg.js';
import { CLI_SCRIPT } from './helpers/cli-process.js';

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

/**
 * A Matroska of `seconds` of 160x120 test pattern at 10 fps as a live source writes it (`-live 1`:
 * no length, no index), every frame a keyframe (MPEG-4 part 2, which every ffmpeg has, where
 * WebM needs libvpx: the demuxer is the same).
 */
function matroskaStream(path: string, seconds: number): Buffer {
  ffmpeg('-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=10', '-t', String(seconds), '-pix_fmt', 'yuv420p', '-c:v', 'mpeg4', '-g', '1', '-live', '1', '-f', 'matroska', path);
  return readFileSync(path);
}

/** Where each frame's bytes lie in a Matroska file, in order: its SimpleBlock's content, as ffprobe reports. */
function blocks(path: string): { pos: number; size: number }[] {
  const r = spawnSync('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'packet=pos,size', '-of', 'json', path], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ffprobe ${path} failed: ${r.stderr}`);
  const packets = (JSON.parse(r.stdout) as { packets: { pos: string; size: string }[] }).packets;
  return packets.map((packet) => ({ pos: Number(packet.pos), size: Number(packet.size) }));
}

async function frames(input: string | Readable, options: DecodeOptions = {}): Promise<number[]> {
  const times: number[] = [];
  for await (const frame of await openVideo(input, options)) times.push(frame.time);
  return times;
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  return promise.then(() => expect.fail('expected a rejection'), (err: Error) => err);
}

/** `higher-pose video -` reading `stdin` (a pipe given those bytes, or a file's fd), its stderr and exit code. */
async function videoOnStdin(stdin: Buffer | number, args: string[]): Promise<{ code: unknown; stderr: string }> {
  const script = CLI_SCRIPT;
  let child: ChildProcess | undefined;
  try {
    child = spawn(process.execPath, ['--import', 'tsx', '-e', script, 'video', '-', '--preset', 'tiny_coco', '--weights', TINY_COCO_CHECKPOINT(),
      '--input-size', '256', ...args], { stdio: [typeof stdin === 'number' ? stdin : 'pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    if (typeof stdin !== 'number') child.stdin!.end(stdin);
    const code = await new Promise((resolve) => child!.on('close', resolve));
    return { code, stderr };
  } finally {
    child?.kill('SIGKILL');
  }
}

if (!hasFfmpeg) skippedWithoutFfmpeg('live streams');
else {
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

      const file = openSync(join(dir, 'cut.ts'), 'r');
      try {
        const { code, stderr } = await videoOnStdin(file, ['--out', join(dir, 'redirected.jsonl')]);
        expect(code, stderr).to.equal(1);
        expect(stderr).to.match(/higher-pose: VideoError: video stream: ffmpeg (could not decode it|reported damage)/);
        expect(stderr).not.to.include('warning');
        expect(readdirSync(dir).filter((name) => name.startsWith('redirected'))).to.deep.equal([]);
      } finally {
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
      const { code, stderr } = await videoOnStdin(cut, ['--out', out]);
      expect(code, stderr).to.equal(0);
      const lines = readFileSync(out, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { frame: number; time: number });
      expectFirstFrames(lines.map((line) => line.time));
      expect(stderr).to.match(new RegExp(`warning: video stream: the stream ended in the middle of a frame \\(ffmpeg: .+\\); the ${lines.length} frames decoded before it are kept`));
      expect(readdirSync(dir).filter((name) => name.startsWith('poses'))).to.deep.equal(['poses.jsonl']);
    });

    describe('Matroska/WebM (a browser\'s MediaRecorder, a camera)', () => {
      let live: Buffer; // 2 s, 20 frames
      let cut: Buffer; // its first 12 frames, and the first half of the 13th, as a stopped producer leaves it
      let frameBlocks: { pos: number; size: number }[];
      const firstTwelve = [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1, 1.1];
      before(() => {
        live = matroskaStream(join(dir, 'live.mkv'), 2);
        frameBlocks = blocks(join(dir, 'live.mkv'));
        expect(frameBlocks).to.have.length(20);
        cut = live.subarray(0, frameBlocks[12]!.pos + Math.floor(frameBlocks[12]!.size / 2));
        writeFileSync(join(dir, 'cut.mkv'), cut);
      });

      it('a stream cut mid-frame at its end (its source stopped) gives every whole frame before the cut, and a warning; a file cut so is damage, as it was', async () => {
        const warnings: string[] = [];
        // The demuxer drops the incomplete block unread: the frames its decoder gives after it logged the cut are whole ones, all kept.
        expect(await frames(Readable.from([cut]), { onWarning: (message) => warnings.push(message) })).to.deep.equal(firstTwelve);
        expect(warnings).to.deep.equal(['video stream: the stream ended in the middle of a frame (ffmpeg: File ended prematurely); the 12 frames decoded before it are kept, the cut one dropped']);

        const err = await rejection(frames(join(dir, 'cut.mkv'), { onWarning: (message) => warnings.push(message) }));
        expect(err).to.be.instanceOf(VideoError);
        expect(err.message).to.match(/cut\.mkv: ffmpeg reported damage and stopped early \(File ended prematurely\)$/);
        expect(warnings).to.have.length(1);
      });

      it('BAD VIDEO - a file cut so, read as a stream (stdin redirected from it: video - < cut.mkv; fs.createReadStream): damage, as the file named, no warning', async () => {
        const warnings: string[] = [];
        const err = await rejection(frames(createReadStream(join(dir, 'cut.mkv')), { onWarning: (message) => warnings.push(message) }));
        expect(err).to.be.instanceOf(VideoError);
        expect(err.message).to.equal('video stream: ffmpeg reported damage and stopped early (File ended prematurely)');
        expect(warnings).to.deep.equal([]);

        const file = openSync(join(dir, 'cut.mkv'), 'r');
        try {
          const { code, stderr } = await videoOnStdin(file, ['--out', join(dir, 'redirected-mkv.jsonl')]);
          expect(code, stderr).to.equal(1);
          expect(stderr).to.include('higher-pose: VideoError: video stream: ffmpeg reported damage and stopped early (File ended prematurely)');
          expect(stderr).not.to.include('warning');
          expect(readdirSync(dir).filter((name) => name.startsWith('redirected-mkv'))).to.deep.equal([]);
        } finally {
          closeSync(file);
        }
      });

      it('BAD VIDEO - damage shortly before a stream\'s cut end, which ffmpeg logs and reads on from to the end: a VideoError naming it, no warning', async () => {
        // The 15th frame's block says it holds 16 bytes: the demuxer reads the rest of it as elements
        // overrunning their cluster, logs that, and goes on with the next cluster, to the cut.
        const damaged = Buffer.from(live.subarray(0, frameBlocks[18]!.pos + 1000));
        const { pos } = frameBlocks[14]!;
        expect(damaged[pos - 3]).to.equal(0xa3); // SimpleBlock, then its size in two bytes
        damaged.writeUInt16BE(0x4000 | 16, pos - 2);
        const warnings: string[] = [];
        const err = await rejection(frames(Readable.from([damaged]), { onWarning: (message) => warnings.push(message) }));
        expect(err).to.be.instanceOf(VideoError);
        expect(err.message).to.match(/^video stream: ffmpeg reported damage and stopped early \(Element at 0x[0-9a-f]+ ending at 0x[0-9a-f]+ exceeds containing master element ending at 0x[0-9a-f]+; File ended prematurely\)$/);
        expect(warnings).to.deep.equal([]);
      });

      it('higher-pose video - with a stream cut at its end on stdin: --out and --render hold every frame before the cut, a warning on stderr, exit 0', async () => {
        const out = join(dir, 'mkv-poses.jsonl');
        const overlay = join(dir, 'mkv-overlay.mkv');
        const { code, stderr } = await videoOnStdin(cut, ['--out', out, '--render', overlay]);
        expect(code, stderr).to.equal(0);
        const lines = readFileSync(out, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { frame: number; time: number });
        expect(lines.map((line) => line.time)).to.deep.equal(firstTwelve);
        expect(blocks(overlay)).to.have.length(12);
        expect(stderr).to.include('warning: video stream: the stream ended in the middle of a frame (ffmpeg: File ended prematurely); the 12 frames decoded before it are kept, the cut one dropped');
        expect(readdirSync(dir).filter((name) => name.startsWith('mkv-')).sort()).to.deep.equal(['mkv-overlay.mkv', 'mkv-poses.jsonl']);
      });
    });
  });
}
