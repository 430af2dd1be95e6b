/** The `higher-pose` command line. */
import { constants } from 'node:os';
import { Command } from 'commander';
import { registerDemo } from './commands/demo.js';
import { registerEval } from './commands/eval.js';
import { registerExportOnnx } from './commands/export-onnx.js';
import { registerExportTfjs } from './commands/export-tfjs.js';
import { registerHeatmaps } from './commands/heatmaps.js';
import { registerPredict } from './commands/predict.js';
import { registerVideo, VideoInterrupted } from './commands/video.js';
import { registerWeights } from './commands/weights.js';
import { createEstimator } from '../estimator.js';

export function buildProgram(): Command {
  const program = new Command('higher-pose')
    .description('Bottom-up multi-person pose estimation with HigherHRNet')
    .showHelpAfterError();
  registerPredict(program);
  registerDemo(program);
  registerExportOnnx(program);
  registerExportTfjs(program);
  registerHeatmaps(program);
  registerVideo(program, { createEstimator });
  registerEval(program, { createEstimator });
  registerWeights(program);
  return program;
}

/** Runs the CLI; errors print as one line (with the error type) and exit non-zero. */
export async function main(argv: string[]): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (err) {
    const error = err as Error;
    console.error(`higher-pose: ${error.name}: ${error.message}`);
    process.exitCode = exitStatus(error);
  }
}

/** The exit status of a command that failed with `error`: 128 + the signal's number for one a signal stopped, else 1. */
export function exitStatus(error: unknown): number {
  return error instanceof VideoInterrupted ? 128 + constants.signals[error.signal] : 1;
}
