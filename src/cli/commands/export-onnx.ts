/** `higher-pose export-onnx`: compile a checkpoint to a standalone ONNX model. */
import type { Command } from 'commander';
import { addModelSourceOptions, type ModelCliOptions } from '../options.js';
import { compileModel, resolveConfig } from '../../model/load.js';
import { ConfigError } from '../../config/experiment.js';
import { writeFileAtomic } from '../../io/atomic.js';

export function registerExportOnnx(program: Command): void {
  addModelSourceOptions(program.command('export-onnx'))
    .description('compile a checkpoint to an ONNX model (BatchNorm folded, dynamic batch/height/width)')
    .requiredOption('--out <file>', 'where to write the .onnx model')
    .action(async (options: ModelCliOptions & { out: string }) => {
      if (!options.weights) throw new ConfigError('--weights <checkpoint.pth> is required');
      const config = resolveConfig(options);
      const bytes = compileModel(config, options.weights);
      await writeFileAtomic(options.out, bytes);
      console.log(`wrote ${options.out} (${(bytes.length / 1e6).toFixed(1)} MB): input "image" [N,3,H,W], outputs ${Array.from({ length: config.model.deconv.numDeconvs + 1 }, (_, i) => `output_${i}`).join(', ')}`);
    });
}
