/**
 * An ONNX Runtime session on a thread of its own. onnxruntime-node's `run` holds the calling
 * thread for the whole forward pass; when the network runs on a GPU, that thread has nothing to
 * compute meanwhile, so here the session lives in a worker (`thread-worker.ts`) and the calling
 * thread can prepare the next image and post-process the previous one while it runs
 * (`EstimatorOptions.imagesInFlight`). Outputs come back in shared memory: the worker copies
 * them into the caller's workspace buffers (ONNX Runtime does not write into SharedArrayBuffers).
 */
import ndarray from 'ndarray';
import type { OutputTensor } from '../../types.js';
import type { Network, OutputBuffers } from '../network.js';
import { startModuleWorker, WorkerRequests } from '../../parallel/worker-thread.js';
import { CallsInFlight } from '../../parallel/in-flight.js';
import { BackendError, networkDisposed, type OnnxSessionOptions } from './session.js';

/** What the network thread is asked. */
export type NetworkJob =
  | { kind: 'create'; model: Uint8Array | string; options: OnnxSessionOptions; name?: string }
  | { kind: 'run'; input: Float32Array; dims: readonly [number, number, number, number]; into?: Float32Array[] }
  | { kind: 'dispose' };

/** Its answers: output names, outputs (their values in `into` when it was given), or done. */
export type NetworkReply =
  | { outputNames: string[]; declaredChannels: (number | undefined)[] }
  | { outputs: { shape: number[]; data?: Float32Array }[] }
  | { disposed: true };

export class OnnxNetworkThread implements Network {
  /** Output shapes by input dims, from the first run with those dims: `into` needs them before a run. */
  private readonly outputShapes = new Map<string, number[][]>();

  private readonly calls = new CallsInFlight(networkDisposed);

  private constructor(
    private readonly thread: WorkerRequests<NetworkJob, NetworkReply>,
    readonly outputNames: readonly string[],
    /** Channels of each output as the model declares them (see `OnnxNetwork.declaredChannels`). */
    readonly declaredChannels: readonly (number | undefined)[],
  ) {}

  /**
   * Creates a session in a new thread from ONNX model bytes or a `.onnx` file path (messages call
   * it `name`, as `OnnxNetwork.create`'s). `moveBytes`: the bytes' buffer is moved to the thread
   * (detached here) instead of copied.
   */
  static async create(model: Uint8Array | string, options: OnnxSessionOptions = {}, name?: string, moveBytes = false): Promise<OnnxNetworkThread> {
    const thread = new WorkerRequests<NetworkJob, NetworkReply>(
      startModuleWorker('thread-worker', import.meta.url),
      (error) => (error.name === 'BackendError' ? new BackendError(error.message) : new Error(error.message)),
      // A thread is not restarted: the network's owner must make another.
      (what) => new BackendError(`network thread ${what}; this network cannot run again, create another one`),
    );
    try {
      const moved = moveBytes && typeof model !== 'string' ? [model.buffer as ArrayBuffer] : [];
      const { outputNames, declaredChannels } = (await thread.request({ kind: 'create', model, options, name }, moved)) as { outputNames: string[]; declaredChannels: (number | undefined)[] };
      return new OnnxNetworkThread(thread, outputNames, declaredChannels);
    } catch (error) {
      await thread.worker.terminate();
      throw error;
    }
  }

  run(input: Float32Array, dims: readonly [number, number, number, number], into?: OutputBuffers): Promise<OutputTensor[]> {
    return this.calls.run(() => this.runNow(input, dims, into));
  }

  private async runNow(input: Float32Array, dims: readonly [number, number, number, number], into?: OutputBuffers): Promise<OutputTensor[]> {
    const shapesKey = dims.join('x');
    const targets = into && this.outputShapes.get(shapesKey)?.map((shape, i) => into.workspace.float32(`${into.key}:${i}`, shape.reduce((a, b) => a * b), true));
    // A copy of its own, moved to the worker: the caller's buffer may be a view of a larger one.
    const copy = input.slice();
    const { outputs } = (await this.thread.request({ kind: 'run', input: copy, dims, into: targets }, [copy.buffer as ArrayBuffer])) as { outputs: { shape: number[]; data?: Float32Array }[] };
    if (!this.outputShapes.has(shapesKey)) this.outputShapes.set(shapesKey, outputs.map((o) => o.shape));
    return outputs.map((o, i) => ndarray((targets?.[i] ?? o.data) as Float32Array, o.shape));
  }

  /** Stops the thread once the runs in progress end (a run after it would only hear that the thread stopped). */
  dispose(): Promise<void> {
    return this.calls.dispose(async () => {
      if (!this.thread.broken) await this.thread.request({ kind: 'dispose' }).catch(() => undefined);
      await this.thread.worker.terminate();
    });
  }
}
