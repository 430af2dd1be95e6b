// AssemblyScript source of the refine search (compiled by `npm run build:kernels` into
// src/kernels/binary.ts), driven by `RefineIndex` in src/grouping/refine.ts, which documents
// the search. It runs in an instance of its own per thread, whose memory holds one image:
// per joint a hierarchy of its 8x8 tiles by heatmap bound and tag box, and the tiles the
// searches computed, copied in by JavaScript when a search asks for them. In JavaScript the
// search took ~15 us per person and joint, most of it in bounds and in scanning tiles pixel by
// pixel; here a tile's 64 exact scores take 16 SIMD steps.

// @ts-ignore: decorator
@inline const TILE_PIXELS = 64;
// @ts-ignore: decorator
@inline const FANOUT = 8; // 8 took ~10% less search time than 4 on random weights, 16 and 2 more

/** How exact a tile's leaf is: estimated bounds, or its values copied in (exact maximum and tag box). */
// @ts-ignore: decorator
@inline const ESTIMATED: u8 = 0;
// @ts-ignore: decorator
@inline const EXACT: u8 = 1;

/** A hierarchy's header: addresses of its arrays (see `buildHierarchy`). */
// @ts-ignore: decorator
@inline const MAX_DET = 0;
// @ts-ignore: decorator
@inline const LOW = 4;
// @ts-ignore: decorator
@inline const HIGH = 8;
// @ts-ignore: decorator
@inline const TILE_OF_LEAF = 12;
// @ts-ignore: decorator
@inline const LEAF_OF_TILE = 16;
// @ts-ignore: decorator
@inline const FIRST_CHILD = 20;
// @ts-ignore: decorator
@inline const CHILD_COUNT = 24;
// @ts-ignore: decorator
@inline const PARENT = 28;
// @ts-ignore: decorator
@inline const EXACTNESS = 32;
// @ts-ignore: decorator
@inline const SLOT = 36;
// @ts-ignore: decorator
@inline const HEADER_BYTES = 40;

/** The search asked for no tile (see `askedTile`). */
// @ts-ignore: decorator
@inline const ASKED_NOTHING = -1;

let width = 0;
let height = 0;
let columns = 0;
let tiles = 0;
let tagDim = 0;
/** Nodes of a hierarchy: the tiles, then the inner nodes level by level, the root last. */
let nodes = 0;
/** The next free byte (the image's blocks are allocated upwards from the module's data). */
let top: usize = 0;

/** Written by JavaScript: the mean tag of a search (K float32). */
let meanInput: usize = 0;
/** Written by JavaScript: per tile the heatmap bound (float64), then the tag boxes' lows and highs (`[tile * K + d]`). */
let boundsInput: usize = 0;
/** Scratch of `buildHierarchy`. */
let sortKeys: usize = 0;
let sortOrder: usize = 0;
let sortSpare: usize = 0;
let sortCounts: usize = 0;
let coordinates: usize = 0;
let quantised: usize = 0;
/** Scratch of `scanTile`: the tile's 64 scores. */
let scores: usize = 0;
/** The search's max-heap of nodes by bound. */
let heapItems: usize = 0;
let heapKeys: usize = 0;
let heapSize = 0;

/** The search under way. */
let searching: usize = 0;
let bestIndex = -1;
let bestScore: f32 = -Infinity;
/** The tile the search waits for, or ASKED_NOTHING. */
let askedTile = ASKED_NOTHING;

/** `bytes` of memory, 16-byte aligned, the memory grown as needed. */
function allocate(bytes: usize): usize {
  const at = top;
  top = (top + bytes + 15) & ~15;
  const pages = <i32>((top + 0xffff) >>> 16);
  if (pages > memory.size() && memory.grow(pages - memory.size()) < 0) unreachable();
  return at;
}

/**
 * Starts an image of `w` x `h` pixels with `k` tag values per pixel: everything of the previous
 * image is dropped. The inputs JavaScript writes are then at the getters' addresses below.
 */
export function refineBegin(w: i32, h: i32, k: i32): void {
  width = w;
  height = h;
  tagDim = k;
  columns = (w + 7) >> 3;
  tiles = columns * ((h + 7) >> 3);
  nodes = tiles;
  for (let n = tiles; n > 1; n = (n + FANOUT - 1) / FANOUT) nodes += (n + FANOUT - 1) / FANOUT;
  top = (__heap_base + 15) & ~15;
  meanInput = allocate(<usize>k << 2);
  meanTag = allocate(<usize>k << 3);
  boundsInput = allocate(<usize>(tiles * (1 + 2 * k)) << 3);
  sortKeys = allocate(<usize>tiles << 2);
  sortOrder = allocate(<usize>tiles << 2);
  sortSpare = allocate(<usize>tiles << 2);
  sortCounts = allocate(1024 << 2);
  coordinates = allocate(<usize>(2 * tiles) << 3);
  quantised = allocate(<usize>(3 * tiles) << 2);
  scores = allocate(TILE_PIXELS << 2);
  // A search pushes each node at most once.
  heapItems = allocate(<usize>nodes << 2);
  heapKeys = allocate(<usize>nodes << 3);
}

export function refineMeanInput(): usize {
  return meanInput;
}

export function refineBoundsInput(): usize {
  return boundsInput;
}

// @ts-ignore: decorator
@inline function field(h: usize, at: usize): usize {
  return load<usize>(h + at);
}

// @ts-ignore: decorator
@inline function f64At(array: usize, i: i32): f64 {
  return load<f64>(array + (<usize>i << 3));
}

// @ts-ignore: decorator
@inline function i32At(array: usize, i: i32): i32 {
  return load<i32>(array + (<usize>i << 2));
}

/** Spreads the low 10 bits of v to every third bit (for a 3-D Z-order key). */
function spread10(v: i32): i32 {
  let x = v & 0x3ff;
  x = (x | (x << 16)) & 0x030000ff;
  x = (x | (x << 8)) & 0x0300f00f;
  x = (x | (x << 4)) & 0x030c30c3;
  x = (x | (x << 2)) & 0x09249249;
  return x;
}

/**
 * The larger and the smaller of two values, which are never NaN: a select each, where `max` and
 * `min` (NaN and signed-zero rules) cost V8 several instructions (see kernels/tile-extremes.ts).
 */
// @ts-ignore: decorator
@inline function larger<T>(a: T, b: T): T {
  return a > b ? a : b;
}

// @ts-ignore: decorator
@inline function smaller<T>(a: T, b: T): T {
  return a < b ? a : b;
}

/** The `tiles` values at `values` (float64) scaled linearly to [0, 1023], into `out` (int32). */
function quantise10(values: usize, out: usize): void {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < tiles; i++) {
    lo = smaller(lo, f64At(values, i));
    hi = larger(hi, f64At(values, i));
  }
  const scale = hi > lo ? 1023 / (hi - lo) : 0;
  for (let i = 0; i < tiles; i++) store<i32>(out + (<usize>i << 2), <i32>floor((f64At(values, i) - lo) * scale));
}

/**
 * The tile indices in increasing order of the keys at `sortKeys` (30-bit), equal keys in index
 * order: a radix sort of three 10-bit passes. Returns the address of the order.
 */
function sortByKey(): usize {
  let order = sortOrder;
  let spare = sortSpare;
  for (let i = 0; i < tiles; i++) store<i32>(order + (<usize>i << 2), i);
  for (let shift = 0; shift < 30; shift += 10) {
    memory.fill(sortCounts, 0, 1024 << 2);
    for (let i = 0; i < tiles; i++) {
      const bucket = sortCounts + (<usize>((i32At(sortKeys, i) >>> shift) & 1023) << 2);
      store<i32>(bucket, load<i32>(bucket) + 1);
    }
    let sum = 0;
    for (let b = 0; b < 1024; b++) {
      const count = i32At(sortCounts, b);
      store<i32>(sortCounts + (<usize>b << 2), sum);
      sum += count;
    }
    for (let i = 0; i < tiles; i++) {
      const item = i32At(order, i);
      const bucket = sortCounts + (<usize>((i32At(sortKeys, item) >>> shift) & 1023) << 2);
      const at = load<i32>(bucket);
      store<i32>(bucket, at + 1);
      store<i32>(spare + (<usize>at << 2), item);
    }
    const swap = order;
    order = spare;
    spare = swap;
  }
  return order;
}

/** Recomputes inner node `n` of `h` from its children; whether it changed. */
function mergeChildren(h: usize, n: i32): bool {
  const maxDet = field(h, MAX_DET);
  const low = field(h, LOW);
  const high = field(h, HIGH);
  const first = i32At(field(h, FIRST_CHILD), n);
  const end = first + i32At(field(h, CHILD_COUNT), n);
  let changed = false;
  if (tagDim == 2) {
    // The flip test's two tag values, in one lane each (finite values: `pmin`, `pmax`).
    let lo = f64x2.splat(Infinity);
    let hi = f64x2.splat(-Infinity);
    for (let c = first; c < end; c++) {
      lo = f64x2.pmin(lo, v128.load(low + (<usize>c << 4)));
      hi = f64x2.pmax(hi, v128.load(high + (<usize>c << 4)));
    }
    const at = <usize>n << 4;
    changed = v128.any_true(v128.or(f64x2.ne(v128.load(low + at), lo), f64x2.ne(v128.load(high + at), hi)));
    v128.store(low + at, lo);
    v128.store(high + at, hi);
  } else for (let d = 0; d < tagDim; d++) {
    let lo = Infinity;
    let hi = -Infinity;
    for (let c = first; c < end; c++) {
      lo = smaller(lo, f64At(low, c * tagDim + d));
      hi = larger(hi, f64At(high, c * tagDim + d));
    }
    const at = <usize>(n * tagDim + d) << 3;
    changed = changed || load<f64>(low + at) != lo || load<f64>(high + at) != hi;
    store<f64>(low + at, lo);
    store<f64>(high + at, hi);
  }
  let best = -Infinity;
  for (let c = first; c < end; c++) best = larger(best, f64At(maxDet, c));
  changed = changed || f64At(maxDet, n) != best;
  store<f64>(maxDet + (<usize>n << 3), best);
  return changed;
}

/** Recomputes the ancestors of `leaf` up to the first that does not change (bounds only tighten). */
function propagate(h: usize, leaf: i32): void {
  const parent = field(h, PARENT);
  for (let n = i32At(parent, leaf); n >= 0 && mergeChildren(h, n); n = i32At(parent, n));
}

/**
 * Builds the hierarchy of one joint from the bounds at `boundsInput`; returns its address.
 * Tiles are ordered along a Z-order curve of (heatmap bound, tag-box centre) and packed into
 * nodes of FANOUT, level by level, each node holding the largest heatmap bound and the tag box
 * of what it covers.
 */
export function buildHierarchy(): usize {
  const k = tagDim;
  const detBound = boundsInput;
  const low = boundsInput + (<usize>tiles << 3);
  const high = low + (<usize>(tiles * k) << 3);
  const axes = min(k, 2);
  quantise10(detBound, quantised);
  for (let d = 0; d < axes; d++) {
    const centre = coordinates + (<usize>(d * tiles) << 3);
    for (let t = 0; t < tiles; t++) store<f64>(centre + (<usize>t << 3), f64At(low, t * k + d) + f64At(high, t * k + d));
    quantise10(centre, quantised + (<usize>((d + 1) * tiles) << 2));
  }
  for (let t = 0; t < tiles; t++) {
    let key = 0;
    for (let a = 0; a <= axes; a++) key |= spread10(i32At(quantised, a * tiles + t)) << a;
    store<i32>(sortKeys + (<usize>t << 2), key);
  }
  const order = sortByKey();

  const h = allocate(HEADER_BYTES);
  const maxDet = allocate(<usize>nodes << 3);
  const nodeLow = allocate(<usize>(nodes * k) << 3);
  const nodeHigh = allocate(<usize>(nodes * k) << 3);
  const tileOfLeaf = allocate(<usize>tiles << 2);
  const leafOfTile = allocate(<usize>tiles << 2);
  const first = allocate(<usize>nodes << 2);
  const count = allocate(<usize>nodes << 2);
  const parent = allocate(<usize>nodes << 2);
  const exactness = allocate(<usize>tiles);
  const slot = allocate(<usize>tiles << 2);
  store<usize>(h + MAX_DET, maxDet);
  store<usize>(h + LOW, nodeLow);
  store<usize>(h + HIGH, nodeHigh);
  store<usize>(h + TILE_OF_LEAF, tileOfLeaf);
  store<usize>(h + LEAF_OF_TILE, leafOfTile);
  store<usize>(h + FIRST_CHILD, first);
  store<usize>(h + CHILD_COUNT, count);
  store<usize>(h + PARENT, parent);
  store<usize>(h + EXACTNESS, exactness);
  store<usize>(h + SLOT, slot);
  memory.fill(parent, 0xff, <usize>nodes << 2);
  memory.fill(exactness, ESTIMATED, <usize>tiles);
  memory.fill(slot, 0xff, <usize>tiles << 2);

  for (let n = 0; n < tiles; n++) {
    const t = i32At(order, n);
    store<i32>(tileOfLeaf + (<usize>n << 2), t);
    store<i32>(leafOfTile + (<usize>t << 2), n);
    store<f64>(maxDet + (<usize>n << 3), f64At(detBound, t));
    // A loop, not memory.copy: V8 calls out of the module for each memory.copy.
    for (let d = 0; d < k; d++) {
      store<f64>(nodeLow + (<usize>(n * k + d) << 3), f64At(low, t * k + d));
      store<f64>(nodeHigh + (<usize>(n * k + d) << 3), f64At(high, t * k + d));
    }
  }
  let levelStart = 0;
  let levelSize = tiles;
  let next = tiles;
  while (levelSize > 1) {
    const parents = (levelSize + FANOUT - 1) / FANOUT;
    for (let p = 0; p < parents; p++, next++) {
      const firstChild = levelStart + p * FANOUT;
      const children = min(FANOUT, levelStart + levelSize - firstChild);
      store<i32>(first + (<usize>next << 2), firstChild);
      store<i32>(count + (<usize>next << 2), children);
      for (let c = firstChild; c < firstChild + children; c++) store<i32>(parent + (<usize>c << 2), next);
      mergeChildren(h, next);
    }
    levelStart += levelSize;
    levelSize = parents;
  }
  return h;
}

/** How exact `tile`'s leaf in `h` is (`ESTIMATED`, `EXACT`). */
export function tileExactness(h: usize, tile: i32): u8 {
  return load<u8>(field(h, EXACTNESS) + <usize>tile);
}

/** The rows and columns of `tile` inside the image. */
// @ts-ignore: decorator
@inline function tileRows(tile: i32): i32 {
  return min(8, height - (tile / columns) * 8);
}

// @ts-ignore: decorator
@inline function tileColumns(tile: i32): i32 {
  return min(8, width - (tile % columns) * 8);
}

/** Where `tile`'s values are kept: its heatmap (64 float32), then its tags (K x 64). */
// @ts-ignore: decorator
@inline function tileValues(h: usize, tile: i32): usize {
  return <usize>i32At(field(h, SLOT), tile);
}

/**
 * Allocates `tile`'s values and returns their address, for JavaScript to write the pixels
 * inside the image: the heatmap (row-major, 8 values a row), then the tags (tag value d of
 * pixel i at `64 + d * 64 + i`). `tileWritten` completes them.
 */
export function tileSlot(h: usize, tile: i32): usize {
  const at = allocate(<usize>((1 + tagDim) * TILE_PIXELS) << 2);
  store<i32>(field(h, SLOT) + (<usize>tile << 2), <i32>at);
  return at;
}

/**
 * Completes the values JavaScript wrote into `tile`'s slot: pixels outside the image become
 * -Infinity in the heatmap (never an answer) and 0 in the tags; the exact maximum and tag box
 * go into the hierarchy, and up its ancestors while they change.
 */
export function tileWritten(h: usize, tile: i32): void {
  const at = tileValues(h, tile);
  const leaf = i32At(field(h, LEAF_OF_TILE), tile);
  if (tileRows(tile) == 8 && tileColumns(tile) == 8) fullTileExtremes(h, at, leaf);
  else partTileExtremes(h, at, leaf, tileRows(tile), tileColumns(tile));
  store<u8>(field(h, EXACTNESS) + <usize>tile, EXACT);
  propagate(h, leaf);
}

/** A tile's extremes into `leaf`, every pixel inside the image, four at a time (finite values: `pmax`, `pmin`). */
function fullTileExtremes(h: usize, at: usize, leaf: i32): void {
  let best = v128.load(at);
  for (let i = 4; i < TILE_PIXELS; i += 4) best = f32x4.pmax(best, v128.load(at + (<usize>i << 2)));
  store<f64>(field(h, MAX_DET) + (<usize>leaf << 3), <f64>laneMax(best));
  for (let d = 0; d < tagDim; d++) {
    const tags = at + (<usize>((1 + d) * TILE_PIXELS) << 2);
    let lo = v128.load(tags);
    let hi = lo;
    for (let i = 4; i < TILE_PIXELS; i += 4) {
      const v = v128.load(tags + (<usize>i << 2));
      lo = f32x4.pmin(lo, v);
      hi = f32x4.pmax(hi, v);
    }
    store<f64>(field(h, LOW) + (<usize>(leaf * tagDim + d) << 3), <f64>laneMin(lo));
    store<f64>(field(h, HIGH) + (<usize>(leaf * tagDim + d) << 3), <f64>laneMax(hi));
  }
}

// @ts-ignore: decorator
@inline function laneMin(v: v128): f32 {
  const pairs = f32x4.pmin(v, v128.shuffle<f32>(v, v, 2, 3, 0, 1));
  return f32x4.extract_lane(f32x4.pmin(pairs, v128.shuffle<f32>(pairs, pairs, 1, 0, 3, 2)), 0);
}

// @ts-ignore: decorator
@inline function laneMax(v: v128): f32 {
  const pairs = f32x4.pmax(v, v128.shuffle<f32>(v, v, 2, 3, 0, 1));
  return f32x4.extract_lane(f32x4.pmax(pairs, v128.shuffle<f32>(pairs, pairs, 1, 0, 3, 2)), 0);
}

/** A tile's extremes into `leaf`, over its `rowCount` x `columnCount` pixels inside the image; the others are filled. */
function partTileExtremes(h: usize, at: usize, leaf: i32, rowCount: i32, columnCount: i32): void {
  let best: f32 = -Infinity;
  for (let i = 0; i < TILE_PIXELS; i++) {
    const inside = (i >> 3) < rowCount && (i & 7) < columnCount;
    if (!inside) store<f32>(at + (<usize>i << 2), -Infinity);
    else best = larger(best, load<f32>(at + (<usize>i << 2)));
  }
  store<f64>(field(h, MAX_DET) + (<usize>leaf << 3), <f64>best);
  for (let d = 0; d < tagDim; d++) {
    let lo: f32 = Infinity;
    let hi: f32 = -Infinity;
    for (let i = 0; i < TILE_PIXELS; i++) {
      const offset = <usize>((1 + d) * TILE_PIXELS + i) << 2;
      const inside = (i >> 3) < rowCount && (i & 7) < columnCount;
      if (!inside) {
        store<f32>(at + offset, 0);
        continue;
      }
      const value = load<f32>(at + offset);
      lo = smaller(lo, value);
      hi = larger(hi, value);
    }
    store<f64>(field(h, LOW) + (<usize>(leaf * tagDim + d) << 3), <f64>lo);
    store<f64>(field(h, HIGH) + (<usize>(leaf * tagDim + d) << 3), <f64>hi);
  }
}

/** The search's hierarchy arrays and mean tag (float64), set when it starts. */
let searchMaxDet: usize = 0;
let searchLow: usize = 0;
let searchHigh: usize = 0;
let meanTag: usize = 0;

/**
 * An upper bound of `det - round(|tag - mean|)` below `node`: its largest heatmap bound minus
 * the rounded distance from the mean to its tag box (float32 distances are at least the box
 * distance less a few ulps, covered by 2^-20 relative; rounding half to even gives at least
 * `ceil(distance - 0.5)`), rounded to float32 as scores are.
 */
// @ts-ignore: decorator
@inline function nodeBound(node: i32): f64 {
  let square = 0.0;
  const at = <usize>(node * tagDim) << 3;
  if (tagDim == 2) {
    // The flip test's two tag values, in one lane each: the same gaps and sum as the loop below.
    const m = v128.load(meanTag);
    const gap = f64x2.pmax(f64x2.pmax(f64x2.sub(v128.load(searchLow + at), m), f64x2.sub(m, v128.load(searchHigh + at))), f64x2.splat(0));
    const squares = f64x2.mul(gap, gap);
    square = f64x2.extract_lane(squares, 0) + f64x2.extract_lane(squares, 1);
  } else for (let d = 0; d < tagDim; d++) {
    const offset = at + (<usize>d << 3);
    const m = load<f64>(meanTag + (<usize>d << 3));
    const lo = load<f64>(searchLow + offset);
    const hi = load<f64>(searchHigh + offset);
    const gap = m < lo ? lo - m : m > hi ? m - hi : 0;
    square += gap * gap;
  }
  return <f64><f32>(f64At(searchMaxDet, node) - ceil(sqrt(square) * (1 - 1.0 / 1048576) - 0.5));
}

/** The reference's score of pixel `i` of a tile's values at `values`: `det - np.round(|tag - mean|)` in float32. */
function pixelScore(values: usize, i: i32): f32 {
  let distance: f32 = 0;
  for (let d = 0; d < tagDim; d++) {
    const diff = load<f32>(values + (<usize>((1 + d) * TILE_PIXELS + i) << 2)) - load<f32>(meanInput + (<usize>d << 2));
    distance = distance + diff * diff;
  }
  return load<f32>(values + (<usize>i << 2)) - nearest(sqrt(distance));
}

/** The image pixel of pixel `i` of `tile`. */
// @ts-ignore: decorator
@inline function pixelOf(tile: i32, i: i32): i32 {
  return ((tile / columns) * 8 + (i >> 3)) * width + (tile % columns) * 8 + (i & 7);
}

/**
 * Scores the 64 pixels of `tile` (exact), four at a time with the same float32 operations as
 * `pixelScore`, and takes its first best pixel when it beats the best so far (equal scores:
 * the smaller pixel index).
 */
function scanTile(h: usize, tile: i32): void {
  const values = tileValues(h, tile);
  let most = f32x4.splat(-Infinity);
  for (let i = 0; i < TILE_PIXELS; i += 4) {
    let distance = f32x4.splat(0);
    for (let d = 0; d < tagDim; d++) {
      const diff = f32x4.sub(v128.load(values + (<usize>((1 + d) * TILE_PIXELS + i) << 2)), f32x4.splat(load<f32>(meanInput + (<usize>d << 2))));
      distance = d == 0 ? f32x4.mul(diff, diff) : f32x4.add(distance, f32x4.mul(diff, diff));
    }
    const score = f32x4.sub(v128.load(values + (<usize>i << 2)), f32x4.nearest(f32x4.sqrt(distance)));
    v128.store(scores + (<usize>i << 2), score);
    most = f32x4.pmax(most, score);
  }
  most = f32x4.pmax(most, v128.shuffle<f32>(most, most, 2, 3, 0, 1));
  most = f32x4.pmax(most, v128.shuffle<f32>(most, most, 1, 0, 3, 2));
  const tileBest = f32x4.extract_lane(most, 0);
  if (tileBest < bestScore) return;
  let i = 0;
  while (load<f32>(scores + (<usize>i << 2)) != tileBest) i++;
  const p = pixelOf(tile, i);
  if (tileBest > bestScore || p < bestIndex) {
    bestScore = tileBest;
    bestIndex = p;
  }
}

function heapPush(item: i32, key: f64): void {
  let at = heapSize++;
  while (at > 0) {
    const parent = (at - 1) >> 1;
    const parentKey = f64At(heapKeys, parent);
    if (parentKey >= key) break;
    store<i32>(heapItems + (<usize>at << 2), i32At(heapItems, parent));
    store<f64>(heapKeys + (<usize>at << 3), parentKey);
    at = parent;
  }
  store<i32>(heapItems + (<usize>at << 2), item);
  store<f64>(heapKeys + (<usize>at << 3), key);
}

function heapPop(): i32 {
  const top = i32At(heapItems, 0);
  heapSize -= 1;
  const item = i32At(heapItems, heapSize);
  const key = f64At(heapKeys, heapSize);
  let at = 0;
  for (;;) {
    let child = 2 * at + 1;
    if (child >= heapSize) break;
    if (child + 1 < heapSize && f64At(heapKeys, child + 1) > f64At(heapKeys, child)) child += 1;
    const childKey = f64At(heapKeys, child);
    if (childKey <= key) break;
    store<i32>(heapItems + (<usize>at << 2), i32At(heapItems, child));
    store<f64>(heapKeys + (<usize>at << 3), childKey);
    at = child;
  }
  store<i32>(heapItems + (<usize>at << 2), item);
  store<f64>(heapKeys + (<usize>at << 3), key);
  return top;
}

/**
 * Starts the search of joint hierarchy `h` for the mean tag at `meanInput`, from the score of
 * pixel `start` when it is not negative (its tile provided, heatmap and tags). Returns what
 * `refineResume` returns.
 */
export function refineSearch(h: usize, start: i32): i32 {
  searching = h;
  searchMaxDet = field(h, MAX_DET);
  searchLow = field(h, LOW);
  searchHigh = field(h, HIGH);
  for (let d = 0; d < tagDim; d++) store<f64>(meanTag + (<usize>d << 3), <f64>load<f32>(meanInput + (<usize>d << 2)));
  bestIndex = -1;
  bestScore = -Infinity;
  if (start >= 0) {
    const tile = ((start / width) >> 3) * columns + (start % width >> 3);
    bestIndex = start;
    bestScore = pixelScore(tileValues(h, tile), ((start / width) & 7) * 8 + (start % width & 7));
  }
  heapSize = 0;
  heapPush(nodes - 1, nodeBound(nodes - 1));
  askedTile = ASKED_NOTHING;
  return refineResume();
}

/** `nodeBound` of nodes `c` and `c + 1` with two tag values each, one per lane, in the same operations (a square root for two). */
// @ts-ignore: decorator
@inline function pairBound(c: i32): v128 {
  const m = v128.load(meanTag);
  const zero = f64x2.splat(0);
  const at = <usize>c << 4;
  const gap0 = f64x2.pmax(f64x2.pmax(f64x2.sub(v128.load(searchLow + at), m), f64x2.sub(m, v128.load(searchHigh + at))), zero);
  const gap1 = f64x2.pmax(f64x2.pmax(f64x2.sub(v128.load(searchLow + at + 16), m), f64x2.sub(m, v128.load(searchHigh + at + 16))), zero);
  const squares0 = f64x2.mul(gap0, gap0);
  const squares1 = f64x2.mul(gap1, gap1);
  const square = f64x2.add(v128.shuffle<f64>(squares0, squares1, 0, 2), v128.shuffle<f64>(squares0, squares1, 1, 3));
  const distance = f64x2.ceil(f64x2.sub(f64x2.mul(f64x2.sqrt(square), f64x2.splat(1 - 1.0 / 1048576)), f64x2.splat(0.5)));
  return f64x2.promote_low_f32x4(f32x4.demote_f64x2_zero(f64x2.sub(v128.load(searchMaxDet + (<usize>c << 3)), distance)));
}

/** The child of the node being expanded to expand next (see `refineResume`), and its bound. */
let nextChild = -1;
let nextChildBound = -Infinity;

/**
 * A child of the node being expanded, of bound `bound`: ruled out below the best; a leaf
 * already exact is scanned now (a scan costs about what its turn in the heap would); the
 * others wait in the heap, but the one of largest bound, kept as `nextChild`.
 */
// @ts-ignore: decorator
@inline function visitChild(h: usize, c: i32, bound: f64): void {
  if (bound < <f64>bestScore) return;
  if (c < tiles && tileExactness(h, i32At(field(h, TILE_OF_LEAF), c)) == EXACT) {
    scanTile(h, i32At(field(h, TILE_OF_LEAF), c));
    return;
  }
  if (bound > nextChildBound) {
    if (nextChild >= 0) heapPush(nextChild, nextChildBound);
    nextChild = c;
    nextChildBound = bound;
  } else {
    heapPush(c, bound);
  }
}

/**
 * Runs the search until it ends, returning the answer (a pixel index), or until it needs a
 * tile: returns `-1 - tile`, to be given with `provideTile` before resuming.
 */
export function refineResume(): i32 {
  const h = searching;
  // Scanned at once if its exact bound still reaches the best: a scan costs less than waiting its turn in the heap.
  if (askedTile != ASKED_NOTHING && nodeBound(i32At(field(h, LEAF_OF_TILE), askedTile)) >= <f64>bestScore) scanTile(h, askedTile);
  askedTile = ASKED_NOTHING;
  const tileOfLeaf = field(h, TILE_OF_LEAF);
  const first = field(h, FIRST_CHILD);
  const count = field(h, CHILD_COUNT);
  // The node to expand next without a turn in the heap: the best child of the last one, while
  // nothing in the heap beats it (it would be popped next).
  let node = -1;
  for (;;) {
    if (node < 0) {
      if (heapSize == 0 || f64At(heapKeys, 0) < <f64>bestScore) break;
      node = heapPop();
    }
    if (node < tiles) {
      const tile = i32At(tileOfLeaf, node);
      node = -1;
      if (tileExactness(h, tile) == EXACT) {
        scanTile(h, tile);
        continue;
      }
      askedTile = tile;
      return -1 - tile;
    }
    nextChild = -1;
    nextChildBound = -Infinity;
    const end = i32At(first, node) + i32At(count, node);
    let c = i32At(first, node);
    if (tagDim == 2) {
      for (; c + 2 <= end; c += 2) {
        const bounds = pairBound(c);
        visitChild(h, c, f64x2.extract_lane(bounds, 0));
        visitChild(h, c + 1, f64x2.extract_lane(bounds, 1));
      }
    }
    for (; c < end; c++) {
      // The rounded distance is not negative: a heatmap bound below the best rules a node out.
      if (f64At(searchMaxDet, c) >= <f64>bestScore) visitChild(h, c, nodeBound(c));
    }
    // Scans may have raised the best past it; the heap's top may beat it.
    if (nextChild >= 0 && (nextChildBound < <f64>bestScore || (heapSize > 0 && f64At(heapKeys, 0) > nextChildBound))) {
      if (nextChildBound >= <f64>bestScore) heapPush(nextChild, nextChildBound);
      nextChild = -1;
    }
    node = nextChild;
  }
  return bestIndex;
}
