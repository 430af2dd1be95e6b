/** Option parsing shared by the commands that run a model. */
import { fstatSync, statSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { ConfigError } from '../config/experiment.js';
import { makeFolders, outputFileProblem, sameFile } from '../io/atomic.js';
import { isConfigFileName, PRESET_NAMES, type PresetName } from '../config/presets.js';
import { BACKENDS, type BackendName } from '../model/load.js';
import { BROWSER_BACKENDS_NOTE, TFJS_BACKENDS, type TfjsBackendName } from '../backend/tfjs/backend-name.js';
import { PRECISIONS, type Precision } from '../model/quantize.js';
import { EXECUTION_PROVIDERS, type ExecutionProvider } from '../backend/onnx/session.js';
import { isPositiveInt } from '../values.js';

export interface ModelCliOptions {
  config?: string;
  preset?: PresetName;
  weights?: string;
  inputSize?: number;
  backend?: BackendName;
  tfjsBackend?: TfjsBackendName;
  device?: ExecutionProvider;
  threads?: number;
}

export function parsePositiveInteger(value: string): number {
  const n = Number(value);
  if (!isPositiveInt(n)) throw new InvalidArgumentError(`expected a positive integer, got ${value}`);
  return n;
}

/** A `--config` path: '-' was looked for as a file named '-' ("ENOENT"). */
function parseConfigPath(value: string): string {
  if (value === '-') throw new InvalidArgumentError("the configuration is read from a YAML file, not stdin ('-'): give its path (a pipe's too: --config <(...))");
  return value;
}

/** A network input size: a positive multiple of 64 (the reference aligns sides to it). */
export function parseInputSize(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 64 || n % 64 !== 0) throw new InvalidArgumentError(`expected a positive multiple of 64, got ${value}`);
  return n;
}

export function parseNonNegativeNumber(value: string): number {
  const n = value.trim() === '' ? NaN : Number(value);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`expected a number >= 0, got ${value}`);
  return n;
}

/** Any finite number, negative too: `-0.5` is a value here, not an option. */
export function parseFiniteNumber(value: string): number {
  const n = value.trim() === '' ? NaN : Number(value);
  if (!Number.isFinite(n)) throw new InvalidArgumentError(`expected a number, got ${value}`);
  return n;
}

export function parsePositiveNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`expected a number > 0, got ${value}`);
  return n;
}

/** `2,1,0.5` → [2, 1, 0.5]. */
export function parseScales(value: string): number[] {
  const scales = value.split(',').map((s) => Number(s.trim()));
  if (scales.length === 0 || scales.some((s) => !Number.isFinite(s) || s <= 0)) {
    throw new InvalidArgumentError(`expected comma-separated positive scales such as 2,1,0.5, got ${value}`);
  }
  return scales;
}

/** A parser taking one of `allowed`; `note` follows the list in the error (why an expected value is not there). */
function choice<T extends string>(what: string, allowed: readonly T[], note?: string) {
  return (value: string): T => {
    if (!(allowed as readonly string[]).includes(value)) {
      throw new InvalidArgumentError(`Unsupported ${what}: ${value}. Must be one of [${allowed.join(', ')}]${note === undefined ? '' : ` (${note})`}`);
    }
    return value as T;
  };
}

/** `--preset`'s parser: a YAML file given as the preset is told to be given as `--config`. */
function presetChoice(value: string): PresetName {
  return choice<PresetName>('preset', PRESET_NAMES, isConfigFileName(value) ? 'a configuration file is given as --config' : undefined)(value);
}

/** `--precision` and the repeatable `--calibrate`. */
export interface PrecisionCliOptions {
  precision?: Precision;
  calibrate?: string[];
}

/** `--precision fp32|int8` and `--calibrate PATH` (repeatable: files, folders, glob patterns). */
export function addPrecisionOptions(command: Command): Command {
  return command
    .option('--precision <p>', 'fp32 (default) or int8: 8-bit weights and activations calibrated on --calibrate images (README, Reduced precision)', choice<Precision>('precision', PRECISIONS))
    .option('--calibrate <path>', 'with --precision int8: calibration images, a file, folder or glob pattern (repeatable)', (value: string, previous: string[] = []) => [...previous, value]);
}

/** Which model: `--config | --preset` and `--weights`. */
export function addModelSourceOptions(command: Command, weights = 'checkpoint (.pth from the model zoo, see `higher-pose weights list`) or an ONNX export (.onnx)'): Command {
  return command
    .option('--config <yaml>', 'official experiment configuration (YAML)', parseConfigPath)
    .option('--preset <name>', `built-in configuration: ${PRESET_NAMES.join(', ')}`, presetChoice)
    .option('--weights <file>', weights);
}

/** The model and how to run it: adds `--input-size`, `--device`, `--threads`. */
export function addModelOptions(command: Command): Command {
  return addModelSourceOptions(command)
    .option('--input-size <n>', 'network input size, a positive multiple of 64 (overrides the configuration)', parseInputSize)
    .option('--backend <name>', 'onnxruntime (default), tfjs (TensorFlow.js, if installed) or auto', choice<BackendName>('backend', BACKENDS))
    .option('--tfjs-backend <name>', 'with --backend tfjs: tensorflow (tfjs-node[-gpu]), wasm or cpu', choice<TfjsBackendName>('tfjs backend', TFJS_BACKENDS, BROWSER_BACKENDS_NOTE))
    .option('--device <device>', 'cpu, webgpu (a GPU through Vulkan on Linux), or cuda with the CUDA build of onnxruntime-node (or tfjs-node-gpu)', choice<ExecutionProvider>('device', EXECUTION_PROVIDERS))
    .option('--threads <n>', 'ONNX Runtime threads per operator', parsePositiveInteger);
}

/**
 * Reports a mistake in the options typed, found before any work: on the command line a usage error
 * (`usageMistake`), for the API's callers a ConfigError (`configMistake`).
 */
export type UsageMistake = (message: string) => never;

export const configMistake: UsageMistake = (message) => {
  throw new ConfigError(message);
};

/** The mistakes of `command`'s options as usage errors (exit 2). */
export const usageMistake = (command: Command): UsageMistake => (message) => usageError(command, message);

/**
 * Refuses, before any work, an output file that an option names and that could not be written: a
 * file where one of its folders would be, a mistake in the path typed, told by `mistake` (`--out
 * PATH: FILE is a file, where NEEDS; give another path`, NEEDS saying what needs the folder); a
 * folder under its name, a ConfigError. Missing folders are created when it is written.
 */
export async function checkOutputFile(path: string, option: string, needs: string, mistake: UsageMistake): Promise<void> {
  await refuseFileAboveOutput(path, option, needs, mistake);
  const problem = await outputFileProblem(path);
  if (problem) throw new ConfigError(`${option} ${path}: ${problem}`);
}

/**
 * The file-in-the-way half of `checkOutputFile`, for an output that is checked otherwise in its
 * command's own words (video's); an output not given (`path` undefined) has none.
 */
export async function refuseFileAboveOutput(path: string | undefined, option: string, needs: string, mistake: UsageMistake): Promise<void> {
  if (path === undefined) return;
  const file = await fileInTheWay(dirname(path));
  if (file !== undefined) mistake(`${option} ${path}: ${file} is a file, where ${needs}; give another path`);
}

/**
 * Refuses, before any work, an output folder that an option names (made with its parents when
 * missing) that is a file, or has one part-way along its path, as a mistake in the path typed,
 * told by `mistake`: `--out PATH is a file, where NEEDS; ...` or `--out PATH: FILE is a file, ...`.
 */
export async function checkOutputFolder(path: string, option: string, needs: string, mistake: UsageMistake): Promise<void> {
  const file = await fileInTheWay(path);
  if (file === undefined) return;
  mistake(`${option} ${path}${resolve(file) === resolve(path) ? '' : `: ${file}`} is a file, where ${needs}; give a folder, which is made if missing`);
}

/**
 * The file in the way of the folder `folder` (made with its parents when missing): the path
 * itself, or the nearest folder above it that is there, when that is no folder; else undefined.
 */
async function fileInTheWay(folder: string): Promise<string | undefined> {
  // join: `file/` is the file's name too. Below a file, stat finds nothing (Node 22) or throws ENOTDIR (Node 20): look higher.
  for (let path = join(folder, '.'); ; path = dirname(path)) {
    const found = await stat(path).catch(() => undefined);
    if (found) return found.isDirectory() ? undefined : path;
    if (dirname(path) === path) return undefined;
  }
}

/** Refuses, before any work, an output that is the --weights file: the run would replace the model with what it writes. */
export async function refuseWritingOverWeights(path: string | undefined, option: string, weights: string): Promise<void> {
  if (path !== undefined && (await sameFile(path, weights))) throw new ConfigError(`${option} ${path} names the --weights file, which it would replace; give it a file of its own`);
}

/**
 * An output file option's value as parsed: `-` is standard output (the option's default), as for
 * most Unix tools. Applied in the action, not as the option's parser: commander stores a
 * parser's `undefined` as `''`, which a check for a file name then refuses.
 */
export const fileOrStdout = (value: string | undefined): string | undefined => (value === '-' ? undefined : value);

/** Creates the output folder an option names (with its parents); a path that cannot be one is a ConfigError. */
export function makeOutputFolder(path: string, option: string): void {
  try {
    makeFolders(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'EEXIST' || code === 'ENOTDIR' ? 'a file is in the way' : (code ?? String(err));
    throw new ConfigError(`${option} ${path}: cannot create the folder (${why})`);
  }
}

/** The exit status of a command line that cannot be parsed, as POSIX utilities (and the reference's argparse) give it. */
export const USAGE_STATUS = 2;

/**
 * Reports a mistake in what was typed (an option a run needs left out, options that do not go
 * together) as commander reports its own: the message, then the usage; exits {@link USAGE_STATUS}.
 */
export function usageError(command: Command, message: string): never {
  return command.error(`error: ${message}`, { code: 'higher-pose.usage', exitCode: USAGE_STATUS });
}

/**
 * '-' given where a command reads files by path: stdin for predict and video, elsewhere it was
 * looked for as a file named '-' after the model loaded. A usage error: `reads` says what the
 * argument names, `give` what to give instead.
 */
export function refuseStdin(command: Command, value: string, reads: string, give: string): void {
  if (value === '-') usageError(command, `${reads}, not stdin ('-'): ${give}`);
}

/**
 * `--weights`, which a run of a model needs: left out, a usage error saying what to give; so is
 * `-`, which was looked for as a file named '-' ("no such file"), and stdin read by the command's
 * `inputs`, `--config`, `--calibrate` or `--annotations` too (`refuseStdinTwice`).
 */
export function requireWeights<T extends Pick<ModelCliOptions, 'weights' | 'config'> & Pick<PrecisionCliOptions, 'calibrate'>>(
  command: Command,
  options: T,
  { what = 'a model-zoo checkpoint (`higher-pose weights list`) or an .onnx export', inputs = [], annotations }: { what?: string; inputs?: readonly string[]; annotations?: string } = {},
): asserts options is T & { weights: string } {
  const { weights, config } = options;
  if (!weights) usageError(command, `--weights is required: ${what}`);
  refuseStdin(command, weights, '--weights reads the model from a file', 'give its path (a pipe\'s too: --weights <(curl ...))');
  // Inputs that all read stdin read it once (predict - -), as do calibration images.
  const input = inputs.find(readsStdin);
  const calibration = options.calibrate?.find(readsStdin);
  refuseStdinTwice(command, [
    { name: `the input ${input === '-' ? "'-'" : input}`, path: input, asFile: '' },
    { name: `--config ${config}`, path: config, asFile: 'the configuration as a file (a pipe of its own too: --config <(...))' },
    { name: `--weights ${weights}`, path: weights, asFile: 'the weights as a file (a pipe of their own too: --weights <(curl ...))' },
    { name: `--calibrate ${calibration}`, path: calibration, asFile: 'the calibration images as files, or a folder of them' },
    { name: `--annotations ${annotations}`, path: annotations, asFile: 'the annotations as a file' },
  ]);
}

/** The names of this process's stdin: '-' as commands take it, and the system's. */
const STDIN_NAMES = ['-', '/dev/stdin', '/dev/fd/0', '/proc/self/fd/0'];

/** Whether `path` is one of the names of this process's stdin ('-', /dev/stdin, /dev/fd/0, /proc/self/fd/0). */
export const isStdinName = (path: string): boolean => STDIN_NAMES.includes(path);

/**
 * An input argument as the commands take it: any name of stdin as '-', read once as a stream. By
 * its path a pipe is no regular file (refused as one), and read twice (ffprobe, then ffmpeg) it gives nothing.
 */
export const stdinAsDash = (path: string): string => (isStdinName(path) ? '-' : path);

/** Whether reading `path` reads stdin: one of its names, or the very pipe or file it is (same device and inode). */
function readsStdin(path: string): boolean {
  if (isStdinName(path)) return true;
  try {
    const [file, stdin] = [statSync(path), fstatSync(0)];
    return !file.isDirectory() && file.dev === stdin.dev && file.ino === stdin.ino;
  } catch {
    return false;
  }
}

/**
 * Refuses, as a usage error, two of the `readers` (in the order they are read) that read stdin
 * (`predict - --weights /dev/stdin`): the first would take all its bytes, and the second fail on
 * none, in words about the wrong file. The second is to be given `asFile`.
 */
export function refuseStdinTwice(command: Command, readers: readonly { name: string; path: string | undefined; asFile: string }[]): void {
  const [first, second] = readers.filter(({ path }) => path !== undefined && readsStdin(path));
  if (second) usageError(command, `${first.name} and ${second.name} both read stdin, which gives its bytes once: give ${second.asFile}`);
}
