/** What every inference backend provides: normalised NCHW images in, the network's stage outputs out. */
import type { OutputTensor } from '../types.js';
import type { Workspace } from '../workspace.js';

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
  dispose(): Promise<void>;
}
