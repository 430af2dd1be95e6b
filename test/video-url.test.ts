/**
 * Video from a network URL (`higher-pose video http://...`, `processVideo(estimator, 'rtsp://...')`):
 * read by a source ffmpeg into the stream input path. A local HTTP server stands in for the camera.
 */
import { expect } from 'chai';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import type { Duplex } from 'node:stream';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { COCO_KEYPOINTS } from '../src/datasets.js';
import { TINY_COCO_CHECKPOINT } from '../src/paths.js';
import { openVideo, VideoError } from '../src/video/decode.js';
import { processVideo, type ProcessVideoOptions, type VideoEstimator } from '../src/video/process.js';
import { isVideoUrl, openUrlSource } from '../src/video/url-source.js';
import { ffmpeg, hasFfmpeg, skippedWithoutFfmpeg } from './helpers/ffmpeg.js';
import { spawnCli } from './helpers/cli-process.js';
import { closeNow, killedAfterEachTest, listenOnLoopback, loopbackPort } from './helpers/loopback.js';

/** An estimator that finds nobody. */
const emptyEstimator: VideoEstimator = {
  keypoints: COCO_KEYPOINTS,
  async estimatePoses() {
    return [];
  },
  async dispose() {},
};

/** An estimator that finds nobody in `ms` a frame, calling `onCall` with each call's index first: the frames decoded ahead pile up meanwhile. */
function slowEstimator(ms: number, onCall?: (call: number) => void): VideoEstimator {
  let calls = 0;
  return {
    ...emptyEstimator,
    async estimatePoses() {
      onCall?.(calls++);
      await new Promise((resolve) => setTimeout(resolve, ms));
      return [];
    },
  };
}

/** Frames of long.ts (8 s at 10 fps), all sent by /live.ts and /cut.ts. */
const LONG_FRAMES = 80;

/**
 * Frames of long.ts a source killed while it waits for more (a stall the watchdog ends) never
 * wrote: the last packet its MPEG-TS demuxer, its parser and its muxer each hold until the next
 * one comes. An http or tcp source that times out by itself writes them.
 */
const HELD_BY_SOURCE = 3;

async function times(input: string, options: ProcessVideoOptions = {}): Promise<number[]> {
  const found: number[] = [];
  for await (const result of processVideo(emptyEstimator, input, options)) found.push(result.time);
  return found;
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  return promise.then(() => expect.fail('expected a rejection'), (err: Error) => err);
}

describe('video URLs: which inputs are URLs', () => {
  it('the network schemes ffmpeg reads, in any case, are URLs; file paths and other schemes are not', () => {
    for (const url of ['rtsp://camera/stream', 'RTSP://camera/stream', 'rtsps://c/s', 'rtmp://c/live', 'rtmps://c/live', 'http://127.0.0.1/a.ts', 'Https://h/a.mp4', 'srt://h:9000', 'udp://@:1234', 'tcp://h:5000']) {
      expect(isVideoUrl(url), url).to.equal(true);
    }
    for (const path of ['clip.mp4', '/videos/http/clip.mp4', 'http:clip.mp4', 'file:///tmp/clip.mp4', 'ftp://h/clip.mp4', 'C:\\clip.mp4', './rtsp://x']) {
      expect(isVideoUrl(path), path).to.equal(false);
    }
  });
});

if (!hasFfmpeg) skippedWithoutFfmpeg('video URLs');
else {
  describe('video URLs', function () {
    this.timeout(120_000);
    let dir: string;
    let clip: string; // 2 s of 160x120 test pattern at 10 fps, MPEG-TS
    let server: Server;
    let base: string;
    /**
     * Responses of /live.ts: 8 s of it written, then held open as a camera's. More than the 5 s
     * ffmpeg reads of an MPEG-TS before it starts (its analyzeduration): a live source goes on sending.
     */
    const liveClosed: Promise<void>[] = [];
    /** Connections to /silent.ts, which never answers (a camera gone quiet as it is called): closed when they close. */
    const silentClosed: Promise<void>[] = [];
    /** Resets the connections to /reset.ts?held, once long.ts is sent. */
    const resets: (() => void)[] = [];
    const children = killedAfterEachTest();

    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'higher-pose-url-'));
      clip = join(dir, 'clip.ts');
      ffmpeg('-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=10', '-t', '2', '-pix_fmt', 'yuv420p', '-c:v', 'mpeg4', '-g', '1', '-f', 'mpegts', clip);
      const long = join(dir, 'long.ts');
      ffmpeg('-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=10', '-t', '8', '-pix_fmt', 'yuv420p', '-c:v', 'mpeg4', '-g', '1', '-f', 'mpegts', long);
      ffmpeg('-f', 'lavfi', '-i', 'sine=duration=1', '-c:a', 'mp2', '-f', 'mpegts', join(dir, 'audio.ts'));
      // 30 s: more than the pipes and stream buffers between the source and the frames hold.
      const big = join(dir, 'big.ts');
      ffmpeg('-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=10', '-t', '30', '-pix_fmt', 'yuv420p', '-c:v', 'mpeg4', '-g', '1', '-f', 'mpegts', big);
      const bytes = { '/clip.ts': readFileSync(clip), '/long.ts': readFileSync(long), '/audio.ts': readFileSync(join(dir, 'audio.ts')), '/big.ts': readFileSync(big) } as Record<string, Buffer>;
      // Damaged in its second half: the source copies its packets, the decoding fails on them.
      const damaged = Buffer.from(bytes['/clip.ts']!);
      for (let packet = Math.floor(damaged.length / 2 / 188) * 188; packet < damaged.length * 0.6; packet += 188) {
        for (let i = packet + 20; i < packet + 180; i++) damaged[i] = (damaged[i]! * 7 + 13) & 255;
      }
      bytes['/damaged.ts'] = damaged;
      // H.264 with a keyframe every 2 s, from 0.8 s on: its first frames refer to pictures before it (a capture joined mid-way).
      const h264 = join(dir, 'h264.ts');
      ffmpeg('-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=10', '-t', '8', '-pix_fmt', 'yuv420p', '-c:v', 'libx264', '-g', '20', '-bf', '0', '-f', 'mpegts', h264);
      const whole = readFileSync(h264);
      bytes['/joined.ts'] = whole.subarray(Math.floor(whole.length / 10 / 188) * 188);
      writeFileSync(join(dir, 'joined.ts'), bytes['/joined.ts']);
      server = createServer((request, response) => {
        if (request.url === '/live.ts') {
          liveClosed.push(new Promise((resolve) => response.once('close', () => resolve())));
          response.writeHead(200, { 'content-type': 'video/mp2t' });
          response.write(bytes['/long.ts']!);
          return;
        }
        if (request.url === '/silent.ts') {
          silentClosed.push(new Promise((resolve) => response.once('close', () => resolve())));
          return;
        }
        if (request.url === '/cut.ts') {
          // All of long.ts, then the connection closed before the length it announced.
          const body = bytes['/long.ts']!;
          response.writeHead(200, { 'content-type': 'video/mp2t', 'content-length': 2 * body.length });
          response.write(body, () => response.socket?.end());
          return;
        }
        if (request.url?.startsWith('/reset.ts')) {
          // The connection reset, as a server or a network that failed: at once, half of 30 s sent,
          // or (?held) when the test resets it, all of long.ts sent as a live stream's.
          const reset = (): void => void response.socket?.resetAndDestroy();
          if (request.url === '/reset.ts?held') {
            response.writeHead(200, { 'content-type': 'video/mp2t' });
            response.write(bytes['/long.ts']!, () => resets.push(reset));
            return;
          }
          const body = bytes['/big.ts']!;
          response.writeHead(200, { 'content-type': 'video/mp2t', 'content-length': body.length });
          response.write(body.subarray(0, body.length >> 1), reset);
          return;
        }
        const body = bytes[request.url ?? ''];
        if (!body) {
          response.writeHead(404).end('not found');
          return;
        }
        response.writeHead(200, { 'content-type': 'video/mp2t', 'content-length': body.length }).end(body);
      });
      base = await listenOnLoopback(server);
    });
    after(() => {
      closeNow(server);
      rmSync(dir, { recursive: true, force: true });
    });

    it('processVideo over an http:// URL gives the frames the same file gives when named; openVideo reads it too', async () => {
      const fromFile = await times(clip);
      expect(fromFile).to.have.length(20);
      expect(await times(`${base}/clip.ts`)).to.deep.equal(fromFile);
      expect(await times(`${base}/clip.ts`, { every: 2, start: 0.5 })).to.deep.equal(await times(clip, { every: 2, start: 0.5 }));
      const source = await openVideo(`${base}/clip.ts`);
      expect(source.info).to.include({ width: 160, height: 120, fps: 10 });
      let count = 0;
      for await (const _ of source) count++;
      expect(count).to.equal(20);
    });

    it('render with a URL input: the processed frames, as for a stream', async () => {
      const overlay = join(dir, 'url-overlay.mp4');
      const found = await times(`${base}/clip.ts`, { every: 4, render: overlay });
      expect(found).to.have.length(5);
      const probe = await openVideo(overlay);
      let frames = 0;
      for await (const _ of probe) frames++;
      expect(frames).to.equal(5);
    });

    it('a live URL held open: the source is stopped (its connection closed) when the run ends early, or is ended by endSignal', async () => {
      expect(await times(`${base}/live.ts`, { maxFrames: 3 })).to.deep.equal([0, 0.1, 0.2]);
      await liveClosed.at(-1);

      const end = new AbortController();
      const found: number[] = [];
      for await (const result of processVideo(emptyEstimator, `${base}/live.ts`, { endSignal: end.signal })) {
        found.push(result.time);
        if (found.length === 2) end.abort();
      }
      expect(found).to.deep.equal([0, 0.1]);
      await liveClosed.at(-1);
    });

    it('BAD INPUT - a URL that gives no video (404, a refused connection, no video stream): a VideoError naming the URL and ffmpeg\'s reason', async () => {
      const missing = `${base}/missing.ts`;
      let err = await rejection(times(missing));
      expect(err).to.be.instanceOf(VideoError);
      expect(err.message).to.match(new RegExp(`^${missing}: cannot read the video \\(ffmpeg: .*404 Not Found`));
      expect((err as VideoError).file).to.equal(missing);

      const closedServer = createServer();
      const closedBase = await listenOnLoopback(closedServer);
      await new Promise((resolve) => closedServer.close(resolve));
      const refused = `${closedBase}/clip.ts`;
      err = await rejection(times(refused));
      expect(err).to.be.instanceOf(VideoError);
      expect(err.message).to.match(new RegExp(`^${refused}: cannot read the video \\(ffmpeg: .*Connection refused`));

      const audio = `${base}/audio.ts`;
      err = await rejection(openVideo(audio));
      expect(err).to.be.instanceOf(VideoError);
      expect(err.message).to.match(new RegExp(`^${audio}: cannot read the video \\(ffmpeg: .*matches no streams`));
    });

    it('a URL that stalls after frames (sends nothing, its connection held open): the stream ends there as a file does, every frame it sent estimated, with a warning; its source stops', async () => {
      const url = `${base}/live.ts`;
      const warnings: string[] = [];
      // Slow: when it stalls, frames wait in the pipes, the decoder and the queue, which are estimated all the same.
      const run = processVideo(slowEstimator(40), url, { stallTimeout: 1, onWarning: (message) => warnings.push(message) });
      const found: number[] = [];
      for await (const result of run) found.push(result.frame);
      // Every frame sent: its ffmpeg timed out by itself and wrote the last packets it held.
      expect(found).to.deep.equal([...Array(LONG_FRAMES).keys()]);
      expect(warnings).to.deep.equal([`${url}: no data came for 1 s, so the stream ends there; the poses of its ${found.length} frames so far are kept`]);
      expect(run.sourceStopped()).to.equal('no data came for 1 s');
      // The source ffmpeg is gone: its connection is closed.
      await liveClosed.at(-1);

      // openVideo, which has no such end, gives the same frames, then the stall's VideoError.
      let frames = 0;
      const err = await rejection((async () => {
        for await (const _ of await openVideo(url, { stallTimeout: 1 })) frames++;
      })());
      expect(frames).to.equal(found.length);
      expect(err).to.be.instanceOf(VideoError);
      expect(err.message).to.equal(`${url}: no data came for 1 s (a longer stallTimeout, --stall-timeout on the command line, waits longer)`);
      await liveClosed.at(-1);
    });

    it('a URL that stalls as the last frames asked for come (maxFrames): the run ends by maxFrames, no stall reported; openVideo gives them without an error', async () => {
      const url = `${base}/live.ts`;
      for (const maxFrames of [LONG_FRAMES - 1, LONG_FRAMES]) {
        const warnings: string[] = [];
        const run = processVideo(emptyEstimator, url, { stallTimeout: 1, maxFrames, onWarning: (message) => warnings.push(message) });
        let frames = 0;
        for await (const _ of run) frames++;
        expect([frames, run.sourceStopped(), warnings], `maxFrames ${maxFrames}`).to.deep.equal([maxFrames, undefined, []]);
        frames = 0;
        for await (const _ of await openVideo(url, { stallTimeout: 1, maxFrames })) frames++;
        expect(frames).to.equal(maxFrames);
      }
      // One more than it sent: the stall cut the run short.
      const run = processVideo(emptyEstimator, url, { stallTimeout: 1, maxFrames: LONG_FRAMES + 1, onWarning: () => {} });
      let frames = 0;
      for await (const _ of run) frames++;
      expect([frames, run.sourceStopped()]).to.deep.equal([LONG_FRAMES, 'no data came for 1 s']);
    });

    it('a URL that stalls as the last frames of its range come (duration): no stall reported, openVideo gives them without an error; a frame longer, the stall cut it', async () => {
      const url = `${base}/live.ts`;
      // long.ts's frames come at 0, 0.1, ... 7.9 s: a range of 8 s holds them all.
      const duration = LONG_FRAMES / 10;
      const warnings: string[] = [];
      const run = processVideo(emptyEstimator, url, { stallTimeout: 1, duration, onWarning: (message) => warnings.push(message) });
      let frames = 0;
      for await (const _ of run) frames++;
      expect([frames, run.sourceStopped(), warnings]).to.deep.equal([LONG_FRAMES, undefined, []]);
      frames = 0;
      for await (const _ of await openVideo(url, { stallTimeout: 1, duration })) frames++;
      expect(frames).to.equal(LONG_FRAMES);
      const longer = processVideo(emptyEstimator, url, { stallTimeout: 1, duration: duration + 0.1, onWarning: () => {} });
      frames = 0;
      for await (const _ of longer) frames++;
      expect([frames, longer.sourceStopped()]).to.deep.equal([LONG_FRAMES, 'no data came for 1 s']);
    });

    it('a tcp:// URL that stalls after frames: its ffmpeg times out by itself too, every frame sent estimated', async () => {
      const closed: Promise<void>[] = [];
      const camera = createNetServer((socket) => {
        closed.push(new Promise((resolve) => socket.once('close', () => resolve())));
        socket.write(readFileSync(join(dir, 'long.ts')));
      });
      const port = await loopbackPort(camera);
      try {
        const url = `tcp://127.0.0.1:${port}`;
        const run = processVideo(emptyEstimator, url, { stallTimeout: 1, onWarning: () => {} });
        let frames = 0;
        for await (const _ of run) frames++;
        expect(frames).to.equal(LONG_FRAMES);
        expect(run.sourceStopped()).to.equal('no data came for 1 s');
        await closed.at(-1);
      } finally {
        camera.close();
      }
    });

    it('a URL that stalls with its own rw_timeout in inputOptions: the watchdog kills its ffmpeg at stallTimeout, the packets that ffmpeg held lost', async () => {
      const url = `${base}/live.ts`;
      const run = processVideo(emptyEstimator, url, { stallTimeout: 1, inputOptions: { rw_timeout: '60000000' }, onWarning: () => {} });
      const started = Date.now();
      let frames = 0;
      for await (const _ of run) frames++;
      expect(Date.now() - started).to.be.below(30_000);
      expect(frames).to.be.within(LONG_FRAMES - HELD_BY_SOURCE, LONG_FRAMES - 1);
      expect(run.sourceStopped()).to.equal('no data came for 1 s');
      await liveClosed.at(-1);
    });

    it('BAD INPUT - a URL that sends no byte: a VideoError naming the URL and the stall, how to wait longer; its source is killed', async () => {
      const url = `${base}/silent.ts`;
      for (const read of [() => times(url, { stallTimeout: 1 }), () => openVideo(url, { stallTimeout: 1.5 })]) {
        const err = await rejection(read());
        expect(err).to.be.instanceOf(VideoError);
        expect(err.message).to.match(new RegExp(`^${url}: no data came for 1(\\.5)? s \\(a longer stallTimeout, --stall-timeout on the command line, waits longer\\)$`));
        expect((err as VideoError).file).to.equal(url);
        await silentClosed.at(-1);
      }
      const bad = await rejection(times(url, { stallTimeout: 0 }));
      expect(bad.message).to.equal(`${url}: stallTimeout must be a positive number of seconds, got 0`);
    });

    it('a reader busy longer than stallTimeout (the estimator on a slow frame) holds the source back: no stall', async () => {
      const warnings: string[] = [];
      let held = false;
      const slowFirst: VideoEstimator = {
        ...emptyEstimator,
        async estimatePoses() {
          if (!held) await new Promise((resolve) => setTimeout(resolve, 2500));
          held = true;
          return [];
        },
      };
      const run = processVideo(slowFirst, `${base}/big.ts`, { stallTimeout: 1, onWarning: (message) => warnings.push(message) });
      let frames = 0;
      for await (const _ of run) frames++;
      expect(frames).to.equal(300);
      expect(warnings).to.deep.equal([]);
      expect(run.sourceStopped()).to.equal(undefined);
    });

    it('a source stream destroyed while full (its reader gone): the killed source\'s pipe is closed, not left open', async () => {
      const pipes = (): number => process.getActiveResourcesInfo().filter((kind) => kind === 'PipeWrap').length;
      const before = pipes();
      // A PassThrough, whose writable side the source fills.
      const stream = openUrlSource(`${base}/live.ts`) as Duplex;
      stream.on('error', () => {});
      // Nothing reads it: the source's output fills the stream, which then holds it back.
      while (!stream.writableNeedDrain) await new Promise((resolve) => setTimeout(resolve, 20));
      stream.destroy();
      await liveClosed.at(-1);
      // Its stdout and stderr close once the killed ffmpeg's last output is read.
      const deadline = Date.now() + 10_000;
      while (pipes() > before && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      expect(pipes()).to.be.at.most(before);
    });

    it('a URL whose connection is reset part-way, or closed before its end (ffmpeg takes it as its end, the last packet cut): the stream ends there as a file does, every frame it sent estimated, with a warning naming the URL and ffmpeg\'s reason', async () => {
      const url = `${base}/reset.ts?held`;
      const warnings: string[] = [];
      let counts: { decoded: number } | undefined;
      // Reset once frames were estimated (before, it is the run's failure, as a connection refused),
      // the slow estimator leaving frames waiting in the decoder and the queue.
      const estimator = slowEstimator(40, (call) => call === 4 && resets.shift()!());
      const run = processVideo(estimator, url, { onWarning: (message) => warnings.push(message), onStart: (source) => (counts = source.counts) });
      const found: number[] = [];
      for await (const result of run) found.push(result.frame);
      // A reset discards the bytes the source had not read yet: every frame that came through was estimated.
      expect(found.length).to.be.within(5, LONG_FRAMES).and.equal(counts!.decoded);
      expect(found).to.deep.equal([...found.keys()]);
      expect(run.sourceStopped()).to.match(/^its reading failed part-way \(ffmpeg: .*Connection reset by peer.*\)$/);
      expect(warnings).to.deep.equal([`${url}: ${run.sourceStopped()}, so the stream ends there; the poses of its ${found.length} frames so far are kept`]);

      // Closed before its announced length once all of long.ts was sent: every frame estimated.
      const cut = `${base}/cut.ts`;
      const cutWarnings: string[] = [];
      const cutRun = processVideo(slowEstimator(40), cut, { onWarning: (message) => cutWarnings.push(message) });
      let cutFrames = 0;
      for await (const _ of cutRun) cutFrames++;
      expect(cutFrames).to.equal(LONG_FRAMES);
      expect(cutRun.sourceStopped()).to.match(/^its reading failed part-way \(ffmpeg: Stream ends prematurely at \d+, should be \d+; Input\/output error\)$/);
      expect(cutWarnings).to.deep.equal([`${cut}: ${cutRun.sourceStopped()}, so the stream ends there; the poses of its ${LONG_FRAMES} frames so far are kept`]);

      // Read by openVideo, which has no end to give: the frames that reached the source (here
      // few: a reset discards the bytes not yet read), then the error.
      const atOnce = `${base}/reset.ts`;
      let frames = 0;
      const err = await rejection((async () => {
        for await (const _ of await openVideo(atOnce)) frames++;
      })());
      expect(frames).to.be.at.most(150);
      expect(err).to.be.instanceOf(VideoError);
      expect(err.message).to.match(new RegExp(`^${atOnce}: its reading failed part-way \\(ffmpeg: .*Connection reset by peer`));
    });

    it('a URL whose source logs errors it goes on from (an H.264 MPEG-TS joined mid-way, its first frames undecodable) and exits 0: the video\'s end, all its frames, no warning', async () => {
      const url = `${base}/joined.ts`;
      const fromFile = await times(join(dir, 'joined.ts'));
      expect(fromFile.length).to.be.above(40);
      const warnings: string[] = [];
      const run = processVideo(emptyEstimator, url, { onWarning: (message) => warnings.push(message) });
      let found = 0;
      for await (const _ of run) found++;
      // Its times count from 0, the source's Matroska's start.
      expect(found).to.equal(fromFile.length);
      expect(warnings).to.deep.equal([]);
      expect(run.sourceStopped()).to.equal(undefined);
      let frames = 0;
      for await (const _ of await openVideo(url)) frames++;
      expect(frames).to.equal(fromFile.length);
    });

    it('BAD INPUT - errors found once a URL\'s source has started (damaged data) name the URL, as the VideoError\'s file', async () => {
      const url = `${base}/damaged.ts`;
      const err = await rejection(times(url));
      expect(err).to.be.instanceOf(VideoError);
      expect(err.message).to.match(new RegExp(`^${url}: ffmpeg could not decode it \\(`));
      expect((err as VideoError).file).to.equal(url);
    });

    /** `higher-pose video URL ...` with the tiny model, in a process group of its own (as a terminal's job). */
    function cli(url: string, args: string[]) {
      const run = spawnCli(['video', url, '--preset', 'tiny_coco', '--weights', TINY_COCO_CHECKPOINT(), '--input-size', '256', '--no-flip', ...args], { detached: true });
      children.push(run.child);
      return run;
    }

    it('higher-pose video http://... writes its --out JSON lines; a live URL\'s first Ctrl-C ends it with its poses written, exit 0', async () => {
      const sub = join(dir, 'cli');
      mkdirSync(sub);
      const out = join(sub, 'poses.jsonl');
      const run = cli(`${base}/clip.ts`, ['--out', out, '--max-frames', '4']);
      expect(await run.ended, run.stderr()).to.deep.equal({ code: 0, by: null });
      const lines = readFileSync(out, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { frame: number; time: number });
      expect(lines.map((line) => [line.frame, line.time])).to.deep.equal([[0, 0], [1, 0.1], [2, 0.2], [3, 0.3]]);

      const live = cli(`${base}/live.ts`, []);
      await live.until('two frames', () => live.stdout().split('\n').length > 2);
      // Ctrl-C in a terminal: SIGINT to every process of the foreground group.
      process.kill(-live.child.pid!, 'SIGINT');
      expect(await live.ended, live.stderr()).to.deep.equal({ code: 0, by: null });
      const frames = live.stdout().trim().split('\n').map((line) => (JSON.parse(line) as { frame: number }).frame);
      expect(frames).to.deep.equal([...frames.keys()]);
      expect(live.stderr()).to.include(`the stream was ended by SIGINT after ${frames.length} frames; their JSON lines are on stdout\n`);
      expect(readdirSync(sub)).to.deep.equal(['poses.jsonl']);
    });

    it('higher-pose video URL --stall-timeout S: stalled after frames, the stream ends there, its poses written, exit 0; stalled before, an error, nothing written; a bad S is a usage error', async () => {
      const sub = join(dir, 'cli-stall');
      mkdirSync(sub);
      const out = join(sub, 'poses.jsonl');
      const live = `${base}/live.ts`;
      const run = cli(live, ['--out', out, '--stall-timeout', '1']);
      expect(await run.ended, run.stderr()).to.deep.equal({ code: 0, by: null });
      const frames = readFileSync(out, 'utf8').trim().split('\n').map((line) => (JSON.parse(line) as { frame: number }).frame);
      expect(frames).to.deep.equal([...frames.keys()]);
      // Every frame the source sent, those decoded ahead of the network too.
      expect(frames.length).to.equal(LONG_FRAMES);
      expect(run.stderr()).to.include(`warning: ${live}: no data came for 1 s, so the stream ends there; the poses of its ${frames.length} frames so far are kept\n`);
      expect(run.stderr()).to.match(new RegExp(`the stream ended after ${frames.length} frames \\(${live}: no data came for 1 s\\); ${out} written\n$`));
      await liveClosed.at(-1);

      const silent = `${base}/silent.ts`;
      const stalled = cli(silent, ['--out', out, '--stall-timeout', '1.5']);
      expect(await stalled.ended, stalled.stderr()).to.deep.equal({ code: 1, by: null });
      expect(stalled.stderr()).to.include(`${silent}: no data came for 1.5 s (a longer stallTimeout, --stall-timeout on the command line, waits longer)\n`);
      // The first run's poses, untouched; no temporary file left.
      expect(readdirSync(sub)).to.deep.equal(['poses.jsonl']);
      await silentClosed.at(-1);

      for (const value of ['0', '-1', 'abc']) {
        const refused = cli(silent, ['--stall-timeout', value]);
        expect(await refused.ended).to.deep.equal({ code: 2, by: null });
        expect(refused.stderr()).to.include(`'--stall-timeout <s>' argument '${value}' is invalid. expected a number > 0, got ${value}`);
      }
    });
  });
}
