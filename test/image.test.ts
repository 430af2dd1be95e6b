import { expect } from 'chai';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import sharp from 'sharp';
import { checkImageInput, encodePng, ImageError, naming, readImage, writeImage, type ReadImageOptions } from '../src/io/image.js';
import { videoContainerBySignature } from '../src/io/image-signature.js';
import { PreprocessError, testScaleInputs } from '../src/preprocess/index.js';
import type { RgbImage } from '../src/types.js';

function pattern(width: number, height: number): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < data.length; i++) data[i] = (i * 37 + (i >> 4)) & 255;
  return { data, width, height };
}

async function expectImageError(p: Promise<unknown>, code: string, message: RegExp): Promise<void> {
  try {
    await p;
  } catch (err) {
    expect(err).to.be.instanceOf(ImageError);
    expect((err as ImageError).code).to.equal(code);
    expect((err as Error).message).to.match(message);
    return;
  }
  expect.fail(`expected an ImageError (${code})`);
}

/** Mean colour of a rectangle (JPEG is lossy: compare coarse colours). */
function meanColour(img: RgbImage, x0: number, y0: number, x1: number, y1: number): number[] {
  const sum = [0, 0, 0];
  for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) for (let c = 0; c < 3; c++) sum[c]! += img.data[(y * img.width + x) * 3 + c]!;
  return sum.map((v) => Math.round(v / ((x1 - x0) * (y1 - y0))));
}

/**
 * A HEIF file holding one HEVC-coded 32x32 image (what iPhones save), of made-up coded data: the
 * container is whole, so libheif reads its header and then looks for an HEVC decoder.
 */
function heicContainer(): Buffer {
  const u32 = (n: number) => Buffer.from([n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]);
  const u16 = (n: number) => Buffer.from([n >>> 8, n & 255]);
  const box = (type: string, ...parts: Buffer[]) => {
    const body = Buffer.concat(parts);
    return Buffer.concat([u32(8 + body.length), Buffer.from(type, 'latin1'), body]);
  };
  const fullBox = (type: string, version: number, ...parts: Buffer[]) => box(type, Buffer.from([version, 0, 0, 0]), ...parts);
  const coded = Buffer.from([0, 0, 0, 4, 0x26, 1, 0xaf, 0]);
  const file = (codedAt: number) => Buffer.concat([
    box('ftyp', Buffer.from('heic'), u32(0), Buffer.from('mif1heic')),
    fullBox('meta', 0,
      fullBox('hdlr', 0, u32(0), Buffer.from('pict'), Buffer.alloc(13)),
      fullBox('pitm', 0, u16(1)),
      fullBox('iinf', 0, u16(1), fullBox('infe', 2, u16(1), u16(0), Buffer.from('hvc1'), Buffer.alloc(1))),
      fullBox('iloc', 0, Buffer.from([0x44, 0]), u16(1), u16(1), u16(0), u16(1), u32(codedAt), u32(coded.length)),
      box('iprp',
        box('ipco',
          box('hvcC', Buffer.from([1, 1, 0x60, 0, 0, 0, 0x90, 0, 0, 0, 0, 0, 90, 0xf0, 0, 0xfc, 0xfd, 0xf8, 0xf8, 0, 0, 0x0f, 0])),
          fullBox('ispe', 0, u32(32), u32(32))),
        fullBox('ipma', 0, u32(1), u16(1), Buffer.from([2, 0x81, 0x02])))),
    box('mdat', coded),
  ]);
  return file(file(0).length - coded.length);
}

describe('image I/O', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'higher-pose-image-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('decodes an RGB PNG file and bytes losslessly', async () => {
    const img = pattern(7, 5);
    const png = await encodePng(img);
    const path = join(dir, 'a.png');
    writeFileSync(path, png);
    for (const decoded of [await readImage(path), await readImage(png)]) {
      expect([decoded.width, decoded.height]).to.deep.equal([7, 5]);
      expect(Array.from(decoded.data)).to.deep.equal(Array.from(img.data));
    }
  });

  it('honours the EXIF orientation by default, and keeps the stored grid on request', async () => {
    // Stored 32x16: left half red, right half blue. Orientation 6 = rotate 90° clockwise to
    // display, so the stored left half ends up on top.
    const raw = new Uint8Array(32 * 16 * 3);
    for (let y = 0; y < 16; y++) for (let x = 0; x < 32; x++) raw.set(x < 16 ? [255, 0, 0] : [0, 0, 255], (y * 32 + x) * 3);
    const jpeg = await sharp(raw, { raw: { width: 32, height: 16, channels: 3 } }).withMetadata({ orientation: 6 }).jpeg({ quality: 100 }).toBuffer();
    const oriented = await readImage(jpeg);
    expect([oriented.width, oriented.height]).to.deep.equal([16, 32]);
    expect(meanColour(oriented, 2, 2, 14, 14)[0]).to.be.above(200);
    expect(meanColour(oriented, 2, 18, 14, 30)[2]).to.be.above(200);
    const stored = await readImage(jpeg, { exifOrientation: false });
    expect([stored.width, stored.height]).to.deep.equal([32, 16]);
    expect(meanColour(stored, 2, 2, 14, 14)[0]).to.be.above(200);
    expect(meanColour(stored, 18, 2, 30, 14)[2]).to.be.above(200);
  });

  it('replicates grayscale to RGB', async () => {
    const gray = Uint8Array.from([0, 50, 100, 150, 200, 250]);
    const png = await sharp(gray, { raw: { width: 3, height: 2, channels: 1 } }).toColourspace('b-w').png().toBuffer();
    expect((await sharp(png).metadata()).channels).to.equal(1);
    const img = await readImage(png);
    expect(Array.from(img.data)).to.deep.equal(Array.from(gray).flatMap((v) => [v, v, v]));
  });

  it('drops alpha without compositing (as IMREAD_COLOR), for RGBA and gray+alpha', async () => {
    const rgba = Uint8Array.from([10, 20, 30, 0, 40, 50, 60, 128, 70, 80, 90, 255, 1, 2, 3, 4]);
    const png = await sharp(rgba, { raw: { width: 2, height: 2, channels: 4 } }).png().toBuffer();
    expect(Array.from((await readImage(png)).data)).to.deep.equal([10, 20, 30, 40, 50, 60, 70, 80, 90, 1, 2, 3]);
    const ga = Uint8Array.from([10, 0, 40, 128, 70, 255, 1, 4]);
    const pngGa = await sharp(ga, { raw: { width: 2, height: 2, channels: 2 } }).toColourspace('b-w').png().toBuffer();
    expect((await sharp(pngGa).metadata()).channels).to.equal(2);
    expect(Array.from((await readImage(pngGa)).data)).to.deep.equal([10, 10, 10, 40, 40, 40, 70, 70, 70, 1, 1, 1]);
  });

  it('reduces 16-bit PNG to 8 bits by keeping the high byte (libpng strip-16, as OpenCV)', async () => {
    const px = Uint16Array.from([0x00ff, 0x0cb7, 0x1280, 0xffff, 0x8000, 0x7fff]);
    const png = await sharp(px, { raw: { width: 2, height: 1, channels: 3 } }).toColourspace('rgb16').png().toBuffer();
    expect((await sharp(png).metadata()).depth).to.equal('ushort');
    expect(Array.from((await readImage(png)).data)).to.deep.equal([0x00, 0x0c, 0x12, 0xff, 0x80, 0x7f]);
  });

  it('converts CMYK JPEG to RGB', async () => {
    const cmyk = await sharp({ create: { width: 8, height: 8, channels: 3, background: { r: 255, g: 0, b: 0 } } }).toColourspace('cmyk').jpeg().toBuffer();
    expect((await sharp(cmyk).metadata()).space).to.equal('cmyk');
    const img = await readImage(cmyk);
    expect(img.data.length).to.equal(8 * 8 * 3);
    const [r, g, b] = meanColour(img, 0, 0, 8, 8);
    expect(r).to.be.above(200);
    expect(g! + b!).to.be.below(40);
  });

  it('gives the first frame of an animated GIF or WebP and the first page of a multi-page TIFF', async () => {
    // Three 8x6 frames, red, green, blue, stacked as sharp takes animations.
    const [w, h] = [8, 6];
    const raw = new Uint8Array(w * h * 3 * 3);
    for (let i = 0; i < w * h * 3; i++) raw.set([[255, 0, 0], [0, 255, 0], [0, 0, 255]][Math.floor(i / (w * h))]!, i * 3);
    const frames = sharp(raw, { raw: { width: w, height: h * 3, channels: 3, pageHeight: h } });
    for (const bytes of [await frames.clone().gif().toBuffer(), await frames.clone().webp({ lossless: true }).toBuffer(), await frames.clone().tiff({ compression: 'lzw' }).toBuffer()]) {
      const first = await readImage(bytes);
      expect([first.width, first.height]).to.deep.equal([w, h]);
      expect(meanColour(first, 0, 0, w, h)).to.deep.equal([255, 0, 0]);
    }
  });

  it('passes valid raw RGB through unchanged', async () => {
    const img = pattern(3, 2);
    expect(await readImage(img)).to.equal(img);
  });

  it('writeImage writes PNG atomically (no temporary file left) and JPEG/WebP by extension', async () => {
    const img = pattern(9, 4);
    const path = join(dir, 'out.png');
    await writeImage(img, path);
    expect(Array.from((await readImage(path)).data)).to.deep.equal(Array.from(img.data));
    for (const name of ['out.jpg', 'out.webp']) {
      await writeImage(img, join(dir, name));
      expect((await readImage(join(dir, name))).width).to.equal(9);
    }
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).to.deep.equal([]);
  });

  it('BAD CALL - missing file', async () => {
    const path = join(dir, 'nope.jpg');
    await expectImageError(readImage(path), 'missing', new RegExp(`${path.replace(/[.\\]/g, '\\$&')}: no such file`));
  });

  it('BAD CALL - zero-size file', async () => {
    const path = join(dir, 'empty.png');
    writeFileSync(path, new Uint8Array(0));
    await expectImageError(readImage(path), 'empty', /empty\.png: zero-size file/);
  });

  it('BAD CALL - a URL is no file: the error says to download it', async () => {
    // Was "https://example.com/crowd.jpg: no such file".
    await expectImageError(readImage('https://example.com/crowd.jpg'), 'missing', /^https:\/\/example\.com\/crowd\.jpg: no such file: a URL; images are read from local files \(download it, or pass its bytes\)$/);
    await expectImageError(readImage('file:///tmp/crowd.jpg'), 'missing', /a URL; images are read from local files/);
    await expectImageError(readImage(join(dir, 'absent.jpg')), 'missing', /absent\.jpg: no such file$/);
  });

  it('BAD CALL - an upload given as base64 text or a data: URL is no path: the error says to pass its bytes, without printing the text', async () => {
    // Was "<the whole 111 kB of base64>: cannot read the file (ENAMETOOLONG)", and a short data: URL "no such file".
    const bytes = await encodePng(pattern(300, 200));
    const base64 = Buffer.concat([bytes, Buffer.alloc(4000)]).toString('base64');
    const dataUrl = `data:image/png;base64,${bytes.toString('base64')}`;
    await expectImageError(readImage(base64), 'missing', new RegExp(`^${base64.slice(0, 40).replace(/[+/]/g, '\\$&')}… \\(${base64.length} characters\\): no file path, too long for one; encoded bytes are passed as a Uint8Array or Buffer \\(base64 text: Buffer\\.from\\(text, 'base64'\\)\\)$`));
    await expectImageError(readImage(dataUrl), 'missing', /^data:image\/png;base64,iVBOR.{13}… \(\d+ characters\): a data: URL, no file; encoded bytes are passed as a Uint8Array or Buffer \(Buffer\.from\(url\.slice\(url\.indexOf\(','\) \+ 1\), 'base64'\)\)$/);
    for (const text of [base64, dataUrl]) expect(await readImage(text).catch((e: Error) => e.message.length)).to.be.below(300);
    // A file may be named so: it is read.
    const cwd = process.cwd();
    try {
      process.chdir(dir);
      writeFileSync('data:,a.png', bytes);
      expect((await readImage('data:,a.png')).width).to.equal(300);
      await expectImageError(readImage('data:,b.png'), 'missing', /^data:,b\.png: a data: URL, no file; /);
    } finally {
      process.chdir(cwd);
    }
  });

  it('BAD CALL - zero-size buffer', async () => {
    await expectImageError(readImage(new Uint8Array(0)), 'empty', /image buffer: zero-size image data/);
  });

  it('BAD CALL - bytes or pixels whose ArrayBuffer was transferred away (postMessage to a worker) say so, not "zero-size" or "holds 0 bytes"', async () => {
    const detached = (view: Uint8Array) => {
      structuredClone(view.buffer, { transfer: [view.buffer as ArrayBuffer] });
      return view;
    };
    const transferred = /its ArrayBuffer was transferred \(postMessage or structuredClone with transfer\), which leaves it empty: pass a copy, or the image before it is transferred$/;
    await expectImageError(readImage(detached(new Uint8Array(await encodePng(pattern(8, 8))))), 'empty', new RegExp(`^image buffer: ${transferred.source}`));
    await expectImageError(readImage({ ...pattern(8, 8), data: detached(pattern(8, 8).data) }), 'invalid-pixels', new RegExp(`^RGB image: data: ${transferred.source}`));
    // Empty bytes of their own are what they were.
    await expectImageError(readImage(new Uint8Array(0)), 'empty', /^image buffer: zero-size image data$/);
  });

  it('BAD CALL - a directory is unreadable', async () => {
    await expectImageError(readImage(dir), 'unreadable', /not a regular file/);
  });

  it('BAD CALL - unsupported format (text file)', async () => {
    const path = join(dir, 'notes.txt');
    writeFileSync(path, 'this is not an image');
    await expectImageError(readImage(path), 'unsupported', /notes\.txt: not an image format that can be decoded/);
  });

  it('BAD CALL - formats this build of sharp cannot decode (an iPhone HEIC, a BMP) are unsupported, named, not corrupt or "not an image"', async () => {
    // Was "corrupt image data (source: bad seek to 1024)": libheif reads the container, sharp's prebuilt libvips has no HEVC decoder
    // (a libvips that has one lists .heic among its HEIF suffixes, and would call these made-up data corrupt).
    if (!sharp.format.heif.input.fileSuffix?.includes('.heic')) await expectImageError(readImage(heicContainer(), { name: 'IMG_0001.HEIC' }), 'unsupported', /^IMG_0001\.HEIC: HEIC \(HEVC\) images cannot be decoded: .*convert it to JPEG or PNG$/);
    // A 4x4 24-bit bitmap; predict picks .bmp files out of folders.
    const bmp = Buffer.alloc(54 + 4 * 12);
    bmp.write('BM');
    bmp.writeUInt32LE(bmp.length, 2);
    bmp.writeUInt32LE(54, 10);
    bmp.writeUInt32LE(40, 14);
    bmp.writeInt32LE(4, 18);
    bmp.writeInt32LE(4, 22);
    bmp.writeUInt16LE(1, 26);
    bmp.writeUInt16LE(24, 28);
    await expectImageError(readImage(bmp, { name: 'scan.bmp' }), 'unsupported', /^scan\.bmp: BMP images cannot be decoded: .*convert it to PNG$/);
    await expectImageError(readImage(Buffer.from('BM is not enough to be a bitmap')), 'unsupported', /not an image format that can be decoded/);
  });

  it('BAD CALL - readImage options misspelt or of the wrong kind: a TypeError (maxPixels a RangeError) naming the option, not ignored, sharp\'s words or no bound', async () => {
    const path = join(dir, 'options.png');
    writeFileSync(path, await encodePng(pattern(8, 8)));
    const cases: [unknown, ErrorConstructor, string][] = [
      // Ignored: the image was turned by its EXIF orientation all the same.
      [{ exifOrientaton: false }, TypeError, 'readImage: unknown option exifOrientaton; its options are exifOrientation, maxPixels, name'],
      // sharp's "Expected boolean for autoOrient", an option never given.
      [{ exifOrientation: 'no' }, TypeError, 'readImage: exifOrientation must be true or false, got "no"'],
      // No bound at all.
      [{ maxPixels: NaN }, RangeError, 'readImage: maxPixels must be a positive integer, got NaN'],
      // "image is 8x8, over the limit of -1 pixels".
      [{ maxPixels: -1 }, RangeError, 'readImage: maxPixels must be a positive integer, got -1'],
      [{ maxPixels: '100' }, RangeError, 'readImage: maxPixels must be a positive integer, got "100"'],
      [{ name: 5 }, TypeError, 'readImage: name must be a non-empty string, got 5'],
      // Cannot read properties of null.
      [null, TypeError, 'readImage: options must be an object with any of exifOrientation, maxPixels, name; got Null'],
    ];
    for (const [options, type, message] of cases) {
      const error = await readImage(path, options as ReadImageOptions).then(() => undefined, (e: unknown) => e);
      expect(error, JSON.stringify(options)).to.be.instanceOf(type).with.property('message', message);
    }
    // Given as undefined, an option is left out.
    expect((await readImage(path, { exifOrientation: undefined, maxPixels: undefined, name: undefined })).width).to.equal(8);
  });

  it('BAD CALL - a video given as an image is named as one, with processVideo to read it (was "not an image format")', async () => {
    const box = (type: string, body: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, 8 + body.length]), Buffer.from(type, 'latin1'), body]);
    // The first bytes of each container as ffmpeg writes them, then data libvips does not know.
    const filler = Buffer.alloc(600, 0x55);
    const mp4 = Buffer.concat([box('ftyp', Buffer.from('isom\0\0\x02\0isomiso2avc1mp41', 'latin1')), box('free', Buffer.alloc(0)), filler]);
    const mkv = Buffer.concat([Buffer.from([0x1a, 0x45, 0xdf, 0xa3, 0xa3, 0x42, 0x86, 0x81, 0x01]), filler]);
    const avi = Buffer.concat([Buffer.from('RIFF\0\x23\0\0AVI LIST', 'latin1'), filler]);
    const ts = Buffer.alloc(3 * 188, 0xff);
    for (let packet = 0; packet < 3; packet++) ts[packet * 188] = 0x47;
    const path = join(dir, 'clip.mp4');
    writeFileSync(path, mp4);
    const error = (await readImage(path).then(() => expect.fail('an MP4 was read as an image'), (err: unknown) => err)) as ImageError;
    expect(error).to.be.instanceOf(ImageError).and.include({ code: 'unsupported', message: `${path}: a video (MP4), not an image: estimator.processVideo reads its frames (\`higher-pose video\` on the command line)` });
    for (const [bytes, container] of [[mkv, 'Matroska/WebM'], [avi, 'AVI'], [ts, 'MPEG-TS']] as const) {
      await expectImageError(readImage(bytes, { name: 'upload' }), 'unsupported', new RegExp(`^upload: a video \\(${container}\\), not an image: estimator\\.processVideo`));
    }
    // Still images in the same ISO container (AVIF, HEIC) are not taken for videos.
    const avif = await sharp(Buffer.from(pattern(8, 8).data), { raw: { width: 8, height: 8, channels: 3 } }).avif().toBuffer();
    expect((await readImage(avif)).width).to.equal(8);
    expect([avif, heicContainer()].map(videoContainerBySignature)).to.deep.equal([undefined, undefined]);
    // Nor is a HEIF image whose first brand is another (it lists mif1), or a Canon CR3 raw photo: were "a video (MP4)".
    const avcHeif = Buffer.concat([box('ftyp', Buffer.from('avci\0\0\0\0mif1miafavci', 'latin1')), filler]);
    const cr3 = Buffer.concat([box('ftyp', Buffer.from('crx \0\0\0\x01crx isom', 'latin1')), filler]);
    for (const [bytes, name] of [[avcHeif, 'photo.heif'], [cr3, 'IMG_0001.CR3']] as const) {
      expect(videoContainerBySignature(bytes), name).to.equal(undefined);
      await expectImageError(readImage(bytes, { name }), 'unsupported', new RegExp(`^${name.replace('.', '\\.')}: not an image format that can be decoded`));
    }
  });

  it('BAD CALL - corrupt bytes (PNG signature, broken data; truncated JPEG)', async () => {
    const png = await encodePng(pattern(16, 16));
    const broken = Buffer.concat([png.subarray(0, 40), Buffer.alloc(40, 7)]);
    const path = join(dir, 'broken.png');
    writeFileSync(path, broken);
    await expectImageError(readImage(path), 'corrupt', /broken\.png: corrupt image data/);
    const jpeg = await sharp(pattern(64, 64).data, { raw: { width: 64, height: 64, channels: 3 } }).jpeg().toBuffer();
    await expectImageError(readImage(jpeg.subarray(0, jpeg.length >> 1), { name: 'half.jpg' }), 'corrupt', /half\.jpg: corrupt image data/);
  });

  it('BAD CALL - a header sharp cannot read, or damage libvips gives no reason for, reads cleanly: the format and what failed, no dangling colon or "Unknown error"', async () => {
    const png = await encodePng(pattern(16, 16));
    const zeroWidth = Buffer.from(png);
    zeroWidth.fill(0, 16, 20);
    // The IHDR chunk's checksum.
    const badChecksum = Buffer.from(png);
    badChecksum[29]! ^= 0xff;
    const jpeg = await sharp(pattern(64, 64).data, { raw: { width: 64, height: 64, channels: 3 } }).jpeg().toBuffer();
    const cases: [Uint8Array, string, RegExp][] = [
      // Were "corrupt image data (Input buffer has corrupt header:)".
      [png.subarray(0, 20), 'cut.png', /^cut\.png: corrupt image data \(the PNG header cannot be read\)$/],
      [zeroWidth, 'zero.png', /^zero\.png: corrupt image data \(the PNG header cannot be read\)$/],
      // Was "corrupt image data (Input buffer has corrupt header: VipsJpeg: premature end of JPEG image)".
      [jpeg.subarray(0, 100), 'head.jpg', /^head\.jpg: corrupt image data \(the JPEG header cannot be read: VipsJpeg: premature end of JPEG image\)$/],
      // Was "corrupt image data (Unknown error)".
      [badChecksum, 'checksum.png', /^checksum\.png: corrupt image data \(the PNG data cannot be decoded\)$/],
    ];
    for (const [bytes, name, message] of cases) await expectImageError(readImage(bytes, { name }), 'corrupt', message);
    // A file as bytes.
    const path = join(dir, 'cut.png');
    writeFileSync(path, png.subarray(0, 20));
    await expectImageError(readImage(path), 'corrupt', new RegExp(`^${path}: corrupt image data \\(the PNG header cannot be read\\)$`));
  });

  it('BAD CALL - a damaged AVIF gives libheif\'s reason, not the seeks it tried first', async () => {
    const avif = await sharp(pattern(64, 64).data, { raw: { width: 64, height: 64, channels: 3 } }).avif().toBuffer();
    // Was "corrupt image data (source: bad seek to 1024)" for each.
    await expectImageError(readImage(avif.subarray(0, avif.length >> 1), { name: 'half.avif' }), 'corrupt', /^half\.avif: corrupt image data \(heif: Invalid input: .*\)$/);
    await expectImageError(readImage(avif.subarray(0, avif.length - 8), { name: 'cut.avif' }), 'corrupt', /^cut\.avif: corrupt image data \(heif: Invalid input: .*\)$/);
  });

  it('BAD CALL - a TIFF cut short is corrupt, not "not an image format" (its directory, written last, is what names it)', async () => {
    const tiff = await sharp(pattern(64, 64).data, { raw: { width: 64, height: 64, channels: 3 } }).tiff().toBuffer();
    await expectImageError(readImage(tiff.subarray(0, tiff.length >> 1), { name: 'half.tif' }), 'corrupt', /^half\.tif: corrupt image data \(a TIFF file cut short or damaged\)$/);
    // Too short to tell: "not an image format" as before.
    await expectImageError(readImage(tiff.subarray(0, 3), { name: 'three.tif' }), 'unsupported', /three\.tif: not an image format/);
  });

  it('BAD CALL - absurd dimensions (over the pixel limit)', async () => {
    const png = await encodePng(pattern(20, 20));
    await expectImageError(readImage(png, { maxPixels: 100 }), 'dimensions', /image is 20x20, over the limit of 100 pixels/);
  });

  it('BAD CALL - raw buffer of the wrong length, or bad dimensions', async () => {
    await expectImageError(readImage({ data: new Uint8Array(11), width: 2, height: 2 }), 'invalid-pixels', /^RGB image: data holds 11 bytes; a 2x2 image needs 12 \(RGB\), 16 \(RGBA\) or 4 \(gray\)$/);
    // Was "looks like 0 channels" (a buffer transferred away), or 5.
    await expectImageError(readImage({ data: new Uint8Array(0), width: 2, height: 2 }), 'invalid-pixels', /needs 12 \(RGB\), 16 \(RGBA\) or 4 \(gray\)$/);
    await expectImageError(readImage({ data: new Uint8Array(20), width: 2, height: 2 }), 'invalid-pixels', /needs 12 \(RGB\), 16 \(RGBA\) or 4 \(gray\)$/);
    await expectImageError(readImage({ data: new Uint8Array(12), width: 2.5, height: 2 }), 'dimensions', /positive integers \(got 2\.5x2\)/);
    await expectImageError(readImage({ data: [1, 2, 3] as unknown as Uint8Array, width: 1, height: 1 }), 'invalid-pixels', /must be a Uint8Array/);
  });

  it('reads RGBA pixels (an ImageData) without their alpha, gray ones replicated, RGB ones as given, in a Uint8ClampedArray too', async () => {
    const rgba = Uint8ClampedArray.from([10, 20, 30, 0, 40, 50, 60, 128, 70, 80, 90, 255, 1, 2, 3, 4]);
    const rgb = [10, 20, 30, 40, 50, 60, 70, 80, 90, 1, 2, 3];
    for (const data of [rgba, Uint8Array.from(rgba), Buffer.from(rgba)]) {
      const read = await readImage({ data, width: 2, height: 2 });
      expect(read.data).to.be.instanceOf(Uint8Array);
      expect([Array.from(read.data), read.width, read.height]).to.deep.equal([rgb, 2, 2]);
    }
    // As readImage decodes a PNG of them.
    const png = await sharp(rgba, { raw: { width: 2, height: 2, channels: 4 } }).png().toBuffer();
    expect(Array.from((await readImage(png)).data)).to.deep.equal(rgb);
    // Calibration images are checked up front as readImage takes them.
    await checkImageInput({ data: rgba, width: 2, height: 2 });
    expect(Array.from((await readImage({ data: Uint8ClampedArray.from([0, 50, 100, 250]), width: 2, height: 2, channels: 1 })).data))
      .to.deep.equal([0, 0, 0, 50, 50, 50, 100, 100, 100, 250, 250, 250]);
    // RGB in a Uint8ClampedArray: viewed, not copied.
    const clampedRgb = Uint8ClampedArray.from(rgb);
    const viewed = await readImage({ data: clampedRgb, width: 2, height: 2, channels: 3 });
    expect(viewed.data).to.be.instanceOf(Uint8Array);
    expect(viewed.data.buffer).to.equal(clampedRgb.buffer);
  });

  it('BAD CALL - pixels whose channels contradict their length, or are gray and alpha, are refused naming the sizes', async () => {
    await expectImageError(readImage({ data: new Uint8Array(12), width: 2, height: 2, channels: 4 }), 'invalid-pixels', /^RGB image: data holds 12 bytes; a 2x2 image of 4 channels \(RGBA\) needs 16$/);
    await expectImageError(readImage({ data: new Uint8ClampedArray(16), width: 2, height: 2, channels: 3 }), 'invalid-pixels', /data holds 16 bytes; a 2x2 image of 3 channels \(RGB\) needs 12$/);
    await expectImageError(checkImageInput({ data: new Uint8ClampedArray(16), width: 2, height: 2, channels: 3 }), 'invalid-pixels', /a 2x2 image of 3 channels \(RGB\) needs 12$/);
    // Gray and alpha has the length of 16-bit gray: refused, not guessed.
    await expectImageError(readImage({ data: new Uint8Array(8), width: 2, height: 2 }), 'invalid-pixels', /needs 12 \(RGB\), 16 \(RGBA\) or 4 \(gray\) \(looks like gray and alpha, which is not taken: .*\)$/);
    await expectImageError(readImage({ data: new Uint8Array(8), width: 2, height: 2, channels: 2 }), 'invalid-pixels', /channels must be 3 \(RGB\), 4 \(RGBA\) or 1 \(gray\); got 2 \(gray and alpha/);
    await expectImageError(readImage({ data: new Uint8Array(16), width: 2, height: 2, channels: '4' as unknown as number }), 'invalid-pixels', /channels must be .*; got "4"$/);
    // An ImageData's data given alone.
    await expectImageError(readImage(new Uint8ClampedArray(16) as never), 'invalid-pixels', /; got Uint8ClampedArray \(an ImageData's data\? pass the ImageData itself, or \{ data, width, height \}\)$/);
  });

  it('BAD CALL - RGBA or gray pixels given where RGB is written or prepared say that readImage converts them', async () => {
    const rgba = { data: new Uint8Array(16), width: 2, height: 2 };
    const converts = /needs 12 \(looks like RGBA; only 3-channel RGB is taken here: readImage\(pixels\) converts RGBA or gray pixels to RGB\)$/;
    await expectImageError(encodePng(rgba), 'invalid-pixels', converts);
    await expectImageError(writeImage(rgba, join(dir, 'rgba.png')), 'invalid-pixels', converts);
    await expectImageError((async () => testScaleInputs(rgba, 256, [1]))(), 'invalid-pixels', converts);
    await expectImageError(encodePng({ data: new Uint8ClampedArray(12), width: 2, height: 2 } as never), 'invalid-pixels', /got Uint8ClampedArray \(an ImageData's\? readImage\(pixels\) converts/);
    expect(readdirSync(dir).filter((name) => name.includes('rgba'))).to.deep.equal([]);
  });

  it('BAD CALL - an input of another kind says what came, not that its width is missing', async () => {
    const notImage = (input: unknown) => readImage(input as RgbImage);
    // fetch(...).arrayBuffer() gives one: it was "width and height must be positive integers (got undefinedxundefined)".
    await expectImageError(notImage(new ArrayBuffer(8)), 'invalid-pixels', /^RGB image: expected a path, encoded bytes \(a Uint8Array or Buffer\), \{ data, width, height \} or a TensorFlow\.js tensor; got ArrayBuffer \(encoded bytes: new Uint8Array\(buffer\)\)$/);
    await expectImageError(notImage(new URL('file:///tmp/a.jpg')), 'invalid-pixels', /; got URL$/);
    // An upload as a web server hands it over: a File of request.formData(), the request stream. Was "got File", "got Object".
    await expectImageError(notImage(new File([new Uint8Array(8)], 'a.jpg')), 'invalid-pixels', /; got File \(encoded bytes: new Uint8Array\(await file\.arrayBuffer\(\)\)\)$/);
    await expectImageError(notImage(new Blob([new Uint8Array(8)])), 'invalid-pixels', /; got Blob \(encoded bytes: new Uint8Array\(await blob\.arrayBuffer\(\)\)\)$/);
    await expectImageError(notImage(Readable.from([Buffer.alloc(8)])), 'invalid-pixels', /; got Readable \(a stream: read it to its end, and pass its bytes, Buffer\.concat\(chunks\)\)$/);
    await expectImageError(notImage(new Response(new Uint8Array(8)).body), 'invalid-pixels', /; got ReadableStream \(a stream: read it to its end, and pass its bytes, Buffer\.concat\(chunks\)\)$/);
    await expectImageError(notImage({ pixels: new Uint8Array(12), width: 2, height: 2 }), 'invalid-pixels', /; got Object$/);
    await expectImageError(notImage(null), 'invalid-pixels', /; got Null$/);
    // sharp's toBuffer({ resolveWithObject: true }) as it comes: was only "(got undefinedxundefined)".
    const { data, info } = await sharp(pattern(2, 2).data, { raw: { width: 2, height: 2, channels: 3 } }).raw().toBuffer({ resolveWithObject: true });
    await expectImageError(notImage({ data, info }), 'dimensions', /\(got undefinedxundefined\); sharp's \{ data, info \}\? pass \{ data, \.\.\.info \}$/);
    // A string width was shown as a number: "got 2x2".
    await expectImageError(notImage({ data: new Uint8Array(12), width: '2', height: 2 }), 'dimensions', /positive integers \(got "2"x2\)$/);
    await expectImageError(notImage({ data: new Float32Array(12), width: 2, height: 2 }), 'invalid-pixels', /must be a Uint8Array or Uint8ClampedArray of 8-bit values \(RGB, RGBA or gray\); got Float32Array$/);
    await expectImageError(readImage(''), 'missing', /^image path: empty string: no file named$/);
    // The writers take pixels only: their message offered a path or encoded bytes, as readImage's does.
    await expectImageError(encodePng(await encodePng(pattern(2, 2)) as never), 'invalid-pixels', /^RGB image: expected RGB pixels \{ data, width, height \} \(readImage decodes a path or encoded bytes to them\); got Uint8Array$/);
    await expectImageError(writeImage('in.jpg' as never, join(dir, 'out.png')), 'invalid-pixels', /: expected RGB pixels \{ data, width, height \} .*; got String$/);
  });

  it('BAD CALL - unsupported output extension', async () => {
    await expectImageError(writeImage(pattern(2, 2), join(dir, 'x.bmp')), 'unsupported', /cannot write "\.bmp" files/);
  });

  it('BAD CALL - decoded image too small for the network', async () => {
    const img = await readImage(await encodePng(pattern(2, 2)));
    expect(() => testScaleInputs(img, 512, [1])).to.throw(PreprocessError, /image 2x2 is too small for the network/);
  });

  describe('naming', () => {
    it('BAD CALL - an error about an image is named by its label unless it begins with it: the label found elsewhere in the message was taken as naming it', () => {
      // An image saved as `3x3` (curl -o 3x3 ...): its PreprocessError went unnamed, the label being in "image 3x3".
      const tooSmall = new PreprocessError('image 3x3 is too small for the network (at least 4x4 pixels)');
      const named = naming(tooSmall, '3x3') as PreprocessError;
      expect(named).to.be.instanceOf(PreprocessError).and.include({ message: '3x3: image 3x3 is too small for the network (at least 4x4 pixels)', cause: tooSmall });
      expect((naming(new Error('cannot read data/a.jpg'), 'a.jpg') as Error).message).to.equal('a.jpg: cannot read data/a.jpg');
      // One that names it as the reader's errors do is kept as it is; so with nothing to name it by (the path '').
      const missing = new ImageError('missing', 'data/a.jpg', 'no such file');
      expect(naming(missing, 'data/a.jpg')).to.equal(missing);
      const empty = new ImageError('missing', 'image path', 'empty string: no file named');
      expect(naming(empty, '')).to.equal(empty);
    });
  });
});
