/** `--weights` as the commands hand it to the library. */
import { createHash } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { ConfigError } from '../config/experiment.js';
import { isOnnxModelBytes, keepsExternalData } from '../backend/onnx/quantize.js';
import { isOnnxFile, namedWeightBytes } from '../model/load.js';
import { readCheckpointBytes, readPipedWeights } from '../checkpoint/index.js';

/**
 * The `--weights` path, or for a file that is no regular one (a pipe: `--weights <(...)`,
 * `/dev/stdin`) its bytes, read here once: read again it would give nothing, and the library
 * tells a path's checkpoint from its ONNX model by the extension, which a pipe lacks, where it
 * tells bytes apart by their content. Messages about the bytes name the path. A regular file, a
 * folder or a missing path stays a path: the library reads it and says what is wrong. A device
 * (`/dev/zero`, a terminal for `/dev/stdin`) is refused, rather than read forever.
 */
export async function readWeightsArgument(path: string): Promise<string | Uint8Array> {
  const stats = await stat(path).catch(() => undefined);
  if (stats === undefined || stats.isFile() || stats.isDirectory()) return path;
  let bytes: Buffer;
  try {
    bytes = readPipedWeights(path);
  } catch (err) {
    throw new ConfigError(`--weights ${path}: cannot read it: ${(err as Error).message}`);
  }
  return namedWeightBytes(bytes, path);
}

/**
 * The weights `readWeightsArgument` gave, for a run that keys its journal on their sha256 (eval),
 * and that sha256: a regular file is read once, its bytes hashed and handed to the estimator, so
 * that the weights hashed are those run (read twice, the file could be replaced in between), and
 * placed as from a path (a legacy checkpoint's tensors then view them). The digest is null for a
 * path that cannot be read (missing, a folder): the estimator says why.
 */
export async function weightsWithDigest(weights: string | Uint8Array): Promise<{ weights: string | Uint8Array; sha256: string | null }> {
  const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');
  if (typeof weights !== 'string') return { weights, sha256: sha256(weights) };
  let bytes: Uint8Array;
  try {
    bytes = readCheckpointBytes(weights);
  } catch {
    return { weights, sha256: null };
  }
  // The library tells a path's ONNX model by its name, bytes' by their content: where the two
  // disagree (a checkpoint named .onnx) the path keeps the load's words about its name. An ONNX
  // model with external data runs from its path alone (its digest is then of the .onnx file).
  const isOnnx = isOnnxModelBytes(bytes);
  const runsAsBytes = isOnnxFile(weights) === isOnnx && !(isOnnx && keepsExternalData(bytes));
  return { weights: runsAsBytes ? namedWeightBytes(bytes, weights) : weights, sha256: sha256(bytes) };
}
