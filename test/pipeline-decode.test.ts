import { expect } from 'chai';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import ndarray from 'ndarray';
import type { NdArray } from 'ndarray';
import { presetConfig, type PresetName } from '../src/config/presets.js';
import type { TestSettings } from '../src/config/experiment.js';
import { COCO_KEYPOINTS, keypointDefinition } from '../src/datasets.js';
import { readNpy } from '../src/io/npy.js';
import { aggregate, decodePoses, DecodeError, toPeople, type PoseSelection, type ScaleOutputs } from '../src/decode.js';
import { imageProjection, toImageCoordinates } from '../src/grouping/transform.js';
import { resizeBilinear, fmaf } from '../src/aggregate/resize.js';
import { caseDirs, describeFixtures } from './helpers/fixtures.js';

const J = 17;
const tiny = (): TestSettings => presetConfig('tiny_coco').test;

/** Deterministic pseudo-random values in [-1, 1). */
function noise(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 31 - 1;
  });
}

function tensor(c: number, h: number, w: number, seed: number): NdArray<Float32Array> {
  return ndarray(noise(c * h * w, seed), [1, c, h, w]);
}

/** What the network would return for the mirrored input if it were perfectly flip-equivariant. */
function mirrored(t: NdArray<Float32Array>, flipIndex: readonly number[]): NdArray<Float32Array> {
  const [, c, h, w] = t.shape;
  const out = ndarray(new Float32Array(c * h * w), [1, c, h, w]);
  for (let ch = 0; ch < c; ch++) {
    const src = ch < J ? flipIndex[ch] : J + flipIndex[ch - J];
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) out.set(0, ch, y, x, t.get(0, src, y, w - 1 - x));
  }
  return out;
}

describe('bilinear resize (torch interpolate, align_corners=False)', () => {
  it('upsamples with half-pixel centres and clamps at the borders', () => {
    const p = resizeBilinear({ data: Float32Array.from([1, 2]), channels: 1, height: 1, width: 2 }, 1, 4);
    expect([...p.data]).to.deep.equal([1, 1.25, 1.75, 2]);
  });

  it('downsamples by averaging the two middle taps', () => {
    const p = resizeBilinear({ data: Float32Array.from([0, 4, 8, 12]), channels: 1, height: 1, width: 4 }, 1, 2);
    expect([...p.data]).to.deep.equal([2, 10]);
  });

  it('copies an axis that keeps its size', () => {
    const data = noise(12, 3);
    expect([...resizeBilinear({ data, channels: 1, height: 3, width: 4 }, 3, 4).data]).to.deep.equal([...data]);
  });

  it('rounds fused multiply-adds once', () => {
    const [a, b] = [Math.fround(1 + 2 ** -12), Math.fround(1 - 2 ** -12)];
    // a * b = 1 - 2^-24 exactly. Adding 2^-25 - 2^-60 lands just below the midpoint to 1; a double
    // sum loses the 2^-60 and would round the resulting exact midpoint to even (1).
    expect(fmaf(a, b, 0)).to.equal(Math.fround(1 - 2 ** -24));
    expect(fmaf(a, b, 2 ** -25 - 2 ** -60)).to.equal(Math.fround(1 - 2 ** -24));
    expect(fmaf(a, b, 2 ** -25 + 2 ** -60)).to.equal(1);
    expect(fmaf(a, a, -1)).to.equal(Math.fround(2 ** -11 + 2 ** -24));
  });
});

describe('aggregation', () => {
  const plain = [tensor(2 * J, 4, 6, 1), tensor(J, 8, 12, 2)];
  const scale1 = (flipped?: NdArray<Float32Array>[]): ScaleOutputs[] => [{ scale: 1, outputs: plain, flipped }];

  it('averages stage heatmaps at the last stage resolution and keeps the first stage tags', () => {
    const s = { ...tiny(), flipTest: false, project2image: false };
    const { heatmaps, tags } = aggregate(scale1(), s, COCO_KEYPOINTS, [48, 32]);
    expect(heatmaps.shape).to.deep.equal([1, J, 8, 12]);
    expect(tags.shape).to.deep.equal([1, J, 8, 12, 1]);
    const up = resizeBilinear({ data: plain[0].data.slice(0, J * 24), channels: J, height: 4, width: 6 }, 8, 12);
    expect(heatmaps.get(0, 3, 5, 7)).to.equal(Math.fround(Math.fround(up.data[(3 * 8 + 5) * 12 + 7] + plain[1].get(0, 3, 5, 7)) / 2));
  });

  it('flips the mirrored pass back with the flip index (an equivariant network averages to the plain maps)', () => {
    const s = { ...tiny(), project2image: true };
    const flipped = plain.map((t) => mirrored(t, COCO_KEYPOINTS.flipIndex));
    const both = aggregate(scale1(flipped), s, COCO_KEYPOINTS, [24, 16]);
    const single = aggregate(scale1(), { ...s, flipTest: false }, COCO_KEYPOINTS, [24, 16]);
    expect(both.heatmaps.shape).to.deep.equal([1, J, 16, 24]);
    expect(both.tags.shape).to.deep.equal([1, J, 16, 24, 2]);
    for (let i = 0; i < single.heatmaps.data.length; i += 37) {
      expect(both.heatmaps.data[i]).to.be.closeTo(single.heatmaps.data[i], 1e-6);
      expect(both.tags.data[2 * i + 1]).to.be.closeTo(single.tags.data[i], 1e-6);
    }
  });

  it('keeps tags only from scale 1 when several scales are tested', () => {
    const s = { ...tiny(), flipTest: false, scaleFactor: [2, 1] };
    const big = [tensor(2 * J, 8, 12, 5), tensor(J, 16, 24, 6)];
    const { heatmaps, tags } = aggregate([{ scale: 1, outputs: plain }, { scale: 2, outputs: big }], s, COCO_KEYPOINTS, [24, 16]);
    expect(heatmaps.shape).to.deep.equal([1, J, 16, 24]);
    expect(tags.shape).to.deep.equal([1, J, 16, 24, 1]);
    const alone = aggregate(scale1(), { ...s, scaleFactor: [1] }, COCO_KEYPOINTS, [24, 16]);
    expect([...tags.data]).to.deep.equal([...alone.tags.data]);
  });

  it('BAD CALL - NaN in a network output', () => {
    const bad = tensor(2 * J, 4, 6, 1);
    bad.set(0, 20, 2, 3, NaN);
    const s = { ...tiny(), flipTest: false };
    expect(() => aggregate([{ scale: 1, outputs: [bad, plain[1]] }], s, COCO_KEYPOINTS, [24, 16]))
      .to.throw(DecodeError, /network output 0 at scale 1 contains NaN \(first at index \[0, 20, 2, 3\]\)/);
  });

  it('BAD CALL - Infinity in a flipped output', () => {
    const bad = tensor(J, 8, 12, 2);
    bad.set(0, 0, 0, 0, -Infinity);
    expect(() => aggregate(scale1([plain[0], bad]), tiny(), COCO_KEYPOINTS, [24, 16]))
      .to.throw(DecodeError, /network output 1 at scale 1 \(flipped\) contains Infinity/);
  });

  it('BAD CALL - outputs with a channel count that does not fit the joint count', () => {
    const s = { ...tiny(), flipTest: false };
    expect(() => aggregate([{ scale: 1, outputs: [tensor(2 * 14, 4, 6, 1), tensor(14, 8, 12, 2)] }], s, COCO_KEYPOINTS, [24, 16]))
      .to.throw(DecodeError, /network output 0 at scale 1 has 28 channels; with 17 joints/);
  });

  it('BAD CALL - tag maps kept from several outputs that are per joint in one and shared in another (the reference cannot stack them)', () => {
    const s = { ...tiny(), flipTest: false, project2image: false, withAe: [true, true] };
    const message = /^network outputs 0 and 1 at scale 1 carry 17 and 1 tag maps; the tag maps settings\.withAe keeps must be alike/;
    expect(() => aggregate([{ scale: 1, outputs: [plain[0], tensor(J + 1, 8, 12, 2)] }], s, COCO_KEYPOINTS, [24, 16])).to.throw(DecodeError, message);
    // The other way round it grouped with the shared map's values as if they were per joint.
    expect(() => aggregate([{ scale: 1, outputs: [tensor(J + 1, 4, 6, 1), tensor(2 * J, 8, 12, 2)] }], s, COCO_KEYPOINTS, [24, 16]))
      .to.throw(DecodeError, /^network outputs 0 and 1 at scale 1 carry 1 and 17 tag maps/);
    // Alike tag maps are stacked; an output whose tags settings.withAe leaves out may differ.
    expect(aggregate([{ scale: 1, outputs: [plain[0], tensor(2 * J, 8, 12, 2)] }], s, COCO_KEYPOINTS, [24, 16]).tags.shape).to.deep.equal([1, J, 8, 12, 2]);
    expect(aggregate([{ scale: 1, outputs: [plain[0], tensor(J + 1, 8, 12, 2)] }], { ...s, withAe: [true, false] }, COCO_KEYPOINTS, [24, 16]).tags.shape).to.deep.equal([1, J, 8, 12, 1]);
  });

  it('BAD CALL - a different number of outputs than the settings describe', () => {
    expect(() => aggregate([{ scale: 1, outputs: [plain[0]] }], { ...tiny(), flipTest: false }, COCO_KEYPOINTS, [24, 16]))
      .to.throw(DecodeError, /got 1 network outputs but settings describe 2/);
  });

  it('BAD CALL - outputs for other scales than settings.scaleFactor', () => {
    expect(() => aggregate([{ scale: 2, outputs: plain }], { ...tiny(), flipTest: false }, COCO_KEYPOINTS, [24, 16]))
      .to.throw(DecodeError, /outputs are given for scales \[2\] but settings.scaleFactor is \[1\]/);
  });

  it('BAD CALL - flip test without flipped outputs, or flipped outputs without flip test', () => {
    expect(() => aggregate(scale1(), tiny(), COCO_KEYPOINTS, [24, 16])).to.throw(DecodeError, /no flipped outputs/);
    expect(() => aggregate(scale1(plain), { ...tiny(), flipTest: false }, COCO_KEYPOINTS, [24, 16])).to.throw(DecodeError, /flipTest is off/);
  });

  it('BAD CALL - flipped outputs of another shape', () => {
    expect(() => aggregate(scale1([plain[0], tensor(J, 8, 10, 2)]), tiny(), COCO_KEYPOINTS, [24, 16])).to.throw(DecodeError, /differ in shape/);
  });

  it('BAD CALL - several scales without scale 1, or no output selected for tags, leave no tag maps (the reference keeps tags at scale 1 only)', () => {
    const s = { ...tiny(), flipTest: false, scaleFactor: [2, 0.5] };
    const outs = [{ scale: 2, outputs: plain }, { scale: 0.5, outputs: plain }];
    expect(() => aggregate(outs, s, COCO_KEYPOINTS, [24, 16])).to.throw(DecodeError, /settings\.scaleFactor must be a list holding 1 when it has several scales \(the tags come from scale 1\)/);
    expect(() => aggregate(scale1(), { ...tiny(), flipTest: false, withAe: [false, false] }, COCO_KEYPOINTS, [24, 16])).to.throw(DecodeError, /no tag maps to group with/);
  });

  it('BAD CALL - settings the reference cannot run, a flip index that does not order the joints, outputs not in a Float32Array', () => {
    const s = { ...tiny(), flipTest: false };
    const call = (settings: TestSettings, def = COCO_KEYPOINTS, outputs = plain) => () => aggregate([{ scale: 1, outputs }], settings, def, [24, 16]);
    expect(call({ ...s, maxNumPeople: -1 })).to.throw(DecodeError, 'settings.maxNumPeople must be a positive integer, got -1');
    expect(call({ ...s, maxNumPeople: 1.5 })).to.throw(DecodeError, 'settings.maxNumPeople must be a positive integer, got 1.5');
    expect(call({ ...s, detectionThreshold: NaN })).to.throw(DecodeError, 'settings.detectionThreshold must be a number >= 0, got NaN');
    expect(call({ ...s, tagThreshold: -1 })).to.throw(DecodeError, 'settings.tagThreshold must be a number > 0, got -1');
    expect(call({ ...s, refine: 'false' as unknown as boolean })).to.throw(DecodeError, 'settings.refine must be true or false, got "false"');
    // These were read as JavaScript truth values: a project2image left out meant false, 'no' meant true.
    expect(call({ ...s, project2image: undefined as unknown as boolean })).to.throw(DecodeError, 'settings.project2image must be true or false, got undefined');
    expect(call({ ...s, useDetectionVal: 'no' as unknown as boolean })).to.throw(DecodeError, 'settings.useDetectionVal must be true or false, got "no"');
    expect(call({ ...s, ignoreTooMuch: 0 as unknown as boolean })).to.throw(DecodeError, 'settings.ignoreTooMuch must be true or false, got 0');
    expect(call({ ...s, withHeatmaps: [1, 0] as unknown as boolean[] })).to.throw(DecodeError, /^settings\.withHeatmaps must be a list selecting at least one network output, true or false per output/);
    expect(call({ ...s, withAe: undefined as unknown as boolean[] })).to.throw(DecodeError, /^settings\.withAe must be a list of true or false per network output, as long as withHeatmaps \(TEST\.WITH_AE\): the tag maps kept, got undefined$/);
    const flipIndex = [...COCO_KEYPOINTS.flipIndex];
    flipIndex[3] = 99;
    expect(call(s, { ...COCO_KEYPOINTS, flipIndex })).to.throw(DecodeError, /flip index must order the joints 0 to 16, got \[0, 2, 1, 99, /);
    const plainArray = ndarray(Array.from(plain[0].data), plain[0].shape) as unknown as NdArray<Float32Array>;
    expect(call(s, COCO_KEYPOINTS, [plainArray, plain[1]])).to.throw(DecodeError, 'network output 0 at scale 1 must hold a Float32Array, got Array');
  });

  it('BAD CALL - a wrong-rank output', () => {
    const flat = ndarray(new Float32Array(2 * J * 24), [2 * J, 4, 6]);
    expect(() => aggregate([{ scale: 1, outputs: [flat, plain[1]] }], { ...tiny(), flipTest: false }, COCO_KEYPOINTS, [24, 16]))
      .to.throw(DecodeError, /must have shape \[1, C, H, W\], got \[34, 4, 6\]/);
  });
});

describe('decodePoses on planted people', () => {
  it('finds two people and maps them to image pixels', () => {
    // Input 64 x 64 for a 128 x 128 image: outputs at 16 x 16 (heatmaps + tags) and 32 x 32.
    const out0 = ndarray(new Float32Array(2 * J * 16 * 16), [1, 2 * J, 16, 16]);
    const out1 = ndarray(new Float32Array(J * 32 * 32), [1, J, 32, 32]);
    for (let j = 0; j < J; j++) {
      for (let y = 0; y < 16; y++) for (let x = 0; x < 16; x++) out0.set(0, J + j, y, x, x < 8 ? -1 : 2);
      out1.set(0, j, 4 + j, 5, 0.8); // left person
      out1.set(0, j, 4 + j, 25, 0.6); // right person
    }
    const s = { ...tiny(), flipTest: false, project2image: false };
    const r = decodePoses([{ scale: 1, outputs: [out0, out1] }], { baseSize: [64, 64], center: [64, 64], scale: [0.64, 0.64] }, s, COCO_KEYPOINTS);
    expect(r.people.length).to.equal(2);
    const [left, right] = r.people;
    expect(left.score).to.be.closeTo(0.4, 1e-6);
    expect(right.score).to.be.closeTo(0.3, 1e-6);
    expect(left.keypoints.map((k) => k.name)).to.deep.equal(COCO_KEYPOINTS.names);
    // Heatmap pixel (5, 4) → centre 5.5 ± 0.25 → image x = 4 * heatmap x.
    expect(left.keypoints[0].x).to.be.closeTo(4 * 5.25, 1e-4);
    expect(left.keypoints[0].y).to.be.closeTo(4 * 4.25, 1e-4);
    expect(right.keypoints[16].x).to.be.closeTo(4 * 25.25, 1e-4);
    expect(right.box.yMax - right.box.yMin).to.be.closeTo(4 * 16, 1e-4);
    expect(r.final[0][0][3]).to.equal(-1);
  });

  it('reads ndarray views through their strides and offset, as the contiguous copies of their values', () => {
    const contiguous = (v: NdArray<Float32Array>) => {
      const [, c, h, w] = v.shape;
      const out = ndarray(new Float32Array(c * h * w), [1, c, h, w]);
      for (let ch = 0; ch < c; ch++) for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) out.set(0, ch, y, x, v.get(0, ch, y, x));
      return out;
    };
    // Transposed, a left and a right crop of a wider map, mirrored by a negative step.
    const outputs = [tensor(2 * J, 16, 16, 1).transpose(0, 1, 3, 2), tensor(J, 32, 64, 2).hi(1, J, 32, 32)];
    const flipped = [tensor(2 * J, 16, 16, 3).step(1, 1, 1, -1), tensor(J, 32, 64, 4).lo(0, 0, 0, 32)];
    const geometry = { baseSize: [64, 64] as [number, number], center: [64, 64] as [number, number], scale: [0.64, 0.64] as [number, number] };
    const views = decodePoses([{ scale: 1, outputs, flipped }], geometry, tiny(), COCO_KEYPOINTS);
    const copies = decodePoses([{ scale: 1, outputs: outputs.map(contiguous), flipped: flipped.map(contiguous) }], geometry, tiny(), COCO_KEYPOINTS);
    expect(views.people.length).to.be.above(2);
    expect(views.people).to.deep.equal(copies.people);
  });

  it('takes read-only outputs and geometry (a frozen store, `as const`), as the same values in mutable arrays', () => {
    // Compiling is the test: with ScaleOutputs.outputs / flipped and ImageGeometry's pairs typed as mutable arrays, `npm run typecheck` fails here.
    const outputs: readonly NdArray<Float32Array>[] = Object.freeze([tensor(2 * J, 16, 16, 5), tensor(J, 32, 32, 6)]);
    const flipped: readonly NdArray<Float32Array>[] = Object.freeze(outputs.map((t) => mirrored(t, COCO_KEYPOINTS.flipIndex)));
    const geometry = { baseSize: [64, 64], center: [64, 64], scale: [0.64, 0.64] } as const;
    const frozen = decodePoses([{ scale: 1, outputs, flipped }], geometry, tiny(), COCO_KEYPOINTS);
    const mutable = decodePoses([{ scale: 1, outputs: [...outputs], flipped: [...flipped] }], { baseSize: [64, 64], center: [64, 64], scale: [0.64, 0.64] }, tiny(), COCO_KEYPOINTS);
    expect(frozen.people.length).to.be.above(2);
    expect(frozen.people).to.deep.equal(mutable.people);
  });

  it('BAD CALL - outputs so large that their sums overflow float32', () => {
    const huge = (c: number, h: number, w: number) => ndarray(new Float32Array(c * h * w).fill(3e38), [1, c, h, w]);
    const s = { ...tiny(), flipTest: false, project2image: false };
    const decode = () => decodePoses([{ scale: 1, outputs: [huge(2 * J, 16, 16), huge(J, 32, 32)] }], { baseSize: [64, 64], center: [64, 64], scale: [0.64, 0.64] }, s, COCO_KEYPOINTS);
    expect(decode).to.throw(DecodeError, /network output 0 at scale 1 holds 3\.00000\d+e\+38 \(first at index \[0, 0, 0, 0\]\), too large to be averaged in float32 \(the limit is 1\.8e\+28\)/);
  });

  it('BAD CALL - a geometry that would give non-finite or collapsed coordinates', () => {
    const outputs = [tensor(2 * J, 16, 16, 3), tensor(J, 32, 32, 4)];
    const s = { ...tiny(), flipTest: false, project2image: false };
    const decode = (center: [number, number], scale: [number, number]) => () => decodePoses([{ scale: 1, outputs }], { baseSize: [64, 64], center, scale }, s, COCO_KEYPOINTS);
    expect(decode([NaN, 64], [0.64, 0.64])).to.throw(DecodeError, 'geometry.center must be two finite numbers, got [NaN, 64]');
    expect(decode([64, 64], [0, 0])).to.throw(DecodeError, 'geometry.scale must be two positive numbers, got [0, 0]');
  });

  it('BAD CALL - arguments that are not what decodePoses takes: a DecodeError naming each, not a TypeError from inside', () => {
    const outputs = [tensor(2 * J, 16, 16, 3), tensor(J, 32, 32, 4)];
    const s = { ...tiny(), flipTest: false };
    const geometry = { baseSize: [64, 64] as [number, number], center: [64, 64] as [number, number], scale: [0.64, 0.64] as [number, number] };
    const decode = (perScale: unknown, g: unknown = geometry, settings: unknown = s, def: unknown = COCO_KEYPOINTS) => () =>
      decodePoses(perScale as ScaleOutputs[], g as typeof geometry, settings as typeof s, def as typeof COCO_KEYPOINTS);
    expect(decode([{ scale: 1, outputs }])).to.not.throw();
    const cases: [() => unknown, RegExp][] = [
      [decode(undefined), /^outputs must be an array with one \{ scale, outputs, flipped\? \} per test scale$/],
      [decode([{ scale: 1, outputs }], null), /^geometry must be \{ baseSize: \[w, h\], center: \[x, y\], scale: \[w, h\] \}/],
      [decode([{ scale: 1, outputs }], geometry, null), /^settings must be test settings/],
      [decode([{ scale: 1, outputs }], geometry, s, null), /^the keypoint definition must have names and a flip index/],
      [decode([{ scale: 1, outputs: undefined }]), /^scale 1: outputs must be an array of network outputs/],
      [decode([null]), /^outputs must be an array with one \{ scale, outputs, flipped\? \} per test scale$/],
      [decode([{ scale: 1, outputs, flipped: outputs[0] }], geometry, { ...s, flipTest: true }), /^scale 1: flipped must be an array of network outputs, got object$/],
      [decode([{ scale: 1, outputs: [{ data: outputs[0].data, shape: outputs[0].shape }, outputs[1]] }]), /^network output 0 at scale 1 must be an ndarray/],
      [decode([{ scale: 1, outputs: [ndarray(new Float32Array(100), [1, 2 * J, 16, 16]), outputs[1]] }]), /^network output 0 at scale 1 holds 100 values, too few for its shape \[1, 34, 16, 16\]/],
      [decode([{ scale: 1, outputs }], { ...geometry, baseSize: [200000, 200000] }), /^base size \[200000, 200000\] is larger than the network input at scale 1 can be \(4 times the first output of scale 1, \[64, 64\]\)$/],
    ];
    for (const [call, message] of cases) expect(call, String(message)).to.throw(DecodeError, message);
    // The workspace's options for a workspace: 'workspace.keep is not a function' from inside before.
    expect(() => decodePoses([{ scale: 1, outputs }], geometry, s, COCO_KEYPOINTS, { shared: true } as never))
      .to.throw(DecodeError, /^workspace must be a Workspace \(new Workspace\(\), or undefined for a fresh one\), got Object$/);
    // A scale read from text: reported as 'outputs are given for scales [1] but settings.scaleFactor is [1]' before.
    expect(decode([{ scale: '1', outputs }])).to.throw(DecodeError, /^the scale of each outputs entry must be a number \(one of settings\.scaleFactor\), got "1"$/);
    expect(() => aggregate([{ scale: 1, outputs }], { ...s, project2image: true }, COCO_KEYPOINTS, undefined as unknown as [number, number]))
      .to.throw(DecodeError, /^base size must be two positive integers \[w, h\], got undefined$/);
  });

  it('BAD CALL - a selection out of range, checked as the estimator checks maxPoses and minPoseScore', () => {
    const outputs = [tensor(2 * J, 16, 16, 3), tensor(J, 32, 32, 4)];
    const s = { ...tiny(), flipTest: false };
    const geometry = { baseSize: [64, 64] as [number, number], center: [64, 64] as [number, number], scale: [0.64, 0.64] as [number, number] };
    const decode = (selection: unknown) => () => decodePoses([{ scale: 1, outputs }], geometry, s, COCO_KEYPOINTS, undefined, selection as PoseSelection);
    const all = decode(undefined)().people.length;
    expect(all).to.be.above(2);
    expect(decode({ maxPoses: 2 })().people).to.have.length(2);
    // maxPoses -1 kept all but the last person, 0 nobody; a NaN score kept nobody: all without a word.
    expect(decode({ maxPoses: -1 })).to.throw(DecodeError, /^selection\.maxPoses must be a positive integer, got -1$/);
    expect(decode({ maxPoses: 0 })).to.throw(DecodeError, /^selection\.maxPoses must be a positive integer, got 0$/);
    expect(decode({ minPoseScore: Number.NaN })).to.throw(DecodeError, /^selection\.minPoseScore must be a finite number, got NaN$/);
    expect(decode(null)).to.throw(DecodeError, /^selection: options must be an object with any of maxPoses, minPoseScore; got Null$/);
    // A misspelt field kept every person without a word.
    expect(decode({ maxPose: 2 })).to.throw(DecodeError, /^selection: unknown option maxPose; its options are maxPoses, minPoseScore$/);
  });
});

describe('toPeople', () => {
  it('names the joints, projects them as toImageCoordinates does, and boxes the detected ones (a zero box without any)', () => {
    const names = COCO_KEYPOINTS.names;
    const row = (j: number, score: number) => [10 + 3 * j, 40 - 2 * j, score, 0.5];
    const grouped = [names.map((_, j) => row(j, j % 3 === 0 ? 0 : 0.5)), names.map((_, j) => row(j, 0))];
    const [center, scale, size] = [[64, 48], [0.64, 0.48], [32, 24]] as [number, number][];
    const people = toPeople(grouped, [0.7, 0.1], COCO_KEYPOINTS, imageProjection(center, scale, size));
    const final = toImageCoordinates(grouped, center, scale, size);
    people.forEach((person, p) => {
      expect(person.keypoints.map((k) => [k.name, k.x, k.y, k.score])).to.deep.equal(final[p].map((r, j) => [names[j], r[0], r[1], r[2]]));
    });
    expect(people.map((person) => person.score)).to.deep.equal([0.7, 0.1]);
    const detected = final[0].filter((r) => r[2] > 0);
    const [xs, ys] = [detected.map((r) => r[0]), detected.map((r) => r[1])];
    const [xMin, xMax, yMin, yMax] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
    expect(people[0].box).to.deep.equal({ xMin, yMin, xMax, yMax, width: xMax - xMin, height: yMax - yMin });
    expect(people[1].box).to.deep.equal({ xMin: 0, yMin: 0, xMax: 0, yMax: 0, width: 0, height: 0 });
  });
});

interface PipelineExpected {
  model: PresetName;
  settings: {
    flip_test: boolean; scale_factor: number[]; adjust: boolean; refine: boolean; project2image: boolean;
    detection_threshold: number; tag_threshold: number; nms_kernel: number; nms_padding: number;
    max_num_people: number; input_size: number; num_joints: number;
  };
  base_size: [number, number];
  scales: { scale: number; center: [number, number]; scale_wh: [number, number] }[];
  final_heatmaps_shape: number[];
  final_tags_shape: number[];
  final_heatmaps_sum: number;
  final_tags_sum: number;
  grouped: number[][][];
  scores: number[];
  final: number[][][];
}

/** The model's configuration with the case's `TEST.*` / input size overrides. */
function caseSettings(e: PipelineExpected): { settings: TestSettings; kind: 'coco' | 'crowdpose' } {
  const cfg = presetConfig(e.model);
  const s = e.settings;
  expect(s.num_joints, 'joints of the case vs the preset').to.equal(cfg.model.numJoints);
  return {
    kind: cfg.dataset.kind,
    settings: {
      ...cfg.test,
      flipTest: s.flip_test, scaleFactor: s.scale_factor, adjust: s.adjust, refine: s.refine, project2image: s.project2image,
      detectionThreshold: s.detection_threshold, tagThreshold: s.tag_threshold, nmsKernel: s.nms_kernel, nmsPadding: s.nms_padding,
      maxNumPeople: s.max_num_people, inputSize: s.input_size,
    },
  };
}

function loadOutputs(dir: string, prefix: string): NdArray<Float32Array>[] {
  const files = readdirSync(dir).filter((f) => new RegExp(`^${prefix.replace('.', '\\.')}\\d+\\.npy$`).test(f));
  return files
    .map((f) => Number(f.slice(prefix.length, -4)))
    .sort((a, b) => a - b)
    .map((i) => {
      const a = readNpy(join(dir, `${prefix}${i}.npy`));
      return ndarray(a.data, a.shape);
    });
}

function sum(data: Float32Array): number {
  let s = 0;
  for (let i = 0; i < data.length; i++) s += data[i];
  return s;
}

function expectRows(got: number[][][], want: number[][][], what: string, coordTol: number): void {
  expect(got.length, `${what}: number of people`).to.equal(want.length);
  want.forEach((person, p) => {
    expect(got[p].length, `${what}: joints of person ${p}`).to.equal(person.length);
    person.forEach((row, j) => {
      expect(got[p][j].length, `${what}: columns of person ${p} joint ${j}`).to.equal(row.length);
      row.forEach((v, d) => {
        const tol = d < 2 ? coordTol : 1e-5;
        expect(got[p][j][d], `${what}: person ${p} joint ${j} column ${d}`).to.be.closeTo(v, tol);
      });
    });
  });
}

describeFixtures('decodePoses on the reference pipeline cases', 'pipeline', () => {
  const dirs = caseDirs('pipeline').filter((d) => existsSync(join(d, 'expected.json')));

  it('has the cases', () => {
    expect(dirs.length).to.be.greaterThan(0);
  });

  for (const dir of dirs) {
    it(basename(dir), () => {
      const e = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as PipelineExpected;
      const { settings, kind } = caseSettings(e);
      const perScale: ScaleOutputs[] = e.scales.map(({ scale }) => ({
        scale,
        outputs: loadOutputs(dir, `output_s${scale}_`),
        flipped: settings.flipTest ? loadOutputs(dir, `output_s${scale}_flip_`) : undefined,
      }));
      const last = e.scales[e.scales.length - 1];
      const r = decodePoses(perScale, { baseSize: e.base_size, center: last.center, scale: last.scale_wh }, settings, keypointDefinition(kind));

      expect(r.heatmaps.shape).to.deep.equal(e.final_heatmaps_shape);
      expect(r.tags.shape).to.deep.equal(e.final_tags_shape);
      expect(sum(r.heatmaps.data)).to.be.closeTo(e.final_heatmaps_sum, 1e-3 * Math.abs(e.final_heatmaps_sum));
      expect(sum(r.tags.data)).to.be.closeTo(e.final_tags_sum, 1e-3 * Math.abs(e.final_tags_sum));
      expectRows(r.grouped, e.grouped, 'grouped', 1e-3);
      expect(r.scores.length).to.equal(e.scores.length);
      r.scores.forEach((s, p) => expect(s, `score of person ${p}`).to.be.closeTo(e.scores[p], 1e-5));
      expectRows(r.final, e.final, 'final', 1e-3);
      expect(r.people.map((p) => p.score)).to.deep.equal(r.scores);
      expect(r.people[0].keypoints[0].x).to.equal(r.final[0][0][0]);
    });
  }
});
