/**
 * Static int8 quantization of a float ONNX model emitted by `compileToOnnx`: QuantizeLinear /
 * DequantizeLinear pairs placed where ONNX Runtime's QDQ transformers turn them into integer
 * kernels. Activations are uint8 per tensor (ranges from calibration), convolution weights
 * int8 symmetric per output channel, biases int32 at the scale input × weight.
 *
 * Placement, per activation `t` read by a quantizable operator: `producer → t → Q → DQ →
 * consumers`. A `Conv → Q` (or `Conv → Relu → Q`: ORT drops a Relu before a Q whose zero point
 * is 0) with DQ inputs becomes QLinearConv, `DQ, DQ → Add → Q` QLinearAdd, `DQ… → Concat → Q`
 * QLinearConcat, `DQ → Resize → Q` with equal parameters a uint8 Resize. A convolution whose
 * output is also a network output computes in float on its dequantized input, so the outputs
 * are not rounded to 8 bits; so does ConvTranspose, which has no int8 kernel on the CPU.
 * (ORT itself then rounds the weights of both to int8 and dequantizes them on the fly.)
 */
import { floatTensor, floatValue, integerTensor, intAttr, node, onnx, type GraphProto, type ModelProto, type NodeProto, type TensorProto } from './proto.js';

export class QuantizationError extends Error {
  override name = 'QuantizationError';
}

/** Observed value range of one activation tensor. */
export interface ActivationRange {
  min: number;
  max: number;
}

export type ActivationRanges = ReadonlyMap<string, ActivationRange>;

export interface QuantizeOptions {
  /**
   * 8 (default): weights in [-127, 127]. 7: weights in [-64, 64], so that x86 CPUs without VNNI,
   * whose u8·s8 kernels add pairs of products in 16 bits, cannot saturate.
   */
  weightBits?: 7 | 8 | undefined;
}

/** The data inputs (not weights, not Resize's scales) that an operator reads quantized. */
function quantizedInputs(n: NodeProto): string[] {
  const inputs = n.input ?? [];
  switch (n.opType) {
    case 'Conv':
    case 'ConvTranspose':
    case 'Resize':
      return inputs.slice(0, 1);
    case 'Add':
    case 'Concat':
      return inputs;
    default:
      return [];
  }
}

const QUANTIZED_OPS = new Set(['QuantizeLinear', 'DequantizeLinear', 'QLinearConv', 'ConvInteger', 'MatMulInteger', 'QLinearMatMul']);

function decode(model: Uint8Array): { proto: ModelProto; graph: GraphProto } {
  let proto: ModelProto;
  try {
    proto = onnx.ModelProto.decode(model);
  } catch (err) {
    throw new QuantizationError(`not a valid ONNX model (protobuf: ${(err as Error).message})`);
  }
  if (!proto.graph) throw new QuantizationError('not a valid ONNX model (it has no graph)');
  return { proto, graph: proto.graph };
}

function hasQuantizedOps(graph: GraphProto): boolean {
  return (graph.node ?? []).some((n) => QUANTIZED_OPS.has(n.opType ?? ''));
}

/**
 * Whether `bytes` are an ONNX model (a ModelProto with a graph of nodes), not a checkpoint: its
 * first field is ir_version (tag 0x08), where a checkpoint starts with a zip, pickle or
 * safetensors header that protobuf would not take, or would take for something else.
 */
export function isOnnxModelBytes(bytes: Uint8Array): boolean {
  if (bytes[0] !== 0x08) return false;
  try {
    return (decode(bytes).graph.node ?? []).length > 0;
  } catch {
    return false;
  }
}

/**
 * Whether an ONNX model keeps weights in files beside it (`onnx.save(..., save_as_external_data=True)`),
 * which ONNX Runtime finds from the model's path only: from its bytes it looks in the working folder.
 */
export function keepsExternalData(model: Uint8Array): boolean {
  return (decode(model).graph.initializer ?? []).some((t) => t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL);
}

/** Whether a model already holds quantized operators (it is then run as it is). */
export function isQuantizedModel(model: Uint8Array): boolean {
  return hasQuantizedOps(decode(model).graph);
}

/**
 * The activation tensors whose ranges quantization needs (inputs of quantizable operators
 * that are not constants), in the order the graph produces them.
 */
export function quantizedActivations(model: Uint8Array): string[] {
  return activationsOf(decode(model).graph);
}

function activationsOf(graph: GraphProto): string[] {
  const constants = new Set((graph.initializer ?? []).map((t) => t.name ?? ''));
  const read = new Set((graph.node ?? []).flatMap(quantizedInputs).filter((name) => name !== '' && !constants.has(name)));
  const produced = [...(graph.input ?? []).map((v) => v.name ?? ''), ...(graph.node ?? []).flatMap((n) => n.output ?? [])];
  return produced.filter((name) => read.has(name));
}

/** Output names under which `withRangeOutputs` reports the range of `tensor`. */
export function rangeOutputNames(tensor: string): { min: string; max: string } {
  return { min: `${tensor}_observed_min`, max: `${tensor}_observed_max` };
}

/**
 * The model with the minimum and maximum of each of `names` as extra scalar outputs (see
 * `rangeOutputNames`): what calibration runs.
 *
 * The reductions are appended in reverse order of `names`. ONNX Runtime orders execution by a
 * depth-first walk up from the graph's leaves, taking the leaf listed last first: so the first
 * reduction runs right after its tensor is made, the next one pulls in the nodes up to its own,
 * and so on. Each intermediate can then be freed as in an inference, instead of living until
 * reductions that run after the whole network.
 */
export function withRangeOutputs(model: Uint8Array, names: readonly string[]): Uint8Array {
  const { proto, graph } = decode(model);
  const reductions = [...names].reverse().flatMap((t) => {
    const out = rangeOutputNames(t);
    return [node('ReduceMax', [t], [out.max], [intAttr('keepdims', 0)]), node('ReduceMin', [t], [out.min], [intAttr('keepdims', 0)])];
  });
  graph.node = [...(graph.node ?? []), ...reductions];
  graph.output = [...(graph.output ?? []), ...names.flatMap((t) => Object.values(rangeOutputNames(t)).map(floatValue))];
  return onnx.ModelProto.encode(proto).finish();
}

/** uint8 affine parameters covering `range` and 0 (so that zero padding and ReLU's zero are exact). */
export function activationParameters(range: ActivationRange): { scale: number; zeroPoint: number } {
  const min = Math.min(range.min, 0);
  const max = Math.max(range.max, 0);
  if (!Number.isFinite(min) || !Number.isFinite(max)) throw new QuantizationError(`Range [${range.min}, ${range.max}] is not finite`);
  // A tensor that is zero everywhere still needs a positive scale.
  const scale = max > min ? Math.fround((max - min) / 255) : 1;
  const zeroPoint = Math.min(255, Math.max(0, Math.round(-min / scale)));
  return { scale, zeroPoint };
}

function floatData(t: TensorProto): Float32Array {
  if (t.dataType !== onnx.TensorProto.DataType.FLOAT) throw new QuantizationError(`Initializer ${t.name} is not float32`);
  if (t.rawData && t.rawData.length > 0) {
    // Copy: the decoded bytes need not be aligned for a Float32Array view.
    const bytes = new Uint8Array(t.rawData);
    return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
  }
  return Float32Array.from(t.floatData ?? []);
}

interface QuantizedWeight {
  values: Int8Array;
  scales: Float32Array;
}

/** Symmetric per-output-channel quantization of a `[out, …]` weight. */
export function quantizeWeight(weight: Float32Array, outChannels: number, bits: 7 | 8): QuantizedWeight {
  const limit = bits === 8 ? 127 : 64;
  const perChannel = weight.length / outChannels;
  const values = new Int8Array(weight.length);
  const scales = new Float32Array(outChannels);
  for (let c = 0; c < outChannels; c++) {
    let largest = 0;
    for (let i = c * perChannel; i < (c + 1) * perChannel; i++) largest = Math.max(largest, Math.abs(weight[i]));
    const scale = largest > 0 ? Math.fround(largest / limit) : 1;
    scales[c] = scale;
    for (let i = c * perChannel; i < (c + 1) * perChannel; i++) values[i] = Math.max(-limit, Math.min(limit, Math.round(weight[i] / scale)));
  }
  return { values, scales };
}

/** int32 bias at scale `inputScale × weightScale[c]`, or undefined when a value does not fit. */
function quantizeBias(bias: Float32Array, inputScale: number, weightScales: Float32Array): { values: Int32Array; scales: Float32Array } | undefined {
  const scales = weightScales.map((s) => inputScale * s);
  const values = new Int32Array(bias.length);
  for (let c = 0; c < bias.length; c++) {
    const q = Math.round(bias[c] / scales[c]);
    if (Math.abs(q) > 2 ** 31 - 1) return undefined;
    values[c] = q;
  }
  return { values, scales };
}

/**
 * The int8 QDQ model for a float model and the calibrated ranges of its
 * `quantizedActivations`. The network outputs stay float.
 */
export function quantizeModel(model: Uint8Array, ranges: ActivationRanges, options: QuantizeOptions = {}): Uint8Array {
  const weightBits = options.weightBits ?? 8;
  const { proto, graph } = decode(model);
  if (hasQuantizedOps(graph)) throw new QuantizationError('The model is already quantized');
  const nodes = graph.node ?? [];
  const initializers = new Map((graph.initializer ?? []).map((t) => [t.name ?? '', t]));
  const graphOutputs = new Set((graph.output ?? []).map((v) => v.name ?? ''));
  const activations = new Set(activationsOf(graph));
  const consumers = new Map<string, NodeProto[]>();
  for (const n of nodes) for (const input of n.input ?? []) consumers.set(input, [...(consumers.get(input) ?? []), n]);
  const producers = new Map(nodes.flatMap((n) => (n.output ?? []).map((o) => [o, n] as const)));

  // Parameters per activation; a nearest Resize keeps its input's (ORT then drops its Q/DQ).
  const parameterNames = new Map<string, { scale: string; zeroPoint: string; scaleValue: number }>();
  const added: TensorProto[] = [];
  for (const name of activations) {
    const producer = producers.get(name);
    const source = producer?.opType === 'Resize' ? parameterNames.get(producer.input![0]) : undefined;
    if (source) {
      parameterNames.set(name, source);
      continue;
    }
    const range = ranges.get(name);
    if (!range) throw new QuantizationError(`No calibrated range for tensor ${name}`);
    const { scale, zeroPoint } = activationParameters(range);
    const names = { scale: `${name}_scale`, zeroPoint: `${name}_zero_point`, scaleValue: scale };
    added.push(floatTensor(names.scale, [], new Float32Array([scale])));
    added.push(integerTensor(names.zeroPoint, [], new Uint8Array([zeroPoint])));
    parameterNames.set(name, names);
  }

  // Read only by quantized consumers: after rewriting, its one consumer is its Q.
  const requantizedOnly = (t: string): boolean =>
    activations.has(t) && !graphOutputs.has(t) && (consumers.get(t) ?? []).every((c) => quantizedInputs(c).includes(t));
  // ORT fuses Conv into QLinearConv only when the output (or its ReLU's) goes to a Q alone.
  const outputQuantized = (conv: NodeProto): boolean => {
    const out = conv.output![0];
    if (requantizedOnly(out)) return true;
    const next = consumers.get(out) ?? [];
    return !graphOutputs.has(out) && next.length === 1 && next[0].opType === 'Relu' && requantizedOnly(next[0].output![0]);
  };

  const quantizedInitializers = new Set<string>();
  const emitted: NodeProto[] = [];
  const dequantized = (t: string): string => `${t}_dequantized`;
  const emitQdq = (t: string): void => {
    const p = parameterNames.get(t)!;
    emitted.push(node('QuantizeLinear', [t, p.scale, p.zeroPoint], [`${t}_quantized`]));
    emitted.push(node('DequantizeLinear', [`${t}_quantized`, p.scale, p.zeroPoint], [dequantized(t)]));
  };
  /** The convolution's inputs with its int8 weight and int32 bias dequantized; undefined when the bias does not fit int32. */
  const emitIntegerWeights = (conv: NodeProto): string[] | undefined => {
    const [x, w, b] = conv.input!;
    const weight = initializers.get(w);
    if (!weight) return undefined;
    const outChannels = Number(weight.dims![0]);
    const q = quantizeWeight(floatData(weight), outChannels, weightBits);
    const bias = b ? initializers.get(b) : undefined;
    const qb = bias ? quantizeBias(floatData(bias), parameterNames.get(x)!.scaleValue, q.scales) : undefined;
    if (bias && !qb) return undefined;
    const axis = [intAttr('axis', 0)];
    const dims = weight.dims!.map(Number);
    added.push(integerTensor(`${w}_quantized`, dims, q.values));
    added.push(floatTensor(`${w}_scale`, [outChannels], q.scales));
    added.push(integerTensor(`${w}_zero_point`, [outChannels], new Int8Array(outChannels)));
    emitted.push(node('DequantizeLinear', [`${w}_quantized`, `${w}_scale`, `${w}_zero_point`], [dequantized(w)], axis));
    quantizedInitializers.add(w);
    const inputs = [dequantized(x), dequantized(w)];
    if (b && qb) {
      added.push(integerTensor(`${b}_quantized`, [outChannels], qb.values));
      added.push(floatTensor(`${b}_scale`, [outChannels], qb.scales));
      added.push(integerTensor(`${b}_zero_point`, [outChannels], new Int32Array(outChannels)));
      emitted.push(node('DequantizeLinear', [`${b}_quantized`, `${b}_scale`, `${b}_zero_point`], [dequantized(b)], axis));
      quantizedInitializers.add(b);
      inputs.push(dequantized(b));
    }
    return inputs;
  };

  for (const input of graph.input ?? []) if (activations.has(input.name ?? '')) emitQdq(input.name!);
  for (const n of nodes) {
    const quantizedIn = new Set(quantizedInputs(n).filter((t) => activations.has(t)));
    let inputs = (n.input ?? []).map((t) => (quantizedIn.has(t) ? dequantized(t) : t));
    if (n.opType === 'Conv' && quantizedIn.size === 1 && outputQuantized(n)) {
      // A bias too large for int32 (a near-constant input) leaves the convolution float.
      inputs = emitIntegerWeights(n) ?? inputs;
    }
    emitted.push({ ...n, input: inputs });
    for (const out of n.output ?? []) if (activations.has(out)) emitQdq(out);
  }

  graph.node = emitted;
  graph.initializer = [...(graph.initializer ?? []).filter((t) => !quantizedInitializers.has(t.name ?? '')), ...added];
  proto.docString = [proto.docString, 'int8 QDQ (higher-pose)'].filter(Boolean).join('; ');
  return onnx.ModelProto.encode(proto).finish();
}
