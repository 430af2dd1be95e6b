/**
 * Drawing poses on RGB or RGBA images: skeleton lines, joint dots and a label with the person's
 * score (and track id), in plain typed-array writes (no anti-aliasing) so that it keeps up
 * with video. Text uses a built-in 3×5 pixel font of digits, '.', '-' and '#'.
 */
import type { KeypointDefinition } from '../datasets.js';
import type { CanvasPixels, ImageDataLike, Keypoint, PersonInput, RgbImage } from '../types.js';
import { drawnPixelChannels } from '../io/image.js';
import { isFlag, optionsProblem, shownValue, typeName } from '../values.js';
import { BOX_SIDES, checkShape } from '../tracking/people.js';

export type Rgb = readonly [number, number, number];

export interface OverlayOptions {
  /** Joints scoring below this are not drawn, nor lines touching them; default 0.1. */
  minScore?: number | undefined;
  /** Line width in pixels; default scales with the image (1 px up to 400 px). */
  lineWidth?: number | undefined;
  /** Joint dot radius in pixels; default scales with the image. */
  radius?: number | undefined;
  /** Label with score (and `#id` when tracked); default true. */
  label?: boolean | undefined;
  /** Outline the person's box; default false. */
  box?: boolean | undefined;
  /** Colour by track id (people without one fall back to their index) or by index; default 'track'. */
  colorBy?: 'track' | 'person' | undefined;
  /** Colours to cycle through. */
  palette?: readonly Rgb[] | undefined;
}

export const DEFAULT_PALETTE: readonly Rgb[] = [
  [230, 25, 75], [60, 180, 75], [255, 225, 25], [0, 130, 200], [245, 130, 48], [145, 30, 180],
  [70, 240, 240], [240, 50, 230], [210, 245, 60], [250, 190, 212], [0, 128, 128], [170, 110, 40],
];

/** The colour of a person: by track id when it has one (an integer) and `colorBy` is 'track', else by position. */
export function personColor(person: PersonInput, index: number, options: OverlayOptions = {}): Rgb {
  const palette = options.palette ?? DEFAULT_PALETTE;
  if (palette.length === 0) throw new RangeError('drawPoses: the palette holds no colour');
  const key = (options.colorBy ?? 'track') === 'track' && Number.isSafeInteger(person.id) ? person.id! : index;
  return palette[((key % palette.length) + palette.length) % palette.length]!;
}

/**
 * A new image: `image` with `people` drawn on it, in the layout and array kind of `image`, RGB or
 * RGBA (a canvas's ImageData: a Uint8ClampedArray in, a Uint8ClampedArray out, for putImageData);
 * gray is refused (`readImage(pixels)` converts it to RGB). On RGBA the colours are those drawn on
 * RGB, and the drawing is opaque (there is no opacity option): its pixels get alpha 255, the others
 * keep theirs. A joint is drawn when its score is at least `minScore` and its x, y and score are
 * finite numbers: one holding NaN or an infinity (people of your own, or smoothed) is left out with
 * the limbs that touch it, as a joint not found is. People with a keypoint that is no object are a
 * TypeError, people of another keypoint definition (fewer or more keypoints than its joints) a RangeError.
 */
export function drawPoses(image: RgbImage, people: readonly PersonInput[], def: KeypointDefinition, options?: OverlayOptions): RgbImage;
export function drawPoses(image: ImageDataLike & { data: Uint8ClampedArray }, people: readonly PersonInput[], def: KeypointDefinition, options?: OverlayOptions): CanvasPixels;
export function drawPoses(image: ImageDataLike, people: readonly PersonInput[], def: KeypointDefinition, options?: OverlayOptions): ImageDataLike;
export function drawPoses(image: ImageDataLike, people: readonly PersonInput[], def: KeypointDefinition, options: OverlayOptions = {}): ImageDataLike {
  // Pixels of another length or kind would be drawn wrong, or not at all, without a word.
  const channels = drawnPixelChannels(image, 'drawPoses image');
  if (!Array.isArray(people as unknown)) throw new TypeError(`drawPoses: people must be a list of people (as estimatePoses gives), got ${typeName(people)}`);
  if (!Array.isArray(def?.skeleton) || !Array.isArray(def.names)) throw new TypeError('drawPoses needs the keypoint definition of the people (COCO_KEYPOINTS, or the estimator\'s keypoints): its skeleton is drawn');
  // A list of lists (estimatePoses of several images) or a person without keypoints: a TypeError from inside the drawing otherwise.
  checkShape(people, 'drawPoses');
  // CrowdPose's 14 joints drawn with COCO's skeleton would join the wrong joints, silently.
  const other = people.findIndex((p) => p.keypoints.length !== def.names.length);
  if (other >= 0) throw new RangeError(`drawPoses: person ${other} has ${people[other]!.keypoints.length} keypoints, the keypoint definition (${def.kind}) ${def.names.length}: give the keypoints of the estimator that found them`);
  checkOverlayOptions(options);
  checkLabelsAndBoxes(people, options.label ?? true, options.box ?? false);
  // One copy, of the input's kind; drawn through a Uint8Array view (the colours are bytes: no clamping to do).
  const data = image.data instanceof Uint8ClampedArray ? new Uint8ClampedArray(image.data) : new Uint8Array(image.data);
  const out = { data, width: image.width, height: image.height };
  const side = Math.min(image.width, image.height);
  const lineWidth = options.lineWidth ?? Math.max(1, Math.round(side / 400));
  const radius = options.radius ?? Math.max(2, Math.round(side / 160));
  const minScore = options.minScore ?? 0.1;
  const canvas = new Canvas(data instanceof Uint8Array ? data : new Uint8Array(data.buffer), image.width, image.height, channels);
  people.forEach((person, index) => {
    const color = personColor(person, index, options);
    const kps = person.keypoints;
    const shown = (j: number): boolean => kps[j] !== undefined && isDrawable(kps[j]!) && kps[j]!.score >= minScore;
    if (options.box) {
      const { xMin, yMin, xMax, yMax } = person.box;
      canvas.line(xMin, yMin, xMax, yMin, lineWidth, color);
      canvas.line(xMax, yMin, xMax, yMax, lineWidth, color);
      canvas.line(xMax, yMax, xMin, yMax, lineWidth, color);
      canvas.line(xMin, yMax, xMin, yMin, lineWidth, color);
    }
    for (const [a, b] of def.skeleton) {
      if (shown(a) && shown(b)) canvas.line(kps[a]!.x, kps[a]!.y, kps[b]!.x, kps[b]!.y, lineWidth, color);
    }
    kps.forEach((k, j) => {
      if (!shown(j)) return;
      canvas.disc(k.x, k.y, radius + 1, [255, 255, 255]);
      canvas.disc(k.x, k.y, radius, color);
    });
    if (options.label ?? true) {
      const text = `${person.id !== undefined ? `#${person.id} ` : ''}${person.score.toFixed(2)}`;
      const scale = Math.max(1, Math.round(side / 240));
      const height = 7 * scale;
      const x = Math.round(person.box.xMin);
      const y = Math.round(person.box.yMin) - height >= 0 ? Math.round(person.box.yMin) - height : Math.round(person.box.yMin);
      canvas.text(x, y, text, scale, color);
    }
  });
  return out;
}

const isDrawable = (k: Keypoint): boolean => Number.isFinite(k.x) && Number.isFinite(k.y) && Number.isFinite(k.score);

/**
 * Refuses a person whose label or box would be drawn from a value that is no finite number: a
 * person of a user's own without a score was a TypeError from inside the drawing, one with a
 * box side left out or NaN had its label or box left out without a word.
 */
function checkLabelsAndBoxes(people: readonly PersonInput[], labelled: boolean, boxed: boolean): void {
  const drawn = labelled && boxed ? 'box and label' : labelled ? 'label' : 'box';
  const unless = labelled && boxed ? 'label: false and box: false' : labelled ? 'label: false' : 'box: false';
  people.forEach((person, p) => {
    if (labelled && !Number.isFinite(person.score)) {
      throw new RangeError(`drawPoses: person ${p}'s score is ${shownValue(person.score)}; its label shows a finite number (or draw with label: false)`);
    }
    // The label stands at the box's top left corner.
    for (const side of boxed ? BOX_SIDES : labelled ? (['xMin', 'yMin'] as const) : []) {
      if (!Number.isFinite(person.box[side])) {
        throw new RangeError(`drawPoses: person ${p}'s box has ${side} ${shownValue(person.box[side])}; drawing its ${drawn} needs finite coordinates (or draw with ${unless})`);
      }
    }
  });
}

/** Every option of `drawPoses`, for refusing the others (a misspelt `lineWidht` would be ignored without a word). */
const OVERLAY_OPTION_NAMES: Record<keyof OverlayOptions, true> = { minScore: true, lineWidth: true, radius: true, label: true, box: true, colorBy: true, palette: true };

const COLOR_BY: readonly NonNullable<OverlayOptions['colorBy']>[] = ['track', 'person'];

const isColor = (c: unknown): boolean => Array.isArray(c) && c.length === 3 && c.every((v) => Number.isInteger(v) && v >= 0 && v <= 255);

/**
 * Refuses options unknown or of the wrong kind (a TypeError: a flag 'no' is taken as true, a colour
 * 'red' draws black), and sizes and a threshold that would draw nothing, or not what was asked,
 * without a word (a RangeError: NaN, a negative width).
 */
export function checkOverlayOptions(options: OverlayOptions): void {
  const problem = optionsProblem(options, OVERLAY_OPTION_NAMES);
  if (problem) throw new TypeError(`drawPoses: ${problem}`);
  const { lineWidth, radius, minScore, colorBy, palette } = options;
  for (const flag of ['label', 'box'] as const) {
    if (options[flag] !== undefined && !isFlag(options[flag])) throw new TypeError(`drawPoses: ${flag} must be true or false, got ${shownValue(options[flag])}`);
  }
  if (colorBy !== undefined && !COLOR_BY.includes(colorBy)) throw new TypeError(`drawPoses: colorBy must be one of ${COLOR_BY.map((c) => `'${c}'`).join(', ')}, got ${shownValue(colorBy)}`);
  if (palette !== undefined && !(Array.isArray(palette) && palette.every(isColor))) {
    throw new TypeError(`drawPoses: palette must be a list of colours [r, g, b], each an integer from 0 to 255, got ${shownValue(palette)}`);
  }
  for (const [name, value, least] of [['lineWidth', lineWidth, 1], ['radius', radius, 0]] as const) {
    if (value !== undefined && !(typeof value === 'number' && Number.isFinite(value) && value >= least)) {
      throw new RangeError(`drawPoses: ${name} must be a number of pixels >= ${least}, got ${shownValue(value)}`);
    }
  }
  if (minScore !== undefined && !(typeof minScore === 'number' && !Number.isNaN(minScore))) throw new RangeError(`drawPoses: minScore must be a number, got ${shownValue(minScore)}`);
}

/** 3×5 glyphs, row-major bits from the top-left (bit 14) to the bottom-right (bit 0). */
const GLYPHS: Record<string, number> = {
  '0': 0b111101101101111, '1': 0b010110010010111, '2': 0b111001111100111, '3': 0b111001111001111,
  '4': 0b101101111001001, '5': 0b111100111001111, '6': 0b111100111101111, '7': 0b111001001001001,
  '8': 0b111101111101111, '9': 0b111101111001111, '.': 0b000000000000010, '#': 0b101111101111101,
  '-': 0b000000111000000, ' ': 0,
};

/** Clipped drawing primitives on one image, RGB or RGBA (whose pixels drawn become opaque: drawPoses has no opacity). */
class Canvas {
  constructor(
    private readonly data: Uint8Array,
    private readonly width: number,
    private readonly height: number,
    private readonly channels: 3 | 4,
  ) {}

  fillRect(x0: number, y0: number, x1: number, y1: number, color: Rgb): void {
    const { data, width, height, channels } = this;
    const xa = Math.max(0, Math.floor(x0));
    const xb = Math.min(width - 1, Math.floor(x1));
    const ya = Math.max(0, Math.floor(y0));
    const yb = Math.min(height - 1, Math.floor(y1));
    for (let y = ya; y <= yb; y++) {
      for (let x = xa, o = (y * width + xa) * channels; x <= xb; x++, o += channels) {
        data[o] = color[0];
        data[o + 1] = color[1];
        data[o + 2] = color[2];
      }
      // Apart, so that the RGB loop above stays as lean as it was.
      if (channels === 4) for (let o = (y * width + xa) * 4 + 3, end = (y * width + xb) * 4 + 3; o <= end; o += 4) data[o] = 255;
    }
  }

  disc(cx: number, cy: number, r: number, color: Rgb): void {
    const { data, width, height, channels } = this;
    if (!Number.isFinite(cx) || !Number.isFinite(cy)) return;
    const r2 = (r + 0.5) ** 2;
    const ya = Math.max(0, Math.floor(cy - r));
    const yb = Math.min(height - 1, Math.ceil(cy + r));
    const xa = Math.max(0, Math.floor(cx - r));
    const xb = Math.min(width - 1, Math.ceil(cx + r));
    for (let y = ya; y <= yb; y++) {
      for (let x = xa; x <= xb; x++) {
        if ((x - cx) ** 2 + (y - cy) ** 2 > r2) continue;
        const o = (y * width + x) * channels;
        data[o] = color[0];
        data[o + 1] = color[1];
        data[o + 2] = color[2];
        if (channels === 4) data[o + 3] = 255;
      }
    }
  }

  /** A line `width` pixels wide: square stamps along its longer axis. */
  line(x0: number, y0: number, x1: number, y1: number, width: number, color: Rgb): void {
    if (![x0, y0, x1, y1].every(Number.isFinite)) return;
    const { width: w, height: h } = this;
    const steps = Math.max(1, Math.ceil(Math.max(Math.abs(x1 - x0), Math.abs(y1 - y0))));
    const half = (width - 1) / 2;
    // Only the steps whose pen can touch the image: a far-off end point would mean billions of them.
    const margin = Math.ceil(half) + 1;
    const inside = segmentInside(x0, y0, x1, y1, -margin, -margin, w - 1 + margin, h - 1 + margin);
    if (!inside) return;
    // Past 2^53 steps (an end 1e16 px off) i++ no longer moves the step counter: a hang. So long a
    // line is drawn as its visible part, whose steps are few.
    if (steps > MAX_LINE_STEPS) {
      const visible = clippedEnds(x0, y0, x1, y1, -margin, -margin, w - 1 + margin, h - 1 + margin);
      if (visible) this.line(...visible, width, color);
      return;
    }
    for (let i = Math.floor(inside[0] * steps), last = Math.ceil(inside[1] * steps); i <= last; i++) {
      const x = Math.round(x0 + ((x1 - x0) * i) / steps);
      const y = Math.round(y0 + ((y1 - y0) * i) / steps);
      this.fillRect(x - Math.floor(half), y - Math.floor(half), x + Math.ceil(half), y + Math.ceil(half), color);
    }
  }

  /** Text on a dark background box, top-left at (x, y), glyph pixels `scale`×`scale`. */
  text(x: number, y: number, text: string, scale: number, color: Rgb): void {
    const advance = 4 * scale;
    this.fillRect(x, y, x + text.length * advance + scale - 1, y + 7 * scale - 1, [0, 0, 0]);
    [...text].forEach((ch, i) => {
      const bits = GLYPHS[ch] ?? 0;
      for (let row = 0; row < 5; row++) {
        for (let col = 0; col < 3; col++) {
          if ((bits >> (14 - (row * 3 + col))) & 1) {
            const px = x + scale + i * advance + col * scale;
            const py = y + scale + row * scale;
            this.fillRect(px, py, px + scale - 1, py + scale - 1, color);
          }
        }
      }
    });
  }
}

/** Lines of more steps (pixels along their longer axis) are stepped along their visible part alone. */
const MAX_LINE_STEPS = 2 ** 32;

/**
 * The end points of the part of a segment inside the box [xa, xb] × [ya, yb], clipped from the end
 * nearer the box: measured from an end 1e300 px off, the parameter of the box's edge rounds to 1,
 * the point found to that end's rounding error. Null when it misses the box, or when its ends are
 * so far apart that their difference overflows (1e308 and -1e308).
 */
function clippedEnds(x0: number, y0: number, x1: number, y1: number, xa: number, ya: number, xb: number, yb: number): [number, number, number, number] | null {
  const offCentre = (x: number, y: number): number => Math.max(Math.abs(x - (xa + xb) / 2), Math.abs(y - (ya + yb) / 2));
  if (offCentre(x0, y0) > offCentre(x1, y1)) {
    const reversed = clippedEnds(x1, y1, x0, y0, xa, ya, xb, yb);
    return reversed && [reversed[2], reversed[3], reversed[0], reversed[1]];
  }
  const inside = segmentInside(x0, y0, x1, y1, xa, ya, xb, yb);
  if (!inside) return null;
  const ends = inside.flatMap((t) => [x0 + (x1 - x0) * t, y0 + (y1 - y0) * t]) as [number, number, number, number];
  return ends.every(Number.isFinite) ? ends : null;
}

/**
 * The parameters [t0, t1] (0 at (x0, y0), 1 at (x1, y1)) of the part of a segment inside the box
 * [xa, xb] × [ya, yb], or null when it misses the box (Liang–Barsky clipping).
 */
function segmentInside(x0: number, y0: number, x1: number, y1: number, xa: number, ya: number, xb: number, yb: number): [number, number] | null {
  let [t0, t1] = [0, 1];
  const [dx, dy] = [x1 - x0, y1 - y0];
  for (const [p, q] of [[-dx, x0 - xa], [dx, xb - x0], [-dy, y0 - ya], [dy, yb - y0]] as const) {
    if (p === 0) {
      if (q < 0) return null;
    } else if (p < 0) {
      t0 = Math.max(t0, q / p);
    } else {
      t1 = Math.min(t1, q / p);
    }
  }
  return t0 <= t1 ? [t0, t1] : null;
}
