/** Files shipped with the package (demo image, tiny model, its manifest), found from the installed location. */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | undefined;

/** The folder holding higher-pose's package.json, from source (tsx) or from dist/. */
function packageRoot(): string {
  if (root) return root;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'higher-pose') {
      root = dir;
      return dir;
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error('higher-pose: cannot find the package folder (package.json)');
    dir = parent;
  }
}

export const DEMO_IMAGE = (): string => join(packageRoot(), 'fixtures', 'images', 'sample.jpg');
/** The tiny random-weight model of the official architecture (17 joints), in the paper's checkpoint format. */
export const TINY_COCO_CHECKPOINT = (): string => join(packageRoot(), 'fixtures', 'models', 'tiny_coco.legacy.pth');
/** The version in higher-pose's package.json, which `higher-pose --version` prints. */
export const PACKAGE_VERSION = (): string => (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
