/**
 * The HigherHRNet head: a final 1x1 (or 3x3) convolution at 1/4 resolution giving J
 * heatmaps plus tag maps, then per deconvolution stage: optional concatenation of the
 * features with the previous predictions, a 4x4 (or 3x3/2x2) stride-2 transposed
 * convolution, residual basic blocks, and another final convolution at twice the resolution.
 */
import { outputChannels, type ModelSpec } from '../config/experiment.js';
import type { GraphBuilder } from '../backbone/graph.js';
import { residualBlocks } from '../backbone/hrnet.js';

/** Padding and output padding that make a stride-2 transposed convolution exactly double the size. */
function deconvPadding(kernel: number): { padding: number; outputPadding: number } {
  if (kernel === 4) return { padding: 1, outputPadding: 0 };
  if (kernel === 3) return { padding: 1, outputPadding: 1 };
  return { padding: 0, outputPadding: 0 };
}

/** Returns the network outputs: one per resolution, lowest first. */
export function buildHead(g: GraphBuilder, model: ModelSpec, features: string, channels: number): string[] {
  const k = model.finalConvKernel;
  const finalConv = (x: string, i: number, inChannels: number): string =>
    g.conv(x, `final_layers.${i}`, { inChannels, outChannels: outputChannels(model, i), kernel: k, padding: k === 3 ? 1 : 0, bias: true });

  let x = features;
  let xChannels = channels;
  let y = finalConv(x, 0, xChannels);
  const outputs = [y];
  for (let i = 0; i < model.deconv.numDeconvs; i++) {
    if (model.deconv.catOutput[i]) {
      x = g.concat([x, y], `deconv_layers.${i}.input`);
      xChannels += outputChannels(model, i);
    }
    const out = model.deconv.numChannels[i];
    const kernel = model.deconv.kernelSize[i];
    x = g.convTranspose(x, `deconv_layers.${i}.0.0`, { inChannels: xChannels, outChannels: out, kernel, stride: 2, ...deconvPadding(kernel) });
    x = g.relu(g.batchNorm(x, `deconv_layers.${i}.0.1`, out));
    for (let b = 0; b < model.deconv.numBasicBlocks; b++) {
      // Each block sits in its own Sequential in the reference, hence the `.0` in its name.
      [x] = residualBlocks(g, x, `deconv_layers.${i}.${b + 1}`, 'BASIC', out, out, 1);
    }
    xChannels = out;
    y = finalConv(x, i + 1, xChannels);
    outputs.push(y);
  }
  return outputs;
}
