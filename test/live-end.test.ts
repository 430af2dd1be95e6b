/**
 * Ending a live stream, which has no end of its own: `processVideo`'s `endSignal`, and the first
 * Ctrl-C or SIGTERM of `higher-pose video -` on a pipe, keep the poses of the frames so far and write them.
 */
import { expect } from 'chai';
import { spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { COCO_KEYPOINTS } from '../src/datasets.js';
import { TINY_COCO_CHECKPOINT } from '../src/paths.js';
import { VideoError } from '../src/video/decode.js';
import { processVideo, type VideoEstimator } from '../src/video/process.js';
import { ffmpeg, hasFfmpeg, skippedWithoutFfmpeg } from './helpers/ffmpeg.js';
import { networkRunHeldScript, spawnCli } from './helpers/cli-process.js';

/**
 * The command line, whose third network run (the third frame's: no flip test) writes `marker`
 * and waits for a second `signal` (counted by a listener added before the run's own): the first
 * cannot let that frame finish before the second comes.
 */
const thirdFrameHeldScript = (marker: string, signal: NodeJS.Signals = 'SIGINT'): string => networkRunHeldScript(2, `fs.writeFileSync(${JSON.stringify(marker)}, ''); await secondSignal;`, `
    let signals = 0;
    // Let go at the second, so that the process can still end by the signal.
    const secondSignal = new Promise((resolve) => process.on('${signal}', function counted() {
      if (++signals === 2) resolve(process.off('${signal}', counted));
    }));`);

/** The frames ffprobe counts in `video`. */
function framesIn(video: string): number {
  const probe = spawnSync('ffprobe', ['-v', 'error', '-count_frames', '-show_entries', 'stream=nb_read_frames', '-of', 'csv=p=0', video], { encoding: 'utf8' });
  return Number(probe.stdout.trim());
}

/** An estimator that finds nobody, calling `onCall` with each call's index first. */
function emptyEstimator(onCall?: (call: number) => void): VideoEstimator & { calls: number } {
  return {
    keypoints: COCO_KEYPOINTS,
    calls: 0,
    async estimatePoses() {
      onCall?.(this.calls++);
      return [];
    },
    async dispose() {},
  };
}

if (!hasFfmpeg) skippedWithoutFfmpeg('ending a live stream');
else {
  describe('ending a live stream', function () {
    this.timeout(120_000);
    let dir: string;
    let stream: Buffer; // 20 s of 160x120 at 10 fps, MPEG-TS
    const children: ChildProcess[] = [];
    before(() => {
      dir = mkdtempSync(join(tmpdir(), 'higher-pose-live-end-'));
      const path = join(dir, 'live.ts');
      ffmpeg('-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=10', '-t', '20', '-pix_fmt', 'yuv420p', '-c:v', 'mpeg4', '-g', '1', '-f', 'mpegts', path);
      stream = readFileSync(path);
    });
    afterEach(() => {
      for (const child of children.splice(0)) if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) process.kill(-child.pid, 'SIGKILL');
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    /** A live source: half the stream given, and never ended, as a camera's pipe. */
    function liveSource(): PassThrough {
      const source = new PassThrough();
      source.write(stream.subarray(0, stream.length >> 1));
      return source;
    }

    it('endSignal ends the input: the frames so far are yielded, the one being estimated too, and the overlay holds them', async () => {
      const end = new AbortController();
      const source = liveSource();
      const overlay = join(dir, 'api-overlay.mp4');
      // Aborted as the third frame is estimated: it finishes, and no frame after it is estimated.
      const estimator = emptyEstimator((call) => call === 2 && end.abort());
      const frames: number[] = [];
      for await (const result of processVideo(estimator, source, { endSignal: end.signal, render: overlay })) frames.push(result.frame);
      expect(frames).to.deep.equal([0, 1, 2]);
      expect(estimator.calls).to.equal(3);
      expect(source.destroyed).to.equal(true);
      expect(framesIn(overlay)).to.equal(3);
      expect(readdirSync(dir).filter((name) => name.startsWith('api-overlay'))).to.deep.equal(['api-overlay.mp4']);
    });

    it('BAD CALL - endSignal aborted before any frame is estimated: a VideoError, and no overlay; one that is no signal is refused', async () => {
      const overlay = join(dir, 'early-overlay.mp4');
      const source = liveSource();
      const run = processVideo(emptyEstimator(), source, { endSignal: AbortSignal.abort(), render: overlay });
      const err = await (async () => {
        for await (const _ of run) expect.fail('no frame should be yielded');
      })().then(() => expect.fail('expected a rejection'), (error: Error) => error);
      expect(err).to.be.instanceOf(VideoError);
      expect(err.message).to.equal('video stream: the input was ended (endSignal) before any frame was estimated, so no video was written');
      expect(source.destroyed).to.equal(true);
      expect(readdirSync(dir).filter((name) => name.startsWith('early-overlay'))).to.deep.equal([]);

      const wrong = processVideo(emptyEstimator(), liveSource(), { endSignal: new AbortController() as unknown as AbortSignal });
      const refused = await wrong[Symbol.asyncIterator]().next().then(() => expect.fail('expected a rejection'), (error: Error) => error);
      expect(refused.message).to.equal('processVideo: endSignal must be an AbortSignal, got an AbortController (pass its .signal)');
    });

    /**
     * `higher-pose video - ...` in a process group of its own, as a terminal's foreground job, its
     * stdin `stdin` (a pipe given half the stream and kept open, by default).
     */
    function started(args: string[], { script, stdin }: { script?: string; stdin?: number } = {}) {
      const run = spawnCli(['video', '-', '--preset', 'tiny_coco', '--weights', TINY_COCO_CHECKPOINT(), '--input-size', '256', '--no-flip', ...args],
        { script, stdin: stdin ?? 'pipe', detached: true });
      children.push(run.child);
      if (stdin === undefined) {
        run.child.stdin!.on('error', () => {});
        run.child.stdin!.write(stream.subarray(0, stream.length >> 1));
      }
      // Ctrl-C in a terminal: SIGINT to every process of the foreground group.
      const ctrlC = (): void => {
        process.kill(-run.child.pid!, 'SIGINT');
      };
      return { ...run, ctrlC };
    }

    it('higher-pose video - from a pipe: the first Ctrl-C ends the stream there; the JSON lines and the overlay hold its frames, exit 0', async () => {
      const sub = join(dir, 'cli');
      mkdirSync(sub);
      const overlay = join(sub, 'overlay.mp4');
      const run = started(['--render', overlay]);
      await run.until('two frames were estimated', () => run.stdout().split('\n').length > 2);
      // The overlay's ffmpeg is in the group too, as a terminal's Ctrl-C would reach it: it must finish the video all the same.
      run.ctrlC();
      expect(await run.ended, run.stderr()).to.deep.equal({ code: 0, by: null });
      const lines = run.stdout().trim().split('\n').map((line) => JSON.parse(line) as { frame: number });
      expect(lines.map((line) => line.frame)).to.deep.equal([...lines.keys()]);
      expect(run.stderr()).to.include('higher-pose: the stream ends here; finishing the frames being estimated and writing the poses (Ctrl-C again to stop now)\n');
      expect(run.stderr()).to.include(`the stream was ended by SIGINT after ${lines.length} frames; ${overlay} written\n`);
      expect(framesIn(overlay)).to.equal(lines.length);
      expect(readdirSync(sub)).to.deep.equal(['overlay.mp4']);
    });

    it('BAD CALL - Ctrl-C twice on a live stream: the second interrupts the run, nothing written; on stdin redirected from a file the first does', async () => {
      const sub = join(dir, 'twice');
      mkdirSync(sub);
      const [held, out, overlay] = [join(dir, 'third-frame-held'), join(sub, 'poses.jsonl'), join(sub, 'overlay.mp4')];
      const run = started(['--out', out, '--render', overlay], { script: thirdFrameHeldScript(held) });
      await run.until('the third frame is estimated', () => existsSync(held));
      run.ctrlC();
      await run.until('the first Ctrl-C was heard', () => run.stderr().includes('the stream ends here'));
      run.ctrlC();
      expect(await run.ended, run.stderr()).to.deep.equal({ code: null, by: 'SIGINT' });
      expect(run.stderr()).to.include(`higher-pose: interrupted by SIGINT; stopped after 2 frames; ${out} and ${overlay} not written\n`);
      expect(readdirSync(sub)).to.deep.equal([]);

      // A regular file has an end: Ctrl-C interrupts, as for a file named.
      const file = join(dir, 'live.ts');
      const fd = openSync(file, 'r');
      try {
        const fromFile = started(['--out', out], { stdin: fd });
        // Under way once its JSON lines' temporary file is made.
        await fromFile.until('the run started', () => readdirSync(sub).length > 0);
        fromFile.ctrlC();
        expect(await fromFile.ended, fromFile.stderr()).to.deep.equal({ code: null, by: 'SIGINT' });
        expect(fromFile.stderr()).to.match(new RegExp(`higher-pose: interrupted by SIGINT; stopped after \\d+ frames?; ${out} not written\n`));
        expect(readdirSync(sub)).to.deep.equal([]);
      } finally {
        closeSync(fd);
      }
    });

    it('higher-pose video - from a pipe: SIGTERM (a service stopped, `timeout`) ends the stream as a first Ctrl-C does; a second interrupts the run', async () => {
      const run = started([]);
      await run.until('two frames were estimated', () => run.stdout().split('\n').length > 2);
      // To the process alone, as a service manager or `timeout` sends it.
      run.child.kill('SIGTERM');
      expect(await run.ended, run.stderr()).to.deep.equal({ code: 0, by: null });
      const frames = run.stdout().trim().split('\n').length;
      expect(run.stderr()).to.include('higher-pose: the stream ends here (SIGTERM); finishing the frames being estimated and writing the poses (a second signal stops it now)\n');
      expect(run.stderr()).to.include(`the stream was ended by SIGTERM after ${frames} frames; their JSON lines are on stdout\n`);

      const sub = join(dir, 'sigterm-twice');
      mkdirSync(sub);
      const [held, out] = [join(dir, 'third-frame-held-sigterm'), join(sub, 'poses.jsonl')];
      const twice = started(['--out', out], { script: thirdFrameHeldScript(held, 'SIGTERM') });
      await twice.until('the third frame is estimated', () => existsSync(held));
      twice.child.kill('SIGTERM');
      await twice.until('the first SIGTERM was heard', () => twice.stderr().includes('the stream ends here'));
      twice.child.kill('SIGTERM');
      expect(await twice.ended, twice.stderr()).to.deep.equal({ code: null, by: 'SIGTERM' });
      expect(twice.stderr()).to.include(`higher-pose: interrupted by SIGTERM; stopped after 2 frames; ${out} not written\n`);
      expect(readdirSync(sub)).to.deep.equal([]);
    });
  });
}
