/**
 * The network alone, as each backend runs it: what the bench's network figures time and what
 * `overhead_ratio` divides by. ONNX Runtime's is a bare session with the estimator's session
 * options; TensorFlow.js's is the compiled graph model on the runtime the estimator would pick.
 */
import ndarray, { type NdArray } from 'ndarray';
import * as ort from 'onnxruntime-node';
import type { ExperimentConfig } from '../src/config/experiment.js';
import { createNetwork, type NetworkOptions } from '../src/model/load.js';
import type { Weights } from '../src/model/weights.js';
import { TfjsNetwork } from '../src/backend/tfjs/network.js';
import { BackendError, providerUnavailable, type ExecutionProvider } from '../src/backend/onnx/session.js';
import { OnnxNetworkThread } from '../src/backend/onnx/thread.js';
import { twinThreads } from '../src/backend/onnx/twin.js';

export type Dims = readonly [number, number, number, number];

export interface BareNetwork {
  /** The runtime, for the bench's first line. */
  readonly description: string;
  /** ONNX Runtime's threads per operator; undefined for TensorFlow.js. */
  readonly threads?: number;
  /** Runs a batch `[N, 3, H, W]`: one output per network output, 1/4 resolution first. */
  run(input: Float32Array, dims: Dims): Promise<NdArray<Float32Array>[]>;
  release(): Promise<void>;
}

export async function onnxBareNetwork(model: Uint8Array, options: ort.InferenceSession.SessionOptions): Promise<BareNetwork> {
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(model, options);
  } catch (err) {
    // A device without its execution provider, said as the estimator says it.
    const unavailable = (options.executionProviders ?? []).map((p) => providerUnavailable((typeof p === 'string' ? p : p.name) as ExecutionProvider, (err as Error).message)).find((m) => m !== null);
    throw unavailable ? new BackendError(unavailable) : err;
  }
  const [inputName] = session.inputNames;
  return {
    description: `onnxruntime-node ${ort.env.versions.common}, ${options.intraOpNumThreads} network threads`,
    threads: options.intraOpNumThreads,
    async run(input, dims) {
      const out = await session.run({ [inputName]: new ort.Tensor('float32', input, [...dims]) });
      return session.outputNames.map((name) => ndarray(out[name].data as Float32Array, out[name].dims.map(Number)));
    },
    release: () => session.release(),
  };
}

/** Two outputs lists, one per image. */
type PairOutputs = [NdArray<Float32Array>[], NdArray<Float32Array>[]];

/**
 * The flip pair as `concurrentFlip` runs it: two sessions with half the threads each, one on
 * this thread and one in a worker (`OnnxNetworkThread`), each image on its own, at the same time.
 */
export interface BareTwin {
  /** Each session's threads. */
  readonly threads: number;
  runAtOnce(first: Float32Array, second: Float32Array, dims: Dims): Promise<PairOutputs>;
  release(): Promise<void>;
}

export async function onnxBareTwin(model: Uint8Array, options: ort.InferenceSession.SessionOptions & { intraOpNumThreads: number }): Promise<BareTwin> {
  const half = twinThreads(options.intraOpNumThreads);
  const here = await onnxBareNetwork(model, { ...options, intraOpNumThreads: half });
  const worker = await OnnxNetworkThread.create(model, { executionProviders: ['cpu'], intraOpNumThreads: half });
  return {
    threads: half,
    async runAtOnce(first, second, dims) {
      // The worker's run is sent off before this thread's blocks.
      const there = worker.run(second, dims);
      const outputs = await here.run(first, dims);
      return [outputs, (await there) as NdArray<Float32Array>[]];
    },
    release: async () => {
      await Promise.all([here.release(), worker.dispose()]);
    },
  };
}

/** The network the estimator runs with these options (`backend: 'tfjs'`). */
export async function tfjsBareNetwork(config: ExperimentConfig, weights: Weights, options: Pick<NetworkOptions, 'device' | 'tfjsBackend'>): Promise<BareNetwork> {
  const network = await createNetwork(config, weights, { ...options, backend: 'tfjs' });
  if (!(network instanceof TfjsNetwork)) throw new Error('backend tfjs gave no TensorFlow.js network');
  const { tf, module, backend } = network.runtime;
  return {
    description: `${module} ${tf.version.tfjs}, backend ${backend}`,
    run: (input, dims) => network.run(input, dims) as Promise<NdArray<Float32Array>[]>,
    release: () => network.dispose(),
  };
}
