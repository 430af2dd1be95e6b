/**
 * The TensorFlow.js backend: the layer graph compiled to a tfjs graph model (see
 * graph-model.ts) and run in process on tfjs-node(-gpu), wasm or cpu.
 */
import type * as Tf from '@tensorflow/tfjs';
import ndarray from 'ndarray';
import type { LayerGraph } from '../../backbone/graph.js';
import type { Weights } from '../../model/weights.js';
import type { OutputTensor } from '../../types.js';
import { inputSideHint, networkInputProblem, type Network } from '../network.js';
import { BackendError, networkDisposed } from '../onnx/session.js';
import { CallsInFlight } from '../../parallel/in-flight.js';
import { compileToTfjsGraph, type TfjsCompileOptions, type TfjsGraphArtifacts } from './graph-model.js';
import { backendFailure, recordBackendFailure, resolveTfjsRuntime, type TfjsResolveOptions, type TfjsRuntime } from './runtime.js';

/** What to do about a network too large for the backend's memory, ending its errors. */
const SMALLER_INPUTS_HINT = '. For smaller inputs, lower the input size or the test scales, or leave out the flip test; '
  + 'ONNX Runtime (the default backend) and tfjs-node have no such limit';

export interface TfjsNetworkOptions extends TfjsResolveOptions, TfjsCompileOptions {}

/** A loaded tfjs graph model behind the `Network` interface: NCHW float32 in, NCHW outputs out. */
export class TfjsNetwork implements Network {
  private constructor(
    readonly runtime: TfjsRuntime,
    private readonly model: Tf.GraphModel,
    private readonly inputName: string,
    readonly outputNames: readonly string[],
  ) {}

  /** Loads graph-model artifacts (compiled here, or read from an export) on a resolved runtime. */
  static async load(artifacts: TfjsGraphArtifacts, options: TfjsResolveOptions = {}): Promise<TfjsNetwork> {
    const runtime = await resolveTfjsRuntime(options);
    const { tf } = runtime;
    let model: Tf.GraphModel;
    try {
      model = await tf.loadGraphModel(tf.io.fromMemory(artifacts));
    } catch (err) {
      throw new BackendError(`TensorFlow.js could not load the compiled model: ${(err as Error).message}`);
    }
    const { inputName, outputNames } = artifacts.userDefinedMetadata;
    return new TfjsNetwork(runtime, model, inputName, outputNames);
  }

  private readonly calls = new CallsInFlight(networkDisposed);

  run(input: Float32Array, dims: readonly [number, number, number, number]): Promise<OutputTensor[]> {
    return this.calls.run(() => this.runNow(input, dims));
  }

  private async runNow(input: Float32Array, dims: readonly [number, number, number, number]): Promise<OutputTensor[]> {
    const problem = networkInputProblem(input, dims);
    if (problem) throw new BackendError(problem);
    const { tf, backend } = this.runtime;
    const failure = backendFailure(this.runtime);
    if (failure !== undefined) {
      throw new BackendError(`TensorFlow.js's ${backend} backend stopped earlier in this process (${failure}) and can run no network again: `
        + `restart the process${SMALLER_INPUTS_HINT}`);
    }
    // The tfjs engine is global: another user may have switched backends since loading.
    if (tf.getBackend() !== backend) await tf.setBackend(backend);
    let outputs: Tf.Tensor[];
    try {
      // execute() returns a bare tensor when asked for a single output.
      outputs = tf.tidy(() => [this.model.execute({ [this.inputName]: tf.tensor4d(input, [...dims]) }, [...this.outputNames])].flat());
    } catch (err) {
      const shape = `[${dims.join(', ')}]`;
      const failed = recordBackendFailure(this.runtime, err, `on a ${shape} input`);
      if (failed !== undefined) {
        throw new BackendError(`TensorFlow.js's ${backend} backend failed on a ${shape} input (${failed}), `
          + `most likely out of memory (WebAssembly has 4 GB at most), and can run no network again in this process${SMALLER_INPUTS_HINT}`, { cause: err });
      }
      throw new BackendError(`TensorFlow.js could not run the network on a ${shape} input: ${(err as Error).message.replace(/\.?\s*$/, '')}${inputSideHint(dims)}`, { cause: err });
    }
    try {
      const values = await Promise.all(outputs.map((t) => t.data<'float32'>()));
      return outputs.map((t, i) => ndarray(values[i], t.shape));
    } finally {
      tf.dispose(outputs);
    }
  }

  /** Releases the weights once the runs in progress end (a run after it would find its tensors disposed). */
  dispose(): Promise<void> {
    // A stopped WebAssembly module cannot free them: its memory went with it.
    return this.calls.dispose(async () => {
      if (backendFailure(this.runtime) === undefined) this.model.dispose();
    });
  }
}

/** Compiles `graph` with `weights` (BatchNorm folded) and loads it on the best available tfjs runtime. */
export async function createTfjsNetwork(graph: LayerGraph, weights: Weights, options: TfjsNetworkOptions = {}): Promise<Network> {
  return TfjsNetwork.load(compileToTfjsGraph(graph, weights, options), options);
}
