/**
 * The public entry point: `createEstimator(options)` → `estimatePoses(image)`.
 * Data flows one way: image → preprocess (reference resize) → network → aggregate → group →
 * people in image pixels.
 */
import ndarray from 'ndarray';
import { availableParallelism } from 'node:os';
import type { Readable } from 'node:stream';
import { ConfigError, configArgument, optionsError, valueFault, type ExperimentConfig, type ReadonlyExperimentConfig, type TestSettings } from './config/experiment.js';
import { apiOptionName, type OptionNamer, type OptionWords } from './config/option-names.js';
import { testSettingsProblem } from './config/test-settings.js';
import { keypointDefinition, type KeypointDefinition } from './datasets.js';
import { isDetached, isTensorLike, naming, pixelsToRgb, readImage, shownPath, tensorPixels } from './io/image.js';
import { fewestHeatmapPositions, inputSizeProblem, testScaleInputs, toFlipPairInput, toNetworkInput, type ScaledInput } from './preprocess/index.js';
import { Workspace } from './workspace.js';
import { concurrentFlipFits, FlipPairChooser, flipBatchFits, type FlipPairRun } from './flip-pair.js';
import { CallbackError } from './callback-error.js';
import { frozen, isFlag, isPositiveInt, optionsProblem, shownValue } from './values.js';
import { isAbortSignalLike, nodeSignal, shownAsSignal } from './abort-signal.js';
import { decodePoses, decodePosesInParallel, type DecodeResult, type PoseSelection, type ScaleOutputs } from './decode.js';
import { selectionProblem } from './grouping/parse.js';
import { ParallelPostprocessing } from './parallel/postprocess.js';
import { inOrder, isImagesInFlight, IMAGES_IN_FLIGHT_RANGE, valueOf } from './parallel/in-order.js';
import { CallsInFlight } from './parallel/in-flight.js';
import { Slots } from './parallel/slots.js';
import { assertWeightsArgument, checkedNetworkOptions, createNetwork, resolveConfig, type BackendName, type ConfigChoice, type WeightsSource } from './model/load.js';
import type { TfjsBackendName } from './backend/tfjs/backend-name.js';
import type { Precision } from './model/quantize.js';
import type { Network } from './backend/network.js';
import { BackendError, type ExecutionProvider } from './backend/onnx/session.js';
import { physicalCores } from './backend/onnx/cpu.js';
import { processVideo, type ProcessVideoOptions, type VideoRun } from './video/process.js';
import type { EstimationOptions, ImageDataLike, ImageInput, OutputTensor, Person, PoseEstimator, TensorLike } from './types.js';

export interface EstimatorOptions extends ConfigChoice {
  /**
   * A model-zoo checkpoint (`.pth`, any of the published wrappings), an ONNX export of the
   * network (`.onnx`), either's bytes (a Uint8Array, told apart by content), or weights already in memory.
   */
  weights: WeightsSource;
  /**
   * Inference engine: `'onnxruntime'` (default), `'tfjs'` (TensorFlow.js: tfjs-node-gpu,
   * tfjs-node, or @tensorflow/tfjs with wasm/cpu, whichever is installed), or `'auto'`.
   */
  backend?: BackendName | undefined;
  /** With the tfjs backend, use only this tfjs backend (`'tensorflow'`, from tfjs-node-gpu, on device `'cuda'`). */
  tfjsBackend?: TfjsBackendName | undefined;
  /**
   * `'cpu'` (default); `'webgpu'`: a GPU through ONNX Runtime's WebGPU provider, shipped with
   * the npm package (Vulkan on Linux); `'cuda'`: needs the CUDA build of onnxruntime-node.
   */
  device?: ExecutionProvider | undefined;
  /** ONNX Runtime threads per operator (default: the physical cores); refused with backend `'tfjs'`. */
  threads?: number | undefined;
  /**
   * `'fp32'` (default) or `'int8'`: 8-bit weights and activations, 2.3–3x faster on CPUs
   * with VNNI, ranges calibrated on `calibrationImages` (ONNX Runtime only; see README,
   * Reduced precision). An `.onnx` model already quantized (`export-onnx --precision int8`)
   * runs as it is.
   */
  precision?: Precision | undefined;
  /**
   * With `precision: 'int8'`: a few images like those the model will see, prepared as inputs
   * are (this estimator's input size, scales and flip test) to calibrate the activation ranges.
   * Refused with an `.onnx` model already quantized (calibrated when exported).
   */
  calibrationImages?: readonly ImageInput[] | undefined;
  /** Average with the mirrored image (the paper's test protocol). Default: the configuration's `TEST.FLIP_TEST`. */
  flipTest?: boolean | undefined;
  /**
   * With flip test on one session (not `concurrentFlip`), run the plain and the mirrored input
   * as one batch of two (`true`) or as two runs (`false`, half the activation memory): the same
   * outputs, at speeds a few percent apart, either way round depending on the machine (`npm run
   * bench` measures both; see README, Speed). Default: the faster, timed at each network input
   * size up to 1024x1024 pixels (its first eight pairs alternate between the two ways;
   * `flipPairBatched` tells the choice); two runs for larger ones (panoramas, scale 2), whose
   * activations take gigabytes.
   */
  flipBatch?: boolean | undefined;
  /**
   * With flip test on ONNX Runtime on the CPU, run the plain and the mirrored input at the same
   * time, each in a session of its own with half the `threads` (one of them in a worker thread):
   * the same outputs, the pair ~10% sooner on the 2-core machines than either way of `flipBatch`
   * (README, Speed), for ~350 MB more memory with W32 and both passes' activations at once (up to
   * 4 million input pixels; larger inputs run one pass after the other on half the threads).
   * Default: on the CPU with at least two threads, unless `flipBatch` is given.
   */
  concurrentFlip?: boolean | undefined;
  /** Test scales, e.g. `[2, 1, 0.5]`. Default: `TEST.SCALE_FACTOR` (`[1]`). */
  scales?: readonly number[] | undefined;
  /** Sub-pixel adjustment of joint positions. Default `TEST.ADJUST`. */
  adjust?: boolean | undefined;
  /** Fill in undetected joints from the person's mean tag. Default `TEST.REFINE`. */
  refine?: boolean | undefined;
  /** Minimum heatmap value for a joint candidate. Default `TEST.DETECTION_THRESHOLD` (0.1). */
  detectionThreshold?: number | undefined;
  /** Maximum tag distance for joining a joint to a person. Default `TEST.TAG_THRESHOLD` (1). */
  tagThreshold?: number | undefined;
  /**
   * Candidates per joint (the reference's top-k), `DATASET.MAX_NUM_PEOPLE`, default 30. Not a cap
   * on people: joints that join nobody start people of their own. At most the heatmap positions
   * of a square image at `inputSize` (about `inputSize`²; the error names the bound).
   */
  maxPeople?: number | undefined;
  /** Network input size (shorter side at scale 1, a multiple of 64). Default `DATASET.INPUT_SIZE`. */
  inputSize?: number | undefined;
  /**
   * Return at most this many people per image, the best by score. Default: every one, as the
   * reference (which ranks them later: COCO's evaluation keeps 20). The people left out are not
   * refined, which takes up to a third off the post-processing of crowded or noisy pictures;
   * those kept are the same as the first of an uncapped run.
   */
  maxPoses?: number | undefined;
  /** Return only people scoring at least this (their mean joint score before refine). Default: every one. */
  minPoseScore?: number | undefined;
  /** Apply the EXIF orientation tag (JPEG, PNG, WebP, TIFF; default true). The COCO benchmark turns it off, as the reference does. */
  exifOrientation?: boolean | undefined;
  /**
   * Refuse images (and video frames) of more pixels than this, an ImageError (`code: 'dimensions'`)
   * found from the header before decoding: a service's bound on what one upload may cost (a 750 kB
   * PNG can hold 16000x16000 pixels, ~2 GB to decode). Default 0x3FFF² (~268 million), sharp's own.
   */
  maxPixels?: number | undefined;
  /**
   * Post-process on one thread per CPU, up to four: worker threads combine the flipped pass's
   * outputs and take their share of the joints' top-k and refine searches (the same people;
   * see README, Speed). Default true when the machine has more than one CPU.
   */
  parallelPostprocessing?: boolean | undefined;
  /**
   * Run ONNX Runtime on a thread of its own, so that this thread prepares the next image and
   * post-processes the previous one while the network runs (see `imagesInFlight`). Default:
   * when `device` is not the CPU (on the CPU, the network's threads take every core already).
   */
  networkThread?: boolean | undefined;
  /**
   * Images of `estimatePoses([...])` and frames of `processVideo` (and images of the CLI's
   * `predict` and `eval`) in flight at once. Default 2 with `networkThread`, else 1 (README, GPU).
   * At most 64: each holds its own buffers (~110 MB at input 512 with flip test).
   */
  imagesInFlight?: number | undefined;
  /**
   * Called after each image `estimatePoses` (or `processVideo`) estimated, with the time it
   * spent in each stage: for a timing summary (the CLI's `eval` prints one) or monitoring.
   */
  onStageTimes?: ((times: StageTimes) => void) | undefined;
}

/** Milliseconds one image spent in each stage of the estimator, in order. */
export interface StageTimes {
  /** Reading and decoding the image (sharp), or reading a tensor's values. */
  read: number;
  /** Resizing to the test scales and normalising (the network inputs). */
  preprocess: number;
  /** The network, every scale and the flip test. */
  network: number;
  /** Aggregation and grouping. */
  postprocess: number;
}

/** A HigherHRNet pose estimator. */
export interface HigherHRNetEstimator extends PoseEstimator {
  /** Names, skeleton and flip order of the keypoints this model predicts. */
  readonly keypoints: KeypointDefinition;
  /** Images `estimatePoses([...])` and `processVideo` keep in flight (`EstimatorOptions.imagesInFlight`). */
  readonly imagesInFlight: number;
  /** Whether the flip test's two passes run at the same time on two sessions (`EstimatorOptions.concurrentFlip`). */
  readonly concurrentFlip: boolean;
  /** The most pixels of an image or video frame it takes (`EstimatorOptions.maxPixels`); undefined: sharp's default bound. */
  readonly maxPixels: number | undefined;
  /** The configuration in effect, test settings included (frozen: make another estimator to change it). */
  readonly config: ReadonlyExperimentConfig;
  /**
   * People in the image, best first; for an array, one such list per image, in its order
   * (`imagesInFlight` at a time), rejecting with the first image that fails. An image's bytes or
   * pixels are read (or copied) before the call returns, so one frame buffer may be refilled at
   * once, even with calls waiting their turn, and a tensor's read is started (it may be disposed
   * then); the images of an array are read as their turn comes: leave them be until the call settles.
   */
  estimatePoses(image: ImageInput, options?: EstimationOptions): Promise<Person[]>;
  estimatePoses(images: readonly ImageInput[], options?: EstimationOptions): Promise<Person[][]>;
  /** A value that may hold either (a helper forwarding its argument): the result is then either too. */
  estimatePoses(input: ImageInput | readonly ImageInput[], options?: EstimationOptions): Promise<Person[] | Person[][]>;
  /**
   * With flip test, whether the plain and mirrored inputs of a `width` x `height` network input
   * run as one batch (`EstimatorOptions.flipBatch`): undefined while the estimator is still
   * timing both ways at that size; false with `concurrentFlip` (two runs, at the same time).
   */
  flipPairBatched(width: number, height: number): boolean | undefined;
  /**
   * Poses for every (sampled) frame of a video file or stream, decoded by ffmpeg, with
   * optional tracking (stable `id`s), smoothing and an overlay video. Decoding stays a few
   * frames ahead of inference at most. Throws a `BackendError` once the estimator is disposed.
   */
  processVideo(input: string | Readable, options?: ProcessVideoOptions): VideoRun;
}

/** Refuses `value` of option `field` unless `condition`. */
function check(condition: boolean, field: string, allowed: string | OptionWords, value: unknown): void {
  if (condition) return;
  const fault = valueFault(field, allowed);
  throw new ConfigError(`Invalid ${field}: ${shownValue(value)}. Must be ${fault.allowed}`, { fault });
}

/** The options among `names` that the caller gave (the others are the configuration's). */
function givenOptions(options: Omit<EstimatorOptions, 'weights'>, names: readonly ('inputSize' | 'scales')[]): string[] {
  return names.filter((name) => options[name] !== undefined);
}

/** `given` named by `name`, as one phrase: `inputSize with scales`. */
const named = (given: readonly string[], name: OptionNamer): string => given.map((option) => name(option)).join(' with ');

/** Every option `createEstimator` reads, for refusing the others (a misspelt `maxPose` would be ignored without a word). */
const OPTION_NAMES: Record<keyof EstimatorOptions, true> = {
  preset: true, config: true, weights: true, backend: true, tfjsBackend: true, device: true, threads: true, precision: true,
  calibrationImages: true, flipTest: true, flipBatch: true, concurrentFlip: true, scales: true, adjust: true, refine: true, detectionThreshold: true,
  tagThreshold: true, maxPeople: true, inputSize: true, maxPoses: true, minPoseScore: true, exifOrientation: true, maxPixels: true,
  parallelPostprocessing: true, networkThread: true, imagesInFlight: true, onStageTimes: true,
};

/** Refuses options that are not an object, or that hold a name `createEstimator` (or `who`, taking its options) does not know. */
function checkOptionNames(options: Omit<EstimatorOptions, 'weights'>, who = 'createEstimator'): void {
  // Not "any of" the names: the weights, and a preset or config, are needed.
  if (typeof options !== 'object' || options === null) throw new ConfigError(`${who} needs options: { preset or config, weights, ... }`);
  const problem = optionsProblem(options, OPTION_NAMES);
  if (problem) throw new ConfigError(`${who}: ${problem}`);
}

/** Every option of an `estimatePoses` call. */
const ESTIMATION_OPTION_NAMES: Record<keyof EstimationOptions, true> = { signal: true };

/**
 * Refuses `estimatePoses` options that are not an object, hold a name it does not know (pose-detection's
 * `maxPoses` is an estimator option here) or a signal that is no AbortSignal; returns the call's signal as Node's.
 */
function checkEstimationOptions(options: EstimationOptions): AbortSignal | undefined {
  const problem = optionsProblem(options, ESTIMATION_OPTION_NAMES);
  if (problem) throw new ConfigError(`estimatePoses: ${problem} (the model's options are createEstimator's)`);
  const { signal } = options;
  if (signal === undefined) return undefined;
  if (!isAbortSignalLike(signal)) throw new ConfigError(`Invalid signal: ${shownAsSignal(signal)}. Must be an AbortSignal`, { fault: valueFault('signal', 'an AbortSignal') });
  return nodeSignal(signal);
}

/** Whether `error` is the reason `signal` was aborted with: passed on as it is, as fetch does, not named after the image. */
function isAbortReason(error: unknown, signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true && error === signal.reason;
}

/** An image as `estimateImage` reads it: a tensor's values are read before (`estimateOne`). */
type ImageNow = Exclude<ImageInput, TensorLike>;

/** Whether `input` is an array of images: `Array.isArray` leaves a read-only array in the other branch too. */
const isImageList = (input: ImageInput | readonly ImageInput[]): input is readonly ImageInput[] => Array.isArray(input);

/** The options that set each test setting, where the names differ. */
const OPTION_OF_SETTING: Partial<Record<keyof TestSettings, keyof EstimatorOptions>> = { scaleFactor: 'scales', maxNumPeople: 'maxPeople' };

/** A copy of an array (one that is no array is refused by the checks, not spread here). */
const arrayCopy = <T>(value: T): T => (Array.isArray(value) ? ([...value] as T) : value);

/**
 * The configuration's test settings with the caller's overrides applied and validated. Their
 * lists are copies: the caller's `scales` or configuration changed later leave them as checked.
 */
export function testSettings(given: ExperimentConfig, options: Omit<EstimatorOptions, 'weights'> = {}): TestSettings {
  // A checked copy: its lists are the settings' own.
  const config = configArgument(given, 'testSettings');
  if (typeof options !== 'object' || options === null) throw new ConfigError(`testSettings: options must be an object such as { flipTest, scales }, not ${shownValue(options)}`);
  checkOptionNames(options, 'testSettings');
  const base = config.test;
  const settings: TestSettings = {
    ...base,
    flipTest: options.flipTest ?? base.flipTest,
    scaleFactor: arrayCopy(options.scales as number[] | undefined) ?? base.scaleFactor,
    adjust: options.adjust ?? base.adjust,
    refine: options.refine ?? base.refine,
    detectionThreshold: options.detectionThreshold ?? base.detectionThreshold,
    tagThreshold: options.tagThreshold ?? base.tagThreshold,
    maxNumPeople: options.maxPeople ?? base.maxNumPeople,
    inputSize: options.inputSize ?? base.inputSize,
  };
  // The configuration's own settings were checked with it (configArgument): what breaks a rule is an option given.
  const problem = testSettingsProblem(settings);
  if (problem) check(false, OPTION_OF_SETTING[problem.field] ?? problem.field, problem.allowed, settings[problem.field]);
  // Every image would fail, one by one.
  const tooLarge = inputSizeProblem(settings.inputSize, settings.scaleFactor);
  if (tooLarge) {
    const given = givenOptions(options, ['inputSize', 'scales']);
    const message = `Invalid inputSize: ${settings.inputSize} with scales [${settings.scaleFactor.join(', ')}]: ${tooLarge}`;
    throw new ConfigError(message, given.length > 0 ? { fault: { options: given, explain: (name) => `${named(given, name)}: ${tooLarge}` } } : undefined);
  }
  const positions = fewestHeatmapPositions(settings.inputSize, settings.scaleFactor);
  // Top-k would fail on the smaller images, one by one.
  if (settings.maxNumPeople > positions) {
    const allowed = (name: OptionNamer) => `at most ${positions}, the heatmap positions of a square image at ${name('inputSize', String(settings.inputSize))} (candidates per joint, not a cap on people)`;
    const message = `Invalid maxPeople: ${settings.maxNumPeople}. Must be ${allowed(apiOptionName)}`;
    if (options.maxPeople !== undefined) throw new ConfigError(message, { fault: valueFault('maxPeople', allowed) });
    // Without maxPeople, the input size or scales given make the configuration's too many.
    const given = givenOptions(options, ['inputSize', 'scales']);
    const explain = (name: OptionNamer) => `${named(given, name)}: a square image then has ${positions} heatmap positions, fewer than the configuration's ${settings.maxNumPeople} candidates per joint; give ${name('maxPeople')} at most ${positions}`;
    throw new ConfigError(message, given.length > 0 ? { fault: { options: given, explain } } : undefined);
  }
  if (!config.model.withAeLoss.some((tags, i) => tags && settings.withAe[i])) {
    throw new ConfigError('No network output gives the tag maps that group joints into people: TEST.WITH_AE must select an output that LOSS.WITH_AE_LOSS gives tags to');
  }
  return settings;
}

/**
 * Pixels given as `{ data, width, height }` with their data copied; anything else as it is (refused
 * later, as it would be at once). The other properties stay: a mistake's error tells by them (sharp's `info`).
 * The fields are read by name too: a canvas's ImageData has them as getters of its class, which a spread leaves out.
 */
function withPixelsCopied(image: string | ImageDataLike): string | ImageDataLike {
  if (typeof image !== 'object' || image === null || !(image.data instanceof Uint8Array || image.data instanceof Uint8ClampedArray)) return image;
  const { width, height, channels } = image;
  return { ...image, width, height, channels, data: bytesCopy(image.data) };
}

/** A copy of `bytes`; transferred away (detached), they cannot be copied, and are left for the checks to refuse. */
const bytesCopy = <Bytes extends Uint8Array | Uint8ClampedArray>(bytes: Bytes): Bytes | Uint8Array => (isDetached(bytes) ? bytes : new Uint8Array(bytes));

/** Item `index` of a batched output `[N, C, H, W]`, as a `[1, C, H, W]` view. */
function batchItem(output: OutputTensor, index: number): OutputTensor {
  const [, c, h, w] = output.shape;
  const size = c * h * w;
  const start = output.offset + index * size;
  return ndarray(output.data.subarray(start, start + size), [1, c, h, w]);
}

/** Runs a flip pair of a `width` x `height` input one way or the other (`FlipPairChooser.run`, or a fixed way). */
type FlipPairRunner = <T>(width: number, height: number, runPair: FlipPairRun<T>) => Promise<T>;

/** Runs every flip pair the way `flipBatch` says; undefined: as one batch where it fits (`flipBatchFits`). */
const fixedFlipPairs = (flipBatch: boolean | undefined): FlipPairRunner => (width, height, runPair) => runPair(flipBatch ?? flipBatchFits(width, height));

/**
 * Runs one test scale: the plain input and, with flip test, the mirrored one (batched or in a
 * second run). Inputs and outputs are written into `workspace` buffers.
 */
async function runScale(network: Network, input: ScaledInput, flip: boolean, runFlipPair: FlipPairRunner, workspace: Workspace): Promise<ScaleOutputs> {
  const size = 3 * input.height * input.width;
  // Plain and mirrored input side by side: one batch, or two runs on the halves.
  // Not shared memory: ONNX Runtime refuses SharedArrayBuffer inputs.
  const batch = workspace.float32(`input${input.scale}`, flip ? 2 * size : size, false);
  const dims = [1, 3, input.height, input.width] as const;
  const into = (pass: string) => ({ workspace, key: `output${input.scale}:${pass}` });
  if (!flip) return { scale: input.scale, outputs: await network.run(toNetworkInput(input.resized, false, batch), dims, into('plain')) };
  toFlipPairInput(input.resized, batch);
  const [plain, mirrored] = [batch.subarray(0, size), batch.subarray(size)];
  if ((network.concurrentRuns ?? 1) > 1 && concurrentFlipFits(input.width, input.height)) {
    // Each pass on a session of its own, at the same time (concurrentFlip).
    const [outputs, flipped] = await Promise.all([network.run(plain, dims, into('plain')), network.run(mirrored, dims, into('flipped'))]);
    return { scale: input.scale, outputs, flipped };
  }
  return runFlipPair(input.width, input.height, async (batched) => {
    if (!batched) {
      const outputs = await network.run(plain, dims, into('plain'));
      return { scale: input.scale, outputs, flipped: await network.run(mirrored, dims, into('flipped')) };
    }
    const outputs = await network.run(batch, [2, 3, input.height, input.width], into('pair'));
    return { scale: input.scale, outputs: outputs.map((o) => batchItem(o, 0)), flipped: outputs.map((o) => batchItem(o, 1)) };
  });
}

/** How `inferAndDecode` runs the network. */
export interface InferenceOptions {
  /** Plain and mirrored input in one batch (see `EstimatorOptions.flipBatch`). Default: one batch up to 1024x1024 input pixels, two runs above. */
  flipBatch?: boolean;
  /**
   * Buffers to reuse from one image to the next (see `Workspace`): the result's `heatmaps` and
   * `tags` are then valid only until the workspace serves the next image.
   */
  workspace?: Workspace;
  /** Post-process on this thread and `postprocessing`'s worker (see `EstimatorOptions.parallelPostprocessing`). */
  postprocessing?: ParallelPostprocessing;
  /** The people to keep (see `EstimatorOptions.maxPoses`, `minPoseScore`); every one by default. */
  selection?: PoseSelection;
}

/**
 * Network and post-processing for prepared inputs (largest scale first). People come in the
 * reference's order; projected back with the last (smallest) scale's affine parameters.
 */
export async function inferAndDecode(
  network: Network,
  inputs: readonly ScaledInput[],
  baseSize: [number, number],
  settings: TestSettings,
  keypoints: KeypointDefinition,
  options: InferenceOptions = {},
): Promise<DecodeResult> {
  const workspace = options.workspace ?? new Workspace();
  const perScale = await runScales(network, inputs, settings.flipTest, fixedFlipPairs(options.flipBatch), workspace);
  return decodeScales(perScale, inputs, baseSize, settings, keypoints, workspace, options.postprocessing, options.selection);
}

/** The network on every prepared input (`inferAndDecode`'s first half). */
async function runScales(network: Network, inputs: readonly ScaledInput[], flip: boolean, runFlipPair: FlipPairRunner, workspace: Workspace): Promise<ScaleOutputs[]> {
  const perScale: ScaleOutputs[] = [];
  for (const input of inputs) perScale.push(await runScale(network, input, flip, runFlipPair, workspace));
  return perScale;
}

/** Aggregation and grouping of the network's outputs (`inferAndDecode`'s second half). */
async function decodeScales(
  perScale: ScaleOutputs[],
  inputs: readonly ScaledInput[],
  baseSize: [number, number],
  settings: TestSettings,
  keypoints: KeypointDefinition,
  workspace: Workspace,
  postprocessing?: ParallelPostprocessing,
  selection?: PoseSelection,
): Promise<DecodeResult> {
  const last = inputs[inputs.length - 1];
  const geometry = { baseSize, center: last.center, scale: last.scaleWH };
  if (postprocessing && !postprocessing.broken) {
    try {
      return await decodePosesInParallel(perScale, geometry, settings, keypoints, workspace, postprocessing, selection);
    } catch (error) {
      // A worker that could not start or stopped (a bundler that dropped worker.js, memory):
      // this image and the next ones on this thread. Errors about the outputs are rethrown.
      if (!postprocessing.broken) throw error;
    }
  }
  return decodePoses(perScale, geometry, settings, keypoints, workspace, selection);
}

/**
 * Checks `createEstimator`'s options as it does, without loading the weights or reading an
 * image: a ConfigError for options it would refuse (its `fault` names them when the options, not
 * a configuration file, are at fault). Returns what they come to: the configuration in effect
 * (test settings included, frozen), the images in flight and the people selected.
 */
export function checkEstimatorOptions(options: EstimatorOptions): { config: ReadonlyExperimentConfig; imagesInFlight: number; selection: PoseSelection } {
  checkOptionNames(options);
  if (options.weights === undefined || options.weights === '') {
    throw optionsError(['weights'], (name) => `${name('weights')} is required: a checkpoint from the model zoo (see \`higher-pose weights list\`) or an .onnx export`);
  }
  assertWeightsArgument(options.weights);
  check(options.onStageTimes === undefined || typeof options.onStageTimes === 'function', 'onStageTimes', 'a function', options.onStageTimes);
  const base = resolveConfig(options);
  // A frozen copy: changed in place (through `estimator.config`, or the caller's `scales` array)
  // the settings in use would escape the checks above.
  // Its dataset part says the input size and candidates in effect too, as a file's one INPUT_SIZE would.
  const test = testSettings(base, options);
  const dataset = { ...base.dataset, inputSize: test.inputSize, maxNumPeople: test.maxNumPeople };
  const config = frozen(structuredClone<ExperimentConfig>({ ...base, dataset, test }));
  for (const flag of ['flipBatch', 'concurrentFlip', 'networkThread', 'parallelPostprocessing', 'exifOrientation'] as const) {
    check(options[flag] === undefined || isFlag(options[flag]), flag, 'true or false', options[flag]);
  }
  if (options.concurrentFlip === true && !test.flipTest) {
    throw optionsError(['concurrentFlip', 'flipTest'], (name) => `${name('concurrentFlip')} runs the flip test's two passes at once: it needs ${name('flipTest')}`);
  }
  if (options.concurrentFlip === true && options.flipBatch !== undefined) {
    throw optionsError(['concurrentFlip', 'flipBatch'], (name) => `${name('concurrentFlip')} runs the flip test's two passes at once, neither of ${name('flipBatch')}'s ways: give one of them`);
  }
  // Two when the network runs on a thread of its own.
  const imagesInFlight = options.imagesInFlight ?? ((options.networkThread ?? (options.device ?? 'cpu') !== 'cpu') ? 2 : 1);
  check(isImagesInFlight(imagesInFlight), 'imagesInFlight', IMAGES_IN_FLIGHT_RANGE, imagesInFlight);
  check(options.maxPixels === undefined || isPositiveInt(options.maxPixels), 'maxPixels', 'a positive integer', options.maxPixels);
  const selection: PoseSelection = { maxPoses: options.maxPoses, minPoseScore: options.minPoseScore };
  const badSelection = selectionProblem(selection);
  if (badSelection) check(false, badSelection.field, badSelection.allowed, selection[badSelection.field]);
  checkedNetworkOptions(options, options.weights);
  return { config, imagesInFlight, selection };
}

/** `concurrentFlip` where the caller left it out: with flip test, on ONNX Runtime on the CPU, with two threads or more, unless `flipBatch` was chosen. */
function concurrentFlipByDefault(options: Omit<EstimatorOptions, 'weights'>, settings: TestSettings): boolean {
  return settings.flipTest && options.flipBatch === undefined && (options.backend ?? 'onnxruntime') !== 'tfjs'
    && (options.device ?? 'cpu') === 'cpu' && (options.threads ?? physicalCores()) >= 2;
}

/**
 * Creates a pose estimator.
 *
 * @example
 * ```ts
 * const estimator = await createEstimator({ preset: 'coco_w32_512', weights: 'pose_higher_hrnet_w32_512.pth' });
 * const people = await estimator.estimatePoses('crowd.jpg');
 * console.log(people[0].keypoints.find((k) => k.name === 'nose'));
 * await estimator.dispose();
 * ```
 */
export async function createEstimator(given: EstimatorOptions): Promise<HigherHRNetEstimator> {
  const { config, imagesInFlight, selection } = checkEstimatorOptions(given);
  // The estimator keeps the other options: weights given as bytes (a 250 MB checkpoint) are freed once the network is made.
  const { weights, ...options } = given;
  const settings = config.test;
  const keypoints = keypointDefinition(config.dataset.kind);
  const network = await createNetwork(config, weights, { ...options, concurrentFlip: options.concurrentFlip ?? concurrentFlipByDefault(options, settings) });
  const postprocessing = (options.parallelPostprocessing ?? availableParallelism() > 1) ? new ParallelPostprocessing() : undefined;
  const concurrent = (network.concurrentRuns ?? 1) > 1;
  // Unless the caller chose, each input size's flip pair runs the way found faster here.
  const flipPairs = options.flipBatch === undefined && !concurrent ? new FlipPairChooser() : undefined;
  const runFlipPair = flipPairs ? flipPairs.run.bind(flipPairs) : fixedFlipPairs(options.flipBatch);
  // One workspace per estimate in flight, kept for the next ones (shared memory for the post-processing worker).
  const idle: Workspace[] = [];

  // Dispose refuses later calls and releases the network once the running ones end.
  const disposedError = (call: string) => new BackendError(`${call}: the estimator has been disposed; create another one`);
  const calls = new CallsInFlight(() => disposedError('estimatePoses'));

  // Estimates beyond imagesInFlight wait their turn (Promise.all over many images): each one
  // running holds a workspace, and the workspaces are kept for the next images.
  const slots = new Slots(imagesInFlight);

  // The image is the caller's again once estimatePoses returns (a video loop refills one frame
  // buffer): sharp decodes bytes later, on its own thread, so they are copied; pixels are warped
  // before the call's first await when a slot is free, else copied for the call's turn; a
  // tensor's values are read now (tfjs completes a read started before a dispose).
  const estimateOne = (image: ImageInput, signal: AbortSignal | undefined): Promise<Person[]> => {
    if (isTensorLike(image)) {
      const begun = performance.now();
      const pixels = tensorPixels(image, undefined, { maxPixels: options.maxPixels }).then((rgb) => ({ rgb, readMs: performance.now() - begun }));
      // Its failure is the call's, in its turn: not unhandled while it waits, nor if it is aborted.
      pixels.catch(() => undefined);
      return slots.run(async () => {
        const { rgb, readMs } = await pixels;
        return estimateNow(rgb, signal, readMs);
      }, signal);
    }
    const own = image instanceof Uint8Array ? bytesCopy(image) : slots.free ? image : withPixelsCopied(image);
    return slots.run(() => estimateNow(own, signal), signal);
  };

  // readMs: the image's reading before its turn (a tensor's), counted in its stage times.
  const estimateNow = (image: ImageNow, signal: AbortSignal | undefined, readMs = 0): Promise<Person[]> => estimateImage(image, signal, readMs).catch((error: unknown) => {
    throw typeof image === 'string' && !isAbortReason(error, signal) && !(error instanceof CallbackError) ? naming(error, shownPath(image)) : error;
  });

  const reportStageTimes = (times: StageTimes): void => {
    try {
      options.onStageTimes?.(times);
    } catch (error) {
      throw new CallbackError('onStageTimes', error);
    }
  };

  const estimateImage = async (image: ImageNow, signal: AbortSignal | undefined, readMs: number): Promise<Person[]> => {
    // Aborted between the slot's hand-over and now; then after each stage (the network cannot be interrupted).
    signal?.throwIfAborted();
    const start = performance.now();
    // Pixels as they are now (validated and warped with no await between): see estimateOne.
    const { maxPixels } = options;
    const rgb = typeof image === 'string' || image instanceof Uint8Array ? await readImage(image, { exifOrientation: options.exifOrientation ?? true, maxPixels }) : pixelsToRgb(image, undefined, { maxPixels });
    signal?.throwIfAborted();
    const read = performance.now();
    const workspace = idle.pop() ?? new Workspace({ shared: postprocessing !== undefined });
    try {
      const prepared = testScaleInputs(rgb, settings.inputSize, settings.scaleFactor, workspace);
      const preprocessed = performance.now();
      const perScale = await runScales(network, prepared.inputs, settings.flipTest, runFlipPair, workspace);
      signal?.throwIfAborted();
      const inferred = performance.now();
      const { people } = await decodeScales(perScale, prepared.inputs, prepared.baseSize, settings, keypoints, workspace, postprocessing, selection);
      reportStageTimes({ read: readMs + read - start, preprocess: preprocessed - read, network: inferred - preprocessed, postprocess: performance.now() - inferred });
      // Stable: equal scores keep the reference's order.
      return people.sort((a, b) => b.score - a.score);
    } finally {
      idle.push(workspace);
    }
  };

  async function estimatePoses(image: ImageInput, estimation?: EstimationOptions): Promise<Person[]>;
  async function estimatePoses(images: readonly ImageInput[], estimation?: EstimationOptions): Promise<Person[][]>;
  async function estimatePoses(input: ImageInput | readonly ImageInput[], estimation?: EstimationOptions): Promise<Person[] | Person[][]>;
  async function estimatePoses(input: ImageInput | readonly ImageInput[], estimation: EstimationOptions = {}): Promise<Person[] | Person[][]> {
    const signal = checkEstimationOptions(estimation);
    signal?.throwIfAborted();
    // A whole array is one call: dispose() waits for its images not yet started too.
    return calls.run<Person[] | Person[][]>(() => (isImageList(input) ? estimateAll(input, signal) : estimateOne(input, signal)));
  }

  const estimateAll = async (images: readonly ImageInput[], signal: AbortSignal | undefined): Promise<Person[][]> => {
    // As one at a time: the first image that fails stops the run with its error.
    const results: Person[][] = [];
    // An image given as bytes or pixels is named by its place in the array; a hole is undefined, refused as such.
    const numbered = Array.from(images, (image, index) => ({ image, index }));
    const estimateNumbered = ({ image, index }: (typeof numbered)[number]) => estimateOne(image, signal).catch((error: unknown) => {
      throw typeof image === 'string' || isAbortReason(error, signal) || error instanceof CallbackError ? error : naming(error, `images[${index}]`);
    });
    for await (const { outcome } of inOrder(numbered, imagesInFlight, estimateNumbered)) results.push(valueOf(outcome));
    return results;
  };

  const estimator: HigherHRNetEstimator = {
    keypoints,
    imagesInFlight,
    concurrentFlip: concurrent,
    maxPixels: options.maxPixels,
    config,
    estimatePoses,
    flipPairBatched: (width, height) => (flipPairs ? flipPairs.chosen(width, height) : (options.flipBatch ?? false)),
    processVideo: (input, videoOptions = {}) => {
      // Refused here, before ffmpeg starts, rather than by the first frame's estimatePoses.
      if (calls.isDisposed) throw disposedError('processVideo');
      // As given (checked by processVideo, null too); the keypoints default to the estimator's.
      return processVideo(estimator, input, videoOptions);
    },
    dispose: () => calls.dispose(async () => {
      await postprocessing?.dispose();
      await network.dispose();
    }),
  };
  return estimator;
}
