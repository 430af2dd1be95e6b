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

  it('BAD CALL - pixels that are no RGB image, and options that would draw nothing, are refused by name', () => {
    const p = [person(30, 5)];
    // Drawn out of bounds (nothing), or into float pixels, without a word.
    expect(() => drawPoses({ data: new Uint8Array(10), width: 64, height: 48 }, p, COCO_KEYPOINTS)).to.throw(ImageError, /^drawPoses image: data holds 10 bytes; a 64x48 RGB image needs 9216$/);
    expect(() => drawPoses({ ...blank(64, 48), data: new Float32Array(64 * 48 * 3) as never }, p, COCO_KEYPOINTS)).to.throw(ImageError, /must be a Uint8Array of 8-bit RGB values; got Float32Array$/);
    // It draws on pixels only: the message offered a path, as readImage's does.
    expect(() => drawPoses('photo.jpg' as never, p, COCO_KEYPOINTS)).to.throw(ImageError, /^drawPoses image: expected RGB pixels \{ data, width, height \} \(readImage decodes a path or encoded bytes to them\); got String$/);
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
