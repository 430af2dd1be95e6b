/**
 * The network input tensor: torchvision `ToTensor()` then `Normalize(mean, std)` as in
 * tools/valid.py, i.e. `(pixel / 255 - mean) / std` per RGB channel, NCHW float32. Every step
 * is a float32 operation in PyTorch (the byte is converted, divided by 255, then the float32
 * mean subtracted and the float32 std divided), so each value is rounded to float32 after
 * each step here too; a 256-entry table per channel holds the results.
 */
import type { RgbImage } from '../types.js';

export const IMAGENET_MEAN = [0.485, 0.456, 0.406] as const;
export const IMAGENET_STD = [0.229, 0.224, 0.225] as const;

const f32 = Math.fround;

/** `table[c * 256 + v]`: the normalised value of byte `v` in channel `c`. */
const TABLE: Float32Array = (() => {
  const t = new Float32Array(3 * 256);
  for (let c = 0; c < 3; c++) {
    const mean = f32(IMAGENET_MEAN[c]!);
    const std = f32(IMAGENET_STD[c]!);
    for (let v = 0; v < 256; v++) t[c * 256 + v] = f32(f32(f32(v / 255) - mean) / std);
  }
  return t;
})();

/**
 * `[1, 3, H, W]` float32 input for an RGB image. With `flip`, the image mirrored left-right:
 * the reference's flip test feeds `torch.flip(image, [3])`, and flipping commutes with the
 * per-pixel normalisation, so the values are the same. Written into `out` when given (3 * H * W values).
 */
export function toNetworkInput(img: RgbImage, flip = false, out?: Float32Array): Float32Array {
  const { width: w, height: h, data } = img;
  if (data.length !== w * h * 3) throw new RangeError(`toNetworkInput: ${data.length} bytes do not hold a ${w}x${h} RGB image`);
  const plane = w * h;
  if (out && out.length !== 3 * plane) throw new RangeError(`toNetworkInput: the output holds ${out.length} values, not 3 x ${h} x ${w}`);
  out ??= new Float32Array(3 * plane);
  for (let y = 0; y < h; y++) {
    const row = y * w;
    for (let x = 0; x < w; x++) {
      const p = (row + (flip ? w - 1 - x : x)) * 3;
      const o = row + x;
      out[o] = TABLE[data[p]!]!;
      out[plane + o] = TABLE[256 + data[p + 1]!]!;
      out[2 * plane + o] = TABLE[512 + data[p + 2]!]!;
    }
  }
  return out;
}
