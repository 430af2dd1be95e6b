/**
 * The one image I/O boundary: files, encoded bytes, raw pixels (RGB, RGBA or gray) or TensorFlow.js tensors of them in, 8-bit
 * RGB out; RGB out to PNG/JPEG/WebP files. Decoding uses sharp (libvips), so JPEG, PNG, WebP,
 * TIFF, GIF, AVIF and whatever else sharp reads are accepted.
 *
 * How pixels are made to match the reference (`cv2.imread(path, IMREAD_COLOR | ...)`, then
 * BGR -> RGB, in lib/dataset/COCODataset.py):
 * - grayscale is replicated to three channels; an alpha channel is dropped, not composited
 *   (IMREAD_COLOR does the same), of files and of raw pixels alike;
 * - 16-bit images keep the high byte, as libpng's strip-16 under IMREAD_COLOR does;
 * - embedded ICC profiles are ignored (OpenCV ignores them); CMYK goes through libvips' CMYK
 *   to sRGB conversion (OpenCV uses a plain inversion formula there, so CMYK JPEGs can differ);
 * - EXIF orientation is applied by default (JPEG, and PNG, WebP or TIFF that carry the tag), which
 *   is what a user expects from a photo; the reference reads with IMREAD_IGNORE_ORIENTATION, and
 *   COCO annotations are in the stored pixel grid, so benchmarks pass `{ exifOrientation: false }`;
 * - an animated GIF or WebP, or a multi-page TIFF, gives its first frame or page (as cv2.imread).
 */
import { readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { extname } from 'node:path';
import sharp, { type Metadata, type OutputInfo, type Sharp } from 'sharp';
import type { ImageDataLike, ImageInput, RgbImage, TensorLike } from '../types.js';
import { errorLine, isFlag, isPositiveInt, optionsProblem, shownValue, typeName } from '../values.js';
import { temporaryPathBeside, writingTemporary } from './atomic.js';
import { formatBySignature, videoContainerBySignature } from './image-signature.js';

export type ImageErrorCode =
  | 'missing' // no such file
  | 'unreadable' // exists but cannot be read (permissions, a directory, ...)
  | 'empty' // zero bytes
  | 'corrupt' // recognised format, broken data
  | 'unsupported' // not an image format sharp can decode (or write)
  | 'dimensions' // zero, non-integer or absurdly large width/height
  | 'invalid-pixels' // a raw `{ data, width, height }` (or a tensor) that is not 8-bit RGB, RGBA or gray (RGB or RGBA where drawn, RGB only where written)
  | 'write-failed';

export class ImageError extends Error {
  override name = 'ImageError';
  constructor(
    /** What went wrong, for callers that branch on it. */
    readonly code: ImageErrorCode,
    /** The file path, or a description of the in-memory input. */
    readonly source: string,
    message: string,
  ) {
    super(`${source}: ${message}`);
  }
}

/** sharp's own default pixel limit (0x3FFF squared), applied to raw pixels as well. */
const DEFAULT_MAX_PIXELS = 0x3fff * 0x3fff;

export interface ReadImageOptions {
  /** Apply the EXIF orientation tag (default true). False keeps the stored pixel grid, as the reference does. */
  exifOrientation?: boolean | undefined;
  /** Refuse images with more pixels than this (default `DEFAULT_MAX_PIXELS`). */
  maxPixels?: number | undefined;
  /** Name used in error messages for in-memory inputs (default "image buffer" / "RGB image"). */
  name?: string | undefined;
}

/**
 * Whether `view`'s ArrayBuffer was detached (transferred to a worker): it then reads as empty, and
 * copying it throws a TypeError. Node 20's ArrayBuffer has no `detached`: only a detached buffer
 * refuses a view on it.
 */
export function isDetached(view: ArrayBufferView): boolean {
  if (view.byteLength > 0 || view.buffer.byteLength > 0) return false;
  try {
    new Uint8Array(view.buffer);
    return false;
  } catch {
    return true;
  }
}

const TRANSFERRED = 'its ArrayBuffer was transferred (postMessage or structuredClone with transfer), which leaves it empty: pass a copy, or the image before it is transferred';

/** Encoded bytes that hold none: a problem naming `source`, or undefined. */
function emptyBytesError(bytes: Uint8Array, source: string): ImageError | undefined {
  if (bytes.length > 0) return undefined;
  return new ImageError('empty', source, isDetached(bytes) ? TRANSFERRED : 'zero-size image data');
}

/** Every option `readImage` reads, for refusing the others (a misspelt `exifOrientaton: false` would turn the image without a word). */
const READ_OPTION_NAMES: Record<keyof ReadImageOptions, true> = { exifOrientation: true, maxPixels: true, name: true };

/**
 * A TypeError for options of `readImage` that are no object, misspelt or of the wrong kind, a
 * RangeError for a `maxPixels` that bounds nothing (NaN was no bound, -1 refused every image
 * as "over the limit of -1 pixels"); as `drawPoses` refuses its options.
 */
function checkReadOptions(options: ReadImageOptions): void {
  const problem = optionsProblem(options, READ_OPTION_NAMES);
  if (problem) throw new TypeError(`readImage: ${problem}`);
  const { exifOrientation, maxPixels, name } = options;
  // sharp said "Expected boolean for autoOrient", an option the caller never gave.
  if (exifOrientation !== undefined && !isFlag(exifOrientation)) throw new TypeError(`readImage: exifOrientation must be true or false, got ${shownValue(exifOrientation)}`);
  if (name !== undefined && !(typeof name === 'string' && name !== '')) throw new TypeError(`readImage: name must be a non-empty string, got ${shownValue(name)}`);
  if (maxPixels !== undefined && !isPositiveInt(maxPixels)) throw new RangeError(`readImage: maxPixels must be a positive integer, got ${shownValue(maxPixels)}`);
}

/**
 * Decodes a file path or encoded bytes to 8-bit RGB, validates raw pixels (RGB returned as given,
 * not copied; RGBA or gray converted: `pixelsToRgb`), or reads a tensor's values (`tensorPixels`).
 * Throws `ImageError` naming the file and the problem; options misspelt or of the wrong kind are a
 * TypeError (RangeError: `maxPixels`).
 */
export async function readImage(input: ImageInput, options: ReadImageOptions = {}): Promise<RgbImage> {
  checkReadOptions(options);
  const maxPixels = options.maxPixels ?? DEFAULT_MAX_PIXELS;
  if (isTensorLike(input)) {
    const name = options.name ?? TENSOR;
    return pixelsToRgb(await tensorPixels(input, name, { maxPixels }), name, { maxPixels });
  }
  if (typeof input === 'string') {
    const bytes = await readImageFile(input);
    return decodeImage(bytes, input, options.exifOrientation ?? true, maxPixels);
  }
  if (input instanceof Uint8Array) {
    const name = options.name ?? 'image buffer';
    const empty = emptyBytesError(input, name);
    if (empty) throw empty;
    return decodeImage(input, name, options.exifOrientation ?? true, maxPixels);
  }
  return pixelsToRgb(input, options.name ?? 'RGB image', { maxPixels });
}

/**
 * What `readImage` would refuse of `input` before reading a file's contents, decoding bytes or
 * reading a tensor's values: a path to no file, to a folder or an empty file; empty bytes; pixels
 * that are not RGB, RGBA or gray; a tensor of another shape, or disposed; a value of another kind.
 * For checking many images up front, before any of them is used.
 */
export async function checkImageInput(input: ImageInput, options: Pick<ReadImageOptions, 'maxPixels' | 'name'> = {}): Promise<void> {
  if (isTensorLike(input)) tensorLayout(input, options.name ?? TENSOR, options.maxPixels ?? DEFAULT_MAX_PIXELS);
  else if (typeof input === 'string') await checkImageFile(input);
  else if (input instanceof Uint8Array) {
    const empty = emptyBytesError(input, options.name ?? 'image buffer');
    if (empty) throw empty;
  } else pixelChannels(input, options.name ?? 'RGB image', options.maxPixels ?? DEFAULT_MAX_PIXELS, READ_CHANNELS, 'any');
}

/** How errors name a tensor given as an image. */
const TENSOR = 'tensor';

/**
 * Whether `value` is a TensorFlow.js tensor (`TensorLike`), told by its fields and methods: an
 * object that merely has a `shape` (or a `data` array) is not one, and is refused as what it is.
 */
export function isTensorLike(value: unknown): value is TensorLike {
  if (typeof value !== 'object' || value === null) return false;
  const { shape, dtype, rank, data, dataSync } = value as Partial<Record<keyof TensorLike, unknown>>;
  return Array.isArray(shape) && typeof dtype === 'string' && typeof rank === 'number' && typeof data === 'function' && typeof dataSync === 'function';
}

/** The layouts a tensor is taken in, as errors list them. */
const TENSOR_SHAPES = '[height, width, channels] or [1, height, width, channels], channels 3 (RGB), 4 (RGBA) or 1 (gray)';

const DISPOSED = 'the tensor was disposed before its values were read: dispose it once estimatePoses (or readImage) has been called with it';

/** A tensor's shape as tfjs prints it. */
const shownShape = (shape: readonly unknown[]): string => `[${shape.map((size) => shownValue(size)).join(', ')}]`;

/**
 * The height, width and channels of an image tensor, checked: shape `[h, w, c]` or `[1, h, w, c]`
 * with c 3, 4 or 1, within `maxPixels`, of a real dtype, not disposed. An `ImageError` naming
 * `source` and the problem else.
 */
function tensorLayout(tensor: TensorLike, source: string, maxPixels: number): { height: number; width: number; channels: 1 | 3 | 4 } {
  if (tensor.isDisposed === true) throw new ImageError('invalid-pixels', source, DISPOSED);
  const { shape, dtype } = tensor;
  const isSize = (size: unknown): size is number => Number.isSafeInteger(size) && (size as number) >= 0;
  const batched = shape.length === 4;
  if (!shape.every(isSize) || !(shape.length === 3 || (batched && shape[0] === 1))) {
    const batch = batched && isSize(shape[0]) ? `: a batch of ${shape[0]} images; pass them as an array of images (tf.unstack(batch))` : '';
    const gray = shape.length === 2 ? ': a gray image? tensor.expandDims(-1) gives it its channel' : '';
    throw new ImageError('invalid-pixels', source, `a tensor of shape ${shownShape(shape)}; expected ${TENSOR_SHAPES}${batch || gray}`);
  }
  const [height, width, channels] = shape.slice(batched ? 1 : 0) as [number, number, number];
  if (channels !== 3 && channels !== 4 && channels !== 1) {
    const why = channels === 2 ? ' (gray and alpha, which is not taken)' : [1, 3, 4].includes(height) ? ' (channels first? tensor.transpose([1, 2, 0]) puts them last)' : '';
    throw new ImageError('invalid-pixels', source, `a tensor of shape ${shownShape(shape)} has ${channels} channels${why}; expected ${TENSOR_SHAPES}`);
  }
  // Their values are not image values: strings, or complex numbers' pairs.
  // A bool tensor (a mask) would pass as an image of 0s and 1s, black.
  if (dtype === 'bool') throw new ImageError('invalid-pixels', source, 'a tensor of dtype bool (a mask?) is no image: its values would be 0 and 1, a black picture; expected 8-bit values (integers 0 to 255)');
  if (dtype === 'string' || dtype === 'complex64') throw new ImageError('invalid-pixels', source, `a tensor of dtype ${dtype}; expected 8-bit values (integers 0 to 255) in int32, float32 or another real dtype`);
  checkSize({ width, height }, source, maxPixels);
  return { height, width, channels };
}

/**
 * The pixels of an image tensor, checked (`tensorLayout`), its values copied to 8 bits (an
 * `ImageError` naming `source` where one is not an integer 0–255). `tensor.data()` is called
 * before this returns (tfjs finishes a read so started even if the tensor is disposed next);
 * the tensor is not disposed.
 */
export async function tensorPixels(tensor: TensorLike, source = TENSOR, { maxPixels = DEFAULT_MAX_PIXELS }: { maxPixels?: number | undefined } = {}): Promise<Required<ImageDataLike>> {
  const { height, width, channels } = tensorLayout(tensor, source, maxPixels);
  let values: ArrayLike<unknown>;
  try {
    values = await tensor.data();
  } catch (error) {
    // Disposed between the check and the read (tfjs: 'Tensor is disposed.').
    if (/disposed/i.test(errorLine(error))) throw new ImageError('invalid-pixels', source, DISPOSED);
    throw new ImageError('unreadable', source, `cannot read the tensor's values (${errorLine(error)})`);
  }
  const size = height * width * channels;
  if (values?.length !== size) throw new ImageError('invalid-pixels', source, `the tensor's data() gave ${values?.length ?? shownValue(values)} values; its shape ${shownShape(tensor.shape)} holds ${size}`);
  const data = new Uint8Array(size);
  for (let i = 0; i < size; i++) {
    const value = values[i];
    if (!(typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 255)) throw tensorValueError(tensor, values, i, source);
    data[i] = value;
  }
  return { data, width, height, channels };
}

/** The error for value `index` of an image tensor, not an integer 0–255: where it is, and what the values look like. */
function tensorValueError(tensor: TensorLike, values: ArrayLike<unknown>, index: number, source: string): ImageError {
  const { shape } = tensor;
  const position: number[] = [];
  for (let rest = index, axis = shape.length - 1; axis >= 0; axis--) {
    position.unshift(rest % shape[axis]!);
    rest = Math.floor(rest / shape[axis]!);
  }
  const found = `${shownValue(values[index])} at ${shownShape(position)}`;
  const within = (top: number): boolean => Array.prototype.every.call(values, (value: unknown) => typeof value === 'number' && value >= 0 && value <= top);
  // A float image of 0–1, or of 0–255 with fractions (tf.image.resizeBilinear's output): said how to make it 8-bit.
  const hint = within(1)
    ? ': a float image of values 0 to 1? multiply it by 255 and round it (tensor.mul(255).round())'
    : within(255) ? ': round it to 8-bit values (tensor.round()), as a float result such as a resize gives' : '';
  return new ImageError('invalid-pixels', source, `a tensor's values must be 8-bit, integers 0 to 255 (dtype ${tensor.dtype}); found ${found}${hint}`);
}

/** Linux's PATH_MAX, its closing NUL counted: no longer string names a file. */
const PATH_MAX = 4096;

/** Characters of an upload's text that errors show. */
const SHOWN_START = 40;

const isDataUrl = (path: string): boolean => /^data:[^,]*,/i.test(path);

/**
 * A path as errors name it: an upload's text given as a path by mistake (a data: URL, base64
 * bytes: 100 kB and more) by its start and length, any other as it is.
 */
export function shownPath(path: string): string {
  const isUpload = path.length >= PATH_MAX || (isDataUrl(path) && path.length > 2 * SHOWN_START);
  return isUpload ? `${path.slice(0, SHOWN_START)}… (${path.length} characters)` : path;
}

const PASS_BYTES = 'encoded bytes are passed as a Uint8Array or Buffer';

/** Refuses a path that names no file, a folder (anything but a regular file) or an empty file. */
async function checkImageFile(path: string): Promise<void> {
  if (path === '') throw new ImageError('missing', 'image path', 'empty string: no file named');
  const shown = shownPath(path);
  let size: number;
  try {
    const st = await stat(path);
    if (!st.isFile()) throw new ImageError('unreadable', shown, 'not a regular file');
    size = st.size;
  } catch (err) {
    if (err instanceof ImageError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    // After the stat: a file may be named so.
    if (isDataUrl(path) && (code === 'ENOENT' || code === 'ENOTDIR' || code === 'ENAMETOOLONG')) {
      throw new ImageError('missing', shown, `a data: URL, no file; ${PASS_BYTES} (Buffer.from(url.slice(url.indexOf(',') + 1), 'base64'))`);
    }
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      const url = /^[a-z][a-z\d+.-]+:\/\//i.test(path) ? ': a URL; images are read from local files (download it, or pass its bytes)' : '';
      throw new ImageError('missing', shown, `no such file${url}`);
    }
    // Base64 text given as a path: too long for one, or for a file name.
    if (code === 'ENAMETOOLONG') throw new ImageError('missing', shown, `no file path, too long for one; ${PASS_BYTES} (base64 text: Buffer.from(text, 'base64'))`);
    throw new ImageError('unreadable', shown, `cannot read the file (${code ?? String(err)})`);
  }
  if (size === 0) throw new ImageError('empty', shown, 'zero-size file');
}

async function readImageFile(path: string): Promise<Uint8Array> {
  await checkImageFile(path);
  try {
    return await readFile(path);
  } catch (err) {
    throw new ImageError('unreadable', path, `cannot read the file (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
}

async function decodeImage(bytes: Uint8Array, source: string, exifOrientation: boolean, maxPixels: number): Promise<RgbImage> {
  const open = (limitInputPixels: number | false) => sharp(bytes, { autoOrient: exifOrientation, ignoreIcc: true, limitInputPixels, failOn: 'error' });
  let out: { data: Buffer; info: OutputInfo };
  try {
    // Decoded without reading the header first (a round trip to sharp's thread less): sharp
    // refuses an image over the pixel limit before decoding it.
    out = await open(Number.isSafeInteger(maxPixels) && maxPixels > 0 ? maxPixels : false)
      // Only the pixel grid matters: a single band (gray) becomes RGB, alpha is dropped,
      // 16 bits become 8 (high byte), CMYK is converted.
      .removeAlpha()
      .toColourspace('srgb')
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
  } catch (err) {
    // The header tells what is wrong, in our words (not an image, no pixels, too many).
    const header = await readHeader(open(false), bytes, source);
    checkSize(header, source, maxPixels);
    // An iPhone's HEIC: libheif reads the container, but sharp's prebuilt libvips has no HEVC decoder.
    if (/has not been built in|no decoding plugin/i.test(String(err))) {
      const format = header.format === 'heif' && header.compression === 'hevc' ? 'HEIC (HEVC)' : `${header.format ?? 'this'}${header.compression ? ` (${header.compression})` : ''}`;
      throw new ImageError('unsupported', source, `${format} images cannot be decoded: this build of sharp (libvips) lacks the decoder; convert it to JPEG or PNG`);
    }
    throw new ImageError('corrupt', source, `corrupt image data (${decoderReason(err, bytes)})`);
  }
  const { info, data } = out;
  checkSize(info, source, maxPixels);
  if (info.channels !== 3 || data.length !== info.width * info.height * 3) {
    throw new ImageError('unsupported', source, `decoded to ${info.channels} channels, expected RGB`);
  }
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width: info.width, height: info.height };
}

async function readHeader(image: Sharp, bytes: Uint8Array, source: string): Promise<Metadata> {
  try {
    return await image.metadata();
  } catch (err) {
    const msg = decoderReason(err, bytes);
    if (!/unsupported image format/i.test(msg)) throw new ImageError('corrupt', source, `corrupt image data (${msg})`);
    // A TIFF cut short loses the directory that libvips recognises it by (written last).
    const format = formatBySignature(bytes);
    if (format !== undefined) throw new ImageError('corrupt', source, `corrupt image data (a ${format} file cut short or damaged)`);
    // A video given as an image: its frames are read by processVideo, which the caller may not know of.
    const video = videoContainerBySignature(bytes);
    if (video !== undefined) throw new ImageError('unsupported', source, `a video (${video}), not an image: estimator.processVideo reads its frames (\`higher-pose video\` on the command line)`);
    if (isBmp(bytes)) throw new ImageError('unsupported', source, 'BMP images cannot be decoded: this build of sharp (libvips) lacks the decoder; convert it to PNG');
    throw new ImageError('unsupported', source, 'not an image format that can be decoded (JPEG, PNG, WebP, TIFF, GIF, AVIF, ...)');
  }
}

/** sharp's words before libvips' reason for a header it cannot read. */
const CORRUPT_HEADER = /^Input (buffer|file) has corrupt header:?\s*/;

/**
 * Why libvips could not decode `bytes`, from its error: the line that says why (libheif logs each
 * seek it tried, `source: bad seek to 1024`, before its reason). A header it cannot read, and a
 * reason it left empty (sharp then says "...corrupt header:" or "Unknown error"), are said in
 * words of the format: "the PNG header cannot be read".
 */
function decoderReason(err: unknown, bytes: Uint8Array): string {
  const lines = (err instanceof Error ? err.message : String(err)).split('\n');
  const reasons = lines.filter((line) => !/source: bad seek to \d+\s*$/.test(line));
  const line = errorLine(reasons.length > 0 ? reasons.join('\n') : err);
  const header = CORRUPT_HEADER.exec(line);
  const detail = line.slice(header?.[0].length ?? 0).replace(/:\s*$/, '');
  const noReason = detail === '' || detail === 'Unknown error';
  if (!header && !noReason) return detail;
  const format = formatBySignature(bytes) ?? 'image';
  const failed = header ? `the ${format} header cannot be read` : `the ${format} data cannot be decoded`;
  return noReason ? failed : `${failed}: ${detail}`;
}

/** A Windows bitmap: "BM", then a DIB header of one of the known sizes at byte 14. */
function isBmp(bytes: Uint8Array): boolean {
  const headerSize = bytes.length >= 18 ? new DataView(bytes.buffer, bytes.byteOffset + 14, 4).getUint32(0, true) : 0;
  return bytes[0] === 0x42 && bytes[1] === 0x4d && [12, 40, 52, 56, 64, 108, 124].includes(headerSize);
}

function checkSize({ width, height }: { width?: number; height?: number }, source: string, maxPixels: number): void {
  if (!width || !height) throw new ImageError('dimensions', source, `image has no pixels (${width ?? '?'}x${height ?? '?'})`);
  if (width * height > maxPixels) throw new ImageError('dimensions', source, `image is ${width}x${height}, over the limit of ${maxPixels} pixels`);
}

/**
 * How an input of another kind shows in the error, and how to get its bytes where it holds some: an
 * ArrayBuffer (`fetch`'s), a Blob or File (`request.formData()`'s), a stream (the request itself).
 */
function uploadHint(input: unknown): { shown: string; hint: string } {
  const shown = typeName(input);
  if (input instanceof ArrayBuffer) return { shown, hint: ' (encoded bytes: new Uint8Array(buffer))' };
  if (input instanceof Uint8ClampedArray) return { shown, hint: " (an ImageData's data? pass the ImageData itself, or { data, width, height })" };
  if (input instanceof Blob) return { shown, hint: ` (encoded bytes: new Uint8Array(await ${shown === 'File' ? 'file' : 'blob'}.arrayBuffer()))` };
  const isStream = input instanceof ReadableStream || (typeof input === 'object' && input !== null && typeof (input as { pipe?: unknown }).pipe === 'function');
  // A Node stream shows as Object: its class (Readable, IncomingMessage) says more.
  if (isStream) return { shown: (input as object).constructor?.name ?? shown, hint: ' (a stream: read it to its end, and pass its bytes, Buffer.concat(chunks))' };
  return { shown, hint: '' };
}

/**
 * What a caller takes as an image: a path, encoded bytes or pixels (`readImage`), RGB pixels only
 * (`validateRgb`), or RGB or RGBA pixels (`drawnPixelChannels`).
 */
export type ImageTaken = 'any' | 'pixels' | 'colour pixels';

/**
 * Checks that `img` is `{ data, width, height }` with positive integer sizes within `maxPixels`
 * (an `ImageError` naming `source` else), its data not yet looked at. `takes` is what the caller
 * takes: a value of another kind is told what that is.
 */
function checkPixelFields(img: ImageDataLike, source: string, maxPixels: number, takes: ImageTaken): void {
  if (img === null || typeof img !== 'object' || !('data' in img)) {
    // An ArrayBuffer, a URL, an object of another shape: say what came, not that its width is missing.
    const pixels = `${takes === 'pixels' ? 'RGB' : 'RGB or RGBA'} pixels { data, width, height } (readImage decodes a path or encoded bytes to them)`;
    const wanted = takes === 'any' ? 'a path, encoded bytes (a Uint8Array or Buffer), { data, width, height } or a TensorFlow.js tensor' : pixels;
    const { shown, hint } = takes === 'any' ? uploadHint(img) : { shown: typeName(img), hint: '' };
    throw new ImageError('invalid-pixels', source, `expected ${wanted}; got ${shown}${hint}`);
  }
  const { width, height } = img;
  if (!Number.isSafeInteger(width) || !Number.isSafeInteger(height) || width <= 0 || height <= 0) {
    // A string "10" shown as "10" would look right.
    const fromSharp = width === undefined && height === undefined && 'info' in img ? "; sharp's { data, info }? pass { data, ...info }" : '';
    throw new ImageError('dimensions', source, `width and height must be positive integers (got ${shownValue(width)}x${shownValue(height)})${fromSharp}`);
  }
  checkSize(img, source, maxPixels);
}

/** What pixels of each channel count taken hold. */
const LAYOUTS: Record<number, string> = { 1: 'gray', 3: 'RGB', 4: 'RGBA' };

/** The channel counts `readImage` takes, and those drawn on, in the order messages list them. */
const READ_CHANNELS = [3, 4, 1] as const;
const DRAWN_CHANNELS = [3, 4] as const;

/** Gray and alpha is not taken: 16-bit gray (sharp's raw output of a 16-bit PNG) has its length, and would pass for it. */
const GRAY_ALPHA = 'gray and alpha, which is not taken: pass the encoded image, or the pixels without their alpha';

/** Gray where colours are drawn: a gray result could not hold them, an RGB one would not fit where the pixels came from. */
const GRAY_DRAWN = 'gray, which cannot hold the colours drawn: readImage(pixels) converts it to RGB';

/** `a`, `a or b`, `a, b or c`. */
const listed = (items: readonly string[]): string => (items.length > 1 ? `${items.slice(0, -1).join(', ')} or ${items.at(-1)}` : items.join(''));

/**
 * The channels of raw pixels (3 RGB, 4 RGBA, 1 gray), checked against those `taken`: their
 * `channels` if given, else what their length holds. An `ImageError` naming `source` and the
 * sizes when they are none of these, or `channels` and the length disagree.
 */
function pixelChannels<C extends 1 | 3 | 4>(img: ImageDataLike, source: string, maxPixels: number, taken: readonly C[], takes: ImageTaken): C {
  checkPixelFields(img, source, maxPixels, takes);
  const { data, width, height, channels } = img;
  if (!(data instanceof Uint8Array || data instanceof Uint8ClampedArray)) {
    throw new ImageError('invalid-pixels', source, `data must be a Uint8Array or Uint8ClampedArray of 8-bit values (${listed(taken.map((c) => LAYOUTS[c]!))}); got ${typeName(data)}`);
  }
  if (isDetached(data)) throw new ImageError('invalid-pixels', source, `data: ${TRANSFERRED}`);
  const isTaken = (c: unknown): c is C => taken.includes(c as C);
  const whyNot = (c: number): string => (c === 2 ? GRAY_ALPHA : c === 1 && !isTaken(1) ? GRAY_DRAWN : '');
  const pixels = width * height;
  if (channels !== undefined) {
    if (!isTaken(channels)) {
      const why = whyNot(channels);
      throw new ImageError('invalid-pixels', source, `channels must be ${listed(taken.map((c) => `${c} (${LAYOUTS[c]})`))}; got ${shownValue(channels)}${why && ` (${why})`}`);
    }
    if (data.length !== pixels * channels) {
      throw new ImageError('invalid-pixels', source, `data holds ${data.length} bytes; a ${width}x${height} image of ${channels} channels (${LAYOUTS[channels]}) needs ${pixels * channels}`);
    }
    return channels;
  }
  const counted = data.length / pixels;
  if (isTaken(counted)) return counted;
  const why = whyNot(counted);
  throw new ImageError(
    'invalid-pixels',
    source,
    `data holds ${data.length} bytes; a ${width}x${height} image needs ${listed(taken.map((c) => `${pixels * c} (${LAYOUTS[c]})`))}` + (why && ` (looks like ${why})`),
  );
}

/**
 * The channels of pixels drawn on, 3 (RGB) or 4 (RGBA: a canvas's ImageData), checked as
 * `readImage` checks pixels (an `ImageError` naming `source` else). Gray is refused: drawn pixels
 * keep their layout, and gray cannot hold colours.
 */
export function drawnPixelChannels(img: ImageDataLike, source: string): 3 | 4 {
  return pixelChannels(img, source, DEFAULT_MAX_PIXELS, DRAWN_CHANNELS, 'colour pixels');
}

/**
 * Raw pixels as 8-bit RGB, checked (an `ImageError` naming `source` and the problem else): RGB
 * as given (a Uint8ClampedArray's viewed as a Uint8Array, not copied), RGBA without its alpha
 * (dropped, not composited, as `readImage` does with a PNG's), gray replicated to three channels.
 */
export function pixelsToRgb(img: ImageDataLike, source = 'RGB image', { maxPixels = DEFAULT_MAX_PIXELS }: { maxPixels?: number } = {}): RgbImage {
  const channels = pixelChannels(img, source, maxPixels, READ_CHANNELS, 'any');
  const { data, width, height } = img;
  if (channels === 3) return data instanceof Uint8Array ? (img as RgbImage) : { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width, height };
  return { data: channels === 4 ? rgbOfRgba(data) : rgbOfGray(data), width, height };
}

function rgbOfRgba(rgba: Uint8Array | Uint8ClampedArray): Uint8Array {
  const rgb = new Uint8Array((rgba.length / 4) * 3);
  for (let from = 0, to = 0; to < rgb.length; from += 4, to += 3) {
    rgb[to] = rgba[from]!;
    rgb[to + 1] = rgba[from + 1]!;
    rgb[to + 2] = rgba[from + 2]!;
  }
  return rgb;
}

function rgbOfGray(gray: Uint8Array | Uint8ClampedArray): Uint8Array {
  const rgb = new Uint8Array(gray.length * 3);
  for (let from = 0, to = 0; from < gray.length; from++, to += 3) {
    const value = gray[from]!;
    rgb[to] = value;
    rgb[to + 1] = value;
    rgb[to + 2] = value;
  }
  return rgb;
}

/**
 * Checks that raw pixels are a well-formed 8-bit RGB image (an `ImageError` naming `source` else); returns them.
 * For the callers that take RGB only (writing, preparing the network input): RGBA or
 * gray pixels are refused with the word that `readImage` converts them.
 * `takes` is what the caller takes: a value of another kind is told what that is.
 */
export function validateRgb(img: RgbImage, source = 'RGB image', { maxPixels = DEFAULT_MAX_PIXELS, takes = 'any' }: { maxPixels?: number; takes?: ImageTaken } = {}): RgbImage {
  checkPixelFields(img, source, maxPixels, takes);
  const { data, width, height } = img;
  const converted = 'readImage(pixels) converts RGBA or gray pixels to RGB';
  if (!(data instanceof Uint8Array)) {
    const clamped = (data as unknown) instanceof Uint8ClampedArray ? ` (an ImageData's? ${converted})` : '';
    throw new ImageError('invalid-pixels', source, `data must be a Uint8Array of 8-bit RGB values; got ${typeName(data)}${clamped}`);
  }
  if (isDetached(data)) throw new ImageError('invalid-pixels', source, `data: ${TRANSFERRED}`);
  if (data.length !== width * height * 3) {
    const channels = data.length / (width * height);
    throw new ImageError(
      'invalid-pixels',
      source,
      `data holds ${data.length} bytes; a ${width}x${height} RGB image needs ${width * height * 3}` +
        (channels === 1 || channels === 2 || channels === 4 ? ` (looks like ${channels === 2 ? 'gray and alpha' : LAYOUTS[channels]}; only 3-channel RGB is taken here: ${converted})` : ''),
    );
  }
  return img;
}

/** Lossless PNG bytes of an RGB image. */
export async function encodePng(img: RgbImage): Promise<Buffer> {
  return encode(validateRgb(img, 'RGB image', { takes: 'pixels' }), 'png', 'PNG encoding');
}

const WRITE_FORMATS: Record<string, 'png' | 'jpeg' | 'webp'> = {
  '.png': 'png',
  '.jpg': 'jpeg',
  '.jpeg': 'jpeg',
  '.webp': 'webp',
};

/**
 * Writes an RGB image, the format chosen by the extension (.png, .jpg/.jpeg, .webp). The file
 * appears complete or not at all: the bytes go to a temporary name in the same folder, then
 * are renamed over `path`.
 */
export async function writeImage(img: RgbImage, path: string): Promise<void> {
  const format = WRITE_FORMATS[extname(path).toLowerCase()];
  if (format === undefined) throw new ImageError('unsupported', path, `cannot write "${extname(path)}" files (use .png, .jpg, .jpeg or .webp)`);
  const bytes = await encode(validateRgb(img, path, { takes: 'pixels' }), format, path);
  const tmp = temporaryPathBeside(path);
  // A signal watched by removedOnSignal (Ctrl-C in predict --render) removes it.
  const written = writingTemporary(tmp);
  try {
    await writeFile(tmp, bytes);
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw new ImageError('write-failed', path, `cannot write the file (${(err as NodeJS.ErrnoException).code ?? errorLine(err)})`);
  } finally {
    written();
  }
}

async function encode(img: RgbImage, format: 'png' | 'jpeg' | 'webp', source: string): Promise<Buffer> {
  const pipeline = sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 }, limitInputPixels: false });
  try {
    if (format === 'png') return await pipeline.png().toBuffer();
    if (format === 'jpeg') return await pipeline.jpeg({ quality: 95 }).toBuffer();
    return await pipeline.webp({ quality: 95 }).toBuffer();
  } catch (err) {
    throw new ImageError('write-failed', source, `cannot encode ${format.toUpperCase()} (${errorLine(err)})`);
  }
}

/**
 * Whether an error's message names its image `label` already: it begins `label: `, as an
 * ImageError's does. The label found elsewhere in it may stand for something else (`3x3` in
 * "image 3x3 is too small", `a.jpg` in `data/a.jpg`); an empty label (the path '') has nothing to add.
 */
export const namesImage = (message: string, label: string): boolean => label === '' || message.startsWith(`${label}: `);

/**
 * The line that reports an image that failed with `error`: its type and message, the image named
 * once (`ImageError: a.jpg: corrupt image data`, or `a.jpg: DecodeError: ...` for a message that
 * does not name it). predict and eval report failures so.
 */
export function imageFailure(error: unknown, label: string): string {
  const { name, message } = error instanceof Error ? error : { name: 'Error', message: String(error) };
  return namesImage(message, label) ? `${name}: ${message}` : `${label}: ${name}: ${message}`;
}

/**
 * An error about an image, naming it by `label` (its path, or its place in an array call) unless
 * it does already (`namesImage`): a copy of the same class, caused by the original, since one
 * error can reach several images (a network thread that stopped).
 */
export function naming(error: unknown, label: string): unknown {
  if (!(error instanceof Error) || namesImage(error.message, label)) return error;
  const message = `${label}: ${error.message}`;
  const named = Object.assign(Object.create(Object.getPrototypeOf(error) as object) as Error, error);
  for (const [key, value] of [['message', message], ['stack', error.stack?.replace(error.message, message)], ['cause', error]] as const) {
    Object.defineProperty(named, key, { value, writable: true, configurable: true });
  }
  return named;
}
