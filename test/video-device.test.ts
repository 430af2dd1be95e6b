/**
 * Cameras and other ffmpeg inputs read directly (`higher-pose video /dev/video0`, `--input-format`,
 * `--input-option`; `processVideo`'s `inputFormat`, `inputOptions`): read by a source ffmpeg, as a
 * URL is, as live inputs. ffmpeg's lavfi virtual device stands in for a camera: an endless source.
 */
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { COCO_KEYPOINTS } from '../src/datasets.js';
import { TINY_COCO_CHECKPOINT } from '../src/paths.js';
import { isLiveInput, openVideo, VideoError, type DecodeOptions } from '../src/video/decode.js';
import { processVideo, type ProcessVideoOptions, type VideoEstimator } from '../src/video/process.js';
import { isDevicePath } from '../src/video/source-input.js';
import { ffmpeg, hasFfmpeg, skippedWithoutFfmpeg } from './helpers/ffmpeg.js';
import { spawnCli } from './helpers/cli-process.js';
import { closeNow, killedAfterEachTest, listenOnLoopback } from './helpers/loopback.js';

/** The camera's stand-in: lavfi's test pattern, 160x120 at 10 frames/s, without end. */
const CAMERA = 'testsrc=size=160x120:rate=10';
const LAVFI = { inputFormat: 'lavfi' } as const;

/** An estimator that finds nobody. */
const emptyEstimator: VideoEstimator = {
  keypoints: COCO_KEYPOINTS,
  async estimatePoses() {
    return [];
  },
  async dispose() {},
};

async function frames(input: string, options: ProcessVideoOptions = {}): Promise<{ frame: number; time: number }[]> {
  const found: { frame: number; time: number }[] = [];
  for await (const { frame, time } of processVideo(emptyEstimator, input, options)) found.push({ frame, time });
  return found;
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  return promise.then(() => expect.fail('expected a rejection'), (err: Error) => err);
}

/** Child processes of this one that Node still holds. */
const processes = (): number => process.getActiveResourcesInfo().filter((kind) => kind === 'ProcessWrap').length;

describe('video devices: which inputs are read live by a source ffmpeg', () => {
  it('a character device under /dev/ and any input with inputFormat are live; a file path, /dev/stdin and its kin are not', () => {
    expect(isDevicePath('/dev/null')).to.equal(true);
    expect(isLiveInput('/dev/null')).to.equal(true);
    expect(isLiveInput(CAMERA, LAVFI)).to.equal(true);
    expect(isLiveInput(CAMERA)).to.equal(false);
    for (const path of ['/dev/stdin', '/dev/fd/0', '/dev/no-such-device', '/tmp', 'dev/null']) expect(isDevicePath(path), path).to.equal(false);
  });
});

if (!hasFfmpeg) skippedWithoutFfmpeg('video devices');
else {
  describe('video devices', function () {
    this.timeout(120_000);
    let dir: string;
    let clip: string;
    let server: Server;
    let base: string;
    /** The User-Agent of each request the server got. */
    const agents: (string | undefined)[] = [];
    const children = killedAfterEachTest();

    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'higher-pose-device-'));
      clip = join(dir, 'clip.ts');
      ffmpeg('-f', 'lavfi', '-i', CAMERA, '-t', '1', '-pix_fmt', 'yuv420p', '-c:v', 'mpeg4', '-g', '1', '-f', 'mpegts', clip);
      const bytes = readFileSync(clip);
      server = createServer((request, response) => {
        agents.push(request.headers['user-agent']);
        response.writeHead(200, { 'content-type': 'video/mp2t', 'content-length': bytes.length }).end(bytes);
      });
      base = await listenOnLoopback(server);
    });
    after(() => {
      closeNow(server);
      rmSync(dir, { recursive: true, force: true });
    });

    it('processVideo and openVideo read an input with inputFormat (lavfi) live, its frames as ffmpeg decodes them (raw RGB not swapped to BGR)', async () => {
      const run = processVideo(emptyEstimator, CAMERA, { ...LAVFI, maxFrames: 3 });
      const images = [];
      for await (const result of run) images.push(result);
      expect(images.map(({ frame, time }) => [frame, time])).to.deep.equal([[0, 0], [1, 0.1], [2, 0.2]]);
      const own = spawnSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', CAMERA, '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-']);
      expect(Buffer.from(images[0]!.image.data).equals(own.stdout)).to.equal(true);

      const source = await openVideo(CAMERA, { ...LAVFI, maxFrames: 2 });
      expect(source.info).to.include({ width: 160, height: 120, fps: 10 });
      let count = 0;
      for await (const _ of source) count++;
      expect(count).to.equal(2);
    });

    it('the input format and options go to the source ffmpeg before its -i, in their order; endSignal ends the endless input with its poses', async () => {
      const log = join(dir, 'ffmpeg-args.log');
      const wrapper = join(dir, 'ffmpeg-logged');
      writeFileSync(wrapper, `#!/bin/sh\necho "$*" >> '${log}'\nexec ffmpeg "$@"\n`);
      chmodSync(wrapper, 0o755);
      const end = new AbortController();
      const found: number[] = [];
      const options = { ...LAVFI, inputOptions: { readrate: '1', thread_queue_size: '64' }, ffmpegPath: wrapper, endSignal: end.signal };
      for await (const result of processVideo(emptyEstimator, CAMERA, options)) {
        found.push(result.frame);
        if (found.length === 4) end.abort();
      }
      expect(found).to.deep.equal([0, 1, 2, 3]);
      const source = readFileSync(log, 'utf8').split('\n').filter((line) => line.includes('-live 1'));
      expect(source).to.have.length(1);
      expect(source[0]).to.include(`-f lavfi -readrate 1 -thread_queue_size 64 -i ${CAMERA} -map 0:v:0`);
      expect(source[0]).to.include('-allow_raw_vfw 1');
    });

    it('realtime on an input with inputFormat: a slow estimator takes the newest frame, those that came meanwhile skipped', async () => {
      let counts: { decoded: number } | undefined;
      let calls = 0;
      const slow: VideoEstimator = {
        ...emptyEstimator,
        async estimatePoses() {
          // Busy until three more frames came: they are skipped for the newest.
          const until = counts!.decoded + 3;
          calls++;
          while (counts!.decoded < until) await new Promise((resolve) => setTimeout(resolve, 5));
          return [];
        },
      };
      const run = processVideo(slow, CAMERA, { ...LAVFI, realtime: true, maxFrames: 3, onStart: (source) => (counts = source.counts) });
      const found: number[] = [];
      for await (const result of run) found.push(result.frame);
      expect(calls).to.equal(3);
      expect(found).to.have.length(3);
      for (let i = 1; i < found.length; i++) expect(found[i]! - found[i - 1]!, `${found}`).to.be.greaterThan(1);
      expect(run.timings().skipped).to.be.greaterThan(0);
    });

    it('render of an input with inputFormat: the estimated frames at their times, as for a URL', async () => {
      const overlay = join(dir, 'overlay.mkv');
      expect((await frames(CAMERA, { ...LAVFI, every: 2, maxFrames: 3, render: overlay })).map(({ time }) => time)).to.deep.equal([0, 0.2, 0.4]);
      const times: number[] = [];
      for await (const { time } of await openVideo(overlay)) times.push(time);
      expect(times).to.deep.equal([0, 0.2, 0.4]);
    });

    it('inputOptions reach a URL\'s source ffmpeg (user_agent, seen by the server)', async () => {
      const url = `${base}/clip.ts`;
      expect(await frames(url, { inputOptions: { user_agent: 'higher-pose-test' } })).to.have.length(10);
      expect(agents.at(-1)).to.equal('higher-pose-test');
    });

    it('BAD INPUT - an input option ffmpeg does not know: a VideoError naming the input and ffmpeg\'s reason', async () => {
      const err = await rejection(frames(CAMERA, { ...LAVFI, inputOptions: { no_such_option: '1' } }));
      expect(err).to.be.instanceOf(VideoError);
      expect(err.message).to.match(new RegExp(`^${CAMERA}: cannot read the video \\(ffmpeg: Unrecognized option 'no_such_option'`));
      expect((err as VideoError).file).to.equal(CAMERA);
    });

    it('BAD INPUT - a character device that is no video (/dev/null): read by ffmpeg, a VideoError naming it and ffmpeg\'s reason, not "not a file"', async () => {
      const err = await rejection(frames('/dev/null'));
      expect(err).to.be.instanceOf(VideoError);
      expect(err.message).to.match(/^\/dev\/null: cannot read the video \(ffmpeg: .*Invalid data found when processing input/);
      expect((err as VideoError).file).to.equal('/dev/null');
      // Not a device of its own: the process's stdin is read as a stream.
      expect((await rejection(frames('/dev/stdin'))).message).to.match(/^\/dev\/stdin: not a regular file; read a pipe/);
    });

    it('BAD INPUT - inputFormat and inputOptions that cannot work, and a bad stallTimeout, are VideoErrors naming the input before any ffmpeg starts', async () => {
      const url = `${base}/clip.ts`;
      const cases: [string | PassThrough, DecodeOptions, RegExp][] = [
        [CAMERA, { inputFormat: '' }, /^testsrc=size=160x120:rate=10: inputFormat must be an ffmpeg input format name such as v4l2, .*, got ""$/],
        [CAMERA, { inputFormat: '-f' }, /: inputFormat must be an ffmpeg input format name .*, got "-f"$/],
        [new PassThrough(), LAVFI, /^video stream: inputFormat is for an input ffmpeg reads by its name \(a device, a lavfi graph\); a stream is read as it comes$/],
        [clip, { inputOptions: { user_agent: 'x' } }, new RegExp(`^${clip}: inputOptions: ffmpeg's input options are for a URL, a device or an input with inputFormat \\(each read by an ffmpeg of its own\\); a file path's would be ignored$`)],
        [new PassThrough(), { inputOptions: { user_agent: 'x' } }, /^video stream: inputOptions: .*; a stream's would be ignored$/],
        [url, { inputOptions: { '-user_agent': 'x' } }, /: inputOptions: "-user_agent" is not an ffmpeg option name \(letters, digits and _, without the leading -\)$/],
        [url, { inputOptions: { 'c:v': 'h264' } }, /: inputOptions: "c:v" is not an ffmpeg option name/],
        [url, { inputOptions: { f: 'mpegts' } }, /: inputOptions: -f is not taken: give the input format as inputFormat \(--input-format\)$/],
        [url, { inputOptions: { i: 'other' } }, /: inputOptions: -i is not taken: /],
        [url, { inputOptions: { map: '0' } }, /: inputOptions: -map is not taken: it would change the output/],
        [url, { inputOptions: { loglevel: 'quiet' } }, /: inputOptions: -loglevel is not taken: higher-pose sets it$/],
        [url, { inputOptions: { timeout: 5 as unknown as string } }, /: inputOptions: the value of timeout must be a string, got 5$/],
        [url, { inputOptions: ['rtsp_transport', 'tcp'] as unknown as Record<string, string> }, /: inputOptions must be an object of ffmpeg input options/],
        [url, { stallTimeout: 0 }, new RegExp(`^${url}: stallTimeout must be a positive number of seconds, got 0$`)],
        [CAMERA, { ...LAVFI, stallTimeout: -1 }, /: stallTimeout must be a positive number of seconds, got -1$/],
      ];
      for (const [input, options, message] of cases) {
        const before = processes();
        for (const read of [() => frames(input as string, options), () => openVideo(input, options)]) {
          const err = await rejection(read());
          expect(err, String(message)).to.be.instanceOf(VideoError);
          expect(err.message).to.match(message);
          // Refused before the source ffmpeg was started (then killed).
          expect(processes(), err.message).to.be.at.most(before);
        }
      }
      expect(agents).to.not.include('x');
    });

    /** `higher-pose video IN ...` with the tiny model, in a process group of its own (as a terminal's job). */
    function cli(input: string, args: string[]) {
      const run = spawnCli(['video', input, '--preset', 'tiny_coco', '--weights', TINY_COCO_CHECKPOINT(), '--input-size', '256', '--no-flip', ...args], { detached: true });
      children.push(run.child);
      return run;
    }

    it('higher-pose video --input-format lavfi --max-frames 3 writes their JSON lines; its first Ctrl-C ends the live input with its poses written, exit 0', async () => {
      const sub = join(dir, 'cli');
      mkdirSync(sub);
      const out = join(sub, 'poses.jsonl');
      const run = cli(CAMERA, ['--input-format', 'lavfi', '--input-option', 'readrate=1', '--max-frames', '3', '--out', out]);
      expect(await run.ended, run.stderr()).to.deep.equal({ code: 0, by: null });
      const lines = readFileSync(out, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { frame: number; time: number; people: unknown[] });
      expect(lines.map((line) => [line.frame, line.time])).to.deep.equal([[0, 0], [1, 0.1], [2, 0.2]]);

      const live = cli(CAMERA, ['--input-format', 'lavfi']);
      await live.until('two frames', () => live.stdout().split('\n').length > 2);
      process.kill(-live.child.pid!, 'SIGINT');
      expect(await live.ended, live.stderr()).to.deep.equal({ code: 0, by: null });
      const found = live.stdout().trim().split('\n').map((line) => (JSON.parse(line) as { frame: number }).frame);
      expect(found).to.deep.equal([...found.keys()]);
      expect(live.stderr()).to.include(`the stream was ended by SIGINT after ${found.length} frames; their JSON lines are on stdout\n`);
      expect(readdirSync(sub)).to.deep.equal(['poses.jsonl']);
    });

    it('higher-pose video /dev/null: read by ffmpeg as a device, its error named (exit 1); --input-format and --input-option that cannot work are usage errors (exit 2)', async () => {
      const device = cli('/dev/null', []);
      expect(await device.ended).to.deep.equal({ code: 1, by: null });
      expect(device.stderr()).to.match(/\/dev\/null: cannot read the video \(ffmpeg: .*Invalid data found when processing input\)/);

      const usage: [string, string[], string][] = [
        [CAMERA, ['--input-format', ''], `'--input-format <name>' argument '' is invalid. must be an ffmpeg input format name such as v4l2`],
        [`${base}/clip.ts`, ['--input-option', 'rtsp_transport'], `'--input-option <name=value>' argument 'rtsp_transport' is invalid. expected name=value, an ffmpeg input option without its dash and its value (rtsp_transport=tcp), got rtsp_transport`],
        [`${base}/clip.ts`, ['--input-option', '-rtsp_transport=tcp'], '"-rtsp_transport" is not an ffmpeg option name (letters, digits and _, without the leading -)'],
        [`${base}/clip.ts`, ['--input-option', 'f=mpegts'], '-f is not taken: give the input format as inputFormat (--input-format)'],
        [clip, ['--input-option', 'user_agent=x'], "error: --input-option: ffmpeg's input options are for a URL, a device or an input with --input-format (each read by an ffmpeg of its own); a file path's would be ignored"],
        ['-', ['--input-format', 'lavfi'], 'error: --input-format is for an input ffmpeg reads by its name (a device, a lavfi graph); a stream is read as it comes'],
      ];
      for (const [input, args, message] of usage) {
        const refused = cli(input, args);
        expect(await refused.ended, refused.stderr()).to.deep.equal({ code: 2, by: null });
        expect(refused.stderr()).to.include(message);
      }
    });
  });
}
