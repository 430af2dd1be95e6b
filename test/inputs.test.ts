import { expect } from 'chai';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expandImageArguments } from '../src/cli/inputs.js';

describe('CLI image arguments', () => {
  it('expands a folder of 130,000 images (more than a call can take as arguments)', async function () {
    this.timeout(120_000);
    const dir = mkdtempSync(join(tmpdir(), 'higher-pose-many-'));
    try {
      const count = 130_000;
      for (let i = 0; i < count; i++) closeSync(openSync(join(dir, `${String(i).padStart(6, '0')}.jpg`), 'w'));
      const files = await expandImageArguments(['first.png', dir, 'last.jpg']);
      expect(files).to.have.length(count + 2);
      expect([files[0], files[1], files[count], files[count + 1]]).to.deep.equal(['first.png', join(dir, '000000.jpg'), join(dir, '129999.jpg'), 'last.jpg']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('gives the images of an absolute pattern by absolute paths, as the shell expands it, not relative to the working folder', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'higher-pose-absolute-'));
    try {
      for (const name of ['a.jpg', 'b.png']) closeSync(openSync(join(dir, name), 'w'));
      expect(await expandImageArguments([join(dir, '*.{jpg,png}')])).to.deep.equal([join(dir, 'a.jpg'), join(dir, 'b.png')]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('BAD CALL - a folder or pattern of iPhone photos (.HEIC, .heif) gives them, for their ImageError saying to convert them, not "no images" or a silent skip', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'higher-pose-heic-'));
    try {
      for (const name of ['IMG_0001.HEIC', 'IMG_0002.heif', 'IMG_0003.jpg', 'notes.txt']) closeSync(openSync(join(dir, name), 'w'));
      const photos = [join(dir, 'IMG_0001.HEIC'), join(dir, 'IMG_0002.heif'), join(dir, 'IMG_0003.jpg')];
      expect(await expandImageArguments([dir])).to.deep.equal(photos);
      expect(await expandImageArguments([join(dir, 'IMG_*')])).to.deep.equal(photos);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('gives an image named twice (a folder and a pattern over it, a path spelt two ways) once, where it first came', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'higher-pose-twice-'));
    try {
      for (const name of ['a.jpg', 'b.png']) closeSync(openSync(join(dir, name), 'w'));
      mkdirSync(join(dir, 'sub'));
      const files = await expandImageArguments([join(dir, 'b.png'), dir, join(dir, '*.jpg'), join(dir, 'sub', '..', 'a.jpg'), join(dir, 'b.png')]);
      expect(files).to.deep.equal([join(dir, 'b.png'), join(dir, 'a.jpg')]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
