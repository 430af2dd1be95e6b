/**
 * Checks of test settings, kept apart from the YAML reader: the aggregation uses them, and the
 * post-processing workers load the aggregation.
 */
import type { TestSettings } from './experiment.js';
import { isFlag, isPositive, isPositiveInt } from '../values.js';
import type { OptionWords } from './option-names.js';

/** Sides of the network input at the smallest scale, in steps of 64, that `keepsNetworkStride` checks: images up to 4096 pixels. */
const CHECKED_SIDES = 64;

/**
 * The first network input side that is no multiple of 32, or undefined: at the smallest scale
 * the sides are multiples of 64, and a scale multiplies them by scale / smallest, as
 * `multiScaleSize` computes them (in float64, truncated). Such sides fail inside the network.
 */
function strideBreak(scales: readonly number[]): { scale: number; smallest: number; side: number; gives: number } | undefined {
  const smallest = Math.min(...scales);
  for (const scale of scales) {
    for (let side = 64; side <= 64 * CHECKED_SIDES; side += 64) {
      const gives = Math.trunc((side * scale) / smallest);
      if (gives % 32 !== 0) return { scale, smallest, side, gives };
    }
  }
  return undefined;
}

/** What `strideBreak` found, in words: even one scale can break by rounding (0.7: 192 × 0.7 / 0.7 gives 191). */
function strideText(scales: readonly number[]): string {
  const rule = 'scales that keep every network input side a multiple of 32, as HRNet\'s downsampling needs: 64 times each scale divided by the smallest a multiple of 32 (as with [2, 1, 0.5], not [0.75, 1])';
  const b = strideBreak(scales);
  return b ? `${rule}; here a ${b.side}-pixel side at scale ${b.smallest} becomes int(${b.side} * ${b.scale} / ${b.smallest}) = ${b.gives} at scale ${b.scale}, as the reference computes it in floating point` : rule;
}

/**
 * The first rule `settings` break, by the field it concerns, or undefined: what the estimator's
 * options and `decodePoses` callers must give (the reference would fail or mislead on others).
 * What the field must be names the other settings in its reader's words (option, YAML key).
 */
export function testSettingsProblem(settings: TestSettings): { field: keyof TestSettings; allowed: OptionWords } | undefined {
  const s = settings;
  // A text made when its rule breaks (it names what broke, and other settings by `name`).
  const rules: [keyof TestSettings, () => boolean, string | OptionWords][] = [
    ['flipTest', () => isFlag(s.flipTest), 'true or false'],
    ['adjust', () => isFlag(s.adjust), 'true or false'],
    ['refine', () => isFlag(s.refine), 'true or false'],
    ['project2image', () => isFlag(s.project2image), 'true or false'],
    ['useDetectionVal', () => isFlag(s.useDetectionVal), 'true or false'],
    ['ignoreTooMuch', () => isFlag(s.ignoreTooMuch), 'true or false'],
    ['scaleFactor', () => Array.isArray(s.scaleFactor) && s.scaleFactor.length > 0 && s.scaleFactor.every(isPositive), 'a non-empty list of positive numbers'],
    ['scaleFactor', () => new Set(s.scaleFactor).size === s.scaleFactor.length, 'a list without repeats'],
    // The reference takes the tags from scale 1 alone when it tests several.
    ['scaleFactor', () => s.scaleFactor.length === 1 || s.scaleFactor.includes(1), 'a list holding 1 when it has several scales (the tags come from scale 1)'],
    ['scaleFactor', () => strideBreak(s.scaleFactor) === undefined, () => strideText(s.scaleFactor)],
    // Projected maps are sized at scale 1 from the largest scale's outputs, which are never enlarged past 4x.
    ['scaleFactor', () => !s.project2image || Math.max(...s.scaleFactor) >= 1, (name) => `a list whose largest scale is at least 1 when the maps are projected to the input (TEST.PROJECT2IMAGE); for a smaller network input, give a smaller ${name('inputSize')}`],
    ['detectionThreshold', () => Number.isFinite(s.detectionThreshold) && s.detectionThreshold >= 0, 'a number >= 0'],
    ['tagThreshold', () => isPositive(s.tagThreshold), 'a number > 0'],
    ['maxNumPeople', () => isPositiveInt(s.maxNumPeople), 'a positive integer'],
    ['inputSize', () => Number.isInteger(s.inputSize) && s.inputSize >= 64 && s.inputSize % 64 === 0, 'a positive multiple of 64'],
    ['nmsKernel', () => isPositiveInt(s.nmsKernel) && s.nmsKernel === 2 * s.nmsPadding + 1, `2 * nmsPadding + 1 = ${2 * s.nmsPadding + 1} (TEST.NMS_KERNEL and TEST.NMS_PADDING), so that NMS keeps the heatmaps' size`],
    ['withHeatmaps', () => Array.isArray(s.withHeatmaps) && s.withHeatmaps.every(isFlag) && s.withHeatmaps.includes(true), 'a list selecting at least one network output, true or false per output (TEST.WITH_HEATMAPS): the heatmaps averaged'],
    ['withAe', () => Array.isArray(s.withAe) && s.withAe.every(isFlag) && s.withAe.length === s.withHeatmaps.length, (name) => `a list of true or false per network output, as long as ${name('withHeatmaps')} (TEST.WITH_AE): the tag maps kept`],
  ];
  const broken = rules.find(([, holds]) => !holds());
  if (!broken) return undefined;
  const text = broken[2];
  return { field: broken[0], allowed: typeof text === 'string' ? () => text : text };
}

