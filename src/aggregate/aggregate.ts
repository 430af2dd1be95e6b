/**
 * Test-time aggregation of the network outputs, as the reference `tools/valid.py` runs it:
 * per scale `get_multi_stage_outputs` (stage outputs brought to the last stage's resolution,
 * heatmaps averaged, tag maps collected, the flipped pass mirrored back with the dataset flip
 * index, everything optionally resized to the image's base size), then `aggregate_results`
 * across scales (largest first) and the final division by the number of scales.
 *
 * The reference's sequence of whole-tensor operations is fused plane by plane (each resized
 * plane is combined while it is in cache, written once into the result), which changes no
 * value: every element goes through the same float32 operations in the same order.
 */
import ndarray from 'ndarray';
import type { NdArray } from 'ndarray';
import type { TestSettings } from '../config/experiment.js';
import type { KeypointDefinition } from '../datasets.js';
import type { OutputTensor } from '../types.js';
import { DecodeError } from './errors.js';
import { channelRange, mirrorChannels, planesFromOutput, type Planes } from './planes.js';
import { Resizer, resizeBilinear } from './resize.js';

const f32 = Math.fround;

/** The raw network outputs of one test scale. */
export interface ScaleOutputs {
  /** The test scale factor (one of `settings.scaleFactor`). */
  scale: number;
  /** Every network output `[1, C, H, W]` for the resized input, in network order. */
  outputs: OutputTensor[];
  /**
   * The outputs for the horizontally mirrored input, exactly as the network returns them (not
   * yet flipped back). Required when `settings.flipTest` is on, refused otherwise.
   */
  flipped?: OutputTensor[];
}

export interface AggregatedMaps {
  /** `[1, J, H, W]`: heatmaps averaged over stages, flip and scales. */
  heatmaps: NdArray<Float32Array>;
  /** `[1, T, H, W, K]` (T = J, or 1 without per-joint tags): the K tag maps kept, on the last axis. */
  tags: NdArray<Float32Array>;
}

/** Heatmaps and tag maps of one forward pass after combining its stage outputs. */
interface PassMaps {
  heatmaps: Planes;
  tags: Planes[];
}

/**
 * One pass of `get_multi_stage_outputs` at the last stage's resolution: every output but the
 * last is upsampled to it; heatmaps of the stages with `withHeatmaps` are summed in stage
 * order and divided by their count; tag maps of the stages with `withAe` are collected. For
 * the flipped pass (`flipIndex` given) each upsampled output is mirrored and its heatmaps (and
 * per-joint tags) permuted with the flip index, as in the reference; mirroring and permuting
 * only move values, so they are done by reading, in one copy.
 */
function combineStages(outputs: Planes[], settings: TestSettings, numJoints: number, flipIndex: readonly number[] | null): PassMaps {
  const { height, width } = outputs[outputs.length - 1];
  const plane = height * width;
  const sum = new Float32Array(numJoints * plane);
  let count = 0;
  const tags: Planes[] = [];
  for (let i = 0; i < outputs.length; i++) {
    const stage = i === outputs.length - 1 ? outputs[i] : resizeBilinear(outputs[i], height, width);
    if (settings.withHeatmaps[i]) {
      for (let j = 0; j < numJoints; j++) {
        addStagePlane(sum, j * plane, stage.data, (flipIndex ? flipIndex[j] : j) * plane, plane, width, flipIndex !== null, count === 0);
      }
      count += 1;
    }
    if (settings.withAe[i] && stage.channels > numJoints) {
      const tagMaps = channelRange(stage, numJoints, stage.channels);
      // Tags are permuted only when there is one tag map per joint (MODEL.TAG_PER_JOINT).
      tags.push(flipIndex ? mirrorChannels(tagMaps, tagMaps.channels === numJoints ? flipIndex : null) : tagMaps);
    }
  }
  if (count === 0) throw new DecodeError('settings.withHeatmaps selects no network output: nothing to average');
  for (let k = 0; k < sum.length; k++) sum[k] = f32(sum[k] / count);
  return { heatmaps: { data: sum, channels: numJoints, height, width }, tags };
}

/** `sum[to..] (+)= src[from..]` over one plane, the source read mirrored when `mirror`; `store` for the first stage. */
function addStagePlane(sum: Float32Array, to: number, src: Float32Array, from: number, plane: number, width: number, mirror: boolean, store: boolean): void {
  for (let row = 0; row < plane; row += width) {
    const o = to + row;
    const i = from + row;
    if (mirror && store) for (let x = 0; x < width; x++) sum[o + x] = src[i + width - 1 - x];
    else if (mirror) for (let x = 0; x < width; x++) sum[o + x] = f32(sum[o + x] + src[i + width - 1 - x]);
    else if (store) for (let x = 0; x < width; x++) sum[o + x] = src[i + x];
    else for (let x = 0; x < width; x++) sum[o + x] = f32(sum[o + x] + src[i + x]);
  }
}

/** Validates one pass's outputs against the settings and the keypoint definition. */
function passPlanes(outputs: OutputTensor[], settings: TestSettings, numJoints: number, label: string): Planes[] {
  const expected = settings.withHeatmaps.length;
  if (outputs.length !== expected || settings.withAe.length !== expected) {
    throw new DecodeError(
      `${label}: got ${outputs.length} network outputs but settings describe ${expected} (withHeatmaps) and ${settings.withAe.length} (withAe)`,
    );
  }
  return outputs.map((t, i) => {
    const p = planesFromOutput(t, `network output ${i} ${label}`);
    const extra = p.channels - numJoints;
    if (extra !== 0 && extra !== 1 && extra !== numJoints) {
      throw new DecodeError(
        `network output ${i} ${label} has ${p.channels} channels; with ${numJoints} joints it must have ${numJoints} (heatmaps), ` +
          `${numJoints + 1} or ${2 * numJoints} (heatmaps and tag maps)`,
      );
    }
    return p;
  });
}

function sameShapes(a: Planes[], b: Planes[]): boolean {
  return a.every((p, i) => p.channels === b[i].channels && p.height === b[i].height && p.width === b[i].width);
}

/** The passes of one test scale at the network's output resolution: plain, then flipped with flip test. */
function scaleMaps(s: ScaleOutputs, settings: TestSettings, def: KeypointDefinition): PassMaps[] {
  const numJoints = def.names.length;
  const plain = passPlanes(s.outputs, settings, numJoints, `at scale ${s.scale}`);
  const passes = [combineStages(plain, settings, numJoints, null)];
  if (settings.flipTest) {
    if (!s.flipped) throw new DecodeError(`settings.flipTest is on but scale ${s.scale} has no flipped outputs`);
    const flipped = passPlanes(s.flipped, settings, numJoints, `at scale ${s.scale} (flipped)`);
    if (!sameShapes(plain, flipped)) throw new DecodeError(`flipped outputs at scale ${s.scale} differ in shape from the plain ones`);
    passes.push(combineStages(flipped, settings, numJoints, def.flipIndex));
  } else if (s.flipped) {
    throw new DecodeError(`scale ${s.scale} has flipped outputs but settings.flipTest is off`);
  }
  return passes;
}

/** Resizers by size, built on first use (each holds its taps and a scratch row buffer). */
class Resizers {
  private readonly cache = new Map<string, Resizer>();

  /** Resizes `p`'s plane `c` to `height` x `width` into `dst` at `dstOffset`. */
  plane(p: Planes, c: number, height: number, width: number, dst: Float32Array, dstOffset = 0): void {
    const key = `${p.height}x${p.width}>${height}x${width}`;
    let resizer = this.cache.get(key);
    if (!resizer) {
      resizer = new Resizer(p.height, p.width, height, width);
      this.cache.set(key, resizer);
    }
    resizer.plane(p.data, c * p.height * p.width, dst, dstOffset);
  }
}

function checkCall(perScale: readonly ScaleOutputs[], settings: TestSettings, def: KeypointDefinition, baseSize: readonly [number, number]): void {
  if (def.flipIndex.length !== def.names.length) {
    throw new DecodeError(`keypoint definition has ${def.names.length} names but a flip index of ${def.flipIndex.length}`);
  }
  const given = perScale.map((s) => s.scale).sort((a, b) => a - b);
  const wanted = [...settings.scaleFactor].sort((a, b) => a - b);
  if (given.length !== wanted.length || given.some((s, i) => s !== wanted[i])) {
    throw new DecodeError(`outputs are given for scales [${given.join(', ')}] but settings.scaleFactor is [${wanted.join(', ')}]`);
  }
  if (settings.project2image && !baseSize.every((v) => Number.isInteger(v) && v > 0)) {
    throw new DecodeError(`base size must be two positive integers [w, h], got [${baseSize.join(', ')}]`);
  }
}

/**
 * Aggregates the network outputs of every test scale into final heatmaps and tag maps
 * (reference `get_multi_stage_outputs` + `aggregate_results` + the division in `valid.py`).
 * Scales are processed largest first whatever the order given. Tag maps are kept from scale 1
 * only when several scales are tested (from the single scale otherwise), as the reference does;
 * without PROJECT2IMAGE they are resized to the first (largest) scale's heatmap size.
 * `baseSize` `[w, h]` is the input size at scale 1 (`get_multi_scale_size`).
 */
export function aggregate(
  perScale: readonly ScaleOutputs[],
  settings: TestSettings,
  def: KeypointDefinition,
  baseSize: readonly [number, number],
): AggregatedMaps {
  checkCall(perScale, settings, def, baseSize);
  const ordered = [...perScale].sort((a, b) => b.scale - a.scale);
  const numJoints = def.names.length;
  const resizers = new Resizers();
  // The result's size: the base size with PROJECT2IMAGE, else the first (largest) scale's.
  let height = 0;
  let width = 0;
  let final: Float32Array | null = null;
  const kept: Planes[] = [];
  for (const s of ordered) {
    const passes = scaleMaps(s, settings, def);
    const first = final === null;
    if (final === null) {
      [height, width] = settings.project2image ? [baseSize[1], baseSize[0]] : [passes[0].heatmaps.height, passes[0].heatmaps.width];
      final = new Float32Array(numJoints * height * width);
    }
    if (s.scale === 1 || ordered.length === 1) kept.push(...passes.flatMap((p) => p.tags));
    accumulateHeatmaps(final, first, passes, settings.project2image, height, width, resizers);
  }
  if (final === null) throw new DecodeError('no network outputs given');
  if (kept.length === 0) {
    throw new DecodeError(
      'no tag maps to group with: the reference keeps tags only from scale 1 when several scales are tested, ' +
        'and only from outputs selected by settings.withAe that carry tag channels',
    );
  }
  if (ordered.length > 1) for (let k = 0; k < final.length; k++) final[k] = f32(final[k] / ordered.length);
  return { heatmaps: ndarray(final, [1, numJoints, height, width]), tags: stackTags(kept, height, width, resizers) };
}

/**
 * Adds one scale's heatmaps into `final` (`height` x `width`), plane by plane: each pass's
 * plane resized with PROJECT2IMAGE, the passes averaged (`(plain + flipped) / 2`), that
 * average resized to the result's size without PROJECT2IMAGE, then stored (first scale) or
 * added.
 */
function accumulateHeatmaps(final: Float32Array, first: boolean, passes: PassMaps[], project2image: boolean, height: number, width: number, resizers: Resizers): void {
  const plane = height * width;
  const [plain, flipped] = passes.map((p) => p.heatmaps);
  const passPlane = plain.height * plain.width;
  const projected = project2image ? [new Float32Array(plane), new Float32Array(plane)] : null;
  const average = new Float32Array(project2image ? plane : passPlane);
  const resized = project2image || (plain.height === height && plain.width === width) ? null : new Float32Array(plane);
  for (let j = 0; j < plain.channels; j++) {
    let avg: Float32Array;
    if (projected) {
      resizers.plane(plain, j, height, width, projected[0]);
      if (flipped) resizers.plane(flipped, j, height, width, projected[1]);
      avg = flipped ? averageInto(average, projected[0], 0, projected[1], 0) : projected[0];
    } else {
      avg = flipped
        ? averageInto(average, plain.data, j * passPlane, flipped.data, j * passPlane)
        : plain.data.subarray(j * passPlane, (j + 1) * passPlane);
    }
    if (resized) {
      resizers.plane({ data: avg, channels: 1, height: plain.height, width: plain.width }, 0, height, width, resized);
      avg = resized;
    }
    if (first) final.set(avg, j * plane);
    else addInto(final, j * plane, avg);
  }
}

/** `out = (a + b) / 2` in float32 over `out.length` values from the given offsets; returns `out`. */
function averageInto(out: Float32Array, a: Float32Array, aFrom: number, b: Float32Array, bFrom: number): Float32Array {
  for (let k = 0; k < out.length; k++) out[k] = f32(f32(a[aFrom + k] + b[bFrom + k]) / 2);
  return out;
}

/** `dst[to..] += src` in float32. */
function addInto(dst: Float32Array, to: number, src: Float32Array): void {
  for (let k = 0; k < src.length; k++) dst[to + k] = f32(dst[to + k] + src[k]);
}

/**
 * The kept tag maps resized to the result's size and stacked on a new last axis: `[1, T, H, W, K]`,
 * as the reference `torch.cat([t.unsqueeze(4) for t in tags], dim=4)`.
 */
function stackTags(kept: Planes[], height: number, width: number, resizers: Resizers): NdArray<Float32Array> {
  const plane = height * width;
  const channels = kept[0].channels;
  const k = kept.length;
  const out = new Float32Array(channels * plane * k);
  const scratch = new Float32Array(plane);
  for (let m = 0; m < k; m++) {
    for (let c = 0; c < channels; c++) {
      resizers.plane(kept[m], c, height, width, scratch);
      interleave(out, c * plane * k + m, k, scratch);
    }
  }
  return ndarray(out, [1, channels, height, width, k]);
}

/** `dst[from + i * stride] = src[i]`. */
function interleave(dst: Float32Array, from: number, stride: number, src: Float32Array): void {
  for (let i = 0, o = from; i < src.length; i++, o += stride) dst[o] = src[i];
}
