/**
 * `npm run bench`'s command line, checked before any model is built: a value out of range or
 * options that do not go together end the run at once with one line on stderr (exit 1), not
 * with NaN figures, a crash in a timing loop or a refusal after minutes of timing.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { PRESET_NAMES, type PresetName } from '../src/config/presets.js';
import { EXECUTION_PROVIDERS, type ExecutionProvider } from '../src/backend/onnx/session.js';
import { TFJS_BACKENDS, type TfjsBackendName } from '../src/backend/tfjs/backend-name.js';
import { MAX_THREADS } from '../src/model/load.js';
import { parsePositiveInteger } from '../src/cli/options.js';

export interface BenchOptions {
  preset: PresetName;
  repeat: number;
  warmup: number;
  batch: number;
  threads?: number;
  device: ExecutionProvider;
  backend: 'onnxruntime' | 'tfjs';
  tfjsBackend?: TfjsBackendName;
  json: boolean;
  measureRss?: string;
}

/**
 * Timed runs of the post-processing alone, at least. One takes 40-100 ms on these machines,
 * scattered by the two threads' scheduling and garbage collections; the minimum of three runs
 * often missed the steady state by half. Twenty cost about as much as two network passes.
 */
export const POSTPROCESS_RUNS = 20;

/**
 * Timed runs of `estimatePoses` and of the bare network beside it, at least: `estimatePoses` is a
 * sum of parts that vary apart (decoding, the network, the post-processing), and the minimum of
 * such a sum needs more runs than one of its parts to come near its steady state: over ten,
 * `overhead_ratio` moved 1.078-1.120 between consecutive windows of one process, over twenty
 * 1.084-1.089 (docs/speed.md).
 */
export const END_TO_END_RUNS = 20;

function nonNegativeInteger(value: string): number {
  const n = value.trim() === '' ? NaN : Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`expected an integer >= 0, got ${value}`);
  return n;
}

/** ONNX Runtime's threads: the bare session starts them before the estimator could refuse too many. */
function threadCount(value: string): number {
  const n = parsePositiveInteger(value);
  if (n > MAX_THREADS) throw new InvalidArgumentError(`expected an integer from 1 to ${MAX_THREADS}, got ${value}`);
  return n;
}

export function benchProgram(): Command {
  return new Command('npm run bench --')
    .addOption(new Option('--preset <name>', 'model configuration').choices(PRESET_NAMES).default('coco_w32_512'))
    .option('--repeat <n>', `timed runs per figure (at least ${POSTPROCESS_RUNS} of the post-processing alone, ${END_TO_END_RUNS} end to end)`, parsePositiveInteger, 5)
    .option('--warmup <n>', 'untimed runs first', nonNegativeInteger, 1)
    .option('--batch <n>', 'images in the images/s run', parsePositiveInteger, 3)
    .option('--threads <n>', 'ONNX Runtime threads per operator (default: the physical cores, as the estimator)', threadCount)
    .addOption(new Option('--device <name>', 'where the network runs, as the estimator\'s device (int8 is timed on the cpu only)').choices(EXECUTION_PROVIDERS).default('cpu'))
    .addOption(new Option('--backend <name>', 'inference backend, as the estimator\'s (int8 is timed on onnxruntime only)').choices(['onnxruntime', 'tfjs']).default('onnxruntime'))
    .addOption(new Option('--tfjs-backend <name>', 'with --backend tfjs (default: the best installed)').choices(TFJS_BACKENDS))
    .option('--json', 'print only the JSON line', false)
    .addOption(new Option('--measure-rss <image>', 'one estimate, then print the peak RSS in MB').hideHelp());
}

/** The options of `argv` (as `process.argv`); a problem is reported through `program.error`, which exits unless overridden. */
export function benchOptions(argv: readonly string[], program = benchProgram()): BenchOptions {
  const opts = program.parse(argv).opts<BenchOptions>();
  // The estimator would refuse these only after the bare network has been timed.
  if (opts.tfjsBackend !== undefined && opts.backend !== 'tfjs') program.error(`error: --tfjs-backend ${opts.tfjsBackend} picks a TensorFlow.js backend: give --backend tfjs too`);
  if (opts.threads !== undefined && opts.backend === 'tfjs') program.error('error: --threads sets how ONNX Runtime runs: leave it out with --backend tfjs');
  return opts;
}
