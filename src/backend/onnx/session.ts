/**
 * Running a HigherHRNet ONNX model with onnxruntime-node. The runtime is imported lazily so
 * that code paths that never run a network (decoding, evaluation) do not load it.
 */
import type * as Ort from 'onnxruntime-node';
import { MessageChannel } from 'node:worker_threads';
import ndarray from 'ndarray';
import type { OutputTensor } from '../../types.js';
import { inputSideHint, networkInputProblem, type Network, type OutputBuffers } from '../network.js';
import { physicalCores, u8s8CanSaturate } from './cpu.js';
import { CallsInFlight } from '../../parallel/in-flight.js';

export class BackendError extends Error {
  override name = 'BackendError';
}

/** The error of a network's run after its dispose. */
export function networkDisposed(): BackendError {
  return new BackendError('run: the network has been disposed; create another one');
}

/**
 * Where the network runs: `'cpu'`; `'webgpu'`, any GPU through ONNX Runtime's WebGPU execution
 * provider, which the npm package ships (on Linux it runs on Vulkan: the GPU's driver and the
 * Vulkan loader, libvulkan1); `'cuda'`, NVIDIA GPUs, with the CUDA build of onnxruntime-node.
 */
export type ExecutionProvider = 'cpu' | 'cuda' | 'webgpu';
export const EXECUTION_PROVIDERS: readonly ExecutionProvider[] = ['cpu', 'cuda', 'webgpu'];

/**
 * What to do about a session that could not start on `provider`, from ONNX Runtime's message;
 * null when the message is not about the provider being unavailable.
 */
export function providerUnavailable(provider: ExecutionProvider, message: string): string | null {
  if (provider === 'cuda' && /Cuda: Failed to load shared library|providers_(shared|cuda)/i.test(message)) {
    return "device 'cuda': onnxruntime-node's CUDA execution provider is not installed (the npm package ships the CPU and WebGPU ones). "
      + 'On a machine with CUDA 12: ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node (README, GPU); '
      + "or use device 'webgpu'";
  }
  if (provider === 'webgpu' && /WebGPU adapter|No supported adapters/i.test(message)) {
    return "device 'webgpu': ONNX Runtime found no GPU it can use through WebGPU. On Linux it needs the GPU's Vulkan driver "
      + 'and the Vulkan loader (Debian/Ubuntu package libvulkan1); software renderers are not enough (README, GPU)';
  }
  return null;
}

export interface OnnxSessionOptions {
  /** Execution providers in order of preference. Default `['cpu']` (see `ExecutionProvider`). */
  executionProviders?: readonly ExecutionProvider[] | undefined;
  /** Threads for one operator; default: the physical cores (`physicalCores()`). */
  intraOpNumThreads?: number | undefined;
  /** ONNX Runtime graph optimisation level. Default `'all'`. */
  graphOptimizationLevel?: 'disabled' | 'basic' | 'extended' | 'all' | undefined;
}

/**
 * For int8 models on CPUs where uint8 × int8 products can saturate (see `cpu.ts`): ONNX
 * Runtime then moves weights outside 7 bits to its exact, slower uint8 × uint8 kernels. Only
 * there: it would take the same detour on VNNI CPUs, at half the speed.
 */
function exactInt8SessionOptions(): Pick<Ort.InferenceSession.SessionOptions, 'extra'> {
  return u8s8CanSaturate() ? { extra: { session: { x64quantprecision: '1' } } } : {};
}

/**
 * The session configuration of `OnnxNetwork` (and of the bench's bare session):
 * `exactInt8SessionOptions`, and the intra-op threads' spinning stopped at the end of each run.
 * They spin through a run (waking them per operator would cost more), but after it, by default,
 * ONNX Runtime's second thread spins ~20 ms more, on one of the two CPUs the post-processing's
 * two threads need (measured in alternating processes: post-processing inside `estimatePoses`
 * 5-13 ms lower in median, the network unchanged).
 *
 * No memory pattern: with one, the second run of an input size allocates one block for all its
 * activations while the arena still holds the first run's, so memory grows two to three times as
 * much: W32 flip pair at 704x512 +240 MB instead of +85; a 4000x500 panorama (4096x512
 * input) +960 MB instead of +470 per pass; the same speed (alternating runs, 750 ms either way).
 */
export function sessionConfig(): Pick<Ort.InferenceSession.SessionOptions, 'extra' | 'enableMemPattern'> {
  const int8 = exactInt8SessionOptions().extra as { session?: Record<string, string> } | undefined;
  return { enableMemPattern: false, extra: { session: { ...int8?.session, force_spinning_stop: '1' } } };
}

let runtime: Promise<typeof Ort> | undefined;
/** onnxruntime-node, imported on first use. */
export function loadRuntime(): Promise<typeof Ort> {
  runtime ??= import('onnxruntime-node').catch((err: Error) => {
    runtime = undefined;
    throw new BackendError(`onnxruntime-node could not be loaded (${err.message}); reinstall the package with npm install onnxruntime-node`);
  });
  return runtime;
}

/** What keeps a model's declared input from taking `[N, 3, H, W]` float32 images, or undefined. */
function inputProblem(input: Ort.InferenceSession.ValueMetadata | undefined): string | undefined {
  if (!input?.isTensor) return 'its input is not a tensor; HigherHRNet takes [N, 3, H, W] float32 images';
  if (input.type !== 'float32') return `its input is ${input.type}; HigherHRNet takes float32 images`;
  if (input.shape.length !== 4) return `its input has ${input.shape.length} dimensions [${input.shape.join(', ')}]; HigherHRNet takes [N, 3, H, W] images`;
  const channels = input.shape[1];
  if (typeof channels === 'number' && channels !== 3) return `its input takes ${channels} channel${channels === 1 ? '' : 's'} [${input.shape.join(', ')}]; HigherHRNet takes 3 (RGB)`;
  return undefined;
}

/**
 * Advice when a session's input has a fixed height or width, or a batch fixed at more than 1 (an
 * export without dynamic axes); a batch of 1 is not in the way: batches then run image by image.
 */
export function fixedSizeHint(session: Pick<Ort.InferenceSession, 'inputMetadata'>): string {
  const input = session.inputMetadata[0];
  if (!input?.isTensor) return '';
  const [batch, , height, width] = input.shape;
  if (![height, width].some((side) => typeof side === 'number') && !(typeof batch === 'number' && batch !== 1)) return '';
  return `. The model's input is fixed at [${input.shape.join(', ')}]; images need any height and width: `
    + 'export it with dynamic batch, height and width (higher-pose export-onnx does)';
}

/** Refuses an output that is not a 4-D float32 tensor, `[N, C, h, w]`. */
function checkOutput(name: string, type: string, dims: readonly number[]): void {
  if (type !== 'float32' || dims.length !== 4) throw new BackendError(`Output ${name} must be a 4-D float32 tensor; got ${type} [${dims.join(', ')}]`);
}

/** A loaded network: NCHW float32 images in, the stage outputs out. */
export class OnnxNetwork implements Network {
  private constructor(
    private readonly ort: typeof Ort,
    private readonly session: Ort.InferenceSession,
    readonly outputNames: readonly string[],
    /** The model's input takes one image at a time (exported without a dynamic batch): batches run image by image. */
    private readonly oneImageAtATime = false,
  ) {}

  /** Channels of each output as the model declares them (undefined where the dimension is symbolic). */
  get declaredChannels(): (number | undefined)[] {
    return this.session.outputMetadata.map((m) => (m.isTensor && typeof m.shape[1] === 'number' ? m.shape[1] : undefined));
  }

  /** Creates a session from ONNX model bytes or a `.onnx` file path; messages call it `name` (bytes a user gave by where they came from). */
  static async create(model: Uint8Array | string, options: OnnxSessionOptions = {}, name = typeof model === 'string' ? model : 'the compiled model'): Promise<OnnxNetwork> {
    const ort = await loadRuntime();
    const providers = options.executionProviders ?? ['cpu'];
    const sessionOptions: Ort.InferenceSession.SessionOptions = {
      executionProviders: providers,
      graphOptimizationLevel: options.graphOptimizationLevel ?? 'all',
      ...sessionConfig(),
      intraOpNumThreads: options.intraOpNumThreads ?? physicalCores(),
    };
    let session: Ort.InferenceSession;
    try {
      session = typeof model === 'string'
        ? await ort.InferenceSession.create(model, sessionOptions)
        : await ort.InferenceSession.create(model, sessionOptions);
    } catch (err) {
      const { message } = err as Error;
      const unavailable = providers.map((p) => providerUnavailable(p, message)).find((m) => m !== null);
      if (unavailable) throw new BackendError(unavailable);
      // Bytes that are no ONNX model at all: ONNX Runtime's words for it name its own sources.
      if (/Protobuf parsing failed|ModelProto does not have a graph/.test(message)) throw new BackendError(`${name}: not a valid ONNX model (ONNX Runtime could not parse it)`);
      // From bytes ONNX Runtime looks for the data files in the working folder, not beside the model.
      if (typeof model !== 'string' && /External data path/.test(message)) {
        throw new BackendError(`${name}: the model keeps its weights in external data files, which ONNX Runtime finds beside the .onnx file: give the file's path, not its bytes (a pipe)`);
      }
      throw new BackendError(`ONNX Runtime could not load ${name}: ${message.replace(/^Load model from .* failed:\s*/, '')}`);
    }
    if (session.inputNames.length !== 1) {
      throw new BackendError(`Expected a network with one image input, found inputs [${session.inputNames.join(', ')}]`);
    }
    const problem = inputProblem(session.inputMetadata[0]);
    if (problem) {
      await session.release();
      throw new BackendError(`${name}: ${problem}`);
    }
    const batch = session.inputMetadata[0]?.isTensor ? session.inputMetadata[0].shape[0] : undefined;
    return new OnnxNetwork(ort, session, session.outputNames, batch === 1);
  }

  /** Output shapes by input dims, from the first run with those dims: `into` needs them before a run. */
  private readonly outputShapes = new Map<string, number[][]>();

  private readonly calls = new CallsInFlight(networkDisposed);

  /**
   * Runs the network on a batch of normalised images, `[N, 3, H, W]`; returns, per output,
   * one `[N, C, h, w]` tensor. With `into`, ONNX Runtime writes the outputs into its buffers
   * (from the second run with these dims on): outputs it allocates itself are new memory every
   * run, which costs page faults and garbage collections while the image is post-processed.
   */
  run(input: Float32Array, dims: readonly [number, number, number, number], into?: OutputBuffers): Promise<OutputTensor[]> {
    return this.calls.run(() => this.runNow(input, dims, into));
  }

  private async runNow(input: Float32Array, dims: readonly [number, number, number, number], into?: OutputBuffers): Promise<OutputTensor[]> {
    const problem = networkInputProblem(input, dims);
    if (problem) throw new BackendError(problem);
    const [n, c, h, w] = dims;
    const feeds = { [this.session.inputNames[0]]: new this.ort.Tensor('float32', input, [n, c, h, w]) };
    const shapesKey = dims.join('x');
    const imageByImage = this.oneImageAtATime && n > 1;
    const given = imageByImage ? undefined : into && this.outputShapes.get(shapesKey)?.map((shape, i) => new this.ort.Tensor('float32', into.workspace.float32(`${into.key}:${i}`, shape.reduce((a, b) => a * b), false), shape));
    let results: Ort.InferenceSession.ReturnType;
    try {
      if (imageByImage) results = await this.runImageByImage(input, dims);
      else results = given ? await this.session.run(feeds, Object.fromEntries(this.outputNames.map((name, i) => [name, given[i]]))) : await this.session.run(feeds);
    } catch (err) {
      // Ours already says what is wrong (an output that is no image stack), unlike ONNX Runtime's.
      if (err instanceof BackendError) throw err;
      throw new BackendError(`ONNX Runtime could not run the network on a [${dims.join(', ')}] input: ${(err as Error).message.replace(/\.?\s*$/, '')}${inputSideHint(dims) || fixedSizeHint(this.session)}`);
    }
    const outputs = this.outputNames.map((name, i) => {
      const t = results[name];
      checkOutput(name, t.type, t.dims);
      const data = (given?.[i] ?? t).data as Float32Array;
      if (t.data !== data) releaseNow((t.data as Float32Array).buffer);
      return ndarray(data, t.dims.map(Number));
    });
    if (!this.outputShapes.has(shapesKey)) this.outputShapes.set(shapesKey, outputs.map((o) => o.shape));
    return outputs;
  }

  /** Runs each image of the batch alone and stacks the outputs, as one run of the batch would give them. */
  private async runImageByImage(input: Float32Array, dims: readonly [number, number, number, number]): Promise<Ort.InferenceSession.ReturnType> {
    const [n, c, h, w] = dims;
    const size = c * h * w;
    const runs: Ort.InferenceSession.ReturnType[] = [];
    for (let i = 0; i < n; i++) {
      runs.push(await this.session.run({ [this.session.inputNames[0]]: new this.ort.Tensor('float32', input.subarray(i * size, (i + 1) * size), [1, c, h, w]) }));
    }
    const stacked = Object.fromEntries(this.outputNames.map((name) => {
      const first = runs[0][name];
      checkOutput(name, first.type, [n, ...first.dims.slice(1)]);
      const data = new Float32Array(n * first.size);
      runs.forEach((run, i) => data.set(run[name].data as Float32Array, i * first.size));
      return [name, new this.ort.Tensor('float32', data, [n, ...first.dims.slice(1)])];
    }));
    for (const run of runs) for (const name of this.outputNames) releaseNow((run[name].data as Float32Array).buffer);
    return stacked;
  }

  /** Releases the session once the runs in progress end (ONNX Runtime would fail them, and a second release). */
  dispose(): Promise<void> {
    return this.calls.dispose(() => this.session.release());
  }
}

/**
 * Frees `buffer`'s memory now instead of at a garbage collection (it is detached: moved into a
 * message that is never delivered). onnxruntime-node returns copies of the outputs even when it
 * has written them into the given tensors, ~18 MB per image for W32 at 704x512 with flip; left
 * to the garbage collector, that memory made V8 run a full collection on nearly every image,
 * in the middle of its post-processing.
 */
export function releaseNow(buffer: ArrayBufferLike): void {
  // Not shared memory, and not a buffer already released (outputs may share one).
  if (!(buffer instanceof ArrayBuffer) || buffer.byteLength === 0) return;
  const { port1, port2 } = new MessageChannel();
  port1.postMessage(null, [buffer]);
  port1.close();
  port2.close();
}
