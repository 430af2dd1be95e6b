/**
 * The aggregated maps as the grouping kernels read them: flat C-order planes, made exact tile
 * by tile on demand, with bounds per tile that let the kernels skip tiles they do not need.
 *
 * Grouping reads a small part of the full-resolution maps (the neighbourhoods of local maxima,
 * the tags at chosen joints, the tiles refine cannot rule out), so the aggregation computes a
 * tile only when a kernel asks for it (`src/aggregate/on-demand.ts`); maps that are already
 * complete (`denseMaps`) answer every request at once.
 */

/** Side of the square tiles the maps are computed and bounded by. */
export const TILE = 8;

export interface GroupingMaps {
  /** `[J, H, W]` heatmaps; a tile's values are exact once `ensureTile` returned for it. */
  readonly det: Float32Array;
  readonly numJoints: number;
  readonly height: number;
  readonly width: number;
  /** `[T, H, W, K]` tag maps (T = J, or 1 when one tag map is shared by all joints); exact once `ensureTagTile` returned. */
  readonly tags: Float32Array;
  readonly tagChannels: number;
  readonly tagDim: number;
  /** Makes the heatmap of `joint` exact over tile `tile` (row-major tile index). */
  ensureTile(joint: number, tile: number): void;
  /** Makes the tag values of `joint` exact over tile `tile`. */
  ensureTagTile(joint: number, tile: number): void;
  /**
   * Per tile, a value no heatmap value of `joint` in the tile exceeds. The array is live: a
   * bound may tighten to the exact maximum when its tile is computed.
   */
  detBounds(joint: number): Float64Array;
  /** Per tile, `[tile * K + d]`: bounds of tag value d of `joint`'s tag map over the tile (live, as `detBounds`). */
  tagBounds(joint: number): { low: Float64Array; high: Float64Array };
}

/** The tile grid of an image. */
export function tileGrid(height: number, width: number): { columns: number; rows: number } {
  return { columns: Math.ceil(width / TILE), rows: Math.ceil(height / TILE) };
}

/** The tile of pixel `p`. */
function tileOf(maps: GroupingMaps, p: number): number {
  const x = p % maps.width;
  const y = (p - x) / maps.width;
  return Math.floor(y / TILE) * Math.ceil(maps.width / TILE) + Math.floor(x / TILE);
}

/** Makes the heatmap of `joint` exact at pixel `p`. */
export function ensurePixel(maps: GroupingMaps, joint: number, p: number): void {
  maps.ensureTile(joint, tileOf(maps, p));
}

/** Makes the tag values of `joint` exact at pixel `p`. */
export function ensureTagPixel(maps: GroupingMaps, joint: number, p: number): void {
  maps.ensureTagTile(joint, tileOf(maps, p));
}

/** Makes the heatmap of `joint` exact over the rectangle [x0, x1] x [y0, y1] (inclusive). */
export function ensureRect(maps: GroupingMaps, joint: number, x0: number, y0: number, x1: number, y1: number): void {
  const columns = Math.ceil(maps.width / TILE);
  for (let ty = Math.floor(y0 / TILE); ty <= Math.floor(y1 / TILE); ty++) {
    for (let tx = Math.floor(x0 / TILE); tx <= Math.floor(x1 / TILE); tx++) maps.ensureTile(joint, ty * columns + tx);
  }
}

/** Whether the tag map of `joint` is its own (per-joint tags) or the shared one. */
export function tagPlaneOf(maps: Pick<GroupingMaps, 'tagChannels'>, joint: number): number {
  return maps.tagChannels === 1 ? 0 : joint;
}

/** Largest value of each tile of one `height` x `width` plane. */
function tileMaxima(plane: Float32Array, height: number, width: number): Float64Array {
  const { columns, rows } = tileGrid(height, width);
  const out = new Float64Array(columns * rows).fill(-Infinity);
  for (let y = 0; y < height; y++) {
    const rowBase = Math.floor(y / TILE) * columns;
    for (let x = 0; x < width; x++) {
      const t = rowBase + Math.floor(x / TILE);
      if (plane[y * width + x] > out[t]) out[t] = plane[y * width + x];
    }
  }
  return out;
}

/** Smallest and largest value of each tag component over each tile of one `[H, W, K]` tag plane. */
function tileTagRanges(tags: Float32Array, height: number, width: number, k: number): { low: Float64Array; high: Float64Array } {
  const { columns, rows } = tileGrid(height, width);
  const low = new Float64Array(columns * rows * k).fill(Infinity);
  const high = new Float64Array(columns * rows * k).fill(-Infinity);
  for (let y = 0; y < height; y++) {
    const rowBase = Math.floor(y / TILE) * columns;
    for (let x = 0; x < width; x++) {
      const t = (rowBase + Math.floor(x / TILE)) * k;
      for (let d = 0; d < k; d++) {
        const v = tags[(y * width + x) * k + d];
        if (v < low[t + d]) low[t + d] = v;
        if (v > high[t + d]) high[t + d] = v;
      }
    }
  }
  return { low, high };
}

/** Maps whose every value is already exact; bounds are the exact tile extremes, computed on first use. */
export function denseMaps(shape: Omit<GroupingMaps, 'ensureTile' | 'ensureTagTile' | 'detBounds' | 'tagBounds'>): GroupingMaps {
  const { det, tags, height, width, tagDim } = shape;
  const plane = height * width;
  const detCache = new Map<number, Float64Array>();
  const tagCache = new Map<number, { low: Float64Array; high: Float64Array }>();
  return {
    ...shape,
    ensureTile: () => {},
    ensureTagTile: () => {},
    detBounds(joint) {
      let b = detCache.get(joint);
      if (!b) detCache.set(joint, (b = tileMaxima(det.subarray(joint * plane, (joint + 1) * plane), height, width)));
      return b;
    },
    tagBounds(joint) {
      const t = tagPlaneOf(shape, joint);
      let b = tagCache.get(t);
      if (!b) tagCache.set(t, (b = tileTagRanges(tags.subarray(t * plane * tagDim, (t + 1) * plane * tagDim), height, width, tagDim)));
      return b;
    },
  };
}
