/**
 * Devices other than the CPU: where the machine has the GPU (and, for CUDA, onnxruntime-node's
 * CUDA build), the same people as on the CPU; where it does not, a BackendError that says what
 * is missing instead of ONNX Runtime's internal message.
 */
import { expect } from 'chai';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { createEstimator, type EstimatorOptions, type HigherHRNetEstimator } from '../src/estimator.js';
import { physicalCores } from '../src/backend/onnx/cpu.js';
import { ConfigError } from '../src/config/experiment.js';
import { BackendError, providerUnavailable, type ExecutionProvider } from '../src/backend/onnx/session.js';
import { DEMO_IMAGE, TINY_COCO_CHECKPOINT } from '../src/paths.js';
import { createOnnxNetwork } from '../src/model/load.js';
import { presetConfig } from '../src/config/presets.js';
import type { Person } from '../src/types.js';
import type { TfjsBackendName } from '../src/backend/tfjs/backend-name.js';
import { expectRejection } from './helpers/cli.js';

const tiny = { preset: 'tiny_coco' as const, weights: TINY_COCO_CHECKPOINT(), inputSize: 256 };

/** Whether onnxruntime-node's CUDA provider library is installed beside its binding. */
function cudaProviderInstalled(): boolean {
  const root = dirname(createRequire(import.meta.url).resolve('onnxruntime-node/package.json'));
  return existsSync(join(root, 'bin', 'napi-v6', process.platform, process.arch, 'libonnxruntime_providers_cuda.so'));
}

/** The people on `device`, or the error creating the estimator gave. */
async function peopleOn(device: ExecutionProvider): Promise<Person[] | Error> {
  let estimator: HigherHRNetEstimator;
  try {
    estimator = await createEstimator({ ...tiny, device });
  } catch (err) {
    return err as Error;
  }
  try {
    return await estimator.estimatePoses(DEMO_IMAGE());
  } finally {
    await estimator.dispose();
  }
}

/**
 * As many people, nearly every keypoint within a pixel of the CPU's: GPU kernels round
 * differently (outputs within ~1e-6 relative), which can move the maximum of a flat heatmap.
 */
function expectSamePeople(actual: Person[], expected: Person[]): void {
  expect(actual).to.have.length(expected.length);
  const pairs = actual.flatMap((person, i) => person.keypoints.map((k, j) => [k, expected[i].keypoints[j]] as const));
  const close = pairs.filter(([k, e]) => Math.hypot(k.x - e.x, k.y - e.y) <= 1).length;
  expect(close / pairs.length).to.be.at.least(0.95);
}

describe('devices', () => {
  let onCpu: Person[];
  before(async () => {
    onCpu = (await peopleOn('cpu')) as Person[];
  });

  it('turns ONNX Runtime 1.30\'s messages for a missing provider into what to install', () => {
    const cuda = providerUnavailable('cuda', 'OrtSessionOptionsAppendExecutionProvider_Cuda: Failed to load shared library');
    expect(cuda).to.match(/ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node/);
    const webgpu = providerUnavailable('webgpu', 'webgpu_context.cc:136 ... Failed to get a WebGPU adapter: No supported adapters');
    expect(webgpu).to.match(/Vulkan driver/);
    // Other failures (a broken model, say) keep ONNX Runtime's own message.
    expect(providerUnavailable('cuda', 'Load model from x.onnx failed: Protobuf parsing failed')).to.equal(null);
    expect(providerUnavailable('cpu', 'Failed to get a WebGPU adapter: No supported adapters')).to.equal(null);
  });

  it('BAD CALL - an unknown device or tfjs backend, TensorFlow.js or int8 on WebGPU, a CPU tfjs backend on CUDA, ONNX Runtime options on tfjs are refused by name', async () => {
    await expectRejection(createEstimator({ ...tiny, device: 'tpu' as ExecutionProvider }), ConfigError, /Unsupported device: tpu\. Must be one of \[cpu, cuda, webgpu\]/);
    // A BackendError once the weights were read; with 'auto', tfjsBackend went unused.
    await expectRejection(createEstimator({ ...tiny, backend: 'tfjs', device: 'webgpu' }), ConfigError,
      /^backend 'tfjs' has no WebGPU backend in Node \(WebGL and WebGPU are for browsers: export-tfjs writes a model that they load\): device 'webgpu' runs on backend 'onnxruntime'$/);
    await expectRejection(createEstimator({ ...tiny, backend: 'auto', tfjsBackend: 'cpu', device: 'webgpu' }), ConfigError, /^tfjsBackend 'cpu' would never run: device 'webgpu' runs on ONNX Runtime only/);
    await expectRejection(createEstimator({ ...tiny, device: 'webgpu', precision: 'int8' }), ConfigError, /precision 'int8' is a CPU mode/);
    // 'webgl' had found no candidate and said "To use the tfjs backend, undefined".
    await expectRejection(createEstimator({ ...tiny, backend: 'tfjs', tfjsBackend: 'webgl' as TfjsBackendName }), ConfigError, /^Unsupported tfjsBackend: webgl\. Must be one of \[tensorflow, wasm, cpu\] \(WebGL and WebGPU are for browsers/);
    // Both ran on the CPU without a word.
    await expectRejection(createEstimator({ ...tiny, backend: 'tfjs', device: 'cuda', tfjsBackend: 'wasm' }), ConfigError, /tfjsBackend 'wasm' runs on the CPU: device 'cuda' on TensorFlow\.js is tfjsBackend 'tensorflow'/);
    await expectRejection(createEstimator({ ...tiny, backend: 'auto', device: 'cuda', tfjsBackend: 'cpu' }), ConfigError, /tfjsBackend 'cpu' runs on the CPU/);
    // TensorFlow.js ignored them.
    await expectRejection(createEstimator({ ...tiny, backend: 'tfjs', threads: 1 }), ConfigError, /^threads sets how ONNX Runtime runs: leave it out with backend 'tfjs'/);
    await expectRejection(createEstimator({ ...tiny, backend: 'tfjs', threads: 1, networkThread: true }), ConfigError, /^threads and networkThread set how ONNX Runtime runs: leave them out/);
  });

  it('networkThread: ONNX Runtime on a thread of its own gives the same people, two images in flight', async () => {
    const threaded = await createEstimator({ ...tiny, networkThread: true });
    try {
      expect(threaded.imagesInFlight).to.equal(2);
      expect(await threaded.estimatePoses(DEMO_IMAGE())).to.deep.equal(onCpu);
      // Later runs with these dims come back in the workspace's shared buffers.
      expect(await threaded.estimatePoses([DEMO_IMAGE(), DEMO_IMAGE(), DEMO_IMAGE()])).to.deep.equal([onCpu, onCpu, onCpu]);
    } finally {
      await threaded.dispose();
    }
    // Errors of the thread's session come back as they are.
    const network = await createOnnxNetwork(presetConfig('tiny_coco'), TINY_COCO_CHECKPOINT(), { networkThread: true });
    try {
      await expectRejection(network.run(new Float32Array(5), [1, 3, 2, 2]), BackendError, /Network input must be \[N, 3, H, W\] float32; got dims \[1, 3, 2, 2\] for 5 values/);
      expect((await network.run(new Float32Array(3 * 64 * 64), [1, 3, 64, 64])).map((o) => o.shape[1])).to.deep.equal([34, 17]);
    } finally {
      await network.dispose();
    }
  });

  it('concurrentFlip: the flip pair at once on two sessions gives the people of one session (one scale or two, networkThread too); the default on two threads or more', async () => {
    const image = DEMO_IMAGE();
    const estimates = async (options: Partial<EstimatorOptions>): Promise<{ concurrent: boolean; batched: boolean | undefined; people: Person[][] }> => {
      const estimator = await createEstimator({ ...tiny, flipTest: true, ...options });
      try {
        // Twice: the second run with these dims writes into the workspace's buffers.
        const people = [await estimator.estimatePoses(image), await estimator.estimatePoses(image)];
        return { concurrent: estimator.concurrentFlip, batched: estimator.flipPairBatched(448, 256), people };
      } finally {
        await estimator.dispose();
      }
    };
    for (const scales of [[1], [1, 0.5]]) {
      const single = await estimates({ scales, concurrentFlip: false, flipBatch: true });
      expect(single.people[0].length, `scales ${scales}`).to.be.greaterThan(0);
      expect(single.concurrent).to.equal(false);
      for (const networkThread of [false, true]) {
        const twin = await estimates({ scales, concurrentFlip: true, networkThread });
        expect(twin.concurrent).to.equal(true);
        expect(twin.batched, 'two runs, at once').to.equal(false);
        expect(twin.people, `scales ${scales}, networkThread ${networkThread}`).to.deep.equal(single.people);
      }
    }
    const defaults = await Promise.all([{}, { threads: 1 }, { threads: 2 }, { flipBatch: false }, { flipTest: false }].map(async (options) => (await estimates(options)).concurrent));
    expect(defaults).to.deep.equal([physicalCores() >= 2, false, true, false, false]);
  });

  it('BAD CALL - concurrentFlip without the flip test, beside flipBatch, off the CPU or on TensorFlow.js is refused by name', async () => {
    await expectRejection(createEstimator({ ...tiny, flipTest: false, concurrentFlip: true }), ConfigError, /^concurrentFlip runs the flip test's two passes at once: it needs flipTest$/);
    await expectRejection(createEstimator({ ...tiny, flipBatch: false, concurrentFlip: true }), ConfigError, /^concurrentFlip runs the flip test's two passes at once, neither of flipBatch's ways: give one of them$/);
    await expectRejection(createEstimator({ ...tiny, device: 'webgpu', concurrentFlip: true }), ConfigError, /^concurrentFlip shares the CPU's threads between two sessions: leave it out with device 'webgpu'$/);
    await expectRejection(createEstimator({ ...tiny, backend: 'tfjs', concurrentFlip: true }), ConfigError, /^concurrentFlip sets how ONNX Runtime runs: leave it out with backend 'tfjs'/);
    await expectRejection(createEstimator({ ...tiny, concurrentFlip: 'yes' as unknown as boolean }), ConfigError, /^Invalid concurrentFlip: "yes"\. Must be true or false/);
    await expectRejection(createOnnxNetwork(presetConfig('tiny_coco'), TINY_COCO_CHECKPOINT(), { concurrentFlip: 1 as unknown as boolean }), ConfigError, /^createOnnxNetwork: concurrentFlip must be true or false, got 1$/);
    await expectRejection(createOnnxNetwork(presetConfig('tiny_coco'), TINY_COCO_CHECKPOINT(), { concurrentFlip: true, executionProviders: ['webgpu'] }), ConfigError,
      /^createOnnxNetwork: concurrentFlip shares the CPU's threads between two sessions: it runs on executionProviders \['cpu'\] only, got \["webgpu"\]$/);
  });

  it("device 'webgpu': the CPU's people where a GPU is found, else a BackendError saying what is missing", async () => {
    const result = await peopleOn('webgpu');
    if (result instanceof Error) {
      expect(result).to.be.instanceOf(BackendError);
      expect(result.message).to.match(/^device 'webgpu': ONNX Runtime found no GPU/);
    } else {
      expectSamePeople(result, onCpu);
    }
  });

  it("device 'cuda': the CPU's people with the CUDA build, else a BackendError naming the install command", async function () {
    const result = await peopleOn('cuda');
    if (!cudaProviderInstalled()) {
      expect(result).to.be.instanceOf(BackendError);
      expect((result as Error).message).to.match(/^device 'cuda': .*ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node/);
      return;
    }
    // Installed, it needs an NVIDIA GPU and CUDA 12 libraries too; without them ONNX Runtime's own message stands.
    if (result instanceof Error) this.skip();
    expectSamePeople(result, onCpu);
  });
});
