/**
 * One-Euro filter (Casiez, Roussel & Vogel, CHI 2012): a low-pass filter whose cutoff rises
 * with the signal's speed, so still keypoints lose their jitter and moving ones keep up.
 * Plus keypoint smoothing per track, one filter per coordinate.
 */
import type { BoundingBox, Keypoint, Person, PersonInput } from '../types.js';
import { isFlag, optionsProblem, shownValue } from '../values.js';
import { checkPeople } from './people.js';

export interface OneEuroOptions {
  /** Cutoff (Hz) at zero speed: lower removes more jitter. Default 1. */
  minCutoff?: number | undefined;
  /** Cutoff increase per unit/s of speed: higher follows fast moves with less lag. Default 0. */
  beta?: number | undefined;
  /** Cutoff (Hz) of the speed estimate. Default 1. */
  dCutoff?: number | undefined;
}

/** Smoothing factor of a first-order low-pass filter with cutoff `cutoff` Hz over `dt` s. */
function alpha(dt: number, cutoff: number): number {
  const tau = 1 / (2 * Math.PI * cutoff);
  return 1 / (1 + tau / dt);
}

/**
 * The settings with their defaults; a RangeError for values out of range. Finite: an infinite
 * beta times the zero speed of a still point is NaN, and so would be every output after it.
 */
function settings(options: OneEuroOptions): Required<OneEuroOptions> {
  const checked = { minCutoff: options.minCutoff ?? 1, beta: options.beta ?? 0, dCutoff: options.dCutoff ?? 1 };
  const { minCutoff, beta, dCutoff } = checked;
  // A string "1" passes the comparisons, and minCutoff + beta makes "10" of "1" and 0.
  const numbers = typeof minCutoff === 'number' && typeof beta === 'number' && typeof dCutoff === 'number';
  if (!(numbers && minCutoff > 0 && dCutoff > 0 && beta >= 0 && Number.isFinite(minCutoff + beta + dCutoff))) {
    throw new RangeError(`OneEuroFilter: minCutoff and dCutoff must be finite numbers > 0 and beta a finite number ≥ 0, got minCutoff ${shownValue(minCutoff)}, beta ${shownValue(beta)}, dCutoff ${shownValue(dCutoff)}`);
  }
  return checked;
}

/** Every option of a filter, and of a smoother, for refusing the others (a misspelt `mincutoff` would be left at its default without a word). */
const FILTER_OPTION_NAMES: Record<keyof OneEuroOptions, true> = { minCutoff: true, beta: true, dCutoff: true };
const SMOOTHER_OPTION_NAMES: Record<keyof PoseSmootherOptions, true> = { ...FILTER_OPTION_NAMES, forgetAfter: true, checkTimeUnit: true };

/** A TypeError from `who` where `options` are no object or hold a name not in `known`. */
function checkOptionNames(options: unknown, known: Readonly<Record<string, true>>, who: string): void {
  const problem = optionsProblem(options, known);
  if (problem) throw new TypeError(`${who}: ${problem}`);
}

/** Seconds under which two timestamps are the same time. */
const SAME_TIME = 1e-6;

export class OneEuroFilter {
  private readonly minCutoff: number;
  private readonly beta: number;
  private readonly dCutoff: number;
  private last: { value: number; speed: number; time: number } | undefined;

  constructor(options: OneEuroOptions = {}) {
    checkOptionNames(options, FILTER_OPTION_NAMES, 'OneEuroFilter');
    ({ minCutoff: this.minCutoff, beta: this.beta, dCutoff: this.dCutoff } = settings(options));
  }

  /**
   * Filters `value` observed at `timestamp` seconds; the first value passes unchanged, and so
   * does one at an earlier time than the last (a seek back), which starts the filter afresh.
   * At the last time again (or under a microsecond after it), the previous estimate is returned
   * and `value` is left out. A jump too large for a finite speed starts the filter afresh too.
   * A value or time that is not a finite number is a RangeError and leaves the filter as it was:
   * taken in, it would make every later output NaN (or, for a time, the same value).
   */
  apply(value: number, timestamp: number): number {
    if (!Number.isFinite(value) || !Number.isFinite(timestamp)) {
      throw new RangeError(`OneEuroFilter: the value and its timestamp must be finite numbers, got value ${value} at ${timestamp} s`);
    }
    const last = this.last;
    if (!last || timestamp < last.time) {
      // Kept until the time passes the last one, the old estimate would stand for every frame until then.
      this.last = { value, speed: 0, time: timestamp };
      return value;
    }
    const dt = timestamp - last.time;
    // A repeated timestamp carries no rate information: keep the estimate. So for times closer
    // than a microsecond (tfjs-models' pose-detection counts whole microseconds), whose speed
    // would overflow: a gap of 1e-310 s made it 0 · Infinity, NaN, and every later output NaN.
    if (dt < SAME_TIME) return last.value;
    const a = alpha(dt, this.dCutoff);
    const speed = a * ((value - last.value) / dt) + (1 - a) * last.speed;
    // A jump too large for a finite speed (from near 1e308 to near -1e308) is no motion to
    // smooth: start afresh, as after a seek. Kept, it made the cutoff 0 · Infinity (beta 0), or
    // left it infinite, nothing smoothed again.
    if (!Number.isFinite(speed)) {
      this.last = { value, speed: 0, time: timestamp };
      return value;
    }
    const b = alpha(dt, this.minCutoff + this.beta * Math.abs(speed));
    const filtered = b * value + (1 - b) * last.value;
    this.last = { value: filtered, speed, time: timestamp };
    return filtered;
  }

  reset(): void {
    this.last = undefined;
  }
}

export interface PoseSmootherOptions extends OneEuroOptions {
  /** Seconds after which the filters of a track not seen are dropped. Default 1. */
  forgetAfter?: number | undefined;
  /**
   * Whether `apply` refuses timestamps whose first gaps are all longer than `forgetAfter`
   * (milliseconds given for seconds, most likely), with which nothing would be smoothed. Default true.
   */
  checkTimeUnit?: boolean | undefined;
}

/** A RangeError for a PoseSmoother setting out of range. */
export function checkSmootherOptions(options: PoseSmootherOptions): void {
  checkOptionNames(options, SMOOTHER_OPTION_NAMES, 'PoseSmoother');
  settings(options);
  const { forgetAfter, checkTimeUnit } = options;
  // Not NaN, which would keep every track forever, nor ≤ 0, which would forget each one at once.
  if (forgetAfter !== undefined && !(typeof forgetAfter === 'number' && forgetAfter > 0)) throw new RangeError(`PoseSmoother: forgetAfter must be a number of seconds > 0, got ${shownValue(forgetAfter)}`);
  if (checkTimeUnit !== undefined && !isFlag(checkTimeUnit)) throw new RangeError(`PoseSmoother: checkTimeUnit must be true or false, got ${shownValue(checkTimeUnit)}`);
}

/**
 * A RangeError where two people share an id: the second would go through the first one's
 * filters at the same time, which keep their estimate, and come out where the first is.
 */
function checkOneTrackEach(people: readonly PersonInput[]): void {
  const personWith = new Map<number, number>();
  people.forEach((person, p) => {
    if (person.id === undefined) return;
    const first = personWith.get(person.id);
    if (first !== undefined) throw new RangeError(`PoseSmoother: people ${first} and ${p} both have id ${person.id}; each id is one track, one person a frame (PoseTracker gives each person its own)`);
    personWith.set(person.id, p);
  });
}

/**
 * How many gaps between the first timestamps must all exceed forgetAfter before they are taken
 * for milliseconds: more than one, since a live loop's first frames may come slowly (the network warming up).
 */
const TIME_UNIT_GAPS = 3;

/**
 * Smooths the keypoints and boxes of tracked people: one filter per track, keypoint and
 * coordinate. People need ids (run the tracker first); people without an id pass unchanged.
 * Filters of tracks not seen for `forgetAfter` seconds are dropped, so a reused or new id
 * starts fresh and memory does not grow over a long video. Scores are not smoothed.
 */
export class PoseSmoother {
  private readonly tracks = new Map<number, { filters: OneEuroFilter[]; lastSeen: number }>();

  private readonly forgetAfter: number;

  /** The filters' settings alone: a filter refuses the smoother's own (forgetAfter). */
  private readonly filterSettings: Required<OneEuroOptions>;

  private lastTime = -Infinity;

  /** The first gaps between timestamps, while each is longer than forgetAfter. */
  private longGaps: number[] = [];

  /** Whether the timestamps may still be milliseconds: no gap within forgetAfter seen yet. */
  private timeUnitUnsure: boolean;

  constructor(
    private readonly options: PoseSmootherOptions = {},
  ) {
    // Checked now, not when the first person comes, which may be far into a video.
    checkSmootherOptions(options);
    this.filterSettings = settings(options);
    this.forgetAfter = options.forgetAfter ?? 1;
    this.timeUnitUnsure = options.checkTimeUnit ?? true;
  }

  /**
   * Smoothed copies of `people` observed at `timestamp` seconds. A time before the last one (a
   * seek back) starts every track afresh; the last time again (a frame given twice, or a time
   * under a microsecond after it) gives each track its previous estimate, the new positions left
   * out (a person first seen passes as it is). Coordinates, scores or a time that are not finite
   * numbers are a RangeError, before any filter takes them in; so are timestamps whose first
   * gaps are all longer than forgetAfter (see `checkTimeUnit`), and two people with one id.
   * People that are not a list of people with keypoints and a box are a TypeError.
   */
  apply(people: readonly Person[], timestamp: number): Person[];
  /** People of a caller's own, whose id may be undefined: those pass as they are. */
  apply(people: readonly PersonInput[], timestamp: number): PersonInput[];
  apply(people: readonly PersonInput[], timestamp: number): PersonInput[] {
    if (!Number.isFinite(timestamp)) throw new RangeError(`PoseSmoother: the timestamp must be a finite number of seconds, got ${shownValue(timestamp)}`);
    checkPeople(people, 'PoseSmoother');
    checkOneTrackEach(people);
    if (this.timeUnitUnsure) this.checkTimeUnit(timestamp);
    if (timestamp < this.lastTime) this.tracks.clear();
    this.lastTime = timestamp;
    for (const [id, track] of this.tracks) {
      if (timestamp - track.lastSeen > this.forgetAfter) this.tracks.delete(id);
    }
    return people.map((person) => {
      if (person.id === undefined) return person;
      const size = person.keypoints.length * 2 + 4;
      let track = this.tracks.get(person.id);
      if (!track || track.filters.length !== size) {
        track = { filters: Array.from({ length: size }, () => new OneEuroFilter(this.filterSettings)), lastSeen: timestamp };
        this.tracks.set(person.id, track);
      }
      track.lastSeen = timestamp;
      const f = track.filters;
      // An undetected joint (score 0) has no position: it passes as it is and leaves its filters alone.
      const keypoints: Keypoint[] = person.keypoints.map((k, j) => (k.score > 0 ? {
        ...k,
        x: f[2 * j]!.apply(k.x, timestamp),
        y: f[2 * j + 1]!.apply(k.y, timestamp),
      } : k));
      // No joint found: the box is all zeros, no position either.
      if (!person.keypoints.some((k) => k.score > 0)) return { ...person, keypoints };
      const o = person.keypoints.length * 2;
      const xMin = f[o]!.apply(person.box.xMin, timestamp);
      const yMin = f[o + 1]!.apply(person.box.yMin, timestamp);
      const xMax = f[o + 2]!.apply(person.box.xMax, timestamp);
      const yMax = f[o + 3]!.apply(person.box.yMax, timestamp);
      const box: BoundingBox = { xMin, yMin, xMax, yMax, width: xMax - xMin, height: yMax - yMin };
      return { ...person, keypoints, box };
    });
  }

  /**
   * Milliseconds given for seconds (performance.now(), Date.now()) make every gap longer than
   * forgetAfter: each track would be forgotten before its next frame, and nothing smoothed.
   */
  private checkTimeUnit(timestamp: number): void {
    const gap = timestamp - this.lastTime;
    // The first time, a repeated one, or a seek back: no gap to judge by.
    if (!Number.isFinite(gap) || gap <= 0) return;
    if (gap <= this.forgetAfter) {
      this.timeUnitUnsure = false;
      return;
    }
    const gaps = [...this.longGaps, gap];
    if (gaps.length < TIME_UNIT_GAPS) {
      this.longGaps = gaps;
      return;
    }
    const shown = gaps.map((g) => Number(g.toPrecision(4))).join(', ');
    throw new RangeError(`PoseSmoother: the first ${gaps.length} gaps between timestamps (${shown}) are each longer than forgetAfter `
      + `(${this.forgetAfter} s), so every track would be forgotten before its next frame and nothing smoothed. Timestamps are `
      + 'seconds: divide milliseconds (performance.now(), Date.now()) by 1000; for frames this far apart, give a larger forgetAfter');
  }

  reset(): void {
    this.tracks.clear();
    this.lastTime = -Infinity;
    this.longGaps = [];
    this.timeUnitUnsure = this.options.checkTimeUnit ?? true;
  }
}
