import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig, ConfigError, outputChannels } from '../src/config/experiment.js';
import { presetConfig, PRESET_NAMES } from '../src/config/presets.js';
import { describeFixtures, fixturesRoot } from './helpers/fixtures.js';

describeFixtures('experiment configuration', 'configs', () => {
  for (const name of PRESET_NAMES) {
    it(`preset ${name} equals the official YAML`, () => {
      const yaml = parseConfig(readFileSync(join(fixturesRoot(), 'configs', `${name}.yaml`), 'utf8'));
      expect(presetConfig(name)).to.deep.equal(yaml);
    });
  }
});

describe('experiment configuration errors', () => {
  const base = `
MODEL: {NUM_JOINTS: 17, TAG_PER_JOINT: true, EXTRA: {STEM_INPLANES: 64, FINAL_CONV_KERNEL: 1,
  STAGE2: {NUM_MODULES: 1, NUM_BRANCHES: 2, BLOCK: BASIC, NUM_BLOCKS: [1, 1], NUM_CHANNELS: [8, 16]},
  STAGE3: {NUM_MODULES: 1, NUM_BRANCHES: 3, BLOCK: BASIC, NUM_BLOCKS: [1, 1, 1], NUM_CHANNELS: [8, 16, 32]},
  STAGE4: {NUM_MODULES: 1, NUM_BRANCHES: 4, BLOCK: BASIC, NUM_BLOCKS: [1, 1, 1, 1], NUM_CHANNELS: [8, 16, 32, 64]},
  DECONV: {NUM_DECONVS: 1, NUM_CHANNELS: [8], KERNEL_SIZE: [4], NUM_BASIC_BLOCKS: 1, CAT_OUTPUT: [true]}}}
LOSS: {WITH_AE_LOSS: [true, false]}
DATASET: {DATASET: coco_kpt, NUM_JOINTS: 17, INPUT_SIZE: 512, MAX_NUM_PEOPLE: 30}
TEST: {FLIP_TEST: true, SCALE_FACTOR: [1], ADJUST: true, REFINE: true, PROJECT2IMAGE: true,
  DETECTION_THRESHOLD: 0.1, TAG_THRESHOLD: 1.0, NMS_KERNEL: 5, NMS_PADDING: 2,
  WITH_HEATMAPS: [true, true], WITH_AE: [true, false]}
`;
  it('parses a minimal configuration', () => {
    const cfg = parseConfig(base);
    expect(cfg.model.stages.map((s) => s.numBranches)).to.deep.equal([2, 3, 4]);
    expect(outputChannels(cfg.model, 0)).to.equal(34);
    expect(outputChannels(cfg.model, 1)).to.equal(17);
  });
  it('BAD CALL - branch lists that disagree with NUM_BRANCHES', () => {
    expect(() => parseConfig(base.replace('NUM_BLOCKS: [1, 1, 1], NUM_CHANNELS: [8, 16, 32]', 'NUM_BLOCKS: [1, 1], NUM_CHANNELS: [8, 16, 32]')))
      .to.throw(ConfigError, /MODEL\.EXTRA\.STAGE3\.NUM_BLOCKS has 2 entries but NUM_BRANCHES is 3/);
  });
  it('BAD CALL - joints of model and dataset disagree', () => {
    expect(() => parseConfig(base.replace('NUM_JOINTS: 17, INPUT', 'NUM_JOINTS: 14, INPUT'))).to.throw(ConfigError, /disagree/);
  });
  it('BAD CALL - missing field names its path', () => {
    expect(() => parseConfig(base.replace('NMS_KERNEL: 5, ', ''))).to.throw(ConfigError, /TEST\.NMS_KERNEL/);
  });
  it('BAD CALL - not YAML', () => {
    expect(() => parseConfig('MODEL: [unclosed')).to.throw(ConfigError, /YAML/);
  });
  it('BAD CALL - unknown preset lists the valid ones', () => {
    expect(() => presetConfig('coco_w64')).to.throw(ConfigError, /Unsupported preset: coco_w64\. Must be one of \[coco_w32_512/);
  });
});
