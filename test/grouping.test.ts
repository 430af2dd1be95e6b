import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ndarray from 'ndarray';
import { presetConfig } from '../src/config/presets.js';
import type { TestSettings } from '../src/config/experiment.js';
import { COCO_KEYPOINTS } from '../src/datasets.js';
import { DecodeError } from '../src/aggregate/errors.js';
import { munkres } from '../src/grouping/munkres.js';
import { matchByTag, referenceJointOrder, type Candidates } from '../src/grouping/match.js';
import { float32Mean, float32MeanVector, float32PairwiseSum, roundHalfEven } from '../src/grouping/numeric.js';
import { suppressNonMaxima } from '../src/grouping/nms.js';
import { topK } from '../src/grouping/topk.js';
import { adjustPeople, refinePeople } from '../src/grouping/refine.js';
import { denseMaps, type GroupingMaps as Maps } from '../src/grouping/maps.js';
import { group, selectPeople } from '../src/grouping/parse.js';
import { toImageCoordinates } from '../src/grouping/transform.js';
import { seededRandom } from '../src/model/weights.js';
import { describeFixtures, fixturesRoot } from './helpers/fixtures.js';

const settings = (): TestSettings => presetConfig('tiny_coco').test;
const total = (m: number[][], pairs: [number, number][]): number => pairs.reduce((s, [r, c]) => s + m[r][c], 0);

describe('munkres (python munkres 1.1 behaviour)', () => {
  it('finds the minimum-cost assignment of a square matrix', () => {
    const m = [[5, 9, 1], [10, 3, 2], [8, 7, 4]];
    const pairs = munkres(m);
    // Two optima cost 12; munkres 1.1 picks this one.
    expect(pairs).to.deep.equal([[0, 2], [1, 1], [2, 0]]);
    expect(total(m, pairs)).to.equal(12);
  });

  it('pads rectangular matrices with zeros and reports only real cells', () => {
    const wide = [[400, 150, 400, 1], [400, 450, 600, 2], [300, 225, 300, 3]];
    expect(total(wide, munkres(wide))).to.equal(452);
    expect(munkres([[10, 10, 8, 11], [9, 8, 1, 1], [9, 7, 4, 10]])).to.deep.equal([[0, 1], [1, 3], [2, 2]]);
    const tall = [[10, 10, 8], [9, 8, 1], [9, 7, 4], [1, 1, 1]];
    const pairs = munkres(tall);
    expect(pairs.length).to.equal(3);
    expect(new Set(pairs.map(([r]) => r)).size).to.equal(3);
  });

  it('resolves ties in the library scan order (last zero of the first row in step 4)', () => {
    // Equal-cost optima; python munkres 1.1.4 returns this one.
    const m = [[-0.125, 99.75, 1e10, 1e10], [299.875, 99.875, 1e10, 1e10], [299.5, -0.25, 1e10, 1e10], [199.875, 299.5, 1e10, 1e10]];
    expect(munkres(m)).to.deep.equal([[0, 0], [1, 3], [2, 1], [3, 2]]);
  });

  it('returns nothing for an empty matrix', () => {
    expect(munkres([])).to.deep.equal([]);
  });
});

describe('NumPy numerics', () => {
  it('rounds half to even like np.round', () => {
    expect([0.5, 1.5, 2.5, 3.5, -0.5, -1.5, 2.4999, 0.49].map(roundHalfEven)).to.deep.equal([0, 2, 2, 4, -0, -2, 2, 0]);
  });

  it('sums float32 values in NumPy pairwise order', () => {
    const values = Float32Array.from({ length: 17 }, (_, i) => Math.fround(0.1 * (i + 1) + 1e-7 * i * i));
    let r = [...values.subarray(0, 8)];
    for (let i = 8; i < 16; i++) r[i % 8] = Math.fround(r[i % 8] + values[i]);
    r = r.map(Math.fround);
    const f = Math.fround;
    const expected = f(f(f(f(r[0] + r[1]) + f(r[2] + r[3])) + f(f(r[4] + r[5]) + f(r[6] + r[7]))) + values[16]);
    expect(float32PairwiseSum(values)).to.equal(expected);
    expect(float32Mean(values)).to.equal(Math.fround(expected / 17));
  });

  it('means float32 vectors as np.mean(axis=0): pairwise for one component, vector by vector for more', () => {
    // Values and means from NumPy 2.4: one ulp of the one-component mean (a plain float32 sum gives
    // 0.581439197063446) moved a tag distance across the threshold in grouping.
    const tags = [0.22925463318824768, 0.7995056509971619, 0.5914214849472046, 0.34070611000061035, 0.4609685242176056, 0.7845117449760437, 0.7386065721511841, 0.7065386176109314];
    expect([...float32MeanVector(tags.map((t) => Float32Array.of(t)))]).to.deep.equal([0.5814391374588013]);
    const pairs = [
      [0.22925463318824768, 0.34070611000061035], [0.8794562220573425, 0.318111389875412], [0.7097057700157166, 0.4987974464893341],
      [0.44291794300079346, 0.3100351393222809], [0.6453559398651123, 0.1351100504398346], [1.1767675876617432, -0.4850310683250427],
      [1.1817705631256104, -0.057637207210063934], [1.201115608215332, -0.4085785150527954], [0.41265833377838135, -0.8021510243415833],
    ];
    expect([...float32MeanVector(pairs.map((p) => Float32Array.from(p)))]).to.deep.equal([0.7643335461616516, -0.01673753373324871]);
  });
});

describe('heatmap NMS and top-k', () => {
  it('keeps local maxima, including equal neighbours, and zeroes the rest', () => {
    const det = Float32Array.from([
      0, 1, 0, 0, 0, 0,
      0, 0, 0, 0, 2, 2,
      0, 0, 0, 0, 0, 0,
    ]);
    const out = new Float32Array(det.length);
    suppressNonMaxima(det, 3, 6, 3, 1, out);
    expect([...out]).to.deep.equal([0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 0, 0]);
  });

  it('orders detections by value, equal values by position', () => {
    const det = new Float32Array(2 * 4 * 8);
    det[3] = 0.5; det[20] = 0.9; det[30] = 0.5; // joint 0
    det[32 + 9] = 0.7; // joint 1
    const tags = Float32Array.from({ length: 2 * 32 }, (_, i) => i);
    const c = topK(denseMaps({ det, numJoints: 2, height: 4, width: 8, tags, tagChannels: 2, tagDim: 1 }), 3, 3, 1);
    expect([...c.val.subarray(0, 3)].map((v) => +v.toFixed(3))).to.deep.equal([0.9, 0.5, 0.5]);
    expect([...c.x.subarray(0, 3)]).to.deep.equal([4, 3, 6]);
    expect([...c.y.subarray(0, 3)]).to.deep.equal([2, 0, 3]);
    expect(c.tag[3]).to.equal(32 + 9);
  });

  /** Smooth bumps with plateaus (values on a 1/16 grid, so neighbours tie) over a few negative pixels. */
  function bumpyMap(height: number, width: number, random: () => number): Float32Array {
    const bumps = Array.from({ length: 12 }, () => [random() * width, random() * height, 0.5 + 3 * random(), random()]);
    return Float32Array.from({ length: height * width }, (_, p) => {
      const [x, y] = [p % width, Math.floor(p / width)];
      const v = bumps.reduce((sum, [bx, by, sigma, peak]) => sum + peak * Math.exp(-((x - bx) ** 2 + (y - by) ** 2) / (2 * sigma * sigma)), 0);
      return Math.round(16 * (v - 0.05)) / 16;
    });
  }

  it('ranks what NMS of the whole map keeps, for every kernel size, with and without a floor', () => {
    const random = seededRandom(11);
    const [height, width, k] = [29, 37, 30];
    for (let trial = 0; trial < 20; trial++) {
      const det = bumpyMap(height, width, random);
      const maps = denseMaps({ det, numJoints: 1, height, width, tags: new Float32Array(height * width), tagChannels: 1, tagDim: 1 });
      for (const kernel of [1, 3, 5, 7]) {
        const padding = (kernel - 1) / 2;
        const suppressed = new Float32Array(det.length);
        suppressNonMaxima(det, height, width, kernel, padding, suppressed);
        const ranked = Array.from(suppressed, (v, p) => ({ v: v + 0, p })).sort((a, b) => b.v - a.v || a.p - b.p);
        for (const floor of [-Infinity, 0.1]) {
          const expected = ranked.filter(({ v }) => v > floor).slice(0, k);
          const found = topK(maps, k, kernel, padding, floor);
          const count = floor === -Infinity ? k : expected.length;
          const got = Array.from({ length: count }, (_, m) => ({ v: found.val[m] + 0, p: found.y[m] * width + found.x[m] }));
          expect(got, `trial ${trial}, kernel ${kernel}, floor ${floor}`).to.deep.equal(expected);
        }
      }
    }
  });
});

describe('adjust and refine', () => {
  const maps = (): Maps => {
    const det = new Float32Array(1 * 5 * 5);
    det[2 * 5 + 2] = 1; det[2 * 5 + 3] = 0.5; det[1 * 5 + 2] = 0.4; det[3 * 5 + 2] = 0.2;
    return denseMaps({ det, numJoints: 1, height: 5, width: 5, tags: new Float32Array(25), tagChannels: 1, tagDim: 1 });
  };

  it('moves a joint a quarter pixel towards its larger neighbours and to the pixel centre', () => {
    const people = [[[2, 2, 1, 0]]];
    adjustPeople(people, maps());
    expect(people[0][0].slice(0, 2)).to.deep.equal([2.75, 2.25]);
  });

  it('places an undetected joint at the best heatmap position of the person tag', () => {
    const m = maps();
    const det = Float32Array.from([...new Float32Array(25), ...m.det]);
    det[2 * 5 + 2] = 0.3; // joint 0 detected there
    const two = denseMaps({ det, numJoints: 2, height: 5, width: 5, tags: new Float32Array(50), tagChannels: 1, tagDim: 1 });
    const person = [[2.75, 2.25, 0.3, 0], [0, 0, 0, 0]];
    refinePeople([person], two);
    expect(person[1]).to.deep.equal([2.75, 2.25, 1, 0]);
  });
});

describe('selecting people by score', () => {
  // Five people (one joint each, its row holding the person's number), scores with a tie.
  const grouping = { grouped: [0, 1, 2, 3, 4].map((i) => [[i, i, 0, 0]]), scores: [0.2, 0.5, 0.1, 0.5, 0.3] };
  const numbers = (g: { grouped: number[][][] }): number[] => g.grouped.map((person) => person[0][0]);

  it('keeps the best maxPoses in the reference order, the earlier of equal scores first', () => {
    expect(numbers(selectPeople(grouping, { maxPoses: 3 }))).to.deep.equal([1, 3, 4]);
    expect(numbers(selectPeople(grouping, { maxPoses: 1 }))).to.deep.equal([1]);
    expect(selectPeople(grouping, { maxPoses: 2 }).scores).to.deep.equal([0.5, 0.5]);
  });

  it('keeps those scoring at least minPoseScore, then the best of them', () => {
    expect(numbers(selectPeople(grouping, { minPoseScore: 0.3 }))).to.deep.equal([1, 3, 4]);
    expect(numbers(selectPeople(grouping, { minPoseScore: 0.2, maxPoses: 2 }))).to.deep.equal([1, 3]);
    expect(numbers(selectPeople(grouping, { minPoseScore: 0.6 }))).to.deep.equal([]);
  });

  it('keeps every person by default, and when the limits leave everyone in', () => {
    expect(selectPeople(grouping)).to.equal(grouping);
    expect(selectPeople(grouping, { maxPoses: 5, minPoseScore: 0.1 })).to.equal(grouping);
  });
});

describe('back-projection to the image', () => {
  it('inverts the reference affine transform (scale width x 200 px over the heatmap width)', () => {
    // Image 300 x 533, centre (150, 267), scale [1.5, 3.0], heatmap 256 x 512.
    const [[p]] = toImageCoordinates([[[128, 256, 0.5]]], [150, 267], [1.5, 3], [256, 512]);
    expect(p[0]).to.be.closeTo(150, 1e-4);
    expect(p[1]).to.be.closeTo(267, 1e-4);
    expect(p[2]).to.equal(0.5);
    const [[q]] = toImageCoordinates([[[0, 0, 1]]], [150, 267], [1.5, 3], [256, 512]);
    expect(q[0]).to.be.closeTo(150 - 128 * (300 / 256), 1e-3);
    expect(q[1]).to.be.closeTo(267 - 256 * (300 / 256), 1e-3);
  });

  it('BAD CALL - a scale, centre or heatmap size that would collapse the people or make their coordinates NaN, and rows that are no people', () => {
    const project = (grouped: unknown, center: unknown, scale: unknown, size: unknown) => () =>
      toImageCoordinates(grouped as number[][][], center as [number, number], scale as [number, number], size as [number, number]);
    const rows = [[[128, 256, 0.5]]];
    // A zero scale put every joint on the centre, a NaN size gave null coordinates.
    expect(project(rows, [150, 267], [0, 0], [256, 512])).to.throw(DecodeError, /^scale must be two positive numbers, got \[0, 0\]$/);
    expect(project(rows, [150, 267], [1.5, 3], [NaN, 512])).to.throw(DecodeError, /^heatmapSize must be two positive integers \[w, h\], got \[NaN, 512\]$/);
    expect(project(rows, [150, 267], [1.5, 3], [0, 0])).to.throw(DecodeError, /^heatmapSize must be two positive integers/);
    expect(project(rows, undefined, [1.5, 3], [256, 512])).to.throw(DecodeError, /^center must be two finite numbers, got undefined$/);
    expect(project([[128, 256, 0.5]], [150, 267], [1.5, 3], [256, 512])).to.throw(DecodeError, /^grouped must hold, per person, rows \[x, y, \.\.\.\]/);
    expect(project(undefined, [150, 267], [1.5, 3], [256, 512])).to.throw(DecodeError, /^grouped must hold/);
    expect(project([], [150, 267], [1.5, 3], [256, 512])()).to.deep.equal([]);
  });
});

describe('group: BAD CALL handling', () => {
  const J = 17;
  const heat = (joints = J, h = 8, w = 8) => ndarray(new Float32Array(joints * h * w), [1, joints, h, w]);
  const tags = (t = J, h = 8, w = 8, k = 1) => ndarray(new Float32Array(t * h * w * k), [1, t, h, w, k]);

  it('BAD CALL - heatmaps with the wrong joint count', () => {
    expect(() => group(heat(14), tags(), settings(), COCO_KEYPOINTS)).to.throw(DecodeError, /14 joints but the coco keypoints are 17/);
  });

  it('BAD CALL - tag maps of another size than the heatmaps', () => {
    expect(() => group(heat(), tags(J, 4, 8), settings(), COCO_KEYPOINTS)).to.throw(DecodeError, /tags are 4x8 but heatmaps 8x8/);
  });

  it('BAD CALL - tag maps without the last (tag value) axis', () => {
    expect(() => group(heat(), ndarray(new Float32Array(J * 64), [1, J, 8, 8]), settings(), COCO_KEYPOINTS)).to.throw(DecodeError, /\[1, T, H, W, K\]/);
  });

  it('BAD CALL - NaN in the heatmaps', () => {
    const h = heat();
    h.data[70] = NaN;
    expect(() => group(h, tags(), settings(), COCO_KEYPOINTS)).to.throw(DecodeError, /heatmaps contains NaN \(first at index \[0, 1, 0, 6\]\)/);
  });

  it('BAD CALL - an NMS kernel that changes the map size', () => {
    expect(() => group(heat(), tags(), { ...settings(), nmsKernel: 5, nmsPadding: 1 }, COCO_KEYPOINTS)).to.throw(DecodeError, /^settings\.nmsKernel must be 2 \* nmsPadding \+ 1 = 3/);
  });

  it('BAD CALL - settings the reference cannot run are refused as decodePoses refuses them (a NaN threshold found nobody, a fractional maxNumPeople grouped garbage)', () => {
    const peaks = ndarray(Float32Array.from({ length: J * 64 }, (_, i) => (i % 7) / 7), [1, J, 8, 8]);
    expect(() => group(peaks, tags(), { ...settings(), detectionThreshold: NaN }, COCO_KEYPOINTS)).to.throw(DecodeError, /^settings\.detectionThreshold must be a number >= 0, got NaN$/);
    expect(() => group(peaks, tags(), { ...settings(), tagThreshold: NaN }, COCO_KEYPOINTS)).to.throw(DecodeError, /^settings\.tagThreshold must be a number > 0/);
    expect(() => group(peaks, tags(), { ...settings(), maxNumPeople: 1.5 }, COCO_KEYPOINTS)).to.throw(DecodeError, /^settings\.maxNumPeople must be a positive integer, got 1\.5$/);
    expect(() => group(peaks, tags(), undefined as unknown as TestSettings, COCO_KEYPOINTS)).to.throw(DecodeError, /^settings must be test settings/);
  });

  it('BAD CALL - maps that are no float32 ndarrays, or hold too few values for their shape: a DecodeError naming them, not a TypeError or NaN', () => {
    const call = (h: unknown, t: unknown = tags(), def: unknown = COCO_KEYPOINTS) => () => group(h as ReturnType<typeof heat>, t as ReturnType<typeof tags>, settings(), def as typeof COCO_KEYPOINTS);
    expect(call(undefined)).to.throw(DecodeError, /^heatmaps must be an ndarray \(ndarray\(data, \[1, J, H, W\]\)\)$/);
    expect(call(heat(), { data: new Float32Array(J * 64), shape: [1, J, 8, 8, 1] })).to.throw(DecodeError, /^tags must be an ndarray/);
    expect(call(heat(), tags(), null)).to.throw(DecodeError, /^the keypoint definition must have names/);
    // Float64 maps were grouped without the float32 rounding of the reference.
    expect(call(ndarray(new Float64Array(J * 64), [1, J, 8, 8]))).to.throw(DecodeError, /^heatmaps must hold a Float32Array, got Float64Array$/);
    expect(call(ndarray(new Float32Array(10), [1, J, 8, 8]))).to.throw(DecodeError, /^heatmaps holds 10 values, too few for its shape \[1, 17, 8, 8\]/);
    expect(call(heat(), ndarray(new Float32Array(J * 64), [1, J, 8, 8, 2]))).to.throw(DecodeError, /^tags holds 1088 values, too few for its shape \[1, 17, 8, 8, 2\]/);
    // A strided view is read through its strides.
    const wide = ndarray(new Float32Array(J * 8 * 16), [1, J, 8, 16]).hi(1, J, 8, 8);
    expect(group(wide, tags(), settings(), COCO_KEYPOINTS)).to.deep.equal({ grouped: [], scores: [] });
  });

  it('finds no people in empty maps', () => {
    expect(group(heat(), tags(), settings(), COCO_KEYPOINTS)).to.deep.equal({ grouped: [], scores: [] });
  });
});

describe('group: two planted people', () => {
  it('separates people by tag and orders joints by the reference joint order', () => {
    const [J, H, W] = [17, 32, 32];
    const det = new Float32Array(J * H * W);
    const tag = new Float32Array(J * H * W);
    const plant = (j: number, x: number, y: number, v: number, t: number) => {
      det[(j * H + y) * W + x] = v;
      tag[(j * H + y) * W + x] = t;
    };
    for (let j = 0; j < J; j++) {
      plant(j, 4 + (j % 4), 2 + j, 0.9, -1); // person A, tag -1
      plant(j, 20 + (j % 4), 2 + j, 0.8, 2); // person B, tag 2
    }
    const s = { ...settings(), adjust: false, refine: false };
    const { grouped, scores } = group(ndarray(det, [1, J, H, W]), ndarray(tag, [1, J, H, W, 1]), s, COCO_KEYPOINTS);
    expect(grouped.length).to.equal(2);
    expect(grouped[0][5]).to.deep.equal([4 + 1, 7, Math.fround(0.9), -1]);
    expect(grouped[1][16]).to.deep.equal([20, 18, Math.fround(0.8), 2]);
    expect(scores[0]).to.be.closeTo(0.9, 1e-6);
    expect(scores[1]).to.be.closeTo(0.8, 1e-6);
    expect(referenceJointOrder(14)).to.deep.equal([0, 1, 2, 3, 4, 5, 6, 11, 12, 7, 8, 9, 10, 13]);
    expect(referenceJointOrder(10)).to.equal(null);
  });

  it('scores a person by the mean over all J joints, 0 for each not detected, before refine fills some in (the reference\'s i[:, 2].mean())', () => {
    const [J, H, W] = [17, 16, 16];
    const det = new Float32Array(J * H * W);
    for (let j = 0; j < 4; j++) det[(j * H + 3 + j) * W + 5] = 0.8;
    // A weaker peak of a joint the person lacks, which refine takes in.
    det[(10 * H + 9) * W + 6] = 0.05;
    const maps = [ndarray(det, [1, J, H, W]), ndarray(new Float32Array(J * H * W), [1, J, H, W, 1])] as const;
    for (const refine of [false, true]) {
      const { grouped, scores } = group(...maps, { ...settings(), adjust: false, refine }, COCO_KEYPOINTS);
      expect(grouped).to.have.length(1);
      expect(grouped[0].filter((row) => row[2] > 0)).to.have.length(refine ? 5 : 4);
      expect(scores[0]).to.be.closeTo((4 * 0.8) / J, 1e-7);
    }
  });
});

interface GroupingCase {
  image_id: number;
  params: {
    num_joints: number; max_num_people: number; detection_threshold: number; tag_threshold: number;
    use_detection_val: boolean; ignore_too_much: boolean; joint_order: number[];
  };
  tag_k: number[][][];
  loc_k: number[][][];
  val_k: number[][];
  expected: number[][][];
}

function candidatesOf(c: GroupingCase): Candidates {
  const J = c.params.num_joints;
  const k = c.val_k[0].length;
  const tagDim = c.tag_k[0][0].length;
  const out: Candidates = {
    numJoints: J, k, tagDim,
    val: new Float32Array(J * k), x: new Int32Array(J * k), y: new Int32Array(J * k), tag: new Float32Array(J * k * tagDim),
  };
  for (let j = 0; j < J; j++) {
    for (let m = 0; m < k; m++) {
      out.val[j * k + m] = c.val_k[j][m];
      [out.x[j * k + m], out.y[j * k + m]] = c.loc_k[j][m];
      out.tag.set(c.tag_k[j][m], (j * k + m) * tagDim);
    }
  }
  return out;
}

describeFixtures('tag matching on COCO grouping cases', 'coco/grouping_cases.json', () => {
  const { cases } = JSON.parse(readFileSync(join(fixturesRoot(), 'coco', 'grouping_cases.json'), 'utf8')) as { cases: GroupingCase[] };

  it('has the cases', () => {
    expect(cases.length).to.be.greaterThan(0);
  });

  for (const c of cases) {
    const p = c.params;
    it(`image ${c.image_id} (${p.use_detection_val ? 'detection value' : 'plain distance'}, tag threshold ${p.tag_threshold}, max ${p.max_num_people}${p.ignore_too_much ? ', ignore too much' : ''})`, () => {
      const grouped = matchByTag(candidatesOf(c), {
        maxNumPeople: p.max_num_people,
        detectionThreshold: p.detection_threshold,
        tagThreshold: p.tag_threshold,
        useDetectionVal: p.use_detection_val,
        ignoreTooMuch: p.ignore_too_much,
        jointOrder: p.joint_order,
      });
      expect(grouped.length, 'number of people').to.equal(c.expected.length);
      c.expected.forEach((person, i) => {
        person.forEach((row, j) => {
          expect(grouped[i][j], `person ${i} joint ${j}`).to.deep.equal(row.map(Math.fround));
        });
      });
    });
  }
});
