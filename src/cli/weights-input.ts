/** `--weights` as the commands hand it to the library. */
import { readFile, stat } from 'node:fs/promises';
import { ConfigError } from '../config/experiment.js';
import { namedWeightBytes } from '../model/load.js';

/**
 * The `--weights` path, or for a file that is no regular one (a pipe: `--weights <(...)`,
 * `/dev/stdin`) its bytes, read here once: read again it would give nothing, and the library
 * tells a path's checkpoint from its ONNX model by the extension, which a pipe lacks, where it
 * tells bytes apart by their content. Messages about the bytes name the path. A regular file, a
 * folder or a missing path stays a path: the library reads it and says what is wrong.
 */
export async function readWeightsArgument(path: string): Promise<string | Uint8Array> {
  const stats = await stat(path).catch(() => undefined);
  if (stats === undefined || stats.isFile() || stats.isDirectory()) return path;
  try {
    return namedWeightBytes(await readFile(path), path);
  } catch (err) {
    throw new ConfigError(`--weights ${path}: cannot read it: ${(err as Error).message}`);
  }
}
