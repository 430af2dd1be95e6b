/**
 * From what a user names (a preset or YAML config, a checkpoint or ONNX file) to a
 * configuration and a ready network.
 */
import { readFileSync, statSync, type Stats } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { checkedConfig, configArgument, ConfigError, loadConfigFile, optionsError, outputChannels, valueFault, type ExperimentConfig } from '../config/experiment.js';
import { apiOptionName, type OptionNamer, type OptionWords } from '../config/option-names.js';
import { isPresetName, PRESET_NAMES, presetConfig, type PresetName } from '../config/presets.js';
import { buildNetworkGraph } from '../higher/network.js';
import type { LayerGraph } from '../backbone/graph.js';
import { CheckpointError, loadStateDict, StateDictMismatchError, toFloat32, validateStateDict } from '../checkpoint/index.js';
import { looksLikeOnnx, notOnnxModel } from '../checkpoint/pth.js';
import { compileToOnnx } from '../backend/onnx/compile.js';
import { BackendError, EXECUTION_PROVIDERS, OnnxNetwork, type ExecutionProvider, type OnnxSessionOptions } from '../backend/onnx/session.js';
import { OnnxNetworkThread } from '../backend/onnx/thread.js';
import { OnnxTwinNetwork } from '../backend/onnx/twin.js';
import { isOnnxModelBytes, isQuantizedModel } from '../backend/onnx/quantize.js';
import { BROWSER_BACKENDS_NOTE, TFJS_BACKENDS, type TfjsBackendName } from '../backend/tfjs/backend-name.js';
import type { Network } from '../backend/network.js';
import type { Weights, WeightTensor } from './weights.js';
import { PRECISIONS, quantizeForImages, type Precision } from './quantize.js';
import type { ImageInput } from '../types.js';
import { isFlag, optionsProblem, shownValue, typeName } from '../values.js';
import { refuseDevice } from '../io/read-bounded.js';

export interface ConfigChoice {
  /** A built-in configuration name, e.g. `coco_w32_512` (`PRESET_NAMES` lists them). */
  preset?: PresetName | undefined;
  /** An official experiment YAML path, or a configuration object. */
  config?: string | ExperimentConfig | undefined;
}

/** The configuration named by `config` or `preset` (exactly one of them). */
export function resolveConfig(choice: ConfigChoice): ExperimentConfig {
  if (typeof choice !== 'object' || choice === null) throw new ConfigError(`resolveConfig needs { preset } or { config }, got ${typeName(choice)}`);
  if (choice.config !== undefined && choice.preset !== undefined) {
    throw optionsError(['config', 'preset'], (name) => `give either ${name('config')} or ${name('preset')}, not both`);
  }
  if (choice.config !== undefined) {
    return typeof choice.config === 'string' ? configFile(choice.config) : checkedConfig(choice.config);
  }
  if (choice.preset !== undefined) return presetConfig(choice.preset);
  throw optionsError(['preset', 'config'], (name) => `no model configuration: give ${name('preset')} (e.g. coco_w32_512) or ${name('config')} (an official experiment YAML file)`);
}

/** The configuration file at `path`; a preset's name, where no file has it (`--config coco_w32_512`), is a ConfigError saying to give it as the preset. */
function configFile(path: string): ExperimentConfig {
  try {
    return loadConfigFile(path);
  } catch (err) {
    const missing = err instanceof ConfigError && (err.cause as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
    if (!missing || !isPresetName(path)) throw err;
    throw optionsError(['config'], (name) => `${name('config', path)} names no file but a preset: give it as ${name('preset', path)}`);
  }
}

/**
 * Refuses weights that would make every output NaN: a value that is NaN or infinite (a training
 * run that diverged, a damaged file), or a negative BatchNorm variance (folding takes its root).
 */
function checkWeightValues(weights: Weights, source: string): void {
  for (const [name, { data }] of weights) {
    const variance = name.endsWith('.running_var');
    // v * 0 is 0 for every finite v, NaN otherwise: one sum tells, faster than a test per value.
    let probe = 0;
    for (let i = 0; i < data.length; i++) probe += data[i] * 0;
    if (probe === 0 && !(variance && data.some((v) => v < 0))) continue;
    const at = data.findIndex((v) => !Number.isFinite(v) || (variance && v < 0));
    const what = Number.isFinite(data[at]) ? `a negative variance, ${data[at]},` : data[at];
    throw new CheckpointError(`${source}: ${name} holds ${what} at index ${at}: the weights are damaged, or come from a training run that diverged`);
  }
}

/**
 * Float32 weights for `graph`: a PyTorch checkpoint's, or weights already in memory, after
 * checking every tensor name and shape against it (mismatches are listed by name) and their
 * values (`checkWeightValues`).
 */
export function networkWeights(weights: WeightsSource, graph: LayerGraph): Weights {
  assertWeightsArgument(weights);
  if (typeof weights !== 'string' && !(weights instanceof Uint8Array)) {
    validateStateDict(weights, graph.parameters, 'weights');
    for (const [name, { shape, data }] of weights) {
      const size = shape.reduce((a, b) => a * b, 1);
      if (!(data instanceof Float32Array) || data.length !== size) {
        throw new CheckpointError(`weights: ${name} must hold ${size} float32 values for its shape [${shape.join(', ')}]; got ${data instanceof Float32Array ? data.length : String(data)}`);
      }
    }
    checkWeightValues(weights, 'weights');
    return weights;
  }
  const stateDict = checkpointStateDict(weights);
  const source = weightsLabel(weights);
  try {
    validateStateDict(stateDict, graph.parameters, source);
  } catch (error) {
    if (!(error instanceof StateDictMismatchError)) throw error;
    const fits = PRESET_NAMES.filter((name) => {
      try {
        validateStateDict(stateDict, buildNetworkGraph(presetConfig(name).model).parameters);
        return true;
      } catch {
        return false;
      }
    });
    if (fits.length > 0) error.message += `\n  the checkpoint fits preset ${fits.join(', ')}: is that the model it was trained as?`;
    throw error;
  }
  const tensors = new Map<string, WeightTensor>();
  for (const { name } of graph.parameters) {
    const tensor = stateDict.get(name);
    if (tensor) tensors.set(name, { shape: tensor.shape, data: toFloat32(tensor) });
  }
  checkWeightValues(tensors, source);
  return tensors;
}

/**
 * The state dict of a checkpoint's path or bytes. Bytes that start as an ONNX model but were not
 * taken for one (`isOnnxWeights`) are one cut short or damaged: not a checkpoint to rename .onnx.
 */
function checkpointStateDict(weights: string | Uint8Array): ReturnType<typeof loadStateDict> {
  if (typeof weights === 'string') return loadStateDict(weights);
  // Named bytes by their path; others as the checkpoint reader names them.
  const name = weightBytesNames.get(weights);
  try {
    return loadStateDict(weights, name);
  } catch (error) {
    if (!(error instanceof CheckpointError) || !looksLikeOnnx(weights)) throw error;
    throw new BackendError(`${name ?? 'weights (ONNX model bytes)'}: not a valid ONNX model (it starts as one but does not parse: cut short or damaged)`, { cause: error });
  }
}

/** A checkpoint or `.onnx` path, a checkpoint's or ONNX model's bytes (told apart by their content), or weights in memory. */
export type WeightsSource = string | Uint8Array | Weights;

const WEIGHTS_ALLOWED = "a checkpoint or .onnx path, or weights in a Map (as randomWeights gives), or a checkpoint's or ONNX model's bytes (a Uint8Array)";

/** A ConfigError for `weights` that are neither a path, bytes nor weights in memory (not shown: checkpoint bytes would fill the message). */
export function assertWeightsArgument(weights: unknown): void {
  if (typeof weights === 'string' || weights instanceof Uint8Array || weights instanceof Map) return;
  const hint = weights instanceof ArrayBuffer ? ' (new Uint8Array(buffer) views an ArrayBuffer)' : '';
  throw new ConfigError(`Invalid weights, of type ${typeName(weights)}: must be ${WEIGHTS_ALLOWED}${hint}`, { fault: valueFault('weights', WEIGHTS_ALLOWED) });
}

export function isOnnxFile(path: string): boolean {
  return extname(path).toLowerCase() === '.onnx';
}

/** Whether `weights` is an ONNX model: a path by its `.onnx` extension, bytes by their content. */
export function isOnnxWeights(weights: WeightsSource): weights is string | Uint8Array {
  if (typeof weights === 'string') return isOnnxFile(weights);
  return weights instanceof Uint8Array && isOnnxModelBytes(weights);
}

/** The names of bytes read from a file that is no regular one (a pipe), by `namedWeightBytes`. */
const weightBytesNames = new WeakMap<Uint8Array, string>();

/**
 * `bytes`, read from the file at `path` once (a pipe, which gives them once), named by that path
 * in messages about them as a path would be: the command line's `--weights <(...)`.
 */
export function namedWeightBytes(bytes: Uint8Array, path: string): Uint8Array {
  weightBytesNames.set(bytes, path);
  return bytes;
}

/** How messages name `weights`: the path (the one named bytes were read from), or what the bytes are. */
function weightsLabel(weights: string | Uint8Array): string {
  if (typeof weights === 'string') return weights;
  return weightBytesNames.get(weights) ?? (isOnnxModelBytes(weights) ? 'weights (ONNX model bytes)' : 'weights (checkpoint bytes)');
}

/** The ONNX model bytes for a configuration and a checkpoint path or weights. */
export function compileModel(given: ExperimentConfig, weights: WeightsSource): Uint8Array {
  const config = configArgument(given, 'compileModel');
  const graph = buildNetworkGraph(config.model);
  return compileToOnnx(graph, networkWeights(weights, graph), { description: `HigherHRNet ${config.dataset.kind}, ${config.model.numJoints} joints` });
}

/** The arithmetic the network runs in. */
export interface PrecisionOptions {
  /**
   * `'fp32'` (default), or `'int8'`: weights and activations quantized to 8 bits, activation
   * ranges calibrated on `calibrationImages` (ONNX Runtime only; see README, Reduced precision).
   * An `.onnx` model that is already quantized runs as it is, whatever this says.
   */
  precision?: Precision | undefined;
  /** With `precision: 'int8'`: a few images like those the model will see (paths, encoded bytes or pixels). */
  calibrationImages?: readonly ImageInput[] | undefined;
  /** Apply JPEG EXIF orientation to calibration images, as to inputs (default true). */
  exifOrientation?: boolean | undefined;
}

/** An ONNX model's bytes (an `.onnx` file read), and whether its model is already quantized. */
async function readOnnxModel(model: string | Uint8Array): Promise<{ bytes: Uint8Array; quantized: boolean }> {
  let bytes: Uint8Array;
  try {
    bytes = typeof model === 'string' ? await readFile(model) : model;
  } catch (err) {
    throw new BackendError(`Could not read ${model}: ${(err as Error).message}`);
  }
  try {
    return { bytes, quantized: isQuantizedModel(bytes) };
  } catch (err) {
    throw (await notOnnxModelError(model, err)) ?? new BackendError(`${weightsLabel(model)}: ${(err as Error).message}`);
  }
}

/**
 * Refuses an `.onnx` path that is missing, a folder or a device as the checkpoint reader refuses a
 * `.pth` one: ONNX Runtime's words name its own sources ("File doesn't exist", a "model package"),
 * and it reads a device (a link to /dev/zero) forever.
 */
function checkOnnxPath(path: string): void {
  let stats: Stats;
  try {
    stats = statSync(path);
  } catch (error) {
    // Others (no permission) are ONNX Runtime's to report.
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') return;
    throw new CheckpointError(`${path}: no such file. \`higher-pose export-onnx\` writes an .onnx model from a checkpoint; \`higher-pose weights list\` shows the published checkpoints`, { cause: error });
  }
  if (stats.isDirectory()) throw new CheckpointError(`${path}: a folder, not an ONNX model file`);
  try {
    refuseDevice(stats);
  } catch (error) {
    throw new CheckpointError(`${path}: cannot read it: ${(error as Error).message}`, { cause: error });
  }
}

/**
 * The error for an `.onnx` file that failed to load because it is something else its first bytes
 * tell (a checkpoint under an .onnx name, a web page a download saved); undefined otherwise.
 */
async function notOnnxModelError(model: string | Uint8Array, cause: unknown): Promise<BackendError | undefined> {
  // Bytes are taken for an ONNX model by their content: only a path's name can mislead.
  if (typeof model !== 'string') return undefined;
  const what = notOnnxModel(await readFile(model).catch(() => new Uint8Array(0)));
  return what === undefined ? undefined : new BackendError(`${model}: not an ONNX model but ${what}`, { cause });
}

// Measured on an H200: ONNX Runtime's WebGPU provider leaves the quantized operators to the CPU, 14x slower than float32 on the GPU.
const int8OnWebgpu = (name: OptionNamer): string => `on ${name('device', 'webgpu')} the quantized operators fall back to the CPU`;

/**
 * A ConfigError about the int8 export `label` and `option`, in the words of whoever gave them:
 * the weights named as given (the command line's `--weights FILE`), the option by its name.
 */
function int8ModelFault(label: string, option: 'device' | 'calibrationImages', explain: OptionWords): ConfigError {
  return new ConfigError(explain((name, value) => (name === 'weights' ? label : apiOptionName(name, value))), { fault: { options: ['weights', option], explain } });
}

/** An int8 export given for WebGPU. */
const int8ModelOnWebgpu = (label: string): ConfigError => int8ModelFault(label, 'device', (name) =>
  `${name('weights')} is quantized (int8), a CPU model: ${int8OnWebgpu(name)}; give its float model (checkpoint or float .onnx) there, or use ${name('device', 'cpu')}`);

/** Calibration images given with an int8 export: they would go unused, the user believing the model recalibrated on them. */
const int8ModelCalibrated = (label: string): ConfigError => int8ModelFault(label, 'calibrationImages', (name) =>
  `${name('weights')} is already quantized, its ranges calibrated when it was exported: leave ${name('calibrationImages')} out, or give the float model (checkpoint or float .onnx) to calibrate on them`);

/**
 * Refuses an int8 ONNX model (an `.onnx` file, or bytes) on WebGPU, or with calibration images,
 * before the model loads, as createEstimator refuses it while loading (the command line checks its
 * options up front). Of files only a regular one is looked at: a pipe read here would be empty for
 * the estimator.
 */
export function checkOnnxWeights(weights: WeightsSource, options: NetworkOptions): void {
  const onWebgpu = options.device === 'webgpu' && options.precision !== 'int8';
  const calibrated = options.precision === 'int8' && (options.calibrationImages ?? []).length > 0;
  if ((onWebgpu || calibrated) && isQuantizedOnnxWeights(weights)) throw (onWebgpu ? int8ModelOnWebgpu : int8ModelCalibrated)(weightsLabel(weights as string | Uint8Array));
}

/** Whether `weights` is an int8 ONNX model, as a look at its operators tells (false for what the load will refuse). */
export function isQuantizedOnnxWeights(weights: WeightsSource): boolean {
  if (!isOnnxWeights(weights)) return false;
  return typeof weights === 'string' ? isQuantizedOnnxFile(weights) : isQuantizedModel(weights);
}

/** False for a file that is not regular, cannot be read or holds no model: the load reports those. */
function isQuantizedOnnxFile(path: string): boolean {
  try {
    return statSync(path).isFile() && isQuantizedModel(readFileSync(path));
  } catch {
    return false;
  }
}

/** The int8 model: a quantized `.onnx` file as it is, else the float model quantized with calibration. */
async function int8Model(config: ExperimentConfig, weights: WeightsSource, options: PrecisionOptions & OnnxSessionOptions): Promise<Uint8Array> {
  let exported: Uint8Array | undefined;
  if (isOnnxWeights(weights)) {
    const { bytes, quantized } = await readOnnxModel(weights);
    exported = bytes;
    if (quantized) {
      if ((options.calibrationImages ?? []).length > 0) throw int8ModelCalibrated(weightsLabel(weights));
      return exported;
    }
  }
  const images = options.calibrationImages ?? [];
  if (images.length === 0) throw uncalibratedInt8();
  if (exported) {
    // Checked as float32 would check it: a model that does not fit the configuration was calibrated
    // in full before it was refused, or failed inside ONNX Runtime (another input shape).
    await (await createOnnxNetwork(config, weights, { intraOpNumThreads: options.intraOpNumThreads })).dispose();
  }
  return quantizeForImages(exported ?? compileModel(config, weights), {
    images,
    settings: config.test,
    exifOrientation: options.exifOrientation,
    threads: options.intraOpNumThreads,
  });
}

/**
 * A runnable network on ONNX Runtime: compiled from a checkpoint or weights, or a user's own
 * `.onnx` export, whose outputs are checked against the configuration on first use. With
 * `precision: 'int8'`, quantized after calibration on `calibrationImages` with the
 * configuration's test settings (input size, scales, flip test).
 */
export async function createOnnxNetwork(given: ExperimentConfig, weights: WeightsSource, options: OnnxNetworkOptions = {}): Promise<Network> {
  const config = configArgument(given, 'createOnnxNetwork');
  assertWeightsArgument(weights);
  checkOnnxNetworkOptions(options);
  const int8 = checkedPrecision(options.precision) === 'int8';
  // ownBytes: bytes compiled here, not the caller's.
  const open = (model: Uint8Array | string, name?: string, ownBytes = false): Promise<OnnxNetwork | OnnxNetworkThread | OnnxTwinNetwork> => {
    if (options.concurrentFlip) return OnnxTwinNetwork.create(model, options, name, options.networkThread ?? false, ownBytes);
    return options.networkThread ? OnnxNetworkThread.create(model, options, name) : OnnxNetwork.create(model, options, name);
  };
  if (isOnnxWeights(weights)) {
    const label = weightsLabel(weights);
    if (typeof weights === 'string') checkOnnxPath(weights);
    // An int8 export runs whatever precision says: on WebGPU it is refused as precision 'int8' is.
    if (!int8 && options.executionProviders?.includes('webgpu') && (await readOnnxModel(weights)).quantized) throw int8ModelOnWebgpu(label);
    // The user's model, or its int8 export as it is: named as they gave it (bytes were 'the compiled model').
    const network = await open(int8 ? await int8Model(config, weights, options) : weights, label)
      .catch(async (err: unknown) => Promise.reject((await notOnnxModelError(weights, err)) ?? err));
    const expected = config.model.deconv.numDeconvs + 1;
    if (network.outputNames.length !== expected) {
      await network.dispose();
      throw new BackendError(`${label} has ${network.outputNames.length} outputs but the configuration's network has ${expected}`);
    }
    // ONNX Runtime infers the outputs' channels (a model that leaves them open fails in decoding).
    const declared = network.declaredChannels;
    const wrong = declared.findIndex((channels, i) => channels !== undefined && channels !== outputChannels(config.model, i));
    if (wrong >= 0) {
      await network.dispose();
      const fits = PRESET_NAMES.filter((name) => declared.every((channels, i) => channels === undefined || channels === outputChannels(presetConfig(name).model, i)));
      throw new BackendError(`${label}: output ${wrong} has ${declared[wrong]} channels; the configuration expects ${outputChannels(config.model, wrong)}`
        + (fits.length > 0 ? ` (the model fits preset ${fits.join(', ')})` : ''));
    }
    return network;
  }
  return open(int8 ? await int8Model(config, weights, options) : compileModel(config, weights), undefined, true);
}

type OnnxNetworkOptions = OnnxSessionOptions & PrecisionOptions & { networkThread?: boolean | undefined; concurrentFlip?: boolean | undefined };

/** Every option `createOnnxNetwork` reads, for refusing the others (a misspelt one would be ignored without a word). */
const ONNX_NETWORK_OPTION_NAMES: Record<keyof OnnxNetworkOptions, true> = {
  executionProviders: true, intraOpNumThreads: true, graphOptimizationLevel: true, precision: true, calibrationImages: true, exifOrientation: true, networkThread: true,
  concurrentFlip: true,
};

const GRAPH_OPTIMIZATION_LEVELS: readonly NonNullable<OnnxSessionOptions['graphOptimizationLevel']>[] = ['disabled', 'basic', 'extended', 'all'];

/**
 * A ConfigError naming the first of `createOnnxNetwork`'s options of the wrong kind or unknown, which
 * failed inside (`executionProviders: 'cpu'`: 'providers.map is not a function') or were ignored
 * (a flag 'yes' taken as true); `precision` is checked where it is read.
 */
function checkOnnxNetworkOptions(options: OnnxNetworkOptions): void {
  const bad = (what: string): never => {
    throw new ConfigError(`createOnnxNetwork: ${what}`);
  };
  const problem = optionsProblem(options, ONNX_NETWORK_OPTION_NAMES);
  if (problem) bad(problem);
  const { executionProviders, intraOpNumThreads, graphOptimizationLevel, calibrationImages } = options;
  const isProvider = (p: unknown): boolean => EXECUTION_PROVIDERS.includes(p as ExecutionProvider);
  if (executionProviders !== undefined && !(Array.isArray(executionProviders) && executionProviders.length > 0 && executionProviders.every(isProvider))) {
    bad(`executionProviders must be a list of providers from [${EXECUTION_PROVIDERS.join(', ')}], such as ['cpu'], got ${shownValue(executionProviders)}`);
  }
  if (intraOpNumThreads !== undefined && !(Number.isInteger(intraOpNumThreads) && intraOpNumThreads >= 1 && intraOpNumThreads <= MAX_THREADS)) {
    bad(`intraOpNumThreads must be an integer from 1 to ${MAX_THREADS}, got ${shownValue(intraOpNumThreads)}`);
  }
  if (graphOptimizationLevel !== undefined && !GRAPH_OPTIMIZATION_LEVELS.includes(graphOptimizationLevel)) {
    bad(`graphOptimizationLevel must be one of [${GRAPH_OPTIMIZATION_LEVELS.join(', ')}], got ${shownValue(graphOptimizationLevel)}`);
  }
  if (calibrationImages !== undefined && !Array.isArray(calibrationImages)) bad(`calibrationImages must be a list of images (paths, encoded bytes or pixels), got ${typeName(calibrationImages)}`);
  for (const flag of ['exifOrientation', 'networkThread', 'concurrentFlip'] as const) {
    if (options[flag] !== undefined && !isFlag(options[flag])) bad(`${flag} must be true or false, got ${shownValue(options[flag])}`);
  }
  if (options.concurrentFlip === true && executionProviders?.some((provider) => provider !== 'cpu')) {
    bad(`concurrentFlip shares the CPU's threads between two sessions: it runs on executionProviders ['cpu'] only, got ${shownValue(executionProviders)}`);
  }
}

/** Throws a ConfigError listing `allowed` unless `value` is one of them (`hint` ends the message). */
function checkChoice(what: string, value: unknown, allowed: readonly string[], hint = ''): void {
  if (allowed.includes(value as string)) return;
  throw new ConfigError(`Unsupported ${what}: ${String(value)}. Must be one of [${allowed.join(', ')}]${hint}`, { fault: valueFault(what, `one of [${allowed.join(', ')}]`) });
}

function checkedPrecision(precision: Precision | undefined): Precision {
  const value = precision ?? 'fp32';
  checkChoice('precision', value, PRECISIONS);
  return value;
}

export type BackendName = 'onnxruntime' | 'tfjs' | 'auto';
export const BACKENDS: readonly BackendName[] = ['onnxruntime', 'tfjs', 'auto'];

export interface NetworkOptions extends PrecisionOptions {
  /**
   * `'onnxruntime'` (default), `'tfjs'`, or `'auto'`: the fastest that loads — ONNX Runtime
   * (on `device`), else TensorFlow.js (`tfjs-node-gpu` for `'cuda'`; `tfjs-node`, wasm or cpu
   * for `'cpu'`; none for `'webgpu'`).
   */
  backend?: BackendName | undefined;
  /** Default `'cpu'` (see `ExecutionProvider`). */
  device?: ExecutionProvider | undefined;
  /**
   * Run ONNX Runtime on a thread of its own (`OnnxNetworkThread`), so that the calling thread
   * is free while the network runs. Default: when `device` is not the CPU.
   */
  networkThread?: boolean | undefined;
  /**
   * Two ONNX Runtime sessions with half the `threads` each, one in a worker thread
   * (`OnnxTwinNetwork`): two runs started together compute at the same time (the flip test's
   * plain and mirrored passes; a single run gets half the threads). CPU only. Default false.
   */
  concurrentFlip?: boolean | undefined;
  /** ONNX Runtime threads per operator (shared between the two sessions of `concurrentFlip`). */
  threads?: number | undefined;
  /** Restrict TensorFlow.js to one of its backends. */
  tfjsBackend?: TfjsBackendName | undefined;
}

/** The most threads per operator a network may ask for. */
export const MAX_THREADS = 1024;

/** The layer graph compiled to TensorFlow.js (the packages are imported only here, on demand). */
async function createTfjsModelNetwork(config: ExperimentConfig, weights: WeightsSource, options: NetworkOptions): Promise<Network> {
  if (isOnnxWeights(weights)) {
    throw new BackendError(`${weightsLabel(weights)}: the tfjs backend cannot run ONNX models; give the .pth checkpoint, or use backend onnxruntime`);
  }
  if (options.device === 'webgpu') {
    throw new BackendError("TensorFlow.js has no WebGPU backend in Node: device 'webgpu' runs on ONNX Runtime (backend 'onnxruntime')");
  }
  const graph = buildNetworkGraph(config.model);
  const tensors = networkWeights(weights, graph);
  const { createTfjsNetwork } = await import('../backend/tfjs/network.js');
  return createTfjsNetwork(graph, tensors, { backend: options.tfjsBackend, cuda: options.device === 'cuda' });
}

/** int8 without calibration images, for a model that is not quantized already. */
const uncalibratedInt8 = (): ConfigError => optionsError(['precision', 'calibrationImages'], (name) => `${name('precision', 'int8')} needs ${name('calibrationImages')}: `
  + 'a few images like those the model will see, to calibrate the activation ranges; or give an .onnx model written by export-onnx --precision int8');

/**
 * Refuses options out of range, and options that do not go together (one would be ignored
 * without a word); returns the backend and whether the network runs in int8. An .onnx `weights`
 * file may be quantized already, which needs no calibration images (`int8Model` reads it).
 */
export function checkedNetworkOptions(options: NetworkOptions, weights?: WeightsSource): { backend: BackendName; int8: boolean } {
  const backend = options.backend ?? 'onnxruntime';
  checkChoice('backend', backend, BACKENDS);
  if (options.device !== undefined) checkChoice('device', options.device, EXECUTION_PROVIDERS);
  if (options.tfjsBackend !== undefined) {
    checkChoice('tfjsBackend', options.tfjsBackend, TFJS_BACKENDS, ` (${BROWSER_BACKENDS_NOTE})`);
  }
  if (options.device === 'cuda' && options.tfjsBackend !== undefined && options.tfjsBackend !== 'tensorflow') {
    // It would run on the CPU without a word.
    const { tfjsBackend } = options;
    throw optionsError(['tfjsBackend', 'device'], (name) => `${name('tfjsBackend', tfjsBackend)} runs on the CPU: ${name('device', 'cuda')} on TensorFlow.js is ${name('tfjsBackend', 'tensorflow')} (tfjs-node-gpu)`);
  }
  if (options.tfjsBackend !== undefined && backend === 'onnxruntime') {
    const { tfjsBackend } = options;
    throw optionsError(['tfjsBackend', 'backend'], (name) => `${name('tfjsBackend', tfjsBackend)} picks a TensorFlow.js backend: give ${name('backend', 'tfjs')} or ${name('backend', 'auto')} too`);
  }
  // TensorFlow.js would fail once the weights were read ('tfjs'), or never run ('auto').
  if (options.device === 'webgpu' && backend === 'tfjs') {
    throw optionsError(['backend', 'device'], (name) => `${name('backend', 'tfjs')} has no WebGPU backend in Node (${BROWSER_BACKENDS_NOTE}): ${name('device', 'webgpu')} runs on ${name('backend', 'onnxruntime')}`);
  }
  if (options.device === 'webgpu' && options.tfjsBackend !== undefined) {
    const { tfjsBackend } = options;
    throw optionsError(['tfjsBackend', 'device'], (name) => `${name('tfjsBackend', tfjsBackend)} would never run: ${name('device', 'webgpu')} runs on ONNX Runtime only (TensorFlow.js has no WebGPU backend in Node); leave it out`);
  }
  const { threads } = options;
  // ONNX Runtime takes minutes to start absurd numbers of threads.
  if (threads !== undefined && !(Number.isInteger(threads) && threads >= 1 && threads <= MAX_THREADS)) {
    const allowed = `an integer from 1 to ${MAX_THREADS}`;
    throw new ConfigError(`Invalid threads: ${shownValue(threads)}. Must be ${allowed}`, { fault: valueFault('threads', allowed) });
  }
  // TensorFlow.js would ignore them without a word.
  const onnxOnly = [threads !== undefined && 'threads', options.networkThread === true && 'networkThread', options.concurrentFlip === true && 'concurrentFlip']
    .filter((name): name is 'threads' | 'networkThread' | 'concurrentFlip' => name !== false);
  if (backend === 'tfjs' && onnxOnly.length > 0) {
    const [verb, pronoun] = onnxOnly.length === 1 ? ['sets', 'it'] : ['set', 'them'];
    throw optionsError([...onnxOnly, 'backend'], (name) => `${onnxOnly.map((option) => name(option)).join(' and ')} ${verb} how ONNX Runtime runs: `
      + `leave ${pronoun} out with ${name('backend', 'tfjs')}, or use ${name('backend', 'onnxruntime')} or ${name('backend', 'auto')}`);
  }
  if (options.concurrentFlip === true && options.device !== undefined && options.device !== 'cpu') {
    const { device } = options;
    throw optionsError(['concurrentFlip', 'device'], (name) => `${name('concurrentFlip')} shares the CPU's threads between two sessions: leave it out with ${name('device', device)}`);
  }
  const int8 = checkedPrecision(options.precision) === 'int8';
  const { calibrationImages } = options;
  // A string would be taken as a list of one-letter paths.
  if (calibrationImages !== undefined && !Array.isArray(calibrationImages)) {
    const allowed = 'a list of images (paths, encoded bytes or pixels)';
    throw new ConfigError(`Invalid calibrationImages: ${JSON.stringify(calibrationImages)?.slice(0, 100)}. Must be ${allowed}`, { fault: valueFault('calibrationImages', allowed) });
  }
  if (calibrationImages !== undefined && !int8) {
    throw optionsError(['calibrationImages', 'precision'], (name) => `${name('calibrationImages')} is for calibrating an int8 model: add ${name('precision', 'int8')}, or leave it out for float32`);
  }
  if (int8 && backend === 'tfjs') {
    throw optionsError(['precision', 'backend'], (name) => `${name('precision', 'int8')} runs on ONNX Runtime only: use ${name('backend', 'onnxruntime')} (the tfjs backend computes in float32)`);
  }
  if (int8 && options.device === 'webgpu') {
    throw optionsError(['precision', 'device'], (name) => `${name('precision', 'int8')} is a CPU mode: ${int8OnWebgpu(name)}; use ${name('precision', 'fp32')} there`);
  }
  // Known before any file is read, except for an .onnx model.
  if (int8 && (calibrationImages ?? []).length === 0 && !(weights !== undefined && isOnnxWeights(weights))) throw uncalibratedInt8();
  return { backend, int8 };
}

/**
 * A network on the chosen backend; `'auto'` tries them in order and reports every failure.
 * int8 runs on ONNX Runtime only (`'auto'` then means ONNX Runtime).
 */
export async function createNetwork(given: ExperimentConfig, weights: WeightsSource, options: NetworkOptions = {}): Promise<Network> {
  const config = configArgument(given, 'createNetwork');
  assertWeightsArgument(weights);
  const { backend, int8 } = checkedNetworkOptions(options, weights);
  const onnx = () => createOnnxNetwork(config, weights, {
    executionProviders: [options.device ?? 'cpu'],
    networkThread: options.networkThread ?? (options.device ?? 'cpu') !== 'cpu',
    concurrentFlip: options.concurrentFlip,
    intraOpNumThreads: options.threads,
    precision: options.precision,
    calibrationImages: options.calibrationImages,
    exifOrientation: options.exifOrientation,
  });
  const tfjs = () => createTfjsModelNetwork(config, weights, options);
  if (backend === 'onnxruntime' || int8) return onnx();
  if (backend === 'tfjs') return tfjs();
  const failures: string[] = [];
  for (const [name, attempt] of [['onnxruntime', onnx], ['tfjs', tfjs]] as const) {
    try {
      return await attempt();
    } catch (err) {
      // A checkpoint that does not fit fails the same way on every backend: report it as it is.
      if (!(err instanceof BackendError)) throw err;
      failures.push(`${name}: ${err.message}`);
    }
  }
  throw new BackendError(`No inference backend could be loaded:\n  ${failures.join('\n  ')}`);
}
