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
