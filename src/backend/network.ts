/** What every inference backend provides: normalised NCHW images in, the network's stage outputs out. */
import type { OutputTensor } from '../types.js';

export interface Network {
  /**
   * Runs a batch `[N, 3, H, W]` of normalised images; returns one `[N, C, h, w]` tensor per
   * network output (1/4 resolution first, then one per deconvolution stage).
   */
  run(input: Float32Array, dims: readonly [number, number, number, number]): Promise<OutputTensor[]>;
  dispose(): Promise<void>;
}
