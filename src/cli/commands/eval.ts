/**
 * `higher-pose eval`: benchmark a model on COCO or CrowdPose annotations (resumable, progress
 * on stderr), or score an existing results file with `--results`. The statistics table goes to
 * the command's stdout writer; progress, timing and problems to its stderr writer.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Writable } from 'node:stream';
import { Option, type Command } from 'commander';
import cliProgress from 'cli-progress';
import { ConfigError, type DatasetKind, type ExperimentConfig } from '../../config/experiment.js';
import { keypointDefinition } from '../../datasets.js';
import { readAnnotationFile, type AnnotationFile } from '../../eval/data.js';
import { EvalError, OtherDatasetError } from '../../eval/errors.js';
import { checkBenchmarkFiles, evaluateResultsFile, formatStatsTable, runBenchmark, type BenchmarkProgress, type BenchmarkReport } from '../../eval/benchmark.js';
import type { ImageInput, PoseEstimator } from '../../types.js';
import { sha256File } from '../../zoo/download.js';
import type { EstimatorOptions, StageTimes } from '../../estimator.js';
import { addPoseOptions, checkModelOptions, estimatorOptions, withConfigRead, type PoseCliOptions } from '../estimator-options.js';
import { checkOutputFile, parsePositiveInteger, refuseStdin, refuseStdinTwice, refuseWritingOverWeights, requireWeights, usageError, usageMistake } from '../options.js';
import { StageTotals } from '../stage-times.js';
import { Interrupted, signalsHeard, stoppedAtOnceOnSignal } from '../interrupted.js';
import { errorLine } from '../../values.js';
import { readWeightsArgument, weightsWithDigest } from '../weights-input.js';

export interface EvalDeps {
  createEstimator: (options: EstimatorOptions) => Promise<Pick<PoseEstimator, 'estimatePoses' | 'dispose'> & { imagesInFlight?: number }>;
}

interface EvalCliOptions extends PoseCliOptions {
  images?: string;
  annotations: string;
  out: string;
  journal?: string;
  results?: string;
  limit?: number;
  dataset?: DatasetKind;
}

export function registerEval(program: Command, deps: EvalDeps): void {
  addPoseOptions(program.command('eval'))
    .description('benchmark a model on COCO / CrowdPose keypoint annotations, or score a results file')
    .requiredOption('--annotations <file>', 'ground-truth annotation file (COCO format, e.g. person_keypoints_val2017.json)')
    .option('--images <dir>', 'folder of the annotated images (not needed with --results)')
    .option('--out <file>', 'results file to write (COCO results format)', 'results.json')
    .option('--journal <file>', 'resume journal (default: <out>.journal)')
    .option('--results <file>', 'score this existing results file (a JSON array, or JSON Lines as predict --format jsonl writes) instead of running the model')
    .option('--limit <n>', 'only the first N images (by id)', parsePositiveInteger)
    .addOption(new Option('--dataset <kind>', 'evaluation (default: from --config/--preset, else coco)').choices(['coco', 'crowdpose']))
    .action(async (options: EvalCliOptions, command: Command) => {
      refuseUnusedWithResults(options, command);
      await runEval(options, command, deps);
    });
}

/** What scoring a results file reads; every other option is for a run of a model. */
const RESULTS_MODE_OPTIONS = new Set(['results', 'annotations', 'dataset', 'limit']);

/**
 * With `--results` no model runs: options given for one (`--weights`, `--preset`, `--no-flip`,
 * `--out` …) would be silently ignored, so they are a usage error naming them (exit 2).
 */
function refuseUnusedWithResults(options: EvalCliOptions, command: Command): void {
  if (options.results === undefined) return;
  const values = options as unknown as Record<string, unknown>;
  const unused = command.options
    .filter((o) => {
      const key = o.attributeName();
      // `--flip` and `--no-flip` share one value: name the form that was typed.
      return !RESULTS_MODE_OPTIONS.has(key) && command.getOptionValueSource(key) === 'cli' && o.negate === (values[key] === false);
    })
    .map((o) => o.long!);
  if (unused.length === 0) return;
  command.error(`error: ${unused.join(', ')} cannot be used with --results, which scores an existing results file without running a model `
    + '(it reads --annotations, --dataset and --limit)', { code: 'commander.conflictingOption', exitCode: 2 });
}

/** The evaluation to run; `model` names the model when its configuration chose it. */
interface DatasetChoice {
  dataset: DatasetKind;
  model?: string;
}

/**
 * `--dataset`, else the dataset of the model's configuration (`config`, as read once). A model
 * is refused before any work when its configuration is for the other dataset (other joints).
 */
function resolveDataset(options: EvalCliOptions, command: Command, config: ExperimentConfig): DatasetChoice {
  const configured = config.dataset.kind;
  const model = options.preset ? `preset ${options.preset}` : options.config;
  if (options.dataset && options.dataset !== configured) {
    const message = `--dataset ${options.dataset}: the model (${model}) is a ${configured} model, with ${keypointDefinition(configured).names.length} joints; evaluate it as --dataset ${configured}`;
    // Two options typed against each other; a configuration file's dataset is the file's to fix.
    if (options.preset) usageError(command, message);
    throw new ConfigError(message);
  }
  return options.dataset ? { dataset: options.dataset } : { dataset: configured, model };
}

/**
 * Reads the annotations before the model is made (which can take minutes), once: the run is
 * given what was read (a pipe, `--annotations <(zcat ...)`, gives its bytes once). Annotations of
 * the other dataset than the model's are refused as that mismatch: `--dataset` would not help.
 */
function readAnnotations(path: string, choice: DatasetChoice): AnnotationFile {
  try {
    return readAnnotationFile(path, choice.dataset);
  } catch (error) {
    if (!(error instanceof OtherDatasetError) || choice.model === undefined) throw error;
    const other = error.annotationsDataset;
    throw new EvalError(`${path} holds ${other} annotations, and the model (${choice.model}) is a ${choice.dataset} model: evaluate a ${other} model on them, or this one on ${choice.dataset} annotations`);
  }
}

/**
 * The estimator settings that cannot change the people found in an image once it is estimated, which
 * a resumed run need not match (run on another machine, say): --threads; --max-pixels, which only
 * refuses images (those refused are tried again by every run); and the paths of the --weights,
 * --config and --calibrate files, whose content the journal compares instead (their sha256).
 */
const SETTINGS_WITHOUT_EFFECT: readonly (keyof EstimatorOptions)[] = ['threads', 'maxPixels', 'weights', 'config', 'calibrationImages'];

/** `-` as --results or --annotations: stdin, which was looked for as a file named '-' ("ENOENT"); read by its path as its other names are. */
const stdinAsPath = (path: string): string => (path === '-' ? '/dev/stdin' : path);

async function runEval(options: EvalCliOptions, command: Command, deps: EvalDeps): Promise<void> {
  const out = writers(command);
  if (options.results) {
    refuseStdinTwice(command, [
      { name: `--annotations ${options.annotations}`, path: options.annotations, asFile: '' },
      { name: `--results ${options.results}`, path: options.results, asFile: 'the results as a file (a pipe of their own too: --results <(zcat ...))' },
    ]);
    // No --config or --preset with --results (refuseUnusedWithResults): no model to take a dataset from.
    const stats = evaluateResultsFile(stdinAsPath(options.results), stdinAsPath(options.annotations), options.dataset ?? 'coco', options.limit, (warning) => out.stderr(`${warning}\n`));
    out.stdout(`${formatStatsTable(stats)}\n`);
    return;
  }
  if (!options.images) usageError(command, 'eval needs --images DIR (or --results FILE to score an existing results file)');
  refuseStdin(command, options.images, 'eval --images names the folder of the annotated images', 'give its path');
  await refuseImagesNotFolder(command, options.images);
  requireWeights(command, options, { annotations: options.annotations });
  // The annotations are in the stored pixel frame, which the reference reads ignoring EXIF orientation.
  const evalSettings = { exifOrientation: false };
  const weights = await readWeightsArgument(options.weights);
  const config = checkModelOptions(command, options, { ...evalSettings, weights });
  const choice = resolveDataset(options, command, config);
  const { dataset } = choice;
  await checkOutputFile(options.out, '--out', 'eval needs a folder (for the results file)', usageMistake(command));
  const journalPath = options.journal ?? `${options.out}.journal`;
  // Else found when the run opens it, once the model is made.
  await checkOutputFile(journalPath, options.journal === undefined ? 'the journal' : '--journal', 'eval needs a folder (for its journal)', usageMistake(command));
  await refuseWritingOverWeights(options.out, '--out', options.weights);
  await refuseWritingOverWeights(journalPath, '--journal', options.weights);
  await checkBenchmarkFiles({ annotations: stdinAsPath(options.annotations), outPath: options.out, journalPath });
  const annotations = readAnnotations(stdinAsPath(options.annotations), choice);
  const estimatorSettings = await estimatorOptions(options, evalSettings);
  const controller = new AbortController();
  let everyImageStarted = false;
  let estimated = false;
  let resultsWritten = false;
  // What a stopped run leaves, as the run stands: the results once written (the journal then removed, or kept for
  // images beyond --limit); else the journal, once opened (or left by an earlier run); else nothing.
  const left = () => {
    if (resultsWritten) return `the results were written to ${options.out}`;
    return existsSync(journalPath) ? `finished images are kept in ${journalPath}; run the same command again to resume` : `${options.out} not written`;
  };
  // kill at any time, the model's loading and the results file's writing too, stops the run at once, leaving no temporary file.
  const stopWatchingSigterm = stoppedAtOnceOnSignal(left, ['SIGTERM']);
  // Ctrl-C as the model loads stops it at once; once the run has started, the first Ctrl-C stops it after the images in
  // flight (or, none left to start, lets it finish them and write the results), and a second one ends it at once.
  let stopWatchingSigint = stoppedAtOnceOnSignal(left, ['SIGINT']);
  const progress = new ProgressBar(out.stderr);
  const onSigint = () => {
    controller.abort(new EvalError('interrupted'));
    stopWatchingSigint = stoppedAtOnceOnSignal(left, ['SIGINT']);
    // Said at once: the images in flight, or the results' writing, can take minutes. Once the results are written
    // the run soon says it is complete.
    if (!resultsWritten) progress.line(`higher-pose: ${ctrlCOutcome()} (Ctrl-C again to stop now)`);
  };
  // What a first Ctrl-C leads to, as the run stands.
  const ctrlCOutcome = () => {
    if (estimated) return 'every image is estimated; writing the results';
    return everyImageStarted ? 'every image has started; finishing them and writing the results' : 'stopping after the images in progress';
  };
  const stages = new StageTotals();
  let estimator: Awaited<ReturnType<EvalDeps['createEstimator']>> | undefined;
  try {
    // Not in estimatorSettings: those are compared with a resumed run's journal.
    const loaded = await estimatorOnWeightsRead(deps, { ...estimatorSettings, ...withConfigRead(options, config), onStageTimes: stages.add }, weights);
    estimator = loaded.estimator;
    // The journal compares what the names stand for too: a configuration edited, weights or calibration images replaced under the same name make another run.
    const calibration = estimatorSettings.calibrationImages;
    const sha256 = { config: configDigest(options, config), weights: loaded.weightsSha256, ...(calibration && { calibration: await calibrationDigests(calibration) }) };
    const journalSettings = { ...estimatorSettings, sha256 };
    stopWatchingSigint();
    process.once('SIGINT', onSigint);
    const report = await runBenchmark({
      imagesDir: options.images,
      annotations,
      estimate: (path) => loaded.estimator.estimatePoses(path),
      imagesInFlight: loaded.estimator.imagesInFlight,
      journalPath,
      outPath: options.out,
      dataset,
      limit: options.limit,
      settings: journalSettings,
      settingsWithoutEffect: SETTINGS_WITHOUT_EFFECT,
      signal: controller.signal,
      onProgress: (p) => progress.update(p),
      onEveryImageStarted: () => (everyImageStarted = true),
      onEstimated: () => (estimated = true),
      onResultsWritten: () => (resultsWritten = true),
    });
    progress.stop();
    out.stdout(`${formatStatsTable(report.stats)}\n`);
    out.stderr(summary(report));
    if (report.journaledBeyond > 0) {
      out.stderr(`journal kept: ${journalPath} holds ${report.journaledBeyond} more image(s), of a run with a larger or no --limit; that run resumes them\n`);
    }
    if (stages.images > 0) out.stderr(`${stageSummary(stages)}\n`);
    // A Ctrl-C that came as the results were scored: with the handler let go before it was heard, it ended the complete run, unsaid.
    await signalsHeard();
    // A Ctrl-C once every image was estimated: the run went on to write its results.
    if (controller.signal.aborted) out.stderr('interrupted by SIGINT after the results were written: the run is complete\n');
    // Scored, but not over every image: as predict does when an image fails.
    if (report.missing.length + report.failed.length > 0) process.exitCode = 1;
  } catch (error) {
    progress.stop();
    // A Ctrl-C once every image had started stopped nothing: a failure of the run's own (none of its images
    // could be estimated) is said as without it.
    if (!controller.signal.aborted || (everyImageStarted && error !== controller.signal.reason)) throw error;
    // Stopped, or failed of itself with the Ctrl-C come before every image had started: the failure is said too.
    throw new Interrupted('SIGINT', error === controller.signal.reason ? left() : `${errorLine(error)}; ${left()}`);
  } finally {
    process.off('SIGINT', onSigint);
    stopWatchingSigint();
    stopWatchingSigterm();
    await estimator?.dispose();
  }
}

/**
 * `--images` naming a file (an image, the annotation file) rather than their folder, or nothing
 * (a typo): a usage error now, where the run would find it only once the model is made, as every
 * image missing. A folder that cannot be read (no permission) is left to the run, image by image.
 */
async function refuseImagesNotFolder(command: Command, images: string): Promise<void> {
  const reads = '--images names the folder of the annotated images';
  const found = await stat(images).catch((error: NodeJS.ErrnoException) => error.code);
  if (found === 'ENOENT' || found === 'ENOTDIR') usageError(command, `--images ${images} does not exist: ${reads}`);
  if (typeof found === 'object' && !found.isDirectory()) usageError(command, `--images ${images} is a file, not a folder: ${reads}`);
}

/**
 * sha256 of the --config configuration as this run read it and runs it (null for a preset): the
 * file read again could be another (edited meanwhile), or nothing (a pipe, `--config <(...)`,
 * which would let runs of different piped configurations share a journal).
 */
function configDigest(options: EvalCliOptions, config: ExperimentConfig): string | null {
  return options.config === undefined ? null : createHash('sha256').update(JSON.stringify(config)).digest('hex');
}

/**
 * The estimator on the weights read once, and their sha256 (`weightsWithDigest`). The bytes read
 * are held by this call only: the estimator frees them once its network is made, where a variable
 * of the run would keep a 250 MB checkpoint for all of it.
 */
async function estimatorOnWeightsRead(deps: EvalDeps, settings: Omit<EstimatorOptions, 'weights'>, weights: string | Uint8Array) {
  const model = await weightsWithDigest(weights);
  return { estimator: await deps.createEstimator({ ...settings, weights: model.weights }), weightsSha256: model.sha256 };
}

/**
 * The sha256 of each --calibrate image, which the int8 model's ranges come from. null for one that
 * is no regular file or cannot be read (the estimator refuses it): a pipe read here would be empty for it.
 */
async function calibrationDigests(images: readonly ImageInput[]): Promise<(string | null)[]> {
  const digests: (string | null)[] = [];
  // The command line gives paths.
  for (const image of images) digests.push(typeof image === 'string' ? await regularFileDigest(image) : null);
  return digests;
}

/** The sha256 of a regular file; null for another path, or one that cannot be read. */
async function regularFileDigest(path: string): Promise<string | null> {
  const isFile = await stat(path).then((stats) => stats.isFile(), () => false);
  return isFile ? sha256File(path).catch(() => null) : null;
}

function writers(command: Command): { stdout: (s: string) => void; stderr: (s: string) => void } {
  const config = command.configureOutput();
  return {
    stdout: config.writeOut ?? ((s) => process.stdout.write(s)),
    stderr: config.writeErr ?? ((s) => process.stderr.write(s)),
  };
}

/** The stage times of the images this run estimated, as means. */
function stageSummary(stages: StageTotals): string {
  const mean = (stage: keyof StageTimes): string => `${stages.mean(stage).toFixed(1)} ms`;
  return `stages, mean over the ${stages.images} image(s) estimated now: read ${mean('read')}, preprocess ${mean('preprocess')}, `
    + `network ${mean('network')}, post-processing ${mean('postprocess')}`;
}

function summary(r: BenchmarkReport): string {
  const lines = [
    // Missing and failed images are tried in every run, never resumed.
    `${r.dataset}: ${r.images} images (${[`${r.estimated - r.missing.length - r.failed.length} estimated`, `${r.resumed} resumed`,
      ...(r.missing.length > 0 ? [`${r.missing.length} missing`] : []), ...(r.failed.length > 0 ? [`${r.failed.length} failed`] : [])].join(', ')}), `
      + `${r.people} people -> ${r.resultsPath}`,
    // A resumed run took only the time of the images estimated now; the mean holds the journal's times too.
    r.resumed > 0
      ? `time: ${r.totalSeconds.toFixed(1)} s for the ${r.estimated - r.missing.length - r.failed.length} estimated now; ${r.meanImageMs.toFixed(1)} ms per image, the ${r.resumed} resumed as their first run timed them`
      : `time: ${r.totalSeconds.toFixed(1)} s, ${r.meanImageMs.toFixed(1)} ms per image`,
  ];
  for (const [what, list] of [['missing', r.missing], ['failed', r.failed]] as const) {
    if (list.length === 0) continue;
    lines.push(`${what}: ${list.length} image(s), scored as finding nobody`);
    // As predict reports a failed image (the error names it), after its id.
    lines.push(...list.slice(0, 10).map((p) => `  id ${p.imageId}: ${p.error}`));
    if (list.length > 10) lines.push(`  … and ${list.length - 10} more`);
  }
  return `${lines.join('\n')}\n`;
}

/**
 * cli-progress bar: redrawn in place on a terminal, printed as a line every 10 s otherwise
 * (CI logs). Started on the first finished image, when the number resumed is known.
 */
class ProgressBar {
  private bar?: cliProgress.SingleBar;
  private readonly started = performance.now();

  constructor(private readonly write: (s: string) => void) {}

  update(p: BenchmarkProgress): void {
    const seconds = (performance.now() - this.started) / 1000;
    const rate = (p.done - p.resumed) / seconds;
    // Own rate and ETA: cli-progress's would count the resumed images as done in no time.
    const payload = { imagesPerSecond: rate.toFixed(2), timeLeft: formatSeconds((p.total - p.done) / rate) };
    if (!this.bar) {
      this.bar = new cliProgress.SingleBar({
        format: 'eval |{bar}| {value}/{total} images | {imagesPerSecond} images/s | ETA {timeLeft}',
        stream: this.stream(),
        noTTYOutput: true,
        notTTYSchedule: 10_000,
        gracefulExit: false,
        hideCursor: true,
      }, cliProgress.Presets.shades_classic);
      this.bar.start(p.total, p.done, payload);
    } else {
      this.bar.update(p.done, payload);
    }
  }

  /** `text` on a line of its own: on a terminal the bar's line has no end (the bar is redrawn below). */
  line(text: string): void {
    this.write(`${this.bar !== undefined && process.stderr.isTTY ? '\n' : ''}${text}\n`);
  }

  stop(): void {
    this.bar?.stop();
    this.bar = undefined;
  }

  /** process.stderr when it is a terminal; otherwise the command's stderr writer, as lines. */
  private stream(): NodeJS.WritableStream {
    if (process.stderr.isTTY) return process.stderr;
    const write = this.write;
    return new Writable({
      write(chunk: Buffer, _encoding, callback) {
        write(chunk.toString());
        callback();
      },
    });
  }
}

function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '?';
  const whole = Math.round(s);
  return whole >= 60 ? `${Math.floor(whole / 60)}m${String(whole % 60).padStart(2, '0')}s` : `${whole}s`;
}
