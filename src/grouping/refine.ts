/**
 * Sub-pixel adjustment and refinement of grouped people (reference `HeatmapParser.adjust` and
 * `HeatmapParser.refine`). A person is J rows `[x, y, score, tag...]` in heatmap pixels.
 */
import { ensureRect, ensureTagPixel, tagPlaneOf, TILE, tileOf, tileRect, type GroupingMaps } from './maps.js';
import { float32MeanVector } from './numeric.js';
import { everyJoint } from './topk.js';
import { refineKernels, type RefineExports } from '../kernels/index.js';

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

/** A tile of a joint's hierarchy whose values are not copied in yet (`tileExactness` in kernels/refine.ts). */
const ESTIMATED = 0;

/** The index whose image this thread's refine instance holds. */
let holder: RefineIndex | null = null;

/**
 * The refine searches of one image: the first (row-major) maximum of `det - round(|tag - mean|)`
 * over a joint's plane, as the reference's `np.argmax`, for a mean tag. They run in
 * WebAssembly (kernels/refine.ts), which keeps per joint a hierarchy of its 8x8 tiles: tiles
 * ordered along a Z-order curve of (heatmap bound, tag-box centre) and packed into nodes of 8,
 * level by level, each node holding the largest heatmap bound and the tag box of what it covers.
 * A search takes the node with the largest bound next (the largest heatmap bound minus the
 * rounded distance from the mean to the tag box) and skips those below the best score found;
 * a child that is a tile already computed is scored at once instead of waiting its turn.
 * A tile is computed when a search first reaches it: the kernel asks for it, and this class
 * copies its heatmap and tags in from the maps, which compute them on demand. (Asking for the
 * heatmap first, in case its exact maximum ruled the tile out, saved no tags on random
 * weights.) Its 64 exact scores are then compared with the best if its exact bound still
 * reaches it; equal scores keep the smaller index, so the visiting order does not change the
 * answer.
 */
export class RefineIndex {
  /** Per joint, its hierarchy's address in the instance's memory. */
  private readonly hierarchies = new Map<number, number>();
  /** This thread's refine instance, as `claim` (which every use follows) found it. */
  private kernel!: RefineExports;
  private meanInput = new Float32Array(0);
  /** The instance's whole memory, for writing tiles where the kernel keeps them. */
  private heap = new Float32Array(0);

  constructor(readonly maps: GroupingMaps) {}

  /** Makes the instance's memory this image's; after another index took it, the hierarchies are built again as needed. */
  private claim(): void {
    if (holder === this) return;
    holder = this;
    this.hierarchies.clear();
    this.heap = new Float32Array(0);
    const { width, height, tagDim } = this.maps;
    this.kernel = refineKernels(width * height * (1 + tagDim));
    this.kernel.refineBegin(width, height, tagDim);
  }

  /** Makes the views of the kernel's memory again when it has grown (which detaches them) or was claimed. */
  private viewInputs(): void {
    if (this.heap.length > 0) return;
    const { buffer } = this.kernel.memory;
    this.meanInput = new Float32Array(buffer, this.kernel.refineMeanInput(), this.maps.tagDim);
    this.heap = new Float32Array(buffer);
  }

  /** The hierarchy of `joint`, built from the maps' current bounds on first use. */
  hierarchy(joint: number): number {
    this.claim();
    let h = this.hierarchies.get(joint);
    if (h === undefined) {
      const detBound = this.maps.detBounds(joint);
      const { low, high } = this.maps.tagBounds(joint);
      const tiles = detBound.length;
      const input = new Float64Array(this.kernel.memory.buffer, this.kernel.refineBoundsInput(), tiles + low.length + high.length);
      input.set(detBound);
      input.set(low, tiles);
      input.set(high, tiles + low.length);
      this.hierarchies.set(joint, (h = this.kernel.buildHierarchy()));
    }
    return h;
  }

  /** The answer of a search of `joint` for `meanTag`, from the score of pixel `start` when not negative (the answer of a similar tag). */
  bestPosition(joint: number, meanTag: Float32Array, start: number): number {
    const h = this.hierarchy(joint);
    const k = this.kernel;
    if (start >= 0) {
      const tile = tileOf(this.maps, start);
      if (k.tileExactness(h, tile) === ESTIMATED) this.provideTile(joint, h, tile);
    }
    this.viewInputs();
    this.meanInput.set(meanTag);
    let answer = k.refineSearch(h, start);
    while (answer < 0) {
      this.provideTile(joint, h, -1 - answer);
      answer = k.refineResume();
    }
    return answer;
  }

  /**
   * Computes the heatmap and tags of `joint` over `tile` and copies them into the slot the
   * kernel gives: the heatmap row-major, 8 values a row, then tag value d of pixel i at
   * `64 + d * 64 + i`.
   */
  private provideTile(joint: number, h: number, tile: number): void {
    const { maps, kernel } = this;
    maps.ensureTile(joint, tile);
    maps.ensureTagTile(joint, tile);
    const slot = kernel.tileSlot(h, tile) >>> 2;
    this.viewInputs();
    const { heap } = this;
    const { det, tags, tagDim: k, width } = maps;
    const [x0, y0, x1, y1] = tileRect(tile, maps.height, width);
    const heatBase = joint * maps.height * width;
    const tagBase = tagPlaneOf(maps, joint) * maps.height * width;
    for (let y = y0; y < y1; y++) {
      const row = slot + (y - y0) * TILE - x0;
      for (let x = x0; x < x1; x++) heap[row + x] = det[heatBase + y * width + x];
    }
    for (let d = 0; d < k; d++) {
      const tagSlot = slot + (1 + d) * TILE * TILE;
      for (let y = y0; y < y1; y++) {
        const row = tagSlot + (y - y0) * TILE - x0;
        for (let x = x0; x < x1; x++) heap[row + x] = tags[(tagBase + y * width + x) * k + d];
      }
    }
    kernel.tileWritten(h, tile);
  }
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
      const best = index.bestPosition(j, meanTag, previous);
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
