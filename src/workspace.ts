/**
 * Buffers reused from one image to the next. The post-processing of one image fills tens of
 * megabytes of intermediate maps; taking them fresh each time costs a page fault per 4 KiB
 * touched, which on virtual machines is the larger part of the time (about 3 ms per MB on the
 * bench machine, against 0.04 ms per MB to rewrite memory already mapped). A workspace keeps
 * each buffer under a key and hands out the same memory again when it is large enough.
 *
 * What a workspace hands out is valid until the next request under the same key: one image at
 * a time per workspace. Contents are not cleared: callers write before they read.
 */
type TypedArrayConstructor<T> = { new (length: number): T; readonly BYTES_PER_ELEMENT: number };
type Sliceable<T> = T & { readonly length: number; subarray(begin: number, end: number): T };

export class Workspace {
  private readonly arrays = new Map<string, unknown>();
  private readonly objects = new Map<string, unknown>();

  float32(key: string, length: number): Float32Array {
    return this.take(key, length, Float32Array);
  }

  float64(key: string, length: number): Float64Array {
    return this.take(key, length, Float64Array);
  }

  int32(key: string, length: number): Int32Array {
    return this.take(key, length, Int32Array);
  }

  uint8(key: string, length: number): Uint8Array {
    return this.take(key, length, Uint8Array);
  }

  /** The object kept under `key`, made by `make` on first request. */
  keep<T>(key: string, make: () => T): T {
    if (!this.objects.has(key)) this.objects.set(key, make());
    return this.objects.get(key) as T;
  }

  private take<T>(key: string, length: number, type: TypedArrayConstructor<Sliceable<T>>): T {
    const kept = this.arrays.get(key);
    if (kept instanceof type && (kept as Sliceable<T>).length >= length) return (kept as Sliceable<T>).subarray(0, length);
    const fresh = new type(length);
    this.arrays.set(key, fresh);
    return fresh;
  }
}
