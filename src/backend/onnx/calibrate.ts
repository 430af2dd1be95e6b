/**
 * Calibration for int8 quantization: the float model runs over prepared inputs with the
 * minimum and maximum of every tensor that quantization needs computed in the graph, and
 * the union of the ranges is kept. Inputs are consumed one at a time; a calibration run
 * needs no more memory than an inference.
 */
import { BackendError, fixedSizeHint, loadRuntime, type OnnxSessionOptions } from './session.js';
import { inputSideHint } from '../network.js';
import { physicalCores } from './cpu.js';
import { QuantizationError, quantizedActivations, rangeOutputNames, withRangeOutputs, type ActivationRange } from './quantize.js';

/** One network input batch, `[N, 3, H, W]` float32. */
export interface NetworkInput {
  data: Float32Array;
  dims: readonly [number, number, number, number];
  /** What the input was prepared from (an image's path), for error messages. */
  source?: string;
}

/**
 * The minimum and maximum of every tensor in `quantizedActivations(model)` over `inputs`
 * (the union of the ranges seen).
 */
export async function observeActivationRanges(
  model: Uint8Array,
  inputs: AsyncIterable<NetworkInput> | Iterable<NetworkInput>,
  options: Pick<OnnxSessionOptions, 'intraOpNumThreads'> = {},
): Promise<Map<string, ActivationRange>> {
  const ort = await loadRuntime();
  const activations = quantizedActivations(model);
  let session;
  try {
    session = await ort.InferenceSession.create(withRangeOutputs(model, activations), {
      executionProviders: ['cpu'],
      // Higher levels replace nodes (NCHWc convolutions), which breaks the node order that
      // `withRangeOutputs` relies on to keep memory bounded (peak 2.9 GB instead of 0.7 for W32).
      graphOptimizationLevel: 'basic',
      // As in inference (`sessionConfig`): with a memory pattern, each new input size (calibration
      // photos of several sizes) held a block of its own beside the arena, 1.6x the memory.
      enableMemPattern: false,
      intraOpNumThreads: options.intraOpNumThreads ?? physicalCores(),
    });
  } catch (err) {
    throw new BackendError(`ONNX Runtime could not load the calibration model: ${(err as Error).message}`);
  }
  const [inputName] = session.inputNames;
  const fetches = activations.flatMap((name) => Object.values(rangeOutputNames(name)));
  const ranges = new Map<string, ActivationRange>();
  let count = 0;
  try {
    for await (const input of inputs) {
      count++;
      let results;
      try {
        results = await session.run({ [inputName]: new ort.Tensor('float32', input.data, input.dims) }, fetches);
      } catch (err) {
        // As an inference would report it (a model exported with a fixed input size), not in ONNX Runtime's bare words.
        throw new BackendError(`${input.source ?? `calibration input ${count}`}: ONNX Runtime could not run the calibration model on a [${input.dims.join(', ')}] input: `
          + `${(err as Error).message.replace(/\.?\s*$/, '')}${inputSideHint(input.dims) || fixedSizeHint(session)}`);
      }
      for (const name of activations) {
        const observed = rangeOutputNames(name);
        const min = (results[observed.min].data as Float32Array)[0];
        const max = (results[observed.max].data as Float32Array)[0];
        // NaN would pass through min/max unseen, and only fail later as a range with no tensor or image to it.
        if (!Number.isFinite(min) || !Number.isFinite(max)) {
          throw new QuantizationError(`${input.source ?? `calibration input ${count}`}: the float model's tensor ${name} reaches [${min}, ${max}]: `
            + 'its weights are damaged or overflow, and it gives no usable output in float32 either');
        }
        const seen = ranges.get(name);
        ranges.set(name, seen ? { min: Math.min(seen.min, min), max: Math.max(seen.max, max) } : { min, max });
      }
    }
  } finally {
    await session.release();
  }
  if (count === 0) throw new RangeError('observeActivationRanges: no calibration inputs');
  return ranges;
}
