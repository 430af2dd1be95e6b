/**
 * The HRNet backbone as a layer graph: stem, bottleneck stage 1, then stages of parallel
 * multi-resolution branches with repeated fusion. Layer names and the order of operations
 * follow the reference `PoseHigherResolutionNet` so that official checkpoints load by name.
 */
import type { BlockType, ModelSpec, StageSpec } from '../config/experiment.js';
import type { GraphBuilder } from './graph.js';

const EXPANSION: Record<BlockType, number> = { BASIC: 1, BOTTLENECK: 4 };

/** Stage 1 is fixed in the reference: four bottlenecks of width 64. */
const STAGE1_BLOCKS = 4;
/** Channels of the stem's two convolutions: 64 in the reference, whatever MODEL.EXTRA.STEM_INPLANES says (it is not read). */
const STEM_CHANNELS = 64;
const STAGE1_PLANES = 64;

/** BasicBlock: two 3x3 conv-BN, identity or 1x1 projection shortcut, ReLU after the sum. */
function basicBlock(g: GraphBuilder, x: string, prefix: string, inChannels: number, planes: number, stride = 1): string {
  let y = g.relu(g.convBn(x, `${prefix}.conv1`, `${prefix}.bn1`, { inChannels, outChannels: planes, kernel: 3, stride, padding: 1 }));
  y = g.convBn(y, `${prefix}.conv2`, `${prefix}.bn2`, { inChannels: planes, outChannels: planes, kernel: 3, padding: 1 });
  const shortcut = stride !== 1 || inChannels !== planes
    ? g.convBn(x, `${prefix}.downsample.0`, `${prefix}.downsample.1`, { inChannels, outChannels: planes, kernel: 1, stride })
    : x;
  return g.relu(g.add(y, shortcut, `${prefix}.sum`));
}

/** Bottleneck: 1x1 reduce, 3x3, 1x1 expand (x4), projection shortcut when shapes change. */
function bottleneck(g: GraphBuilder, x: string, prefix: string, inChannels: number, planes: number, stride = 1): string {
  const out = planes * EXPANSION.BOTTLENECK;
  let y = g.relu(g.convBn(x, `${prefix}.conv1`, `${prefix}.bn1`, { inChannels, outChannels: planes, kernel: 1 }));
  y = g.relu(g.convBn(y, `${prefix}.conv2`, `${prefix}.bn2`, { inChannels: planes, outChannels: planes, kernel: 3, stride, padding: 1 }));
  y = g.convBn(y, `${prefix}.conv3`, `${prefix}.bn3`, { inChannels: planes, outChannels: out, kernel: 1 });
  const shortcut = stride !== 1 || inChannels !== out
    ? g.convBn(x, `${prefix}.downsample.0`, `${prefix}.downsample.1`, { inChannels, outChannels: out, kernel: 1, stride })
    : x;
  return g.relu(g.add(y, shortcut, `${prefix}.sum`));
}

/** A run of residual blocks; the first may change the channel count. Returns the output channels too. */
export function residualBlocks(g: GraphBuilder, x: string, prefix: string, block: BlockType, inChannels: number, planes: number, count: number): [string, number] {
  const make = block === 'BASIC' ? basicBlock : bottleneck;
  let channels = inChannels;
  for (let i = 0; i < count; i++) {
    x = make(g, x, `${prefix}.${i}`, channels, planes);
    channels = planes * EXPANSION[block];
  }
  return [x, channels];
}

/**
 * Transition between stages: existing branches are re-projected (3x3) only when their
 * width changes; each new, lower-resolution branch is made from the previous stage's last
 * branch by strided 3x3 convolutions.
 */
function transition(g: GraphBuilder, inputs: string[], prefix: string, previous: number[], current: number[]): string[] {
  return current.map((channels, i) => {
    if (i < previous.length) {
      if (channels === previous[i]) return inputs[i];
      return g.relu(g.convBn(inputs[i], `${prefix}.${i}.0`, `${prefix}.${i}.1`, { inChannels: previous[i], outChannels: channels, kernel: 3, padding: 1 }));
    }
    let x = inputs[inputs.length - 1];
    let inChannels = previous[previous.length - 1];
    const steps = i + 1 - previous.length;
    for (let j = 0; j < steps; j++) {
      const outChannels = j === steps - 1 ? channels : inChannels;
      x = g.relu(g.convBn(x, `${prefix}.${i}.${j}.0`, `${prefix}.${i}.${j}.1`, { inChannels, outChannels, kernel: 3, stride: 2, padding: 1 }));
      inChannels = outChannels;
    }
    return x;
  });
}

/**
 * Fusion into branch i: higher-resolution branches j < i come down through strided 3x3
 * convolutions (ReLU between, none after the last), lower-resolution branches j > i come up
 * through a 1x1 convolution and nearest upsampling; all are summed, then ReLU.
 */
function fuse(g: GraphBuilder, branches: string[], channels: number[], prefix: string, i: number): string {
  const term = (j: number): string => {
    if (j === i) return branches[j];
    const p = `${prefix}.${i}.${j}`;
    if (j > i) {
      const y = g.convBn(branches[j], `${p}.0`, `${p}.1`, { inChannels: channels[j], outChannels: channels[i], kernel: 1 });
      return g.upsample(y, 2 ** (j - i));
    }
    let y = branches[j];
    for (let k = 0; k < i - j; k++) {
      const last = k === i - j - 1;
      const outChannels = last ? channels[i] : channels[j];
      y = g.convBn(y, `${p}.${k}.0`, `${p}.${k}.1`, { inChannels: channels[j], outChannels, kernel: 3, stride: 2, padding: 1 });
      if (!last) y = g.relu(y);
    }
    return y;
  };
  let sum = term(0);
  for (let j = 1; j < branches.length; j++) sum = g.add(sum, term(j), `${prefix}.${i}.sum`);
  return g.relu(sum);
}

/** One high-resolution module: residual blocks per branch, then fusion. */
function hrModule(g: GraphBuilder, inputs: string[], inChannels: number[], spec: StageSpec, prefix: string, multiScaleOutput: boolean): [string[], number[]] {
  const branches: string[] = [];
  const channels: number[] = [];
  for (let b = 0; b < spec.numBranches; b++) {
    const [y, c] = residualBlocks(g, inputs[b], `${prefix}.branches.${b}`, spec.block, inChannels[b], spec.numChannels[b], spec.numBlocks[b]);
    branches.push(y);
    channels.push(c);
  }
  if (spec.numBranches === 1) return [branches, channels];
  const outputs = multiScaleOutput ? branches.length : 1;
  const fused: string[] = [];
  for (let i = 0; i < outputs; i++) fused.push(fuse(g, branches, channels, `${prefix}.fuse_layers`, i));
  return [fused, channels.slice(0, outputs)];
}

/**
 * Builds the backbone into `g` and returns the highest-resolution feature map of the last
 * stage (1/4 of the input) and its channel count. As in the reference, only the last
 * module of the last stage stops producing the lower-resolution outputs.
 */
export function buildBackbone(g: GraphBuilder, model: ModelSpec): { features: string; channels: number } {
  let x = g.relu(g.convBn(g.input, 'conv1', 'bn1', { inChannels: 3, outChannels: STEM_CHANNELS, kernel: 3, stride: 2, padding: 1 }));
  x = g.relu(g.convBn(x, 'conv2', 'bn2', { inChannels: STEM_CHANNELS, outChannels: STEM_CHANNELS, kernel: 3, stride: 2, padding: 1 }));
  const [stage1, stage1Channels] = residualBlocks(g, x, 'layer1', 'BOTTLENECK', STEM_CHANNELS, STAGE1_PLANES, STAGE1_BLOCKS);

  let features = [stage1];
  let channels = [stage1Channels];
  model.stages.forEach((spec, s) => {
    const wanted = spec.numChannels.map((c) => c * EXPANSION[spec.block]);
    features = transition(g, features, `transition${s + 1}`, channels, wanted);
    channels = wanted;
    const lastStage = s === model.stages.length - 1;
    for (let m = 0; m < spec.numModules; m++) {
      const multiScale = !(lastStage && m === spec.numModules - 1);
      [features, channels] = hrModule(g, features, channels, spec, `stage${s + 2}.${m}`, multiScale);
    }
  });
  return { features: features[0], channels: channels[0] };
}
