/**
 * Person tracking across video frames: each frame's people are matched to the live tracks
 * by OKS (object keypoint similarity, with the dataset's per-joint sigmas and the box area
 * as the scale), using a minimum-cost assignment, so ids stay stable while people move.
 *
 * Each track's last pose is moved by the track's velocity (of its box centre, per frame)
 * before matching, which keeps ids right when people cross. A track that finds no match is
 * kept for `maxMissed` frames so that a missed detection or a short occlusion does not
 * change the id; after that the person gets a new id.
 */
import type { KeypointDefinition } from '../datasets.js';
import type { Person } from '../types.js';
import { minCostAssignment } from './assignment.js';

export interface TrackerOptions {
  /** Keypoint definition (its OKS sigmas). */
  keypoints: KeypointDefinition;
  /** Lowest OKS at which a person continues a track; default 0.3. */
  oksThreshold?: number;
  /** Frames a track survives without a match; default 5. */
  maxMissed?: number;
  /** Joints scoring below this in either pose are left out of OKS (all are used if none pass); default 0.1. */
  minKeypointScore?: number;
  /** First id handed out; default 1. */
  firstId?: number;
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
 * s² the mean of the two box areas, as COCO evaluation uses the object area.
 */
export function poseOks(a: Person, b: Person, sigmas: readonly number[], minKeypointScore = 0.1): number {
  const n = Math.min(a.keypoints.length, b.keypoints.length, sigmas.length);
  const area = Math.max((a.box.width * a.box.height + b.box.width * b.box.height) / 2, 1);
  let sum = 0;
  let count = 0;
  let sumAll = 0;
  for (let j = 0; j < n; j++) {
    const ka = a.keypoints[j]!;
    const kb = b.keypoints[j]!;
    const k2 = (2 * sigmas[j]!) ** 2;
    const e = Math.exp(-((ka.x - kb.x) ** 2 + (ka.y - kb.y) ** 2) / (2 * area * k2));
    sumAll += e;
    if (ka.score >= minKeypointScore && kb.score >= minKeypointScore) {
      sum += e;
      count++;
    }
  }
  if (n === 0) return 0;
  return count > 0 ? sum / count : sumAll / n;
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

export class PoseTracker {
  private tracks: Track[] = [];
  private nextId: number;
  private readonly oksThreshold: number;
  private readonly maxMissed: number;
  private readonly minKeypointScore: number;

  constructor(private readonly options: TrackerOptions) {
    this.oksThreshold = options.oksThreshold ?? 0.3;
    this.maxMissed = options.maxMissed ?? 5;
    this.minKeypointScore = options.minKeypointScore ?? 0.1;
    this.nextId = options.firstId ?? 1;
    if (!(this.oksThreshold >= 0 && this.oksThreshold <= 1)) throw new RangeError(`PoseTracker: oksThreshold must be in [0, 1], got ${this.oksThreshold}`);
    if (!(Number.isInteger(this.maxMissed) && this.maxMissed >= 0)) throw new RangeError(`PoseTracker: maxMissed must be a non-negative integer, got ${this.maxMissed}`);
  }

  /** Copies of the next frame's `people` (same order) with their track ids set. */
  update(people: readonly Person[]): Person[] {
    const sigmas = this.options.keypoints.sigmas;
    const predicted = this.tracks.map((t) => {
      const steps = t.missed + 1;
      return shifted(t.person, t.velocity.x * steps, t.velocity.y * steps);
    });
    // Pairs under the threshold get a cost above any allowed pair, so the assignment only
    // uses them when nothing better exists, and they are dropped below.
    const cost = predicted.map((p) => people.map((q) => {
      const similarity = poseOks(p, q, sigmas, this.minKeypointScore);
      return similarity >= this.oksThreshold ? 1 - similarity : 2;
    }));
    const assigned = minCostAssignment(cost);
    const trackOf = new Array<Track | undefined>(people.length).fill(undefined);
    assigned.forEach((j, i) => {
      if (j >= 0 && cost[i]![j]! <= 1) trackOf[j] = this.tracks[i];
    });
    const out = people.map((person, j) => {
      let track = trackOf[j];
      if (track) {
        const before = centre(track.person);
        const now = centre(person);
        const steps = track.missed + 1;
        track.velocity = { x: (now.x - before.x) / steps, y: (now.y - before.y) / steps };
        track.person = person;
        track.missed = -1; // becomes 0 below
      } else {
        track = { id: this.nextId++, person, velocity: { x: 0, y: 0 }, missed: -1 };
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
