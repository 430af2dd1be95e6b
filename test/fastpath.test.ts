/**
 * The fast paths of the post-processing give exactly what the plain reference formulas give:
 * each is compared with a direct, element-by-element version written here.
 */
import { expect } from 'chai';
import { presetConfig } from '../src/config/presets.js';
import { buildNetworkGraph } from '../src/higher/network.js';
import { randomWeights } from '../src/model/weights.js';
import { createEstimator, inferAndDecode } from '../src/estimator.js';
import { createNetwork } from '../src/model/load.js';
import { FLIP_PAIRS_TO_CHOOSE } from '../src/flip-pair.js';
import { testScaleInputs } from '../src/preprocess/index.js';
import { keypointDefinition } from '../src/datasets.js';
import { ParallelPostprocessing } from '../src/parallel/postprocess.js';
import { Workspace } from '../src/workspace.js';
import { Worker } from 'node:worker_threads';
import { fmaf, keptResizer, resizeBilinear } from '../src/aggregate/resize.js';
import { suppressNonMaxima } from '../src/grouping/nms.js';
import { topK } from '../src/grouping/topk.js';
import { float32MeanVector, roundHalfEven } from '../src/grouping/numeric.js';
import { RefineIndex, refinePeople } from '../src/grouping/refine.js';
import { denseMaps, type GroupingMaps as Maps } from '../src/grouping/maps.js';
import type { RgbImage } from '../src/types.js';

const f32 = Math.fround;

/** Deterministic pseudo-random values in [lo, hi). */
function noise(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return lo + ((hi - lo) * s) / 2 ** 32;
  });
}

/** A finite double as an exact integer mantissa and a power-of-two exponent. */
function exactParts(v: number): [bigint, number] {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, v);
  const bits = view.getBigUint64(0);
  const biased = Number((bits >> 52n) & 0x7ffn);
  const fraction = bits & ((1n << 52n) - 1n);
  const mantissa = biased === 0 ? fraction : fraction | (1n << 52n);
  return [bits >> 63n ? -mantissa : mantissa, (biased === 0 ? 1 : biased) - 1075];
}

/** a * b + c computed exactly (big integers), then rounded once to float32, ties to even. */
function exactFmaf(a: number, b: number, c: number): number {
  const [ma, ea] = exactParts(a);
  const [mb, eb] = exactParts(b);
  const [mc, ec] = exactParts(c);
  const e = Math.min(ea + eb, ec);
  const sum = ((ma * mb) << BigInt(ea + eb - e)) + (mc << BigInt(ec - e));
  if (sum === 0n) return a * b + c;
  const negative = sum < 0n;
  let m = negative ? -sum : sum;
  // Keep 24 significant bits, or fewer below the float32 normal range (2^-149 is the last bit).
  const drop = Math.max(m.toString(2).length - 24, -149 - e);
  let exponent = e;
  if (drop > 0) {
    const half = 1n << BigInt(drop - 1);
    const rest = m & ((1n << BigInt(drop)) - 1n);
    m >>= BigInt(drop);
    if (rest > half || (rest === half && (m & 1n) === 1n)) m += 1n;
    exponent += drop;
  }
  const value = f32(Number(m) * 2 ** exponent);
  return negative ? -value : value;
}

/** ATen's bilinear resize written per output element (two width interpolations, then one along the height). */
function directResize(src: Float32Array, inH: number, inW: number, outH: number, outW: number): Float32Array {
  const taps = (inSize: number, outSize: number, i: number): [number, number, number, number] => {
    if (inSize === outSize) return [i, i, 1, 0];
    let real = fmaf(f32(inSize / outSize), f32(i + 0.5), -0.5);
    if (real < 0) real = 0;
    const i0 = Math.min(Math.floor(real), inSize - 1);
    const l1 = Math.min(Math.max(f32(real - i0), 0), 1);
    return [i0, i0 < inSize - 1 ? i0 + 1 : i0, f32(1 - l1), l1];
  };
  const out = new Float32Array(outH * outW);
  for (let y = 0; y < outH; y++) {
    const [r0, r1, wy0, wy1] = taps(inH, outH, y);
    for (let x = 0; x < outW; x++) {
      const [c0, c1, wx0, wx1] = taps(inW, outW, x);
      const top = fmaf(src[r0 * inW + c0], wx0, f32(src[r0 * inW + c1] * wx1));
      const bottom = fmaf(src[r1 * inW + c0], wx0, f32(src[r1 * inW + c1] * wx1));
      out[y * outW + x] = fmaf(top, wy0, f32(bottom * wy1));
    }
  }
  return out;
}

describe('fast paths equal the direct formulas', () => {
  it('separable resize: up, down, uneven ratios and same-size axes, value for value', () => {
    const cases = [[4, 6, 8, 12], [128, 176, 512, 704], [7, 5, 3, 11], [16, 16, 16, 9], [9, 13, 9, 13]];
    cases.forEach(([inH, inW, outH, outW], i) => {
      const src = noise(2 * inH * inW, 10 + i, -30, 30);
      const got = resizeBilinear({ data: src, channels: 2, height: inH, width: inW }, outH, outW);
      for (let c = 0; c < 2; c++) {
        const want = directResize(src.subarray(c * inH * inW), inH, inW, outH, outW);
        expect(Buffer.compare(Buffer.from(got.data.buffer, c * outH * outW * 4, outH * outW * 4), Buffer.from(want.buffer))).to.equal(0, `case ${i} channel ${c}`);
      }
    });
  });

  it('a workspace keeps the resizers of recent sizes only: images of ever new sizes do not grow it', () => {
    const workspace = new Workspace();
    const resizer = (size: number) => keptResizer(workspace, { height: 16, width: 16 }, size, size);
    const [first, recent] = [resizer(100), resizer(101)];
    expect(resizer(100)).to.equal(first);
    for (let size = 200; size < 240; size++) {
      resizer(size);
      expect(resizer(101)).to.equal(recent);
    }
    expect(resizer(100)).to.not.equal(first);
  });

  it("a workspace hands out its buffer again to requests up to 4 times smaller, and replaces it for smaller ones: one panorama's maps do not stay", () => {
    for (const shared of [false, true]) {
      const workspace = new Workspace({ shared });
      const panorama = workspace.float32('maps', 16000);
      expect(workspace.float32('maps', 4000).buffer, 'a quarter').to.equal(panorama.buffer);
      const after = workspace.float32('maps', 1000);
      expect([after.length, after.buffer.byteLength]).to.deep.equal([1000, 4000]);
      expect(after.buffer instanceof SharedArrayBuffer).to.equal(shared);
      expect(workspace.float32('maps', 900).buffer).to.equal(after.buffer);
    }
  });

  it('a workspace gives back the buffers two images in a row did not ask for (a panorama\'s flip passes), and keeps those each image asks for', () => {
    for (const shared of [false, true]) {
      const workspace = new Workspace({ shared });
      const maps = workspace.float32('maps', 1000);
      workspace.float32('panorama:flipped', 50000);
      workspace.imageDone();
      for (let image = 1; image <= 2; image++) {
        expect(workspace.float32('maps', 1000).buffer, `image ${image}`).to.equal(maps.buffer);
        expect(workspace.bytesHeld, `image ${image}: the panorama's buffer is kept one image more`).to.equal(4 * 51000);
        workspace.imageDone();
      }
      expect(workspace.bytesHeld).to.equal(4000);
      expect(workspace.float32('maps', 1000).buffer).to.equal(maps.buffer);
    }
  });

  it('fmaf rounds a * b + c once, sums halfway between two float32 values included', () => {
    const values = noise(3 * 20000, 7);
    const cases: [number, number, number][] = [];
    for (let i = 0; i < 20000; i++) {
      const scale = 2 ** ((i % 40) - 20);
      cases.push([f32(values[3 * i] * scale), f32(Math.abs(values[3 * i + 1])), f32(values[3 * i + 2] * f32(Math.abs(values[3 * i + 1])))]);
    }
    // a * b just below (or above) half a float32 ulp of c: the double sum is exactly halfway.
    for (let e = -20; e < 40; e++) {
      for (const odd of [1, 3, 5]) {
        for (const sign of [1, -1]) {
          const c = f32(sign * 2 ** e * (1 + odd * 2 ** -23));
          cases.push([f32(1 + 2 ** -23), f32(2 ** (e - 24) * (1 - 2 ** -23)), c], [f32(1 + 2 ** -23), f32(-(2 ** (e - 24)) * (1 - 2 ** -23)), c]);
          cases.push([f32(1 + 2 ** -23), f32(2 ** (e - 24) * (1 + 2 ** -23)), c], [f32(1 - 2 ** -24), f32(2 ** (e - 24)), c]);
        }
      }
    }
    const wrong = cases.filter(([a, b, c]) => !Object.is(fmaf(a, b, c), exactFmaf(a, b, c)));
    expect(wrong.slice(0, 5), `${wrong.length} of ${cases.length} sums rounded wrongly`).to.deep.equal([]);
    // The plain double sum rounded to float32 gets some of the halfway cases wrong: they are tested.
    expect(cases.some(([a, b, c]) => f32(a * b + c) !== exactFmaf(a, b, c))).to.equal(true);
  });

  it('top-k by thresholded local-maximum search equals full NMS + sort, with few or many maxima and ties', () => {
    const [H, W, J, k] = [24, 40, 4, 30];
    const det = noise(J * H * W, 3, -1, 1);
    for (let i = 0; i < H * W; i++) det[i] = f32(Math.round(det[i] * 4) / 4); // joint 0: many ties
    for (let i = H * W; i < 2 * H * W; i++) det[i] = -Math.abs(det[i]); // joint 1: no positive value
    for (let i = 2 * H * W; i < 3 * H * W; i++) det[i] = i % 97 === 0 ? 0.5 : -0.25; // joint 2: few maxima
    const tags = noise(J * H * W * 2, 4);
    const c = topK(denseMaps({ det, numJoints: J, height: H, width: W, tags, tagChannels: J, tagDim: 2 }), k, 5, 2);
    const suppressed = new Float32Array(H * W);
    for (let j = 0; j < J; j++) {
      suppressNonMaxima(det.subarray(j * H * W, (j + 1) * H * W), H, W, 5, 2, suppressed);
      const order = Array.from({ length: H * W }, (_, i) => i).sort((a, b) => suppressed[b] - suppressed[a] || a - b).slice(0, k);
      expect([...c.val.subarray(j * k, (j + 1) * k)], `values of joint ${j}`).to.deep.equal(order.map((i) => suppressed[i]));
      expect([...c.x.subarray(j * k, (j + 1) * k)], `x of joint ${j}`).to.deep.equal(order.map((i) => i % W));
      expect([...c.y.subarray(j * k, (j + 1) * k)], `y of joint ${j}`).to.deep.equal(order.map((i) => Math.floor(i / W)));
      expect(c.tag[(j * k + 3) * 2 + 1]).to.equal(tags[(j * H * W + order[3]) * 2 + 1]);
    }
  });

  /**
   * People anchored at random pixels of joint 0 (their mean tag is the tag there), to be
   * refined at joints 1 and 2, and what a full row-major scan of `det - round(|tag - mean|)`
   * gives for each (as `np.argmax`): `[x, y, value]` of the first maximum, null when its value
   * is not positive.
   */
  function refineCase(seed: number, H: number, W: number, tagChannels: number, tagDim: number) {
    const J = 3;
    const det = noise(J * H * W, seed, -2, 6);
    for (let i = 0; i < H * W * J; i += 2) det[i] = f32(Math.round(det[i])); // plateaus: the first maximum matters
    const tags = noise(tagChannels * H * W * tagDim, seed + 1, -8, 8);
    const maps: Maps = denseMaps({ det, numJoints: J, height: H, width: W, tags, tagChannels, tagDim });
    const anchors = noise(40, seed + 2, 0, 1);
    const people: number[][][] = [];
    const expected: ([number, number, number] | null)[][] = [];
    for (let n = 0; n < 20; n++) {
      const [ax, ay] = [Math.floor(anchors[2 * n] * W), Math.floor(anchors[2 * n + 1] * H)];
      people.push([[ax, ay, 1, 0, 0], [0, 0, 0, 0, 0], [0, 0, 0, 0, 0]]);
      const at = (ay * W + ax) * tagDim;
      const mean = float32MeanVector([tags.slice(at, at + tagDim)]);
      expected.push([1, 2].map((j) => {
        const plane = tagChannels === 1 ? 0 : j;
        let [best, bestScore] = [0, -Infinity];
        for (let p = 0; p < H * W; p++) {
          let distance = 0;
          for (let d = 0; d < tagDim; d++) distance = f32(distance + f32(f32(tags[(plane * H * W + p) * tagDim + d] - mean[d]) ** 2));
          const score = f32(det[j * H * W + p] - roundHalfEven(f32(Math.sqrt(distance))));
          if (score > bestScore) [best, bestScore] = [p, score];
        }
        const value = det[j * H * W + best];
        return value > 0 ? [best % W, Math.floor(best / W), value] : null;
      }));
    }
    return { maps, people, expected };
  }

  function expectRefined(people: number[][][], expected: ([number, number, number] | null)[][], what: string): void {
    people.forEach((person, n) => [1, 2].forEach((j, i) => {
      const want = expected[n][i];
      const got = want ? [Math.trunc(person[j][0]), Math.trunc(person[j][1]), person[j][2]] : person[j];
      expect(got, `${what}: person ${n} joint ${j}`).to.deep.equal(want ?? [0, 0, 0, 0, 0]);
    }));
  }

  it('refine picks the first maximum of det - round(distance), as a full scan does: one to three tag values, a shared tag map, edge tiles', () => {
    for (const [seed, H, W, tagChannels, tagDim] of [[5, 70, 90, 3, 2], [11, 33, 61, 1, 1], [17, 41, 29, 3, 3], [23, 8, 8, 1, 2]]) {
      const { maps, people, expected } = refineCase(seed, H, W, tagChannels, tagDim);
      // All at once: each search starts from the answer for a similar tag.
      refinePeople(people, maps, new RefineIndex(maps));
      expectRefined(people, expected, `${H}x${W}, ${tagChannels} tag maps of ${tagDim}`);
    }
  });

  it('refine indexes of two images used in turn on one thread each give their own answers', () => {
    const cases = [refineCase(29, 50, 77, 3, 2), refineCase(31, 64, 40, 1, 3)];
    const indexes = cases.map(({ maps }) => new RefineIndex(maps));
    for (let n = 0; n < 20; n++) {
      for (const [c, { people }] of cases.entries()) refinePeople([people[n]], cases[c].maps, indexes[c]);
    }
    cases.forEach(({ people, expected }, c) => expectRefined(people, expected, `image ${c}`));
  });

  it('flip test as one batch or as two runs gives the same people', async () => {
    const config = presetConfig('tiny_coco');
    const weights = randomWeights(buildNetworkGraph(config.model), 3);
    const image: RgbImage = { data: Uint8Array.from(noise(200 * 150 * 3, 8, 0, 255), Math.floor), width: 200, height: 150 };
    const results = [];
    for (const flipBatch of [true, false]) {
      const estimator = await createEstimator({ preset: 'tiny_coco', weights, flipTest: true, inputSize: 128, flipBatch });
      results.push(await estimator.estimatePoses(image));
      await estimator.dispose();
    }
    expect(results[0].length).to.be.greaterThan(0);
    expect(results[1]).to.deep.equal(results[0]);
  });

  it('an estimator times its first flip pairs both ways, then keeps one: the same people all along; a flipBatch given is kept from the start', async () => {
    const config = presetConfig('tiny_coco');
    const weights = randomWeights(buildNetworkGraph(config.model), 3);
    const image: RgbImage = { data: Uint8Array.from(noise(200 * 150 * 3, 8, 0, 255), Math.floor), width: 200, height: 150 };
    // Its network input at 128: 128 high, 192 wide (the width rounded up to the heatmaps' multiple).
    const [width, height] = [192, 128];
    // One session (concurrentFlip, the default on two cores, runs the pair at once on two).
    const estimator = await createEstimator({ preset: 'tiny_coco', weights, flipTest: true, inputSize: 128, concurrentFlip: false });
    try {
      const first = await estimator.estimatePoses(image);
      expect(first.length).to.be.greaterThan(0);
      for (let i = 1; i < FLIP_PAIRS_TO_CHOOSE; i++) {
        expect(estimator.flipPairBatched(width, height), `after ${i} estimates`).to.equal(undefined);
        expect(await estimator.estimatePoses(image)).to.deep.equal(first);
      }
      expect(estimator.flipPairBatched(width, height)).to.be.a('boolean');
      expect(await estimator.estimatePoses(image)).to.deep.equal(first);
      expect(estimator.flipPairBatched(4096, 512), 'over 1024x1024 pixels').to.equal(false);
    } finally {
      await estimator.dispose();
    }
    for (const flipBatch of [true, false]) {
      const fixed = await createEstimator({ preset: 'tiny_coco', weights, flipTest: true, inputSize: 128, flipBatch });
      expect(fixed.flipPairBatched(width, height)).to.equal(flipBatch);
      expect(fixed.flipPairBatched(4096, 512)).to.equal(flipBatch);
      await fixed.dispose();
    }
  });

  it('inferAndDecode runs the flip test as one batch by default up to 1024x1024 input pixels, as two runs above, with the same people', async () => {
    const config = { ...presetConfig('tiny_coco') };
    config.test = { ...config.test, flipTest: true, inputSize: 128 };
    config.dataset = { ...config.dataset, inputSize: 128 };
    const network = await createNetwork(config, randomWeights(buildNetworkGraph(config.model), 6));
    const batches: number[] = [];
    const recording = Object.assign(Object.create(network) as typeof network, {
      run: (...args: Parameters<typeof network.run>) => {
        batches.push(args[1][0]);
        return network.run(...args);
      },
    });
    const keypoints = keypointDefinition(config.dataset.kind);
    try {
      // A photo (160x128 input) and a panorama (8320x128 input: 1.06 MP).
      for (const [width, height, expected] of [[200, 160, [2]], [8320, 128, [1, 1]]] as const) {
        const image: RgbImage = { data: Uint8Array.from(noise(width * height * 3, 13, 0, 255), Math.floor), width, height };
        const prepared = testScaleInputs(image, 128, [1]);
        batches.length = 0;
        const byDefault = await inferAndDecode(recording, prepared.inputs, prepared.baseSize, config.test, keypoints);
        expect(batches, `${width}x${height}`).to.deep.equal(expected);
        const other = await inferAndDecode(network, prepared.inputs, prepared.baseSize, config.test, keypoints, { flipBatch: expected.length === 2 });
        expect(byDefault.people.length, `${width}x${height}`).to.be.greaterThan(0);
        expect(other.people).to.deep.equal(byDefault.people);
      }
    } finally {
      await network.dispose();
    }
  });

  it('a network of two sessions (concurrentFlip) runs the flip pair at once, with the people of one session, up to 4 million input pixels; one pass after the other above', async () => {
    const config = { ...presetConfig('tiny_coco') };
    config.test = { ...config.test, flipTest: true, inputSize: 128 };
    config.dataset = { ...config.dataset, inputSize: 128 };
    const weights = randomWeights(buildNetworkGraph(config.model), 6);
    const [twin, single] = await Promise.all([true, false].map((concurrentFlip) => createNetwork(config, weights, { concurrentFlip })));
    expect([twin.concurrentRuns, single.concurrentRuns]).to.deep.equal([2, undefined]);
    let running = 0;
    let mostAtOnce = 0;
    const recording = Object.assign(Object.create(twin) as typeof twin, {
      run: async (...args: Parameters<typeof twin.run>) => {
        mostAtOnce = Math.max(mostAtOnce, ++running);
        try {
          return await twin.run(...args);
        } finally {
          running--;
        }
      },
    });
    const keypoints = keypointDefinition(config.dataset.kind);
    try {
      // A photo (160x128 input) and a strip (32832x128 input: 4.2 MP).
      for (const [width, height, atOnce] of [[200, 160, 2], [32800, 128, 1]] as const) {
        const image: RgbImage = { data: Uint8Array.from(noise(width * height * 3, 13, 0, 255), Math.floor), width, height };
        const prepared = testScaleInputs(image, 128, [1]);
        mostAtOnce = 0;
        const concurrent = await inferAndDecode(recording, prepared.inputs, prepared.baseSize, config.test, keypoints);
        expect(mostAtOnce, `${width}x${height}: runs at once`).to.equal(atOnce);
        // The strip's people (its maps take seconds to decode) come out of the two runs that single sessions give already.
        if (atOnce === 1) continue;
        const alone = await inferAndDecode(single, prepared.inputs, prepared.baseSize, config.test, keypoints);
        expect(alone.people.length, `${width}x${height}`).to.be.greaterThan(0);
        expect(concurrent.people).to.deep.equal(alone.people);
      }
    } finally {
      await Promise.all([twin.dispose(), single.dispose()]);
    }
  });

  it('post-processing on two threads or one gives the same people, image after image', async () => {
    const config = presetConfig('tiny_coco');
    const weights = randomWeights(buildNetworkGraph(config.model), 4);
    const images: RgbImage[] = [[200, 150, 9], [120, 160, 10], [200, 150, 11]].map(([width, height, seed]) => ({
      data: Uint8Array.from(noise(width * height * 3, seed, 0, 255), Math.floor),
      width,
      height,
    }));
    const results = [];
    for (const parallelPostprocessing of [true, false]) {
      const estimator = await createEstimator({ preset: 'tiny_coco', weights, flipTest: true, inputSize: 128, parallelPostprocessing });
      results.push(await estimator.estimatePoses(images));
      await estimator.dispose();
    }
    expect(results[0].every((people) => people.length > 0)).to.equal(true);
    expect(results[0]).to.deep.equal(results[1]);
  });

  it('a post-processing worker that cannot start leaves the image to the calling thread, with the same people', async () => {
    const config = { ...presetConfig('tiny_coco') };
    config.test = { ...config.test, flipTest: true, inputSize: 128 };
    config.dataset = { ...config.dataset, inputSize: 128 };
    const network = await createNetwork(config, randomWeights(buildNetworkGraph(config.model), 5));
    const image: RgbImage = { data: Uint8Array.from(noise(160 * 120 * 3, 12, 0, 255), Math.floor), width: 160, height: 120 };
    const prepared = testScaleInputs(image, 128, [1]);
    const keypoints = keypointDefinition(config.dataset.kind);
    try {
      const expected = await inferAndDecode(network, prepared.inputs, prepared.baseSize, config.test, keypoints);
      const failing = new ParallelPostprocessing(() => new Worker('throw new Error("no worker here")', { eval: true }));
      const got = await inferAndDecode(network, prepared.inputs, prepared.baseSize, config.test, keypoints, { postprocessing: failing, workspace: new Workspace({ shared: true }) });
      expect(failing.broken).to.equal(true);
      expect(expected.people.length).to.be.greaterThan(0);
      expect(got.people).to.deep.equal(expected.people);
    } finally {
      await network.dispose();
    }
  });
});
