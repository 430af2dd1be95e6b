/** `higher-pose heatmaps`: raw network outputs of one image, as .npy arrays and pictures. */
import type { Command } from 'commander';
import { stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { addModelOptions, checkOutputFolder, makeOutputFolder, refuseStdin, requireWeights, stdinAsDash, usageError, usageMistake, type ModelCliOptions } from '../options.js';
import { addImageLimitOption, checkModelOptions, type PoseCliOptions } from '../estimator-options.js';
import { readWeightsArgument } from '../weights-input.js';
import { refuseVideoArguments } from '../inputs.js';
import { stoppedAtOnceOnSignal } from '../interrupted.js';
import { createNetwork } from '../../model/load.js';
import { encodePng, readImage } from '../../io/image.js';
import { PreprocessError, testScaleInputs, toNetworkInput } from '../../preprocess/index.js';
import { planesFromOutput } from '../../aggregate/planes.js';
import { encodeNpy } from '../../io/npy.js';
import { writeFileSetAtomic } from '../../io/atomic.js';
import { heatmapOverlay } from '../../render/heatmap.js';
import { ConfigError } from '../../config/experiment.js';

/** The files heatmaps writes into its --out folder: `input.png`, and per network output `output_I.npy` and `heatmaps_I.png`. */
const OUTPUT_NAME = /^(input\.png|output_\d+\.npy|heatmaps_\d+\.png)$/;

/** An image in the --out folder under one of the output names would be overwritten by the run: a usage error before any work, as predict and demo refuse such drawings. */
function refuseOverwritingImage(command: Command, imagePath: string, out: string): void {
  const image = resolve(imagePath);
  if (dirname(image) === resolve(out) && OUTPUT_NAME.test(basename(image))) {
    usageError(command, `--out ${out}: heatmaps would write its ${basename(image)} over the image ${imagePath}; give another folder`);
  }
}

const INPUT_NAME = 'input.png';

/** The names of the files written for network output `i` (see OUTPUT_NAME). */
const outputFileNames = (i: number): { npy: string; png: string } => ({ npy: `output_${i}.npy`, png: `heatmaps_${i}.png` });

/** The names of the files heatmaps writes for a network of `outputCount` outputs. */
function outputNames(outputCount: number): string[] {
  return [INPUT_NAME, ...Array.from({ length: outputCount }, (_, i) => Object.values(outputFileNames(i))).flat()];
}

/** A folder in --out under one of the output names would fail the run part-way: refused before any work. */
async function refuseFoldersInTheWay(out: string, names: readonly string[]): Promise<void> {
  for (const name of names) {
    if ((await stat(join(out, name)).catch(() => undefined))?.isDirectory()) {
      throw new ConfigError(`--out ${out}: ${name} there is a folder, where heatmaps writes a file; remove it or give another folder`);
    }
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
      refuseStdin(command, stdinAsDash(imagePath), 'heatmaps reads its image from a file', 'save the image and give its path');
      // No command gives a video's heatmaps: one of its frames, saved as an image, is what heatmaps reads.
      await refuseVideoArguments(command, [imagePath], (video) => `save one of its frames as an image (\`ffmpeg -i ${video} -frames:v 1 frame.png\`) and give that`);
      requireWeights(command, options, { inputs: [imagePath] });
      refuseOverwritingImage(command, imagePath, options.out);
      // Found only as the folder was made, after the image was read, in words that named no file.
      await checkOutputFolder(options.out, '--out', 'heatmaps needs a folder (for its arrays and pictures)', usageMistake(command));
      const weights = await readWeightsArgument(options.weights);
      // The outputs of scale 1 alone.
      const config = checkModelOptions(command, options, { scales: [1], weights });
      await refuseFoldersInTheWay(options.out, outputNames(config.model.deconv.numDeconvs + 1));
      const inputSize = options.inputSize ?? config.dataset.inputSize;
      const image = await readImage(imagePath, { maxPixels: options.maxPixels });
      const [input] = preprocessed(imagePath, () => testScaleInputs(image, inputSize, [1]).inputs);
      makeOutputFolder(options.out, '--out');
      // Ctrl-C or kill stops it at once; as the files are written, it leaves none of them, nor temporary files.
      let written = false;
      const stopWatching = stoppedAtOnceOnSignal(() => (written ? `its files were written to ${options.out}` : `no files written to ${options.out}`));
      try {
        const network = await createNetwork(config, weights, options);
        try {
          const outputs = await network.run(toNetworkInput(input.resized), [1, 3, input.height, input.width]);
          // Refused as estimatePoses refuses them, before anything is written: NaN pictures come out black.
          outputs.forEach((output, i) => planesFromOutput(output, `${imagePath}: network output ${i}`));
          // One set: a failure part-way leaves none of this run's files, never some beside an older run's.
          const files = [{ path: join(options.out, INPUT_NAME), data: await encodePng(input.resized) }];
          for (const [i, output] of outputs.entries()) {
            const { npy, png } = outputFileNames(i);
            files.push({ path: join(options.out, npy), data: encodeNpy(output.shape, output.data) });
            files.push({ path: join(options.out, png), data: await encodePng(heatmapOverlay(input.resized, output, config.model.numJoints)) });
          }
          await writeFileSetAtomic(files);
          written = true;
          outputs.forEach((output, i) => console.log(`output_${i}: [${output.shape.join(', ')}]`));
        } finally {
          await network.dispose();
        }
      } finally {
        stopWatching();
      }
    });
}
