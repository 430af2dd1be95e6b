import { expect } from 'chai';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync, existsSync, readFileSync, readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { checkEstimatorOptions, createEstimator, testSettings, type HigherHRNetEstimator } from '../src/estimator.js';
import { ConfigError, type ExperimentConfig } from '../src/config/experiment.js';
import { CheckpointError, loadStateDict, StateDictMismatchError } from '../src/checkpoint/index.js';
import { isPresetName, presetConfig, PRESET_NAMES } from '../src/config/presets.js';
import { buildNetworkGraph } from '../src/higher/network.js';
import { randomWeights } from '../src/model/weights.js';
import { compileModel, createNetwork, createOnnxNetwork } from '../src/model/load.js';
import { intAttr, node, onnx } from '../src/backend/onnx/proto.js';
import { BackendError } from '../src/backend/onnx/session.js';
import { ImageError, readImage } from '../src/io/image.js';
import { VideoError } from '../src/video/decode.js';
import { PreprocessError } from '../src/preprocess/index.js';
import { DecodeError } from '../src/aggregate/errors.js';
import { DEMO_IMAGE, TINY_COCO_CHECKPOINT } from '../src/paths.js';
import type { ImageInput, Person, RgbImage } from '../src/types.js';
import { isCollected } from './helpers/gc.js';
import { cli, cliFailing, cliReporting, expectRejection, expectUsageError } from './helpers/cli.js';
import { readNpy } from '../src/io/npy.js';
import { otherRealmController, polyfillController, type ForeignController } from './helpers/foreign-signals.js';
import { buildProgram } from '../src/cli/main.js';
import { PredictError, runPredict } from '../src/cli/commands/predict.js';
import { CallbackError } from '../src/callback-error.js';
import { runBenchmark } from '../src/eval/benchmark.js';

describe('estimator API with the bundled tiny model', () => {
  let estimator: HigherHRNetEstimator;
  let dir: string;
  before(async () => {
    estimator = await createEstimator({ preset: 'tiny_coco' as const, weights: TINY_COCO_CHECKPOINT(), inputSize: 256 });
    dir = mkdtempSync(join(tmpdir(), 'higher-pose-api-'));
  });
  after(async () => {
    await estimator.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('finds people with named keypoints inside the image, best first', async () => {
    const people = await estimator.estimatePoses(DEMO_IMAGE());
    expect(people.length).to.be.within(1, 30);
    expect(people[0].keypoints.map((k) => k.name)).to.deep.equal([...estimator.keypoints.names]);
    for (let i = 1; i < people.length; i++) expect(people[i - 1].score).to.be.at.least(people[i].score);
    for (const k of people.flatMap((p) => p.keypoints)) {
      expect(k.x).to.be.within(-100, 740);
      expect(k.y).to.be.within(-100, 580);
    }
  });

  it('accepts a path, encoded bytes and RGB pixels alike', async () => {
    const bytes = readFileSync(DEMO_IMAGE());
    const { data, info } = await sharp(bytes).raw().toBuffer({ resolveWithObject: true });
    const fromPath = await estimator.estimatePoses(DEMO_IMAGE());
    expect(await estimator.estimatePoses(bytes)).to.deep.equal(fromPath);
    expect(await estimator.estimatePoses({ data: new Uint8Array(data), width: info.width, height: info.height })).to.deep.equal(fromPath);
  });

  it('takes RGBA pixels (an ImageData, sharp\'s ensureAlpha().raw()) and gray ones, as their PNG files decode: alpha dropped, gray replicated', async () => {
    const { data: rgb, info } = await sharp(DEMO_IMAGE()).raw().toBuffer({ resolveWithObject: true });
    const { width, height } = info;
    const ofRgb = await estimator.estimatePoses({ data: new Uint8Array(rgb), width, height });
    // An ImageData's layout, with an alpha that varies (0 included): dropped, not composited, as IMREAD_COLOR does.
    const rgba = new Uint8ClampedArray(width * height * 4);
    for (let i = 0; i < width * height; i++) rgba.set([rgb[i * 3]!, rgb[i * 3 + 1]!, rgb[i * 3 + 2]!, (i * 7) & 255], i * 4);
    const imageData = { data: rgba, width, height };
    expect(await estimator.estimatePoses(imageData)).to.deep.equal(ofRgb);
    // The same pixels as a PNG with alpha: the file, and sharp's raw output of it given as it comes ({ data, ...info }, channels 4).
    const alphaPng = join(dir, 'alpha.png');
    await sharp(rgba, { raw: { width, height, channels: 4 } }).png().toFile(alphaPng);
    expect(await estimator.estimatePoses(alphaPng)).to.deep.equal(ofRgb);
    const raw = await sharp(alphaPng).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
    expect(raw.info.channels).to.equal(4);
    expect(await estimator.estimatePoses({ data: raw.data, ...raw.info })).to.deep.equal(ofRgb);
    // Gray (sharp's raw output of a gray PNG kept gray: channels 1), replicated to RGB as the file's pixels are.
    const grayPng = join(dir, 'gray.png');
    await sharp(DEMO_IMAGE()).toColourspace('b-w').png().toFile(grayPng);
    const gray = await sharp(grayPng).toColourspace('b-w').raw().toBuffer({ resolveWithObject: true });
    expect(gray.info.channels).to.equal(1);
    const ofGrayFile = await estimator.estimatePoses(grayPng);
    expect(ofGrayFile).to.not.deep.equal(ofRgb);
    expect(await estimator.estimatePoses({ data: gray.data, ...gray.info })).to.deep.equal(ofGrayFile);
    expect(await estimator.estimatePoses({ data: gray.data, width, height })).to.deep.equal(ofGrayFile);
    // A call waiting its turn (one slot) reads its RGBA pixels before it returns, as RGB ones.
    const frame = { data: rgba.slice(), width, height };
    const calls = [estimator.estimatePoses(imageData), estimator.estimatePoses(frame)];
    frame.data.fill(0);
    expect(await Promise.all(calls)).to.deep.equal([ofRgb, ofRgb]);
  });

  it('takes an ImageData whose data, width and height are getters of its class (as a canvas\'s), in a call waiting its turn too', async () => {
    const { data: rgb, info } = await sharp(DEMO_IMAGE()).raw().toBuffer({ resolveWithObject: true });
    const { width, height } = info;
    const ofRgb = await estimator.estimatePoses({ data: new Uint8Array(rgb), width, height });
    const rgba = new Uint8ClampedArray(width * height * 4);
    for (let i = 0; i < width * height; i++) rgba.set([rgb[i * 3]!, rgb[i * 3 + 1]!, rgb[i * 3 + 2]!, 255], i * 4);
    // node-canvas and @napi-rs/canvas define these on the prototype: an object spread has none of them.
    class CanvasImageData {
      readonly #data = rgba;
      get data(): Uint8ClampedArray { return this.#data; }
      get width(): number { return width; }
      get height(): number { return height; }
    }
    const imageData = new CanvasImageData();
    expect(Object.keys({ ...imageData })).to.deep.equal([]);
    // One slot: the second call waits its turn, with its pixels copied.
    expect(await Promise.all([estimator.estimatePoses(imageData), estimator.estimatePoses(imageData)])).to.deep.equal([ofRgb, ofRgb]);
  });

  it("takes a checkpoint's or an ONNX model's bytes for weights, told apart by content, as the files would run (eval gives a piped --weights so)", async () => {
    const fromPath = await estimator.estimatePoses(DEMO_IMAGE());
    const config = presetConfig('tiny_coco');
    for (const weights of [readFileSync(TINY_COCO_CHECKPOINT()), compileModel(config, TINY_COCO_CHECKPOINT())]) {
      const fromBytes = await createEstimator({ preset: 'tiny_coco', weights, inputSize: 256 });
      try {
        expect(await fromBytes.estimatePoses(DEMO_IMAGE())).to.deep.equal(fromPath);
      } finally {
        await fromBytes.dispose();
      }
    }
    // Neither: said as of a checkpoint file.
    await expectRejection(createEstimator({ preset: 'tiny_coco', weights: new Uint8Array([1, 2, 3]) }), CheckpointError, /^<checkpoint bytes>: not a PyTorch checkpoint/);
  });

  it("keeps no weights given as bytes once made: a 250 MB checkpoint's or model's bytes are freed when the caller lets them go", async () => {
    const config = presetConfig('tiny_coco');
    // The bytes are held in this call only, as a caller that read them for the estimator holds them.
    const made = async (weights: Uint8Array) => ({ made: await createEstimator({ preset: 'tiny_coco', weights, inputSize: 256 }), given: new WeakRef(weights) });
    for (const read of [() => readFileSync(TINY_COCO_CHECKPOINT()), () => compileModel(config, TINY_COCO_CHECKPOINT())]) {
      const { made: fromBytes, given } = await made(read());
      try {
        expect(await isCollected(given)).to.equal(true);
        expect((await fromBytes.estimatePoses(DEMO_IMAGE())).length).to.be.greaterThan(0);
      } finally {
        await fromBytes.dispose();
      }
    }
  });

  it('reads the pixels or bytes of a call before it returns: a caller may reuse its frame buffer at once, queued calls too', async () => {
    const { data, info } = await sharp(DEMO_IMAGE()).raw().toBuffer({ resolveWithObject: true });
    const photo = new Uint8Array(data);
    const other = photo.map((v, i) => (v + i) & 255);
    const ofPhoto = await estimator.estimatePoses(DEMO_IMAGE());
    const ofOther = await estimator.estimatePoses({ data: other, width: info.width, height: info.height });
    expect(ofOther, 'the two pictures give different people').to.not.deep.equal(ofPhoto);
    // One frame buffer, refilled after each call as a video loop does; one slot, so the second and third calls wait.
    const frame = { data: photo.slice(), width: info.width, height: info.height };
    const calls = [estimator.estimatePoses(frame)];
    frame.data.set(other);
    calls.push(estimator.estimatePoses(frame));
    frame.data.set(photo);
    calls.push(estimator.estimatePoses(frame));
    frame.data.fill(0);
    expect(await Promise.all(calls)).to.deep.equal([ofPhoto, ofOther, ofPhoto]);
    // Encoded bytes too: sharp decodes them later, on its own thread.
    const bytes = readFileSync(DEMO_IMAGE());
    const pending = estimator.estimatePoses(bytes);
    bytes.fill(0);
    expect(await pending).to.deep.equal(ofPhoto);
  });

  it('BAD CALL - sharp\'s { data, info } waiting its turn is told how to pass it, as one given at once is', async () => {
    const { data, info } = await sharp(DEMO_IMAGE()).raw().toBuffer({ resolveWithObject: true });
    // The one slot is busy: the second call's pixels are copied for its turn.
    const busy = estimator.estimatePoses(DEMO_IMAGE());
    const queued = estimator.estimatePoses({ data, info } as unknown as RgbImage);
    await busy;
    await expectRejection(queued, ImageError, /sharp's \{ data, info \}\? pass \{ data, \.\.\.info \}$/);
  });

  it('estimates several images two at a time as one at a time, and stops at a failed one as one at a time does', async () => {
    const twoAtOnce = await createEstimator({ preset: 'tiny_coco' as const, weights: TINY_COCO_CHECKPOINT(), inputSize: 256, imagesInFlight: 2 });
    try {
      expect(twoAtOnce.imagesInFlight).to.equal(2);
      expect(estimator.imagesInFlight, 'the default on the CPU').to.equal(1);
      const { data, info } = await sharp(DEMO_IMAGE()).flop().raw().toBuffer({ resolveWithObject: true });
      const mirrored = { data: new Uint8Array(data), width: info.width, height: info.height };
      const images = [DEMO_IMAGE(), mirrored, DEMO_IMAGE(), mirrored];
      const one = await Promise.all(images.map((image) => estimator.estimatePoses(image)));
      expect(one[1]).to.not.deep.equal(one[0]);
      expect(await twoAtOnce.estimatePoses(images)).to.deep.equal(one);
      const corrupt = new Uint8Array([0xff, 0xd8, 0xff, 1, 2, 3]);
      const tooSmall = { data: new Uint8Array(2 * 2 * 3), width: 2, height: 2 };
      // As one at a time: the corrupt image fails, and the one too small (a PreprocessError) is never started.
      await expectRejection(twoAtOnce.estimatePoses([DEMO_IMAGE(), corrupt, DEMO_IMAGE(), tooSmall]), ImageError, /./);
      await expectRejection(createEstimator({ preset: 'tiny_coco' as const, weights: TINY_COCO_CHECKPOINT(), imagesInFlight: 0 }), ConfigError, /imagesInFlight/);
    } finally {
      await twoAtOnce.dispose();
    }
  });

  it('BAD CALL - imagesInFlight past 64: a ConfigError naming the bound, not every image of an array or video started at once', async () => {
    // 1e9 started a whole array's images at once (each holding ~110 MB of buffers at input 512), and decoded a video's frames as fast as ffmpeg gave them.
    const options = { preset: 'tiny_coco' as const, weights: TINY_COCO_CHECKPOINT() };
    for (const imagesInFlight of [1e9, 65]) {
      await expectRejection(createEstimator({ ...options, imagesInFlight }), ConfigError, new RegExp(`^Invalid imagesInFlight: ${imagesInFlight}\\. Must be an integer from 1 to 64 \\(images estimated at once`));
    }
    expect(checkEstimatorOptions({ ...options, imagesInFlight: 64 }).imagesInFlight).to.equal(64);
  });

  it('takes an image or an array typed as either, and a read-only array, giving the result the value holds', async () => {
    // These calls are the test: without the union and read-only overloads, `npm run typecheck` fails on them.
    const forward = (input: ImageInput | ImageInput[]): Promise<Person[] | Person[][]> => estimator.estimatePoses(input);
    const paths: readonly string[] = [DEMO_IMAGE(), DEMO_IMAGE()];
    const one = await estimator.estimatePoses(DEMO_IMAGE());
    expect(await forward(DEMO_IMAGE())).to.deep.equal(one);
    expect(await forward([DEMO_IMAGE()])).to.deep.equal([one]);
    const both: Person[][] = await estimator.estimatePoses(paths);
    expect(both).to.deep.equal([one, one]);
  });

  it('maxPoses and minPoseScore keep the best people, each as an uncapped run gives it, on one thread and on two', async function () {
    this.timeout(120_000);
    const all = await estimator.estimatePoses(DEMO_IMAGE());
    expect(all.length, 'enough people to cut').to.be.at.least(6);
    const threshold = all[Math.floor(all.length / 2)].score;
    for (const parallelPostprocessing of [false, true]) {
      const options = { preset: 'tiny_coco' as const, weights: TINY_COCO_CHECKPOINT(), inputSize: 256, parallelPostprocessing };
      for (const [selection, expected] of [
        [{ maxPoses: 3 }, all.slice(0, 3)],
        [{ minPoseScore: threshold }, all.filter((p) => p.score >= threshold)],
        [{ minPoseScore: threshold, maxPoses: 2 }, all.slice(0, 2)],
      ] as const) {
        const capped = await createEstimator({ ...options, ...selection });
        try {
          expect(await capped.estimatePoses(DEMO_IMAGE()), `${JSON.stringify(selection)}, parallel ${parallelPostprocessing}`).to.deep.equal(expected);
        } finally {
          await capped.dispose();
        }
      }
    }
  });

  it('BAD CALL - corrupt image bytes give an ImageError', async () => {
    const err = await estimator.estimatePoses(new Uint8Array([0xff, 0xd8, 0xff, 1, 2, 3])).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(ImageError);
  });

  it('BAD CALL - an upload\'s base64 text given as a path is named by its start, not printed whole (a service logs the error)', async () => {
    // Was "<the whole base64 text>: cannot read the file (ENAMETOOLONG)", over 100 kB a message.
    const base64 = readFileSync(DEMO_IMAGE()).toString('base64');
    for (const images of [base64, [base64]]) {
      const err = (await estimator.estimatePoses(images).catch((e: unknown) => e)) as ImageError;
      expect(err).to.be.instanceOf(ImageError).and.have.property('code', 'missing');
      expect(err.message).to.equal(`${base64.slice(0, 40)}… (${base64.length} characters): no file path, too long for one; encoded bytes are passed as a Uint8Array or Buffer (base64 text: Buffer.from(text, 'base64'))`);
    }
  });

  it('BAD CALL - bytes or pixels transferred away (postMessage to a worker) are an ImageError saying so, given at once or waiting their turn, not a TypeError', async () => {
    // Was "TypeError: Cannot perform Construct on a detached ArrayBuffer", from copying them.
    const detached = (view: Uint8Array) => {
      structuredClone(view.buffer, { transfer: [view.buffer as ArrayBuffer] });
      return view;
    };
    const { data, info } = await sharp(DEMO_IMAGE()).raw().toBuffer({ resolveWithObject: true });
    const bytes = detached(new Uint8Array(readFileSync(DEMO_IMAGE())));
    const pixels = { data: detached(new Uint8Array(data)), width: info.width, height: info.height };
    const outcomes = await Promise.allSettled([DEMO_IMAGE(), bytes, pixels, bytes, pixels].map((image) => estimator.estimatePoses(image)));
    expect(outcomes[0].status).to.equal('fulfilled');
    for (const outcome of outcomes.slice(1)) {
      const reason = (outcome as PromiseRejectedResult).reason as ImageError;
      expect(reason).to.be.instanceOf(ImageError);
      expect(reason.message).to.match(/its ArrayBuffer was transferred \(postMessage or structuredClone with transfer\)/);
    }
  });

  it('BAD CALL - an image too small for the network gives a PreprocessError', async () => {
    const err = await estimator.estimatePoses({ data: new Uint8Array(2 * 2 * 3), width: 2, height: 2 }).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(PreprocessError);
    expect((err as Error).message).to.match(/too small/);
  });

  it('BAD CALL - errors about an image file name it, and Promise.allSettled goes on past bad images', async () => {
    const small = join(dir, 'two.png');
    await sharp({ create: { width: 2, height: 2, channels: 3, background: 'red' } }).png().toFile(small);
    const broken = join(dir, 'broken.jpg');
    writeFileSync(broken, 'not an image');
    const outcomes = await Promise.allSettled([DEMO_IMAGE(), small, broken, DEMO_IMAGE()].map((image) => estimator.estimatePoses(image)));
    expect(outcomes.map((o) => o.status)).to.deep.equal(['fulfilled', 'rejected', 'rejected', 'fulfilled']);
    const [, tooSmall, corrupt] = outcomes.map((o) => (o.status === 'rejected' ? (o.reason as Error) : undefined));
    expect(tooSmall).to.be.instanceOf(PreprocessError);
    expect(tooSmall!.message).to.equal(`${small}: image 2x2 is too small for the network (at least 4x4 pixels)`);
    expect(tooSmall!.stack).to.contain(tooSmall!.message);
    // A copy caused by the original, which stays as it was (one error may reach several images).
    expect(tooSmall!.cause).to.be.instanceOf(PreprocessError).and.have.property('message', 'image 2x2 is too small for the network (at least 4x4 pixels)');
    expect(corrupt).to.be.instanceOf(ImageError);
    expect(corrupt!.message.split(broken), 'named once').to.have.length(2);
    // In an array call, an image given as pixels or bytes is named by its place; a path by itself.
    const pixels = { data: new Uint8Array(10), width: 2, height: 2 };
    const inArray = (await estimator.estimatePoses([DEMO_IMAGE(), pixels]).catch((e: unknown) => e)) as Error;
    expect(inArray).to.be.instanceOf(ImageError).and.have.property('message', 'images[1]: RGB image: data holds 10 bytes; a 2x2 image needs 12 (RGB), 16 (RGBA) or 4 (gray)');
    const pathInArray = (await estimator.estimatePoses([DEMO_IMAGE(), broken]).catch((e: unknown) => e)) as Error;
    expect(pathInArray.message.startsWith(broken)).to.equal(true);
    // A hole (an array filled in part) is an image missing, as undefined would be, not a TypeError from inside.
    const holed = (await estimator.estimatePoses([DEMO_IMAGE(), , DEMO_IMAGE()] as string[]).catch((e: unknown) => e)) as Error;
    expect(holed).to.be.instanceOf(ImageError).and.have.property('message', 'images[1]: RGB image: expected a path, encoded bytes (a Uint8Array or Buffer), { data, width, height } or a TensorFlow.js tensor; got Undefined');

    // Outputs too large to average (weights that load, finite, but absurd): the DecodeError names the file too.
    const graph = buildNetworkGraph(presetConfig('tiny_coco').model);
    const weights = new Map(randomWeights(graph));
    const bias = weights.get('final_layers.0.bias')!;
    weights.set('final_layers.0.bias', { shape: bias.shape, data: bias.data.map(() => 1e30) });
    const broke = await createEstimator({ preset: 'tiny_coco', weights, inputSize: 256 });
    try {
      const huge = (await broke.estimatePoses(DEMO_IMAGE()).catch((e: unknown) => e)) as Error;
      expect(huge).to.be.instanceOf(DecodeError);
      expect(huge.message).to.match(/network output 0 at scale 1 holds 1\.0\d*e\+30 .*too large to be averaged/);
      expect(huge.message.startsWith(`${DEMO_IMAGE()}: `)).to.equal(true);
    } finally {
      await broke.dispose();
    }
  });

  it('BAD CALL - a misspelt preset does not compile in TypeScript, and is a ConfigError listing the presets in JavaScript', async () => {
    // @ts-expect-error: 'coco_w32_521' is no PresetName.
    await expectRejection(createEstimator({ preset: 'coco_w32_521', weights: TINY_COCO_CHECKPOINT() }), ConfigError, /^Unsupported preset: coco_w32_521\. Must be one of \[coco_w32_512, /);
  });

  it('isPresetName narrows a name read at run time to a PresetName', () => {
    const fromArgv: string = ['tiny_coco'][0]!;
    // @ts-expect-error: a string is no PresetName until checked.
    void (() => createEstimator({ preset: fromArgv, weights: 'w.pth' }));
    if (!isPresetName(fromArgv)) expect.fail('tiny_coco is a preset');
    void (() => createEstimator({ preset: fromArgv, weights: 'w.pth' }));
    expect(PRESET_NAMES.filter(isPresetName)).to.deep.equal([...PRESET_NAMES]);
    for (const name of ['coco_w32_521', 'TINY_COCO', '', 'toString', undefined, 512, null]) expect(isPresetName(name), String(name)).to.equal(false);
  });

  it('the configuration in effect says the inputSize and maxPeople given in its dataset part too, and makes the same estimator given back', () => {
    const options = { preset: 'tiny_coco', weights: TINY_COCO_CHECKPOINT(), inputSize: 256, maxPeople: 10 } as const;
    const { config } = checkEstimatorOptions(options);
    // Its dataset part said 512 and 30, and a copy of it given as a configuration was refused for disagreeing with its test settings.
    expect(config.dataset).to.deep.equal({ kind: 'coco', numJoints: 17, inputSize: 256, maxNumPeople: 10 });
    const again = checkEstimatorOptions({ config: structuredClone(config) as ExperimentConfig, weights: TINY_COCO_CHECKPOINT() }).config;
    expect(again).to.deep.equal(config);
  });

  it('takes an options object written as const, as README says: its arrays read-only', () => {
    // Compiling is the test: with scales and calibrationImages typed as mutable arrays, `npm run typecheck` fails on these calls.
    const options = { preset: 'tiny_coco', weights: TINY_COCO_CHECKPOINT(), inputSize: 256, scales: [1, 0.5], precision: 'int8', calibrationImages: [DEMO_IMAGE()] } as const;
    void (() => createEstimator(options));
    expect(checkEstimatorOptions(options).config.test.scaleFactor).to.deep.equal([1, 0.5]);
    expect(testSettings(presetConfig('tiny_coco'), options).scaleFactor).to.deep.equal([1, 0.5]);
    // So for createOnnxNetwork's session options: executionProviders typed as a mutable array failed to compile here.
    const sessionOptions = { executionProviders: ['cpu'], intraOpNumThreads: 1 } as const;
    void (() => createOnnxNetwork(presetConfig('tiny_coco'), TINY_COCO_CHECKPOINT(), sessionOptions));
  });

  it('BAD CALL - options out of range name the field', async () => {
    const base = { preset: 'tiny_coco' as const, weights: TINY_COCO_CHECKPOINT() };
    await expectRejection(createEstimator({ ...base, scales: [] }), ConfigError, /scales/);
    await expectRejection(createEstimator({ ...base, inputSize: 300 }), ConfigError, /inputSize: 300\. Must be a positive multiple of 64/);
    for (const inputSize of [0, -64]) await expectRejection(createEstimator({ ...base, inputSize }), ConfigError, new RegExp(`inputSize: ${inputSize}\\. Must be a positive multiple of 64`));
    await expectRejection(createEstimator({ ...base, maxPeople: 0 }), ConfigError, /maxPeople/);
    // More candidates per joint than a square image's maps have positions: every such image would fail.
    await expectRejection(createEstimator({ ...base, inputSize: 256, maxPeople: 65537 }), ConfigError, /^Invalid maxPeople: 65537\. Must be at most 65536, the heatmap positions of a square image at inputSize 256/);
    await expectRejection(createEstimator({ ...base, maxPeople: 1e9 }), ConfigError, /^Invalid maxPeople: 1000000000\. Must be at most 262144/);
    await expectRejection(createEstimator({ ...base, maxPoses: 0 }), ConfigError, /Invalid maxPoses: 0\. Must be a positive integer/);
    await expectRejection(createEstimator({ ...base, maxPoses: 2.5 }), ConfigError, /Invalid maxPoses: 2\.5\. Must be a positive integer/);
    await expectRejection(createEstimator({ ...base, minPoseScore: NaN }), ConfigError, /Invalid minPoseScore: NaN\. Must be a finite number/);
    await expectRejection(createEstimator({ ...base, backend: 'torch' as 'onnxruntime' }), ConfigError, /Unsupported backend: torch/);
    await expectRejection(createEstimator({ preset: 'tiny_coco' } as never), ConfigError, /weights is required/);
    await expectRejection(createEstimator({ ...base, scales: '1' as unknown as number[] }), ConfigError, /Invalid scales: "1"\. Must be a non-empty list of positive numbers/);
    await expectRejection(createEstimator({ ...base, refine: 'false' as unknown as boolean }), ConfigError, /Invalid refine: "false"\. Must be true or false/);
    await expectRejection(createEstimator({ ...base, flipBatch: 0 as unknown as boolean }), ConfigError, /Invalid flipBatch: 0\. Must be true or false/);
    await expectRejection(createEstimator({ ...base, tfjsBackend: 'cpu' }), ConfigError, /tfjsBackend 'cpu' picks a TensorFlow\.js backend: give backend 'tfjs' or backend 'auto' too$/);
    for (const threads of [-1, 1.5, 100000]) {
      // Not a BackendError: 'auto' would have fallen back to TensorFlow.js.
      await expectRejection(createEstimator({ ...base, threads, backend: 'auto' }), ConfigError, /Invalid threads: .*\. Must be an integer from 1 to 1024/);
    }
    await expectRejection(createEstimator({ ...base, scales: [2, 0.5] }), ConfigError, /Invalid scales: \[2,0\.5\]\. Must be a list holding 1 when it has several scales/);
    // Every image used to fail in the aggregation instead (a DecodeError on the base size).
    await expectRejection(createEstimator({ ...base, scales: [0.5] }), ConfigError, /^Invalid scales: \[0\.5\]\. Must be a list whose largest scale is at least 1 when the maps are projected to the input \(TEST\.PROJECT2IMAGE\); for a smaller network input, give a smaller inputSize/);
    // Sides that are not multiples of 32 would fail inside the network, image by image.
    await expectRejection(createEstimator({ ...base, scales: [0.75, 1] }), ConfigError, /Invalid scales: \[0\.75,1\]\. Must be scales that keep every network input side a multiple of 32/);
    await expectRejection(createEstimator({ ...base, scales: [1, 0.3] }), ConfigError, /Invalid scales: \[1,0\.3\]/);
  });

  it('BAD CALL - a misspelt option, options of the wrong kind and an input size no image could run at are refused when the estimator is made', async () => {
    const base = { preset: 'tiny_coco' as const, weights: TINY_COCO_CHECKPOINT() };
    // Ignored, a typo would give every person, or the default threshold, without a word.
    await expectRejection(createEstimator({ ...base, maxPose: 3 } as never), ConfigError, /^createEstimator: unknown option maxPose; its options are preset, config, weights, .*maxPoses/);
    await expectRejection(createEstimator({ ...base, flip: false, detection_threshold: 0.5 } as never), ConfigError, /^createEstimator: unknown options flip, detection_threshold; /);
    await expectRejection(createEstimator(undefined as never), ConfigError, /createEstimator needs options/);
    await expectRejection(createEstimator({ ...base, weights: 42 as never }), ConfigError, /^Invalid weights, of type Number: must be a checkpoint or \.onnx path, or weights in a Map/);
    await expectRejection(createEstimator({ ...base, weights: readFileSync(TINY_COCO_CHECKPOINT()).buffer as never }), ConfigError, /^Invalid weights, of type ArrayBuffer: .* \(new Uint8Array\(buffer\) views an ArrayBuffer\)$/);
    await expectRejection(createEstimator({ ...base, weights: '' }), ConfigError, /weights is required/);
    // Else a TypeError after the first image had been estimated.
    await expectRejection(createEstimator({ ...base, onStageTimes: 'log' as never }), ConfigError, /^Invalid onStageTimes: "log"\. Must be a function/);
    // A float model would have been made without a word; a string is no list of images.
    await expectRejection(createEstimator({ ...base, calibrationImages: [DEMO_IMAGE()] }), ConfigError, /^calibrationImages is for calibrating an int8 model: add precision 'int8', or leave it out for float32$/);
    await expectRejection(createEstimator({ ...base, precision: 'int8', calibrationImages: DEMO_IMAGE() as never }), ConfigError, /^Invalid calibrationImages: ".*sample\.jpg"\. Must be a list of images/);
    // Else every image would fail, one by one, blaming its aspect ratio.
    await expectRejection(createEstimator({ ...base, inputSize: 4160 }), ConfigError, /^Invalid inputSize: 4160 with scales \[1\]: even a square image would need a 4160x4160 network input at scale 1, over the 16777216 pixels/);
    await expectRejection(createEstimator({ ...base, inputSize: 512, scales: [16, 1] }), ConfigError, /^Invalid inputSize: 512 with scales \[16, 1\]: even a square image would need a 8192x8192 network input at scale 16/);
  });

  it('BAD CALL - a configuration whose test settings the reference could not run is refused when the estimator is made, not image by image', async () => {
    const tiny = presetConfig('tiny_coco');
    const weights = randomWeights(buildNetworkGraph(tiny.model));
    const withTest = (test: Partial<typeof tiny.test>) => createEstimator({ config: { ...tiny, test: { ...tiny.test, ...test } }, weights });
    // Named as the configuration's field (its YAML key, as a file's), not as an option never given ('Invalid nmsKernel: 4').
    await expectRejection(withTest({ nmsKernel: 4 }), ConfigError, /^configuration object: TEST\.NMS_KERNEL must be 2 \* nmsPadding \+ 1 = 5 \(TEST\.NMS_KERNEL and TEST\.NMS_PADDING\).*, got 4$/);
    await expectRejection(withTest({ withHeatmaps: [false, false] }), ConfigError, /^configuration object: TEST\.WITH_HEATMAPS must be a list selecting at least one network output/);
    await expectRejection(withTest({ inputSize: 500 }), ConfigError, /^configuration object: DATASET\.INPUT_SIZE must be a positive multiple of 64, got 500$/);
    // The option keeps its own words.
    await expectRejection(createEstimator({ config: tiny, weights, inputSize: 500 }), ConfigError, /^Invalid inputSize: 500\. Must be a positive multiple of 64$/);
    await expectRejection(withTest({ withAe: [false, true] }), ConfigError, /^No network output gives the tag maps that group joints into people/);
  });

  it('dispose waits for the estimates running, refuses later ones and can be called again', async () => {
    const own = await createEstimator({ preset: 'tiny_coco' as const, weights: TINY_COCO_CHECKPOINT(), inputSize: 256 });
    const running = own.estimatePoses(DEMO_IMAGE());
    await own.dispose();
    expect(await running).to.deep.equal(await estimator.estimatePoses(DEMO_IMAGE()));
    await expectRejection(own.estimatePoses(DEMO_IMAGE()), BackendError, /the estimator has been disposed/);
    expect(() => own.processVideo(DEMO_IMAGE())).to.throw(BackendError, /^processVideo: the estimator has been disposed; create another one$/);
    await own.dispose();
  });

  it('BAD CALL - processVideo options that are no object, or a misspelt one, are a VideoError before the video is read, as estimatePoses refuses its own', async () => {
    for (const [options, message] of [[null, /^processVideo: options must be an object/], [{ evry: 2 }, /^processVideo: unknown option evry; /]] as const) {
      const run = estimator.processVideo(join(dir, 'no-such-clip.mp4'), options as never);
      const error = await (async () => {
        for await (const frame of run) expect.fail(`frame ${frame.frame}`);
      })().then(() => expect.fail('the run ended'), (e: unknown) => e);
      expect(error).to.be.instanceOf(VideoError).and.have.property('message').that.matches(message);
    }
  });

  describe('cancelling with an AbortSignal', () => {
    /** The error a call rejected with (fails when it resolved). */
    const rejection = (call: Promise<unknown>) => call.then(() => expect.fail('the call resolved'), (error: unknown) => error);
    const expectAbortError = async (call: Promise<unknown>) => {
      const error = await rejection(call);
      expect(error).to.be.instanceOf(DOMException);
      expect((error as DOMException).name).to.equal('AbortError');
    };
    let expected: Person[];
    before(async () => {
      expected = await estimator.estimatePoses(DEMO_IMAGE());
    });

    it('a call whose signal is already aborted rejects with its reason, an AbortError by default, and starts nothing', async () => {
      await expectAbortError(estimator.estimatePoses(DEMO_IMAGE(), { signal: AbortSignal.abort() }));
      const reason = new Error('the user left');
      expect(await rejection(estimator.estimatePoses(readFileSync(DEMO_IMAGE()), { signal: AbortSignal.abort(reason) })), 'the reason itself, not a copy naming the image').to.equal(reason);
      await expectAbortError(estimator.estimatePoses([DEMO_IMAGE(), DEMO_IMAGE()], { signal: AbortSignal.abort() }));
      expect(await estimator.estimatePoses(DEMO_IMAGE(), { signal: new AbortController().signal })).to.deep.equal(expected);
    });

    it('a call waiting its turn leaves the queue when aborted, and the calls behind it still run', async () => {
      const controller = new AbortController();
      const settled: string[] = [];
      // One slot: the second call waits for the first, the third for both.
      const busy = estimator.estimatePoses(DEMO_IMAGE()).finally(() => settled.push('busy'));
      const waiting = estimator.estimatePoses(DEMO_IMAGE(), { signal: controller.signal }).finally(() => settled.push('waiting'));
      const behind = estimator.estimatePoses(DEMO_IMAGE());
      controller.abort();
      await expectAbortError(waiting);
      expect(settled, 'rejected at once, not after the running call').to.deep.equal(['waiting']);
      expect(await busy).to.deep.equal(expected);
      expect(await behind).to.deep.equal(expected);
    });

    it('a call aborted while it runs rejects after the stage in progress (the network is not interrupted), before grouping; the estimator goes on as before', async () => {
      const { data, info } = await sharp(DEMO_IMAGE()).raw().toBuffer({ resolveWithObject: true });
      const pixels = { data: new Uint8Array(data), width: info.width, height: info.height };
      for (const image of [DEMO_IMAGE(), pixels]) {
        const controller = new AbortController();
        // Pixels are prepared before the call returns: it is in the network now (a path: reading).
        const running = estimator.estimatePoses(image, { signal: controller.signal });
        controller.abort();
        await expectAbortError(running);
        expect(await estimator.estimatePoses(image)).to.deep.equal(expected);
      }
    });

    it('an array call aborted between its images rejects with the reason as it is, and starts no image after', async () => {
      const controller = new AbortController();
      let estimated = 0;
      const own = await createEstimator({ preset: 'tiny_coco' as const, weights: TINY_COCO_CHECKPOINT(), inputSize: 256, onStageTimes: () => {
        if (++estimated === 1) controller.abort(new Error('enough'));
      } });
      try {
        const error = await rejection(own.estimatePoses([DEMO_IMAGE(), readFileSync(DEMO_IMAGE()), DEMO_IMAGE()], { signal: controller.signal }));
        expect((error as Error).message, 'the reason as it is, not named images[1]').to.equal('enough');
        expect(estimated, 'no image after the abort').to.equal(1);
        expect(await own.estimatePoses([DEMO_IMAGE(), DEMO_IMAGE()])).to.deep.equal([expected, expected]);
      } finally {
        await own.dispose();
      }
    });

    for (const [kind, controllerOf] of [['another realm\'s signal', otherRealmController], ['a polyfill\'s signal (no reason, no throwIfAborted)', polyfillController]] as const) {
      it(`takes ${kind} as Node's: aborted before the call, while waiting its turn or while running, with one listener however many calls wait`, async () => {
        /** Rejected with the signal's reason as it is, or Node's AbortError when it has none. */
        const expectAbortedBy = async (call: Promise<unknown>, controller: ForeignController) => {
          if (!('reason' in controller.signal)) return expectAbortError(call);
          expect(await rejection(call)).to.equal(controller.signal.reason);
        };
        expect(await estimator.estimatePoses(DEMO_IMAGE(), { signal: controllerOf().signal })).to.deep.equal(expected);

        const before = controllerOf();
        before.abort();
        await expectAbortedBy(estimator.estimatePoses(DEMO_IMAGE(), { signal: before.signal }), before);
        await expectAbortedBy(estimator.estimatePoses([DEMO_IMAGE()], { signal: before.signal }), before);

        const queued = controllerOf();
        const settled: string[] = [];
        const busy = estimator.estimatePoses(DEMO_IMAGE()).finally(() => settled.push('busy'));
        const waiting = [1, 2].map((n) => estimator.estimatePoses(DEMO_IMAGE(), { signal: queued.signal }).finally(() => settled.push(`waiting ${n}`)));
        const behind = estimator.estimatePoses(DEMO_IMAGE());
        expect(queued.listeners(), 'one listener for the two calls').to.equal(1);
        queued.abort();
        for (const call of waiting) await expectAbortedBy(call, queued);
        expect(settled, 'rejected at once, not after the running call').to.deep.equal(['waiting 1', 'waiting 2']);
        expect(queued.listeners(), 'none left once aborted').to.equal(0);
        expect(await busy).to.deep.equal(expected);
        expect(await behind).to.deep.equal(expected);

        const { data, info } = await sharp(DEMO_IMAGE()).raw().toBuffer({ resolveWithObject: true });
        const running = controllerOf();
        // Pixels are prepared before the call returns: it is in the network now.
        const call = estimator.estimatePoses({ data: new Uint8Array(data), width: info.width, height: info.height }, { signal: running.signal });
        running.abort();
        await expectAbortedBy(call, running);
        expect(await estimator.estimatePoses(DEMO_IMAGE())).to.deep.equal(expected);
      });
    }

    it('BAD CALL - a signal that is no AbortSignal, or an option estimatePoses does not have, is a ConfigError', async () => {
      await expectRejection(estimator.estimatePoses(DEMO_IMAGE(), { signal: 'stop' as never }), ConfigError, /^Invalid signal: "stop"\. Must be an AbortSignal/);
      await expectRejection(estimator.estimatePoses(DEMO_IMAGE(), { signal: {} as never }), ConfigError, /^Invalid signal: \{\}\. Must be an AbortSignal/);
      for (const controller of [new AbortController(), polyfillController()]) {
        await expectRejection(estimator.estimatePoses(DEMO_IMAGE(), { signal: controller as never }), ConfigError, /^Invalid signal: an AbortController \(pass its \.signal\)\. Must be an AbortSignal/);
      }
      // pose-detection's per-call options are createEstimator's here: ignored, they would change nothing without a word.
      await expectRejection(estimator.estimatePoses(DEMO_IMAGE(), { maxPoses: 3 } as never), ConfigError, /^estimatePoses: unknown option maxPoses; its options are signal \(the model's options are createEstimator's\)$/);
      await expectRejection(estimator.estimatePoses(DEMO_IMAGE(), 5 as never), ConfigError, /^estimatePoses: options must be an object with any of signal; got 5 /);
    });
  });

  it('BAD CALL - testSettings\' result keeps no list of the caller\'s: scales or a configuration changed afterwards leave the settings as checked', () => {
    const config = presetConfig('tiny_coco');
    const scales = [1, 0.5];
    const settings = testSettings(config, { scales });
    // 0.7 breaks the network's stride: decodePoses would have been given settings testSettings refuses.
    scales.push(0.7);
    // Its lists are typed read-only; JavaScript callers can change them all the same.
    (config.test.scaleFactor as number[]).push(0.7);
    (config.test.withHeatmaps as boolean[]).fill(false);
    (config.test.withAe as boolean[]).fill(false);
    expect(settings.scaleFactor).to.deep.equal([1, 0.5]);
    expect(settings.withHeatmaps).to.deep.equal(presetConfig('tiny_coco').test.withHeatmaps);
    expect(settings.withAe).to.deep.equal(presetConfig('tiny_coco').test.withAe);
    expect(testSettings(presetConfig('tiny_coco'), {}).scaleFactor).to.deep.equal([1]);
  });

  it('BAD CALL - the low-level builders given the wrong configuration, a broken one or weights of the wrong kind: a ConfigError naming the argument, not a TypeError from inside', async () => {
    const tiny = presetConfig('tiny_coco');
    const weights = TINY_COCO_CHECKPOINT();
    const js = <T>(value: unknown) => value as T;
    // The whole configuration for its model, a preset's name, nothing: TypeErrors from inside the backbone before.
    expect(() => buildNetworkGraph(js(tiny))).to.throw(ConfigError, /^buildNetworkGraph: model must be the network configuration, config\.model, not the whole experiment configuration$/);
    expect(() => buildNetworkGraph(js('tiny_coco'))).to.throw(ConfigError, /^buildNetworkGraph: model must be a network configuration \(config\.model\), got the string "tiny_coco": presetConfig\(name\)\.model is a preset's/);
    expect(() => buildNetworkGraph(js(undefined))).to.throw(ConfigError, /^buildNetworkGraph: model must be a network configuration \(config\.model\), got Undefined/);
    // NaN or -3 joints built a graph of NaN or negative channels without a word.
    for (const numJoints of [NaN, -3, 1.5]) {
      expect(() => buildNetworkGraph({ ...tiny.model, numJoints }), String(numJoints)).to.throw(ConfigError, new RegExp(`^buildNetworkGraph: model object: MODEL\\.NUM_JOINTS must be an integer >= 1, got ${numJoints}$`));
    }
    expect(() => buildNetworkGraph({ ...tiny.model, stages: tiny.model.stages.slice(1) })).to.throw(ConfigError, /^buildNetworkGraph: model object: MODEL\.EXTRA\.STAGE4\.NUM_BRANCHES must be an integer >= 1, got undefined$/);
    // The model part for the whole configuration, or a preset's name.
    expect(() => compileModel(js(tiny.model), weights)).to.throw(ConfigError, /^compileModel: config must be the whole experiment configuration \{ model, dataset, test \}, got its model part \(config\.model\): give config itself$/);
    expect(() => compileModel(js('tiny_coco'), weights)).to.throw(ConfigError, /^compileModel: config must be an experiment configuration \{ model, dataset, test \}, got the string "tiny_coco": presetConfig\(name\) is a preset's/);
    expect(() => compileModel({ ...tiny, model: { ...tiny.model, deconv: js(undefined) } }, weights)).to.throw(ConfigError, /^compileModel: configuration object: MODEL\.EXTRA\.DECONV\.NUM_DECONVS must be an integer >= 0, got undefined$/);
    // 'sd.has is not a function' before.
    for (const given of [42, {}, undefined]) {
      expect(() => compileModel(tiny, js(given)), String(given)).to.throw(ConfigError, /^Invalid weights, of type (Number|Object|Undefined): must be a checkpoint or \.onnx path, or weights in a Map/);
    }
    await expectRejection(createNetwork(js(tiny.model), weights), ConfigError, /^createNetwork: config must be the whole experiment configuration/);
    await expectRejection(createOnnxNetwork(js('tiny_coco'), weights), ConfigError, /^createOnnxNetwork: config must be an experiment configuration/);
    await expectRejection(createOnnxNetwork(tiny, js(readFileSync(weights).buffer)), ConfigError, /^Invalid weights, of type ArrayBuffer: /);
    // 'graph.parameters is not iterable' before.
    expect(() => randomWeights(js(tiny))).to.throw(ConfigError, /^randomWeights: graph must be a layer graph \(buildNetworkGraph\(config\.model\) builds one\), got Object$/);
    // testSettings: its options left out (a TypeError before), a misspelt one (ignored before), the model part.
    expect(testSettings(js(tiny)).scaleFactor).to.deep.equal(tiny.test.scaleFactor);
    expect(() => testSettings(tiny, js({ maxPose: 3 }))).to.throw(ConfigError, /^testSettings: unknown option maxPose; its options are preset, config, weights, /);
    expect(() => testSettings(tiny, js('flip'))).to.throw(ConfigError, /^testSettings: options must be an object such as \{ flipTest, scales \}, not "flip"$/);
    expect(() => testSettings(js(tiny.model), {})).to.throw(ConfigError, /^testSettings: config must be the whole experiment configuration/);
    expect(() => testSettings({ ...tiny, test: { ...tiny.test, flipTest: js('yes') } }, {})).to.throw(ConfigError, /^testSettings: configuration object: TEST\.FLIP_TEST must be true or false, got "yes"$/);
  });

  it('BAD CALL - maxPixels bounds what one image may cost: a path, bytes or pixels over it are an ImageError before decoding; a bound that is no positive integer is refused', async () => {
    // The demo image is 640x480 (307200 pixels).
    const bounded = await createEstimator({ preset: 'tiny_coco', weights: TINY_COCO_CHECKPOINT(), inputSize: 256, maxPixels: 640 * 480 - 1 });
    try {
      // Told to the readers of images and video frames of their own (predict, processVideo).
      expect([bounded.maxPixels, estimator.maxPixels]).to.deep.equal([640 * 480 - 1, undefined]);
      const over = /image is 640x480, over the limit of 307199 pixels$/;
      for (const image of [DEMO_IMAGE(), readFileSync(DEMO_IMAGE()), await readImage(DEMO_IMAGE())]) {
        const error = await bounded.estimatePoses(image).then(() => undefined, (e: unknown) => e);
        expect(error).to.be.instanceOf(ImageError);
        expect((error as ImageError).code).to.equal('dimensions');
        expect((error as Error).message).to.match(over);
      }
      // Under the bound, as any estimator.
      const small = await readImage(DEMO_IMAGE(), { maxPixels: 640 * 480 });
      const half = { data: small.data.subarray(0, 640 * 240 * 3), width: 640, height: 240 };
      expect(await bounded.estimatePoses(half)).to.deep.equal(await estimator.estimatePoses(half));
    } finally {
      await bounded.dispose();
    }
    for (const maxPixels of [0, 1.5, '100', NaN]) {
      await expectRejection(createEstimator({ preset: 'tiny_coco', weights: TINY_COCO_CHECKPOINT(), maxPixels: maxPixels as number }), ConfigError, /maxPixels/);
    }
  });

  it('BAD CALL - the settings in effect cannot change under the estimator, unchecked: its config is frozen, and the scales array given is copied', async () => {
    const scales = [1];
    const own = await createEstimator({ preset: 'tiny_coco' as const, weights: TINY_COCO_CHECKPOINT(), inputSize: 256, scales });
    try {
      // An input size no network input can have, and a scale that breaks the network's stride.
      // Refused by TypeScript too (npm run typecheck fails if it takes them): the configuration is typed read-only to its lists.
      // @ts-expect-error: inputSize is read-only
      expect(() => { own.config.test.inputSize = 100; }).to.throw(TypeError);
      // @ts-expect-error: scaleFactor is a read-only list
      expect(() => { own.config.test.scaleFactor.push(0.7); }).to.throw(TypeError);
      // @ts-expect-error: the stages are read-only to their lists
      expect(() => { own.config.model.stages[0]!.numChannels[0] = 9; }).to.throw(TypeError);
      // The keypoint definition is every estimator's of that dataset (and drawPoses' and the tracker's): readonly in the types only, a change reached them all.
      expect(() => { (own.keypoints.flipIndex as number[])[1] = 1; }).to.throw(TypeError);
      expect(() => { (own.keypoints.skeleton[0] as [number, number])[0] = 0; }).to.throw(TypeError);
      expect(() => { (own.keypoints as unknown as { names: string[] }).names = []; }).to.throw(TypeError);
      expect(own.keypoints.flipIndex[1]).to.equal(2);
      scales.push(0.7);
      expect(own.config.test.inputSize).to.equal(256);
      expect(own.config.test.scaleFactor).to.deep.equal([1]);
      expect(await own.estimatePoses(DEMO_IMAGE())).to.deep.equal(await estimator.estimatePoses(DEMO_IMAGE()));
    } finally {
      await own.dispose();
    }
  });

  it('dispose lets an array call made before it finish every image, and refuses later calls', async () => {
    const own = await createEstimator({ preset: 'tiny_coco' as const, weights: TINY_COCO_CHECKPOINT(), inputSize: 256 });
    const images = [DEMO_IMAGE(), readFileSync(DEMO_IMAGE()), DEMO_IMAGE()];
    const running = own.estimatePoses(images);
    const disposed = own.dispose();
    await expectRejection(own.estimatePoses([DEMO_IMAGE()]), BackendError, /the estimator has been disposed/);
    const expected = await estimator.estimatePoses(DEMO_IMAGE());
    expect(await running).to.deep.equal([expected, expected, expected]);
    await disposed;
  });

  it('BAD CALL - an .onnx file that is no ONNX model is a BackendError naming it, in float32 and int8', async () => {
    const path = join(dir, 'damaged.onnx');
    writeFileSync(path, compileModel(presetConfig('tiny_coco'), TINY_COCO_CHECKPOINT()).subarray(0, 5000));
    await expectRejection(createEstimator({ preset: 'tiny_coco', weights: path }), BackendError, /damaged\.onnx: not a valid ONNX model \(ONNX Runtime could not parse it\)$/);
    const empty = join(dir, 'empty.onnx');
    writeFileSync(empty, '');
    await expectRejection(createEstimator({ preset: 'tiny_coco', weights: empty }), BackendError, /empty\.onnx: not a valid ONNX model \(ONNX Runtime could not parse it\)$/);
    await expectRejection(createEstimator({ preset: 'tiny_coco', weights: path, precision: 'int8', calibrationImages: [DEMO_IMAGE()] }), BackendError,
      /damaged\.onnx: not a valid ONNX model \(protobuf: index out of range/);
    // Its bytes were read as a checkpoint, which said to rename them .onnx.
    await expectRejection(createEstimator({ preset: 'tiny_coco', weights: readFileSync(path) }), BackendError,
      /^weights \(ONNX model bytes\): not a valid ONNX model \(it starts as one but does not parse: cut short or damaged\)$/);
  });

  it('BAD CALL - an .onnx path that is missing, a folder or another file says so as a checkpoint path would, not in ONNX Runtime\'s words', async () => {
    const missing = join(dir, 'missing.onnx');
    // Was ONNX Runtime's "Load model from ... failed. File doesn't exist".
    await expectRejection(createEstimator({ preset: 'tiny_coco', weights: missing }), CheckpointError,
      /missing\.onnx: no such file\. `higher-pose export-onnx` writes an \.onnx model from a checkpoint; `higher-pose weights list` shows the published checkpoints$/);
    await expectRejection(cli('predict', DEMO_IMAGE(), '--preset', 'tiny_coco', '--weights', missing), CheckpointError, /missing\.onnx: no such file\./);
    const folder = join(dir, 'folder.onnx');
    mkdirSync(folder);
    // Was ONNX Runtime's "Loading a model package from a directory path is not supported...".
    await expectRejection(createEstimator({ preset: 'tiny_coco', weights: folder }), CheckpointError, /folder\.onnx: a folder, not an ONNX model file$/);
    const checkpoint = join(dir, 'checkpoint.onnx');
    copyFileSync(TINY_COCO_CHECKPOINT(), checkpoint);
    // Was "not a valid ONNX model (ONNX Runtime could not parse it)", in int8 "protobuf: index out of range".
    const renameIt = /checkpoint\.onnx: not an ONNX model but a PyTorch checkpoint, which is read from a file not named \.onnx \(or from its bytes\): rename it \.pth$/;
    await expectRejection(createEstimator({ preset: 'tiny_coco', weights: checkpoint }), BackendError, renameIt);
    await expectRejection(createEstimator({ preset: 'tiny_coco', weights: checkpoint, precision: 'int8', calibrationImages: [DEMO_IMAGE()] }), BackendError, renameIt);
    const page = join(dir, 'page.onnx');
    writeFileSync(page, '<!DOCTYPE html><html><head><title>404 Not Found</title>');
    await expectRejection(createEstimator({ preset: 'tiny_coco', weights: page }), BackendError, /page\.onnx: not an ONNX model but an HTML page: the download saved a web page/);
  });

  it('BAD CALL - an .onnx model whose input is not [N, 3, H, W] float32 images is refused when loaded', async () => {
    const path = join(dir, 'gray.onnx');
    const model = onnx.ModelProto.decode(compileModel(presetConfig('tiny_coco'), TINY_COCO_CHECKPOINT()));
    model.graph!.input![0]!.type!.tensorType!.shape!.dim![1] = { dimValue: 1 };
    writeFileSync(path, onnx.ModelProto.encode(model).finish());
    await expectRejection(createEstimator({ preset: 'tiny_coco', weights: path }), BackendError, /gray\.onnx: its input takes 1 channel \[.*, 1, .*\]; HigherHRNet takes 3 \(RGB\)$/);
  });

  it('BAD CALL - ONNX model bytes that cannot run are named as the user gave them, not "the compiled model"; with external data, the file is asked for', async () => {
    const model = onnx.ModelProto.decode(compileModel(presetConfig('tiny_coco'), TINY_COCO_CHECKPOINT()));
    model.graph!.input![0]!.type!.tensorType!.shape!.dim![1] = { dimValue: 1 };
    await expectRejection(createEstimator({ preset: 'tiny_coco', weights: onnx.ModelProto.encode(model).finish() }), BackendError,
      /^weights \(ONNX model bytes\): its input takes 1 channel \[.*, 1, .*\]; HigherHRNet takes 3 \(RGB\)$/);
    // A model saved with its weights beside it (onnx.save(..., save_as_external_data=True)): the bytes cannot reach them.
    const external = onnx.ModelProto.decode(compileModel(presetConfig('tiny_coco'), TINY_COCO_CHECKPOINT()));
    Object.assign(external.graph!.initializer![0]!, { rawData: new Uint8Array(0), dataLocation: 1, externalData: [{ key: 'location', value: 'model.onnx.data' }] });
    const message = /^weights \(ONNX model bytes\): the model keeps its weights in external data files, which ONNX Runtime finds beside the \.onnx file: give the file's path, not its bytes \(a pipe\)$/;
    await expectRejection(createEstimator({ preset: 'tiny_coco', weights: onnx.ModelProto.encode(external).finish() }), BackendError, message);
    await expectRejection(createEstimator({ preset: 'tiny_coco', weights: onnx.ModelProto.encode(external).finish(), networkThread: true }), BackendError, message);
  });

  it('BAD CALL - an .onnx export with a fixed input size says how to export it', async () => {
    const model = onnx.ModelProto.decode(compileModel(presetConfig('tiny_coco'), TINY_COCO_CHECKPOINT()));
    model.graph!.input![0]!.type!.tensorType!.shape = { dim: [1, 3, 256, 256].map((dimValue) => ({ dimValue })) };
    const path = join(dir, 'fixed.onnx');
    writeFileSync(path, onnx.ModelProto.encode(model).finish());
    const fixed = await createEstimator({ preset: 'tiny_coco', weights: path, inputSize: 256 });
    try {
      // The flip pair as one batch, or each image alone on its session (concurrentFlip, on two cores).
      const batch = fixed.concurrentFlip ? 1 : 2;
      await expectRejection(fixed.estimatePoses(DEMO_IMAGE()), BackendError,
        new RegExp(`could not run the network on a \\[${batch}, 3, 256, 384\\] input: [^]*model\\. The model's input is fixed at \\[1, 3, 256, 256\\][^]*export it with dynamic batch, height and width`));
    } finally {
      await fixed.dispose();
    }
  });

  it('an .onnx export whose batch is fixed at 1 (dynamic height and width) runs flip test image by image, as a dynamic one', async () => {
    const model = onnx.ModelProto.decode(compileModel(presetConfig('tiny_coco'), TINY_COCO_CHECKPOINT()));
    model.graph!.input![0]!.type!.tensorType!.shape!.dim![0] = { dimValue: 1 };
    const path = join(dir, 'batch1.onnx');
    writeFileSync(path, onnx.ModelProto.encode(model).finish());
    const oneAtATime = await createEstimator({ preset: 'tiny_coco', weights: path, inputSize: 256, flipTest: true });
    try {
      expect(await oneAtATime.estimatePoses(DEMO_IMAGE())).to.deep.equal(await estimator.estimatePoses(DEMO_IMAGE()));
    } finally {
      await oneAtATime.dispose();
    }
  });

  it('BAD CALL - an .onnx export with an output that is not float32 is named so, its batch fixed at 1 or not', async () => {
    for (const batch of [1, undefined]) {
      const model = onnx.ModelProto.decode(compileModel(presetConfig('tiny_coco'), TINY_COCO_CHECKPOINT()));
      const graph = model.graph!;
      if (batch) graph.input![0]!.type!.tensorType!.shape!.dim![0] = { dimValue: batch };
      // The first output cast to int64 (ONNX's type 7).
      graph.node!.push(node('Cast', ['output_0'], ['output_0_int64'], [intAttr('to', 7)]));
      graph.output![0]!.name = 'output_0_int64';
      graph.output![0]!.type!.tensorType!.elemType = 7;
      const path = join(dir, `int64-output-${batch ?? 'dynamic'}.onnx`);
      writeFileSync(path, onnx.ModelProto.encode(model).finish());
      const cast = await createEstimator({ preset: 'tiny_coco', weights: path, inputSize: 256, flipTest: true });
      try {
        // Was, with the batch fixed at 1: 'could not run the network … output output_0_int64 is int64, not float32. The model's input is fixed … export it with dynamic batch'.
        const pair = cast.concurrentFlip ? 1 : 2;
        await expectRejection(cast.estimatePoses(DEMO_IMAGE()), BackendError, new RegExp(`sample\\.jpg: Output output_0_int64 must be a 4-D float32 tensor; got int64 \\[${pair}, 34, 64, 96\\]$`));
      } finally {
        await cast.dispose();
      }
    }
  });

  it('BAD CALL - a checkpoint that does not fit the configuration lists the mismatched tensors', async () => {
    await expectRejection(createEstimator({ preset: 'tiny_crowdpose', weights: TINY_COCO_CHECKPOINT() }), StateDictMismatchError,
      /final_layers\.0\.weight \[34,8,1,1\] \(expected \[28,8,1,1\]\)[^]*\n {2}the checkpoint fits preset tiny_coco: is that the model it was trained as\?$/);
  });

  it('BAD CALL - weights in memory are checked as a checkpoint is, on every backend', async () => {
    const coco = randomWeights(buildNetworkGraph(presetConfig('tiny_coco').model));
    for (const backend of ['onnxruntime', 'tfjs'] as const) {
      await expectRejection(createEstimator({ preset: 'tiny_crowdpose', weights: coco, backend }), StateDictMismatchError, /^weights: state dict does not match[^]*final_layers\.0\.weight \[34,8,1,1\] \(expected \[28,8,1,1\]\)/);
      const short = new Map(coco).set('final_layers.1.weight', { shape: [17, 8, 1, 1], data: new Float32Array(100) });
      await expectRejection(createEstimator({ preset: 'tiny_coco', weights: short, backend }), CheckpointError, /weights: final_layers\.1\.weight must hold 136 float32 values for its shape \[17, 8, 1, 1\]; got 100/);
    }
  });

  it('BAD CALL - weights holding NaN, infinity or a negative variance are refused when loaded, by tensor name', async () => {
    const weights = randomWeights(buildNetworkGraph(presetConfig('tiny_coco').model));
    const damaged = (name: string, at: number, value: number) => {
      const { shape, data } = weights.get(name)!;
      const copy = Float32Array.from(data);
      copy[at] = value;
      return new Map(weights).set(name, { shape, data: copy });
    };
    await expectRejection(createEstimator({ preset: 'tiny_coco', weights: damaged('final_layers.0.bias', 5, NaN) }), CheckpointError,
      /^weights: final_layers\.0\.bias holds NaN at index 5: the weights are damaged, or come from a training run that diverged$/);
    await expectRejection(createEstimator({ preset: 'tiny_coco', weights: damaged('conv1.weight', 0, -Infinity) }), CheckpointError, /conv1\.weight holds -Infinity at index 0/);
    await expectRejection(createEstimator({ preset: 'tiny_coco', weights: damaged('bn1.running_var', 3, -0.5) }), CheckpointError, /bn1\.running_var holds a negative variance, -0\.5, at index 3/);
    // A checkpoint file: its first value of conv1.weight overwritten with NaN.
    const bytes = readFileSync(TINY_COCO_CHECKPOINT());
    const conv1 = loadStateDict(bytes).get('conv1.weight')!.data as Float32Array;
    // The tensor may be a view of the file's bytes (a zip checkpoint's aligned records): its own bytes, not its buffer's.
    const first = new Uint8Array(conv1.buffer, conv1.byteOffset, 16).slice();
    const at = bytes.indexOf(first);
    expect(at).to.be.above(0);
    bytes.set(new Uint8Array(Float32Array.of(NaN).buffer), at);
    const file = join(dir, 'diverged.pth');
    writeFileSync(file, bytes);
    await expectRejection(createEstimator({ preset: 'tiny_coco', weights: file }), CheckpointError, /diverged\.pth: conv1\.weight holds NaN at index 0/);
  });

  it('export-onnx writes a model that runs with the same results, and refuses a mismatched configuration', async () => {
    const onnx = join(dir, 'tiny.onnx');
    expect(await cli('export-onnx', '--preset', 'tiny_coco', '--weights', TINY_COCO_CHECKPOINT(), '--out', onnx)).to.equal(0);
    const floatExport = ['export-onnx', '--preset', 'tiny_coco', '--weights', TINY_COCO_CHECKPOINT(), '--out', join(dir, 'bits.onnx')];
    await expectUsageError(cli(...floatExport, '--weight-bits', '7', '--scales', '1'),
      /^error: --scales and --weight-bits only apply with --precision int8 \(a float model runs at any input size and scale, and keeps float32 weights\)$/);
    await expectUsageError(cli(...floatExport, '--weight-bits', '7'), /^error: --weight-bits only applies with --precision int8 \(a float model keeps float32 weights\)$/);
    await expectUsageError(cli(...floatExport, '--input-size', '256', '--scales', '1'),
      /^error: --input-size and --scales only apply with --precision int8 \(a float model runs at any input size and scale\)$/);
    const fromOnnx = await createEstimator({ preset: 'tiny_coco', weights: onnx, inputSize: 256 });
    try {
      expect(await fromOnnx.estimatePoses(DEMO_IMAGE())).to.deep.equal(await estimator.estimatePoses(DEMO_IMAGE()));
    } finally {
      await fromOnnx.dispose();
    }
    await expectRejection(createEstimator({ preset: 'tiny_crowdpose', weights: onnx, inputSize: 256 }), BackendError,
      /tiny\.onnx: output 0 has 34 channels; the configuration expects 28 \(the model fits preset coco_w32_512, coco_w32_640, coco_w48_640, tiny_coco\)/);
  });

  it('predict writes COCO results, continues past bad images and reports them', async () => {
    const bad = join(dir, 'broken.jpg');
    const empty = join(dir, 'empty.png');
    writeFileSync(bad, 'not an image');
    writeFileSync(empty, '');
    const out = join(dir, 'results.json');
    const render = join(dir, 'drawn');
    const { code, errors } = await cliReporting('predict', DEMO_IMAGE(), bad, empty, '--preset', 'tiny_coco', '--weights', TINY_COCO_CHECKPOINT(), '--input-size', '256', '--out', out, '--render', render);
    expect(code).to.equal(1);
    expect(errors.slice(1)).to.deep.equal([
      `  failed: ImageError: ${bad}: not an image format that can be decoded (JPEG, PNG, WebP, TIFF, GIF, AVIF, ...)`,
      `  failed: ImageError: ${empty}: zero-size file`,
    ]);
    const results = JSON.parse(readFileSync(out, 'utf8')) as { image_id: unknown; category_id: number; keypoints: number[]; score: number }[];
    const expected = await estimator.estimatePoses(DEMO_IMAGE());
    expect(results).to.have.length(expected.length);
    expect(results[0].keypoints).to.have.length(17 * 3);
    expect(results[0].score).to.equal(expected[0].score);
    expect(readdirSync(render)).to.deep.equal(['sample.png']);
    expect(results[0]).to.include({ image_id: 'sample.jpg', file_name: DEMO_IMAGE() });
    expect(readdirSync(dir).filter((f) => f.includes('tmp') || f.includes('partial'))).to.deep.equal([]);
  });

  it('predict --max-poses and --min-pose-score report the best people; eval has neither (it scores every person)', async () => {
    const all = await estimator.estimatePoses(DEMO_IMAGE());
    const threshold = all[2].score;
    const out = join(dir, 'capped.json');
    const args = ['--preset', 'tiny_coco', '--weights', TINY_COCO_CHECKPOINT(), '--input-size', '256', '--out', out];
    expect(await cli('predict', DEMO_IMAGE(), ...args, '--max-poses', '2')).to.equal(0);
    const scores = (): number[] => (JSON.parse(readFileSync(out, 'utf8')) as { score: number }[]).map((r) => r.score);
    expect(scores()).to.deep.equal(all.slice(0, 2).map((p) => p.score));
    expect(await cli('predict', DEMO_IMAGE(), ...args, '--min-pose-score', String(threshold))).to.equal(0);
    expect(scores()).to.deep.equal(all.filter((p) => p.score >= threshold).map((p) => p.score));
    const flags = (command: string): string[] => buildProgram().commands.find((c) => c.name() === command)!.options.map((o) => o.long!);
    expect(flags('video')).to.include.members(['--max-poses', '--min-pose-score']);
    expect(flags('eval')).to.not.include.members(['--max-poses']).and.not.include.members(['--min-pose-score']);
  });

  it('BAD CALL - predict fails when every image fails: the failures reported, no results claimed or printed', async () => {
    const bad = join(dir, 'all-bad.jpg');
    const empty = join(dir, 'all-empty.png');
    writeFileSync(bad, 'not an image');
    writeFileSync(empty, '');
    const out = join(dir, 'all-failed.json');
    const args = ['--preset', 'tiny_coco', '--weights', TINY_COCO_CHECKPOINT(), '--input-size', '256'];
    const failures = [
      `  failed: ImageError: ${bad}: not an image format that can be decoded (JPEG, PNG, WebP, TIFF, GIF, AVIF, ...)`,
      `  failed: ImageError: ${empty}: zero-size file`,
    ];
    for (const where of [['--out', out], []]) {
      const { error, errors, stdout } = await cliFailing('predict', bad, empty, ...args, ...where);
      expect(error).to.be.instanceOf(PredictError);
      expect((error as Error).message).to.equal('None of the 2 images could be processed (failures above); no results written');
      expect(errors).to.deep.equal(failures);
      expect(stdout).to.equal('');
    }
    expect(existsSync(out)).to.equal(false);
    await expectRejection(cli('predict', bad, ...args), PredictError, /^The image could not be processed \(failures above\); no results written$/);
  });

  it('BAD CALL - predict refuses two images that would be drawn to one file, and a folder without images', async () => {
    const [a, b] = [join(dir, 'a'), join(dir, 'b')];
    for (const sub of [a, b]) {
      mkdirSync(sub);
      copyFileSync(DEMO_IMAGE(), join(sub, 'photo.jpg'));
    }
    const render = join(dir, 'drawn-twice');
    const args = ['--preset', 'tiny_coco', '--weights', TINY_COCO_CHECKPOINT(), '--input-size', '256'];
    // Mistakes in what was typed, as other options found before the model loads: exit 2, not a failed run's 1.
    await expectUsageError(cli('predict', a, b, ...args, '--render', render), /^error: --render: .*a\/photo\.jpg and .*b\/photo\.jpg would both be drawn to .*drawn-twice\/photo\.png/);
    expect(existsSync(render)).to.equal(false);
    const none = join(dir, 'no-images');
    mkdirSync(none);
    await expectRejection(cli('predict', none, ...args), ConfigError, /No images found in .*no-images \(the folder holds no image file: \.jpg, /);
    // Among other arguments too: a mistake the run over the others would hide.
    await expectRejection(cli('predict', DEMO_IMAGE(), join(dir, 'nothing-*.jpg'), ...args), ConfigError, /^No images found in .*nothing-\*\.jpg \(the pattern matches no image file/);
    // Drawings into the folder of the images would replace them (a PNG of the same name).
    const own = join(dir, 'own');
    mkdirSync(own);
    const png = join(own, 'photo.png');
    await sharp(DEMO_IMAGE()).png().toFile(png);
    const before = readFileSync(png);
    await expectUsageError(cli('predict', png, ...args, '--render', own), /^error: --render: the drawing of .*own\/photo\.png would replace the image .*own\/photo\.png; draw into another folder/);
    expect(readFileSync(png).equals(before)).to.equal(true);
  });

  it('BAD CALL - predict: an image whose drawing cannot be written counts as failed, and its people stay out of the results', async () => {
    const render = join(dir, 'drawing-blocked');
    mkdirSync(join(render, 'sample.png'), { recursive: true });
    const other = join(dir, 'other.png');
    await sharp(DEMO_IMAGE()).png().toFile(other);
    const out = join(dir, 'blocked.json');
    const { code, errors } = await cliReporting('predict', DEMO_IMAGE(), other, '--preset', 'tiny_coco', '--weights', TINY_COCO_CHECKPOINT(), '--input-size', '256', '--out', out, '--render', render);
    expect(code).to.equal(1);
    expect(errors.at(-1)).to.match(/^ {2}failed: .*sample\.png/);
    const files = (JSON.parse(readFileSync(out, 'utf8')) as { file_name: string }[]).map((r) => r.file_name);
    expect(files.length).to.be.above(0);
    expect(new Set(files)).to.deep.equal(new Set([other]));
  });

  it('BAD CALL - output files that cannot be written are refused before the model loads, by option (predict, export-onnx, export-tfjs)', async () => {
    const file = join(dir, 'plain-file');
    writeFileSync(file, 'x');
    const folder = join(dir, 'a-folder');
    mkdirSync(folder);
    const model = ['--preset', 'tiny_coco', '--weights', join(dir, 'missing-weights.pth')];
    await expectRejection(cli('predict', DEMO_IMAGE(), ...model, '--out', folder), ConfigError, /^--out .*a-folder: is a folder; give a file name for the output$/);
    // A file where a folder should be: a mistake in the path typed, as demo's and heatmaps' (exit 2).
    await expectUsageError(cli('predict', DEMO_IMAGE(), ...model, '--out', join(file, 'results.json')), /^error: --out .*plain-file\/results\.json: .*plain-file is a file, where predict needs a folder \(for the results file\); give another path$/);
    await expectRejection(cli('export-onnx', ...model, '--out', folder), ConfigError, /^--out .*a-folder: is a folder; give a file name for the output$/);
    // The checkpoint, or the float model being quantized, was replaced by the export.
    const checkpoint = join(dir, 'checkpoint.pth');
    copyFileSync(TINY_COCO_CHECKPOINT(), checkpoint);
    await expectUsageError(cli('export-onnx', '--preset', 'tiny_coco', '--weights', checkpoint, '--out', checkpoint), /^error: --out .*checkpoint\.pth: name the model's file \.onnx/);
    expect(readFileSync(checkpoint)).to.deep.equal(readFileSync(TINY_COCO_CHECKPOINT()));
    const floatModel = join(dir, 'float.onnx');
    writeFileSync(floatModel, compileModel(presetConfig('tiny_coco'), TINY_COCO_CHECKPOINT()));
    await expectRejection(cli('export-onnx', '--preset', 'tiny_coco', '--weights', floatModel, '--precision', 'int8', '--calibrate', DEMO_IMAGE(), '--out', floatModel), ConfigError, /^--out .*float\.onnx names the --weights file, which it would replace; give it a file of its own$/);
    // export-tfjs writes a folder: a file in its place or above it (mkdir said only EEXIST, after the compile), a mistake in the path typed.
    const tfjs = 'export-tfjs needs a folder \\(for model\\.json and the weight shards\\); give a folder, which is made if missing';
    await expectUsageError(cli('export-tfjs', ...model, '--out', join(file, 'web_model')), new RegExp(`^error: --out \\S*plain-file/web_model: \\S*plain-file is a file, where ${tfjs}$`));
    await expectUsageError(cli('export-tfjs', ...model, '--out', file), new RegExp(`^error: --out \\S*plain-file is a file, where ${tfjs}$`));
    // The whole folder is replaced: one holding anything but an earlier export is refused.
    writeFileSync(join(folder, 'index.html'), '<html></html>');
    // The folder named once: it was '--out DIR: DIR is a non-empty folder ...'.
    await expectRejection(cli('export-tfjs', ...model, '--out', folder), ConfigError, /^--out \S*a-folder: is a non-empty folder without a model\.json; refusing to replace it$/);
    // `predict --out *.jpg`: the shell makes the first image the results file.
    const image = join(dir, 'first.jpg');
    copyFileSync(DEMO_IMAGE(), image);
    // A mistake in what was typed: exit 2, as other options found before the model loads.
    await expectUsageError(cli('predict', DEMO_IMAGE(), ...model, '--out', image), /^error: --out .*first\.jpg: the results are JSON, not an image \(did the shell expand --out \*\.jpg\?\); give a \.json file name$/);
    expect(readFileSync(image)).to.deep.equal(readFileSync(DEMO_IMAGE()));
  });

  it('BAD CALL - export-onnx checks an .onnx given as weights as the estimator would load it, before writing anything', async () => {
    const garbage = join(dir, 'garbage.onnx');
    writeFileSync(garbage, 'not a model');
    const out = join(dir, 'copied.onnx');
    await expectRejection(cli('export-onnx', '--preset', 'tiny_coco', '--weights', garbage, '--out', out), BackendError, /garbage\.onnx: not a valid ONNX model/);
    const tiny = join(dir, 'tiny-for-export.onnx');
    expect(await cli('export-onnx', '--preset', 'tiny_coco', '--weights', TINY_COCO_CHECKPOINT(), '--out', tiny)).to.equal(0);
    await expectRejection(cli('export-onnx', '--preset', 'tiny_crowdpose', '--weights', tiny, '--out', out), BackendError, /output 0 has 34 channels; the configuration expects 28/);
    expect(existsSync(out)).to.equal(false);
  });

  it('demo runs the bundled tiny model when no W32-512 checkpoint is cached and says what it found once; an image that fails is an error that leaves the results alone', async () => {
    const saved = process.env.HIGHER_POSE_CACHE;
    process.env.HIGHER_POSE_CACHE = join(dir, 'empty-cache');
    try {
      const out = join(dir, 'demo');
      const run = await cliReporting('demo', '--out', out);
      expect(run.code).to.equal(0);
      const results = readFileSync(join(out, 'results.json'), 'utf8');
      const people = (JSON.parse(results) as unknown[]).length;
      expect(people).to.equal((await estimator.estimatePoses(DEMO_IMAGE())).length);
      // It said it twice: predict's line, then one of its own.
      const summaries = [...run.errors, ...run.stdout.split('\n')].filter((line) => line.includes(' people'));
      expect(summaries).to.deep.equal([`1/1 images, ${people} people → ${join(out, 'results.json')}, drawings in ${out}`]);
      expect(readdirSync(out).sort()).to.deep.equal(['results.json', 'sample.png']);
      const missing = join(dir, 'missing.jpg');
      const { error, errors, stdout } = await cliFailing('demo', '--image', missing, '--out', out);
      expect(error).to.be.instanceOf(PredictError);
      expect((error as Error).message).to.equal('The image could not be processed (failures above); no results written');
      const hint = errors.filter((line) => line.startsWith('demo: using the bundled tiny model') || line.startsWith('      '));
      expect(hint.join('\n'), 'how to get a trained model the demo picks up').to.include('`higher-pose weights fetch coco_w32_512_mmpose`');
      expect(errors.filter((line) => !hint.includes(line))).to.deep.equal([`  failed: ImageError: ${missing}: no such file`]);
      expect(stdout, 'no success line').to.equal('');
      expect(readFileSync(join(out, 'results.json'), 'utf8')).to.equal(results);
      // A path below a file, as missing: demo's look for a folder failed on it as a bare 'Error: ENOTDIR: not a directory' (Node 20).
      const belowFile = join(out, 'results.json', 'x.jpg');
      const below = await cliFailing('demo', '--image', belowFile, '--out', out);
      expect(below.error).to.be.instanceOf(PredictError);
      expect(below.errors).to.include(`  failed: ImageError: ${belowFile}: no such file`);
      // The folder keeps the drawings of earlier runs (the user's to remove): each run names its own.
      const mine = join(dir, 'me.jpg');
      copyFileSync(DEMO_IMAGE(), mine);
      const second = await cliReporting('demo', '--image', mine, '--out', out);
      expect(second.code).to.equal(0);
      expect(readdirSync(out).sort()).to.deep.equal(['me.png', 'results.json', 'sample.png']);
      expect(second.errors).to.include(`demo: this run drew ${join(out, 'me.png')}`);
      expect(second.errors.join('\n')).to.not.include('sample.png');
    } finally {
      if (saved === undefined) delete process.env.HIGHER_POSE_CACHE;
      else process.env.HIGHER_POSE_CACHE = saved;
    }
  });

  it('heatmaps writes the raw outputs and pictures', async () => {
    const out = join(dir, 'maps');
    expect(await cli('heatmaps', DEMO_IMAGE(), '--preset', 'tiny_coco', '--weights', TINY_COCO_CHECKPOINT(), '--input-size', '256', '--out', out)).to.equal(0);
    expect(readNpy(join(out, 'output_0.npy')).shape).to.deep.equal([1, 34, 64, 96]);
    expect(readNpy(join(out, 'output_1.npy')).shape).to.deep.equal([1, 17, 128, 192]);
    expect(existsSync(join(out, 'heatmaps_1.png'))).to.equal(true);
  });

  it('BAD CALL - heatmaps refuses outputs holding NaN or infinity as estimatePoses does, writing nothing, and names the image in its errors', async () => {
    // Weights too large for float32: infinities in output 0, NaN in output 1 (whose pictures were plain black).
    const config = presetConfig('tiny_coco');
    const weights = new Map(randomWeights(buildNetworkGraph(config.model)));
    const final = weights.get('final_layers.0.weight')!;
    weights.set('final_layers.0.weight', { shape: final.shape, data: final.data.map(() => 3e38) });
    const model = join(dir, 'overflowing.onnx');
    writeFileSync(model, compileModel(config, weights));
    const out = join(dir, 'maps-overflowing');
    const args = ['--preset', 'tiny_coco', '--weights', model, '--input-size', '256', '--out', out];
    await expectRejection(cli('heatmaps', DEMO_IMAGE(), ...args), DecodeError, new RegExp(`^${DEMO_IMAGE()}: network output 0 contains Infinity \\(first at index \\[0, 0, 0, 0\\]\\)$`));
    expect(readdirSync(out)).to.deep.equal([]);
    const small = join(dir, 'three-pixels.png');
    await sharp({ create: { width: 3, height: 3, channels: 3, background: 'red' } }).png().toFile(small);
    await expectRejection(cli('heatmaps', small, ...args), PreprocessError, new RegExp(`^${small}: image 3x3 is too small for the network`));
  });

  it('BAD CALL - heatmaps with a folder in --out under one of its output names writes none of its files, an older run\'s left as they were', async () => {
    const out = join(dir, 'maps-blocked');
    mkdirSync(join(out, 'heatmaps_1.png'), { recursive: true });
    writeFileSync(join(out, 'output_0.npy'), 'older run');
    await expectRejection(cli('heatmaps', DEMO_IMAGE(), '--preset', 'tiny_coco', '--weights', TINY_COCO_CHECKPOINT(), '--input-size', '256', '--out', out), ConfigError,
      new RegExp(`^--out ${out}: heatmaps_1.png there is a folder, where heatmaps writes a file; remove it or give another folder$`));
    expect(readdirSync(out).sort()).to.deep.equal(['heatmaps_1.png', 'output_0.npy']);
    expect(readFileSync(join(out, 'output_0.npy'), 'utf8')).to.equal('older run');
  });

  it('BAD CALL - an output folder that a file is in the way of', async () => {
    const file = join(dir, 'a-file');
    writeFileSync(file, 'x');
    const args = [DEMO_IMAGE(), '--preset', 'tiny_coco', '--weights', TINY_COCO_CHECKPOINT(), '--input-size', '256'];
    await expectUsageError(cli('heatmaps', ...args, '--out', file), /^error: --out .*a-file is a file, where heatmaps needs a folder \(for its arrays and pictures\); give a folder, which is made if missing$/);
    await expectUsageError(cli('predict', ...args, '--render', join(file, 'sub')), /^error: --render .*a-file\/sub: .*a-file is a file, where predict needs a folder \(for its drawings\); give a folder, which is made if missing$/);
  });

  it('BAD CALL - heatmaps of an image that one of its outputs would replace (its --out folder holds input.png) are a usage error (exit 2), the image left as it was', async () => {
    const folder = join(dir, 'own-maps');
    mkdirSync(folder);
    // Refused before the weights are read: a run that read them would fail on the missing file.
    const model = ['--preset', 'tiny_coco', '--weights', join(dir, 'missing.pth'), '--input-size', '256'];
    for (const name of ['input.png', 'heatmaps_1.png']) {
      const image = join(folder, name);
      copyFileSync(DEMO_IMAGE(), image);
      await expectUsageError(cli('heatmaps', image, ...model, '--out', folder),
        new RegExp(`^error: --out ${folder}: heatmaps would write its ${name} over the image ${image}; give another folder$`));
      expect(readFileSync(image)).to.deep.equal(readFileSync(DEMO_IMAGE()));
    }
    expect(readdirSync(folder).sort()).to.deep.equal(['heatmaps_1.png', 'input.png']);
  });

  it('BAD CALL - an output that is the --weights file (predict, eval, video) is refused before any work, the model left as it was', async () => {
    const weights = join(dir, 'own-weights.pth');
    copyFileSync(TINY_COCO_CHECKPOINT(), weights);
    const model = ['--preset', 'tiny_coco', '--weights', weights, '--input-size', '256'];
    const refused = (option: string, prefix = '') => new RegExp(`^${prefix}${option} ${weights} names the --weights file, which it would replace; give it a file of its own$`);
    await expectRejection(cli('predict', DEMO_IMAGE(), ...model, '--out', weights), ConfigError, refused('--out'));
    const evalRun = ['eval', '--images', dir, '--annotations', join(dir, 'none.json'), ...model];
    await expectRejection(cli(...evalRun, '--out', weights), ConfigError, refused('--out'));
    await expectRejection(cli(...evalRun, '--out', join(dir, 'r.json'), '--journal', weights), ConfigError, refused('--journal'));
    await expectRejection(cli('video', join(dir, 'clip.mp4'), ...model, '--out', weights), ConfigError, refused('--out'));
    expect(readFileSync(weights)).to.deep.equal(readFileSync(TINY_COCO_CHECKPOINT()));
  });
});

describe('estimator.processVideo with the bundled tiny model', function () {
  const hasFfmpeg = spawnSync('ffmpeg', ['-version']).status === 0;
  let dir: string;
  before(function () {
    if (!hasFfmpeg) {
      console.log('    skipped: ffmpeg is not installed (apt-get install ffmpeg)');
      this.skip();
    }
    dir = mkdtempSync(join(tmpdir(), 'higher-pose-video-'));
  });
  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('gives every frame the same people as estimatePoses on that frame, with track ids', async () => {
    const clip = join(dir, 'still.mp4');
    // Three frames of the sample image, losslessly (so each frame decodes to the same pixels).
    const made = spawnSync('ffmpeg', ['-v', 'error', '-loop', '1', '-i', DEMO_IMAGE(), '-frames:v', '3', '-r', '5', '-c:v', 'libx264rgb', '-qp', '0', '-pix_fmt', 'rgb24', clip]);
    expect(made.status, made.stderr.toString()).to.equal(0);
    const estimator = await createEstimator({ preset: 'tiny_coco' as const, weights: TINY_COCO_CHECKPOINT(), inputSize: 256, flipTest: false });
    try {
      const frames = [];
      for await (const frame of estimator.processVideo(clip, { track: true })) frames.push(frame);
      expect(frames.map((f) => [f.frame, f.time])).to.deep.equal([[0, 0], [1, 0.2], [2, 0.4]]);
      const still = await estimator.estimatePoses(frames[0].image);
      expect(frames[0].people.map((p) => p.keypoints)).to.deep.equal(still.map((p) => p.keypoints));
      // A still scene: everyone keeps their id from frame to frame.
      const ids = frames.map((f) => f.people.map((p) => p.id).sort((a, b) => a! - b!));
      expect(ids[1]).to.deep.equal(ids[0]);
      expect(ids[2]).to.deep.equal(ids[0]);
    } finally {
      await estimator.dispose();
    }
  });
});

describe('an onStageTimes callback that throws', function () {
  this.timeout(120_000);
  const options = { preset: 'tiny_coco' as const, weights: TINY_COCO_CHECKPOINT(), inputSize: 256, flipTest: false };
  const failure = new TypeError('stats is undefined');
  const throwing = () => {
    throw failure;
  };
  let dir: string;
  before(() => { dir = mkdtempSync(join(tmpdir(), 'higher-pose-callback-')); });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** The call rejects with a CallbackError that names the callback, not the image, caused by the callback's error. */
  const expectCallbackError = async (call: Promise<unknown>) => {
    const error = await call.then(() => expect.fail('the call resolved'), (e: unknown) => e);
    expect(error).to.be.instanceOf(CallbackError);
    expect((error as Error).message).to.equal('onStageTimes threw: stats is undefined');
    expect((error as Error).cause).to.equal(failure);
  };

  it('BAD CALL - estimatePoses rejects with the callback\'s failure, not as a bad image (a path, bytes in an array)', async () => {
    const estimator = await createEstimator({ ...options, onStageTimes: throwing });
    try {
      await expectCallbackError(estimator.estimatePoses(DEMO_IMAGE()));
      await expectCallbackError(estimator.estimatePoses([readFileSync(DEMO_IMAGE())]));
    } finally {
      await estimator.dispose();
    }
  });

  it('BAD CALL - predict ends with it rather than reporting each image as failed, and writes no results', async () => {
    const out = join(dir, 'results.json');
    await expectCallbackError(runPredict([DEMO_IMAGE(), DEMO_IMAGE()], { ...options, out }, { onStageTimes: throwing }));
    expect(readdirSync(dir)).to.deep.equal([]);
  });

  it('BAD CALL - an eval run ends with it rather than scoring each image as failed', async () => {
    const images = join(dir, 'images');
    mkdirSync(images);
    copyFileSync(DEMO_IMAGE(), join(images, '1.jpg'));
    const annotations = join(dir, 'annotations.json');
    writeFileSync(annotations, JSON.stringify({ images: [{ id: 1, file_name: '1.jpg', width: 640, height: 480 }], annotations: [], categories: [{ id: 1, name: 'person' }] }));
    const estimate = () => Promise.reject(new CallbackError('onStageTimes', failure));
    await expectCallbackError(runBenchmark({ imagesDir: images, annotations, estimate, journalPath: join(dir, 'run.journal'), outPath: join(dir, 'run.json') }));
    expect(existsSync(join(dir, 'run.json'))).to.equal(false);
  });
});
