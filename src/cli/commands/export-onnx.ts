/** `higher-pose export-onnx`: compile a checkpoint to a standalone ONNX model, float32 or int8. */
import { readFile, stat } from 'node:fs/promises';
import { InvalidArgumentError, type Command } from 'commander';
import { addModelSourceOptions, addPrecisionOptions, checkOutputFile, refuseWritingOverWeights, requireWeights, parseInputSize, parseScales, usageError, usageMistake, type ModelCliOptions, type PrecisionCliOptions } from '../options.js';
import { calibrationImages, checkModelOptions } from '../estimator-options.js';
import { readWeightsArgument } from '../weights-input.js';
import { compileModel, createOnnxNetwork, isOnnxFile, isOnnxWeights, isQuantizedOnnxWeights } from '../../model/load.js';
import { quantizeForImages } from '../../model/quantize.js';
import { safeWeightBits } from '../../backend/onnx/cpu.js';
import { testSettings } from '../../estimator.js';
import type { ExperimentConfig } from '../../config/experiment.js';
import { writeFileAtomic } from '../../io/atomic.js';
import { stoppedAtOnceOnSignal } from '../interrupted.js';

interface ExportOnnxOptions extends ModelCliOptions, PrecisionCliOptions {
  out: string;
  scales?: number[];
  weightBits?: 7 | 8;
}

function parseWeightBits(value: string): 7 | 8 {
  if (value !== '7' && value !== '8') throw new InvalidArgumentError(`Unsupported weight bits: ${value}. Must be one of [7, 8]`);
  return Number(value) as 7 | 8;
}

/** The options only int8 export uses: their flags, and why a float model needs none of them. */
const INT8_ONLY = {
  inputSize: { flag: '--input-size', floatModel: 'runs at any input size and scale' },
  scales: { flag: '--scales', floatModel: 'runs at any input size and scale' },
  weightBits: { flag: '--weight-bits', floatModel: 'keeps float32 weights' },
};

/** E.g. "--input-size and --weight-bits only apply with --precision int8 (a float model ...)". */
function int8OnlyMessage(names: readonly (keyof typeof INT8_ONLY)[]): string {
  const flags = names.map((name) => INT8_ONLY[name].flag);
  const listed = flags.length === 1 ? `${flags[0]} only applies` : `${flags.slice(0, -1).join(', ')} and ${flags.at(-1)} only apply`;
  const reasons = [...new Set(names.map((name) => INT8_ONLY[name].floatModel))].join(', and ');
  return `${listed} with --precision int8 (a float model ${reasons})`;
}

/** An ONNX model given as weights (an .onnx file, or piped bytes), taken as the float model (to quantize it) once it loads as the estimator would load it. */
async function checkedOnnxModel(config: ExperimentConfig, model: string | Uint8Array): Promise<Uint8Array> {
  await (await createOnnxNetwork(config, model)).dispose();
  return typeof model === 'string' ? readFile(model) : model;
}

/** Whether the export would be a file under `path`'s name: not a device or FIFO (`/dev/stdout`), written into directly, nor a folder (refused as one). */
async function namesModelFile(path: string): Promise<boolean> {
  const existing = await stat(path).catch(() => undefined);
  return existing === undefined || existing.isFile();
}

export function registerExportOnnx(program: Command): void {
  addPrecisionOptions(addModelSourceOptions(program.command('export-onnx')))
    .description('compile a checkpoint to an ONNX model (BatchNorm folded, dynamic batch/height/width); int8 with --precision int8 --calibrate IMAGES')
    .requiredOption('--out <file>', 'where to write the .onnx model')
    .option('--input-size <n>', 'with --precision int8: the input size inference will use (default: the configuration)', parseInputSize)
    .option('--scales <list>', 'with --precision int8: the test scales inference will use, e.g. 2,1,0.5 (default: the configuration)', parseScales)
    .option('--weight-bits <n>', 'with --precision int8: 8, or 7 for x86 CPUs without VNNI (default: what suits this CPU; README, Reduced precision)', parseWeightBits)
    .action(async (options: ExportOnnxOptions, command: Command) => {
      requireWeights(command, options);
      // --weights runs a file as ONNX by its name: under another it would be read as a checkpoint.
      if (!isOnnxFile(options.out) && (await namesModelFile(options.out))) {
        usageError(command, `--out ${options.out}: name the model's file .onnx (an int8 one .int8.onnx, say), as --weights takes it`);
      }
      const int8 = options.precision === 'int8';
      if (int8 && !options.calibrate) usageError(command, '--precision int8 needs --calibrate IMAGES: a few images like those the model will see');
      const int8Only = (Object.keys(INT8_ONLY) as (keyof typeof INT8_ONLY)[]).filter((name) => options[name] !== undefined);
      if (!int8 && int8Only.length > 0) usageError(command, int8OnlyMessage(int8Only));
      const weights = await readWeightsArgument(options.weights);
      // Before the model loads and calibrates on every image.
      if (int8 && isQuantizedOnnxWeights(weights)) {
        usageError(command, `--weights ${options.weights} is already quantized: --precision int8 quantizes a float model (the checkpoint, or its float .onnx export); the quantized one runs as it is`);
      }
      // Calibration prepares the images as the estimator would with these options: the estimator's checks apply.
      const config = checkModelOptions(command, options, { weights });
      await checkOutputFile(options.out, '--out', 'export-onnx needs a folder (for the model file)', usageMistake(command));
      // It replaced the checkpoint (or the float model) with the export.
      await refuseWritingOverWeights(options.out, '--out', options.weights);
      const images = (await calibrationImages(options)) ?? [];
      // Calibration inputs are prepared as the estimator will prepare them: same size, scales, flip.
      const settings = testSettings(config, { inputSize: options.inputSize, scales: options.scales });
      const weightBits = options.weightBits ?? safeWeightBits();
      // Ctrl-C or kill stops it at once, saying so; as the model is written, it leaves no temporary file.
      const stopWatching = stoppedAtOnceOnSignal(() => `${options.out} not written`);
      let bytes: Uint8Array;
      try {
        const floatModel = isOnnxWeights(weights) ? await checkedOnnxModel(config, weights) : compileModel(config, weights);
        bytes = int8 ? await quantizeForImages(floatModel, { images, settings, weightBits }) : floatModel;
        await writeFileAtomic(options.out, bytes);
      } finally {
        stopWatching();
      }
      const outputs = Array.from({ length: config.model.deconv.numDeconvs + 1 }, (_, i) => `output_${i}`).join(', ');
      const calibrated = int8 ? `, int8 with ${weightBits}-bit weights, calibrated on ${images.length} image${images.length === 1 ? '' : 's'}` : '';
      // On stderr, as predict's summary: with --out /dev/stdout the model's bytes are stdout.
      console.error(`wrote ${options.out} (${(bytes.length / 1e6).toFixed(1)} MB${calibrated}): input "image" [N,3,H,W], outputs ${outputs}`);
    });
}
