/**
 * Test-time aggregation of the network outputs, as the reference `tools/valid.py` runs it:
 * per scale `get_multi_stage_outputs` (stage outputs brought to the last stage's resolution,
 * heatmaps averaged, tag maps collected, the flipped pass mirrored back with the dataset flip
 * index, everything optionally resized to the image's base size), then `aggregate_results`
 * across scales (largest first) and the final division by the number of scales.
 */
import type { NdArray } from 'ndarray';
import type { TestSettings } from '../config/experiment.js';
import type { KeypointDefinition } from '../datasets.js';
import type { OutputTensor } from '../types.js';
import { DecodeError } from './errors.js';
import {
  addPlanes, channelRange, dividePlanes, flipWidth, permuteChannels, planesFromOutput, planesToNdArray, stackLastAxis,
  type Planes,
} from './planes.js';
import { resizeBilinear } from './resize.js';

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
 * One pass of `get_multi_stage_outputs`: every output but the last is upsampled to the last
 * one's resolution; heatmaps of the stages with `withHeatmaps` are summed in stage order and
 * divided by their count; tag maps of the stages with `withAe` are collected. For the flipped
 * pass (`flipIndex` given) each upsampled output is mirrored, then its heatmaps (and per-joint
 * tags) are permuted with the flip index, in that order as in the reference.
 */
function combineStages(outputs: Planes[], settings: TestSettings, numJoints: number, flipIndex: readonly number[] | null): PassMaps {
  const last = outputs[outputs.length - 1];
  let sum: Planes | null = null;
  let count = 0;
  const tags: Planes[] = [];
  outputs.forEach((output, i) => {
    let stage = i === outputs.length - 1 ? output : resizeBilinear(output, last.height, last.width);
    if (flipIndex) stage = flipWidth(stage);
    if (settings.withHeatmaps[i]) {
      let heatmaps = channelRange(stage, 0, numJoints);
      if (flipIndex) heatmaps = permuteChannels(heatmaps, flipIndex);
      sum = sum === null ? heatmaps : addPlanes(sum, heatmaps);
      count += 1;
    }
    if (settings.withAe[i] && stage.channels > numJoints) {
      let tagMaps = channelRange(stage, numJoints, stage.channels);
      // Tags are permuted only when there is one tag map per joint (MODEL.TAG_PER_JOINT).
      if (flipIndex && tagMaps.channels === numJoints) tagMaps = permuteChannels(tagMaps, flipIndex);
      tags.push(tagMaps);
    }
  });
  if (sum === null) throw new DecodeError('settings.withHeatmaps selects no network output: nothing to average');
  return { heatmaps: dividePlanes(sum, count), tags };
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

/** The maps of one test scale: `heatmaps` = [plain, flipped], `tags` = plain stages' then flipped stages'. */
function scaleMaps(s: ScaleOutputs, settings: TestSettings, def: KeypointDefinition, baseSize: readonly [number, number]): PassMaps[] {
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
  if (!settings.project2image) return passes;
  // PROJECT2IMAGE: every heatmap and tag map is resized to the base size [w, h].
  const [w, h] = baseSize;
  return passes.map((p) => ({ heatmaps: resizeBilinear(p.heatmaps, h, w), tags: p.tags.map((t) => resizeBilinear(t, h, w)) }));
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
  let final: Planes | null = null;
  const kept: Planes[] = [];
  for (const s of ordered) {
    const passes = scaleMaps(s, settings, def, baseSize);
    if (s.scale === 1 || ordered.length === 1) {
      for (const t of passes.flatMap((p) => p.tags)) {
        const current: Planes | null = final;
        kept.push(current && !settings.project2image ? resizeBilinear(t, current.height, current.width) : t);
      }
    }
    const average = passes.length === 2 ? dividePlanes(addPlanes(passes[0].heatmaps, passes[1].heatmaps), 2) : passes[0].heatmaps;
    if (final === null) final = average;
    else if (settings.project2image) final = addPlanes(final, average);
    else final = addPlanes(final, resizeBilinear(average, final.height, final.width));
  }
  if (final === null) throw new DecodeError('no network outputs given');
  if (kept.length === 0) {
    throw new DecodeError(
      'no tag maps to group with: the reference keeps tags only from scale 1 when several scales are tested, ' +
        'and only from outputs selected by settings.withAe that carry tag channels',
    );
  }
  const heatmaps = dividePlanes(final, ordered.length);
  return { heatmaps: planesToNdArray(heatmaps), tags: stackLastAxis(kept) };
}
