/**
 * Keeping up with a live stream (`processVideo`'s `realtime`, `higher-pose video --realtime`): the
 * frames are read as fast as they come and the estimator takes the newest each time, skipping the
 * others; a file plays at its own rate. Without it, a live input falling behind is told so.
 */
import { expect } from 'chai';
import { spawn, spawnSync } from 'node:child_process';
import { createReadStream, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { COCO_KEYPOINTS, type KeypointDefinition } from '../src/datasets.js';
import { TINY_COCO_CHECKPOINT } from '../src/paths.js';
import type { Person } from '../src/types.js';
import { VideoError } from '../src/video/decode.js';
import { FALLING_BEHIND_SECONDS, processVideo, type FrameResult, type ProcessVideoOptions, type VideoEstimator } from '../src/video/process.js';
import { ffmpeg, hasFfmpeg, skippedWithoutFfmpeg } from './helpers/ffmpeg.js';
import { CLI_SCRIPT, spawnCli } from './helpers/cli-process.js';
import { closeNow, killedAfterEachTest, listenOnLoopback } from './helpers/loopback.js';
import { Command } from 'commander';
import { registerVideo } from '../src/cli/commands/video.js';
import type { PoseEstimator } from '../src/types.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** An estimator that takes `ms(call)` milliseconds a frame and gives `people(call)` (nobody by default). */
function stubEstimator(ms: (call: number) => number, people: (call: number) => Person[] = () => []): VideoEstimator {
  let calls = 0;
  return {
    keypoints: COCO_KEYPOINTS,
    async estimatePoses() {
      const call = calls++;
      await sleep(ms(call));
      return people(call);
    },
    async dispose() {},
  };
}

/** What a run gave: its frames, when each came (wall seconds from the start), its timings and warnings. */
async function runOf(estimator: VideoEstimator, input: string | Readable, options: ProcessVideoOptions = {}) {
  const warnings: string[] = [];
  const results: (FrameResult & { wall: number })[] = [];
  const start = performance.now();
  const onWarning = (message: string): void => {
    warnings.push(message);
    options.onWarning?.(message);
  };
  const run = processVideo(estimator, input, { ...options, onWarning });
  for await (const result of run) results.push({ ...result, wall: (performance.now() - start) / 1000 });
  return { results, frames: results.map((r) => r.frame), timings: run.timings(), warnings, seconds: (performance.now() - start) / 1000 };
}

/** The frames ffprobe counts in `video`. */
function framesIn(video: string): number {
  const probe = spawnSync('ffprobe', ['-v', 'error', '-count_frames', '-show_entries', 'stream=nb_read_frames', '-of', 'csv=p=0', video], { encoding: 'utf8' });
  return Number(probe.stdout.trim());
}

/** Strictly increasing, as frame indices with gaps are. */
function expectIncreasing(frames: number[]): void {
  for (let i = 1; i < frames.length; i++) expect(frames[i], `${frames}`).to.be.greaterThan(frames[i - 1]!);
}

if (!hasFfmpeg) skippedWithoutFfmpeg('real-time video');
else {
  describe('real-time video', function () {
    this.timeout(120_000);
    let dir: string;
    let clip: string; // 2 s of 160x120 test pattern at 10 fps, MPEG-TS: 20 frames
    const children = killedAfterEachTest();
    let server: Server;
    /** The clip as a finished MP4 file (its index first, its length given), whose duration its source ffmpeg knows. */
    let fileUrl: string;
    /** 8 s of the test pattern in MPEG-TS, sent at once, then held open as a camera's (no length: `Duration: N/A`). */
    let liveUrl: string;
    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'higher-pose-realtime-'));
      clip = join(dir, 'clip.ts');
      ffmpeg('-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=10', '-t', '2', '-pix_fmt', 'yuv420p', '-c:v', 'mpeg4', '-g', '1', '-f', 'mpegts', clip);
      ffmpeg('-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=10', '-t', '2', '-pix_fmt', 'yuv420p', '-c:v', 'mpeg4', '-g', '1', '-movflags', '+faststart', join(dir, 'clip.mp4'));
      ffmpeg('-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=10', '-t', '8', '-pix_fmt', 'yuv420p', '-c:v', 'mpeg4', '-g', '1', '-f', 'mpegts', join(dir, 'live.ts'));
      const [mp4, ts] = [readFileSync(join(dir, 'clip.mp4')), readFileSync(join(dir, 'live.ts'))];
      server = createServer((request, response) => {
        if (request.url === '/clip.mp4') {
          response.writeHead(200, { 'content-type': 'video/mp4', 'content-length': mp4.length }).end(mp4);
          return;
        }
        response.writeHead(200, { 'content-type': 'video/mp2t' });
        response.write(ts);
      });
      const base = await listenOnLoopback(server);
      [fileUrl, liveUrl] = [`${base}/clip.mp4`, `${base}/live.ts`];
    });
    after(() => {
      closeNow(server);
      rmSync(dir, { recursive: true, force: true });
    });

    /** A camera: `seconds` of 10 fps test pattern sent at its real rate as a live Matroska stream (ffmpeg -re), then ended. */
    function camera(seconds: number): Readable {
      const child = spawn('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-re', '-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=10', '-t', String(seconds),
        '-pix_fmt', 'yuv420p', '-c:v', 'mpeg4', '-g', '1', '-live', '1', '-cluster_time_limit', '100', '-flush_packets', '1', '-f', 'matroska', 'pipe:1'],
      { stdio: ['ignore', 'pipe', 'ignore'] });
      children.push(child);
      return child.stdout;
    }

    it('a live source faster than the estimator: realtime estimates the newest frame each time, the others skipped and counted; without it every frame is, falling behind', async () => {
      const end = new AbortController();
      const [realtime, plain, ended] = await Promise.all([
        runOf(stubEstimator(() => 200), camera(3), { realtime: true }),
        runOf(stubEstimator(() => 200), camera(3)),
        // Ended as the third frame is estimated: that one is yielded, no other.
        runOf(stubEstimator((call) => (call === 2 && end.abort(), 200)), camera(3), { realtime: true, endSignal: end.signal }),
      ]);
      // About 3 s / 0.2 s: loose bounds for a busy machine.
      expect(realtime.frames.length, `${realtime.frames}`).to.be.within(4, 25);
      expectIncreasing(realtime.frames);
      expect(realtime.frames[0]).to.equal(0);
      // The last one, decoded as the stream ended, is never skipped.
      expect(realtime.frames.at(-1)).to.equal(29);
      expect(realtime.timings.frames).to.equal(realtime.frames.length);
      expect(realtime.timings.skipped).to.equal(30 - realtime.frames.length);
      expect(realtime.timings.skipped).to.be.greaterThan(0);
      // Times are the frames' own.
      for (const result of realtime.results) expect(result.time).to.be.closeTo(result.frame / 10, 1e-6);
      // Kept up: the last poses come about when the stream ends, where every frame in turn takes 30 x 0.2 s.
      expect(realtime.seconds).to.be.below(plain.seconds);
      expect(plain.frames).to.deep.equal([...Array(30).keys()]);
      expect(plain.timings.skipped).to.equal(0);
      expect(plain.seconds).to.be.at.least(5.9);
      expect(ended.frames).to.have.length(3);
      expect(ended.frames[0]).to.equal(0);
      expectIncreasing(ended.frames);
    });

    it('a file (or a Readable over one) in realtime plays at its own rate (start and every too): a fast estimator gets every frame, a slow one the newest each time; maxFrames counts the frames estimated', async () => {
      const fastRuns = await Promise.all([runOf(stubEstimator(() => 0), clip, { realtime: true }), runOf(stubEstimator(() => 0), createReadStream(clip), { realtime: true })]);
      for (const fast of fastRuns) {
        expect(fast.frames).to.deep.equal([...Array(20).keys()]);
        // 20 frames at 10 fps: the last released 1.9 s after the first. The first's result may
        // come up to 200 ms after its release on a busy machine (it once came 54 ms late); unpaced,
        // all 20 would come within ~0.1 s.
        expect(fast.results.at(-1)!.wall - fast.results[0]!.wall).to.be.at.least(1.7);
        expect(fast.timings.skipped).to.equal(0);
      }

      // Paced from the range's first frame, not the file's start; the sampled frames' own times.
      const sampled = await runOf(stubEstimator(() => 0), clip, { realtime: true, start: 1, every: 2 });
      expect(sampled.results.map((r) => r.time)).to.deep.equal([1, 1.2, 1.4, 1.6, 1.8]);
      const span = sampled.results.at(-1)!.wall - sampled.results[0]!.wall;
      // 0.8 s apart, less the first result's delay (as above).
      expect(span).to.be.within(0.6, 1.5);

      const slow = await runOf(stubEstimator(() => 300), clip, { realtime: true });
      expectIncreasing(slow.frames);
      expect(slow.frames.length, `${slow.frames}`).to.be.within(3, 12);
      expect(slow.frames.at(-1)).to.equal(19);
      expect(slow.timings.skipped).to.equal(20 - slow.frames.length);
      expect(slow.seconds).to.be.at.least(1.9);

      const limited = await runOf(stubEstimator(() => 300), clip, { realtime: true, maxFrames: 3 });
      expect(limited.frames).to.have.length(3);
      expectIncreasing(limited.frames);
      expect(limited.frames.at(-1)).to.be.greaterThan(2);
    });

    it('a finished file at a URL (http://host/clip.mp4, its duration known to its source) is read as a file: realtime plays it at its own rate, onStart has its frames; a live URL has none', async () => {
      const starts: { expectedFrames?: number | undefined; duration?: number | undefined }[] = [];
      const onStart: ProcessVideoOptions['onStart'] = ({ expectedFrames, info }) => void starts.push({ expectedFrames, duration: info.duration });
      const fast = await runOf(stubEstimator(() => 0), fileUrl, { realtime: true, onStart });
      expect(fast.frames).to.deep.equal([...Array(20).keys()]);
      // 20 frames at 10 fps: the last released 1.9 s after the first, as the local file's (the same margin).
      expect(fast.results.at(-1)!.wall - fast.results[0]!.wall).to.be.at.least(1.7);
      expect(fast.timings.skipped).to.equal(0);
      await runOf(stubEstimator(() => 0), liveUrl, { maxFrames: 3, onStart });
      // The live one's count is maxFrames'.
      expect(starts).to.deep.equal([{ expectedFrames: 20, duration: 2 }, { expectedFrames: 3, duration: undefined }]);
    });

    it('realtime smoothing keeps a track\'s filters across an estimator\'s pace of more than a second', async () => {
      // One person, 10 px further right at each call: smoothed, the second frame's joints lag behind.
      const person = (call: number): Person[] => [{
        score: 0.9,
        keypoints: COCO_KEYPOINTS.names.map((name, joint) => ({ name, x: 100 + 20 * joint + 10 * call, y: 50 + 25 * joint, score: 0.9 })),
        box: { xMin: 100 + 10 * call, yMin: 50, xMax: 420 + 10 * call, yMax: 450, width: 320, height: 400 },
      }];
      const { results } = await runOf(stubEstimator(() => 1200, person), clip, { realtime: true, smooth: true, maxFrames: 2 });
      expect(results).to.have.length(2);
      expect(results[1]!.time - results[0]!.time).to.be.above(1);
      expect(results[1]!.people[0]!.id).to.equal(1);
      expect(results[1]!.people[0]!.keypoints[0]!.x).to.be.below(109.9);
    });

    it(`without realtime, a live input (a pipe, a live URL) falling more than ${FALLING_BEHIND_SECONDS} s behind is told so once; with realtime, or a file (at a URL too), never`, async () => {
      // A frame a second until told, then faster than the source no more: falling further behind.
      let told = false;
      const slowUntilTold = (): number => (told ? 150 : 1000);
      const live = new PassThrough();
      live.end(readFileSync(clip));
      // A live URL falls behind as a pipe does; a finished file at a URL, as a local one, never.
      let liveUrlTold = false;
      const [behind, file, realtime, urlBehind, fileAtUrl] = await Promise.all([
        runOf(stubEstimator(slowUntilTold), live, { onWarning: () => (told = true) }),
        runOf(stubEstimator(() => 1000), clip, { maxFrames: 14 }),
        runOf(stubEstimator(() => 1000), camera(14), { realtime: true }),
        runOf(stubEstimator(() => (liveUrlTold ? 0 : 1000)), liveUrl, { maxFrames: 16, onWarning: () => (liveUrlTold = true) }),
        runOf(stubEstimator(() => 1000), fileUrl, { maxFrames: 14 }),
      ]);
      expect(urlBehind.warnings).to.have.length(1);
      expect(urlBehind.warnings[0]).to.match(new RegExp(`^${liveUrl}: the poses are \\d+ s behind the stream's own time`));
      expect(fileAtUrl.frames).to.have.length(14);
      expect(fileAtUrl.warnings).to.deep.equal([]);
      expect(behind.frames).to.deep.equal([...Array(20).keys()]);
      expect(behind.warnings).to.have.length(1);
      expect(behind.warnings[0]).to.match(/^video stream: the poses are (\d+) s behind the stream's own time: if it is live \(a camera\), --realtime \(realtime: true\) skips frames to keep up$/);
      expect(Number(/are (\d+) s/.exec(behind.warnings[0]!)![1])).to.be.within(FALLING_BEHIND_SECONDS, FALLING_BEHIND_SECONDS + 3);
      expect(file.frames).to.have.length(14);
      expect(file.warnings).to.deep.equal([]);
      expect(realtime.warnings).to.deep.equal([]);
      expect(realtime.timings.skipped).to.be.greaterThan(0);
    });

    it('a paced file aborted between its frames stops at once: the pacing holds neither the decoder nor the process until the next frame is due', async () => {
      // Frames 10 s apart (enough of them that the decoder's threads give the second at once): it is due long after the abort.
      const sparse = join(dir, 'sparse.ts');
      ffmpeg('-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=0.1', '-t', '100', '-pix_fmt', 'yuv420p', '-c:v', 'mpeg4', '-g', '1', '-f', 'mpegts', sparse);
      // In a child process, whose exit is the check: the aborted run's leftovers would keep it alive.
      const script = `import { processVideo } from './src/video/process.ts';
        const abort = new AbortController();
        const estimator = { keypoints: undefined, estimatePoses: async () => [], dispose: async () => {} };
        try {
          for await (const result of processVideo(estimator, process.argv[1], { realtime: true, signal: abort.signal })) {
            console.log('frame', result.frame);
            // Once the run waits for the next frame (any delay short of 10 s).
            setTimeout(() => abort.abort(new Error('stopped')), 500);
          }
        } catch (error) { console.log(error.message); }`;
      const start = performance.now();
      const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, sparse], { encoding: 'utf8', timeout: 60_000, killSignal: 'SIGKILL' });
      const seconds = (performance.now() - start) / 1000;
      expect(child.stdout.trim().split('\n'), child.stderr).to.deep.equal(['frame 0', 'stopped']);
      // The next frame was due 10 s after the first.
      expect(seconds).to.be.below(8);
    });

    it('BAD CALL - realtime that is no boolean is a VideoError; maxFrames is checked with it as without', async () => {
      const refused = async (options: ProcessVideoOptions): Promise<Error> => {
        const run = processVideo(stubEstimator(() => 0), clip, options);
        return run[Symbol.asyncIterator]().next().then(() => expect.fail('expected a rejection'), (error: Error) => error);
      };
      const notFlag = await refused({ realtime: 'yes' as unknown as boolean });
      expect(notFlag).to.be.instanceOf(VideoError);
      expect(notFlag.message).to.equal('processVideo: realtime must be true or false, got "yes"');
      const [withIt, without] = await Promise.all([refused({ realtime: true, maxFrames: 0 }), refused({ maxFrames: 0 })]);
      expect(withIt).to.be.instanceOf(VideoError);
      expect(withIt.message).to.equal(without.message);
      expect(withIt.message).to.equal(`${clip}: maxFrames must be a positive integer (at most ${Number.MAX_SAFE_INTEGER}), got 0`);
    });

    /** The command line, each network run taking `ms` more (a slow CPU). */
    const slowNetworkScript = (ms: number): string => `import('onnxruntime-node').then((ort) => {
      const { create } = ort.InferenceSession;
      ort.InferenceSession.create = async (...args) => {
        const session = await create.apply(ort.InferenceSession, args);
        const run = session.run.bind(session);
        session.run = async (...given) => {
          await new Promise((resolve) => setTimeout(resolve, ${ms}));
          return run(...given);
        };
        return session;
      };
      return ${CLI_SCRIPT};
    })`;
    const MODEL = ['--preset', 'tiny_coco', '--weights', TINY_COCO_CHECKPOINT(), '--input-size', '256', '--no-flip'];

    /** The JSON lines' frame indices and the summary's counts. */
    function estimated(stdout: string, stderr: string): { frames: number[]; skipped: number } {
      const frames = stdout.trim().split('\n').map((line) => (JSON.parse(line) as { frame: number }).frame);
      const summary = new RegExp(`^${frames.length} frames estimated, (\\d+) skipped to keep up, in [\\d.]+ s \\(`, 'm').exec(stderr);
      expect(summary, stderr).to.not.equal(null);
      return { frames, skipped: Number(summary![1]) };
    }

    it('higher-pose video - --realtime on a pipe: gapped, increasing frame indices, the skipped frames counted; its overlay holds the frames estimated', async () => {
      const overlay = join(dir, 'pipe-overlay.mkv');
      const run = spawnCli(['video', '-', ...MODEL, '--realtime', '--render', overlay], { script: slowNetworkScript(300), stdin: 'pipe' });
      children.push(run.child);
      run.child.stdin!.on('error', () => {});
      camera(3).pipe(run.child.stdin!);
      expect(await run.ended, run.stderr()).to.deep.equal({ code: 0, by: null });
      const { frames, skipped } = estimated(run.stdout(), run.stderr());
      expectIncreasing(frames);
      expect(frames.at(-1)).to.equal(29);
      expect(skipped).to.equal(30 - frames.length);
      expect(skipped).to.be.greaterThan(0);
      expect(framesIn(overlay)).to.equal(frames.length);
    });

    it('higher-pose video FILE --realtime --render: frames skipped in the JSON lines, every source frame in the overlay (drawn with the latest poses)', async () => {
      const [out, overlay] = [join(dir, 'file.jsonl'), join(dir, 'file-overlay.mp4')];
      const run = spawnCli(['video', clip, ...MODEL, '--realtime', '--out', out, '--render', overlay], { script: slowNetworkScript(300) });
      children.push(run.child);
      expect(await run.ended, run.stderr()).to.deep.equal({ code: 0, by: null });
      const { frames, skipped } = estimated(readFileSync(out, 'utf8'), run.stderr());
      expectIncreasing(frames);
      expect(frames.at(-1)).to.equal(19);
      expect(skipped).to.equal(20 - frames.length);
      expect(skipped).to.be.greaterThan(0);
      expect(framesIn(overlay)).to.equal(20);
    });

    it("higher-pose video FILE --realtime (a local file, or a finished one at a URL): the progress bar ends full, counting the range's frames, or with --max-frames the frames estimated", async () => {
      /** The last `value/total` the bar drew on a terminal. */
      const lastProgress = async (args: string[], input = clip): Promise<string> => {
        const terminal = Object.assign(new PassThrough(), { isTTY: true, columns: 120 });
        let drawn = '';
        terminal.setEncoding('utf8').on('data', (text: string) => (drawn += text));
        const program = new Command().exitOverride().configureOutput({ writeErr: () => {} });
        registerVideo(program, { createEstimator: async () => stubEstimator(() => 300) as PoseEstimator & { keypoints: KeypointDefinition }, log: () => {}, progress: terminal });
        await program.parseAsync(['video', input, '--preset', 'tiny_coco', '--weights', 'w.pth', '--realtime', '--out', join(dir, 'progress.jsonl'), ...args], { from: 'user' });
        return [...drawn.matchAll(/(\d+\/\d+) frames/g)].at(-1)?.[1] ?? drawn;
      };
      expect(await lastProgress([])).to.equal('20/20');
      expect(await lastProgress(['--max-frames', '3'])).to.equal('3/3');
      // Past the range's frames, --max-frames ends nothing: the range's end does.
      expect(await lastProgress(['--max-frames', '50'])).to.equal('20/20');
      // A finished file at a URL: its frames, as its source ffmpeg knows its duration.
      expect(await lastProgress([], fileUrl)).to.equal('20/20');
    });
  });
}
