/**
 * Sub-pixel adjustment and refinement of grouped people (reference `HeatmapParser.adjust` and
 * `HeatmapParser.refine`). A person is J rows `[x, y, score, tag...]` in heatmap pixels.
 */
import type { GroupingMaps } from './maps.js';
import { float32MeanVector, roundHalfEven } from './numeric.js';

const f32 = Math.fround;

/**
 * The ±0.25 rule: a quarter pixel towards the larger of the two horizontal neighbours (left
 * on a tie), the same vertically, then +0.5 to the pixel centre. Indices are clamped at the
 * border and the position truncated to integers first, as the reference does.
 */
function quarterOffset(det: Float32Array, base: number, width: number, height: number, col: number, row: number): [number, number] {
  const right = det[base + row * width + Math.min(col + 1, width - 1)];
  const left = det[base + row * width + Math.max(col - 1, 0)];
  const below = det[base + Math.min(row + 1, height - 1) * width + col];
  const above = det[base + Math.max(row - 1, 0) * width + col];
  return [col + (right > left ? 0.25 : -0.25) + 0.5, row + (below > above ? 0.25 : -0.25) + 0.5];
}

/** `adjust`: moves every detected joint (score > 0) of every person by the ±0.25 rule. */
export function adjustPeople(people: number[][][], maps: GroupingMaps): void {
  const plane = maps.height * maps.width;
  for (const person of people) {
    person.forEach((joint, j) => {
      if (!(joint[2] > 0)) return;
      const [x, y] = quarterOffset(maps.det, j * plane, maps.width, maps.height, Math.trunc(joint[0]), Math.trunc(joint[1]));
      joint[0] = x;
      joint[1] = y;
    });
  }
}

/** Side of the square blocks `RefineIndex` summarises, and of the groups of blocks summarised again. */
const BLOCK = 8;
const GROUP = 8;

/** The largest det and the box of the tag values over each cell of a grid. */
interface Summary {
  columns: number;
  rows: number;
  maxDet: Float32Array;
  /** `[cell * tagDim + d]`: the smallest and largest tag value d in the cell. */
  low: Float32Array;
  high: Float32Array;
}

function emptySummary(columns: number, rows: number, tagDim: number): Summary {
  return {
    columns,
    rows,
    maxDet: new Float32Array(columns * rows).fill(-Infinity),
    low: new Float32Array(columns * rows * tagDim).fill(Infinity),
    high: new Float32Array(columns * rows * tagDim).fill(-Infinity),
  };
}

/**
 * An upper bound of `det - round(|tag - mean|)` over a cell: its largest det minus the rounded
 * distance from the mean to the box of its tags. Computed with the float32 operations of the
 * exact score, each monotone, so it is never below the score of a pixel in the cell.
 */
function cellBound(s: Summary, cell: number, tagDim: number, meanTag: Float32Array): number {
  let sq = 0;
  for (let d = 0; d < tagDim; d++) {
    const m = meanTag[d];
    const lo = s.low[cell * tagDim + d];
    const hi = s.high[cell * tagDim + d];
    const diff = m < lo ? f32(lo - m) : m > hi ? f32(hi - m) : 0;
    sq = f32(sq + f32(diff * diff));
  }
  return f32(s.maxDet[cell] - roundHalfEven(f32(Math.sqrt(sq))));
}

/**
 * Two-level block summaries that let refine's per-person argmax skip most of the heatmap
 * without changing its result (see `cellBound`). Built per joint on first use and shared by
 * every person of one image.
 */
export class RefineIndex {
  private readonly joints = new Map<number, { blocks: Summary; groups: Summary }>();

  constructor(readonly maps: GroupingMaps) {}

  summaries(joint: number): { blocks: Summary; groups: Summary } {
    let s = this.joints.get(joint);
    if (!s) {
      s = this.summarise(joint);
      this.joints.set(joint, s);
    }
    return s;
  }

  private summarise(joint: number): { blocks: Summary; groups: Summary } {
    const { det, width, height, tags, tagDim, tagChannels } = this.maps;
    const plane = height * width;
    const blocks = emptySummary(Math.ceil(width / BLOCK), Math.ceil(height / BLOCK), tagDim);
    const groups = emptySummary(Math.ceil(blocks.columns / GROUP), Math.ceil(blocks.rows / GROUP), tagDim);
    const base = joint * plane;
    const tagBase = (tagChannels === 1 ? 0 : joint) * plane;
    for (let y = 0; y < height; y++) {
      for (let bx = 0; bx < blocks.columns; bx++) {
        const b = Math.floor(y / BLOCK) * blocks.columns + bx;
        const end = y * width + Math.min((bx + 1) * BLOCK, width);
        let top = blocks.maxDet[b];
        for (let p = y * width + bx * BLOCK; p < end; p++) if (det[base + p] > top) top = det[base + p];
        blocks.maxDet[b] = top;
        for (let d = 0; d < tagDim; d++) {
          let lo = blocks.low[b * tagDim + d];
          let hi = blocks.high[b * tagDim + d];
          for (let p = y * width + bx * BLOCK; p < end; p++) {
            const t = tags[(tagBase + p) * tagDim + d];
            if (t < lo) lo = t;
            if (t > hi) hi = t;
          }
          blocks.low[b * tagDim + d] = lo;
          blocks.high[b * tagDim + d] = hi;
        }
      }
    }
    for (let b = 0; b < blocks.maxDet.length; b++) {
      const g = Math.floor(Math.floor(b / blocks.columns) / GROUP) * groups.columns + Math.floor((b % blocks.columns) / GROUP);
      if (blocks.maxDet[b] > groups.maxDet[g]) groups.maxDet[g] = blocks.maxDet[b];
      for (let d = 0; d < tagDim; d++) {
        groups.low[g * tagDim + d] = Math.min(groups.low[g * tagDim + d], blocks.low[b * tagDim + d]);
        groups.high[g * tagDim + d] = Math.max(groups.high[g * tagDim + d], blocks.high[b * tagDim + d]);
      }
    }
    return { blocks, groups };
  }
}

/** The block of group `g` with the largest bound. */
function bestBlock(blocks: Summary, groups: Summary, g: number, tagDim: number, meanTag: Float32Array): number {
  const gx = (g % groups.columns) * GROUP;
  const gy = Math.floor(g / groups.columns) * GROUP;
  let best = -1;
  let bestBound = -Infinity;
  for (let by = gy; by < Math.min(gy + GROUP, blocks.rows); by++) {
    for (let bx = gx; bx < Math.min(gx + GROUP, blocks.columns); bx++) {
      const bound = cellBound(blocks, by * blocks.columns + bx, tagDim, meanTag);
      if (best < 0 || bound > bestBound) {
        best = by * blocks.columns + bx;
        bestBound = bound;
      }
    }
  }
  return best;
}

/**
 * The first (row-major) maximum of `det - round(|tag - meanTag|)` over joint `joint`'s plane, as
 * the reference's `np.argmax`. Groups of blocks are visited by decreasing bound, until the
 * bound falls below the best score found; inside a group, blocks whose bound is below it are
 * skipped, and inside a block, pixels whose det is below it (the rounded distance is >= 0).
 * Equal scores keep the smaller index, so the visiting order does not change the result.
 */
function bestPosition(index: RefineIndex, joint: number, meanTag: Float32Array): number {
  const { det, width, height, tags, tagDim, tagChannels } = index.maps;
  const plane = height * width;
  const base = joint * plane;
  const tagBase = (tagChannels === 1 ? 0 : joint) * plane;
  const { blocks, groups } = index.summaries(joint);
  const groupBound = Float64Array.from({ length: groups.maxDet.length }, (_, g) => cellBound(groups, g, tagDim, meanTag));
  const order = Int32Array.from({ length: groupBound.length }, (_, g) => g).sort((a, b) => groupBound[b] - groupBound[a]);
  let best = -1;
  let bestValue = -Infinity;
  const scan = (block: number): void => {
    const bx = block % blocks.columns;
    const by = Math.floor(block / blocks.columns);
    const x1 = Math.min((bx + 1) * BLOCK, width);
    for (let y = by * BLOCK; y < Math.min((by + 1) * BLOCK, height); y++) {
      for (let p = y * width + bx * BLOCK; p < y * width + x1; p++) {
        const value = det[base + p];
        if (value < bestValue) continue;
        // ((tag - mean) ** 2).sum(axis=2) ** 0.5 in float32, then det - np.round(distance).
        let dist = 0;
        for (let d = 0; d < tagDim; d++) {
          const diff = f32(tags[(tagBase + p) * tagDim + d] - meanTag[d]);
          dist = f32(dist + f32(diff * diff));
        }
        const score = f32(value - roundHalfEven(f32(Math.sqrt(dist))));
        if (score > bestValue || (score === bestValue && p < best)) {
          best = p;
          bestValue = score;
        }
      }
    }
  };
  // Seed the best score with the most promising block of the most promising group, so that
  // the bounds prune from the start.
  const seed = bestBlock(blocks, groups, order[0], tagDim, meanTag);
  scan(seed);
  for (let i = 0; i < order.length; i++) {
    const g = order[i];
    if (groupBound[g] < bestValue) break;
    const gx = (g % groups.columns) * GROUP;
    const gy = Math.floor(g / groups.columns) * GROUP;
    for (let by = gy; by < Math.min(gy + GROUP, blocks.rows); by++) {
      for (let bx = gx; bx < Math.min(gx + GROUP, blocks.columns); bx++) {
        const b = by * blocks.columns + bx;
        if (b !== seed && cellBound(blocks, b, tagDim, meanTag) >= bestValue) scan(b);
      }
    }
  }
  return best;
}

/**
 * `refine` for one person: every undetected joint (score 0) is placed at the maximum of its
 * heatmap minus the rounded distance to the person's mean tag (first maximum in row-major
 * order, as `np.argmax`), offset by the ±0.25 rule, when the heatmap value there is positive.
 * The mean tag is read at the detected joints' truncated positions. Tags of added joints stay 0.
 * Pass one `index` for all the people of an image.
 */
export function refinePerson(person: number[][], maps: GroupingMaps, index = new RefineIndex(maps)): void {
  const { det, width, height, tags, tagDim } = maps;
  const plane = height * width;
  const tagPlane = (j: number): number => (maps.tagChannels === 1 ? 0 : j) * plane;
  const detected: Float32Array[] = [];
  person.forEach((joint, j) => {
    if (!(joint[2] > 0)) return;
    const at = (tagPlane(j) + Math.trunc(joint[1]) * width + Math.trunc(joint[0])) * tagDim;
    detected.push(tags.slice(at, at + tagDim));
  });
  if (detected.length === 0) return;
  const meanTag = float32MeanVector(detected);
  person.forEach((joint, j) => {
    if (joint[2] !== 0) return;
    const best = bestPosition(index, j, meanTag);
    const base = j * plane;
    const value = det[base + best];
    if (!(value > 0)) return;
    const [x, y] = quarterOffset(det, base, width, height, best % width, Math.floor(best / width));
    joint[0] = x;
    joint[1] = y;
    joint[2] = value;
  });
}
