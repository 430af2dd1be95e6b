/**
 * Compiles a layer graph and its weights to a TensorFlow.js graph model (the format of
 * `tf.loadGraphModel`): a TensorFlow GraphDef in JSON plus one weight buffer. The same
 * artifacts back the in-process tfjs backend and the `export-tfjs` files, so what is tested
 * is what is shipped.
 *
 * The model takes and returns NCHW like the ONNX export; it computes in NHWC (the only layout
 * tfjs convolutions support on every backend), with transposes at the edges. BatchNorm is
 * folded into the preceding convolution, and a ReLU that is a convolution's only consumer is
 * fused into it. Only ops that every tfjs backend (cpu, wasm, webgl, tfjs-node) implements
 * with these attributes are used; batch, height and width stay dynamic.
 */
import type { BatchNormNode, ConvNode, ConvTransposeNode, LayerGraph, LayerNode } from '../../backbone/graph.js';
import type { Weights } from '../../model/weights.js';
import { batchNormParameters, CompileError, convolutionWeights } from '../fold.js';

/** One GraphDef attribute value, in the JSON form of the TensorFlow protobuf. */
export type AttrValue =
  | { type: DataType }
  | { s: string }
  | { i: string }
  | { f: number }
  | { b: boolean }
  | { list: { i?: string[]; s?: string[] } }
  | { shape: TensorShape }
  | { tensor: { dtype: DataType; tensorShape: TensorShape } };

export interface TensorShape {
  dim: { size: string }[];
}

export type DataType = 'DT_FLOAT' | 'DT_INT32';

export interface GraphNode {
  name: string;
  op: string;
  input?: string[];
  attr?: Record<string, AttrValue>;
}

export interface WeightSpec {
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32';
}

/** What `tf.io.fromMemory` / a custom `tf.io` handler hands to `tf.loadGraphModel`. */
export interface TfjsGraphArtifacts {
  format: 'graph-model';
  generatedBy: string;
  convertedBy: string;
  modelTopology: { node: GraphNode[]; library: Record<string, never>; versions: { producer: number } };
  weightSpecs: WeightSpec[];
  weightData: ArrayBuffer;
  userDefinedMetadata: { description: string; inputName: string; outputNames: string[] };
}

export interface TfjsCompileOptions {
  /** Free text stored in the model's metadata (e.g. the configuration it was built from). */
  description?: string;
}

const base64 = (text: string): string => Buffer.from(text, 'latin1').toString('base64');
const FLOAT = { type: 'DT_FLOAT' } as const;
const INT32 = { type: 'DT_INT32' } as const;
const ints = (values: number[]): AttrValue => ({ list: { i: values.map(String) } });
const str = (value: string): AttrValue => ({ s: base64(value) });
const shapeOf = (dims: number[]): TensorShape => ({ dim: dims.map((d) => ({ size: String(d) })) });

/** PyTorch `[out, in, k, k]` (convolution) or `[in, out, k, k]` (transposed) → tfjs `[k, k, ·, ·]` filters. */
function toTfjsFilter(conv: ConvNode | ConvTransposeNode, data: Float32Array): { shape: number[]; data: Float32Array } {
  const k = conv.kernel;
  // tfjs conv2d filters are [k, k, in, out]; conv2dTranspose filters are [k, k, out, in]:
  // both are the PyTorch tensor with its two channel axes moved last, in the same order.
  const [a, b] = conv.op === 'conv' ? [conv.outChannels, conv.inChannels] : [conv.inChannels, conv.outChannels];
  const out = new Float32Array(data.length);
  for (let i = 0; i < a; i++) {
    for (let j = 0; j < b; j++) {
      for (let y = 0; y < k; y++) {
        for (let x = 0; x < k; x++) out[((y * k + x) * b + j) * a + i] = data[((i * b + j) * k + y) * k + x];
      }
    }
  }
  return { shape: [k, k, b, a], data: out };
}

function consumers(graph: LayerGraph): Map<string, LayerNode[]> {
  const uses = new Map<string, LayerNode[]>();
  for (const n of graph.nodes) {
    for (const input of 'inputs' in n ? n.inputs : [n.input]) uses.set(input, [...(uses.get(input) ?? []), n]);
  }
  return uses;
}

/** Accumulates GraphDef nodes and the constants they read (in one little-endian buffer). */
class GraphDefBuilder {
  readonly nodes: GraphNode[] = [];
  readonly specs: WeightSpec[] = [];
  private readonly chunks: Uint8Array[] = [];

  op(name: string, op: string, input: string[], attr: Record<string, AttrValue> = {}): string {
    this.nodes.push({ name, op, input, attr });
    return name;
  }

  constant(name: string, shape: number[], data: Float32Array | Int32Array): string {
    const dtype = data instanceof Float32Array ? 'float32' : 'int32';
    this.specs.push({ name, shape, dtype });
    this.chunks.push(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    const type = dtype === 'float32' ? FLOAT : INT32;
    return this.op(name, 'Const', [], { dtype: type, value: { tensor: { dtype: type.type, tensorShape: shapeOf(shape) } } });
  }

  int32(name: string, values: number[]): string {
    return this.constant(name, [values.length], Int32Array.from(values));
  }

  weightData(): ArrayBuffer {
    const total = this.chunks.reduce((sum, c) => sum + c.byteLength, 0);
    const bytes = new Uint8Array(total);
    let offset = 0;
    for (const c of this.chunks) {
      bytes.set(c, offset);
      offset += c.byteLength;
    }
    return bytes.buffer;
  }
}

/** A convolution with the BatchNorm and ReLU that directly and solely follow it. */
interface ConvUnit {
  conv: ConvNode | ConvTransposeNode;
  bn?: BatchNormNode;
  relu: boolean;
  /** The layer-graph tensor the unit produces (the last absorbed node's output). */
  output: string;
}

/**
 * Groups each convolution with a following BatchNorm and ReLU when nothing else reads the
 * intermediate tensors; returns the units by convolution output and the absorbed nodes.
 */
function convolutionUnits(graph: LayerGraph): { units: Map<string, ConvUnit>; absorbed: Set<LayerNode> } {
  const uses = consumers(graph);
  const soleConsumer = (name: string): LayerNode | undefined => {
    const readers = uses.get(name) ?? [];
    return readers.length === 1 && !graph.outputs.includes(name) ? readers[0] : undefined;
  };
  const units = new Map<string, ConvUnit>();
  const absorbed = new Set<LayerNode>();
  for (const conv of graph.nodes) {
    if (conv.op !== 'conv' && conv.op !== 'convTranspose') continue;
    const unit: ConvUnit = { conv, relu: false, output: conv.output };
    const next = soleConsumer(conv.output);
    if (next?.op === 'batchNorm') {
      unit.bn = next;
      unit.output = next.output;
      absorbed.add(next);
    }
    const after = soleConsumer(unit.output);
    if (after?.op === 'relu') {
      unit.relu = true;
      unit.output = after.output;
      absorbed.add(after);
    }
    units.set(conv.output, unit);
  }
  return { units, absorbed };
}

/** Emits a convolution unit as tfjs ops; returns the name of its output node. */
function emitConvolution(b: GraphDefBuilder, unit: ConvUnit, input: string, weights: Weights): string {
  const { conv, bn } = unit;
  const folded = convolutionWeights(conv, bn, weights);
  const filter = toTfjsFilter(conv, folded.weight);
  const name = unit.output;
  const filterName = b.constant(`${name}/filter`, filter.shape, filter.data);
  // tfjs fuses an activation into a convolution only behind a bias, and the transposed
  // convolution ends in one: a missing bias is a zero one.
  const needsBias = folded.bias !== undefined || unit.relu || conv.op === 'convTranspose';
  const biasName = needsBias ? b.constant(`${name}/bias`, [conv.outChannels], folded.bias ?? new Float32Array(conv.outChannels)) : undefined;
  const strides = ints([1, conv.stride, conv.stride, 1]);
  const common = { T: FLOAT, strides, data_format: str('NHWC'), dilations: ints([1, 1, 1, 1]) };

  if (conv.op === 'conv') {
    const p = conv.padding;
    // PyTorch pads symmetrically and floors the output size, as tfjs does with explicit padding.
    const padding: Record<string, AttrValue> = p > 0
      ? { padding: str('EXPLICIT'), explicit_paddings: ints([0, 0, p, p, p, p, 0, 0]) }
      : { padding: str('VALID') };
    if (!biasName) return b.op(name, 'Conv2D', [input, filterName], { ...common, ...padding });
    return b.op(name, '_FusedConv2D', [input, filterName, biasName], {
      ...common,
      ...padding,
      fused_ops: { list: { s: ['BiasAdd', ...(unit.relu ? ['Relu'] : [])].map(base64) } },
      num_args: { i: '1' },
      epsilon: { f: 0 },
    });
  }

  // PyTorch's transposed convolution is the full ('VALID') one, size (H−1)·s + k, cropped by
  // `padding` at the start and `padding − output_padding` at the end: size (H−1)·s − 2p + k + op.
  // tfjs-node implements only VALID/SAME here, so crop with a strided slice.
  const { padding: p, outputPadding: op, stride: s, kernel: k } = conv;
  if (op > p) throw new CompileError(`${conv.weight}: output_padding ${op} larger than padding ${p} is not supported`);
  // Output shape of the full transposed convolution from the input's shape, at run time:
  // [N, H, W, ·]·[1, s, s, 0] + [0, k − s, k − s, C_out].
  const shape = b.op(`${name}/input_shape`, 'Shape', [input], { T: FLOAT, out_type: INT32 });
  const scaled = b.op(`${name}/scaled_shape`, 'Mul', [shape, b.int32(`${name}/stride`, [1, s, s, 0])], { T: INT32 });
  const fullShape = b.op(`${name}/full_shape`, 'AddV2', [scaled, b.int32(`${name}/extent`, [0, k - s, k - s, conv.outChannels])], { T: INT32 });
  const full = b.op(`${name}/full`, 'Conv2DBackpropInput', [fullShape, filterName, input], { ...common, padding: str('VALID') });
  const endCrop = p - op;
  // Bit i of a mask makes axis i start (begin_mask) or end (end_mask) at its extent.
  const cropped = b.op(`${name}/cropped`, 'StridedSlice', [
    full,
    b.int32(`${name}/crop_begin`, [0, p, p, 0]),
    b.int32(`${name}/crop_end`, [0, -endCrop, -endCrop, 0]),
    b.int32(`${name}/crop_strides`, [1, 1, 1, 1]),
  ], { T: FLOAT, Index: INT32, ...sliceMasks(0b1001, endCrop === 0 ? 0b1111 : 0b1001) });
  const biased = b.op(unit.relu ? `${name}/biased` : name, 'BiasAdd', [cropped, biasName!], { T: FLOAT, data_format: str('NHWC') });
  return unit.relu ? b.op(name, 'Relu', [biased], { T: FLOAT }) : biased;
}

function sliceMasks(begin: number, end: number): Record<string, AttrValue> {
  return { begin_mask: { i: String(begin) }, end_mask: { i: String(end) }, ellipsis_mask: { i: '0' }, new_axis_mask: { i: '0' }, shrink_axis_mask: { i: '0' } };
}

/**
 * Emits a BatchNorm that no convolution absorbed as a per-channel scale and shift
 * (computed in float64, like the folding).
 */
function emitBatchNorm(b: GraphDefBuilder, n: BatchNormNode, input: string, weights: Weights): string {
  const bn = batchNormParameters(weights, n);
  const scale = new Float32Array(n.channels);
  const shift = new Float32Array(n.channels);
  for (let c = 0; c < n.channels; c++) {
    const s = bn.gamma[c] / Math.sqrt(bn.variance[c] + bn.epsilon);
    scale[c] = s;
    shift[c] = bn.beta[c] - bn.mean[c] * s;
  }
  const scaled = b.op(`${n.output}/scaled`, 'Mul', [input, b.constant(`${n.output}/scale`, [n.channels], scale)], { T: FLOAT });
  return b.op(n.output, 'BiasAdd', [scaled, b.constant(`${n.output}/shift`, [n.channels], shift)], { T: FLOAT, data_format: str('NHWC') });
}

/**
 * Nearest upsampling by an integer factor f. PyTorch reads source index floor(dst / f). tfjs'
 * ResizeNearestNeighbor with half-pixel centres reads floor((dst + 0.5) · in/out), which is the
 * same index for integer f (dst = q·f + r gives q + (r + 0.5)/f with 0 < (r + 0.5)/f < 1) and,
 * unlike the corner-aligned mode, stays at least 0.5/f away from an integer, so float32
 * rounding on GPU/wasm backends cannot move it.
 */
function emitUpsample(b: GraphDefBuilder, name: string, input: string, factor: number): string {
  const shape = b.op(`${name}/input_shape`, 'Shape', [input], { T: FLOAT, out_type: INT32 });
  const size = b.op(`${name}/input_size`, 'StridedSlice', [shape, b.int32(`${name}/size_begin`, [1]), b.int32(`${name}/size_end`, [3]), b.int32(`${name}/size_strides`, [1])], {
    T: INT32, Index: INT32, ...sliceMasks(0, 0),
  });
  const outSize = b.op(`${name}/size`, 'Mul', [size, b.int32(`${name}/factor`, [factor, factor])], { T: INT32 });
  return b.op(name, 'ResizeNearestNeighbor', [input, outSize], { T: FLOAT, align_corners: { b: false }, half_pixel_centers: { b: true } });
}

/** Builds the graph-model artifacts for `graph` with `weights`; outputs are named `output_0..n`. */
export function compileToTfjsGraph(graph: LayerGraph, weights: Weights, options: TfjsCompileOptions = {}): TfjsGraphArtifacts {
  const b = new GraphDefBuilder();
  const { units, absorbed } = convolutionUnits(graph);
  b.op(graph.input, 'Placeholder', [], { dtype: FLOAT, shape: { shape: shapeOf([-1, 3, -1, -1]) } });
  const nhwc = b.op(`${graph.input}/nhwc`, 'Transpose', [graph.input, b.int32(`${graph.input}/to_nhwc`, [0, 2, 3, 1])], { T: FLOAT, Tperm: INT32 });
  // Layer-graph tensor name → GraphDef node computing it (in NHWC).
  const nodeOf = new Map<string, string>([[graph.input, nhwc]]);
  const get = (name: string): string => {
    const node = nodeOf.get(name);
    if (node === undefined) throw new CompileError(`Tensor ${name} is read before it is produced`);
    return node;
  };

  for (const n of graph.nodes) {
    if (absorbed.has(n)) continue;
    switch (n.op) {
      case 'conv':
      case 'convTranspose': {
        const unit = units.get(n.output)!;
        nodeOf.set(unit.output, emitConvolution(b, unit, get(n.input), weights));
        break;
      }
      case 'batchNorm':
        nodeOf.set(n.output, emitBatchNorm(b, n, get(n.input), weights));
        break;
      case 'relu':
        nodeOf.set(n.output, b.op(n.output, 'Relu', [get(n.input)], { T: FLOAT }));
        break;
      case 'add':
        nodeOf.set(n.output, b.op(n.output, 'AddV2', n.inputs.map(get), { T: FLOAT }));
        break;
      case 'concat': {
        const axis = b.constant(`${n.output}/axis`, [], Int32Array.of(3));
        nodeOf.set(n.output, b.op(n.output, 'ConcatV2', [...n.inputs.map(get), axis], { T: FLOAT, N: { i: String(n.inputs.length) }, Tidx: INT32 }));
        break;
      }
      case 'upsample':
        nodeOf.set(n.output, emitUpsample(b, n.output, get(n.input), n.factor));
        break;
    }
  }

  const outputNames = graph.outputs.map((name, i) => {
    const perm = b.int32(`output_${i}/to_nchw`, [0, 3, 1, 2]);
    return b.op(`output_${i}`, 'Transpose', [get(name), perm], { T: FLOAT, Tperm: INT32 });
  });
  return {
    format: 'graph-model',
    generatedBy: 'higher-pose',
    convertedBy: 'higher-pose compileToTfjsGraph',
    modelTopology: { node: b.nodes, library: {}, versions: { producer: 1 } },
    weightSpecs: b.specs,
    weightData: b.weightData(),
    userDefinedMetadata: { description: options.description ?? '', inputName: graph.input, outputNames },
  };
}
