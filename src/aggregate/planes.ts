/**
 * Channel-major float32 image stacks (`PlaneStack`: `[C, H, W]`, contiguous) used inside aggregation, and
 * their validated construction from the public `ndarray` tensors.
 */
import type { NdArray } from 'ndarray';
import { DecodeError } from './errors.js';
import { typeName } from '../values.js';
import type { PlaneStack } from '../kernels/index.js';

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

/**
 * Outputs are refused past this magnitude (~1.8e28): the aggregation sums up to a few dozen of
 * them in float32, which must not overflow. Trained networks output values of a few units.
 */
const MAGNITUDE_TEST_SCALE = 1e280;
const MAX_OUTPUT_MAGNITUDE = Number.MAX_VALUE / MAGNITUDE_TEST_SCALE;

/** Throws when `data` holds NaN, ±Infinity or a value beyond `MAX_OUTPUT_MAGNITUDE`, naming the first. */
export function assertFinite(data: Float32Array, what: string, shape: readonly number[]): void {
  const problem = valuesProblem(data, what, shape);
  if (problem !== undefined) throw new DecodeError(problem);
}

/** What `assertFinite` says of `data`: its first NaN, ±Infinity or value too large, named; undefined when none. */
export function valuesProblem(data: Float32Array, what: string, shape: readonly number[]): string | undefined {
  // v * SCALE * 0 is 0 for v within the limit and NaN otherwise (v * SCALE overflows the double):
  // four sums of those tell, faster than a test per value.
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let i = 0;
  for (; i + 4 <= data.length; i += 4) {
    s0 += data[i] * MAGNITUDE_TEST_SCALE * 0;
    s1 += data[i + 1] * MAGNITUDE_TEST_SCALE * 0;
    s2 += data[i + 2] * MAGNITUDE_TEST_SCALE * 0;
    s3 += data[i + 3] * MAGNITUDE_TEST_SCALE * 0;
  }
  for (; i < data.length; i++) s0 += data[i] * MAGNITUDE_TEST_SCALE * 0;
  if (s0 + s1 + s2 + s3 === 0) return undefined;
  for (i = 0; i < data.length; i++) {
    const v = data[i];
    if (Number.isFinite(v * MAGNITUDE_TEST_SCALE)) continue;
    const position: number[] = [];
    let rest = i;
    for (let d = shape.length - 1; d >= 0; d--) {
      position.unshift(rest % shape[d]);
      rest = Math.floor(rest / shape[d]);
    }
    const at = `(first at index [${position.join(', ')}])`;
    if (Number.isFinite(v)) return `${what} holds ${v} ${at}, too large to be averaged in float32 (the limit is ${MAX_OUTPUT_MAGNITUDE.toPrecision(2)})`;
    return `${what} contains ${Number.isNaN(v) ? 'NaN' : 'Infinity'} ${at}`;
  }
  return undefined;
}

/** Throws unless `t` is an ndarray (`shape` shows the one wanted in the error); `what` names it. */
export function assertNdarray(t: NdArray<Float32Array>, what: string, shape: string): void {
  if (!Array.isArray(t?.shape) || !Array.isArray(t.stride) || !Number.isInteger(t.offset)) {
    throw new DecodeError(`${what} must be an ndarray (ndarray(data, ${shape}))`);
  }
}

/** Throws unless the ndarray `t` holds a Float32Array that every index its shape and strides give lies in. */
export function assertFloat32Data(t: NdArray<Float32Array>, what: string): void {
  if (!(t.data instanceof Float32Array)) throw new DecodeError(`${what} must hold a Float32Array, got ${typeName(t.data)}`);
  // The first and last element its strides reach must lie in the data.
  const reach = t.shape.map((n, d) => (n - 1) * t.stride[d]);
  const [first, last] = [reach.reduce((at, r) => at + Math.min(r, 0), t.offset), reach.reduce((at, r) => at + Math.max(r, 0), t.offset)];
  if (first < 0 || last >= t.data.length) {
    throw new DecodeError(`${what} holds ${t.data.length} values, too few for its shape [${t.shape.join(', ')}] (offset ${t.offset}, strides [${t.stride.join(', ')}])`);
  }
}

/**
 * A validated network output `[1, C, H, W]` as planes (`what` names it in errors); its values
 * are checked to be finite unless `checkFinite` is false (`checkedCombine` then).
 */
export function planesFromOutput(t: NdArray<Float32Array>, what: string, checkFinite = true): PlaneStack {
  assertNdarray(t, what, '[1, C, H, W]');
  if (t.shape.length !== 4 || t.shape[0] !== 1) {
    throw new DecodeError(`${what} must have shape [1, C, H, W], got [${t.shape.join(', ')}]`);
  }
  const [, channels, height, width] = t.shape;
  if (channels < 1 || height < 1 || width < 1) throw new DecodeError(`${what} is empty: shape [${t.shape.join(', ')}]`);
  assertFloat32Data(t, what);
  const data = cOrderData(t);
  if (checkFinite) assertFinite(data, what, t.shape);
  return { data, channels, height, width };
}

/** Channels [from, to) as a view (torch `x[:, from:to]`). */
export function channelRange(p: PlaneStack, from: number, to: number): PlaneStack {
  const plane = p.height * p.width;
  return { data: p.data.subarray(from * plane, to * plane), channels: to - from, height: p.height, width: p.width };
}

/**
 * Every plane mirrored left-right (torch `flip(x, [3])`), then with `index` the channels
 * permuted: channel j of the result is channel index[j] (torch `x[:, index]`), into `out`.
 */
export function mirrorChannels(p: PlaneStack, index: readonly number[] | null, out: Float32Array = new Float32Array(p.data.length)): PlaneStack {
  const { width } = p;
  const plane = p.height * width;
  for (let j = 0; j < p.channels; j++) {
    const from = (index ? index[j] : j) * plane;
    const to = j * plane;
    for (let row = 0; row < plane; row += width) {
      for (let x = 0; x < width; x++) out[to + row + x] = p.data[from + row + width - 1 - x];
    }
  }
  return { ...p, data: out };
}
