/**
 * Checks of test settings, kept apart from the YAML reader: the aggregation uses them, and the
 * post-processing workers load the aggregation.
 */
import type { TestSettings } from './experiment.js';

export const isPositiveInt = (x: unknown): x is number => typeof x === 'number' && Number.isInteger(x) && x > 0;
export const isPositive = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x) && x > 0;
const isFlag = (x: unknown): x is boolean => typeof x === 'boolean';

/** Sides of the network input at the smallest scale, in steps of 64, that `keepsNetworkStride` checks: images up to 4096 pixels. */
const CHECKED_SIDES = 64;

/**
 * Whether every scale gives network input sides that are multiples of 32: at the smallest scale
 * the sides are multiples of 64, and a larger scale multiplies them by scale / smallest, as
 * `multiScaleSize` computes them (in float64, truncated). Others fail inside the network.
 */
function keepsNetworkStride(scales: readonly number[]): boolean {
  const smallest = Math.min(...scales);
  return scales.every((scale) => Array.from({ length: CHECKED_SIDES }, (_, k) => Math.trunc((64 * (k + 1) * scale) / smallest)).every((side) => side % 32 === 0));
}

/**
 * The first rule `settings` break, by the field it concerns, or undefined: what the estimator's
 * options and `decodePoses` callers must give (the reference would fail or mislead on others).
 */
export function testSettingsProblem(settings: TestSettings): { field: keyof TestSettings; allowed: string } | undefined {
  const s = settings;
  const rules: [keyof TestSettings, () => boolean, string][] = [
    ['flipTest', () => isFlag(s.flipTest), 'true or false'],
    ['adjust', () => isFlag(s.adjust), 'true or false'],
    ['refine', () => isFlag(s.refine), 'true or false'],
    ['scaleFactor', () => Array.isArray(s.scaleFactor) && s.scaleFactor.length > 0 && s.scaleFactor.every(isPositive), 'a non-empty list of positive numbers'],
    ['scaleFactor', () => new Set(s.scaleFactor).size === s.scaleFactor.length, 'a list without repeats'],
    // The reference takes the tags from scale 1 alone when it tests several.
    ['scaleFactor', () => s.scaleFactor.length === 1 || s.scaleFactor.includes(1), 'a list holding 1 when it has several scales (the tags come from scale 1)'],
    ['scaleFactor', () => keepsNetworkStride(s.scaleFactor), 'scales that keep every network input side a multiple of 32, as HRNet\'s downsampling needs: 64 times each scale divided by the smallest a multiple of 32 (as with [2, 1, 0.5], not [0.75, 1])'],
    ['detectionThreshold', () => Number.isFinite(s.detectionThreshold) && s.detectionThreshold >= 0, 'a number >= 0'],
    ['tagThreshold', () => Number.isFinite(s.tagThreshold) && s.tagThreshold > 0, 'a number > 0'],
    ['maxNumPeople', () => isPositiveInt(s.maxNumPeople), 'a positive integer'],
    ['inputSize', () => Number.isInteger(s.inputSize) && s.inputSize >= 64 && s.inputSize % 64 === 0, 'a multiple of 64'],
    ['nmsKernel', () => isPositiveInt(s.nmsKernel) && s.nmsKernel === 2 * s.nmsPadding + 1, `2 * nmsPadding + 1 = ${2 * s.nmsPadding + 1} (TEST.NMS_KERNEL and TEST.NMS_PADDING), so that NMS keeps the heatmaps' size`],
    ['withHeatmaps', () => Array.isArray(s.withHeatmaps) && s.withHeatmaps.some((w) => w === true), 'a list selecting at least one network output (TEST.WITH_HEATMAPS): the heatmaps averaged'],
  ];
  const broken = rules.find(([, holds]) => !holds());
  return broken && { field: broken[0], allowed: broken[2] };
}

