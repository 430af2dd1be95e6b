/**
 * The network input tensor: torchvision `ToTensor()` then `Normalize(mean, std)` as in
 * tools/valid.py, i.e. `(pixel / 255 - mean) / std` per RGB channel, NCHW float32. Every step
 * is a float32 operation in PyTorch (the byte is converted, divided by 255, then the float32
 * mean subtracted and the float32 std divided), so each value is rounded to float32 after
 * each step here too; a 256-entry table per channel holds the results, which a WebAssembly
 * kernel (kernels/preprocess.ts) writes out per pixel.
 */
import type { RgbImage } from '../types.js';
import { normalizeRgb } from '../kernels/index.js';
import { validateRgb } from '../io/image.js';
import { PreprocessError } from './scale.js';
import { isFlag, shownValue, typeName } from '../values.js';

const IMAGENET_MEAN = [0.485, 0.456, 0.406] as const;
const IMAGENET_STD = [0.229, 0.224, 0.225] as const;

const f32 = Math.fround;

/** Per RGB channel, the normalised values of the 256 bytes: `[c * 256 + v]`. */
const TABLES = new Float32Array(3 * 256);
for (let c = 0; c < 3; c++) {
  const mean = f32(IMAGENET_MEAN[c]!);
  const std = f32(IMAGENET_STD[c]!);
  for (let v = 0; v < 256; v++) TABLES[c * 256 + v] = f32(f32(f32(v / 255) - mean) / std);
}

/**
 * Normalises `img` into `out`, NCHW: as it is at offset `at`, mirrored left-right at offset
 * `mirroredAt` (each skipped when negative), in one pass over the image (WebAssembly).
 */
function normalizeInto(img: RgbImage, out: Float32Array, at: number, mirroredAt: number): void {
  normalizeRgb(img.data, img.width, img.height, TABLES, out, at, mirroredAt);
}

/** The output buffer for `batch` inputs of `img`: `out` checked, or a new one. */
function inputBuffer(img: RgbImage, batch: number, out: Float32Array | undefined, caller: string): Float32Array {
  // A path or encoded bytes for pixels: an ImageError saying what came, as testScaleInputs and drawPoses give, not a TypeError from inside.
  if (!(img?.data instanceof Uint8Array) || !Number.isSafeInteger(img.width) || !Number.isSafeInteger(img.height)) validateRgb(img, `${caller} image`, { takes: 'pixels' });
  const { width: w, height: h, data } = img;
  if (data.length !== w * h * 3) throw new RangeError(`${caller}: ${data.length} bytes do not hold a ${w}x${h} RGB image`);
  const size = batch * 3 * w * h;
  if (out && out.length !== size) throw new RangeError(`${caller}: the output holds ${out.length} values, not ${batch > 1 ? `${batch} x ` : ''}3 x ${h} x ${w}`);
  return out ?? new Float32Array(size);
}

/**
 * `[1, 3, H, W]` float32 input for an RGB image. With `flip`, the image mirrored left-right:
 * the reference's flip test feeds `torch.flip(image, [3])`, and flipping commutes with the
 * per-pixel normalisation, so the values are the same. Written into `out` when given (3 * H * W values).
 */
export function toNetworkInput(img: RgbImage, flip = false, out?: Float32Array): Float32Array {
  // 'yes', or the output buffer given in its place, would mirror the image without a word.
  if (!isFlag(flip)) throw new PreprocessError(`toNetworkInput: flip must be true or false, got ${typeof flip === 'object' ? typeName(flip) : shownValue(flip)}`);
  const buffer = inputBuffer(img, 1, out, 'toNetworkInput');
  normalizeInto(img, buffer, flip ? -1 : 0, flip ? 0 : -1);
  return buffer;
}

/**
 * `[2, 3, H, W]`: the flip test's pair, `toNetworkInput(img)` then `toNetworkInput(img, true)`,
 * in one pass over the image. Written into `out` when given (6 * H * W values).
 */
export function toFlipPairInput(img: RgbImage, out?: Float32Array): Float32Array {
  const buffer = inputBuffer(img, 2, out, 'toFlipPairInput');
  normalizeInto(img, buffer, 0, 3 * img.width * img.height);
  return buffer;
}
