/**
 * The final, full-resolution maps of the aggregation computed tile by tile when grouping asks
 * for them (see `GroupingMaps`). Everything at the network's output resolution (stage
 * combination, flip-back, the average of the passes without PROJECT2IMAGE) is computed in
 * full first; what is deferred is the last step, the resize of each scale to the final size
 * and the combination of passes and scales there, which is most of the aggregation's work
 * and most of its memory traffic. A computed tile holds exactly what the whole-map
 * computation would hold: every value goes through the same float32 operations.
 *
 * Bounds per tile: for the heatmaps, the maxima of a plain float32 resize of the passes'
 * average (resizing is linear, so it differs from the exact maps by rounding only), which the
 * searches prune with almost as well as with the exact maps, at a fraction of their cost; for
 * the tag maps, the extremes of the source values a tile reads (a bilinear value is a convex
 * combination of them). Both are widened by a few float32 ulps of the values' magnitude.
 */
import { exactTagRanges, exactTileMax, tagPlaneOf, tileGrid, tileRect, TILE, type GroupingMaps } from '../grouping/maps.js';
import { channelRange } from './planes.js';
import { keptResizer, type Resizer } from './resize.js';
import type { Workspace } from '../workspace.js';
import { RegionResizer, resizedTileExtremes, tileExtremes, type PlaneStack, type Spans } from '../kernels/index.js';

const f32 = Math.fround;

/**
 * One scale's heatmaps at the final size: `sources` resized by `resizer`, averaged as
 * `(a + b) / 2` when there are two (plain and flipped with PROJECT2IMAGE).
 */
interface HeatmapTerm {
  sources: readonly PlaneStack[];
  resizer: Resizer;
}

/**
 * What the maps are computed from: the network-resolution planes and the final size. With
 * SharedArrayBuffer planes it can be posted to a worker thread, which builds its own maps from
 * it (`new OnDemandMaps(source, workspace)`) without copying them.
 */
export interface MapsSource {
  numJoints: number;
  height: number;
  width: number;
  /**
   * One per scale, largest first: the heatmaps of the scale's passes, each resized and the two
   * averaged as `(a + b) / 2`; the terms' sum is divided by their count when there are several
   * (the reference's `aggregate_results` and final division).
   */
  terms: readonly (readonly PlaneStack[])[];
  /** The tag maps kept (`[T, h, w]` each), resized and stacked on the last axis. */
  keptTags: readonly PlaneStack[];
}

/** A few rounding errors of the values in [lo, hi] (relative 2^-20, 16 float32 ulps), and underflow: the bounds move out by it. */
function slackOf(lo: number, hi: number): number {
  return (Math.abs(lo) + Math.abs(hi)) * 2 ** -20 + 2 ** -126;
}

/**
 * Largest and smallest source value each tile of a resized plane reads: `[tile]` highs and
 * lows of `values` (one `h` x `w` source plane) over the source rectangle of each tile of the
 * `height` x `width` result (a WebAssembly kernel, `src/kernels`). The results are `workspace`
 * buffers, valid until the next call.
 */
function tileRanges(values: Float32Array, h: number, w: number, resizer: Resizer, height: number, width: number, workspace: Workspace): { low: Float64Array; high: Float64Array } {
  const { columns, rows } = tileGrid(height, width);
  const spans = (count: number, key: string, span: (i: number) => [number, number]): Spans => {
    const first = workspace.int32(`ranges:${key}-first`, count);
    const last = workspace.int32(`ranges:${key}-last`, count);
    for (let i = 0; i < count; i++) [first[i], last[i]] = span(i);
    return { first, last };
  };
  const tileRows = spans(rows, 'rows', (ty) => resizer.sourceRect(ty * TILE, Math.min((ty + 1) * TILE, height), 0, 1).rows);
  const tileColumns = spans(columns, 'columns', (tx) => resizer.sourceRect(0, 1, tx * TILE, Math.min((tx + 1) * TILE, width)).columns);
  const low = workspace.float64('ranges:low', columns * rows);
  const high = workspace.float64('ranges:high', columns * rows);
  tileExtremes(values, h, w, tileRows, tileColumns, high, low);
  return { low, high };
}

export class OnDemandMaps implements GroupingMaps {
  readonly det: Float32Array;
  readonly tags: Float32Array;
  readonly tagChannels: number;
  readonly tagDim: number;
  private readonly columns: number;
  private readonly rows: number;
  private readonly detReady: Uint8Array;
  private readonly tagReady: Uint8Array;
  /** Per joint (tag plane), its bounds once asked for, and the tiles computed since they were last brought up to date. */
  private readonly detCache = new Map<number, { bounds: Float64Array; computed: number[] }>();
  private readonly tagCache = new Map<number, { bounds: { low: Float64Array; high: Float64Array }; computed: number[] }>();
  /** Tiles of the sources resized in WebAssembly: stacks are the terms' sources, then the kept tag maps; resizes the terms', then the tags'. */
  private readonly regions: RegionResizer;
  /** Per term, the stack of its first source; then the stack of the first kept tag map. */
  private readonly termStacks: number[];
  private readonly tagStack: number;

  readonly numJoints: number;
  readonly height: number;
  readonly width: number;
  private readonly terms: readonly HeatmapTerm[];
  private readonly keptTags: readonly PlaneStack[];
  private readonly tagResizer: Resizer;

  /** @param workspace holds the maps, their bounds and the resizers. */
  constructor(
    readonly source: MapsSource,
    private readonly workspace: Workspace,
  ) {
    const { numJoints, height, width, keptTags } = source;
    [this.numJoints, this.height, this.width, this.keptTags] = [numJoints, height, width, keptTags];
    this.terms = source.terms.map((sources) => ({ sources, resizer: keptResizer(workspace, sources[0], height, width) }));
    this.tagResizer = keptResizer(workspace, keptTags[0], height, width);
    const plane = height * width;
    this.tagChannels = keptTags[0].channels;
    this.tagDim = keptTags.length;
    // Values are read only where computed: the buffers need no clearing, the flags do.
    this.det = workspace.float32('maps:det', numJoints * plane);
    this.tags = workspace.float32('maps:tags', this.tagChannels * plane * this.tagDim);
    ({ columns: this.columns, rows: this.rows } = tileGrid(height, width));
    this.detReady = workspace.uint8('maps:det-ready', numJoints * this.columns * this.rows).fill(0);
    this.tagReady = workspace.uint8('maps:tag-ready', this.tagChannels * this.columns * this.rows).fill(0);
    const stacks = [...source.terms.flat(), ...keptTags];
    this.termStacks = source.terms.map((_, s) => source.terms.slice(0, s).reduce((sum, t) => sum + t.length, 0));
    this.tagStack = source.terms.reduce((sum, t) => sum + t.length, 0);
    const outputs = Math.max(this.tagDim, ...source.terms.map((t) => t.length));
    this.regions = new RegionResizer(stacks, [...this.terms.map((t) => t.resizer), this.tagResizer], TILE, TILE, outputs);
  }

  ensureTile(joint: number, tile: number): void {
    const at = joint * this.columns * this.rows + tile;
    if (this.detReady[at]) return;
    this.computeHeatmapTile(joint, tile);
    this.detReady[at] = 1;
  }

  ensureTagTile(joint: number, tile: number): void {
    const t = tagPlaneOf(this, joint);
    const at = t * this.columns * this.rows + tile;
    if (this.tagReady[at]) return;
    this.computeTagTile(t, tile);
    this.tagReady[at] = 1;
  }

  /** Tiles per plane. */
  get tileCount(): number {
    return this.columns * this.rows;
  }

  /** Heatmap tiles computed so far, over all joints (`numJoints * tileCount` when complete). */
  get tilesComputed(): number {
    return this.detReady.reduce((sum, ready) => sum + ready, 0);
  }

  /** Computes every tile: the whole maps, as the reference holds them. */
  complete(): this {
    for (let j = 0; j < this.numJoints; j++) {
      for (let t = 0; t < this.columns * this.rows; t++) {
        this.ensureTile(j, t);
        this.ensureTagTile(j, t);
      }
    }
    return this;
  }

  private computeHeatmapTile(joint: number, tile: number): void {
    const [x0, y0, x1, y1] = tileRect(tile, this.height, this.width);
    const { det, width, terms, regions } = this;
    const out = joint * this.height * width;
    for (let s = 0; s < terms.length; s++) {
      const stack = this.termStacks[s];
      const a = regions.region(stack, joint, s, y0, y1, x0, x1, 0);
      const b = terms[s].sources.length === 2 ? regions.region(stack + 1, joint, s, y0, y1, x0, x1, 1) : null;
      for (let y = y0; y < y1; y++) {
        const row = out + y * width;
        for (let x = x0, i = (y - y0) * TILE; x < x1; x++, i++) {
          const v = b ? f32(f32(a[i] + b[i]) / 2) : a[i];
          det[row + x] = s === 0 ? v : f32(det[row + x] + v);
        }
      }
    }
    if (terms.length > 1) {
      for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) det[out + y * width + x] = f32(det[out + y * width + x] / terms.length);
    }
    this.detCache.get(joint)?.computed.push(tile);
  }

  private computeTagTile(tagPlane: number, tile: number): void {
    const [x0, y0, x1, y1] = tileRect(tile, this.height, this.width);
    const { tags, width, tagDim, regions } = this;
    const base = tagPlane * this.height * width;
    for (let m = 0; m < tagDim; m++) {
      const values = regions.region(this.tagStack + m, tagPlane, this.terms.length, y0, y1, x0, x1, m);
      for (let y = y0; y < y1; y++) {
        for (let x = x0, i = (y - y0) * TILE; x < x1; x++, i++) tags[(base + y * width + x) * tagDim + m] = values[i];
      }
    }
    this.tagCache.get(tagPlane)?.computed.push(tile);
  }

  /**
   * Resizing is linear, so the exact tile maxima of a term differ from those of the resized
   * average of its sources by rounding only: a few float32 ulps of the sources' magnitudes
   * (in the exact resizes, the average, and the plain float32 resize), which the slack covers.
   */
  detBounds(joint: number): Float64Array {
    const cached = this.detCache.get(joint);
    if (cached) {
      // Tightened when asked for, not as tiles are computed: most are computed after the last call.
      for (const tile of cached.computed) cached.bounds[tile] = exactTileMax(this, joint, tile);
      cached.computed.length = 0;
      return cached.bounds;
    }
    const { terms, workspace } = this;
    const bounds = workspace.float64(`maps:det-bounds${joint}`, this.columns * this.rows).fill(0);
    // Rounding is relative to the sources' magnitudes: bounded by their largest, over the plane.
    const highs = workspace.float64('maps:resized-high', bounds.length);
    const lows = workspace.float64('maps:resized-low', bounds.length);
    let magnitude = 0;
    for (const term of terms) {
      const planes = term.sources.map((src) => channelRange(src, joint, joint + 1).data);
      const { height: h, width: w } = term.sources[0];
      // The average rounded to float32 moves by half an ulp at most, well within the slack.
      magnitude = Math.max(magnitude, resizedTileExtremes(planes, h, w, term.resizer, TILE, highs, lows));
      for (let t = 0; t < bounds.length; t++) bounds[t] += highs[t];
    }
    const slack = 2 * magnitude * 2 ** -20 + 2 ** -126;
    for (let t = 0; t < bounds.length; t++) {
      bounds[t] = this.detReady[joint * bounds.length + t] ? exactTileMax(this, joint, t) : bounds[t] / terms.length + slack;
    }
    this.detCache.set(joint, { bounds, computed: [] });
    return bounds;
  }

  /** Bounds of each kept tag map over the tiles, widened by a few float32 ulps of their magnitude. */
  tagBounds(joint: number): { low: Float64Array; high: Float64Array } {
    const t = tagPlaneOf(this, joint);
    const cached = this.tagCache.get(t);
    if (cached) {
      for (const tile of cached.computed) exactTagRanges(this, t, tile, cached.bounds);
      cached.computed.length = 0;
      return cached.bounds;
    }
    const tiles = this.columns * this.rows;
    const k = this.tagDim;
    const bounds = { low: this.workspace.float64(`maps:tag-low${t}`, tiles * k), high: this.workspace.float64(`maps:tag-high${t}`, tiles * k) };
    this.keptTags.forEach((kept, m) => {
      const { low, high } = tileRanges(channelRange(kept, t, t + 1).data, kept.height, kept.width, this.tagResizer, this.height, this.width, this.workspace);
      for (let tile = 0; tile < tiles; tile++) {
        const slack = slackOf(low[tile], high[tile]);
        bounds.low[tile * k + m] = low[tile] - slack;
        bounds.high[tile * k + m] = high[tile] + slack;
      }
    });
    for (let tile = 0; tile < tiles; tile++) if (this.tagReady[t * tiles + tile]) exactTagRanges(this, t, tile, bounds);
    this.tagCache.set(t, { bounds, computed: [] });
    return bounds;
  }

}
