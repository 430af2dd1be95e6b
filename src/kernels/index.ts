/**
 * Kernels in WebAssembly (with 128-bit SIMD), for the loops JavaScript runs slowest: one
 * instance per thread, built on first use from the module embedded in `binary.ts` (compiled
 * from kernels/ by `npm run build:kernels`). Inputs are copied into the instance's memory and
 * results out; the memory grows to the largest call and is kept, until `kernelsImageDone` finds
 * it many times what recent images needed (a WebAssembly memory cannot shrink: the instance is
 * then dropped, and the next call makes a fresh one). `RegionResizer` keeps its
 * planes there between calls: the space just above the module's data belongs to one of them
 * at a time, the others copying theirs in again when they next run.
 */
import { KERNELS_WASM } from './binary.js';
import { OVERSIZE } from '../workspace.js';

/** The part of the WebAssembly API used here (the project's TypeScript libs do not declare it). */
interface WebAssemblyApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
}
const { WebAssembly: wasm } = globalThis as unknown as { WebAssembly: WebAssemblyApi };

interface Exports {
  memory: { buffer: ArrayBuffer; grow(pages: number): number };
  freeMemory(): number;
  tileExtremes(
    values: number, h: number, w: number, rows: number, columns: number,
    rowFirst: number, rowLast: number, columnFirst: number, columnLast: number,
    columnHigh: number, columnLow: number, high: number, low: number,
  ): void;
  accumulatePlane(dst: number, src: number, height: number, width: number, mirror: number, first: number): void;
  dividePlane(values: number, n: number, divisor: number): void;
  averageMagnitude(a: number, b: number, n: number, dst: number): number;
  resizedTileExtremes(
    values: number, inH: number, inW: number, outH: number, outW: number, tile: number,
    columnIndex0: number, columnIndex1: number, columnWeight0: number, columnWeight1: number,
    rowIndex0: number, rowIndex1: number, rowWeight0: number, rowWeight1: number,
    across: number, columnHigh: number, columnLow: number, high: number, low: number, doubled: number,
  ): void;
  resizePlane(
    src: number, inH: number, inW: number, outH: number, outW: number, used: number,
    columnIndex0: number, columnIndex1: number, columnWeight0: number, columnWeight1: number,
    rowIndex0: number, rowIndex1: number, rowWeight0: number, rowWeight1: number,
    across: number, dst: number, mirror: number, doubled: number,
  ): void;
  resizeRegion(
    src: number, inW: number,
    columnIndex0: number, columnIndex1: number, columnWeight0: number, columnWeight1: number,
    rowIndex0: number, rowIndex1: number, rowWeight0: number, rowWeight1: number,
    y0: number, y1: number, x0: number, x1: number, across: number, dst: number, dstStride: number, doubled: number,
  ): void;
  warpAffine(src: number, sw: number, sh: number, rowX: number, rowY: number, columnX: number, columnY: number, width: number, height: number, dst: number): void;
  normalizeImage(rgb: number, w: number, h: number, tables: number, withPlain: number, plain: number, withMirrored: number, mirrored: number): void;
}

/** The refine search of kernels/refine.ts (documented there), in an instance of its own: see `refineKernels`. */
export interface RefineExports {
  memory: { buffer: ArrayBuffer };
  refineBegin(width: number, height: number, tagDim: number): void;
  refineMeanInput(): number;
  refineBoundsInput(): number;
  buildHierarchy(): number;
  tileExactness(hierarchy: number, tile: number): number;
  tileSlot(hierarchy: number, tile: number): number;
  tileWritten(hierarchy: number, tile: number): void;
  refineSearch(hierarchy: number, start: number): number;
  refineResume(): number;
}

let compiled: object | undefined;

function instantiate(): unknown {
  compiled ??= new wasm.Module(Buffer.from(KERNELS_WASM, 'base64'));
  return new wasm.Instance(compiled, { env: { abort: () => { throw new Error('kernel aborted'); } } }).exports;
}

let instance: Exports | undefined;

function kernels(): Exports {
  instance ??= instantiate() as Exports;
  return instance;
}

/** Memory under which an instance is kept whatever it holds: fresh ones start at a few MB. */
const KEPT_MEMORY_BYTES = 32 * 2 ** 20;

/** The most memory the calls since the last `kernelsImageDone`, and those before it, needed. */
let neededNow = 0;
let neededBefore = 0;

/**
 * Ends an image's work on this thread: the instance is dropped when its memory is over
 * `OVERSIZE` times what this image and the one before needed (after a panorama, the second
 * photo), so that one large image does not hold ~100 MB of memory for good. Two images, since
 * with two in flight one's preprocessing can fall between the other's post-processing and here.
 */
export function kernelsImageDone(): void {
  const needed = Math.max(neededNow, neededBefore, resident?.end ?? 0);
  if (instance && instance.memory.buffer.byteLength > Math.max(OVERSIZE * needed, KEPT_MEMORY_BYTES)) {
    instance = undefined;
    resident = null;
  }
  neededBefore = neededNow;
  neededNow = 0;
}

let refineInstance: RefineExports | undefined;
/** Pixels (times tag values plus one) of the largest image the refine instance has begun. */
let refineLargest = 0;

/**
 * This thread's instance for the refine search: its own, since the search keeps an image's
 * hierarchies and tiles in its memory from call to call, laid out as it goes. `pixels`, the
 * size of the image to begin (`width * height * (1 + tagDim)`): an instance that has held an
 * image over `OVERSIZE` times larger is replaced by a fresh one, so that its memory (grown to that
 * image, and never shrunk) is given back.
 */
export function refineKernels(pixels: number): RefineExports {
  if (refineInstance && refineLargest > OVERSIZE * pixels && refineInstance.memory.buffer.byteLength > KEPT_MEMORY_BYTES) refineInstance = undefined;
  if (!refineInstance) refineLargest = 0;
  refineInstance ??= instantiate() as RefineExports;
  refineLargest = Math.max(refineLargest, pixels);
  return refineInstance;
}

/** The `RegionResizer` whose planes the memory above the module's data holds, and where they end. */
let resident: { owner: RegionResizer; end: number } | null = null;

/** 16-byte-aligned offsets of consecutive blocks of the given byte sizes from `start`, and their end. */
function layout(start: number, sizes: readonly number[]): { offsets: number[]; end: number } {
  let end = start;
  const offsets = sizes.map((bytes) => {
    const offset = end;
    end += (bytes + 15) & ~15;
    return offset;
  });
  return { offsets, end };
}

/** Grows the instance's memory to at least `bytes`. */
function growTo(k: Exports, bytes: number): void {
  if (bytes > neededNow) neededNow = bytes;
  const missing = bytes - k.memory.buffer.byteLength;
  if (missing > 0) k.memory.grow(Math.ceil(missing / 65536));
}

/** Lays out blocks of the given byte sizes above the resident planes (memory grown as needed); returns their offsets. */
function reserve(k: Exports, sizes: readonly number[]): number[] {
  const { offsets, end } = layout(resident?.end ?? k.freeMemory(), sizes);
  growTo(k, end);
  return offsets;
}

/** Source rows (or columns) `[first[i], last[i]]`, inclusive, of each tile row (or column). */
export interface Spans {
  first: Int32Array;
  last: Int32Array;
}

/**
 * Per tile of the grid `rows` x `columns` (row-major), the largest and smallest value of the
 * `h` x `w` plane `values` over the tile's source rows and columns, into `high` and `low`.
 * Values must be finite.
 */
export function tileExtremes(values: Float32Array, h: number, w: number, rows: Spans, columns: Spans, high: Float64Array, low: Float64Array): void {
  const k = kernels();
  const [nr, nc] = [rows.first.length, columns.first.length];
  const [at, rowFirst, rowLast, columnFirst, columnLast, columnHigh, columnLow, highAt, lowAt] = reserve(k, [
    h * w * 4, nr * 4, nr * 4, nc * 4, nc * 4, w * 4 + 16, w * 4 + 16, nr * nc * 8, nr * nc * 8,
  ]);
  const { buffer } = k.memory;
  new Float32Array(buffer, at, h * w).set(values.subarray(0, h * w));
  new Int32Array(buffer, rowFirst, nr).set(rows.first);
  new Int32Array(buffer, rowLast, nr).set(rows.last);
  new Int32Array(buffer, columnFirst, nc).set(columns.first);
  new Int32Array(buffer, columnLast, nc).set(columns.last);
  k.tileExtremes(at, h, w, nr, nc, rowFirst, rowLast, columnFirst, columnLast, columnHigh, columnLow, highAt, lowAt);
  high.set(new Float64Array(buffer, highAt, nr * nc));
  low.set(new Float64Array(buffer, lowAt, nr * nc));
}

/**
 * Per `tile` x `tile` tile of the bilinear resize of the average of `planes` (one or two
 * `inH` x `inW` planes) by `resize`'s taps (row-major grid over the result), the
 * largest and smallest resized value into `high` and `low`; returns the largest magnitude of the
 * planes' values. Computed in plain float32 arithmetic, not ATen's exact roundings: within a few
 * float32 ulps of that magnitude, which callers add. Values must be finite.
 */
export function resizedTileExtremes(planes: readonly Float32Array[], inH: number, inW: number, resize: RegionResize, tile: number, high: Float64Array, low: Float64Array): number {
  if (planes.length !== 1 && planes.length !== 2) throw new RangeError(`resizedTileExtremes: one or two planes, not ${planes.length}`);
  const k = kernels();
  const { columns, rows } = resize;
  const [outH, outW] = [rows.index0.length, columns.index0.length];
  const n = inH * inW;
  const tiles = Math.ceil(outH / tile) * Math.ceil(outW / tile);
  const [a, b, at, ci0, ci1, cw0, cw1, ri0, ri1, rw0, rw1, across, columnHigh, columnLow, highAt, lowAt] = reserve(k, [
    n * 4, n * 4, n * 4, ...Array<number>(4).fill(outW * 4), ...Array<number>(4).fill(outH * 4), inH * outW * 4, outW * 4 + 16, outW * 4 + 16, tiles * 8, tiles * 8,
  ]);
  const { buffer } = k.memory;
  new Float32Array(buffer, a, n).set(planes[0].subarray(0, n));
  if (planes.length > 1) new Float32Array(buffer, b, n).set(planes[1].subarray(0, n));
  const magnitude = k.averageMagnitude(a, planes.length > 1 ? b : 0, n, at);
  putTaps(buffer, columns, [ci0, ci1, cw0, cw1]);
  putTaps(buffer, rows, [ri0, ri1, rw0, rw1]);
  k.resizedTileExtremes(at, inH, inW, outH, outW, tile, ci0, ci1, cw0, cw1, ri0, ri1, rw0, rw1, across, columnHigh, columnLow, highAt, lowAt, resize.doubledColumns ? 1 : 0);
  high.set(new Float64Array(buffer, highAt, tiles));
  low.set(new Float64Array(buffer, lowAt, tiles));
  return magnitude;
}

/** Copies `taps` into the kernels' memory at the offsets of its index0, index1, weight0 and weight1 arrays. */
function putTaps(buffer: ArrayBuffer, taps: AxisTaps, [i0, i1, w0, w1]: readonly number[]): void {
  new Int32Array(buffer, i0, taps.index0.length).set(taps.index0);
  new Int32Array(buffer, i1, taps.index1.length).set(taps.index1);
  new Float32Array(buffer, w0, taps.weight0.length).set(taps.weight0);
  new Float32Array(buffer, w1, taps.weight1.length).set(taps.weight1);
}

/** A bilinear resize to the output size, as `resizePlane` runs it (the identity: a copy, as ATen makes). */
export interface PlaneResize {
  inHeight: number;
  inWidth: number;
  identity: boolean;
  /** Source rows some output row reads. */
  used: Uint8Array;
  columns: AxisTaps;
  /** The column taps are those of a doubling of the width, which the kernel then reads without them (`doublingTaps`). */
  doubledColumns: boolean;
  rows: AxisTaps;
}

/**
 * One plane of a stack: `data` from `offset`, read mirrored left-right with `mirror`; of the
 * output size, or of `resize`'s input size and resized first (mirrored as it is written).
 */
export interface PlaneView {
  data: Float32Array;
  offset: number;
  mirror: boolean;
  resize?: PlaneResize;
}

/**
 * The float32 average of `planes` (each `height` x `width`, or resized to it) into `out` from
 * `outOffset`: summed in order, `((p0 + p1) + p2) ...`, then divided by their count, as
 * `combineStages` averages its stages. A resized plane goes from its resize into the sum
 * without leaving the kernels' memory.
 */
export function averagePlanes(planes: readonly PlaneView[], height: number, width: number, out: Float32Array, outOffset: number): void {
  if (planes.length === 0) throw new RangeError('averagePlanes: no planes to average');
  const k = kernels();
  const n = height * width;
  // Room for the largest of the resizes.
  const resizeSizes = planes.reduce((most, { resize }) => (resize && !resize.identity ? resizeBlockSizes(resize).map((b, i) => Math.max(b, most[i])) : most), resizeBlockSizes(null));
  const [sum, src, ...blocks] = reserve(k, [n * 4, n * 4, ...resizeSizes]);
  const staged = new Float32Array(k.memory.buffer, src, n);
  planes.forEach(({ data, offset, mirror, resize }, i) => {
    // The first plane goes straight into the sum (resized, or copied when it is not mirrored).
    const first = i === 0;
    if (resize && !resize.identity) {
      runResize(k, blocks, data.subarray(offset), resize, first ? sum : src, mirror);
      if (!first) k.accumulatePlane(sum, src, height, width, 0, 0);
      return;
    }
    const plane = data.subarray(offset, offset + n);
    if (first && !mirror) {
      new Float32Array(k.memory.buffer, sum, n).set(plane);
      return;
    }
    staged.set(plane);
    k.accumulatePlane(sum, src, height, width, mirror ? 1 : 0, first ? 1 : 0);
  });
  k.dividePlane(sum, n, planes.length);
  out.set(new Float32Array(k.memory.buffer, sum, n), outOffset);
}

/**
 * The per-pixel loop of OpenCV's bilinear `warpAffine` on RGB bytes (`warpAffineBilinear` in
 * src/preprocess/affine.ts computes the fixed-point positions): `out` (`width` x `height` =
 * `columnX.length` x `rowX.length`) from the `sw` x `sh` image `src`, destination pixel (x, y)
 * reading the source at `rowX[y] + columnX[x]`, `rowY[y] + columnY[x]` (1/1024 pixels).
 */
export function warpAffineRgb(src: Uint8Array, sw: number, sh: number, rowX: Int32Array, rowY: Int32Array, columnX: Int32Array, columnY: Int32Array, out: Uint8Array): void {
  const k = kernels();
  const [width, height] = [columnX.length, rowX.length];
  const [srcAt, rowXAt, rowYAt, columnXAt, columnYAt, dstAt] = reserve(k, [sw * sh * 3 + 1, height * 4, height * 4, width * 4, width * 4, width * height * 3 + 1]);
  const { buffer } = k.memory;
  new Uint8Array(buffer, srcAt, sw * sh * 3).set(src.subarray(0, sw * sh * 3));
  new Int32Array(buffer, rowXAt, height).set(rowX);
  new Int32Array(buffer, rowYAt, height).set(rowY);
  new Int32Array(buffer, columnXAt, width).set(columnX);
  new Int32Array(buffer, columnYAt, width).set(columnY);
  k.warpAffine(srcAt, sw, sh, rowXAt, rowYAt, columnXAt, columnYAt, width, height, dstAt);
  out.set(new Uint8Array(buffer, dstAt, width * height * 3));
}

/**
 * The `w` x `h` RGB bytes `rgb` as float32 planes R, G, B into `out` (`tables`: per channel
 * the 256 normalised values, 768 in all): as they are from offset `at`, mirrored left-right
 * from offset `mirroredAt`, each skipped when negative.
 */
export function normalizeRgb(rgb: Uint8Array, w: number, h: number, tables: Float32Array, out: Float32Array, at: number, mirroredAt: number): void {
  const k = kernels();
  const size = 3 * w * h;
  const [rgbAt, tablesAt, plainAt, mirrorAt] = reserve(k, [size, tables.byteLength, size * 4, size * 4]);
  const { buffer } = k.memory;
  new Uint8Array(buffer, rgbAt, size).set(rgb.subarray(0, size));
  new Float32Array(buffer, tablesAt, tables.length).set(tables);
  k.normalizeImage(rgbAt, w, h, tablesAt, at >= 0 ? 1 : 0, plainAt, mirroredAt >= 0 ? 1 : 0, mirrorAt);
  if (at >= 0) out.set(new Float32Array(buffer, plainAt, size), at);
  if (mirroredAt >= 0) out.set(new Float32Array(buffer, mirrorAt, size), mirroredAt);
}

/** Source indices and weights of one output axis of a bilinear resize (see `Resizer`). */
export interface AxisTaps {
  index0: Int32Array;
  index1: Int32Array;
  weight0: Float32Array;
  weight1: Float32Array;
}

/**
 * Byte sizes of the kernels' memory blocks a plane resize uses: the source plane, its used
 * rows, the 8 taps arrays (columns, then rows) and the width pass's scratch (none: all empty).
 */
function resizeBlockSizes(resize: PlaneResize | null): number[] {
  const [inH, inW] = resize ? [resize.inHeight, resize.inWidth] : [0, 0];
  const [outH, outW] = resize ? [resize.rows.index0.length, resize.columns.index0.length] : [0, 0];
  return [inH * inW * 4, inH, ...Array<number>(4).fill(outW * 4), ...Array<number>(4).fill(outH * 4), inH * outW * 4];
}

/** Copies the plane at the start of `src`, the used rows and the taps into `blocks` (see `resizeBlockSizes`) and resizes it to `dst` (an address), mirrored with `mirror`. */
function runResize(k: Exports, blocks: readonly number[], src: Float32Array, resize: PlaneResize, dst: number, mirror: boolean): void {
  const [srcAt, usedAt, ci0, ci1, cw0, cw1, ri0, ri1, rw0, rw1, acrossAt] = blocks;
  const { inHeight: inH, inWidth: inW, columns, rows } = resize;
  const { buffer } = k.memory;
  new Float32Array(buffer, srcAt, inH * inW).set(src.subarray(0, inH * inW));
  new Uint8Array(buffer, usedAt, inH).set(resize.used);
  putTaps(buffer, columns, [ci0, ci1, cw0, cw1]);
  putTaps(buffer, rows, [ri0, ri1, rw0, rw1]);
  k.resizePlane(srcAt, inH, inW, rows.index0.length, columns.index0.length, usedAt, ci0, ci1, cw0, cw1, ri0, ri1, rw0, rw1, acrossAt, dst, mirror ? 1 : 0, resize.doubledColumns ? 1 : 0);
}

/**
 * The torch-exact bilinear resize of `Resizer.planes` (src/aggregate/resize.ts): the plane at
 * the start of `src` (of `resize`'s input size) to `dst`, mirrored left-right with `mirror`,
 * reading only the source rows `resize` uses.
 */
export function resizePlane(src: Float32Array, resize: PlaneResize, dst: Float32Array, mirror: boolean): void {
  const k = kernels();
  const outSize = resize.rows.index0.length * resize.columns.index0.length;
  const [dstAt, ...blocks] = reserve(k, [outSize * 4, ...resizeBlockSizes(resize)]);
  runResize(k, blocks, src, resize, dstAt, mirror);
  dst.set(new Float32Array(k.memory.buffer, dstAt, outSize));
}

/** A stack of planes: `channels` planes of `height` x `width` float32 values in `data`, C order. */
export interface PlaneStack {
  data: Float32Array;
  channels: number;
  height: number;
  width: number;
}

/** One bilinear resize of a `RegionResizer`: its taps, whether it is the identity (ATen copies then) or a doubling of the width (`PlaneResize`). */
export interface RegionResize {
  columns: AxisTaps;
  rows: AxisTaps;
  identity: boolean;
  doubledColumns: boolean;
}

/**
 * Rectangles of the torch-exact bilinear resize of `resizePlane`, of planes kept in the kernels'
 * memory: each plane is copied in when a rectangle of it is first asked for (and again after
 * another `RegionResizer` of the thread has taken the memory). Results go to one of `outputs`
 * buffers of `maxRows` x `maxColumns` values, read through views valid until the next call.
 */
export class RegionResizer {
  /** Offsets relative to the start of the resident space: per resize its 8 taps arrays, per stack its planes, then scratch and outputs. */
  private readonly taps: number[][];
  private readonly planes: number[];
  private readonly across: number;
  private readonly outputAt: number[];
  private readonly size: number;
  /** Per stack and channel (`firstChannel[stack] + channel`), whether the plane is in place. */
  private readonly firstChannel: number[];
  private readonly copied: Uint8Array;
  private base = 0;
  private views: Float32Array[] = [];

  constructor(
    private readonly stacks: readonly PlaneStack[],
    private readonly resizes: readonly RegionResize[],
    private readonly maxRows: number,
    private readonly maxColumns: number,
    outputs: number,
  ) {
    // The source rows a rectangle reads: at most those of its first and last output rows' span.
    const rowsRead = Math.max(1, ...resizes.map(({ rows }) => maxSpan(rows, maxRows)));
    const tapBytes = resizes.flatMap(({ columns, rows }) => [columns, rows].flatMap((t) => [t.index0, t.index1, t.weight0, t.weight1].map((a) => a.byteLength)));
    const planeBytes = stacks.map((s) => s.channels * s.height * s.width * 4);
    const { offsets, end } = layout(0, [...tapBytes, ...planeBytes, rowsRead * maxColumns * 4, ...Array<number>(outputs).fill(maxRows * maxColumns * 4)]);
    this.taps = resizes.map((_, r) => offsets.slice(8 * r, 8 * r + 8));
    this.planes = offsets.slice(tapBytes.length, tapBytes.length + stacks.length);
    this.across = offsets[tapBytes.length + stacks.length];
    this.outputAt = offsets.slice(tapBytes.length + stacks.length + 1);
    this.size = end;
    this.firstChannel = stacks.map((_, i) => stacks.slice(0, i).reduce((sum, s) => sum + s.channels, 0));
    this.copied = new Uint8Array(stacks.reduce((sum, s) => sum + s.channels, 0));
  }

  /**
   * Rows `[y0, y1)` and columns `[x0, x1)` of channel `channel` of `stacks[stack]` resized by
   * `resizes[resize]`, into output `output`: a view of `maxRows` x `maxColumns` values, the
   * rectangle's rows `maxColumns` apart.
   */
  region(stack: number, channel: number, resize: number, y0: number, y1: number, x0: number, x1: number, output: number): Float32Array {
    const k = kernels();
    if (resident?.owner !== this) this.takeMemory(k);
    const { data, height, width } = this.stacks[stack];
    const plane = height * width;
    const at = this.base + this.planes[stack] + channel * plane * 4;
    if (!this.copied[this.firstChannel[stack] + channel]) {
      new Float32Array(k.memory.buffer, at, plane).set(data.subarray(channel * plane, (channel + 1) * plane));
      this.copied[this.firstChannel[stack] + channel] = 1;
    }
    const view = this.output(k, output);
    if (this.resizes[resize].identity) {
      for (let y = y0; y < y1; y++) view.set(data.subarray(channel * plane + y * width + x0, channel * plane + y * width + x1), (y - y0) * this.maxColumns);
      return view;
    }
    const [ci0, ci1, cw0, cw1, ri0, ri1, rw0, rw1] = this.taps[resize];
    const b = this.base;
    k.resizeRegion(at, width, b + ci0, b + ci1, b + cw0, b + cw1, b + ri0, b + ri1, b + rw0, b + rw1, y0, y1, x0, x1, b + this.across, view.byteOffset, this.maxColumns, this.resizes[resize].doubledColumns ? 1 : 0);
    return view;
  }

  /**
   * Output `output`'s view, made again when the memory has grown (which detaches the old
   * buffer: its views read as empty; asking the memory for its buffer costs more).
   */
  private output(k: Exports, output: number): Float32Array {
    const view = this.views[output];
    if (view !== undefined && view.length > 0) return view;
    return (this.views[output] = new Float32Array(k.memory.buffer, this.base + this.outputAt[output], this.maxRows * this.maxColumns));
  }

  /** Makes the resident space this resizer's: its taps copied in, its planes marked absent. */
  private takeMemory(k: Exports): void {
    this.base = k.freeMemory();
    growTo(k, this.base + this.size);
    resident = { owner: this, end: this.base + this.size };
    this.views = [];
    this.copied.fill(0);
    const { buffer } = k.memory;
    this.resizes.forEach(({ columns, rows }, r) => {
      const at = this.taps[r].map((offset) => this.base + offset);
      putTaps(buffer, columns, at.slice(0, 4));
      putTaps(buffer, rows, at.slice(4));
    });
  }
}

/** The most source rows (or columns) any `count` consecutive outputs of `taps` read. */
function maxSpan(taps: AxisTaps, count: number): number {
  let most = 0;
  for (let i = 0; i < taps.index0.length; i++) {
    const last = Math.min(i + count, taps.index0.length) - 1;
    most = Math.max(most, taps.index1[last] - taps.index0[i] + 1);
  }
  return most;
}
