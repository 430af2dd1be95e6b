/** Option parsing shared by the commands that run a model. */
import { InvalidArgumentError, type Command } from 'commander';
import { PRESET_NAMES } from '../config/presets.js';

export interface ModelCliOptions {
  config?: string;
  preset?: string;
  weights?: string;
  inputSize?: number;
  device?: 'cpu' | 'cuda';
  threads?: number;
}

export function parsePositiveInteger(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError(`expected a positive integer, got ${value}`);
  return n;
}

export function parseNonNegativeNumber(value: string): number {
  const n = value.trim() === '' ? NaN : Number(value);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`expected a number >= 0, got ${value}`);
  return n;
}

export function parsePositiveNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`expected a number > 0, got ${value}`);
  return n;
}

/** `2,1,0.5` → [2, 1, 0.5]. */
export function parseScales(value: string): number[] {
  const scales = value.split(',').map((s) => Number(s.trim()));
  if (scales.length === 0 || scales.some((s) => !Number.isFinite(s) || s <= 0)) {
    throw new InvalidArgumentError(`expected comma-separated positive scales such as 2,1,0.5, got ${value}`);
  }
  return scales;
}

function parseDevice(value: string): 'cpu' | 'cuda' {
  if (value !== 'cpu' && value !== 'cuda') throw new InvalidArgumentError(`Unsupported device: ${value}. Must be one of [cpu, cuda]`);
  return value;
}

/** Which model: `--config | --preset` and `--weights`. */
export function addModelSourceOptions(command: Command): Command {
  return command
    .option('--config <yaml>', 'official experiment configuration (YAML)')
    .option('--preset <name>', `built-in configuration: ${PRESET_NAMES.join(', ')}`)
    .option('--weights <file>', 'checkpoint (.pth from the model zoo, see `higher-pose weights list`) or an ONNX export (.onnx)');
}

/** The model and how to run it: adds `--input-size`, `--device`, `--threads`. */
export function addModelOptions(command: Command): Command {
  return addModelSourceOptions(command)
    .option('--input-size <n>', 'network input size (overrides the configuration)', parsePositiveInteger)
    .option('--device <device>', 'cpu, or cuda with the CUDA build of onnxruntime-node', parseDevice)
    .option('--threads <n>', 'ONNX Runtime threads per operator', parsePositiveInteger);
}
