/**
 * The aggregated maps as the grouping kernels read them: flat C-order planes, made exact tile
 * by tile on demand, with bounds per tile that let the kernels skip tiles they do not need.
 *
 * Grouping reads a small part of the full-resolution maps (the neighbourhoods of local maxima,
 * the tags at chosen joints, the tiles refine cannot rule out), so the aggregation computes a
 * tile only when a kernel asks for it (`src/aggregate/on-demand.ts`); maps that are already
 * complete (`denseMaps`) answer every request at once.
 */

/** Side of the square tiles the maps are computed and bounded by (kernels/refine.ts assumes 8). */
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
   * Per tile, a value no heatmap value of `joint` in the tile exceeds: the exact maximum for the
   * tiles computed before the call. The array belongs to the maps (each call updates it).
   */
  detBounds(joint: number): Float64Array;
  /** Per tile, `[tile * K + d]`: bounds of tag value d of `joint`'s tag map over the tile (exact and owned as `detBounds`). */
  tagBounds(joint: number): { low: Float64Array; high: Float64Array };
}

/** The tile grid of an image. */
export function tileGrid(height: number, width: number): { columns: number; rows: number } {
  return { columns: Math.ceil(width / TILE), rows: Math.ceil(height / TILE) };
}

/** The tile of pixel `p`. */
export function tileOf(maps: GroupingMaps, p: number): number {
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

/** The pixel rectangle `[x0, y0, x1, y1)` of `tile` in an image of `width` x `height`. */
export function tileRect(tile: number, height: number, width: number): [number, number, number, number] {
  const columns = Math.ceil(width / TILE);
  const x0 = (tile % columns) * TILE;
  const y0 = Math.floor(tile / columns) * TILE;
  return [x0, y0, Math.min(x0 + TILE, width), Math.min(y0 + TILE, height)];
}

type Shape = Pick<GroupingMaps, 'det' | 'tags' | 'height' | 'width' | 'tagDim'>;

/** The largest heatmap value of `joint` over `tile` (exact values required there). */
export function exactTileMax(maps: Shape, joint: number, tile: number): number {
  const [x0, y0, x1, y1] = tileRect(tile, maps.height, maps.width);
  const base = joint * maps.height * maps.width;
  let max = -Infinity;
  // A comparison, not Math.max: the values are finite, and Math.max's NaN and -0 rules cost more.
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      const v = maps.det[base + y * maps.width + x];
      if (v > max) max = v;
    }
  }
  return max;
}

/** Writes the extremes of each tag component of tag map `tagPlane` over `tile` into `bounds` (at `tile * K + d`). */
export function exactTagRanges(maps: Shape, tagPlane: number, tile: number, bounds: { low: Float64Array; high: Float64Array }): void {
  const [x0, y0, x1, y1] = tileRect(tile, maps.height, maps.width);
  const { tagDim: k, tags, width } = maps;
  const base = tagPlane * maps.height * width;
  for (let d = 0; d < k; d++) {
    let lo = Infinity;
    let hi = -Infinity;
    for (let y = y0; y < y1; y++) {
      for (let x = x0; x < x1; x++) {
        const v = tags[(base + y * width + x) * k + d];
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
    }
    bounds.low[tile * k + d] = lo;
    bounds.high[tile * k + d] = hi;
  }
}

/** Maps whose every value is already exact; bounds are the exact tile extremes, computed on first use. */
export function denseMaps(shape: Omit<GroupingMaps, 'ensureTile' | 'ensureTagTile' | 'detBounds' | 'tagBounds'>): GroupingMaps {
  const { columns, rows } = tileGrid(shape.height, shape.width);
  const tiles = columns * rows;
  const detCache = new Map<number, Float64Array>();
  const tagCache = new Map<number, { low: Float64Array; high: Float64Array }>();
  return {
    ...shape,
    ensureTile: () => {},
    ensureTagTile: () => {},
    detBounds(joint) {
      let b = detCache.get(joint);
      if (!b) detCache.set(joint, (b = Float64Array.from({ length: tiles }, (_, t) => exactTileMax(shape, joint, t))));
      return b;
    },
    tagBounds(joint) {
      const t = tagPlaneOf(shape, joint);
      let b = tagCache.get(t);
      if (!b) {
        b = { low: new Float64Array(tiles * shape.tagDim), high: new Float64Array(tiles * shape.tagDim) };
        for (let tile = 0; tile < tiles; tile++) exactTagRanges(shape, t, tile, b);
        tagCache.set(t, b);
      }
      return b;
    },
  };
}
