/**
 * Weights of a convolution with the BatchNorm that follows it folded in: what every backend
 * compiles, so that inference costs one convolution instead of two operations.
 */
import type { BatchNormNode, ConvNode, ConvTransposeNode } from '../backbone/graph.js';
import type { Weights, WeightTensor } from '../model/weights.js';

export class CompileError extends Error {
  override name = 'CompileError';
}

function weightTensor(weights: Weights, name: string): WeightTensor {
  const t = weights.get(name);
  if (!t) throw new CompileError(`Weight ${name} is missing`);
  return t;
}

export interface BatchNormParameters {
  gamma: Float32Array;
  beta: Float32Array;
  mean: Float32Array;
  variance: Float32Array;
  epsilon: number;
}

export function batchNormParameters(weights: Weights, bn: BatchNormNode): BatchNormParameters {
  return {
    gamma: weightTensor(weights, `${bn.prefix}.weight`).data,
    beta: weightTensor(weights, `${bn.prefix}.bias`).data,
    mean: weightTensor(weights, `${bn.prefix}.running_mean`).data,
    variance: weightTensor(weights, `${bn.prefix}.running_var`).data,
    epsilon: bn.epsilon,
  };
}

/**
 * Folds BatchNorm (inference statistics) into a convolution's weight and bias, in float64:
 * w' = w·γ/√(σ²+ε) per output channel, b' = (b − μ)·γ/√(σ²+ε) + β.
 */
export function foldBatchNorm(
  weight: Float32Array,
  bias: Float32Array | undefined,
  bn: BatchNormParameters,
  outputChannel: (index: number) => number,
): { weight: Float32Array; bias: Float32Array } {
  const channels = bn.gamma.length;
  const scale = new Float64Array(channels);
  for (let c = 0; c < channels; c++) scale[c] = bn.gamma[c] / Math.sqrt(bn.variance[c] + bn.epsilon);
  const folded = new Float32Array(weight.length);
  for (let i = 0; i < weight.length; i++) folded[i] = weight[i] * scale[outputChannel(i)];
  const foldedBias = new Float32Array(channels);
  for (let c = 0; c < channels; c++) foldedBias[c] = ((bias ? bias[c] : 0) - bn.mean[c]) * scale[c] + bn.beta[c];
  return { weight: folded, bias: foldedBias };
}

/**
 * The weight (PyTorch layout: `[out, in, k, k]`, transposed `[in, out, k, k]`) and bias of a
 * convolution, with `bn` folded in when given.
 */
export function convolutionWeights(conv: ConvNode | ConvTransposeNode, bn: BatchNormNode | undefined, weights: Weights): { shape: number[]; weight: Float32Array; bias?: Float32Array } {
  const w = weightTensor(weights, conv.weight);
  const bias = conv.op === 'conv' && conv.bias ? weightTensor(weights, conv.bias).data : undefined;
  if (!bn) return { shape: w.shape, weight: w.data, bias };
  const perChannel = conv.kernel * conv.kernel;
  const outputChannel = conv.op === 'conv'
    ? (i: number) => Math.floor(i / (conv.inChannels * perChannel))
    : (i: number) => Math.floor(i / perChannel) % conv.outChannels;
  return { shape: w.shape, ...foldBatchNorm(w.data, bias, batchNormParameters(weights, bn), outputChannel) };
}
