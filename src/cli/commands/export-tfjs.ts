/** `higher-pose export-tfjs`: compile a checkpoint to a TensorFlow.js graph model for the browser. */
import type { Command } from 'commander';
import { addModelSourceOptions, checkOutputFolder, requireWeights, usageMistake, type ModelCliOptions } from '../options.js';
import { readWeightsArgument } from '../weights-input.js';
import { commandConfig } from '../estimator-options.js';
import { Interrupted } from '../interrupted.js';
import { isOnnxWeights } from '../../model/load.js';
import { ConfigError } from '../../config/experiment.js';
import { exportFolderProblem, exportTfjsModel, type WrittenModel } from '../../backend/tfjs/export.js';

/** What export-tfjs wrote, in a line: the shards counted, not named (62 of them for W48). */
export function writtenSummary({ dir, files, weightBytes }: WrittenModel): string {
  const shards = files.length - 1;
  return `${dir} (model.json + ${shards} weight shard${shards === 1 ? '' : 's'}, ${(weightBytes / 1e6).toFixed(1)} MB of weights)`;
}

export function registerExportTfjs(program: Command): void {
  addModelSourceOptions(program.command('export-tfjs'), 'checkpoint (.pth from the model zoo, see `higher-pose weights list`)')
    .description('compile a checkpoint to a TensorFlow.js graph model (model.json + 4 MB weight shards) for tf.loadGraphModel')
    .requiredOption('--out <dir>', 'folder to write model.json and the weight shards to (replaced if it holds an earlier export)')
    .action(async (options: ModelCliOptions & { out: string }, command: Command) => {
      requireWeights(command, options, { what: 'a model-zoo checkpoint (`higher-pose weights list`)' });
      // Before the weights are read: a mistake in what was typed is told at once, as the other commands tell it.
      const config = commandConfig(command, options);
      await checkOutputFolder(options.out, '--out', 'export-tfjs needs a folder (for model.json and the weight shards)', usageMistake(command));
      const weights = await readWeightsArgument(options.weights);
      if (isOnnxWeights(weights)) throw new ConfigError(`export-tfjs compiles a PyTorch checkpoint, not an ONNX model: ${options.weights}`);
      // Named as the option: exportTfjsModel, which checks it too before the compile, names the path.
      const problem = exportFolderProblem(options.out);
      if (problem) throw new ConfigError(`--out ${options.out}: ${problem}`);
      // Ctrl-C (or kill) stops the writing, which removes what it wrote; then the process ends by the signal.
      const interrupt = new AbortController();
      const onSignal = (signal: NodeJS.Signals): void => interrupt.abort(signal);
      process.on('SIGINT', onSignal).on('SIGTERM', onSignal);
      let written: WrittenModel;
      try {
        written = await exportTfjsModel(config, weights, options.out, { signal: interrupt.signal });
      } catch (error) {
        if (!interrupt.signal.aborted) throw error;
        throw new Interrupted(interrupt.signal.reason as NodeJS.Signals, `${options.out} is as it was`);
      } finally {
        process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
      }
      const outputs = Array.from({ length: config.model.deconv.numDeconvs + 1 }, (_, i) => `output_${i}`).join(', ');
      console.error(`wrote ${writtenSummary(written)}: `
        + `input "image" [N,3,H,W] (H, W multiples of 32), outputs ${outputs} (NCHW)`);
    });
}
