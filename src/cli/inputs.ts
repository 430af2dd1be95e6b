/** Expanding image arguments: files, folders (their images, sorted) and glob patterns. */
import { statSync, readdirSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { extname, isAbsolute, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { glob, isDynamicPattern } from 'tinyglobby';
import { ConfigError } from '../config/experiment.js';
import { usageError } from './options.js';

// BMP and HEIC too, which sharp cannot decode: skipped, they would vanish from the results unsaid; listed, each gets its ImageError saying to convert it.
const IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png', '.webp', '.tif', '.tiff', '.gif', '.avif', '.bmp', '.heic', '.heif']);

export const isImageName = (name: string): boolean => IMAGE_EXTENSIONS.has(extname(name).toLowerCase());

// The containers users most often have videos in; `.ts` (MPEG-TS) left out, a TypeScript file's name too.
const VIDEO_EXTENSIONS = new Set(['.mp4', '.m4v', '.mov', '.mkv', '.webm', '.avi', '.wmv', '.flv', '.mpg', '.mpeg', '.mts', '.m2ts', '.3gp', '.ogv']);

/** A video's name, which `predict` or `heatmaps` (images) is given by mistake. */
const isVideoName = (name: string): boolean => VIDEO_EXTENSIONS.has(extname(name).toLowerCase());

/** The first of `args` named as a video, or undefined; a folder so named (a video's frames, frames.mp4/) is one of images. */
async function videoArgument(args: readonly string[]): Promise<string | undefined> {
  for (const arg of args) {
    if (isVideoName(arg) && !(await stat(arg).catch(() => undefined))?.isDirectory()) return arg;
  }
  return undefined;
}

/**
 * A video among the image arguments of `command` is a usage error, found by its name before the
 * weights are read: the run failed once the model had loaded, in the image reader's words
 * ('not an image format that can be decoded', or the API's `processVideo`). `instead(video)` says what to do instead.
 */
export async function refuseVideoArguments(command: Command, args: readonly string[], instead: (video: string) => string): Promise<void> {
  const video = await videoArgument(args);
  if (video !== undefined) usageError(command, `${video} is a video, and ${command.name()} reads images: ${instead(video)}`);
}

/**
 * Every image named by `args`, in argument order, each once (a file named again, by a folder
 * and a pattern over it say, would be estimated twice and its people reported twice); folders
 * contribute their image files sorted by name. Names that exist but are not images are kept
 * (they fail later with a clear per-file error), missing paths too. A folder or a pattern that gives no image is a
 * ConfigError: most likely a mistake, which a run over the other arguments would hide.
 */
export async function expandImageArguments(args: readonly string[]): Promise<string[]> {
  // Lists joined at the end: push(...list) overflows the stack past ~120,000 names.
  const lists: string[][] = [];
  for (const arg of args) {
    let isDirectory = false;
    try {
      isDirectory = statSync(arg).isDirectory();
    } catch {
      if (isDynamicPattern(arg)) {
        // tinyglobby gives paths relative to the working folder: /data/*.jpg run from /home/me became ../../data/x.jpg in file_name.
        const matches = await glob(arg, { onlyFiles: true, expandDirectories: false, absolute: isAbsolute(arg) });
        lists.push(nonEmpty(arg, 'the pattern matches no image file', matches.filter(isImageName).sort()));
        continue;
      }
    }
    if (isDirectory) {
      lists.push(nonEmpty(arg, 'the folder holds no image file', readdirSync(arg).filter(isImageName).sort().map((name) => join(arg, name))));
    } else {
      lists.push([arg]);
    }
  }
  const seen = new Set<string>();
  return lists.flat().filter((file) => {
    const path = resolve(file);
    if (seen.has(path)) return false;
    seen.add(path);
    return true;
  });
}

function nonEmpty(arg: string, why: string, found: string[]): string[] {
  if (found.length === 0) throw new ConfigError(`No images found in ${arg} (${why}: ${[...IMAGE_EXTENSIONS].join(', ')})`);
  return found;
}
