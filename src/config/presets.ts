/**
 * Built-in configurations: the five published HigherHRNet models and the two tiny
 * random-weight models used by the tests and the demo. They equal the official experiment
 * YAML files field for field (a test checks this against ../shared/fixtures/configs).
 */
import { ConfigError, type DatasetKind, type ExperimentConfig, type StageSpec } from './experiment.js';

export const PRESET_NAMES = [
  'coco_w32_512',
  'coco_w32_640',
  'coco_w48_640',
  'crowdpose_w32_512',
  'crowdpose_w48_640',
  'tiny_coco',
  'tiny_crowdpose',
] as const;
export type PresetName = (typeof PRESET_NAMES)[number];

interface Shape {
  channels: number[]; // widest stage's channels, e.g. [32, 64, 128, 256]
  blocks: [number[], number[], number[]];
  modules: [number, number, number];
  deconvChannels: number;
  deconvBlocks: number;
}

const FULL = (width: number): Shape => ({
  channels: [width, 2 * width, 4 * width, 8 * width],
  blocks: [[4, 4], [4, 4, 4], [4, 4, 4, 4]],
  modules: [1, 4, 3],
  deconvChannels: width,
  deconvBlocks: 4,
});

const TINY: Shape = {
  channels: [8, 16, 32, 64],
  blocks: [[1, 1], [1, 1, 2], [2, 1, 1, 1]],
  modules: [1, 2, 2],
  deconvChannels: 8,
  deconvBlocks: 2,
};

function build(dataset: DatasetKind, shape: Shape, inputSize: number): ExperimentConfig {
  const numJoints = dataset === 'coco' ? 17 : 14;
  const stages: StageSpec[] = [2, 3, 4].map((branches, i) => ({
    numModules: shape.modules[i],
    numBranches: branches,
    block: 'BASIC',
    numBlocks: shape.blocks[i],
    numChannels: shape.channels.slice(0, branches),
    fuseMethod: 'SUM',
  }));
  return {
    model: {
      name: 'pose_higher_hrnet',
      numJoints,
      tagPerJoint: true,
      stages,
      finalConvKernel: 1,
      deconv: { numDeconvs: 1, numChannels: [shape.deconvChannels], kernelSize: [4], numBasicBlocks: shape.deconvBlocks, catOutput: [true] },
      withAeLoss: [true, false],
    },
    dataset: { kind: dataset, numJoints, inputSize, maxNumPeople: 30 },
    test: {
      flipTest: true,
      scaleFactor: [1],
      adjust: true,
      refine: true,
      project2image: true,
      detectionThreshold: 0.1,
      tagThreshold: 1,
      nmsKernel: 5,
      nmsPadding: 2,
      maxNumPeople: 30,
      useDetectionVal: true,
      ignoreTooMuch: false,
      withHeatmaps: [true, true],
      withAe: [true, false],
      inputSize,
    },
  };
}

const BUILDERS: Record<PresetName, () => ExperimentConfig> = {
  coco_w32_512: () => build('coco', FULL(32), 512),
  coco_w32_640: () => build('coco', FULL(32), 640),
  coco_w48_640: () => build('coco', FULL(48), 640),
  crowdpose_w32_512: () => build('crowdpose', FULL(32), 512),
  crowdpose_w48_640: () => build('crowdpose', FULL(48), 640),
  tiny_coco: () => build('coco', TINY, 512),
  tiny_crowdpose: () => build('crowdpose', TINY, 512),
};

/** Whether `name` (read at run time: argv, a settings file) is a preset's: narrows it to `PresetName`. */
export function isPresetName(name: unknown): name is PresetName {
  return (PRESET_NAMES as readonly unknown[]).includes(name);
}

/** Whether `name`, given as a preset, names a YAML file: a configuration file given as the preset by mistake. */
export function isConfigFileName(name: unknown): boolean {
  return typeof name === 'string' && /\.ya?ml$/i.test(name);
}

/** A fresh copy of a built-in configuration (the name is checked at run time too, for JavaScript callers). */
export function presetConfig(name: PresetName): ExperimentConfig {
  if (!isPresetName(name)) {
    throw new ConfigError(`Unsupported preset: ${name}. Must be one of [${PRESET_NAMES.join(', ')}]${isConfigFileName(name) ? ' (a configuration file is given as config)' : ''}`);
  }
  return BUILDERS[name]();
}
