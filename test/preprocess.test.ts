import { expect } from 'chai';
import { existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { ImageError, readImage } from '../src/io/image.js';
import {
  affineTransform,
  applyAffine,
  getAffineTransform,
  multiScaleSize,
  PreprocessError,
  testScaleInputs,
  toNetworkInput,
  toFlipPairInput,
  warpAffineBilinear,
  type AffineMatrix,
} from '../src/preprocess/index.js';
import type { RgbImage } from '../src/types.js';
import { presetConfig } from '../src/config/presets.js';
import { caseDirs, describeFixtures, fixturesRoot } from './helpers/fixtures.js';

interface PipelineExpected {
  image: string;
  settings: { input_size: number; scale_factor: number[] };
  base_size: [number, number];
  center: [number, number];
  scale: [number, number];
  scales: { scale: number; input_shape: number[]; center: [number, number]; scale_wh: [number, number] }[];
}

/** Share of identical values and the largest difference. */
function agreement(a: Uint8Array, b: Uint8Array): { same: number; maxDiff: number } {
  expect(a.length).to.equal(b.length);
  let same = 0;
  let maxDiff = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (d === 0) same++;
    else if (d > maxDiff) maxDiff = d;
  }
  return { same: same / a.length, maxDiff };
}

/**
 * Whether `resized` was made from `source` by the affine map `m` at all, judged without the
 * bilinear warp under test: nearest-neighbour samples must mostly be close. A resize of
 * another image agrees on ~15% of samples, a correct one on nearly all.
 */
function madeFrom(source: RgbImage, resized: RgbImage, m: AffineMatrix): boolean {
  const d = m[0] * m[4] - m[1] * m[3];
  const back: AffineMatrix = [m[4] / d, -m[1] / d, 0, -m[3] / d, m[0] / d, 0];
  back[2] = -(back[0] * m[2] + back[1] * m[5]);
  back[5] = -(back[3] * m[2] + back[4] * m[5]);
  let close = 0;
  let total = 0;
  for (let y = 0; y < resized.height; y += 3) {
    for (let x = 0; x < resized.width; x += 3) {
      const [sx, sy] = applyAffine(back, x, y).map(Math.round) as [number, number];
      if (sx < 1 || sy < 1 || sx >= source.width - 1 || sy >= source.height - 1) continue;
      total++;
      const p = (sy * source.width + sx) * 3;
      const q = (y * resized.width + x) * 3;
      let diff = 0;
      for (let c = 0; c < 3; c++) diff = Math.max(diff, Math.abs(source.data[p + c]! - resized.data[q + c]!));
      if (diff <= 48) close++;
    }
  }
  return total > 0 && close / total > 0.6;
}

const sourceMismatch = (png: string, image: string) =>
  `skipped: ${png} was not made from pipeline/${image} (the shared source image is a different picture of the same name), so its pixels cannot be compared`;

describeFixtures('preprocess: reference pipeline inputs', 'pipeline', () => {
  const root = join(fixturesRoot(), 'pipeline');
  for (const dir of caseDirs('pipeline')) {
    const name = basename(dir);
    const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as PipelineExpected;
    const { input_size: inputSize, scale_factor: scales } = expected.settings;

    it(`${name}: base size, center, scale and per-scale input geometry`, async () => {
      const image = await readImage(join(root, expected.image));
      const minScale = Math.min(...scales);
      const base = multiScaleSize(image.width, image.height, inputSize, 1, minScale);
      expect([base.width, base.height]).to.deep.equal(expected.base_size);
      expect(base.center).to.deep.equal(expected.center);
      expect(base.scale).to.deep.equal(expected.scale);
      const sorted = [...scales].sort((a, b) => b - a);
      expect(sorted).to.deep.equal(expected.scales.map((s) => s.scale));
      for (const s of expected.scales) {
        const size = multiScaleSize(image.width, image.height, inputSize, s.scale, minScale);
        expect([1, 3, size.height, size.width], `scale ${s.scale}`).to.deep.equal(s.input_shape);
        expect(size.center).to.deep.equal(s.center);
        expect(size.scale).to.deep.equal(s.scale_wh);
      }
    });

    it(`${name}: resize reproduces resized_sS.png`, async function () {
      const image = await readImage(join(root, expected.image));
      const result = testScaleInputs(image, inputSize, scales);
      expect(result.baseSize).to.deep.equal(expected.base_size);
      expect(result.inputs.map((i) => i.scale)).to.deep.equal(expected.scales.map((s) => s.scale));
      const figures: string[] = [];
      for (const input of result.inputs) {
        const png = `resized_s${input.scale}.png`;
        const ref = await readImage(join(dir, png));
        expect([ref.width, ref.height]).to.deep.equal([input.width, input.height]);
        if (!madeFrom(image, ref, input.matrix)) {
          this.test!.title += ` — ${sourceMismatch(png, expected.image)}`;
          this.skip();
        }
        const { same, maxDiff } = agreement(input.resized.data, ref.data);
        figures.push(`s${input.scale}: ${(same * 100).toFixed(4)}% identical, max diff ${maxDiff}`);
        expect(maxDiff, `${png} max difference`).to.be.at.most(1);
        expect(same, `${png} identical share`).to.be.at.least(0.999);
      }
      this.test!.title += ` (${figures.join('; ')})`;
    });
  }
});

describeFixtures('preprocess: forward fixture inputs', 'forward', () => {
  for (const dir of caseDirs('forward')) {
    const name = basename(dir);
    const image = `${name.split('__')[1]}.png`;
    it(`${name}: input.png is the scale-1 resize at input size 256`, async function () {
      const sourcePath = join(fixturesRoot(), 'pipeline', image);
      if (!existsSync(sourcePath)) this.skip();
      const source = await readImage(sourcePath);
      const { inputs } = testScaleInputs(source, 256, [1]);
      const ref = await readImage(join(dir, 'input.png'));
      const ours = inputs[0]!;
      expect([ref.width, ref.height]).to.deep.equal([ours.width, ours.height]);
      if (!madeFrom(source, ref, ours.matrix)) {
        this.test!.title += ` — ${sourceMismatch('input.png', image)}`;
        this.skip();
      }
      const { same, maxDiff } = agreement(ours.resized.data, ref.data);
      this.test!.title += ` (${(same * 100).toFixed(4)}% identical, max diff ${maxDiff})`;
      expect(maxDiff).to.be.at.most(1);
      expect(same).to.be.at.least(0.999);
    });
  }
});

describe('preprocess: aligned multi-scale size', () => {
  it('landscape 640x480, input 256, scales 2/1/0.5 (sizes relative to the smallest scale)', () => {
    // min input = int((0.5*256 + 63)//64*64) = 128; long side int((128/480*640 + 63)//64*64) = 192.
    expect(multiScaleSize(640, 480, 256, 0.5, 0.5)).to.deep.equal({ width: 192, height: 128, center: [320, 240], scale: [3.6, 2.4] });
    expect(multiScaleSize(640, 480, 256, 1, 0.5)).to.deep.equal({ width: 384, height: 256, center: [320, 240], scale: [3.6, 2.4] });
    expect(multiScaleSize(640, 480, 256, 2, 0.5)).to.deep.equal({ width: 768, height: 512, center: [320, 240], scale: [3.6, 2.4] });
    // Single scale 1: the long side is 640/480*256 = 341.3 -> 384.
    expect(multiScaleSize(640, 480, 256, 1, 1).width).to.equal(384);
  });

  it('portrait 333x501 at input 512: the short side is the input size, the long side rounded up to 64', () => {
    const s = multiScaleSize(333, 501, 512, 1, 1);
    // int(333/2 + .5) = 167, int(501/2 + .5) = 251; 512/333*501 = 770.3 -> 832.
    expect(s).to.deep.equal({ width: 512, height: 832, center: [167, 251], scale: [1.665, ((832 / 512) * 333) / 200] });
  });

  it('a square image uses the "else" branch (h is the short side)', () => {
    expect(multiScaleSize(500, 500, 512, 1, 1)).to.deep.equal({ width: 512, height: 512, center: [250, 250], scale: [2.5, 2.5] });
  });

  it('testScaleInputs runs the largest scale first and reports the scale-1 base size', () => {
    const image = solid(40, 30, [9, 8, 7]);
    const r = testScaleInputs(image, 64, [0.5, 2, 1]);
    expect(r.inputs.map((i) => i.scale)).to.deep.equal([2, 1, 0.5]);
    // min input int((32+63)//64*64) = 64 -> base 64 high, long side (64/30*40+63)//64*64 = 128, x2.
    expect(r.baseSize).to.deep.equal([256, 128]);
    expect(r.inputs.map((i) => [i.width, i.height])).to.deep.equal([[512, 256], [256, 128], [128, 64]]);
  });

  it('BAD CALL - image too small for the network throws PreprocessError', () => {
    expect(() => testScaleInputs(solid(3, 20, [0, 0, 0]), 512, [1])).to.throw(PreprocessError, /image 3x20 is too small for the network/);
  });

  it('BAD CALL - pixels that are no 8-bit RGB image of their size are an ImageError, not warped from out of bounds', () => {
    expect(() => testScaleInputs({ data: new Uint8Array(10), width: 64, height: 64 }, 256, [1])).to.throw(ImageError, /^testScaleInputs image: data holds 10 bytes; a 64x64 RGB image needs 12288$/);
    expect(() => testScaleInputs({ ...solid(8, 8, [0, 0, 0]), data: new Float32Array(8 * 8 * 3) as never }, 256, [1])).to.throw(ImageError, /got Float32Array$/);
  });

  it('BAD CALL - non-positive input size or test scale throws PreprocessError', () => {
    expect(() => multiScaleSize(100, 100, 0, 1, 1)).to.throw(PreprocessError, /input size 0 must be a positive integer/);
    expect(() => multiScaleSize(100, 100, 512, 1, -1)).to.throw(PreprocessError, /smallest test scale -1 must be a positive number/);
    expect(() => testScaleInputs(solid(8, 8, [0, 0, 0]), 512, [])).to.throw(PreprocessError, /no test scales/);
  });

  it('BAD CALL - extreme aspect ratio (huge aligned input) throws PreprocessError', () => {
    expect(() => multiScaleSize(4, 40000, 512, 1, 1)).to.throw(PreprocessError, /aspect ratio too extreme/);
    // A 300x20000 strip would need 512x34176, ~10 GB; 500x16000 (512x16384) is allowed.
    expect(() => multiScaleSize(300, 20000, 512, 1, 1)).to.throw(PreprocessError, /300x20000 at test scale 1 needs a 512x34176 network input, over the 16777216 pixels/);
    expect(multiScaleSize(500, 16000, 512, 1, 1)).to.include({ width: 512, height: 16384 });
    // 2000x500 at test scale 4 gives exactly the limit, at 5 more.
    expect(multiScaleSize(2000, 500, 512, 4, 1)).to.include({ width: 8192, height: 2048 });
    expect(() => multiScaleSize(2000, 500, 512, 5, 1)).to.throw(PreprocessError, /at test scale 5 needs a 10240x2560 network input/);
    // A 16:9 photo at input size 1536 with scales [2, 1, 0.5]: cropping was all it suggested, the input size and scale unnamed.
    expect(() => multiScaleSize(1920, 1080, 1536, 2, 0.5)).to.throw(PreprocessError, /needs a 5632x3072 network input, .*: aspect ratio too extreme for input size 1536 at test scale 2: lower the input size or the scale, or crop the image or cut it into pieces$/);
    expect(() => multiScaleSize(640, 480, 4096, 1, 1)).to.throw(PreprocessError, /: aspect ratio too extreme for input size 4096: lower the input size, or crop the image or cut it into pieces$/);
    // Not the aspect ratio: no image could run at this input size.
    expect(() => multiScaleSize(640, 480, 8192, 1, 1)).to.throw(PreprocessError, /needs a 10944x8192 network input, .*: input size 8192 too large for any image \(a square one needs 8192x8192\)$/);
  });
});

describe('preprocess: affine matrix', () => {
  it('maps the box center to the output center and the box width to the output width', () => {
    const m = affineTransform([320, 240], [3.6, 2.4], [384, 256]);
    // (OpenCV's LU yields -0 for the zero terms; the sign is irrelevant.)
    expect(m.map((v) => v + 0)).to.deep.equal([0.5333333333333333, 0, 21.333333333333332, 0, 0.5333333333333333, 0]);
    const [x, y] = applyAffine(m, 320, 240);
    expect(x).to.be.closeTo(192, 1e-9);
    expect(y).to.be.closeTo(128, 1e-9);
  });

  it('inverse maps back', () => {
    const fwd = affineTransform([150, 267], [1.5, 3.0], [256, 512]);
    const inv = affineTransform([150, 267], [1.5, 3.0], [256, 512], true);
    const [x, y] = applyAffine(fwd, 17.25, 401.5);
    const [bx, by] = applyAffine(inv, x, y);
    expect(bx).to.be.closeTo(17.25, 1e-9);
    expect(by).to.be.closeTo(401.5, 1e-9);
  });

  it('getAffineTransform solves 3 point pairs (rotation + scale + shift)', () => {
    const m = getAffineTransform([[0, 0], [10, 0], [0, 10]], [[5, 7], [5, 27], [-15, 7]]);
    const want = [0, -2, 5, 2, 0, 7];
    m.forEach((v, i) => expect(v).to.be.closeTo(want[i]!, 1e-12));
  });

  it('BAD CALL - collinear points throw RangeError', () => {
    expect(() => getAffineTransform([[0, 0], [1, 1], [2, 2]], [[0, 0], [1, 0], [0, 1]])).to.throw(RangeError, /collinear/);
  });
});

/** A literal transcription of OpenCV's table-driven path (15-bit table incl. its [32767,0,0,1] entry). */
function opencvTableWarp(src: RgbImage, fwd: AffineMatrix, width: number, height: number): Uint8Array {
  const tab: number[][] = [];
  for (let fy = 0; fy < 32; fy++) {
    for (let fx = 0; fx < 32; fx++) {
      const w = [(32 - fy) * (32 - fx) * 32, (32 - fy) * fx * 32, fy * (32 - fx) * 32, fy * fx * 32];
      if (w[0] === 32768) w.splice(0, 4, 32767, 0, 0, 1);
      tab.push(w);
    }
  }
  let D = fwd[0] * fwd[4] - fwd[1] * fwd[3];
  D = D !== 0 ? 1 / D : 0;
  const M = [fwd[4] * D, fwd[1] * -D, 0, fwd[3] * -D, fwd[0] * D, 0];
  M[2] = -M[0]! * fwd[2] - M[1]! * fwd[5];
  M[5] = -M[3]! * fwd[2] - M[4]! * fwd[5];
  const rint = (v: number) => {
    const r = Math.round(v);
    return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
  };
  const out = new Uint8Array(width * height * 3);
  const px = (x: number, y: number, c: number) => (x >= 0 && y >= 0 && x < src.width && y < src.height ? src.data[(y * src.width + x) * 3 + c]! : 0);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const X = (rint((M[1]! * y + M[2]!) * 1024) + 16 + rint(M[0]! * x * 1024)) >> 5;
      const Y = (rint((M[4]! * y + M[5]!) * 1024) + 16 + rint(M[3]! * x * 1024)) >> 5;
      const sx = X >> 5;
      const sy = Y >> 5;
      const w = tab[(Y & 31) * 32 + (X & 31)]!;
      for (let c = 0; c < 3; c++) {
        const t = px(sx, sy, c) * w[0]! + px(sx + 1, sy, c) * w[1]! + px(sx, sy + 1, c) * w[2]! + px(sx + 1, sy + 1, c) * w[3]!;
        out[(y * width + x) * 3 + c] = Math.min(255, Math.max(0, (t + 16384) >> 15));
      }
    }
  }
  return out;
}

function solid(width: number, height: number, rgb: [number, number, number]): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < data.length; i += 3) data.set(rgb, i);
  return { data, width, height };
}

function noise(width: number, height: number, seed: number): RgbImage {
  const data = new Uint8Array(width * height * 3);
  let s = seed >>> 0;
  for (let i = 0; i < data.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    data[i] = s >>> 24;
  }
  return { data, width, height };
}

describe('preprocess: warpAffine (OpenCV INTER_LINEAR, BORDER_CONSTANT 0)', () => {
  it('the identity reproduces the image exactly', () => {
    const img = noise(17, 11, 1);
    expect(Array.from(warpAffineBilinear(img, [1, 0, 0, 0, 1, 0], 17, 11).data)).to.deep.equal(Array.from(img.data));
  });

  it('half-pixel shifts average neighbours, rounding halves up; outside is 0', () => {
    const img: RgbImage = { data: Uint8Array.from([0, 10, 255, 1, 20, 255]), width: 2, height: 1 };
    // dst(x) = src(x + 0.5): x=0 blends 0/1 -> 0.5 -> 1; 10/20 -> 15; 255/255 -> 255.
    // x=1 blends src(1) with the 0 border: 0.5, 10, 127.5 -> 1, 10, 128.
    const out = warpAffineBilinear(img, [1, 0, -0.5, 0, 1, 0], 3, 1);
    expect(Array.from(out.data)).to.deep.equal([1, 15, 255, 1, 10, 128, 0, 0, 0]);
  });

  it('matches a literal transcription of OpenCV\'s table path for rotations, shears and borders', () => {
    const img = noise(37, 23, 7);
    const matrices: AffineMatrix[] = [
      affineTransform([18, 11], [0.2, 0.2], [50, 40]),
      affineTransform([19, 12], [0.37, 0.25], [64, 128]),
      [0.866, -0.5, 9.3, 0.5, 0.866, -4.7],
      [1.7, 0.3, -3.21, -0.2, 0.61, 2.5],
      [0.31, 0, 0.5, 0, 0.29, 0.25],
    ];
    for (const m of matrices) {
      const ours = warpAffineBilinear(img, m, 45, 33).data;
      expect(Array.from(ours)).to.deep.equal(Array.from(opencvTableWarp(img, m, 45, 33)));
    }
  });

  it('writes every byte of a given output buffer (a reused one holds the previous image)', () => {
    const img = noise(37, 23, 7);
    const m = affineTransform([18, 11], [0.2, 0.2], [50, 40]);
    const out = new Uint8Array(45 * 33 * 3).fill(255);
    const result = warpAffineBilinear(img, m, 45, 33, out);
    expect(result.data).to.equal(out);
    expect(Array.from(out)).to.deep.equal(Array.from(opencvTableWarp(img, m, 45, 33)));
    expect(() => warpAffineBilinear(img, m, 45, 32, out)).to.throw(RangeError, /holds 4455 bytes, not 45x32x3/);
  });

  it('BAD CALL - invalid output size or matrix throws RangeError', () => {
    const img = solid(4, 4, [1, 2, 3]);
    expect(() => warpAffineBilinear(img, [1, 0, 0, 0, 1, 0], 0, 4)).to.throw(RangeError, /output size 0x4/);
    expect(() => warpAffineBilinear(img, [1, 0, 0, 0, 1], 4, 4)).to.throw(RangeError, /6 finite numbers/);
  });
});

describe('preprocess: network input', () => {
  it('normalises (v/255 - mean)/std per RGB channel in float32, NCHW', () => {
    const img: RgbImage = { data: Uint8Array.from([0, 128, 255, 255, 0, 128]), width: 2, height: 1 };
    const t = toNetworkInput(img);
    const f = Math.fround;
    const norm = (v: number, m: number, s: number) => f(f(f(v / 255) - f(m)) / f(s));
    expect(Array.from(t)).to.deep.equal([
      norm(0, 0.485, 0.229), norm(255, 0.485, 0.229),
      norm(128, 0.456, 0.224), norm(0, 0.456, 0.224),
      norm(255, 0.406, 0.225), norm(128, 0.406, 0.225),
    ]);
  });

  it('flip mirrors each row', () => {
    const img = noise(5, 3, 3);
    const plain = toNetworkInput(img);
    const flipped = toNetworkInput(img, true);
    for (let c = 0; c < 3; c++) for (let y = 0; y < 3; y++) for (let x = 0; x < 5; x++) {
      expect(flipped[c * 15 + y * 5 + x]).to.equal(plain[c * 15 + y * 5 + (4 - x)]);
    }
  });

  it('the flip pair is the plain input then the mirrored one, written into the buffer given', () => {
    const img = noise(7, 4, 11);
    const out = new Float32Array(2 * 3 * 7 * 4).fill(NaN);
    expect(toFlipPairInput(img, out)).to.equal(out);
    expect(Array.from(out.subarray(0, 84))).to.deep.equal(Array.from(toNetworkInput(img)));
    expect(Array.from(out.subarray(84))).to.deep.equal(Array.from(toNetworkInput(img, true)));
  });

  it('BAD CALL - data not matching width x height x 3 throws RangeError', () => {
    expect(() => toNetworkInput({ data: new Uint8Array(10), width: 2, height: 2 })).to.throw(RangeError, /10 bytes do not hold a 2x2 RGB image/);
    expect(() => toFlipPairInput({ data: new Uint8Array(10), width: 2, height: 2 })).to.throw(RangeError, /toFlipPairInput: 10 bytes/);
    expect(() => toFlipPairInput(noise(2, 2, 1), new Float32Array(12))).to.throw(RangeError, /holds 12 values, not 2 x 3 x 2 x 2/);
  });

  it('BAD CALL - a path or encoded bytes for pixels, and scales left out of testScaleInputs: a typed error naming the argument, not a TypeError from inside', () => {
    // 'Cannot read properties of undefined (reading length)' before.
    // They take pixels only: the message offered a path or encoded bytes, as readImage's does.
    const pixelsOnly = String.raw`expected RGB pixels \{ data, width, height \} \(readImage decodes a path or encoded bytes to them\)`;
    expect(() => toNetworkInput('photo.jpg' as never)).to.throw(ImageError, new RegExp(`^toNetworkInput image: ${pixelsOnly}; got String$`));
    expect(() => toFlipPairInput(new Uint8Array(12) as never)).to.throw(ImageError, new RegExp(`^toFlipPairInput image: ${pixelsOnly}; got Uint8Array$`));
    expect(() => testScaleInputs(new ArrayBuffer(12) as never, 256, [1])).to.throw(ImageError, new RegExp(`^testScaleInputs image: ${pixelsOnly}; got ArrayBuffer$`));
    const settings = presetConfig('tiny_coco').test;
    expect(() => testScaleInputs(noise(64, 64, 1), 256, undefined as never)).to.throw(PreprocessError, /^testScaleInputs: scales must be a list of test scales \(settings\.scaleFactor\), got Undefined$/);
    expect(() => testScaleInputs(noise(64, 64, 1), settings.inputSize, settings as never)).to.throw(PreprocessError, /^testScaleInputs: scales must be a list of test scales \(settings\.scaleFactor\), got Object$/);
  });
});
