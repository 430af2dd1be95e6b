import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import * as tf from '@tensorflow/tfjs';
import { createEstimator, type HigherHRNetEstimator, type StageTimes } from '../src/estimator.js';
import { checkImageInput, ImageError, readImage } from '../src/io/image.js';
import { DEMO_IMAGE, TINY_COCO_CHECKPOINT } from '../src/paths.js';
import type { ImageInput, Person, TensorLike } from '../src/types.js';
import { expectRejection } from './helpers/cli.js';

describe('TensorFlow.js tensors as images', () => {
  let estimator: HigherHRNetEstimator;
  let dir: string;
  let rgb: Uint8Array;
  let width: number;
  let height: number;
  /** The demo image's poses, of its pixels written as a PNG file. */
  let ofPng: Person[];
  /** Tensors a test made, disposed after it. */
  let made: tf.Tensor[] = [];
  const tensor = <T extends tf.Tensor>(t: T): T => (made.push(t), t);

  before(async () => {
    await tf.setBackend('cpu');
    // One image in flight: a second call waits its turn.
    estimator = await createEstimator({ preset: 'tiny_coco', weights: TINY_COCO_CHECKPOINT(), inputSize: 256, imagesInFlight: 1 });
    dir = mkdtempSync(join(tmpdir(), 'higher-pose-tensor-'));
    const raw = await sharp(DEMO_IMAGE()).raw().toBuffer({ resolveWithObject: true });
    ({ width, height } = raw.info);
    rgb = new Uint8Array(raw.data);
    const png = join(dir, 'demo.png');
    await sharp(rgb, { raw: { width, height, channels: 3 } }).png().toFile(png);
    ofPng = await estimator.estimatePoses(png);
  });
  afterEach(() => {
    for (const t of made) t.dispose();
    made = [];
  });
  after(async () => {
    await estimator.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('takes an int32 tensor (tf.node.decodeImage\'s), a float32 one of values 0-255, RGBA, a batch of one and an array of tensors, as the same pixels and their PNG file; the tensors are left undisposed', async () => {
    expect(await estimator.estimatePoses({ data: rgb, width, height })).to.deep.equal(ofPng);
    const int32 = tensor(tf.tensor3d(Int32Array.from(rgb), [height, width, 3], 'int32'));
    const float32 = tensor(tf.tensor3d(Float32Array.from(rgb), [height, width, 3], 'float32'));
    // An alpha that varies (0 included): dropped, not composited, as a PNG's.
    const rgbaValues = new Int32Array(width * height * 4);
    for (let i = 0; i < width * height; i++) rgbaValues.set([rgb[i * 3]!, rgb[i * 3 + 1]!, rgb[i * 3 + 2]!, (i * 7) & 255], i * 4);
    const rgba = tensor(tf.tensor3d(rgbaValues, [height, width, 4], 'int32'));
    const batchOfOne = tensor(int32.expandDims(0) as tf.Tensor4D);
    const tensorsBefore = tf.memory().numTensors;
    for (const image of [int32, float32, rgba, batchOfOne]) {
      const people: Person[] = await estimator.estimatePoses(image);
      expect(people, `${image.dtype} ${image.shape.join('x')}`).to.deep.equal(ofPng);
    }
    const each: Person[][] = await estimator.estimatePoses([int32, float32, DEMO_IMAGE()]);
    expect(each.slice(0, 2)).to.deep.equal([ofPng, ofPng]);
    expect((await readImage(rgba)).data).to.deep.equal(rgb);
    // The caller's tensors stay theirs: none disposed, none made and left behind.
    expect([int32, float32, rgba, batchOfOne].map((t) => t.isDisposed)).to.deep.equal([false, false, false, false]);
    expect(tf.memory().numTensors).to.equal(tensorsBefore);
  });

  it('takes a gray tensor [h, w, 1] as its gray PNG file: replicated to RGB', async () => {
    const grayPng = join(dir, 'gray.png');
    await sharp(DEMO_IMAGE()).toColourspace('b-w').png().toFile(grayPng);
    const gray = await sharp(grayPng).toColourspace('b-w').raw().toBuffer({ resolveWithObject: true });
    expect(gray.info.channels).to.equal(1);
    const ofGrayFile = await estimator.estimatePoses(grayPng);
    expect(ofGrayFile).to.not.deep.equal(ofPng);
    expect(await estimator.estimatePoses(tensor(tf.tensor3d(Int32Array.from(gray.data), [height, width, 1], 'int32')))).to.deep.equal(ofGrayFile);
  });

  it('reads a tensor when called: the caller may dispose it once the call returns, a call waiting its turn too', async () => {
    const first = tf.tensor3d(Int32Array.from(rgb), [height, width, 3], 'int32');
    const queued = tf.tensor3d(Float32Array.from(rgb), [height, width, 3], 'float32');
    const calls = [estimator.estimatePoses(first), estimator.estimatePoses(queued)];
    first.dispose();
    queued.dispose();
    expect(await Promise.all(calls)).to.deep.equal([ofPng, ofPng]);
  });

  it("counts a tensor's read (a GPU backend's download) in onStageTimes' read", async () => {
    const times: StageTimes[] = [];
    const timed = await createEstimator({ preset: 'tiny_coco', weights: TINY_COCO_CHECKPOINT(), inputSize: 256, onStageTimes: (t) => times.push(t) });
    try {
      const real = tensor(tf.tensor3d(Int32Array.from(rgb), [height, width, 3], 'int32'));
      // As a tensor on a GPU, whose values take a while to come back.
      const slowToRead: TensorLike = {
        shape: real.shape, dtype: real.dtype, rank: real.rank,
        data: () => new Promise((resolve) => setTimeout(() => resolve(real.dataSync()), 300)),
        dataSync: () => real.dataSync(),
      };
      expect(await timed.estimatePoses(slowToRead)).to.deep.equal(ofPng);
      expect(times).to.have.length(1);
      expect(times[0]!.read).to.be.at.least(290);
    } finally {
      await timed.dispose();
    }
  });

  it('BAD CALL - a tensor of another shape, of values that are not integers 0-255, or disposed, is an ImageError saying so', async () => {
    const refused = async (image: TensorLike, message: RegExp) => {
      await expectRejection(estimator.estimatePoses(image), ImageError, message);
      await expectRejection(readImage(image), ImageError, message);
    };
    // Refused up front too (calibration images), where its layout is at fault.
    await expectRejection(checkImageInput(tensor(tf.zeros([8, 8, 2], 'int32'))), ImageError, /^tensor: a tensor of shape \[8, 8, 2\] has 2 channels/);
    const shapes = 'expected \\[height, width, channels\\] or \\[1, height, width, channels\\], channels 3 \\(RGB\\), 4 \\(RGBA\\) or 1 \\(gray\\)';
    await refused(tensor(tf.zeros([8, 8], 'int32')), new RegExp(`^tensor: a tensor of shape \\[8, 8\\]; ${shapes}: a gray image\\? tensor\\.expandDims\\(-1\\)`));
    await refused(tensor(tf.zeros([2, 8, 8, 3], 'int32')), new RegExp(`^tensor: a tensor of shape \\[2, 8, 8, 3\\]; ${shapes}: a batch of 2 images; pass them as an array`));
    await refused(tensor(tf.zeros([8, 8, 8, 8, 3], 'int32')), new RegExp(`^tensor: a tensor of shape \\[8, 8, 8, 8, 3\\]; ${shapes}$`));
    await refused(tensor(tf.zeros([8, 8, 2], 'int32')), new RegExp(`^tensor: a tensor of shape \\[8, 8, 2\\] has 2 channels \\(gray and alpha, which is not taken\\); ${shapes}$`));
    await refused(tensor(tf.zeros([3, 8, 8], 'int32')), /has 8 channels \(channels first\? tensor\.transpose\(\[1, 2, 0\]\) puts them last\)/);
    await refused(tensor(tf.zeros([0, 8, 3], 'int32')), /^tensor: image has no pixels \(8x0\)$/);
    await refused(tensor(tf.fill([8, 8, 3], 'a', 'string') as tf.Tensor3D), /^tensor: a tensor of dtype string; expected 8-bit values/);
    // Values: the first one wrong, by its index in the tensor.
    const valued = (at: number, value: number, others = 100) => tensor(tf.tensor3d(Array.from({ length: 4 * 4 * 3 }, (_, i) => (i === at ? value : others)), [4, 4, 3], 'float32'));
    const values = "^tensor: a tensor's values must be 8-bit, integers 0 to 255 \\(dtype float32\\); found";
    await refused(valued(13, 0.5), new RegExp(`${values} 0\\.5 at \\[1, 0, 1\\]: round it to 8-bit values \\(tensor\\.round\\(\\)\\), as a float result such as a resize gives$`));
    await refused(tensor(tf.ones([8, 8, 3], 'bool')), /^tensor: a tensor of dtype bool \(a mask\?\) is no image: its values would be 0 and 1, a black picture; expected 8-bit values \(integers 0 to 255\)$/);
    await refused(valued(47, 256), new RegExp(`${values} 256 at \\[3, 3, 2\\]$`));
    await refused(valued(0, -1), new RegExp(`${values} -1 at \\[0, 0, 0\\]$`));
    await refused(valued(5, NaN), new RegExp(`${values} NaN at \\[0, 1, 2\\]$`));
    await refused(valued(5, 0.25, 1), new RegExp(`${values} 0\\.25 at \\[0, 1, 2\\]: a float image of values 0 to 1\\? multiply it by 255 and round it \\(tensor\\.mul\\(255\\)\\.round\\(\\)\\)$`));
    await refused(tensor(tf.fill([1, 2, 2, 3], 300, 'int32') as tf.Tensor4D), /^tensor: a tensor's values must be 8-bit, integers 0 to 255 \(dtype int32\); found 300 at \[0, 0, 0, 0\]$/);
    const disposed = tf.zeros([8, 8, 3], 'int32');
    disposed.dispose();
    await refused(disposed, /^tensor: the tensor was disposed before its values were read: dispose it once estimatePoses \(or readImage\) has been called with it$/);
    // In an array, named by its place; over maxPixels as pixels are.
    await expectRejection(estimator.estimatePoses([DEMO_IMAGE(), disposed]), ImageError, /^images\[1\]: tensor: the tensor was disposed/);
    await expectRejection(readImage(tensor(tf.zeros([8, 8, 3], 'int32')), { maxPixels: 63 }), ImageError, /^tensor: image is 8x8, over the limit of 63 pixels$/);
  });

  it('BAD CALL - an object that merely has a shape (or a dtype and a data array) is no tensor: refused as any other value', async () => {
    const notTensors = [{ shape: [8, 8, 3] }, { shape: [8, 8, 3], dtype: 'int32', rank: 3, data: new Uint8Array(192) }];
    for (const value of notTensors) {
      await expectRejection(estimator.estimatePoses(value as unknown as ImageInput), ImageError, /^RGB image: (expected a path, encoded bytes \(a Uint8Array or Buffer\), \{ data, width, height \} or a TensorFlow\.js tensor; got Object|width and height must be positive integers)/);
    }
    // @ts-expect-error: a shape alone is no image
    const typed: ImageInput = { shape: [8, 8, 3] };
    expect(typed).to.deep.equal(notTensors[0]);
  });
});
