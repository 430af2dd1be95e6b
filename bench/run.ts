/**
 * `npm run bench`: speed of the pipeline on this machine with deterministic random full-size
 * weights (speed does not depend on weight values). Prints a table, then one JSON line with
 * every figure (`--json`: only that line). See README, "Speed".
 *
 * Times are min / median over `--repeat` runs (at least `POSTPROCESS_RUNS` for the
 * post-processing alone, `END_TO_END_RUNS` for `estimatePoses` and the network beside it)
 * after `--warmup` runs (at least `WORKER_WARMUP` where the post-processing worker runs).
 * Ratios use the minima: on a shared machine the minimum is the run with the least interference.
 *
 * The int8 figures (`low_precision_*`) come from a model calibrated on a few other photos of
 * the COCO slice and compared with float32 on the timed photo (README, Reduced precision).
 */
import { spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { NdArray } from 'ndarray';
import * as ort from 'onnxruntime-node';
import { presetConfig } from '../src/config/presets.js';
import type { TestSettings } from '../src/config/experiment.js';
import { keypointDefinition, type KeypointDefinition } from '../src/datasets.js';
import { buildNetworkGraph } from '../src/higher/network.js';
import { randomWeights, type Weights } from '../src/model/weights.js';
import { compileModel } from '../src/model/load.js';
import { readImage } from '../src/io/image.js';
import { testScaleInputs, toFlipPairInput, toNetworkInput } from '../src/preprocess/index.js';
import { aggregateOnDemand } from '../src/aggregate/aggregate.js';
import { groupMaps } from '../src/grouping/parse.js';
import { Workspace } from '../src/workspace.js';
import { ParallelPostprocessing } from '../src/parallel/postprocess.js';
import { createEstimator, type EstimatorOptions, type StageTimes } from '../src/estimator.js';
import { FLIP_PAIRS_TO_CHOOSE } from '../src/flip-pair.js';
import { decodePoses, type ScaleOutputs } from '../src/decode.js';
import { quantizeForImages } from '../src/model/quantize.js';
import { releaseNow, sessionConfig } from '../src/backend/onnx/session.js';
import { physicalCores } from '../src/backend/onnx/cpu.js';
import { heatmapError, keypointAgreement } from './fidelity.js';
import { peakRssKb } from './peak-rss.js';
import { onnxBareNetwork, onnxBareTwin, tfjsBareNetwork } from './bare.js';
import { plantedOutputs } from './planted.js';
import { drawPoses } from '../src/render/overlay.js';
import { PoseTracker } from '../src/tracking/tracker.js';
import { errorLine } from '../src/values.js';
import { figuresLine } from './figures.js';
import { calibrationPhotos, COCO_SLICE, photo640x480, syntheticImage } from './photos.js';
import { benchOptions, END_TO_END_RUNS, POSTPROCESS_RUNS, type BenchOptions } from './options.js';

interface Timing {
  min: number;
  median: number;
}

/**
 * Warm-up runs of what runs on the post-processing worker: its JavaScript is compiled by V8 as
 * it runs, so the first few images run slower code than the calling thread, whose code the
 * one-thread timings have warmed. The figures are those of the steady state (a video, a
 * service), as for the calling thread.
 */
const WORKER_WARMUP = 5;

/** `opts` for timing the post-processing alone: `POSTPROCESS_RUNS` runs at least, after `warmup` ones. */
const postprocessRuns = (opts: BenchOptions, warmup = opts.warmup): BenchOptions => ({ ...opts, warmup, repeat: Math.max(opts.repeat, POSTPROCESS_RUNS) });

const log = (opts: BenchOptions, line: string): void => {
  if (!opts.json) console.log(line);
};

/** What the figures are not what they seem without: on stderr, so that `--json` keeps stdout to the JSON line. */
const warn = (note: string | undefined): void => {
  if (note !== undefined) console.error(`higher-pose bench: ${note}`);
};

/**
 * Frees the output tensors of a bare session run at once, after its clock has stopped, as
 * `OnnxNetwork.run` frees the copies onnxruntime-node returns: left to the garbage collector,
 * their ~18 MB per run (W32, flip pair) made V8 collect inside the next measurement, often an
 * `estimatePoses` that alternates with the bare run.
 */
function discard(result: unknown): void {
  if (!Array.isArray(result)) return;
  for (const value of result) {
    if (isOutput(value)) releaseNow(value.data.buffer);
    else discard(value);
  }
}

const isOutput = (value: unknown): value is NdArray<Float32Array> => (value as NdArray | undefined)?.data instanceof Float32Array;

async function time(opts: BenchOptions, run: () => Promise<unknown> | unknown): Promise<Timing> {
  for (let i = 0; i < opts.warmup; i++) discard(await run());
  const times: number[] = [];
  for (let i = 0; i < opts.repeat; i++) {
    const start = performance.now();
    const result = await run();
    times.push(performance.now() - start);
    discard(result);
  }
  return summary(times);
}

/** `time` for several runs taking turns, run after run. */
async function timeAlternately(opts: BenchOptions, runs: (() => Promise<unknown>)[]): Promise<Timing[]> {
  const times: number[][] = runs.map(() => []);
  for (let i = 0; i < opts.warmup + opts.repeat; i++) {
    for (const [r, run] of runs.entries()) {
      const start = performance.now();
      const result = await run();
      if (i >= opts.warmup) times[r].push(performance.now() - start);
      discard(result);
    }
  }
  return times.map(summary);
}

function summary(times: number[]): Timing {
  const sorted = [...times].sort((a, b) => a - b);
  return { min: round(sorted[0]), median: round(sorted[Math.floor(sorted.length / 2)]) };
}

const round = (v: number, digits = 1): number => Number(v.toFixed(digits));

/** A timing on the JSON line: the minimum under `key` (what the ratios use), the median under `key_median`. */
function setTiming(figures: Record<string, unknown>, key: string, timing: Timing): void {
  figures[key] = timing.min;
  figures[`${key}_median`] = timing.median;
}
const show = (t: Timing): string => `${t.min.toFixed(0).padStart(6)} ms min ${t.median.toFixed(0).padStart(6)} ms median`;

/** Peak RSS of a fresh process that builds the estimator and runs one flip-test estimate on `image`. */
function peakRssMb(opts: BenchOptions, image: string): number {
  const args = ['--import', 'tsx', fileURLToPath(import.meta.url), '--preset', opts.preset, '--measure-rss', image];
  if (opts.threads !== undefined) args.push('--threads', String(opts.threads));
  args.push('--device', opts.device, '--backend', opts.backend);
  if (opts.tfjsBackend !== undefined) args.push('--tfjs-backend', opts.tfjsBackend);
  const child = spawnSync(process.execPath, args, { encoding: 'utf8' });
  if (child.status !== 0) throw new Error(`RSS measurement failed: ${child.stderr}`);
  return Number(child.stdout.trim().split('\n').pop());
}

function estimatorOptions(opts: BenchOptions, weights: Weights): EstimatorOptions {
  return { preset: opts.preset, weights, flipTest: true, threads: opts.threads, device: opts.device, backend: opts.backend, tfjsBackend: opts.tfjsBackend };
}

async function measureRss(opts: BenchOptions, image: string): Promise<void> {
  const config = presetConfig(opts.preset);
  const estimator = await createEstimator(estimatorOptions(opts, randomWeights(buildNetworkGraph(config.model))));
  await estimator.estimatePoses(image === 'generated' ? syntheticImage(640, 480) : image);
  await estimator.dispose();
  console.log(round(peakRssKb() / 1024));
}

/**
 * The post-processing on this thread, its two phases timed apart: aggregation to the network's
 * resolution, then grouping, which computes the full-resolution maps on demand. One workspace
 * is reused run after run, as the estimator does.
 */
function timePhases(given: BenchOptions, perScale: ScaleOutputs[], settings: TestSettings, keypoints: KeypointDefinition, baseSize: [number, number]) {
  const opts = postprocessRuns(given);
  const workspace = new Workspace();
  const [aggregationTimes, groupingTimes]: number[][] = [[], []];
  let people = 0;
  let computed = 0;
  for (let i = 0; i < opts.warmup + opts.repeat; i++) {
    const start = performance.now();
    const maps = aggregateOnDemand(perScale, settings, keypoints, baseSize, workspace);
    const aggregated = performance.now();
    people = groupMaps(maps, settings).grouped.length;
    if (i < opts.warmup) continue;
    aggregationTimes.push(aggregated - start);
    groupingTimes.push(performance.now() - aggregated);
    computed = maps.tilesComputed / (maps.numJoints * maps.tileCount);
  }
  return { aggregation: summary(aggregationTimes), grouping: summary(groupingTimes), people, computed };
}

/**
 * The post-processing as the estimator runs it: on this thread and `parallel`'s worker when
 * there are two CPUs or more (`EstimatorOptions.parallelPostprocessing`), else on this one,
 * where it is the sum of the `phases` timed already.
 */
async function timePostprocessing(
  opts: BenchOptions,
  phases: { aggregation: Timing; grouping: Timing },
  perScale: ScaleOutputs[],
  settings: TestSettings,
  keypoints: KeypointDefinition,
  baseSize: [number, number],
  parallel?: ParallelPostprocessing,
): Promise<Timing> {
  const { aggregation, grouping } = phases;
  if (!parallel) return { min: round(aggregation.min + grouping.min), median: round(aggregation.median + grouping.median) };
  const workspace = new Workspace({ shared: true });
  return time(postprocessRuns(opts, Math.max(opts.warmup, WORKER_WARMUP)), () => parallel.decode(perScale, settings, keypoints, baseSize, workspace));
}

async function main(): Promise<void> {
  const opts = benchOptions(process.argv);
  if (opts.measureRss) return measureRss(opts, opts.measureRss);

  const config = presetConfig(opts.preset);
  const settings = { ...config.test, flipTest: true };
  const keypoints = keypointDefinition(config.dataset.kind);
  const weights = randomWeights(buildNetworkGraph(config.model));
  const model = compileModel(config, weights);
  // The estimator's session configuration: the bare network is the one estimatePoses runs.
  const sessionOptions = {
    executionProviders: [opts.device],
    graphOptimizationLevel: 'all',
    ...sessionConfig(),
    intraOpNumThreads: opts.threads ?? physicalCores(),
  } satisfies ort.InferenceSession.SessionOptions;
  const bare = opts.backend === 'tfjs'
    ? await tfjsBareNetwork(config, weights, { device: opts.device, tfjsBackend: opts.tfjsBackend })
    : await onnxBareNetwork(model, sessionOptions);
  // The flip pair's two passes at once on two sessions, as the estimator runs them by default here (concurrentFlip).
  const twin = opts.backend === 'onnxruntime' && opts.device === 'cpu' && sessionOptions.intraOpNumThreads >= 2
    ? await onnxBareTwin(model, sessionOptions)
    : undefined;
  const { source, image: photo, note: photoNote } = await photo640x480(COCO_SLICE);
  warn(photoNote);
  log(opts, `higher-pose bench: ${opts.preset}, random weights, device ${opts.device}, ${opts.repeat} runs (post-processing alone ${Math.max(opts.repeat, POSTPROCESS_RUNS)}, end to end ${Math.max(opts.repeat, END_TO_END_RUNS)}) after ${opts.warmup} warm-up (${Math.max(opts.warmup, WORKER_WARMUP)} with the post-processing worker), node ${process.version}, ${bare.description}`);
  log(opts, `photo: ${source}`);

  const figures: Record<string, number | string | boolean> = { preset: opts.preset, device: opts.device, backend: opts.backend, runtime: bare.description, photo: source };
  if (bare.threads !== undefined) figures.network_threads = bare.threads;
  const inputs = [
    { name: '512x512', rgb: syntheticImage(512, 512) },
    { name: '640x480', rgb: await readImage(photo, { exifOrientation: false }) },
  ].map((input) => ({ ...input, prepared: testScaleInputs(input.rgb, config.test.inputSize, [1]) }));
  for (const { name, prepared } of inputs) {
    const [scaled] = prepared.inputs;
    const { width: w, height: h } = scaled;
    const plain = toNetworkInput(scaled.resized);
    const mirrored = toNetworkInput(scaled.resized, true);
    const batched = toFlipPairInput(scaled.resized);
    const one = [1, 3, h, w] as const;
    const single = await time(opts, () => bare.run(plain, one));
    // The ways of running the flip pair alternate, so that the machine's drift favours none.
    const [separate, batch, atOnce] = await timeAlternately(opts, [
      async () => {
        discard(await bare.run(plain, one));
        return bare.run(mirrored, one);
      },
      () => bare.run(batched, [2, 3, h, w]),
      ...(twin ? [() => twin.runAtOnce(plain, mirrored, one)] : []),
    ]);
    const key = `${name.replace('x', '_')}`;
    log(opts, `${name} (network input ${w}x${h})`);
    log(opts, `  network, one forward            ${show(single)}`);
    log(opts, `  network, flip pair as 2 runs    ${show(separate)}`);
    log(opts, `  network, flip pair as 1 batch   ${show(batch)}`);
    setTiming(figures, `network_single_ms_${key}`, single);
    setTiming(figures, `network_flip_separate_ms_${key}`, separate);
    setTiming(figures, `network_flip_batched_ms_${key}`, batch);
    figures[`flip_batch_speedup_${key}`] = round(separate.min / batch.min, 3);
    if (twin && atOnce) {
      log(opts, `  network, flip pair at once      ${show(atOnce)}   (two sessions of ${twin.threads} thread${twin.threads > 1 ? 's' : ''})`);
      setTiming(figures, `network_flip_concurrent_ms_${key}`, atOnce);
      figures[`flip_concurrent_speedup_${key}`] = round(Math.min(separate.min, batch.min) / atOnce.min, 3);
    }
  }

  // Post-processing and end to end on the photo.
  const { prepared } = inputs[1];
  const [scaled] = prepared.inputs;
  const { width: w, height: h } = scaled;
  const asNd = (flip: boolean, on = bare) => on.run(toNetworkInput(scaled.resized, flip), [1, 3, h, w]);
  const perScale: ScaleOutputs[] = [{ scale: 1, outputs: await asNd(false), flipped: await asNd(true) }];
  const parallel = availableParallelism() > 1 ? new ParallelPostprocessing() : undefined;
  const threads = parallel ? 1 + parallel.workerCount : 1;
  const phases = timePhases(opts, perScale, settings, keypoints, prepared.baseSize);
  const { aggregation, grouping, people, computed } = phases;
  const post = await timePostprocessing(opts, phases, perScale, settings, keypoints, prepared.baseSize, parallel);
  // Beside more than two threads, two, as the 2-core machines run it.
  const pairOfThreads = parallel && parallel.workerCount > 1 ? new ParallelPostprocessing(undefined, 1) : undefined;
  const postOnTwo = pairOfThreads && (await timePostprocessing(opts, phases, perScale, settings, keypoints, prepared.baseSize, pairOfThreads));
  await pairOfThreads?.dispose();
  const plantedScale: ScaleOutputs[] = [{ scale: 1, ...plantedOutputs(w, h, keypoints.names.length, keypoints.flipIndex) }];
  const plantedPhases = timePhases(opts, plantedScale, settings, keypoints, prepared.baseSize);
  const planted = await timePostprocessing(opts, plantedPhases, plantedScale, settings, keypoints, prepared.baseSize, parallel);
  await parallel?.dispose();

  // Each estimate's stages, to tell where the end-to-end time beyond the network goes.
  const stageTimes: StageTimes[] = [];
  const estimator = await createEstimator({ ...estimatorOptions(opts, weights), onStageTimes: (times) => stageTimes.push(times) });
  // The estimator times the flip pair both ways first, then keeps the faster (EstimatorOptions.flipBatch);
  // these estimates are the first of its warm-up.
  for (let i = 0; i < FLIP_PAIRS_TO_CHOOSE; i++) discard(await estimator.estimatePoses(photo));
  const flipBatch = estimator.flipPairBatched(w, h);
  if (flipBatch === undefined) throw new Error(`the estimator had not chosen how to run the flip pair after ${FLIP_PAIRS_TO_CHOOSE} estimates`);
  const { concurrentFlip } = estimator;
  if (concurrentFlip && !twin) throw new Error('the estimator runs the flip pair at once on two sessions, which the bench did not time');
  const estimatorWay = concurrentFlip ? 'concurrent' : flipBatch ? 'batched' : 'separate';
  const bareFlipMs = Number(figures[`network_flip_${estimatorWay}_ms_640_480`]);
  // End to end, alternating with the bare network on the same input, so that the machine's
  // drift between the two measurements does not enter overhead_ratio.
  const pair = toFlipPairInput(scaled.resized);
  const half = pair.length / 2;
  const [plainHalf, mirroredHalf] = [pair.subarray(0, half), pair.subarray(half)];
  const one = [1, 3, h, w] as const;
  // The bare flip pair as the estimator runs it: at once on two sessions, one batch, or two runs on the halves.
  const bareFlipPair = concurrentFlip
    ? () => twin!.runAtOnce(plainHalf, mirroredHalf, one)
    : flipBatch
      ? () => bare.run(pair, [2, 3, h, w])
      : async () => {
        discard(await bare.run(plainHalf, one));
        return bare.run(mirroredHalf, one);
      };
  const endToEndRuns = Math.max(opts.repeat, END_TO_END_RUNS);
  const [endToEnd, bareAlongside] = await timeAlternately({ ...opts, warmup: Math.max(opts.warmup, WORKER_WARMUP), repeat: endToEndRuns }, [
    () => estimator.estimatePoses(photo),
    bareFlipPair,
  ]);
  const timedStages = stageTimes.slice(-endToEndRuns);
  const stage = (name: keyof StageTimes): Timing => summary(timedStages.map((times) => times[name]));
  const stages = { read: stage('read'), preprocess: stage('preprocess'), network: stage('network'), postprocess: stage('postprocess') };
  const images = Array.from({ length: opts.batch }, () => photo);
  const many = await time(opts, () => estimator.estimatePoses(images));
  // With several images in flight (off the CPU), one at a time too.
  const oneAtATime = estimator.imagesInFlight > 1
    ? await time(opts, async () => {
      for (const image of images) await estimator.estimatePoses(image);
    })
    : undefined;
  // The video overlay of one frame: the photo's people drawn over it (every one of them, hundreds with random weights).
  const found = await estimator.estimatePoses(photo);
  const drawing = await time(postprocessRuns(opts), () => drawPoses(inputs[1].rgb, found, keypoints));
  // Video tracking of those people: each update is the next frame, the same people in it.
  const tracker = new PoseTracker({ keypoints });
  tracker.update(found);
  const tracking = await time(postprocessRuns(opts), () => tracker.update(found));
  await estimator.dispose();
  await twin?.release();
  await bare.release();

  log(opts, `640x480 post-processing (${people} people grouped, ${(100 * computed).toFixed(0)}% of the full-resolution maps computed)`);
  log(opts, `  aggregation (network resolution, one thread) ${show(aggregation)}`);
  log(opts, `  grouping (+ full-res on demand, one thread)  ${show(grouping)}`);
  log(opts, `  both, on ${threads} thread${threads > 1 ? 's' : ''} as estimatePoses runs them ${show(post)}`);
  if (postOnTwo) log(opts, `  both, on 2 threads                             ${show(postOnTwo)}`);
  log(opts, `  estimatePoses, end to end       ${show(endToEnd)}`);
  log(opts, `    reading the photo             ${show(stages.read)}`);
  log(opts, `    resizing and normalising it   ${show(stages.preprocess)}`);
  log(opts, `    network                       ${show(stages.network)}`);
  log(opts, `    post-processing and people    ${show(stages.postprocess)}`);
  log(opts, `  network, flip pair, alongside   ${show(bareAlongside)}`);
  log(opts, `  ${opts.batch} images, ${estimator.imagesInFlight} in flight           ${(opts.batch / (many.min / 1000)).toFixed(3)} images/s`);
  if (oneAtATime) log(opts, `  ${opts.batch} images, one at a time          ${(opts.batch / (oneAtATime.min / 1000)).toFixed(3)} images/s`);
  log(opts, `  ${`overlay of its ${found.length} people`.padEnd(32)}${show(drawing)}`);
  log(opts, `  ${`tracking of its ${found.length} people`.padEnd(32)}${show(tracking)}`);
  setTiming(figures, 'overlay_draw_ms', drawing);
  setTiming(figures, 'tracking_ms', tracking);
  setTiming(figures, 'aggregation_ms', aggregation);
  setTiming(figures, 'grouping_ms', grouping);
  setTiming(figures, 'postprocess_ms', post);
  figures.postprocess_threads = threads;
  if (postOnTwo) setTiming(figures, 'postprocess_ms_2_threads', postOnTwo);
  figures.people_grouped = people;
  figures.full_resolution_fraction = round(computed, 3);
  setTiming(figures, 'estimate_poses_ms', endToEnd);
  for (const [name, timing] of Object.entries(stages)) setTiming(figures, `estimate_poses_${name}_ms`, timing);
  figures.images_per_s = round(opts.batch / (many.min / 1000), 3);
  figures.images_per_s_median = round(opts.batch / (many.median / 1000), 3);
  figures.images_in_flight = estimator.imagesInFlight;
  if (oneAtATime) figures.images_per_s_one_at_a_time = round(opts.batch / (oneAtATime.min / 1000), 3);
  figures.flip_batch_speedup = figures.flip_batch_speedup_640_480;
  figures.estimator_flip_batch = flipBatch;
  figures.estimator_concurrent_flip = concurrentFlip;
  if (figures.flip_concurrent_speedup_640_480 !== undefined) figures.flip_concurrent_speedup = figures.flip_concurrent_speedup_640_480;
  figures.postprocess_ratio = round(post.min / bareFlipMs, 3);
  log(opts, `640x480 post-processing of planted outputs shaped like a trained network's (${plantedPhases.people} people grouped, ${(100 * plantedPhases.computed).toFixed(0)}% of the full-resolution maps computed)`);
  log(opts, `  aggregation (network resolution, one thread) ${show(plantedPhases.aggregation)}`);
  log(opts, `  grouping (+ full-res on demand, one thread)  ${show(plantedPhases.grouping)}`);
  log(opts, `  both, on ${threads} thread${threads > 1 ? 's' : ''} as estimatePoses runs them ${show(planted)}`);
  figures.planted_people_grouped = plantedPhases.people;
  figures.planted_full_resolution_fraction = round(plantedPhases.computed, 3);
  setTiming(figures, 'planted_postprocess_ms', planted);
  figures.planted_postprocess_ratio = round(planted.min / bareFlipMs, 3);
  setTiming(figures, 'network_flip_ms_alongside', bareAlongside);
  figures.overhead_ratio = round(endToEnd.min / bareAlongside.min, 3);
  figures.peak_rss_mb = peakRssMb(opts, typeof photo === 'string' ? photo : 'generated');
  log(opts, `  peak RSS (${opts.preset} flip test, fresh process) ${figures.peak_rss_mb} MB`);

  if (opts.device !== 'cpu' || opts.backend !== 'onnxruntime') {
    console.log(figuresLine(figures));
    return;
  }
  // int8: timed like the float32 flip pair, compared with it on the same photo.
  const { images: calibration, note: calibrationNote } = calibrationPhotos(COCO_SLICE, photo, 4);
  warn(calibrationNote);
  const int8Model = await quantizeForImages(model, { images: calibration, settings, exifOrientation: false, threads: opts.threads });
  const int8 = await onnxBareNetwork(int8Model, sessionOptions);
  const int8Batch = await time(opts, () => int8.run(pair, [2, 3, h, w]));
  const int8PerScale: ScaleOutputs[] = [{ scale: 1, outputs: await asNd(false, int8), flipped: await asNd(true, int8) }];
  await int8.release();
  const geometry = { baseSize: prepared.baseSize, center: scaled.center, scale: scaled.scaleWH };
  const reference = decodePoses(perScale, geometry, settings, keypoints);
  const reduced = decodePoses(int8PerScale, geometry, settings, keypoints);
  figures.low_precision_calibration_images = calibration.length;
  setTiming(figures, 'low_precision_network_flip_batched_ms_640_480', int8Batch);
  figures.low_precision_speedup = round(Number(figures.network_flip_batched_ms_640_480) / int8Batch.min, 3);
  figures.low_precision_heatmap_error = Number(heatmapError(reference.heatmaps.data, reduced.heatmaps.data).toExponential(3));
  figures.low_precision_keypoint_agreement = round(keypointAgreement(reference.people, reduced.people), 4);
  log(opts, `640x480 int8 (calibrated on ${calibration.length} image${calibration.length === 1 ? '' : 's'})`);
  log(opts, `  network, flip pair as 1 batch   ${show(int8Batch)}   speedup ${figures.low_precision_speedup}x`);
  log(opts, `  heatmap error ${figures.low_precision_heatmap_error}, keypoints within 1 px of fp32 ${figures.low_precision_keypoint_agreement} (${reference.people.length} / ${reduced.people.length} people)`);
  console.log(figuresLine(figures));
}

try {
  await main();
} catch (error) {
  // One line, as the CLI reports its errors; exit at once, as the post-processing workers of a run cut short would keep the process alive.
  console.error(`higher-pose bench: ${error instanceof Error ? `${error.name}: ` : ''}${errorLine(error)}`);
  process.exit(1);
}
