/**
 * The pictures `npm run bench` times and calibrates int8 on: photos of the COCO slice
 * (`$HIGHER_POSE_COCO`, else `../shared/coco-mini`), else a generated picture. A fallback comes
 * with a note saying so, which the bench prints on stderr.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import type { ImageInput, RgbImage } from '../src/types.js';

export const COCO_SLICE = resolve(process.env.HIGHER_POSE_COCO ?? join(fileURLToPath(new URL('.', import.meta.url)), '..', '..', 'shared', 'coco-mini'));

/** A deterministic picture with structure at several scales (gradients, discs, stripes). */
export function syntheticImage(width: number, height: number): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const disc = Math.hypot(x - width * 0.4, y - height * 0.5) < height * 0.2 ? 90 : 0;
      const stripes = (Math.floor(x / 24) + Math.floor(y / 32)) % 2 === 0 ? 40 : 0;
      const at = (y * width + x) * 3;
      data[at] = (x * 255) / width / 2 + disc + stripes;
      data[at + 1] = (y * 255) / height / 2 + stripes;
      data[at + 2] = 128 + disc / 2 - stripes;
    }
  }
  return { data, width, height };
}

/** The slice's photos, in name order; none when it is absent. */
function slicePhotos(coco: string): string[] {
  const dir = join(coco, 'val2017');
  return existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.jpg')).sort().map((f) => join(dir, f)) : [];
}

export interface BenchPhoto {
  source: string;
  image: string | RgbImage;
  /** Why the picture is a generated one. */
  note?: string;
}

/** The first 640x480 photo of the COCO slice in `coco`, or a generated one. */
export async function photo640x480(coco: string): Promise<BenchPhoto> {
  const photos = slicePhotos(coco);
  for (const path of photos) {
    const meta = await sharp(path).metadata();
    if (meta.width === 640 && meta.height === 480 && (meta.orientation ?? 1) === 1) return { source: path.slice(path.lastIndexOf('/') + 1), image: path };
  }
  const where = join(coco, 'val2017');
  const why = photos.length === 0 ? `no COCO photos in ${where} (set HIGHER_POSE_COCO, else ../shared/coco-mini is read)` : `no 640x480 photo in ${where}`;
  return { source: 'generated 640x480', image: syntheticImage(640, 480), note: `${why}: timing a generated 640x480 picture` };
}

/**
 * Photos of the COCO slice other than the timed one (at most `count`); else the timed picture
 * itself, with a note: int8 is then compared with float32 on the picture it was calibrated on.
 */
export function calibrationPhotos(coco: string, timed: string | RgbImage, count: number): { images: ImageInput[]; note?: string } {
  const others = slicePhotos(coco).filter((path) => path !== timed);
  if (others.length > 0) return { images: others.slice(0, count) };
  return { images: [timed], note: `no other COCO photo in ${join(coco, 'val2017')}: int8 is calibrated on the timed picture itself` };
}
