/**
 * The benchmark runner behind `higher-pose eval`: runs an estimate function over every image
 * of an annotation file, writes the people found as a COCO results file (as HigherHRNet's
 * `dataset.evaluate` writes them) and scores it. It knows nothing about the network, so it can
 * be driven by a fake estimator in tests. Runs are resumable through a journal.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { DatasetKind } from '../config/experiment.js';
import { sameFile, writeFileAtomic } from '../io/atomic.js';
import { jsonArrayPieces } from '../io/json-array.js';
import type { Person } from '../types.js';
import { evaluateCoco, type CocoStats, type EvaluateOptions } from './coco.js';
import { evaluateCrowdPose, type CrowdPoseStats } from './crowdpose.js';
import { loadGroundTruth, parseResults, readResults, readAnnotationFile, type AnnotationFile, type GroundTruth, type GtImage, type KeypointResult } from './data.js';
import { EvalError } from './errors.js';
import { imageFailure } from '../io/image.js';
import { CallbackError } from '../callback-error.js';
import { Journal, type JournalEntry } from './journal.js';
import { inFileOrder, repeatedResults, repeatedResultsWarning } from './repeats.js';
import { scoredResults } from './scored-results.js';
import { sparseCoverage, sparseCoverageWarning } from './coverage.js';
import { inOrder, isImagesInFlight, IMAGES_IN_FLIGHT_RANGE, valueOf } from '../parallel/in-order.js';
import { isPositiveInt, shownValue } from '../values.js';

export type EvalStats = CocoStats | CrowdPoseStats;

/** Both datasets label people as category 1. */
const PERSON_CATEGORY_ID = 1;

/** What each results entry of a run carries besides the person: the dataset's joints and the people's category. */
interface ResultFormat {
  joints: number;
  categoryId: number;
}

/**
 * The category the people are written under: 1 (COCO's and CrowdPose's person), else the
 * annotation file's only category, as HigherHRNet takes its ids from the file. Decided before
 * any image is estimated: results under an id the file lacks would fail only at the end.
 */
function personCategoryId(gt: GroundTruth): number {
  if (gt.categoryIds.includes(PERSON_CATEGORY_ID)) return PERSON_CATEGORY_ID;
  if (gt.categoryIds.length === 1) return gt.categoryIds[0]!;
  throw new EvalError(`${gt.source}: categories ${gt.categoryIds.join(', ')} hold no person category: people are written as category ${PERSON_CATEGORY_ID}, or as the file's only category`);
}

export interface BenchmarkProgress {
  /** Images finished, including those taken from the journal. */
  done: number;
  total: number;
  /** Images taken from the journal of an earlier run. */
  resumed: number;
  imageId: number;
  status: JournalEntry['status'];
}

export interface BenchmarkOptions {
  /** Folder holding the images named by the annotation file's `file_name`. */
  imagesDir: string;
  /**
   * Ground-truth annotation file (COCO format): its path, or the file as `readAnnotationFile` read
   * it for this run's dataset (a pipe gives its bytes once: a caller that checked it first hands it on).
   */
  annotations: string | AnnotationFile;
  /** People in one image, keypoints in image pixels. A throw is recorded for that image, not fatal, except a CallbackError (the estimator's callback failed), which ends the run. */
  estimate: (imagePath: string, imageId: number) => Promise<Person[]>;
  /** Resume journal; an interrupted run restarted with the same journal skips finished images. */
  journalPath: string;
  /** Results file (COCO results format), written atomically at the end. */
  outPath: string;
  /** @defaultValue 'coco' */
  dataset?: DatasetKind;
  /** Only the first `limit` images (by id); the evaluation is then restricted to them. */
  limit?: number;
  /** The estimator's settings (any JSON): a journal written under other settings is refused. */
  settings?: unknown;
  /**
   * Keys of `settings` that cannot change an image's results (a thread count, say): not journaled,
   * and a journal written under other values of them, or with them in it, is resumed.
   */
  settingsWithoutEffect?: readonly string[];
  /** Stops the run before the next image; the journal keeps what was done, estimates in flight included (an image that fails then recorded as failed, as ever; one rejecting with this signal's reason, an estimate given it, stops the run). */
  signal?: AbortSignal;
  /**
   * Images estimated at once (default 1; the estimator's `imagesInFlight`). Results are
   * journaled and reported in id order all the same.
   */
  imagesInFlight?: number;
  onProgress?: (progress: BenchmarkProgress) => void;
  /**
   * Called once no image is left to start: the last one started, or none to estimate. A stop asked
   * for from then on no longer stops the run, which finishes the images in flight and writes the results.
   */
  onEveryImageStarted?: () => void;
  /** Called once every image is estimated and journaled (resumed ones too), before the results file is written. */
  onEstimated?: () => void;
  /** Called once the results file is in place (before the journal is removed and the results scored). */
  onResultsWritten?: () => void;
}

export interface ImageProblem {
  imageId: number;
  file: string;
  error: string;
}

export interface BenchmarkReport {
  dataset: DatasetKind;
  stats: EvalStats;
  /** Images evaluated. */
  images: number;
  /** Images estimated by this run. */
  estimated: number;
  /** Images taken from the journal of an interrupted run. */
  resumed: number;
  /** People written to the results file. */
  people: number;
  /** Image files that do not exist. */
  missing: ImageProblem[];
  /** Images whose estimate threw (unreadable or corrupt files, typically). */
  failed: ImageProblem[];
  /**
   * Images outside this run (a run without `limit`, stopped earlier) whose results the journal
   * holds: it is then kept for the run that includes them, not deleted.
   */
  journaledBeyond: number;
  /** Wall time of this run. */
  totalSeconds: number;
  /** Mean wall time of one estimate call, over every estimated image including resumed ones. */
  meanImageMs: number;
  resultsPath: string;
}

/** Scores validated results with the dataset's official evaluation. */
function evaluateKeypoints(dataset: DatasetKind, gt: GroundTruth, results: readonly KeypointResult[], options?: EvaluateOptions): EvalStats {
  return dataset === 'coco' ? evaluateCoco(gt, results, options) : evaluateCrowdPose(gt, results, options);
}

/**
 * `--results` mode: scores an existing results file, over every annotated image or, with
 * `limit`, the first ones by id (as a run with that limit evaluated). Only what the evaluation
 * reads of the file is held (each image's 20 best), so that a file or pipe of any length is scored.
 * Entries repeated exactly among those are scored as the official evaluation scores them, and told
 * to `warn`; so are results that name fewer than half of the scored images with people (results of
 * some images only).
 */
export function evaluateResultsFile(resultsPath: string, annotationsPath: string, dataset: DatasetKind = 'coco', limit?: number, warn?: (message: string) => void): EvalStats {
  const gt = loadGroundTruth(annotationsPath, dataset);
  const scored = selectImages(gt, limit).map((im) => im.id);
  // What the evaluation reads of each image: memory bounded by the images, however many results (a pipe's, endless).
  const { results, indices, total } = scoredResults(readResults(resultsPath, gt));
  const repeats = warn && repeatedResults(results);
  if (repeats) warn!(repeatedResultsWarning(resultsPath, total, inFileOrder(repeats, indices), results.length));
  const coverage = warn && sparseCoverage(gt, scored, results);
  if (coverage) warn!(sparseCoverageWarning(resultsPath, coverage));
  return evaluateKeypoints(dataset, gt, results, { imageIds: limit === undefined ? undefined : scored });
}

/**
 * One person as a results entry, as HigherHRNet writes it: `[x, y, joint score]` per joint,
 * and the person score (mean joint score) as `score`.
 */
function personToResult(person: Person, imageId: number, { joints, categoryId }: ResultFormat): KeypointResult {
  if (person.keypoints.length !== joints) {
    throw new EvalError(`estimate returned a person with ${person.keypoints.length} keypoints for image ${imageId}; the dataset has ${joints} joints`);
  }
  const keypoints = person.keypoints.flatMap((k) => [k.x, k.y, k.score]);
  const bad = [...keypoints, person.score].find((v) => !Number.isFinite(v));
  if (bad !== undefined) throw new EvalError(`estimate returned a person with a non-finite value (${bad}) for image ${imageId}`);
  return { image_id: imageId, category_id: categoryId, keypoints, score: person.score };
}

async function estimateImage(opts: BenchmarkOptions, image: GtImage, format: ResultFormat): Promise<JournalEntry> {
  const path = join(opts.imagesDir, image.fileName);
  if (!existsSync(path)) return { imageId: image.id, status: 'missing', error: `${path} does not exist` };
  const start = performance.now();
  let people: Person[];
  try {
    people = await opts.estimate(path, image.id);
  } catch (err) {
    // Stopped by the run's signal (an estimate given it), not failed: the run is stopped.
    if (opts.signal?.aborted && err === opts.signal.reason) throw err;
    // The estimator's callback failed, not the image: every image would fail so.
    if (err instanceof CallbackError) throw err;
    return { imageId: image.id, status: 'failed', error: imageFailure(err, path) };
  }
  const ms = performance.now() - start;
  // Malformed people are a bug of the estimator or a wrong dataset, not a bad image: fatal.
  return { imageId: image.id, status: 'ok', ms, results: people.map((p) => personToResult(p, image.id, format)) };
}

const annotationFilePath = (annotations: string | AnnotationFile): string => (typeof annotations === 'string' ? annotations : annotations.groundTruth.source);

/**
 * Refuses a run whose files collide: results written over the annotations, or a journal that
 * is the annotations or the results file (deleted once the results are written).
 */
export async function checkBenchmarkFiles(opts: Pick<BenchmarkOptions, 'annotations' | 'outPath' | 'journalPath'>): Promise<void> {
  const files: [string, string][] = [['the annotation file', annotationFilePath(opts.annotations)], ['the results file', opts.outPath], ['the journal', opts.journalPath]];
  for (const [i, [what, path]] of files.entries()) {
    for (const [other, otherPath] of files.slice(i + 1)) {
      if (await sameFile(path, otherPath)) throw new EvalError(`${what} and ${other} are one file (${otherPath}); give each its own path`);
    }
  }
}

/** The annotation file of a run of `dataset`, read now from its path or as the caller read it. */
function annotationFile(annotations: string | AnnotationFile, dataset: DatasetKind): AnnotationFile {
  if (typeof annotations === 'string') return readAnnotationFile(annotations, dataset);
  const read = annotations.groundTruth.dataset;
  if (read !== dataset) throw new EvalError(`${annotations.groundTruth.source} was read as ${read} annotations, for a ${dataset} evaluation: read it as ${dataset}`);
  return annotations;
}

function selectImages(gt: GroundTruth, limit?: number): GtImage[] {
  if (limit !== undefined && !isPositiveInt(limit)) {
    throw new EvalError(`limit must be a positive integer, got ${limit}`);
  }
  return [...gt.images].sort((a, b) => a.id - b.id).slice(0, limit);
}

function problems(images: GtImage[], entries: Map<number, JournalEntry>, status: 'missing' | 'failed'): ImageProblem[] {
  return images.flatMap((im) => {
    const e = entries.get(im.id);
    return e?.status === status ? [{ imageId: im.id, file: im.fileName, error: e.error }] : [];
  });
}

/**
 * Runs `estimate` over every image the annotation file lists, in id order, skipping those a
 * previous run's journal holds results for; then writes the results file and scores it.
 */
export async function runBenchmark(opts: BenchmarkOptions): Promise<BenchmarkReport> {
  const startTime = performance.now();
  const inFlight = opts.imagesInFlight ?? 1;
  if (!isImagesInFlight(inFlight)) throw new EvalError(`imagesInFlight must be ${IMAGES_IN_FLIGHT_RANGE}, got ${shownValue(inFlight)}`);
  await checkBenchmarkFiles(opts);
  const dataset = opts.dataset ?? 'coco';
  // The journal keys on the bytes the ground truth was read from, not on the file read again.
  const { groundTruth: gt, sha256: annotationsSha256 } = annotationFile(opts.annotations, dataset);
  const images = selectImages(gt, opts.limit);
  const format: ResultFormat = { joints: gt.numJoints, categoryId: personCategoryId(gt) };
  const { journal, entries } = await Journal.open(opts.journalPath, { annotationsSha256, dataset, settings: opts.settings ?? null }, opts.settingsWithoutEffect);
  // Failed and missing images are tried again: the file may have been fixed since.
  const isDone = (id: number) => entries.get(id)?.status === 'ok';
  const resumed = images.filter((im) => isDone(im.id)).length;
  let done = resumed;
  const todo = images.filter((im) => !isDone(im.id));
  let started = 0;
  // The images to estimate, until the run is stopped.
  function* untilStopped(): Generator<GtImage> {
    if (todo.length === 0) opts.onEveryImageStarted?.();
    for (const image of todo) {
      if (opts.signal?.aborted) return;
      // Said as the last image is handed out: the next pull, which would find none left, comes only once an image in flight is done.
      if (++started === todo.length) opts.onEveryImageStarted?.();
      yield image;
    }
  }
  try {
    for await (const { outcome } of inOrder(untilStopped(), inFlight, (image) => estimateImage(opts, image, format))) {
      // estimateImage records an image's failure, the run stopped meanwhile or not; what it throws (the estimator's callback failed, malformed people) ends the run.
      const entry = valueOf(outcome);
      await journal.append(entry);
      entries.set(entry.imageId, entry);
      opts.onProgress?.({ done: ++done, total: images.length, resumed, imageId: entry.imageId, status: entry.status });
    }
    if (started < todo.length) opts.signal?.throwIfAborted();
  } finally {
    await journal.close();
  }
  opts.onEstimated?.();
  const finished = images.map((im) => entries.get(im.id)!);
  const selected = new Set(images.map((im) => im.id));
  const journaledBeyond = [...entries.values()].filter((e) => e.status === 'ok' && !selected.has(e.imageId)).length;
  // Deleting the journal would lose the results of those images, hours of work on a full set.
  const removeJournal = async () => journaledBeyond === 0 && journal.remove();
  const unreadable = finished.filter((e) => e.status !== 'ok');
  if (unreadable.length > 0 && unreadable.length === finished.length) {
    // Nothing to score: a wrong --images folder or a model that fails on every image. No results file is written.
    await removeJournal();
    const first = unreadable[0] as { error: string };
    const folder = unreadable.every((e) => e.status === 'missing') ? ` (is ${opts.imagesDir} the folder of the annotated images?)` : '';
    throw new EvalError(`None of the ${images.length} images could be estimated${folder}; the first: ${first.error}`);
  }
  const results = parseResults(finished.flatMap((e) => (e.status === 'ok' ? e.results : [])), opts.journalPath, gt);
  // One person per line, stable bytes for identical runs; written as it is made: one string of it all fails past ~512 MiB.
  await writeFileAtomic(opts.outPath, jsonArrayPieces(results, 'line per element', '\n'));
  opts.onResultsWritten?.();
  await removeJournal();
  const timed = finished.flatMap((e) => (e.status === 'ok' ? [e.ms] : []));
  return {
    dataset,
    stats: evaluateKeypoints(dataset, gt, results, { imageIds: images.map((im) => im.id) }),
    images: images.length,
    estimated: images.length - resumed,
    resumed,
    people: results.length,
    missing: problems(images, entries, 'missing'),
    failed: problems(images, entries, 'failed'),
    journaledBeyond,
    totalSeconds: (performance.now() - startTime) / 1000,
    meanImageMs: timed.length ? timed.reduce((a, b) => a + b, 0) / timed.length : 0,
    resultsPath: opts.outPath,
  };
}

/** Paper column labels: 'AP .5' → 'AP50', 'AP (M)' → 'APM'. */
function paperLabel(name: string): string {
  return name.replace(' .5', '50').replace(' .75', '75').replace(/ \((\w)\)/, '$1');
}

/** The statistics as a table in the paper's layout (percent, one decimal; '-' where undefined). */
export function formatStatsTable(stats: EvalStats): string {
  const columns = Object.entries(stats).map(([name, value]) => {
    const cell = value === -1 ? '-' : (value * 100).toFixed(1);
    const label = paperLabel(name);
    const width = Math.max(label.length, cell.length);
    return { label: label.padStart(width), cell: cell.padStart(width), rule: '-'.repeat(width) };
  });
  const row = (key: 'label' | 'cell' | 'rule') => `| ${columns.map((c) => c[key]).join(' | ')} |`;
  return [row('label'), row('rule'), row('cell')].join('\n');
}
