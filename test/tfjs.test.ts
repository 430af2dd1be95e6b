import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { Command } from 'commander';
import sharp from 'sharp';
import { GraphBuilder, type LayerGraph } from '../src/backbone/graph.js';
import { presetConfig, type PresetName } from '../src/config/presets.js';
import { buildNetworkGraph } from '../src/higher/network.js';
import { networkWeights } from '../src/model/load.js';
import { randomWeights, type WeightTensor } from '../src/model/weights.js';
import { BackendError } from '../src/backend/onnx/session.js';
import { resolveTfjsRuntime, type TfjsBackendName } from '../src/backend/tfjs/runtime.js';
import { createTfjsNetwork, TfjsNetwork } from '../src/backend/tfjs/network.js';
import { compileToTfjsGraph } from '../src/backend/tfjs/graph-model.js';
import { exportTfjsModel, readTfjsGraphModel, replaceFolder, tfjsFileHandler, TfjsExportError, writeTfjsGraphModel } from '../src/backend/tfjs/export.js';
import { registerExportTfjs, writtenSummary } from '../src/cli/commands/export-tfjs.js';
import { readImage } from '../src/io/image.js';
import { toNetworkInput } from '../src/preprocess/index.js';
import { readNpy } from '../src/io/npy.js';
import type { OutputTensor } from '../src/types.js';
import { caseDirs, describeFixtures, fixturesRoot } from './helpers/fixtures.js';
import { createEstimator, type EstimatorOptions } from '../src/estimator.js';
import { DEMO_IMAGE, TINY_COCO_CHECKPOINT } from '../src/paths.js';
import type { Person } from '../src/types.js';

const missing = (name: string): Promise<never> => Promise.reject(new Error(`Cannot find package '${name}' imported from test`));

describe('TensorFlow.js backend', () => {
  /** The backends of the plain `@tensorflow/tfjs` package (cpu) and of the wasm add-on, when installed. */
  const backends: TfjsBackendName[] = ['cpu'];
  before(async function () {
    try {
      await resolveTfjsRuntime({ backend: 'wasm' });
      backends.push('wasm');
    } catch {
      console.log('    (@tensorflow/tfjs-backend-wasm not loadable: tfjs tests run on the cpu backend only)');
    }
  });

  describe('tfjs runtime resolution', () => {
    it('BAD CALL - with no tfjs package installed, the error lists every failure and what to install', async () => {
      try {
        await resolveTfjsRuntime({ importModule: missing });
        expect.fail('expected a BackendError');
      } catch (err) {
        expect(err).to.be.instanceOf(BackendError);
        const message = (err as Error).message;
        for (const name of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node', '@tensorflow/tfjs-backend-wasm', '@tensorflow/tfjs (cpu)']) {
          expect(message).to.include(name);
        }
        expect(message).to.include('Cannot find package');
        expect(message).to.include('npm install @tensorflow/tfjs ');
        expect(message).to.include('npm install @tensorflow/tfjs-node-gpu (native TensorFlow with CUDA)');
      }
    });

    it('BAD CALL - a backend asked for that is missing names only what provides it', async () => {
      const error = await resolveTfjsRuntime({ backend: 'tensorflow', importModule: missing }).then(() => undefined, (e: unknown) => e as Error);
      expect(error).to.be.instanceOf(BackendError);
      expect(error!.message).to.match(/To use the tfjs backend, run npm install @tensorflow\/tfjs-node \(native TensorFlow on the CPU\) or npm install @tensorflow\/tfjs-node-gpu \(with CUDA\)$/);
      expect(error!.message).to.not.include('npm install @tensorflow/tfjs ');
    });

    it('falls back past missing native packages to the pure-JavaScript package', async () => {
      const runtime = await resolveTfjsRuntime({ importModule: (name) => (name.startsWith('@tensorflow/tfjs-node') ? missing(name) : import(name)) });
      expect(runtime.module).to.equal('@tensorflow/tfjs');
      expect(runtime.backend).to.equal(backends.includes('wasm') ? 'wasm' : 'cpu');
      expect(runtime.tf.getBackend()).to.equal(runtime.backend);
    });

    it("BAD CALL - device 'cuda' takes only the CUDA build: no silent fallback to a CPU package", async () => {
      const candidates = [{ module: '@tensorflow/tfjs-node-gpu', backend: 'cpu', cuda: true }, { module: '@tensorflow/tfjs', backend: 'cpu' }] as const;
      const importModule = (name: string) => (name === '@tensorflow/tfjs-node-gpu' ? missing(name) : import(name));
      expect((await resolveTfjsRuntime({ candidates, importModule })).module).to.equal('@tensorflow/tfjs');
      const error = await resolveTfjsRuntime({ candidates, importModule, cuda: true }).then(() => undefined, (e: unknown) => e as Error);
      expect(error).to.be.instanceOf(BackendError);
      expect(error!.message).to.equal('No TensorFlow.js runtime on CUDA could be loaded:\n'
        + "  @tensorflow/tfjs-node-gpu (cpu): Cannot find package '@tensorflow/tfjs-node-gpu' imported from test\n"
        + 'To use the tfjs backend, run npm install @tensorflow/tfjs-node-gpu (native TensorFlow with CUDA)');
    });

    it('BAD CALL - a package that is not TensorFlow.js is reported as such', async () => {
      try {
        await resolveTfjsRuntime({ candidates: [{ module: 'ndarray', backend: 'cpu' }] });
        expect.fail('expected a BackendError');
      } catch (err) {
        expect((err as Error).message).to.include('ndarray (cpu): the package does not export the TensorFlow.js API');
      }
    });
  });

  /** One-layer graphs, checked against PyTorch's definitions computed naively here. */
  describe('tfjs ops against PyTorch semantics', () => {
    interface Image { channels: number; height: number; width: number; data: Float32Array }
    const at = (img: Image, c: number, y: number, x: number): number =>
      y < 0 || x < 0 || y >= img.height || x >= img.width ? 0 : img.data[(c * img.height + y) * img.width + x];
    const ramp = (n: number, scale: number): Float32Array => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.7 + 0.3) * scale);

    async function runGraph(graph: LayerGraph, weights: Map<string, WeightTensor>, input: Image, backend: TfjsBackendName): Promise<OutputTensor> {
      const network = await createTfjsNetwork(graph, weights, { backend });
      try {
        const [output] = await network.run(input.data, [1, input.channels, input.height, input.width]);
        return output;
      } finally {
        await network.dispose();
      }
    }

    for (const backend of ['cpu', 'wasm'] as const) {
      describe(`on the ${backend} backend`, () => {
        before(function () {
          if (!backends.includes(backend)) this.skip();
        });

        it('transposed convolution k4 s2 p1: hand-checked 1x1 → 2x2 case', async () => {
          // out[a][b] = Σ_i x_i · W[i][0][a + 1][b + 1] (the full 4x4 output cropped by 1 on each side).
          const g = new GraphBuilder('image');
          const y = g.convTranspose('image', 'up', { inChannels: 3, outChannels: 1, kernel: 4, stride: 2, padding: 1, outputPadding: 0 });
          const w = new Float32Array(48);
          for (let i = 0; i < 16; i++) { w[i] = i; w[16 + i] = 1; }
          const output = await runGraph(g.finish([y]), new Map([['up.weight', { shape: [3, 1, 4, 4], data: w }]]), { channels: 3, height: 1, width: 1, data: new Float32Array([1, 10, 100]) }, backend);
          expect(output.shape).to.deep.equal([1, 1, 2, 2]);
          expect(Array.from(output.data)).to.deep.equal([15, 16, 19, 20]);
        });

        for (const [kernel, padding, outputPadding] of [[4, 1, 0], [3, 1, 1], [2, 0, 0]]) {
          it(`transposed convolution k${kernel} s2 p${padding} op${outputPadding} equals PyTorch's (3→2 channels, 3x4 input)`, async () => {
            const input: Image = { channels: 3, height: 3, width: 4, data: ramp(36, 1) };
            const [inC, outC, s] = [3, 2, 2];
            const w = ramp(inC * outC * kernel * kernel, 0.5).map((v, i) => v + i * 0.01);
            const g = new GraphBuilder('image');
            const y = g.convTranspose('image', 'up', { inChannels: inC, outChannels: outC, kernel, stride: s, padding, outputPadding });
            const output = await runGraph(g.finish([y]), new Map([['up.weight', { shape: [inC, outC, kernel, kernel], data: w }]]), input, backend);
            const [H, W] = [(input.height - 1) * s - 2 * padding + kernel + outputPadding, (input.width - 1) * s - 2 * padding + kernel + outputPadding];
            expect(output.shape).to.deep.equal([1, outC, H, W]);
            const expected = new Float32Array(outC * H * W);
            for (let i = 0; i < inC; i++) {
              for (let iy = 0; iy < input.height; iy++) {
                for (let ix = 0; ix < input.width; ix++) {
                  for (let o = 0; o < outC; o++) {
                    for (let ky = 0; ky < kernel; ky++) {
                      for (let kx = 0; kx < kernel; kx++) {
                        const [oy, ox] = [iy * s - padding + ky, ix * s - padding + kx];
                        if (oy < 0 || ox < 0 || oy >= H || ox >= W) continue;
                        expected[(o * H + oy) * W + ox] += at(input, i, iy, ix) * w[((i * outC + o) * kernel + ky) * kernel + kx];
                      }
                    }
                  }
                }
              }
            }
            expect(maxAbsDifference(output.data, expected)).to.be.below(1e-5);
          });
        }

        it('convolution k3 s2 p1 with bias on an odd 5x7 input equals PyTorch\'s (floor output size)', async () => {
          const input: Image = { channels: 3, height: 5, width: 7, data: ramp(105, 1) };
          const [outC, k, s, p] = [4, 3, 2, 1];
          const w = ramp(outC * 3 * k * k, 0.3);
          const bias = new Float32Array([0.5, -1, 2, 0]);
          const g = new GraphBuilder('image');
          const y = g.conv('image', 'c', { inChannels: 3, outChannels: outC, kernel: k, stride: s, padding: p, bias: true });
          const output = await runGraph(g.finish([y]), new Map([['c.weight', { shape: [outC, 3, k, k], data: w }], ['c.bias', { shape: [outC], data: bias }]]), input, backend);
          const [H, W] = [Math.floor((5 + 2 * p - k) / s) + 1, Math.floor((7 + 2 * p - k) / s) + 1];
          expect(output.shape).to.deep.equal([1, outC, H, W]);
          const expected = new Float32Array(outC * H * W);
          for (let o = 0; o < outC; o++) {
            for (let oy = 0; oy < H; oy++) {
              for (let ox = 0; ox < W; ox++) {
                let sum = bias[o];
                for (let i = 0; i < 3; i++) {
                  for (let ky = 0; ky < k; ky++) {
                    for (let kx = 0; kx < k; kx++) sum += at(input, i, oy * s - p + ky, ox * s - p + kx) * w[((o * 3 + i) * k + ky) * k + kx];
                  }
                }
                expected[(o * H + oy) * W + ox] = sum;
              }
            }
          }
          expect(maxAbsDifference(output.data, expected)).to.be.below(1e-5);
        });

        it('a BatchNorm that follows no convolution, then ReLU and an unbiased 1x1 convolution', async () => {
          const input: Image = { channels: 3, height: 2, width: 2, data: ramp(12, 2) };
          const bn = { gamma: [1.5, 0.5, -1], beta: [0.1, -0.2, 0.3], mean: [0.2, -0.1, 0], variance: [0.5, 2, 1] };
          const w = [0.5, -1, 2, 1, 1, -0.5]; // [2, 3, 1, 1]
          const g = new GraphBuilder('image');
          const y = g.conv(g.relu(g.batchNorm('image', 'bn', 3)), 'c', { inChannels: 3, outChannels: 2, kernel: 1 });
          const weights = new Map<string, WeightTensor>([
            ['bn.weight', { shape: [3], data: Float32Array.from(bn.gamma) }],
            ['bn.bias', { shape: [3], data: Float32Array.from(bn.beta) }],
            ['bn.running_mean', { shape: [3], data: Float32Array.from(bn.mean) }],
            ['bn.running_var', { shape: [3], data: Float32Array.from(bn.variance) }],
            ['c.weight', { shape: [2, 3, 1, 1], data: Float32Array.from(w) }],
          ]);
          const output = await runGraph(g.finish([y]), weights, input, backend);
          expect(output.shape).to.deep.equal([1, 2, 2, 2]);
          for (let o = 0; o < 2; o++) {
            for (let p = 0; p < 4; p++) {
              let sum = 0;
              for (let i = 0; i < 3; i++) {
                const normalised = ((input.data[i * 4 + p] - bn.mean[i]) / Math.sqrt(bn.variance[i] + 1e-5)) * bn.gamma[i] + bn.beta[i];
                sum += Math.max(0, normalised) * w[o * 3 + i];
              }
              expect(output.data[o * 4 + p]).to.be.closeTo(sum, 1e-5);
            }
          }
        });

        it('nearest upsampling by 3 reads source floor(dst / 3); concat and add follow', async () => {
          const input: Image = { channels: 3, height: 2, width: 3, data: Float32Array.from({ length: 18 }, (_, i) => i) };
          const g = new GraphBuilder('image');
          const up = g.upsample('image', 3);
          const both = g.concat([up, g.add(up, up, 'twice')], 'both');
          const output = await runGraph(g.finish([both]), new Map(), input, backend);
          expect(output.shape).to.deep.equal([1, 6, 6, 9]);
          for (let c = 0; c < 6; c++) {
            for (let y = 0; y < 6; y++) {
              for (let x = 0; x < 9; x++) {
                const source = at(input, c % 3, Math.floor(y / 3), Math.floor(x / 3));
                expect(output.get(0, c, y, x)).to.equal(c < 3 ? source : 2 * source);
              }
            }
          }
        });
      });
    }
  });

  describe('tfjs tensor lifetime', () => {
    for (const backend of ['cpu', 'wasm'] as const) {
      it(`runs on ${backend} leave no tensors behind, and dispose() releases the weights`, async function () {
        if (!backends.includes(backend)) this.skip();
        const graph = buildNetworkGraph(presetConfig('tiny_coco').model);
        const network = await createTfjsNetwork(graph, randomWeights(graph, 3), { backend });
        const { tf } = (network as TfjsNetwork).runtime;
        // 32x32 is the smallest input the four-branch network takes (the lowest branch is 1x1).
        const input = Float32Array.from({ length: 3 * 32 * 32 }, (_, i) => Math.cos(i));
        const loaded = tf.memory();
        await network.run(input, [1, 3, 32, 32]);
        expect(tf.memory().numTensors).to.equal(loaded.numTensors);
        // Any per-call leak grows these counts; equality after many calls means none.
        for (let i = 0; i < 10; i++) await network.run(input, [1, 3, 32, 32]);
        expect(tf.memory().numTensors).to.equal(loaded.numTensors);
        expect(tf.memory().numBytes).to.equal(loaded.numBytes);
        await network.dispose();
        const convolutions = graph.nodes.filter((n) => n.op === 'conv' || n.op === 'convTranspose').length;
        expect(loaded.numTensors - tf.memory().numTensors).to.be.at.least(convolutions);
      });
    }

    it('BAD CALL - an input that is not [N, 3, H, W] is rejected by name', async () => {
      const graph = buildNetworkGraph(presetConfig('tiny_coco').model);
      const network = await createTfjsNetwork(graph, randomWeights(graph, 3), { backend: 'cpu' });
      try {
        await network.run(new Float32Array(4 * 32 * 32), [1, 4, 32, 32]);
        expect.fail('expected a BackendError');
      } catch (err) {
        expect(err).to.be.instanceOf(BackendError);
        expect((err as Error).message).to.include('Network input must be [N, 3, H, W] float32; got dims [1, 4, 32, 32]');
      } finally {
        await network.dispose();
      }
    });

    it('BAD CALL - once the wasm module stops (out of its 4 GB), every network on it says so, and new ones fall back to cpu', function () {
      if (!backends.includes('wasm')) this.skip();
      // In a child process: the wasm backend stays stopped in it. Running the real network out
      // of memory takes a minute and 4 GB, so one network's run is made to trap as it would.
      const script = `
        import { buildNetworkGraph } from './src/higher/network.ts';
        import { presetConfig } from './src/config/presets.ts';
        import { randomWeights } from './src/model/weights.ts';
        import { createTfjsNetwork } from './src/backend/tfjs/network.ts';
        import { resolveTfjsRuntime } from './src/backend/tfjs/runtime.ts';
        const graph = buildNetworkGraph(presetConfig('tiny_coco').model);
        const [failing, other] = [await createTfjsNetwork(graph, randomWeights(graph, 3), { backend: 'wasm' }), await createTfjsNetwork(graph, randomWeights(graph, 4), { backend: 'wasm' })];
        failing.model.execute = () => { throw new WebAssembly.RuntimeError('Aborted(). Build with -sASSERTIONS for more info.'); };
        const outcome = (promise) => promise.then((value) => value?.backend ?? 'done', (error) => error.name + ': ' + error.message);
        const input = new Float32Array(3 * 32 * 32);
        console.log(JSON.stringify({
          failing: await outcome(failing.run(input, [1, 3, 32, 32])),
          other: await outcome(other.run(input, [1, 3, 32, 32])),
          dispose: await outcome(other.dispose()),
          wasm: await outcome(resolveTfjsRuntime({ backend: 'wasm' })),
          any: await outcome(resolveTfjsRuntime({ importModule: (name) => name.startsWith('@tensorflow/tfjs-node') ? Promise.reject(new Error('absent')) : import(name) })),
        }));`;
      const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000, killSignal: 'SIGKILL' });
      expect(child.status, child.stderr).to.equal(0);
      const outcomes = JSON.parse(child.stdout.trim().split('\n').at(-1)!) as Record<string, string>;
      expect(outcomes.failing).to.equal("BackendError: TensorFlow.js's wasm backend failed on a [1, 3, 32, 32] input (Aborted()), most likely out of memory "
        + '(WebAssembly has 4 GB at most), and can run no network again in this process. For smaller inputs, lower the input size or the test scales, '
        + 'or leave out the flip test; ONNX Runtime (the default backend) and tfjs-node have no such limit');
      expect(outcomes.other).to.match(/^BackendError: TensorFlow\.js's wasm backend stopped earlier in this process \(on a \[1, 3, 32, 32\] input: Aborted\(\)\) and can run no network again: restart the process\. /);
      // Freeing tensors in the stopped module's memory threw 'memory access out of bounds'.
      expect(outcomes.dispose).to.equal('done');
      expect(outcomes.wasm).to.match(/^BackendError: No TensorFlow\.js runtime with the wasm backend could be loaded:\n {2}@tensorflow\/tfjs \+ @tensorflow\/tfjs-backend-wasm \(wasm\): it stopped earlier in this process \(on a \[1, 3, 32, 32\] input: Aborted\(\)\) and cannot run again until the process restarts$/);
      expect(outcomes.any).to.equal('cpu');
    });
  });

  describe('estimatePoses on tfjs against ONNX Runtime', () => {
    it('the same people in the same order, keypoints within 1e-3 px (flip test, two scales, landscape and portrait images)', async function () {
      if (!backends.includes('wasm')) this.skip();
      const options = { preset: 'tiny_coco', weights: TINY_COCO_CHECKPOINT(), inputSize: 256, flipTest: true, scales: [1, 0.5] } satisfies EstimatorOptions;
      const portrait = await sharp(DEMO_IMAGE()).extract({ left: 200, top: 40, width: 200, height: 420 }).png().toBuffer();
      const images = [DEMO_IMAGE(), portrait];
      const onnx = await createEstimator(options);
      const tfjs = await createEstimator({ ...options, backend: 'tfjs', tfjsBackend: 'wasm' });
      try {
        const [expected, actual] = [await onnx.estimatePoses(images), await tfjs.estimatePoses(images)];
        expected.forEach((people, i) => expectSamePeople(actual[i], people));
      } finally {
        await Promise.all([onnx.dispose(), tfjs.dispose()]);
      }
    });
  });

  describeFixtures('tfjs backend against the reference (forward/*)', 'forward', () => {
    for (const dir of caseDirs('forward')) {
      const [model] = basename(dir).split('__') as [PresetName];
      for (const backend of ['cpu', 'wasm'] as const) {
        it(`${basename(dir)} on ${backend}: outputs within 1e-4`, async function () {
          if (!backends.includes(backend)) this.skip();
          const graph = buildNetworkGraph(presetConfig(model).model);
          const network = await createTfjsNetwork(graph, networkWeights(join(fixturesRoot(), 'models', `${model}.zip.pth`), graph), { backend });
          try {
            expectReference(await runImage(network, dir), dir);
          } finally {
            await network.dispose();
          }
        });
      }
    }
  });

  describeFixtures('tfjs graph-model export', 'forward', () => {
    const [dir] = caseDirs('forward');
    const [model] = basename(dir).split('__') as [PresetName];
    const checkpoint = join(fixturesRoot(), 'models', `${model}.zip.pth`);
    let out: string;
    beforeEach(() => { out = mkdtempSync(join(tmpdir(), 'higher-pose-tfjs-')); });
    afterEach(() => rmSync(out, { recursive: true, force: true }));

    it(`${model}: model.json + shards reload with tf.loadGraphModel and reproduce ${basename(dir)}`, async () => {
      const target = join(out, 'web_model');
      // Small shards, so that weights spanning shard boundaries are exercised.
      const written = await exportTfjsModel(presetConfig(model), checkpoint, target, { shardBytes: 64 * 1024 });
      expect(written.files.length).to.be.greaterThan(3);
      expect(readdirSync(target).sort()).to.deep.equal([...written.files].sort());
      expect(readdirSync(out)).to.deep.equal(['web_model']);
      written.files.slice(1).forEach((f) => expect(statSync(join(target, f)).size).to.be.at.most(64 * 1024));
      const json = JSON.parse(readFileSync(join(target, 'model.json'), 'utf8'));
      expect(json.format).to.equal('graph-model');
      expect(json.weightsManifest[0].paths).to.deep.equal(written.files.slice(1));

      const backend = backends.includes('wasm') ? 'wasm' : 'cpu';
      const { tf } = await resolveTfjsRuntime({ backend });
      const loaded = await tf.loadGraphModel(tfjsFileHandler(target));
      try {
        const image = await readImage(join(dir, 'input.png'));
        const x = tf.tensor4d(toNetworkInput(image), [1, 3, image.height, image.width]);
        const outputs = loaded.execute({ image: x }, ['output_0', 'output_1']) as InstanceType<typeof tf.Tensor>[];
        const arrays = await Promise.all(outputs.map(async (t) => ({ shape: t.shape, data: await t.data() as Float32Array })));
        tf.dispose([x, ...outputs]);
        expectReference(arrays, dir);
      } finally {
        loaded.dispose();
      }
    });

    it('the default shards are 4 MB and an earlier export is replaced', async () => {
      const target = join(out, 'model');
      await exportTfjsModel(presetConfig(model), checkpoint, target);
      const graph = buildNetworkGraph(presetConfig(model).model);
      // The writer only slices the weight bytes: 9 MiB of them make shards of 4, 4 and 1 MiB.
      const large = { ...compileToTfjsGraph(graph, randomWeights(graph)), weightData: new ArrayBuffer(9 * 1024 * 1024) };
      const written = await writeTfjsGraphModel(large, target);
      expect(written.files).to.deep.equal(['model.json', 'group1-shard1of3.bin', 'group1-shard2of3.bin', 'group1-shard3of3.bin']);
      expect(written.files.slice(1).map((f) => statSync(join(target, f)).size)).to.deep.equal([4, 4, 1].map((m) => m * 1024 * 1024));
      expect(readdirSync(target).sort()).to.deep.equal([...written.files].sort());
      expect(readdirSync(out)).to.deep.equal(['model']);
      expect(readTfjsGraphModel(target).weightData.byteLength).to.equal(9 * 1024 * 1024);
      // Served to browsers: readable by others, as a folder made with the process's umask is.
      const umask = Number.parseInt(spawnSync('sh', ['-c', 'umask']).stdout.toString().trim(), 8);
      expect(statSync(target).mode & 0o777).to.equal(0o777 & ~umask);
    });

    it('BAD CALL - a non-empty folder that holds no export is not replaced', async () => {
      writeFileSync(join(out, 'notes.txt'), 'keep me');
      const error = await exportTfjsModel(presetConfig(model), checkpoint, out).then(() => undefined, (e: unknown) => e);
      expect(error).to.be.instanceOf(TfjsExportError).with.property('message').that.includes('non-empty folder without a model.json');
      expect(readdirSync(out)).to.deep.equal(['notes.txt']);
    });

    it('BAD CALL - an export beside other files (a web app folder) is not replaced', async () => {
      await exportTfjsModel(presetConfig(model), checkpoint, out);
      writeFileSync(join(out, 'index.html'), '<html></html>');
      const before = readdirSync(out).sort();
      const error = await exportTfjsModel(presetConfig(model), checkpoint, out).then(() => undefined, (e: unknown) => e);
      expect(error).to.be.instanceOf(TfjsExportError).with.property('message').that.includes('holds other files than an export (index.html)');
      expect(readdirSync(out).sort()).to.deep.equal(before);
    });

    it('higher-pose export-tfjs writes a model that the tfjs backend loads', async () => {
      const program = new Command().exitOverride();
      registerExportTfjs(program);
      const target = join(out, 'cli');
      const log = console.error;
      const lines: string[] = [];
      console.error = (line: string) => lines.push(line);
      try {
        await program.parseAsync(['node', 'higher-pose', 'export-tfjs', '--preset', model, '--weights', checkpoint, '--out', target]);
      } finally {
        console.error = log;
      }
      expect(lines.join('\n')).to.match(/^wrote .*cli \(model\.json \+ 1 weight shard, \d+\.\d MB of weights\): input "image" /);
      const network = await TfjsNetwork.load(readTfjsGraphModel(target), { backend: backends.includes('wasm') ? 'wasm' : 'cpu' });
      try {
        expectReference(await runImage(network, dir), dir);
      } finally {
        await network.dispose();
      }
      expect(existsSync(join(target, 'model.json'))).to.equal(true);
    });
  });

  it("export-tfjs's summary counts the weight shards rather than naming each (W48 has 62)", () => {
    const shards = Array.from({ length: 62 }, (_, i) => `group1-shard${i + 1}of62.bin`);
    expect(writtenSummary({ dir: 'web_model', files: ['model.json', ...shards], weightBytes: 255_340_000 })).to.equal('web_model (model.json + 62 weight shards, 255.3 MB of weights)');
    expect(writtenSummary({ dir: 'tiny', files: ['model.json', 'group1-shard1of1.bin'], weightBytes: 90_000 })).to.equal('tiny (model.json + 1 weight shard, 0.1 MB of weights)');
  });

  describe('replacing an earlier export', () => {
    let out: string;
    beforeEach(() => { out = mkdtempSync(join(tmpdir(), 'higher-pose-tfjs-replace-')); });
    afterEach(() => rmSync(out, { recursive: true, force: true }));

    /** An earlier export in `model`, a new one in `.model.partial`, and renameSync failing at the calls named. */
    const setUp = (failingCalls: number[]) => {
      const [target, staging, aside] = ['model', '.model.partial', '.model.partial.previous'].map((name) => join(out, name));
      for (const [folder, text] of [[target, 'old'], [staging, 'new']] as const) {
        mkdirSync(folder);
        writeFileSync(join(folder, 'model.json'), text);
      }
      let calls = 0;
      const rename = (from: string, to: string): void => {
        if (failingCalls.includes(++calls)) throw Object.assign(new Error(`EXDEV: cross-device link not permitted, rename '${from}' -> '${to}'`), { code: 'EXDEV' });
        renameSync(from, to);
      };
      return { target, staging, aside, rename };
    };

    it('BAD CALL - exportTfjsModel refuses a folder it cannot take before the compile: a folder of other files, a file in its place or above it, each named once', async () => {
      // Weights that cannot be compiled: the compile's error (no such checkpoint) came first.
      const weights = join(out, 'missing.pth');
      const folder = join(out, 'site');
      mkdirSync(folder);
      writeFileSync(join(folder, 'index.html'), '<html></html>');
      const file = join(out, 'plain-file');
      writeFileSync(file, 'x');
      const cases: [string, string][] = [
        [folder, `${folder}: is a non-empty folder without a model.json; refusing to replace it`],
        [file, `${file}: is a file, not a folder`],
        [join(file, 'web_model'), `${join(file, 'web_model')}: ${file} is a file, not a folder`],
      ];
      for (const [dir, message] of cases) {
        const error = await exportTfjsModel(presetConfig('tiny_coco'), weights, dir).then(() => undefined, (e: unknown) => e);
        expect(error, dir).to.be.instanceOf(TfjsExportError).with.property('message', message);
      }
      expect(readdirSync(folder)).to.deep.equal(['index.html']);
    });

    it('BAD CALL - a write stopped midway (Ctrl-C) leaves no new export nor its temporary folder, and keeps the earlier one', async () => {
      const graph = buildNetworkGraph(presetConfig('tiny_coco').model);
      const artifacts = compileToTfjsGraph(graph, randomWeights(graph));
      const target = join(out, 'model');
      await writeTfjsGraphModel(artifacts, target);
      const earlier = readFileSync(join(target, 'model.json'), 'utf8');
      const interrupt = new AbortController();
      // 64 kB shards: dozens of files, of which the first is being written when the stop comes.
      const writing = writeTfjsGraphModel({ ...artifacts, userDefinedMetadata: { ...artifacts.userDefinedMetadata, description: 'new' } }, target, { shardBytes: 64 * 1024, signal: interrupt.signal });
      expect(readdirSync(out).sort()).to.deep.equal([readdirSync(out).find((name) => name.startsWith('.model.partial-')), 'model']);
      interrupt.abort('SIGINT');
      expect(await writing.then(() => 'written', (reason: unknown) => reason)).to.equal('SIGINT');
      expect(readdirSync(out)).to.deep.equal(['model']);
      expect(readFileSync(join(target, 'model.json'), 'utf8')).to.equal(earlier);
    });

    it('moves the new export into place and removes the earlier one', () => {
      const { target, staging, aside, rename } = setUp([]);
      replaceFolder(staging, target, aside, rename);
      expect(readFileSync(join(target, 'model.json'), 'utf8')).to.equal('new');
      expect(readdirSync(out)).to.deep.equal(['model']);
    });

    it('BAD CALL - the new export cannot be moved into place: the earlier one is moved back, no hidden copy left', () => {
      const { target, staging, aside, rename } = setUp([2]);
      expect(() => replaceFolder(staging, target, aside, rename)).to.throw(TfjsExportError, /model: the new export could not be moved into place \(EXDEV: .*\); the previous one is kept$/);
      expect(readFileSync(join(target, 'model.json'), 'utf8')).to.equal('old');
      expect(existsSync(aside), 'the earlier export left aside').to.equal(false);
    });

    it('BAD CALL - nor can the earlier one be moved back: the error names the folder that holds it', () => {
      const { target, staging, aside, rename } = setUp([2, 3]);
      expect(() => replaceFolder(staging, target, aside, rename)).to.throw(TfjsExportError, `nor the previous one back from ${aside} (EXDEV: cross-device link not permitted, rename`);
      expect(readFileSync(join(aside, 'model.json'), 'utf8')).to.equal('old');
    });
  });
});

async function runImage(network: { run: TfjsNetwork['run'] }, dir: string): Promise<OutputTensor[]> {
  const image = await readImage(join(dir, 'input.png'));
  return network.run(toNetworkInput(image), [1, 3, image.height, image.width]);
}

function expectReference(outputs: { shape: number[]; data: Float32Array }[], dir: string): void {
  expect(outputs).to.have.length(2);
  outputs.forEach((output, i) => {
    const reference = readNpy(join(dir, `output_${i}.npy`));
    expect(output.shape).to.deep.equal(reference.shape);
    expect(maxAbsDifference(output.data, reference.data)).to.be.at.most(1e-4);
  });
}

/**
 * The two backends' network outputs differ by float rounding (~1e-7 here): keypoints measured
 * 0 px apart, scores 2e-7. Random weights leave near-ties, though (two candidates of almost
 * the same tag distance), which that rounding can settle the other way: one keypoint in 3060
 * moved 12.5 px (its score by 1e-4, its person's by 7e-6) at scales [2, 1, 0.5]. So 1% of the
 * keypoints may differ; a lost flip or scale changes the maps, and nearly every score, by far more.
 */
function expectSamePeople(actual: Person[], expected: Person[]): void {
  expect(actual.length, 'people').to.equal(expected.length);
  actual.forEach((person, i) => expect(person.score, `person ${i}'s score`).to.be.closeTo(expected[i].score, 1e-4));
  const pairs = actual.flatMap((person, i) => person.keypoints.map((k, j) => [k, expected[i].keypoints[j]] as const));
  const differing = pairs.filter(([k, e]) => !(Math.abs(k.x - e.x) <= 1e-3 && Math.abs(k.y - e.y) <= 1e-3 && Math.abs(k.score - e.score) <= 1e-5));
  expect(differing.length, `keypoints differing: ${JSON.stringify(differing.slice(0, 3))}`).to.be.at.most(pairs.length / 100);
}

function maxAbsDifference(a: Float32Array, b: Float32Array): number {
  expect(a.length).to.equal(b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return Number.isNaN(max) ? Infinity : max;
}
