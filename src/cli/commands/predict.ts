/** `higher-pose predict`: poses for images, as COCO results JSON and optional drawings. */
import { Option, type Command } from 'commander';
import { basename, extname, join, resolve } from 'node:path';
import { buffer } from 'node:stream/consumers';
import cliProgress from 'cli-progress';
import { addPoseOptions, addSelectionOptions, checkModelOptions, estimatorOptions, withConfigRead, type PoseCliOptions } from '../estimator-options.js';
import { checkOutputFile, checkOutputFolder, configMistake, fileOrStdout, makeOutputFolder, refuseWritingOverWeights, requireWeights, stdinAsDash, usageMistake, type UsageMistake } from '../options.js';
import { expandImageArguments, isImageName, refuseVideoArguments } from '../inputs.js';
import { ConfigError } from '../../config/experiment.js';
import { CallbackError } from '../../callback-error.js';
import { createEstimator, type EstimatorOptions, type HigherHRNetEstimator } from '../../estimator.js';
import { imageFailure, readImage, writeImage } from '../../io/image.js';
import { drawPoses } from '../../render/overlay.js';
import { AtomicFileWriter } from '../../io/atomic.js';
import { JsonArrayText, JsonLinesText, type JsonArrayLayout } from '../../io/json-array.js';
import { LineSink } from '../line-sink.js';
import { stoppedAtOnceOnSignal } from '../interrupted.js';
import { readWeightsArgument } from '../weights-input.js';
import { inOrder, valueOf } from '../../parallel/in-order.js';
import type { Person } from '../../types.js';

/** `--format`: the results as one JSON array, or as JSON Lines, a record per line. */
export const RESULTS_FORMATS = ['json', 'jsonl'] as const;
export type ResultsFormat = (typeof RESULTS_FORMATS)[number];

export interface PredictOptions extends PoseCliOptions {
  out?: string;
  render?: string;
  format?: ResultsFormat;
}

/** One person in the COCO results format, plus the file it was found in (its path as given). */
export interface PredictionRecord {
  image_id: number | string;
  file_name: string;
  category_id: 1;
  keypoints: number[];
  score: number;
}

/**
 * COCO image ids are the numeric file names (000000000139.jpg → 139); other files keep their name,
 * as do digits past 2^53 - 1, which a JSON number would round (two files sharing one id).
 */
function imageIdOf(path: string): number | string {
  const stem = basename(path, extname(path));
  const id = /^\d+$/.test(stem) ? Number(stem) : NaN;
  return Number.isSafeInteger(id) ? id : basename(path);
}

function toRecords(path: string, people: readonly Person[]): PredictionRecord[] {
  return people.map((p) => ({
    image_id: imageIdOf(path),
    file_name: path,
    category_id: 1,
    keypoints: p.keypoints.flatMap((k) => [k.x, k.y, k.score]),
    score: p.score,
  }));
}

/** The image argument that stands for one image piped into stdin (`curl URL | higher-pose predict -`). */
const STDIN = '-';

/** How the image of `file` is named in messages: the stdin image as `stdin`, as its reader's errors name it. */
const imageLabel = (file: string): string => (file === STDIN ? 'stdin' : file);

/** Where the image of `file` is drawn in `folder`: NAME.png, the stdin image as `stdin.png`. */
export const drawingPath = (file: string, folder: string): string => join(folder, `${file === STDIN ? 'stdin' : basename(file, extname(file))}.png`);

/** The bytes piped into stdin, read whole before the model loads; a terminal is refused rather than waited on. */
async function stdinImage(): Promise<Uint8Array> {
  if (process.stdin.isTTY) throw new ConfigError(`predict ${STDIN}: stdin is a terminal; pipe an image into it (curl URL | higher-pose predict ${STDIN} ...)`);
  return buffer(process.stdin);
}

export interface PredictSummary {
  /** People written to the results. */
  people: number;
  /** Images estimated: all of them, unless the reader of stdout went before the end. */
  done: number;
  /** Each failed image's error, in a line that names the image once. */
  failures: { file: string; error: string }[];
  /** The drawings `--render` wrote, in the images' order. */
  drawn: string[];
}

/** Where the results go as they come: the `--out` file, renamed into place when complete, or stdout. */
interface ResultsOutput {
  write(text: string): Promise<void>;
  /** The results are complete. */
  commit(): Promise<void>;
  /** No results after all (every image failed, or the run failed): an --out file is not written. */
  discard(): Promise<void>;
  /** The reader has gone (`| head -1`): nothing written from now on is read. */
  readerGone(): boolean;
}

async function resultsFile(out: string): Promise<ResultsOutput> {
  const writer = await AtomicFileWriter.open(out);
  return {
    write: (text) => writer.write(text),
    commit: () => writer.commit(),
    discard: () => writer.discard(),
    readerGone: () => false,
  };
}

/** stdout, at its reader's pace; a reader that has gone (`| head -1`, EPIPE) ends the writing, not the run. */
function resultsToStdout(): ResultsOutput {
  const sink = new LineSink(process.stdout);
  return {
    write: (text) => sink.write(text).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE') throw err;
    }),
    commit: async () => {},
    discard: async () => {},
    readerGone: () => (sink.error as NodeJS.ErrnoException | undefined)?.code === 'EPIPE',
  };
}

/** Where --render draws: the folder, each file's drawing, and those drawn so far (what a signal leaves). */
interface DrawingPlan {
  folder: string;
  drawings: Map<string, string>;
  drawn: string[];
}

/**
 * Runs the estimator over `files` (its `imagesInFlight` at once, results in order), continuing
 * past bad images; writes the drawings into `render.folder` (made already) and each image's people to `output`
 * as soon as it is done (a COCO results array: the whole of it is never held in memory).
 */
async function predictFiles(
  estimator: HigherHRNetEstimator,
  files: readonly string[],
  output: ResultsOutput,
  options: { render?: DrawingPlan; progress?: boolean; stdin?: Uint8Array; layout: JsonArrayLayout | 'json lines' },
): Promise<PredictSummary> {
  const failures: PredictSummary['failures'] = [];
  const drawn = options.render?.drawn ?? [];
  const results = options.layout === 'json lines' ? new JsonLinesText() : new JsonArrayText(options.layout);
  const bar = options.progress && files.length > 1
    ? new cliProgress.SingleBar({ format: 'predict [{bar}] {value}/{total} images | {rate} img/s | ETA {eta}s', stream: process.stderr }, cliProgress.Presets.shades_classic)
    : undefined;
  const started = Date.now();
  bar?.start(files.length, 0, { rate: '0.0' });
  const estimate = async (file: string) => {
    // Bounded as the estimator bounds the images it reads: from the header, before decoding.
    const { maxPixels } = estimator;
    const image = file === STDIN ? await readImage(options.stdin!, { name: imageLabel(STDIN), maxPixels }) : await readImage(file, { maxPixels });
    return { image, people: await estimator.estimatePoses(image) };
  };
  let done = 0;
  try {
    for await (const { item: file, outcome } of inOrder(files, estimator.imagesInFlight, estimate)) {
      let people: Person[] = [];
      try {
        const { image, people: found } = valueOf(outcome);
        // An image whose drawing fails counts as failed: its people are left out of the results too.
        if (options.render) {
          const drawing = options.render.drawings.get(file)!;
          // Made again if gone: a run side by side that made it, drew nothing and failed removes it (notingNewFolders).
          makeOutputFolder(options.render.folder, '--render');
          await writeImage(drawPoses(image, found, estimator.keypoints), drawing);
          drawn.push(drawing);
        }
        people = found;
      } catch (err) {
        // The caller's callback failed, not the image: every image would fail so.
        if (err instanceof CallbackError) throw err;
        // The reader's errors start with the image's name; the estimator's and a drawing's do not name it.
        failures.push({ file, error: imageFailure(err, imageLabel(file)) });
      }
      // Outside the image's try: results that cannot be written end the run.
      for (const record of toRecords(file, people)) await output.write(results.element(record));
      done++;
      bar?.update(done, { rate: (done / ((Date.now() - started) / 1000)).toFixed(1) });
      // The results were all there was to make (no drawings): estimating on for no reader would take the whole folder's time.
      if (!options.render && output.readerGone()) break;
    }
    bar?.stop();
    // Not when every image failed: an earlier results file is worth more than an empty one.
    if (failures.length === files.length) {
      await output.discard();
    } else {
      // JSON Lines end with their last record; the array's closing bracket ends a line of its own.
      const closing = results.end();
      await output.write(closing === '' ? '' : `${closing}\n`);
      await output.commit();
    }
  } catch (err) {
    bar?.stop();
    await output.discard();
    throw err;
  }
  return { people: results.count, done, failures, drawn };
}

/**
 * The drawing of each file: `render/NAME.png`. Two files that would share one, or a drawing that
 * would replace one of the images (a --render folder that holds them), are refused before any work.
 */
function drawingPaths(files: readonly string[], render: string, mistake: UsageMistake): Map<string, string> {
  const paths = new Map<string, string>();
  const drawnFrom = new Map<string, string>();
  const inputs = new Set(files.map((file) => resolve(file)));
  for (const file of files) {
    const path = drawingPath(file, render);
    if (inputs.has(resolve(path))) mistake(`--render: the drawing of ${file} would replace the image ${path}; draw into another folder`);
    const other = drawnFrom.get(path);
    if (other !== undefined && other !== file) mistake(`--render: ${other} and ${file} would both be drawn to ${path}; give them separate runs or rename one`);
    drawnFrom.set(path, file);
    paths.set(file, path);
  }
  return paths;
}

/**
 * An --out that could not be written, or named as an image, is refused before any work:
 * `predict --out *.jpg` makes the shell's first match the results file, overwriting that image.
 */
async function checkResultsFile(out: string, mistake: UsageMistake): Promise<void> {
  if (isImageName(out)) mistake(`--out ${out}: the results are JSON, not an image (did the shell expand --out *.jpg?); give a .json file name`);
  await checkOutputFile(out, '--out', 'predict needs a folder (for the results file)', mistake);
}

/** `mistake` reports the options typed that are refused before any work (an --out named as an image, a file in the way of an output, drawings that clash); a ConfigError by default. */
export async function runPredict(images: string[], options: PredictOptions, extra: Partial<EstimatorOptions> = {}, mistake = configMistake): Promise<PredictSummary> {
  // /dev/stdin and its other names are the image piped in, read once as '-' is.
  const files = await expandImageArguments(images.map(stdinAsDash));
  if (options.out) await checkResultsFile(options.out, mistake);
  if (options.render !== undefined) await checkOutputFolder(options.render, '--render', 'predict needs a folder (for its drawings)', mistake);
  if (options.weights) await refuseWritingOverWeights(options.out, '--out', options.weights);
  const render: DrawingPlan | undefined = options.render !== undefined ? { folder: options.render, drawings: drawingPaths(files, options.render, mistake), drawn: [] } : undefined;
  const stdin = files.includes(STDIN) ? await stdinImage() : undefined;
  let estimator: HigherHRNetEstimator | undefined;
  // Ctrl-C or kill from here on (the model's loading too) stops it at once, leaving no temporary file behind (neither --out's nor a drawing's) nor an empty folder made for them.
  const stopWatching = stoppedAtOnceOnSignal(() => interruptedPredictOutcome(options, { loaded: estimator !== undefined, drawn: render?.drawn.length ?? 0 }));
  try {
    // Before the model loads, and before --out's temporary file is opened (a failure there would leave it behind).
    // A run that fails removes it again where it made it and drew nothing into it (notingNewFolders, in main).
    if (render) makeOutputFolder(render.folder, '--render');
    estimator = await createEstimator(await estimatorOptions(options, extra));
    const output = options.out ? await resultsFile(options.out) : resultsToStdout();
    // The file as JSON.stringify(records, null, 1) lays it out, stdout on one line.
    const layout = options.format === 'jsonl' ? 'json lines' : { indent: options.out ? 1 : 0 };
    const summary = await predictFiles(estimator, files, output, { render, progress: true, stdin, layout });
    const { people, done } = summary;
    const estimated = done - summary.failures.length;
    const stopped = done < files.length ? `; stopped after ${done}: the reader of stdout closed it` : '';
    if (estimated > 0) console.error(`${estimated}/${files.length} images, ${people} people${options.out ? ` → ${options.out}` : ''}${options.render ? `, drawings in ${options.render}` : ''}${stopped}`);
    for (const f of summary.failures) console.error(`  failed: ${f.error}`);
    // Every image failed: nothing was written (predictFiles leaves an earlier results file alone), so nothing to claim.
    if (estimated === 0) {
      const none = files.length === 1 ? 'The image could not be processed' : `None of the ${files.length} images could be processed`;
      throw new PredictError(`${none} (failures above); no results written`);
    }
    if (summary.failures.length > 0) process.exitCode = 1;
    return summary;
  } finally {
    stopWatching();
    await estimator?.dispose();
  }
}

/**
 * What a predict run stopped by a signal leaves: no --out file (an earlier one as it was), or
 * results cut short on stdout once the model had loaded; the drawings made so far, if any.
 */
function interruptedPredictOutcome(options: PredictOptions, run: { loaded: boolean; drawn: number }): string {
  const results = options.out ? `${options.out} not written` : run.loaded ? 'the results on stdout are cut short' : 'no results written';
  if (!options.render) return results;
  return `${results}; ${run.drawn === 0 ? 'nothing drawn' : `the ${run.drawn} drawing${run.drawn === 1 ? '' : 's'} made so far are in ${options.render}`}`;
}

/** A predict run in which every image failed (each failure reported with its own error): no options or configuration at fault. */
export class PredictError extends Error {
  override name = 'PredictError';
}

export function registerPredict(program: Command): void {
  addSelectionOptions(addPoseOptions(program.command('predict <images...>')))
    .description("estimate poses in images (files, folders or globs; '-' for one piped into stdin); COCO results JSON to --out or stdout")
    .option('--out <file>', "write results (COCO keypoint results format) to this JSON file ('-': stdout, the default)")
    .addOption(new Option('--format <format>', 'json: the results as one array; jsonl: JSON Lines, each result (a person) on a line of its own, for jq -c or a line-by-line reader').choices(RESULTS_FORMATS).default('json'))
    .option('--render <dir>', 'draw skeletons, joints and person scores over each image into this folder')
    .action(async (images: string[], options: PredictOptions, command: Command) => {
      await refuseVideoArguments(command, images, (video) => `\`higher-pose video ${video}\` estimates the poses in its frames`);
      requireWeights(command, options, { inputs: images });
      const weights = await readWeightsArgument(options.weights);
      const config = checkModelOptions(command, options, { weights });
      await runPredict(images, { ...options, out: fileOrStdout(options.out) }, { ...withConfigRead(options, config), weights }, usageMistake(command));
    });
}
