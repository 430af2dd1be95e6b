/** `higher-pose heatmaps`: raw network outputs of one image, as .npy arrays and pictures. */
import type { Command } from 'commander';
import { basename, dirname, join, resolve } from 'node:path';
import { addModelOptions, makeOutputFolder, refuseStdin, requireWeights, type ModelCliOptions } from '../options.js';
import { addImageLimitOption, checkModelOptions, type PoseCliOptions } from '../estimator-options.js';
import { readWeightsArgument } from '../weights-input.js';
import { createNetwork } from '../../model/load.js';
import { readImage, writeImage } from '../../io/image.js';
import { PreprocessError, testScaleInputs, toNetworkInput } from '../../preprocess/index.js';
import { planesFromOutput } from '../../aggregate/planes.js';
import { writeNpy } from '../../io/npy.js';
import { heatmapOverlay } from '../../render/heatmap.js';
import { ConfigError } from '../../config/experiment.js';

/** The files heatmaps writes into its --out folder: `input.png`, and per network output `output_I.npy` and `heatmaps_I.png`. */
const OUTPUT_NAME = /^(input\.png|output_\d+\.npy|heatmaps_\d+\.png)$/;

/** An image in the --out folder under one of the output names would be overwritten by the run: refused before any work, as predict refuses such drawings. */
function refuseOverwritingImage(imagePath: string, out: string): void {
  const image = resolve(imagePath);
  if (dirname(image) === resolve(out) && OUTPUT_NAME.test(basename(image))) {
    throw new ConfigError(`--out ${out}: heatmaps would write its ${basename(image)} over the image ${imagePath}; give another folder`);
  }
}

/** `prepare()`, its PreprocessError naming the image (as the estimator's do). */
function preprocessed<T>(imagePath: string, prepare: () => T): T {
  try {
    return prepare();
  } catch (error) {
    if (error instanceof PreprocessError) throw new PreprocessError(`${imagePath}: ${error.message}`, { cause: error });
    throw error;
  }
}

export function registerHeatmaps(program: Command): void {
  addImageLimitOption(addModelOptions(program.command('heatmaps <image>')))
    .description('write the raw stage outputs (output_I.npy, as the reference returns them) and heatmap pictures over the resized image')
    .requiredOption('--out <dir>', 'output folder')
    .action(async (imagePath: string, options: ModelCliOptions & Pick<PoseCliOptions, 'maxPixels'> & { out: string }, command: Command) => {
      refuseStdin(command, imagePath, 'heatmaps reads its image from a file', 'save the image and give its path');
      requireWeights(command, options, { inputs: [imagePath] });
      refuseOverwritingImage(imagePath, options.out);
      const weights = await readWeightsArgument(options.weights);
      // The outputs of scale 1 alone.
      const config = checkModelOptions(command, options, { scales: [1], weights });
      const inputSize = options.inputSize ?? config.dataset.inputSize;
      const image = await readImage(imagePath, { maxPixels: options.maxPixels });
      const [input] = preprocessed(imagePath, () => testScaleInputs(image, inputSize, [1]).inputs);
      makeOutputFolder(options.out, '--out');
      const network = await createNetwork(config, weights, options);
      try {
        const outputs = await network.run(toNetworkInput(input.resized), [1, 3, input.height, input.width]);
        // Refused as estimatePoses refuses them, before anything is written: NaN pictures come out black.
        outputs.forEach((output, i) => planesFromOutput(output, `${imagePath}: network output ${i}`));
        await writeImage(input.resized, join(options.out, 'input.png'));
        for (const [i, output] of outputs.entries()) {
          await writeNpy(join(options.out, `output_${i}.npy`), output.shape, output.data);
          await writeImage(heatmapOverlay(input.resized, output, config.model.numJoints), join(options.out, `heatmaps_${i}.png`));
          console.log(`output_${i}: [${output.shape.join(', ')}]`);
        }
      } finally {
        await network.dispose();
      }
    });
}
