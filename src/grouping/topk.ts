/**
 * Top-k detections per joint type (reference `HeatmapParser.top_k`): NMS, then the k largest
 * suppressed values of each heatmap with their positions and the tag values there.
 */
import { ensurePixel, ensureRect, ensureTagPixel, tagPlaneOf, tileRect, type GroupingMaps } from './maps.js';
import { MaxHeap } from './heap.js';
import type { Candidates } from './match.js';
import { suppressNonMaxima } from './nms.js';

/**
 * Indices of the k largest values, largest first. Equal values keep index order (the first
 * occurrence ranks higher): torch.topk leaves ties to its C++ library's heap, an order that
 * changes between torch versions (README, exact parity).
 */
function largestIndices(values: Float32Array, k: number): Int32Array {
  const best = new Int32Array(k);
  let size = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (size === k && !(v > values[best[k - 1]])) continue;
    let at = size < k ? size : k - 1;
    while (at > 0 && v > values[best[at - 1]]) {
      best[at] = best[at - 1];
      at -= 1;
    }
    best[at] = i;
    if (size < k) size += 1;
  }
  return best;
}

/** Up to k entries ranked by value (descending), then index (ascending), as `largestIndices` ranks them. */
class Ranking {
  size = 0;
  readonly index: Int32Array;
  readonly value: Float32Array;

  constructor(readonly k: number) {
    this.index = new Int32Array(k);
    this.value = new Float32Array(k);
  }

  /** Whether (v, p) would enter the ranking. */
  admits(v: number, p: number): boolean {
    if (this.size < this.k) return true;
    const last = this.value[this.k - 1];
    return v > last || (v === last && p < this.index[this.k - 1]);
  }

  insert(v: number, p: number): void {
    let at = this.size < this.k ? this.size : this.k - 1;
    while (at > 0 && (v > this.value[at - 1] || (v === this.value[at - 1] && p < this.index[at - 1]))) {
      this.index[at] = this.index[at - 1];
      this.value[at] = this.value[at - 1];
      at -= 1;
    }
    this.index[at] = p;
    this.value[at] = v;
    if (this.size < this.k) this.size += 1;
  }
}

/** Whether NMS keeps pixel (x, y) of `joint`: no value in its window exceeds it (max pooling is exact). */
function isLocalMaximum(maps: GroupingMaps, joint: number, x: number, y: number, kernel: number, padding: number): boolean {
  const { det, height, width } = maps;
  const from = joint * height * width;
  const v = det[from + y * width + x];
  const x0 = Math.max(0, x - padding);
  const x1 = Math.min(width - 1, x - padding + kernel - 1);
  const y0 = Math.max(0, y - padding);
  const y1 = Math.min(height - 1, y - padding + kernel - 1);
  ensureRect(maps, joint, x0, y0, x1, y1);
  for (let wy = y0; wy <= y1; wy++) {
    const row = from + wy * width;
    for (let wx = x0; wx <= x1; wx++) if (det[row + wx] > v) return false;
  }
  return true;
}

/**
 * The k largest local maxima of one heatmap above `floor` (>= 0: values NMS keeps). Only
 * pixels that could enter the ranking need the window check. Tiles are visited by decreasing
 * bound (a heap) and the search stops at the first tile whose bound cannot beat the k-th entry
 * or exceed the floor; the ranking's order makes the result independent of the visiting order.
 */
function maximaAbove(floor: number, maps: GroupingMaps, joint: number, kernel: number, padding: number, ranking: Ranking, queue: MaxHeap): void {
  const { det, height, width } = maps;
  const from = joint * height * width;
  const bounds = maps.detBounds(joint);
  // Tiles that may hold a value above the floor, keyed by their bounds.
  const tiles = new Int32Array(bounds.length);
  const keys = new Float64Array(bounds.length);
  let count = 0;
  for (let t = 0; t < bounds.length; t++) {
    if (!(bounds[t] > floor)) continue;
    tiles[count] = t;
    keys[count++] = bounds[t];
  }
  queue.fill(tiles.subarray(0, count), keys.subarray(0, count));
  // Whether the window reaches the pixel's left and upper, right and lower neighbours: on a
  // peak's slopes one of them is larger, which rules the pixel out without the window's scan.
  const [before, after] = [padding >= 1, kernel - padding >= 2];
  while (queue.size > 0) {
    if (!(queue.topKey() > floor) || (ranking.size === ranking.k && queue.topKey() < ranking.value[ranking.k - 1])) break;
    const t = queue.pop();
    maps.ensureTile(joint, t);
    const [x0, y0, x1, y1] = tileRect(t, height, width);
    for (let y = y0; y < y1; y++) {
      for (let x = x0; x < x1; x++) {
        const p = y * width + x;
        const at = from + p;
        const v = det[at];
        if (!(v > floor) || !ranking.admits(v, p)) continue;
        // Neighbours inside this tile are exact already.
        if (before && ((x > x0 && det[at - 1] > v) || (y > y0 && det[at - width] > v))) continue;
        if (after && ((x + 1 < x1 && det[at + 1] > v) || (y + 1 < y1 && det[at + width] > v))) continue;
        if (isLocalMaximum(maps, joint, x, y, kernel, padding)) ranking.insert(v, p);
      }
    }
  }
}

/**
 * Completes a ranking of fewer than k positive maxima with the next values of the suppressed
 * map: its zeros (every pixel NMS suppresses, and kept zeros) rank next, in index order, so a
 * raster scan from the start finds them, usually within the first rows. Returns false when the
 * map has too few zeros (negative maxima would rank next: the caller sorts the whole map).
 */
function appendZeros(maps: GroupingMaps, joint: number, kernel: number, padding: number, ranking: Ranking): boolean {
  const { det, height, width } = maps;
  const from = joint * height * width;
  const positives = ranking.size;
  for (let p = 0; p < height * width && ranking.size < ranking.k; p++) {
    const x = p % width;
    const y = (p - x) / width;
    ensurePixel(maps, joint, p);
    const v = det[from + p];
    // Positive maxima are ranked already; a positive pixel NMS suppresses becomes a zero.
    if (v > 0 && isLocalMaximum(maps, joint, x, y, kernel, padding)) continue;
    if (v === 0 || !isLocalMaximum(maps, joint, x, y, kernel, padding)) {
      ranking.index[ranking.size] = p;
      ranking.value[ranking.size] = v * 0;
      ranking.size += 1;
    }
  }
  if (ranking.size === ranking.k) return true;
  ranking.size = positives;
  return false;
}

/**
 * The reference's `top_k` for every joint: the k largest values of the NMS-suppressed heatmaps
 * with their positions and tags. With a `floor` >= 0 (the detection threshold: matching drops
 * the detections at or below it), values at or below it are not searched for; their entries
 * hold value -Infinity at position (0, 0) with zero tags. Only `joints` are searched (the
 * entries of the others stay zero).
 */
export function topK(maps: GroupingMaps, k: number, nmsKernel: number, nmsPadding: number, floor = -Infinity, joints: Iterable<number> = everyJoint(maps.numJoints)): Candidates {
  const { numJoints, height, width, tagDim } = maps;
  const plane = height * width;
  const out: Candidates = {
    numJoints,
    k,
    tagDim,
    val: new Float32Array(numJoints * k),
    x: new Int32Array(numJoints * k),
    y: new Int32Array(numJoints * k),
    tag: new Float32Array(numJoints * k * tagDim),
  };
  let suppressed: Float32Array | null = null;
  const queue = new MaxHeap();
  for (const j of joints) {
    const ranking = new Ranking(k);
    maximaAbove(Math.max(floor, 0), maps, j, nmsKernel, nmsPadding, ranking, queue);
    let indices: Int32Array = ranking.index;
    let values: Float32Array = ranking.value;
    let found = k;
    if (floor >= 0) {
      found = ranking.size;
      out.val.fill(-Infinity, j * k + found, (j + 1) * k);
    } else if (ranking.size < k && !appendZeros(maps, j, nmsKernel, nmsPadding, ranking)) {
      // Too few zeros: negative maxima rank too, so the whole suppressed map is needed.
      ensureRect(maps, j, 0, 0, width - 1, height - 1);
      suppressed ??= new Float32Array(plane);
      suppressNonMaxima(maps.det.subarray(j * plane, (j + 1) * plane), height, width, nmsKernel, nmsPadding, suppressed);
      indices = largestIndices(suppressed, k);
      values = Float32Array.from(indices, (i) => (suppressed as Float32Array)[i]);
    }
    // Shared tag maps (MODEL.TAG_PER_JOINT off) are expanded to every joint.
    const tagPlane = tagPlaneOf(maps, j);
    for (let m = 0; m < found; m++) {
      const index = indices[m];
      const at = j * k + m;
      ensureTagPixel(maps, j, index);
      out.val[at] = values[m];
      out.x[at] = index % width;
      out.y[at] = Math.floor(index / width);
      const tagAt = (tagPlane * plane + index) * tagDim;
      out.tag.set(maps.tags.subarray(tagAt, tagAt + tagDim), at * tagDim);
    }
  }
  return out;
}

/** Joints 0 to J-1. */
export function everyJoint(numJoints: number): number[] {
  return Array.from({ length: numJoints }, (_, j) => j);
}
