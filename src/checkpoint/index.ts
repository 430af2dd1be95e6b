/**
 * Loading PyTorch `.pth` checkpoints without Python.
 *
 * Reads both `torch.save` containers (zip, and the legacy format of the paper's release),
 * through a restricted unpickler that never executes anything, and safetensors files. All functions are
 * synchronous: a checkpoint is read whole (a 115 MB W32 file takes about a second).
 * Every failure is a `CheckpointError` whose message starts with the file it concerns.
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { halfToFloat } from '../io/npy.js';
import { ReadBoundError, readFileUpTo } from '../io/read-bounded.js';
import { typeName } from '../values.js';
import { CheckpointError } from './pickle.js';
import { legacyLayout, legacyViewShift, openCheckpoint, type CheckpointTensor, type LegacyLayout } from './pth.js';
import { normaliseNames, unwrapStateDict } from './state-dict.js';

export { CheckpointError, type TensorDtype } from './pickle.js';
export type { CheckpointTensor, TensorData } from './pth.js';
export { validateStateDict, StateDictMismatchError, type ExpectedTensor } from './state-dict.js';

/**
 * The tensors of a checkpoint (a file path or its bytes), under their names as stored,
 * after unwrapping `{state_dict: …}` / `{model: …}` / `{meta, state_dict}`. Messages name a path
 * as it is, bytes as `name`. Float32 tensors whose data lies 4-byte aligned (a zip checkpoint's;
 * a legacy one's read from a path, which is placed so) view the bytes rather than copy them: given
 * bytes and those tensors share memory, a write to one shows in the other (`data.slice()` gives a
 * copy of one's own). Given bytes are never moved: a legacy checkpoint's lie aligned only by
 * chance, else its tensors are copied one by one, which costs no more than a whole aligned copy.
 */
export function readCheckpoint(source: string | Uint8Array, name = '<checkpoint bytes>'): Map<string, CheckpointTensor> {
  // Else 'First argument to DataView constructor must be an ArrayBuffer', labelled as checkpoint bytes.
  if (typeof source !== 'string' && !(source instanceof Uint8Array)) {
    const hint = (source as unknown) instanceof ArrayBuffer ? ' (new Uint8Array(buffer) views an ArrayBuffer)' : '';
    throw new CheckpointError(`a checkpoint is read from a file path or the file's bytes (a Uint8Array or Buffer), got ${typeName(source)}${hint}`);
  }
  const label = typeof source === 'string' ? source : name;
  try {
    const { bytes, legacy } = typeof source === 'string' ? readCheckpointFile(source) : { bytes: source, legacy: undefined };
    const container = openCheckpoint(bytes, legacy);
    const tensors = new Map<string, CheckpointTensor>();
    for (const [name, ref] of unwrapStateDict(container.root)) tensors.set(name, container.materialize(name, ref));
    return tensors;
  } catch (error) {
    throw labelled(error, label);
  }
}

/**
 * More than any weights this library runs: W48's checkpoint is ~250 MB, ~770 MB with the
 * optimizer's state of a training checkpoint. A pipe is read only that far: `<(cat /dev/zero)` ends.
 */
const PIPED_WEIGHTS_MAX_BYTES = 2 ** 30;

/** A regular file is read whole, up to about readFileSync's own bound. */
const FILE_WEIGHTS_MAX_BYTES = 2 ** 31;

/**
 * Weights from a path that is no regular file (a pipe: `<(...)`, `/dev/stdin`), read once up to
 * PIPED_WEIGHTS_MAX_BYTES; a device, or a pipe giving more, is a ReadBoundError saying so.
 * Placed as `readCheckpointBytes` places a file's.
 */
export function readPipedWeights(path: string): Buffer {
  return readWeightsUpTo(path, PIPED_WEIGHTS_MAX_BYTES).bytes;
}

/**
 * A regular file's bytes, placed 0-3 bytes into a buffer 3 bytes longer so that a legacy
 * checkpoint's float32 storages lie 4-byte aligned: its tensors then view them, as a zip
 * checkpoint's do, where copied one by one they would hold the weights twice while it loads.
 */
export function readCheckpointBytes(path: string): Buffer {
  return readWeightsUpTo(path, FILE_WEIGHTS_MAX_BYTES).bytes;
}

/** Weights read and placed; a legacy checkpoint's layout, parsed to place them, then opens them without parsing them again. */
interface PlacedWeights {
  bytes: Buffer;
  legacy: LegacyLayout | undefined;
}

function readWeightsUpTo(path: string, maxBytes: number): PlacedWeights {
  let bytes: Buffer;
  try {
    bytes = readFileUpTo(path, maxBytes, 3);
  } catch (error) {
    if (!(error instanceof ReadBoundError && error.reason === 'size')) throw error;
    throw new ReadBoundError('size', `${error.message}: no HigherHRNet checkpoint or export is that large (W48's is ~250 MB)`, error.start);
  }
  // Read at the start of their buffer, then moved in place: the layout is known once parsed.
  const legacy = legacyLayout(bytes);
  const shift = legacy === undefined ? 0 : legacyViewShift(legacy, bytes.byteOffset);
  if (shift === 0) return { bytes, legacy };
  const room = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength + shift);
  room.copyWithin(shift, 0, bytes.byteLength);
  return { bytes: room.subarray(shift), legacy };
}

/**
 * The file's bytes, placed; a missing one is most often a checkpoint not yet downloaded, so say where they
 * come from. A regular file is read whole (`readCheckpointBytes`); a device (`/dev/zero`) is refused
 * rather than read forever, and a pipe (`/dev/stdin`) read up to PIPED_WEIGHTS_MAX_BYTES.
 */
function readCheckpointFile(path: string): PlacedWeights {
  try {
    return readWeightsUpTo(path, statSync(path).isFile() ? FILE_WEIGHTS_MAX_BYTES : PIPED_WEIGHTS_MAX_BYTES);
  } catch (error) {
    if (error instanceof ReadBoundError) throw new CheckpointError(`cannot read it: ${error.message}`, { cause: error });
    const { code } = error as NodeJS.ErrnoException;
    if (code === 'EISDIR') {
      const tfjs = existsSync(join(path, 'model.json')) ? ' (a TensorFlow.js graph model, as export-tfjs writes for browsers: give the checkpoint it was exported from)' : '';
      throw new CheckpointError(`a folder, not a checkpoint file${tfjs}`, { cause: error });
    }
    if (code !== 'ENOENT') throw error;
    throw new CheckpointError('no such file. `higher-pose weights list` shows the published checkpoints; `higher-pose weights fetch NAME` downloads one and prints its path', { cause: error });
  }
}

/**
 * The checkpoint's tensors under the official HigherHRNet names: `module.` / `1.` prefixes
 * removed, mmpose `backbone.X` → `X` and `keypoint_head.{final,deconv}_layers.*` → `{…}_layers.*`.
 * Messages name bytes as `name`, as `readCheckpoint`'s do.
 */
export function loadStateDict(source: string | Uint8Array, name = '<checkpoint bytes>'): Map<string, CheckpointTensor> {
  const raw = readCheckpoint(source, name);
  try {
    return normaliseNames(raw);
  } catch (error) {
    throw labelled(error, typeof source === 'string' ? source : name);
  }
}

/**
 * The values as float32 (float16 and bfloat16 widened exactly, int64 via Number). A float32 tensor's own
 * array is returned, not a copy.
 */
export function toFloat32(t: CheckpointTensor): Float32Array {
  const { data } = t;
  if (t.dtype === 'float32') return data as Float32Array;
  if (t.dtype === 'float16') return Float32Array.from(data as Uint16Array, halfToFloat);
  // bfloat16 is the high half of a float32.
  if (t.dtype === 'bfloat16') return new Float32Array(Uint32Array.from(data as Uint16Array, (bits) => bits << 16).buffer);
  if (data instanceof BigInt64Array) return Float32Array.from(data, Number);
  return Float32Array.from(data as Float64Array | Int32Array | Uint8Array);
}

/**
 * Every error out of the parsers becomes a `CheckpointError` prefixed with the file, so that
 * no RangeError or zip-library error escapes without saying which file is broken.
 */
function labelled(error: unknown, label: string): CheckpointError {
  const message = error instanceof Error ? error.message : String(error);
  return new CheckpointError(`${label}: ${message}`, { cause: error });
}
