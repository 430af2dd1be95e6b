/**
 * Loading and validating the two JSON inputs of a keypoint evaluation: the ground truth (COCO
 * annotation format, as `person_keypoints_val2017.json` or `crowdpose_val.json`) and a results
 * file (COCO results format). Everything the evaluation reads is checked here, so a bad file
 * fails with an error naming the file and the field instead of a wrong number later.
 */
import { createHash } from 'node:crypto';
import type { DatasetKind } from '../config/experiment.js';
import { keypointDefinition } from '../datasets.js';
import { EvalError, OtherDatasetError } from './errors.js';
import { isJournalHeader, parseOrUndefined } from './journal.js';
import { readJsonValues, utf8TextStart, EmptyTextError, NotUtf8Error, OneJsonValueError } from '../io/json-read.js';
import { shownValue } from '../values.js';
import { ReadBoundError, readFileUpTo } from '../io/read-bounded.js';

export interface GtImage {
  id: number;
  fileName: string;
  /** CrowdPose only: the image's crowd index, which decides its easy/medium/hard split. */
  crowdIndex?: number;
}

export interface GtAnnotation {
  id: number;
  imageId: number;
  categoryId: number;
  /** `[x, y, v] * J`, v > 0 for labelled joints. */
  keypoints: number[];
  numKeypoints: number;
  iscrowd: boolean;
  /** Segmentation area; required by COCO (OKS scale and area ranges), absent in CrowdPose. */
  area?: number;
  /** `[x, y, width, height]`. */
  bbox: [number, number, number, number];
}

export interface GroundTruth {
  /** Where it was read from, for error messages. */
  source: string;
  dataset: DatasetKind;
  numJoints: number;
  images: GtImage[];
  annotations: GtAnnotation[];
  /** Category ids, ascending (the reference evaluates every category of the file). */
  categoryIds: number[];
}

/** One entry of a COCO keypoint results file. */
export interface KeypointResult {
  image_id: number;
  category_id: number;
  /** `[x, y, score] * J` in image pixels. */
  keypoints: number[];
  score: number;
  /** Optional `[x, y, w, h]`; when the first result has one, the reference takes areas from it. */
  bbox?: number[];
}

type Json = Record<string, unknown>;

/** Checks one JSON document, building error messages as `source: path message`. */
class Checker {
  constructor(readonly source: string) {}

  fail(path: string, message: string): never {
    throw new EvalError(`${this.source}: ${path} ${message}`);
  }

  object(v: unknown, path: string): Json {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) this.fail(path, `must be an object, got ${describe(v)}`);
    return v as Json;
  }

  array(v: unknown, path: string): unknown[] {
    if (!Array.isArray(v)) this.fail(path, `must be an array, got ${describe(v)}`);
    return v;
  }

  number(v: unknown, path: string): number {
    if (typeof v !== 'number' || !Number.isFinite(v)) this.fail(path, `must be a finite number, got ${describe(v)}`);
    return v;
  }

  integer(v: unknown, path: string): number {
    if (typeof v !== 'number' || !Number.isSafeInteger(v)) this.fail(path, `must be an integer, got ${describe(v)}`);
    return v;
  }

  numbers(v: unknown, path: string, length: number, what: string): number[] {
    const values = this.array(v, path);
    if (values.length !== length) this.fail(path, `has ${values.length} values, expected ${length} (${what})`);
    return values.map((x, i) => this.number(x, `${path}[${i}]`));
  }
}

function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  const text = shownValue(v);
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

function jointsText(dataset: DatasetKind, joints: number): string {
  return `${joints} joints x 3 for ${dataset}`;
}

const DATASET_NAMES: Record<DatasetKind, string> = { coco: 'COCO', crowdpose: 'CrowdPose' };

/**
 * An annotation's keypoints. When their count is another dataset's joints, says so: the wrong
 * dataset is the likely cause.
 */
function annotationKeypoints(c: Checker, v: unknown, path: string, dataset: DatasetKind, joints: number): number[] {
  const count = Array.isArray(v) ? v.length : undefined;
  const other = (['coco', 'crowdpose'] as const).find((kind) => kind !== dataset && keypointDefinition(kind).sigmas.length * 3 === count);
  if (other) {
    throw new OtherDatasetError(`${c.source}: ${path} has ${count} values, expected ${joints * 3} (${jointsText(dataset, joints)}); `
      + `these look like ${DATASET_NAMES[other]} annotations (${count! / 3} keypoints): evaluate them as dataset '${other}' (--dataset ${other})`, other);
  }
  return c.numbers(v, path, joints * 3, jointsText(dataset, joints));
}

/**
 * More than any annotation file: COCO's largest (person_keypoints_train2017.json) is 238 MB. A
 * pipe is read only that far, so that `<(cat /dev/zero)` ends.
 */
const ANNOTATION_FILE_MAX_BYTES = 2 ** 31;

/**
 * Reads and parses an annotation file, and the sha256 of the bytes read; unreadable or malformed
 * files (a device such as /dev/zero, or larger than any annotation file) are EvalErrors naming the path.
 */
function readAnnotationJson(path: string, dataset: DatasetKind): { value: unknown; sha256: string } {
  const what = 'annotation file';
  let bytes: Buffer;
  let text: string;
  try {
    bytes = readFileUpTo(path, ANNOTATION_FILE_MAX_BYTES);
    text = bytes.toString('utf8', utf8TextStart(bytes));
  } catch (err) {
    if (err instanceof NotUtf8Error) throw new EvalError(`${path}: ${what} ${err.message}`);
    const tooLarge = err instanceof ReadBoundError && err.reason === 'size' ? ': COCO\'s largest annotation file (train2017) is 238 MB' : '';
    throw new EvalError(`Cannot read ${what} ${path}: ${(err as Error).message}${tooLarge}`);
  }
  try {
    return { value: JSON.parse(text), sha256: createHash('sha256').update(bytes).digest('hex') };
  } catch (err) {
    // JSON Lines results given as the annotations: their first line is a results entry.
    const firstLineEnd = text.indexOf('\n');
    if (firstLineEnd !== -1 && isResultsEntry(parseOrUndefined(text.slice(0, firstLineEnd)))) refuseResultsFile(path, dataset);
    throw new EvalError(`${path}: ${what} is not valid JSON (${(err as Error).message})`);
  }
}

/** Whether `v` reads as an entry of a results file: an annotation has no `score`. */
function isResultsEntry(v: unknown): boolean {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && 'image_id' in v && 'score' in v;
}

/**
 * A results file given as the annotations (the two options swapped) is named as such, as
 * annotations given as the results are: its first entry would otherwise read as malformed annotations.
 */
function refuseResultsFile(source: string, dataset: DatasetKind): never {
  throw new EvalError(`${source} is a results file (entries of {image_id, category_id, keypoints, score}), not annotations: give it as --results, `
    + `and as --annotations ${KEYPOINT_FILES[dataset]}`);
}

function parseImage(c: Checker, v: unknown, path: string, dataset: DatasetKind): GtImage {
  const o = c.object(v, path);
  const image: GtImage = { id: c.integer(o.id, `${path}.id`), fileName: '' };
  if (typeof o.file_name !== 'string') c.fail(`${path}.file_name`, `must be a string, got ${describe(o.file_name)}`);
  image.fileName = o.file_name;
  if (dataset === 'crowdpose') {
    if (o.crowdIndex === undefined) c.fail(`${path}.crowdIndex`, 'is missing: the CrowdPose evaluation needs each image\'s crowd index (is this a CrowdPose annotation file?)');
    image.crowdIndex = c.number(o.crowdIndex, `${path}.crowdIndex`);
  }
  return image;
}

/** Each dataset's keypoint annotation file, named when a file of another task is given. */
const KEYPOINT_FILES: Record<DatasetKind, string> = { coco: "COCO's person_keypoints_val2017.json", crowdpose: "CrowdPose's crowdpose_val.json" };

/**
 * A file beside the keypoint file in COCO's annotation archive (instances, captions, panoptic,
 * test-dev's image info) is named as such: its first missing field would say little.
 */
function refuseOtherTask(source: string, what: string, dataset: DatasetKind): never {
  throw new EvalError(`${source}: ${what}: this is no keypoint annotation file; give ${KEYPOINT_FILES[dataset]}`);
}

/** The task whose annotation `o` is, when it is no keypoint annotation: only another task's fields, no keypoint fields. */
function otherTaskOf(o: Json): string | undefined {
  if (o.keypoints !== undefined || o.num_keypoints !== undefined) return undefined;
  if ('caption' in o) return "a captions file's";
  if ('segments_info' in o) return "a panoptic file's";
  if ('segmentation' in o) return "an instances file's (segmentation without keypoints)";
  return undefined;
}

function parseAnnotation(c: Checker, v: unknown, path: string, dataset: DatasetKind, joints: number): GtAnnotation {
  const o = c.object(v, path);
  const task = otherTaskOf(o);
  if (task) refuseOtherTask(c.source, `${path} has no keypoints, as ${task}`, dataset);
  const iscrowd = o.iscrowd;
  if (iscrowd !== 0 && iscrowd !== 1 && typeof iscrowd !== 'boolean') {
    c.fail(`${path}.iscrowd`, `must be 0 or 1, got ${describe(iscrowd)}`);
  }
  const [x, y, w, h] = c.numbers(o.bbox, `${path}.bbox`, 4, 'x, y, width, height');
  const ann: GtAnnotation = {
    id: c.integer(o.id, `${path}.id`),
    imageId: c.integer(o.image_id, `${path}.image_id`),
    categoryId: c.integer(o.category_id, `${path}.category_id`),
    keypoints: annotationKeypoints(c, o.keypoints, `${path}.keypoints`, dataset, joints),
    numKeypoints: c.integer(o.num_keypoints, `${path}.num_keypoints`),
    iscrowd: Boolean(iscrowd),
    bbox: [x!, y!, w!, h!],
  };
  // COCO scales OKS by the segmentation area; CrowdPose derives its scale from the box.
  if (dataset === 'coco') ann.area = c.number(o.area, `${path}.area`);
  if (!ann.iscrowd && ann.numKeypoints > 0) checkOksScale(c, ann, path, dataset);
  return ann;
}

/**
 * A scored person's OKS is divided by its area (COCO) or its box's (CrowdPose): at 0 every
 * prediction not exactly on it scores 0, below 0 above 1. The official evaluation computes on,
 * so a converter's placeholder `area: 0` would give an AP near 0 without a word.
 */
function checkOksScale(c: Checker, ann: GtAnnotation, path: string, dataset: DatasetKind): void {
  if (dataset === 'coco') {
    if (!(ann.area! > 0)) c.fail(`${path}.area`, `must be positive: the OKS of a person with keypoints is scaled by it, got ${ann.area}`);
    return;
  }
  const [, , width, height] = ann.bbox;
  if (!(width > 0 && height > 0)) {
    c.fail(`${path}.bbox`, `must have a positive width and height: the CrowdPose OKS of a person with keypoints is scaled by its area, got ${width} x ${height}`);
  }
}

function uniqueIds(c: Checker, ids: number[], path: string): Set<number> {
  const seen = new Set<number>();
  ids.forEach((id, i) => {
    if (seen.has(id)) c.fail(`${path}[${i}].id`, `${id} is a duplicate`);
    seen.add(id);
  });
  return seen;
}

/**
 * Validates a ground-truth document. Every annotation needs the fields the official
 * evaluation reads (`keypoints` with 3·J values, `num_keypoints`, `iscrowd`, `bbox`, and for
 * COCO `area`); CrowdPose images need `crowdIndex`.
 */
export function parseGroundTruth(doc: unknown, source: string, dataset: DatasetKind): GroundTruth {
  const c = new Checker(source);
  const joints = keypointDefinition(dataset).sigmas.length;
  if (isResultsEntry(Array.isArray(doc) ? doc[0] : doc)) refuseResultsFile(source, dataset);
  const root = c.object(doc, 'ground truth');
  if (root.annotations === undefined && root.images !== undefined) {
    refuseOtherTask(source, 'lists images but no annotations, as an image info file (test-dev\'s ground truth is not published)', dataset);
  }
  // Annotations first: their keypoint count tells the other dataset's files apart best.
  const annotations = c.array(root.annotations, 'annotations').map((v, i) => parseAnnotation(c, v, `annotations[${i}]`, dataset, joints));
  const images = c.array(root.images, 'images').map((v, i) => parseImage(c, v, `images[${i}]`, dataset));
  if (images.length === 0) c.fail('images', 'lists no image: there is nothing to evaluate');
  const categories = c.array(root.categories, 'categories').map((v, i) => c.integer(c.object(v, `categories[${i}]`).id, `categories[${i}].id`));
  const imageIds = uniqueIds(c, images.map((im) => im.id), 'images');
  const categoryIds = uniqueIds(c, categories, 'categories');
  uniqueIds(c, annotations.map((a) => a.id), 'annotations');
  annotations.forEach((a, i) => {
    if (!imageIds.has(a.imageId)) c.fail(`annotations[${i}].image_id`, `${a.imageId} is not in images`);
    if (!categoryIds.has(a.categoryId)) c.fail(`annotations[${i}].category_id`, `${a.categoryId} is not in categories`);
  });
  return { source, dataset, numJoints: joints, images, annotations, categoryIds: [...categoryIds].sort((a, b) => a - b) };
}

/** A ground-truth annotation file as read once, and the sha256 of its bytes (what a run's journal keys on). */
export interface AnnotationFile {
  groundTruth: GroundTruth;
  sha256: string;
}

/**
 * Reads and validates a ground-truth annotation file, once: a pipe (`--annotations <(zcat ...)`)
 * gives its bytes once, so what was read is handed on rather than read again.
 */
export function readAnnotationFile(path: string, dataset: DatasetKind): AnnotationFile {
  const { value, sha256 } = readAnnotationJson(path, dataset);
  return { groundTruth: parseGroundTruth(value, path, dataset), sha256 };
}

/** Reads and validates a ground-truth annotation file. */
export function loadGroundTruth(path: string, dataset: DatasetKind): GroundTruth {
  return readAnnotationFile(path, dataset).groundTruth;
}

/**
 * The most images outside the ground truth that a refusal counts one by one: past it, it says
 * "over" that many, so that an endless pipe of them holds no more than this many ids.
 */
const UNKNOWN_IMAGES_COUNTED = 100_000;

/**
 * Results of images outside the ground truth, which the reference refuses (`loadRes` asserts).
 * Counted to the end, as results of a folder holding unannotated images name many: the refusal
 * says how many, not only the first. Only their ids are kept, not the results.
 */
class UnknownImages {
  private first?: { index: number; imageId: number };
  private results = 0;
  private readonly imageIds = new Set<number>();
  private uncounted = false;

  constructor(private readonly images: ReadonlySet<number>) {}

  /** Whether `imageId` is an image of the ground truth. */
  isKnown(imageId: number): boolean {
    return this.images.has(imageId);
  }

  /** Records the result at `index` when its image is unknown. */
  check(imageId: number, index: number): void {
    if (this.images.has(imageId)) return;
    this.first ??= { index, imageId };
    this.results++;
    if (this.imageIds.size < UNKNOWN_IMAGES_COUNTED || this.imageIds.has(imageId)) this.imageIds.add(imageId);
    else this.uncounted = true;
  }

  /** Refuses the `total` results read when any was of an unknown image. */
  refuse(c: Checker, gt: GroundTruth, total: number): void {
    if (!this.first) return;
    const ids = [...this.imageIds];
    const over = this.uncounted ? 'over ' : '';
    const shown = ids.slice(0, 5).join(', ') + (ids.length > 5 ? `, … ${over}${ids.length - 5} more` : '');
    c.fail(`results[${this.first.index}].image_id`, `${this.first.imageId} is not an image of ${gt.source}; ${this.results} of the ${total} results name `
      + `${over}${ids.length} image(s) outside it (${shown}): the evaluation scores results of its images only, so leave the others out`);
  }
}

function parseResult(c: Checker, v: unknown, path: string, gt: GroundTruth, cats: Set<number>): KeypointResult {
  const o = c.object(v, path);
  const result: KeypointResult = {
    image_id: c.integer(o.image_id, `${path}.image_id`),
    category_id: c.integer(o.category_id, `${path}.category_id`),
    keypoints: c.numbers(o.keypoints, `${path}.keypoints`, gt.numJoints * 3, jointsText(gt.dataset, gt.numJoints)),
    score: c.number(o.score, `${path}.score`),
  };
  if (!cats.has(result.category_id)) c.fail(`${path}.category_id`, `${result.category_id} is not a category of ${gt.source}`);
  if (o.bbox !== undefined) result.bbox = c.numbers(o.bbox, `${path}.bbox`, 4, 'x, y, width, height');
  return result;
}

/**
 * Validates results against the ground truth they will be scored on: known image and
 * category ids (the reference refuses results for images outside the ground truth), J
 * keypoints, finite numbers. Returns checked copies.
 */
export function parseResults(doc: unknown, source: string, gt: GroundTruth): KeypointResult[] {
  refuseAnnotationFile(doc, source);
  const c = new Checker(source);
  const { parse, refuseUnknownImages } = resultParser(c, gt);
  const results = c.array(doc, 'results').map((v, i) => parse(v, i));
  refuseUnknownImages(results.length);
  return [...checkedBoxes(c, results)];
}

/**
 * An annotation file given as the results (the two options swapped) is named as such: on one
 * line, as COCO's are, it reads as one JSON Lines record without an image_id.
 */
function refuseAnnotationFile(value: unknown, source: string): void {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || 'image_id' in value) return;
  if (!('annotations' in value || 'images' in value)) return;
  throw new EvalError(`${source} is an annotation file (it has ${['images', 'annotations'].filter((key) => key in value).join(' and ')}), not results: give it as --annotations, and as --results a JSON array or JSON Lines of {image_id, category_id, keypoints, score}`);
}

/** Eval's resume journal given as the results (a run in progress scored) is named as such: its header line reads as a record without an image_id. */
function refuseJournal(value: unknown, source: string): void {
  if (!isJournalHeader(value)) return;
  throw new EvalError(`${source} is the resume journal of an eval run, not results: give as --results the results file that run writes when it ends (its --out, results.json by default); to finish the run, run its eval command again`);
}

/** Checks of the entries of a results file scored on `gt`, by their index. */
function resultParser(c: Checker, gt: GroundTruth): {
  parse: (v: unknown, index: number) => KeypointResult;
  isKnownImage: (imageId: number) => boolean;
  refuseUnknownImages: (total: number) => void;
} {
  const unknownImages = new UnknownImages(new Set(gt.images.map((im) => im.id)));
  const cats = new Set(gt.categoryIds);
  return {
    parse: (v, index) => {
      const result = parseResult(c, v, `results[${index}]`, gt, cats);
      unknownImages.check(result.image_id, index);
      return result;
    },
    isKnownImage: (imageId) => unknownImages.isKnown(imageId),
    refuseUnknownImages: (total) => unknownImages.refuse(c, gt, total),
  };
}

/**
 * The reference decides from the first result whether areas come from boxes or keypoints: then
 * every one needs a box; else later boxes are left out, as the reference overwrites them with the
 * keypoints' extent (kept, a box could decide for results of which the first was not kept).
 */
function* checkedBoxes(c: Checker, results: Iterable<KeypointResult>): Generator<KeypointResult, void, undefined> {
  let fromBoxes: boolean | undefined;
  let index = 0;
  for (const result of results) {
    fromBoxes ??= result.bbox !== undefined;
    if (fromBoxes) result.bbox ?? c.fail(`results[${index}].bbox`, 'is missing (results[0] has a bbox, so every result needs one)');
    else delete result.bbox;
    index++;
    yield result;
  }
}

/**
 * Reads and validates a COCO results file against the ground truth, entry by entry as it is read
 * (see `readResults`), all of them held.
 */
export function loadResults(path: string, gt: GroundTruth): KeypointResult[] {
  return [...readResults(path, gt)];
}

/**
 * The checked entries of a COCO results file, one at a time as they are read, so that a caller
 * keeping only some holds only those. Its array is read entry by entry, so that a file past the
 * longest string (~512 MiB: a full val set's results from an untrained model) is read too; so are
 * JSON Lines (`predict --format jsonl`), an entry a line, and an empty file (nothing, or blank
 * lines: the JSON Lines of a predict run that found nobody) holds no results, as `[]`. A file
 * that holds neither is refused as other JSON files are. The file is read once: a pipe is read
 * too (`--results <(zcat results.jsonl.gz)`). Results of images outside the ground truth are
 * refused once the file is read, counted to the end, and meanwhile checked but not given: kept,
 * an endless pipe of them would hold ever more memory before its refusal.
 */
export function* readResults(path: string, gt: GroundTruth): Generator<KeypointResult, void, undefined> {
  const c = new Checker(path);
  const { parse, isKnownImage, refuseUnknownImages } = resultParser(c, gt);
  let total = 0;
  function* parsed(): Generator<KeypointResult, void, undefined> {
    for (const value of readJsonValues(path)) {
      if (total === 0) {
        refuseAnnotationFile(value, path);
        refuseJournal(value, path);
      }
      yield parse(value, total++);
    }
  }
  try {
    // Left out after checkedBoxes: the first entry, of any image, decides whether boxes are needed, as the reference's does.
    for (const result of checkedBoxes(c, parsed())) if (isKnownImage(result.image_id)) yield result;
  } catch (err) {
    // Neither: one object over several lines (whose first line is no JSON), a number.
    if (err instanceof OneJsonValueError) {
      yield* parseResults(err.value, path, gt);
      return;
    }
    if (err instanceof EmptyTextError) return;
    if (err instanceof NotUtf8Error) throw new EvalError(`${path}: results file ${err.message}`);
    if (err instanceof SyntaxError) throw new EvalError(`${path}: results file is not valid JSON (${err.message})`);
    if (err instanceof EvalError) throw err;
    throw new EvalError(`Cannot read results file ${path}: ${(err as Error).message}`);
  }
  refuseUnknownImages(total);
}
