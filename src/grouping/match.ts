/**
 * Associative-embedding tag matching (reference `match_by_tag` in lib/core/group.py): joints
 * are taken type by type in the reference joint order; the first type's detections start
 * people, every later type is assigned to the existing people by a Hungarian matching on
 * tag distance, and unmatched detections start new people.
 */
import { munkres } from './munkres.js';
import { float32MeanVector, roundHalfEven } from './numeric.js';

/** The reference's joint order (COCO numbering, hips right after shoulders), truncated to J joints. */
const REFERENCE_JOINT_ORDER = [0, 1, 2, 3, 4, 5, 6, 11, 12, 7, 8, 9, 10, 13, 14, 15, 16];

/** `Params.joint_order` for `numJoints` joints, or null when the reference order does not cover them. */
export function referenceJointOrder(numJoints: number): number[] | null {
  const order = REFERENCE_JOINT_ORDER.slice(0, numJoints);
  const covered = order.length === numJoints && order.every((j) => j < numJoints);
  return covered ? order : null;
}

export interface MatchParams {
  maxNumPeople: number;
  detectionThreshold: number;
  tagThreshold: number;
  useDetectionVal: boolean;
  ignoreTooMuch: boolean;
  /** Joint types in processing order (a permutation of 0..J-1). */
  jointOrder: readonly number[];
}

/** The top-k detections of every joint type (reference `top_k` output for one image). */
export interface Candidates {
  numJoints: number;
  /** Detections per joint type (the reference's max number of people). */
  k: number;
  /** Tag values per detection. */
  tagDim: number;
  /** `[J * k]`, per joint sorted by descending value. */
  val: Float32Array;
  /** `[J * k]` heatmap column and row. */
  x: Int32Array;
  y: Int32Array;
  /** `[J * k * tagDim]`. */
  tag: Float32Array;
}

/** One person being assembled: its joint rows `[x, y, score, tag...]` (float32) and the tags assigned so far. */
interface Group {
  joints: Float32Array;
  tags: Float32Array[];
}

/** The detections of joint type `joint` above the detection threshold, as rows `[x, y, val, tag...]`, in top-k order. */
function detectionsOf(c: Candidates, joint: number, threshold: number): { rows: Float32Array[]; tags: Float32Array[] } {
  const rows: Float32Array[] = [];
  const tags: Float32Array[] = [];
  for (let m = 0; m < c.k; m++) {
    const at = joint * c.k + m;
    if (!(c.val[at] > threshold)) continue;
    const tag = c.tag.slice(at * c.tagDim, (at + 1) * c.tagDim);
    const row = new Float32Array(3 + c.tagDim);
    row[0] = c.x[at];
    row[1] = c.y[at];
    row[2] = c.val[at];
    row.set(tag, 3);
    rows.push(row);
    tags.push(tag);
  }
  return { rows, tags };
}

/**
 * Starts a person keyed by the detection's first tag value. As in the reference (a dict keyed
 * by `tag[0]`), a detection whose first tag equals an existing key joins that person instead,
 * replacing its tag list.
 */
function startOrMerge(people: Map<number, Group>, numJoints: number, joint: number, row: Float32Array, tag: Float32Array): void {
  const key = tag[0];
  let group = people.get(key);
  if (!group) {
    group = { joints: new Float32Array(numJoints * row.length), tags: [] };
    people.set(key, group);
  }
  group.joints.set(row, joint * row.length);
  group.tags = [tag];
}

/**
 * Cost of assigning detection r to person c: the tag distance (float64, as NumPy computes it
 * from the float32 tags), or with `useDetectionVal` `round(distance) * 100 - score`.
 */
function costMatrix(rows: Float32Array[], groupTags: Float32Array[], useDetectionVal: boolean): { distance: number[][]; cost: number[][] } {
  const distance = rows.map((row) =>
    groupTags.map((g) => {
      let sq = 0;
      for (let d = 0; d < g.length; d++) {
        const diff = row[3 + d] - g[d];
        sq += diff * diff;
      }
      return Math.sqrt(sq);
    }),
  );
  const cost = useDetectionVal ? distance.map((ds, r) => ds.map((dist) => roundHalfEven(dist) * 100 - rows[r][2])) : distance.map((ds) => [...ds]);
  return { distance, cost };
}

/** Groups detections into people: `[P][J][3 + tagDim]` float32 rows, in the reference's person order. */
export function matchByTag(c: Candidates, params: MatchParams): number[][][] {
  const people = new Map<number, Group>();
  params.jointOrder.forEach((joint, i) => {
    const { rows, tags } = detectionsOf(c, joint, params.detectionThreshold);
    if (rows.length === 0) return;
    if (i === 0 || people.size === 0) {
      rows.forEach((row, r) => startOrMerge(people, c.numJoints, joint, row, tags[r]));
      return;
    }
    const groupedKeys = [...people.keys()].slice(0, params.maxNumPeople);
    if (params.ignoreTooMuch && groupedKeys.length === params.maxNumPeople) return;
    const groupTags = groupedKeys.map((key) => float32MeanVector((people.get(key) as Group).tags));
    const { distance, cost } = costMatrix(rows, groupTags, params.useDetectionVal);
    const numAdded = rows.length;
    const numGrouped = groupedKeys.length;
    // The reference pads extra columns with 1e10 when there are more detections than people.
    const padded = numAdded > numGrouped ? cost.map((ds) => [...ds, ...new Array<number>(numAdded - numGrouped).fill(1e10)]) : cost;
    for (const [r, col] of munkres(padded)) {
      if (r < numAdded && col < numGrouped && distance[r][col] < params.tagThreshold) {
        const group = people.get(groupedKeys[col]) as Group;
        group.joints.set(rows[r], joint * rows[r].length);
        group.tags.push(tags[r]);
      } else {
        startOrMerge(people, c.numJoints, joint, rows[r], tags[r]);
      }
    }
  });
  const width = 3 + c.tagDim;
  // Plain loops: Array.from over typed arrays goes through iterators, most of this function's allocations.
  const result: number[][][] = [];
  for (const { joints } of people.values()) {
    const person: number[][] = [];
    for (let j = 0; j < c.numJoints; j++) {
      const row: number[] = [];
      for (let i = 0; i < width; i++) row.push(joints[j * width + i]);
      person.push(row);
    }
    result.push(person);
  }
  return result;
}
