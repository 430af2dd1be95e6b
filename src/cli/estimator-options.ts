/** From command-line options to `createEstimator` options, shared by predict, eval, video and heatmaps. */
import type { Command } from 'commander';
import { ConfigError, type ExperimentConfig } from '../config/experiment.js';
import { checkOnnxWeights, resolveConfig } from '../model/load.js';
import { addModelOptions, addPrecisionOptions, parseFiniteNumber, parseNonNegativeNumber, parsePositiveInteger, parseScales, refuseStdin, usageError, type ModelCliOptions, type PrecisionCliOptions } from './options.js';
import { expandImageArguments } from './inputs.js';
import { checkEstimatorOptions, type EstimatorOptions } from '../estimator.js';
import type { OptionNamer } from '../config/option-names.js';

/** The test-time settings keep the estimator's option names, except `--flip` for `flipTest`. */
export interface PoseCliOptions
  extends ModelCliOptions, PrecisionCliOptions,
    Pick<EstimatorOptions, 'scales' | 'adjust' | 'refine' | 'detectionThreshold' | 'tagThreshold' | 'maxPeople' | 'maxPoses' | 'minPoseScore' | 'maxPixels'> {
  flip?: boolean;
}

/**
 * `--max-pixels N`, the estimator's `maxPixels`, for every command that reads the user's images:
 * a bound on what one image may cost, told from its header before decoding. `reads`: what the
 * command reads, as its help says it (`images`, `video frames`).
 */
export function addImageLimitOption(command: Command, reads = 'images'): Command {
  return command.option('--max-pixels <n>', `refuse ${reads} of more pixels, from their header before decoding (default: sharp's 268402689)`, parsePositiveInteger);
}

/** Model options, precision, the image bound (on what the command `reads`), plus the test-time settings. */
export function addPoseOptions(command: Command, reads?: string): Command {
  return addImageLimitOption(addPrecisionOptions(addModelOptions(command)), reads)
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
 * The images named by `--calibrate`, undefined without it. A folder or pattern naming no image
 * is an error, not a silently uncalibrated model.
 */
export async function calibrationImages(options: PrecisionCliOptions): Promise<string[] | undefined> {
  if (!options.calibrate) return undefined;
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
function toEstimatorOptions(options: PoseCliOptions, calibration: string[] | undefined, extra: Partial<EstimatorOptions>): EstimatorOptions {
  return {
    config: options.config,
    preset: options.preset,
    weights: options.weights!,
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
    maxPixels: options.maxPixels,
    ...extra,
  };
}

/** The `createEstimator` options of a command line, its `--calibrate` arguments expanded to the images they name. */
export async function estimatorOptions(options: PoseCliOptions, extra: Partial<EstimatorOptions> = {}): Promise<EstimatorOptions> {
  if (!options.weights) {
    throw new ConfigError('--weights is required: a model-zoo checkpoint (`higher-pose weights list`) or an .onnx export');
  }
  return toEstimatorOptions(options, await calibrationImages(options), extra);
}

/** The estimator's options that the command line names otherwise. */
const CLI_NAMES: Partial<Record<keyof EstimatorOptions, string>> = { flipTest: 'flip', calibrationImages: 'calibrate' };

/** The commander attribute of estimator option `name`. */
const cliKey = (name: string): string => CLI_NAMES[name as keyof EstimatorOptions] ?? name;

/** The option of `command` that sets estimator option `name`, as it was typed: `--scales 0.75,1`, `--no-flip`, `--calibrate`. */
function typedOption(command: Command, name: string): string {
  const key = cliKey(name);
  const value: unknown = command.getOptionValue(key);
  const option = command.options.find((o) => o.attributeName() === key && o.negate === (value === false));
  const flag = option?.long ?? name;
  if (typeof value === 'string' || typeof value === 'number') return `${flag} ${value}`;
  // Scales as typed; a list of paths would fill the line.
  if (Array.isArray(value) && value.every((v) => typeof v === 'number')) return `${flag} ${value.join(',')}`;
  return flag;
}

/** `--name` for estimator option `name`. */
function flagOf(command: Command, name: string): string {
  return command.options.find((o) => o.attributeName() === cliKey(name) && !o.negate)?.long ?? name;
}

/**
 * Estimator options in the command line's words: with a value, `--precision int8`; the options at
 * fault as typed (`--scales 0.75,1`); others by their flag (`give a smaller --input-size`).
 */
function cliOptionName(command: Command, atFault: readonly string[]): OptionNamer {
  return (name, value) => {
    if (value !== undefined) return `${flagOf(command, name)} ${value}`;
    return atFault.includes(name) ? typedOption(command, name) : flagOf(command, name);
  };
}

/**
 * The mistake in the command line that `error` reports, in the command line's terms, or
 * undefined when no option typed is at fault (a configuration file's value, say).
 */
function commandLineMistake(command: Command, error: ConfigError, options: EstimatorOptions): string | undefined {
  const fault = error.fault;
  if (!fault) return undefined;
  const typed = fault.options.some((name) => command.getOptionValueSource(cliKey(name)) === 'cli');
  // Or options a run needs, left out (neither --preset nor --config).
  const leftOut = fault.options.every((name) => options[name as keyof EstimatorOptions] === undefined);
  return typed || leftOut ? fault.explain(cliOptionName(command, fault.options)) : undefined;
}

/**
 * Checks the model and test options typed, as `createEstimator` checks them, before any work
 * (reading stdin, images or calibration folders, loading the model): options it would refuse
 * are a usage error naming them as typed (exit 2). A configuration file it cannot take stays a
 * ConfigError (a failed run, exit 1). Returns the configuration read, for the run to use
 * (`withConfigRead`) rather than read its file again.
 */
export function checkModelOptions(command: Command, options: PoseCliOptions, extra: Partial<EstimatorOptions> = {}): ExperimentConfig {
  for (const path of options.calibrate ?? []) refuseStdin(command, path, '--calibrate reads images from files, folders or patterns', 'give their path');
  const estimatorOptions = toEstimatorOptions(options, options.calibrate, extra);
  return inCommandLineTerms(command, estimatorOptions, () => {
    const config = resolveConfig(estimatorOptions);
    checkEstimatorOptions({ ...estimatorOptions, ...withConfigRead(options, config) });
    // The load would refuse it in the API's words; a quick look at the file tells it here.
    checkOnnxWeights(estimatorOptions.weights, estimatorOptions);
    return config;
  });
}

/**
 * The configuration `--config` or `--preset` names, for a command that runs no estimator
 * (export-tfjs): read before any work, and refused as `checkModelOptions` refuses it, a mistake
 * in the options typed (`--config tiny_coco`, both given) as a usage error naming them (exit 2).
 */
export function commandConfig(command: Command, options: ModelCliOptions): ExperimentConfig {
  const estimatorOptions = toEstimatorOptions(options, undefined, {});
  return inCommandLineTerms(command, estimatorOptions, () => resolveConfig(estimatorOptions));
}

/** Runs `check`; a ConfigError it throws over options typed is a usage error in the command line's words, others pass through. */
function inCommandLineTerms<T>(command: Command, estimatorOptions: EstimatorOptions, check: () => T): T {
  try {
    return check();
  } catch (err) {
    const mistake = err instanceof ConfigError ? commandLineMistake(command, err, estimatorOptions) : undefined;
    if (mistake !== undefined) usageError(command, mistake);
    throw err;
  }
}

/**
 * `createEstimator` options that give it the configuration `checkModelOptions` read from the
 * `--config` file, in place of the file: read twice it could change in between, and a pipe
 * (`--config <(...)`, `/dev/stdin`) gives its text once. A preset, read from no file, stays a name.
 */
export function withConfigRead(options: ModelCliOptions, config: ExperimentConfig): Pick<EstimatorOptions, 'config'> {
  return options.config === undefined ? {} : { config };
}
