import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { presetConfig } from '../src/config/presets.js';
import { ConfigError } from '../src/config/experiment.js';
import { compileModel } from '../src/model/load.js';
import { calibrationInputs, quantizeForImages } from '../src/model/quantize.js';
import { observeActivationRanges, type NetworkInput } from '../src/backend/onnx/calibrate.js';
import {
  activationParameters,
  isQuantizedModel,
  quantizeModel,
  quantizedActivations,
  quantizeWeight,
  QuantizationError,
  type ActivationRange,
} from '../src/backend/onnx/quantize.js';
import { floatValue, onnx } from '../src/backend/onnx/proto.js';
import { BackendError, OnnxNetwork } from '../src/backend/onnx/session.js';
import { coreCount, hasWideInt8Accumulation, physicalCores, quotaCpus } from '../src/backend/onnx/cpu.js';
import { createEstimator } from '../src/estimator.js';
import { DEMO_IMAGE, TINY_COCO_CHECKPOINT } from '../src/paths.js';
import { ImageError, writeImage } from '../src/io/image.js';
import { PreprocessError } from '../src/preprocess/index.js';
import type { ImageInput } from '../src/types.js';
import { cli, expectRejection, expectUsageError } from './helpers/cli.js';

const { DataType } = onnx.TensorProto;
const config = presetConfig('tiny_coco');
const settings = { ...config.test, inputSize: 256 };

/** Mean |int8 − fp32| over the largest |fp32| value, per network output, worst over the inputs. */
async function relativeErrors(floatModel: Uint8Array, int8Model: Uint8Array, inputs: NetworkInput[]): Promise<number[]> {
  const [reference, quantized] = await Promise.all([floatModel, int8Model].map((m) => OnnxNetwork.create(m)));
  try {
    const errors = reference.outputNames.map(() => 0);
    for (const input of inputs) {
      const [a, b] = await Promise.all([reference.run(input.data, input.dims), quantized.run(input.data, input.dims)]);
      a.forEach((output, i) => {
        const x = output.data;
        const y = b[i].data;
        let sum = 0;
        let largest = 0;
        for (let k = 0; k < x.length; k++) {
          sum += Math.abs(x[k] - y[k]);
          largest = Math.max(largest, Math.abs(x[k]));
        }
        errors[i] = Math.max(errors[i], sum / x.length / largest);
      });
    }
    return errors;
  } finally {
    await Promise.all([reference.dispose(), quantized.dispose()]);
  }
}

/** Every tensor of `names`, fetched by running the float model with them as extra outputs. */
async function fetchTensors(model: Uint8Array, names: string[], input: NetworkInput): Promise<Map<string, Float32Array>> {
  const proto = onnx.ModelProto.decode(model);
  const outputs = new Set(proto.graph!.output!.map((v) => v.name));
  proto.graph!.output!.push(...names.filter((n) => !outputs.has(n) && n !== 'image').map(floatValue));
  const session = await ort.InferenceSession.create(onnx.ModelProto.encode(proto).finish());
  try {
    const results = await session.run({ image: new ort.Tensor('float32', input.data, input.dims) });
    return new Map(names.map((n) => [n, n === 'image' ? input.data : (results[n].data as Float32Array)]));
  } finally {
    await session.release();
  }
}

/** The largest |value| among the 4-D int8 initializers (convolution weights) of a model. */
function largestWeight(model: Uint8Array): number {
  const weights = onnx.ModelProto.decode(model).graph!.initializer!.filter((t) => t.dataType === DataType.INT8 && t.dims!.length === 4);
  expect(weights).to.not.be.empty;
  return weights.reduce((largest, t) => new Int8Array(t.rawData!.buffer, t.rawData!.byteOffset, t.rawData!.length).reduce((m, v) => Math.max(m, Math.abs(v)), largest), 0);
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const item of items) all.push(item);
  return all;
}

describe('int8 quantization (tiny_coco, sample image)', () => {
  let floatModel: Uint8Array;
  let inputs: NetworkInput[];
  let ranges: Map<string, ActivationRange>;
  let int8Model: Uint8Array;
  let dir: string;
  before(async () => {
    floatModel = compileModel(config, TINY_COCO_CHECKPOINT());
    inputs = await collect(calibrationInputs({ images: [DEMO_IMAGE()], settings }));
    ranges = await observeActivationRanges(floatModel, inputs);
    int8Model = quantizeModel(floatModel, ranges);
    dir = mkdtempSync(join(tmpdir(), 'higher-pose-int8-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('prepares calibration inputs as the estimator does: each scale plain and mirrored', async () => {
    const multiScale = await collect(calibrationInputs({ images: [DEMO_IMAGE()], settings: { ...settings, scaleFactor: [1, 0.5] } }));
    expect(multiScale.map((i) => i.dims)).to.deep.equal([[1, 3, 256, 384], [1, 3, 256, 384], [1, 3, 128, 192], [1, 3, 128, 192]]);
    const [plain, mirrored] = multiScale;
    // The second of each pair is the first mirrored left-right.
    expect(mirrored.data[383]).to.equal(plain.data[0]);
    expect(mirrored.data[384]).to.equal(plain.data[767]);
    expect(await collect(calibrationInputs({ images: [DEMO_IMAGE()], settings: { ...settings, flipTest: false } }))).to.have.length(1);
  });

  it('calibrated ranges are the extremes of every quantized activation over the inputs', async () => {
    const names = quantizedActivations(floatModel);
    expect(names[0]).to.equal('image');
    expect(names).to.include('output_0');
    expect([...ranges.keys()].sort()).to.deep.equal([...names].sort());
    const seen = new Map<string, ActivationRange>();
    for (const input of inputs) {
      for (const [name, data] of await fetchTensors(floatModel, names, input)) {
        const min = data.reduce((a, b) => Math.min(a, b), Infinity);
        const max = data.reduce((a, b) => Math.max(a, b), -Infinity);
        const before = seen.get(name);
        seen.set(name, { min: Math.min(before?.min ?? Infinity, min), max: Math.max(before?.max ?? -Infinity, max) });
      }
    }
    // Within float rounding: calibration runs without ONNX Runtime's layout optimisations.
    for (const name of names) {
      const [calibrated, observed] = [ranges.get(name)!, seen.get(name)!];
      const tolerance = 1e-5 * (observed.max - observed.min);
      expect(calibrated.min, `${name} min`).to.be.closeTo(observed.min, tolerance);
      expect(calibrated.max, `${name} max`).to.be.closeTo(observed.max, tolerance);
    }
  });

  it('emits Q/DQ pairs, int8 weights per output channel and int32 biases; the outputs stay float', () => {
    const graph = onnx.ModelProto.decode(int8Model).graph!;
    const ops = graph.node!.map((n) => n.opType);
    const activations = quantizedActivations(floatModel).length;
    expect(ops.filter((op) => op === 'QuantizeLinear')).to.have.length(activations);
    const convs = graph.node!.filter((n) => n.opType === 'Conv');
    const initializers = new Map(graph.initializer!.map((t) => [t.name, t]));
    const dequantized = new Map(graph.node!.filter((n) => n.opType === 'DequantizeLinear').map((n) => [n.output![0], initializers.get(n.input![0])]));
    const integerConvs = convs.filter((n) => dequantized.get(n.input![1])?.dataType === DataType.INT8);
    // Every convolution but the two final layers (network outputs) reads int8 weights and an int32 bias.
    expect(integerConvs).to.have.length(convs.length - 2);
    for (const conv of integerConvs) {
      expect(dequantized.get(conv.input![1])!.dims).to.have.length(4);
      expect(dequantized.get(conv.input![2])!.dataType).to.equal(DataType.INT32);
    }
    const finalLayers = convs.filter((n) => n.output![0].startsWith('output_'));
    expect(finalLayers.map((n) => n.input![1])).to.deep.equal(['final_layers.0.weight', 'final_layers.1.weight']);
    expect(graph.output!.map((v) => [v.name, v.type!.tensorType!.elemType])).to.deep.equal([['output_0', DataType.FLOAT], ['output_1', DataType.FLOAT]]);
    expect(isQuantizedModel(int8Model)).to.equal(true);
    expect(isQuantizedModel(floatModel)).to.equal(false);
  });

  it('ONNX Runtime runs every quantized convolution as QLinearConv', async () => {
    const optimized = join(dir, 'optimized.onnx');
    const session = await ort.InferenceSession.create(int8Model, { graphOptimizationLevel: 'all', optimizedModelFilePath: optimized, logSeverityLevel: 3 });
    await session.release();
    const ops = onnx.ModelProto.decode(readFileSync(optimized)).graph!.node!.map((n) => n.opType);
    const int8Weights = onnx.ModelProto.decode(int8Model).graph!.initializer!.filter((t) => t.dataType === DataType.INT8 && t.dims!.length === 4);
    expect(ops.filter((op) => op === 'QLinearConv')).to.have.length(int8Weights.length);
    expect(ops).to.include.members(['QLinearAdd', 'QLinearConcat']);
    // Only what stays float on purpose: the two final layers and the transposed convolution.
    expect(ops.filter((op) => op === 'Conv' || op === 'ConvTranspose')).to.have.length(3);
  });

  it('int8 outputs stay within 2% (mean |Δ| over max |fp32|) of fp32; ranges 3x too narrow do not', async () => {
    const errors = await relativeErrors(floatModel, int8Model, inputs);
    for (const e of errors) expect(e).to.be.below(0.02);
    const narrow = new Map([...ranges].map(([name, r]) => [name, { min: r.min / 3, max: r.max / 3 }]));
    const broken = await relativeErrors(floatModel, quantizeModel(floatModel, narrow), inputs);
    expect(Math.max(...broken)).to.be.above(0.02);
  });

  it('calibration over photos of several sizes needs no more memory than inference over them', () => {
    // Each in a fresh process, whose peak RSS is its own.
    const grown = (mode: string) => Number(execFileSync(process.execPath, ['--import', 'tsx', 'test/helpers/calibration-memory.ts', mode], { encoding: 'utf8' }));
    const [inference, calibration] = [grown('infer'), grown('calibrate')];
    // With a memory pattern per input size it rose 1.6x as much (290 MB against 180).
    expect(calibration).to.be.below(inference * 1.3);
  });

  it('quantizes weights symmetrically per output channel, 7 bits on request', () => {
    const weight = new Float32Array([0.5, -1, 0.25, 0, 0, 0, 2, 1, -2]);
    const eight = quantizeWeight(weight, 3, 8);
    expect(Array.from(eight.values)).to.deep.equal([64, -127, 32, 0, 0, 0, 127, 64, -127]);
    expect(Array.from(eight.scales)).to.deep.equal([Math.fround(1 / 127), 1, Math.fround(2 / 127)]);
    expect(Array.from(quantizeWeight(weight, 3, 7).values)).to.deep.equal([32, -64, 16, 0, 0, 0, 64, 32, -64]);
  });

  it('tells CPUs whose int8 kernels cannot saturate (VNNI, AMX) from those that can', () => {
    const cpuinfo = (flags: string) => `processor\t: 0\nmodel name\t: x\nflags\t\t: fpu sse4_1 avx2 ${flags}\n`;
    expect(hasWideInt8Accumulation(cpuinfo('avx512f avx512bw avx512_vnni'))).to.equal(true);
    expect(hasWideInt8Accumulation(cpuinfo('avx_vnni'))).to.equal(true);
    expect(hasWideInt8Accumulation(cpuinfo('amx_tile amx_int8'))).to.equal(true);
    expect(hasWideInt8Accumulation(cpuinfo('avx512f avx512bw avx512_bf16'))).to.equal(false);
    expect(hasWideInt8Accumulation('')).to.equal(false);
  });

  it('counts physical cores for the ONNX Runtime threads: SMT siblings once, within the CPUs the process may use', () => {
    expect(coreCount(['0:0', '0:1'], 2)).to.equal(2);
    expect(coreCount(['0:0', '0:0', '0:1', '0:1'], 4)).to.equal(2);
    expect(coreCount(['0:0', '1:0', '0:1', '1:1'], 4)).to.equal(4);
    expect(coreCount(['0:0', '0:1', '0:2', '0:3'], 2)).to.equal(2);
    expect(coreCount([], 3)).to.equal(3);
    expect(physicalCores()).to.be.within(1, availableParallelism());
  });

  it('reads cgroup CPU quotas (v2 cpu.max, v1 quota and period) as a number of CPUs', () => {
    expect(quotaCpus('200000 100000\n')).to.equal(2);
    expect(quotaCpus('150000 100000')).to.equal(2);
    expect(quotaCpus('50000 100000')).to.equal(1);
    expect(quotaCpus('max 100000')).to.equal(Infinity);
    expect(quotaCpus('-1\n 100000\n')).to.equal(Infinity);
    expect(quotaCpus('')).to.equal(Infinity);
  });

  it('represents zero exactly in every activation range (padding, ReLU)', () => {
    expect(activationParameters({ min: 0, max: 5.1 })).to.deep.equal({ scale: Math.fround(0.02), zeroPoint: 0 });
    const { scale, zeroPoint } = activationParameters({ min: -1, max: 3 });
    expect(zeroPoint * scale).to.be.closeTo(1, scale / 2);
    expect(activationParameters({ min: 0.5, max: 2 }).zeroPoint).to.equal(0);
    expect(activationParameters({ min: 0, max: 0 })).to.deep.equal({ scale: 1, zeroPoint: 0 });
  });

  it('BAD CALL - a missing range or an already quantized model is refused by name', () => {
    const partial = new Map(ranges);
    partial.delete('output_0');
    expect(() => quantizeModel(floatModel, partial)).to.throw(QuantizationError, /No calibrated range for tensor output_0/);
    expect(() => quantizeModel(int8Model, ranges)).to.throw(QuantizationError, /already quantized/);
  });

  it('estimator and export-onnx give the same int8 model from a checkpoint or a float .onnx; a quantized .onnx loads as is; --weight-bits 7', async () => {
    const exported = join(dir, 'tiny.int8.onnx');
    expect(await cli('export-onnx', '--preset', 'tiny_coco', '--weights', TINY_COCO_CHECKPOINT(), '--precision', 'int8', '--calibrate', DEMO_IMAGE(), '--input-size', '256', '--out', exported)).to.equal(0);
    expect(readFileSync(exported)).to.deep.equal(Buffer.from(await quantizeForImages(floatModel, { images: [DEMO_IMAGE()], settings })));
    const sevenBits = join(dir, 'tiny.int7.onnx');
    expect(await cli('export-onnx', '--preset', 'tiny_coco', '--weights', TINY_COCO_CHECKPOINT(), '--precision', 'int8', '--calibrate', DEMO_IMAGE(), '--weight-bits', '7', '--out', sevenBits)).to.equal(0);
    expect(largestWeight(readFileSync(sevenBits))).to.equal(64);
    expect(largestWeight(int8Model)).to.equal(127);
    // A float .onnx export quantizes to the same model, from the CLI and in the estimator.
    const floatExport = join(dir, 'tiny.onnx');
    const fromFloatExport = join(dir, 'tiny.from-onnx.int8.onnx');
    expect(await cli('export-onnx', '--preset', 'tiny_coco', '--weights', TINY_COCO_CHECKPOINT(), '--out', floatExport)).to.equal(0);
    expect(await cli('export-onnx', '--preset', 'tiny_coco', '--weights', floatExport, '--precision', 'int8', '--calibrate', DEMO_IMAGE(), '--input-size', '256', '--out', fromFloatExport)).to.equal(0);
    expect(readFileSync(fromFloatExport)).to.deep.equal(readFileSync(exported));
    const base = { preset: 'tiny_coco' as const, inputSize: 256 };
    const estimators = await Promise.all([
      createEstimator({ ...base, weights: TINY_COCO_CHECKPOINT(), precision: 'int8', calibrationImages: [DEMO_IMAGE()] }),
      createEstimator({ ...base, weights: floatExport, precision: 'int8', calibrationImages: [DEMO_IMAGE()] }),
      createEstimator({ ...base, weights: exported }),
    ]);
    try {
      const [people, ...others] = await Promise.all(estimators.map((e) => e.estimatePoses(DEMO_IMAGE())));
      expect(people.length).to.be.above(0);
      for (const other of others) expect(other).to.deep.equal(people);
    } finally {
      await Promise.all(estimators.map((e) => e.dispose()));
    }
  });

  it('BAD CALL - a calibration image that cannot be read or prepared is named: by its path, or its place in calibrationImages', async () => {
    const calibrate = (images: ImageInput[]) => collect(calibrationInputs({ images, settings })).then(() => undefined, (e: unknown) => e as Error);
    const dot = join(dir, 'dot.png');
    await writeImage({ width: 1, height: 1, data: new Uint8Array(3) }, dot);
    // It read "image 1x1 is too small for the network": which of the images?
    const small = await calibrate([DEMO_IMAGE(), dot]);
    expect(small).to.be.instanceOf(PreprocessError);
    expect(small!.message).to.equal(`${dot}: image 1x1 is too small for the network (at least 4x4 pixels)`);
    const pixels = await calibrate([DEMO_IMAGE(), { width: 1, height: 1, data: new Uint8Array(3) }]);
    expect(pixels).to.be.instanceOf(PreprocessError);
    expect(pixels!.message).to.match(/^calibrationImages\[1\]: image 1x1 is too small/);
    const bytes = await calibrate([DEMO_IMAGE(), new Uint8Array(10)]);
    expect(bytes).to.be.instanceOf(ImageError);
    expect(bytes!.message).to.match(/^calibrationImages\[1\]: image buffer: not an image format/);
  });

  it('BAD CALL - a calibration image that cannot be read at all is refused before any image is calibrated, wherever it is in the list', async () => {
    // Bytes that fail only when calibration decodes them: an image after them is checked first.
    const undecodable = new Uint8Array(10);
    const missing = join(dir, 'missing.jpg');
    const quantize = (second: unknown) => quantizeForImages(floatModel, { images: [undecodable, second as ImageInput], settings });
    // It read "calibrationImages[0]: image buffer: not an image format": the missing file came to light only after the images before it had run.
    await expectRejection(quantize(missing), ImageError, /missing\.jpg: no such file$/);
    await expectRejection(quantize(dir), ImageError, /: not a regular file$/);
    await expectRejection(quantize(5), ImageError, /^calibrationImages\[1\]: RGB image: expected a path, .* got Number$/);
    await expectRejection(quantize({ width: 2, height: 2, data: new Uint8Array(3) }), ImageError, /^calibrationImages\[1\]: RGB image: data holds 3 bytes/);
    const broken = join(dir, 'first-broken.jpg');
    writeFileSync(broken, 'not a JPEG');
    await expectRejection(cli('export-onnx', '--preset', 'tiny_coco', '--weights', TINY_COCO_CHECKPOINT(), '--input-size', '256', '--precision', 'int8',
      '--calibrate', broken, '--calibrate', missing, '--out', join(dir, 'never.int8.onnx')), ImageError, /missing\.jpg: no such file$/);
  });

  it('BAD CALL - a float model that computes NaN on a calibration image is refused naming the image and the tensor', async () => {
    // As a damaged float .onnx would be: every weight of the first convolution NaN.
    const proto = onnx.ModelProto.decode(floatModel);
    const weight = proto.graph!.initializer!.find((t) => t.dims!.length === 4)!;
    weight.rawData = new Uint8Array(new Float32Array(weight.rawData!.length / 4).fill(NaN).buffer);
    const damaged = onnx.ModelProto.encode(proto).finish();
    // It read "Range [NaN, NaN] is not finite": of which tensor, on which image?
    await expectRejection(quantizeForImages(damaged, { images: [DEMO_IMAGE()], settings }), QuantizationError,
      new RegExp(`^${DEMO_IMAGE().replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: the float model's tensor \\S+ reaches \\[NaN, NaN\\]: its weights are damaged`));
  });

  it('BAD CALL - calibration images given with an already quantized .onnx are refused, not left unused', async () => {
    const quantized = join(dir, 'calibrated.int8.onnx');
    writeFileSync(quantized, int8Model);
    const options = { preset: 'tiny_coco' as const, weights: quantized, inputSize: 256, precision: 'int8' as const };
    await expectRejection(createEstimator({ ...options, calibrationImages: [DEMO_IMAGE()] }), ConfigError, /calibrated\.int8\.onnx is already quantized, its ranges calibrated when it was exported: leave calibrationImages out, or give the float model/);
    // On the command line a usage error (exit 2) in flag words, found before the model loads, as --device webgpu with it is.
    await expectUsageError(cli('predict', DEMO_IMAGE(), '--preset', 'tiny_coco', '--weights', quantized, '--precision', 'int8', '--calibrate', DEMO_IMAGE()),
      /^error: --weights .*calibrated\.int8\.onnx is already quantized, its ranges calibrated when it was exported: leave --calibrate out, or give the float model/);
    // Without them it runs as it is.
    const estimator = await createEstimator(options);
    await estimator.dispose();
  });

  it('BAD CALL - an int8 .onnx on WebGPU is refused as precision int8 is there (its quantized operators fall back to the CPU)', async () => {
    const quantized = join(dir, 'webgpu.int8.onnx');
    writeFileSync(quantized, int8Model);
    // It ran, 14x slower than float32 on the GPU (here, without a GPU: "found no GPU").
    await expectRejection(createEstimator({ preset: 'tiny_coco', weights: quantized, device: 'webgpu' }), ConfigError,
      /webgpu\.int8\.onnx is quantized \(int8\), a CPU model: on device 'webgpu' the quantized operators fall back to the CPU/);
    await expectRejection(createEstimator({ preset: 'tiny_coco', weights: quantized, device: 'webgpu', precision: 'int8' }), ConfigError, /precision 'int8' is a CPU mode/);
  });

  it('BAD CALL - a float .onnx that does not fit the configuration is refused before calibration', async () => {
    const floatExport = join(dir, 'coco.onnx');
    writeFileSync(floatExport, floatModel);
    // Calibration ran first: it failed on the broken image, or ran in full and only then came the mismatch.
    await expectRejection(createEstimator({ preset: 'tiny_crowdpose', weights: floatExport, precision: 'int8', calibrationImages: [new Uint8Array(10)] }),
      BackendError, /coco\.onnx: output 0 has 34 channels; the configuration expects 28/);
  });

  it('BAD CALL - a float .onnx exported with a fixed input size fails calibration with a BackendError naming the image and the fix', async () => {
    const proto = onnx.ModelProto.decode(floatModel);
    const dims = proto.graph!.input![0].type!.tensorType!.shape!.dim!;
    for (const axis of [0, 2, 3]) dims[axis] = { dimValue: axis === 0 ? 1 : 512 };
    const fixed = join(dir, 'fixed.onnx');
    writeFileSync(fixed, onnx.ModelProto.encode(proto).finish());
    // It was ONNX Runtime's bare Error "Got invalid dimensions for input: image ...".
    await expectRejection(createEstimator({ preset: 'tiny_coco', weights: fixed, inputSize: 256, precision: 'int8', calibrationImages: [DEMO_IMAGE()] }), BackendError,
      /sample\.jpg: ONNX Runtime could not run the calibration model on a \[1, 3, 256, 384\] input: [^]*The model's input is fixed at \[1, 3, 512, 512\]/);
  });

  it('BAD CALL - int8 without calibration images, on tfjs, or an unknown precision is a ConfigError naming the option', async () => {
    const base = { preset: 'tiny_coco' as const, weights: TINY_COCO_CHECKPOINT() };
    await expectRejection(createEstimator({ ...base, precision: 'int8' }), ConfigError, /int8' needs calibrationImages/);
    await expectRejection(createEstimator({ ...base, precision: 'int8', calibrationImages: [] }), ConfigError, /calibrationImages/);
    await expectRejection(createEstimator({ ...base, precision: 'int8', calibrationImages: [DEMO_IMAGE()], backend: 'tfjs' }), ConfigError, /ONNX Runtime only/);
    await expectRejection(createEstimator({ ...base, precision: 'int4' as 'int8' }), ConfigError, /Unsupported precision: int4\. Must be one of \[fp32, int8\]/);
    const out = join(dir, 'never.onnx');
    // Mistakes in what was typed: usage errors (exit 2).
    await expectUsageError(cli('export-onnx', '--preset', 'tiny_coco', '--weights', TINY_COCO_CHECKPOINT(), '--precision', 'int8', '--out', out), /--calibrate/);
    await expectUsageError(cli('predict', DEMO_IMAGE(), '--preset', 'tiny_coco', '--weights', TINY_COCO_CHECKPOINT(), '--calibrate', DEMO_IMAGE()), /--precision int8/);
    await expectUsageError(cli('export-onnx', '--preset', 'tiny_coco', '--weights', TINY_COCO_CHECKPOINT(), '--calibrate', DEMO_IMAGE(), '--out', out), /--precision int8/);
    // A quantized .onnx was calibrated on every image (here: failed on the broken one) before 'The model is already quantized', naming no file.
    const quantized = join(dir, 'quantized.onnx');
    writeFileSync(quantized, int8Model);
    const broken = join(dir, 'broken.jpg');
    writeFileSync(broken, 'not a JPEG');
    await expectUsageError(cli('export-onnx', '--preset', 'tiny_coco', '--weights', quantized, '--precision', 'int8', '--calibrate', broken, '--out', out), /^error: --weights .*quantized\.onnx is already quantized: --precision int8 quantizes a float model/);
    await expectRejection(cli('predict', DEMO_IMAGE(), '--preset', 'tiny_coco', '--weights', TINY_COCO_CHECKPOINT(), '--precision', 'int8', '--calibrate', join(dir, 'none', '*.jpg')), ConfigError, /^--calibrate: No images found in .*none\/\*\.jpg \(the pattern matches no image file/);
  });
});
