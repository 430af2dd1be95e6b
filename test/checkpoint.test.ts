import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32, gzipSync } from 'node:zlib';
import AdmZip from 'adm-zip';
import { expect } from 'chai';
import {
  CheckpointError,
  StateDictMismatchError,
  loadStateDict,
  readCheckpoint,
  readPipedWeights,
  toFloat32,
  validateStateDict,
  type CheckpointTensor,
} from '../src/checkpoint/index.js';
import { legacyLayout, legacyViewShift, notOnnxModel, openCheckpoint } from '../src/checkpoint/pth.js';
import { unwrapStateDict } from '../src/checkpoint/state-dict.js';
import { weightsWithDigest } from '../src/cli/weights-input.js';
import { presetConfig } from '../src/config/presets.js';
import { createEstimator } from '../src/estimator.js';
import { buildNetworkGraph } from '../src/higher/network.js';
import { randomWeights } from '../src/model/weights.js';
import { compileModel } from '../src/model/load.js';
import { describeFixtures, fixturesRoot } from './helpers/fixtures.js';
import { isCollected } from './helpers/gc.js';
import { withPipedOnce } from './helpers/piped.js';
import { DEMO_IMAGE, TINY_COCO_CHECKPOINT } from '../src/paths.js';

// ---------------------------------------------------------------------------------------
// Hand-written pickles: just enough of the protocol-2 encoder to build torch checkpoints.
// ---------------------------------------------------------------------------------------

type Part = number | Uint8Array | Part[];

function bytesOf(...parts: Part[]): Uint8Array {
  const out: number[] = [];
  const walk = (p: Part): void => {
    if (typeof p === 'number') out.push(p);
    else if (p instanceof Uint8Array) out.push(...p);
    else p.forEach(walk);
  };
  parts.forEach(walk);
  return Uint8Array.from(out);
}

const MARK = 0x28;
const STOP = 0x2e;
const TUPLE = 0x74;
const REDUCE = 0x52;
const SETITEMS = 0x75;
const EMPTY_DICT = 0x7d;
const EMPTY_TUPLE = 0x29;
const NONE = 0x4e;
const NEWTRUE = 0x88;
const NEWFALSE = 0x89;
const BINPERSID = 0x51;
const BUILD = 0x62;

const u16 = (n: number): number[] => [n & 0xff, (n >>> 8) & 0xff];
const u32 = (n: number): number[] => [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];
const str = (s: string): Part => {
  const b = new TextEncoder().encode(s);
  return [0x58, u32(b.length), b];
};
const int = (n: number): Part => [0x4a, u32(n)];
const glob = (module: string, name: string): Part => [0x63, new TextEncoder().encode(`${module}\n${name}\n`)];
const tuple = (...items: Part[]): Part => [MARK, items, TUPLE];
const dict = (entries: [Part, Part][]): Part => [EMPTY_DICT, MARK, entries, SETITEMS];
const orderedDict = (entries: [Part, Part][]): Part => [glob('collections', 'OrderedDict'), EMPTY_TUPLE, REDUCE, MARK, entries, SETITEMS];
const pickle = (body: Part): Uint8Array => bytesOf([0x80, 2], body, STOP);

interface TensorSpec {
  key: string;
  numel: number;
  shape: number[];
  strides?: number[];
  offset?: number;
  storageType?: string;
}

function contiguousStrides(shape: number[]): number[] {
  const strides = shape.map(() => 1);
  for (let i = shape.length - 2; i >= 0; i--) strides[i] = strides[i + 1] * shape[i + 1];
  return strides;
}

/** `_rebuild_tensor_v2(persistent storage, offset, size, stride, False, OrderedDict())`. */
function tensor(t: TensorSpec): Part {
  const pid = tuple(str('storage'), glob('torch', t.storageType ?? 'FloatStorage'), str(t.key), str('cpu'), int(t.numel));
  const strides = t.strides ?? contiguousStrides(t.shape);
  return [
    glob('torch._utils', '_rebuild_tensor_v2'),
    tuple([pid, BINPERSID], int(t.offset ?? 0), tuple(...t.shape.map(int)), tuple(...strides.map(int)), NEWFALSE, orderedDict([])),
    REDUCE,
  ];
}

const stateDict = (tensors: Record<string, TensorSpec>): Part =>
  orderedDict(Object.entries(tensors).map(([name, t]) => [str(name), tensor(t)]));

const f32 = (...values: number[]): Uint8Array => new Uint8Array(new Float32Array(values).buffer);
const i64 = (...values: bigint[]): Uint8Array => new Uint8Array(new BigInt64Array(values).buffer);

function zipCheckpoint(pkl: Uint8Array, storages: Record<string, Uint8Array>, byteorder?: string): Buffer {
  const zip = new AdmZip();
  zip.addFile('archive/data.pkl', Buffer.from(pkl));
  for (const [key, data] of Object.entries(storages)) zip.addFile(`archive/data/${key}`, Buffer.from(data));
  if (byteorder !== undefined) zip.addFile('archive/byteorder', Buffer.from(byteorder));
  return zip.toBuffer();
}

/**
 * A zip checkpoint laid out as torch writes one: every entry stored (uncompressed), its data
 * aligned to 64 bytes in the file by padding the local header's extra field.
 */
function torchZip(pkl: Uint8Array, storages: Record<string, Uint8Array>): Buffer {
  const files: [string, Uint8Array][] = [['archive/data.pkl', pkl], ...Object.entries(storages).map(([key, data]): [string, Uint8Array] => [`archive/data/${key}`, data])];
  const locals: Uint8Array[] = [];
  const centrals: Uint8Array[] = [];
  let offset = 0;
  for (const [name, data] of files) {
    const nameBytes = new TextEncoder().encode(name);
    const padding = (64 - ((offset + 30 + nameBytes.length + 4) % 64)) % 64;
    const extra = bytesOf(0x46, 0x42, u16(padding), new Uint8Array(padding)); // torch's 'FB' padding field
    // version needed, flags, method (stored), time, date, crc, sizes, name and extra lengths
    const fields = [u16(20), u16(0), u16(0), u16(0), u16(0), u32(crc32(data)), u32(data.length), u32(data.length), u16(nameBytes.length)];
    const local = bytesOf(u32(0x04034b50), fields, u16(extra.length), nameBytes, extra);
    centrals.push(bytesOf(u32(0x02014b50), u16(20), fields, u16(0), u16(0), u16(0), u16(0), u32(0), u32(offset), nameBytes));
    locals.push(local, data);
    offset += local.length + data.length;
  }
  const directory = Buffer.concat(centrals);
  const end = bytesOf(u32(0x06054b50), u16(0), u16(0), u16(files.length), u16(files.length), u32(directory.length), u32(offset), u16(0));
  return Buffer.concat([...locals, directory, end]);
}

/** magic, protocol, sys_info, object, key list, then per storage: int64 count + elements. */
function legacyCheckpoint(pkl: Uint8Array, storages: [key: string, numel: number, data: Uint8Array][]): Buffer {
  const magic = pickle([0x8a, 10, [0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19]]);
  const protocol = pickle([0x4d, u16(1001)]);
  const sysInfo = pickle(dict([[str('protocol_version'), [0x4d, u16(1001)]], [str('little_endian'), NEWTRUE]]));
  const keys = pickle([0x5d, MARK, storages.map(([key]) => str(key)), 0x65]);
  const data = storages.map(([, numel, bytes]) => [i64(BigInt(numel)), bytes]);
  return Buffer.from(bytesOf(magic, protocol, sysInfo, pkl, keys, data));
}

/** A two-tensor state dict (a 2x3 weight and a BatchNorm counter) used by several tests. */
const SMALL_TENSORS: Record<string, TensorSpec> = {
  'conv.weight': { key: '0', numel: 6, shape: [2, 3] },
  'bn.num_batches_tracked': { key: '1', numel: 1, shape: [], storageType: 'LongStorage' },
};
const SMALL_STORAGES = { '0': f32(1, 2, 3, 4, 5, 6), '1': i64(7n) };
const smallZip = (): Buffer => zipCheckpoint(pickle(stateDict(SMALL_TENSORS)), SMALL_STORAGES);

interface SafetensorsEntry {
  name: string;
  dtype: string;
  shape: number[];
  data: Uint8Array;
}

/** A safetensors file: the JSON header's length (u64), the header, then every tensor's bytes. */
function safetensorsFile(tensors: SafetensorsEntry[], metadata?: Record<string, string>): Buffer {
  const header: Record<string, unknown> = metadata ? { __metadata__: metadata } : {};
  let offset = 0;
  for (const t of tensors) {
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  const json = Buffer.from(JSON.stringify(header));
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([length, json, ...tensors.map((t) => t.data)]);
}

/** SMALL_TENSORS as a safetensors file. */
const smallSafetensors = (): Buffer => safetensorsFile([
  { name: 'conv.weight', dtype: 'F32', shape: [2, 3], data: SMALL_STORAGES['0'] },
  { name: 'bn.num_batches_tracked', dtype: 'I64', shape: [], data: SMALL_STORAGES['1'] },
], { format: 'pt' });

function expectCheckpointError(fn: () => unknown, pattern: RegExp): CheckpointError {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  expect(caught, 'expected a CheckpointError').to.be.instanceOf(CheckpointError);
  expect((caught as Error).message).to.match(pattern);
  return caught as CheckpointError;
}

// ---------------------------------------------------------------------------------------

describe('checkpoint: containers and tensors', () => {
  it('reads a zip checkpoint: names, shapes, dtypes and values', () => {
    const sd = readCheckpoint(smallZip());
    expect([...sd.keys()]).to.deep.equal(['conv.weight', 'bn.num_batches_tracked']);
    const w = sd.get('conv.weight') as CheckpointTensor;
    expect(w.shape).to.deep.equal([2, 3]);
    expect(w.dtype).to.equal('float32');
    expect([...w.data]).to.deep.equal([1, 2, 3, 4, 5, 6]);
    const n = sd.get('bn.num_batches_tracked') as CheckpointTensor;
    expect(n.shape).to.deep.equal([]);
    expect(n.dtype).to.equal('int64');
    expect([...n.data]).to.deep.equal([7n]);
  });

  it('reads the same tensors from the legacy format', () => {
    const legacy = legacyCheckpoint(pickle(stateDict(SMALL_TENSORS)), [
      ['0', 6, SMALL_STORAGES['0']],
      ['1', 1, SMALL_STORAGES['1']],
    ]);
    expect(readCheckpoint(legacy)).to.deep.equal(readCheckpoint(smallZip()));
  });

  it('applies storage offsets and strides, and shares storages between tensors', () => {
    const tensors: Record<string, TensorSpec> = {
      transposed: { key: '0', numel: 6, shape: [3, 2], strides: [1, 3] },
      tail: { key: '0', numel: 6, shape: [2], offset: 4 },
      column: { key: '0', numel: 6, shape: [2, 1], strides: [3, 1], offset: 1 },
      broadcast: { key: '0', numel: 6, shape: [2, 3], strides: [0, 1] },
    };
    const sd = readCheckpoint(zipCheckpoint(pickle(stateDict(tensors)), { '0': f32(1, 2, 3, 4, 5, 6) }));
    expect([...(sd.get('transposed') as CheckpointTensor).data]).to.deep.equal([1, 4, 2, 5, 3, 6]);
    expect([...(sd.get('tail') as CheckpointTensor).data]).to.deep.equal([5, 6]);
    expect([...(sd.get('column') as CheckpointTensor).data]).to.deep.equal([2, 5]);
    expect([...(sd.get('broadcast') as CheckpointTensor).data]).to.deep.equal([1, 2, 3, 1, 2, 3]);
  });

  it('reads every supported dtype, and toFloat32 converts each exactly', () => {
    const tensors: Record<string, TensorSpec> = {
      half: { key: 'h', numel: 3, shape: [3], storageType: 'HalfStorage' },
      brain: { key: 'bf', numel: 3, shape: [3], storageType: 'BFloat16Storage' },
      double: { key: 'd', numel: 2, shape: [2], storageType: 'DoubleStorage' },
      int: { key: 'i', numel: 2, shape: [2], storageType: 'IntStorage' },
      byte: { key: 'b', numel: 2, shape: [2], storageType: 'ByteStorage' },
      flag: { key: 'f', numel: 2, shape: [2], storageType: 'BoolStorage' },
      long: { key: 'l', numel: 2, shape: [2], storageType: 'LongStorage' },
    };
    const storages = {
      h: new Uint8Array(new Uint16Array([0x3c00, 0xc000, 0x0001]).buffer), // 1, -2, 2^-24
      bf: new Uint8Array(new Uint16Array([0x3f80, 0xc040, 0x0001]).buffer), // 1, -3, 2^-133
      d: new Uint8Array(new Float64Array([0.5, -1.25]).buffer),
      i: new Uint8Array(new Int32Array([-3, 40000]).buffer),
      b: Uint8Array.from([0, 255]),
      f: Uint8Array.from([1, 0]),
      l: i64(-5n, 1n << 40n),
    };
    const sd = readCheckpoint(zipCheckpoint(pickle(stateDict(tensors)), storages));
    const dtypes = Object.fromEntries([...sd].map(([name, t]) => [name, t.dtype]));
    expect(dtypes).to.deep.equal({ half: 'float16', brain: 'bfloat16', double: 'float64', int: 'int32', byte: 'uint8', flag: 'bool', long: 'int64' });
    const values = (name: string): number[] => [...toFloat32(sd.get(name) as CheckpointTensor)];
    expect(values('half')).to.deep.equal([1, -2, 2 ** -24]);
    expect(values('brain')).to.deep.equal([1, -3, 2 ** -133]);
    expect(values('double')).to.deep.equal([0.5, -1.25]);
    expect(values('int')).to.deep.equal([-3, 40000]);
    expect(values('byte')).to.deep.equal([0, 255]);
    expect(values('flag')).to.deep.equal([1, 0]);
    expect(values('long')).to.deep.equal([-5, 2 ** 40]);
  });

  it('byte-swaps storages of a zip checkpoint written on a big-endian machine', () => {
    const big = Uint8Array.from([0x3f, 0x80, 0, 0, 0x40, 0, 0, 0]); // 1.0, 2.0 big-endian
    const pkl = pickle(stateDict({ w: { key: '0', numel: 2, shape: [2] } }));
    const sd = readCheckpoint(zipCheckpoint(pkl, { '0': big }, 'big'));
    expect([...(sd.get('w') as CheckpointTensor).data]).to.deep.equal([1, 2]);
  });

  it('reads protocol 4 pickles (FRAME, SHORT_BINUNICODE, MEMOIZE, STACK_GLOBAL)', () => {
    const short = (s: string): Part => [0x8c, s.length, new TextEncoder().encode(s)];
    const stackGlobal = (m: string, n: string): Part => [short(m), 0x94, short(n), 0x94, 0x93, 0x94];
    const body: Part = [
      EMPTY_DICT, 0x94, short('w'), 0x94,
      stackGlobal('torch._utils', '_rebuild_tensor_v2'),
      MARK, MARK, short('storage'), stackGlobal('torch', 'FloatStorage'), short('0'), short('cpu'), 0x4b, 2, TUPLE, BINPERSID,
      0x4b, 0, 0x4b, 2, 0x85, 0x4b, 1, 0x85, NEWFALSE, stackGlobal('collections', 'OrderedDict'), EMPTY_TUPLE, REDUCE, TUPLE, REDUCE,
      0x73, // SETITEM
    ];
    const inner = bytesOf(body);
    const pkl = bytesOf([0x80, 4], [0x95, u32(inner.length + 1), u32(0)], inner, STOP);
    const sd = readCheckpoint(zipCheckpoint(pkl, { '0': f32(3, 4) }));
    expect([...(sd.get('w') as CheckpointTensor).data]).to.deep.equal([3, 4]);
  });
});

describe('checkpoint: float32 tensors view the file instead of copying it', () => {
  const tensors: Record<string, TensorSpec> = {
    weight: { key: '0', numel: 6, shape: [2, 3] },
    tail: { key: '0', numel: 6, shape: [2], offset: 4 },
    transposed: { key: '0', numel: 6, shape: [3, 2], strides: [1, 3] },
    half: { key: 'h', numel: 2, shape: [2], storageType: 'HalfStorage' },
    steps: { key: 'l', numel: 1, shape: [], storageType: 'LongStorage' },
  };
  const storages = { '0': f32(1, 2, 3, 4, 5, 6), h: new Uint8Array(new Uint16Array([0x3c00, 0xc000]).buffer), l: i64(7n) };
  const values = (sd: Map<string, CheckpointTensor>): Record<string, number[]> => Object.fromEntries([...sd].map(([name, t]) => [name, [...toFloat32(t)]]));
  const expected = { weight: [1, 2, 3, 4, 5, 6], tail: [5, 6], transposed: [1, 4, 2, 5, 3, 6], half: [1, -2], steps: [7] };
  /** `file`'s bytes at `shift` bytes into a larger buffer, as a caller's bytes may lie. */
  const shifted = (file: Uint8Array, shift: number): Uint8Array => {
    const within = new Uint8Array(file.length + shift);
    within.set(file, shift);
    return within.subarray(shift);
  };

  it("a zip checkpoint as torch writes it (stored, 64-byte aligned): contiguous float32 tensors share the file's buffer, the others are copies", () => {
    const file = torchZip(pickle(stateDict(tensors)), storages);
    const sd = readCheckpoint(file);
    expect(values(sd)).to.deep.equal(expected);
    const sharing = [...sd].filter(([, t]) => t.data.buffer === file.buffer).map(([name]) => name);
    expect(sharing).to.deep.equal(['weight', 'tail']);
  });

  it('zip or legacy bytes at any offset in their buffer: the same values, viewed exactly where the float32 data is 4-byte aligned, else copied', () => {
    const legacy = legacyCheckpoint(pickle(stateDict(tensors)), [['0', 6, storages['0']], ['h', 2, storages.h], ['l', 1, storages.l]]);
    for (const [container, file] of [['zip', torchZip(pickle(stateDict(tensors)), storages)], ['legacy', legacy]] as const) {
      const dataAt = file.indexOf(Buffer.from(storages['0']));
      for (const shift of [0, 1, 2, 3]) {
        const bytes = shifted(file, shift);
        const sd = readCheckpoint(bytes);
        expect(values(sd), `${container} at +${shift}`).to.deep.equal(expected);
        const sharesFile = (sd.get('weight') as CheckpointTensor).data.buffer === bytes.buffer;
        expect(sharesFile, `${container} at +${shift}`).to.equal((bytes.byteOffset + dataAt) % 4 === 0);
      }
    }
  });

  it("a legacy checkpoint read from a path: every float32 tensor views the file's one buffer, with the values its bytes give", () => {
    // tiny_coco.legacy.pth's float32 data lies 1 byte off 4-byte alignment in the file.
    const bytes = readFileSync(TINY_COCO_CHECKPOINT());
    const sd = readCheckpoint(TINY_COCO_CHECKPOINT());
    expect(sd).to.deep.equal(readCheckpoint(bytes));
    const buffers = new Set([...sd.values()].filter((t) => t.dtype === 'float32').map((t) => t.data.buffer));
    expect(buffers.size, 'float32 tensors sharing one buffer').to.equal(1);
    expect([...buffers][0].byteLength, "that buffer is the file's").to.be.at.least(bytes.length);
  });

  it('a legacy file at a path, at each alignment, with float16 between float32 storages: the most float32 data viewed, every value as from its bytes', () => {
    // 'h' (one float16, 2 bytes) leaves 'big' 2 bytes off the alignment of 'small', which is smaller: 'big' is the one aligned.
    const layout = (name: string): Record<string, TensorSpec> => ({
      [name]: { key: 's', numel: 6, shape: [2, 3] },
      half: { key: 'h', numel: 1, shape: [1], storageType: 'HalfStorage' },
      big: { key: 'b', numel: 64, shape: [8, 8] },
      steps: { key: 'l', numel: 1, shape: [], storageType: 'LongStorage' },
    });
    const big = new Float32Array(64).map((_, i) => i / 8);
    const data: [string, number, Uint8Array][] = [['s', 6, storages['0']], ['h', 1, new Uint8Array(new Uint16Array([0x3c00]).buffer)], ['b', 64, new Uint8Array(big.buffer)], ['l', 1, storages.l]];
    const dir = mkdtempSync(join(tmpdir(), 'higher-pose-legacy-'));
    try {
      // The small tensor's name, 1 to 4 letters, moves every storage after it by one byte.
      for (const name of ['w', 'ww', 'www', 'wwww']) {
        const file = join(dir, `${name}.pth`);
        writeFileSync(file, legacyCheckpoint(pickle(stateDict(layout(name))), data));
        const sd = readCheckpoint(file);
        expect(sd, name).to.deep.equal(readCheckpoint(readFileSync(file)));
        expect([...(sd.get('big') as CheckpointTensor).data], name).to.deep.equal([...big]);
        expect([...toFloat32(sd.get('half') as CheckpointTensor)], name).to.deep.equal([1]);
        const bigData = (sd.get('big') as CheckpointTensor).data;
        expect(bigData.buffer.byteLength, `${name}: 'big' views the file`).to.be.greaterThan(bigData.byteLength);
        const smallData = (sd.get(name) as CheckpointTensor).data;
        expect(smallData.buffer.byteLength, `${name}: '${name}', 2 bytes off, is copied`).to.equal(smallData.byteLength);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a legacy checkpoint is parsed once: the layout parsed to place its bytes opens them where they were moved, its pickles not read again', () => {
    const file = legacyCheckpoint(pickle(stateDict(tensors)), [['0', 6, storages['0']], ['h', 2, storages.h], ['l', 1, storages.l]]);
    // As readCheckpointBytes reads a file: at the start of a buffer 3 bytes longer.
    const room = new Uint8Array(file.length + 3);
    room.set(file);
    const layout = legacyLayout(room.subarray(0, file.length));
    expect(layout, 'a legacy checkpoint parses to a layout').not.to.equal(undefined);
    const shift = legacyViewShift(layout!, 0);
    expect(shift, 'its float32 data lies off alignment at the start of the buffer').to.be.greaterThan(0);
    room.copyWithin(shift, 0, file.length);
    const moved = room.subarray(shift, shift + file.length);
    // Pickles parsed again now would fail: the magic number's is overwritten.
    moved.fill(0, 0, 4);
    const container = openCheckpoint(moved, layout);
    const sd = new Map([...unwrapStateDict(container.root)].map(([name, ref]) => [name, container.materialize(name, ref)]));
    expect(values(sd)).to.deep.equal(expected);
    expect((sd.get('weight') as CheckpointTensor).data.buffer, 'weight views the moved bytes').to.equal(room.buffer);
    expect(legacyLayout(torchZip(pickle(stateDict(tensors)), storages)), 'no layout for a zip checkpoint').to.equal(undefined);
    expect(legacyLayout(file.subarray(0, file.length - 3)), 'no layout for a legacy file that does not parse: opening it says why').to.equal(undefined);
  });

  it("eval's read of --weights (weightsWithDigest): a legacy checkpoint's bytes placed as from its path, its float32 tensors viewing them, the digest the file's", async () => {
    const file = readFileSync(TINY_COCO_CHECKPOINT());
    const { weights, sha256 } = await weightsWithDigest(TINY_COCO_CHECKPOINT());
    expect(weights).to.be.instanceOf(Uint8Array);
    const bytes = weights as Uint8Array;
    expect(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).equals(file), 'the bytes are the file').to.equal(true);
    expect(sha256).to.equal(createHash('sha256').update(file).digest('hex'));
    const float32 = [...readCheckpoint(bytes).values()].filter((t) => t.dtype === 'float32');
    expect(float32.filter((t) => t.data.buffer !== bytes.buffer).map((t) => t.name), 'float32 tensors copied').to.deep.equal([]);
  });

  it("a legacy checkpoint from a pipe (a FIFO's path, and the CLI's --weights <(...) read by readPipedWeights): float32 tensors view the bytes read, as from its file", async function () {
    if (process.platform === 'win32') this.skip();
    const dir = mkdtempSync(join(tmpdir(), 'higher-pose-piped-legacy-'));
    const float32Buffers = (sd: Map<string, CheckpointTensor>) => new Set([...sd.values()].filter((t) => t.dtype === 'float32').map((t) => t.data.buffer));
    try {
      const file = readFileSync(TINY_COCO_CHECKPOINT());
      let piped: Map<string, CheckpointTensor> | undefined;
      await withPipedOnce(join(dir, 'fifo'), file, async () => void (piped = readCheckpoint(join(dir, 'fifo'))));
      expect(piped).to.deep.equal(readCheckpoint(TINY_COCO_CHECKPOINT()));
      expect(float32Buffers(piped!).size, 'float32 tensors sharing one buffer').to.equal(1);
      let bytes: Uint8Array | undefined;
      await withPipedOnce(join(dir, 'fifo'), file, async () => void (bytes = readPipedWeights(join(dir, 'fifo'))));
      expect(Buffer.from(bytes!).equals(file)).to.equal(true);
      expect([...float32Buffers(readCheckpoint(bytes!))], 'float32 tensors viewing the bytes read').to.deep.equal([bytes!.buffer]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  /** tiny_coco's random weights as torch would save them (num_batches_tracked as int64). */
  const tinyCocoZip = (): Buffer => {
    const specs: Record<string, TensorSpec> = {};
    const data: Record<string, Uint8Array> = {};
    [...randomWeights(buildNetworkGraph(presetConfig('tiny_coco').model))].forEach(([name, t], i) => {
      const long = name.endsWith('.num_batches_tracked');
      specs[name] = { key: String(i), numel: t.data.length, shape: t.shape, storageType: long ? 'LongStorage' : 'FloatStorage' };
      data[String(i)] = long ? i64(0n) : new Uint8Array(t.data.buffer);
    });
    return torchZip(pickle(stateDict(specs)), data);
  };

  it("an estimator made from a checkpoint's bytes, on either backend, leaves them as they were and keeps no view of them once made", async () => {
    const file = tinyCocoZip();
    const original = Buffer.from(file);
    for (const backend of ['onnxruntime', 'tfjs'] as const) await (await createEstimator({ preset: 'tiny_coco', weights: file, inputSize: 256, backend })).dispose();
    expect(file.equals(original), 'the bytes are unchanged').to.equal(true);
    // The file's buffer is held in this call only, as a caller that read it for the estimator holds it.
    const made = async (bytes: Uint8Array) => ({ estimator: await createEstimator({ preset: 'tiny_coco', weights: bytes, inputSize: 256 }), given: new WeakRef(bytes.buffer) });
    const { estimator, given } = await made(tinyCocoZip());
    try {
      expect(await isCollected(given), "the file's buffer is freed").to.equal(true);
    } finally {
      await estimator.dispose();
    }
  });

  it('BAD CALL - a stored record damaged in the file is refused by its CRC, not read as weights', () => {
    const file = torchZip(pickle(stateDict(tensors)), storages);
    file[file.indexOf(Buffer.from(storages['0'])) + 2] ^= 0x40;
    expectCheckpointError(() => readCheckpoint(file), /^<checkpoint bytes>: corrupt zip archive \(archive\/data\/0\): CRC32 checksum failed$/);
  });
});

describe('checkpoint: safetensors', () => {
  it('reads a safetensors file (one renamed .pth too) to the tensors of the same zip checkpoint', () => {
    expect(readCheckpoint(smallSafetensors())).to.deep.equal(readCheckpoint(smallZip()));
    const half = readCheckpoint(safetensorsFile([{ name: 'w', dtype: 'F16', shape: [2], data: new Uint8Array(new Uint16Array([0x3c00, 0xc000]).buffer) }]));
    expect([...toFloat32(half.get('w') as CheckpointTensor)]).to.deep.equal([1, -2]);
  });

  it('maps mmpose and module. names as in a torch checkpoint', () => {
    const file = safetensorsFile([
      { name: 'backbone.conv1.weight', dtype: 'F32', shape: [1], data: f32(1) },
      { name: 'keypoint_head.final_layers.0.bias', dtype: 'F32', shape: [1], data: f32(2) },
    ]);
    expect([...loadStateDict(file).keys()]).to.deep.equal(['conv1.weight', 'final_layers.0.bias']);
  });

  it('BAD CALL - a truncated safetensors file, an unsupported dtype, a shape that is not its bytes', () => {
    const whole = smallSafetensors();
    expectCheckpointError(() => readCheckpoint(whole.subarray(0, whole.length - 4)), /^<checkpoint bytes>: file is truncated: tensor bn\.num_batches_tracked needs bytes 24 to 32 of the data, which has 28$/);
    const int8 = safetensorsFile([{ name: 'w', dtype: 'I8', shape: [2], data: new Uint8Array(2) }]);
    expectCheckpointError(() => readCheckpoint(int8), /tensor w: safetensors dtype "I8" is not supported/);
    const short = safetensorsFile([{ name: 'w', dtype: 'F32', shape: [3], data: f32(1, 2) }]);
    expectCheckpointError(() => readCheckpoint(short), /tensor w: 8 bytes of data for shape \[3\] of F32/);
  });
});

describe('checkpoint: wrappers and official names', () => {
  const zipOf = (body: Part): Buffer => zipCheckpoint(pickle(body), SMALL_STORAGES);
  const prefixed = (prefix: string): Part =>
    stateDict(Object.fromEntries(Object.entries(SMALL_TENSORS).map(([name, t]) => [prefix + name, t])));

  it('unwraps {state_dict}, {model} and {epoch, state_dict} and strips module. / 1. prefixes', () => {
    const expected = readCheckpoint(smallZip());
    const variants: Part[] = [
      dict([[str('state_dict'), prefixed('')]]),
      dict([[str('model'), prefixed('module.')]]),
      dict([[str('epoch'), int(3)], [str('state_dict'), prefixed('module.')]]),
      dict([[str('model'), dict([[str('state_dict'), prefixed('1.')]])]]),
    ];
    for (const body of variants) expect(loadStateDict(zipOf(body))).to.deep.equal(expected);
  });

  it('reads a list of 300,000 items (one APPENDS) beside the state dict', () => {
    // A training history, say; spreading that many items as call arguments overflows the stack.
    const history: Part = [0x5d, MARK, Array.from({ length: 300_000 }, () => [0x4b, 0]), 0x65];
    const body = dict([[str('history'), history], [str('state_dict'), prefixed('')]]);
    expect(loadStateDict(zipOf(body))).to.deep.equal(readCheckpoint(smallZip()));
  });

  it('keeps the stored names in readCheckpoint', () => {
    const sd = readCheckpoint(zipOf(dict([[str('state_dict'), prefixed('module.')]])));
    expect([...sd.keys()]).to.deep.equal(['module.conv.weight', 'module.bn.num_batches_tracked']);
  });

  it('maps mmpose names and skips a meta entry holding numpy scalars and a Namespace', () => {
    const tensors: Record<string, TensorSpec> = {
      'backbone.conv1.weight': { key: '0', numel: 6, shape: [6] },
      'keypoint_head.final_layers.0.weight': { key: '0', numel: 6, shape: [6] },
      'keypoint_head.deconv_layers.0.0.0.weight': { key: '0', numel: 6, shape: [6] },
    };
    // numpy.float64(0.5) pickled at protocol 2: scalar(dtype('f8', False, True) + state, _codecs.encode(bytes, 'latin1'))
    const raw = String.fromCharCode(...new Uint8Array(new Float64Array([0.5]).buffer));
    const numpyScalar: Part = [
      glob('numpy.core.multiarray', 'scalar'),
      tuple(
        [glob('numpy', 'dtype'), tuple(str('f8'), NEWFALSE, NEWTRUE), REDUCE, tuple(int(3), str('<'), NONE, NONE, NONE, int(-1), int(-1), int(0)), BUILD],
        [glob('_codecs', 'encode'), tuple(str(raw), str('latin1')), REDUCE],
      ),
      REDUCE,
    ];
    const namespace: Part = [glob('argparse', 'Namespace'), EMPTY_TUPLE, 0x81, dict([[str('lr'), [0x47, 0x3f, 0xb9, 0x99, 0x99, 0x99, 0x99, 0x99, 0x9a]]]), BUILD];
    const meta = dict([[str('best_score'), numpyScalar], [str('args'), namespace], [str('epoch'), int(300)]]);
    const body = dict([[str('meta'), meta], [str('state_dict'), stateDict(tensors)]]);
    const sd = loadStateDict(zipCheckpoint(pickle(body), { '0': f32(1, 2, 3, 4, 5, 6) }));
    expect([...sd.keys()]).to.deep.equal(['conv1.weight', 'final_layers.0.weight', 'deconv_layers.0.0.0.weight']);
    expect((sd.get('final_layers.0.weight') as CheckpointTensor).name).to.equal('final_layers.0.weight');
  });

  it('reads sets and empty bytes as Python 3 pickles them at protocol 2 (__builtin__ globals)', () => {
    const tensors: Record<string, TensorSpec> = { 'conv1.weight': { key: '0', numel: 6, shape: [6] } };
    const list = (...items: Part[]): Part => [0x5d, MARK, items, 0x65];
    const set: Part = [glob('__builtin__', 'set'), tuple(list(str('a'), str('b'))), REDUCE];
    const emptyBytes: Part = [glob('__builtin__', 'bytes'), EMPTY_TUPLE, REDUCE];
    const meta = dict([[str('tags'), set], [str('blob'), emptyBytes]]);
    const body = dict([[str('meta'), meta], [str('state_dict'), stateDict(tensors)]]);
    const sd = loadStateDict(zipCheckpoint(pickle(body), { '0': f32(1, 2, 3, 4, 5, 6) }));
    expect(Array.from(toFloat32(sd.get('conv1.weight')!))).to.deep.equal([1, 2, 3, 4, 5, 6]);
    const withArgument = dict([[str('blob'), [glob('__builtin__', 'bytes'), tuple(str('x')), REDUCE]], [str('state_dict'), stateDict(tensors)]]);
    expectCheckpointError(() => loadStateDict(zipCheckpoint(pickle(withArgument), { '0': f32(1, 2, 3, 4, 5, 6) })), /bytes called with 1 arguments/);
  });

  it('accepts a state dict matching {name, shape} or manifest rows; num_batches_tracked is optional', () => {
    const sd = loadStateDict(smallZip());
    validateStateDict(sd, [{ name: 'conv.weight', shape: [2, 3] }, { name: 'bn.num_batches_tracked', shape: [] }]);
    validateStateDict(sd, [['conv.weight', [2, 3], 'float32']]);
    validateStateDict(sd, [['conv.weight', [2, 3], 'float32'], ['bn.num_batches_tracked', [], 'int64'], ['other.num_batches_tracked', [], 'int64']]);
  });
});

describe('checkpoint: errors', () => {
  it('BAD CALL - a truncated zip checkpoint', () => {
    const whole = smallZip();
    expectCheckpointError(() => readCheckpoint(whole.subarray(0, whole.length - 30)), /^<checkpoint bytes>: zip archive is truncated/);
    expectCheckpointError(() => readCheckpoint(whole.subarray(0, whole.length - 5)), /^<checkpoint bytes>: zip archive is truncated/);
  });

  it('BAD CALL - a truncated legacy checkpoint, in the pickles and in the storage data', () => {
    const legacy = legacyCheckpoint(pickle(stateDict(SMALL_TENSORS)), [
      ['0', 6, SMALL_STORAGES['0']],
      ['1', 1, SMALL_STORAGES['1']],
    ]);
    expectCheckpointError(() => readCheckpoint(legacy.subarray(0, 100)), /pickle is truncated/);
    expectCheckpointError(() => readCheckpoint(legacy.subarray(0, legacy.length - 3)), /file is truncated: storage 1 needs 8 bytes/);
  });

  it('BAD CALL - a corrupt zip archive', () => {
    const corrupt = Buffer.from(smallZip());
    const at = corrupt.indexOf('archive/data.pkl') + 'archive/data.pkl'.length + 4; // inside the pickle's data
    corrupt.fill(0xaa, at, at + 16);
    expectCheckpointError(() => readCheckpoint(corrupt), /^<checkpoint bytes>: corrupt zip archive \(archive\/data\.pkl\): /);
    const noDirectory = Buffer.concat([smallZip().subarray(0, 200), Buffer.alloc(64)]);
    expectCheckpointError(() => readCheckpoint(noDirectory), /^<checkpoint bytes>: zip archive is truncated or corrupt/);
  });

  it('BAD CALL - a source that is neither a path nor bytes, and validateStateDict given a config or a layer graph: a CheckpointError naming the argument', async () => {
    const js = <T>(value: unknown) => value as T;
    // 'First argument to DataView constructor must be an ArrayBuffer' (42, {}) and 'bytes.subarray is not a function' (an ArrayBuffer) before.
    for (const [source, type] of [[42, 'Number'], [{}, 'Object'], [undefined, 'Undefined']] as const) {
      expectCheckpointError(() => loadStateDict(js(source)), new RegExp(`^a checkpoint is read from a file path or the file's bytes \\(a Uint8Array or Buffer\\), got ${type}$`));
    }
    expectCheckpointError(() => readCheckpoint(js(new ArrayBuffer(8))), /got ArrayBuffer \(new Uint8Array\(buffer\) views an ArrayBuffer\)$/);
    // 'expected.map is not a function' before: a layer graph for its parameters, a configuration for the state dict.
    const { buildNetworkGraph } = await import('../src/higher/network.js');
    const { presetConfig } = await import('../src/config/presets.js');
    const graph = buildNetworkGraph(presetConfig('tiny_coco').model);
    expectCheckpointError(() => validateStateDict(new Map(), js(graph), 'w.pth'), /^w\.pth: the expected tensors must be a list of \{ name, shape \} \(buildNetworkGraph\(config\.model\)\.parameters\), got Object: a layer graph's are graph\.parameters$/);
    expectCheckpointError(() => validateStateDict(js(presetConfig('tiny_coco')), graph.parameters), /^checkpoint: the state dict must be a Map of tensors by name \(loadStateDict gives one\), got Object$/);
  });

  it('BAD CALL - random bytes and a PNG are not checkpoints', () => {
    const random = Uint8Array.from({ length: 256 }, (_, i) => (i * 73 + 41) % 256);
    expectCheckpointError(() => readCheckpoint(random), /not a PyTorch checkpoint/);
    const png = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52]);
    // Named as an image: its bytes shown raw (starts with 89 50 4e 47 ...) said nothing to most users.
    expectCheckpointError(() => readCheckpoint(png), /not a PyTorch checkpoint but a PNG image: give it as an image to estimate/);
    expectCheckpointError(() => readCheckpoint(new Uint8Array(0)), /not a PyTorch checkpoint/);
    expectCheckpointError(() => readCheckpoint(pickle(int(5))), /without the torch magic number/);
  });

  it('BAD CALL - an empty file, a text file (a server\'s error message saved as the download) and an experiment configuration given as the weights: the error says what it is', () => {
    const dir = mkdtempSync(join(tmpdir(), 'higher-pose-not-weights-'));
    try {
      writeFileSync(join(dir, 'empty.pth'), '');
      expectCheckpointError(() => readCheckpoint(join(dir, 'empty.pth')), /^\S+empty\.pth: not a PyTorch checkpoint: empty \(0 bytes\)$/);
      writeFileSync(join(dir, 'w32.pth'), 'Not Found\n');
      expectCheckpointError(() => readCheckpoint(join(dir, 'w32.pth')), /: not a PyTorch checkpoint: neither a zip archive nor a pickle \(starts with "Not Found\\n"\)$/);
      writeFileSync(join(dir, 'long.pth'), `Not Found: ${'x'.repeat(100)}`);
      expectCheckpointError(() => readCheckpoint(join(dir, 'long.pth')), /\(starts with "Not Found: x{29}"…\)$/);
      writeFileSync(join(dir, 'w32_512.yaml'), 'AUTO_RESUME: true\nCUDNN:\n  BENCHMARK: true\nDATASET:\n  NUM_JOINTS: 17\n');
      expectCheckpointError(() => readCheckpoint(join(dir, 'w32_512.yaml')), /w32_512\.yaml: not a PyTorch checkpoint but an experiment configuration \(YAML\): give it as the configuration \(--config, or config:\), and the weights as --weights$/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('BAD CALL - a web page, a gzip or tar file, a TensorFlow.js model.json, an ONNX model: the error says what the file is', async () => {
    const text = (s: string): Uint8Array => new TextEncoder().encode(s);
    expectCheckpointError(() => readCheckpoint(text('\n<!DOCTYPE html><html><head><title>Google Drive - Virus scan warning</title>')), /^<checkpoint bytes>: not a PyTorch checkpoint but an HTML page: the download saved a web page/);
    expectCheckpointError(() => readCheckpoint(Uint8Array.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3])), /not a PyTorch checkpoint but a gzip-compressed file: decompress it/);
    const tar = new Uint8Array(1024);
    tar.set(text('pose_higher_hrnet_w32_512.pth'), 0);
    tar.set(text('ustar'), 257);
    expectCheckpointError(() => readCheckpoint(tar), /not a PyTorch checkpoint but a tar archive: extract it/);
    expectCheckpointError(() => readCheckpoint(text('{"format":"graph-model","generatedBy":"higher-pose"}')), /not a PyTorch checkpoint but a TensorFlow\.js graph model's model\.json/);
    // An export saved under another name than .onnx (export-onnx --out model.int8 once wrote one).
    const { onnx } = await import('../src/backend/onnx/proto.js');
    const model = onnx.ModelProto.encode({ irVersion: 8, producerName: 'higher-pose', graph: { node: [{ opType: 'Relu', input: ['x'], output: ['y'] }] } }).finish();
    expectCheckpointError(() => readCheckpoint(model), /not a PyTorch checkpoint but an ONNX model, which runs from a file named \.onnx \(or from its bytes\): rename it$/);
    // An image given as the weights (--weights photo.jpg) was shown as its raw bytes: 'starts with ff d8 ff db ...'.
    const image = (format: string) => new RegExp(`not a PyTorch checkpoint but a ${format} image: give it as an image to estimate, and the model \\(a checkpoint, or an \\.onnx export\\) as the weights$`);
    expectCheckpointError(() => readCheckpoint(readFileSync(DEMO_IMAGE())), image('JPEG'));
    expect(notOnnxModel(readFileSync(DEMO_IMAGE()))).to.match(/^a JPEG image: give it as an image to estimate/);
  });

  it('BAD CALL - a gzip-compressed ONNX model (model.onnx.gz) or checkpoint: the error says which is inside, and how to give it', async () => {
    const { onnx } = await import('../src/backend/onnx/proto.js');
    const model = onnx.ModelProto.encode({ irVersion: 8, producerName: 'higher-pose', graph: { node: [{ opType: 'Relu', input: ['x'], output: ['y'] }] } }).finish();
    expectCheckpointError(() => readCheckpoint(gzipSync(model), 'model.onnx.gz'),
      /^model\.onnx\.gz: not a PyTorch checkpoint but a gzip-compressed file holding an ONNX model: decompress it \(gunzip\) and give the ONNX model inside, as a file named \.onnx$/);
    expectCheckpointError(() => readCheckpoint(gzipSync(pickle(int(5)))), /not a PyTorch checkpoint but a gzip-compressed file holding a PyTorch checkpoint: decompress it \(gunzip\) and give the checkpoint inside$/);
    const tar = new Uint8Array(1024);
    tar.set(new TextEncoder().encode('ustar'), 257);
    expectCheckpointError(() => readCheckpoint(gzipSync(tar)), /not a PyTorch checkpoint but a gzip-compressed tar archive: extract it \(tar -xzf\) and give the checkpoint inside$/);
    // Under an .onnx name: which name the checkpoint inside needs.
    expect(notOnnxModel(gzipSync(zipCheckpoint(pickle(int(5)), {})))).to.equal('a gzip-compressed file holding a PyTorch checkpoint: decompress it (gunzip) and give the checkpoint inside, as a file not named .onnx');
    expect(notOnnxModel(gzipSync(model))).to.match(/holding an ONNX model: decompress it \(gunzip\) and give the ONNX model inside, as a file named \.onnx$/);
  });

  it('BAD CALL - a file under an .onnx name that is a checkpoint (zip, legacy, safetensors) or a gzip: notOnnxModel says what it is and what to name it', () => {
    const renamed = /^a PyTorch checkpoint, which is read from a file not named \.onnx \(or from its bytes\): rename it \.pth$/;
    expect(notOnnxModel(zipCheckpoint(pickle(int(5)), {}))).to.match(renamed);
    expect(notOnnxModel(pickle(int(5)))).to.match(renamed);
    expect(notOnnxModel(smallSafetensors())).to.match(/^a PyTorch checkpoint \(safetensors\), .*: rename it \.safetensors$/);
    // The checkpoint reader's advice, for the model inside.
    expect(notOnnxModel(Uint8Array.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]))).to.equal('a gzip-compressed file: decompress it (gunzip) and give the ONNX model inside');
    expect(notOnnxModel(new Uint8Array([8, 7, 0x12, 0]))).to.equal(undefined);
  });

  it('BAD CALL - a folder, and an export-tfjs folder, given as the checkpoint', () => {
    const dir = mkdtempSync(join(tmpdir(), 'higher-pose-folder-'));
    try {
      expectCheckpointError(() => readCheckpoint(dir), /: a folder, not a checkpoint file$/);
      writeFileSync(join(dir, 'model.json'), '{"format":"graph-model"}');
      expectCheckpointError(() => readCheckpoint(dir), /: a folder, not a checkpoint file \(a TensorFlow\.js graph model, as export-tfjs writes/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('BAD CALL - a TorchScript archive (torch.jit.save) says how to save its state dict', () => {
    const module = pickle([glob('__torch__.models.pose_higher_hrnet', 'PoseHigherResolutionNet'), EMPTY_TUPLE, 0x81, dict([[str('training'), NEWFALSE]]), BUILD]);
    const zip = new AdmZip();
    zip.addFile('model/data.pkl', Buffer.from(module));
    zip.addFile('model/constants.pkl', Buffer.from(pickle(EMPTY_TUPLE)));
    zip.addFile('model/code/__torch__/models/pose_higher_hrnet.py', Buffer.from('class PoseHigherResolutionNet(Module):\n'));
    expectCheckpointError(() => readCheckpoint(zip.toBuffer()), /^<checkpoint bytes>: a TorchScript archive \(torch\.jit\.save\), not a state dict: .*torch\.save\(torch\.jit\.load\('model\.pt'\)\.state_dict\(\), 'weights\.pth'\)/);
  });

  it('BAD CALL - a file that does not exist: the error says where checkpoints come from', () => {
    expectCheckpointError(() => readCheckpoint('/nonexistent/model.pth'), /^\/nonexistent\/model\.pth: no such file\. `higher-pose weights list` .*`higher-pose weights fetch NAME`/);
  });

  it('BAD CALL - a device given as the checkpoint path (/dev/zero) is refused at once, not read forever; a pipe is read', async function () {
    if (process.platform === 'win32') this.skip();
    // In another process, killed past a time limit (SIGKILL: tsx catches SIGTERM): a synchronous read of /dev/zero could not be stopped here.
    const script = `import { createEstimator } from './src/index.ts';
      await createEstimator({ preset: 'tiny_coco', weights: '/dev/zero', inputSize: 256 }).then(() => console.log('loaded'), (error) => console.log(error.name + ': ' + error.message));`;
    const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000, killSignal: 'SIGKILL' });
    expect(child.signal, 'killed after 30 s: /dev/zero was being read').to.equal(null);
    expect(child.stdout).to.equal('CheckpointError: /dev/zero: cannot read it: is a character device (such as /dev/zero or a terminal), not a file or a pipe\n');
    const dir = mkdtempSync(join(tmpdir(), 'higher-pose-piped-'));
    try {
      let piped: Map<string, CheckpointTensor> | undefined;
      await withPipedOnce(join(dir, 'fifo'), readFileSync(TINY_COCO_CHECKPOINT()), async () => void (piped = readCheckpoint(join(dir, 'fifo'))));
      expect([...piped!.keys()]).to.deep.equal([...readCheckpoint(TINY_COCO_CHECKPOINT()).keys()]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('BAD CALL - an .onnx path that names a device (a link to /dev/zero) is refused at once as a checkpoint path is, not read forever; a pipe so named runs', async function () {
    if (process.platform === 'win32') this.skip();
    const dir = mkdtempSync(join(tmpdir(), 'higher-pose-onnx-device-'));
    try {
      const link = join(dir, 'model.onnx');
      symlinkSync('/dev/zero', link);
      // In another process, killed past a time limit (SIGKILL: tsx catches SIGTERM): ONNX Runtime read /dev/zero on, and could not be stopped here.
      const script = `import { createEstimator } from './src/index.ts';
        await createEstimator({ preset: 'tiny_coco', weights: process.argv[1], inputSize: 256 }).then(() => console.log('loaded'), (error) => console.log(error.name + ': ' + error.message));`;
      const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, link], { encoding: 'utf8', timeout: 30_000, killSignal: 'SIGKILL' });
      expect(child.signal, 'killed after 30 s: /dev/zero was being read').to.equal(null);
      expect(child.stdout).to.equal(`CheckpointError: ${link}: cannot read it: is a character device (such as /dev/zero or a terminal), not a file or a pipe\n`);
      const fifo = join(dir, 'piped.onnx');
      await withPipedOnce(fifo, compileModel(presetConfig('tiny_coco'), TINY_COCO_CHECKPOINT()), async () => {
        const estimator = await createEstimator({ preset: 'tiny_coco', weights: fifo, inputSize: 256 });
        await estimator.dispose();
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('BAD CALL - a disallowed global (os.system via GLOBAL + REDUCE) is rejected, never run', () => {
    const evil = pickle([glob('os', 'system'), tuple(str('touch /tmp/higher-pose-pwned')), REDUCE]);
    expectCheckpointError(() => readCheckpoint(zipCheckpoint(evil, {})), /global 'os\.system' is not allowed/);
    const viaStackGlobal = bytesOf([0x80, 4], str('builtins'), str('eval'), 0x93, tuple(str('1')), REDUCE, STOP);
    expectCheckpointError(() => readCheckpoint(zipCheckpoint(viaStackGlobal, {})), /global 'builtins\.eval' is not allowed/);
    const fromBytes = pickle([glob('torch.storage', '_load_from_bytes'), tuple([0x43, 1, 0x80]), REDUCE]);
    expectCheckpointError(() => readCheckpoint(zipCheckpoint(fromBytes, {})), /global 'torch\.storage\._load_from_bytes' is not allowed/);
    const inLegacy = legacyCheckpoint(pickle(dict([[str('state_dict'), [glob('posix', 'system'), tuple(str('id')), REDUCE]]])), []);
    expectCheckpointError(() => readCheckpoint(inLegacy), /global 'posix\.system' is not allowed/);
  });

  it('BAD CALL - a whole model saved with torch.save(model) says to save its state dict instead', () => {
    const NEWOBJ = 0x81;
    const modelObject = (module: string, name: string): Part => [glob(module, name), EMPTY_TUPLE, NEWOBJ, dict([[str('training'), NEWFALSE]]), BUILD];
    const hint = /: it is a model class, so the file holds a whole model pickled by torch\.save\(model\).*torch\.save\(model\.state_dict\(\), 'weights\.pth'\), then give weights\.pth$/;
    const ownScript = zipCheckpoint(pickle(modelObject('__main__', 'FineTunedNet')), {});
    const message = expectCheckpointError(() => readCheckpoint(ownScript), hint).message;
    expect(message).to.match(/^<checkpoint bytes>: global '__main__\.FineTunedNet' is not allowed in a checkpoint: /);
    const wrapped = legacyCheckpoint(pickle(modelObject('torch.nn.parallel.data_parallel', 'DataParallel')), []);
    expectCheckpointError(() => readCheckpoint(wrapped), hint);
    const inTrainingCheckpoint = pickle(dict([[str('epoch'), int(3)], [str('model'), modelObject('lib.models.pose_higher_hrnet', 'PoseHigherResolutionNet')]]));
    expectCheckpointError(() => readCheckpoint(zipCheckpoint(inTrainingCheckpoint, {})), hint);
    // Other objects are not models: no advice about them.
    for (const [module, name] of [['yacs.config', 'CfgNode'], ['os', 'system'], ['models.pose_higher_hrnet', 'get_pose_net']]) {
      const error = expectCheckpointError(() => readCheckpoint(zipCheckpoint(pickle(modelObject(module, name)), {})), /is not allowed in a checkpoint$/);
      expect(error.message).to.not.include('state_dict');
    }
  });

  it('BAD CALL - a pickled model object and disallowed opcodes are rejected by name', () => {
    const model = pickle(dict([[str('model'), [glob('models.pose_higher_hrnet', 'PoseHigherResolutionNet'), EMPTY_TUPLE, 0x81]]]));
    expectCheckpointError(() => readCheckpoint(zipCheckpoint(model, {})), /'models\.pose_higher_hrnet\.PoseHigherResolutionNet' is not allowed/);
    const inst = bytesOf([0x80, 2], MARK, 0x69, new TextEncoder().encode('os\nsystem\n'), STOP);
    expectCheckpointError(() => readCheckpoint(zipCheckpoint(inst, {})), /pickle opcode INST is not allowed/);
    const unknown = bytesOf([0x80, 2], 0xff, STOP);
    expectCheckpointError(() => readCheckpoint(zipCheckpoint(unknown, {})), /unsupported pickle opcode 0xff/);
    const callNonGlobal = pickle([str('os.system'), tuple(), REDUCE]);
    expectCheckpointError(() => readCheckpoint(zipCheckpoint(callNonGlobal, {})), /cannot call "os\.system"/);
  });

  it('BAD CALL - a shape larger than its storage, absurd or negative dimensions', () => {
    const load = (t: TensorSpec, storage: Uint8Array): unknown =>
      readCheckpoint(zipCheckpoint(pickle(stateDict({ w: t })), { [t.key]: storage }));
    expectCheckpointError(() => load({ key: '0', numel: 6, shape: [1000, 1000] }, f32(1, 2, 3, 4, 5, 6)), /tensor w: shape \[1000,1000\].*exceeds its storage of 6 elements/);
    expectCheckpointError(() => load({ key: '0', numel: 6, shape: [2], offset: 5 }, f32(1, 2, 3, 4, 5, 6)), /exceeds its storage/);
    expectCheckpointError(() => load({ key: '0', numel: 6, shape: [65536, 65536, 65536] }, f32(1, 2, 3, 4, 5, 6)), /tensor w: shape \[65536,65536,65536\] is too large/);
    expectCheckpointError(() => load({ key: '0', numel: 6, shape: [-1] }, f32(1, 2, 3, 4, 5, 6)), /invalid dimension -1/);
    expectCheckpointError(() => load({ key: '0', numel: 6, shape: [6] }, f32(1, 2)), /storage 0 has 8 bytes, expected 6 float32 elements/);
  });

  it('BAD CALL - a storage missing from the archive', () => {
    expectCheckpointError(() => readCheckpoint(zipCheckpoint(pickle(stateDict(SMALL_TENSORS)), { '0': SMALL_STORAGES['0'] })), /storage data\/1 is missing/);
  });

  it('BAD CALL - a checkpoint without a state dict', () => {
    expectCheckpointError(() => readCheckpoint(zipCheckpoint(pickle(dict([[str('epoch'), int(3)]])), {})), /no state dict found at top level .*keys: "epoch"/);
    // A file of thousands of keys (an optimizer's state, a dataset's index) is named by its first ones, in one line.
    const manyKeys = dict(Array.from({ length: 5000 }, (_, i): [Part, Part] => [str(`entry${i}`), int(i)]));
    const many = expectCheckpointError(() => readCheckpoint(zipCheckpoint(pickle(manyKeys), {})), /keys: "entry0", "entry1", .*"entry19", … and 4980 more\)$/);
    expect(many.message).not.to.include('"entry20"');
    const mixed = dict([[str('w'), tensor(SMALL_TENSORS['conv.weight'])], [str('lr'), int(1)]]);
    expectCheckpointError(() => readCheckpoint(zipCheckpoint(pickle(mixed), SMALL_STORAGES)), /state dict entry 'lr' is number 1, not a tensor/);
  });

  it('BAD CALL - missing, unexpected and wrongly shaped tensors are all listed by name', () => {
    const sd = loadStateDict(smallZip());
    const error = expectCheckpointError(
      () =>
        validateStateDict(
          sd,
          [
            { name: 'conv.weight', shape: [3, 2] },
            { name: 'conv.bias', shape: [2] },
            { name: 'final.weight', shape: [1] },
          ],
          'w32.pth',
        ),
      /^w32\.pth: state dict does not match the expected tensors \(2 missing, 0 unexpected, 1 with the wrong shape\)/,
    );
    expect(error.message).to.contain('missing: conv.bias, final.weight');
    expect(error.message).to.contain('wrong shape: conv.weight [2,3] (expected [3,2])');
    expect(error).to.be.instanceOf(StateDictMismatchError);
    expect((error as StateDictMismatchError).missing).to.deep.equal(['conv.bias', 'final.weight']);

    const unexpected = expectCheckpointError(() => validateStateDict(sd, []), /1 unexpected/);
    expect(unexpected.message).to.contain('unexpected: conv.weight');
    expect(unexpected.message).not.to.contain('num_batches_tracked');
  });

  it('BAD CALL - two stored names that map to the same official name', () => {
    const body = orderedDict([
      [str('module.w'), tensor({ key: '0', numel: 6, shape: [6] })],
      [str('backbone.w'), tensor({ key: '0', numel: 6, shape: [6] })],
    ]);
    expectCheckpointError(() => loadStateDict(zipCheckpoint(pickle(body), SMALL_STORAGES)), /'module\.w' and 'backbone\.w' both map to 'w'/);
  });
});

// ---------------------------------------------------------------------------------------

type ManifestRow = [string, number[], string];

function readJson<T>(path: string): T {
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}

/** Parameters (weights and biases), not BatchNorm buffers: what `num_params` counts. */
function parameterCount(rows: ManifestRow[]): number {
  return rows
    .filter(([name]) => !/\.(running_mean|running_var|num_batches_tracked)$/.test(name))
    .reduce((sum, [, shape]) => sum + shape.reduce((a, b) => a * b, 1), 0);
}

describeFixtures('checkpoint: tiny reference models', 'models', () => {
  for (const model of ['tiny_coco', 'tiny_crowdpose']) {
    describe(model, () => {
      const path = (variant: string): string => join(fixturesRoot(), 'models', `${model}.${variant}.pth`);
      const manifest = (): { num_params: number; tensors: ManifestRow[] } => readJson(join(fixturesRoot(), 'models', `${model}.json`));

      it('the zip file holds exactly the manifest tensors, in order, and validates', () => {
        const sd = loadStateDict(path('zip'));
        const rows = [...sd.values()].map((t) => [t.name, t.shape, t.dtype]);
        expect(rows).to.deep.equal(manifest().tensors);
        validateStateDict(sd, manifest().tensors);
        expect(parameterCount(manifest().tensors)).to.equal(manifest().num_params);
      });

      for (const variant of ['legacy', 'checkpoint', 'mmpose']) {
        it(`the ${variant} file loads to identical tensors`, () => {
          const reference = loadStateDict(path('zip'));
          const sd = loadStateDict(path(variant));
          validateStateDict(sd, manifest().tensors, path(variant));
          expect([...sd.keys()].sort()).to.deep.equal([...reference.keys()].sort());
          for (const [name, t] of sd) {
            const r = reference.get(name) as CheckpointTensor;
            expect(t.shape, name).to.deep.equal(r.shape);
            expect(t.dtype, name).to.equal(r.dtype);
            expect(Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).equals(Buffer.from(r.data.buffer, r.data.byteOffset, r.data.byteLength)), name).to.equal(true);
          }
        });
      }

      it('the same tensors saved as safetensors load identically', () => {
        const reference = loadStateDict(path('zip'));
        const safetensorsDtype: Record<string, string> = { float32: 'F32', int64: 'I64' };
        const file = safetensorsFile([...reference.values()].map((t) => ({
          name: t.name, dtype: safetensorsDtype[t.dtype], shape: t.shape, data: new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength),
        })));
        expect(loadStateDict(file)).to.deep.equal(reference);
      });

      it('readCheckpoint keeps the module. and mmpose prefixes', () => {
        expect([...readCheckpoint(path('checkpoint')).keys()].every((n) => n.startsWith('module.'))).to.equal(true);
        const mm = [...readCheckpoint(path('mmpose')).keys()];
        expect(mm.every((n) => n.startsWith('backbone.') || n.startsWith('keypoint_head.'))).to.equal(true);
        expect(mm.filter((n) => n.startsWith('keypoint_head.final_layers.')).length).to.equal(4);
      });
    });
  }
});

describeFixtures('checkpoint: official manifests as expected lists', 'manifests', () => {
  const names = ['coco_w32_512', 'coco_w32_640', 'coco_w48_640', 'crowdpose_w32_512', 'crowdpose_w48_640'];
  for (const name of names) {
    it(`${name}: a state dict of exactly its tensors validates, a wrong head does not`, () => {
      const manifest = readJson<{ num_params: number; tensors: ManifestRow[] }>(join(fixturesRoot(), 'manifests', `${name}.json`));
      expect(parameterCount(manifest.tensors)).to.equal(manifest.num_params);
      const sd = new Map(manifest.tensors.map(([n, shape]) => [n, { shape }]));
      validateStateDict(sd, manifest.tensors);
      const otherHead = new Map(sd);
      otherHead.set('final_layers.1.weight', { shape: [99, 32, 1, 1] });
      expectCheckpointError(() => validateStateDict(otherHead, manifest.tensors, name), /wrong shape: final_layers\.1\.weight \[99,32,1,1\]/);
    });
  }

  it('a W32-sized zip checkpoint (manifest shapes, 115 MB) loads in a few seconds', () => {
    const manifest = readJson<{ tensors: ManifestRow[] }>(join(fixturesRoot(), 'manifests', 'coco_w32_512.json'));
    const specs: Record<string, TensorSpec> = {};
    const storages: Record<string, Uint8Array> = {};
    manifest.tensors.forEach(([n, shape, dtype], i) => {
      const numel = shape.reduce((a, b) => a * b, 1);
      const long = dtype === 'int64';
      specs[n] = { key: String(i), numel, shape, storageType: long ? 'LongStorage' : 'FloatStorage' };
      storages[String(i)] = long ? i64(BigInt(i)) : new Uint8Array(new Float32Array(numel).fill(i).buffer);
    });
    const zip = new AdmZip();
    zip.addFile('archive/data.pkl', Buffer.from(pickle(stateDict(specs))));
    for (const [key, data] of Object.entries(storages)) {
      zip.addFile(`archive/data/${key}`, Buffer.from(data));
      const entry = zip.getEntry(`archive/data/${key}`) as AdmZip.IZipEntry;
      entry.header.method = 0; // stored, as torch writes them
    }
    const file = zip.toBuffer();
    // CPU time, not the wall clock's: what the load costs, not how long other processes held the CPUs.
    const cpu = process.cpuUsage();
    const sd = loadStateDict(file);
    const used = process.cpuUsage(cpu);
    const seconds = (used.user + used.system) / 1e6;
    validateStateDict(sd, manifest.tensors);
    expect(toFloat32(sd.get('final_layers.1.bias') as CheckpointTensor)[0]).to.equal(manifest.tensors.findIndex(([n]) => n === 'final_layers.1.bias'));
    expect(seconds, `loaded ${(file.length / 2 ** 20).toFixed(0)} MB in ${seconds.toFixed(2)} s of CPU time`).to.be.lessThan(10);
  });
});
