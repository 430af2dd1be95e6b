/**
 * An option given as `undefined` is one left out: its default applies. The types say so
 * (`field?: T | undefined`, declarations.test.ts), so that a caller under
 * `exactOptionalPropertyTypes` may forward optional settings of its own (`{ maxPoses: args.maxPoses }`).
 * The lists of options are typed with every name: an option added must be added here too.
 */
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEstimator, type EstimatorOptions, type HigherHRNetEstimator } from '../src/estimator.js';
import { readImage, type ReadImageOptions } from '../src/io/image.js';
import { drawPoses, type OverlayOptions } from '../src/render/overlay.js';
import { PoseTracker, type TrackerOptions } from '../src/tracking/tracker.js';
import { PoseSmoother, type PoseSmootherOptions } from '../src/tracking/one-euro.js';
import type { ProcessVideoOptions } from '../src/video/process.js';
import type { RenderOptions } from '../src/video/overlay-video.js';
import type { EstimationOptions } from '../src/types.js';
import { DEMO_IMAGE, TINY_COCO_CHECKPOINT } from '../src/paths.js';

/** Every field of `T`, each undefined (a field left out of a list is a type error). */
type Unset<T> = Record<keyof T, undefined>;

const ESTIMATOR_UNSET: Unset<Omit<EstimatorOptions, 'weights'>> = {
  preset: undefined, config: undefined, backend: undefined, tfjsBackend: undefined, device: undefined, threads: undefined,
  precision: undefined, calibrationImages: undefined, flipTest: undefined, flipBatch: undefined, concurrentFlip: undefined, scales: undefined,
  adjust: undefined, refine: undefined, detectionThreshold: undefined, tagThreshold: undefined, maxPeople: undefined,
  inputSize: undefined, maxPoses: undefined, minPoseScore: undefined, exifOrientation: undefined, maxPixels: undefined,
  parallelPostprocessing: undefined, networkThread: undefined, imagesInFlight: undefined, onStageTimes: undefined,
};
const ESTIMATION_UNSET: Unset<EstimationOptions> = { signal: undefined };
const OVERLAY_UNSET: Unset<OverlayOptions> = {
  minScore: undefined, lineWidth: undefined, radius: undefined, label: undefined, box: undefined, colorBy: undefined, palette: undefined,
};
const RENDER_UNSET: Unset<RenderOptions> = { ...OVERLAY_UNSET, codec: undefined };
const TRACKER_UNSET: Unset<Omit<TrackerOptions, 'keypoints'>> = {
  oksThreshold: undefined, iouThreshold: undefined, maxMissed: undefined, minKeypointScore: undefined, firstId: undefined,
};
const SMOOTHER_UNSET: Unset<PoseSmootherOptions> = { minCutoff: undefined, beta: undefined, dCutoff: undefined, forgetAfter: undefined, checkTimeUnit: undefined };
const VIDEO_UNSET: Unset<ProcessVideoOptions> = {
  signal: undefined, endSignal: undefined, track: undefined, smooth: undefined, keypoints: undefined, render: undefined, renderOptions: undefined,
  queueSize: undefined, realtime: undefined, onStart: undefined, onWarning: undefined, every: undefined, fps: undefined, start: undefined, duration: undefined,
  maxFrames: undefined, probeBytes: undefined, stallTimeout: undefined, ffmpegPath: undefined, ffprobePath: undefined, inputFormat: undefined, inputOptions: undefined,
};
const READ_UNSET: Unset<ReadImageOptions> = { exifOrientation: undefined, maxPixels: undefined, name: undefined };

describe('options given as undefined, as left out', function () {
  this.timeout(120_000);
  const given = { preset: 'tiny_coco', weights: TINY_COCO_CHECKPOINT(), inputSize: 256 } as const;
  let plain: HigherHRNetEstimator;
  let unset: HigherHRNetEstimator;
  let dir: string;
  before(async () => {
    plain = await createEstimator(given);
    unset = await createEstimator({ ...ESTIMATOR_UNSET, ...given });
    dir = mkdtempSync(join(tmpdir(), 'higher-pose-unset-'));
  });
  after(async () => {
    await plain?.dispose();
    await unset?.dispose();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('createEstimator and estimatePoses find the same people', async () => {
    const people = await plain.estimatePoses(DEMO_IMAGE());
    expect(people.length).to.be.greaterThan(0);
    expect(await unset.estimatePoses(DEMO_IMAGE(), ESTIMATION_UNSET)).to.deep.equal(people);
    expect(unset.imagesInFlight).to.equal(plain.imagesInFlight);
    expect(unset.config).to.deep.equal(plain.config);
  });

  it('readImage, drawPoses, PoseTracker and PoseSmoother give what they give without the options', async () => {
    const image = await readImage(DEMO_IMAGE());
    expect(await readImage(DEMO_IMAGE(), READ_UNSET)).to.deep.equal(image);
    const people = await plain.estimatePoses(image);
    expect(drawPoses(image, people, plain.keypoints, OVERLAY_UNSET)).to.deep.equal(drawPoses(image, people, plain.keypoints));
    const tracked = new PoseTracker({ keypoints: plain.keypoints }).update(people);
    expect(new PoseTracker({ ...TRACKER_UNSET, keypoints: plain.keypoints }).update(people)).to.deep.equal(tracked);
    // Two frames, the people moved in the second: smoothed by the default filter settings.
    const moved = tracked.map((p) => ({ ...p, keypoints: p.keypoints.map((k) => ({ ...k, x: k.x + 3 })) }));
    const smoothTwoFrames = (smoother: PoseSmoother) => [smoother.apply(tracked, 0), smoother.apply(moved, 0.1)];
    expect(smoothTwoFrames(new PoseSmoother(SMOOTHER_UNSET))).to.deep.equal(smoothTwoFrames(new PoseSmoother()));
  });

  it('processVideo gives the same frames, tracked and smoothed alike with settings all undefined', async function () {
    if (spawnSync('ffmpeg', ['-version']).status !== 0) {
      console.log('    skipped: ffmpeg is not installed (apt-get install ffmpeg)');
      this.skip();
    }
    const clip = join(dir, 'still.mp4');
    const made = spawnSync('ffmpeg', ['-v', 'error', '-loop', '1', '-i', DEMO_IMAGE(), '-frames:v', '2', '-r', '5', '-c:v', 'libx264rgb', '-qp', '0', '-pix_fmt', 'rgb24', clip]);
    expect(made.status, made.stderr.toString()).to.equal(0);
    const frames = async (estimator: HigherHRNetEstimator, options: ProcessVideoOptions) => {
      const results = [];
      for await (const { frame, time, people } of estimator.processVideo(clip, options)) results.push({ frame, time, people });
      return results;
    };
    const untracked = await frames(plain, {});
    expect(untracked).to.have.length(2);
    expect(await frames(unset, VIDEO_UNSET)).to.deep.equal(untracked);
    // Render options are checked before the video is read, drawn or not (the drawing: drawPoses above).
    const tracked = await frames(plain, { track: true, smooth: true });
    expect(await frames(unset, { ...VIDEO_UNSET, track: TRACKER_UNSET, smooth: SMOOTHER_UNSET, renderOptions: RENDER_UNSET })).to.deep.equal(tracked);
  });
});
