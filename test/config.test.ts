import { expect } from 'chai';
import fs, { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import sharp from 'sharp';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { checkedConfig, loadConfigFile, parseConfig, ConfigError, outputChannels, type ExperimentConfig } from '../src/config/experiment.js';
import { presetConfig, PRESET_NAMES } from '../src/config/presets.js';
import { testSettings } from '../src/estimator.js';
import { buildNetworkGraph } from '../src/higher/network.js';
import { describeFixtures, fixturesRoot } from './helpers/fixtures.js';
import { DEMO_IMAGE, TINY_COCO_CHECKPOINT } from '../src/paths.js';
import { resolveConfig } from '../src/model/load.js';
import { cli, expectUsageError } from './helpers/cli.js';

/** The tiny preset's configuration with `edit` applied, typed loosely so that a test can break it. */
function tinyConfigEdited(edit: (c: Record<string, any>) => void): ExperimentConfig {
  const c = presetConfig('tiny_coco') as unknown as Record<string, any>;
  edit(c);
  return c as unknown as ExperimentConfig;
}

describeFixtures('experiment configuration', 'configs', () => {
  for (const name of PRESET_NAMES) {
    it(`preset ${name} equals the official YAML`, () => {
      const yaml = parseConfig(readFileSync(join(fixturesRoot(), 'configs', `${name}.yaml`), 'utf8'));
      expect(presetConfig(name)).to.deep.equal(yaml);
    });
  }

  it('reads the official files as the reference does: Python tuples in strings, fields left to lib/config/default.py', () => {
    // The fixture is a complete dump; the files of the official repository leave out the fields
    // that have defaults and write some lists as Python tuples, which yacs evaluates.
    const dump = parseYaml(readFileSync(join(fixturesRoot(), 'configs', 'coco_w32_512.yaml'), 'utf8')) as Record<string, Record<string, unknown>>;
    expect(dump.TEST).to.include({ ADJUST: true, REFINE: true, TAG_THRESHOLD: 1, USE_DETECTION_VAL: true, IGNORE_TOO_MUCH: false });
    for (const field of ['ADJUST', 'REFINE', 'TAG_THRESHOLD', 'USE_DETECTION_VAL', 'IGNORE_TOO_MUCH']) delete dump.TEST[field];
    dump.TEST.WITH_HEATMAPS = '(True, True)';
    dump.TEST.WITH_AE = '(True, False)';
    dump.TEST.SCALE_FACTOR = '[1]';
    dump.DATASET.INPUT_SIZE = '512';
    expect(parseConfig(stringifyYaml(dump))).to.deep.equal(presetConfig('coco_w32_512'));
  });
});


/**
 * The bytes `run` reads from files by fs's readSync and readFileSync (the configuration reader's), counted as the
 * functions are replaced for the call (syncBuiltinESMExports: their importers too). Not the time: a busy machine's.
 */
function bytesReadBy(run: () => void): number {
  const { readSync, readFileSync: readWhole } = fs;
  let bytes = 0;
  const counted = <T extends number | string | Buffer>(read: T): T => {
    bytes += typeof read === 'number' ? read : read.length;
    return read;
  };
  fs.readSync = ((...args: Parameters<typeof readSync>) => counted(readSync(...args))) as typeof readSync;
  fs.readFileSync = ((...args: Parameters<typeof readWhole>) => counted(readWhole(...args))) as typeof readWhole;
  syncBuiltinESMExports();
  try {
    run();
  } finally {
    Object.assign(fs, { readSync, readFileSync: readWhole });
    syncBuiltinESMExports();
  }
  return bytes;
}
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
  it('BAD CALL - a file of test settings alone (overrides, as if merged into a preset) says the network must be spelt out, not a deep field missing', () => {
    const overrides = /^MODEL\.EXTRA is missing: an experiment configuration spells out the network, as the official files do \(the reference has no default for it\); to change a preset's test settings, give them as options \(--no-flip, --scales, --input-size; flipTest, scales, inputSize\)$/;
    expect(() => parseConfig('TEST:\n  FLIP_TEST: false\n')).to.throw(ConfigError, overrides);
    expect(() => parseConfig('MODEL:\n  NUM_JOINTS: 17\n  EXTRA:\nTEST:\n  FLIP_TEST: false\n')).to.throw(ConfigError, overrides);
  });
  it('BAD CALL - missing field names its path', () => {
    expect(() => parseConfig(base.replace('STAGE2: {NUM_MODULES: 1, ', 'STAGE2: {'))).to.throw(ConfigError, /Missing configuration field MODEL\.EXTRA\.STAGE2\.NUM_MODULES/);
  });
  it('a configuration object is checked as its YAML would be, naming the YAML fields, with no defaults', () => {
    for (const name of PRESET_NAMES) expect(checkedConfig(presetConfig(name))).to.deep.equal(presetConfig(name));
    const cases: [(c: Record<string, any>) => void, RegExp][] = [
      [(c) => (c.dataset.kind = 'crowdpose'), /^configuration object: NUM_JOINTS is 17, but DATASET\.DATASET "crowd_pose_kpt" has 14 keypoints$/],
      [(c) => delete c.model.stages, /^configuration object: MODEL\.EXTRA\.STAGE2\.NUM_BRANCHES must be an integer >= 1, got undefined$/],
      [(c) => delete c.test, /^configuration object: DATASET\.INPUT_SIZE must be an integer >= 1, got undefined$/],
      [(c) => delete c.test.flipTest, /^configuration object: TEST\.FLIP_TEST must be true or false, got undefined$/],
      [(c) => (c.test.withAe = [true]), /^configuration object: TEST\.WITH_AE has 1 entries but the network has 2 outputs/],
      [(c) => (c.model.stages[1].numChannels = [8, 16]), /^configuration object: MODEL\.EXTRA\.STAGE3\.NUM_CHANNELS has 2 entries but NUM_BRANCHES is 3$/],
      // Test settings the estimator would refuse, as a file's: they were named as options never given ('Invalid inputSize: 500').
      [(c) => (c.test.inputSize = 500), /^configuration object: DATASET\.INPUT_SIZE must be a positive multiple of 64, got 500$/],
      [(c) => (c.test.scaleFactor = [0.5]), /^configuration object: TEST\.SCALE_FACTOR must be a list whose largest scale is at least 1 .*; for a smaller network input, give a smaller DATASET\.INPUT_SIZE, got \[0\.5\]$/],
    ];
    for (const [edit, message] of cases) expect(() => checkedConfig(tinyConfigEdited(edit))).to.throw(ConfigError, message);
    expect(() => checkedConfig(undefined as unknown as ExperimentConfig)).to.throw(ConfigError, /^configuration object: /);
    expect(() => testSettings(tinyConfigEdited((c) => (c.test.inputSize = 500)))).to.throw(ConfigError, /^testSettings: configuration object: DATASET\.INPUT_SIZE must be a positive multiple of 64, got 500$/);
  });
  it('BAD CALL - a configuration object\'s strings are strings: only a file\'s are read as Python literals, as yacs reads them', () => {
    expect(() => checkedConfig(tinyConfigEdited((c) => (c.model.numJoints = '17')))).to.throw(ConfigError, /^configuration object: MODEL\.NUM_JOINTS must be an integer >= 1, got "17"$/);
    expect(() => checkedConfig(tinyConfigEdited((c) => (c.test.flipTest = 'True')))).to.throw(ConfigError, /^configuration object: TEST\.FLIP_TEST must be true or false, got "True"$/);
    expect(() => checkedConfig(tinyConfigEdited((c) => (c.model.deconv.numDeconvs = '1')))).to.throw(ConfigError, /^configuration object: MODEL\.EXTRA\.DECONV\.NUM_DECONVS must be an integer >= 0, got "1"$/);
    expect(() => checkedConfig(tinyConfigEdited((c) => (c.model.stages[0].numChannels = '[8, 16]')))).to.throw(ConfigError, /^configuration object: MODEL\.EXTRA\.STAGE2\.NUM_CHANNELS must be a list of positive integers, got "\[8, 16\]"$/);
    // The same strings in a file are the reference's numbers and booleans.
    const file = parseConfig(base.replace('NUM_JOINTS: 17, TAG', "NUM_JOINTS: '17', TAG").replace('FLIP_TEST: true', "FLIP_TEST: 'True'").replace('NUM_CHANNELS: [8, 16]}', "NUM_CHANNELS: '[8, 16]'}"));
    expect(file).to.deep.equal(parseConfig(base));
  });
  it('BAD CALL - a configuration object holding values no YAML has (a BigInt, a function, a symbol) is a ConfigError naming the field, not a TypeError or DataCloneError', () => {
    expect(() => checkedConfig(tinyConfigEdited((c) => (c.model.numJoints = 17n)))).to.throw(ConfigError, /^configuration object: MODEL\.NUM_JOINTS must be an integer >= 1, got 17n$/);
    expect(() => checkedConfig(tinyConfigEdited((c) => (c.model.stages[0].numChannels = [8n, 16n])))).to.throw(ConfigError, /^configuration object: MODEL\.EXTRA\.STAGE2\.NUM_CHANNELS must be a list of positive integers, got \["8n","16n"\]$/);
    expect(() => checkedConfig(tinyConfigEdited((c) => (c.model.numJoints = () => 17)))).to.throw(ConfigError, /^configuration object: MODEL\.NUM_JOINTS must be an integer >= 1, got /);
    expect(() => checkedConfig(tinyConfigEdited((c) => (c.test.flipTest = Symbol('on'))))).to.throw(ConfigError, /^configuration object: TEST\.FLIP_TEST must be true or false, got Symbol\(on\)$/);
    expect(() => buildNetworkGraph(tinyConfigEdited((c) => (c.model.deconv.numDeconvs = 1n)).model)).to.throw(ConfigError, /^buildNetworkGraph: model object: MODEL\.EXTRA\.DECONV\.NUM_DECONVS must be an integer >= 0, got 1n$/);
    // The checked copy's lists are its own, as the clone that refused these values made them.
    const given = presetConfig('tiny_coco');
    const checked = checkedConfig(given);
    // Its lists are typed read-only; JavaScript callers can change them all the same.
    (given.model.stages[0]!.numChannels as number[])[0] = 9;
    (given.test.scaleFactor as number[]).push(2);
    expect(checked).to.deep.equal(presetConfig('tiny_coco'));
  });
  it('BAD CALL - a configuration object\'s field that no configuration has (a misspelt scaleFactors), or a fourth stage, is refused, not left out', () => {
    expect(() => checkedConfig(tinyConfigEdited((c) => (c.test.scaleFactors = [2, 1, 0.5])))).to.throw(ConfigError, /^configuration object: unknown field config\.test\.scaleFactors; the fields of config\.test are flipTest, scaleFactor, /);
    expect(() => checkedConfig(tinyConfigEdited((c) => (c.model.stages[0].numChanels = [8, 16])))).to.throw(ConfigError, /^configuration object: unknown field config\.model\.stages\[0\]\.numChanels; the fields of config\.model\.stages\[0\] are numModules, numBranches, block, numBlocks, numChannels, fuseMethod$/);
    expect(() => checkedConfig(tinyConfigEdited((c) => Object.assign(c.model.deconv, { kernel: [3], cat: [false] })))).to.throw(ConfigError, /^configuration object: unknown fields config\.model\.deconv\.kernel, config\.model\.deconv\.cat; /);
    expect(() => checkedConfig(tinyConfigEdited((c) => (c.dataset.name = 'coco')))).to.throw(ConfigError, /^configuration object: unknown field config\.dataset\.name; the fields of config\.dataset are kind, numJoints, inputSize, maxNumPeople$/);
    expect(() => checkedConfig(tinyConfigEdited((c) => (c.loss = { withAeLoss: [true, true] })))).to.throw(ConfigError, /^configuration object: unknown field config\.loss; the fields of config are model, dataset, test$/);
    expect(() => checkedConfig(tinyConfigEdited((c) => c.model.stages.push({ ...c.model.stages[2] })))).to.throw(ConfigError, /^configuration object: config\.model\.stages must be a list of the 3 stages MODEL\.EXTRA\.STAGE2, STAGE3, STAGE4, got 4 stages$/);
    expect(() => buildNetworkGraph(tinyConfigEdited((c) => (c.model.finalConvKernal = 3)).model)).to.throw(ConfigError, /^buildNetworkGraph: model object: unknown field model\.finalConvKernal; the fields of model are name, /);
  });
  it('BAD CALL - a configuration object with null (or a list) where a part of it should be names that part, not the first field it lacks', () => {
    const cases: [(c: Record<string, any>) => void, RegExp][] = [
      [(c) => (c.model = null), /^configuration object: config\.model must be an object with name, numJoints, .*, got null$/],
      [(c) => (c.model.stages[2] = null), /^configuration object: config\.model\.stages\[2\] must be an object with numModules, .*, got null$/],
      [(c) => (c.model.stages = null), /^configuration object: config\.model\.stages must be a list of the 3 stages MODEL\.EXTRA\.STAGE2, STAGE3, STAGE4, got null$/],
      [(c) => (c.model.deconv = null), /^configuration object: config\.model\.deconv must be an object with numDeconvs, .*, got null$/],
      [(c) => (c.dataset = null), /^configuration object: config\.dataset must be an object with kind, numJoints, inputSize, maxNumPeople, got null$/],
      [(c) => (c.test = [1]), /^configuration object: config\.test must be an object with flipTest, .*, got \[1\]$/],
    ];
    for (const [edit, message] of cases) expect(() => checkedConfig(tinyConfigEdited(edit))).to.throw(ConfigError, message);
    expect(() => buildNetworkGraph(tinyConfigEdited((c) => (c.model.deconv = null)).model)).to.throw(ConfigError, /^buildNetworkGraph: model object: model\.deconv must be an object with numDeconvs, /);
  });
  it('BAD CALL - a configuration object\'s dataset part that says other than the rest (an input size, candidates, a kind) is refused, not left out', () => {
    // A file has one DATASET.INPUT_SIZE; an object two, and the dataset's was read nowhere: 640 ran at 512.
    const cases: [(c: Record<string, any>) => void, RegExp][] = [
      [(c) => (c.dataset.inputSize = 640), /^configuration object: config\.dataset\.inputSize \(640\) and config\.test\.inputSize \(512\) disagree: inference uses config\.test\.inputSize \(DATASET\.INPUT_SIZE in a file sets both\); give both the same value$/],
      [(c) => (c.test.inputSize = 256), /^configuration object: config\.dataset\.inputSize \(512\) and config\.test\.inputSize \(256\) disagree: /],
      [(c) => (c.dataset.inputSize = '512'), /^configuration object: config\.dataset\.inputSize \("512"\) and config\.test\.inputSize \(512\) disagree: /],
      [(c) => delete c.dataset.inputSize, /^configuration object: config\.dataset\.inputSize \(undefined\) and config\.test\.inputSize \(512\) disagree: /],
      [(c) => (c.dataset.maxNumPeople = 5), /^configuration object: config\.dataset\.maxNumPeople \(5\) and config\.test\.maxNumPeople \(30\) disagree: inference uses config\.test\.maxNumPeople \(DATASET\.MAX_NUM_PEOPLE in a file sets both\)/],
      // The YAML reader's names, or a list, were taken as the dataset they begin with.
      [(c) => (c.dataset.kind = 'coco_kpt'), /^configuration object: config\.dataset\.kind must be one of \[coco, crowdpose\], got "coco_kpt"$/],
      [(c) => (c.dataset.kind = ['coco']), /^configuration object: config\.dataset\.kind must be one of \[coco, crowdpose\], got \["coco"\]$/],
      [(c) => (c.dataset.kind = 'COCO'), /^configuration object: config\.dataset\.kind must be one of \[coco, crowdpose\], got "COCO"$/],
      [(c) => delete c.dataset.kind, /^configuration object: config\.dataset\.kind must be one of \[coco, crowdpose\], got undefined$/],
      // The joints were refused already, by their YAML keys.
      [(c) => (c.dataset.numJoints = 14), /^configuration object: MODEL\.NUM_JOINTS \(17\) and DATASET\.NUM_JOINTS \(14\) disagree$/],
      [(c) => (c.model.numJoints = 14), /^configuration object: MODEL\.NUM_JOINTS \(14\) and DATASET\.NUM_JOINTS \(17\) disagree$/],
    ];
    for (const [edit, message] of cases) expect(() => checkedConfig(tinyConfigEdited(edit))).to.throw(ConfigError, message);
    expect(() => testSettings(tinyConfigEdited((c) => (c.dataset.inputSize = 256)), {})).to.throw(ConfigError, /^testSettings: configuration object: config\.dataset\.inputSize \(256\) and config\.test\.inputSize \(512\) disagree/);
    // Both changed, or the other dataset throughout, is a configuration.
    const both = tinyConfigEdited((c) => Object.assign(c.dataset, { inputSize: 256, maxNumPeople: 5 }) && Object.assign(c.test, { inputSize: 256, maxNumPeople: 5 }));
    expect(checkedConfig(both).test).to.include({ inputSize: 256, maxNumPeople: 5 });
    const crowd = tinyConfigEdited((c) => Object.assign(c.dataset, { kind: 'crowdpose', numJoints: 14 }) && (c.model.numJoints = 14));
    expect(checkedConfig(crowd)).to.deep.equal(presetConfig('tiny_crowdpose'));
  });
  it('STEM_INPLANES is not read, as in the reference, whose stem has 64 channels whatever it says', () => {
    const parameters = (yaml: string) => buildNetworkGraph(parseConfig(yaml).model).parameters;
    const official = parameters(base);
    expect(official.find((p) => p.name === 'conv1.weight')?.shape).to.deep.equal([64, 3, 3, 3]);
    expect(parameters(base.replace('STEM_INPLANES: 64', 'STEM_INPLANES: 32'))).to.deep.equal(official);
    expect(parameters(base.replace('STEM_INPLANES: 64, ', ''))).to.deep.equal(official);
  });
  it('fields the reference has defaults for take them (lib/config/default.py)', () => {
    const cfg = parseConfig(base.replace('NMS_KERNEL: 5, NMS_PADDING: 2,', '').replace('DETECTION_THRESHOLD: 0.1, TAG_THRESHOLD: 1.0,', ''));
    expect(cfg.test).to.include({ nmsKernel: 3, nmsPadding: 1, detectionThreshold: 0.2, tagThreshold: 1, useDetectionVal: true, ignoreTooMuch: false });
  });
  it('Python literals in strings: (x,) and [x] are lists, (x) is x, other strings stay strings', () => {
    expect(parseConfig(base.replace('WITH_HEATMAPS: [true, true]', "WITH_HEATMAPS: '(True, True,)'")).test.withHeatmaps).to.deep.equal([true, true]);
    expect(parseConfig(base.replace('SCALE_FACTOR: [1]', "SCALE_FACTOR: '(2, 1, 0.5)'")).test.scaleFactor).to.deep.equal([2, 1, 0.5]);
    expect(parseConfig(base.replace('NMS_KERNEL: 5', "NMS_KERNEL: '(5)'")).test.nmsKernel).to.equal(5);
    expect(() => parseConfig(base.replace('SCALE_FACTOR: [1]', "SCALE_FACTOR: '(1)'"))).to.throw(ConfigError, /TEST\.SCALE_FACTOR must be a list of positive numbers, got 1/);
    expect(() => parseConfig(base.replace('WITH_AE: [true, false]', "WITH_AE: '(True, maybe)'"))).to.throw(ConfigError, /TEST\.WITH_AE must be a list of booleans, got "\(True, maybe\)"/);
  });
  it('BAD CALL - a test setting the estimator would refuse names the other settings by their YAML keys too', () => {
    expect(() => parseConfig(base.replace('SCALE_FACTOR: [1]', 'SCALE_FACTOR: [0.5]')))
      .to.throw(ConfigError, /^TEST\.SCALE_FACTOR must be a list whose largest scale is at least 1 .*; for a smaller network input, give a smaller DATASET\.INPUT_SIZE, got \[0\.5\]$/);
  });
  it('BAD CALL - a joint count the dataset does not have', () => {
    const crowd = base.replace('DATASET: coco_kpt', 'DATASET: crowd_pose_kpt');
    expect(() => parseConfig(crowd)).to.throw(ConfigError, /NUM_JOINTS is 17, but DATASET\.DATASET "crowd_pose_kpt" has 14 keypoints/);
  });
  it('BAD CALL - a key the reference does not have (a misspelt FLIP_TES) is refused as yacs does, not left to its default', () => {
    const dir = mkdtempSync(join(tmpdir(), 'higher-pose-config-'));
    try {
      const file = join(dir, 'typo.yaml');
      writeFileSync(file, base.replace('FLIP_TEST: true', 'FLIP_TES: true'));
      expect(() => loadConfigFile(file)).to.throw(ConfigError, `${file}: Unknown key TEST.FLIP_TES. TEST keys are IMAGES_PER_GPU, FLIP_TEST, `);
    } finally {
      rmSync(dir, { recursive: true });
    }
    expect(() => parseConfig(`TSET: {FLIP_TEST: true}\n${base}`)).to.throw(ConfigError, /^Unknown key TSET\. Top-level keys are OUTPUT_DIR, .*TEST/);
    expect(() => parseConfig(`_BASE_: coco.yaml\n${base}`)).to.throw(ConfigError, /^Unknown key _BASE_ \(inheritance, as in detectron2: the reference's yacs has none/);
    expect(() => parseConfig(base.replace('LOSS: {WITH_AE_LOSS: [true, false]}', 'LOSS: [true, false]'))).to.throw(ConfigError, /^LOSS must be a mapping of NUM_STAGES, .*, got \[true,false\]$/);
    // Keys the reference has but inference does not read still load, and MODEL.EXTRA takes any key, as in the reference.
    expect(parseConfig(base.replace('TEST: {', 'TEST: {LOG_PROGRESS: true, IMAGES_PER_GPU: 1, ').replace('STEM_INPLANES: 64', 'STEM_INPLANES: 64, PRETRAINED_LAYERS: ["*"]'))).to.deep.equal(parseConfig(base));
  });
  it('BAD CALL - a configuration of another network (the top-down HRNet\'s pose_hrnet) names MODEL.NAME', () => {
    const topDown = `MODEL: {NAME: pose_hrnet, NUM_JOINTS: 17, IMAGE_SIZE: [192, 256], HEATMAP_SIZE: [48, 64], EXTRA: {FINAL_CONV_KERNEL: 1}}
DATASET: {DATASET: coco, TEST_SET: val2017}
TEST: {FLIP_TEST: true, USE_GT_BBOX: true}
`;
    expect(() => parseConfig(topDown)).to.throw(ConfigError, /^MODEL\.NAME must be pose_higher_hrnet \(HigherHRNet\), got "pose_hrnet"/);
    expect(parseConfig(base.replace('MODEL: {', 'MODEL: {NAME: pose_higher_hrnet, '))).to.deep.equal(parseConfig(base));
  });
  it('BAD CALL - a file\'s test settings that the estimator would refuse are refused at load, naming the file and the YAML key, not an option never given', () => {
    const dir = mkdtempSync(join(tmpdir(), 'higher-pose-config-'));
    try {
      const file = join(dir, 'input500.yaml');
      writeFileSync(file, base.replace('INPUT_SIZE: 512', 'INPUT_SIZE: 500'));
      expect(() => loadConfigFile(file)).to.throw(ConfigError, `${file}: DATASET.INPUT_SIZE must be a positive multiple of 64, got 500`);
    } finally {
      rmSync(dir, { recursive: true });
    }
    expect(() => parseConfig(base.replace('SCALE_FACTOR: [1]', 'SCALE_FACTOR: [0.75, 1]'))).to.throw(ConfigError, /^TEST\.SCALE_FACTOR must be scales that keep every network input side a multiple of 32.*, got \[0\.75,1\]$/);
    expect(() => parseConfig(base.replace('NMS_KERNEL: 5', 'NMS_KERNEL: 3'))).to.throw(ConfigError, /^TEST\.NMS_KERNEL must be 2 \* nmsPadding \+ 1 = 5 .*, got 3$/);
    expect(() => parseConfig(base.replace('WITH_HEATMAPS: [true, true]', 'WITH_HEATMAPS: [false, false]'))).to.throw(ConfigError, /^TEST\.WITH_HEATMAPS must be a list selecting at least one network output/);
  });
  it('YAML is read as the reference\'s PyYAML reads it (YAML 1.1): yes/on are true, no/off false, << merges a mapping', () => {
    const flags = parseConfig(base.replace('FLIP_TEST: true', 'FLIP_TEST: off').replace('ADJUST: true', 'ADJUST: yes').replace('REFINE: true', 'REFINE: On')).test;
    expect(flags).to.include({ flipTest: false, adjust: true, refine: true });
    const merged = base.replace('DETECTION_THRESHOLD: 0.1, TAG_THRESHOLD: 1.0,', '').replace('TEST: {', 'TEST: {<<: {DETECTION_THRESHOLD: 0.3, TAG_THRESHOLD: 2.0}, ');
    expect(parseConfig(merged).test).to.include({ detectionThreshold: 0.3, tagThreshold: 2 });
  });
  it('a file in UTF-16 with its byte-order mark (Windows PowerShell\'s >), or UTF-8 with one and CRLF line ends, reads as in UTF-8', () => {
    const dir = mkdtempSync(join(tmpdir(), 'higher-pose-config-'));
    try {
      const file = join(dir, 'windows.yaml');
      const utf16be = Buffer.from(base, 'utf16le').swap16();
      for (const bytes of [Buffer.from(`\uFEFF${base}`, 'utf16le'), Buffer.concat([Buffer.from([0xfe, 0xff]), utf16be]), Buffer.from(`\uFEFF${base.replace(/\n/g, '\r\n')}`)]) {
        writeFileSync(file, bytes);
        expect(loadConfigFile(file)).to.deep.equal(parseConfig(base));
      }
    } finally {
      rmSync(dir, { recursive: true });
    }
  });
  it('BAD CALL - a binary file given as the configuration (a checkpoint, a gzip, an image) says what it is, in a short line, not its bytes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'higher-pose-config-'));
    try {
      const file = (name: string, bytes: Uint8Array): string => (writeFileSync(join(dir, name), bytes), join(dir, name));
      const zipCheckpoint = Buffer.concat([Buffer.from('PK\x03\x04', 'latin1'), Buffer.alloc(2_000_000)]);
      const cases: [string, RegExp][] = [
        [TINY_COCO_CHECKPOINT(), /: not a YAML text file: it is a Python pickle, as a PyTorch checkpoint is: give it as the weights \(--weights\), not as the configuration$/],
        [file('model.pth', zipCheckpoint), /model\.pth: not a YAML text file: it is a zip archive, as a PyTorch checkpoint is: give it as the weights/],
        [file('w32.yaml.gz', gzipSync(base)), /w32\.yaml\.gz: not a YAML text file: it is gzip-compressed: decompress it \(gunzip\), or give it as <\(zcat FILE\)$/],
        [file('photo.png', await sharp({ create: { width: 8, height: 8, channels: 3, background: 'red' } }).png().toBuffer()), /photo\.png: not a YAML text file: it is a PNG image$/],
        [file('junk.bin', Buffer.from([0x41, 0x3a, 0x20, 0xc3, 0x28, 0xff, 0x00, 0x01])), /junk\.bin: not a YAML text file: it is not UTF-8 \(nor UTF-16 with a byte order mark\) text/],
        [file('nul.yaml', Buffer.from(`${base}\0\x01\x02`)), /nul\.yaml: Not YAML text: it holds the control character U\+0000 at line 12, column 1, which YAML text cannot hold/],
      ];
      for (const [path, message] of cases) {
        expect(() => loadConfigFile(path), path).to.throw(ConfigError, message);
        expect(() => loadConfigFile(path)).to.throw(ConfigError).that.satisfies((e: Error) => e.message.length < 250 && !/[\x00-\x08\x0e-\x1f\ufffd]/.test(e.message));
      }
    } finally {
      rmSync(dir, { recursive: true });
    }
  });
  it('BAD CALL - a huge text file given as the configuration (a 10 MB JSON) is refused by its size at once; a file\'s long values and keys are cut short in errors', function () {
    const dir = mkdtempSync(join(tmpdir(), 'higher-pose-config-'));
    try {
      const annotations = join(dir, 'person_keypoints_val2017.json');
      // Read as YAML, a file like this took minutes, for an 'Unknown key' error megabytes long.
      writeFileSync(annotations, JSON.stringify({ MODEL: Object.fromEntries(Array.from({ length: 100_000 }, (_, i) => [`k${i}`, i])) }));
      const read = bytesReadBy(() => expect(() => loadConfigFile(annotations)).to.throw(ConfigError, /^Cannot read configuration .*person_keypoints_val2017\.json: is \d+ bytes, more than 1 MiB: an experiment configuration is a YAML file of a few KB$/));
      // Refused by its size, not read: its first bytes only (which tell a binary file).
      expect(read).to.be.at.most(64);
      const longKey = join(dir, 'long.yaml');
      writeFileSync(longKey, JSON.stringify({ ['K'.repeat(100_000)]: 1 }));
      expect(() => loadConfigFile(longKey)).to.throw(ConfigError, new RegExp(`^${longKey}: Unknown key K{80}…\\. Top-level keys are OUTPUT_DIR`));
      expect(() => parseConfig(`MODEL: {${Array.from({ length: 1000 }, (_, i) => `W${i}: ${i}`).join(', ')}}`)).to.throw(ConfigError, /^Unknown keys MODEL\.W0, MODEL\.W1, MODEL\.W2, MODEL\.W3, MODEL\.W4 and 995 more\. MODEL keys are NAME/);
      expect(() => parseConfig(base.replace('NUM_JOINTS: 17', `NUM_JOINTS: [${Array.from({ length: 100_000 }, (_, i) => i)}]`))).to.throw(ConfigError, /^MODEL\.NUM_JOINTS must be an integer >= 1, got \[0,1,2,[\d,]+…$/)
        .that.satisfies((e: Error) => e.message.length < 150);
    } finally {
      rmSync(dir, { recursive: true });
    }
  });
  it('BAD CALL - a character device given as the configuration (/dev/zero, a terminal) is refused at once, not read forever', function () {
    if (process.platform === 'win32') this.skip();
    expect(() => loadConfigFile('/dev/zero')).to.throw(ConfigError, 'Cannot read configuration /dev/zero: is a character device (such as /dev/zero or a terminal), not a file or a pipe');
  });
  it('BAD CALL - a preset\'s name given as the configuration file (--config coco_w32_512) says to give it as the preset, not ENOENT', async () => {
    const weights = TINY_COCO_CHECKPOINT();
    expect(() => resolveConfig({ config: 'tiny_coco' })).to.throw(ConfigError, /^config 'tiny_coco' names no file but a preset: give it as preset 'tiny_coco'$/);
    await expectUsageError(cli('predict', DEMO_IMAGE(), '--config', 'tiny_coco', '--weights', weights), /^error: --config tiny_coco names no file but a preset: give it as --preset tiny_coco$/);
    // A file of that name is a configuration file; another missing file stays a file that cannot be read.
    expect(() => resolveConfig({ config: 'tiny_cocoa' })).to.throw(ConfigError, /^Cannot read configuration tiny_cocoa: ENOENT/);
    const dir = mkdtempSync(join(tmpdir(), 'higher-pose-config-'));
    try {
      writeFileSync(join(dir, 'tiny_coco'), base);
      expect(resolveConfig({ config: join(dir, 'tiny_coco') })).to.deep.equal(parseConfig(base));
    } finally {
      rmSync(dir, { recursive: true });
    }
  });
  it('BAD CALL - a configuration file given as the preset says to give it as the configuration', async () => {
    // @ts-expect-error: TypeScript refuses a path as a preset's name; JavaScript callers get the ConfigError.
    expect(() => presetConfig('w32_512.yaml')).to.throw(ConfigError, /^Unsupported preset: w32_512\.yaml\. Must be one of \[coco_w32_512, .*\] \(a configuration file is given as config\)$/);
    await expectUsageError(cli('predict', DEMO_IMAGE(), '--preset', 'configs/w32_512.yml', '--weights', TINY_COCO_CHECKPOINT()),
      /^error: option '--preset <name>' argument 'configs\/w32_512\.yml' is invalid\. Unsupported preset: configs\/w32_512\.yml\. Must be one of \[coco_w32_512, .*\] \(a configuration file is given as --config\)$/);
  });
  it('BAD CALL - not YAML', () => {
    expect(() => parseConfig('MODEL: [unclosed')).to.throw(ConfigError, /YAML/);
  });
  it('BAD CALL - unknown preset lists the valid ones', () => {
    // @ts-expect-error: TypeScript refuses an unknown name; JavaScript callers get the ConfigError.
    expect(() => presetConfig('coco_w64')).to.throw(ConfigError, /Unsupported preset: coco_w64\. Must be one of \[coco_w32_512/);
  });
  it('BAD CALL - test scales that give a network input side off a multiple of 32 name that side, a single scale rounding off too', () => {
    const tiny = presetConfig('tiny_coco');
    // 1856 * 0.01 / 0.01 is 1855.9999999999998 in float64, as in the reference's get_multi_scale_size.
    expect(() => testSettings(tiny, { scales: [0.01] })).to.throw(ConfigError, /^Invalid scales: \[0\.01\]\. Must be scales that keep every network input side a multiple of 32.*; here a 1856-pixel side at scale 0\.01 becomes int\(1856 \* 0\.01 \/ 0\.01\) = 1855 at scale 0\.01, as the reference computes it in floating point$/);
    expect(() => testSettings(tiny, { scales: [0.75, 1] })).to.throw(ConfigError, /here a 64-pixel side at scale 0\.75 becomes int\(64 \* 1 \/ 0\.75\) = 85 at scale 1,/);
    expect(testSettings(tiny, { scales: [2, 1, 0.5] }).scaleFactor).to.deep.equal([2, 1, 0.5]);
  });
});
