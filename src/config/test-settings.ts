/**
 * Checks of test settings, kept apart from the YAML reader: the aggregation uses them, and the
 * post-processing workers load the aggregation.
 */
import type { TestSettings } from './experiment.js';

export const isPositiveInt = (x: unknown): x is number => typeof x === 'number' && Number.isInteger(x) && x > 0;
export const isPositive = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x) && x > 0;
const isFlag = (x: unknown): x is boolean => typeof x === 'boolean';

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

