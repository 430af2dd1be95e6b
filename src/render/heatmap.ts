/** Heatmap visualisation: the per-pixel maximum over joints, colour-mapped over the image. */
import type { OutputTensor, RgbImage } from '../types.js';

/** A compact "jet" colour map: blue (0) → cyan → yellow → red (1). */
function jet(v: number): [number, number, number] {
  const t = Math.min(1, Math.max(0, v));
  const channel = (offset: number) => Math.round(255 * Math.min(1, Math.max(0, 1.5 - Math.abs(4 * t - offset))));
  return [channel(3), channel(2), channel(1)];
}

/**
 * Blends the maximum of the first `joints` channels of `output` (`[1, C, h, w]`, any
 * resolution) over `image`, sampling the map at each image pixel's position (nearest).
 * Values are clipped to [0, 1], the range of a trained model's heatmaps.
 */
export function heatmapOverlay(image: RgbImage, output: OutputTensor, joints: number, opacity = 0.6): RgbImage {
  const [, channels, h, w] = output.shape;
  if (joints > channels) throw new RangeError(`heatmapOverlay: ${joints} joints requested from an output with ${channels} channels`);
  const plane = h * w;
  const maxMap = new Float32Array(plane).fill(-Infinity);
  for (let j = 0; j < joints; j++) {
    const offset = output.offset + j * plane;
    for (let i = 0; i < plane; i++) maxMap[i] = Math.max(maxMap[i], output.data[offset + i]);
  }
  const out = new Uint8Array(image.data.length);
  for (let y = 0; y < image.height; y++) {
    const sy = Math.min(h - 1, Math.floor((y * h) / image.height));
    for (let x = 0; x < image.width; x++) {
      const sx = Math.min(w - 1, Math.floor((x * w) / image.width));
      const colour = jet(maxMap[sy * w + sx]);
      const p = 3 * (y * image.width + x);
      for (let c = 0; c < 3; c++) out[p + c] = Math.round((1 - opacity) * image.data[p + c] + opacity * colour[c]);
    }
  }
  return { data: out, width: image.width, height: image.height };
}
