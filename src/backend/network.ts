/** What every inference backend provides: normalised NCHW images in, the network's stage outputs out. */
import type { OutputTensor } from '../types.js';
import type { Workspace } from '../workspace.js';
import { isPositiveInt } from '../values.js';

/**
 * Where a run may write its outputs: `workspace`'s buffers under `${key}:${i}` (output i), valid
 * until the workspace hands them out again. Backends that cannot write into given memory ignore it.
 */
export interface OutputBuffers {
  workspace: Workspace;
  key: string;
}

export interface Network {
  /**
   * Runs a batch `[N, 3, H, W]` of normalised images; returns one `[N, C, h, w]` tensor per
   * network output (1/4 resolution first, then one per deconvolution stage), in `into` when given.
   */
  run(input: Float32Array, dims: readonly [number, number, number, number], into?: OutputBuffers): Promise<OutputTensor[]>;
  /** How many runs it computes at the same time (`OnnxTwinNetwork`: two); others run one after another. */
  readonly concurrentRuns?: number;
  dispose(): Promise<void>;
}

/** Why `input` is not a batch of images `[N, 3, H, W]` with those dims, or undefined. */
export function networkInputProblem(input: Float32Array, dims: readonly [number, number, number, number]): string | undefined {
  const [n, c, h, w] = dims;
  const got = `got dims [${dims.join(', ')}] for ${input.length} values`;
  // An empty image would give empty outputs, and no error, on TensorFlow.js.
  if (![n, h, w].every(isPositiveInt)) return `Network input must be [N, 3, H, W] float32 with N, H and W positive integers; ${got}`;
  return c === 3 && input.length === n * c * h * w ? undefined : `Network input must be [N, 3, H, W] float32; ${got}`;
}

/**
 * What to add to a backend's error on an input whose height or width is not a multiple of 32:
 * HRNet's lowest branch works at 1/32, and the branches' sums then meet maps one row or column
 * apart (the runtimes' words for it name an addition deep in the network).
 */
export function inputSideHint(dims: readonly [number, number, number, number]): string {
  const [, , h, w] = dims;
  return h % 32 === 0 && w % 32 === 0 ? '' : `. HigherHRNet takes heights and widths that are multiples of 32, got ${h}x${w} (testScaleInputs prepares images so)`;
}
