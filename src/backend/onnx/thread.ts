/**
 * An ONNX Runtime session on a thread of its own. onnxruntime-node's `run` holds the calling
 * thread for the whole forward pass; when the network runs on a GPU, that thread has nothing to
 * compute meanwhile, so here the session lives in a worker (`thread-worker.ts`) and the calling
 * thread can prepare the next image and post-process the previous one while it runs
 * (`EstimatorOptions.imagesInFlight`). Outputs come back in shared memory: the worker copies
 * them into the caller's workspace buffers (ONNX Runtime does not write into SharedArrayBuffers).
 */
import type { Worker } from 'node:worker_threads';
import ndarray from 'ndarray';
import type { OutputTensor } from '../../types.js';
import type { Network, OutputBuffers } from '../network.js';
import { startModuleWorker } from '../../parallel/start-worker.js';
import { BackendError, type OnnxSessionOptions } from './session.js';

/** What the network thread is asked. */
export type NetworkJob =
  | { kind: 'create'; model: Uint8Array | string; options: OnnxSessionOptions }
  | { kind: 'run'; input: Float32Array; dims: readonly [number, number, number, number]; into?: Float32Array[] }
  | { kind: 'dispose' };

/** Its answers: output names, outputs (their values in `into` when it was given), or done. */
export type NetworkReply =
  | { outputNames: string[] }
  | { outputs: { shape: number[]; data?: Float32Array }[] }
  | { disposed: true };

export class OnnxNetworkThread implements Network {
  private readonly pending = new Map<number, { resolve: (reply: NetworkReply) => void; reject: (error: Error) => void }>();
  private nextId = 0;
  private failure: Error | null = null;
  /** Output shapes by input dims, from the first run with those dims: `into` needs them before a run. */
  private readonly outputShapes = new Map<string, number[][]>();
  outputNames: readonly string[] = [];

  private constructor(private readonly worker: Worker) {
    worker.on('message', ({ id, error, ...reply }: { id: number; error?: { name: string; message: string } } & NetworkReply) => {
      const request = this.pending.get(id);
      this.pending.delete(id);
      if (this.pending.size === 0) worker.unref();
      if (!error) request?.resolve(reply as NetworkReply);
      else request?.reject(error.name === 'BackendError' ? new BackendError(error.message) : new Error(error.message));
    });
    worker.on('error', (error) => this.fail(new BackendError(`network thread failed: ${error.message}`)));
    worker.on('exit', () => this.fail(new BackendError('network thread stopped')));
    worker.unref();
  }

  /** Creates a session in a new thread from ONNX model bytes or a `.onnx` file path. */
  static async create(model: Uint8Array | string, options: OnnxSessionOptions = {}): Promise<OnnxNetworkThread> {
    const network = new OnnxNetworkThread(startModuleWorker('thread-worker', import.meta.url));
    try {
      const reply = (await network.request({ kind: 'create', model, options })) as { outputNames: string[] };
      network.outputNames = reply.outputNames;
      return network;
    } catch (error) {
      await network.worker.terminate();
      throw error;
    }
  }

  async run(input: Float32Array, dims: readonly [number, number, number, number], into?: OutputBuffers): Promise<OutputTensor[]> {
    const shapesKey = dims.join('x');
    const targets = into && this.outputShapes.get(shapesKey)?.map((shape, i) => into.workspace.float32(`${into.key}:${i}`, shape.reduce((a, b) => a * b), true));
    // A copy of its own, moved to the worker: the caller's buffer may be a view of a larger one.
    const copy = input.slice();
    const { outputs } = (await this.request({ kind: 'run', input: copy, dims, into: targets }, [copy.buffer as ArrayBuffer])) as { outputs: { shape: number[]; data?: Float32Array }[] };
    if (!this.outputShapes.has(shapesKey)) this.outputShapes.set(shapesKey, outputs.map((o) => o.shape));
    return outputs.map((o, i) => ndarray((targets?.[i] ?? o.data) as Float32Array, o.shape));
  }

  async dispose(): Promise<void> {
    if (!this.failure) await this.request({ kind: 'dispose' }).catch(() => undefined);
    await this.worker.terminate();
  }

  private request(job: NetworkJob, transfer: ArrayBuffer[] = []): Promise<NetworkReply> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    this.worker.ref();
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, job }, transfer);
    });
  }

  private fail(error: Error): void {
    this.failure ??= error;
    for (const { reject } of this.pending.values()) reject(error);
    this.pending.clear();
  }
}
