/**
 * int8 models calibrated from images: the calibration inputs are prepared exactly as the
 * estimator prepares its inputs (every test scale; plain and mirrored with flip test), so the
 * observed activation ranges are those that inference will meet.
 */
import type { TestSettings } from '../config/experiment.js';
import { ConfigError } from '../config/experiment.js';
import { checkImageInput, naming, readImage, shownPath } from '../io/image.js';
import { testScaleInputs, toNetworkInput } from '../preprocess/index.js';
import { observeActivationRanges, type NetworkInput } from '../backend/onnx/calibrate.js';
import { quantizeModel, type QuantizeOptions } from '../backend/onnx/quantize.js';
import { safeWeightBits } from '../backend/onnx/cpu.js';
import type { ImageInput } from '../types.js';
import { optionsProblem, typeName } from '../values.js';

export type Precision = 'fp32' | 'int8';
export const PRECISIONS: readonly Precision[] = ['fp32', 'int8'];

/** `weightBits` defaults to what cannot saturate on this CPU (`safeWeightBits`: 8 with VNNI). */
export interface CalibrationOptions extends QuantizeOptions {
  /** Images whose activations set the quantization ranges: paths, encoded bytes or pixels. */
  images: readonly ImageInput[];
  /** The test settings inference will use (input size, scales, flip test). */
  settings: Pick<TestSettings, 'inputSize' | 'scaleFactor' | 'flipTest'>;
  /** Apply JPEG EXIF orientation, as the estimator does (default true). */
  exifOrientation?: boolean | undefined;
  /** ONNX Runtime threads per operator during calibration. */
  threads?: number | undefined;
}

/**
 * The network inputs of `images`, one `[1, 3, H, W]` batch at a time (the mirrored input as
 * its own batch: ranges do not depend on batching), each image decoded only when reached.
 */
export async function* calibrationInputs(options: CalibrationOptions): AsyncGenerator<NetworkInput> {
  checkCalibrationOptions(options, 'calibrationInputs');
  const { settings } = options;
  for (const [index, image] of options.images.entries()) {
    const source = calibrationSource(image, index);
    let inputs;
    try {
      const rgb = await readImage(image, { exifOrientation: options.exifOrientation ?? true });
      inputs = testScaleInputs(rgb, settings.inputSize, settings.scaleFactor).inputs;
    } catch (error) {
      // One image among many: which one (an image too small to prepare was not named at all).
      throw naming(error, source);
    }
    for (const input of inputs) {
      const dims = [1, 3, input.height, input.width] as const;
      yield { data: toNetworkInput(input.resized), dims, source };
      if (settings.flipTest) yield { data: toNetworkInput(input.resized, true), dims, source };
    }
  }
}

/** Every option of a calibration, for refusing the others (a misspelt `exifOrientaton` would be ignored without a word). */
const CALIBRATION_OPTION_NAMES: Record<keyof CalibrationOptions, true> = { images: true, settings: true, exifOrientation: true, threads: true, weightBits: true };

/** A ConfigError from `who` where its options are no object, hold an unknown name, or lack the images list or the settings (a TypeError from inside before). */
function checkCalibrationOptions(options: CalibrationOptions, who: string): void {
  const problem = optionsProblem(options, CALIBRATION_OPTION_NAMES);
  if (problem) throw new ConfigError(`${who}: ${problem}`);
  if (!Array.isArray(options.images)) throw new ConfigError(`${who}: images must be a list of images (paths, encoded bytes or pixels), got ${typeName(options.images)}`);
  const { settings } = options;
  if (typeof settings !== 'object' || settings === null) throw new ConfigError(`${who}: settings must be the test settings { inputSize, scaleFactor, flipTest } (config.test), got ${typeName(settings)}`);
}

/** How errors name calibration image `index`: by its path, else by its place in the list. */
const calibrationSource = (image: ImageInput, index: number): string => (typeof image === 'string' ? shownPath(image) : `calibrationImages[${index}]`);

/**
 * Refuses, before any image is calibrated, the calibration images that cannot be read at all (a
 * path to no file, a folder, a value of another kind): else one late in the list was found only
 * after the ones before it had run through the network (W32: about 2 s an image with flip test).
 */
async function checkCalibrationImages(images: readonly ImageInput[]): Promise<void> {
  for (const [index, image] of images.entries()) {
    try {
      await checkImageInput(image);
    } catch (error) {
      throw naming(error, calibrationSource(image, index));
    }
  }
}

/**
 * The int8 QDQ model of a float model, its activation ranges calibrated on `options.images`,
 * its weights 8-bit where this CPU's int8 kernels cannot saturate, else 7-bit.
 */
export async function quantizeForImages(floatModel: Uint8Array, options: CalibrationOptions): Promise<Uint8Array> {
  checkCalibrationOptions(options, 'quantizeForImages');
  if (options.images.length === 0) throw new ConfigError('int8 quantization needs at least one calibration image');
  await checkCalibrationImages(options.images);
  const ranges = await observeActivationRanges(floatModel, calibrationInputs(options), { intraOpNumThreads: options.threads });
  return quantizeModel(floatModel, ranges, { weightBits: options.weightBits ?? safeWeightBits() });
}
