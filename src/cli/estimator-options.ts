/** From command-line options to `createEstimator` options, shared by predict, eval and video. */
import type { Command } from 'commander';
import { ConfigError } from '../config/experiment.js';
import { addModelOptions, addPrecisionOptions, parseFiniteNumber, parseNonNegativeNumber, parsePositiveInteger, parseScales, type ModelCliOptions, type PrecisionCliOptions } from './options.js';
import { expandImageArguments } from './inputs.js';
import type { EstimatorOptions } from '../estimator.js';

/** The test-time settings keep the estimator's option names, except `--flip` for `flipTest`. */
export interface PoseCliOptions
  extends ModelCliOptions, PrecisionCliOptions,
    Pick<EstimatorOptions, 'scales' | 'adjust' | 'refine' | 'detectionThreshold' | 'tagThreshold' | 'maxPeople' | 'maxPoses' | 'minPoseScore'> {
  flip?: boolean;
}

/** Model options, precision, plus the test-time settings. */
export function addPoseOptions(command: Command): Command {
  return addPrecisionOptions(addModelOptions(command))
    .option('--flip', 'flip test: average with the mirrored image (configuration default)')
    .option('--no-flip', 'no flip test')
    .option('--scales <list>', 'test scales, e.g. 2,1,0.5 (default: the configuration, 1)', parseScales)
    .option('--no-adjust', 'no sub-pixel adjustment of joint positions')
    .option('--no-refine', 'no refinement of undetected joints')
    .option('--detection-threshold <v>', 'minimum heatmap value for a joint', parseNonNegativeNumber)
    .option('--tag-threshold <v>', 'maximum tag distance within a person', parseNonNegativeNumber)
    .option('--max-people <n>', 'candidates per joint (the reference\'s MAX_NUM_PEOPLE top-k; not a cap on people)', parsePositiveInteger);
}

/**
 * Which people to report (predict, video; not eval, whose scores follow the reference's
 * output, every person).
 */
export function addSelectionOptions(command: Command): Command {
  return command
    .option('--max-poses <n>', 'at most N people per image, the best by score (default: every one)', parsePositiveInteger)
    // Any number, as the API's minPoseScore: scores are never below 0, so 0 or less keeps every one.
    .option('--min-pose-score <v>', 'only people scoring at least this (default: every one)', parseFiniteNumber);
}

/**
 * The images named by `--calibrate`, undefined without it. `--calibrate` without `--precision
 * int8`, or naming no image, is an error, not a silently uncalibrated or float model.
 */
export async function calibrationImages(options: PrecisionCliOptions): Promise<string[] | undefined> {
  if (!options.calibrate) return undefined;
  if (options.precision !== 'int8') throw new ConfigError('--calibrate calibrates an int8 model: add --precision int8');
  try {
    return await expandImageArguments(options.calibrate);
  } catch (err) {
    throw err instanceof ConfigError ? new ConfigError(`--calibrate: ${err.message}`) : err;
  }
}

/**
 * commander sets `adjust`/`refine` to true when their `--no-` form is absent and `flip` only
 * when given; leave unset options to the configuration.
 */
export async function estimatorOptions(options: PoseCliOptions, extra: Partial<EstimatorOptions> = {}): Promise<EstimatorOptions> {
  if (!options.weights) {
    throw new ConfigError('--weights is required: a model-zoo checkpoint (`higher-pose weights list`) or an .onnx export');
  }
  const calibration = await calibrationImages(options);
  return {
    config: options.config,
    preset: options.config === undefined ? (options.preset ?? undefined) : options.preset,
    weights: options.weights,
    backend: options.backend,
    tfjsBackend: options.tfjsBackend,
    device: options.device,
    threads: options.threads,
    precision: options.precision,
    calibrationImages: calibration,
    inputSize: options.inputSize,
    flipTest: options.flip,
    scales: options.scales,
    adjust: options.adjust === false ? false : undefined,
    refine: options.refine === false ? false : undefined,
    detectionThreshold: options.detectionThreshold,
    tagThreshold: options.tagThreshold,
    maxPeople: options.maxPeople,
    maxPoses: options.maxPoses,
    minPoseScore: options.minPoseScore,
    ...extra,
  };
}
