/**
 * Typed view of the official HigherHRNet experiment configuration (the YAML files the
 * model zoo is distributed with). Only the fields that change inference are read; every
 * one is validated and an error names the YAML path of the offending field.
 */
import { parse as parseYaml } from 'yaml';
import { isFlag, isPositive, isPositiveInt, shownValue, typeName, type DeepReadonly } from '../values.js';
import { testSettingsProblem } from './test-settings.js';
import { apiOptionName, type OptionWords } from './option-names.js';
import { ReadBoundError, readFileUpTo } from '../io/read-bounded.js';

/**
 * What a ConfigError about the options of a call is about: the options, by their API names (the
 * one to change first), and what is wrong in words that name them. A command line names them as
 * they were typed (`--scales 0.75,1`), and tells such a mistake from a bad file.
 */
export interface OptionFault {
  readonly options: readonly string[];
  /** For one value out of range: what it must be, in the API's words. */
  readonly allowed?: string;
  /** What is wrong, naming the options by `name` (the error's message names them as the API does). */
  readonly explain: OptionWords;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
  /** Set when the options given are at fault, not a file's contents. */
  readonly fault?: OptionFault;

  constructor(message: string, options?: ErrorOptions & { fault?: OptionFault }) {
    super(message, options);
    if (options?.fault) this.fault = options.fault;
  }
}

/** The fault of option `option`, whose value is not `allowed` (a text that may name other options). */
export function valueFault(option: string, allowed: string | OptionWords): OptionFault {
  const words = typeof allowed === 'string' ? () => allowed : allowed;
  return { options: [option], allowed: words(apiOptionName), explain: (name) => `${name(option)}: must be ${words(name)}` };
}

/** A ConfigError for `options` that do not go together, or that a call needs and lacks: its message is `explain` in the API's words. */
export function optionsError(options: readonly string[], explain: OptionWords): ConfigError {
  return new ConfigError(explain(apiOptionName), { fault: { options, explain } });
}

export type BlockType = 'BASIC' | 'BOTTLENECK';
export type DatasetKind = 'coco' | 'crowdpose';

/** One HRNet stage (`MODEL.EXTRA.STAGE2..4`). */
export interface StageSpec {
  numModules: number;
  numBranches: number;
  block: BlockType;
  numBlocks: readonly number[];
  numChannels: readonly number[];
  fuseMethod: 'SUM';
}

/** The HigherHRNet deconvolution head (`MODEL.EXTRA.DECONV`). */
export interface DeconvSpec {
  numDeconvs: number;
  numChannels: readonly number[];
  kernelSize: readonly number[];
  numBasicBlocks: number;
  catOutput: readonly boolean[];
}

export interface ModelSpec {
  name: string;
  numJoints: number;
  tagPerJoint: boolean;
  /** STAGE2, STAGE3, STAGE4 in order. */
  stages: readonly StageSpec[];
  finalConvKernel: number;
  deconv: DeconvSpec;
  /** `LOSS.WITH_AE_LOSS`: whether output i carries tag maps (decides its channel count). */
  withAeLoss: readonly boolean[];
}

/** Test-time settings (`TEST.*` plus the dataset fields inference needs). */
export interface TestSettings {
  flipTest: boolean;
  /** Test scales, e.g. [2, 1, 0.5]. */
  scaleFactor: readonly number[];
  adjust: boolean;
  refine: boolean;
  project2image: boolean;
  detectionThreshold: number;
  tagThreshold: number;
  nmsKernel: number;
  nmsPadding: number;
  maxNumPeople: number;
  useDetectionVal: boolean;
  ignoreTooMuch: boolean;
  /** Per network output: whether its heatmaps are averaged into the result. */
  withHeatmaps: readonly boolean[];
  /** Per network output: whether its tag maps are collected. */
  withAe: readonly boolean[];
  inputSize: number;
}

export interface ExperimentConfig {
  model: ModelSpec;
  dataset: { kind: DatasetKind; numJoints: number; inputSize: number; maxNumPeople: number };
  test: TestSettings;
}

/**
 * A configuration that cannot change (an estimator's, frozen at run time): TypeScript refuses
 * assignments to it. A configuration of one's own to edit is `presetConfig(name)`'s copy.
 */
export type ReadonlyExperimentConfig = DeepReadonly<ExperimentConfig>;

type Yaml = Record<string, unknown>;

/**
 * The reference's defaults (lib/config/default.py) for the fields read here that it has one
 * for: the official YAML files leave some out (TEST.ADJUST, TEST.REFINE, TEST.TAG_THRESHOLD, ...).
 * MODEL.EXTRA has none there, so the architecture must be spelled out.
 */
const REFERENCE_DEFAULTS: Readonly<Record<string, unknown>> = {
  'MODEL.NUM_JOINTS': 17,
  'MODEL.TAG_PER_JOINT': true,
  'LOSS.WITH_AE_LOSS': [true],
  'DATASET.DATASET': 'coco_kpt',
  'DATASET.NUM_JOINTS': 17,
  'DATASET.MAX_NUM_PEOPLE': 30,
  'DATASET.INPUT_SIZE': 512,
  'TEST.FLIP_TEST': false,
  'TEST.ADJUST': true,
  'TEST.REFINE': true,
  'TEST.SCALE_FACTOR': [1],
  'TEST.DETECTION_THRESHOLD': 0.2,
  'TEST.TAG_THRESHOLD': 1,
  'TEST.USE_DETECTION_VAL': true,
  'TEST.IGNORE_TOO_MUCH': false,
  'TEST.NMS_KERNEL': 3,
  'TEST.NMS_PADDING': 1,
  'TEST.PROJECT2IMAGE': false,
  'TEST.WITH_HEATMAPS': [true],
  'TEST.WITH_AE': [true],
};

/**
 * Every key of the reference's configuration (lib/config/default.py), by section: yacs refuses a
 * file with any other key, so a misspelt `FLIP_TES` fails there instead of leaving FLIP_TEST at
 * its default. MODEL.EXTRA is open in the reference (`new_allowed`); its fields are read below.
 */
const REFERENCE_KEYS: Readonly<Record<string, readonly string[] | null>> = {
  OUTPUT_DIR: null, LOG_DIR: null, DATA_DIR: null, GPUS: null, WORKERS: null, PRINT_FREQ: null, AUTO_RESUME: null,
  PIN_MEMORY: null, RANK: null, VERBOSE: null, DIST_BACKEND: null, MULTIPROCESSING_DISTRIBUTED: null,
  FP16: ['ENABLED', 'STATIC_LOSS_SCALE', 'DYNAMIC_LOSS_SCALE'],
  CUDNN: ['BENCHMARK', 'DETERMINISTIC', 'ENABLED'],
  MODEL: ['NAME', 'INIT_WEIGHTS', 'PRETRAINED', 'NUM_JOINTS', 'TAG_PER_JOINT', 'SYNC_BN', 'EXTRA'],
  LOSS: ['NUM_STAGES', 'WITH_HEATMAPS_LOSS', 'HEATMAPS_LOSS_FACTOR', 'WITH_AE_LOSS', 'AE_LOSS_TYPE', 'PUSH_LOSS_FACTOR', 'PULL_LOSS_FACTOR'],
  DATASET: [
    'ROOT', 'DATASET', 'DATASET_TEST', 'NUM_JOINTS', 'MAX_NUM_PEOPLE', 'TRAIN', 'TEST', 'DATA_FORMAT', 'MAX_ROTATION', 'MIN_SCALE',
    'MAX_SCALE', 'SCALE_TYPE', 'MAX_TRANSLATE', 'INPUT_SIZE', 'OUTPUT_SIZE', 'FLIP', 'SIGMA', 'SCALE_AWARE_SIGMA', 'BASE_SIZE',
    'BASE_SIGMA', 'INT_SIGMA', 'WITH_CENTER',
  ],
  TRAIN: [
    'LR_FACTOR', 'LR_STEP', 'LR', 'OPTIMIZER', 'MOMENTUM', 'WD', 'NESTEROV', 'GAMMA1', 'GAMMA2', 'BEGIN_EPOCH', 'END_EPOCH', 'RESUME',
    'CHECKPOINT', 'IMAGES_PER_GPU', 'SHUFFLE',
  ],
  TEST: [
    'IMAGES_PER_GPU', 'FLIP_TEST', 'ADJUST', 'REFINE', 'SCALE_FACTOR', 'DETECTION_THRESHOLD', 'TAG_THRESHOLD', 'USE_DETECTION_VAL',
    'IGNORE_TOO_MUCH', 'MODEL_FILE', 'IGNORE_CENTER', 'NMS_KERNEL', 'NMS_PADDING', 'PROJECT2IMAGE', 'WITH_HEATMAPS', 'WITH_AE', 'LOG_PROGRESS',
  ],
  DEBUG: ['DEBUG', 'SAVE_BATCH_IMAGES_GT', 'SAVE_BATCH_IMAGES_PRED', 'SAVE_HEATMAPS_GT', 'SAVE_HEATMAPS_PRED', 'SAVE_TAGMAPS_PRED'],
};

/** The network this library builds; the reference builds `models.<MODEL.NAME>`. */
const MODEL_NAME = 'pose_higher_hrnet';

/** A key or value of a configuration file as its errors show it: cut short, as a file can hold megabytes in one. */
function shortened(text: string): string {
  return text.length > 80 ? `${text.slice(0, 80)}…` : text;
}

const shownYaml = (value: unknown): string => shortened(shownValue(value));

/** The first of a list of a file's keys, and how many more. */
function someOf(keys: readonly string[]): string {
  const shown = keys.slice(0, 5).map(shortened).join(', ');
  return keys.length > 5 ? `${shown} and ${keys.length - 5} more` : shown;
}

/** Refuses keys the reference does not have, as yacs does, listing the keys of their section. */
function checkKeys(root: Yaml): void {
  for (const [key, value] of Object.entries(root)) {
    if (!Object.hasOwn(REFERENCE_KEYS, key)) {
      // fvcore and detectron2 configs inherit with _BASE_; yacs, which the reference uses, has no such key.
      const hint = key === '_BASE_' ? ' (inheritance, as in detectron2: the reference\'s yacs has none, so write the fields out)' : '';
      throw new ConfigError(`Unknown key ${shortened(key)}${hint}. Top-level keys are ${Object.keys(REFERENCE_KEYS).join(', ')}`);
    }
    const keys = REFERENCE_KEYS[key];
    if (!keys) continue;
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      throw new ConfigError(`${key} must be a mapping of ${keys.join(', ')}, got ${shownYaml(value)}`);
    }
    const unknown = Object.keys(value).filter((k) => !keys.includes(k));
    if (unknown.length > 0) {
      throw new ConfigError(`Unknown key${unknown.length > 1 ? 's' : ''} ${someOf(unknown.map((k) => `${key}.${k}`))}. ${key} keys are ${keys.join(', ')}`);
    }
  }
}

/** Joints of each dataset's keypoint definition. */
const DATASET_JOINTS: Readonly<Record<DatasetKind, number>> = { coco: 17, crowdpose: 14 };

const PYTHON_SCALARS: Readonly<Record<string, unknown>> = { True: true, False: false, None: null };

/**
 * A string value as yacs reads it: the reference evaluates every string of a YAML file as a
 * Python literal when it can (`ast.literal_eval`), so the official files' `(True, True)` is a
 * tuple. Scalars and flat tuples or lists of them are decoded; anything else stays a string.
 */
function pythonLiteral(text: string): unknown {
  const scalar = (s: string): { value: unknown } | undefined => {
    const t = s.trim();
    if (Object.hasOwn(PYTHON_SCALARS, t)) return { value: PYTHON_SCALARS[t] };
    if (/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(t)) return { value: Number(t) };
    const quoted = /^'([^'\\]*)'$|^"([^"\\]*)"$/.exec(t);
    return quoted ? { value: quoted[1] ?? quoted[2] } : undefined;
  };
  const t = text.trim();
  const tuple = /^\((.*)\)$/s.exec(t);
  const inner = tuple?.[1] ?? /^\[(.*)\]$/s.exec(t)?.[1];
  if (inner === undefined) {
    const decoded = scalar(t);
    return decoded ? decoded.value : text;
  }
  if (inner.trim() === '') return [];
  const items = inner.split(',');
  const trailingComma = items.length > 1 && items.at(-1)!.trim() === '';
  if (trailingComma) items.pop();
  const values = items.map(scalar);
  if (!values.every((v) => v !== undefined)) return text;
  // In Python, parentheses around one item without a comma are only grouping: (1) is 1.
  if (tuple && values.length === 1 && !trailingComma) return values[0]!.value;
  return values.map((v) => v!.value);
}

function at(root: Yaml, path: string): unknown {
  let node: unknown = root;
  for (const key of path.split('.')) {
    if (node === null || typeof node !== 'object' || !(key in (node as Yaml))) {
      if (path in REFERENCE_DEFAULTS) return REFERENCE_DEFAULTS[path];
      throw new ConfigError(`Missing configuration field ${path}`);
    }
    node = (node as Yaml)[key];
  }
  return node;
}

/**
 * A parsed YAML document as yacs reads it: every string value of a mapping a Python literal
 * where it is one (`pythonLiteral`). Only files are read so: a configuration object's '17' is a
 * string, as its type says, and refused.
 */
function withPythonLiterals(node: unknown): unknown {
  if (typeof node === 'string') return pythonLiteral(node);
  if (node === null || typeof node !== 'object' || Array.isArray(node)) return node;
  return Object.fromEntries(Object.entries(node).map(([key, value]) => [key, withPythonLiterals(value)]));
}

function optional(root: Yaml, path: string): unknown {
  try {
    return at(root, path);
  } catch {
    return undefined;
  }
}

function int(root: Yaml, path: string, min = 0): number {
  const v = at(root, path);
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
    throw new ConfigError(`${path} must be an integer >= ${min}, got ${shownYaml(v)}`);
  }
  return v;
}

function num(root: Yaml, path: string): number {
  const v = at(root, path);
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    throw new ConfigError(`${path} must be a number, got ${shownYaml(v)}`);
  }
  return v;
}

function bool(root: Yaml, path: string): boolean {
  const v = at(root, path);
  if (typeof v !== 'boolean') throw new ConfigError(`${path} must be true or false, got ${shownYaml(v)}`);
  return v;
}

function list<T>(root: Yaml, path: string, check: (x: unknown) => x is T, what: string): T[] {
  const v = at(root, path);
  if (!Array.isArray(v) || !v.every(check)) {
    throw new ConfigError(`${path} must be a list of ${what}, got ${shownYaml(v)}`);
  }
  // A copy: a configuration object's list, changed later, leaves the checked one as it was.
  return [...v];
}

function stage(root: Yaml, name: string): StageSpec {
  const p = `MODEL.EXTRA.${name}`;
  const numBranches = int(root, `${p}.NUM_BRANCHES`, 1);
  const block = at(root, `${p}.BLOCK`);
  if (block !== 'BASIC' && block !== 'BOTTLENECK') {
    throw new ConfigError(`${p}.BLOCK must be BASIC or BOTTLENECK, got ${shownYaml(block)}`);
  }
  const fuse = optional(root, `${p}.FUSE_METHOD`) ?? 'SUM';
  if (fuse !== 'SUM') throw new ConfigError(`${p}.FUSE_METHOD must be SUM, got ${shownYaml(fuse)}`);
  const numBlocks = list(root, `${p}.NUM_BLOCKS`, isPositiveInt, 'positive integers');
  const numChannels = list(root, `${p}.NUM_CHANNELS`, isPositiveInt, 'positive integers');
  for (const [field, values] of [['NUM_BLOCKS', numBlocks], ['NUM_CHANNELS', numChannels]] as const) {
    if (values.length !== numBranches) {
      throw new ConfigError(`${p}.${field} has ${values.length} entries but NUM_BRANCHES is ${numBranches}`);
    }
  }
  return { numModules: int(root, `${p}.NUM_MODULES`, 1), numBranches, block, numBlocks, numChannels, fuseMethod: 'SUM' };
}

function datasetKind(root: Yaml): DatasetKind {
  const name = String(at(root, 'DATASET.DATASET')).toLowerCase();
  if (name.startsWith('coco')) return 'coco';
  if (name.startsWith('crowd')) return 'crowdpose';
  throw new ConfigError(`DATASET.DATASET ${JSON.stringify(name)} is not supported; must be one of [coco_kpt, crowd_pose_kpt]`);
}

/** A true or false per network output (`outputs` of them; a longer list is cut, as the reference reads it). */
function perOutput(root: Yaml, path: string, outputs: number): boolean[] {
  const v = list(root, path, isFlag, 'booleans');
  if (v.length < outputs) {
    throw new ConfigError(`${path} has ${v.length} entries but the network has ${outputs} outputs (1 + NUM_DECONVS)`);
  }
  return v.slice(0, outputs);
}

/** The network of a parsed configuration (MODEL and LOSS.WITH_AE_LOSS), checked field by field. */
function modelFromYaml(root: Yaml): ModelSpec {
  const deconvPath = 'MODEL.EXTRA.DECONV';
  const numDeconvs = int(root, `${deconvPath}.NUM_DECONVS`);
  const deconv: DeconvSpec = {
    numDeconvs,
    numChannels: numDeconvs ? list(root, `${deconvPath}.NUM_CHANNELS`, isPositiveInt, 'positive integers') : [],
    kernelSize: numDeconvs ? list(root, `${deconvPath}.KERNEL_SIZE`, isPositiveInt, 'positive integers') : [],
    numBasicBlocks: numDeconvs ? int(root, `${deconvPath}.NUM_BASIC_BLOCKS`) : 0,
    catOutput: numDeconvs ? list(root, `${deconvPath}.CAT_OUTPUT`, isFlag, 'booleans') : [],
  };
  for (const [field, values] of [['NUM_CHANNELS', deconv.numChannels], ['KERNEL_SIZE', deconv.kernelSize], ['CAT_OUTPUT', deconv.catOutput]] as const) {
    if (values.length < numDeconvs) {
      throw new ConfigError(`${deconvPath}.${field} has ${values.length} entries but NUM_DECONVS is ${numDeconvs}`);
    }
  }
  for (const k of deconv.kernelSize) {
    if (![2, 3, 4].includes(k)) throw new ConfigError(`${deconvPath}.KERNEL_SIZE must be 2, 3 or 4, got ${k}`);
  }
  const finalConvKernel = int(root, 'MODEL.EXTRA.FINAL_CONV_KERNEL', 1);
  if (finalConvKernel !== 1 && finalConvKernel !== 3) {
    throw new ConfigError(`MODEL.EXTRA.FINAL_CONV_KERNEL must be 1 or 3, got ${finalConvKernel}`);
  }
  return {
    name: MODEL_NAME,
    numJoints: int(root, 'MODEL.NUM_JOINTS', 1),
    tagPerJoint: bool(root, 'MODEL.TAG_PER_JOINT'),
    stages: ['STAGE2', 'STAGE3', 'STAGE4'].map((s) => stage(root, s)),
    finalConvKernel,
    deconv,
    withAeLoss: perOutput(root, 'LOSS.WITH_AE_LOSS', numDeconvs + 1),
  };
}

/** Builds a typed configuration from a parsed experiment YAML document. */
function configFromYaml(doc: unknown): ExperimentConfig {
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
    throw new ConfigError('An experiment configuration must be a YAML mapping with MODEL, DATASET and TEST sections');
  }
  const root = doc as Yaml;
  // Before the keys: a top-down HRNet file (pose_hrnet) would otherwise fail on its MODEL.IMAGE_SIZE.
  const modelName = optional(root, 'MODEL.NAME') ?? MODEL_NAME;
  if (modelName !== MODEL_NAME) {
    throw new ConfigError(`MODEL.NAME must be ${MODEL_NAME} (HigherHRNet), got ${shownYaml(modelName)}: this library runs no other network (pose_hrnet is the top-down HRNet of deep-high-resolution-net)`);
  }
  checkKeys(root);
  // A file of overrides alone, as if merged into a preset, would fail on a field deep in the network.
  if (optional(root, 'MODEL.EXTRA') == null) {
    throw new ConfigError('MODEL.EXTRA is missing: an experiment configuration spells out the network, as the official files do (the reference has no default for it); '
      + 'to change a preset\'s test settings, give them as options (--no-flip, --scales, --input-size; flipTest, scales, inputSize)');
  }
  const numJoints = int(root, 'MODEL.NUM_JOINTS', 1);
  const datasetJoints = int(root, 'DATASET.NUM_JOINTS', 1);
  if (numJoints !== datasetJoints) {
    throw new ConfigError(`MODEL.NUM_JOINTS (${numJoints}) and DATASET.NUM_JOINTS (${datasetJoints}) disagree`);
  }
  const kind = datasetKind(root);
  if (numJoints !== DATASET_JOINTS[kind]) {
    throw new ConfigError(`NUM_JOINTS is ${numJoints}, but DATASET.DATASET ${JSON.stringify(at(root, 'DATASET.DATASET'))} has ${DATASET_JOINTS[kind]} keypoints`);
  }
  const model = modelFromYaml(root);
  const numOutputs = model.deconv.numDeconvs + 1;
  const perTestOutput = (path: string): boolean[] => perOutput(root, path, numOutputs);
  const inputSize = int(root, 'DATASET.INPUT_SIZE', 1);
  const maxNumPeople = int(root, 'DATASET.MAX_NUM_PEOPLE', 1);
  const scaleFactor = list(root, 'TEST.SCALE_FACTOR', isPositive, 'positive numbers');
  if (scaleFactor.length === 0) throw new ConfigError('TEST.SCALE_FACTOR must list at least one scale');
  const test: TestSettings = {
    flipTest: bool(root, 'TEST.FLIP_TEST'),
    scaleFactor,
    adjust: bool(root, 'TEST.ADJUST'),
    refine: bool(root, 'TEST.REFINE'),
    project2image: bool(root, 'TEST.PROJECT2IMAGE'),
    detectionThreshold: num(root, 'TEST.DETECTION_THRESHOLD'),
    tagThreshold: num(root, 'TEST.TAG_THRESHOLD'),
    nmsKernel: int(root, 'TEST.NMS_KERNEL', 1),
    nmsPadding: int(root, 'TEST.NMS_PADDING'),
    maxNumPeople,
    useDetectionVal: bool(root, 'TEST.USE_DETECTION_VAL'),
    ignoreTooMuch: bool(root, 'TEST.IGNORE_TOO_MUCH'),
    withHeatmaps: perTestOutput('TEST.WITH_HEATMAPS'),
    withAe: perTestOutput('TEST.WITH_AE'),
    inputSize,
  };
  return { model, dataset: { kind, numJoints, inputSize, maxNumPeople }, test };
}

/**
 * A configuration given as an object (JavaScript callers, tools that build one), checked as its
 * YAML would be, field by field, with no defaults: errors name the YAML fields. Returns the
 * configuration the YAML reader makes of it. A file has one INPUT_SIZE and one MAX_NUM_PEOPLE,
 * an object two of each (`dataset`'s and `test`'s): they must agree, as one edited alone was
 * otherwise left out without a word.
 */
export function checkedConfig(config: ExperimentConfig): ExperimentConfig {
  const { model, dataset, test } = (config ?? {}) as Partial<ExperimentConfig>;
  try {
    checkFields(config, CONFIG_FIELDS, 'config');
    checkModelFields(model, 'config.model');
    checkFields(dataset, DATASET_FIELDS, 'config.dataset');
    checkDatasetKind(dataset);
    checkFields(test, TEST_SETTING_KEYS, 'config.test');
  } catch (err) {
    if (err instanceof ConfigError) throw new ConfigError(`configuration object: ${err.message}`);
    throw err;
  }
  const doc = {
    ...modelDoc(model),
    DATASET: { DATASET: dataset && { coco: 'coco_kpt', crowdpose: 'crowd_pose_kpt' }[dataset.kind], NUM_JOINTS: dataset?.numJoints, INPUT_SIZE: test?.inputSize, MAX_NUM_PEOPLE: test?.maxNumPeople },
    TEST: {
      FLIP_TEST: test?.flipTest, SCALE_FACTOR: test?.scaleFactor, ADJUST: test?.adjust, REFINE: test?.refine, PROJECT2IMAGE: test?.project2image,
      DETECTION_THRESHOLD: test?.detectionThreshold, TAG_THRESHOLD: test?.tagThreshold, NMS_KERNEL: test?.nmsKernel, NMS_PADDING: test?.nmsPadding,
      USE_DETECTION_VAL: test?.useDetectionVal, IGNORE_TOO_MUCH: test?.ignoreTooMuch, WITH_HEATMAPS: test?.withHeatmaps, WITH_AE: test?.withAe,
    },
  };
  try {
    // As a file's: `test.inputSize: 500` was otherwise refused as the inputSize option, never given.
    const checked = withTestSettingsChecked(configFromYaml(doc));
    checkDatasetAgrees(dataset!, checked.test);
    return checked;
  } catch (err) {
    if (err instanceof ConfigError) throw new ConfigError(`configuration object: ${err.message}`);
    throw err;
  }
}

/**
 * Refuses a configuration object's dataset kind other than the type's names: the YAML reader
 * takes any `coco…` name, and would take `['coco']` or `'COCO'` read as a file's.
 */
function checkDatasetKind(dataset: unknown): void {
  if (!isObject(dataset)) return;
  const { kind } = dataset;
  if (typeof kind !== 'string' || !Object.hasOwn(DATASET_JOINTS, kind)) {
    throw new ConfigError(`config.dataset.kind must be one of [${Object.keys(DATASET_JOINTS).join(', ')}], got ${shownValue(kind)}`);
  }
}

/**
 * Refuses a configuration object's input size or number of candidates (`dataset`'s) other than
 * the test settings', which inference uses.
 */
function checkDatasetAgrees(dataset: ExperimentConfig['dataset'], test: TestSettings): void {
  for (const field of ['inputSize', 'maxNumPeople'] as const) {
    if (dataset[field] !== test[field]) {
      throw new ConfigError(`config.dataset.${field} (${shownValue(dataset[field])}) and config.test.${field} (${shownValue(test[field])}) disagree: `
        + `inference uses config.test.${field} (${TEST_SETTING_KEYS[field]} in a file sets both); give both the same value`);
    }
  }
}

/**
 * The fields of each part of a configuration object. Any other (a misspelt `scaleFactors`) is
 * refused, as a YAML file's unknown key is, instead of being left out without a word.
 */
const CONFIG_FIELDS: Readonly<Record<keyof ExperimentConfig, true>> = { model: true, dataset: true, test: true };
const MODEL_FIELDS: Readonly<Record<keyof ModelSpec, true>> = {
  name: true, numJoints: true, tagPerJoint: true, stages: true, finalConvKernel: true, deconv: true, withAeLoss: true,
};
const STAGE_FIELDS: Readonly<Record<keyof StageSpec, true>> = { numModules: true, numBranches: true, block: true, numBlocks: true, numChannels: true, fuseMethod: true };
const DECONV_FIELDS: Readonly<Record<keyof DeconvSpec, true>> = { numDeconvs: true, numChannels: true, kernelSize: true, numBasicBlocks: true, catOutput: true };
const DATASET_FIELDS: Readonly<Record<keyof ExperimentConfig['dataset'], true>> = { kind: true, numJoints: true, inputSize: true, maxNumPeople: true };

/** The stages of `model.stages`, in order: the reference builds these three. */
const STAGE_NAMES = ['STAGE2', 'STAGE3', 'STAGE4'] as const;

/**
 * Refuses `part` (at `path`) when it is no object (null, a list), and a field of it that `known`
 * does not list. A part left out is left to its fields' checks, which name the first one missing.
 */
function checkFields(part: unknown, known: Readonly<Record<string, unknown>>, path: string): void {
  if (part === undefined) return;
  if (!isObject(part)) throw new ConfigError(`${path} must be an object with ${Object.keys(known).join(', ')}, got ${shownValue(part)}`);
  const unknown = Object.keys(part).filter((field) => !Object.hasOwn(known, field));
  if (unknown.length > 0) {
    throw new ConfigError(`unknown field${unknown.length > 1 ? 's' : ''} ${unknown.map((field) => `${path}.${field}`).join(', ')}; the fields of ${path} are ${Object.keys(known).join(', ')}`);
  }
}

/**
 * Refuses fields no network configuration has, and stages past the three the network has (a
 * fourth would be left out; a missing one is named by its fields' checks).
 */
function checkModelFields(model: unknown, path: string): void {
  checkFields(model, MODEL_FIELDS, path);
  if (!isObject(model)) return;
  checkFields(model.deconv, DECONV_FIELDS, `${path}.deconv`);
  const { stages } = model;
  if (stages === undefined) return;
  if (!Array.isArray(stages) || stages.length > STAGE_NAMES.length) {
    const got = Array.isArray(stages) ? `${stages.length} stages` : shownValue(stages);
    throw new ConfigError(`${path}.stages must be a list of the ${STAGE_NAMES.length} stages MODEL.EXTRA.${STAGE_NAMES.join(', ')}, got ${got}`);
  }
  stages.forEach((stage, i) => checkFields(stage, STAGE_FIELDS, `${path}.stages[${i}]`));
}

/** The MODEL and LOSS sections of the YAML that `model` would be read from (every field, undefined where missing: no defaults). */
function modelDoc(model: Partial<ModelSpec> | undefined): Yaml {
  const stage = (s: StageSpec | undefined) => ({
    NUM_MODULES: s?.numModules, NUM_BRANCHES: s?.numBranches, BLOCK: s?.block, NUM_BLOCKS: s?.numBlocks, NUM_CHANNELS: s?.numChannels, FUSE_METHOD: s?.fuseMethod,
  });
  const deconv = model?.deconv;
  return {
    MODEL: {
      NAME: model?.name,
      NUM_JOINTS: model?.numJoints,
      TAG_PER_JOINT: model?.tagPerJoint,
      EXTRA: {
        FINAL_CONV_KERNEL: model?.finalConvKernel,
        ...Object.fromEntries(STAGE_NAMES.map((name, i) => [name, stage(model?.stages?.[i])])),
        DECONV: { NUM_DECONVS: deconv?.numDeconvs, NUM_CHANNELS: deconv?.numChannels, KERNEL_SIZE: deconv?.kernelSize, NUM_BASIC_BLOCKS: deconv?.numBasicBlocks, CAT_OUTPUT: deconv?.catOutput },
      },
    },
    LOSS: { WITH_AE_LOSS: model?.withAeLoss },
  };
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** What a configuration argument that is not one was given as, and what gives one (`part`: `.model` for the network's). */
function misgivenConfig(value: unknown, part = ''): string {
  if (typeof value === 'string') return `got the string ${JSON.stringify(value)}: presetConfig(name)${part} is a preset's, loadConfigFile(path)${part} a YAML file's`;
  return `got ${typeName(value)}: presetConfig(name)${part} or loadConfigFile(path)${part} gives one`;
}

/**
 * `config` given to the public function `who`, checked as `checkedConfig` checks it, and its
 * checked copy: a ConfigError naming the argument where a deeper TypeError or a network of NaN
 * channels would follow. Its model part alone (`config.model` for `config`) is named so.
 */
export function configArgument(config: ExperimentConfig, who: string): ExperimentConfig {
  if (!isObject(config)) throw new ConfigError(`${who}: config must be an experiment configuration { model, dataset, test }, ${misgivenConfig(config)}`);
  if (!('model' in config) && 'stages' in config) throw new ConfigError(`${who}: config must be the whole experiment configuration { model, dataset, test }, got its model part (config.model): give config itself`);
  try {
    return checkedConfig(config);
  } catch (err) {
    if (err instanceof ConfigError) throw new ConfigError(`${who}: ${err.message}`);
    throw err;
  }
}

/** `model` given to the public function `who` (a network configuration, `config.model`), checked as its YAML would be, and its checked copy. */
export function modelArgument(model: ModelSpec, who: string): ModelSpec {
  if (!isObject(model)) throw new ConfigError(`${who}: model must be a network configuration (config.model), ${misgivenConfig(model, '.model')}`);
  if ('model' in model && !('stages' in model)) throw new ConfigError(`${who}: model must be the network configuration, config.model, not the whole experiment configuration`);
  try {
    checkModelFields(model, 'model');
    const root = modelDoc(model);
    const name = at(root, 'MODEL.NAME');
    if (name !== MODEL_NAME) throw new ConfigError(`MODEL.NAME must be ${MODEL_NAME} (HigherHRNet), got ${shownValue(name)}`);
    return modelFromYaml(root);
  } catch (err) {
    if (err instanceof ConfigError) throw new ConfigError(`${who}: model object: ${err.message}`);
    throw err;
  }
}

/** The YAML key of each test setting. */
const TEST_SETTING_KEYS: Readonly<Record<keyof TestSettings, string>> = {
  flipTest: 'TEST.FLIP_TEST', scaleFactor: 'TEST.SCALE_FACTOR', adjust: 'TEST.ADJUST', refine: 'TEST.REFINE', project2image: 'TEST.PROJECT2IMAGE',
  detectionThreshold: 'TEST.DETECTION_THRESHOLD', tagThreshold: 'TEST.TAG_THRESHOLD', nmsKernel: 'TEST.NMS_KERNEL', nmsPadding: 'TEST.NMS_PADDING',
  maxNumPeople: 'DATASET.MAX_NUM_PEOPLE', useDetectionVal: 'TEST.USE_DETECTION_VAL', ignoreTooMuch: 'TEST.IGNORE_TOO_MUCH',
  withHeatmaps: 'TEST.WITH_HEATMAPS', withAe: 'TEST.WITH_AE', inputSize: 'DATASET.INPUT_SIZE',
};

/** A test setting named in a configuration file's words: its YAML key. */
const yamlKey = (setting: string): string => TEST_SETTING_KEYS[setting as keyof TestSettings] ?? setting;

/**
 * What YAML text cannot hold, as PyYAML (the reference's reader) refuses it: control characters
 * other than tab and line ends. A binary file read as text is full of them.
 */
const NOT_YAML_CHARACTER = /[^\t\n\r\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\u{10000}-\u{10ffff}]/u;

/** Where `text` holds a character YAML text cannot, in words; undefined when it holds none. */
function notYamlCharacter(text: string): string | undefined {
  const found = NOT_YAML_CHARACTER.exec(text);
  if (!found) return undefined;
  const before = text.slice(0, found.index);
  const line = before.split('\n').length;
  const code = found[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0');
  return `U+${code} at line ${line}, column ${found.index - before.lastIndexOf('\n')}`;
}

/**
 * Parses experiment YAML text. Test settings the estimator would refuse are refused here, by
 * their YAML key: a file's mistake is then not reported as an option the user never gave.
 */
export function parseConfig(yamlText: string): ExperimentConfig {
  // The YAML parser would quote the binary bytes around it in its message.
  const character = notYamlCharacter(yamlText);
  if (character !== undefined) throw new ConfigError(`Not YAML text: it holds the control character ${character}, which YAML text cannot hold (binary data?)`);
  let doc: unknown;
  try {
    // YAML 1.1, as the reference's PyYAML reads it: `FLIP_TEST: yes` is true, `<<` merges a mapping.
    doc = parseYaml(yamlText, { version: '1.1' });
  } catch (err) {
    throw new ConfigError(`Not a valid YAML experiment configuration: ${(err as Error).message}`);
  }
  return withTestSettingsChecked(configFromYaml(withPythonLiterals(doc)));
}

/** `config`, once its test settings are those the estimator takes: a ConfigError naming the YAML key of the first that is not. */
function withTestSettingsChecked(config: ExperimentConfig): ExperimentConfig {
  const problem = testSettingsProblem(config.test);
  if (problem) {
    throw new ConfigError(`${TEST_SETTING_KEYS[problem.field]} must be ${problem.allowed(yamlKey)}, got ${shownYaml(config.test[problem.field])}`);
  }
  return config;
}

/**
 * More than any experiment configuration holds (the official ones are about 3 KB): a larger file
 * is another one (annotations, say), which the YAML parser would take minutes over.
 */
const CONFIG_MAX_BYTES = 1 << 20;

const PYTORCH_CHECKPOINT = 'a PyTorch checkpoint is: give it as the weights (--weights), not as the configuration';

/** Binary files given as the configuration by mistake, by their first bytes, and what they are. */
const BINARY_FILES: readonly (readonly [readonly number[], string])[] = [
  [[0x50, 0x4b, 0x03, 0x04], `a zip archive, as ${PYTORCH_CHECKPOINT}`],
  [[0x80], `a Python pickle, as ${PYTORCH_CHECKPOINT}`],
  [[0x1f, 0x8b], 'gzip-compressed: decompress it (gunzip), or give it as <(zcat FILE)'],
  [[0x89, 0x50, 0x4e, 0x47], 'a PNG image'],
  [[0xff, 0xd8, 0xff], 'a JPEG image'],
];

/**
 * What the binary file whose first bytes are `start` is, when they tell. A safetensors file
 * begins with its JSON header's length, 8 bytes little-endian (its high ones 0), then `{"`.
 */
function binaryFileKind(start: Uint8Array): string | undefined {
  const known = BINARY_FILES.find(([magic]) => magic.every((b, i) => start[i] === b));
  if (known) return known[1];
  const isSafetensors = [4, 5, 6, 7].every((i) => start[i] === 0) && start[8] === 0x7b && start[9] === 0x22;
  return isSafetensors ? 'a safetensors file, as weights are: give it as the weights (--weights), not as the configuration' : undefined;
}

/**
 * A configuration file's text: UTF-8, or UTF-16 by its byte-order mark (what Windows PowerShell's
 * `>` and Notepad's "Unicode" write), which read as UTF-8 would be no YAML mapping at all. A
 * binary file is refused here, saying what it is, where the YAML parser would quote its bytes.
 */
function configText(bytes: Uint8Array): string {
  const kind = binaryFileKind(bytes);
  if (kind !== undefined) throw new ConfigError(`not a YAML text file: it is ${kind}`);
  const encoding = bytes[0] === 0xff && bytes[1] === 0xfe ? 'utf-16le' : bytes[0] === 0xfe && bytes[1] === 0xff ? 'utf-16be' : 'utf-8';
  try {
    return new TextDecoder(encoding, { fatal: true }).decode(bytes);
  } catch {
    // As PyYAML, which reads UTF-8 or UTF-16 (by its mark) and nothing else.
    throw new ConfigError(`not a YAML text file: it is not ${encoding === 'utf-8' ? 'UTF-8 (nor UTF-16 with a byte order mark)' : encoding.toUpperCase()} text (binary data?)`);
  }
}

/** Reads an experiment YAML file. */
export function loadConfigFile(path: string): ExperimentConfig {
  // fs takes a number for a file descriptor, a URL or a Buffer too: another file, or a TypeError from inside.
  if (typeof path !== 'string') throw new ConfigError(`loadConfigFile: path must be the path of an experiment YAML file (a string), got ${typeName(path)}`);
  let bytes: Buffer;
  try {
    bytes = readFileUpTo(path, CONFIG_MAX_BYTES);
  } catch (err) {
    const kind = err instanceof ReadBoundError ? binaryFileKind(err.start) : undefined;
    if (kind !== undefined) throw new ConfigError(`${path}: not a YAML text file: it is ${kind}`, { cause: err });
    // Node's words for a folder ('EISDIR: illegal operation on a directory, read') do not say which mistake it is.
    const why = (err as NodeJS.ErrnoException).code === 'EISDIR' ? 'a folder, not a YAML file'
      : err instanceof ReadBoundError && err.reason === 'size' ? `${err.message}: an experiment configuration is a YAML file of a few KB` : (err as Error).message;
    throw new ConfigError(`Cannot read configuration ${path}: ${why}`, { cause: err });
  }
  try {
    return parseConfig(configText(bytes));
  } catch (err) {
    if (err instanceof ConfigError) throw new ConfigError(`${path}: ${err.message}`);
    throw err;
  }
}

/** Number of tag channels per output: J when tags are per joint, else 1. */
function tagDim(model: ModelSpec): number {
  return model.tagPerJoint ? model.numJoints : 1;
}

/** Channels of network output i: J heatmaps, plus tag maps where that output has AE loss. */
export function outputChannels(model: ModelSpec, i: number): number {
  return model.numJoints + (model.withAeLoss[i] ? tagDim(model) : 0);
}
