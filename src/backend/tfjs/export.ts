/**
 * TensorFlow.js graph-model files: `model.json` plus 4 MB weight shards, the layout
 * `tf.loadGraphModel` reads over HTTP in the browser. Writing needs no tfjs package; reading
 * back from disk (plain `@tensorflow/tfjs` has no `file://` loader) is `tfjsFileHandler`.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, type Stats } from 'node:fs';
import { open } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join, resolve } from 'node:path';
import type { ExperimentConfig } from '../../config/experiment.js';
import { makeFolders } from '../../io/atomic.js';
import { buildNetworkGraph } from '../../higher/network.js';
import { networkWeights, type WeightsSource } from '../../model/load.js';
import { BackendError } from '../onnx/session.js';
import { compileToTfjsGraph, type TfjsGraphArtifacts, type WeightSpec } from './graph-model.js';
import { errorLine, isPositiveInt } from '../../values.js';

export class TfjsExportError extends Error {
  override name = 'TfjsExportError';
}

/** The shard size of the TensorFlow.js converter. */
const SHARD_BYTES = 4 * 1024 * 1024;
const MODEL_JSON = 'model.json';

interface ModelJson extends Omit<TfjsGraphArtifacts, 'weightSpecs' | 'weightData'> {
  weightsManifest: { paths: string[]; weights: WeightSpec[] }[];
}

export interface WriteOptions {
  /** Bytes per weight shard; default 4 MB. */
  shardBytes?: number;
  /** Stops the writing (Ctrl-C): nothing is left of the new export, and the signal's reason is thrown. */
  signal?: AbortSignal;
}

export interface WrittenModel {
  dir: string;
  /** File names inside `dir`: `model.json` then the shards. */
  files: string[];
  weightBytes: number;
}

/**
 * Writes graph-model artifacts to `dir` atomically: everything goes to a temporary sibling
 * folder that is renamed into place. An existing export in `dir` (`model.json` and shards, nothing
 * else) is replaced; any other non-empty folder is left alone.
 */
export async function writeTfjsGraphModel(artifacts: TfjsGraphArtifacts, dir: string, options: WriteOptions = {}): Promise<WrittenModel> {
  const shardBytes = options.shardBytes ?? SHARD_BYTES;
  if (!isPositiveInt(shardBytes)) throw new TfjsExportError(`Shard size must be a positive integer, got ${shardBytes}`);
  const target = resolve(dir);
  checkReplaceable(target);
  const { weightSpecs, weightData, ...rest } = artifacts;
  const data = new Uint8Array(weightData);
  const count = Math.max(1, Math.ceil(data.byteLength / shardBytes));
  const shards = Array.from({ length: count }, (_, i) => `group1-shard${i + 1}of${count}.bin`);
  const json: ModelJson = { ...rest, weightsManifest: [{ paths: shards, weights: weightSpecs }] };

  makeFolders(dirname(target));
  // Not mkdtemp: its folders are private (0700), and the export is served to browsers.
  const staging = join(dirname(target), `.${basename(target)}.partial-${randomBytes(6).toString('hex')}`);
  mkdirSync(staging);
  try {
    // Written a file at a time, so that a stop is seen (and the temporary folder removed) between them.
    for (const [i, file] of shards.entries()) {
      options.signal?.throwIfAborted();
      await writeSynced(join(staging, file), data.subarray(i * shardBytes, (i + 1) * shardBytes));
    }
    options.signal?.throwIfAborted();
    await writeSynced(join(staging, MODEL_JSON), Buffer.from(JSON.stringify(json)));
    options.signal?.throwIfAborted();
    if (existsSync(target)) replaceFolder(staging, target, `${staging}.previous`);
    else renameSync(staging, target);
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
  return { dir: target, files: [MODEL_JSON, ...shards], weightBytes: data.byteLength };
}

/**
 * Puts the folder `staging` in the place of the folder `target`, which is moved to `aside` first
 * and back if the new one cannot take its place: never a hidden leftover holding the only copy of
 * the previous export, unless moving it back fails too, and then the error names it. `rename` is
 * a parameter so that tests can make a step fail.
 */
export function replaceFolder(staging: string, target: string, aside: string, rename: (from: string, to: string) => void = renameSync): void {
  rename(target, aside);
  try {
    rename(staging, target);
  } catch (error) {
    try {
      rename(aside, target);
    } catch (restoreError) {
      throw new TfjsExportError(`${target}: the new export could not be moved into place (${errorLine(error)}), `
        + `nor the previous one back from ${aside} (${errorLine(restoreError)}), where it is left`, { cause: error });
    }
    throw new TfjsExportError(`${target}: the new export could not be moved into place (${errorLine(error)}); the previous one is kept`, { cause: error });
  }
  rmSync(aside, { recursive: true, force: true });
}

/** Writes and flushes a file, so that the folder renamed into place is complete on disk. */
async function writeSynced(path: string, data: Uint8Array): Promise<void> {
  const file = await open(path, 'w');
  try {
    await file.writeFile(data);
    await file.sync();
  } finally {
    await file.close();
  }
}

/** A TfjsExportError naming `target` when it cannot take an export (`exportFolderProblem`). */
function checkReplaceable(target: string): void {
  const problem = exportFolderProblem(target);
  if (problem !== undefined) throw new TfjsExportError(`${target}: ${problem}`);
}

/** What is at `path`; undefined for nothing there, or nothing it can tell (no permission: the writing says). */
const statsOrUndefined = (path: string): Stats | undefined => {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
};

/**
 * Why `dir` cannot take an export, or undefined, in words that leave `dir` to the caller to name
 * (a path, an option): a file in its place or in place of a folder above it (mkdir said only EEXIST), or
 * a folder that holds anything but an earlier export (the whole folder is replaced). For refusing
 * it before the compile, which takes a while.
 */
export function exportFolderProblem(dir: string): string | undefined {
  const found = statsOrUndefined(dir);
  if (found === undefined) {
    for (let folder = dirname(dir); ; folder = dirname(folder)) {
      const above = statsOrUndefined(folder);
      if (above !== undefined) return above.isDirectory() ? undefined : `${folder} is a file, not a folder`;
      if (dirname(folder) === folder) return undefined;
    }
  }
  if (!found.isDirectory()) return 'is a file, not a folder';
  const entries = readdirSync(dir);
  if (entries.length > 0 && !entries.includes(MODEL_JSON)) return `is a non-empty folder without a ${MODEL_JSON}; refusing to replace it`;
  const others = entries.filter((name) => name !== MODEL_JSON && !/^group\d+-shard\d+of\d+\.bin$/.test(name));
  if (others.length > 0) return `holds other files than an export (${others.slice(0, 3).join(', ')}${others.length > 3 ? ', ...' : ''}); refusing to replace it`;
  return undefined;
}

/** Compiles a configuration's network with a checkpoint path or weights and writes it to `dir`, refused before the compile when `dir` cannot take it. */
export async function exportTfjsModel(config: ExperimentConfig, weights: WeightsSource, dir: string, options: WriteOptions = {}): Promise<WrittenModel> {
  checkReplaceable(resolve(dir));
  const graph = buildNetworkGraph(config.model);
  const artifacts = compileToTfjsGraph(graph, networkWeights(weights, graph), { description: `HigherHRNet ${config.dataset.kind}, ${config.model.numJoints} joints` });
  return writeTfjsGraphModel(artifacts, dir, options);
}

/** Reads a graph model written by `writeTfjsGraphModel` (or the TensorFlow.js converter's layout). */
export function readTfjsGraphModel(dir: string): TfjsGraphArtifacts {
  const path = join(dir, MODEL_JSON);
  let json: ModelJson;
  try {
    json = JSON.parse(readFileSync(path, 'utf8')) as ModelJson;
  } catch (err) {
    throw new BackendError(`Cannot read the TensorFlow.js model ${path}: ${(err as Error).message}`);
  }
  if (json.format !== 'graph-model' || !Array.isArray(json.weightsManifest)) {
    throw new BackendError(`${path} is not a TensorFlow.js graph model (format ${JSON.stringify(json.format)})`);
  }
  const { weightsManifest, ...rest } = json;
  const shards = weightsManifest.flatMap((group) => group.paths.map((file) => readFileSync(join(dir, file))));
  return { ...rest, weightSpecs: weightsManifest.flatMap((group) => group.weights), weightData: new Uint8Array(Buffer.concat(shards)).buffer };
}

/** A `tf.io` load handler over an exported folder: `tf.loadGraphModel(tfjsFileHandler(dir))`. */
export function tfjsFileHandler(dir: string): { load(): Promise<TfjsGraphArtifacts> } {
  return { load: async () => readTfjsGraphModel(dir) };
}
