/** `higher-pose export-onnx`: compile a checkpoint to a standalone ONNX model. */
import type { Command } from 'commander';
import { writeFileSync, renameSync, rmSync } from 'node:fs';
import { addModelOptions, type ModelCliOptions } from '../options.js';
import { compileModel, resolveConfig } from '../../model/load.js';
import { ConfigError } from '../../config/experiment.js';

export function registerExportOnnx(program: Command): void {
  addModelOptions(program.command('export-onnx'))
    .description('compile a checkpoint to an ONNX model (BatchNorm folded, dynamic batch/height/width)')
    .requiredOption('--out <file>', 'where to write the .onnx model')
    .action((options: ModelCliOptions & { out: string }) => {
      if (!options.weights) throw new ConfigError('--weights <checkpoint.pth> is required');
      const config = resolveConfig(options);
      const bytes = compileModel(config, options.weights);
      const partial = `${options.out}.partial`;
      try {
        writeFileSync(partial, bytes);
        renameSync(partial, options.out);
      } finally {
        rmSync(partial, { force: true });
      }
      console.log(`wrote ${options.out} (${(bytes.length / 1e6).toFixed(1)} MB): input "image" [N,3,H,W], outputs ${Array.from({ length: config.model.deconv.numDeconvs + 1 }, (_, i) => `output_${i}`).join(', ')}`);
    });
}
