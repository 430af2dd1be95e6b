/**
 * Two ONNX Runtime sessions of one model, each with half the threads, that run two calls at the
 * same time: the flip test's plain and mirrored passes (`EstimatorOptions.concurrentFlip`).
 * On a CPU, one session's threads share every operator, and the many small ones of HRNet's low
 * resolution branches keep them waiting on each other; two passes side by side, a thread each,
 * waste none of that (on the 2-core machines the flip pair took 3-12% less: README, Speed).
 * onnxruntime-node holds its calling thread for a whole run, so at least one session lives in a
 * worker (`OnnxNetworkThread`).
 */
import { readFile, stat } from 'node:fs/promises';
import type { OutputTensor } from '../../types.js';
import type { Network, OutputBuffers } from '../network.js';
import { OnnxNetwork, type OnnxSessionOptions } from './session.js';
import { OnnxNetworkThread } from './thread.js';
import { physicalCores } from './cpu.js';

/** The threads of each session when two share `threads` (default: the physical cores). */
export function twinThreads(threads = physicalCores()): number {
  return Math.max(1, Math.floor(threads / 2));
}

export class OnnxTwinNetwork implements Network {
  /** Runs each member has in flight: a call goes to the one with fewer (the first on a tie). */
  private readonly inFlight = [0, 0];

  /** Runs two calls at once. */
  readonly concurrentRuns = 2;

  private constructor(private readonly members: readonly [OnnxNetworkThread, OnnxNetwork | OnnxNetworkThread]) {}

  get outputNames(): readonly string[] {
    return this.members[0].outputNames;
  }

  get declaredChannels(): readonly (number | undefined)[] {
    return this.members[0].declaredChannels;
  }

  /**
   * Two sessions of `given` (bytes or a `.onnx` path), with half of `options.intraOpNumThreads`
   * each: the first in a worker, the second on this thread unless `bothOnThreads`. The worker is
   * the first member so that its run is sent off before this thread's blocks. `ownBytes`: bytes
   * the caller gives away, moved to the worker once the other session has read them.
   */
  static async create(given: Uint8Array | string, options: OnnxSessionOptions, name: string | undefined, bothOnThreads: boolean, ownBytes = false): Promise<OnnxTwinNetwork> {
    const half = { ...options, intraOpNumThreads: twinThreads(options.intraOpNumThreads) };
    // A pipe gives its bytes once: read here, for both (a regular file keeps its path, beside which ONNX Runtime finds external data).
    const piped = typeof given === 'string' && !(await stat(given)).isFile();
    const model = piped ? await readFile(given) : given;
    // One after the other: two sessions reading a model at once hold two copies of it and of what parsing it takes (W32: peak RSS up to ~300 MB higher).
    const other = bothOnThreads ? await OnnxNetworkThread.create(model, half, name) : await OnnxNetwork.create(model, half, name);
    try {
      return new OnnxTwinNetwork([await OnnxNetworkThread.create(model, half, name, piped || ownBytes), other]);
    } catch (error) {
      await other.dispose();
      throw error;
    }
  }

  async run(input: Float32Array, dims: readonly [number, number, number, number], into?: OutputBuffers): Promise<OutputTensor[]> {
    const member = this.inFlight[1] < this.inFlight[0] ? 1 : 0;
    this.inFlight[member]++;
    try {
      return await this.members[member].run(input, dims, into);
    } finally {
      this.inFlight[member]--;
    }
  }

  async dispose(): Promise<void> {
    await Promise.all(this.members.map((member) => member.dispose()));
  }
}
