import { expect } from 'chai';
import { readFileSync, readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { presetConfig, type PresetName } from '../src/config/presets.js';
import { buildNetworkGraph } from '../src/higher/network.js';
import { parameterCount } from '../src/backbone/graph.js';
import { compileToOnnx } from '../src/backend/onnx/compile.js';
import { foldBatchNorm } from '../src/backend/fold.js';
import { BackendError, fixedSizeHint, OnnxNetwork } from '../src/backend/onnx/session.js';
import { randomWeights } from '../src/model/weights.js';
import { createNetwork, createOnnxNetwork } from '../src/model/load.js';
import { createTfjsNetwork } from '../src/backend/tfjs/network.js';
import type { Network } from '../src/backend/network.js';
import { TINY_COCO_CHECKPOINT } from '../src/paths.js';
import { expectRejection } from './helpers/cli.js';
import { StateDictMismatchError } from '../src/checkpoint/index.js';
import { readImage } from '../src/io/image.js';
import { toNetworkInput } from '../src/preprocess/index.js';
import { Workspace } from '../src/workspace.js';
import { readNpy } from '../src/io/npy.js';
import { caseDirs, describeFixtures, fixturesRoot } from './helpers/fixtures.js';

interface Manifest {
  num_params: number;
  tensors: [string, number[], string][];
}

describeFixtures('layer graph against the official manifests', 'manifests', () => {
  const dir = join(fixturesRoot(), 'manifests');
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.json')).sort()) {
    const preset = file.replace(/\.json$/, '') as PresetName;
    it(`${preset}: same tensor names, shapes, order and parameter count`, () => {
      const manifest = JSON.parse(readFileSync(join(dir, file), 'utf8')) as Manifest;
      const graph = buildNetworkGraph(presetConfig(preset).model);
      expect(graph.parameters.map((p) => [p.name, p.shape])).to.deep.equal(manifest.tensors.map(([name, shape]) => [name, shape]));
      expect(parameterCount(graph)).to.equal(manifest.num_params);
    });
  }
});

describe('BatchNorm folding', () => {
  it('equals conv followed by inference BatchNorm', () => {
    // 2 output channels, 1 input channel, 1x1 kernel: y = w*x + b, then BN.
    const w = new Float32Array([2, -3]);
    const b = new Float32Array([0.5, 1]);
    const bn = { gamma: new Float32Array([1.5, 0.25]), beta: new Float32Array([0.1, -0.2]), mean: new Float32Array([0.3, -1]), variance: new Float32Array([4, 0.09]), epsilon: 1e-5 };
    const folded = foldBatchNorm(w, b, bn, (i) => i);
    for (const x of [-1, 0, 2.5]) {
      for (let c = 0; c < 2; c++) {
        const reference = ((w[c] * x + b[c] - bn.mean[c]) / Math.sqrt(bn.variance[c] + bn.epsilon)) * bn.gamma[c] + bn.beta[c];
        expect(folded.weight[c] * x + folded.bias[c]).to.be.closeTo(reference, 1e-5);
      }
    }
  });
});

describe('full-size network', () => {
  it('coco_w32_512 with deterministic random weights builds and runs on a 512x512 input', async () => {
    const graph = buildNetworkGraph(presetConfig('coco_w32_512').model);
    const network = await OnnxNetwork.create(compileToOnnx(graph, randomWeights(graph, 7)));
    try {
      const input = new Float32Array(3 * 512 * 512).map((_, i) => Math.sin(i / 977));
      const [low, high] = await network.run(input, [1, 3, 512, 512]);
      expect(low.shape).to.deep.equal([1, 34, 128, 128]);
      expect(high.shape).to.deep.equal([1, 17, 256, 256]);
      expect(Array.from(low.data).every(Number.isFinite)).to.equal(true);
      const values = Array.from(high.data);
      expect(values.reduce((a, b) => Math.max(a, b)) - values.reduce((a, b) => Math.min(a, b))).to.be.greaterThan(0);
    } finally {
      await network.dispose();
    }
  });
});

describe('network inputs', () => {
  for (const backend of ['onnxruntime', 'tfjs'] as const) {
    it(`BAD CALL - ${backend}: sides that are not multiples of 32, or an empty image, are a BackendError saying so`, async () => {
      const config = presetConfig('tiny_coco');
      const network = await createNetwork(config, randomWeights(buildNetworkGraph(config.model), 3), { backend, ...(backend === 'tfjs' && { tfjsBackend: 'cpu' }) });
      const failure = (dims: [number, number, number, number]) => network.run(new Float32Array(dims.reduce((a, b) => a * b)), dims).then(() => undefined, (e: unknown) => e);
      try {
        // The branches' sums meet maps 25 and 26 rows high: each runtime failed deep in an addition.
        // By name: under mocha, tsx gives the tfjs backend's lazy import its own copy of the class.
        const uneven = await failure([2, 3, 100, 64]);
        expect(uneven).to.have.property('name', 'BackendError');
        expect((uneven as Error).message).to.include('on a [2, 3, 100, 64] input: ').and.to.include('HigherHRNet takes heights and widths that are multiples of 32, got 100x64');
        // TensorFlow.js returned empty outputs for it.
        const empty = await failure([1, 3, 0, 64]);
        expect(empty).to.have.property('name', 'BackendError');
        expect((empty as Error).message).to.equal('Network input must be [N, 3, H, W] float32 with N, H and W positive integers; got dims [1, 3, 0, 64] for 0 values');
        expect((await network.run(new Float32Array(3 * 64 * 96), [1, 3, 64, 96])).map((o) => o.shape)).to.deep.equal([[1, 34, 16, 24], [1, 17, 32, 48]]);
      } finally {
        await network.dispose();
      }
    });
  }
});

describe('advice on a failed run', () => {
  it('says to export with dynamic axes only for a fixed size a run cannot work around: a batch fixed at 1 runs image by image', () => {
    const hint = (shape: (number | string)[]) => fixedSizeHint({ inputMetadata: [{ name: 'image', isTensor: true, type: 'float32', shape }] });
    // Was "The model's input is fixed at [1, 3, h, w]; images need any height and width", which they had.
    expect(hint([1, 3, 'h', 'w'])).to.equal('');
    expect(hint(['batch', 3, 'h', 'w'])).to.equal('');
    expect(hint([2, 3, 'h', 'w'])).to.match(/^\. The model's input is fixed at \[2, 3, h, w\]; .*export it with dynamic batch, height and width/);
    expect(hint([1, 3, 512, 512])).to.match(/fixed at \[1, 3, 512, 512\]/);
  });
});

describe('network lifecycle', () => {
  const config = presetConfig('tiny_coco');
  const graph = buildNetworkGraph(config.model);
  const backends: [string, () => Promise<Network>][] = [
    ['ONNX Runtime', () => createOnnxNetwork(config, TINY_COCO_CHECKPOINT())],
    ['ONNX Runtime on a thread of its own', () => createOnnxNetwork(config, TINY_COCO_CHECKPOINT(), { networkThread: true })],
    // Not through createNetwork: under mocha its dynamic import loads a second BackendError class.
    ['TensorFlow.js', () => createTfjsNetwork(graph, randomWeights(graph, 3), { backend: 'cpu' })],
  ];
  for (const [name, create] of backends) {
    it(`BAD CALL - ${name}: dispose lets a run in progress finish, can be called again, and a run after it is a BackendError`, async () => {
      const network = await create();
      const input = new Float32Array(3 * 64 * 64);
      const running = network.run(input, [1, 3, 64, 64]);
      const disposed = network.dispose();
      expect((await running).map((o) => o.shape)).to.deep.equal([[1, 34, 16, 16], [1, 17, 32, 32]]);
      await disposed;
      await network.dispose();
      await expectRejection(network.run(input, [1, 3, 64, 64]), BackendError, /^run: the network has been disposed; create another one$/);
    });
  }

  it('BAD CALL - a network thread that died: its runs are a BackendError saying to create another network', async () => {
    const network = await createOnnxNetwork(config, TINY_COCO_CHECKPOINT(), { networkThread: true });
    await (network as unknown as { thread: { worker: { terminate(): Promise<number> } } }).thread.worker.terminate();
    await expectRejection(network.run(new Float32Array(3 * 64 * 64), [1, 3, 64, 64]), BackendError, /^network thread stopped; this network cannot run again, create another one$/);
    await network.dispose();
  });
});

describe('network outputs in a workspace', () => {
  it('are written into the workspace buffers under the given key, equal to outputs ONNX Runtime allocates', async () => {
    const graph = buildNetworkGraph(presetConfig('coco_w32_512').model);
    const network = await OnnxNetwork.create(compileToOnnx(graph, randomWeights(graph, 3)));
    try {
      const dims = [2, 3, 64, 96] as const;
      const input = new Float32Array(2 * 3 * 64 * 96).map((_, i) => Math.cos(i / 311));
      const expected = await network.run(input, dims);
      const workspace = new Workspace();
      const first = await network.run(input, dims, { workspace, key: 'a' });
      const second = await network.run(input, dims, { workspace, key: 'a' });
      const other = await network.run(input, dims, { workspace, key: 'b' });
      for (const [i, e] of expected.entries()) {
        for (const outputs of [first, second, other]) {
          expect(outputs[i].shape).to.deep.equal(e.shape);
          expect(Array.from(outputs[i].data)).to.deep.equal(Array.from(e.data));
        }
        const size = e.shape.reduce((a, b) => a * b);
        expect(second[i].data.buffer).to.equal(workspace.float32(`a:${i}`, size, false).buffer);
        expect(other[i].data.buffer).to.equal(workspace.float32(`b:${i}`, size, false).buffer);
        expect(other[i].data.buffer).to.not.equal(second[i].data.buffer);
      }
    } finally {
      await network.dispose();
    }
  });

  it("frees at once the copies of them that onnxruntime-node also returns (no garbage for V8's collector)", async () => {
    const graph = buildNetworkGraph(presetConfig('tiny_coco').model);
    const network = await OnnxNetwork.create(compileToOnnx(graph, randomWeights(graph, 3)));
    // What the session returns, seen from outside.
    const session = (network as unknown as { session: { run: (...args: unknown[]) => Promise<Record<string, { data: Float32Array }>> } }).session;
    const run = session.run.bind(session);
    const returned: Float32Array[] = [];
    session.run = async (...args) => {
      const results = await run(...args);
      returned.push(...Object.values(results).map((t) => t.data));
      return results;
    };
    try {
      const dims = [1, 3, 64, 64] as const;
      const input = new Float32Array(3 * 64 * 64).fill(0.25);
      const workspace = new Workspace();
      const own = await network.run(input, dims, { workspace, key: 'a' });
      const given = await network.run(input, dims, { workspace, key: 'a' });
      expect(returned).to.have.length(2 * own.length);
      // The first run has no output buffers to give: ONNX Runtime's own are the outputs, kept.
      expect(returned.slice(0, own.length).map((d) => d.length)).to.deep.equal(own.map((o) => o.data.length));
      // The second gives the workspace's: the copies it returns besides are detached, and the outputs equal.
      expect(returned.slice(own.length).map((d) => d.length)).to.deep.equal(own.map(() => 0));
      given.forEach((o, i) => expect(Array.from(o.data)).to.deep.equal(Array.from(own[i].data)));
    } finally {
      await network.dispose();
    }
  });
});

describeFixtures('network outputs against the reference (forward/*)', 'forward', () => {
  for (const dir of caseDirs('forward')) {
    const [model] = basename(dir).split('__') as [PresetName];
    for (const serialisation of ['zip', 'legacy', 'checkpoint', 'mmpose']) {
      it(`${basename(dir)} from ${model}.${serialisation}.pth: outputs within 1e-4`, async () => {
        const config = presetConfig(model);
        const network = await createOnnxNetwork(config, join(fixturesRoot(), 'models', `${model}.${serialisation}.pth`));
        try {
          const image = await readImage(join(dir, 'input.png'));
          const outputs = await network.run(toNetworkInput(image), [1, 3, image.height, image.width]);
          expect(outputs).to.have.length(2);
          outputs.forEach((output, i) => {
            const reference = readNpy(join(dir, `output_${i}.npy`));
            expect(output.shape).to.deep.equal(reference.shape);
            expect(maxAbsDifference(output.data, reference.data)).to.be.at.most(1e-4);
          });
        } finally {
          await network.dispose();
        }
      });
    }
  }
});

describeFixtures('checkpoint and configuration mismatches', 'models', () => {
  it('BAD CALL - a CrowdPose checkpoint for a COCO configuration lists the mismatched tensors', async () => {
    const path = join(fixturesRoot(), 'models', 'tiny_crowdpose.zip.pth');
    try {
      await createOnnxNetwork(presetConfig('tiny_coco'), path);
      expect.fail('expected a mismatch error');
    } catch (err) {
      expect(err).to.be.instanceOf(StateDictMismatchError);
      expect((err as Error).message).to.include('final_layers.0.weight [28,8,1,1] (expected [34,8,1,1])');
    }
  });
  it('BAD CALL - a full-size configuration with a tiny checkpoint reports missing tensors', async () => {
    const path = join(fixturesRoot(), 'models', 'tiny_coco.zip.pth');
    try {
      await createOnnxNetwork(presetConfig('coco_w32_512'), path);
      expect.fail('expected a mismatch error');
    } catch (err) {
      expect(err).to.be.instanceOf(StateDictMismatchError);
      expect((err as StateDictMismatchError).shapeMismatches.length).to.be.greaterThan(100);
    }
  });
});

function maxAbsDifference(a: Float32Array, b: Float32Array): number {
  expect(a.length).to.equal(b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return Number.isNaN(max) ? Infinity : max;
}
