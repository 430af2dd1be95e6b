/**
 * `higher-pose demo`: the whole pipeline on a built-in image with no arguments. Uses a W32-512
 * COCO checkpoint when one is in the weights cache (the official one, or mmpose's, which
 * `weights fetch` downloads), else the bundled tiny random-weight model (right architecture,
 * meaningless poses).
 */
import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { drawingPath, runPredict } from './predict.js';
import { checkOutputFolder, usageError, usageMistake } from '../options.js';
import { DEMO_IMAGE, TINY_COCO_CHECKPOINT } from '../../paths.js';
import { cachedPath } from '../../zoo/download.js';
import { findEntry } from '../../zoo/catalog.js';

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('run pose estimation on a built-in sample image (a model-zoo W32-512 if cached, else a tiny random model)')
    .option('--image <file>', 'image to use instead of the built-in sample')
    .option('--out <dir>', 'output folder', 'higher-pose-demo')
    .action(async (options: { image?: string; out: string }, command: Command) => {
      // A folder ran every image in it, their drawings' paths on one line: predict is the command for many.
      // A path that cannot be looked at (below a file: ENOTDIR, which Node 20 throws) is left to the run, which names its problem.
      if (options.image !== undefined && (await stat(options.image).catch(() => undefined))?.isDirectory()) {
        usageError(command, `--image ${options.image} is a folder: demo takes one image file; \`higher-pose predict ${options.image} --render DIR ...\` estimates a folder's images`);
      }
      // A file as --out or above it: else predict refuses it, naming the results file demo puts inside it (--out FILE/results.json), a path never typed.
      await checkOutputFolder(options.out, '--out', 'demo needs a folder (for its drawing and results.json)', usageMistake(command));
      const image = options.image ?? DEMO_IMAGE();
      // predict refuses it too, but in the words of its --render, which demo has not.
      const drawing = drawingPath(image, options.out);
      if (resolve(drawing) === resolve(image)) usageError(command, `--out ${options.out}: demo would write its drawing ${basename(drawing)} over the --image ${image}; give another folder`);
      const cached = ['coco_w32_512', 'coco_w32_512_mmpose'].map(findEntry).find((entry) => existsSync(cachedPath(entry)));
      const [preset, weights] = cached ? [cached.preset, cachedPath(cached)] : ['tiny_coco' as const, TINY_COCO_CHECKPOINT()];
      if (!cached) {
        console.error('demo: using the bundled tiny model with random weights: the poses are meaningless.');
        // The one trained model a newcomer can fetch directly, and that this command then picks up.
        console.error('      For real poses: `higher-pose weights fetch coco_w32_512_mmpose` downloads a trained W32-512, which the demo then uses;');
        console.error('      `higher-pose weights list` shows the others, run as `higher-pose predict IMAGE --preset PRESET --weights FILE`.');
      }
      // predict's summary line says what was found and where it went.
      const { drawn } = await runPredict([image], { preset, weights, out: join(options.out, 'results.json'), render: options.out, inputSize: preset === 'tiny_coco' ? 256 : undefined });
      // The folder keeps the drawings of earlier runs (of other --image files): which is this one's.
      console.error(`demo: this run drew ${drawn.join(', ')}`);
    });
}
