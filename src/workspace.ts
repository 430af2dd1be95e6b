/**
 * Buffers reused from one image to the next. The post-processing of one image fills tens of
 * megabytes of intermediate maps; taking them fresh each time costs a page fault per 4 KiB
 * touched, which on virtual machines is the larger part of the time (about 3 ms per MB on the
 * bench machine, against 0.04 ms per MB to rewrite memory already mapped). A workspace keeps
 * each buffer under a key and hands out the same memory again when it is large enough (and not
 * many times too large: see `OVERSIZE`).
 *
 * What a workspace hands out is valid until the next request under the same key: one image at
 * a time per workspace. `imageDone()` after each image gives back the buffers no recent image
 * asked for (those of a panorama's flip passes, say). Contents are not cleared: callers write
 * before they read. A `shared` workspace hands out SharedArrayBuffer memory, which worker
 * threads can read without a copy.
 */
import { isFlag, optionsProblem, shownValue } from './values.js';

type TypedArrayConstructor<T> = { new (length: number): T; new (buffer: SharedArrayBuffer): T; readonly BYTES_PER_ELEMENT: number };
type Sliceable<T> = T & { readonly length: number; subarray(begin: number, end: number): T };

/** Objects a workspace keeps at most: one image needs a few (a resizer per stage size and scale). */
const KEPT_OBJECTS = 32;

/**
 * A kept buffer more than this many times the length asked for is replaced by one of that
 * length: one panorama (an 8192x256 network input left 650 MB of maps) would otherwise stay with
 * the workspace for good. Photos' network inputs differ by their aspect ratios, well under it.
 */
export const OVERSIZE = 4;

/**
 * Images after which a buffer no request asked for is given back. Two, not one: an image that
 * failed or was aborted half-way leaves the buffers of its later stages unasked.
 */
const IDLE_IMAGES = 2;

/** A kept buffer and the number of the last image that asked for it. */
interface Kept {
  array: unknown;
  image: number;
}

const WORKSPACE_OPTION_NAMES = { shared: true } as const;

export class Workspace {
  private readonly arrays = new Map<string, Kept>();
  private readonly objects = new Map<string, unknown>();
  /** Images done (`imageDone`). */
  private images = 0;

  constructor(readonly options: { shared?: boolean | undefined } = {}) {
    // new Workspace('x') or { shared: 'yes' } would hand out memory of the other kind without a word.
    const problem = optionsProblem(options, WORKSPACE_OPTION_NAMES);
    if (problem) throw new TypeError(`Workspace: ${problem}`);
    if (options.shared !== undefined && !isFlag(options.shared)) throw new TypeError(`Workspace: shared must be true or false, got ${shownValue(options.shared)}`);
  }

  /** `shared: false` for memory handed to native code that refuses SharedArrayBuffers (ONNX Runtime's inputs). */
  float32(key: string, length: number, shared = this.options.shared ?? false): Float32Array {
    return this.take(key, length, Float32Array, shared);
  }

  float64(key: string, length: number): Float64Array {
    return this.take(key, length, Float64Array, this.options.shared ?? false);
  }

  /** `shared: true` for memory threads work on together whatever the workspace (a joint queue). */
  int32(key: string, length: number, shared = this.options.shared ?? false): Int32Array {
    return this.take(key, length, Int32Array, shared);
  }

  uint8(key: string, length: number): Uint8Array {
    return this.take(key, length, Uint8Array, this.options.shared ?? false);
  }

  /**
   * The object kept under `key`, made by `make` on first request. The least recently asked for
   * are dropped past `KEPT_OBJECTS`, so that images of ever new sizes (a resizer per size pair)
   * do not grow the workspace without bound.
   */
  keep<T>(key: string, make: () => T): T {
    const value = this.objects.has(key) ? this.objects.get(key) : make();
    // Map order is insertion order: re-inserting makes the key the most recent.
    this.objects.delete(key);
    this.objects.set(key, value);
    if (this.objects.size > KEPT_OBJECTS) this.objects.delete(this.objects.keys().next().value!);
    return value as T;
  }

  /** Bytes of the buffers kept. */
  get bytesHeld(): number {
    let bytes = 0;
    for (const { array } of this.arrays.values()) bytes += (array as ArrayBufferView).byteLength;
    return bytes;
  }

  /**
   * Ends an image: the buffers that neither it nor the one before asked for are given back (the
   * flip passes of a panorama run as two, say, which photos' inputs run as one batch).
   */
  imageDone(): void {
    this.images++;
    for (const [key, kept] of this.arrays) if (this.images - kept.image > IDLE_IMAGES) this.arrays.delete(key);
  }

  private take<T>(key: string, length: number, type: TypedArrayConstructor<Sliceable<T>>, shared: boolean): T {
    const kept = this.arrays.get(key);
    const array = kept?.array;
    const fits = array instanceof type && fitting((array as Sliceable<T>).length, length) && (array as Sliceable<T> & { buffer: ArrayBufferLike }).buffer instanceof SharedArrayBuffer === shared;
    if (fits) {
      kept!.image = this.images;
      return (array as Sliceable<T>).subarray(0, length);
    }
    const fresh = shared ? new type(new SharedArrayBuffer(length * type.BYTES_PER_ELEMENT)) : new type(length);
    this.arrays.set(key, { array: fresh, image: this.images });
    return fresh;
  }
}

/** Whether a kept buffer of `kept` elements serves a request for `length`: large enough, and not `OVERSIZE` times too large. */
function fitting(kept: number, length: number): boolean {
  return kept >= length && kept <= OVERSIZE * length;
}
