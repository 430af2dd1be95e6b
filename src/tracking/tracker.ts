/**
 * Person tracking across video frames: each frame's people are matched to the live tracks
 * by OKS (object keypoint similarity, with the dataset's per-joint sigmas and the box area
 * as the scale), using a minimum-cost assignment, so ids stay stable while people move.
 *
 * Each track's last pose is moved by the track's velocity (of its box centre, per frame)
 * before matching, which keeps ids right when people cross. Leaving a track or a person
 * unmatched has a cost too, so one good match is preferred to two poor ones. Tracks and people
 * that OKS leaves unmatched are then matched by box overlap (IoU): OKS, scaled by the person's
 * size, drops fast for a small person moving fast or a video sampled sparsely. A track that
 * finds no match is kept for `maxMissed` frames so that a missed detection or a short
 * occlusion does not change the id; after that the person gets a new id.
 */
import type { KeypointDefinition } from '../datasets.js';
import type { Person, PersonInput } from '../types.js';
import { minCostAssignment } from './assignment.js';
import { boxArea, oksArea, pairsWithinReach } from './oks-reach.js';
import { BOX_SIDES_AND_SIZE, checkPeople } from './people.js';
import { optionsProblem, shownValue } from '../values.js';

export interface TrackerOptions {
  /** Keypoint definition (its OKS sigmas). */
  keypoints: KeypointDefinition;
  /** Lowest OKS at which a person continues a track; default 0.3. */
  oksThreshold?: number | undefined;
  /** Lowest box IoU at which a person OKS left unmatched continues a track OKS left unmatched; default 0.3. */
  iouThreshold?: number | undefined;
  /** Frames a track survives without a match; default 5. */
  maxMissed?: number | undefined;
  /** Joints scoring below this in either pose are left out of OKS (all found in both, score > 0, are used if none pass); default 0.1. */
  minKeypointScore?: number | undefined;
  /** First id handed out; default 1. */
  firstId?: number | undefined;
}

interface Track {
  id: number;
  /** Last matched pose. */
  person: Person;
  /** Box-centre displacement per frame. */
  velocity: { x: number; y: number };
  /** Frames since the last match. */
  missed: number;
}

/**
 * OKS between two poses, symmetric: the mean over joints of exp(-d² / (2 · s² · (2σ)²)) with
 * s² the mean of the two box areas, as COCO evaluation uses the object area. Only joints found
 * in both (score > 0) count: an undetected joint has no position (every person's lies at one
 * image point), so people with none found in common have an OKS of 0.
 */
export function poseOks(a: Person, b: Person, sigmas: readonly number[], minKeypointScore = 0.1): number {
  const n = Math.min(a.keypoints.length, b.keypoints.length, sigmas.length);
  const area = oksArea(boxArea(a), boxArea(b));
  let sum = 0;
  let count = 0;
  let sumFound = 0;
  let countFound = 0;
  for (let j = 0; j < n; j++) {
    const ka = a.keypoints[j]!;
    const kb = b.keypoints[j]!;
    if (!(ka.score > 0 && kb.score > 0)) continue;
    const k2 = (2 * sigmas[j]!) ** 2;
    const e = Math.exp(-((ka.x - kb.x) ** 2 + (ka.y - kb.y) ** 2) / (2 * area * k2));
    sumFound += e;
    countFound++;
    if (ka.score >= minKeypointScore && kb.score >= minKeypointScore) {
      sum += e;
      count++;
    }
  }
  if (count > 0) return sum / count;
  return countFound > 0 ? sumFound / countFound : 0;
}

/** Intersection over union of two people's boxes. */
function boxIou(a: Person, b: Person): number {
  const w = Math.min(a.box.xMax, b.box.xMax) - Math.max(a.box.xMin, b.box.xMin);
  const h = Math.min(a.box.yMax, b.box.yMax) - Math.max(a.box.yMin, b.box.yMin);
  if (!(w > 0 && h > 0)) return 0;
  const union = a.box.width * a.box.height + b.box.width * b.box.height - w * h;
  return union > 0 ? (w * h) / union : 0;
}

/**
 * Pairs of rows and columns by `similarity` (at least `threshold`), as a minimum-cost
 * assignment where a pair costs 1 - similarity and leaving a row or a column unpaired costs
 * (1 - threshold) / 2: a pair at the threshold is worth as much as leaving both alone, so
 * two poor pairs never win over one good pair and two unpaired. That is the same as the most
 * total gain, similarity - threshold, over pairs at the threshold or above: solved on the rows
 * and columns with such a pair alone, any other pair costing 0 as leaving both alone does, so
 * the matrix is rows × columns, not their sum squared (a crowd of 300 took a second a frame).
 * `candidates[i]`, where given, are the only columns row i can reach the threshold with: the
 * similarity of the others is not computed (it could only cost 0).
 */
export function matchBySimilarity(rows: number, cols: number, similarity: (i: number, j: number) => number, threshold: number, candidates?: readonly (readonly number[])[]): [number, number][] {
  const gain: Float64Array[] = [];
  const colPairs = new Uint8Array(cols);
  const pairedRows: number[] = [];
  const allColumns = candidates ? [] : Array.from({ length: cols }, (_, j) => j);
  for (let i = 0; i < rows; i++) {
    // Below the threshold, as every column left out is.
    const row = new Float64Array(cols).fill(-Infinity);
    let pairs = false;
    for (const j of candidates?.[i] ?? allColumns) {
      row[j] = similarity(i, j) - threshold;
      if (row[j]! >= 0) {
        pairs = true;
        colPairs[j] = 1;
      }
    }
    gain.push(row);
    if (pairs) pairedRows.push(i);
  }
  const pairedCols = Array.from({ length: cols }, (_, j) => j).filter((j) => colPairs[j]);
  const cost = pairedRows.map((i) => pairedCols.map((j) => Math.min(0, -gain[i]![j]!)));
  const assigned = minCostAssignment(cost);
  const pairs: [number, number][] = [];
  assigned.forEach((c, r) => {
    if (c < 0) return;
    const i = pairedRows[r]!;
    const j = pairedCols[c]!;
    if (gain[i]![j]! >= 0) pairs.push([i, j]);
  });
  return pairs;
}

function centre(p: Person): { x: number; y: number } {
  return { x: (p.box.xMin + p.box.xMax) / 2, y: (p.box.yMin + p.box.yMax) / 2 };
}

function shifted(p: Person, dx: number, dy: number): Person {
  return {
    ...p,
    keypoints: p.keypoints.map((k) => ({ ...k, x: k.x + dx, y: k.y + dy })),
    box: { ...p.box, xMin: p.box.xMin + dx, xMax: p.box.xMax + dx, yMin: p.box.yMin + dy, yMax: p.box.yMax + dy },
  };
}

/**
 * A track's own copy of a pose: the people returned share the caller's keypoints and box, which
 * the caller may change in place (scaled for display) before the next frame is matched.
 */
function poseCopy(p: Person): Person {
  return { ...p, keypoints: p.keypoints.map((k) => ({ ...k })), box: { ...p.box } };
}

/** Every option of the tracker, for refusing the others (a misspelt `maxMised` would be left at its default without a word). */
const TRACKER_OPTION_NAMES: Record<keyof TrackerOptions, true> = { keypoints: true, oksThreshold: true, iouThreshold: true, maxMissed: true, minKeypointScore: true, firstId: true };

export class PoseTracker {
  private tracks: Track[] = [];
  private nextId: number;
  private readonly oksThreshold: number;
  private readonly iouThreshold: number;
  /** Frames a track survives without a match. */
  readonly maxMissed: number;
  private readonly minKeypointScore: number;

  constructor(private readonly options: TrackerOptions) {
    // Else a TypeError from inside the first update.
    if (!Array.isArray(options?.keypoints?.sigmas)) throw new TypeError('PoseTracker needs { keypoints }: the keypoint definition (COCO_KEYPOINTS, or the estimator\'s keypoints) whose OKS sigmas it matches people with');
    const problem = optionsProblem(options, TRACKER_OPTION_NAMES);
    if (problem) throw new TypeError(`PoseTracker: ${problem}`);
    // A string "0.5" passes the range checks below and is compared as text, or added as one.
    const notNumber = (['oksThreshold', 'iouThreshold', 'maxMissed', 'minKeypointScore', 'firstId'] as const).find((name) => options[name] !== undefined && typeof options[name] !== 'number');
    if (notNumber) throw new TypeError(`PoseTracker: ${notNumber} must be a number, got ${shownValue(options[notNumber])}`);
    this.oksThreshold = options.oksThreshold ?? 0.3;
    this.iouThreshold = options.iouThreshold ?? 0.3;
    this.maxMissed = options.maxMissed ?? 5;
    this.minKeypointScore = options.minKeypointScore ?? 0.1;
    this.nextId = options.firstId ?? 1;
    for (const [name, value] of [['oksThreshold', this.oksThreshold], ['iouThreshold', this.iouThreshold]] as const) {
      if (!(value >= 0 && value <= 1)) throw new RangeError(`PoseTracker: ${name} must be in [0, 1], got ${value}`);
    }
    if (!(Number.isInteger(this.maxMissed) && this.maxMissed >= 0)) throw new RangeError(`PoseTracker: maxMissed must be a non-negative integer, got ${this.maxMissed}`);
    // NaN would leave every joint out of OKS unnoticed (all are then used); an id NaN or 1.5 is no id.
    if (typeof this.minKeypointScore !== 'number' || Number.isNaN(this.minKeypointScore)) throw new RangeError(`PoseTracker: minKeypointScore must be a number, got ${this.minKeypointScore}`);
    if (!Number.isSafeInteger(this.nextId)) throw new RangeError(`PoseTracker: firstId must be an integer, got ${this.nextId}`);
  }

  /**
   * Copies of the next frame's `people` (same order) with their track ids set. Coordinates,
   * scores or box sizes (width, height) that are not finite numbers are a RangeError, and people
   * that are not a list of people with keypoints and a box a TypeError, with the tracks left as they were.
   */
  update(people: readonly PersonInput[]): Person[] {
    // Taken in, a NaN box makes its track's velocity, and so every later prediction, NaN; a NaN
    // width or height makes every OKS and IoU of the person NaN, never a match.
    checkPeople(people, 'PoseTracker', BOX_SIDES_AND_SIZE);
    const sigmas = this.options.keypoints.sigmas;
    // People of another dataset (CrowdPose's 14 joints against COCO's 17) would be matched over
    // the shorter list with the wrong joints' sigmas, silently.
    const other = people.findIndex((p) => p.keypoints.length !== sigmas.length);
    if (other >= 0) throw new RangeError(`PoseTracker: person ${other} has ${people[other]!.keypoints.length} keypoints, the tracker's keypoint definition (${this.options.keypoints.kind}) ${sigmas.length}: give it the estimator's keypoints`);
    const predicted = this.tracks.map((t) => {
      const steps = t.missed + 1;
      return shifted(t.person, t.velocity.x * steps, t.velocity.y * steps);
    });
    const trackOf = new Array<Track | undefined>(people.length).fill(undefined);
    // Pairs too far apart for their OKS to reach the threshold are not computed: in a crowd, most.
    const withinReach = pairsWithinReach(predicted, people, sigmas, this.oksThreshold);
    const byOks = matchBySimilarity(predicted.length, people.length, (i, j) => poseOks(predicted[i]!, people[j]!, sigmas, this.minKeypointScore), this.oksThreshold, withinReach);
    for (const [i, j] of byOks) trackOf[j] = this.tracks[i];
    // What OKS left: by box overlap.
    const matchedTracks = new Set(byOks.map(([i]) => i));
    const tracksLeft = predicted.flatMap((_, i) => (matchedTracks.has(i) ? [] : [i]));
    const peopleLeft = people.flatMap((_, j) => (trackOf[j] ? [] : [j]));
    const byBox = matchBySimilarity(tracksLeft.length, peopleLeft.length, (a, b) => boxIou(predicted[tracksLeft[a]!]!, people[peopleLeft[b]!]!), this.iouThreshold);
    for (const [a, b] of byBox) trackOf[peopleLeft[b]!] = this.tracks[tracksLeft[a]!];
    // Checked before any track changes; past it, nextId++ stays at 2^53 and ids repeat.
    const newPeople = trackOf.filter((track) => !track).length;
    // Not nextId + newPeople - 1, which rounds past 2^53.
    if (newPeople > 0 && this.nextId > Number.MAX_SAFE_INTEGER - (newPeople - 1)) {
      throw new RangeError('PoseTracker: a new person would get an id past 2^53 - 1 (Number.MAX_SAFE_INTEGER), which would repeat; give a smaller firstId, or reset() it');
    }
    const out = people.map((person, j) => {
      let track = trackOf[j];
      if (track) {
        const before = centre(track.person);
        const now = centre(person);
        const steps = track.missed + 1;
        track.velocity = { x: (now.x - before.x) / steps, y: (now.y - before.y) / steps };
        track.person = poseCopy(person);
        track.missed = -1; // becomes 0 below
      } else {
        track = { id: this.nextId++, person: poseCopy(person), velocity: { x: 0, y: 0 }, missed: -1 };
        this.tracks.push(track);
      }
      return { ...person, id: track.id };
    });
    for (const t of this.tracks) t.missed++;
    this.tracks = this.tracks.filter((t) => t.missed <= this.maxMissed);
    return out;
  }

  /** Ids of the tracks alive (matched within the last `maxMissed` frames). */
  get activeIds(): number[] {
    return this.tracks.map((t) => t.id);
  }

  reset(): void {
    this.tracks = [];
    this.nextId = this.options.firstId ?? 1;
  }
}
