/**
 * Video from a network URL (`higher-pose video http://...`, `processVideo(estimator, 'rtsp://...')`):
 * read by a source ffmpeg into the stream input path. A local HTTP server stands in for the camera.
 */
import { expect } from 'chai';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { COCO_KEYPOINTS } from '../src/datasets.js';
import { TINY_COCO_CHECKPOINT } from '../src/paths.js';
import { openVideo, VideoError } from '../src/video/decode.js';
import { processVideo, type ProcessVideoOptions, type VideoEstimator } from '../src/video/process.js';
import { isVideoUrl } from '../src/video/url-source.js';
import { ffmpeg, hasFfmpeg, skippedWithoutFfmpeg } from './helpers/ffmpeg.js';
import { spawnCli } from './helpers/cli-process.js';

/** An estimator that finds nobody. */
const emptyEstimator: VideoEstimator = {
  keypoints: COCO_KEYPOINTS,
  async estimatePoses() {
    return [];
  },
  async dispose() {},
};

async function times(input: string, options: ProcessVideoOptions = {}): Promise<number[]> {
  const found: number[] = [];
  for await (const result of processVideo(emptyEstimator, input, options)) found.push(result.time);
  return found;
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  return promise.then(() => expect.fail('expected a rejection'), (err: Error) => err);
}

function listening(server: Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
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
    const children: ChildProcess[] = [];

    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'higher-pose-url-'));
      clip = join(dir, 'clip.ts');
      ffmpeg('-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=10', '-t', '2', '-pix_fmt', 'yuv420p', '-c:v', 'mpeg4', '-g', '1', '-f', 'mpegts', clip);
      const long = join(dir, 'long.ts');
      ffmpeg('-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=10', '-t', '8', '-pix_fmt', 'yuv420p', '-c:v', 'mpeg4', '-g', '1', '-f', 'mpegts', long);
      ffmpeg('-f', 'lavfi', '-i', 'sine=duration=1', '-c:a', 'mp2', '-f', 'mpegts', join(dir, 'audio.ts'));
      const bytes = { '/clip.ts': readFileSync(clip), '/long.ts': readFileSync(long), '/audio.ts': readFileSync(join(dir, 'audio.ts')) } as Record<string, Buffer>;
      server = createServer((request, response) => {
        if (request.url === '/live.ts') {
          liveClosed.push(new Promise((resolve) => response.once('close', () => resolve())));
          response.writeHead(200, { 'content-type': 'video/mp2t' });
          response.write(bytes['/long.ts']!);
          return;
        }
        const body = bytes[request.url ?? ''];
        if (!body) {
          response.writeHead(404).end('not found');
          return;
        }
        response.writeHead(200, { 'content-type': 'video/mp2t', 'content-length': body.length }).end(body);
      });
      base = `http://127.0.0.1:${await listening(server)}`;
    });
    afterEach(() => {
      for (const child of children.splice(0)) child.kill('SIGKILL');
    });
    after(() => {
      server.closeAllConnections();
      server.close();
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
      const closedPort = await listening(closedServer);
      await new Promise((resolve) => closedServer.close(resolve));
      const refused = `http://127.0.0.1:${closedPort}/clip.ts`;
      err = await rejection(times(refused));
      expect(err).to.be.instanceOf(VideoError);
      expect(err.message).to.match(new RegExp(`^${refused}: cannot read the video \\(ffmpeg: .*Connection refused`));

      const audio = `${base}/audio.ts`;
      err = await rejection(openVideo(audio));
      expect(err).to.be.instanceOf(VideoError);
      expect(err.message).to.match(new RegExp(`^${audio}: cannot read the video \\(ffmpeg: .*matches no streams`));
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
  });
}
