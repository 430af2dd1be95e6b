/**
 * Test-time input sizes of the reference (lib/utils/transforms.py `get_multi_scale_size`,
 * `resize_align_multi_scale`; tools/valid.py): the image is resized so that its short side
 * becomes `inputSize` at the smallest test scale, rounded up to a multiple of 64, and the long
 * side keeps the aspect ratio, also rounded up to a multiple of 64. Larger scales multiply
 * those aligned sizes. The affine parameters are the image center and a box (in units of 200
 * pixels, the reference's convention) with the aspect of the network input.
 */
import type { RgbImage } from '../types.js';
import { validateRgb } from '../io/image.js';
import { typeName } from '../values.js';
import { affineTransform, warpAffineBilinear, type AffineMatrix } from './affine.js';
import type { Workspace } from '../workspace.js';

export class PreprocessError extends Error {
  override name = 'PreprocessError';
}

/** Images need at least this many pixels per side: anything smaller holds no person. */
export const MIN_IMAGE_SIDE = 4;
/**
 * Upper bound on the pixels of one network input (at the largest scale): 16.8 million, which
 * take about 10 GB with W32 (~0.55 GB per million pixels past ~0.7 GB: 1.8 GB for a 4096x512
 * input, 2.9 GB for 8192x512). The short side is scaled to the input size, so an extreme aspect
 * ratio (a 300x20000 strip, 512x34176 at input size 512) makes the long side explode; such
 * inputs are refused with an error instead of running the machine out of memory.
 */
const MAX_INPUT_PIXELS = 1 << 24;

export interface MultiScaleSize {
  /** Network input width and height (multiples of 64 times scale / minScale). */
  width: number;
  height: number;
  /** Affine center: `[int(w/2 + 0.5), int(h/2 + 0.5)]`. */
  center: [number, number];
  /** Affine box in units of 200 pixels, `[sw, sh]`. */
  scale: [number, number];
}

/** Python `(a + 63) // 64 * 64` on a float, then `int()`. */
function align64(v: number): number {
  return Math.trunc(Math.floor((v + 63) / 64) * 64);
}

/**
 * The reference `get_multi_scale_size(image, inputSize, currentScale, minScale)`, with the
 * same float64 operation order (so `scale` is bit-identical): for `w < h`,
 * `w' = int(minInput * s / minScale)`, `h' = int(int((minInput / w * h + 63) // 64 * 64) * s / minScale)`,
 * `scale = [w / 200, h' / w' * w / 200]`; otherwise the same with the roles swapped. Here
 * `minInput = int((minScale * inputSize + 63) // 64 * 64)`.
 */
export function multiScaleSize(
  imageWidth: number,
  imageHeight: number,
  inputSize: number,
  currentScale: number,
  minScale: number,
): MultiScaleSize {
  checkImageSize(imageWidth, imageHeight);
  if (!Number.isInteger(inputSize) || inputSize <= 0) throw new PreprocessError(`input size ${inputSize} must be a positive integer`);
  for (const [name, v] of [['test scale', currentScale], ['smallest test scale', minScale]] as const) {
    if (!Number.isFinite(v) || v <= 0) throw new PreprocessError(`${name} ${v} must be a positive number`);
  }
  const w = imageWidth;
  const h = imageHeight;
  const center: [number, number] = [Math.trunc(w / 2.0 + 0.5), Math.trunc(h / 2.0 + 0.5)];
  const minInputSize = align64(minScale * inputSize);
  let wResized: number;
  let hResized: number;
  let scale: [number, number];
  if (w < h) {
    wResized = Math.trunc((minInputSize * currentScale) / minScale);
    hResized = Math.trunc((align64((minInputSize / w) * h) * currentScale) / minScale);
    scale = [w / 200.0, ((hResized / wResized) * w) / 200.0];
  } else {
    hResized = Math.trunc((minInputSize * currentScale) / minScale);
    wResized = Math.trunc((align64((minInputSize / h) * w) * currentScale) / minScale);
    scale = [((wResized / hResized) * h) / 200.0, h / 200.0];
  }
  if (wResized <= 0 || hResized <= 0) {
    throw new PreprocessError(
      `image ${w}x${h} at test scale ${currentScale} (smallest ${minScale}, input size ${inputSize}) gives an empty network input ${wResized}x${hResized}`,
    );
  }
  if (wResized * hResized > MAX_INPUT_PIXELS) {
    const side = squareInputSide(inputSize, currentScale, minScale);
    throw new PreprocessError(
      `image ${w}x${h} at test scale ${currentScale} needs a ${wResized}x${hResized} network input, over the ${MAX_INPUT_PIXELS} pixels `
        + `(about 10 GB of memory with W32) that one input may have: ${side * side > MAX_INPUT_PIXELS
          ? `input size ${inputSize} too large for any image (a square one needs ${side}x${side})`
          : `aspect ratio too extreme for input size ${inputSize}${currentScale === 1 ? '' : ` at test scale ${currentScale}`}: `
            + `lower the input size${currentScale === 1 ? '' : ' or the scale'}, or crop the image or cut it into pieces`}`,
    );
  }
  return { width: wResized, height: hResized, center, scale };
}

/** The network input side of a square image at `scale`, as `multiScaleSize` computes it: the smallest input any image gets. */
function squareInputSide(inputSize: number, scale: number, minScale: number): number {
  return Math.trunc((align64(minScale * inputSize) * scale) / minScale);
}

/**
 * Heatmap positions of the smallest image's aggregated maps (a square image's, at the base
 * size): `maxNumPeople` candidates per joint cannot outnumber them.
 */
export function fewestHeatmapPositions(inputSize: number, scales: readonly number[]): number {
  return squareInputSide(inputSize, 1, Math.min(...scales)) ** 2;
}

/**
 * Why no image at all could be estimated at `inputSize` with `scales`, or undefined: even a
 * square image's network input at the largest scale would be over `MAX_INPUT_PIXELS`.
 */
export function inputSizeProblem(inputSize: number, scales: readonly number[]): string | undefined {
  const largest = Math.max(...scales);
  const side = squareInputSide(inputSize, largest, Math.min(...scales));
  if (side * side <= MAX_INPUT_PIXELS) return undefined;
  return `even a square image would need a ${side}x${side} network input at scale ${largest}, over the ${MAX_INPUT_PIXELS} pixels (about 10 GB of memory with W32) that one input may have`;
}

function checkImageSize(w: number, h: number): void {
  if (!Number.isInteger(w) || !Number.isInteger(h) || w < MIN_IMAGE_SIDE || h < MIN_IMAGE_SIDE) {
    throw new PreprocessError(`image ${w}x${h} is too small for the network (at least ${MIN_IMAGE_SIDE}x${MIN_IMAGE_SIDE} pixels)`);
  }
}

export interface ScaledInput {
  /** The test scale this input is for. */
  scale: number;
  width: number;
  height: number;
  /** The affine center and box used for this scale (the same for every scale). */
  center: [number, number];
  scaleWH: [number, number];
  /** The forward (image -> input) matrix that produced `resized`. */
  matrix: AffineMatrix;
  /** The resized 8-bit RGB network input (`resize_align_multi_scale`). */
  resized: RgbImage;
}

export interface TestScaleInputs {
  /** Network input size `[w, h]` at scale 1: the resolution results are aggregated at. */
  baseSize: [number, number];
  /** Affine parameters at scale 1 (what the reference projects predictions back with). */
  center: [number, number];
  scale: [number, number];
  /** One input per test scale, largest scale first, as tools/valid.py runs them. */
  inputs: ScaledInput[];
}

/**
 * Everything tools/valid.py computes before the network for one image: the base size at scale
 * 1 (relative to the smallest scale) and, for every test scale from largest to smallest,
 * the aligned input size and the image warped to it. With a `workspace`, the warped images are
 * its buffers (valid until it serves the next image): fresh memory costs a page fault per
 * 4 KiB, ~4 ms per image on the bench machine.
 */
export function testScaleInputs(image: RgbImage, inputSize: number, scales: readonly number[], workspace?: Workspace): TestScaleInputs {
  // Pixels of another length or kind would be warped from out of bounds without a word.
  validateRgb(image, 'testScaleInputs image', { takes: 'pixels' });
  // Left out, or the settings given for them: a TypeError from inside otherwise.
  if (!Array.isArray(scales)) throw new PreprocessError(`testScaleInputs: scales must be a list of test scales (settings.scaleFactor), got ${typeName(scales)}`);
  if (scales.length === 0) throw new PreprocessError('no test scales given');
  const minScale = Math.min(...scales);
  const base = multiScaleSize(image.width, image.height, inputSize, 1.0, minScale);
  const sorted = [...scales].sort((a, b) => b - a);
  // Check every size before warping anything.
  const sizes = sorted.map((s) => multiScaleSize(image.width, image.height, inputSize, s, minScale));
  const inputs = sorted.map((s, i): ScaledInput => {
    const size = sizes[i]!;
    const matrix = affineTransform(size.center, size.scale, [size.width, size.height]);
    return {
      scale: s,
      width: size.width,
      height: size.height,
      center: size.center,
      scaleWH: size.scale,
      matrix,
      resized: warpAffineBilinear(image, matrix, size.width, size.height, workspace?.uint8(`resized${s}`, size.width * size.height * 3)),
    };
  });
  return { baseSize: [base.width, base.height], center: base.center, scale: base.scale, inputs };
}
