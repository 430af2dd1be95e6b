/**
 * The two container formats of `torch.save`, and safetensors, read without Python:
 *
 * - zip (torch >= 1.6): `<archive>/data.pkl` holds the object pickle, each storage is the
 *   raw entry `<archive>/data/<key>`, and an optional `<archive>/byteorder` says 'little'/'big'.
 * - legacy (the format of the paper's checkpoints): five pickles in a row — magic number,
 *   protocol version, sys_info, the object, the list of storage keys — then for each key an
 *   int64 element count followed by the raw little-endian elements.
 *
 * In both, tensors appear in the object pickle as persistent ids naming a storage; the
 * unpickler returns `TensorRef`s and this module gives them as contiguous typed arrays (views of
 * the file's bytes where they can be, see `readTensor`).
 *
 * - safetensors: an 8-byte header length, a JSON header giving each tensor's dtype, shape and
 *   byte range, then the data. Opened as a state dict of `TensorRef`s, one storage per tensor.
 */
import { constants as zlibConstants, crc32, gunzipSync } from 'node:zlib';
import AdmZip from 'adm-zip';
import { errorLine, shownValue } from '../values.js';
import { formatBySignature } from '../io/image-signature.js';
import {
  CheckpointError,
  ITEM_SIZE,
  StorageRef,
  StorageType,
  TensorRef,
  describe,
  unpickle,
  type PickleDict,
  type PickleValue,
  type TensorDtype,
} from './pickle.js';

export type TensorData = Float32Array | Float64Array | BigInt64Array | Int32Array | Uint16Array | Uint8Array;

export interface CheckpointTensor {
  name: string;
  shape: number[];
  dtype: TensorDtype;
  /**
   * Contiguous (C order) values: Float32Array, Float64Array, BigInt64Array (int64),
   * Int32Array, Uint16Array (float16 and bfloat16 bit patterns) or Uint8Array (uint8, bool as 0/1).
   * Float32 values are mostly a view of the checkpoint's bytes, sharing their ArrayBuffer.
   */
  data: TensorData;
}

/** An opened checkpoint: the unpickled object and access to its storages. */
export interface CheckpointContainer {
  root: PickleValue;
  /** A tensor's values out of its storage (a view of them where they are aligned float32). */
  materialize(name: string, ref: TensorRef): CheckpointTensor;
}

/** Refuses single tensors above 2 GiB: only a corrupt or hostile file asks for more. */
const MAX_TENSOR_BYTES = 2 ** 31;

/** `torch.serialization.MAGIC_NUMBER` and `PROTOCOL_VERSION` of the legacy format. */
const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;
const LEGACY_PROTOCOL_VERSION = 1001;

function fail(message: string): never {
  throw new CheckpointError(message);
}

/**
 * Detects the container from its first bytes and opens it. `legacy`: the layout `legacyLayout`
 * gave of these same bytes (moved since, or not), which a legacy checkpoint then opens from rather
 * than being parsed again.
 */
export function openCheckpoint(bytes: Uint8Array, legacy?: LegacyLayout): CheckpointContainer {
  if (legacy !== undefined) return openLegacy(bytes, legacy);
  const container = checkpointContainer(bytes);
  if (container === 'zip') return openZip(bytes);
  if (container === 'pickle') return openLegacy(bytes);
  if (container === 'safetensors') return openSafetensors(bytes, safetensorsHeaderLength(bytes)!);
  if (bytes.byteLength === 0) return fail('not a PyTorch checkpoint: empty (0 bytes)');
  const foreign = foreignFormat(bytes, 'checkpoint');
  return fail(foreign ? `not a PyTorch checkpoint but ${foreign}` : `not a PyTorch checkpoint: neither a zip archive nor a pickle (starts with ${shownStart(bytes)})`);
}

/** The first bytes, shown as text where they are UTF-8 text (a server's error message, a README), else in hex. */
function shownStart(bytes: Uint8Array): string {
  let text: string;
  try {
    // Streamed: a character cut at the end is left out rather than taken for invalid UTF-8.
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(0, 40), { stream: true });
  } catch {
    text = '';
  }
  // Control characters but tabs and line ends mark binary data.
  if (text !== '' && !/[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/.test(text)) return `${shownValue(text)}${bytes.byteLength > 40 ? '…' : ''}`;
  return Array.from(bytes.subarray(0, 8), (b) => b.toString(16).padStart(2, '0')).join(' ');
}

/** The checkpoint container that the first bytes name (torch.save's zip, the legacy pickle, safetensors), or undefined. */
function checkpointContainer(bytes: Uint8Array): 'zip' | 'pickle' | 'safetensors' | undefined {
  if (bytes.byteLength >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04) return 'zip';
  if (bytes.byteLength >= 2 && bytes[0] === 0x80 && bytes[1] >= 2 && bytes[1] <= 5) return 'pickle';
  return safetensorsHeaderLength(bytes) === undefined ? undefined : 'safetensors';
}

/**
 * What a file under an `.onnx` name that ONNX Runtime could not load is, where its first bytes
 * tell (a checkpoint, a web page a download saved), and what to do about it; undefined otherwise.
 */
export function notOnnxModel(bytes: Uint8Array): string | undefined {
  const container = checkpointContainer(bytes);
  if (container === undefined) return foreignFormat(bytes, 'ONNX model');
  // Read by its content under any other name: only .onnx sends it to ONNX Runtime.
  const name = container === 'safetensors' ? '.safetensors' : '.pth';
  return `a PyTorch checkpoint${container === 'safetensors' ? ' (safetensors)' : ''}, which is read from a file not named .onnx (or from its bytes): rename it ${name}`;
}

/**
 * What a file that is no `expected` model is, where its first bytes tell, and what to do about it;
 * undefined otherwise. These are what a download or a mix-up most often leaves under its name.
 */
function foreignFormat(bytes: Uint8Array, expected: 'checkpoint' | 'ONNX model'): string | undefined {
  const text = new TextDecoder().decode(bytes.subarray(0, 512)).trimStart().toLowerCase();
  if (text.startsWith('<!doctype html') || text.startsWith('<html')) {
    return 'an HTML page: the download saved a web page instead of the file (Google Drive and OneDrive answer a large download with a confirmation page); download the file itself from that page in a browser';
  }
  if (text.startsWith('{') && text.includes('"graph-model"')) {
    return "a TensorFlow.js graph model's model.json (export-tfjs writes it for browsers); give the checkpoint it was exported from";
  }
  // The reference's experiment configurations begin with these top-level keys.
  if (/^(AUTO_RESUME|CUDNN|DATASET|MODEL|TEST):/m.test(new TextDecoder().decode(bytes.subarray(0, 512)))) {
    return 'an experiment configuration (YAML): give it as the configuration (--config, or config:), and the weights as --weights';
  }
  // An image given for the model (--weights photo.jpg): its bytes shown raw (ff d8 ff ...) said nothing.
  const image = formatBySignature(bytes);
  if (image !== undefined) return `a ${image} image: give it as an image to estimate, and the model (a checkpoint, or an .onnx export) as the weights`;
  if (expected === 'checkpoint' && looksLikeOnnx(bytes)) return 'an ONNX model, which runs from a file named .onnx (or from its bytes): rename it';
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) return gzipContent(bytes, expected);
  if (isTar(bytes)) {
    const oldTar = expected === 'checkpoint' ? " (PyTorch's own tar format, before version 0.1.10, is not supported)" : '';
    return `a tar archive: extract it (tar -xf) and give the ${expected} inside${oldTar}`;
  }
  return undefined;
}

/**
 * A gzip-compressed file, and what to give instead: the model inside, named by what it is, as its
 * first bytes decompressed tell (`model.onnx.gz` holds an ONNX model, not a checkpoint).
 */
function gzipContent(bytes: Uint8Array, expected: 'checkpoint' | 'ONNX model'): string {
  const start = gzipContentStart(bytes);
  if (looksLikeOnnx(start)) return 'a gzip-compressed file holding an ONNX model: decompress it (gunzip) and give the ONNX model inside, as a file named .onnx';
  if (checkpointContainer(start) !== undefined) {
    return `a gzip-compressed file holding a PyTorch checkpoint: decompress it (gunzip) and give the checkpoint inside${expected === 'ONNX model' ? ', as a file not named .onnx' : ''}`;
  }
  if (isTar(start)) return `a gzip-compressed tar archive: extract it (tar -xzf) and give the ${expected} inside`;
  return `a gzip-compressed file: decompress it (gunzip) and give the ${expected} inside`;
}

/** A tar archive's first header names its format at byte 257. */
const isTar = (bytes: Uint8Array): boolean => new TextDecoder().decode(bytes.subarray(257, 262)) === 'ustar';

/** The first bytes of a gzip file's content: its first 4 KiB decompressed (a few MB at most); none where they do not decompress. */
function gzipContentStart(bytes: Uint8Array): Uint8Array {
  try {
    return gunzipSync(bytes.subarray(0, 4096), { finishFlush: zlibConstants.Z_SYNC_FLUSH });
  } catch {
    return new Uint8Array(0);
  }
}

/** ONNX's ModelProto starts with ir_version (field 1, a small varint), then another of its fields: producer, graph, opsets... */
export function looksLikeOnnx(bytes: Uint8Array): boolean {
  const modelFieldTags = [0x12, 0x1a, 0x22, 0x28, 0x32, 0x3a, 0x42];
  return bytes[0] === 0x08 && bytes[1]! >= 1 && bytes[1]! < 0x80 && modelFieldTags.includes(bytes[2]!);
}

/** `('storage', StorageType, key, location, numel[, view_metadata])` → a storage reference. */
function parseStoragePid(pid: PickleValue): { ref: StorageRef; rootSize: number } {
  if (!Array.isArray(pid) || pid.length < 5 || pid[0] !== 'storage') {
    return fail(`unsupported persistent id: ${describe(pid)}`);
  }
  const [, type, key, , size, view] = pid;
  if (!(type instanceof StorageType)) return fail(`persistent id names ${describe(type)} instead of a storage type`);
  if (typeof key !== 'string') return fail(`storage key must be a string, got ${describe(key)}`);
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) return fail(`storage ${key}: bad size ${describe(size)}`);
  if (view === undefined || view === null) return { ref: new StorageRef(key, type.dtype, size), rootSize: size };
  // Pre-1.0 legacy files: a view (view_key, offset, view_size) into root storage `key`.
  if (!Array.isArray(view) || view.length !== 3) return fail(`storage ${key}: unsupported view metadata`);
  const [, offset, viewSize] = view;
  if (typeof offset !== 'number' || typeof viewSize !== 'number' || offset < 0 || viewSize < 0 || offset + viewSize > size) {
    return fail(`storage ${key}: view outside its root storage`);
  }
  return { ref: new StorageRef(key, type.dtype, viewSize, offset), rootSize: size };
}

/** Records each root storage's dtype and size as the object pickle names it. */
class StorageRegistry {
  readonly roots = new Map<string, { dtype: TensorDtype; size: number }>();

  load = (pid: PickleValue): PickleValue => {
    const { ref, rootSize } = parseStoragePid(pid);
    const known = this.roots.get(ref.key);
    if (known !== undefined && (known.dtype !== ref.dtype || known.size !== rootSize)) {
      fail(`storage ${ref.key} is named with two different types or sizes`);
    }
    this.roots.set(ref.key, { dtype: ref.dtype, size: rootSize });
    return ref;
  };
}

const EOCD_SIGNATURE = 0x06054b50;
const EOCD_SIZE = 22;

/**
 * The end-of-central-directory record must end the file exactly (after its comment):
 * a zip reader tolerates a cut-off tail, but a checkpoint missing bytes is truncated.
 */
function checkZipEnd(bytes: Uint8Array): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lowest = Math.max(0, bytes.byteLength - EOCD_SIZE - 0xffff);
  for (let at = bytes.byteLength - EOCD_SIZE; at >= lowest; at--) {
    if (view.getUint32(at, true) === EOCD_SIGNATURE && at + EOCD_SIZE + view.getUint16(at + 20, true) === bytes.byteLength) return;
  }
  fail('zip archive is truncated or corrupt: no end-of-central-directory record at its end');
}

/** adm-zip's own errors (bad headers, CRC mismatches) as a `CheckpointError`. */
function zipCall<T>(what: string, read: () => T): T {
  try {
    return read();
  } catch (error) {
    if (error instanceof CheckpointError) throw error;
    const reason = (error instanceof Error ? error.message : String(error)).replace(/^ADM-ZIP: /, '').replace(/ \{0\}$/, '');
    return fail(`corrupt zip archive (${what}): ${reason}`);
  }
}

function openZip(bytes: Uint8Array): CheckpointContainer {
  checkZipEnd(bytes);
  const zip = zipCall('directory', () => new AdmZip(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)));
  const pickles = zip.getEntries().filter((e) => /^[^/]+\/data\.pkl$/.test(e.entryName));
  if (pickles.length !== 1) fail(`zip archive is not a torch checkpoint: expected one <archive>/data.pkl, found ${pickles.length}`);
  const prefix = pickles[0].entryName.slice(0, -'data.pkl'.length);
  // torch.jit.save writes the module's compiled code and constants beside its data.pkl.
  if (zip.getEntries().some((e) => e.entryName === `${prefix}constants.pkl` || e.entryName.startsWith(`${prefix}code/`))) {
    fail('a TorchScript archive (torch.jit.save), not a state dict: save its weights in Python with '
      + "torch.save(torch.jit.load('model.pt').state_dict(), 'weights.pth') and give weights.pth");
  }
  const entryData = (name: string): Uint8Array | undefined => zipCall(prefix + name, () => {
    const entry = zip.getEntry(prefix + name);
    return entry === null ? undefined : entryBytes(entry);
  });

  const byteOrderBytes = entryData('byteorder');
  const byteOrder = byteOrderBytes === undefined ? 'little' : Buffer.from(byteOrderBytes).toString('latin1').trim();
  if (byteOrder !== 'little' && byteOrder !== 'big') fail(`unknown byteorder '${byteOrder}'`);

  const registry = new StorageRegistry();
  const root = unpickle(zipCall(pickles[0].entryName, () => pickles[0].getData()), 0, { persistentLoad: registry.load }).value;

  const cache = new Map<string, Uint8Array>();
  const storageBytes = (ref: StorageRef): Uint8Array => {
    let data = cache.get(ref.key);
    if (data === undefined) {
      const raw = entryData(`data/${ref.key}`);
      if (raw === undefined) return fail(`storage data/${ref.key} is missing from the archive`);
      data = byteOrder === 'big' ? swapBytes(raw, ITEM_SIZE[ref.dtype]) : raw;
      cache.set(ref.key, data);
    }
    return data;
  };
  return { root, materialize: (name, ref) => readTensor(name, ref, storageBytes(ref.storage)) };
}

/**
 * An entry's bytes. A stored (uncompressed) one, as torch writes every record, is not copied out
 * of the file but viewed where it lies, its CRC checked as reading it would; others are inflated.
 */
function entryBytes(entry: AdmZip.IZipEntry): Uint8Array {
  const { method, flags, crc } = entry.header;
  const encrypted = (flags & 1) !== 0;
  if (method !== 0 || encrypted) return entry.getData();
  const data = entry.getCompressedData();
  if (crc32(data) !== crc) throw new Error('CRC32 checksum failed');
  return data;
}

/** A byte-swapped copy, element by element, of big-endian storage data. */
function swapBytes(data: Uint8Array, itemSize: number): Uint8Array {
  const out = new Uint8Array(data.byteLength);
  for (let i = 0; i + itemSize <= data.byteLength; i += itemSize) {
    for (let j = 0; j < itemSize; j++) out[i + j] = data[i + itemSize - 1 - j];
  }
  return out;
}

function openLegacy(bytes: Uint8Array, { root, storages }: LegacyLayout = readLegacy(bytes)): CheckpointContainer {
  const storageBytes = ({ key }: StorageRef): Uint8Array => {
    const { start, byteLength } = storages.get(key) ?? fail(`storage ${key} is not in the file`);
    return bytes.subarray(start, start + byteLength);
  };
  return { root, materialize: (name, ref) => readTensor(name, ref, storageBytes(ref.storage)) };
}

/**
 * A legacy checkpoint parsed: its object, and where each storage's bytes lie in the file. The
 * positions are the file's, not its buffer's, so that the bytes may be moved (`legacyViewShift`)
 * and then opened (`openCheckpoint`) without being parsed again.
 */
export interface LegacyLayout {
  readonly root: PickleValue;
  readonly storages: ReadonlyMap<string, LegacyStorage>;
}

interface LegacyStorage {
  dtype: TensorDtype;
  /** Byte position of the elements in the file. */
  start: number;
  byteLength: number;
}

/**
 * A legacy checkpoint's layout; undefined for any other container, and for a file that does not
 * parse: opening it says what is wrong.
 */
export function legacyLayout(bytes: Uint8Array): LegacyLayout | undefined {
  if (checkpointContainer(bytes) !== 'pickle') return undefined;
  try {
    return readLegacy(bytes);
  } catch {
    return undefined;
  }
}

/**
 * How many bytes (0-3) further into their buffer a legacy checkpoint's bytes, now `byteOffset`
 * bytes into it, must lie for its float32 storages to be 4-byte aligned, so that its tensors view
 * them rather than copy them (see `readTensor`). Storages follow one another, so one shift aligns
 * them all, unless odd-sized ones (float16, uint8) sit between them: then the shift aligning most
 * float32 bytes.
 */
export function legacyViewShift({ storages }: LegacyLayout, byteOffset: number): number {
  const alignedBy = [0, 0, 0, 0];
  for (const { dtype, start, byteLength } of storages.values()) {
    if (dtype === 'float32') alignedBy[(4 - ((byteOffset + start) % 4)) % 4] += byteLength;
  }
  return alignedBy.indexOf(Math.max(...alignedBy));
}

/** A legacy checkpoint's object, and where its storages lie in `bytes`. */
function readLegacy(bytes: Uint8Array): LegacyLayout {
  const magic = unpickle(bytes, 0);
  if (typeof magic.value !== 'bigint' || magic.value !== LEGACY_MAGIC) fail('not a PyTorch checkpoint: a pickle without the torch magic number');
  const protocol = unpickle(bytes, magic.end);
  if (protocol.value !== LEGACY_PROTOCOL_VERSION) fail(`unsupported legacy protocol version ${describe(protocol.value)}`);
  const sysInfo = unpickle(bytes, protocol.end);
  if (sysInfo.value instanceof Map && sysInfo.value.get('little_endian') === false) {
    fail('big-endian legacy checkpoints are not supported');
  }
  const registry = new StorageRegistry();
  const object = unpickle(bytes, sysInfo.end, { persistentLoad: registry.load });
  const keyList = unpickle(bytes, object.end);
  if (!Array.isArray(keyList.value) || !keyList.value.every((k) => typeof k === 'string')) {
    fail('legacy checkpoint: storage key list is malformed');
  }
  return { root: object.value, storages: readLegacyStorages(bytes, keyList.end, keyList.value as string[], registry) };
}

/** Finds the storages that follow the pickles: per key, an int64 count then the elements. */
function readLegacyStorages(bytes: Uint8Array, start: number, keys: string[], registry: StorageRegistry): Map<string, LegacyStorage> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const storages = new Map<string, LegacyStorage>();
  let pos = start;
  for (const key of keys) {
    const root = registry.roots.get(key);
    if (root === undefined) fail(`legacy checkpoint: storage ${key} is listed but never used, its type is unknown`);
    if (pos + 8 > bytes.byteLength) fail(`file is truncated: storage ${key} header at byte ${pos} is missing`);
    const count = view.getBigInt64(pos, true);
    if (count !== BigInt(root.size)) fail(`storage ${key} holds ${count} elements, the pickle says ${root.size}`);
    const byteLength = root.size * ITEM_SIZE[root.dtype];
    pos += 8;
    if (pos + byteLength > bytes.byteLength) {
      fail(`file is truncated: storage ${key} needs ${byteLength} bytes at byte ${pos}, ${bytes.byteLength - pos} left`);
    }
    storages.set(key, { dtype: root.dtype, start: pos, byteLength });
    pos += byteLength;
  }
  return storages;
}

/** safetensors' dtype names of the types a checkpoint's tensors may have. */
const SAFETENSORS_DTYPES: Readonly<Record<string, TensorDtype>> = {
  F32: 'float32',
  F16: 'float16',
  BF16: 'bfloat16',
  F64: 'float64',
  I64: 'int64',
  I32: 'int32',
  U8: 'uint8',
  BOOL: 'bool',
};

/** The JSON header's length when `bytes` look like a safetensors file (a little-endian u64 length, then `{`). */
function safetensorsHeaderLength(bytes: Uint8Array): number | undefined {
  if (bytes.byteLength < 10) return undefined;
  const length = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(0, true);
  return length >= 2n && length <= BigInt(bytes.byteLength - 8) && bytes[8] === 0x7b ? Number(length) : undefined;
}

function openSafetensors(bytes: Uint8Array, headerLength: number): CheckpointContainer {
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLength)));
  } catch (error) {
    return fail(`safetensors header is not valid JSON: ${errorLine(error)}`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) return fail('safetensors header is not a JSON object');
  const data = bytes.subarray(8 + headerLength);
  const root: PickleDict = new Map();
  const storages = new Map<string, Uint8Array>();
  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') continue;
    const { dtype, shape, data_offsets: range } = (entry ?? {}) as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof dtype !== 'string' || !Object.hasOwn(SAFETENSORS_DTYPES, dtype)) {
      fail(`tensor ${name}: safetensors dtype ${shownValue(dtype)} is not supported (${Object.keys(SAFETENSORS_DTYPES).join(', ')})`);
    }
    const isCount = (n: unknown): n is number => Number.isSafeInteger(n) && (n as number) >= 0;
    if (!Array.isArray(shape) || !shape.every(isCount)) fail(`tensor ${name}: invalid shape ${shownValue(shape)}`);
    if (!Array.isArray(range) || range.length !== 2 || !range.every(isCount) || range[0] > range[1]) {
      fail(`tensor ${name}: invalid data_offsets ${shownValue(range)}`);
    }
    const [begin, end] = range as [number, number];
    if (end > data.byteLength) fail(`file is truncated: tensor ${name} needs bytes ${begin} to ${end} of the data, which has ${data.byteLength}`);
    const tensorDtype = SAFETENSORS_DTYPES[dtype];
    const count = elementCount(name, shape, ITEM_SIZE[tensorDtype]);
    if (end - begin !== count * ITEM_SIZE[tensorDtype]) fail(`tensor ${name}: ${end - begin} bytes of data for shape [${shape}] of ${dtype}`);
    storages.set(name, data.subarray(begin, end));
    root.set(name, new TensorRef(new StorageRef(name, tensorDtype, count), 0, shape, contiguousStrides(shape)));
  }
  return { root, materialize: (name, ref) => readTensor(name, ref, storages.get(ref.storage.key) as Uint8Array) };
}

function contiguousStrides(shape: readonly number[]): number[] {
  const strides = shape.map(() => 1);
  for (let i = shape.length - 2; i >= 0; i--) strides[i] = strides[i + 1] * shape[i + 1];
  return strides;
}

const TYPED_ARRAY: Record<TensorDtype, new (buffer: ArrayBuffer) => TensorData> = {
  float32: Float32Array,
  float16: Uint16Array,
  bfloat16: Uint16Array,
  float64: Float64Array,
  int64: BigInt64Array,
  int32: Int32Array,
  uint8: Uint8Array,
  bool: Uint8Array,
};

/** Element count of `shape`, failing on negative, non-integer or absurd dimensions. */
function elementCount(name: string, shape: number[], itemSize: number): number {
  let count = 1;
  for (const dim of shape) {
    if (!Number.isSafeInteger(dim) || dim < 0) fail(`tensor ${name}: invalid dimension ${dim} in shape [${shape}]`);
    count *= dim;
    if (count * itemSize > MAX_TENSOR_BYTES) fail(`tensor ${name}: shape [${shape}] is too large`);
  }
  return count;
}

/**
 * A tensor's values as a contiguous typed array, after checking that every element it addresses
 * lies inside the storage and the storage inside the file. A contiguous float32 tensor whose bytes
 * are 4-byte aligned (a zip checkpoint's, as torch aligns its records; a legacy one's read from a
 * path, placed by `legacyViewShift`) views them instead of copying them: its array shares the
 * file's ArrayBuffer, and keeps all of it alive.
 */
function readTensor(name: string, ref: TensorRef, rootBytes: Uint8Array): CheckpointTensor {
  const { storage, storageOffset, shape, strides } = ref;
  const itemSize = ITEM_SIZE[storage.dtype];
  const count = elementCount(name, shape, itemSize);
  if (strides.some((s) => s < 0) || storageOffset < 0) fail(`tensor ${name}: negative stride or storage offset`);
  if ((storage.viewOffset + storage.size) * itemSize > rootBytes.byteLength) {
    fail(`tensor ${name}: storage ${storage.key} has ${rootBytes.byteLength} bytes, expected ${storage.size} ${storage.dtype} elements`);
  }
  if (count > 0) {
    const lastIndex = shape.reduce((acc, dim, i) => acc + (dim - 1) * strides[i], storageOffset);
    if (lastIndex >= storage.size) {
      fail(`tensor ${name}: shape [${shape}] with strides [${strides}] at offset ${storageOffset} exceeds its storage of ${storage.size} elements`);
    }
  }
  const base = (storage.viewOffset + storageOffset) * itemSize;
  const contiguous = isContiguous(shape, strides);
  if (contiguous && storage.dtype === 'float32' && (rootBytes.byteOffset + base) % 4 === 0) {
    return { name, shape: [...shape], dtype: storage.dtype, data: new Float32Array(rootBytes.buffer, rootBytes.byteOffset + base, count) };
  }
  const out = new Uint8Array(count * itemSize);
  if (contiguous) out.set(rootBytes.subarray(base, base + out.byteLength));
  else if (count > 0) gatherStrided(rootBytes, base, shape, strides, itemSize, out);
  return { name, shape: [...shape], dtype: storage.dtype, data: new TYPED_ARRAY[storage.dtype](out.buffer) };
}

/** C-contiguous, ignoring the strides of size-1 dimensions (torch leaves them arbitrary). */
function isContiguous(shape: number[], strides: number[]): boolean {
  let expected = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    if (shape[i] !== 1 && strides[i] !== expected) return false;
    expected *= shape[i];
  }
  return true;
}

/** Row by row copy of a non-contiguous view (rare: transposed or expanded tensors). */
function gatherStrided(src: Uint8Array, base: number, shape: number[], strides: number[], itemSize: number, out: Uint8Array): void {
  const rank = shape.length;
  const rowLength = shape[rank - 1];
  const rowStride = strides[rank - 1] * itemSize;
  const index = new Array<number>(rank - 1).fill(0);
  let dst = 0;
  for (;;) {
    let start = base;
    for (let d = 0; d < rank - 1; d++) start += index[d] * strides[d] * itemSize;
    if (rowStride === itemSize) {
      out.set(src.subarray(start, start + rowLength * itemSize), dst);
      dst += rowLength * itemSize;
    } else {
      for (let k = 0; k < rowLength; k++, dst += itemSize) out.set(src.subarray(start + k * rowStride, start + k * rowStride + itemSize), dst);
    }
    let d = rank - 2;
    while (d >= 0 && ++index[d] === shape[d]) index[d--] = 0;
    if (d < 0) return;
  }
}
