/**
 * Sub-pixel adjustment and refinement of grouped people (reference `HeatmapParser.adjust` and
 * `HeatmapParser.refine`). A person is J rows `[x, y, score, tag...]` in heatmap pixels.
 */
import { ensurePixel, ensureRect, ensureTagPixel, tagPlaneOf, tileRect, type GroupingMaps } from './maps.js';
import { MaxHeap } from './heap.js';
import { float32MeanVector, roundHalfEven } from './numeric.js';
import { Workspace } from '../workspace.js';
import { everyJoint } from './topk.js';

const f32 = Math.fround;

/**
 * The ±0.25 rule: a quarter pixel towards the larger of the two horizontal neighbours (left
 * on a tie), the same vertically, then +0.5 to the pixel centre. Indices are clamped at the
 * border and the position truncated to integers first, as the reference does.
 */
function quarterOffset(maps: GroupingMaps, joint: number, col: number, row: number): [number, number] {
  const { det, width, height } = maps;
  const base = joint * width * height;
  const [x0, x1, y0, y1] = [Math.max(col - 1, 0), Math.min(col + 1, width - 1), Math.max(row - 1, 0), Math.min(row + 1, height - 1)];
  ensureRect(maps, joint, x0, y0, x1, y1);
  const right = det[base + row * width + x1];
  const left = det[base + row * width + x0];
  const below = det[base + y1 * width + col];
  const above = det[base + y0 * width + col];
  return [col + (right > left ? 0.25 : -0.25) + 0.5, row + (below > above ? 0.25 : -0.25) + 0.5];
}

/** `adjust`: moves every detected joint (score > 0) of every person by the ±0.25 rule. */
export function adjustPeople(people: number[][][], maps: GroupingMaps): void {
  for (const person of people) {
    person.forEach((joint, j) => {
      if (!(joint[2] > 0)) return;
      const [x, y] = quarterOffset(maps, j, Math.trunc(joint[0]), Math.trunc(joint[1]));
      joint[0] = x;
      joint[1] = y;
    });
  }
}

/** Children per inner node of the tag-space hierarchy. */
const FANOUT = 4;

/** How exact a leaf's bounds are: estimates, the computed heatmap tile's maximum, or that and the computed tag tile's box. */
const ESTIMATED = 0;
const EXACT_HEATMAP = 1;
const EXACT = 2;

/**
 * A hierarchy of one joint's tiles by heatmap bound and tag values: tiles are ordered along a
 * Z-order curve of (bound, tag-box centre) and packed into nodes of FANOUT, level by level,
 * each node holding the largest heatmap bound and the tag box of what it covers. Tiles whose
 * tags are far from a person's mean tag, or whose heatmap is low, are then ruled out a node at
 * a time. Leaves are tiles; their bounds are refreshed (up to the root) when a tile's heatmap,
 * then its tags, are computed and their exact extremes replace the estimates.
 */
interface TagHierarchy {
  /** Per node, the largest heatmap bound below it. */
  maxDet: Float64Array;
  /** `[node * K + d]`: the tag box below each node. */
  low: Float64Array;
  high: Float64Array;
  /** Nodes `[0, leaves)` are tiles (`tile[node]`); inner nodes have children `[first[n], first[n] + count[n])`. */
  leaves: number;
  tile: Int32Array;
  leafOf: Int32Array;
  first: Int32Array;
  count: Int32Array;
  parent: Int32Array;
  root: number;
  /**
   * Per tile, how exact its leaf's bounds are: `ESTIMATED`, `EXACT_HEATMAP` (the heatmap tile is
   * computed), `EXACT` (the tag tile too).
   */
  exactness: Uint8Array;
}

/** Spreads the low 10 bits of v to every third bit (for a 3-D Z-order key). */
function spread10(v: number): number {
  let x = v & 0x3ff;
  x = (x | (x << 16)) & 0x030000ff;
  x = (x | (x << 8)) & 0x0300f00f;
  x = (x | (x << 4)) & 0x030c30c3;
  x = (x | (x << 2)) & 0x09249249;
  return x >>> 0;
}

/**
 * The indices of `keys` (30-bit, non-negative) in increasing key order, equal keys in index
 * order: a radix sort, three passes of 10 bits (far faster than a comparison sort of pairs).
 */
function sortByKey(keys: Int32Array, workspace: Workspace): Int32Array {
  const n = keys.length;
  let order = workspace.int32('sort:order', n);
  let spare = workspace.int32('sort:spare', n);
  const counts = workspace.int32('sort:counts', 1024);
  for (let i = 0; i < n; i++) order[i] = i;
  for (let shift = 0; shift < 30; shift += 10) {
    counts.fill(0);
    for (let i = 0; i < n; i++) counts[(keys[i] >>> shift) & 1023]++;
    for (let b = 0, sum = 0; b < 1024; b++) [counts[b], sum] = [sum, sum + counts[b]];
    for (let i = 0; i < n; i++) {
      const item = order[i];
      spare[counts[(keys[item] >>> shift) & 1023]++] = item;
    }
    [order, spare] = [spare, order];
  }
  return order;
}

/** `values` scaled linearly to [0, 1023], into `out`. */
function quantise10(values: Float64Array, out: Int32Array): Int32Array {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < values.length; i++) {
    lo = Math.min(lo, values[i]);
    hi = Math.max(hi, values[i]);
  }
  const scale = hi > lo ? 1023 / (hi - lo) : 0;
  for (let i = 0; i < values.length; i++) out[i] = Math.floor((values[i] - lo) * scale);
  return out;
}

/** Copies the maps' current bounds of `tile` into its leaf. */
function loadLeaf(h: TagHierarchy, k: number, detBound: Float64Array, low: Float64Array, high: Float64Array, tile: number): void {
  const n = h.leafOf[tile];
  h.maxDet[n] = detBound[tile];
  for (let d = 0; d < k; d++) {
    h.low[n * k + d] = low[tile * k + d];
    h.high[n * k + d] = high[tile * k + d];
  }
}

/** Recomputes inner node `n` from its children; whether it changed. */
function mergeChildren(h: TagHierarchy, k: number, n: number): boolean {
  let changed = false;
  const first = h.first[n];
  const end = first + h.count[n];
  for (let d = 0; d < k; d++) {
    let lo = Infinity;
    let hi = -Infinity;
    for (let c = first; c < end; c++) {
      lo = Math.min(lo, h.low[c * k + d]);
      hi = Math.max(hi, h.high[c * k + d]);
    }
    changed ||= h.low[n * k + d] !== lo || h.high[n * k + d] !== hi;
    h.low[n * k + d] = lo;
    h.high[n * k + d] = hi;
  }
  let top = -Infinity;
  for (let c = first; c < end; c++) top = Math.max(top, h.maxDet[c]);
  changed ||= h.maxDet[n] !== top;
  h.maxDet[n] = top;
  return changed;
}

function buildHierarchy(maps: GroupingMaps, joint: number, workspace: Workspace): TagHierarchy {
  const k = maps.tagDim;
  const detBound = maps.detBounds(joint);
  const { low, high } = maps.tagBounds(joint);
  const tiles = detBound.length;
  const coordinates = [detBound];
  for (let d = 0; d < Math.min(k, 2); d++) {
    const centre = workspace.float64(`hierarchy:centre${d}`, tiles);
    for (let t = 0; t < tiles; t++) centre[t] = low[t * k + d] + high[t * k + d];
    coordinates.push(centre);
  }
  const quantised = coordinates.map((values, d) => quantise10(values, workspace.int32(`hierarchy:quantised${d}`, tiles)));
  const keys = workspace.int32('hierarchy:keys', tiles);
  for (let t = 0; t < tiles; t++) {
    let key = 0;
    for (let d = 0; d < quantised.length; d++) key |= spread10(quantised[d][t]) << d;
    keys[t] = key;
  }
  const order = sortByKey(keys, workspace);
  let total = tiles;
  for (let n = tiles; n > 1; n = Math.ceil(n / FANOUT)) total += Math.ceil(n / FANOUT);
  const key = `hierarchy${joint}`;
  const h: TagHierarchy = {
    maxDet: workspace.float64(`${key}:max`, total),
    low: workspace.float64(`${key}:low`, total * k),
    high: workspace.float64(`${key}:high`, total * k),
    leaves: tiles,
    tile: workspace.int32(`${key}:tile`, tiles),
    leafOf: workspace.int32(`${key}:leaf`, tiles),
    first: workspace.int32(`${key}:first`, total),
    count: workspace.int32(`${key}:count`, total),
    parent: workspace.int32(`${key}:parent`, total).fill(-1),
    root: total - 1,
    exactness: workspace.uint8(`${key}:exactness`, tiles).fill(ESTIMATED),
  };
  for (let n = 0; n < tiles; n++) {
    h.tile[n] = order[n];
    h.leafOf[h.tile[n]] = n;
  }
  for (let t = 0; t < tiles; t++) loadLeaf(h, k, detBound, low, high, t);
  let levelStart = 0;
  let levelSize = tiles;
  let next = tiles;
  while (levelSize > 1) {
    const parents = Math.ceil(levelSize / FANOUT);
    for (let p = 0; p < parents; p++, next++) {
      h.first[next] = levelStart + p * FANOUT;
      h.count[next] = Math.min(FANOUT, levelStart + levelSize - h.first[next]);
      for (let c = h.first[next]; c < h.first[next] + h.count[next]; c++) h.parent[c] = next;
      mergeChildren(h, k, next);
    }
    levelStart += levelSize;
    levelSize = parents;
  }
  return h;
}

/** Takes the maps' bounds of `tile`, now `exactness` exact, into the hierarchy, up to the root. */
function refreshTile(h: TagHierarchy, maps: GroupingMaps, joint: number, tile: number, exactness: number): void {
  if (h.exactness[tile] >= exactness) return;
  h.exactness[tile] = exactness;
  const k = maps.tagDim;
  const { low, high } = maps.tagBounds(joint);
  loadLeaf(h, k, maps.detBounds(joint), low, high, tile);
  // Bounds only tighten: an ancestor that does not change leaves those above it as they are.
  for (let n = h.parent[h.leafOf[tile]]; n >= 0 && mergeChildren(h, k, n); n = h.parent[n]);
}

/**
 * An upper bound of `det - round(|tag - mean|)` below a node: its largest heatmap bound minus
 * the rounded distance from the mean to its tag box. A pixel's float32 distance is at least the
 * box distance less a few ulps (2^-20 relative covers them), and its rounding (half to even) at
 * least `ceil(distance - 0.5)`; rounding the difference to float32 keeps the order.
 */
function nodeBound(h: TagHierarchy, node: number, k: number, meanTag: Float32Array): number {
  let sq = 0;
  for (let d = 0; d < k; d++) {
    const m = meanTag[d];
    const lo = h.low[node * k + d];
    const hi = h.high[node * k + d];
    const diff = m < lo ? lo - m : m > hi ? m - hi : 0;
    sq += diff * diff;
  }
  return f32(h.maxDet[node] - Math.ceil(Math.sqrt(sq) * (1 - 2 ** -20) - 0.5));
}

/** Tag hierarchies of one image's joints, built on first use and shared by all its people. */
export class RefineIndex {
  private readonly hierarchies = new Map<number, TagHierarchy>();
  /** The search's priority queue, reused across searches. */
  readonly queue = new MaxHeap();

  /** @param workspace holds the hierarchies. */
  constructor(
    readonly maps: GroupingMaps,
    private readonly workspace = new Workspace(),
  ) {}

  hierarchy(joint: number): TagHierarchy {
    let h = this.hierarchies.get(joint);
    if (!h) this.hierarchies.set(joint, (h = buildHierarchy(this.maps, joint, this.workspace)));
    return h;
  }
}

/** The best pixel so far of a refine search and its score. */
interface Found {
  index: number;
  score: number;
}

/**
 * The reference's refine score of a pixel with heatmap value `value` and tag values
 * `tags[at..at + K)`: `((tag - mean) ** 2).sum(axis=2) ** 0.5` in float32, then
 * `det - np.round(distance)`.
 */
function refineScore(value: number, tags: Float32Array, at: number, meanTag: Float32Array): number {
  let dist = 0;
  for (let d = 0; d < meanTag.length; d++) {
    const diff = f32(tags[at + d] - meanTag[d]);
    dist = f32(dist + f32(diff * diff));
  }
  return f32(value - roundHalfEven(f32(Math.sqrt(dist))));
}

/**
 * Scores the pixels of computed tile `t` that can reach the best score so far, updating
 * `found`; equal scores keep the smaller index. A pixel can reach it only when its heatmap
 * value does (the rounded distance is >= 0) and its tag distance is within that margin plus
 * a half for the rounding; the margin is tested first on the float64 distance, widened far
 * beyond the float32 rounding of the exact score, which only the pixels passing it get.
 */
function scanTile(maps: GroupingMaps, joint: number, t: number, meanTag: Float32Array, found: Found): void {
  const { det, width, height, tags, tagDim } = maps;
  const plane = height * width;
  const base = joint * plane;
  const tagBase = tagPlaneOf(maps, joint) * plane;
  const [tx, ty, x1, y1] = tileRect(t, height, width);
  let { index, score: bestScore } = found;
  for (let y = ty; y < y1; y++) {
    for (let p = y * width + tx; p < y * width + x1; p++) {
      const value = det[base + p];
      const margin = value - bestScore;
      if (margin < 0) continue;
      const at = (tagBase + p) * tagDim;
      let square = 0;
      for (let d = 0; d < tagDim; d++) {
        const diff = tags[at + d] - meanTag[d];
        square += diff * diff;
      }
      const reach = (margin + 1 + Math.abs(value) * 2 ** -20) * (1 + 2 ** -16);
      if (square > reach * reach) continue;
      const score = refineScore(value, tags, at, meanTag);
      if (score > bestScore || (score === bestScore && p < index)) {
        index = p;
        bestScore = score;
      }
    }
  }
  found.index = index;
  found.score = bestScore;
}

/**
 * The first (row-major) maximum of `det - round(|tag - meanTag|)` over joint `joint`'s plane, as
 * the reference's `np.argmax`. The hierarchy is searched best first (the node with the largest
 * bound next, from a heap); a node whose bound is below the best score found is skipped, and
 * inside a tile, the pixels that cannot reach it (`scanTile`). Equal scores keep the smaller
 * index, so the visiting order does not change the result. The search starts from the
 * score of pixel `start` when one is given (the answer of a similar tag): any pixel's score is
 * a valid starting point, and a close one lets nodes be skipped from the first step.
 */
function bestPosition(index: RefineIndex, joint: number, meanTag: Float32Array, start: number): number {
  const { maps } = index;
  const { tagDim } = maps;
  const h = index.hierarchy(joint);
  const found: Found = { index: -1, score: -Infinity };
  if (start >= 0) {
    const plane = maps.height * maps.width;
    ensurePixel(maps, joint, start);
    ensureTagPixel(maps, joint, start);
    found.index = start;
    found.score = refineScore(maps.det[joint * plane + start], maps.tags, (tagPlaneOf(maps, joint) * plane + start) * tagDim, meanTag);
  }
  // Best first: the node with the largest bound next, until no bound reaches the best score.
  const queue = index.queue;
  queue.clear();
  queue.push(h.root, nodeBound(h, h.root, tagDim, meanTag));
  while (queue.size > 0 && queue.topKey() >= found.score) {
    const node = queue.pop();
    if (node < 0 || node < h.leaves) {
      // A tile (queued again as -1 - tile once its heatmap is exact). Computing it tightens its
      // bounds, usually a lot: its heatmap first (the maximum), then its tags (the tag box),
      // each refreshed in the hierarchy for the searches to come; then it is scanned if its
      // exact bound still reaches the best score.
      const t = node < 0 ? -1 - node : h.tile[node];
      if (h.exactness[t] === ESTIMATED) {
        maps.ensureTile(joint, t);
        refreshTile(h, maps, joint, t, EXACT_HEATMAP);
        const bound = nodeBound(h, h.leafOf[t], tagDim, meanTag);
        if (bound >= found.score) queue.push(-1 - t, bound);
        continue;
      }
      if (h.exactness[t] === EXACT_HEATMAP) {
        maps.ensureTagTile(joint, t);
        refreshTile(h, maps, joint, t, EXACT);
        if (nodeBound(h, h.leafOf[t], tagDim, meanTag) < found.score) continue;
      }
      scanTile(maps, joint, t, meanTag, found);
      continue;
    }
    for (let c = h.first[node]; c < h.first[node] + h.count[node]; c++) {
      const bound = nodeBound(h, c, tagDim, meanTag);
      if (bound >= found.score) queue.push(c, bound);
    }
  }
  return found.index;
}

/** The mean of a person's tags at its detected joints' truncated positions; null without any. */
function meanTagOf(person: number[][], maps: GroupingMaps): Float32Array | null {
  const { width, height, tags, tagDim } = maps;
  const detected: Float32Array[] = [];
  person.forEach((joint, j) => {
    if (!(joint[2] > 0)) return;
    const p = Math.trunc(joint[1]) * width + Math.trunc(joint[0]);
    ensureTagPixel(maps, j, p);
    const at = (tagPlaneOf(maps, j) * height * width + p) * tagDim;
    detected.push(tags.slice(at, at + tagDim));
  });
  return detected.length > 0 ? float32MeanVector(detected) : null;
}

/**
 * The refine searches of an image's people, in a form that can be split by joint (and sent to
 * another thread): who is searched for which joint, with which mean tag.
 */
export interface RefineQueries {
  numJoints: number;
  tagDim: number;
  /** The people with a mean tag, in mean-tag order (each search starts from the previous answer). */
  order: Int32Array;
  /** `[person * K + d]`: mean tags (of the people in `order`). */
  means: Float32Array;
  /** `[person * J + joint]`: 1 where the joint is undetected (score 0). */
  missing: Uint8Array;
}

/** The refine queries of `people`: mean tags read at the detected joints' truncated positions. */
export function refineQueries(people: number[][][], maps: GroupingMaps): RefineQueries {
  const { numJoints, tagDim } = maps;
  const meanTags = people.map((person) => meanTagOf(person, maps));
  const order = people.map((_, i) => i).filter((i) => meanTags[i] !== null);
  order.sort((a, b) => compareTags(meanTags[a] as Float32Array, meanTags[b] as Float32Array));
  const means = new Float32Array(people.length * tagDim);
  const missing = new Uint8Array(people.length * numJoints);
  people.forEach((person, i) => {
    if (meanTags[i]) means.set(meanTags[i] as Float32Array, i * tagDim);
    person.forEach((joint, j) => (missing[i * numJoints + j] = joint[2] === 0 ? 1 : 0));
  });
  return { numJoints, tagDim, order: Int32Array.from(order), means, missing };
}

/**
 * The refine searches for `joints`: per query, the first maximum of the joint's heatmap minus
 * the rounded distance to the mean tag (row-major, as `np.argmax`), offset by the ±0.25 rule,
 * when the heatmap value there is positive. Returns `[(person * J + joint) * 3 + i]` = x, y,
 * value of each placed joint, NaN elsewhere.
 */
export function refineJoints(index: RefineIndex, queries: RefineQueries, joints: Iterable<number>): Float32Array {
  const { maps } = index;
  const { det, width, height } = maps;
  const { numJoints, tagDim, order, means, missing } = queries;
  const placed = new Float32Array((means.length / tagDim) * numJoints * 3).fill(NaN);
  const meanTag = new Float32Array(tagDim);
  for (const j of joints) {
    let previous = -1;
    for (const i of order) {
      if (!missing[i * numJoints + j]) continue;
      for (let d = 0; d < tagDim; d++) meanTag[d] = means[i * tagDim + d];
      const best = bestPosition(index, j, meanTag, previous);
      previous = best;
      const value = det[j * height * width + best];
      if (!(value > 0)) continue;
      const at = (i * numJoints + j) * 3;
      [placed[at], placed[at + 1]] = quarterOffset(maps, j, best % width, Math.floor(best / width));
      placed[at + 2] = value;
    }
  }
  return placed;
}

/** Moves the joints `refineJoints` placed (tags of added joints stay 0). */
export function applyPlacements(people: number[][][], placed: Float32Array): void {
  people.forEach((person, i) =>
    person.forEach((joint, j) => {
      const at = (i * person.length + j) * 3;
      if (Number.isNaN(placed[at])) return;
      [joint[0], joint[1], joint[2]] = [placed[at], placed[at + 1], placed[at + 2]];
    }),
  );
}

/**
 * `refine` for every person of an image: each undetected joint (score 0) is placed at the
 * maximum of its heatmap minus the rounded distance to the person's mean tag (first maximum
 * in row-major order, as `np.argmax`), offset by the ±0.25 rule, when the heatmap value there
 * is positive. The mean tag is read at the detected joints' truncated positions; people without
 * any are left as they are. Tags of added joints stay 0.
 *
 * Joint by joint, people are taken in the order of their mean tags, each search starting from
 * the previous answer; the answers do not depend on that order.
 */
export function refinePeople(people: number[][][], maps: GroupingMaps, index = new RefineIndex(maps)): void {
  applyPlacements(people, refineJoints(index, refineQueries(people, maps), everyJoint(maps.numJoints)));
}

/** Lexicographic order of tag vectors. */
function compareTags(a: Float32Array, b: Float32Array): number {
  for (let d = 0; d < a.length; d++) if (a[d] !== b[d]) return a[d] - b[d];
  return 0;
}
