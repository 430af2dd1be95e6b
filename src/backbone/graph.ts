/**
 * The layer graph: the single description of the network that every backend compiles.
 * Nodes are in execution order; tensors are named by strings; parameters are named
 * exactly as in the official PyTorch `state_dict`, so a checkpoint maps onto the graph
 * by name.
 */

export interface ConvNode {
  op: 'conv';
  input: string;
  output: string;
  /** State-dict name of the weight, `[out, in, k, k]`. */
  weight: string;
  /** State-dict name of the bias, when the layer has one. */
  bias?: string;
  inChannels: number;
  outChannels: number;
  kernel: number;
  stride: number;
  padding: number;
}

export interface ConvTransposeNode {
  op: 'convTranspose';
  input: string;
  output: string;
  /** State-dict name of the weight, `[in, out, k, k]` as PyTorch stores it. */
  weight: string;
  inChannels: number;
  outChannels: number;
  kernel: number;
  stride: number;
  padding: number;
  outputPadding: number;
}

export interface BatchNormNode {
  op: 'batchNorm';
  input: string;
  output: string;
  /** State-dict prefix: `<prefix>.weight|bias|running_mean|running_var`. */
  prefix: string;
  channels: number;
  epsilon: number;
}

export interface ReluNode {
  op: 'relu';
  input: string;
  output: string;
}

export interface AddNode {
  op: 'add';
  inputs: [string, string];
  output: string;
}

/** Nearest-neighbour upsampling by an integer factor (PyTorch `Upsample(mode='nearest')`). */
export interface UpsampleNode {
  op: 'upsample';
  input: string;
  output: string;
  factor: number;
}

/** Concatenation along the channel axis. */
export interface ConcatNode {
  op: 'concat';
  inputs: string[];
  output: string;
}

export type LayerNode = ConvNode | ConvTransposeNode | BatchNormNode | ReluNode | AddNode | UpsampleNode | ConcatNode;

export interface ParameterSpec {
  name: string;
  shape: number[];
  /** Buffers (BatchNorm running statistics) are in the state dict but are not trained parameters. */
  kind: 'parameter' | 'buffer';
}

export interface LayerGraph {
  /** Name of the NCHW RGB input tensor. */
  input: string;
  nodes: LayerNode[];
  /** Names of the network outputs, in the reference order. */
  outputs: string[];
  /** Every state-dict tensor the graph reads (plus BatchNorm's `num_batches_tracked`), in order. */
  parameters: ParameterSpec[];
}

const BATCH_NORM_EPSILON = 1e-5;

/**
 * Accumulates nodes and their parameters. Tensor names are derived from the state-dict
 * prefix of the layer that produces them, which keeps exported graphs readable.
 */
export class GraphBuilder {
  readonly nodes: LayerNode[] = [];
  readonly parameters: ParameterSpec[] = [];
  private readonly used = new Set<string>();

  constructor(readonly input = 'image') {}

  private fresh(base: string): string {
    let name = base;
    for (let i = 1; this.used.has(name); i++) name = `${base}_${i}`;
    this.used.add(name);
    return name;
  }

  private param(name: string, shape: number[], kind: ParameterSpec['kind'] = 'parameter'): string {
    this.parameters.push({ name, shape, kind });
    return name;
  }

  conv(input: string, prefix: string, o: { inChannels: number; outChannels: number; kernel: number; stride?: number; padding?: number; bias?: boolean }): string {
    const output = this.fresh(prefix);
    const weight = this.param(`${prefix}.weight`, [o.outChannels, o.inChannels, o.kernel, o.kernel]);
    const bias = o.bias ? this.param(`${prefix}.bias`, [o.outChannels]) : undefined;
    this.nodes.push({
      op: 'conv', input, output, weight, bias,
      inChannels: o.inChannels, outChannels: o.outChannels, kernel: o.kernel, stride: o.stride ?? 1, padding: o.padding ?? 0,
    });
    return output;
  }

  convTranspose(input: string, prefix: string, o: { inChannels: number; outChannels: number; kernel: number; stride: number; padding: number; outputPadding: number }): string {
    const output = this.fresh(prefix);
    const weight = this.param(`${prefix}.weight`, [o.inChannels, o.outChannels, o.kernel, o.kernel]);
    this.nodes.push({ op: 'convTranspose', input, output, weight, ...o });
    return output;
  }

  batchNorm(input: string, prefix: string, channels: number): string {
    const output = this.fresh(prefix);
    this.param(`${prefix}.weight`, [channels]);
    this.param(`${prefix}.bias`, [channels]);
    this.param(`${prefix}.running_mean`, [channels], 'buffer');
    this.param(`${prefix}.running_var`, [channels], 'buffer');
    this.param(`${prefix}.num_batches_tracked`, [], 'buffer');
    this.nodes.push({ op: 'batchNorm', input, output, prefix, channels, epsilon: BATCH_NORM_EPSILON });
    return output;
  }

  relu(input: string): string {
    const output = this.fresh(`${input}.relu`);
    this.nodes.push({ op: 'relu', input, output });
    return output;
  }

  add(a: string, b: string, name: string): string {
    const output = this.fresh(name);
    this.nodes.push({ op: 'add', inputs: [a, b], output });
    return output;
  }

  upsample(input: string, factor: number): string {
    const output = this.fresh(`${input}.up${factor}`);
    this.nodes.push({ op: 'upsample', input, output, factor });
    return output;
  }

  concat(inputs: string[], name: string): string {
    const output = this.fresh(name);
    this.nodes.push({ op: 'concat', inputs, output });
    return output;
  }

  /** Convolution followed by BatchNorm: the unit almost every layer of HRNet is made of. */
  convBn(input: string, convPrefix: string, bnPrefix: string, o: { inChannels: number; outChannels: number; kernel: number; stride?: number; padding?: number }): string {
    return this.batchNorm(this.conv(input, convPrefix, o), bnPrefix, o.outChannels);
  }

  finish(outputs: string[]): LayerGraph {
    return { input: this.input, nodes: this.nodes, outputs, parameters: this.parameters };
  }
}

/** Number of trained parameters (the figure PyTorch's `sum(p.numel())` reports). */
export function parameterCount(graph: LayerGraph): number {
  return graph.parameters
    .filter((p) => p.kind === 'parameter')
    .reduce((sum, p) => sum + p.shape.reduce((a, b) => a * b, 1), 0);
}
