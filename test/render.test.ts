import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { COCO_KEYPOINTS, CROWDPOSE_KEYPOINTS } from '../src/datasets.js';
import { DEFAULT_PALETTE, drawPoses, personColor, type OverlayOptions } from '../src/render/overlay.js';
import type { Person, RgbImage } from '../src/types.js';
import { ImageError } from '../src/io/image.js';

function blank(width: number, height: number, value = 40): RgbImage {
  return { data: new Uint8Array(width * height * 3).fill(value), width, height };
}

function pixel(image: RgbImage, x: number, y: number): number[] {
  const o = (Math.round(y) * image.width + Math.round(x)) * 3;
  return [...image.data.subarray(o, o + 3)];
}

function changed(a: RgbImage, b: RgbImage, x0: number, y0: number, x1: number, y1: number): number {
  let n = 0;
  for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) if (pixel(a, x, y).join() !== pixel(b, x, y).join()) n++;
  return n;
}

/** A person whose joints lie on a vertical line at x, 12 px apart from y0. */
function person(x: number, y0: number, extra: Partial<Person> = {}, names = COCO_KEYPOINTS.names): Person {
  const keypoints = names.map((name, j) => ({ name, x, y: y0 + j * 12, score: 0.9 }));
  const yMax = y0 + (names.length - 1) * 12;
  return { score: 0.87, keypoints, box: { xMin: x - 5, yMin: y0, xMax: x + 5, yMax, width: 10, height: yMax - y0 }, ...extra };
}

describe('render', () => {
  it('draws joints and limbs in the person colour on a copy', () => {
    const image = blank(200, 250);
    const before = new Uint8Array(image.data);
    const p = person(60, 20);
    const out = drawPoses(image, [p], COCO_KEYPOINTS, { label: false });
    expect(image.data).to.deep.equal(before);
    expect(out).to.not.equal(image);
    const color = [...personColor(p, 0)];
    expect(pixel(out, 60, 20)).to.deep.equal(color); // nose
    // Skeleton edge [15, 13] (left ankle–left knee): its midpoint is on the line.
    expect(pixel(out, 60, 20 + 14 * 12)).to.deep.equal(color);
    expect(pixel(out, 150, 100)).to.deep.equal([40, 40, 40]);
  });

  it('skips joints below the score threshold and the lines that touch them', () => {
    const p = person(60, 20);
    p.keypoints[0] = { ...p.keypoints[0]!, x: 150, y: 30, score: 0.05 };
    const out = drawPoses(blank(200, 250), [p], COCO_KEYPOINTS, { label: false });
    expect(pixel(out, 150, 30)).to.deep.equal([40, 40, 40]);
    // Edge [0, 1] nose–left eye would cross here.
    expect(pixel(out, 105, 31)).to.deep.equal([40, 40, 40]);
    const lowered = drawPoses(blank(200, 250), [p], COCO_KEYPOINTS, { label: false, minScore: 0.01 });
    expect(pixel(lowered, 150, 30)).to.deep.equal([...personColor(p, 0)]);
  });

  it('colours by track id so that a person keeps its colour, else by position', () => {
    const a = person(40, 20, { id: 7 });
    const b = person(120, 20, { id: 3 });
    const first = drawPoses(blank(200, 250), [a, b], COCO_KEYPOINTS, { label: false });
    const swapped = drawPoses(blank(200, 250), [b, a], COCO_KEYPOINTS, { label: false });
    expect(pixel(first, 40, 20)).to.deep.equal([...DEFAULT_PALETTE[7]!]);
    expect(pixel(swapped, 40, 20)).to.deep.equal(pixel(first, 40, 20));
    expect(pixel(first, 40, 20)).to.not.deep.equal(pixel(first, 120, 20));
    const byPerson = drawPoses(blank(200, 250), [b, a], COCO_KEYPOINTS, { label: false, colorBy: 'person' });
    expect(pixel(byPerson, 40, 20)).to.deep.equal([...DEFAULT_PALETTE[1]!]);
  });

  it('labels the score (and id) above the box when asked', () => {
    const p = person(60, 60, { id: 2 });
    const plain = drawPoses(blank(200, 300), [p], COCO_KEYPOINTS, { label: false });
    const labelled = drawPoses(blank(200, 300), [p], COCO_KEYPOINTS);
    expect(changed(plain, labelled, 0, 0, 200, 60)).to.be.greaterThan(20);
    expect(changed(plain, labelled, 0, 61, 200, 300)).to.equal(0);
  });

  it('clips poses partly outside the image and draws CrowdPose skeletons', () => {
    const p = person(-20, -50, {}, CROWDPOSE_KEYPOINTS.names);
    p.keypoints[3] = { ...p.keypoints[3]!, x: 5000, y: Number.NaN };
    expect(() => drawPoses(blank(64, 48), [p, person(30, 5, {}, CROWDPOSE_KEYPOINTS.names)], CROWDPOSE_KEYPOINTS, { box: true })).to.not.throw();
  });

  it('draws the visible part of a limb to a far-off joint, stepping only there', () => {
    // Skeleton edge [15, 13] (left ankle–left knee); the ankle 1e12 px to the right, on the knee's row.
    const p = person(60, 20);
    p.keypoints[15] = { ...p.keypoints[15]!, x: 1e12, y: p.keypoints[13]!.y };
    const out = drawPoses(blank(200, 250), [p], COCO_KEYPOINTS, { label: false });
    const color = [...personColor(p, 0)];
    const row = p.keypoints[13]!.y;
    for (const x of [61, 100, 150, 199]) expect(pixel(out, x, row), `x ${x}`).to.deep.equal(color);
  });

  it('leaves out a joint whose position or score is NaN or infinite (people of a user\'s own, or smoothed), with its limbs', () => {
    const drawnAlone = (edit: (p: Person) => void): RgbImage => {
      const p = person(60, 20);
      edit(p);
      return drawPoses(blank(200, 250), [p], COCO_KEYPOINTS, { label: false });
    };
    // The nose (joint 0) left out as a joint below the threshold is: the picture of that person.
    const noseless = drawnAlone((p) => { p.keypoints[0]!.score = 0; });
    const edits: [string, (p: Person) => void][] = [
      ['x NaN', (p) => { p.keypoints[0]!.x = Number.NaN; }],
      ['y -Infinity', (p) => { p.keypoints[0]!.y = -Infinity; }],
      ['score NaN', (p) => { p.keypoints[0]!.score = Number.NaN; }],
      // An infinite score, at a finite place off the figure, was drawn there with its limbs.
      ['score Infinity', (p) => { p.keypoints[0] = { ...p.keypoints[0]!, x: 150, y: 30, score: Infinity }; }],
    ];
    for (const [name, edit] of edits) expect(changed(drawnAlone(edit), noseless, 0, 0, 200, 250), name).to.equal(0);
  });

  it('draws a limb to a joint at a huge finite position (1e16 px and on) at once, instead of stepping forever', () => {
    // In another process, killed past a time limit (SIGKILL: tsx catches SIGTERM): past 2^53 steps
    // the step counter stood still (i++ on 1e16 is 1e16), and drawPoses never returned.
    const script = `import { COCO_KEYPOINTS, drawPoses } from './src/index.ts';
      const keypoints = COCO_KEYPOINTS.names.map((name, j) => ({ name, x: 60, y: 20 + j * 12, score: 0.9 }));
      keypoints[15] = { ...keypoints[15], x: 1e300 };
      keypoints[16] = { ...keypoints[16], x: -1e308, y: 1e308 };
      const box = { xMin: 55, yMin: 20, xMax: 65, yMax: 212, width: 10, height: 192 };
      const out = drawPoses({ data: new Uint8Array(200 * 250 * 3), width: 200, height: 250 }, [{ score: 1, keypoints, box }], COCO_KEYPOINTS, { label: false });
      // Row 176 holds the left knee (60, 176); the limb to the ankle, 1e300 px on, is drawn across to the image's right edge.
      console.log([61, 150, 199].map((x) => out.data[(176 * 200 + x) * 3]).join());`;
    const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000, killSignal: 'SIGKILL' });
    expect(child.signal, 'killed after 30 s: drawPoses was stepping along the limb').to.equal(null);
    expect(child.stderr).to.equal('');
    expect(child.stdout).to.equal(`${Array(3).fill(DEFAULT_PALETTE[0]![0]).join()}\n`);
  });

  it('colours a person with a track id that is no integer by position, as one without', () => {
    // A palette index of 1.5 gave no colour: a TypeError.
    for (const id of [1.5, Number.NaN]) expect(personColor(person(0, 0, { id }), 2)).to.deep.equal(DEFAULT_PALETTE[2]);
  });

  it('draws on RGBA pixels (a canvas\'s ImageData) as on RGB, in a Uint8ClampedArray, opaque where drawn, the alpha kept elsewhere', () => {
    const [width, height] = [120, 160];
    const p = [person(40, 30, { id: 4 }), person(90, 40)];
    const options: OverlayOptions = { box: true };
    // A picture with every value varying, and an alpha that does too (0 and 255 among it).
    const rgb: RgbImage = { data: Uint8Array.from({ length: width * height * 3 }, (_, i) => (i * 7) % 256), width, height };
    const rgba = { data: new Uint8ClampedArray(width * height * 4), width, height };
    for (let i = 0; i < width * height; i++) {
      rgba.data.set(rgb.data.subarray(i * 3, i * 3 + 3), i * 4);
      rgba.data[i * 4 + 3] = (i * 13) % 256;
    }
    const before = new Uint8ClampedArray(rgba.data);
    const drawnRgb = drawPoses(rgb, p, COCO_KEYPOINTS, options);
    const out = drawPoses(rgba, p, COCO_KEYPOINTS, options);
    // Its type too: what new ImageData(data, width, height) and putImageData take.
    const data: Uint8ClampedArray<ArrayBuffer> = out.data;
    expect(data).to.be.an.instanceOf(Uint8ClampedArray).with.lengthOf(width * height * 4);
    expect([out.width, out.height]).to.deep.equal([width, height]);
    expect(rgba.data).to.deep.equal(before);
    // The pixels drawn, whatever the picture: those the same on black and on white.
    const [onBlack, onWhite] = [0, 255].map((value) => drawPoses(blank(width, height, value), p, COCO_KEYPOINTS, options).data);
    const isDrawn = (i: number): boolean => [0, 1, 2].every((c) => onBlack[i * 3 + c] === onWhite[i * 3 + c]);
    const pixels = Array.from({ length: width * height }, (_, i) => i);
    expect(pixels.filter(isDrawn).length).to.be.within(500, (width * height) / 2);
    expect(Uint8Array.from(pixels.flatMap((i) => [...data.subarray(i * 4, i * 4 + 3)]))).to.deep.equal(drawnRgb.data);
    expect(pixels.map((i) => data[i * 4 + 3])).to.deep.equal(pixels.map((i) => (isDrawn(i) ? 255 : before[i * 4 + 3])));
  });

  it('keeps the layout and array kind of the pixels given: RGBA in a Uint8Array or Buffer (sharp\'s raw), RGB in a Uint8ClampedArray', () => {
    const p = [person(30, 5)];
    const rgb = blank(64, 48, 90);
    const drawnRgb = drawPoses(rgb, p, COCO_KEYPOINTS);
    const clampedRgb = drawPoses({ ...rgb, data: new Uint8ClampedArray(rgb.data) }, p, COCO_KEYPOINTS);
    expect(clampedRgb.data).to.be.an.instanceOf(Uint8ClampedArray);
    expect([...clampedRgb.data]).to.deep.equal([...drawnRgb.data]);
    // sharp's { data, ...info } of ensureAlpha().raw(): a Buffer with its channels.
    const opaque = Buffer.alloc(64 * 48 * 4, 90);
    for (let alpha = 3; alpha < opaque.length; alpha += 4) opaque[alpha] = 255;
    const drawnRgba = drawPoses({ data: opaque, width: 64, height: 48, channels: 4 }, p, COCO_KEYPOINTS);
    expect(drawnRgba.data).to.be.an.instanceOf(Uint8Array).with.lengthOf(64 * 48 * 4);
    expect(drawnRgba.data.filter((_, i) => i % 4 !== 3)).to.deep.equal(drawnRgb.data);
    expect(drawnRgba.data.filter((_, i) => i % 4 === 3).every((alpha) => alpha === 255)).to.equal(true);
  });

  it('BAD CALL - pixels that are no RGB or RGBA image, and options that would draw nothing, are refused by name', () => {
    const p = [person(30, 5)];
    // Drawn out of bounds (nothing), or into float pixels, without a word.
    expect(() => drawPoses({ data: new Uint8Array(10), width: 64, height: 48 }, p, COCO_KEYPOINTS)).to.throw(ImageError, /^drawPoses image: data holds 10 bytes; a 64x48 image needs 9216 \(RGB\) or 12288 \(RGBA\)$/);
    expect(() => drawPoses({ data: new Uint8ClampedArray(64 * 48 * 4 - 4), width: 64, height: 48 }, p, COCO_KEYPOINTS)).to.throw(ImageError, /^drawPoses image: data holds 12284 bytes; a 64x48 image needs 9216 \(RGB\) or 12288 \(RGBA\)$/);
    expect(() => drawPoses({ ...blank(64, 48), channels: 4 }, p, COCO_KEYPOINTS)).to.throw(ImageError, /^drawPoses image: data holds 9216 bytes; a 64x48 image of 4 channels \(RGBA\) needs 12288$/);
    // Gray cannot hold the colours, and an RGB result would not go back where the gray came from.
    const gray = /gray, which cannot hold the colours drawn: readImage\(pixels\) converts it to RGB\)$/;
    expect(() => drawPoses({ data: new Uint8Array(64 * 48), width: 64, height: 48 }, p, COCO_KEYPOINTS)).to.throw(ImageError, /^drawPoses image: data holds 3072 bytes; a 64x48 image needs 9216 \(RGB\) or 12288 \(RGBA\) \(looks like gray, /).with.property('message').that.matches(gray);
    expect(() => drawPoses({ data: new Uint8Array(64 * 48), width: 64, height: 48, channels: 1 }, p, COCO_KEYPOINTS)).to.throw(ImageError, /^drawPoses image: channels must be 3 \(RGB\) or 4 \(RGBA\); got 1 \(gray, /).with.property('message').that.matches(gray);
    expect(() => drawPoses({ ...blank(64, 48), data: new Float32Array(64 * 48 * 3) as never }, p, COCO_KEYPOINTS)).to.throw(ImageError, /must be a Uint8Array or Uint8ClampedArray of 8-bit values \(RGB or RGBA\); got Float32Array$/);
    // It draws on pixels only: the message offered a path, as readImage's does.
    expect(() => drawPoses('photo.jpg' as never, p, COCO_KEYPOINTS)).to.throw(ImageError, /^drawPoses image: expected RGB or RGBA pixels \{ data, width, height \} \(readImage decodes a path or encoded bytes to them\); got String$/);
    expect(() => drawPoses(blank(64, 48), p, COCO_KEYPOINTS, { palette: [] })).to.throw(RangeError, /^drawPoses: the palette holds no colour$/);
    // No lines, or no joints, were drawn.
    for (const lineWidth of [0, -2, Number.NaN]) {
      expect(() => drawPoses(blank(64, 48), p, COCO_KEYPOINTS, { lineWidth })).to.throw(RangeError, new RegExp(`^drawPoses: lineWidth must be a number of pixels >= 1, got ${lineWidth}$`));
    }
    expect(() => drawPoses(blank(64, 48), p, COCO_KEYPOINTS, { radius: -1 })).to.throw(RangeError, /^drawPoses: radius must be a number of pixels >= 0, got -1$/);
    expect(() => drawPoses(blank(64, 48), p, COCO_KEYPOINTS, { minScore: Number.NaN })).to.throw(RangeError, /^drawPoses: minScore must be a number, got NaN$/);
  });

  it('BAD CALL - drawPoses without the keypoint definition, or with one person instead of a list, says so (from JavaScript)', () => {
    const drawn = drawPoses as (...args: unknown[]) => RgbImage;
    expect(() => drawn(blank(64, 48), [person(30, 5)])).to.throw(TypeError, /^drawPoses needs the keypoint definition/);
    expect(() => drawn(blank(64, 48), person(30, 5), COCO_KEYPOINTS)).to.throw(TypeError, /^drawPoses: people must be a list of people \(as estimatePoses gives\), got Object$/);
  });

  it('BAD CALL - people of another keypoint definition, or with a keypoint that is no object, are refused by person', () => {
    // CrowdPose's 14 joints were joined by COCO's limbs (shoulders to eyes...) without a word.
    expect(() => drawPoses(blank(64, 48), [person(30, 5), person(20, 5, {}, CROWDPOSE_KEYPOINTS.names)], COCO_KEYPOINTS)).to.throw(RangeError, /^drawPoses: person 1 has 14 keypoints, the keypoint definition \(coco\) 17: give the keypoints of the estimator that found them$/);
    // "Cannot read properties of null (reading 'score')" from inside the drawing before.
    const holed = person(30, 5);
    (holed.keypoints as unknown[])[3] = null;
    expect(() => drawPoses(blank(64, 48), [holed], COCO_KEYPOINTS)).to.throw(TypeError, /^drawPoses: person 0's keypoint 3 must be a keypoint \{ name, x, y, score \}, got Null$/);
  });

  it('BAD CALL - drawPoses of a list of lists, or with options misspelt or of the wrong kind, says which (from JavaScript)', () => {
    const p = [person(30, 5)];
    const draw = (people: unknown, options: unknown) => () => drawPoses(blank(64, 48), people as Person[], COCO_KEYPOINTS, options as OverlayOptions);
    // estimatePoses of a list of images: 'Cannot read properties of undefined (reading xMin)' from inside before.
    expect(draw([[]], {})).to.throw(TypeError, /^drawPoses: person 0 is a list, not a person: give the people of one image/);
    expect(draw([{ score: 1 }], {})).to.throw(TypeError, /^drawPoses: person 0 has no keypoints list, got Undefined$/);
    // Each was ignored, or taken as true, or drew black, without a word.
    expect(draw(p, { lineWidht: 3 })).to.throw(TypeError, /^drawPoses: unknown option lineWidht; its options are minScore, lineWidth, radius, label, box, colorBy, palette$/);
    expect(draw(p, { label: 'no' })).to.throw(TypeError, /^drawPoses: label must be true or false, got "no"$/);
    expect(draw(p, { colorBy: 'id' })).to.throw(TypeError, /^drawPoses: colorBy must be one of 'track', 'person', got "id"$/);
    expect(draw(p, { palette: ['red'] })).to.throw(TypeError, /^drawPoses: palette must be a list of colours \[r, g, b\], each an integer from 0 to 255, got \["red"\]$/);
    expect(draw(p, { lineWidth: '3' })).to.throw(RangeError, /^drawPoses: lineWidth must be a number of pixels >= 1, got "3"$/);
    expect(draw(p, 'box')).to.throw(TypeError, /^drawPoses: options must be an object with any of minScore, .*; got "box"$/);
  });

  it('BAD CALL - a person of a user\'s own without a score, or with a box side left out, is named when its label or box would be drawn', () => {
    const { score: _, ...unscored } = person(40, 5);
    const sided = person(30, 5, { box: { ...person(30, 5).box, yMin: Number.NaN } });
    const draw = (people: unknown[], options: OverlayOptions = {}) => () => drawPoses(blank(64, 48), people as Person[], COCO_KEYPOINTS, options);
    // 'Cannot read properties of undefined (reading toFixed)' from inside before.
    expect(draw([person(30, 5), unscored])).to.throw(RangeError, /^drawPoses: person 1's score is undefined; its label shows a finite number \(or draw with label: false\)$/);
    // The label was left out without a word.
    expect(draw([sided])).to.throw(RangeError, /^drawPoses: person 0's box has yMin NaN; drawing its label needs finite coordinates \(or draw with label: false\)$/);
    expect(draw([sided], { label: false, box: true })).to.throw(RangeError, /^drawPoses: person 0's box has yMin NaN; drawing its box needs finite coordinates \(or draw with box: false\)$/);
    // Without a label or box, neither is needed.
    expect(draw([unscored, sided], { label: false })()).to.have.property('width', 64);
  });
});
