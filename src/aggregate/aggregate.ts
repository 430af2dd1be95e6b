/**
 * Test-time aggregation of the network outputs, as the reference `tools/valid.py` runs it:
 * per scale `get_multi_stage_outputs` (stage outputs brought to the last stage's resolution,
 * heatmaps averaged, tag maps collected, the flipped pass mirrored back with the dataset flip
 * index, everything optionally resized to the image's base size), then `aggregate_results`
 * across scales (largest first) and the final division by the number of scales.
 *
 * The work at the network's resolution is done here in full; the final resize to the result's
 * size, and the combination of passes and scales there, is left to `OnDemandMaps`, which
 * computes it tile by tile as grouping reads it. Neither changes a value: every element goes
 * through the reference's float32 operations in the reference's order.
 */
import ndarray from 'ndarray';
import type { NdArray } from 'ndarray';
import type { TestSettings } from '../config/experiment.js';
import { isPositiveInt, shownValue } from '../values.js';
import type { KeypointDefinition } from '../datasets.js';
import type { OutputTensor } from '../types.js';
import { assertTestSettings, DecodeError } from './errors.js';
import { channelRange, mirrorChannels, planesFromOutput, valuesProblem } from './planes.js';
import { keptResizer, type Resizer } from './resize.js';
import { averagePlanes, type PlaneStack } from '../kernels/index.js';
import { OnDemandMaps } from './on-demand.js';
import { Workspace } from '../workspace.js';

/** The raw network outputs of one test scale. */
export interface ScaleOutputs {
  /** The test scale factor (one of `settings.scaleFactor`). */
  scale: number;
  /**
   * Every network output for the resized input, in network order: float32 ndarrays `[1, C, H, W]`
   * (views with any strides), C being the J heatmaps, then J tag maps (MODEL.TAG_PER_JOINT), one
   * shared tag map, or none. One image per call: items of a batch are given apart.
   */
  outputs: readonly OutputTensor[];
  /**
   * The outputs for the horizontally mirrored input, exactly as the network returns them (not
   * yet flipped back). Required when `settings.flipTest` is on, refused otherwise; `undefined`
   * is taken as none (`flipTest ? outputs : undefined` under `exactOptionalPropertyTypes`).
   */
  flipped?: readonly OutputTensor[] | undefined;
}

export interface AggregatedMaps {
  /** `[1, J, H, W]`: heatmaps averaged over stages, flip and scales. */
  heatmaps: NdArray<Float32Array>;
  /** `[1, T, H, W, K]` (T = J, or 1 without per-joint tags): the K tag maps kept, on the last axis. */
  tags: NdArray<Float32Array>;
}

/** Heatmaps and tag maps of one forward pass after combining its stage outputs. */
export interface PassMaps {
  heatmaps: PlaneStack;
  tags: PlaneStack[];
}

/**
 * One pass of `get_multi_stage_outputs` at the last stage's resolution: every output but the
 * last is upsampled to it; heatmaps of the stages with `withHeatmaps` are summed in stage
 * order and divided by their count; tag maps of the stages with `withAe` are collected. For
 * the flipped pass (`flipIndex` given) each upsampled output is mirrored and its heatmaps (and
 * per-joint tags) permuted with the flip index, as in the reference; mirroring and permuting
 * only move values, so they are done as the resize writes them (for the last output, which is
 * not resized, by reading it). Buffers come from `workspace` under keys starting with `key`.
 */
export function combineStages(outputs: PlaneStack[], settings: TestSettings, numJoints: number, flipIndex: readonly number[] | null, workspace: Workspace, key: string): PassMaps {
  const { height, width } = outputs[outputs.length - 1];
  const plane = height * width;
  // Per stage with heatmaps, where each joint's plane is read: the flipped pass's with the flip
  // index, mirrored (as the resize writes it, for the upsampled outputs).
  const heatmapStages: { data: Float32Array; resize?: Resizer }[] = [];
  const tags: PlaneStack[] = [];
  for (let i = 0; i < outputs.length; i++) {
    const output = outputs[i];
    const resizer = i < outputs.length - 1 ? keptResizer(workspace, output, height, width) : undefined;
    if (settings.withHeatmaps[i]) heatmapStages.push({ data: output.data, resize: resizer });
    if (settings.withAe[i] && output.channels > numJoints) {
      const tagMaps = channelRange(output, numJoints, output.channels);
      // Tags are permuted only when there is one tag map per joint (MODEL.TAG_PER_JOINT).
      const index = flipIndex && tagMaps.channels === numJoints ? flipIndex : null;
      const out = workspace.float32(`${key}:tags${i}`, tagMaps.channels * plane);
      if (resizer) tags.push(resizer.planes(tagMaps, out, flipIndex ? Array.from({ length: tagMaps.channels }, (_, c) => (index ? index[c] : c)) : undefined));
      else tags.push(flipIndex ? mirrorChannels(tagMaps, index, out) : tagMaps);
    }
  }
  if (heatmapStages.length === 0) throw new DecodeError('settings.withHeatmaps selects no network output: nothing to average');
  const sum = workspace.float32(`${key}:heatmaps`, numJoints * plane);
  for (let j = 0; j < numJoints; j++) {
    const from = flipIndex ? flipIndex[j] : j;
    const views = heatmapStages.map(({ data, resize }) => ({ data, offset: from * (resize ? resize.inHeight * resize.inWidth : plane), mirror: flipIndex !== null, resize }));
    averagePlanes(views, height, width, sum, j * plane);
  }
  return { heatmaps: { data: sum, channels: numJoints, height, width }, tags };
}

/** A pass in errors. */
function passLabel(scale: number, flipped: boolean): string {
  return `at scale ${scale}${flipped ? ' (flipped)' : ''}`;
}

/** Output `index` of a pass in errors. */
function outputName(index: number, scale: number, flipped: boolean): string {
  return `network output ${index} ${passLabel(scale, flipped)}`;
}

/** Validates one pass's outputs against the settings and the keypoint definition (their values too with `checkFinite`). */
function passPlanes(outputs: readonly OutputTensor[], settings: TestSettings, numJoints: number, scale: number, flipped: boolean, checkFinite: boolean): PlaneStack[] {
  const label = passLabel(scale, flipped);
  const expected = settings.withHeatmaps.length;
  if (outputs.length !== expected || settings.withAe.length !== expected) {
    throw new DecodeError(
      `${label}: got ${outputs.length} network outputs but settings describe ${expected} (withHeatmaps) and ${settings.withAe.length} (withAe)`,
    );
  }
  const planes = outputs.map((t, i) => {
    const p = planesFromOutput(t, outputName(i, scale, flipped), checkFinite);
    const extra = p.channels - numJoints;
    if (extra !== 0 && extra !== 1 && extra !== numJoints) {
      throw new DecodeError(
        `network output ${i} ${label} has ${p.channels} channels; with ${numJoints} joints it must have ${numJoints} (heatmaps), ` +
          `${numJoints + 1} or ${2 * numJoints} (heatmaps and tag maps)`,
      );
    }
    return p;
  });
  // The tag maps kept are stacked (the reference's torch.cat): all per joint, or all one shared map.
  const tagged = planes.flatMap((p, i) => (settings.withAe[i] && p.channels > numJoints ? [i] : []));
  const other = tagged.find((i) => planes[i].channels !== planes[tagged[0]].channels);
  if (other !== undefined) {
    const [a, b] = [tagged[0], other].map((i) => planes[i].channels - numJoints);
    throw new DecodeError(
      `network outputs ${tagged[0]} and ${other} ${label} carry ${a} and ${b} tag maps; the tag maps settings.withAe keeps must be alike: ` +
        `one per joint, or one shared (MODEL.TAG_PER_JOINT)`,
    );
  }
  return planes;
}

function sameShapes(a: PlaneStack[], b: PlaneStack[]): boolean {
  return a.every((p, i) => p.channels === b[i].channels && p.height === b[i].height && p.width === b[i].width);
}

/** One test scale's validated outputs: the plain pass's, and the flipped pass's with flip test. */
export interface ScalePlanes {
  scale: number;
  plain: PlaneStack[];
  flipped: PlaneStack[] | null;
}

/** Validates one test scale's outputs against the settings, the keypoints and each other. */
function scalePlanes(s: ScaleOutputs, settings: TestSettings, def: KeypointDefinition, checkFinite: boolean): ScalePlanes {
  if (!Array.isArray(s.outputs)) throw new DecodeError(`scale ${s.scale}: outputs must be an array of network outputs, got ${typeof s.outputs}`);
  const numJoints = def.names.length;
  const plain = passPlanes(s.outputs, settings, numJoints, s.scale, false, checkFinite);
  if (!settings.flipTest) {
    if (s.flipped) throw new DecodeError(`scale ${s.scale} has flipped outputs but settings.flipTest is off`);
    return { scale: s.scale, plain, flipped: null };
  }
  if (!s.flipped) throw new DecodeError(`settings.flipTest is on but scale ${s.scale} has no flipped outputs`);
  if (!Array.isArray(s.flipped)) throw new DecodeError(`scale ${s.scale}: flipped must be an array of network outputs, got ${typeof s.flipped}`);
  const flipped = passPlanes(s.flipped, settings, numJoints, s.scale, true, checkFinite);
  if (!sameShapes(plain, flipped)) throw new DecodeError(`flipped outputs at scale ${s.scale} differ in shape from the plain ones`);
  return { scale: s.scale, plain, flipped };
}

/** The workspace key prefix of a pass's combined maps. */
export function passKey(scale: number, flipped: boolean): string {
  return `scale${scale}:${flipped ? 'flipped' : 'plain'}`;
}

/**
 * Validates the outputs of every test scale (see `aggregateOnDemand`) and returns them largest
 * scale first, as the aggregation takes them. With `checkFinite: false` their values are left
 * to `checkedCombine`.
 */
export function validatedScales(
  perScale: readonly ScaleOutputs[],
  settings: TestSettings,
  def: KeypointDefinition,
  baseSize: readonly [number, number],
  { checkFinite = true } = {},
): ScalePlanes[] {
  checkCall(perScale, settings, def, baseSize);
  if (perScale.length === 0) throw new DecodeError('no network outputs given');
  const scales = [...perScale].sort((a, b) => b.scale - a.scale).map((s) => scalePlanes(s, settings, def, checkFinite));
  // The base size is the network input at scale 1: at most 4 times the first output of the largest scale (1 or more).
  const [{ width, height }] = scales[0].plain;
  if (settings.project2image && (baseSize[0] > 4 * width || baseSize[1] > 4 * height)) {
    throw new DecodeError(`base size [${baseSize.join(', ')}] is larger than the network input at scale 1 can be (4 times the first output of scale ${scales[0].scale}, [${4 * width}, ${4 * height}])`);
  }
  return scales;
}

/** One pass of a test scale to combine: its validated outputs, and the `workspace` keys of its maps (`passKey`). */
export interface PassToCombine {
  outputs: PlaneStack[];
  scale: number;
  key: string;
}

/** `checkedCombine`'s passes, and where it stopped: at pass `pass`, whose values `message` tells the problem of. */
export interface CheckedPasses {
  passes: PassMaps[];
  problem?: { pass: number; message: string };
}

/**
 * `combineStages` of `passes` (flipped ones with `flipIndex`), each once its outputs' values are
 * checked as `validatedScales` checks them: at the first NaN, Infinity or value too large it
 * stops, with the problem. The threads that combine the passes of an image check them so, each
 * its own, and the first problem in `validatedScales`' order is the error.
 */
export function checkedCombine(passes: readonly PassToCombine[], settings: TestSettings, numJoints: number, flipIndex: readonly number[] | null, workspace: Workspace): CheckedPasses {
  const combined: PassMaps[] = [];
  for (const [pass, { outputs, scale, key }] of passes.entries()) {
    for (const [i, p] of outputs.entries()) {
      const message = valuesProblem(p.data, outputName(i, scale, flipIndex !== null), [1, p.channels, p.height, p.width]);
      if (message !== undefined) return { passes: combined, problem: { pass, message } };
    }
    combined.push(combineStages(outputs, settings, numJoints, flipIndex, workspace, key));
  }
  return { passes: combined };
}

function checkCall(perScale: readonly ScaleOutputs[], settings: TestSettings, def: KeypointDefinition, baseSize: readonly [number, number]): void {
  if (!(Array.isArray(perScale) && perScale.every((s) => typeof s === 'object' && s !== null))) {
    throw new DecodeError('outputs must be an array with one { scale, outputs, flipped? } per test scale');
  }
  assertTestSettings(settings);
  // A string '1' would be reported as scale 1 missing, shown as the 1 asked for.
  const notNumber = perScale.find((s) => typeof s.scale !== 'number');
  if (notNumber) throw new DecodeError(`the scale of each outputs entry must be a number (one of settings.scaleFactor), got ${shownValue(notNumber.scale)}`);
  if (!Array.isArray(def?.names) || !Array.isArray(def.flipIndex)) throw new DecodeError('the keypoint definition must have names and a flip index (COCO_KEYPOINTS, CROWDPOSE_KEYPOINTS)');
  const joints = def.names.length;
  if (def.flipIndex.length !== joints) {
    throw new DecodeError(`keypoint definition has ${joints} names but a flip index of ${def.flipIndex.length}`);
  }
  if (new Set(def.flipIndex.filter((j) => Number.isInteger(j) && j >= 0 && j < joints)).size !== joints) {
    throw new DecodeError(`keypoint definition's flip index must order the joints 0 to ${joints - 1}, got [${def.flipIndex.join(', ')}]`);
  }
  const given = perScale.map((s) => s.scale).sort((a, b) => a - b);
  const wanted = [...settings.scaleFactor].sort((a, b) => a - b);
  if (given.length !== wanted.length || given.some((s, i) => s !== wanted[i])) {
    throw new DecodeError(`outputs are given for scales [${given.join(', ')}] but settings.scaleFactor is [${wanted.join(', ')}]`);
  }
  if (settings.project2image && !(Array.isArray(baseSize) && baseSize.length === 2 && baseSize.every(isPositiveInt))) {
    throw new DecodeError(`base size must be two positive integers [w, h], got ${Array.isArray(baseSize) ? `[${baseSize.join(', ')}]` : String(baseSize)}`);
  }
}

/**
 * Aggregates the network outputs of every test scale into final heatmaps and tag maps
 * (reference `get_multi_stage_outputs` + `aggregate_results` + the division in `valid.py`),
 * leaving the full-resolution maps to be computed tile by tile as grouping reads them (see
 * `OnDemandMaps`; `complete()` computes them all). Scales are processed largest first whatever
 * the order given. Tag maps are kept from scale 1 only when several scales are tested (from
 * the single scale otherwise), as the reference does; without PROJECT2IMAGE they are resized
 * to the first (largest) scale's heatmap size. `baseSize` `[w, h]` is the input size at scale 1
 * (`get_multi_scale_size`). The maps live in `workspace`'s buffers: valid until it serves the
 * next image.
 */
export function aggregateOnDemand(
  perScale: readonly ScaleOutputs[],
  settings: TestSettings,
  def: KeypointDefinition,
  baseSize: readonly [number, number],
  workspace = new Workspace(),
): OnDemandMaps {
  const scales = validatedScales(perScale, settings, def, baseSize);
  const numJoints = def.names.length;
  const passes = scales.map(({ scale, plain, flipped }) => {
    const combined = [combineStages(plain, settings, numJoints, null, workspace, passKey(scale, false))];
    if (flipped) combined.push(combineStages(flipped, settings, numJoints, def.flipIndex, workspace, passKey(scale, true)));
    return combined;
  });
  return mapsFromPasses(scales, passes, settings, def, baseSize, workspace);
}

/**
 * The last part of `aggregateOnDemand`: from the combined passes of every scale (`passes[i]`
 * for `scales[i]`: plain, then flipped) to the maps.
 */
export function mapsFromPasses(
  scales: readonly ScalePlanes[],
  passes: readonly PassMaps[][],
  settings: TestSettings,
  def: KeypointDefinition,
  baseSize: readonly [number, number],
  workspace: Workspace,
): OnDemandMaps {
  const terms: PlaneStack[][] = [];
  const kept: PlaneStack[] = [];
  // The result's size: the base size with PROJECT2IMAGE, else the first (largest) scale's.
  let height = 0;
  let width = 0;
  scales.forEach((s, i) => {
    const [plain, flipped] = passes[i].map((p) => p.heatmaps);
    if (terms.length === 0) [height, width] = settings.project2image ? [baseSize[1], baseSize[0]] : [plain.height, plain.width];
    if (s.scale === 1 || scales.length === 1) kept.push(...passes[i].flatMap((p) => p.tags));
    // With PROJECT2IMAGE each pass is resized, then the two averaged; without, the reverse.
    const sources = settings.project2image || !flipped ? passes[i].map((p) => p.heatmaps) : [averagePasses(plain, flipped, workspace.float32(`scale${s.scale}:average`, plain.data.length))];
    terms.push(sources);
  });
  if (kept.length === 0) {
    throw new DecodeError(
      'no tag maps to group with: the reference keeps tags only from outputs selected by settings.withAe that carry tag channels',
    );
  }
  return new OnDemandMaps({ numJoints: def.names.length, height, width, terms, keptTags: kept }, workspace);
}

/** `aggregateOnDemand` with every value computed: `[1, J, H, W]` heatmaps and `[1, T, H, W, K]` tags. */
export function aggregate(
  perScale: readonly ScaleOutputs[],
  settings: TestSettings,
  def: KeypointDefinition,
  baseSize: readonly [number, number],
): AggregatedMaps {
  return completeMaps(aggregateOnDemand(perScale, settings, def, baseSize));
}

/** The whole maps of `maps` as ndarrays (the reference's `final_heatmaps`, `tags`). */
export function completeMaps(maps: OnDemandMaps): AggregatedMaps {
  const { det, tags, numJoints, height, width, tagChannels, tagDim } = maps.complete();
  return { heatmaps: ndarray(det, [1, numJoints, height, width]), tags: ndarray(tags, [1, tagChannels, height, width, tagDim]) };
}

/** `(plain + flipped) / 2` in float32, at the passes' resolution, into `data`. */
function averagePasses(plain: PlaneStack, flipped: PlaneStack, data: Float32Array): PlaneStack {
  const plane = plain.height * plain.width;
  for (let c = 0; c < plain.channels; c++) {
    const passes = [plain, flipped].map((p) => ({ data: p.data, offset: c * plane, mirror: false }));
    averagePlanes(passes, plain.height, plain.width, data, c * plane);
  }
  return { ...plain, data };
}
