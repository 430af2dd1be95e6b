/**
 * Channel-major float32 image stacks (`[C, H, W]`, contiguous) used inside aggregation, and the
 * conversions between them and the public `ndarray` tensors. All arithmetic here is float32,
 * one rounding per operation, as torch performs it on float32 tensors.
 */
import ndarray from 'ndarray';
import type { NdArray } from 'ndarray';
import { DecodeError } from './errors.js';

export interface Planes {
  data: Float32Array;
  channels: number;
  height: number;
  width: number;
}

/** Whether an ndarray is laid out as plain C order starting at offset 0. */
function isCOrder(t: NdArray<Float32Array>): boolean {
  if (t.offset !== 0) return false;
  let expected = 1;
  for (let d = t.shape.length - 1; d >= 0; d--) {
    if (t.shape[d] !== 1 && t.stride[d] !== expected) return false;
    expected *= t.shape[d];
  }
  return t.data.length >= expected;
}

/** The values of an ndarray in C order: a view when it already is, else a copy. */
export function cOrderData(t: NdArray<Float32Array>): Float32Array {
  const size = t.shape.reduce((a, b) => a * b, 1);
  if (isCOrder(t)) return t.data.subarray(0, size);
  const out = new Float32Array(size);
  const dims = t.shape.length;
  const index = new Array<number>(dims).fill(0);
  for (let i = 0; i < size; i++) {
    let at = t.offset;
    for (let d = 0; d < dims; d++) at += index[d] * t.stride[d];
    out[i] = t.data[at];
    for (let d = dims - 1; d >= 0; d--) {
      if (++index[d] < t.shape[d]) break;
      index[d] = 0;
    }
  }
  return out;
}

/** Throws when `data` holds NaN or ±Infinity, naming the first offending element. */
export function assertFinite(data: Float32Array, what: string, shape: readonly number[]): void {
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (Number.isFinite(v)) continue;
    const position: number[] = [];
    let rest = i;
    for (let d = shape.length - 1; d >= 0; d--) {
      position.unshift(rest % shape[d]);
      rest = Math.floor(rest / shape[d]);
    }
    throw new DecodeError(`${what} contains ${Number.isNaN(v) ? 'NaN' : 'Infinity'} (first at index [${position.join(', ')}])`);
  }
}

/** A validated network output `[1, C, H, W]` as planes (`what` names it in errors). */
export function planesFromOutput(t: NdArray<Float32Array>, what: string): Planes {
  if (t.shape.length !== 4 || t.shape[0] !== 1) {
    throw new DecodeError(`${what} must have shape [1, C, H, W], got [${t.shape.join(', ')}]`);
  }
  const [, channels, height, width] = t.shape;
  if (channels < 1 || height < 1 || width < 1) throw new DecodeError(`${what} is empty: shape [${t.shape.join(', ')}]`);
  const data = cOrderData(t);
  assertFinite(data, what, t.shape);
  return { data, channels, height, width };
}

/** Channels [from, to) as a view (torch `x[:, from:to]`). */
export function channelRange(p: Planes, from: number, to: number): Planes {
  const plane = p.height * p.width;
  return { data: p.data.subarray(from * plane, to * plane), channels: to - from, height: p.height, width: p.width };
}

/** Channel j of the result is channel index[j] of the input (torch `x[:, index]`). */
export function permuteChannels(p: Planes, index: readonly number[]): Planes {
  const plane = p.height * p.width;
  const out = new Float32Array(index.length * plane);
  index.forEach((src, j) => out.set(p.data.subarray(src * plane, (src + 1) * plane), j * plane));
  return { data: out, channels: index.length, height: p.height, width: p.width };
}

/** Mirrors every plane left-right (torch `flip(x, [3])`). */
export function flipWidth(p: Planes): Planes {
  const { width } = p;
  const out = new Float32Array(p.data.length);
  for (let row = 0; row < p.data.length; row += width) {
    for (let x = 0; x < width; x++) out[row + x] = p.data[row + width - 1 - x];
  }
  return { ...p, data: out };
}

/** Element-wise float32 sum of equally shaped planes. */
export function addPlanes(a: Planes, b: Planes): Planes {
  const out = new Float32Array(a.data.length);
  for (let i = 0; i < out.length; i++) out[i] = a.data[i] + b.data[i];
  return { ...a, data: out };
}

/** Element-wise float32 division by a scalar (torch `x / n`). */
export function dividePlanes(p: Planes, divisor: number): Planes {
  const out = new Float32Array(p.data.length);
  for (let i = 0; i < out.length; i++) out[i] = p.data[i] / divisor;
  return { ...p, data: out };
}

/** `[1, C, H, W]` ndarray over the planes' data. */
export function planesToNdArray(p: Planes): NdArray<Float32Array> {
  return ndarray(p.data, [1, p.channels, p.height, p.width]);
}

/**
 * Stacks K equally shaped planes on a new last axis: `[1, C, H, W, K]`, as the reference
 * `torch.cat([t.unsqueeze(4) for t in tags], dim=4)`.
 */
export function stackLastAxis(list: readonly Planes[]): NdArray<Float32Array> {
  const [first] = list;
  const k = list.length;
  const out = new Float32Array(first.data.length * k);
  list.forEach((p, j) => {
    for (let i = 0; i < p.data.length; i++) out[i * k + j] = p.data[i];
  });
  return ndarray(out, [1, first.channels, first.height, first.width, k]);
}
