/**
 * Kernels in WebAssembly (with 128-bit SIMD), for the loops JavaScript runs slowest: one
 * instance per thread, built on first use from the module embedded in `binary.ts` (compiled
 * from kernels/ by `npm run build:kernels`). Inputs are copied into the instance's memory and
 * results out; the memory grows to the largest call and is kept.
 */
import { KERNELS_WASM } from './binary.js';

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
  resizePlane(
    src: number, inH: number, inW: number, outH: number, outW: number, used: number,
    columnIndex0: number, columnIndex1: number, columnWeight0: number, columnWeight1: number,
    rowIndex0: number, rowIndex1: number, rowWeight0: number, rowWeight1: number,
    across: number, dst: number, mirror: number,
  ): void;
}

let instance: Exports | undefined;

function kernels(): Exports {
  instance ??= new wasm.Instance(new wasm.Module(Buffer.from(KERNELS_WASM, 'base64')), {
    env: { abort: () => { throw new Error('kernel aborted'); } },
  }).exports as unknown as Exports;
  return instance;
}

/** Lays out consecutive 16-byte-aligned blocks of the given byte sizes in the instance's memory (grown as needed); returns their offsets. */
function reserve(k: Exports, sizes: readonly number[]): number[] {
  let at = k.freeMemory();
  const offsets = sizes.map((bytes) => {
    const offset = at;
    at += (bytes + 15) & ~15;
    return offset;
  });
  const missing = at - k.memory.buffer.byteLength;
  if (missing > 0) k.memory.grow(Math.ceil(missing / 65536));
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
    h * w * 4, nr * 4, nr * 4, nc * 4, nc * 4, w * 4, w * 4, nr * nc * 8, nr * nc * 8,
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

/** Source indices and weights of one output axis of a bilinear resize (see `Resizer`). */
export interface AxisTaps {
  index0: Int32Array;
  index1: Int32Array;
  weight0: Float32Array;
  weight1: Float32Array;
}

/**
 * The torch-exact bilinear resize of `Resizer.plane` (src/aggregate/resize.ts): the `inH` x
 * `inW` plane `src` to `dst` (`outH` x `outW` = the taps' lengths), mirrored left-right with
 * `mirror`, reading only the source rows marked in `used`.
 */
export function resizePlane(src: Float32Array, inH: number, inW: number, used: Uint8Array, columns: AxisTaps, rows: AxisTaps, dst: Float32Array, mirror: boolean): void {
  const k = kernels();
  const [outH, outW] = [rows.index0.length, columns.index0.length];
  const [srcAt, usedAt, ci0, ci1, cw0, cw1, ri0, ri1, rw0, rw1, acrossAt, dstAt] = reserve(k, [
    inH * inW * 4, inH, ...Array<number>(4).fill(outW * 4), ...Array<number>(4).fill(outH * 4), inH * outW * 4, outH * outW * 4,
  ]);
  const { buffer } = k.memory;
  new Float32Array(buffer, srcAt, inH * inW).set(src.subarray(0, inH * inW));
  new Uint8Array(buffer, usedAt, inH).set(used);
  const put = (taps: AxisTaps, length: number, [i0, i1, w0, w1]: readonly number[]): void => {
    new Int32Array(buffer, i0, length).set(taps.index0);
    new Int32Array(buffer, i1, length).set(taps.index1);
    new Float32Array(buffer, w0, length).set(taps.weight0);
    new Float32Array(buffer, w1, length).set(taps.weight1);
  };
  put(columns, outW, [ci0, ci1, cw0, cw1]);
  put(rows, outH, [ri0, ri1, rw0, rw1]);
  k.resizePlane(srcAt, inH, inW, outH, outW, usedAt, ci0, ci1, cw0, cw1, ri0, ri1, rw0, rw1, acrossAt, dstAt, mirror ? 1 : 0);
  dst.set(new Float32Array(buffer, dstAt, outH * outW));
}
