/**
 * Compiles a layer graph and its weights to an ONNX model: BatchNorm folded into the
 * preceding convolution, dynamic batch/height/width, outputs named `output_0..n`.
 */
import type { BatchNormNode, ConvNode, ConvTransposeNode, LayerGraph, LayerNode } from '../../backbone/graph.js';
import type { Weights } from '../../model/weights.js';
import { batchNormParameters, CompileError, convolutionWeights } from '../fold.js';
import { dynamicImageValue, floatTensor, intAttr, intsAttr, node, onnx, stringAttr, type NodeProto, type TensorProto } from './proto.js';

/** ONNX opset the emitted models use (Resize-13 semantics; supported by every current runtime). */
const OPSET = 17;

export interface CompileOptions {
  /** Free text stored in the model's doc string (e.g. the configuration it was built from). */
  description?: string;
}

/** Emits one convolution (plain or transposed), with the BatchNorm that follows it folded in. */
function emitConvolution(conv: ConvNode | ConvTransposeNode, bn: BatchNormNode | undefined, weights: Weights, output: string, initializers: TensorProto[]): NodeProto {
  const folded = convolutionWeights(conv, bn, weights);
  const k = conv.kernel;
  const weightName = bn ? `${conv.weight}+${bn.prefix}` : conv.weight;
  initializers.push(floatTensor(weightName, folded.shape, folded.weight));
  const inputs = [conv.input, weightName];
  if (folded.bias) {
    const biasName = `${weightName}.bias`;
    initializers.push(floatTensor(biasName, [folded.bias.length], folded.bias));
    inputs.push(biasName);
  }
  const common = [
    intsAttr('kernel_shape', [k, k]),
    intsAttr('strides', [conv.stride, conv.stride]),
    intsAttr('pads', [conv.padding, conv.padding, conv.padding, conv.padding]),
  ];
  if (conv.op === 'conv') return node('Conv', inputs, [output], common);
  return node('ConvTranspose', inputs, [output], [...common, intsAttr('output_padding', [conv.outputPadding, conv.outputPadding])]);
}

function consumers(graph: LayerGraph): Map<string, number> {
  const count = new Map<string, number>();
  for (const n of graph.nodes) {
    for (const input of 'inputs' in n ? n.inputs : [n.input]) count.set(input, (count.get(input) ?? 0) + 1);
  }
  return count;
}

/** Builds the ONNX model proto for `graph` with `weights`. */
export function compileToOnnx(graph: LayerGraph, weights: Weights, options: CompileOptions = {}): Uint8Array {
  const outputNames = new Map(graph.outputs.map((name, i) => [name, `output_${i}`]));
  const rename = (name: string): string => outputNames.get(name) ?? name;
  const uses = consumers(graph);
  const producers = new Map<string, LayerNode>(graph.nodes.map((n) => [n.output, n]));
  const normalised = new Set(graph.nodes.filter((n) => n.op === 'batchNorm').map((n) => (n as BatchNormNode).input));
  const nodes: NodeProto[] = [];
  const initializers: TensorProto[] = [];
  // Convolutions whose single consumer is a BatchNorm are emitted when the BatchNorm is reached.
  const deferred = new Set<string>();

  for (const n of graph.nodes) {
    const out = rename(n.output);
    switch (n.op) {
      case 'conv':
      case 'convTranspose': {
        if (normalised.has(n.output) && uses.get(n.output) === 1 && !graph.outputs.includes(n.output)) {
          deferred.add(n.output);
        } else {
          nodes.push(emitConvolution(n, undefined, weights, out, initializers));
        }
        break;
      }
      case 'batchNorm': {
        const conv = producers.get(n.input);
        if (conv && deferred.has(n.input) && (conv.op === 'conv' || conv.op === 'convTranspose')) {
          nodes.push(emitConvolution(conv, n, weights, out, initializers));
        } else {
          const p = batchNormParameters(weights, n);
          const names = ['scale', 'bias', 'mean', 'var'].map((s) => `${n.prefix}.${s}`);
          [p.gamma, p.beta, p.mean, p.variance].forEach((data, i) => initializers.push(floatTensor(names[i], [n.channels], data)));
          nodes.push(node('BatchNormalization', [rename(n.input), ...names], [out], [{ name: 'epsilon', type: onnx.AttributeProto.AttributeType.FLOAT, f: n.epsilon }]));
        }
        break;
      }
      case 'relu':
        nodes.push(node('Relu', [rename(n.input)], [out]));
        break;
      case 'add':
        nodes.push(node('Add', n.inputs.map(rename), [out]));
        break;
      case 'concat':
        nodes.push(node('Concat', n.inputs.map(rename), [out], [intAttr('axis', 1)]));
        break;
      case 'upsample': {
        // PyTorch nearest upsampling by an integer factor picks source index floor(dst / factor).
        const scales = `${out}.scales`;
        initializers.push(floatTensor(scales, [4], new Float32Array([1, 1, n.factor, n.factor])));
        nodes.push(node('Resize', [rename(n.input), '', scales], [out], [
          stringAttr('mode', 'nearest'),
          stringAttr('coordinate_transformation_mode', 'asymmetric'),
          stringAttr('nearest_mode', 'floor'),
        ]));
        break;
      }
    }
  }
  const finalChannels = graph.outputs.map((name) => {
    const producer = producers.get(name);
    if (!producer || producer.op !== 'conv') throw new CompileError(`Output ${name} must be produced by a convolution`);
    return producer.outChannels;
  });
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'higher-pose',
    docString: options.description ?? '',
    opsetImport: [{ domain: '', version: OPSET }],
    graph: {
      name: 'higher_hrnet',
      node: nodes,
      initializer: initializers,
      input: [dynamicImageValue(graph.input, 3)],
      output: graph.outputs.map((name, i) => dynamicImageValue(rename(name), finalChannels[i])),
    },
  });
  return onnx.ModelProto.encode(model).finish();
}
